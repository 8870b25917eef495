//! The `pve-traffic-exporter` binary as an operator runs it: `check-config`, and `serve`
//! against pve-sim over HTTPS with the fingerprint pinned, killed with SIGKILL and restarted,
//! stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pve_sim::testkit::TestSim;
use pve_sim::RunningSim;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_pve-traffic-exporter");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(EXE);
    cmd.args(args)
        .env_remove("PVE_API_TOKEN_SECRET")
        .env_remove("PVE_API_TOKEN_ID");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_config_prints_the_effective_config_with_the_secret_masked() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "5e3b1d9a-0000-4000-8000-00000000abcd";
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!("pve:\n  url: https://pve.example:8006\n  token_id: \"mon@pve!traffic\"\n  token_secret: \"{secret}\"\n"),
    );
    let out = run(&["--config", cfg.to_str().unwrap(), "check-config"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("token_id: mon@pve!traffic")
            || stdout.contains("token_id: \"mon@pve!traffic\""),
        "{stdout}"
    );
    assert!(stdout.contains("********"), "{stdout}");
    assert!(!stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
}

#[test]
fn a_bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.yaml",
        "pve:\n  url: https://pve.example:8006\n  token_id: \"mon@pve!traffic\"\n  token_secret: x\nmonitor:\n  interval_seconds: lots\n",
    );
    let out = run(&["--config", cfg.to_str().unwrap(), "check-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("monitor.interval_seconds"), "{stderr}");
    let missing = run(&["--config", "/nonexistent/config.yaml"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/config.yaml"));
}

const SCENARIO: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 400000, tx_rate: 40000 }
"#;

/// A running exporter process with its metrics address.
struct Daemon {
    child: Child,
    addr: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_daemon(sim: &RunningSim, dir: &Path, port: u16) -> Daemon {
    let cfg = write(
        dir,
        "config.yaml",
        &format!(
            "pve:\n  url: {}\n  token_id: \"{}\"\n  tls:\n    fingerprint: \"{}\"\nmonitor:\n  interval_seconds: 1\nstorage:\n  dsn: {}\nexporter:\n  listen: 127.0.0.1:{port}\n",
            sim.base_url(),
            sim.token_id(),
            sim.fingerprint().unwrap(),
            dir.join("traffic.db").display()
        ),
    );
    // The secret comes from the environment, as a service unit would pass it.
    let child = Command::new(EXE)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--log-format",
            "json",
            "serve",
        ])
        .env("PVE_API_TOKEN_SECRET", sim.token_secret())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon {
        child,
        addr: format!("http://127.0.0.1:{port}"),
    }
}

async fn get(url: &str, accept: Option<&str>) -> Option<(u16, String, String)> {
    let client = reqwest::Client::new();
    let mut req = client.get(url).timeout(Duration::from_secs(5));
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let r = req.send().await.ok()?;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Some((status, ct, r.text().await.ok()?))
}

/// Waits (bounded) until `cond` holds, checking every 50 ms.
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until two more polls reached the simulator: the first of them has then been
/// committed and published (the next one starts only after).
async fn two_more_polls(sim: &TestSim) {
    let seen = sim.requests().await.len();
    eventually("two polls", || async {
        sim.requests().await.len() >= seen + 2
    })
    .await;
}

fn metric(text: &str, line_prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .unwrap_or_else(|| panic!("{line_prefix} missing in\n{text}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_survives_sigkill_without_losing_a_byte_and_stops_cleanly_on_sigterm() {
    let sim = TestSim::yaml(SCENARIO).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut daemon = start_daemon(&sim, dir.path(), port);
    let base = daemon.addr.clone();
    eventually("readyz", || async {
        get(&format!("{base}/readyz"), None)
            .await
            .is_some_and(|r| r.0 == 200)
    })
    .await;
    assert_eq!(get(&format!("{base}/healthz"), None).await.unwrap().0, 200);
    assert!(get(&format!("{base}/"), None)
        .await
        .unwrap()
        .2
        .contains("/metrics"));

    let exact = |text: &str, truth: &Value| {
        let g = &truth["guests"]["100"];
        assert_eq!(
            metric(text, "pve_traffic_receive_bytes_total{id=\"qemu/100\"} "),
            g["rx_bytes"].as_u64().unwrap()
        );
        assert_eq!(
            metric(text, "pve_traffic_transmit_bytes_total{id=\"qemu/100\"} "),
            g["tx_bytes"].as_u64().unwrap()
        );
    };
    sim.advance(600).await;
    two_more_polls(&sim).await;
    let (status, ct, text) = get(&format!("{base}/metrics"), None).await.unwrap();
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    exact(&text, &sim.truth().await);
    assert!(!text.contains(sim.token_secret()));

    // SIGKILL, a gap with a reboot-free half hour of traffic, restart: nothing lost.
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    sim.advance(1800).await;
    let mut daemon = start_daemon(&sim, dir.path(), port);
    eventually("readyz after restart", || async {
        get(&format!("{base}/readyz"), None)
            .await
            .is_some_and(|r| r.0 == 200)
    })
    .await;
    two_more_polls(&sim).await;
    let (_, _, text) = get(&format!("{base}/metrics"), None).await.unwrap();
    exact(&text, &sim.truth().await);

    let (_, ct, om) = get(
        &format!("{base}/metrics"),
        Some("application/openmetrics-text;version=1.0.0"),
    )
    .await
    .unwrap();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(om.ends_with("# EOF\n"));

    let pid = daemon.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

/// Sends SIGHUP to the daemon, as `systemctl reload` does.
fn hangup(daemon: &Daemon) {
    let pid = daemon.child.id().to_string();
    let status = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_rules_and_a_bad_config_keeps_the_running_ones() {
    let sim = TestSim::yaml(SCENARIO).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&sim, dir.path(), free_port());
    let metrics = format!("{}/metrics", daemon.addr);
    // limit_gb is GiB (the original tool's unit).
    let quota = "pve_traffic_quota_limit_bytes{id=\"qemu/100\",rule=\"fresh\"} 1073741824\n";
    eventually("first poll", || async {
        get(&metrics, None)
            .await
            .is_some_and(|r| r.2.contains("pve_traffic_up 1"))
    })
    .await;
    assert!(!get(&metrics, None).await.unwrap().2.contains(quota));

    // A new rule whose period (a month from the 15th) nothing accumulated before.
    let config = dir.path().join("config.yaml");
    let started = std::fs::read_to_string(&config).unwrap();
    let rule =
        "rules:\n  - { name: fresh, period: month, reset_day: 15, limit_gb: 1, action: notify }\n";
    std::fs::write(&config, format!("{started}{rule}")).unwrap();
    hangup(&daemon);
    eventually("the new rule's quota", || async {
        get(&metrics, None)
            .await
            .is_some_and(|r| r.2.contains(quota))
    })
    .await;

    // A config that does not load: logged, the running rules stay, the daemon goes on.
    std::fs::write(&config, format!("{started}{rule}  - {{ name: broken\n")).unwrap();
    hangup(&daemon);
    two_more_polls(&sim).await;
    let (status, _, text) = get(&metrics, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(text.contains(quota), "the running rules were dropped");
}
