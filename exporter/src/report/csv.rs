//! The CSV form of each report (RFC 4180: comma-separated, a header line, `\r\n` line ends,
//! fields with commas, quotes or line breaks quoted): one table per report, columns as in
//! the README's export section, bytes as integers, instants as ISO-8601 with offset.
//!
//! Guest names come from tenants: a name starting with `=`, `+`, `-`, `@` or a tab would be
//! run as a formula by spreadsheet programs, so such a field is written with a leading `'`
//! (the usual defence; the JSON carries the name unchanged).

use std::fmt::Write;

use super::guest::GuestReport;
use super::iso;
use super::quota::QuotaStatement;
use super::ranking::Ranking;

/// The guest report: one row per bucket.
pub fn guest(r: &GuestReport) -> String {
    let mut out = line(&[
        "vmid",
        "name",
        "start",
        "end",
        "label",
        "rx_bytes",
        "tx_bytes",
        "total_bytes",
    ]);
    let vmid = r.guest.vmid.to_string();
    for b in &r.buckets {
        out += &line(&[
            &vmid,
            &r.guest.name,
            &iso(&b.start),
            &iso(&b.end),
            &b.label,
            &b.rx.to_string(),
            &b.tx.to_string(),
            &b.total().to_string(),
        ]);
    }
    out
}

/// The ranking: one row per guest, largest first.
pub fn ranking(r: &Ranking) -> String {
    let mut out = line(&[
        "rank",
        "vmid",
        "name",
        "node",
        "type",
        "start",
        "end",
        "rx_bytes",
        "tx_bytes",
        "total_bytes",
    ]);
    let (start, end) = (iso(&r.range.start), iso(&r.range.end));
    for (i, row) in r.rows.iter().enumerate() {
        out += &line(&[
            &(i + 1).to_string(),
            &row.guest.vmid.to_string(),
            &row.guest.name,
            &row.guest.node,
            row.guest.guest_type.as_str(),
            &start,
            &end,
            &row.rx.to_string(),
            &row.tx.to_string(),
            &row.total().to_string(),
        ]);
    }
    out
}

/// The quota statement: one row per guest, most used first.
pub fn quota(q: &QuotaStatement) -> String {
    let mut out = line(&[
        "rule",
        "vmid",
        "name",
        "start",
        "end",
        "used_bytes",
        "limit_bytes",
        "remaining_bytes",
        "percent_used",
        "rx_bytes",
        "tx_bytes",
    ]);
    let (start, end) = (iso(&q.window_start), iso(&q.window_end));
    let limit = q.rule.limit_bytes;
    for r in &q.rows {
        out += &line(&[
            &q.rule.name,
            &r.guest.vmid.to_string(),
            &r.guest.name,
            &start,
            &end,
            &r.used.to_string(),
            &limit.to_string(),
            &r.remaining(limit).to_string(),
            &format!("{:.2}", r.percent(limit)),
            &r.rx.to_string(),
            &r.tx.to_string(),
        ]);
    }
    out
}

/// One CSV record.
fn line(fields: &[&str]) -> String {
    let mut s = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        field(&mut s, f);
    }
    s.push_str("\r\n");
    s
}

fn field(out: &mut String, f: &str) {
    let formula = f.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        let _ = write!(out, "\"{}\"", guarded.replace('"', "\"\""));
    } else {
        out.push_str(&guarded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(line(&["a", "b c"]), "a,b c\r\n");
        assert_eq!(
            line(&["x,y", "say \"hi\""]),
            "\"x,y\",\"say \"\"hi\"\"\"\r\n"
        );
        assert_eq!(line(&["two\nlines"]), "\"two\nlines\"\r\n");
        assert_eq!(line(&["=cmd|' /C calc'!A0"]), "'=cmd|' /C calc'!A0\r\n");
        assert_eq!(line(&["-1+2", "@sum"]), "'-1+2,'@sum\r\n");
    }
}
