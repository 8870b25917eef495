//! Benchmark of the export reports on a database holding 10,000 guests × 31 days of
//! 5-minute history (every guest busy in every bucket: the worst case for the queries):
//! - the `all` ranking over the 31 days, to JSON (aim < 5 s);
//! - the same with partial hours at both ends (5-minute detail read for the edges);
//! - one guest over the 31 days at 5-minute resolution (8,928 buckets), to JSON (aim < 1 s).
//!
//! Each case is what `pve-traffic-exporter export --format json` does after parsing its
//! arguments: open the database read-only, load the guests, build the report, serialise it,
//! write the file.
//!
//! The database (about 1 GB) is built once, by `commit_cycle` in one cycle per day, and kept
//! under `target/tmp/` for later runs (delete `report-fixture-*` there to rebuild it).
//!
//! Run: `cargo bench -p pve-traffic-exporter --bench report`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use pve_traffic::guest::GuestType;
use pve_traffic::report::{self, json, output, BucketSize, ReportRange};
use pve_traffic::rules::Direction;
use pve_traffic::store::{
    CycleWrite, GuestInfo, GuestWrite, RawCounters, SqliteStore, Store, BUCKET_MS, HOUR_MS,
};

const GUESTS: u32 = 10_000;
const DAYS: i64 = 31;
const DAY_MS: i64 = 24 * HOUR_MS;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Deterministic, uneven traffic per guest and bucket (up to ~100 kB/s).
fn bytes(vmid: u32, bucket: i64) -> (u64, u64) {
    let h = (u64::from(vmid) ^ (bucket as u64).rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h % 30_000_000 + 1, (h >> 32) % 3_000_000 + 1)
}

fn info(vmid: u32) -> GuestInfo {
    GuestInfo {
        vmid,
        guest_type: GuestType::Qemu,
        name: format!("guest-{vmid}"),
        node: format!("pve{}", vmid % 20),
        tags: vec![],
        template: false,
        running: true,
    }
}

