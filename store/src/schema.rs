//! Versioned schema migrations for the SQLite store.
//!
//! Why versioned and not `CREATE TABLE IF NOT EXISTS`: a schema change must be applied exactly
//! once, in order, atomically, and a binary must refuse a database written by a newer one
//! instead of misreading it. The version lives in SQLite's `PRAGMA user_version` (a header
//! field, no table needed); migration `i` of [`MIGRATIONS`] takes the database from version
//! `i` to `i + 1` in one transaction together with the version bump, so a crash mid-migration
//! leaves the previous version intact. Migrations are append-only: never edit a released one.
//!
//! Portability: the DDL uses types and constraints PostgreSQL and MariaDB also have
//! (`INTEGER`/`BIGINT`, `TEXT`, composite primary keys, `ON CONFLICT` upserts in the store).
//! SQLite-only parts, to translate for another engine: `WITHOUT ROWID` (PostgreSQL: a plain
//! table, or a clustered index; MariaDB/InnoDB: clustered on the primary key already),
//! `BLOB` (PostgreSQL `BYTEA`), 0/1 integers for booleans, `id INTEGER PRIMARY KEY` as an
//! auto-assigned id (PostgreSQL `BIGINT GENERATED ALWAYS AS IDENTITY`, MariaDB
//! `AUTO_INCREMENT`), and `user_version` (elsewhere a one-row `schema_version` table).
//! Times in milliseconds and byte counts need 64 bits: `BIGINT` where `INTEGER` is 32-bit.

use rusqlite::Connection;

use super::StoreError;

/// The schema, one step per entry: `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
///
/// Version 1:
/// - `guests`: one row per VMID: description, reset-free totals, last raw counters (NULL
///   until the first counters are stored).
/// - `hourly`: one row per guest-hour: the hour's totals and, until retention drops it, the
///   encoded 5-minute detail (`store::detail`). Keyed (vmid, hour_ms) so a guest's series is
///   one range scan; `WITHOUT ROWID` stores the row in the primary-key B-tree itself (no
///   second index, about half the size).
/// - `period_usage`: accumulators per (period key, window start, vmid), so the usage of all
///   guests in a window is one prefix scan of the primary key.
/// - `discarded`: discarded deltas by reason. `meta`: small named integers (last cycle time).
///
/// Version 2: the enforcer's persistent state (`store::enforcement`). Written only
/// by the enforcer, read by it and by reporting tools; the exporter never touches these tables
/// and the enforcer never touches the ones above (so its connection never runs the hour-row
/// logic of `commit_cycle`).
/// - `enforcement`: one row per enforced guest: what was put in place (`applied` is
///   `Desired::as_str`, `rate_mb` only for `rate_limit`), `stage`, `since_ms`, `was_running`
///   (NULL: not powered off by the enforcer) and a pending shutdown (three columns, all NULL
///   or all set).
/// - `enforcement_reason`: the rules over their limit per enforced guest, with the end of the
///   rule's current period.
/// - `enforcement_nic`: per enforced guest, NIC and key (`rate`, `link_down`): the original
///   value (NULL: the key was absent) and what the enforcer wrote, in two columns because it
///   has three states: `written = 0` (never written; `set_value` NULL), `written = 1` with
///   `set_value` NULL (wrote the key as absent), `written = 1` with a value. Child tables
///   rather than a JSON column: plain columns read the same in every engine and can be
///   queried and checked by the database (`CHECK`, foreign keys).
/// - `enforcement_release`: operator releases; `releases(now)` is a range scan of
///   `(until_ms)`. Kept after they expire (a few rows per operator action, and the history
///   is useful); a surrogate `id` because `rule_name` may be NULL (every rule).
/// - `action_log`: every action taken; `id` keeps insertion order among equal times. Indexed
///   by time and by (guest, time), the two ways it is read (newest first).
///
/// Version 3: `guests.open_windows`, each guest's newest window per period key with its
/// running sums (`store::open_windows`); `period_usage` keeps the windows that closed. The
/// rows already in `period_usage` stay as they are: readers add both places, so nothing needs
/// moving. NULL: no window open.
///
/// Column names avoid words reserved in PostgreSQL or MariaDB (`key`, `limit`, `release`).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    "CREATE TABLE guests (
        vmid        INTEGER PRIMARY KEY,
        guest_type  TEXT    NOT NULL,
        name        TEXT    NOT NULL,
        node        TEXT    NOT NULL,
        tags        TEXT    NOT NULL,
        template    INTEGER NOT NULL,
        running     INTEGER NOT NULL,
        rx_total    INTEGER NOT NULL,
        tx_total    INTEGER NOT NULL,
        resets      INTEGER NOT NULL,
        raw_node    TEXT,
        raw_running INTEGER,
        raw_uptime  INTEGER,
        raw_netin   INTEGER,
        raw_netout  INTEGER,
        raw_at_ms   INTEGER
    );
    CREATE TABLE hourly (
        vmid    INTEGER NOT NULL REFERENCES guests (vmid),
        hour_ms INTEGER NOT NULL,
        rx      INTEGER NOT NULL,
        tx      INTEGER NOT NULL,
        detail  BLOB,
        PRIMARY KEY (vmid, hour_ms)
    ) WITHOUT ROWID;
    CREATE TABLE period_usage (
        period_key      TEXT    NOT NULL,
        window_start_ms INTEGER NOT NULL,
        vmid            INTEGER NOT NULL REFERENCES guests (vmid),
        rx              INTEGER NOT NULL,
        tx              INTEGER NOT NULL,
        PRIMARY KEY (period_key, window_start_ms, vmid)
    ) WITHOUT ROWID;
    CREATE TABLE discarded (
        reason TEXT    PRIMARY KEY,
        count  INTEGER NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    );",
    // 2: the enforcer's state
    "CREATE TABLE enforcement (
        vmid                 INTEGER PRIMARY KEY,
        applied              TEXT    NOT NULL,
        rate_mb              DOUBLE PRECISION,
        stage                TEXT    NOT NULL,
        since_ms             INTEGER NOT NULL,
        was_running          INTEGER,
        shutdown_upid        TEXT,
        shutdown_node        TEXT,
        shutdown_deadline_ms INTEGER
    );
    CREATE TABLE enforcement_reason (
        vmid          INTEGER NOT NULL REFERENCES enforcement (vmid),
        rule_name     TEXT    NOT NULL,
        period_end_ms INTEGER NOT NULL,
        PRIMARY KEY (vmid, rule_name)
    ) WITHOUT ROWID;
    CREATE TABLE enforcement_nic (
        vmid      INTEGER NOT NULL REFERENCES enforcement (vmid),
        nic       TEXT    NOT NULL,
        nic_key   TEXT    NOT NULL CHECK (nic_key IN ('rate', 'link_down')),
        original  TEXT,
        written   INTEGER NOT NULL CHECK (written IN (0, 1)),
        set_value TEXT,
        CHECK (written = 1 OR set_value IS NULL),
        PRIMARY KEY (vmid, nic, nic_key)
    ) WITHOUT ROWID;
    CREATE TABLE enforcement_release (
        id        INTEGER PRIMARY KEY,
        vmid      INTEGER NOT NULL,
        rule_name TEXT,
        until_ms  INTEGER NOT NULL,
        at_ms     INTEGER NOT NULL
    );
    CREATE INDEX enforcement_release_until ON enforcement_release (until_ms);
    CREATE TABLE action_log (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        vmid        INTEGER NOT NULL,
        rule_name   TEXT,
        action      TEXT    NOT NULL,
        used_bytes  INTEGER,
        limit_bytes INTEGER,
        result      TEXT    NOT NULL,
        detail      TEXT    NOT NULL,
        actor       TEXT    NOT NULL
    );
    CREATE INDEX action_log_at ON action_log (at_ms, id);
    CREATE INDEX action_log_vmid_at ON action_log (vmid, at_ms, id);",
    // 3: open period windows in the guest row
    "ALTER TABLE guests ADD COLUMN open_windows BLOB;",
];

