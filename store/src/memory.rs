//! A [`Store`] in plain Rust collections, for tests.
//!
//! Why it exists: code above the store (accountant loop, enforcer, exporter snapshot) gets a
//! fast, file-free store in its unit tests; and it is the reference model the SQLite store is
//! property-tested against, written the obvious way so that it is easy to believe. It follows
//! the same rules as [`SqliteStore`](super::SqliteStore): zero parts are not stored, retention
//! drops 5-minute detail of hours that ended `keep_days` before "now" and keeps hour totals, a
//! late write to an already trimmed hour keeps only its totals. Nothing is persisted.
//!
//! It also implements [`EnforcementStore`], so the enforcer's unit tests run without SQLite;
//! the shared suite (`testutil::enforcement_conformance`) keeps both implementations alike.

use std::collections::{BTreeMap, HashMap};

use super::detail::HourDetail;
use super::enforcement::{
    check_action, check_enforcement, ActionRecord, EnforcementStore, GuestEnforcement, Release,
};
use super::history::{
    add_bytes, check_range, CleanupPlan, CleanupScope, HistoryStore, RangeTotals,
};
use super::{
    hour_start, CycleWrite, GuestTotals, Store, StoreError, StoredState, BUCKET_MS, HOUR_MS,
    MAX_STORED,
};

/// An in-memory [`Store`]; clones are independent copies.
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    state: StoredState,
    /// `(vmid, hour start) -> (rx, tx, detail)`; detail `None` once retention dropped it.
    hours: BTreeMap<(u32, i64), (u64, u64, Option<HourDetail>)>,
    /// `(period key, window start) -> vmid -> (rx, tx)`.
    periods: HashMap<(String, i64), HashMap<u32, (u64, u64)>>,
    /// Hours starting before this have no detail (retention watermark).
    detail_dropped_before_ms: Option<i64>,
    /// The enforcer's records by VMID.
    enforcements: BTreeMap<u32, GuestEnforcement>,
    /// Releases in the order they were added.
    releases: Vec<Release>,
    /// The action log in the order it was written.
    actions: Vec<ActionRecord>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

fn add(a: u64, b: u64, what: impl FnOnce() -> String) -> Result<u64, StoreError> {
    a.checked_add(b)
        .filter(|&v| v <= MAX_STORED)
        .ok_or_else(|| StoreError::InvalidWrite(format!("{} would exceed {MAX_STORED}", what())))
}

impl Store for MemStore {
    fn load_state(&self) -> Result<StoredState, StoreError> {
        Ok(self.state.clone())
    }

    fn commit_cycle(&mut self, cycle: &CycleWrite) -> Result<(), StoreError> {
        cycle.validate()?;
        // All or nothing: work on a copy, keep it only if everything succeeded.
        let mut next = self.clone();
        let detail_from = next.detail_dropped_before_ms.unwrap_or(i64::MIN);
        for g in &cycle.guests {
            let vmid = g.info.vmid;
            let entry = next
                .state
                .guests
                .entry(vmid)
                .or_insert_with(|| (g.info.clone(), None, GuestTotals::default()));
            entry.0 = g.info.clone();
            entry.1 = Some(g.counters.clone());
            let t = &mut entry.2;
            t.rx = add(t.rx, g.rx, || format!("vmid {vmid} rx total"))?;
            t.tx = add(t.tx, g.tx, || format!("vmid {vmid} tx total"))?;
            t.resets = add(t.resets, u64::from(g.reset), || {
                format!("vmid {vmid} resets")
            })?;

            for &(start, rx, tx) in g.buckets.iter().filter(|b| b.1 != 0 || b.2 != 0) {
                let h = hour_start(start);
                let row = next
                    .hours
                    .entry((vmid, h))
                    .or_insert_with(|| (0, 0, (h >= detail_from).then(HourDetail::default)));
                row.0 = add(row.0, rx, || format!("vmid {vmid} hour {h} rx"))?;
                row.1 = add(row.1, tx, || format!("vmid {vmid} hour {h} tx"))?;
                if let Some(d) = &mut row.2 {
                    let k = ((start - h) / BUCKET_MS) as usize;
                    d.rx[k] += rx; // bounded by the hour total just checked
                    d.tx[k] += tx;
                }
            }
            for (key, start, rx, tx) in g.periods.iter().filter(|p| p.2 != 0 || p.3 != 0) {
                let e = next
                    .periods
                    .entry((key.to_string(), *start))
                    .or_default()
                    .entry(vmid)
                    .or_default();
                e.0 = add(e.0, *rx, || format!("vmid {vmid} period {key:?} rx"))?;
                e.1 = add(e.1, *tx, || format!("vmid {vmid} period {key:?} tx"))?;
            }
        }
        for (reason, n) in cycle.discarded.iter().filter(|d| d.1 != 0) {
            let c = next.state.discarded.entry(reason.clone()).or_default();
            *c = add(*c, *n, || format!("discarded {reason:?}"))?;
        }
        next.state.last_cycle_ms = Some(cycle.at_ms);
        *self = next;
        Ok(())
    }

