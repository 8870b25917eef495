//! The time ranges a query may ask for, checked before anything is read.
//!
//! A range is either named (`period=…`) or given (`start` and `end`). Named ranges are
//! rolling (`1h`, `6h`, `24h`, `7d`, `30d`: the span up to now) or calendar periods (`today`,
//! `yesterday`, `week`, `month`, `last_month`), whose windows the [`WebSource`] computes in the
//! exporter's time zone with its own period rules. Given times are epoch seconds or RFC 3339.
//! Every range must be non-empty and at most [`MAX_SPAN_DAYS`] long, so no query can make the
//! store scan from 1970 to now.

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::envelope::ApiError;
use crate::query::Query;
use crate::source::WebSource;

/// The longest range a query may cover.
pub const MAX_SPAN_DAYS: i64 = 400;

/// The `period` values accepted, as the OpenAPI document and errors list them.
pub const PERIODS: &[&str] = &[
    "1h",
    "6h",
    "24h",
    "7d",
    "30d",
    "today",
    "yesterday",
    "week",
    "month",
    "last_month",
];

/// A half-open span of time `[start_ms, end_ms)` in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeRange {
    /// The first millisecond in the range.
    pub start_ms: i64,
    /// The first millisecond after the range.
    pub end_ms: i64,
}

/// A calendar period, whose windows follow the exporter's time zone and period rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarPeriod {
    /// A local day.
    Day,
    /// A local ISO week.
    Week,
    /// A month (from the configured reset day).
    Month,
}

impl TimeRange {
    /// The length in milliseconds.
    pub fn len_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// The range a query asks for, or `default` (a `period` name) when it names none.
pub(crate) fn from_query(
    query: &Query,
    source: &dyn WebSource,
    default: &str,
) -> Result<TimeRange, ApiError> {
    let period = query.get("period");
    let (start, end) = (query.get("start"), query.get("end"));
    let now = source.now();
    let range = match (period, start, end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request(
                "give either period=… or start=…&end=…, not both",
            ))
        }
        (Some(name), None, None) => named(name, now, source)?,
        (None, Some(start), end) => {
            let end = match end {
                Some(end) => parse_time("end", end)?,
                None => now,
            };
            TimeRange {
                start_ms: parse_time("start", start)?.as_millisecond(),
                end_ms: end.as_millisecond(),
            }
        }
        (None, None, Some(_)) => return Err(ApiError::bad_request("end=… needs start=… as well")),
        (None, None, None) => named(default, now, source)?,
    };
    check(range)
}

/// The range of a `period` name at `now`.
fn named(name: &str, now: Timestamp, source: &dyn WebSource) -> Result<TimeRange, ApiError> {
    let rolling = |hours: i64| TimeRange {
        start_ms: now.as_millisecond() - hours * 3_600_000,
        end_ms: now.as_millisecond(),
    };
    let previous = |period: CalendarPeriod| {
        let current = source.calendar_window(period, now);
        source.calendar_window(period, millis(current.start_ms - 1))
    };
    Ok(match name {
        "1h" => rolling(1),
        "6h" => rolling(6),
        "24h" => rolling(24),
        "7d" => rolling(7 * 24),
        "30d" => rolling(30 * 24),
        "today" => source.calendar_window(CalendarPeriod::Day, now),
        "yesterday" => previous(CalendarPeriod::Day),
        "week" => source.calendar_window(CalendarPeriod::Week, now),
        "month" => source.calendar_window(CalendarPeriod::Month, now),
        "last_month" => previous(CalendarPeriod::Month),
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown period {other:?}; use one of {}",
                PERIODS.join(", ")
            )))
        }
    })
}

/// A time given as epoch seconds or RFC 3339.
fn parse_time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    let parsed = match text.parse::<i64>() {
        Ok(seconds) => Timestamp::from_second(seconds).ok(),
        Err(_) => text.parse::<Timestamp>().ok(),
    };
    parsed.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field}={text:?} is not a time; give epoch seconds or RFC 3339 \
             (e.g. 2025-03-01T00:00:00Z)"
        ))
    })
}

/// Refuses empty, reversed and overlong ranges.
fn check(range: TimeRange) -> Result<TimeRange, ApiError> {
    if range.len_ms() <= 0 {
        return Err(ApiError::bad_request(
            "the range is empty: start must be before end",
        ));
    }
    let max = SignedDuration::from_hours(MAX_SPAN_DAYS * 24).as_millis();
    if i128::from(range.len_ms()) > max {
        return Err(ApiError::bad_request(format!(
            "the range is longer than {MAX_SPAN_DAYS} days; ask for a shorter one"
        )));
    }
    Ok(range)
}

/// A timestamp from epoch milliseconds (clamped into the representable range).
pub(crate) fn millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}
