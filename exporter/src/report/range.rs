//! Which span of time a report covers and how it is cut into buckets, from what the operator
//! typed (`--period`, `--date`, `--start`, `--end`) in a time zone.
//!
//! Buckets follow the local calendar of the report's zone, exactly as quota periods do
//! ([`PeriodSpec::window_at`]: DST days are 23 or 25 hours long, a Kathmandu hour starts at
//! :15 UTC); `5m` buckets are the history's own 5-minute buckets. The default range is the
//! calendar span around `--date` (or now) that suits the bucket size: a day of 5-minute or
//! hour buckets, a month of days, twelve weeks, a year of months. A range that has not
//! ended yet stops at the end of the bucket containing "now".
//!
//! Every range is checked before the store is touched: empty or reversed, before 2000 or
//! after 2100, not on the 5-minute grid the history is kept in, or more than
//! [`MAX_BUCKETS`] buckets: each gets an error that says what to type instead.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

use super::ReportError;
use pve_traffic_core::period::{PeriodKind, PeriodSpec, Window};
use pve_traffic_store::BUCKET_MS;

/// The most buckets one report may have (173 days of 5-minute buckets): more is not
/// readable as a chart or a statement, and is almost always a mistyped date.
pub const MAX_BUCKETS: usize = 50_000;

/// The size of a report's buckets (`--period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BucketSize {
    /// The history's own 5-minute buckets (`5m`).
    FiveMinutes,
    /// Local clock hours.
    Hour,
    /// Local calendar days.
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months (starting on the 1st).
    Month,
}

impl BucketSize {
    /// Every bucket size: `5m`, then the calendar periods ([`PeriodKind::ALL`]).
    pub const ALL: [BucketSize; 5] = [
        BucketSize::FiveMinutes,
        BucketSize::Hour,
        BucketSize::Day,
        BucketSize::Week,
        BucketSize::Month,
    ];

    /// The name of the history's own buckets.
    const FIVE_MINUTES: &'static str = "5m";

    /// The name on the command line and in JSON/CSV: `5m`, or the period's name
    /// ([`PeriodKind::as_str`]: `hour`, `day`, `week`, `month`).
    pub fn as_str(self) -> &'static str {
        match self.period_kind() {
            None => Self::FIVE_MINUTES,
            Some(kind) => kind.as_str(),
        }
    }

    /// Parses [`BucketSize::as_str`]; the error lists the accepted values.
    pub fn parse(s: &str) -> Result<BucketSize, String> {
        if s == Self::FIVE_MINUTES {
            return Ok(BucketSize::FiveMinutes);
        }
        let kind = PeriodKind::parse(s).ok();
        match Self::ALL
            .into_iter()
            .find(|b| kind.is_some() && b.period_kind() == kind)
        {
            Some(bucket) => Ok(bucket),
            None => {
                let names: Vec<&str> = Self::ALL.iter().map(|b| b.as_str()).collect();
                let (last, rest) = names.split_last().expect("ALL is not empty");
                Err(format!(
                    "unknown period {s:?}: expected {} or {last}",
                    rest.join(", ")
                ))
            }
        }
    }

    /// The calendar period these buckets are (`None` for 5-minute buckets).
    pub fn period_kind(self) -> Option<PeriodKind> {
        match self {
            BucketSize::FiveMinutes => None,
            BucketSize::Hour => Some(PeriodKind::Hour),
            BucketSize::Day => Some(PeriodKind::Day),
            BucketSize::Week => Some(PeriodKind::Week),
            BucketSize::Month => Some(PeriodKind::Month),
        }
    }

    /// The calendar period of these buckets (`None` for 5-minute buckets); months start on
    /// the 1st.
    fn spec(self) -> Option<PeriodSpec> {
        let kind = self.period_kind()?;
        Some(PeriodSpec::new(kind, 1).expect("reset day 1 suits every period"))
    }

    /// The end of the bucket that starts at or contains `t`.
    fn bucket_end(self, t: Timestamp, tz: &TimeZone) -> Timestamp {
        match self.spec() {
            Some(spec) => spec.window_at(t, tz).end,
            None => {
                let ms = t.as_millisecond();
                let end = ms.div_euclid(BUCKET_MS) * BUCKET_MS + BUCKET_MS;
                Timestamp::from_millisecond(end).unwrap_or(Timestamp::MAX)
            }
        }
    }

    /// The label of a bucket starting at `z`: `2026-11-01 14:05`, `2026-11-01`, `2026-W45`,
    /// `2026-11`, in the report's zone.
    pub fn label(self, z: &ZonedDateTime) -> String {
        match self {
            BucketSize::FiveMinutes | BucketSize::Hour => z.strftime("%Y-%m-%d %H:%M").to_string(),
            BucketSize::Day => z.strftime("%Y-%m-%d").to_string(),
            BucketSize::Week => {
                let w = z.date().iso_week_date();
                format!("{}-W{:02}", w.year(), w.week())
            }
            BucketSize::Month => z.strftime("%Y-%m").to_string(),
        }
    }
}