    fn period_usage(
        &self,
        period_key: &str,
        window_start_ms: i64,
    ) -> Result<HashMap<u32, (u64, u64)>, StoreError> {
        Ok(self
            .periods
            .get(&(period_key.to_owned(), window_start_ms))
            .cloned()
            .unwrap_or_default())
    }

    fn series(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let mut out = Vec::new();
        if from_ms >= to_ms {
            return Ok(out);
        }
        for (&(_, h), (_, _, d)) in self.hours.range((vmid, hour_start(from_ms))..(vmid, to_ms)) {
            if let Some(d) = d {
                out.extend(d.buckets_in(h, from_ms, to_ms));
            }
        }
        Ok(out)
    }

    fn hourly(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        if from_ms >= to_ms {
            return Ok(Vec::new());
        }
        Ok(self
            .hours
            .range((vmid, from_ms)..(vmid, to_ms))
            .filter(|(_, r)| r.0 != 0 || r.1 != 0)
            .map(|(&(_, h), r)| (h, r.0, r.1))
            .collect())
    }

    fn apply_retention(&mut self, now_ms: i64, keep_days: u32) -> Result<u64, StoreError> {
        let cutoff = now_ms.saturating_sub(i64::from(keep_days).saturating_mul(24 * HOUR_MS));
        let before = hour_start(cutoff);
        if self.detail_dropped_before_ms.is_some_and(|w| before <= w) {
            return Ok(0);
        }
        let mut dropped = 0;
        for (&(_, h), row) in &mut self.hours {
            if h < before && row.2.take().is_some() {
                dropped += 1;
            }
        }
        self.detail_dropped_before_ms = Some(before);
        Ok(dropped)
    }

    fn last_cycle_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.state.last_cycle_ms)
    }
}

impl HistoryStore for MemStore {
    fn range_totals(&self, from_ms: i64, to_ms: i64) -> Result<RangeTotals, StoreError> {
        check_range(from_ms, to_ms)?;
        let mut out = RangeTotals::default();
        for (&(vmid, h), (rx, tx, detail)) in &self.hours {
            let (lo, hi) = (from_ms.max(h), to_ms.min(h + HOUR_MS));
            if lo >= hi {
                continue;
            }
            let sum = out.guests.entry(vmid).or_default();
            match detail {
                _ if (lo, hi) == (h, h + HOUR_MS) => add_bytes(sum, *rx, *tx)?,
                Some(d) => {
                    for k in 0..d.rx.len() {
                        if (lo..hi).contains(&(h + k as i64 * BUCKET_MS)) {
                            add_bytes(sum, d.rx[k], d.tx[k])?;
                        }
                    }
                }
                None => out.missing_detail_hour = Some(h),
            }
        }
        out.guests.retain(|_, v| *v != (0, 0));
        Ok(out)
    }

