//! Benchmark: how fast the SQLite store grows and how long one cycle's commit takes.
//!
//! 1. Growth: 20 guests polled every 60 s for 31 days (44,640 cycles) with realistic deltas
//!    (rates from 1 kB/s to 3 MB/s, a daily curve, noise, one guest often stopped), each
//!    delta spread over 5-minute buckets and the periods hour / day / ISO week / month, all
//!    through `commit_cycle`; daily retention with 31 days kept, so the month's detail is
//!    all there. Reports the database file size per guest per month (target < 150 KB), and
//!    what a month costs once retention has dropped its 5-minute detail.
//! 2. Commit time: 10,000 guests, 30 cycles crossing an hour boundary, median per cycle.
//!
//! Run: `cargo bench -p pve-traffic-store --bench store_growth`. Prints a Markdown table.

use std::path::Path;
use std::time::{Duration, Instant};

use pve_traffic_core::guest::GuestType;
use pve_traffic_store::{
    bucket_start, CycleWrite, GuestInfo, GuestWrite, RawCounters, SqliteStore, Store, BUCKET_MS,
    HOUR_MS,
};

const DAY_MS: i64 = 24 * HOUR_MS;
/// 2026-01-01T00:00:17Z: polls off the minute, so every fifth delta straddles a bucket.
const START: i64 = 1_767_225_600_000 + 17_000;
const POLL_MS: i64 = 60_000;

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil (year, month) of a day number.
fn civil_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m)
}

