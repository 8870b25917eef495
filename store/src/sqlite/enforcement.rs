//! [`EnforcementStore`] for [`SqliteStore`]: the tables of schema version 2 (see
//! `store::schema` for their shape and why the per-NIC state is rows, not JSON).
//!
//! Only these tables are touched here; nothing in this file reads or writes accounting.
//! Writes take the write lock up front (`BEGIN IMMEDIATE`, like `commit_cycle`), so with the
//! exporter writing at the same time one waits for the other (busy timeout) instead of
//! failing on a lock upgrade. [`EnforcementStore::load_enforcements`] reads its three tables
//! in one read transaction: one consistent snapshot, even while the exporter commits.

use std::collections::BTreeMap;

use rusqlite::{params, Row, TransactionBehavior};

use super::{sql, stored_u64, SqliteStore};
use crate::enforcement::{
    check_action, check_enforcement, parse_desired, parse_stage, rate_of, stage_str, ActionRecord,
    EnforcementStore, GuestEnforcement, KeyChange, NicChange, PendingShutdown, Release,
};
use crate::StoreError;

fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}

/// A NIC's keys as stored in `enforcement_nic.nic_key`.
fn nic_keys(n: &NicChange) -> [(&'static str, &KeyChange); 2] {
    [("rate", &n.rate), ("link_down", &n.link_down)]
}

/// The inverse of [`nic_keys`]: the field a stored `nic_key` names.
fn nic_key_mut<'a>(n: &'a mut NicChange, key: &str) -> Option<&'a mut KeyChange> {
    match key {
        "rate" => Some(&mut n.rate),
        "link_down" => Some(&mut n.link_down),
        _ => None,
    }
}

/// Deletes the guest's reason and NIC rows (children first: the foreign keys).
fn delete_children(tx: &rusqlite::Transaction<'_>, vmid: u32) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM enforcement_reason WHERE vmid = ?1")?
        .execute([vmid])?;
    tx.prepare_cached("DELETE FROM enforcement_nic WHERE vmid = ?1")?
        .execute([vmid])?;
    Ok(())
}

fn enforcement_row(r: &Row<'_>) -> Result<GuestEnforcement, StoreError> {
    let vmid: u32 = r.get(0)?;
    let kind: String = r.get(1)?;
    let rate: Option<f64> = r.get(2)?;
    let applied = parse_desired(&kind, rate).ok_or_else(|| {
        corrupt(format!(
            "enforcement.applied of vmid {vmid} is {kind:?} (rate_mb {rate:?})"
        ))
    })?;
    let stage: String = r.get(3)?;
    let stage = parse_stage(&stage)
        .ok_or_else(|| corrupt(format!("enforcement.stage of vmid {vmid} is {stage:?}")))?;
    let pending_shutdown = match (r.get(6)?, r.get(7)?, r.get(8)?) {
        (None, None, None) => None,
        (Some(upid), Some(node), Some(deadline_ms)) => Some(PendingShutdown {
            upid,
            node,
            deadline_ms,
        }),
        _ => {
            return Err(corrupt(format!(
                "enforcement.shutdown_* of vmid {vmid} are partly NULL"
            )))
        }
    };
    Ok(GuestEnforcement {
        vmid,
        applied,
        stage,
        reasons: BTreeMap::new(),
        since_ms: r.get(4)?,
        nics: BTreeMap::new(),
        was_running: r.get(5)?,
        pending_shutdown,
    })
}

fn action_row(r: &Row<'_>) -> Result<ActionRecord, StoreError> {
    let id: i64 = r.get(0)?;
    let bytes = |i: usize, what: &str| -> Result<Option<u64>, StoreError> {
        r.get::<_, Option<i64>>(i)?
            .map(|v| stored_u64(v, || format!("action_log.{what} of row {id}")))
            .transpose()
    };
    Ok(ActionRecord {
        at_ms: r.get(1)?,
        vmid: r.get(2)?,
        rule: r.get(3)?,
        action: r.get(4)?,
        used: bytes(5, "used_bytes")?,
        limit: bytes(6, "limit_bytes")?,
        result: r.get(7)?,
        detail: r.get(8)?,
        actor: r.get(9)?,
    })
}

