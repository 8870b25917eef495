//! The store: everything the exporter must not lose, behind one trait.
//!
//! The accountant computes deltas; the store only keeps them. One poll cycle becomes one
//! [`CycleWrite`], committed atomically by [`Store::commit_cycle`]: after a crash either the
//! whole cycle is in the database (raw counters *and* the bytes they imply) or none of it is,
//! so a restart never counts a delta twice nor drops one (docs/design.md, "Accounting").
//!
//! What is kept, and why each shape:
//! - **guests**: identity, the last raw counters (the baseline of the next delta) and the
//!   reset-free lifetime totals that `/metrics` exports as counters;
//! - **5-minute buckets** for charts ([`Store::series`]), kept for the retention window;
//!   **hour totals** kept beyond it (the coarse rollup, [`Store::hourly`]);
//! - **period accumulators**: per (period key, window start, guest) byte sums, added to on every
//!   commit, so the enforcer reads current usage with one indexed lookup whose cost does not
//!   grow with the number of polls in the period ([`Store::period_usage`]). The
//!   SQLite store keeps each guest's open window per period in the guest's row and moves a
//!   window to its own row when it closes (`open_windows`): a commit then writes two rows per
//!   guest, not two plus one per period;
//! - **discarded-delta counts** by reason and the time of the last committed cycle.
//!
//! The enforcer's own records (what it changed, releases, the action log) live behind a
//! second trait, [`EnforcementStore`], with the enforcer as its only writer; see
//! [`enforcement`]. The export and cleanup tools' range totals and history deletion are a
//! third, [`HistoryStore`]; see [`history`] for what cleanup deletes and never deletes.
//!
//! The trait speaks only Rust types (bytes as `u64`, times as Unix milliseconds UTC); nothing
//! about SQL, connections or transactions leaks out, so a PostgreSQL or MariaDB store can come
//! later without touching the accountant or the enforcer: they, and the export
//! and cleanup tools, take the store through these traits, and only [`open`] names a backend
//! (the one `storage.dsn` chooses, see [`Backend`]). [`sqlite::SqliteStore`]
//! is the production implementation; [`memory::MemStore`] is a plain-Rust one for unit tests of
//! the code above the store and the reference model the SQLite store is property-tested against.
//!
//! A [`CycleWrite`] is checked before anything is written ([`CycleWrite::validate`]): a bucket
//! not on a 5-minute boundary, buckets or periods that do not add up to the guest's delta, or a
//! byte count that does not fit the database's signed 64-bit integers are accountant bugs, and
//! storing them would break "sum over buckets == total" for good.

#![warn(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use pve_traffic_core::guest::GuestType;

pub mod enforcement;
pub mod history;
pub mod memory;
pub mod sqlite;

mod backend;
mod detail;
mod open_windows;
mod schema;

pub use backend::{open, Access, Backend};
pub use enforcement::EnforcementStore;
pub use history::HistoryStore;
pub use memory::MemStore;
pub use sqlite::SqliteStore;

/// Length of a history bucket: 5 minutes, in milliseconds. Every real UTC offset is a multiple
/// of 15 minutes, so 5-minute buckets aggregate exactly into local hours and days.
pub const BUCKET_MS: i64 = 5 * 60 * 1000;

/// Length of an hour row, in milliseconds (12 buckets).
pub const HOUR_MS: i64 = 60 * 60 * 1000;

/// Start of the 5-minute bucket containing `ms` (UTC-aligned, also for times before 1970).
pub fn bucket_start(ms: i64) -> i64 {
    ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// Start of the UTC hour containing `ms`.
pub fn hour_start(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// A guest as PVE last described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestInfo {
    /// The VMID, unique cluster-wide; the guest's identity (a migration keeps its history).
    pub vmid: u32,
    /// QEMU VM or LXC container.
    pub guest_type: GuestType,
    /// The guest's name.
    pub name: String,
    /// The node it last ran on.
    pub node: String,
    /// PVE tags, in PVE's order.
    pub tags: Vec<String>,
    /// Whether the guest is a template.
    pub template: bool,
    /// Whether it was running at the last poll.
    pub running: bool,
}

/// The last raw counters seen for a guest, persisted so a restart loses nothing
/// (committed with the bytes they imply): exactly what the accountant compares the next
/// poll with.
pub use pve_traffic_core::accounting::Counters as RawCounters;

/// Accounted lifetime totals of a guest (reset-free; the Prometheus counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuestTotals {
    /// Bytes received by the guest.
    pub rx: u64,
    /// Bytes sent by the guest.
    pub tx: u64,
    /// Counter resets seen (restarts, migrations, stops).
    pub resets: u64,
}

