//! What the export and cleanup tools ask of the history: totals of every guest over a range
//! in one call, and deleting a range of history with a plan that lists exactly what goes.
//!
//! Why a second trait next to [`Store`]: these are operator tools, not the exporter's cycle.
//! [`HistoryStore::range_totals`] must stay fast at 10,000 guests (the `all` report), which
//! per-guest [`Store::hourly`] calls would not be; and cleanup is the only place anything
//! accounted is ever deleted, so its rules live in one documented spot.
//!
//! # Range totals
//!
//! Whole UTC hours are summed from the hour totals (which outlive retention); a partial hour
//! at either edge of the range is summed from its 5-minute detail. When retention has
//! dropped an edge hour's detail the bytes of that hour inside the range are unknowable: the
//! answer says so ([`RangeTotals::missing_detail_hour`]) rather than guessing.
//!
//! # What cleanup deletes
//!
//! For a range `[from, to)` (whole UTC hours; see [`CleanupScope::new`]), optionally one guest:
//! - the **hour rows** (hour totals with their 5-minute detail) whose hour starts in the range;
//! - the **period accumulators** whose window lies wholly inside the range (the window's end
//!   is computed from the period key in the exporter's zone, `monitor.timezone`); a window
//!   only partly inside keeps its accumulator, so a quota never loses usage that lies outside
//!   the range; accumulators with a key this build does not know are kept.
//!
//! It never deletes the **lifetime totals** in `guests` (Prometheus counters must not go
//! backwards; after a cleanup they exceed the sum of the remaining history), the last raw
//! counters, the discarded counts, or anything of the enforcer's.
//!
//! Why whole hours only: an hour row holds the hour's totals and its detail together;
//! deleting part of an hour would mean rewriting totals the exporter may be adding to, and
//! is impossible once retention dropped the detail. Whole hours keep every remaining row
//! self-consistent (detail sums to totals).
//!
//! The plan ([`HistoryStore::cleanup_plan`]) and the deletion ([`HistoryStore::cleanup`])
//! run the same query; the deletion recomputes the plan in its own write transaction and
//! refuses ([`StoreError::Conflict`]) if it differs from the plan the operator saw, so a real
//! run deletes exactly what the dry run listed or nothing at all.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::{Store, StoreError, HOUR_MS};
use pve_traffic_core::period::PeriodSpec;

/// Traffic of every guest over a range, from [`HistoryStore::range_totals`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeTotals {
    /// `vmid -> (rx, tx)` for every guest with traffic in the range.
    pub guests: BTreeMap<u32, (u64, u64)>,
    /// The start of an edge hour some guest has traffic in but whose 5-minute detail was
    /// dropped by retention: that guest's bytes of that hour are not in [`RangeTotals::guests`].
    /// `None` when the totals are exact.
    pub missing_detail_hour: Option<i64>,
}

/// Which history a cleanup deletes: whole UTC hours `[from_ms, to_ms)`, of one guest or all.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanupScope {
    /// Only this guest; `None` = every guest.
    pub vmid: Option<u32>,
    /// First hour deleted (Unix ms, on an hour), or `i64::MIN` for "everything before `to_ms`".
    pub from_ms: i64,
    /// First hour kept (Unix ms, on an hour), or `i64::MAX` for "everything from `from_ms`".
    pub to_ms: i64,
    /// The zone period windows are in (`monitor.timezone`): decides which accumulator
    /// windows lie wholly inside the range.
    pub tz: TimeZone,
}

impl CleanupScope {
    /// A checked scope: `from_ms < to_ms`, both on a UTC hour (`from_ms` may be `i64::MIN`,
    /// `to_ms` `i64::MAX`: no bound).
    /// The error says what is wrong in terms of the given instants (Unix ms).
    pub fn new(
        vmid: Option<u32>,
        from_ms: i64,
        to_ms: i64,
        tz: TimeZone,
    ) -> Result<CleanupScope, String> {
        if from_ms >= to_ms {
            return Err("the range is empty or reversed: its start must be before its end".into());
        }
        for (what, ms) in [("start", from_ms), ("end", to_ms)] {
            if ms != i64::MIN && ms != i64::MAX && ms.rem_euclid(HOUR_MS) != 0 {
                return Err(format!(
                    "the range's {what} is not on a whole UTC hour: history is deleted in whole \
                     hours (an hour's totals and its 5-minute detail together)"
                ));
            }
        }
        Ok(CleanupScope {
            vmid,
            from_ms,
            to_ms,
            tz,
        })
    }

    /// Whether an accumulator window of period `key` starting at `start_ms` lies wholly
    /// inside the scope (unknown keys never do).
    pub(crate) fn holds_window(&self, key: &str, start_ms: i64) -> bool {
        if start_ms < self.from_ms || start_ms >= self.to_ms {
            return false;
        }
        let Some(spec) = PeriodSpec::parse_key(key) else {
            return false;
        };
        let Ok(start) = jiff::Timestamp::from_millisecond(start_ms) else {
            return false;
        };
        let w = spec.window_at(start, &self.tz);
        w.start.as_millisecond() == start_ms && w.end.as_millisecond() <= self.to_ms
    }
}

/// What a cleanup deletes for one guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanupGuest {
    /// Hour rows (hour totals with their 5-minute detail).
    pub hour_rows: u64,
    /// Bytes received in those hours.
    pub rx: u64,
    /// Bytes sent in those hours.
    pub tx: u64,
    /// Period accumulator rows (windows wholly inside the range).
    pub period_rows: u64,
}

/// What a cleanup deletes, per guest (`vmid ->`); guests with nothing to delete are absent.
pub type CleanupPlan = BTreeMap<u32, CleanupGuest>;

