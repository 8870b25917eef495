//! Calendar periods: hour, day, ISO week and month (with a reset day), in any time zone.
//!
//! Quotas and the `pve_traffic_period_*` gauges are about the periods an operator sees on a
//! wall calendar in `monitor.timezone`, not about fixed UTC buckets: a Berlin day
//! is 23 or 25 hours long twice a year, a Kathmandu hour starts at :15 UTC, a month reset on
//! the 31st falls on February's last day. This module turns an instant into the window that
//! contains it, and spreads a traffic delta over the windows it covers in exact integers, so
//! that the sum over windows is always the accounted total (docs/design.md, "Accounting").
//!
//! Everything here is pure: the instant is always an argument, nothing reads the clock, the
//! store or the config. Parsing `period:`/`reset_day:` keys is the config's job; summing
//! what is attributed to a window is the store's.
//!
//! # How a local period start becomes an instant
//!
//! A window runs from one local period start (e.g. `03:00`, a midnight, a Monday midnight, the
//! reset day's midnight) to the next. A local start is mapped to an instant with jiff's
//! *compatible* disambiguation: in a fold (clocks go back) the earlier occurrence, so the
//! repeated hour belongs to the hour that started first (Berlin's 2026-10-25 02:00 hour lasts
//! two hours); a start at the beginning of a gap (clocks go forward) becomes the instant of
//! the jump, so the skipped hour is an empty window that is never returned. One refinement
//! over plain compatible: a local start lying *strictly inside* a gap (Pacific/Chatham jumps
//! from 02:45 to 03:45, so its 03:00 is one) maps to the instant of the jump. Compatible would
//! map it 15 minutes later, onto the 04:00 boundary, leaving the 03:00 hour empty and giving
//! 03:45-03:59 to the 02:00 hour; this way boundaries never run backwards, windows always tile
//! time, and an instant is in the hour its local clock shows.
//! Windows are then the spans between consecutive distinct boundaries: every instant lies in
//! exactly one window.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

/// Epoch milliseconds as a timestamp (clamped into jiff's range).
pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

crate::vocabulary! {
    /// The length of a period; its name is used in config (`period:`), in storage keys and as
    /// the metric label `period`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum PeriodKind ("period") {
        /// A clock hour.
        Hour = "hour",
        /// A calendar day.
        Day = "day",
        /// An ISO week, Monday to Sunday.
        Week = "week",
        /// A month, starting on `reset_day`.
        Month = "month",
    }
}

/// A period kind with its anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodSpec {
    /// Hour, day, week or month.
    pub kind: PeriodKind,
    /// Month only: the day of the month the period starts, 1..=31, clamped to the month's
    /// last day (31 in February = the 28th or 29th). 1 for other kinds.
    pub reset_day: u8,
}

impl PeriodSpec {
    /// A validated spec: `reset_day` must be 1..=31, and only a month may have one other
    /// than 1. The error names the problem and the accepted values.
    pub fn new(kind: PeriodKind, reset_day: u8) -> Result<PeriodSpec, String> {
        if !(1..=31).contains(&reset_day) {
            return Err(format!(
                "reset_day must be between 1 and 31 (clamped to the month's last day), got {reset_day}"
            ));
        }
        if kind != PeriodKind::Month && reset_day != 1 {
            return Err(format!(
                "reset_day applies only to period `month`, but period is `{}` with reset_day {reset_day}; remove reset_day or use period `month`",
                kind.as_str()
            ));
        }
        Ok(PeriodSpec { kind, reset_day })
    }

    /// Clock hours.
    pub const fn hour() -> PeriodSpec {
        PeriodSpec {
            kind: PeriodKind::Hour,
            reset_day: 1,
        }
    }

    /// Calendar days, local midnight to local midnight.
    pub const fn day() -> PeriodSpec {
        PeriodSpec {
            kind: PeriodKind::Day,
            reset_day: 1,
        }
    }

    /// ISO weeks, local Monday 00:00 to the next.
    pub const fn week() -> PeriodSpec {
        PeriodSpec {
            kind: PeriodKind::Week,
            reset_day: 1,
        }
    }

    /// Months starting at local 00:00 of `reset_day` (1..=31, clamped to each month's last
    /// day). For values from a config file use [`PeriodSpec::new`], which returns an error.
    ///
    /// # Panics
    ///
    /// If `reset_day` is not within 1..=31 (a programming error, like a bad constant).
    pub const fn month(reset_day: u8) -> PeriodSpec {
        assert!(
            reset_day >= 1 && reset_day <= 31,
            "PeriodSpec::month: reset_day must be 1..=31"
        );
        PeriodSpec {
            kind: PeriodKind::Month,
            reset_day,
        }
    }

    /// The stable storage key: `hour`, `day`, `week`, `month`, or `month@15` for a month
    /// with reset day 15. Stored usage is keyed by it, so it must never change.
    pub fn key(&self) -> String {
        if self.kind == PeriodKind::Month && self.reset_day != 1 {
            format!("month@{}", self.reset_day)
        } else {
            self.kind.as_str().to_string()
        }
    }

    /// Parses a key written by [`PeriodSpec::key`]. Only canonical keys are accepted
    /// (`month@1` and `month@07` are not: they would name a row `month` also names), so
    /// `parse_key(s).map(|p| p.key()) == Some(s)` whenever it is `Some`.
    pub fn parse_key(s: &str) -> Option<PeriodSpec> {
        match s.split_once('@') {
            None => {
                let kind = PeriodKind::parse(s).ok()?;
                Some(PeriodSpec { kind, reset_day: 1 })
            }
            Some(("month", day)) => {
                if day.starts_with('0') || !day.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let reset_day: u8 = day.parse().ok()?;
                if reset_day == 1 {
                    return None;
                }
                PeriodSpec::new(PeriodKind::Month, reset_day).ok()
            }
            Some(_) => None,
        }
    }