/// Everything one poll cycle writes, committed in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleWrite {
    /// When the cycle polled, Unix milliseconds UTC; becomes [`Store::last_cycle_ms`].
    pub at_ms: i64,
    /// One entry per guest seen this cycle (each VMID at most once).
    pub guests: Vec<GuestWrite>,
    /// Deltas discarded this cycle, by reason: `(reason, count)`, added to the stored counts.
    pub discarded: Vec<(String, u64)>,
}

/// What one cycle writes for one guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestWrite {
    /// The guest's current description (replaces the stored one).
    pub info: GuestInfo,
    /// The raw counters just read (replace the stored ones: the next delta's baseline).
    pub counters: RawCounters,
    /// This cycle's accounted rx delta in bytes, added to the lifetime total.
    pub rx: u64,
    /// This cycle's accounted tx delta in bytes, added to the lifetime total.
    pub tx: u64,
    /// Whether the accountant saw a counter reset (adds 1 to [`GuestTotals::resets`]).
    pub reset: bool,
    /// The delta spread over 5-minute buckets: `(bucket start ms, rx, tx)`, added to the
    /// stored buckets. Starts must be multiples of [`BUCKET_MS`]; rx and tx must sum to
    /// [`GuestWrite::rx`] and [`GuestWrite::tx`]. A start may repeat (the parts add up).
    pub buckets: Vec<(i64, u64, u64)>,
    /// The delta spread over period windows: `(period key, window start ms, rx, tx)`, added to
    /// the accumulators. The key names the period as the caller likes (`"day"`, `"month@15"`,
    /// a zone suffix…); the store only requires that, per key, the parts sum to the delta.
    pub periods: Vec<(Arc<str>, i64, u64, u64)>,
}

/// What the exporter needs back after a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredState {
    /// Every guest ever committed: description, last raw counters (None only for a guest
    /// stored without counters) and lifetime totals.
    pub guests: BTreeMap<u32, (GuestInfo, Option<RawCounters>, GuestTotals)>,
    /// Discarded deltas by reason, since the database was created.
    pub discarded: BTreeMap<String, u64>,
    /// When the last committed cycle polled.
    pub last_cycle_ms: Option<i64>,
}

/// Durable accounting state. One writer (the exporter) commits cycles; any number of readers
/// (enforcer, export tool) query it, each through its own `Store` value.
pub trait Store: Send {
    /// Everything the exporter needs to resume: guests with their last raw counters and
    /// totals, discarded counts, the last cycle's time.
    fn load_state(&self) -> Result<StoredState, StoreError>;

    /// Commits one poll cycle atomically: guest descriptions and raw counters replaced;
    /// totals, 5-minute buckets, hour totals, period accumulators and discarded counts added
    /// to; the last cycle time set. On error nothing of the cycle is stored.
    fn commit_cycle(&mut self, cycle: &CycleWrite) -> Result<(), StoreError>;

    /// Usage per guest (`vmid -> (rx, tx)`) in one window of one period key, read from the
    /// accumulators: the cost does not depend on how many polls the window holds. Guests
    /// without traffic in the window are absent.
    fn period_usage(
        &self,
        period_key: &str,
        window_start_ms: i64,
    ) -> Result<HashMap<u32, (u64, u64)>, StoreError>;