impl EnforcementStore for SqliteStore {
    fn load_enforcements(&self) -> Result<BTreeMap<u32, GuestEnforcement>, StoreError> {
        // A read transaction: the three tables from one snapshot.
        let tx = self.conn.unchecked_transaction()?;
        let mut out = BTreeMap::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT vmid, applied, rate_mb, stage, since_ms, was_running,
                        shutdown_upid, shutdown_node, shutdown_deadline_ms
                 FROM enforcement",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let e = enforcement_row(r)?;
                out.insert(e.vmid, e);
            }
        }
        let orphan = |table: &str, vmid: u32| {
            corrupt(format!(
                "{table} has rows for vmid {vmid}, which has no enforcement row"
            ))
        };
        {
            let mut stmt =
                tx.prepare_cached("SELECT vmid, rule_name, period_end_ms FROM enforcement_reason")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let vmid: u32 = r.get(0)?;
                let e = out
                    .get_mut(&vmid)
                    .ok_or_else(|| orphan("enforcement_reason", vmid))?;
                e.reasons.insert(r.get(1)?, r.get(2)?);
            }
        }
        {
            let mut stmt = tx.prepare_cached(
                "SELECT vmid, nic, nic_key, original, written, set_value FROM enforcement_nic",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let vmid: u32 = r.get(0)?;
                let nic: String = r.get(1)?;
                let key: String = r.get(2)?;
                let e = out
                    .get_mut(&vmid)
                    .ok_or_else(|| orphan("enforcement_nic", vmid))?;
                let bad_key = || {
                    corrupt(format!(
                        "enforcement_nic.nic_key of vmid {vmid} {nic} is {key:?}"
                    ))
                };
                let written: bool = r.get(4)?;
                let set_value: Option<String> = r.get(5)?;
                let nic_entry = e.nics.entry(nic.clone()).or_default();
                let change = nic_key_mut(nic_entry, &key).ok_or_else(bad_key)?;
                change.original = r.get(3)?;
                // written = 0 with a value is excluded by a CHECK constraint.
                change.set = written.then_some(set_value);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn save_enforcement(&mut self, e: &GuestEnforcement) -> Result<(), StoreError> {
        check_enforcement(e)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shutdown = e.pending_shutdown.as_ref();
        // An upsert, not delete + insert: the children reference the row.
        tx.prepare_cached(
            "INSERT INTO enforcement (vmid, applied, rate_mb, stage, since_ms, was_running,
                 shutdown_upid, shutdown_node, shutdown_deadline_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (vmid) DO UPDATE SET
                 applied = excluded.applied, rate_mb = excluded.rate_mb,
                 stage = excluded.stage, since_ms = excluded.since_ms,
                 was_running = excluded.was_running,
                 shutdown_upid = excluded.shutdown_upid,
                 shutdown_node = excluded.shutdown_node,
                 shutdown_deadline_ms = excluded.shutdown_deadline_ms",
        )?
        .execute(params![
            e.vmid,
            e.applied.as_str(),
            rate_of(&e.applied),
            stage_str(e.stage),
            e.since_ms,
            e.was_running,
            shutdown.map(|s| &s.upid),
            shutdown.map(|s| &s.node),
            shutdown.map(|s| s.deadline_ms),
        ])?;
        delete_children(&tx, e.vmid)?;
        {
            let mut reason = tx.prepare_cached(
                "INSERT INTO enforcement_reason (vmid, rule_name, period_end_ms)
                 VALUES (?1, ?2, ?3)",
            )?;
            for (rule, end) in &e.reasons {
                reason.execute(params![e.vmid, rule, end])?;
            }
            let mut nic = tx.prepare_cached(
                "INSERT INTO enforcement_nic (vmid, nic, nic_key, original, written, set_value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (name, change) in &e.nics {
                // Both keys, always: a NIC whose keys are both untouched still round-trips.
                for (key, k) in nic_keys(change) {
                    nic.execute(params![
                        e.vmid,
                        name,
                        key,
                        k.original,
                        k.set.is_some(),
                        k.set.as_ref().and_then(Option::as_deref),
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delete_enforcement(&mut self, vmid: u32) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        delete_children(&tx, vmid)?;
        tx.prepare_cached("DELETE FROM enforcement WHERE vmid = ?1")?
            .execute([vmid])?;
        tx.commit()?;
        Ok(())
    }

    fn add_release(&mut self, r: &Release) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO enforcement_release (vmid, rule_name, until_ms, at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![r.vmid, r.rule, r.until_ms, r.at_ms])?;
        Ok(())
    }

    fn releases(&self, now_ms: i64) -> Result<Vec<Release>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT vmid, rule_name, until_ms, at_ms FROM enforcement_release
             WHERE until_ms > ?1 ORDER BY at_ms, id",
        )?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok(Release {
                vmid: r.get(0)?,
                rule: r.get(1)?,
                until_ms: r.get(2)?,
                at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn log_action(&mut self, a: &ActionRecord) -> Result<(), StoreError> {
        check_action(a)?;
        self.conn
            .prepare_cached(
                "INSERT INTO action_log (at_ms, vmid, rule_name, action, used_bytes,
                     limit_bytes, result, detail, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                a.at_ms,
                a.vmid,
                a.rule,
                a.action,
                a.used.map(sql),
                a.limit.map(sql),
                a.result,
                a.detail,
                a.actor,
            ])?;
        Ok(())
    }

    fn action_log(
        &self,
        vmid: Option<u32>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Two statements rather than `(?1 IS NULL OR vmid = ?1)`, so each uses its index
        // (walked backwards for newest first).
        macro_rules! select {
            ($where:literal) => {
                concat!(
                    "SELECT id, at_ms, vmid, rule_name, action, used_bytes, limit_bytes,
                            result, detail, actor
                     FROM action_log WHERE ",
                    $where,
                    " ORDER BY at_ms DESC, id DESC LIMIT ?3"
                )
            };
        }
        let mut stmt = self.conn.prepare_cached(match vmid {
            Some(_) => select!("vmid = ?1 AND at_ms >= ?2"),
            // ?1 (the absent vmid) is bound but unused.
            None => select!("at_ms >= ?2"),
        })?;
        let mut rows = stmt.query(params![vmid, since_ms, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(action_row(r)?);
        }
        Ok(out)
    }
}