/// The fixture database, built on first use.
fn fixture() -> (PathBuf, Option<Duration>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let db = dir.join(format!("report-fixture-{GUESTS}x{DAYS}d.db"));
    let done = dir.join(format!("report-fixture-{GUESTS}x{DAYS}d.done"));
    if done.exists() {
        return (db, None);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let started = Instant::now();
    let mut store = SqliteStore::open(&db).unwrap();
    let mut totals = vec![(0u64, 0u64); GUESTS as usize];
    for day in 0..DAYS {
        let from = T0 + day * DAY_MS;
        let guests = (0..GUESTS)
            .map(|i| {
                let vmid = 100 + i;
                let buckets: Vec<(i64, u64, u64)> = (0..DAY_MS / BUCKET_MS)
                    .map(|k| {
                        let b = from + k * BUCKET_MS;
                        let (rx, tx) = bytes(vmid, b);
                        (b, rx, tx)
                    })
                    .collect();
                let rx = buckets.iter().map(|b| b.1).sum();
                let tx = buckets.iter().map(|b| b.2).sum();
                let t = &mut totals[i as usize];
                *t = (t.0 + rx, t.1 + tx);
                GuestWrite {
                    info: info(vmid),
                    counters: RawCounters {
                        node: "pve1".into(),
                        running: true,
                        uptime: 1000,
                        netin: t.0,
                        netout: t.1,
                        at_ms: from + DAY_MS,
                    },
                    rx,
                    tx,
                    reset: false,
                    buckets,
                    periods: vec![],
                }
            })
            .collect();
        store
            .commit_cycle(&CycleWrite {
                at_ms: from + DAY_MS,
                guests,
                discarded: vec![],
            })
            .unwrap();
        eprintln!("fixture: day {}/{DAYS} written", day + 1);
    }
    drop(store);
    std::fs::write(&done, "").unwrap();
    (db, Some(started.elapsed()))
}

fn guests(store: &SqliteStore) -> std::collections::BTreeMap<u32, GuestInfo> {
    store
        .load_state()
        .unwrap()
        .guests
        .into_iter()
        .map(|(v, (i, _, _))| (v, i))
        .collect()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// `export --vm all --format json` over `[from, to)`; returns the file's size.
fn all(db: &Path, out: &Path, from: i64, to: i64) -> usize {
    let store = SqliteStore::open_read_only(db).unwrap();
    let g = guests(&store);
    let range = ReportRange::new(ts(from), ts(to), BucketSize::Day, &TimeZone::UTC).unwrap();
    let r = report::ranking(&store, &g, range, Direction::Both).unwrap();
    assert_eq!(r.rows.len(), GUESTS as usize);
    let now = Timestamp::now().to_zoned_datetime(TimeZone::UTC);
    let text = json::ranking(&r, &now);
    output::write_report(out, &output::ranking_file_name(&r, "json"), text.as_bytes()).unwrap();
    text.len()
}

/// `export --vm V --period 5m --format json` over the 31 days; returns the file's size.
fn one(db: &Path, out: &Path, vmid: u32) -> usize {
    let store = SqliteStore::open_read_only(db).unwrap();
    let g = guests(&store);
    let range = ReportRange::new(
        ts(T0),
        ts(T0 + DAYS * DAY_MS),
        BucketSize::FiveMinutes,
        &TimeZone::UTC,
    )
    .unwrap();
    let r = report::guest_report(&store, g[&vmid].clone(), range).unwrap();
    assert_eq!(r.buckets.len(), (DAYS * DAY_MS / BUCKET_MS) as usize);
    let now = Timestamp::now().to_zoned_datetime(TimeZone::UTC);
    let text = json::guest(&r, &now);
    output::write_report(out, &output::guest_file_name(&r, "json"), text.as_bytes()).unwrap();
    text.len()
}

fn main() {
    let (db, built) = fixture();
    let size = std::fs::metadata(&db).unwrap().len();
    let out = tempfile::tempdir().unwrap();
    let end = T0 + DAYS * DAY_MS;
    let time = |runs: usize, f: &mut dyn FnMut() -> usize| {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            bytes = f();
            times.push(t.elapsed());
        }
        (median(times), bytes)
    };
    let (all_whole, all_bytes) = time(5, &mut || all(&db, out.path(), T0, end));
    let (all_edges, _) = time(5, &mut || {
        all(&db, out.path(), T0 + 5 * 60_000, end - 5 * 60_000)
    });
    let (guest, guest_bytes) = time(20, &mut || one(&db, out.path(), 100 + GUESTS / 2));

    let mut table =
        format!(
        "{GUESTS} guests × {DAYS} days of 5-minute history, every bucket non-empty (SQLite file \
         {:.0} MB{}), the file mostly in the page cache (just written or read); each case opens the database read-only, loads the \
         guests, builds the report, writes the JSON file.\n\n\
         | what | median ms | min ms | max ms | aim | output |\n|---|---|---|---|---|---|\n",
        size as f64 / 1e6,
        built.map_or(String::new(), |d| format!(", built in {:.0} s", d.as_secs_f64())),
    );
    for (name, (med, min, max), aim, bytes) in [
        (
            "`all` over 31 days, whole hours (5 runs)",
            all_whole,
            "< 5000",
            all_bytes,
        ),
        (
            "`all` over 31 days, partial hours at both ends (5 runs)",
            all_edges,
            "< 5000",
            all_bytes,
        ),
        (
            "one guest, 31 days at 5 minutes, 8,928 buckets (20 runs)",
            guest,
            "< 1000",
            guest_bytes,
        ),
    ] {
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {aim} | {:.1} MB |\n",
            ms(med),
            ms(min),
            ms(max),
            bytes as f64 / 1e6
        ));
    }
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "export reports",
        "cargo bench -p pve-traffic-exporter --bench report",
        &table,
    );
}
