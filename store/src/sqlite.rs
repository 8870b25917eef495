//! The SQLite store: one file; the exporter writes accounting, the enforcer writes its own
//! records (`enforcement`, `action_log`… see `sqlite/enforcement.rs`), readers (export tool,
//! reports) only read.
//!
//! Two writing processes: the exporter ([`SqliteStore::open`]) and the enforcer
//! ([`SqliteStore::open_enforcer`]) each hold a writer connection. They write disjoint tables;
//! SQLite still has one write lock per file, which each takes with `BEGIN IMMEDIATE` and the
//! other waits for (busy timeout). Every transaction is short (one cycle, one guest record,
//! one log line), so neither waits long. The enforcer's connection refuses accounting writes,
//! so the hour-row read-modify-write below only ever runs in the exporter.
//!
//! Why these settings:
//! - **WAL** journal: readers read a snapshot and never block the writer, the writer never
//!   blocks readers. With **`synchronous=NORMAL`** a commit is not fsynced until
//!   the next checkpoint: a power cut may lose the last cycles but never corrupts, and the
//!   persisted raw counters roll back with the bytes they imply, so the next poll's delta
//!   covers the gap.
//! - **busy timeout 5 s**: a checkpoint or a migration by another process is waited for, not
//!   reported as an error.
//! - **file mode 0600**, set when the file is created (before SQLite opens it; SQLite gives
//!   `-wal` and `-shm` the database file's mode): guest names and traffic are not for every
//!   local user.
//! - **`BEGIN IMMEDIATE`** per cycle: the write lock is taken up front, so a cycle never fails
//!   halfway on a lock upgrade.
//!
//! Size (target < 150 KB per guest per month at 60 s polls, measured by
//! `benches/store_growth.rs`): 5-minute detail is stored as one `hourly` row per guest-hour
//! (totals + a varint blob, see `store::detail`), not a row per bucket. A commit adds the
//! cycle's buckets to the guest's current-hour row by read-modify-write inside its
//! transaction. Measured against keeping each guest's current-hour row cached in memory (no
//! read before the write): 92.8 vs 92.1 ms median per cycle at 10,000 guests, because the
//! read loads the very B-tree page the write needs next. One percent did not pay for the
//! invalidation logic (another writer, a rolled-back commit, retention), so there is no cache
//! and no state in `SqliteStore` besides the connection.
//!
//! Period accumulators: the window a guest's traffic currently goes to, per period key, is
//! kept in the guest's own row (`guests.open_windows`, see `store::open_windows`), which the
//! commit rewrites anyway; only windows that close become `period_usage` rows. Measured with
//! `valgrind --tool=callgrind` on the exporter benchmark (10,000 guests, 5 periods): a
//! commit's instructions halved against one `period_usage` upsert per guest and period.
//!
//! Retention clears the detail blob of old hours and keeps the row with its hour totals: an
//! hour row without detail costs ~25 bytes, so hour totals for years stay cheap and long-range
//! charts and reports keep working; period accumulators and lifetime totals are separate rows
//! and are never touched. A watermark (`meta.detail_dropped_before_ms`) makes each run scan
//! only the hours that newly fell out of the window, and a late write to an hour already past
//! it keeps only the totals.
//!
//! PostgreSQL/MariaDB would differ in: the upserts (`ON CONFLICT … DO UPDATE … excluded.x` is
//! PostgreSQL syntax too; MariaDB writes `ON DUPLICATE KEY UPDATE x = VALUES(x)`), `?N`
//! placeholders (`$N` in PostgreSQL), `BYTEA` for the blob, real booleans, the schema version
//! table instead of `user_version`, `SELECT … FOR UPDATE` or the upsert's own arithmetic for
//! the hour row (PostgreSQL's default READ COMMITTED would otherwise allow a lost update with
//! two writers), and no WAL/busy pragmas (server-side MVCC instead).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::detail::{HourDetail, PER_HOUR};
use super::open_windows::{self, OpenWindows, TooBig};
use super::{
    hour_start, schema, CycleWrite, GuestInfo, GuestTotals, RawCounters, Store, StoreError,
    StoredState, BUCKET_MS, HOUR_MS,
};
use pve_traffic_core::guest::GuestType;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const DAY_MS: i64 = 24 * HOUR_MS;

mod enforcement;
mod history;

/// A [`Store`] and an [`EnforcementStore`](super::EnforcementStore) in an SQLite database.
pub struct SqliteStore {
    conn: Connection,
    /// Set (once, at open) for the enforcer's connection ([`SqliteStore::open_enforcer`]):
    /// accounting writes (`commit_cycle`, `apply_retention`) are refused. A read-only
    /// connection needs no flag: SQLite itself refuses its writes.
    enforcer: bool,
}

