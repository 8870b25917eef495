//! Opening the database `storage.dsn` names: the one place that knows which backends exist.
//!
//! Why one place: the daemons and the tools take the store through its traits ([`Store`],
//! [`EnforcementStore`], [`HistoryStore`]) and never name a backend; only [`open`] chooses
//! one. Adding PostgreSQL or MariaDB means a new [`Backend`] variant, chosen here from the
//! DSN's scheme, and nothing in the exporter, the enforcer or the reports changes.
//!
//! Why an enum and not a boxed trait object: the exporter's cycle is generic over its store,
//! so with an enum every call is a `match` the compiler sees through, and code written against
//! the traits runs unchanged on [`MemStore`](super::MemStore) in tests.
//!
//! Today every DSN is the path of an SQLite file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::enforcement::{ActionRecord, EnforcementStore, GuestEnforcement, Release};
use super::history::{CleanupPlan, CleanupScope, HistoryStore, RangeTotals};
use super::{CycleWrite, SqliteStore, Store, StoreError, StoredState};

/// What the opener will do with the database; each backend enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The exporter: writes accounting, creates the database and migrates its schema.
    Accounting,
    /// The enforcer: writes its own records only; accounting writes are refused.
    Enforcement,
    /// Tools that only read (export, a cleanup's dry run, `status`): never write or migrate.
    ReadOnly,
}

/// The backend `storage.dsn` chose.
pub enum Backend {
    /// An SQLite file.
    Sqlite(SqliteStore),
}

/// Opens the database `dsn` names, for `access`.
pub fn open(dsn: &str, access: Access) -> Result<Backend, StoreError> {
    let path = Path::new(dsn);
    let store = match access {
        Access::Accounting => SqliteStore::open(path)?,
        Access::Enforcement => SqliteStore::open_enforcer(path)?,
        Access::ReadOnly => SqliteStore::open_read_only(path)?,
    };
    Ok(Backend::Sqlite(store))
}

impl Store for Backend {
    fn load_state(&self) -> Result<StoredState, StoreError> {
        match self {
            Backend::Sqlite(s) => s.load_state(),
        }
    }

    fn commit_cycle(&mut self, cycle: &CycleWrite) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.commit_cycle(cycle),
        }
    }

    fn period_usage(
        &self,
        period_key: &str,
        window_start_ms: i64,
    ) -> Result<HashMap<u32, (u64, u64)>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.period_usage(period_key, window_start_ms),
        }
    }

    fn series(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.series(vmid, from_ms, to_ms),
        }
    }

    fn hourly(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.hourly(vmid, from_ms, to_ms),
        }
    }

    fn apply_retention(&mut self, now_ms: i64, keep_days: u32) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(s) => s.apply_retention(now_ms, keep_days),
        }
    }

    fn last_cycle_ms(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.last_cycle_ms(),
        }
    }
}

impl EnforcementStore for Backend {
    fn load_enforcements(&self) -> Result<BTreeMap<u32, GuestEnforcement>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.load_enforcements(),
        }
    }

    fn save_enforcement(&mut self, e: &GuestEnforcement) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.save_enforcement(e),
        }
    }

    fn delete_enforcement(&mut self, vmid: u32) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.delete_enforcement(vmid),
        }
    }

    fn add_release(&mut self, r: &Release) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.add_release(r),
        }
    }

    fn releases(&self, now_ms: i64) -> Result<Vec<Release>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.releases(now_ms),
        }
    }

    fn log_action(&mut self, a: &ActionRecord) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.log_action(a),
        }
    }

    fn action_log(
        &self,
        vmid: Option<u32>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.action_log(vmid, since_ms, limit),
        }
    }
}

impl HistoryStore for Backend {
    fn range_totals(&self, from_ms: i64, to_ms: i64) -> Result<RangeTotals, StoreError> {
        match self {
            Backend::Sqlite(s) => s.range_totals(from_ms, to_ms),
        }
    }

    fn cleanup_plan(&self, scope: &CleanupScope) -> Result<CleanupPlan, StoreError> {
        match self {
            Backend::Sqlite(s) => s.cleanup_plan(scope),
        }
    }

    fn cleanup(
        &mut self,
        scope: &CleanupScope,
        expected: &CleanupPlan,
    ) -> Result<CleanupPlan, StoreError> {
        match self {
            Backend::Sqlite(s) => s.cleanup(scope, expected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{cycle, gw, T0};

    #[test]
    fn each_access_gets_what_it_may_do() {
        let dir = tempfile::tempdir().unwrap();
        let dsn = dir.path().join("traffic.db");
        let dsn = dsn.to_str().unwrap();
        let e = open(dsn, Access::ReadOnly).err().expect("no database yet");
        assert!(matches!(e, StoreError::Open { .. }), "{e}");

        let mut w = open(dsn, Access::Accounting).unwrap();
        w.commit_cycle(&cycle(T0, vec![gw(100, T0, 30, 7)]))
            .unwrap();

        let mut enforcer = open(dsn, Access::Enforcement).unwrap();
        let e = enforcer.commit_cycle(&cycle(T0, vec![])).unwrap_err();
        assert!(matches!(e, StoreError::InvalidWrite(_)), "{e}");
        enforcer.delete_enforcement(100).unwrap();

        let mut r = open(dsn, Access::ReadOnly).unwrap();
        assert_eq!(r.last_cycle_ms().unwrap(), Some(T0));
        let e = r.delete_enforcement(100).unwrap_err();
        assert!(matches!(e, StoreError::ReadOnly { .. }), "{e}");
    }
}
