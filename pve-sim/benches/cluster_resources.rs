//! Benchmark: `/cluster/resources` at 10,000 guests on 20 nodes (issue target: < 100 ms per
//! response), plus the cost of moving simulated time for the whole cluster.
//!
//! Run: `cargo bench -p pve-sim --bench cluster_resources`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md` at the workspace root.

use std::time::{Duration, Instant};

use pve_sim::api::{handle, ApiRequest};
use pve_sim::params::Params;
use pve_sim::{Options, Scenario};

const GUESTS: u32 = 10_000;
const NODES: u32 = 20;
const RUNS: usize = 30;

/// Median, min and max of `RUNS` timings of `f`.
async fn measure<F, Fut>(mut f: F) -> (Duration, Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm-up
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    (times[RUNS / 2], times[0], times[RUNS - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let mut opts = Options::for_tests(Scenario::generate(GUESTS, NODES, 1));
    opts.scenario.start_time = Some(1_767_225_600);
    let sim = pve_sim::start(opts).await.expect("simulator starts");
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap();
    let client = |gzip: bool| {
        reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(ca.clone())
            .gzip(gzip)
            .build()
            .unwrap()
    };
    let (plain, gzip) = (client(false), client(true));
    let url = format!("{}/cluster/resources?type=vm", sim.api_url());
    let auth = sim.authorization();
    // Let traffic flow so counters are realistic, then fill the status cache.
    sim.with_cluster(|c| {
        let t = c.now_ms() + 3_600_000;
        c.advance_to(t)
    });

    // Once, outside the timings: the answer is complete.
    let body: serde_json::Value = plain
        .get(&url)
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), GUESTS as usize);

    let mut rows = Vec::new();
    let mut bytes = 0;
    let render = measure(|| {
        let auth = auth.clone();
        let n = sim.with_cluster(|c| {
            let req = ApiRequest {
                method: "GET".into(),
                path: "/cluster/resources".into(),
                params: Params::from([("type".to_string(), "vm".to_string())]),
                authorization: Some(auth),
            };
            handle(c, &req).unwrap().to_json().len()
        });
        bytes = n;
        async {}
    })
    .await;
    rows.push(("render + serialise in process (no HTTP)", render));
    for (name, c) in [
        ("over HTTPS, keep-alive, identity", &plain),
        ("over HTTPS, keep-alive, gzip", &gzip),
    ] {
        let timing = measure(|| async {
            let r = c
                .get(&url)
                .header("Authorization", &auth)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            // The response time ends when the last byte arrives; parsing is the client's.
            let body = r.bytes().await.unwrap();
            assert!(
                body.len() > 1_000_000
                    || c.get(&url)
                        .header("Authorization", &auth)
                        .send()
                        .await
                        .is_ok()
            );
        })
        .await;
        rows.push((name, timing));
    }
    let advance = measure(|| {
        sim.with_cluster(|c| {
            let t = c.now_ms() + 60_000;
            c.advance_to(t)
        });
        async {}
    })
    .await;
    rows.push(("advance simulated time by 60 s (all guests)", advance));

    let mut table = format!(
        "{GUESTS} guests on {NODES} nodes, response body {:.1} MB uncompressed, median of {RUNS} runs.\n\n\
         | what | median ms | min ms | max ms |\n|---|---|---|---|\n",
        bytes as f64 / 1e6
    );
    for (name, (med, min, max)) in rows {
        table.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            ms(med),
            ms(min),
            ms(max)
        ));
    }
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "pve-sim: /cluster/resources",
        "cargo bench -p pve-sim --bench cluster_resources",
        &table,
    );
}
