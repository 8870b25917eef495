//! [`HistoryStore`] for [`SqliteStore`]: range totals of all guests and history cleanup (see
//! `store::history` for what is deleted and why).
//!
//! Query shapes, chosen for 10,000 guests with months of hour rows:
//! - `hourly` is keyed `(vmid, hour_ms)`, so "every guest, hours in `[a, b)`" is written
//!   `vmid IN (SELECT vmid FROM guests) AND hour_ms >= a AND hour_ms < b` (as retention does):
//!   one primary-key range seek per guest, reading only the rows in the range, instead of a
//!   scan of the whole table;
//! - period accumulators are keyed `(period_key, window_start_ms, vmid)`; the distinct keys
//!   and window starts in a range are found by skip-scans (`> previous ORDER BY … LIMIT 1`,
//!   one seek each), not by reading every guest's row.
//!
//! A guest's newest window per period key lives in its `guests` row (`store::open_windows`)
//! until it closes: the plan counts such a window like a `period_usage` row, and the cleanup
//! removes it from the row's blob when it lies wholly inside the range.
//!
//! The cleanup's plan and deletion run in one `BEGIN IMMEDIATE` transaction: the exporter's
//! commit waits for it (busy timeout, 5 s) and vice versa, and the plan cannot change between
//! being checked and being carried out.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{all_open_windows, hour_row, stored_u64, SqliteStore};
use crate::detail::PER_HOUR;
use crate::history::{
    add_bytes, check_range, split_range, CleanupPlan, CleanupScope, HistoryStore, RangeTotals,
};
use crate::{StoreError, BUCKET_MS};

impl HistoryStore for SqliteStore {
    fn range_totals(&self, from_ms: i64, to_ms: i64) -> Result<RangeTotals, StoreError> {
        check_range(from_ms, to_ms)?;
        // One read transaction: whole hours and edges from the same snapshot.
        let tx = self.conn.unchecked_transaction()?;
        let mut out = RangeTotals::default();
        let ((a, b), edges) = split_range(from_ms, to_ms);
        let mut sums = std::collections::BTreeMap::<u32, (u64, u64)>::new();
        if a < b {
            let mut stmt = tx.prepare_cached(
                "SELECT vmid, sum(rx), sum(tx) FROM hourly
                 WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms >= ?1 AND hour_ms < ?2
                 GROUP BY vmid",
            )?;
            let mut rows = stmt.query(params![a, b])?;
            while let Some(r) = rows.next()? {
                let vmid: u32 = r.get(0)?;
                let rx = stored_u64(r.get(1)?, || format!("sum of hourly.rx of vmid {vmid}"))?;
                let tx = stored_u64(r.get(2)?, || format!("sum of hourly.tx of vmid {vmid}"))?;
                sums.insert(vmid, (rx, tx));
            }
        }
        let mut edge = tx.prepare_cached(
            "SELECT vmid, rx, tx, detail FROM hourly
             WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms = ?1",
        )?;
        for (h, lo, hi) in edges {
            let mut rows = edge.query([h])?;
            while let Some(r) = rows.next()? {
                let vmid: u32 = r.get(0)?;
                let row = hour_row(vmid, h, r.get(1)?, r.get(2)?, r.get(3)?)?;
                let Some(d) = row.detail else {
                    if row.rx != 0 || row.tx != 0 {
                        out.missing_detail_hour = Some(h);
                    }
                    continue;
                };
                let sum = sums.entry(vmid).or_default();
                for k in 0..PER_HOUR {
                    let start = h + k as i64 * BUCKET_MS;
                    if (lo..hi).contains(&start) {
                        add_bytes(sum, d.rx[k], d.tx[k])?;
                    }
                }
            }
        }
        sums.retain(|_, v| *v != (0, 0));
        out.guests = sums;
        Ok(out)
    }

