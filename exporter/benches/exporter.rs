//! Benchmark of the exporter at 10,000 guests on 20 nodes (pve-sim in the same process,
//! over HTTPS on loopback):
//! - one poll cycle: GET /cluster/resources + accounting + one SQLite transaction + snapshot
//!   (aim < 200 ms);
//! - rendering `/metrics` from the snapshot (aim < 25 ms);
//! - current-period usage of all guests for all rules from the store (aim < 50 ms);
//! - resident memory of the exporter binary polling that cluster (aim < 64 MB).
//!
//! Run: `cargo bench -p pve-traffic-exporter --bench exporter`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pve_sim::testkit::TestSim;
use pve_sim::{Options, Scenario};
use pve_traffic_core::config;
use pve_traffic_core::exposition::Format;
use pve_traffic_exporter::metrics;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::{SqliteStore, Store};

const GUESTS: u32 = 10_000;
const NODES: u32 = 20;
const RUNS: usize = 20;

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

const RULES: &str = "rules:\n  - { name: monthly, period: month, limit_gb: 1000, action: shutdown }\n  - { name: daily, period: day, limit_gb: 50, action: rate_limit, rate_limit_mb: 5 }\n  - { name: billing, period: month, reset_day: 15, limit: 2TB, action: notify, vm_tags: [prod] }\n";

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut opts = Options::for_tests(Scenario::generate(GUESTS, NODES, 1));
    opts.scenario.start_time = Some(1_767_225_600);
    let sim = TestSim::with_options(opts).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traffic.db");
    let text = format!(
        "pve:\n  url: {}\n  token_id: \"{}\"\n  token_secret: \"{}\"\n  tls:\n    fingerprint: \"{}\"\nmonitor:\n  interval_seconds: 60\nstorage:\n  dsn: {}\nexporter:\n  listen: 127.0.0.1:0\n{RULES}",
        sim.base_url(),
        sim.token_id(),
        sim.token_secret(),
        sim.fingerprint().unwrap(),
        db.display()
    );
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, &text).unwrap();
    let config = config::load(&path, &|_| None).unwrap().config;
    let mut exporter = Exporter::open(&config).unwrap();

    let advance = |secs: u64| {
        sim.with_cluster(|c| {
            let t = c.now_ms() + secs * 1000;
            c.advance_to(t);
            t as i64
        })
    };
    let now = advance(0);
    exporter.poll_once(now).await.unwrap(); // baseline
    let mut cycles = Vec::new();
    for _ in 0..RUNS {
        let now = advance(60);
        let t = Instant::now();
        exporter.poll_once(now).await.unwrap();
        cycles.push(t.elapsed());
    }
    // What PVE (here pve-sim, in this process, on the same cores) spends answering the one
    // request of a cycle, as the client asks it (no gzip): part of the cycle above.
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .no_gzip()
        .build()
        .unwrap();
    let url = format!("{}/cluster/resources?type=vm", sim.api_url());
    let mut answers = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let r = http
            .get(&url)
            .header("Authorization", sim.authorization())
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap();
        answers.push(t.elapsed());
    }
    let snapshot = exporter.snapshot();
    assert_eq!(snapshot.guests.len() as u32, GUESTS - templates(&sim));
    let mut renders = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        bytes = metrics::render(&snapshot, Format::Classic).len();
        renders.push(t.elapsed());
    }
    let store = SqliteStore::open_read_only(&db).unwrap();
    let tz = &config.monitor.timezone;
    let at = pve_traffic_core::period::ts(advance(0));
    let mut usage = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut rows = 0;
        for rule in &config.rules {
            let w = rule.period.window_at(at, tz);
            rows += store
                .period_usage(&rule.period.key(), w.start.as_millisecond())
                .unwrap()
                .len();
        }
        usage.push(t.elapsed());
        assert!(rows > 0);
    }
    let rss = resident_memory(&sim, dir.path());

    let mut table = format!(
        "{GUESTS} guests on {NODES} nodes (pve-sim in the same process, HTTPS on loopback), 3 rules, median of {RUNS} runs.\n\n\
         | what | median | min | max | aim |\n|---|---|---|---|---|\n"
    );
    for (name, (med, min, max), aim) in [
        (
            "poll + account + commit + snapshot, one cycle (ms)",
            median(cycles),
            "< 200",
        ),
        (
            "… of which pve-sim answering GET /cluster/resources, same process and cores (ms)",
            median(answers),
            "",
        ),
        (
            "render /metrics, classic text (ms)",
            median(renders),
            "< 25",
        ),
        (
            "current-period usage, all guests × all rules (ms)",
            median(usage),
            "< 50",
        ),
    ] {
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {aim} |\n",
            ms(med),
            ms(min),
            ms(max)
        ));
    }
    table.push_str(&format!(
        "| /metrics size (MB) | {:.1} | | | |\n| exporter resident memory, peak (VmHWM, MB) | {:.1} | | | < 64 |\n",
        bytes as f64 / 1e6,
        rss as f64 / 1024.0
    ));
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "exporter at 10,000 guests",
        "cargo bench -p pve-traffic-exporter --bench exporter",
        &table,
    );
}

fn templates(sim: &pve_sim::RunningSim) -> u32 {
    sim.with_cluster(|c| c.guests.values().filter(|g| g.is_template()).count() as u32)
}

/// Runs the exporter binary against the simulator for a few polls and returns its peak
/// resident memory in KiB.
fn resident_memory(sim: &pve_sim::RunningSim, dir: &std::path::Path) -> u64 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.join("rss.yaml");
    std::fs::write(
        &cfg,
        format!(
            "pve:\n  url: {}\n  token_id: \"{}\"\n  token_secret: \"{}\"\n  tls:\n    fingerprint: \"{}\"\nmonitor:\n  interval_seconds: 1\nstorage:\n  dsn: {}\nexporter:\n  listen: 127.0.0.1:{port}\n{RULES}",
            sim.base_url(),
            sim.token_id(),
            sim.token_secret(),
            sim.fingerprint().unwrap(),
            dir.join("rss.db").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-traffic-exporter"))
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Ten polls at 10,000 guests, with scrapes in between.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(1000));
        let _ = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                &format!("http://127.0.0.1:{port}/metrics"),
            ])
            .status();
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}
