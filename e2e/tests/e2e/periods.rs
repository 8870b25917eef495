//! Calendar periods against `/sim/truth`. Polls land on every period boundary (every 5 or 60
//! simulated minutes), so each period gauge must equal the truth's growth since the period's
//! start, to the byte. The boundaries are written out by hand here, not computed by the code
//! under test.

use std::collections::BTreeMap;

use jiff::Timestamp;
use pve_traffic_exporter::Exporter;

use crate::util::{metrics_text, sample, Env};

/// One guest with shaped traffic; the start time is patched per test.
fn scenario(start: &str) -> String {
    let start = ts(start).as_second();
    format!(
        r#"
start_time: {start}
seed: 11
nodes: [{{ name: pve1 }}]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    nics:
      - {{ config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 200000, tx_rate: 30000 }}
"#
    )
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// What to check at one poll: the gauge of `period` equals the truth's growth since
/// `window_start`.
struct Check {
    at: &'static str,
    period: &'static str,
    window_start: &'static str,
}

/// Polls every `step` seconds from the scenario start until `until`, asserting `checks`.
async fn walk(env: &Env, exp: &mut Exporter, step: u64, until: &str, checks: &[Check]) {
    let mut truth_at: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let start = env.now_ms().await;
    env.poll(exp).await.unwrap();
    truth_at.insert(start, env.truth(100).await);
    let end = ts(until).as_millisecond();
    let mut checked = 0;
    loop {
        let now = env.now_ms().await;
        if now >= end {
            break;
        }
        env.advance(step).await;
        let now = env.now_ms().await;
        env.poll(exp).await.unwrap();
        let truth = env.truth(100).await;
        truth_at.insert(now, truth);
        let text = metrics_text(exp);
        for c in checks.iter().filter(|c| ts(c.at).as_millisecond() == now) {
            let ws = ts(c.window_start).as_millisecond();
            // A window that began before the simulation began starts from zero.
            let base = if ws <= start { (0, 0) } else { truth_at[&ws] };
            let labels = format!("id=\"qemu/100\",period=\"{}\"", c.period);
            let rx = sample(&text, "pve_traffic_period_receive_bytes", &labels).unwrap();
            let tx = sample(&text, "pve_traffic_period_transmit_bytes", &labels).unwrap();
            assert_eq!(
                (rx as u64, tx as u64),
                (truth.0 - base.0, truth.1 - base.1),
                "{} at {}: window from {}",
                c.period,
                c.at,
                c.window_start
            );
            checked += 1;
        }
    }
    assert_eq!(checked, checks.len(), "every check ran");
}

fn tz(name: &str) -> String {
    format!("  timezone: {name}\n")
}

#[tokio::test]
async fn utc_hour_day_week_and_month_boundaries() {
    let env = Env::start(&scenario("2026-01-31T22:00:00Z")).await;
    let mut exp = Exporter::open(&env.config(&tz("UTC"), "")).unwrap();
    let checks = [
        Check {
            at: "2026-01-31T23:55:00Z",
            period: "hour",
            window_start: "2026-01-31T23:00:00Z",
        },
        Check {
            at: "2026-01-31T23:55:00Z",
            period: "day",
            window_start: "2026-01-31T00:00:00Z",
        },
        Check {
            at: "2026-01-31T23:55:00Z",
            period: "month",
            window_start: "2026-01-01T00:00:00Z",
        },
        Check {
            at: "2026-02-01T00:00:00Z",
            period: "hour",
            window_start: "2026-02-01T00:00:00Z",
        },
        Check {
            at: "2026-02-01T00:05:00Z",
            period: "hour",
            window_start: "2026-02-01T00:00:00Z",
        },
        Check {
            at: "2026-02-01T00:05:00Z",
            period: "day",
            window_start: "2026-02-01T00:00:00Z",
        },
        Check {
            at: "2026-02-01T00:05:00Z",
            period: "month",
            window_start: "2026-02-01T00:00:00Z",
        },
        // 2026-01-26 is a Monday: the ISO week goes on across the month change.
        Check {
            at: "2026-02-01T00:05:00Z",
            period: "week",
            window_start: "2026-01-26T00:00:00Z",
        },
    ];
    walk(&env, &mut exp, 300, "2026-02-01T00:30:00Z", &checks).await;
}

#[tokio::test]
async fn kathmandu_periods_start_at_a_quarter_past() {
    // +05:45: local midnight of 2026-02-01 is 2026-01-31T18:15Z.
    let env = Env::start(&scenario("2026-01-31T17:00:00Z")).await;
    let mut exp = Exporter::open(&env.config(&tz("Asia/Kathmandu"), "")).unwrap();
    let checks = [
        Check {
            at: "2026-01-31T18:10:00Z",
            period: "hour",
            window_start: "2026-01-31T17:15:00Z",
        },
        Check {
            at: "2026-01-31T18:10:00Z",
            period: "day",
            window_start: "2026-01-30T18:15:00Z",
        },
        Check {
            at: "2026-01-31T18:20:00Z",
            period: "hour",
            window_start: "2026-01-31T18:15:00Z",
        },
        Check {
            at: "2026-01-31T18:20:00Z",
            period: "day",
            window_start: "2026-01-31T18:15:00Z",
        },
        Check {
            at: "2026-01-31T18:20:00Z",
            period: "month",
            window_start: "2026-01-31T18:15:00Z",
        },
    ];
    walk(&env, &mut exp, 300, "2026-01-31T18:30:00Z", &checks).await;
}

#[tokio::test]
async fn berlin_days_of_23_and_25_hours() {
    let env = Env::start(&scenario("2026-03-28T22:00:00Z")).await;
    let mut exp = Exporter::open(&env.config(&tz("Europe/Berlin"), "")).unwrap();
    let spring = [
        // 01:55 CET, then 03:05 CEST: the clock skipped 02:00-03:00.
        Check {
            at: "2026-03-29T00:55:00Z",
            period: "hour",
            window_start: "2026-03-29T00:00:00Z",
        },
        Check {
            at: "2026-03-29T01:05:00Z",
            period: "hour",
            window_start: "2026-03-29T01:00:00Z",
        },
        // Sunday 2026-03-29 lasts 23 hours: 2026-03-28T23:00Z to 2026-03-29T22:00Z.
        Check {
            at: "2026-03-29T21:55:00Z",
            period: "day",
            window_start: "2026-03-28T23:00:00Z",
        },
        Check {
            at: "2026-03-29T22:05:00Z",
            period: "day",
            window_start: "2026-03-29T22:00:00Z",
        },
        Check {
            at: "2026-03-29T22:05:00Z",
            period: "week",
            window_start: "2026-03-29T22:00:00Z",
        },
    ];
    walk(&env, &mut exp, 300, "2026-03-29T22:10:00Z", &spring).await;

    let env = Env::start(&scenario("2026-10-24T21:00:00Z")).await;
    let mut exp = Exporter::open(&env.config(&tz("Europe/Berlin"), "")).unwrap();
    let autumn = [
        // Sunday 2026-10-25 lasts 25 hours: 2026-10-24T22:00Z to 2026-10-25T23:00Z.
        Check {
            at: "2026-10-25T22:55:00Z",
            period: "day",
            window_start: "2026-10-24T22:00:00Z",
        },
        Check {
            at: "2026-10-25T23:05:00Z",
            period: "day",
            window_start: "2026-10-25T23:00:00Z",
        },
    ];
    walk(&env, &mut exp, 300, "2026-10-25T23:10:00Z", &autumn).await;
}

#[tokio::test]
async fn reset_day_31_ends_on_the_last_day_of_february() {
    let env = Env::start(&scenario("2027-02-26T00:00:00Z")).await;
    let rules = "rules:\n  - name: monthly\n    period: month\n    reset_day: 31\n    direction: both\n    limit: 1TiB\n    action: notify\n";
    let mut exp = Exporter::open(&env.config(&tz("UTC"), rules)).unwrap();
    let mut truth_at = BTreeMap::new();
    env.poll(&mut exp).await.unwrap();
    truth_at.insert(env.now_ms().await, env.truth(100).await);
    let used = |exp: &Exporter| {
        let text = metrics_text(exp);
        let l = "id=\"qemu/100\",rule=\"monthly\"";
        (
            sample(&text, "pve_traffic_quota_used_bytes", l).unwrap() as u64,
            sample(&text, "pve_traffic_quota_period_end_timestamp_seconds", l).unwrap() as i64,
            sample(&text, "pve_traffic_quota_limit_bytes", l).unwrap() as u64,
        )
    };
    for _ in 0..(2 * 24 + 1) {
        env.advance(3600).await;
        env.poll(&mut exp).await.unwrap();
        truth_at.insert(env.now_ms().await, env.truth(100).await);
    }
    // Now 2027-02-28T01:00Z: the period that began 2027-02-28T00:00Z (31 clamped to 28).
    assert_eq!(
        env.now_ms().await,
        ts("2027-02-28T01:00:00Z").as_millisecond()
    );
    let (u, end, limit) = used(&exp);
    let (now_t, start_t) = (
        truth_at[&ts("2027-02-28T01:00:00Z").as_millisecond()],
        truth_at[&ts("2027-02-28T00:00:00Z").as_millisecond()],
    );
    assert_eq!(u, (now_t.0 - start_t.0) + (now_t.1 - start_t.1));
    assert_eq!(end, ts("2027-03-31T00:00:00Z").as_second());
    assert_eq!(limit, 1 << 40);
}