/// Window starts (UTC) of the periods the enforcer would use.
fn windows(t: i64) -> [(&'static str, i64); 4] {
    let week = (t + 3 * DAY_MS).div_euclid(7 * DAY_MS) * 7 * DAY_MS - 3 * DAY_MS; // Mondays
    let (y, m) = civil_month(t.div_euclid(DAY_MS));
    [
        ("hour", t.div_euclid(HOUR_MS) * HOUR_MS),
        ("day", t.div_euclid(DAY_MS) * DAY_MS),
        ("week", week),
        ("month@1", days_from_civil(y, m, 1) * DAY_MS),
    ]
}

/// Splits `n` bytes over the buckets of `(from, to]` in proportion to time, exactly.
fn spread(from: i64, to: i64, n: u64) -> Vec<(i64, u64)> {
    let mut out = Vec::new();
    let mut b = bucket_start(from);
    let mut given = 0;
    while b < to {
        let overlap = (b + BUCKET_MS).min(to) - b.max(from);
        if overlap > 0 {
            let part = (u128::from(n) * overlap as u128 / (to - from) as u128) as u64;
            out.push((b, part));
            given += part;
        }
        b += BUCKET_MS;
    }
    out.last_mut().expect("from < to").1 += n - given;
    out
}

struct Guest {
    info: GuestInfo,
    rx_rate: f64, // bytes per second, daily average
    tx_rate: f64,
    netin: u64,
    netout: u64,
    uptime: u64,
}

fn guests(n: u32, rng: &mut Rng) -> Vec<Guest> {
    (0..n)
        .map(|i| {
            // Log-uniform 1 kB/s .. 3 MB/s download, upload 0.1x .. 2x of that.
            let rx_rate = 10f64.powf(3.0 + 3.5 * rng.unit());
            let tx_rate = rx_rate * (0.1 + 1.9 * rng.unit());
            Guest {
                info: GuestInfo {
                    vmid: 100 + i,
                    guest_type: if i % 3 == 0 {
                        GuestType::Lxc
                    } else {
                        GuestType::Qemu
                    },
                    name: format!("vm-{:05}.example.net", 100 + i),
                    node: format!("pve{}", i % 20 + 1),
                    tags: vec!["customer".into(), format!("plan-{}", i % 4)],
                    template: false,
                    running: true,
                },
                rx_rate,
                tx_rate,
                netin: 0,
                netout: 0,
                uptime: 0,
            }
        })
        .collect()
}

/// One poll cycle at `at` (previous poll at `at - POLL_MS`) for all guests.
fn cycle(gs: &mut [Guest], at: i64, rng: &mut Rng) -> CycleWrite {
    let prev = at - POLL_MS;
    let day_phase = (at % DAY_MS) as f64 / DAY_MS as f64 * std::f64::consts::TAU;
    let diurnal = 1.0 + 0.6 * day_phase.sin();
    let mut guests = Vec::with_capacity(gs.len());
    for (i, g) in gs.iter_mut().enumerate() {
        // Guest 0 is a test box: off during hours where a hash says so (~30 %).
        let running = !(i == 0 && ((at / HOUR_MS) * 2_654_435_761) % 10 < 3);
        g.info.running = running;
        let (rx, tx) = if running {
            let noise = |rng: &mut Rng| 0.2 + 1.6 * rng.unit();
            let secs = POLL_MS as f64 / 1000.0;
            (
                (g.rx_rate * secs * diurnal * noise(rng)) as u64,
                (g.tx_rate * secs * diurnal * noise(rng)) as u64,
            )
        } else {
            (0, 0)
        };
        g.netin += rx;
        g.netout += tx;
        g.uptime = if running { g.uptime + 60 } else { 0 };
        let rxs = spread(prev, at, rx);
        let txs = spread(prev, at, tx);
        let buckets: Vec<(i64, u64, u64)> =
            rxs.iter().zip(&txs).map(|(r, t)| (r.0, r.1, t.1)).collect();
        let mut periods: Vec<(std::sync::Arc<str>, i64, u64, u64)> = Vec::new();
        for &(b, brx, btx) in &buckets {
            for (key, w) in windows(b) {
                match periods.iter_mut().find(|p| *p.0 == *key && p.1 == w) {
                    Some(p) => {
                        p.2 += brx;
                        p.3 += btx;
                    }
                    None => periods.push((key.into(), w, brx, btx)),
                }
            }
        }
        guests.push(GuestWrite {
            info: g.info.clone(),
            counters: RawCounters {
                node: g.info.node.clone(),
                running,
                uptime: g.uptime,
                netin: g.netin,
                netout: g.netout,
                at_ms: at,
            },
            rx,
            tx,
            reset: false,
            buckets,
            periods,
        });
    }
    CycleWrite {
        at_ms: at,
        guests,
        discarded: vec![],
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn kb(bytes: f64) -> String {
    format!("{:.1}", bytes / 1000.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Part 1: 20 guests, 31 days. Returns table rows.
fn growth(dir: &Path) -> Vec<[String; 2]> {
    const GUESTS: u32 = 20;
    const DAYS: i64 = 31;
    let path = dir.join("growth.sqlite");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut gs = guests(GUESTS, &mut rng);
    let mut store = SqliteStore::open(&path).expect("open");
    let cycles = DAYS * DAY_MS / POLL_MS;
    let t = Instant::now();
    let mut commit_total = Duration::ZERO;
    let mut at = START;
    for n in 1..=cycles {
        at = START + n * POLL_MS;
        let c = cycle(&mut gs, at, &mut rng);
        let tc = Instant::now();
        store.commit_cycle(&c).expect("commit");
        commit_total += tc.elapsed();
        if n % (DAY_MS / POLL_MS) == 0 {
            store.apply_retention(at, 31).expect("retention");
        }
    }
    let elapsed = t.elapsed();

    // Cross-check the month: series, month accumulator and totals agree for every guest.
    let state = store.load_state().expect("load");
    // The last poll ends 17 s into February: sum both month windows.
    let mut month = std::collections::HashMap::<u32, (u64, u64)>::new();
    for w in [windows(START)[3].1, windows(at)[3].1] {
        for (vmid, (rx, tx)) in store.period_usage("month@1", w).expect("usage") {
            let e = month.entry(vmid).or_default();
            e.0 += rx;
            e.1 += tx;
        }
    }
    for (vmid, (_, _, totals)) in &state.guests {
        let s = store
            .series(*vmid, START - HOUR_MS, at + HOUR_MS)
            .expect("series");
        let sum = s.iter().fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
        assert_eq!(sum, (totals.rx, totals.tx), "series vs totals, vmid {vmid}");
        assert_eq!(
            month.get(vmid).copied().unwrap_or_default(),
            sum,
            "month, vmid {vmid}"
        );
    }
    let avg_rate: f64 = state
        .guests
        .values()
        .map(|g| (g.2.rx + g.2.tx) as f64)
        .sum::<f64>()
        / f64::from(GUESTS)
        / (DAYS * 86_400) as f64;
    drop(store); // last connection: checkpoints and removes the WAL
    let per_guest_month = |bytes: u64| bytes as f64 / f64::from(GUESTS) * (31.0 / DAYS as f64);
    let full = file_size(&path);

    // Long-term cost of a month: drop all 5-minute detail (hour totals and periods stay).
    let mut store = SqliteStore::open(&path).expect("reopen");
    store.apply_retention(at + DAY_MS, 0).expect("retention");
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("conn");
    conn.execute_batch("VACUUM").expect("vacuum");
    drop(conn);
    let trimmed = file_size(&path);

    vec![
        [
            "simulated".into(),
            format!(
                "{GUESTS} guests × {DAYS} days, 60 s polls ({cycles} cycles), average {} kB/s per guest (rx + tx)",
                kb(avg_rate)
            ),
        ],
        [
            "**database size per guest per month** (5-minute detail kept, as written, not vacuumed)".into(),
            format!("**{} KB** (file {} KB)", kb(per_guest_month(full)), kb(full as f64)),
        ],
        [
            "per guest per month after retention dropped the detail (hour totals + periods, vacuumed)".into(),
            format!("{} KB", kb(per_guest_month(trimmed))),
        ],
        [
            "mean commit per cycle (20 guests)".into(),
            format!("{:.3} ms", commit_total.as_secs_f64() * 1000.0 / cycles as f64),
        ],
        ["wall time of the simulation".into(), format!("{:.1} s", elapsed.as_secs_f64())],
    ]
}

/// Part 2: median, min and max commit time per cycle at 10,000 guests.
fn commit_time(dir: &Path) -> (Duration, Duration, Duration) {
    const GUESTS: u32 = 10_000;
    const CYCLES: i64 = 30;
    let path = dir.join("commit.sqlite");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut gs = guests(GUESTS, &mut rng);
    let mut store = SqliteStore::open(&path).expect("open");
    // Start 45 minutes into the hour: the run crosses an hour boundary (new hour rows).
    let start = START + 45 * 60_000;
    // Warm-up cycle: inserts the 10,000 guest rows.
    store
        .commit_cycle(&cycle(&mut gs, start, &mut rng))
        .expect("commit");
    let mut times = Vec::new();
    for n in 1..=CYCLES {
        let c = cycle(&mut gs, start + n * POLL_MS, &mut rng);
        let t = Instant::now();
        store.commit_cycle(&c).expect("commit");
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut table = String::from("| what | value |\n|---|---|\n");
    for [k, v] in growth(dir.path()) {
        table.push_str(&format!("| {k} | {v} |\n"));
    }
    let (med, min, max) = commit_time(dir.path());
    table.push_str(&format!(
        "| commit per cycle, 10,000 guests, 4 period keys, 30 cycles across an hour boundary \
         | median **{} ms** (min {}, max {}) |\n",
        ms(med),
        ms(min),
        ms(max)
    ));
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "store: database growth and commit time",
        "cargo bench -p pve-traffic-store --bench store_growth",
        &format!(
            "SQLite file on the machine's disk (aim: < 150 KB per guest per month).\n\n{table}"
        ),
    );
}
