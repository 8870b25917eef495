//! The exposition itself: both formats, and Prometheus's own checker.

use pve_traffic_core::exposition::Format;
use pve_traffic_exporter::metrics;
use pve_traffic_exporter::Exporter;

use crate::util::{Env, TWO_GUESTS};

async fn exporter_with_data(env: &Env) -> Exporter {
    let rules =
        "rules:\n  - name: monthly\n    period: month\n    limit_gb: 100\n    action: shutdown\n";
    let mut exp = Exporter::open(&env.config("", rules)).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 3, 60).await;
    exp
}

/// `promtool check metrics` reads the classic text format (the default `/metrics` answer),
/// including its lint (names, help texts, units). OpenMetrics is checked structurally below.
#[tokio::test]
async fn promtool_accepts_the_classic_format() {
    let env = Env::start(TWO_GUESTS).await;
    let exp = exporter_with_data(&env).await;
    let text = metrics::render(&exp.snapshot(), Format::Classic);
    let (ok, out) = promtool_check(&text);
    assert!(ok, "promtool check metrics failed:\n{out}\n{text}");
    // The check can fail: a counter named without `_total` is rejected.
    let broken = text.replace(
        "pve_traffic_receive_bytes_total",
        "pve_traffic_receive_bytes",
    );
    assert!(!promtool_check(&broken).0);
}

/// Runs `promtool check metrics` on `text`; `(success, output)`.
fn promtool_check(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/test installs Debian's prometheus package)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn every_family_of_design_6_is_present() {
    let env = Env::start(TWO_GUESTS).await;
    let exp = exporter_with_data(&env).await;
    let text = metrics::render(&exp.snapshot(), Format::Classic);
    for family in [
        "pve_traffic_up gauge",
        "pve_traffic_last_poll_timestamp_seconds gauge",
        "pve_traffic_poll_duration_seconds gauge",
        "pve_traffic_poll_errors_total counter",
        "pve_traffic_guest_info gauge",
        "pve_traffic_guest_running gauge",
        "pve_traffic_receive_bytes_total counter",
        "pve_traffic_transmit_bytes_total counter",
        "pve_traffic_period_receive_bytes gauge",
        "pve_traffic_period_transmit_bytes gauge",
        "pve_traffic_quota_limit_bytes gauge",
        "pve_traffic_quota_used_bytes gauge",
        "pve_traffic_quota_period_end_timestamp_seconds gauge",
        "pve_traffic_guest_resets_total counter",
        "pve_traffic_discarded_deltas_total counter",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family}\n")),
            "{family} missing:\n{text}"
        );
    }
    assert!(!text.contains(env.sim.token_secret()));
    let om = metrics::render(&exp.snapshot(), Format::OpenMetrics);
    assert!(om.contains("# TYPE pve_traffic_receive_bytes counter\n"));
    assert!(om.contains("\npve_traffic_receive_bytes_total{id=\"qemu/100\"} "));
    assert!(om.ends_with("# EOF\n"));
    assert_eq!(om.matches("# EOF").count(), 1);
}