    /// The window of this period that contains `t`, with boundaries at local period starts in
    /// `tz` (see the module doc for DST folds and gaps). Always `start <= t < end`.
    ///
    /// Within a few periods of jiff's range limits (years -9999 and 9999) a boundary that
    /// cannot be represented is replaced by [`Timestamp::MIN`] or [`Timestamp::MAX`].
    pub fn window_at(&self, t: Timestamp, tz: &TimeZone) -> Window {
        // The earliest instant whose local time is at or after t's local period start is at
        // or before `t` (t itself is such an instant), so this loop exits on its first turn;
        // it only guards `start <= t` against inconsistent time zone data.
        let mut civil = self.floor(tz.to_datetime(t));
        let mut start = Timestamp::MIN;
        while let Some(c) = civil {
            match boundary(c, tz) {
                Some(b) if b > t => civil = self.step(c, -1),
                Some(b) => {
                    start = b;
                    break;
                }
                None => break,
            }
        }
        // Skip boundaries at or before `t`: several local starts map to the same instant in a
        // gap (the skipped hour), and in a fold longer than the period a later local start
        // can map to an instant before `t`.
        let end = loop {
            let Some(next) = civil.and_then(|c| self.step(c, 1)) else {
                break Timestamp::MAX;
            };
            let Some(b) = boundary(next, tz) else {
                break Timestamp::MAX;
            };
            if b > t {
                break b;
            }
            civil = Some(next);
            start = b;
        };
        Window { start, end }
    }

    /// The local period start at or before `dt` (a civil value, not yet an instant).
    fn floor(&self, dt: DateTime) -> Option<DateTime> {
        let d = dt.date();
        match self.kind {
            PeriodKind::Hour => Some(d.at(dt.hour(), 0, 0, 0)),
            PeriodKind::Day => Some(d.at(0, 0, 0, 0)),
            PeriodKind::Week => {
                let back = i64::from(d.weekday().to_monday_zero_offset());
                d.checked_sub(back.days()).ok().map(midnight)
            }
            PeriodKind::Month => {
                let this = month_anchor(d.year(), d.month(), self.reset_day)?;
                if d >= this {
                    Some(midnight(this))
                } else {
                    let (y, m) = add_months(d.year(), d.month(), -1)?;
                    month_anchor(y, m, self.reset_day).map(midnight)
                }
            }
        }
    }

    /// The local period start `n` periods after (or before, if negative) the start `c`.
    /// Months are clamped afresh each time: reset day 31 gives Jan 31, Feb 28, Mar 31.
    fn step(&self, c: DateTime, n: i32) -> Option<DateTime> {
        match self.kind {
            PeriodKind::Hour => c.checked_add(i64::from(n).hours()).ok(),
            PeriodKind::Day => c.date().checked_add(i64::from(n).days()).ok().map(midnight),
            PeriodKind::Week => c
                .date()
                .checked_add((7 * i64::from(n)).days())
                .ok()
                .map(midnight),
            PeriodKind::Month => {
                let (y, m) = add_months(c.year(), c.month(), n)?;
                month_anchor(y, m, self.reset_day).map(midnight)
            }
        }
    }
}

/// Local midnight of `d`.
fn midnight(d: Date) -> DateTime {
    d.at(0, 0, 0, 0)
}

/// The reset day of month `m` of year `y`, clamped to the month's last day.
fn month_anchor(y: i16, m: i8, reset_day: u8) -> Option<Date> {
    let first = Date::new(y, m, 1).ok()?;
    let day = i8::try_from(reset_day).ok()?.min(first.days_in_month());
    Date::new(y, m, day).ok()
}

/// Year and month `n` months after `y`-`m`; `None` outside jiff's year range.
fn add_months(y: i16, m: i8, n: i32) -> Option<(i16, i8)> {
    let index = i32::from(y) * 12 + i32::from(m) - 1 + n;
    let year = i16::try_from(index.div_euclid(12)).ok()?;
    let month = i8::try_from(index.rem_euclid(12) + 1).ok()?;
    Some((year, month))
}

/// The earliest instant whose local time in `tz` is at or after the civil datetime `c`.
///
/// This is jiff's compatible disambiguation, except strictly inside a gap where compatible
/// would pick an instant *after* that of later civil times (see the module doc). `None` when
/// the instant is outside jiff's range.
fn boundary(c: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(c).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(c).ok(),
        // Clocks went back: the first occurrence, as compatible does.
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(c).ok(),
        // Clocks jumped over `c`: the jump itself. Read with the offset after the gap, `c` is
        // an instant just before the jump; the next transition after it is the jump.
        AmbiguousOffset::Gap { before, after } => {
            let just_before = after.to_timestamp(c).ok()?;
            match tz.following(just_before).next() {
                Some(jump) => Some(jump.timestamp()),
                None => before.to_timestamp(c).ok(),
            }
        }
    }
}

/// A half-open span of time `[start, end)`: one period of a [`PeriodSpec`] in a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// The first instant of the window (inclusive).
    pub start: Timestamp,
    /// The first instant after the window (exclusive); the next window's start.
    pub end: Timestamp,
}

impl Window {
    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// The window of `spec` right after this one (the one containing `self.end`).
    pub fn next(&self, spec: PeriodSpec, tz: &TimeZone) -> Window {
        spec.window_at(self.end, tz)
    }

    /// The window of `spec` right before this one (the one containing the last nanosecond
    /// before `self.start`).
    pub fn previous(&self, spec: PeriodSpec, tz: &TimeZone) -> Window {
        let before = self
            .start
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap_or(self.start);
        spec.window_at(before, tz)
    }

    /// The window's length.
    pub fn duration(&self) -> SignedDuration {
        self.start.duration_until(self.end)
    }
}

/// Spreads a delta of `rx` and `tx` bytes that covers `[from, to)` over the windows of `spec`
/// it touches, in proportion to the time each window covers, exactly: parts are
/// integers, in time order, one per window overlapping `[from, to)` (zero parts included), and
/// they sum to `rx` and `tx`.
///
/// Window `i` gets `floor(total * T_i / T) - floor(total * T_(i-1) / T)`, where `T` is the
/// nanoseconds from `from` to `to` and `T_i` those up to the end of window `i`: each part is
/// within one byte of its exact share, and no byte is created or lost by rounding.
///
/// When `from >= to` (a delta covering no time, or a clock that went backwards) everything
/// goes to the window containing `to`, the instant the delta was observed.
pub fn split_by_windows(
    rx: u64,
    tx: u64,
    from: Timestamp,
    to: Timestamp,
    spec: PeriodSpec,
    tz: &TimeZone,
) -> Vec<(Window, u64, u64)> {
    Cover::new(from, to, spec, tz).split(rx, tx)
}