    fn cleanup_plan(&self, scope: &CleanupScope) -> Result<CleanupPlan, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        plan(&tx, scope)
    }

    fn cleanup(
        &mut self,
        scope: &CleanupScope,
        expected: &CleanupPlan,
    ) -> Result<CleanupPlan, StoreError> {
        self.check_accounting_writer("cleanup")?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = plan(&tx, scope)?;
        if &now != expected {
            return Err(StoreError::Conflict(format!(
                "the history to delete is now {} guest(s), {} hour rows, {} period rows, \
                 not the {} guest(s), {} hour rows, {} period rows listed (the exporter wrote \
                 into the range)",
                now.len(),
                now.values().map(|g| g.hour_rows).sum::<u64>(),
                now.values().map(|g| g.period_rows).sum::<u64>(),
                expected.len(),
                expected.values().map(|g| g.hour_rows).sum::<u64>(),
                expected.values().map(|g| g.period_rows).sum::<u64>(),
            )));
        }
        match scope.vmid {
            Some(vmid) => tx.execute(
                "DELETE FROM hourly WHERE vmid = ?1 AND hour_ms >= ?2 AND hour_ms < ?3",
                params![vmid, scope.from_ms, scope.to_ms],
            )?,
            None => tx.execute(
                "DELETE FROM hourly
                 WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms >= ?1 AND hour_ms < ?2",
                params![scope.from_ms, scope.to_ms],
            )?,
        };
        for (key, start) in held_windows(&tx, scope)? {
            tx.execute(
                "DELETE FROM period_usage WHERE period_key = ?1 AND window_start_ms = ?2
                   AND (?3 IS NULL OR vmid = ?3)",
                params![key, start, scope.vmid],
            )?;
        }
        // Windows still open in the guests' rows (`store::open_windows`).
        for (vmid, mut open) in all_open_windows(&tx)? {
            if scope.vmid.is_none_or(|v| v == vmid)
                && open.remove_where(|key, start| scope.holds_window(key, start)) > 0
            {
                let blob = (!open.is_empty()).then(|| open.encode());
                tx.execute(
                    "UPDATE guests SET open_windows = ?1 WHERE vmid = ?2",
                    params![blob, vmid],
                )?;
            }
        }
        tx.commit()?;
        Ok(now)
    }
}

/// The plan of `scope`, read inside `tx`.
fn plan(tx: &rusqlite::Transaction<'_>, scope: &CleanupScope) -> Result<CleanupPlan, StoreError> {
    let mut out = CleanupPlan::new();
    let sql_all = "SELECT vmid, count(*), sum(rx), sum(tx) FROM hourly
                   WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms >= ?1 AND hour_ms < ?2
                   GROUP BY vmid";
    let sql_one = "SELECT vmid, count(*), sum(rx), sum(tx) FROM hourly
                   WHERE vmid = ?3 AND hour_ms >= ?1 AND hour_ms < ?2 GROUP BY vmid";
    let mut stmt = tx.prepare_cached(if scope.vmid.is_some() {
        sql_one
    } else {
        sql_all
    })?;
    let mut rows = match scope.vmid {
        Some(v) => stmt.query(params![scope.from_ms, scope.to_ms, v])?,
        None => stmt.query(params![scope.from_ms, scope.to_ms])?,
    };
    while let Some(r) = rows.next()? {
        let vmid: u32 = r.get(0)?;
        let g = out.entry(vmid).or_default();
        g.hour_rows = stored_u64(r.get(1)?, || format!("hour rows of vmid {vmid}"))?;
        g.rx = stored_u64(r.get(2)?, || format!("sum of hourly.rx of vmid {vmid}"))?;
        g.tx = stored_u64(r.get(3)?, || format!("sum of hourly.tx of vmid {vmid}"))?;
    }
    let mut count = tx.prepare_cached(
        "SELECT vmid, count(*) FROM period_usage
         WHERE period_key = ?1 AND window_start_ms = ?2 AND (?3 IS NULL OR vmid = ?3)
         GROUP BY vmid",
    )?;
    for (key, start) in held_windows(tx, scope)? {
        let mut rows = count.query(params![key, start, scope.vmid])?;
        while let Some(r) = rows.next()? {
            let vmid: u32 = r.get(0)?;
            let n: i64 = r.get(1)?;
            out.entry(vmid).or_default().period_rows += n as u64;
        }
    }
    // Windows still open in the guests' rows count as period rows too.
    for (vmid, mut open) in all_open_windows(tx)? {
        if scope.vmid.is_none_or(|v| v == vmid) {
            let n = open.remove_where(|key, start| scope.holds_window(key, start));
            if n > 0 {
                out.entry(vmid).or_default().period_rows += n;
            }
        }
    }
    Ok(out)
}

