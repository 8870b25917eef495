//! The Prometheus exposition formats, written by hand for speed and control; shared by the
//! exporter's and the enforcer's `/metrics`.
//!
//! Two formats are served from one snapshot: the classic text format 0.0.4 (the default; what
//! every Prometheus understands) and OpenMetrics 1.0 (when the scraper's `Accept` header asks).
//! They differ in small ways that matter: OpenMetrics names a counter family without `_total`
//! and ends with `# EOF`. Client libraries emit only one of them, and rendering 150,000 series
//! for 10,000 guests has to take milliseconds, so the encoder is these few lines.

use std::fmt::Write;

/// Which exposition format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Classic,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format a scraper asks for in its `Accept` header.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Classic,
        }
    }

    /// The `Content-Type` of the answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Metric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only goes up; its samples end in `_total`.
    Counter,
}

/// Writes metric families into a string.
pub struct Encoder {
    out: String,
    format: Format,
    /// Sample name of the family being written (with `_total` for counters).
    sample_name: String,
}

impl Encoder {
    /// An encoder with room for about `capacity` bytes.
    pub fn new(format: Format, capacity: usize) -> Encoder {
        Encoder {
            out: String::with_capacity(capacity),
            format,
            sample_name: String::new(),
        }
    }

    /// Starts a family. `name` is the full sample name (counters end in `_total`).
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let family = match (self.format, kind) {
            (Format::OpenMetrics, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(self.out, "# HELP {family} {help}");
        let _ = writeln!(self.out, "# TYPE {family} {kind}");
        self.sample_name.clear();
        self.sample_name.push_str(name);
    }

    /// Writes one sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        self.start_sample(labels);
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// Writes a sample's name, labels and the space before the value.
    fn start_sample(&mut self, labels: &[(&str, &str)]) {
        self.out.push_str(&self.sample_name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_into(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
    }

    /// Writes one sample with an integer value, exactly as an integer (Prometheus stores
    /// floats: byte counts stay exact up to 2^53 bytes, 8 PiB).
    pub fn sample_u64(&mut self, labels: &[(&str, &str)], value: u64) {
        self.start_sample(labels);
        self.out.push_str(itoa::Buffer::new().format(value));
        self.out.push('\n');
    }

    /// The finished exposition.
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape_into(out: &mut String, v: &str) {
    if !v.contains(['\\', '"', '\n']) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Integers without a fraction, other values in Rust's shortest round-trip form.
fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_and_openmetrics_differ_where_they_should() {
        for (format, family_line, eof) in [
            (Format::Classic, "# TYPE x_bytes_total counter", false),
            (Format::OpenMetrics, "# TYPE x_bytes counter", true),
        ] {
            let mut e = Encoder::new(format, 64);
            e.family("x_bytes_total", "Bytes.", Kind::Counter);
            e.sample_u64(&[("id", "qemu/100")], 42);
            let text = e.finish();
            assert!(text.contains(family_line), "{text}");
            assert!(
                text.contains("x_bytes_total{id=\"qemu/100\"} 42\n"),
                "{text}"
            );
            assert_eq!(text.ends_with("# EOF\n"), eof);
        }
    }

    #[test]
    fn label_values_are_escaped_and_values_formatted() {
        let mut e = Encoder::new(Format::Classic, 64);
        e.family("g", "G.", Kind::Gauge);
        e.sample(&[("name", "a\"b\\c\nd")], 0.25);
        e.sample(&[], 1e20);
        assert_eq!(
            e.finish(),
            "# HELP g G.\n# TYPE g gauge\ng{name=\"a\\\"b\\\\c\\nd\"} 0.25\ng 100000000000000000000\n"
        );
    }

    #[test]
    fn negotiation_follows_the_accept_header() {
        assert_eq!(Format::negotiate(None), Format::Classic);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Classic
        );
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
    }
}
