//! The JSON form of each report (schema `pve-traffic-export/1`, documented in the module doc
//! of `report` and in the README): snake_case keys, byte counts as integers, instants as
//! ISO-8601 with the offset in force (`2026-11-01T00:00:00+01:00`).
//!
//! Private serialisable mirrors of the report types keep the schema in one place: renaming a
//! field of a report type cannot silently rename a key customers' scripts depend on.

use jiff::ZonedDateTime;
use serde::Serialize;

use super::guest::{Bucket, GuestReport};
use super::quota::QuotaStatement;
use super::ranking::Ranking;
use super::{iso, zone_name, SCHEMA};
use pve_traffic_store::GuestInfo;

#[derive(Serialize)]
struct Header<'a> {
    schema: &'static str,
    kind: &'static str,
    generated_at: String,
    time_zone: String,
    start: String,
    end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: Option<&'a str>,
}

impl<'a> Header<'a> {
    fn new(
        kind: &'static str,
        now: &ZonedDateTime,
        start: &ZonedDateTime,
        end: &ZonedDateTime,
    ) -> Header<'a> {
        Header {
            schema: SCHEMA,
            kind,
            generated_at: iso(now),
            time_zone: zone_name(start.time_zone()),
            start: iso(start),
            end: iso(end),
            bucket: None,
            resolution: None,
        }
    }
}

#[derive(Serialize)]
struct Guest<'a> {
    vmid: u32,
    name: &'a str,
    node: &'a str,
    #[serde(rename = "type")]
    guest_type: &'static str,
}

impl<'a> From<&'a GuestInfo> for Guest<'a> {
    fn from(g: &'a GuestInfo) -> Guest<'a> {
        Guest {
            vmid: g.vmid,
            name: &g.name,
            node: &g.node,
            guest_type: g.guest_type.as_str(),
        }
    }
}

#[derive(Serialize)]
struct Bytes {
    rx_bytes: u64,
    tx_bytes: u64,
    total_bytes: u64,
}

impl Bytes {
    fn new(rx: u64, tx: u64) -> Bytes {
        Bytes {
            rx_bytes: rx,
            tx_bytes: tx,
            total_bytes: rx.saturating_add(tx),
        }
    }
}

#[derive(Serialize)]
struct BucketOut<'a> {
    start: String,
    end: String,
    label: &'a str,
    #[serde(flatten)]
    bytes: Bytes,
}

impl<'a> From<&'a Bucket> for BucketOut<'a> {
    fn from(b: &'a Bucket) -> BucketOut<'a> {
        BucketOut {
            start: iso(&b.start),
            end: iso(&b.end),
            label: &b.label,
            bytes: Bytes::new(b.rx, b.tx),
        }
    }
}

/// The guest report as JSON.
pub fn guest(r: &GuestReport, now: &ZonedDateTime) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        header: Header<'a>,
        guest: Guest<'a>,
        buckets: Vec<BucketOut<'a>>,
        totals: Bytes,
    }
    let mut header = Header::new("guest", now, &r.range.start, &r.range.end);
    header.bucket = Some(r.range.bucket.as_str());
    header.resolution = Some(r.resolution.as_str());
    to_string(&Out {
        header,
        guest: (&r.guest).into(),
        buckets: r.buckets.iter().map(BucketOut::from).collect(),
        totals: Bytes::new(r.rx, r.tx),
    })
}

/// The ranking of all guests as JSON.
pub fn ranking(r: &Ranking, now: &ZonedDateTime) -> String {
    #[derive(Serialize)]
    struct Row<'a> {
        rank: usize,
        #[serde(flatten)]
        guest: Guest<'a>,
        #[serde(flatten)]
        bytes: Bytes,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        header: Header<'a>,
        direction: &'static str,
        guests: Vec<Row<'a>>,
        totals: Bytes,
    }
    let mut header = Header::new("ranking", now, &r.range.start, &r.range.end);
    header.resolution = Some(r.resolution.as_str());
    to_string(&Out {
        header,
        direction: r.direction.as_str(),
        guests: r
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| Row {
                rank: i + 1,
                guest: (&row.guest).into(),
                bytes: Bytes::new(row.rx, row.tx),
            })
            .collect(),
        totals: Bytes::new(r.rx, r.tx),
    })
}

