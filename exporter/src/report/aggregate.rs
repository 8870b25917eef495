//! Adding the store's history up into a report's buckets, exactly.
//!
//! Two sources: the 5-minute buckets ([`Store::series`]) while retention keeps them, and the
//! hour totals ([`Store::hourly`]) which outlive it. An hour with detail contributes its
//! 5-minute buckets; an hour whose detail is gone contributes its total, which is exact only
//! if the whole hour lies inside one report bucket. When it does not (5-minute buckets, a
//! range edge inside the hour, or a zone whose offset is not whole hours) the report is
//! refused with [`ReportError::DetailGone`] instead of guessing how the hour's bytes were
//! spread. The result says which resolution was used.

use std::collections::BTreeSet;

use super::ReportError;
use pve_traffic_store::{hour_start, Store, HOUR_MS};

/// The finest history a report was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// 5-minute buckets throughout.
    FiveMinutes,
    /// Hour totals for at least part of the range (its 5-minute detail was dropped by
    /// retention); exact, because every such hour lies inside one report bucket.
    Hour,
}

impl Resolution {
    /// `5m` or `1h`, as written in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::FiveMinutes => "5m",
            Resolution::Hour => "1h",
        }
    }
}

/// One guest's `(rx, tx)` per bucket of `bounds` (Unix ms, ascending, at least two), and the
/// resolution used.
pub fn guest_buckets<S: Store + ?Sized>(
    store: &S,
    vmid: u32,
    bounds: &[i64],
) -> Result<(Vec<(u64, u64)>, Resolution), ReportError> {
    let (from, to) = (bounds[0], bounds[bounds.len() - 1]);
    let whole_from = hour_start(from);
    let whole_to = hour_start(to - 1) + HOUR_MS;
    let series = store.series(vmid, from, to)?;
    let hours = store.hourly(vmid, whole_from, whole_to)?;
    let mut out = vec![(0u64, 0u64); bounds.len() - 1];
    let add = |out: &mut Vec<(u64, u64)>, i: usize, rx: u64, tx: u64| -> Result<(), ReportError> {
        let b = &mut out[i];
        b.0 = b.0.checked_add(rx).ok_or(ReportError::Overflow)?;
        b.1 = b.1.checked_add(tx).ok_or(ReportError::Overflow)?;
        Ok(())
    };
    // Hours whose detail is present: every non-empty hour with detail has a non-empty bucket,
    // but the series only covers [from, to), so ask for the edge hours' buckets too.
    let mut detailed: BTreeSet<i64> = series.iter().map(|b| hour_start(b.0)).collect();
    for edge in [whole_from, hour_start(to - 1)] {
        if !detailed.contains(&edge) && !store.series(vmid, edge, edge + HOUR_MS)?.is_empty() {
            detailed.insert(edge);
        }
    }
    for &(start, rx, tx) in &series {
        add(&mut out, bucket_index(bounds, start), rx, tx)?;
    }
    let mut resolution = Resolution::FiveMinutes;
    for &(h, rx, tx) in hours.iter().filter(|h| !detailed.contains(&h.0)) {
        let i = bucket_index(bounds, h.max(from));
        if h < from || h + HOUR_MS > to || bounds[i + 1] < h + HOUR_MS {
            return Err(ReportError::DetailGone { hour_ms: h });
        }
        add(&mut out, i, rx, tx)?;
        resolution = Resolution::Hour;
    }
    Ok((out, resolution))
}

/// The index of the bucket of `bounds` containing `t` (`bounds[0] <= t < bounds[last]`).
fn bucket_index(bounds: &[i64], t: i64) -> usize {
    bounds.partition_point(|&b| b <= t) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pve_traffic_store::testutil::{cycle, gw_spread, T0};
    use pve_traffic_store::{MemStore, BUCKET_MS};

    const M: i64 = 60_000;

    fn store() -> MemStore {
        let mut s = MemStore::new();
        let b = |m: i64| T0 + m * M;
        let g = gw_spread(
            100,
            b(400),
            vec![
                (b(0), 1, 2),
                (b(55), 10, 20),
                (b(60), 100, 200),
                (b(185), 1000, 2000),
            ],
        );
        s.commit_cycle(&cycle(b(400), vec![g])).unwrap();
        s
    }

    #[test]
    fn buckets_sum_the_five_minute_history() {
        let s = store();
        let hours: Vec<i64> = (0..=4).map(|h| T0 + h * HOUR_MS).collect();
        let (b, r) = guest_buckets(&s, 100, &hours).unwrap();
        assert_eq!(b, vec![(11, 22), (100, 200), (0, 0), (1000, 2000)]);
        assert_eq!(r, Resolution::FiveMinutes);
        // Partial edges: 00:55..01:05 then 01:05..03:10.
        let (b, _) = guest_buckets(&s, 100, &[T0 + 55 * M, T0 + 65 * M, T0 + 190 * M]).unwrap();
        assert_eq!(b, vec![(110, 220), (1000, 2000)]);
    }

    #[test]
    fn hour_totals_serve_when_detail_is_gone_and_refuse_when_they_cannot() {
        let mut s = store();
        s.apply_retention(T0 + 30 * 24 * HOUR_MS, 1).unwrap();
        let day = [T0, T0 + 24 * HOUR_MS];
        let (b, r) = guest_buckets(&s, 100, &day).unwrap();
        assert_eq!((b, r), (vec![(1111, 2222)], Resolution::Hour));
        let e = guest_buckets(&s, 100, &[T0, T0 + 30 * M, T0 + HOUR_MS]).unwrap_err();
        assert!(
            matches!(e, ReportError::DetailGone { hour_ms } if hour_ms == T0),
            "{e}"
        );
        let e = guest_buckets(&s, 100, &[T0 + 30 * M, T0 + 24 * HOUR_MS]).unwrap_err();
        assert!(matches!(e, ReportError::DetailGone { .. }), "{e}");
    }

    proptest! {
        /// For any range and bucketing on the 5-minute grid, the buckets sum to the store's
        /// 5-minute history over the range, bucket by bucket.
        #[test]
        fn report_totals_equal_the_stores_buckets(
            writes in prop::collection::vec((0i64..600, 0u64..1_000_000, 0u64..1_000_000), 1..40),
            cuts in prop::collection::btree_set(0i64..700, 2..12),
        ) {
            let mut s = MemStore::new();
            for (n, &(slot, rx, tx)) in writes.iter().enumerate() {
                let at = T0 + slot * BUCKET_MS;
                let g = gw_spread(100 + (n % 2) as u32, at, vec![(at, rx, tx)]);
                s.commit_cycle(&cycle(at, vec![g])).unwrap();
            }
            let bounds: Vec<i64> = cuts.iter().map(|c| T0 + c * BUCKET_MS).collect();
            for vmid in [100, 101] {
                let (got, r) = guest_buckets(&s, vmid, &bounds).unwrap();
                prop_assert_eq!(r, Resolution::FiveMinutes);
                for (i, w) in bounds.windows(2).enumerate() {
                    let want = s.series(vmid, w[0], w[1]).unwrap().iter()
                        .fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
                    prop_assert_eq!(got[i], want);
                }
                let range = s.series(vmid, bounds[0], bounds[bounds.len() - 1]).unwrap();
                let total = range.iter().fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
                let sum = got.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                prop_assert_eq!(sum, total);
            }
        }
    }
}
