//! Calendar windows computed here, independently of the crate's period code: hours from the
//! zone's offset at the instant, days, ISO weeks and months from jiff's civil dates. The
//! window check sums the store's accumulators over windows and compares them with the
//! truth's growth between the instants that bound them.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// A calendar period as the exporter stores it (its default periods).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Hour,
    Day,
    Week,
    Month,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Hour, Kind::Day, Kind::Week, Kind::Month];

    /// The store's period key.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Hour => "hour",
            Kind::Day => "day",
            Kind::Week => "week",
            Kind::Month => "month",
        }
    }
}

/// Start (epoch seconds) of the `kind` window holding `t`.
pub fn start(kind: Kind, tz: &TimeZone, t: i64) -> i64 {
    let ts = Timestamp::from_second(t).unwrap();
    let date = tz.to_datetime(ts).date();
    match kind {
        Kind::Hour => {
            // Every offset of the zones used here is whole quarter hours and changes only on
            // whole local hours, so the local hour holding `t` is `t`'s local time truncated.
            let offset = i64::from(tz.to_offset(ts).seconds());
            let local = t + offset;
            local - local.rem_euclid(3600) - offset
        }
        Kind::Day => midnight(tz, date),
        Kind::Week => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            midnight(tz, date.checked_sub(Span::new().days(back)).unwrap())
        }
        Kind::Month => midnight(tz, date.first_of_month()),
    }
}

/// Start of the window after the one starting at `window_start`.
pub fn next(kind: Kind, tz: &TimeZone, window_start: i64) -> i64 {
    let date = tz
        .to_datetime(Timestamp::from_second(window_start).unwrap())
        .date();
    match kind {
        Kind::Hour => window_start + 3600,
        Kind::Day => midnight(tz, date.tomorrow().unwrap()),
        Kind::Week => midnight(tz, date.checked_add(Span::new().days(7)).unwrap()),
        Kind::Month => midnight(tz, date.last_of_month().tomorrow().unwrap()),
    }
}

fn midnight(tz: &TimeZone, date: Date) -> i64 {
    date.to_zoned_datetime(tz.clone()).unwrap().timestamp().as_second()
}

/// What the truth said of one guest at one instant: bytes an exact observer has accounted
/// (`rx - unobservable_rx`, tx likewise) and the re-created NICs' pushed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observable {
    pub rx: u64,
    pub tx: u64,
    pub recreated_rx: u64,
    pub recreated_tx: u64,
}

/// `accounted` must equal `to - from` exactly, or lie in
/// `[to - from - recreated growth, to - from]` when a NIC was re-created in between.
pub fn check_growth(
    what: &str,
    accounted: (u64, u64),
    from: &Observable,
    to: &Observable,
) -> Result<(), String> {
    let exact = (to.rx - from.rx, to.tx - from.tx);
    let slack = (
        to.recreated_rx - from.recreated_rx,
        to.recreated_tx - from.recreated_tx,
    );
    let ok = |acc: u64, exact: u64, slack: u64| acc <= exact && exact - slack <= acc;
    if ok(accounted.0, exact.0, slack.0) && ok(accounted.1, exact.1, slack.1) {
        return Ok(());
    }
    Err(format!(
        "{what}: accounted (rx, tx) = {accounted:?}, truth - unobservable grew by {exact:?} \
         (re-created NICs' pushed bytes grew by {slack:?}; accounted must be within that below)"
    ))
}

/// Checks every `kind` window of one guest between the first and the last cut. `cuts` are
/// the instants at which the exporter polled the guest's fresh stats; a window boundary
/// that is not a cut is checked as part of the union of the windows around it. `usage`
/// reads a window's accounted bytes from the store. Returns how many sums were compared.
pub fn check_windows(
    kind: Kind,
    tz: &TimeZone,
    cuts: &BTreeMap<i64, Observable>,
    usage: &mut dyn FnMut(i64) -> (u64, u64),
) -> Result<usize, String> {
    let (&first, _) = cuts.first_key_value().unwrap();
    let (&last, _) = cuts.last_key_value().unwrap();
    let mut from = first;
    let mut acc = (0, 0);
    let mut windows = Vec::new();
    let mut compared = 0;
    let mut w = start(kind, tz, first);
    while w < last {
        let (rx, tx) = usage(w);
        acc = (acc.0 + rx, acc.1 + tx);
        windows.push(w);
        let end = next(kind, tz, w).min(last);
        if let Some(to) = cuts.get(&end) {
            let what = format!(
                "{} windows starting {:?} (from {} to {})",
                kind.key(),
                windows.iter().map(|&s| iso(s)).collect::<Vec<_>>(),
                iso(from),
                iso(end)
            );
            check_growth(&what, acc, &cuts[&from], to)?;
            compared += 1;
            from = end;
            acc = (0, 0);
            windows.clear();
        }
        w = next(kind, tz, w);
    }
    Ok(compared)
}

/// Epoch seconds as an RFC 3339 UTC instant, for messages.
pub fn iso(t: i64) -> String {
    Timestamp::from_second(t).unwrap().to_string()
}