    /// The guest's 5-minute buckets `(start ms, rx, tx)` with `from_ms <= start < to_ms`,
    /// ascending, empty buckets left out. Buckets older than the retention window are gone
    /// (see [`Store::hourly`] for the longer-lived hour totals).
    fn series(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError>;

    /// The guest's hour totals `(hour start ms, rx, tx)` with `from_ms <= start < to_ms`,
    /// ascending, empty hours left out. Not affected by [`Store::apply_retention`].
    fn hourly(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError>;

    /// Drops 5-minute detail of every hour that ended at least `keep_days` days before
    /// `now_ms`; returns how many guest-hours lost their detail. Never changes lifetime totals,
    /// hour totals or period accumulators.
    fn apply_retention(&mut self, now_ms: i64, keep_days: u32) -> Result<u64, StoreError>;

    /// When the last committed cycle polled, if any cycle was committed.
    fn last_cycle_ms(&self) -> Result<Option<i64>, StoreError>;
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file (or its directory) could not be created or opened.
    #[error(
        "cannot open database {}: {source}; check storage.dsn and that the directory is writable",
        path.display()
    )]
    Open {
        /// The database path as configured.
        path: PathBuf,
        /// The I/O or SQLite error behind it.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A schema migration failed; the database stays at the previous version.
    #[error(
        "database schema migration to version {version} failed: {source}; the database is \
         unchanged, fix the cause (disk space, permissions) and start the exporter again"
    )]
    Migrate {
        /// The version the migration would have produced.
        version: u32,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Another process held the database locked longer than the backend waits (SQLite: the
    /// busy timeout). Nothing was changed; the operation can be retried.
    #[error(
        "the database is locked by another process: {source}; nothing was changed, retry \
         (a long-running cleanup or a second exporter on the same database holds the lock)"
    )]
    Busy {
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The database refused a write because this connection, the file or the filesystem is
    /// read-only.
    #[error(
        "the database cannot be written: {source}; check that the database file and its \
         directory are writable by this user (a tool that only reads opens it read-only)"
    )]
    ReadOnly {
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Any other error of the database backend (disk full, I/O error, a query it refused…).
    #[error(
        "database error: {source}; check the disk holding storage.dsn (space, I/O errors) \
         and the log above"
    )]
    Backend {
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Stored data that cannot be right (a negative byte count, an undecodable blob, an
    /// unknown guest type); the message names the table, row and value.
    #[error("database content is corrupt: {0}; restore a backup or move the file away")]
    Corrupt(String),
    /// The database was written by a newer pve-traffic; this one must not touch it.
    #[error(
        "database schema version {found} is newer than the {supported} this build supports; \
         upgrade pve-traffic (or restore a backup made before the upgrade)"
    )]
    NewerSchema {
        /// The database's version.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A read-only opener found a database not yet migrated (readers never migrate).
    #[error(
        "database schema version {found} is older than the {supported} this build expects; \
         start pve-traffic-exporter once to migrate it"
    )]
    OlderSchema {
        /// The database's version (0: empty or not a pve-traffic database).
        found: u32,
        /// The version this build expects.
        supported: u32,
    },
    /// The cycle handed to [`Store::commit_cycle`], or the record handed to an
    /// [`EnforcementStore`] write, breaks an invariant; nothing was written. This is a bug in
    /// the caller (the message names the guest and the value), reported instead of stored.
    /// Also returned when a connection opened for the enforcer
    /// ([`SqliteStore::open_enforcer`]) is asked to write accounting.
    #[error("refusing to store: {0}")]
    InvalidWrite(String),
    /// A write that was conditional on what the caller had read found the data changed
    /// meanwhile (another process wrote); nothing was written. Read again and retry.
    #[error("the data changed since it was read: {0}; nothing was changed, run it again")]
    Conflict(String),
}

/// The largest byte count a store keeps (SQL `BIGINT` is signed).
pub const MAX_STORED: u64 = i64::MAX as u64;