/// What the operator asked for; see [`resolve`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// `--date YYYY-MM-DD`: the default range around this day instead of now.
    pub date: Option<String>,
    /// `--start`: a date, a local date-time or an RFC 3339 instant.
    pub start: Option<String>,
    /// `--end`: like `start`; a date alone means the end of that day.
    pub end: Option<String>,
}

/// A checked report range and its buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRange {
    /// First instant covered, in the report's zone.
    pub start: ZonedDateTime,
    /// First instant not covered.
    pub end: ZonedDateTime,
    /// The bucket size.
    pub bucket: BucketSize,
    /// Bucket boundaries, ascending: `bounds[0] == start`, the last is `end`; bucket `i` is
    /// `[bounds[i], bounds[i + 1])`. Never more than [`MAX_BUCKETS`] buckets.
    pub bounds: Vec<Timestamp>,
}

impl ReportRange {
    /// The report's time zone.
    pub fn tz(&self) -> &TimeZone {
        self.start.time_zone()
    }

    /// Bucket boundaries in Unix milliseconds.
    pub fn bounds_ms(&self) -> Vec<i64> {
        self.bounds.iter().map(|t| t.as_millisecond()).collect()
    }

    /// The range's bounds in Unix milliseconds.
    pub fn span_ms(&self) -> (i64, i64) {
        (
            self.start.timestamp().as_millisecond(),
            self.end.timestamp().as_millisecond(),
        )
    }

    /// A checked range `[start, end)` cut into `bucket`s in `tz` (the first and last bucket
    /// may be partial when the range does not start or end on a bucket boundary).
    pub fn new(
        start: Timestamp,
        end: Timestamp,
        bucket: BucketSize,
        tz: &TimeZone,
    ) -> Result<ReportRange, ReportError> {
        let bad = |m: String| Err(ReportError::Range(m));
        let show = |t: Timestamp| shown(t, tz);
        check_span(start, end, tz)?;
        for (what, t) in [("start", start), ("end", end)] {
            if t.as_millisecond().rem_euclid(BUCKET_MS) != 0 || t.subsec_millisecond() != 0 {
                return bad(format!(
                    "the range's {what} {} is not on a 5-minute boundary (history is kept in \
                     5-minute buckets); use a time like 10:00 or 10:05",
                    show(t)
                ));
            }
        }
        let mut bounds = vec![start];
        let mut t = start;
        while t < end {
            if bounds.len() > MAX_BUCKETS {
                return bad(format!(
                    "the range {} to {} has more than {MAX_BUCKETS} {} buckets; use a larger \
                     --period or a shorter range",
                    show(start),
                    show(end),
                    bucket.as_str()
                ));
            }
            t = bucket.bucket_end(t, tz).min(end);
            bounds.push(t);
        }
        Ok(ReportRange {
            start: start.to_zoned_datetime(tz.clone()),
            end: end.to_zoned_datetime(tz.clone()),
            bucket,
            bounds,
        })
    }
}