/// The windows of one period that an interval `[from, to)` touches, with how much of the
/// interval falls into each: the time-only half of [`split_by_windows`]. A poll cycle's
/// deltas mostly cover the same interval, so the exporter computes this once per interval
/// and splits every guest's bytes with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cover {
    windows: Vec<Window>,
    /// Nanoseconds of the interval up to the end of each window.
    cumulative: Vec<u128>,
    /// Nanoseconds of the whole interval (0: a delta covering no time).
    total: u128,
}

impl Cover {
    /// The windows of `spec` in `tz` that `[from, to)` touches.
    pub fn new(from: Timestamp, to: Timestamp, spec: PeriodSpec, tz: &TimeZone) -> Cover {
        if from >= to {
            return Cover {
                windows: vec![spec.window_at(to, tz)],
                cumulative: vec![0],
                total: 0,
            };
        }
        let from_ns = from.as_nanosecond();
        let mut windows = Vec::new();
        let mut cumulative = Vec::new();
        let mut w = spec.window_at(from, tz);
        loop {
            windows.push(w);
            let covered_to = w.end.min(to);
            cumulative.push(nanos_between(from_ns, covered_to.as_nanosecond()));
            if w.end >= to {
                break;
            }
            w = w.next(spec, tz);
        }
        Cover {
            windows,
            cumulative,
            total: nanos_between(from_ns, to.as_nanosecond()),
        }
    }

    /// Splits `(rx, tx)` over the windows, exactly (see [`split_by_windows`]).
    pub fn split(&self, rx: u64, tx: u64) -> Vec<(Window, u64, u64)> {
        if self.total == 0 {
            return vec![(self.windows[0], rx, tx)];
        }
        let rx_parts = spread(rx, &self.cumulative, self.total);
        let tx_parts = spread(tx, &self.cumulative, self.total);
        self.windows
            .iter()
            .zip(rx_parts)
            .zip(tx_parts)
            .map(|((w, r), t)| (*w, r, t))
            .collect()
    }
}

/// Spreads a delta covering `[from_ms, to_ms)` (Unix milliseconds) over fixed buckets of
/// `bucket_ms` aligned to the Unix epoch (5-minute history: every real UTC offset is a
/// multiple of 5 minutes, so these buckets align in every zone). Returns
/// `(bucket_start_ms, rx, tx)` in time order, one per bucket overlapping the interval, with
/// the same exact rule and the same `from >= to` fallback as [`split_by_windows`].
///
/// # Panics
///
/// If `bucket_ms <= 0` (a programming error: bucket sizes are constants).
pub fn split_even(
    rx: u64,
    tx: u64,
    from_ms: i64,
    to_ms: i64,
    bucket_ms: i64,
) -> Vec<(i64, u64, u64)> {
    assert!(
        bucket_ms > 0,
        "split_even: bucket_ms must be positive, got {bucket_ms}"
    );
    let (from, to, size) = (
        i128::from(from_ms),
        i128::from(to_ms),
        i128::from(bucket_ms),
    );
    // i128 throughout: a bucket start may lie below i64::MIN and a bucket end past i64::MAX;
    // such a start (only within one bucket of i64::MIN) saturates rather than panics.
    let bucket_of = |ms: i128| i64::try_from(ms.div_euclid(size) * size).unwrap_or(i64::MIN);
    if from >= to {
        return vec![(bucket_of(to), rx, tx)];
    }
    let mut starts = Vec::new();
    let mut cumulative = Vec::new();
    let mut start = from.div_euclid(size) * size;
    while start < to {
        let end = start + size;
        starts.push(bucket_of(start));
        cumulative.push(u128::try_from(end.min(to) - from).unwrap_or(0));
        start = end;
    }
    let total = u128::try_from(to - from).unwrap_or(0);
    let rx_parts = spread(rx, &cumulative, total);
    let tx_parts = spread(tx, &cumulative, total);
    starts
        .into_iter()
        .zip(rx_parts)
        .zip(tx_parts)
        .map(|((s, r), t)| (s, r, t))
        .collect()
}

/// `to - from` in nanoseconds, as the unsigned amount `spread` works with (`from <= to`).
fn nanos_between(from_ns: i128, to_ns: i128) -> u128 {
    u128::try_from(to_ns - from_ns).unwrap_or(0)
}

/// Splits `total` by cumulative amounts of time (`cumulative` ascending, its last element
/// equal to `whole > 0`): part `i` = floor(total·c_i/whole) − floor(total·c_(i−1)/whole).
/// The parts telescope to floor(total·whole/whole) = `total`.
fn spread(total: u64, cumulative: &[u128], whole: u128) -> Vec<u64> {
    let mut parts = Vec::with_capacity(cumulative.len());
    let mut previous = 0u64;
    for &c in cumulative {
        let upto = mul_div_floor(total, c, whole);
        parts.push(upto - previous);
        previous = upto;
    }
    parts
}