impl CycleWrite {
    /// Checks the invariants a store relies on: each VMID once; buckets on 5-minute
    /// boundaries; per guest, buckets and each period key's parts summing exactly to the
    /// delta; every byte count at most [`MAX_STORED`].
    pub fn validate(&self) -> Result<(), StoreError> {
        let bad = |msg: String| Err(StoreError::InvalidWrite(msg));
        let mut seen = std::collections::HashSet::new();
        for g in &self.guests {
            let vmid = g.info.vmid;
            if !seen.insert(vmid) {
                return bad(format!("vmid {vmid} appears twice in one cycle"));
            }
            let too_big = [
                g.rx,
                g.tx,
                g.counters.netin,
                g.counters.netout,
                g.counters.uptime,
            ]
            .into_iter()
            .chain(g.buckets.iter().flat_map(|b| [b.1, b.2]))
            .chain(g.periods.iter().flat_map(|p| [p.2, p.3]))
            .find(|&v| v > MAX_STORED);
            if let Some(v) = too_big {
                return bad(format!("vmid {vmid}: value {v} exceeds {MAX_STORED}"));
            }
            let (mut rx, mut tx) = (0u128, 0u128);
            for &(start, brx, btx) in &g.buckets {
                if start.rem_euclid(BUCKET_MS) != 0 {
                    return bad(format!(
                        "vmid {vmid}: bucket start {start} is not on a 5-minute boundary"
                    ));
                }
                rx += u128::from(brx);
                tx += u128::from(btx);
            }
            if (rx, tx) != (u128::from(g.rx), u128::from(g.tx)) {
                return bad(format!(
                    "vmid {vmid}: 5-minute buckets sum to rx {rx}, tx {tx} but the delta is \
                     rx {}, tx {}",
                    g.rx, g.tx
                ));
            }
            let mut per_key: BTreeMap<&str, (u128, u128)> = BTreeMap::new();
            for (key, _, prx, ptx) in &g.periods {
                let e = per_key.entry(key).or_default();
                e.0 += u128::from(*prx);
                e.1 += u128::from(*ptx);
            }
            for (key, (rx, tx)) in per_key {
                if (rx, tx) != (u128::from(g.rx), u128::from(g.tx)) {
                    return bad(format!(
                        "vmid {vmid}: period {key:?} parts sum to rx {rx}, tx {tx} but the \
                         delta is rx {}, tx {}",
                        g.rx, g.tx
                    ));
                }
            }
        }
        if let Some((reason, n)) = self.discarded.iter().find(|d| d.1 > MAX_STORED) {
            return bad(format!(
                "discarded count {n} for {reason:?} exceeds {MAX_STORED}"
            ));
        }
        Ok(())
    }
}

/// Fixtures and the conformance suite every backend's tests run; other crates' tests use the
/// fixtures through the `testutil` feature (a dev-dependency only).
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn alignment_helpers_floor_towards_minus_infinity() {
        assert_eq!(bucket_start(0), 0);
        assert_eq!(bucket_start(299_999), 0);
        assert_eq!(bucket_start(300_000), 300_000);
        assert_eq!(bucket_start(-1), -300_000);
        assert_eq!(hour_start(HOUR_MS + 5), HOUR_MS);
        assert_eq!(hour_start(-1), -HOUR_MS);
    }

    #[test]
    fn validate_accepts_a_consistent_cycle() {
        let c = cycle(T0, vec![gw(100, T0, 30, 7)]);
        c.validate().unwrap();
    }

    #[test]
    fn validate_names_what_is_wrong() {
        let mut g = gw(100, T0, 30, 7);
        g.buckets[0].0 += 1;
        let e = cycle(T0, vec![g]).validate().unwrap_err().to_string();
        assert!(e.contains("not on a 5-minute boundary"), "{e}");

        let mut g = gw(100, T0, 30, 7);
        g.buckets[0].1 -= 1;
        let e = cycle(T0, vec![g]).validate().unwrap_err().to_string();
        assert!(e.contains("5-minute buckets sum to rx 29"), "{e}");

        let mut g = gw(100, T0, 30, 7);
        g.periods[0].3 += 1;
        let e = cycle(T0, vec![g]).validate().unwrap_err().to_string();
        assert!(
            e.contains("period \"hour\" parts sum to rx 30, tx 8"),
            "{e}"
        );

        let e = cycle(T0, vec![gw(1, T0, 1, 1), gw(1, T0, 1, 1)])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("vmid 1 appears twice"), "{e}");

        let mut g = gw(100, T0, 0, 0);
        g.counters.netin = u64::MAX;
        let e = cycle(T0, vec![g]).validate().unwrap_err().to_string();
        assert!(e.contains("exceeds"), "{e}");
    }

    #[test]
    fn open_error_tells_the_operator_what_to_check() {
        let e = StoreError::Open {
            path: "/var/lib/pve-traffic/db.sqlite".into(),
            source: "permission denied".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot open database /var/lib/pve-traffic/db.sqlite: permission denied; \
             check storage.dsn and that the directory is writable"
        );
    }
}
