//! A quota statement: a rule's usage against its limit for one period window, per guest.
//!
//! Usage comes from the period accumulators ([`Store::period_usage`]), the very numbers the
//! enforcer acts on, so a statement handed to a customer matches what enforcement saw. The
//! window is the rule's window in the exporter's zone (`monitor.timezone`, where the
//! accumulators are kept): the current one, or with `--date` the one containing that day.
//! For one guest the statement also carries the window's history in buckets (5-minute for an
//! hour rule, hours for a day rule, days for week and month rules) to draw the running sum.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

use super::aggregate::{guest_buckets, Resolution};
use super::guest::{buckets, Bucket};
use super::range::{BucketSize, ReportRange};
use super::ReportError;
use pve_traffic_core::period::{PeriodKind, Window};
use pve_traffic_core::rules::Rule;
use pve_traffic_store::{GuestInfo, Store};

/// One guest's usage in the window.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaRow {
    /// The guest as PVE last described it.
    pub guest: GuestInfo,
    /// Bytes received in the window.
    pub rx: u64,
    /// Bytes sent in the window.
    pub tx: u64,
    /// The bytes that count against the limit (the rule's direction).
    pub used: u64,
}

impl QuotaRow {
    /// What is left of `limit` (0 when over).
    pub fn remaining(&self, limit: u64) -> u64 {
        limit.saturating_sub(self.used)
    }

    /// Usage as a percentage of `limit` (a zero limit is 100 % used by any traffic).
    pub fn percent(&self, limit: u64) -> f64 {
        match limit {
            0 if self.used == 0 => 0.0,
            0 => 100.0,
            l => self.used as f64 * 100.0 / l as f64,
        }
    }
}

/// The history of one guest's window, for the running-sum chart.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSeries {
    /// The window (up to now, if it is the current one) in buckets.
    pub range: ReportRange,
    /// The history's resolution used.
    pub resolution: Resolution,
    /// Per bucket: rx and tx; `used` is the rule's direction of them.
    pub buckets: Vec<Bucket>,
}

/// A rule's usage against its limit in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaStatement {
    /// The rule.
    pub rule: Rule,
    /// The window's first instant, in the report's zone.
    pub window_start: ZonedDateTime,
    /// The first instant after the window.
    pub window_end: ZonedDateTime,
    /// Whether "now" lies in the window (usage may still grow).
    pub current: bool,
    /// The guests the rule applies to (or the one asked for), most used first.
    pub rows: Vec<QuotaRow>,
    /// For a single guest: the window's history in buckets.
    pub series: Option<QuotaSeries>,
}

/// What a statement is asked for.
pub struct QuotaRequest<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// One guest, or every guest the rule applies to.
    pub vmid: Option<u32>,
    /// The window containing this instant (the start of `--date`, or now).
    pub at: Timestamp,
    /// Now: decides whether the window is current, and where its history stops.
    pub now: Timestamp,
    /// The zone the accumulators are kept in (`monitor.timezone`).
    pub period_tz: &'a TimeZone,
    /// The zone the statement is shown in (`--tz`).
    pub report_tz: &'a TimeZone,
}