fn shown(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// Checks that `[start, end)` is not empty or reversed and lies within 2000-01-01 to
/// 2100-01-01 (anything else is a mistyped year); the error shows the instants in `tz`.
pub fn check_span(start: Timestamp, end: Timestamp, tz: &TimeZone) -> Result<(), ReportError> {
    if start >= end {
        return Err(ReportError::Range(format!(
            "the range {} to {} is empty or reversed: --end must be after --start",
            shown(start, tz),
            shown(end, tz)
        )));
    }
    for t in [start, end] {
        check_year(t, tz)?;
    }
    Ok(())
}

/// Checks that `t` lies within 2000-01-01 to 2100-01-01.
pub fn check_year(t: Timestamp, tz: &TimeZone) -> Result<(), ReportError> {
    if t < earliest() || t > latest() {
        return Err(ReportError::Range(format!(
            "{} lies outside 2000-01-01 to 2100-01-01; check the year",
            shown(t, tz)
        )));
    }
    Ok(())
}

fn earliest() -> Timestamp {
    Timestamp::from_second(946_684_800).expect("2000-01-01 is representable")
}

fn latest() -> Timestamp {
    Timestamp::from_second(4_102_444_800).expect("2100-01-01 is representable")
}

/// Resolves a request at `now` in `tz` for buckets of `bucket`: `--start`/`--end` if given
/// (`--start` alone runs to now), else the default span around `--date` or now (see the
/// module doc). `--date` with `--start`/`--end`, or `--end` alone, is an error.
pub fn resolve(
    req: &RangeRequest,
    bucket: BucketSize,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<ReportRange, ReportError> {
    let bad = |m: &str| Err(ReportError::Range(m.to_string()));
    match (&req.date, &req.start, &req.end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            bad("give either --date or --start/--end, not both")
        }
        (None, None, Some(_)) => bad("--end needs --start"),
        (None, Some(start), end) => {
            let start = parse_instant("--start", start, tz, false)?;
            let end = match end {
                Some(e) => parse_instant("--end", e, tz, true)?,
                None => bucket.bucket_end(now, tz).min(latest()),
            };
            ReportRange::new(start, end, bucket, tz)
        }
        (date, None, None) => {
            let at = match date {
                Some(d) => local_midnight("--date", parse_date("--date", d)?, tz)?,
                None => now,
            };
            let span = default_span(bucket, at, tz);
            let end = if span.end > now && span.start <= now {
                bucket.bucket_end(now, tz).min(span.end)
            } else {
                span.end
            };
            ReportRange::new(span.start, end, bucket, tz)
        }
    }
}

/// The default span for `bucket` containing `at`.
fn default_span(bucket: BucketSize, at: Timestamp, tz: &TimeZone) -> Window {
    match bucket {
        BucketSize::FiveMinutes | BucketSize::Hour => PeriodSpec::day().window_at(at, tz),
        BucketSize::Day => PeriodSpec::month(1).window_at(at, tz),
        BucketSize::Week => {
            let week = PeriodSpec::week().window_at(at, tz);
            let mut first = week;
            for _ in 0..11 {
                first = first.previous(PeriodSpec::week(), tz);
            }
            Window {
                start: first.start,
                end: week.end,
            }
        }
        BucketSize::Month => {
            let date = at.to_zoned_datetime(tz.clone()).date();
            let jan = Date::new(date.year(), 1, 1).unwrap_or(date);
            let start = jan.at(0, 0, 0, 0);
            let end = start.checked_add(1.year()).unwrap_or(start);
            let instant = |d: DateTime| {
                tz.to_ambiguous_timestamp(d)
                    .compatible()
                    .unwrap_or(Timestamp::MAX)
            };
            Window {
                start: instant(start),
                end: instant(end),
            }
        }
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(flag: &str, s: &str) -> Result<Date, ReportError> {
    s.trim().parse::<Date>().map_err(|_| {
        ReportError::Range(format!(
            "{flag} {s:?} is not a date; write it as YYYY-MM-DD, like 2026-11-01"
        ))
    })
}

/// The instant of local midnight starting `d` in `tz` (the first instant of the day).
pub fn local_midnight(flag: &str, d: Date, tz: &TimeZone) -> Result<Timestamp, ReportError> {
    Ok(PeriodSpec::day()
        .window_at(civil_instant(flag, d.at(12, 0, 0, 0), tz)?, tz)
        .start)
}

fn civil_instant(flag: &str, dt: DateTime, tz: &TimeZone) -> Result<Timestamp, ReportError> {
    tz.to_ambiguous_timestamp(dt).compatible().map_err(|e| {
        ReportError::Range(format!(
            "{flag} {dt} cannot be placed in the time zone: {e}"
        ))
    })
}

/// Parses a `--start`/`--end` value: an RFC 3339 instant (`2026-11-01T10:00:00+01:00`,
/// `…Z`), a local date-time (`2026-11-01T10:00`, `2026-11-01 10:00:00`) or a date (local
/// midnight; for an end, `end_of_day` makes it the following midnight, so the day counts).
pub fn parse_instant(
    flag: &str,
    s: &str,
    tz: &TimeZone,
    end_of_day: bool,
) -> Result<Timestamp, ReportError> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if s.len() == 10 {
        let d = parse_date(flag, s)?;
        let d = if end_of_day {
            d.tomorrow().map_err(|_| {
                ReportError::Range(format!("{flag} {s}: the day after is out of range"))
            })?
        } else {
            d
        };
        return local_midnight(flag, d, tz);
    }
    let dt = s.replace(' ', "T").parse::<DateTime>().map_err(|_| {
        ReportError::Range(format!(
            "{flag} {s:?} is not a date or time; write YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] \
             (local time) or an RFC 3339 time like 2026-11-01T10:00:00+01:00"
        ))
    })?;
    civil_instant(flag, dt, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn bucket_sizes_are_5m_and_the_periods() {
        let names: Vec<&str> = BucketSize::ALL.iter().map(|b| b.as_str()).collect();
        let mut want = vec!["5m"];
        want.extend(PeriodKind::ALL.iter().map(|k| k.as_str()));
        assert_eq!(names, want);
        for bucket in BucketSize::ALL {
            assert_eq!(BucketSize::parse(bucket.as_str()), Ok(bucket));
        }
        assert_eq!(
            BucketSize::parse("Hour"),
            Err("unknown period \"Hour\": expected 5m, hour, day, week or month".into())
        );
    }

    fn req(date: Option<&str>, start: Option<&str>, end: Option<&str>) -> RangeRequest {
        RangeRequest {
            date: date.map(String::from),
            start: start.map(String::from),
            end: end.map(String::from),
        }
    }

    #[test]
    fn default_spans_follow_the_local_calendar() {
        let tz = berlin();
        let now = ts("2026-12-15T12:00:00Z");
        let past = |b, date| resolve(&req(Some(date), None, None), b, now, &tz).unwrap();
        // 2026-10-25: the DST change, a 25-hour day whose 02:00 hour lasts two hours (as
        // quota hours do, see `period`): 24 local hours.
        let r = past(BucketSize::Hour, "2026-10-25");
        assert_eq!(r.start.timestamp(), ts("2026-10-24T22:00:00Z"));
        assert_eq!(r.end.timestamp(), ts("2026-10-25T23:00:00Z"));
        assert_eq!(r.bounds.len(), 25);
        assert_eq!(r.bounds[2].duration_until(r.bounds[3]).as_hours(), 2);
        let r = past(BucketSize::FiveMinutes, "2026-11-01");
        assert_eq!(r.bounds.len(), 289);
        let r = past(BucketSize::Day, "2026-11-01");
        assert_eq!(r.bounds.len(), 31);
        assert_eq!(r.end.timestamp(), ts("2026-11-30T23:00:00Z"));
        let r = past(BucketSize::Week, "2026-11-01");
        assert_eq!(r.bounds.len(), 13);
        assert_eq!(r.bucket.label(&r.start), "2026-W33");
        let r = past(BucketSize::Month, "2025-06-10");
        assert_eq!(r.bounds.len(), 13);
        assert_eq!(r.start.timestamp(), ts("2024-12-31T23:00:00Z"));
        assert_eq!(r.bucket.label(&r.end), "2026-01");
    }

    #[test]
    fn the_current_span_stops_after_the_bucket_holding_now() {
        let tz = TimeZone::UTC;
        let now = ts("2026-11-10T12:34:00Z");
        let r = resolve(&req(None, None, None), BucketSize::Day, now, &tz).unwrap();
        assert_eq!(r.start.timestamp(), ts("2026-11-01T00:00:00Z"));
        assert_eq!(r.end.timestamp(), ts("2026-11-11T00:00:00Z"));
        let r = resolve(
            &req(None, Some("2026-11-10"), None),
            BucketSize::FiveMinutes,
            now,
            &tz,
        )
        .unwrap();
        assert_eq!(r.end.timestamp(), ts("2026-11-10T12:35:00Z"));
    }

    #[test]
    fn start_and_end_accept_dates_local_times_and_instants() {
        let tz = berlin();
        let now = ts("2026-12-15T12:00:00Z");
        let r = resolve(
            &req(None, Some("2026-11-01"), Some("2026-11-02")),
            BucketSize::Hour,
            now,
            &tz,
        )
        .unwrap();
        assert_eq!(r.start.timestamp(), ts("2026-10-31T23:00:00Z"));
        assert_eq!(
            r.end.timestamp(),
            ts("2026-11-02T23:00:00Z"),
            "the end day counts"
        );
        assert_eq!(r.bounds.len(), 49);
        let r = resolve(
            &req(None, Some("2026-11-01 10:30"), Some("2026-11-01T12:00:00Z")),
            BucketSize::Hour,
            now,
            &tz,
        )
        .unwrap();
        assert_eq!(r.bounds_ms().len(), 4, "10:30-11:00 partial, 11-12, 12-13");
        assert_eq!(r.bucket.label(&r.start), "2026-11-01 10:30");
    }

    #[test]
    fn bad_ranges_say_what_to_type() {
        let tz = TimeZone::UTC;
        let now = ts("2026-12-15T12:00:00Z");
        let err = |r: RangeRequest, b| resolve(&r, b, now, &tz).unwrap_err().to_string();
        let e = err(
            req(None, Some("2026-11-02"), Some("2026-11-01")),
            BucketSize::Day,
        );
        assert!(e.contains("empty or reversed"), "{e}");
        let e = err(
            req(None, Some("2026-11-01 10:00"), Some("2026-11-01 10:00")),
            BucketSize::Day,
        );
        assert!(e.contains("empty or reversed"), "{e}");
        let e = err(
            req(None, Some("1970-01-01"), Some("2026-11-01")),
            BucketSize::Month,
        );
        assert!(
            e.contains("1970-01-01 00:00 +00:00 lies outside 2000-01-01 to 2100-01-01"),
            "{e}"
        );
        let e = err(
            req(None, Some("2026-01-01"), Some("2126-01-01")),
            BucketSize::Month,
        );
        assert!(e.contains("check the year"), "{e}");
        let e = err(req(None, Some("2026-11-01 10:03"), None), BucketSize::Hour);
        assert!(e.contains("not on a 5-minute boundary"), "{e}");
        let e = err(
            req(None, Some("2020-01-01"), Some("2026-01-01")),
            BucketSize::FiveMinutes,
        );
        assert!(e.contains("more than 50000 5m buckets"), "{e}");
        let e = err(req(None, Some("yesterday"), None), BucketSize::Day);
        assert!(
            e.contains("--start \"yesterday\" is not a date or time"),
            "{e}"
        );
        let e = err(req(Some("2026-13-01"), None, None), BucketSize::Day);
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        let e = err(
            req(Some("2026-11-01"), Some("2026-11-01"), None),
            BucketSize::Day,
        );
        assert!(e.contains("either --date or --start"), "{e}");
        let e = err(req(None, None, Some("2026-11-01")), BucketSize::Day);
        assert!(e.contains("--end needs --start"), "{e}");
    }
}
