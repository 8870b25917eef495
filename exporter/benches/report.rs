//! Benchmark of the export reports on a database holding 10,000 guests × 31 days of
//! 5-minute history (every guest busy in every bucket: the worst case for the queries):
//! - one guest over the 31 days at 5-minute resolution (8,928 buckets), to JSON, HTML and
//!   PNG (aim < 1 s each);
//! - the `all` ranking over the 31 days, to HTML, PNG and JSON, and with partial hours at
//!   both ends (5-minute detail read for the edges) (aim < 5 s).
//!
//! Each case runs the release `pve-traffic-exporter export` as a process, as an operator
//! would: the figures include starting it, loading ECharts into the JavaScript engine for a
//! PNG, and writing the file.
//!
//! The database (about 1 GB) is built once, by `commit_cycle` in one cycle per day, and kept
//! under `target/tmp/` for later runs (delete `report-fixture-*` there to rebuild it).
//!
//! Run: `cargo bench -p pve-traffic-exporter --bench report`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pve_traffic_core::guest::GuestType;
use pve_traffic_store::{
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
    // A fixture from an older schema is rebuilt (a reader refuses it).
    if done.exists() && SqliteStore::open_read_only(&db).is_ok() {
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

/// Runs `pve-traffic-exporter export` (the release binary, as an operator would) with `args`
/// on the fixture; returns the size of the file it wrote.
fn export(config: &Path, args: &[&str]) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_pve-traffic-exporter"))
        .arg("--config")
        .arg(config)
        .arg("export")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    let path = String::from_utf8(out.stdout).unwrap();
    std::fs::metadata(path.trim()).unwrap().len() as usize
}

fn main() {
    let (db, built) = fixture();
    let size = std::fs::metadata(&db).unwrap().len();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    // export never talks to PVE: the address and token only have to be valid.
    std::fs::write(
        &config,
        format!(
            "pve:\n  url: https://pve.invalid:8006\n  token_id: \"bench@pve!report\"\n  \
             token_secret: \"00000000-0000-0000-0000-000000000000\"\n\
             monitor:\n  export_path: {}\nstorage:\n  dsn: {}\n",
            dir.path().join("out").display(),
            db.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let whole = [
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-31",
        "--tz",
        "UTC",
    ];
    let edges = [
        "--start",
        "2026-01-01 00:05",
        "--end",
        "2026-01-31 23:55",
        "--tz",
        "UTC",
    ];
    let guest = [&["--vm", "5100", "--period", "5m"][..], &whole[..]].concat();
    let all = [&["--vm", "all", "--period", "day"][..], &whole[..]].concat();
    let all_edges = [&["--vm", "all", "--period", "day"][..], &edges[..]].concat();
    let cases: [(&str, Vec<&str>, usize, &str); 7] = [
        (
            "one guest, 31 days at 5 minutes (8,928 buckets) → JSON",
            [&guest[..], &["--format", "json"]].concat(),
            10,
            "< 1000",
        ),
        (
            "one guest, 31 days at 5 minutes → HTML",
            [&guest[..], &["--format", "html"]].concat(),
            10,
            "< 1000",
        ),
        (
            "one guest, 31 days at 5 minutes → PNG 1200x600",
            [&guest[..], &["--format", "png"]].concat(),
            10,
            "< 1000",
        ),
        (
            "`all` over 31 days → HTML (top 20 bars + table of 10,000)",
            [&all[..], &["--format", "html"]].concat(),
            5,
            "< 5000",
        ),
        (
            "`all` over 31 days → PNG",
            [&all[..], &["--format", "png"]].concat(),
            5,
            "< 5000",
        ),
        (
            "`all` over 31 days → JSON",
            [&all[..], &["--format", "json"]].concat(),
            5,
            "< 5000",
        ),
        (
            "`all`, partial hours at both ends → JSON",
            [&all_edges[..], &["--format", "json"]].concat(),
            5,
            "< 5000",
        ),
    ];
    let mut table =
        format!(
        "{GUESTS} guests × {DAYS} days of 5-minute history, every bucket non-empty (SQLite file \
         {:.0} MB{}, mostly in the page cache). Each run is a whole `pve-traffic-exporter export` \
         process (the release binary): open the database read-only, build the report, draw or \
         serialise it, write the file.\n\n\
         | what | median ms | min ms | max ms | aim ms | output |\n|---|---|---|---|---|---|\n",
        size as f64 / 1e6,
        built.map_or(String::new(), |d| format!(", built in {:.0} s", d.as_secs_f64())),
    );
    for (name, args, runs, aim) in cases {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            bytes = export(&config, &args);
            times.push(t.elapsed());
        }
        let (med, min, max) = median(times);
        let row = format!(
            "| {name} ({runs} runs) | {} | {} | {} | {aim} | {:.2} MB |\n",
            ms(med),
            ms(min),
            ms(max),
            bytes as f64 / 1e6
        );
        eprint!("{row}");
        table.push_str(&row);
    }
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "export reports",
        "cargo bench -p pve-traffic-exporter --bench report",
        &table,
    );
}
