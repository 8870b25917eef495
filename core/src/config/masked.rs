//! The effective config as YAML, for `check-config` and startup logs.
//!
//! Written by hand rather than through serde so the output follows `config.yaml`'s order and
//! shows every key, defaults included, in the form the loader reads back: durations as
//! `*_seconds`, sizes as exact bytes, the fingerprint as `AB:CD:..`. The token secret is
//! always `"********"`, whatever its value.

use std::fmt::Write;

use super::Config;
use crate::fingerprint;
use crate::period::PeriodKind;
use crate::units;

/// Renders `config` (see [`Config::to_masked_yaml`]).
pub(super) fn to_yaml(config: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_yaml(&mut out, config);
    out
}

fn write_yaml(o: &mut String, c: &Config) -> std::fmt::Result {
    let p = &c.pve;
    writeln!(o, "pve:")?;
    writeln!(o, "  url: {}", q(&p.url))?;
    writeln!(o, "  token_id: {}", q(&p.token_id))?;
    writeln!(o, "  token_secret: \"********\"")?;
    writeln!(o, "  node: {}", q(p.node.as_deref().unwrap_or("")))?;
    writeln!(o, "  tls:")?;
    let ca = p.tls.ca_file.as_ref().map(|f| f.display().to_string());
    writeln!(o, "    ca_file: {}", q(ca.as_deref().unwrap_or("")))?;
    let fp = p.tls.fingerprint.as_ref().map(fingerprint::format);
    writeln!(o, "    fingerprint: {}", q(fp.as_deref().unwrap_or("")))?;
    writeln!(o, "    insecure: {}", p.tls.insecure)?;
    writeln!(o, "  timeout_seconds: {}", p.timeout.as_secs())?;

    let m = &c.monitor;
    writeln!(o, "monitor:")?;
    writeln!(o, "  interval_seconds: {}", m.interval.as_secs())?;
    writeln!(o, "  timezone: {}", q(&m.timezone_name))?;
    writeln!(o, "  include_templates: {}", m.include_templates)?;
    let types: Vec<&str> = m.guest_types.iter().map(|t| t.as_str()).collect();
    writeln!(o, "  guest_types: [{}]", types.join(", "))?;
    writeln!(o, "  data_retention_days: {}", m.data_retention_days)?;
    writeln!(
        o,
        "  max_bandwidth: {}  # bytes per second ({})",
        m.max_bandwidth,
        bits_per_second(m.max_bandwidth)
    )?;
    writeln!(
        o,
        "  export_path: {}",
        q(&m.export_path.display().to_string())
    )?;

    writeln!(o, "storage:")?;
    writeln!(o, "  type: sqlite")?;
    writeln!(o, "  dsn: {}", q(&c.storage.dsn))?;

    writeln!(o, "exporter:")?;
    writeln!(o, "  listen: {}", q(&c.exporter.listen.to_string()))?;

    let e = &c.enforcer;
    writeln!(o, "enforcer:")?;
    writeln!(o, "  listen: {}", q(&e.listen.to_string()))?;
    writeln!(o, "  interval_seconds: {}", e.interval.as_secs())?;
    writeln!(
        o,
        "  shutdown_timeout_seconds: {}",
        e.shutdown_timeout.as_secs()
    )?;
    writeln!(o, "  dry_run: {}", e.dry_run)?;
    writeln!(o, "  max_data_age_seconds: {}", e.max_data_age.as_secs())?;

    if c.rules.is_empty() {
        writeln!(o, "rules: []")?;
    } else {
        writeln!(o, "rules:")?;
    }
    for r in &c.rules {
        writeln!(o, "  - name: {}", q(&r.name))?;
        writeln!(o, "    enabled: {}", r.enabled)?;
        writeln!(o, "    period: {}", r.period.kind.as_str())?;
        if r.period.kind == PeriodKind::Month {
            // Only months have a reset day; the loader rejects it elsewhere.
            writeln!(o, "    reset_day: {}", r.period.reset_day)?;
        }
        writeln!(o, "    direction: {}", r.direction.as_str())?;
        writeln!(
            o,
            "    limit: {}  # {}",
            q(&exact_size(r.limit_bytes)),
            units::format_bytes(r.limit_bytes)
        )?;
        writeln!(o, "    action: {}", r.action.as_str())?;
        if let Some(rate) = r.rate_limit_mb {
            writeln!(o, "    rate_limit_mb: {rate}")?;
        }
        writeln!(o, "    vm_ids: {}", list(&r.vm_ids))?;
        let tags: Vec<String> = r.vm_tags.iter().map(|t| q(t)).collect();
        writeln!(o, "    vm_tags: [{}]", tags.join(", "))?;
        writeln!(o, "    exclude_vm_ids: {}", list(&r.exclude_vm_ids))?;
    }
    Ok(())
}

/// A YAML double-quoted string (JSON's escaping is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn list(ids: &[u32]) -> String {
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    format!("[{}]", ids.join(", "))
}

/// Bytes exactly, in GiB when whole (the usual case), else in bytes.
fn exact_size(bytes: u64) -> String {
    if bytes % (1 << 30) == 0 {
        format!("{}GiB", bytes >> 30)
    } else {
        format!("{bytes}B")
    }
}

/// `12500000000` bytes/s → `100 Gbit/s`, for the comment next to `max_bandwidth`.
fn bits_per_second(bytes: u64) -> String {
    let bits = u128::from(bytes) * 8;
    for (unit, scale) in [
        ("Tbit/s", 1_000_000_000_000u128),
        ("Gbit/s", 1_000_000_000),
        ("Mbit/s", 1_000_000),
        ("kbit/s", 1_000),
    ] {
        if bits >= scale && bits % scale == 0 {
            return format!("{} {unit}", bits / scale);
        }
    }
    format!("{bits} bit/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rates() {
        assert_eq!(exact_size(1000 << 30), "1000GiB");
        assert_eq!(exact_size(1_500_000_000_000), "1500000000000B");
        assert_eq!(bits_per_second(12_500_000_000), "100 Gbit/s");
        assert_eq!(bits_per_second(1), "8 bit/s");
    }
}