/// One `hourly` row: totals and, unless retention dropped it, the 5-minute detail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct HourRow {
    rx: u64,
    tx: u64,
    detail: Option<HourDetail>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` for writing: creates the parent
    /// directory (mode 0700) and the file (mode 0600), sets WAL, `synchronous=NORMAL`, a 5 s
    /// busy timeout and foreign keys, and applies pending schema migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        create_private(path).map_err(|e| open_err(e.into()))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(e.into()))?;
        let mut conn = configure(conn, true).map_err(|e| open_err(e.into()))?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn,
            enforcer: false,
        })
    }

    /// Opens the database as the enforcer does: like [`SqliteStore::open`] (creating and
    /// migrating it if the enforcer starts first), for writing the enforcer's own records
    /// ([`EnforcementStore`](super::EnforcementStore)) and reading accounting. Its accounting
    /// writes ([`Store::commit_cycle`], [`Store::apply_retention`]) are refused with
    /// [`StoreError::InvalidWrite`] before touching the database: those belong to the
    /// exporter alone. Both processes may have the file open at once (WAL; each write waits
    /// up to the 5 s busy timeout for the other's transaction).
    pub fn open_enforcer(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut s = SqliteStore::open(path)?;
        s.enforcer = true;
        Ok(s)
    }

    /// Opens an existing database for reading only (export tool, reports). Never migrates,
    /// never blocks the writer (WAL snapshot reads); writes through it fail. A database at
    /// another schema version is refused ([`StoreError::OlderSchema`],
    /// [`StoreError::NewerSchema`]).
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        // SQLite's own message for a missing file is "unable to open database file".
        std::fs::metadata(path).map_err(|e| open_err(e.into()))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(e.into()))?;
        let conn = configure(conn, false).map_err(|e| open_err(e.into()))?;
        let found = schema::version(&conn)?;
        let supported = schema::VERSION;
        if found > supported {
            return Err(StoreError::NewerSchema { found, supported });
        }
        if found < supported {
            return Err(StoreError::OlderSchema { found, supported });
        }
        Ok(SqliteStore {
            conn,
            enforcer: false,
        })
    }

    /// A private database in memory, migrated; for tests.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let mut conn = configure(Connection::open_in_memory()?, true)?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn,
            enforcer: false,
        })
    }

    /// Refuses accounting writes through the enforcer's connection.
    fn check_accounting_writer(&self, what: &str) -> Result<(), StoreError> {
        if !self.enforcer {
            return Ok(());
        }
        Err(StoreError::InvalidWrite(format!(
            "{what} through the enforcer's connection; only the exporter writes accounting"
        )))
    }
}

/// Creates `path`'s directory (0700) and the file itself (0600) if missing, so the database is
/// never readable by others, not even for a moment. An existing file keeps its mode (an
/// operator may have widened it for a reader group on purpose); a world-readable one is
/// Rows per multi-row guest upsert (17 parameters each).
const GUEST_BATCH: usize = 50;

/// The upsert of `rows` guest rows (cached per row count).
fn guest_upsert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; 17].join(", "));
    let values = vec![row.as_str(); rows].join(", ");
    format!(
        "INSERT INTO guests (vmid, guest_type, name, node, tags, template, running,
             rx_total, tx_total, resets,
             raw_node, raw_running, raw_uptime, raw_netin, raw_netout, raw_at_ms, open_windows)
         VALUES {values}
         ON CONFLICT (vmid) DO UPDATE SET
             guest_type = excluded.guest_type, name = excluded.name,
             node = excluded.node, tags = excluded.tags,
             template = excluded.template, running = excluded.running,
             rx_total = guests.rx_total + excluded.rx_total,
             tx_total = guests.tx_total + excluded.tx_total,
             resets = guests.resets + excluded.resets,
             raw_node = excluded.raw_node, raw_running = excluded.raw_running,
             raw_uptime = excluded.raw_uptime, raw_netin = excluded.raw_netin,
             raw_netout = excluded.raw_netout, raw_at_ms = excluded.raw_at_ms,
             open_windows = excluded.open_windows"
    )
}

/// Rows per multi-row upsert of closed windows (5 parameters each, well under SQLite's limit).
const PERIOD_BATCH: usize = 200;

/// The upsert adding `rows` closed-window rows to `period_usage` (cached per row count).
fn period_upsert_sql(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?)"; rows].join(", ");
    format!(
        "INSERT INTO period_usage (period_key, window_start_ms, vmid, rx, tx) VALUES {values}
         ON CONFLICT (period_key, window_start_ms, vmid) DO UPDATE SET
             rx = period_usage.rx + excluded.rx, tx = period_usage.tx + excluded.tx"
    )
}

/// logged.
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let file = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "database file is readable by all users; consider chmod 600");
        }
    }
    drop(file);
    Ok(())
}

/// SQLite's errors as the store's: what the daemons and tools can act on (locked, read-only,
/// corrupt) gets its own variant; the rest is [`StoreError::Backend`]. Callers never see a
/// `rusqlite` type (the impl is this crate's plumbing, hidden from its documentation).
#[doc(hidden)]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy { source: e.into() },
            Some(C::ReadOnly) => StoreError::ReadOnly { source: e.into() },
            Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Backend { source: e.into() },
        }
    }
}

fn configure(conn: Connection, write: bool) -> rusqlite::Result<Connection> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if write {
        // Persistent in the file: readers inherit WAL. In-memory databases answer "memory".
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        debug_assert!(mode == "wal" || mode == "memory", "journal_mode {mode}");
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    } else {
        conn.pragma_update(None, "query_only", true)?;
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// A byte count back from the database; negative means the file is damaged.
fn stored_u64(v: i64, what: impl FnOnce() -> String) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{} is {v}", what())))
}

/// A byte count into the database. `CycleWrite::validate` and the checked additions keep
/// every value at most `i64::MAX`.
fn sql(v: u64) -> i64 {
    debug_assert!(v <= super::MAX_STORED);
    v as i64
}

fn detail_err(vmid: u32, hour_ms: i64, why: &str) -> StoreError {
    StoreError::Corrupt(format!("hourly detail of vmid {vmid} at {hour_ms}: {why}"))
}

/// Decodes a stored hour row and checks its detail against its totals.
fn hour_row(
    vmid: u32,
    hour_ms: i64,
    rx: i64,
    tx: i64,
    blob: Option<Vec<u8>>,
) -> Result<HourRow, StoreError> {
    let rx = stored_u64(rx, || format!("hourly.rx of vmid {vmid} at {hour_ms}"))?;
    let tx = stored_u64(tx, || format!("hourly.tx of vmid {vmid} at {hour_ms}"))?;
    let detail = match blob {
        None => None,
        Some(b) => {
            let d =
                HourDetail::decode(&b).ok_or_else(|| detail_err(vmid, hour_ms, "undecodable"))?;
            if d.totals() != (u128::from(rx), u128::from(tx)) {
                return Err(detail_err(
                    vmid,
                    hour_ms,
                    "does not add up to the hour totals",
                ));
            }
            Some(d)
        }
    };
    Ok(HourRow { rx, tx, detail })
}

fn too_big(vmid: u32, what: &str) -> StoreError {
    StoreError::InvalidWrite(format!(
        "vmid {vmid}: {what} would exceed {}",
        super::MAX_STORED
    ))
}

impl Store for SqliteStore {
    fn load_state(&self) -> Result<StoredState, StoreError> {
        let mut state = StoredState::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT vmid, guest_type, name, node, tags, template, running, rx_total, tx_total,
                    resets, raw_node, raw_running, raw_uptime, raw_netin, raw_netout, raw_at_ms
             FROM guests",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let vmid: u32 = r.get(0)?;
            let ty: String = r.get(1)?;
            let guest_type = GuestType::parse(&ty).map_err(|_| {
                StoreError::Corrupt(format!("guests.guest_type of vmid {vmid} is {ty:?}"))
            })?;
            let tags: String = r.get(4)?;
            let tags = serde_json::from_str(&tags)
                .map_err(|e| StoreError::Corrupt(format!("guests.tags of vmid {vmid}: {e}")))?;
            let info = GuestInfo {
                vmid,
                guest_type,
                name: r.get(2)?,
                node: r.get(3)?,
                tags,
                template: r.get(5)?,
                running: r.get(6)?,
            };
            let col = |i: usize, name: &str| -> Result<u64, StoreError> {
                stored_u64(r.get(i)?, || format!("guests.{name} of vmid {vmid}"))
            };
            let totals = GuestTotals {
                rx: col(7, "rx_total")?,
                tx: col(8, "tx_total")?,
                resets: col(9, "resets")?,
            };
            let counters = match r.get::<_, Option<String>>(10)? {
                None => None,
                Some(node) => Some(RawCounters {
                    node,
                    running: r.get(11)?,
                    uptime: col(12, "raw_uptime")?,
                    netin: col(13, "raw_netin")?,
                    netout: col(14, "raw_netout")?,
                    at_ms: r.get(15)?,
                }),
            };
            state.guests.insert(vmid, (info, counters, totals));
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT reason, count FROM discarded")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let reason: String = r.get(0)?;
            let n = stored_u64(r.get(1)?, || format!("discarded.count of {reason:?}"))?;
            state.discarded.insert(reason, n);
        }
        state.last_cycle_ms = self.last_cycle_ms()?;
        Ok(state)
    }

    fn commit_cycle(&mut self, cycle: &CycleWrite) -> Result<(), StoreError> {
        self.check_accounting_writer("commit_cycle")?;
        cycle.validate()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let detail_from: i64 = tx
            .prepare_cached("SELECT value FROM meta WHERE key = 'detail_dropped_before_ms'")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(i64::MIN);
        {
            // Each guest's open windows take this cycle's period parts; what closes goes to
            // `period_usage` below (see `store::open_windows`).
            let mut open = all_open_windows(&tx)?;
            let mut closed: Vec<(String, i64, u32, i64, i64)> = Vec::new();
            let blobs: Vec<Option<Vec<u8>>> = cycle
                .guests
                .iter()
                .map(|g| {
                    let vmid = g.info.vmid;
                    let w = open.remove(&vmid).unwrap_or_default();
                    let w = advance_windows(vmid, w, &g.periods, &mut closed)?;
                    Ok((!w.is_empty()).then(|| w.encode()))
                })
                .collect::<Result<_, StoreError>>()?;
            // One guest row per guest, in multi-row batches, all before the hourly and period
            // rows that reference them.
            let tags: Vec<String> = cycle
                .guests
                .iter()
                .map(|g| serde_json::to_string(&g.info.tags).expect("strings serialise"))
                .collect();
            let numbers: Vec<[i64; 7]> = cycle
                .guests
                .iter()
                .map(|g| {
                    let c = &g.counters;
                    [
                        sql(g.rx),
                        sql(g.tx),
                        i64::from(g.reset),
                        sql(c.uptime),
                        sql(c.netin),
                        sql(c.netout),
                        c.at_ms,
                    ]
                })
                .collect();
            let types: Vec<&'static str> = cycle
                .guests
                .iter()
                .map(|g| g.info.guest_type.as_str())
                .collect();
            let all = cycle.guests.iter().zip(&tags).zip(&numbers).zip(&types);
            let all = all.zip(&blobs);
            let rows: Vec<_> = all.map(|((((g, t), n), ty), b)| (g, t, n, ty, b)).collect();
            for chunk in rows.chunks(GUEST_BATCH) {
                let mut stmt = tx.prepare_cached(&guest_upsert_sql(chunk.len()))?;
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 17);
                for (g, tags, n, ty, blob) in chunk {
                    let (i, c) = (&g.info, &g.counters);
                    values.extend_from_slice(&[
                        &i.vmid as &dyn rusqlite::ToSql,
                        *ty,
                        &i.name,
                        &i.node,
                        *tags,
                        &i.template,
                        &i.running,
                        &n[0],
                        &n[1],
                        &n[2],
                        &c.node,
                        &c.running,
                        &n[3],
                        &n[4],
                        &n[5],
                        &n[6],
                        *blob,
                    ]);
                }
                stmt.execute(values.as_slice())?;
            }
            let mut read_hour = tx.prepare_cached(
                "SELECT rx, tx, detail FROM hourly WHERE vmid = ?1 AND hour_ms = ?2",
            )?;
            let mut upsert_hour = tx.prepare_cached(
                "INSERT INTO hourly (vmid, hour_ms, rx, tx, detail) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (vmid, hour_ms) DO UPDATE SET
                     rx = excluded.rx, tx = excluded.tx, detail = excluded.detail",
            )?;
            for g in &cycle.guests {
                let i = &g.info;

                // This cycle's buckets, grouped by hour.
                let mut hours: BTreeMap<i64, HourDetail> = BTreeMap::new();
                for &(start, rx, tx) in g.buckets.iter().filter(|b| b.1 != 0 || b.2 != 0) {
                    let h = hour_start(start);
                    let d = hours.entry(h).or_default();
                    let k = ((start - h) / BUCKET_MS) as usize;
                    // validate() bounds each part and their sum by i64::MAX.
                    d.rx[k] += rx;
                    d.tx[k] += tx;
                }
                for (h, add) in hours {
                    let old = read_hour
                        .query_row(params![i.vmid, h], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })
                        .optional()?
                        .map(|(rx, tx, blob)| hour_row(i.vmid, h, rx, tx, blob))
                        .transpose()?;
                    let new = merge(i.vmid, h, old, &add, h >= detail_from)?;
                    upsert_hour.execute(params![
                        i.vmid,
                        h,
                        sql(new.rx),
                        sql(new.tx),
                        new.detail.map(|d| d.encode()),
                    ])?;
                }
            }

            for chunk in closed.chunks(PERIOD_BATCH) {
                let mut stmt = tx.prepare_cached(&period_upsert_sql(chunk.len()))?;
                let values: Vec<&dyn rusqlite::ToSql> = chunk
                    .iter()
                    .flat_map(|(key, start, vmid, rx, tx)| {
                        [key as &dyn rusqlite::ToSql, start, vmid, rx, tx]
                    })
                    .collect();
                stmt.execute(values.as_slice())?;
            }

            let mut add_discarded = tx.prepare_cached(
                "INSERT INTO discarded (reason, count) VALUES (?1, ?2)
                 ON CONFLICT (reason) DO UPDATE SET count = discarded.count + excluded.count",
            )?;
            for (reason, n) in cycle.discarded.iter().filter(|d| d.1 != 0) {
                add_discarded.execute(params![reason, sql(*n)])?;
            }
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('last_cycle_ms', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([cycle.at_ms])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn period_usage(
        &self,
        period_key: &str,
        window_start_ms: i64,
    ) -> Result<HashMap<u32, (u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT vmid, rx, tx FROM period_usage WHERE period_key = ?1 AND window_start_ms = ?2",
        )?;
        let mut rows = stmt.query(params![period_key, window_start_ms])?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next()? {
            let vmid: u32 = r.get(0)?;
            let what =
                |c: &str| format!("period_usage.{c} of {period_key:?}/{window_start_ms}/{vmid}");
            let rx = stored_u64(r.get(1)?, || what("rx"))?;
            let tx = stored_u64(r.get(2)?, || what("tx"))?;
            out.insert(vmid, (rx, tx));
        }
        // The part still open in the guests' rows (see `store::open_windows`), looked up in
        // place: this scans every guest.
        let mut stmt = self.conn.prepare_cached(
            "SELECT vmid, open_windows FROM guests WHERE open_windows IS NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let vmid: u32 = r.get(0)?;
            let open = r.get_ref(1)?.as_blob().map_err(|_| ());
            let open = open.and_then(|b| open_windows::lookup(b, period_key, window_start_ms));
            let open = open.map_err(|()| undecodable_windows(vmid))?;
            if let Some((rx, tx)) = open {
                let e = out.entry(vmid).or_insert((0, 0));
                let sum = |a: u64, b: u64| {
                    a.checked_add(b)
                        .filter(|&v| v <= super::MAX_STORED)
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                            "usage of vmid {vmid} in {period_key:?}/{window_start_ms} overflows"
                        ))
                        })
                };
                *e = (sum(e.0, rx)?, sum(e.1, tx)?);
            }
        }
        Ok(out)
    }

    fn series(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hour_ms, rx, tx, detail FROM hourly
             WHERE vmid = ?1 AND hour_ms >= ?2 AND hour_ms < ?3 AND detail IS NOT NULL
             ORDER BY hour_ms",
        )?;
        let mut rows = stmt.query(params![vmid, hour_start(from_ms), to_ms])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let h: i64 = r.get(0)?;
            let row = hour_row(vmid, h, r.get(1)?, r.get(2)?, r.get(3)?)?;
            let d = row.detail.expect("selected with detail IS NOT NULL");
            out.extend(d.buckets_in(h, from_ms, to_ms));
        }
        Ok(out)
    }

    fn hourly(
        &self,
        vmid: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hour_ms, rx, tx FROM hourly
             WHERE vmid = ?1 AND hour_ms >= ?2 AND hour_ms < ?3 ORDER BY hour_ms",
        )?;
        let mut rows = stmt.query(params![vmid, from_ms, to_ms])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let h: i64 = r.get(0)?;
            let rx = stored_u64(r.get(1)?, || format!("hourly.rx of vmid {vmid} at {h}"))?;
            let tx = stored_u64(r.get(2)?, || format!("hourly.tx of vmid {vmid} at {h}"))?;
            if rx != 0 || tx != 0 {
                out.push((h, rx, tx));
            }
        }
        Ok(out)
    }

    fn apply_retention(&mut self, now_ms: i64, keep_days: u32) -> Result<u64, StoreError> {
        self.check_accounting_writer("apply_retention")?;
        let cutoff = now_ms.saturating_sub(i64::from(keep_days).saturating_mul(DAY_MS));
        // Hours that ended at or before the cutoff: exactly those starting before its hour.
        let before = hour_start(cutoff);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'detail_dropped_before_ms'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(i64::MIN);
        if before <= from {
            return Ok(0);
        }
        // `vmid IN (…)` lets SQLite walk the primary key per guest, scanning only the hours
        // between the previous watermark and the new one.
        let dropped = tx.execute(
            "UPDATE hourly SET detail = NULL
             WHERE vmid IN (SELECT vmid FROM guests)
               AND hour_ms >= ?1 AND hour_ms < ?2 AND detail IS NOT NULL",
            params![from, before],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('detail_dropped_before_ms', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [before],
        )?;
        tx.commit()?;
        Ok(dropped as u64)
    }

    fn last_cycle_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = 'last_cycle_ms'")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }
}

/// Every guest's open windows (`store::open_windows`), read in one scan of `guests`.
fn all_open_windows(conn: &Connection) -> Result<HashMap<u32, OpenWindows>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT vmid, open_windows FROM guests WHERE open_windows IS NOT NULL")?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let vmid: u32 = r.get(0)?;
        let w = r.get_ref(1)?.as_blob().ok().and_then(OpenWindows::decode);
        let w = w.ok_or_else(|| undecodable_windows(vmid))?;
        out.insert(vmid, w);
    }
    Ok(out)
}

fn undecodable_windows(vmid: u32) -> StoreError {
    StoreError::Corrupt(format!("guests.open_windows of vmid {vmid} is undecodable"))
}

/// Adds one guest's period parts of a cycle to its open windows; windows that close (and late
/// parts of older windows) are pushed onto `closed` as `period_usage` rows.
fn advance_windows(
    vmid: u32,
    mut open: OpenWindows,
    periods: &[(Arc<str>, i64, u64, u64)],
    closed: &mut Vec<(String, i64, u32, i64, i64)>,
) -> Result<OpenWindows, StoreError> {
    // Per key in ascending window order, a repeated window summed first (validate() bounds
    // the sums).
    let mut parts: BTreeMap<(&str, i64), (u64, u64)> = BTreeMap::new();
    for (key, start, rx, tx) in periods.iter().filter(|p| p.2 != 0 || p.3 != 0) {
        let e = parts.entry((key, *start)).or_default();
        e.0 += rx;
        e.1 += tx;
    }
    let mut out = Vec::new();
    for ((key, start), (rx, tx)) in parts {
        open.add(key, start, rx, tx, &mut out)
            .map_err(|TooBig| too_big(vmid, &format!("period {key} at {start}")))?;
    }
    closed.extend(
        out.into_iter()
            .map(|(key, start, rx, tx)| (key, start, vmid, sql(rx), sql(tx))),
    );
    Ok(open)
}

/// `old + add` for one hour row. Detail is kept only if `keep_detail` (the hour is inside the
/// retention window) and the old row still had it.
fn merge(
    vmid: u32,
    h: i64,
    old: Option<HourRow>,
    add: &HourDetail,
    keep_detail: bool,
) -> Result<HourRow, StoreError> {
    let (add_rx, add_tx) = add.totals();
    let old = old.unwrap_or(HourRow {
        rx: 0,
        tx: 0,
        detail: keep_detail.then(HourDetail::default),
    });
    let sum = |a: u64, b: u128, what: &str| {
        u64::try_from(u128::from(a) + b)
            .ok()
            .filter(|&v| v <= super::MAX_STORED)
            .ok_or_else(|| too_big(vmid, what))
    };
    let detail = match old.detail {
        Some(mut d) if keep_detail => {
            for k in 0..PER_HOUR {
                // Each is bounded by its hour total, checked just below.
                d.rx[k] = d.rx[k].saturating_add(add.rx[k]);
                d.tx[k] = d.tx[k].saturating_add(add.tx[k]);
            }
            Some(d)
        }
        _ => None,
    };
    Ok(HourRow {
        rx: sum(old.rx, add_rx, &format!("hour {h} rx"))?,
        tx: sum(old.tx, add_tx, &format!("hour {h} tx"))?,
        detail,
    })
}

/// SQLite's plan for `q`, its steps joined by "; " (tests check that queries seek by key).
#[cfg(test)]
fn query_plan(conn: &Connection, q: &str) -> String {
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {q}")).unwrap();
    let rows = st.query_map([], |r| r.get::<_, String>(3)).unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::super::enforcement::{EnforcementStore, Release};
    use super::super::testutil::{self, *};
    use super::*;

    fn mem() -> SqliteStore {
        SqliteStore::open_in_memory().unwrap()
    }

    #[test]
    fn conformance() {
        testutil::conformance(mem);
    }

    #[test]
    fn enforcement_conformance() {
        testutil::enforcement_conformance(mem);
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn enforcement_rows_survive_reopen_and_readers_see_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut s = SqliteStore::open_enforcer(&path).unwrap();
        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.save_enforcement(&enforcement_minimal(101)).unwrap();
        let rel = Release {
            vmid: 100,
            rule: None,
            until_ms: T0 + DAY,
            at_ms: T0,
        };
        s.add_release(&rel).unwrap();
        s.log_action(&action(T0, 100, 1)).unwrap();
        drop(s);

        for s in [
            SqliteStore::open_enforcer(&path).unwrap(),
            SqliteStore::open_read_only(&path).unwrap(),
        ] {
            let loaded = s.load_enforcements().unwrap();
            assert_eq!(
                loaded,
                BTreeMap::from([
                    (100, enforcement_full(100)),
                    (101, enforcement_minimal(101))
                ])
            );
            assert_eq!(s.releases(T0).unwrap(), vec![rel.clone()]);
            assert_eq!(
                s.action_log(None, i64::MIN, 10).unwrap(),
                vec![action(T0, 100, 1)]
            );
        }
        // A reader cannot write them.
        let mut r = SqliteStore::open_read_only(&path).unwrap();
        let e = r.save_enforcement(&enforcement_minimal(1)).unwrap_err();
        assert!(matches!(e, StoreError::ReadOnly { .. }), "{e}");
    }

    #[test]
    fn sqlite_errors_become_variants_the_caller_can_act_on() {
        let sqlite = |code| {
            StoreError::from(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        let e = sqlite(rusqlite::ffi::SQLITE_BUSY);
        assert!(matches!(e, StoreError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("nothing was changed, retry"), "{e}");
        let e = sqlite(rusqlite::ffi::SQLITE_LOCKED);
        assert!(matches!(e, StoreError::Busy { .. }), "{e}");
        let e = sqlite(rusqlite::ffi::SQLITE_CORRUPT);
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        assert!(e.to_string().contains("restore a backup"), "{e}");
        let e = sqlite(rusqlite::ffi::SQLITE_FULL);
        assert!(matches!(e, StoreError::Backend { .. }), "{e}");
        assert!(e.to_string().contains("check the disk"), "{e}");
    }

    #[test]
    fn deleting_removes_every_row_of_the_guest() {
        let mut s = mem();
        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.save_enforcement(&enforcement_full(101)).unwrap();
        assert_eq!(count(&s.conn, "enforcement_nic"), 12);
        s.delete_enforcement(100).unwrap();
        assert_eq!(count(&s.conn, "enforcement"), 1);
        assert_eq!(count(&s.conn, "enforcement_reason"), 2);
        assert_eq!(count(&s.conn, "enforcement_nic"), 6);
    }

    #[test]
    fn migrates_a_version_1_database_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        // The database as the first release left it: schema 1, with accounting data (written
        // as that release wrote it: the day's usage as a `period_usage` row).
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            assert_eq!(schema::migrate_to(&mut conn, 1).unwrap(), vec![1]);
            let mut detail = HourDetail::default();
            (detail.rx[0], detail.tx[0]) = (10, 3);
            conn.execute(
                "INSERT INTO guests VALUES (100, 'qemu', 'g', 'pve1', '[]', 0, 1, 10, 3, 0,
                                            'pve1', 1, 1000, 10, 3, ?1)",
                [T0],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO hourly VALUES (100, ?1, 10, 3, ?2)",
                params![T0, detail.encode()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO period_usage VALUES ('day', ?1, 100, 10, 3)",
                [T0],
            )
            .unwrap();
        }
        let table = |conn: &Connection, name: &str| -> bool {
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
                == 1
        };
        // A reader does not migrate; it says what to do.
        let e = SqliteStore::open_read_only(&path).err().unwrap();
        assert!(
            matches!(e, StoreError::OlderSchema { found: 1, supported } if supported == schema::VERSION),
            "{e}"
        );
        // The enforcer (a writer) migrates on open.
        let mut s = SqliteStore::open_enforcer(&path).unwrap();
        assert_eq!(schema::version(&s.conn).unwrap(), schema::VERSION);
        for t in [
            "enforcement",
            "enforcement_reason",
            "enforcement_nic",
            "enforcement_release",
            "action_log",
        ] {
            assert!(table(&s.conn, t), "{t} missing after migration");
        }
        assert_eq!(s.load_state().unwrap().guests[&100].2.rx, 10);
        assert_eq!(s.series(100, T0, T0 + HOUR_MS).unwrap(), vec![(T0, 10, 3)]);
        assert_eq!(s.period_usage("day", T0).unwrap()[&100], (10, 3));
        s.save_enforcement(&enforcement_full(100)).unwrap();
        drop(s);
        // The old rows and the windows the new schema keeps open add up.
        let mut w = SqliteStore::open(&path).unwrap();
        w.commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 5, 1)]))
            .unwrap();
        assert_eq!(w.period_usage("day", T0).unwrap()[&100], (15, 4));
        assert_eq!(w.period_usage("hour", T0).unwrap()[&100], (5, 1));
        drop(w);
        let r = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(r.load_enforcements().unwrap()[&100], enforcement_full(100));
    }

    #[test]
    fn exporter_and_enforcer_write_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut exporter = SqliteStore::open(&path).unwrap();
        let mut enforcer = SqliteStore::open_enforcer(&path).unwrap();
        let mut expected = BTreeMap::new();
        for m in 0..20i64 {
            let t = T0 + m * 60_000;
            exporter
                .commit_cycle(&cycle(t, vec![gw(100, t, 10, 1), gw(101, t, 1, 0)]))
                .unwrap();
            let mut e = enforcement_full(100 + (m % 3) as u32);
            e.since_ms = t;
            enforcer.save_enforcement(&e).unwrap();
            expected.insert(e.vmid, e);
            enforcer.log_action(&action(t, 100, m as u32)).unwrap();
            if m == 10 {
                enforcer.delete_enforcement(101).unwrap();
                expected.remove(&101);
            }
        }
        // Neither lost the other's writes; each sees the other's.
        assert_eq!(enforcer.load_enforcements().unwrap(), expected);
        assert_eq!(exporter.load_enforcements().unwrap(), expected);
        assert_eq!(
            enforcer.action_log(Some(100), i64::MIN, 100).unwrap().len(),
            20
        );
        let st = enforcer.load_state().unwrap();
        assert_eq!((st.guests[&100].2.rx, st.guests[&101].2.rx), (200, 20));
        assert_eq!(enforcer.period_usage("day", T0).unwrap()[&100], (200, 20));
        assert_eq!(enforcer.last_cycle_ms().unwrap(), Some(T0 + 19 * 60_000));
    }

    #[test]
    fn the_enforcers_connection_never_writes_accounting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut exporter = SqliteStore::open(&path).unwrap();
        exporter
            .commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        let mut enforcer = SqliteStore::open_enforcer(&path).unwrap();
        let e = enforcer
            .commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 5, 5)]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to store: commit_cycle through the enforcer's connection; \
             only the exporter writes accounting"
        );
        let e = enforcer.apply_retention(T0 + 30 * DAY, 1).unwrap_err();
        assert!(matches!(e, StoreError::InvalidWrite(_)), "{e}");

        // Its own writes leave every accounting table as it was.
        let snapshot = |c: &Connection| -> Vec<i64> {
            ["guests", "hourly", "period_usage", "discarded", "meta"]
                .iter()
                .map(|t| count(c, t))
                .collect()
        };
        let before = snapshot(&exporter.conn);
        enforcer.save_enforcement(&enforcement_full(100)).unwrap();
        enforcer.log_action(&action(T0, 100, 0)).unwrap();
        enforcer
            .add_release(&Release {
                vmid: 100,
                rule: None,
                until_ms: T0 + DAY,
                at_ms: T0,
            })
            .unwrap();
        enforcer.delete_enforcement(100).unwrap();
        assert_eq!(snapshot(&exporter.conn), before);
        assert_eq!(
            exporter.series(100, T0, T0 + HOUR_MS).unwrap(),
            vec![(T0, 10, 1)]
        );
        assert_eq!(exporter.last_cycle_ms().unwrap(), Some(T0));
    }

    #[test]
    fn enforcer_writes_wait_for_the_exporters_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let exporter = SqliteStore::open(&path).unwrap();
        let mut enforcer = SqliteStore::open_enforcer(&path).unwrap();
        // The exporter mid-cycle holds the write lock; it commits from another thread while
        // the enforcer's save is waiting (busy timeout), which then succeeds.
        exporter.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let committer = std::thread::spawn(move || {
            started_rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(200));
            exporter.conn.execute_batch("COMMIT").unwrap();
            exporter
        });
        started_tx.send(()).unwrap();
        enforcer.save_enforcement(&enforcement_full(100)).unwrap();
        let exporter = committer.join().unwrap();
        assert_eq!(
            exporter.load_enforcements().unwrap()[&100],
            enforcement_full(100)
        );
    }

    #[test]
    fn corrupt_enforcement_rows_are_reported() {
        let mut s = mem();
        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.conn
            .execute_batch("UPDATE enforcement SET shutdown_node = NULL")
            .unwrap();
        let e = s.load_enforcements().unwrap_err();
        assert!(e.to_string().contains("shutdown_* of vmid 100"), "{e}");

        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.conn
            .execute_batch("UPDATE enforcement SET rate_mb = NULL")
            .unwrap();
        let e = s.load_enforcements().unwrap_err();
        assert!(
            e.to_string()
                .contains("enforcement.applied of vmid 100 is \"rate_limit\""),
            "{e}"
        );

        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.conn
            .execute_batch("UPDATE enforcement SET stage = 'done'")
            .unwrap();
        let e = s.load_enforcements().unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");

        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.log_action(&action(T0, 100, 0)).unwrap();
        s.conn
            .execute_batch("UPDATE action_log SET used_bytes = -1")
            .unwrap();
        let e = s.action_log(None, i64::MIN, 1).unwrap_err();
        assert!(e.to_string().contains("action_log.used_bytes"), "{e}");

        // The database itself refuses a "never written" key with a value.
        let e = s
            .conn
            .execute_batch("UPDATE enforcement_nic SET written = 0 WHERE set_value IS NOT NULL")
            .unwrap_err();
        assert!(e.to_string().contains("CHECK"), "{e}");
    }

    #[test]
    fn a_failed_save_keeps_the_previous_record() {
        let mut s = mem();
        s.save_enforcement(&enforcement_full(100)).unwrap();
        s.conn
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON enforcement_nic
                 BEGIN SELECT RAISE(ABORT, 'boom'); END;",
            )
            .unwrap();
        let mut changed = enforcement_full(100);
        changed.stage = super::super::enforcement::Stage::Intent;
        s.save_enforcement(&changed).unwrap_err();
        assert_eq!(s.load_enforcements().unwrap()[&100], enforcement_full(100));
    }

    #[test]
    fn a_failed_commit_leaves_nothing_behind() {
        let mut s = mem();
        s.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        // A cycle failing inside the transaction, after its hour rows were written.
        s.conn
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON meta BEGIN SELECT RAISE(ABORT, 'boom'); END;
                 DELETE FROM meta;",
            )
            .unwrap();
        s.commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 5, 5)]))
            .unwrap_err();
        s.conn.execute_batch("DROP TRIGGER boom").unwrap();
        s.commit_cycle(&cycle(T0 + 120_000, vec![gw(100, T0 + 120_000, 1, 1)]))
            .unwrap();
        assert_eq!(s.series(100, T0, T0 + HOUR_MS).unwrap(), vec![(T0, 11, 2)]);
        assert_eq!(s.load_state().unwrap().guests[&100].2.rx, 11);
    }

    #[test]
    fn two_writers_interleave_without_losing_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut a = SqliteStore::open(&path).unwrap();
        let mut b = SqliteStore::open(&path).unwrap();
        a.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 0)]))
            .unwrap();
        b.commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 20, 0)]))
            .unwrap();
        a.commit_cycle(&cycle(T0 + 120_000, vec![gw(100, T0 + 120_000, 30, 0)]))
            .unwrap();
        assert_eq!(a.series(100, T0, T0 + HOUR_MS).unwrap(), vec![(T0, 60, 0)]);
        assert_eq!(a.hourly(100, T0, T0 + HOUR_MS).unwrap(), vec![(T0, 60, 0)]);
    }

    #[test]
    fn file_and_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/db.sqlite");
        let mut s = SqliteStore::open(&path).unwrap();
        s.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 0)]))
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("sub/dir/db.sqlite-wal")), 0o600);
        assert_eq!(mode(&dir.path().join("sub/dir/db.sqlite-shm")), 0o600);
        assert_eq!(mode(&dir.path().join("sub/dir")), 0o700);
    }

    #[test]
    fn settings_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let get = |p: &str| -> String {
            s.conn
                .pragma_query_value(None, p, |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(get("journal_mode"), "Text(\"wal\")");
        assert_eq!(get("synchronous"), "Integer(1)"); // NORMAL
        assert_eq!(get("foreign_keys"), "Integer(1)");
        assert_eq!(get("busy_timeout"), "Integer(5000)");
    }

    #[test]
    fn reopening_runs_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut s = SqliteStore::open(&path).unwrap();
        s.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 3)]))
            .unwrap();
        drop(s);
        // The schema is current: migrate applies nothing (migration 1 would fail on the
        // existing tables if it ran again), and the data is intact.
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(schema::migrate(&mut conn).unwrap(), Vec::<u32>::new());
        drop(conn);
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(schema::version(&s.conn).unwrap(), schema::VERSION);
        assert_eq!(s.load_state().unwrap().guests[&100].2.rx, 10);
    }

    #[test]
    fn newer_schema_is_refused_by_writer_and_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 7)
            .unwrap();
        drop(conn);
        for e in [
            SqliteStore::open(&path).err().unwrap(),
            SqliteStore::open_read_only(&path).err().unwrap(),
        ] {
            assert!(
                matches!(e, StoreError::NewerSchema { found, supported }
                    if found == schema::VERSION + 7 && supported == schema::VERSION),
                "{e}"
            );
            assert!(e.to_string().contains("upgrade pve-traffic"), "{e}");
        }
    }

    #[test]
    fn read_only_refuses_missing_or_unmigrated_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.sqlite");
        let e = SqliteStore::open_read_only(&missing).err().unwrap();
        assert!(matches!(e, StoreError::Open { .. }), "{e}");
        assert!(e.to_string().contains("nope.sqlite"), "{e}");
        assert!(!missing.exists(), "a reader never creates the database");

        let empty = dir.path().join("empty.sqlite");
        drop(Connection::open(&empty).unwrap());
        let e = SqliteStore::open_read_only(&empty).err().unwrap();
        assert!(matches!(e, StoreError::OlderSchema { found: 0, .. }), "{e}");
    }

    #[test]
    fn open_reports_path_and_hint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let path = file.join("db.sqlite"); // parent is a file: cannot be created
        let e = SqliteStore::open(&path).err().unwrap();
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot open database {}: ", path.display())),
            "{msg}"
        );
        assert!(
            msg.ends_with("check storage.dsn and that the directory is writable"),
            "{msg}"
        );

        let junk = dir.path().join("junk.sqlite");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = SqliteStore::open(&junk).err().unwrap();
        assert!(matches!(e, StoreError::Open { .. }), "{e}");
    }

    #[test]
    fn reader_reads_while_writer_holds_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut w = SqliteStore::open(&path).unwrap();
        w.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        let r = SqliteStore::open_read_only(&path).unwrap();

        // The writer is mid-cycle, holding the write lock with uncommitted changes.
        w.conn
            .execute_batch("BEGIN IMMEDIATE; UPDATE guests SET rx_total = 999;")
            .unwrap();
        let t = std::time::Instant::now();
        let st = r.load_state().unwrap();
        assert_eq!(
            st.guests[&100].2.rx, 10,
            "reader sees the last committed state"
        );
        assert_eq!(r.series(100, T0, T0 + HOUR_MS).unwrap(), vec![(T0, 10, 1)]);
        assert!(
            t.elapsed() < BUSY_TIMEOUT,
            "the reader did not wait for the lock"
        );
        w.conn.execute_batch("ROLLBACK").unwrap();

        // A reader holding a snapshot does not block the writer's commit either.
        r.conn
            .execute_batch("BEGIN; SELECT count(*) FROM guests;")
            .unwrap();
        w.commit_cycle(&cycle(T0 + 60_000, vec![gw(100, T0 + 60_000, 5, 0)]))
            .unwrap();
        assert_eq!(r.load_state().unwrap().guests[&100].2.rx, 10, "snapshot");
        r.conn.execute_batch("COMMIT").unwrap();
        assert_eq!(r.load_state().unwrap().guests[&100].2.rx, 15);

        // Writes through a reader fail.
        let mut r = r;
        let e = r.commit_cycle(&cycle(T0, vec![])).unwrap_err();
        assert!(matches!(e, StoreError::ReadOnly { .. }), "{e}");
        assert!(e.to_string().contains("cannot be written"), "{e}");
    }

    #[test]
    fn reader_opens_after_the_writer_closed() {
        // The last writer to close removes -wal and -shm; a reader must cope.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut w = SqliteStore::open(&path).unwrap();
        w.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        drop(w);
        let r = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(r.last_cycle_ms().unwrap(), Some(T0));
    }

    #[test]
    fn negative_values_read_back_are_corrupt() {
        let mut s = mem();
        s.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        s.conn
            .execute_batch("UPDATE guests SET tx_total = -1")
            .unwrap();
        let e = s.load_state().unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        assert!(
            e.to_string().contains("guests.tx_total of vmid 100 is -1"),
            "{e}"
        );

        s.conn
            .execute(
                "INSERT INTO period_usage VALUES ('day', ?1, 100, -5, 0)",
                [T0],
            )
            .unwrap();
        let e = s.period_usage("day", T0).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        s.conn.execute_batch("DELETE FROM period_usage").unwrap();
        assert_eq!(s.period_usage("day", T0).unwrap()[&100], (10, 1));
        s.conn
            .execute_batch("UPDATE guests SET open_windows = x'01'")
            .unwrap();
        let e = s.period_usage("day", T0).unwrap_err();
        assert!(e.to_string().contains("open_windows of vmid 100"), "{e}");

        s.conn
            .execute_batch("UPDATE hourly SET detail = x'01'")
            .unwrap();
        let e = s.series(100, T0, T0 + HOUR_MS).unwrap_err();
        assert!(e.to_string().contains("undecodable"), "{e}");
    }

    #[test]
    fn retention_scans_only_new_hours_and_late_writes_keep_no_old_detail() {
        let mut s = mem();
        s.commit_cycle(&cycle(T0, vec![gw(100, T0, 10, 1)]))
            .unwrap();
        let now = T0 + 3 * DAY_MS;
        assert_eq!(s.apply_retention(now, 1).unwrap(), 1);
        assert_eq!(s.apply_retention(now, 1).unwrap(), 0);
        // A delta spread back into the dropped past (after a long outage) adds to the hour
        // totals only.
        s.commit_cycle(&cycle(now, vec![gw(100, T0 + 600_000, 4, 0)]))
            .unwrap();
        assert_eq!(s.series(100, T0, now).unwrap(), vec![]);
        assert_eq!(s.hourly(100, T0, now).unwrap(), vec![(T0, 14, 1)]);
    }

    #[test]
    fn one_row_per_guest_hour() {
        let mut s = mem();
        for m in 0..120 {
            let t = T0 + m * 60_000;
            s.commit_cycle(&cycle(t, vec![gw(100, t, 1, 1), gw(101, t, 2, 0)]))
                .unwrap();
        }
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM hourly", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4);
    }

    #[test]
    fn enforcement_queries_use_their_indexes() {
        let s = mem();
        let plan = |q: &str| query_plan(&s.conn, q);
        for (q, index) in [
            (
                "SELECT * FROM action_log WHERE at_ms >= 5 ORDER BY at_ms DESC, id DESC LIMIT 3",
                "action_log_at",
            ),
            (
                "SELECT * FROM action_log WHERE vmid = 1 AND at_ms >= 5
                 ORDER BY at_ms DESC, id DESC LIMIT 3",
                "action_log_vmid_at",
            ),
            (
                "SELECT * FROM enforcement_release WHERE until_ms > 5",
                "enforcement_release_until",
            ),
            ("DELETE FROM enforcement_nic WHERE vmid = 1", "PRIMARY KEY"),
        ] {
            let p = plan(q);
            assert!(p.contains(index), "{q}: {p}");
            assert!(!p.contains("TEMP B-TREE"), "{q}: {p}");
        }
    }

    #[test]
    fn queries_use_the_primary_keys() {
        let s = mem();
        let plan = |q: &str| query_plan(&s.conn, q);
        for q in [
            "SELECT vmid, rx, tx FROM period_usage WHERE period_key = 'day' AND window_start_ms = 0",
            "SELECT hour_ms FROM hourly WHERE vmid = 1 AND hour_ms >= 0 AND hour_ms < 5",
            "UPDATE hourly SET detail = NULL WHERE vmid IN (SELECT vmid FROM guests)
               AND hour_ms >= 0 AND hour_ms < 5 AND detail IS NOT NULL",
        ] {
            let p = plan(q);
            assert!(p.contains("USING PRIMARY KEY"), "{q}: {p}");
            assert!(!p.contains("SCAN hourly") && !p.contains("SCAN period_usage"), "{q}: {p}");
        }
    }
}