/// Builds the statement from `store`; `guests` are all guests the store knows, by VMID.
pub fn quota_statement<S: Store + ?Sized>(
    store: &S,
    guests: &BTreeMap<u32, GuestInfo>,
    req: &QuotaRequest<'_>,
) -> Result<QuotaStatement, ReportError> {
    let rule = req.rule;
    let window = rule.window_at(req.at, req.period_tz);
    let usage = store.period_usage(&rule.period.key(), window.start.as_millisecond())?;
    let selected: Vec<&GuestInfo> = match req.vmid {
        Some(vmid) => {
            let g = guests.get(&vmid).ok_or(ReportError::NoGuest(vmid))?;
            if !rule.applies_to(vmid, &g.tags) {
                return Err(ReportError::Range(format!(
                    "rule {:?} does not apply to guest {vmid} (see its enabled, vm_ids, \
                     vm_tags and exclude_vm_ids)",
                    rule.name
                )));
            }
            vec![g]
        }
        None => guests
            .values()
            .filter(|g| rule.applies_to(g.vmid, &g.tags))
            .collect(),
    };
    let mut rows: Vec<QuotaRow> = selected
        .into_iter()
        .map(|g| {
            let (rx, tx) = usage.get(&g.vmid).copied().unwrap_or((0, 0));
            QuotaRow {
                guest: g.clone(),
                rx,
                tx,
                used: rule.used(rx, tx),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.used.cmp(&a.used).then(a.guest.vmid.cmp(&b.guest.vmid)));
    let series = match req.vmid {
        Some(vmid) => Some(series(store, vmid, rule, window, req)?),
        None => None,
    };
    Ok(QuotaStatement {
        rule: rule.clone(),
        window_start: window.start.to_zoned_datetime(req.report_tz.clone()),
        window_end: window.end.to_zoned_datetime(req.report_tz.clone()),
        current: window.contains(req.now),
        rows,
        series,
    })
}

fn series<S: Store + ?Sized>(
    store: &S,
    vmid: u32,
    rule: &Rule,
    window: Window,
    req: &QuotaRequest<'_>,
) -> Result<QuotaSeries, ReportError> {
    let bucket = match rule.period.kind {
        PeriodKind::Hour => BucketSize::FiveMinutes,
        PeriodKind::Day => BucketSize::Hour,
        PeriodKind::Week | PeriodKind::Month => BucketSize::Day,
    };
    let mut end = window.end;
    if window.contains(req.now) {
        let now_ms = req.now.as_millisecond();
        let next = now_ms.div_euclid(pve_traffic_store::BUCKET_MS) * pve_traffic_store::BUCKET_MS
            + pve_traffic_store::BUCKET_MS;
        end = end.min(Timestamp::from_millisecond(next).unwrap_or(end));
    }
    let range = ReportRange::new(window.start, end, bucket, req.report_tz)?;
    let (sums, resolution) = guest_buckets(store, vmid, &range.bounds_ms())?;
    Ok(QuotaSeries {
        buckets: buckets(&range, &sums),
        range,
        resolution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pve_traffic_core::period::PeriodSpec;
    use pve_traffic_core::rules::{Action, Direction};
    use pve_traffic_store::testutil::{cycle, gw_spread, info, T0};
    use pve_traffic_store::{MemStore, HOUR_MS};

    fn rule(direction: Direction, vm_ids: Vec<u32>) -> Rule {
        Rule {
            name: "daily".into(),
            enabled: true,
            period: PeriodSpec::day(),
            direction,
            limit_bytes: 1000,
            action: Action::Notify,
            rate_limit_mb: None,
            vm_ids,
            vm_tags: vec![],
            exclude_vm_ids: vec![],
        }
    }

    /// Day 1: guest 100 moves (300, 500) over two hours, guest 101 (2000, 0); day 2 more.
    fn store() -> (MemStore, BTreeMap<u32, GuestInfo>) {
        let mut s = MemStore::new();
        let h = |n: i64| T0 + n * HOUR_MS;
        s.commit_cycle(&cycle(
            h(3),
            vec![
                gw_spread(100, h(3), vec![(h(1), 100, 200), (h(2), 200, 300)]),
                gw_spread(101, h(3), vec![(h(2), 2000, 0)]),
            ],
        ))
        .unwrap();
        s.commit_cycle(&cycle(
            h(30),
            vec![gw_spread(100, h(30), vec![(h(26), 7, 7)])],
        ))
        .unwrap();
        (s, [100, 101].into_iter().map(|v| (v, info(v))).collect())
    }

    #[test]
    fn usage_of_a_past_window_from_the_accumulators() {
        let (s, guests) = store();
        let r = rule(Direction::Max, vec![]);
        let utc = TimeZone::UTC;
        let at = Timestamp::from_millisecond(T0 + 5 * HOUR_MS).unwrap();
        let now = Timestamp::from_millisecond(T0 + 40 * HOUR_MS).unwrap();
        let req = QuotaRequest {
            rule: &r,
            vmid: None,
            at,
            now,
            period_tz: &utc,
            report_tz: &utc,
        };
        let q = quota_statement(&s, &guests, &req).unwrap();
        assert!(!q.current);
        assert_eq!(q.window_start.timestamp().as_millisecond(), T0);
        let used: Vec<(u32, u64)> = q.rows.iter().map(|r| (r.guest.vmid, r.used)).collect();
        assert_eq!(
            used,
            vec![(101, 2000), (100, 500)],
            "max(rx, tx), most used first"
        );
        assert_eq!(q.rows[0].remaining(1000), 0);
        assert_eq!(q.rows[1].percent(1000), 50.0);
        assert!(q.series.is_none());

        // One guest: the day in hour buckets, summing to the accumulator's usage.
        let one = QuotaRequest {
            vmid: Some(100),
            ..req
        };
        let q = quota_statement(&s, &guests, &one).unwrap();
        let series = q.series.unwrap();
        assert_eq!(series.buckets.len(), 24);
        let rx: u64 = series.buckets.iter().map(|b| b.rx).sum();
        let tx: u64 = series.buckets.iter().map(|b| b.tx).sum();
        assert_eq!((rx, tx), (q.rows[0].rx, q.rows[0].tx));
    }

    #[test]
    fn a_current_window_stops_at_now_and_a_guest_outside_the_rule_is_refused() {
        let (s, guests) = store();
        let r = rule(Direction::Both, vec![100]);
        let utc = TimeZone::UTC;
        let now = Timestamp::from_millisecond(T0 + 26 * HOUR_MS + 60_000).unwrap();
        let req = QuotaRequest {
            rule: &r,
            vmid: Some(100),
            at: now,
            now,
            period_tz: &utc,
            report_tz: &utc,
        };
        let q = quota_statement(&s, &guests, &req).unwrap();
        assert!(q.current);
        assert_eq!(q.rows[0].used, 14);
        let series = q.series.unwrap();
        assert_eq!(series.buckets.len(), 3, "00:00, 01:00, 02:00-02:05");
        let e = quota_statement(
            &s,
            &guests,
            &QuotaRequest {
                vmid: Some(101),
                ..req
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not apply to guest 101"), "{e}");
        let e = quota_statement(
            &s,
            &guests,
            &QuotaRequest {
                vmid: Some(7),
                ..req
            },
        )
        .unwrap_err();
        assert!(matches!(e, ReportError::NoGuest(7)), "{e}");
    }
}