/// The accumulator windows `(period key, window start)` lying wholly inside `scope`, found
/// by skip-scans over the primary key (one seek per distinct key and window start).
fn held_windows(
    tx: &rusqlite::Transaction<'_>,
    scope: &CleanupScope,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut next_key =
        tx.prepare_cached("SELECT min(period_key) FROM period_usage WHERE period_key > ?1")?;
    let mut next_start = tx.prepare_cached(
        "SELECT min(window_start_ms) FROM period_usage
         WHERE period_key = ?1 AND window_start_ms > ?2 AND window_start_ms < ?3",
    )?;
    let mut out = Vec::new();
    let mut key = String::new();
    while let Some(k) = next_key
        .query_row([&key], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten()
    {
        // `> from - 1` without overflow: look from the scope's start inclusive.
        let mut after = scope.from_ms.saturating_sub(1);
        while let Some(start) = next_start
            .query_row(params![k, after, scope.to_ms], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten()
        {
            if scope.holds_window(&k, start) {
                out.push((k.clone(), start));
            }
            after = start;
        }
        key = k;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::{self, *};
    use super::*;
    use crate::{Store, HOUR_MS};

    fn mem() -> SqliteStore {
        SqliteStore::open_in_memory().unwrap()
    }

    #[test]
    fn conformance() {
        testutil::history_conformance(mem);
    }

    #[test]
    fn history_queries_seek_by_primary_key() {
        let s = mem();
        let plan = |q: &str| super::super::query_plan(&s.conn, q);
        for q in [
            "SELECT vmid, sum(rx), sum(tx) FROM hourly
             WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms >= 0 AND hour_ms < 5
             GROUP BY vmid",
            "SELECT vmid, rx, tx, detail FROM hourly
             WHERE vmid IN (SELECT vmid FROM guests) AND hour_ms = 0",
            "SELECT min(window_start_ms) FROM period_usage
             WHERE period_key = 'day' AND window_start_ms > 0 AND window_start_ms < 9",
            "SELECT min(period_key) FROM period_usage WHERE period_key > 'day'",
        ] {
            let p = plan(q);
            assert!(p.contains("PRIMARY KEY"), "{q}: {p}");
            assert!(
                !p.contains("SCAN hourly") && !p.contains("SCAN period_usage"),
                "{q}: {p}"
            );
        }
    }

    #[test]
    fn cleanup_waits_for_the_exporter_and_refuses_a_changed_plan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut exporter = SqliteStore::open(&path).unwrap();
        exporter
            .commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        let mut tool = SqliteStore::open(&path).unwrap();
        let scope = CleanupScope::new(None, T0, T0 + HOUR_MS, jiff::tz::TimeZone::UTC).unwrap();
        let listed = tool.cleanup_plan(&scope).unwrap();
        // The exporter writes into the range after the listing: the real run refuses.
        exporter
            .commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 5, 0)]))
            .unwrap();
        let e = tool.cleanup(&scope, &listed).unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        assert_eq!(
            exporter.hourly(100, T0, T0 + HOUR_MS).unwrap(),
            vec![(T0, 15, 1)]
        );

        // While the exporter holds its write transaction, the cleanup waits, then runs.
        let listed = tool.cleanup_plan(&scope).unwrap();
        exporter.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let worker = std::thread::spawn(move || {
            let done = tool.cleanup(&scope, &listed);
            (done, tool)
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        exporter.conn.execute_batch("COMMIT").unwrap();
        let (done, _) = worker.join().unwrap();
        assert_eq!(done.unwrap()[&100].hour_rows, 1);
        assert_eq!(exporter.hourly(100, T0, T0 + HOUR_MS).unwrap(), vec![]);
    }
}