/// floor(a · num / den) for `num <= den`, exact even when `a · num` exceeds u128.
///
/// Spans in nanoseconds reach 2^70 across jiff's range and byte counts 2^64, so the product
/// can need 134 bits. Splitting `a` into 32-bit halves keeps every intermediate below 2^128
/// as long as `num` and `den` are below 2^95.
fn mul_div_floor(a: u64, num: u128, den: u128) -> u64 {
    debug_assert!(num <= den && den > 0 && den < 1 << 95);
    let hi = u128::from(a >> 32);
    let lo = u128::from(a & 0xffff_ffff);
    let x = hi * num;
    let (xq, xr) = (x / den, x % den);
    let rest = ((xr << 32) + lo * num) / den;
    // The result is at most `a` because num <= den.
    u64::try_from((xq << 32) + rest).unwrap_or(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse()
            .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap_or_else(|e| panic!("unknown zone {name}: {e}"))
    }

    /// Cases written `"zone period-key instant => start end"`, instants in UTC: the window of
    /// that period containing the instant, local to the zone, must be `[start, end)`.
    fn check_table(cases: &[&str]) {
        for case in cases {
            let fields: Vec<&str> = case.split_whitespace().collect();
            let [name, key, t, "=>", start, end] = fields[..] else {
                panic!("malformed case {case:?}");
            };
            let spec = PeriodSpec::parse_key(key).unwrap_or_else(|| panic!("bad key in {case:?}"));
            let got = spec.window_at(ts(t), &zone(name));
            let want = Window {
                start: ts(start),
                end: ts(end),
            };
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn windows_in_utc() {
        check_table(&[
            "UTC hour 2026-05-10T12:34:56.789Z => 2026-05-10T12:00Z 2026-05-10T13:00Z",
            "UTC hour 2026-05-10T12:00Z => 2026-05-10T12:00Z 2026-05-10T13:00Z",
            "UTC hour 2026-05-10T12:59:59.999999999Z => 2026-05-10T12:00Z 2026-05-10T13:00Z",
            "UTC day 2026-05-10T23:59:59Z => 2026-05-10T00:00Z 2026-05-11T00:00Z",
            // 2026-05-10 is a Sunday: the last day of its ISO week.
            "UTC week 2026-05-10T12:00Z => 2026-05-04T00:00Z 2026-05-11T00:00Z",
            "UTC week 2026-05-11T00:00Z => 2026-05-11T00:00Z 2026-05-18T00:00Z",
            "UTC month 2026-05-10T12:00Z => 2026-05-01T00:00Z 2026-06-01T00:00Z",
            "UTC month 2026-12-31T23:59:59Z => 2026-12-01T00:00Z 2027-01-01T00:00Z",
        ]);
    }

    #[test]
    fn iso_weeks_cross_the_year() {
        // 2026-12-31 is a Thursday; its ISO week (2026-W53) runs Monday 12-28 to 2027-01-04.
        check_table(&[
            "UTC week 2026-12-31T12:00Z => 2026-12-28T00:00Z 2027-01-04T00:00Z",
            "UTC week 2027-01-03T23:59:59Z => 2026-12-28T00:00Z 2027-01-04T00:00Z",
            "UTC week 2027-01-04T00:00Z => 2027-01-04T00:00Z 2027-01-11T00:00Z",
            // 2024-12-31 is a Tuesday: ISO week 2025-W01 starts 2024-12-30.
            "UTC week 2025-01-01T00:00Z => 2024-12-30T00:00Z 2025-01-06T00:00Z",
            // Local Monday midnight in Berlin is 23:00 UTC on Sunday in winter.
            "Europe/Berlin week 2026-12-27T23:30Z => 2026-12-27T23:00Z 2027-01-03T23:00Z",
            "Europe/Berlin week 2026-12-27T22:30Z => 2026-12-20T23:00Z 2026-12-27T23:00Z",
        ]);
    }

    #[test]
    fn kathmandu_hours_start_at_quarter_past_utc() {
        check_table(&[
            // 12:34:56Z is 18:19:56 local.
            "Asia/Kathmandu hour 2026-05-10T12:34:56Z => 2026-05-10T12:15Z 2026-05-10T13:15Z",
            // 12:10Z is 17:55 local: still the 17:00 hour.
            "Asia/Kathmandu hour 2026-05-10T12:10Z => 2026-05-10T11:15Z 2026-05-10T12:15Z",
            "Asia/Kathmandu day 2026-05-10T12:00Z => 2026-05-09T18:15Z 2026-05-10T18:15Z",
            "Asia/Kathmandu day 2026-05-10T18:15Z => 2026-05-10T18:15Z 2026-05-11T18:15Z",
            "Asia/Kathmandu month 2026-05-31T18:14Z => 2026-04-30T18:15Z 2026-05-31T18:15Z",
        ]);
    }

    #[test]
    fn berlin_spring_forward_2026_03_29() {
        // 01:00Z: 02:00 CET jumps to 03:00 CEST; the local hour 02:00 does not exist.
        check_table(&[
            "Europe/Berlin day 2026-03-29T12:00Z => 2026-03-28T23:00Z 2026-03-29T22:00Z",
            "Europe/Berlin hour 2026-03-29T00:59:59Z => 2026-03-29T00:00Z 2026-03-29T01:00Z",
            "Europe/Berlin hour 2026-03-29T01:00Z => 2026-03-29T01:00Z 2026-03-29T02:00Z",
            "Europe/Berlin hour 2026-03-29T01:30Z => 2026-03-29T01:00Z 2026-03-29T02:00Z",
            // The week ending that Sunday is an hour short.
            "Europe/Berlin week 2026-03-29T12:00Z => 2026-03-22T23:00Z 2026-03-29T22:00Z",
            "Europe/Berlin month 2026-03-15T00:00Z => 2026-02-28T23:00Z 2026-03-31T22:00Z",
        ]);
        let tz = zone("Europe/Berlin");
        let day = PeriodSpec::day().window_at(ts("2026-03-29T12:00Z"), &tz);
        assert_eq!(day.duration(), SignedDuration::from_hours(23));
        // The hour before the gap is followed directly by the 03:00 hour.
        let h1 = PeriodSpec::hour().window_at(ts("2026-03-29T00:30Z"), &tz);
        let h3 = h1.next(PeriodSpec::hour(), &tz);
        assert_eq!(
            tz.to_datetime(h3.start),
            jiff::civil::date(2026, 3, 29).at(3, 0, 0, 0)
        );
        assert_eq!(h3.previous(PeriodSpec::hour(), &tz), h1);
    }

    #[test]
    fn berlin_fall_back_2026_10_25() {
        // 01:00Z: 03:00 CEST goes back to 02:00 CET; local 02:00-02:59 happens twice and,
        // with compatible disambiguation, the 02:00 hour starts at its first occurrence and
        // lasts until 03:00 CET: two hours.
        check_table(&[
            "Europe/Berlin day 2026-10-25T12:00Z => 2026-10-24T22:00Z 2026-10-25T23:00Z",
            "Europe/Berlin hour 2026-10-24T23:30Z => 2026-10-24T23:00Z 2026-10-25T00:00Z",
            "Europe/Berlin hour 2026-10-25T00:30Z => 2026-10-25T00:00Z 2026-10-25T02:00Z",
            "Europe/Berlin hour 2026-10-25T01:30Z => 2026-10-25T00:00Z 2026-10-25T02:00Z",
            "Europe/Berlin hour 2026-10-25T02:00Z => 2026-10-25T02:00Z 2026-10-25T03:00Z",
            "Europe/Berlin month@15 2026-10-25T12:00Z => 2026-10-14T22:00Z 2026-11-14T23:00Z",
        ]);
        let tz = zone("Europe/Berlin");
        let day = PeriodSpec::day().window_at(ts("2026-10-25T12:00Z"), &tz);
        assert_eq!(day.duration(), SignedDuration::from_hours(25));
        let week = PeriodSpec::week().window_at(ts("2026-10-25T12:00Z"), &tz);
        assert_eq!(week.duration(), SignedDuration::from_hours(7 * 24 + 1));
    }

    #[test]
    fn half_hour_zones_and_half_hour_dst() {
        check_table(&[
            // St John's is -03:30 in January: 12:00Z is 08:30 local.
            "America/St_Johns hour 2026-01-15T12:00Z => 2026-01-15T11:30Z 2026-01-15T12:30Z",
            "America/St_Johns day 2026-01-15T12:00Z => 2026-01-15T03:30Z 2026-01-16T03:30Z",
            // Lord Howe: +11 in summer, +10:30 in winter; 2026-04-05 02:00 (+11) goes back to
            // 01:30 (+10:30) at 15:00Z. The local 01:00 hour lasts 1.5 hours.
            "Australia/Lord_Howe hour 2026-04-04T14:10Z => 2026-04-04T14:00Z 2026-04-04T15:30Z",
            "Australia/Lord_Howe hour 2026-04-04T15:10Z => 2026-04-04T14:00Z 2026-04-04T15:30Z",
            "Australia/Lord_Howe day 2026-04-05T00:00Z => 2026-04-04T13:00Z 2026-04-05T13:30Z",
            // 2026-10-04 02:00 (+10:30) jumps to 02:30 (+11) at 15:30Z: the 02:00 hour is the
            // half hour 02:30-03:00 and the day is 23.5 hours.
            "Australia/Lord_Howe hour 2026-10-03T15:30Z => 2026-10-03T15:30Z 2026-10-03T16:00Z",
            "Australia/Lord_Howe hour 2026-10-03T15:29Z => 2026-10-03T14:30Z 2026-10-03T15:30Z",
            "Australia/Lord_Howe day 2026-10-04T00:00Z => 2026-10-03T13:30Z 2026-10-04T13:00Z",
        ]);
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_jump() {
        // Santiago springs forward at midnight: 2026-09-06 00:00 (-04) becomes 01:00 (-03)
        // at 04:00Z, so that day starts at 01:00 local and lasts 23 hours.
        let tz = zone("America/Santiago");
        let day = PeriodSpec::day().window_at(ts("2026-09-06T12:00Z"), &tz);
        assert_eq!(
            day,
            Window {
                start: ts("2026-09-06T04:00Z"),
                end: ts("2026-09-07T03:00Z")
            }
        );
        assert_eq!(
            tz.to_datetime(day.start),
            jiff::civil::date(2026, 9, 6).at(1, 0, 0, 0)
        );
        assert_eq!(day.previous(PeriodSpec::day(), &tz).end, day.start);
    }

    #[test]
    fn chatham_hour_starts_inside_its_gap() {
        // Chatham (+12:45/+13:45) springs forward at 02:45 local on 2026-09-27, 14:00Z: local
        // 03:00 lies strictly inside the gap. The 03:00 hour is the 15 minutes 03:45-04:00
        // (plain compatible would make it empty and give 03:45-03:59 to the 02:00 hour).
        check_table(&[
            "Pacific/Chatham hour 2026-09-26T13:59Z => 2026-09-26T13:15Z 2026-09-26T14:00Z",
            "Pacific/Chatham hour 2026-09-26T14:05Z => 2026-09-26T14:00Z 2026-09-26T14:15Z",
            "Pacific/Chatham hour 2026-09-26T14:15Z => 2026-09-26T14:15Z 2026-09-26T15:15Z",
        ]);
    }

    #[test]
    fn a_start_inside_a_gap_maps_to_the_jump_not_past_it() {
        // A made-up zone jumping from 02:30 (+01) to 03:30 (+02) at 01:30Z: 03:00 is strictly
        // inside the gap. Compatible would put 03:00 at 02:00Z, giving the 02:00 hour
        // instants (01:30Z-02:00Z) whose local time is 03:30-03:59. Here the 03:00 hour
        // starts at the jump, so local 03:45 (01:45Z) is in the 03:00 hour.
        let tz = TimeZone::posix("XST-1XDT,M3.5.0/2:30,M10.5.0/3").unwrap();
        let hour = PeriodSpec::hour();
        assert_eq!(
            tz.to_datetime(ts("2026-03-29T01:45Z")),
            jiff::civil::date(2026, 3, 29).at(3, 45, 0, 0)
        );
        assert_eq!(
            hour.window_at(ts("2026-03-29T01:45Z"), &tz),
            Window {
                start: ts("2026-03-29T01:30Z"),
                end: ts("2026-03-29T02:00Z")
            }
        );
        assert_eq!(
            hour.window_at(ts("2026-03-29T01:29Z"), &tz),
            Window {
                start: ts("2026-03-29T01:00Z"),
                end: ts("2026-03-29T01:30Z")
            }
        );
    }

    #[test]
    fn month_reset_days_clamp_to_the_month_end() {
        check_table(&[
            "UTC month@15 2026-05-14T23:59:59Z => 2026-04-15T00:00Z 2026-05-15T00:00Z",
            "UTC month@15 2026-05-15T00:00Z => 2026-05-15T00:00Z 2026-06-15T00:00Z",
            "UTC month@15 2026-12-20T00:00Z => 2026-12-15T00:00Z 2027-01-15T00:00Z",
            "UTC month@15 2027-01-01T00:00Z => 2026-12-15T00:00Z 2027-01-15T00:00Z",
            // 31 in 2027: Jan 31, Feb 28, Mar 31, Apr 30.
            "UTC month@31 2027-02-15T00:00Z => 2027-01-31T00:00Z 2027-02-28T00:00Z",
            "UTC month@31 2027-02-28T00:00Z => 2027-02-28T00:00Z 2027-03-31T00:00Z",
            "UTC month@31 2027-03-30T23:59:59Z => 2027-02-28T00:00Z 2027-03-31T00:00Z",
            "UTC month@31 2027-04-30T00:00Z => 2027-04-30T00:00Z 2027-05-31T00:00Z",
            // 2028 is a leap year: Feb 29.
            "UTC month@31 2028-02-28T23:59:59Z => 2028-01-31T00:00Z 2028-02-29T00:00Z",
            "UTC month@31 2028-02-29T12:00Z => 2028-02-29T00:00Z 2028-03-31T00:00Z",
            "UTC month@30 2027-02-28T00:00Z => 2027-02-28T00:00Z 2027-03-30T00:00Z",
            "UTC month@29 2027-03-01T00:00Z => 2027-02-28T00:00Z 2027-03-29T00:00Z",
            "UTC month@29 2028-02-29T00:00Z => 2028-02-29T00:00Z 2028-03-29T00:00Z",
            "Asia/Kathmandu month@31 2027-02-27T18:15Z => 2027-02-27T18:15Z 2027-03-30T18:15Z",
        ]);
        let tz = TimeZone::UTC;
        let spec = PeriodSpec::month(31);
        let starts: Vec<Timestamp> =
            std::iter::successors(Some(spec.window_at(ts("2027-01-31T00:00Z"), &tz)), |w| {
                Some(w.next(spec, &tz))
            })
            .take(5)
            .map(|w| w.start)
            .collect();
        let want = [
            "2027-01-31",
            "2027-02-28",
            "2027-03-31",
            "2027-04-30",
            "2027-05-31",
        ];
        assert_eq!(starts, want.map(|d| ts(&format!("{d}T00:00Z"))));
    }

    #[test]
    fn spec_validation_names_the_problem() {
        assert_eq!(
            PeriodSpec::new(PeriodKind::Month, 15),
            Ok(PeriodSpec {
                kind: PeriodKind::Month,
                reset_day: 15
            })
        );
        assert_eq!(PeriodSpec::new(PeriodKind::Day, 1), Ok(PeriodSpec::day()));
        let zero = PeriodSpec::new(PeriodKind::Month, 0).unwrap_err();
        assert!(
            zero.contains("between 1 and 31") && zero.contains("got 0"),
            "{zero}"
        );
        assert!(PeriodSpec::new(PeriodKind::Month, 32).is_err());
        let day15 = PeriodSpec::new(PeriodKind::Day, 15).unwrap_err();
        assert!(
            day15.contains("only to period `month`") && day15.contains("`day`"),
            "{day15}"
        );
        for kind in [PeriodKind::Hour, PeriodKind::Week] {
            assert!(PeriodSpec::new(kind, 2).is_err());
        }
    }

    #[test]
    #[should_panic(expected = "reset_day must be 1..=31")]
    fn month_constructor_rejects_a_bad_constant() {
        PeriodSpec::month(0);
    }

    #[test]
    fn keys_are_stable_and_canonical() {
        let cases = [
            (PeriodSpec::hour(), "hour"),
            (PeriodSpec::day(), "day"),
            (PeriodSpec::week(), "week"),
            (PeriodSpec::month(1), "month"),
            (PeriodSpec::month(15), "month@15"),
            (PeriodSpec::month(31), "month@31"),
        ];
        for (spec, key) in cases {
            assert_eq!(spec.key(), key);
            assert_eq!(PeriodSpec::parse_key(key), Some(spec), "{key}");
        }
        for bad in [
            "",
            "Hour",
            "month@1",
            "month@01",
            "month@0",
            "month@32",
            "month@",
            "month@+5",
            "day@2",
            "month@15x",
            "year",
        ] {
            assert_eq!(PeriodSpec::parse_key(bad), None, "{bad}");
        }
        let labels: Vec<&str> = PeriodKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels, ["hour", "day", "week", "month"]);
        for &kind in PeriodKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            PeriodKind::parse("weekly").unwrap_err().to_string(),
            "unknown period \"weekly\": expected one of `hour`, `day`, `week`, `month`"
        );
    }

    #[test]
    fn split_by_windows_in_proportion_to_time() {
        let utc = TimeZone::UTC;
        let hour = PeriodSpec::hour();
        // 12:50-13:20: a third before 13:00, two thirds after.
        let parts = split_by_windows(
            300,
            301,
            ts("2026-05-10T12:50Z"),
            ts("2026-05-10T13:20Z"),
            hour,
            &utc,
        );
        let w12 = Window {
            start: ts("2026-05-10T12:00Z"),
            end: ts("2026-05-10T13:00Z"),
        };
        let w13 = Window {
            start: ts("2026-05-10T13:00Z"),
            end: ts("2026-05-10T14:00Z"),
        };
        assert_eq!(parts, vec![(w12, 100, 100), (w13, 200, 201)]);

        // Kathmandu hours turn at :15 UTC.
        let ktm = zone("Asia/Kathmandu");
        let parts = split_by_windows(
            1000,
            0,
            ts("2026-05-10T12:05Z"),
            ts("2026-05-10T12:25Z"),
            hour,
            &ktm,
        );
        assert_eq!(
            parts
                .iter()
                .map(|p| (p.0.start, p.1, p.2))
                .collect::<Vec<_>>(),
            vec![
                (ts("2026-05-10T11:15Z"), 500, 0),
                (ts("2026-05-10T12:15Z"), 500, 0),
            ]
        );

        // Two hours over two 30-minute edges and a whole middle hour: shares 1/4, 1/2, 1/4.
        // rx 10: floor(2.5)=2, floor(7.5)-2=5, 10-7=3; tx 7: floor(1.75)=1, floor(5.25)-1=4, 2.
        let parts = split_by_windows(
            10,
            7,
            ts("2026-05-10T12:30Z"),
            ts("2026-05-10T14:30Z"),
            hour,
            &utc,
        );
        assert_eq!(
            parts.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>(),
            vec![(2, 1), (5, 4), (3, 2)]
        );

        // Across Berlin's 25-hour day: a 50-hour span starting at that day's midnight gives
        // that day exactly half.
        let ber = zone("Europe/Berlin");
        let parts = split_by_windows(
            1_000_000,
            0,
            ts("2026-10-24T22:00Z"),
            ts("2026-10-27T00:00Z"),
            PeriodSpec::day(),
            &ber,
        );
        assert_eq!(
            parts.iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![500_000, 480_000, 20_000]
        );
    }

    #[test]
    fn split_by_windows_without_a_span_goes_to_the_window_of_to() {
        let utc = TimeZone::UTC;
        let t = ts("2026-05-10T13:00Z");
        let w13 = PeriodSpec::hour().window_at(t, &utc);
        assert_eq!(
            split_by_windows(5, 6, t, t, PeriodSpec::hour(), &utc),
            vec![(w13, 5, 6)]
        );
        // A clock that went backwards: still nothing lost, attributed to `to`.
        let earlier = ts("2026-05-10T12:59Z");
        let w12 = PeriodSpec::hour().window_at(earlier, &utc);
        assert_eq!(
            split_by_windows(5, 6, t, earlier, PeriodSpec::hour(), &utc),
            vec![(w12, 5, 6)]
        );
    }

    #[test]
    fn split_by_windows_handles_extreme_bytes_and_spans() {
        let utc = TimeZone::UTC;
        let parts = split_by_windows(
            u64::MAX,
            u64::MAX - 1,
            ts("1900-01-01T00:00Z"),
            ts("2100-01-01T00:00:00.000000001Z"),
            PeriodSpec::month(1),
            &utc,
        );
        assert_eq!(parts.len(), 200 * 12 + 1);
        assert_eq!(
            parts.iter().map(|p| u128::from(p.1)).sum::<u128>(),
            u128::from(u64::MAX)
        );
        assert_eq!(
            parts.iter().map(|p| u128::from(p.2)).sum::<u128>(),
            u128::from(u64::MAX - 1)
        );
        // The last window gets one nanosecond of a 200-year span (6.3e18 ns): its exact share
        // is u64::MAX / 6.3e18 = 2.92 bytes, and the cumulative rule gives it ceil(2.92) = 3.
        assert_eq!(parts.last().unwrap().1, 3);
    }

    #[test]
    fn split_even_into_five_minute_buckets() {
        const FIVE_MIN: i64 = 300_000;
        // 00:04:00 to 00:11:00: 1 + 5 + 1 minutes.
        assert_eq!(
            split_even(700, 7, 240_000, 660_000, FIVE_MIN),
            vec![(0, 100, 1), (300_000, 500, 5), (600_000, 100, 1),]
        );
        // Before the epoch buckets still align to multiples of the size.
        assert_eq!(
            split_even(10, 0, -60_000, 60_000, FIVE_MIN),
            vec![(-300_000, 5, 0), (0, 5, 0)]
        );
        assert_eq!(
            split_even(3, 4, 600_000, 600_000, FIVE_MIN),
            vec![(600_000, 3, 4)]
        );
        assert_eq!(
            split_even(3, 4, 600_000, 599_999, FIVE_MIN),
            vec![(300_000, 3, 4)]
        );
        // An interval ending exactly on a boundary does not touch the next bucket.
        assert_eq!(split_even(1, 1, 0, 300_000, FIVE_MIN), vec![(0, 1, 1)]);
        let all = split_even(u64::MAX, 1, i64::MIN, i64::MAX, i64::MAX);
        assert_eq!(
            all.iter().map(|p| u128::from(p.1)).sum::<u128>(),
            u128::from(u64::MAX)
        );
        // Near i64::MIN the bucket start saturates instead of overflowing.
        assert_eq!(split_even(1, 2, 0, i64::MIN, 7), vec![(i64::MIN, 1, 2)]);
    }

    #[test]
    #[should_panic(expected = "bucket_ms must be positive")]
    fn split_even_rejects_empty_buckets() {
        split_even(1, 1, 0, 10, 0);
    }

    #[test]
    fn mul_div_floor_is_exact_beyond_u128_products() {
        assert_eq!(mul_div_floor(u64::MAX, 1 << 94, 1 << 94), u64::MAX);
        assert_eq!(
            mul_div_floor(u64::MAX, (1 << 94) - 1, 1 << 94),
            u64::MAX - 1
        );
        assert_eq!(mul_div_floor(u64::MAX, 3, 10), 5_534_023_222_112_865_484);
        assert_eq!(mul_div_floor(0, 5, 9), 0);
    }

    const ZONES: &[&str] = &[
        "UTC",
        "Asia/Kathmandu",
        "Europe/Berlin",
        "America/St_Johns",
        "Australia/Lord_Howe",
        "America/Santiago",
        "America/New_York",
        "Pacific/Chatham",
        "Asia/Tehran",
    ];

    fn any_spec() -> impl Strategy<Value = PeriodSpec> {
        prop_oneof![
            Just(PeriodSpec::hour()),
            Just(PeriodSpec::day()),
            Just(PeriodSpec::week()),
            (1u8..=31).prop_map(PeriodSpec::month),
        ]
    }

    /// Instants from 1990 to 2090, at any nanosecond.
    fn any_instant() -> impl Strategy<Value = Timestamp> {
        (631_152_000i64..3_786_912_000, 0i32..1_000_000_000)
            .prop_map(|(s, ns)| Timestamp::new(s, ns).unwrap())
    }

    /// The longest and shortest a window of `spec` can be in the zones above (a day loses
    /// or gains at most an hour, a month has 28 to 31 days).
    fn length_bounds(spec: PeriodSpec) -> (SignedDuration, SignedDuration) {
        let h = SignedDuration::from_hours;
        match spec.kind {
            // Chatham's 03:00 hour on its spring-forward day lasts 15 minutes.
            PeriodKind::Hour => (SignedDuration::from_mins(15), h(2)),
            PeriodKind::Day => (h(23), h(25)),
            PeriodKind::Week => (h(7 * 24 - 1), h(7 * 24 + 1)),
            PeriodKind::Month => (h(28 * 24 - 1), h(31 * 24 + 1)),
        }
    }

    proptest! {
        #[test]
        fn windows_tile_time(t in any_instant(), spec in any_spec(), z in 0..ZONES.len()) {
            let tz = zone(ZONES[z]);
            let w = spec.window_at(t, &tz);
            prop_assert!(w.contains(t), "{w:?} does not contain {t}");
            prop_assert_eq!(spec.window_at(w.start, &tz), w);
            let last = w.end.checked_sub(SignedDuration::from_nanos(1)).unwrap();
            prop_assert_eq!(spec.window_at(last, &tz), w);
            let next = spec.window_at(w.end, &tz);
            prop_assert_eq!(next.start, w.end);
            prop_assert_eq!(w.next(spec, &tz), next);
            prop_assert_eq!(next.previous(spec, &tz), w);
            prop_assert_eq!(w.previous(spec, &tz).end, w.start);
            let (min, max) = length_bounds(spec);
            prop_assert!(min <= w.duration() && w.duration() <= max, "{} {:?} lasts {:?}", ZONES[z], w, w.duration());
        }

        #[test]
        fn windows_start_at_local_period_starts(t in any_instant(), spec in any_spec()) {
            // Berlin's transitions are at 02:00/03:00 local, never at midnight, so every day,
            // week and month starts at local 00:00 of the right date and every hour at :00.
            let tz = zone("Europe/Berlin");
            let w = spec.window_at(t, &tz);
            let local = tz.to_datetime(w.start);
            prop_assert_eq!((local.minute(), local.second(), local.subsec_nanosecond()), (0, 0, 0));
            let date = local.date();
            match spec.kind {
                PeriodKind::Hour => {}
                PeriodKind::Day => prop_assert_eq!(local.hour(), 0),
                PeriodKind::Week => {
                    prop_assert_eq!(local.hour(), 0);
                    prop_assert_eq!(date.weekday(), jiff::civil::Weekday::Monday);
                }
                PeriodKind::Month => {
                    prop_assert_eq!(local.hour(), 0);
                    let want = i8::try_from(spec.reset_day).unwrap().min(date.days_in_month());
                    prop_assert_eq!(date.day(), want);
                }
            }
        }

        #[test]
        fn keys_round_trip(spec in any_spec()) {
            prop_assert_eq!(PeriodSpec::parse_key(&spec.key()), Some(spec));
        }

        #[test]
        fn split_by_windows_is_exact(
            rx in any::<u64>(),
            tx in any::<u64>(),
            from in any_instant(),
            span_ns in prop_oneof![0i64..10_000_000_000, 0i64..400 * 3_600_000_000_000, 0i64..70 * 86_400_000_000_000],
            spec in any_spec(),
            z in 0..ZONES.len(),
        ) {
            let tz = zone(ZONES[z]);
            let to = from.checked_add(SignedDuration::from_nanos(span_ns)).unwrap();
            let parts = split_by_windows(rx, tx, from, to, spec, &tz);
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.1)).sum::<u128>(), u128::from(rx));
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.2)).sum::<u128>(), u128::from(tx));
            if from == to {
                prop_assert_eq!(parts.len(), 1);
                prop_assert!(parts[0].0.contains(to));
                return Ok(());
            }
            prop_assert!(parts[0].0.contains(from));
            let last = parts.last().unwrap().0;
            prop_assert!(last.start < to && to <= last.end);
            let whole = (to.as_nanosecond() - from.as_nanosecond()) as u128;
            for (i, (w, r, t)) in parts.iter().enumerate() {
                if i > 0 {
                    prop_assert_eq!(parts[i - 1].0.end, w.start, "windows in order and adjacent");
                }
                prop_assert!(w.start < to && w.end > from, "{w:?} outside [{from}, {to})");
                let covered = (w.end.min(to).as_nanosecond() - w.start.max(from).as_nanosecond()) as u128;
                prop_assert!(covered > 0);
                for (part, total) in [(*r, rx), (*t, tx)] {
                    // share = total * covered / whole; part <= share + 1 and part >= share - 1,
                    // compared without division. whole < 2^63 and totals < 2^64 keep this in u128.
                    let exact = u128::from(total) * covered;
                    prop_assert!(u128::from(part) * whole <= exact + whole, "part {part} over share");
                    prop_assert!(u128::from(part) * whole + whole >= exact, "part {part} under share");
                }
            }
        }

        #[test]
        fn split_even_is_exact(
            rx in any::<u64>(),
            tx in any::<u64>(),
            from_ms in -10_000_000_000_000i64..10_000_000_000_000,
            span_ms in prop_oneof![0i64..1_000, 0i64..86_400_000],
            bucket_ms in prop_oneof![Just(300_000i64), 1i64..10_000_000],
        ) {
            let to_ms = from_ms + span_ms;
            let parts = split_even(rx, tx, from_ms, to_ms, bucket_ms);
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.1)).sum::<u128>(), u128::from(rx));
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.2)).sum::<u128>(), u128::from(tx));
            for (i, &(start, r, t)) in parts.iter().enumerate() {
                prop_assert_eq!(start.rem_euclid(bucket_ms), 0);
                if i > 0 {
                    prop_assert_eq!(parts[i - 1].0 + bucket_ms, start);
                }
                if span_ms == 0 {
                    prop_assert!(start <= to_ms && to_ms < start + bucket_ms);
                    continue;
                }
                prop_assert!(start < to_ms && start + bucket_ms > from_ms);
                let covered = ((start + bucket_ms).min(to_ms) - start.max(from_ms)) as u128;
                let whole = span_ms as u128;
                for (part, total) in [(r, rx), (t, tx)] {
                    let exact = u128::from(total) * covered;
                    prop_assert!(u128::from(part) * whole <= exact + whole);
                    prop_assert!(u128::from(part) * whole + whole >= exact);
                }
            }
            if span_ms > 0 {
                prop_assert!(parts[0].0 <= from_ms);
                prop_assert!(parts.last().unwrap().0 + bucket_ms >= to_ms);
            }
        }

        #[test]
        fn mul_div_floor_matches_u128_when_it_fits(a in any::<u64>(), num in any::<u64>(), extra in any::<u64>()) {
            let den = u128::from(num) + u128::from(extra) + 1;
            let want = u128::from(a) * u128::from(num) / den;
            prop_assert_eq!(u128::from(mul_div_floor(a, u128::from(num), den)), want);
        }
    }
}
