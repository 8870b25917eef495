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
use crate::period::{PeriodKind, Window};
use crate::rules::Rule;
use crate::store::{GuestInfo, Store};

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
        let next = now_ms.div_euclid(crate::store::BUCKET_MS) * crate::store::BUCKET_MS
            + crate::store::BUCKET_MS;
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
