//! Calendar windows computed here, independently of the crate's period code: local hours,
//! days, ISO weeks and months from jiff's civil times, each start mapped to its first
//! instant. The
//! window check sums the store's accumulators over windows and compares them with the
//! truth's growth between the instants that bound them.

use std::collections::BTreeMap;

use jiff::civil::DateTime;
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
    let local = tz.to_datetime(Timestamp::from_second(t).unwrap());
    let date = local.date();
    match kind {
        Kind::Hour => instant(tz, date.at(local.hour(), 0, 0, 0)),
        Kind::Day => instant(tz, date.into()),
        Kind::Week => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            instant(tz, date.checked_sub(Span::new().days(back)).unwrap().into())
        }
        Kind::Month => instant(tz, date.first_of_month().into()),
    }
}

/// Start of the window after the one starting at `window_start`: the next local period
/// start that is a later instant (a start skipped by clocks going forward is no window).
pub fn next(kind: Kind, tz: &TimeZone, window_start: i64) -> i64 {
    let mut civil = tz.to_datetime(Timestamp::from_second(window_start).unwrap());
    loop {
        civil = match kind {
            Kind::Hour => civil.checked_add(Span::new().hours(1)).unwrap(),
            Kind::Day => civil.checked_add(Span::new().days(1)).unwrap(),
            Kind::Week => civil.checked_add(Span::new().days(7)).unwrap(),
            Kind::Month => civil.checked_add(Span::new().months(1)).unwrap(),
        };
        let t = instant(tz, civil);
        if t > window_start {
            return t;
        }
    }
}

/// The instant of a local period start. When clocks go back, a local time happens twice
/// and the period starts at its first occurrence: the exporter's repeated hour is one window
/// two hours long (the README's and the period module's rule). A local time the clocks skip
/// becomes the instant of the jump.
fn instant(tz: &TimeZone, civil: DateTime) -> i64 {
    tz.to_ambiguous_timestamp(civil)
        .earlier()
        .unwrap()
        .as_second()
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
    let ok = |acc: u64, exact: u64, slack: u64| acc <= exact && exact.saturating_sub(slack) <= acc;
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
