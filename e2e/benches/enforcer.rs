//! Benchmark of the enforcer at 10,000 guests × 3 rules:
//! - one evaluation (rules × usage → desired state per guest), excluding PVE round trips
//!   (aim < 100 ms);
//! - PVE requests per cycle at steady state, counted by pve-sim: the exporter and the
//!   enforcer run in this process against a simulated 10,000-guest cluster where one guest
//!   in a hundred is over a disconnect quota.
//!
//! Run: `cargo bench -p pve-traffic-e2e --bench enforcer`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md`.

use std::time::{Duration, Instant};

use pve_sim::testkit::TestSim;
use pve_sim::{Options, Scenario};
use pve_traffic_core::config;
use pve_traffic_core::period::ts;
use pve_traffic_enforcer::desired::{evaluate, GuestFacts, Usage};
use pve_traffic_enforcer::Enforcer;
use pve_traffic_exporter::Exporter;

const GUESTS: u32 = 10_000;
const RUNS: usize = 20;

const RULES: &str = "rules:\n  - { name: monthly, period: month, limit_gb: 1000, action: shutdown }\n  - { name: daily, period: day, limit: 5GB, direction: rx, action: disconnect }\n  - { name: billing, period: month, reset_day: 15, limit: 2TB, action: notify, vm_tags: [prod] }\n";

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut opts = Options::for_tests(Scenario::generate(GUESTS, 20, 1));
    opts.scenario.start_time = Some(1_767_225_600);
    let sim = TestSim::with_options(opts).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "pve:\n  url: {}\n  token_id: \"{}\"\n  token_secret: \"{}\"\n  tls:\n    fingerprint: \"{}\"\nstorage:\n  dsn: {}\nexporter:\n  listen: 127.0.0.1:0\nenforcer:\n  listen: 127.0.0.1:0\n{RULES}",
            sim.base_url(),
            sim.token_id(),
            sim.token_secret(),
            sim.fingerprint().unwrap(),
            dir.path().join("t.db").display()
        ),
    )
    .unwrap();
    let config = config::load(&path, &|_| None).unwrap().config;

    // 1. Evaluation alone, on synthetic usage: every guest near its limits.
    let tags: Vec<Vec<String>> = (0..GUESTS)
        .map(|i| {
            if i % 5 == 0 {
                vec!["prod".to_string()]
            } else {
                Vec::new()
            }
        })
        .collect();
    let facts: Vec<GuestFacts> = (0..GUESTS)
        .map(|i| GuestFacts {
            vmid: 100 + i,
            tags: &tags[i as usize],
            template: false,
        })
        .collect();
    let mut usage = Usage::new();
    for rule in &config.rules {
        let per_guest = (0..GUESTS)
            .map(|i| {
                (
                    100 + i,
                    (
                        u64::from(i) * 1_000_003 % rule.limit_bytes.max(1) * 2,
                        1_000,
                    ),
                )
            })
            .collect();
        usage.insert(rule.name.clone(), per_guest);
    }
    let now = ts(1_767_225_600_000 + 3_600_000);
    let tz = &config.monitor.timezone;
    let mut times = Vec::new();
    let mut enforced = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let evals = evaluate(&config.rules, &facts, &usage, &[], now, tz);
        times.push(t.elapsed());
        enforced = evals.iter().filter(|e| !e.breaches.is_empty()).count();
    }
    times.sort();
    let (med, min, max) = (times[RUNS / 2], times[0], times[RUNS - 1]);

    // 2. Requests per cycle at steady state, against the simulator.
    let mut exporter = Exporter::open(&config).unwrap();
    let mut enforcer = Enforcer::open(&config, false).unwrap();
    let advance = |secs: u64| {
        sim.with_cluster(|c| {
            let t = c.now_ms() + secs * 1000;
            c.advance_to(t);
            t as i64
        })
    };
    let requests = || async { sim.requests().await.len() };
    let mut per_cycle = Vec::new();
    let mut writes = Vec::new();
    let mut enforced_live = 0;
    // Four hourly cycles build up enforcement; then one-minute cycles at steady state.
    for cycle in 0..10 {
        let now = advance(match cycle {
            0 => 0,
            1..4 => 3600,
            _ => 60,
        });
        exporter.poll_once(now).await.unwrap();
        let before = requests().await;
        let out = enforcer.cycle(now).await;
        assert!(out.fail_safe.is_none(), "{:?}", out.fail_safe);
        per_cycle.push(requests().await - before);
        writes.push(out.writes);
        enforced_live = enforcer.state().len();
    }

    let mut table = format!(
        "{GUESTS} guests, 3 rules (monthly shutdown, daily disconnect, billing notify).\n\n\
         | what | value | aim |\n|---|---|---|\n\
         | one evaluation, excluding PVE round trips (ms, median of {RUNS}) | {} (min {}, max {}); {enforced} guests over a limit | < 100 |\n",
        ms(med),
        ms(min),
        ms(max)
    );
    table.push_str(&format!(
        "| PVE requests per enforcer cycle: 4 hourly cycles, then 1-minute cycles (simulated cluster; {enforced_live} guests enforced at the end) | {per_cycle:?} | |\n\
         | PVE writes per cycle, same cycles | {writes:?} | 0 at steady state |\n\n\
         A cycle reads `/cluster/resources` once (and the first cycle `/version`); before it acts on a guest it reads the guest's live `status/current` from its node (pushed stats may be stale), and an enforced guest's config and `/pending` are read again only when its desired state changes or every {} minutes (an operator may have edited them): a cycle that changes nothing makes one request, and each guest acted on costs about four (status, config, pending, write).\n",
        pve_traffic_enforcer::cycle::VERIFY_EVERY_MS / 60_000
    ));
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "enforcer at 10,000 guests",
        "cargo bench -p pve-traffic-e2e --bench enforcer",
        &table,
    );
}