/// The schema version this build reads and writes.
pub(crate) const VERSION: u32 = MIGRATIONS.len() as u32;

/// The database's schema version (0 for a new, empty database).
pub(crate) fn version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("PRAGMA user_version is {v}")))
}

/// Brings the database to [`VERSION`]; returns the versions it applied (empty if it was
/// current). Refuses a newer database before touching it.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    migrate_to(conn, VERSION)
}

/// Brings the database to `target` (at most [`VERSION`]); tests use it to build a database
/// as an older release left it.
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<Vec<u32>, StoreError> {
    debug_assert!(target <= VERSION);
    let found = version(conn)?;
    if found > VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: VERSION,
        });
    }
    let mut applied = Vec::new();
    let steps = MIGRATIONS.iter().enumerate().take(target as usize);
    for (i, sql) in steps.skip(found as usize) {
        let target = i as u32 + 1;
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            // IMMEDIATE: two processes starting at once serialise here; the loser then sees
            // the new version below and skips the step.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now >= i64::from(target) {
                return Ok(());
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", target)?;
            tx.commit()
        };
        step(conn).map_err(|source| StoreError::Migrate {
            version: target,
            source: source.into(),
        })?;
        tracing::info!(version = target, "database schema migrated");
        applied.push(target);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (1..=VERSION).collect::<Vec<_>>()
        );
        assert_eq!(version(&conn).unwrap(), VERSION);
        // A second run applies nothing (running migration 1 again would fail: the tables exist).
        assert_eq!(migrate(&mut conn).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn refuses_a_newer_database_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let e = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(e, StoreError::NewerSchema { found, supported } if found == VERSION + 1 && supported == VERSION),
            "{e}"
        );
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_failed_migration_keeps_the_old_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE meta (x INTEGER)").unwrap();
        let e = migrate(&mut conn).unwrap_err();
        assert!(matches!(e, StoreError::Migrate { version: 1, .. }), "{e}");
        assert_eq!(version(&conn).unwrap(), 0);
        let hourly: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'hourly'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hourly, 0, "the half-applied step was rolled back");
    }

    #[test]
    fn a_failed_later_migration_keeps_the_earlier_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate_to(&mut conn, 1).unwrap(), vec![1]);
        assert_eq!(migrate_to(&mut conn, 1).unwrap(), Vec::<u32>::new());
        conn.execute_batch("CREATE TABLE action_log (x INTEGER)")
            .unwrap();
        let e = migrate(&mut conn).unwrap_err();
        assert!(matches!(e, StoreError::Migrate { version: 2, .. }), "{e}");
        assert_eq!(version(&conn).unwrap(), 1);
        let enforcement: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'enforcement'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(enforcement, 0, "the half-applied step was rolled back");
        conn.execute_batch("DROP TABLE action_log").unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), vec![2, 3]);
    }
}