/// Reading history over ranges and deleting it; see the module doc.
pub trait HistoryStore: Store {
    /// Every guest's `(rx, tx)` over `[from_ms, to_ms)`; both must be on 5-minute boundaries
    /// (else [`StoreError::InvalidWrite`] naming the value). Whole hours come from the hour
    /// totals, partial edge hours from their 5-minute detail.
    fn range_totals(&self, from_ms: i64, to_ms: i64) -> Result<RangeTotals, StoreError>;

    /// What [`HistoryStore::cleanup`] would delete now; writes nothing.
    fn cleanup_plan(&self, scope: &CleanupScope) -> Result<CleanupPlan, StoreError>;

    /// Deletes what `scope` covers, in one write transaction, if and only if it is exactly
    /// `expected` (the plan shown to the operator); otherwise deletes nothing and returns
    /// [`StoreError::Conflict`]. Returns the plan it carried out.
    fn cleanup(
        &mut self,
        scope: &CleanupScope,
        expected: &CleanupPlan,
    ) -> Result<CleanupPlan, StoreError>;
}

/// Checks that a range for [`HistoryStore::range_totals`] is on 5-minute boundaries.
pub(crate) fn check_range(from_ms: i64, to_ms: i64) -> Result<(), StoreError> {
    for ms in [from_ms, to_ms] {
        if ms.rem_euclid(super::BUCKET_MS) != 0 {
            return Err(StoreError::InvalidWrite(format!(
                "range bound {ms} is not on a 5-minute boundary"
            )));
        }
    }
    Ok(())
}

/// A partial hour at a range's edge: `(hour start, lo, hi)`, `[lo, hi)` the part inside.
pub(crate) type EdgeHour = (i64, i64, i64);

/// The parts of `[from, to)` for range totals: whole hours `[a, b)` (possibly empty) and the
/// partial edge hours.
pub(crate) fn split_range(from: i64, to: i64) -> ((i64, i64), Vec<EdgeHour>) {
    if from >= to {
        return ((0, 0), Vec::new());
    }
    let first = super::hour_start(from);
    let last = super::hour_start(to - 1);
    let mut edges = Vec::new();
    let whole_from = if from == first {
        first
    } else {
        first + HOUR_MS
    };
    let whole_to = if to == last + HOUR_MS { to } else { last };
    if first == last && (from != first || to != last + HOUR_MS) {
        return ((0, 0), vec![(first, from, to)]);
    }
    if from != first {
        edges.push((first, from, first + HOUR_MS));
    }
    if to != last + HOUR_MS {
        edges.push((last, last, to));
    }
    ((whole_from, whole_to.max(whole_from)), edges)
}

/// Adds `(rx, tx)` to a plan's or totals' running sums, refusing overflow as corruption.
pub(crate) fn add_bytes(sum: &mut (u64, u64), rx: u64, tx: u64) -> Result<(), StoreError> {
    let over = || StoreError::Corrupt("history sums exceed 64 bits".into());
    sum.0 = sum.0.checked_add(rx).ok_or_else(over)?;
    sum.1 = sum.1.checked_add(tx).ok_or_else(over)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const M5: i64 = super::super::BUCKET_MS;

    #[test]
    fn ranges_split_into_whole_hours_and_edges() {
        assert_eq!(split_range(0, 3 * H), ((0, 3 * H), vec![]));
        assert_eq!(
            split_range(M5, 3 * H - M5),
            ((H, 2 * H), vec![(0, M5, H), (2 * H, 2 * H, 3 * H - M5)])
        );
        assert_eq!(split_range(M5, 2 * M5), ((0, 0), vec![(0, M5, 2 * M5)]));
        assert_eq!(split_range(M5, H), ((0, 0), vec![(0, M5, H)]));
        assert_eq!(split_range(H, H + M5), ((0, 0), vec![(H, H, H + M5)]));
        assert_eq!(
            split_range(M5, H + M5),
            ((H, H), vec![(0, M5, H), (H, H, H + M5)])
        );
        assert_eq!(
            split_range(-H - M5, -H),
            ((0, 0), vec![(-2 * H, -H - M5, -H)])
        );
    }

    #[test]
    fn scopes_are_whole_hours() {
        let tz = TimeZone::UTC;
        assert!(CleanupScope::new(None, 0, H, tz.clone()).is_ok());
        assert!(CleanupScope::new(None, i64::MIN, H, tz.clone()).is_ok());
        let e = CleanupScope::new(None, H, H, tz.clone()).unwrap_err();
        assert!(e.contains("empty or reversed"), "{e}");
        let e = CleanupScope::new(Some(1), M5, H, tz).unwrap_err();
        assert!(e.contains("start is not on a whole UTC hour"), "{e}");
    }

    #[test]
    fn only_windows_wholly_inside_are_held() {
        let day = 24 * H;
        let s = CleanupScope::new(None, 0, 2 * day, TimeZone::UTC).unwrap();
        assert!(s.holds_window("day", 0));
        assert!(s.holds_window("day", day));
        assert!(s.holds_window("hour", day + 5 * H));
        assert!(!s.holds_window("day", 2 * day), "starts at the end");
        assert!(
            !s.holds_window("week", 0),
            "1970-01-01 is a Thursday: not a week start"
        );
        assert!(!s.holds_window("month", 0), "the month runs past the range");
        assert!(!s.holds_window("fortnight", 0), "unknown keys are kept");
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let s = CleanupScope::new(None, 0, 2 * day, berlin).unwrap();
        assert!(!s.holds_window("day", 0), "not a Berlin day start");
        assert!(s.holds_window("day", day - H), "Berlin 1970-01-02 00:00");
    }
}