/// The quota statement as JSON.
pub fn quota(q: &QuotaStatement, now: &ZonedDateTime) -> String {
    #[derive(Serialize)]
    struct Rule<'a> {
        name: &'a str,
        period: String,
        direction: &'static str,
        limit_bytes: u64,
        action: &'static str,
    }
    #[derive(Serialize)]
    struct Row<'a> {
        #[serde(flatten)]
        guest: Guest<'a>,
        rx_bytes: u64,
        tx_bytes: u64,
        used_bytes: u64,
        limit_bytes: u64,
        remaining_bytes: u64,
        percent_used: f64,
    }
    #[derive(Serialize)]
    struct Step<'a> {
        #[serde(flatten)]
        bucket: BucketOut<'a>,
        used_bytes: u64,
        cumulative_used_bytes: u64,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        header: Header<'a>,
        current: bool,
        rule: Rule<'a>,
        guests: Vec<Row<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        buckets: Option<Vec<Step<'a>>>,
    }
    let rule = &q.rule;
    let limit = rule.limit_bytes;
    let mut header = Header::new("quota", now, &q.window_start, &q.window_end);
    if let Some(s) = &q.series {
        header.bucket = Some(s.range.bucket.as_str());
        header.resolution = Some(s.resolution.as_str());
    }
    let buckets = q.series.as_ref().map(|s| {
        let mut running = 0u64;
        s.buckets
            .iter()
            .map(|b| {
                let used = rule.used(b.rx, b.tx);
                running = running.saturating_add(used);
                Step {
                    bucket: b.into(),
                    used_bytes: used,
                    cumulative_used_bytes: running,
                }
            })
            .collect()
    });
    to_string(&Out {
        header,
        current: q.current,
        rule: Rule {
            name: &rule.name,
            period: rule.period.key(),
            direction: rule.direction.as_str(),
            limit_bytes: limit,
            action: rule.action.as_str(),
        },
        guests: q
            .rows
            .iter()
            .map(|r| Row {
                guest: (&r.guest).into(),
                rx_bytes: r.rx,
                tx_bytes: r.tx,
                used_bytes: r.used,
                limit_bytes: limit,
                remaining_bytes: r.remaining(limit),
                percent_used: (r.percent(limit) * 100.0).round() / 100.0,
            })
            .collect(),
        buckets,
    })
}

fn to_string<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("report types always serialise");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::super::range::{BucketSize, ReportRange};
    use super::super::{guest_report, Resolution};
    use super::*;
    use jiff::tz::TimeZone;
    use jiff::Timestamp;
    use pve_traffic_store::testutil::{cycle, gw_spread, info, T0};
    use pve_traffic_store::{MemStore, Store, HOUR_MS};

    #[test]
    fn guest_report_keys_and_values() {
        let mut s = MemStore::new();
        s.commit_cycle(&cycle(
            T0 + HOUR_MS,
            vec![gw_spread(100, T0, vec![(T0, 5, 7)])],
        ))
        .unwrap();
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        let ts = |ms| Timestamp::from_millisecond(ms).unwrap();
        let range = ReportRange::new(
            ts(T0 - 30 * 60_000),
            ts(T0 + HOUR_MS + 30 * 60_000),
            BucketSize::Hour,
            &tz,
        )
        .unwrap();
        let r = guest_report(&s, info(100), range).unwrap();
        assert_eq!(r.resolution, Resolution::FiveMinutes);
        let now = ts(T0).to_zoned_datetime(tz);
        let v: serde_json::Value = serde_json::from_str(&guest(&r, &now)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "schema": "pve-traffic-export/1",
                "kind": "guest",
                "generated_at": "2026-01-01T05:30:00+05:30",
                "time_zone": "Asia/Kolkata",
                "start": "2026-01-01T05:00:00+05:30",
                "end": "2026-01-01T07:00:00+05:30",
                "bucket": "hour",
                "resolution": "5m",
                "guest": {"vmid": 100, "name": "guest-100", "node": "pve1", "type": "qemu"},
                "buckets": [
                    {"start": "2026-01-01T05:00:00+05:30", "end": "2026-01-01T06:00:00+05:30",
                     "label": "2026-01-01 05:00", "rx_bytes": 5, "tx_bytes": 7, "total_bytes": 12},
                    {"start": "2026-01-01T06:00:00+05:30", "end": "2026-01-01T07:00:00+05:30",
                     "label": "2026-01-01 06:00", "rx_bytes": 0, "tx_bytes": 0, "total_bytes": 0}
                ],
                "totals": {"rx_bytes": 5, "tx_bytes": 7, "total_bytes": 12}
            })
        );
    }
}