    fn cleanup_plan(&self, scope: &CleanupScope) -> Result<CleanupPlan, StoreError> {
        let mut out = CleanupPlan::new();
        let wanted = |vmid: u32| scope.vmid.is_none_or(|v| v == vmid);
        for (&(vmid, h), (rx, tx, _)) in &self.hours {
            if wanted(vmid) && (scope.from_ms..scope.to_ms).contains(&h) {
                let g = out.entry(vmid).or_default();
                g.hour_rows += 1;
                let mut sum = (g.rx, g.tx);
                add_bytes(&mut sum, *rx, *tx)?;
                (g.rx, g.tx) = sum;
            }
        }
        for ((key, start), guests) in &self.periods {
            if scope.holds_window(key, *start) {
                for &vmid in guests.keys().filter(|&&v| wanted(v)) {
                    out.entry(vmid).or_default().period_rows += 1;
                }
            }
        }
        Ok(out)
    }

    fn cleanup(
        &mut self,
        scope: &CleanupScope,
        expected: &CleanupPlan,
    ) -> Result<CleanupPlan, StoreError> {
        let now = self.cleanup_plan(scope)?;
        if &now != expected {
            return Err(StoreError::Conflict(
                "the history to delete is not what was listed".into(),
            ));
        }
        let wanted = |vmid: u32| scope.vmid.is_none_or(|v| v == vmid);
        self.hours
            .retain(|&(vmid, h), _| !(wanted(vmid) && (scope.from_ms..scope.to_ms).contains(&h)));
        for ((key, start), guests) in &mut self.periods {
            if scope.holds_window(key, *start) {
                guests.retain(|&vmid, _| !wanted(vmid));
            }
        }
        self.periods.retain(|_, guests| !guests.is_empty());
        Ok(now)
    }
}

impl EnforcementStore for MemStore {
    fn load_enforcements(&self) -> Result<BTreeMap<u32, GuestEnforcement>, StoreError> {
        Ok(self.enforcements.clone())
    }

    fn save_enforcement(&mut self, e: &GuestEnforcement) -> Result<(), StoreError> {
        check_enforcement(e)?;
        self.enforcements.insert(e.vmid, e.clone());
        Ok(())
    }

    fn delete_enforcement(&mut self, vmid: u32) -> Result<(), StoreError> {
        self.enforcements.remove(&vmid);
        Ok(())
    }

    fn add_release(&mut self, r: &Release) -> Result<(), StoreError> {
        self.releases.push(r.clone());
        Ok(())
    }

    fn releases(&self, now_ms: i64) -> Result<Vec<Release>, StoreError> {
        let mut out: Vec<Release> = self
            .releases
            .iter()
            .filter(|r| r.until_ms > now_ms)
            .cloned()
            .collect();
        out.sort_by_key(|r| r.at_ms); // stable: equal times stay in insertion order
        Ok(out)
    }

    fn log_action(&mut self, a: &ActionRecord) -> Result<(), StoreError> {
        check_action(a)?;
        self.actions.push(a.clone());
        Ok(())
    }

    fn action_log(
        &self,
        vmid: Option<u32>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut out: Vec<ActionRecord> = self
            .actions
            .iter()
            .filter(|a| a.at_ms >= since_ms && vmid.is_none_or(|v| a.vmid == v))
            .cloned()
            .collect();
        // Newest first; among equal times the last logged first (reverse, then stable sort).
        out.reverse();
        out.sort_by_key(|a| std::cmp::Reverse(a.at_ms));
        out.truncate(limit);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    #[test]
    fn conformance() {
        testutil::conformance(MemStore::new);
    }

    #[test]
    fn enforcement_conformance() {
        testutil::enforcement_conformance(MemStore::new);
    }

    #[test]
    fn history_conformance() {
        testutil::history_conformance(MemStore::new);
    }
}
