//! The `pve-traffic-enforcer` binary as an operator runs it: `status`, `release` and a bad
//! config on the command line, `status` without the token secret and without a database; `plan` against pve-sim; `run` as a daemon (HTTPS with the
//! fingerprint pinned, the secret from the environment) that disconnects a guest over its
//! quota, serves `/metrics` and `/healthz`, stops cleanly on SIGTERM and, restarted after
//! SIGTERM or SIGKILL, never applies the penalty twice; `run --dry-run` that writes nothing.
//!
//! Usage data comes from the exporter library polling the same simulator into the same
//! database. The enforcer's "now" is the wall clock, so the exporter records at wall-clock
//! time too and the scenario has no `start_time` (the simulator starts at wall-clock time):
//! the data is fresh, and rules with a `month` period see it in their current window.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pve_sim::testkit::TestSim;
use pve_traffic_core::config;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::enforcement::{Desired, GuestEnforcement, Stage};
use pve_traffic_store::{EnforcementStore, SqliteStore};
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_pve-traffic-enforcer");

/// Guest 100 moves 1 MB/s down (10 MB after 10 s); guest 101 moves 1 KB/s and stays under
/// any limit used here.
const SCENARIO: &str = r#"
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: tenant-a
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", rx_rate: 1000000, tx_rate: 10000, shaped: false }
  - vmid: 101
    type: qemu
    node: pve1
    name: tenant-b
    nics:
      - { config: "virtio=BC:24:11:00:01:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }
"#;

/// Runs the binary to completion, without any token or config from the test's environment.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(EXE);
    cmd.args(args)
        .env_remove("PVE_API_TOKEN_SECRET")
        .env_remove("PVE_API_TOKEN_ID")
        .env_remove("PVE_TRAFFIC_CONFIG");
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wall_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[test]
fn status_release_and_a_bad_config_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!(
            "pve:\n  url: https://pve.example:8006\n  token_id: \"mon@pve!traffic\"\n  token_secret: x\nstorage:\n  dsn: {}\nrules:\n  - {{ name: monthly, period: month, limit: 10MB, action: disconnect }}\n  - {{ name: daily, period: day, limit: 5MB, action: rate_limit, rate_limit_mb: 1 }}\n",
            dir.path().join("traffic.db").display()
        ),
    );
    let cfg = cfg.to_str().unwrap();

    // Before anything wrote the database, the commands that only look say so and create none.
    let db = dir.path().join("traffic.db");
    for cmd in ["status", "plan"] {
        let out = run(&["--config", cfg, cmd], &[]);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {out:?}");
        let stderr = text(&out.stderr);
        let expected = format!(
            "pve-traffic-enforcer: no database at {} (has the exporter run?)",
            db.display()
        );
        assert_eq!(stderr.lines().last(), Some(expected.as_str()), "{cmd}");
        assert!(!db.exists(), "{cmd} created the database");
    }

    let out = run(
        &["--config", cfg, "release", "100", "--rule", "nosuch"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nosuch") && stderr.contains("monthly") && stderr.contains("daily"),
        "{stderr}"
    );
    // A release of a known rule is recorded (the first write creates the database); it
    // enforces nothing by itself.
    let out = run(
        &["--config", cfg, "release", "100", "--rule", "monthly"],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).starts_with("released guest 100 (monthly) until "),
        "{out:?}"
    );
    // `plan` on a database the exporter never wrote: no data, no plan.
    let out = run(&["--config", cfg, "plan"], &[]);
    assert!(!out.status.success(), "{out:?}");
    assert!(text(&out.stderr).contains("no plan"), "{out:?}");
    // The config comes from PVE_TRAFFIC_CONFIG when --config is absent.
    let out = run(&["status"], &[("PVE_TRAFFIC_CONFIG", cfg)]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "no guest is enforced\n");

    let bad = write(
        dir.path(),
        "bad.yaml",
        "pve:\n  url: https://pve.example:8006\n  token_id: \"mon@pve!traffic\"\n  token_secret: x\nenforcer:\n  interval_seconds: lots\n",
    );
    for cmd in ["status", "plan", "run"] {
        let out = run(&["--config", bad.to_str().unwrap(), cmd], &[]);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("enforcer.interval_seconds"),
            "{cmd:?}: {stderr}"
        );
    }
    let missing = run(&["--config", "/nonexistent/config.yaml", "status"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/config.yaml"));
    let out = run(&["--config", cfg, "release", "notanumber"], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// `status` reads only the store, so it runs without the token secret and lists what the
/// enforcer persisted; `run` and `release` talk to PVE and still refuse without it (`plan`
/// without it shows the store's part: `plan_shows_the_would_be_action_and_writes_nothing`).
#[test]
fn status_needs_no_token_secret_and_the_pve_commands_still_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traffic.db");
    let cfg = write(
        dir.path(),
        "config.yaml",
        &format!(
            "pve:\n  url: https://pve.example:8006\n  token_id: \"mon@pve!traffic\"\nstorage:\n  dsn: {}\nrules:\n  - {{ name: monthly, period: month, limit: 10MB, action: disconnect }}\n",
            db.display()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let mut store = SqliteStore::open_enforcer(&db).unwrap();
    store
        .save_enforcement(&GuestEnforcement {
            vmid: 100,
            applied: Desired::Disconnect,
            stage: Stage::Applied,
            reasons: BTreeMap::from([("monthly".to_string(), 1_764_547_200_000)]),
            since_ms: 1_763_200_800_000,
            nics: BTreeMap::new(),
            was_running: None,
            pending_shutdown: None,
        })
        .unwrap();
    drop(store);

    let out = run(&["--config", cfg, "status"], &[]);
    assert!(out.status.success(), "{out:?}");
    let status = text(&out.stdout);
    let row = status
        .lines()
        .find(|l| l.starts_with("100 "))
        .unwrap_or_else(|| panic!("guest 100 not listed:\n{status}"));
    assert!(
        row.contains("disconnect")
            && row.contains("2025-11-15 10:00 UTC")
            && row.contains("monthly (2025-12-01 00:00 UTC)"),
        "{row}"
    );

    for cmd in [&["run"][..], &["release", "100"]] {
        let out = run(&[&["--config", cfg][..], cmd].concat(), &[]);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("pve.token_secret")
                && stderr.contains("missing")
                && stderr.contains("PVE_API_TOKEN_SECRET"),
            "{cmd:?}: {stderr}"
        );
    }
}

/// A simulator, a database the exporter library fills, and a config file for the binary
/// that names neither the token secret (it comes from `PVE_API_TOKEN_SECRET`) nor anything
/// the enforcer would not use in production.
struct World {
    sim: TestSim,
    dir: tempfile::TempDir,
    cfg: PathBuf,
    exporter: Exporter,
    port: u16,
}

impl World {
    /// `rules` is the YAML list under `rules:`.
    async fn start(rules: &str) -> World {
        let sim = TestSim::yaml(SCENARIO).await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = write(
            dir.path(),
            "config.yaml",
            &format!(
                "pve:\n  url: {url}\n  token_id: \"{id}\"\n  timeout_seconds: 5\n  tls:\n    fingerprint: \"{fp}\"\nstorage:\n  dsn: {db}\nexporter:\n  listen: 127.0.0.1:0\nenforcer:\n  listen: 127.0.0.1:{port}\n  interval_seconds: 1\nrules:\n{rules}",
                url = sim.base_url(),
                id = sim.token_id(),
                fp = sim.fingerprint().unwrap(),
                db = dir.path().join("traffic.db").display(),
            ),
        );
        let secret = sim.token_secret().to_string();
        let config = config::load(&cfg, &|k| {
            (k == "PVE_API_TOKEN_SECRET").then(|| secret.clone())
        })
        .unwrap_or_else(|e| panic!("test config does not load: {e}"))
        .config;
        let mut exporter = Exporter::open(&config).unwrap();
        exporter.poll_once(wall_ms()).await.unwrap();
        World {
            sim,
            dir,
            cfg,
            exporter,
            port,
        }
    }

    /// Moves simulated time by `secs` (a multiple of 10: the simulator's resource cache
    /// refreshes at 10 s boundaries) and lets the exporter record it at wall-clock time.
    async fn advance_and_poll(&mut self, secs: u64) {
        assert_eq!(secs % 10, 0);
        self.control("POST", &format!("/advance?seconds={secs}"))
            .await;
        self.exporter.poll_once(wall_ms()).await.unwrap();
    }

    async fn control(&self, method: &str, path: &str) -> Value {
        self.sim.control(method, path, None).await
    }

    /// The sequence number of the newest request the simulator logged.
    async fn last_seq(&self) -> u64 {
        self.control("GET", "/requests")
            .await
            .as_array()
            .unwrap()
            .last()
            .map_or(0, |r| r["seq"].as_u64().unwrap())
    }

    /// Every PVE write (any method but GET) since request `since`, as `METHOD path`.
    async fn writes_since(&self, since: u64) -> Vec<String> {
        self.control("GET", &format!("/requests?since={since}"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] != "GET")
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// `net0` of a guest on pve1, through the PVE API with the admin token.
    async fn net0(&self, vmid: u32) -> String {
        let v: Value = self
            .sim
            .http()
            .get(format!(
                "{}/nodes/pve1/qemu/{vmid}/config?current=1",
                self.sim.api_url()
            ))
            .header("Authorization", self.sim.authorization())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"]["net0"].as_str().unwrap().to_string()
    }

    async fn running(&self, vmid: u32) -> bool {
        self.control("GET", &format!("/truth?vmid={vmid}")).await["guests"][vmid.to_string()]
            ["running"]
            .as_bool()
            .unwrap()
    }

    /// Runs a command of the binary to completion against this world.
    fn command(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", self.cfg.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all, &[("PVE_API_TOKEN_SECRET", self.sim.token_secret())])
    }

    /// Starts `run` (plus `extra` arguments) as a daemon; its log goes to a file in the
    /// world's directory (shown when a wait times out).
    fn spawn(&self, extra: &[&str]) -> Daemon {
        let log_path = self.dir.path().join("enforcer.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(EXE)
            .args([
                "--config",
                self.cfg.to_str().unwrap(),
                "--log-format",
                "json",
                "run",
            ])
            .args(extra)
            .env_remove("PVE_API_TOKEN_ID")
            .env_remove("PVE_TRAFFIC_CONFIG")
            .env("PVE_API_TOKEN_SECRET", self.sim.token_secret())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Daemon {
            child,
            base: format!("http://127.0.0.1:{}", self.port),
            log: log_path,
        }
    }
}

/// A running `pve-traffic-enforcer run`; killed when dropped.
struct Daemon {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    }

    /// `/metrics` once it answers 200.
    async fn metrics(&self) -> Option<String> {
        self.get("/metrics")
            .await
            .and_then(|(s, t)| (s == 200).then_some(t))
    }

    /// Waits (bounded) until the daemon has run at least `n` cycles; returns `/metrics`.
    async fn cycles(&self, n: u64) -> String {
        self.eventually(&format!("{n} cycles"), || async {
            let m = self.metrics().await?;
            (sample(&m, "pve_traffic_enforcer_cycles_total")? >= n as f64).then_some(m)
        })
        .await
    }

    /// Waits (bounded, 30 s) until `cond` yields a value, checking every 50 ms; on timeout,
    /// panics with the daemon's log.
    async fn eventually<T, F, Fut>(&self, what: &str, mut cond: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(v) = cond().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("timed out waiting for {what}; enforcer log:\n{log}");
    }

    /// Sends `signal` (`TERM`, `KILL`) and waits (bounded) for the exit.
    async fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit after SIG{signal}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The value of the first sample whose line starts with `prefix` followed by a space.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// `promtool check metrics` on `text`: passes, or panics with its complaints.
fn promtool_check(exposition: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\non:\n{exposition}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_shows_the_would_be_action_and_writes_nothing() {
    let rules = "  - { name: monthly, period: month, limit: 10MB, direction: rx, action: disconnect, vm_ids: [100, 101] }\n";
    let mut w = World::start(rules).await;
    w.advance_and_poll(60).await; // guest 100: 60 MB of 10 MB; guest 101: 60 KB
    let before = w.net0(100).await;
    let seq = w.last_seq().await;

    let out = w.command(&["plan"]);
    assert!(out.status.success(), "{out:?}");
    let plan = text(&out.stdout);
    let header = plan.lines().next().unwrap();
    for col in [
        "guest", "rule", "used", "limit", "current", "desired", "action",
    ] {
        assert!(header.contains(col), "{plan}");
    }
    let row = |vmid: &str| {
        plan.lines()
            .find(|l| l.split_whitespace().next() == Some(vmid))
            .unwrap_or_else(|| panic!("no row for guest {vmid} in\n{plan}"))
    };
    let over = row("100");
    assert!(over.contains("monthly"), "{plan}");
    assert!(
        over.split_whitespace()
            .filter(|c| c.starts_with("disconnect"))
            .count()
            >= 2,
        "desired and action are disconnect: {plan}"
    );
    let under = row("101");
    assert!(
        under.contains("monthly") && !under.contains("disconnect"),
        "{plan}"
    );

    // Without the token secret: the same decisions from the store alone, PVE not asked.
    let requests = w.sim.requests().await.len();
    let all = ["--config", w.cfg.to_str().unwrap(), "plan"];
    let offline = run(&all, &[]);
    assert!(offline.status.success(), "{offline:?}");
    assert!(
        text(&offline.stderr).contains("no token secret"),
        "{offline:?}"
    );
    let offline_plan = text(&offline.stdout);
    let columns = |plan: &str, vmid: &str| -> Vec<String> {
        let line = plan
            .lines()
            .find(|l| l.split_whitespace().next() == Some(vmid))
            .unwrap_or_else(|| panic!("no row for guest {vmid} in\n{plan}"));
        line.split("  ")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    for vmid in ["100", "101"] {
        let (online, offline) = (columns(&plan, vmid), columns(&offline_plan, vmid));
        // guest, rule, period, used, limit, %, current, desired agree; only the action differs.
        assert_eq!(online[..8], offline[..8], "{plan}\n{offline_plan}");
        assert!(offline[8].contains("token secret"), "{offline_plan}");
    }
    assert_eq!(
        w.sim.requests().await.len(),
        requests,
        "plan without the secret asked PVE"
    );

    assert_eq!(w.writes_since(seq).await, Vec::<String>::new());
    assert_eq!(w.net0(100).await, before);
    let status = w.command(&["status"]);
    assert_eq!(text(&status.stdout), "no guest is enforced\n", "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_disconnects_once_serves_metrics_and_restarts_without_reapplying() {
    let rules = "  - { name: monthly, period: month, limit: 10MB, direction: rx, action: disconnect, vm_ids: [100] }\n";
    let mut w = World::start(rules).await;
    w.advance_and_poll(60).await;
    let before = w.net0(100).await;
    assert!(!before.contains("link_down"), "{before}");
    let seq = w.last_seq().await;

    let mut d = w.spawn(&[]);
    d.eventually("net0 link_down=1", || async {
        w.net0(100).await.contains("link_down=1").then_some(())
    })
    .await;
    // The stats are published after the cycle's writes: wait for them.
    let m = d
        .eventually("the disconnect in /metrics", || async {
            let m = d.metrics().await?;
            m.contains("pve_traffic_enforcer_guests_enforced{")
                .then_some(m)
        })
        .await;
    assert_eq!(
        sample(
            &m,
            "pve_traffic_enforcer_actions_total{action=\"disconnect\",result=\"ok\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pve_traffic_enforcer_guests_enforced{rule=\"monthly\",action=\"disconnect\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pve_traffic_enforcer_guest_enforced{id=\"qemu/100\",rule=\"monthly\",action=\"disconnect\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, "pve_traffic_enforcer_fail_safe"),
        Some(0.0),
        "{m}"
    );
    assert!(!m.contains(w.sim.token_secret()));
    promtool_check(&m);
    let (status, body) = d.get("/healthz").await.unwrap();
    assert_eq!(status, 200, "{body}");

    // A second process on the same database while the daemon runs.
    let out = w.command(&["status"]);
    assert!(out.status.success(), "{out:?}");
    let status = text(&out.stdout);
    let row = status
        .lines()
        .find(|l| l.split_whitespace().next() == Some("100"))
        .unwrap_or_else(|| panic!("guest 100 not listed:\n{status}"));
    assert!(
        row.split_whitespace().nth(1) == Some("disconnect") && row.contains("monthly"),
        "{status}"
    );

    // A few more cycles change nothing; SIGTERM stops it cleanly.
    d.cycles(sample(&m, "pve_traffic_enforcer_cycles_total").unwrap() as u64 + 2)
        .await;
    assert_eq!(d.signal("TERM").await.code(), Some(0));
    let writes = w.writes_since(seq).await;
    assert_eq!(writes, ["PUT /nodes/pve1/qemu/100/config"], "one write");
    let disconnected = w.net0(100).await;
    assert!(disconnected.contains("link_down=1"), "{disconnected}");
    drop(d);

    // Restarted after SIGTERM, then after SIGKILL: the penalty stays, nothing is re-applied.
    // The exporter keeps recording (nothing moves now: the link is down).
    let seq = w.last_seq().await;
    for how in ["KILL", "TERM"] {
        w.advance_and_poll(10).await;
        let mut d = w.spawn(&[]);
        let m = d.cycles(3).await;
        assert_eq!(
            sample(
                &m,
                "pve_traffic_enforcer_guests_enforced{rule=\"monthly\",action=\"disconnect\"}"
            ),
            Some(1.0),
            "{m}"
        );
        assert!(!m.contains("pve_traffic_enforcer_actions_total{"), "{m}");
        assert_eq!(
            sample(&m, "pve_traffic_enforcer_fail_safe"),
            Some(0.0),
            "{m}"
        );
        let st = d.signal(how).await;
        if how == "TERM" {
            assert_eq!(st.code(), Some(0));
        }
    }
    assert_eq!(w.writes_since(seq).await, Vec::<String>::new());
    assert_eq!(w.net0(100).await, disconnected);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_dry_run_writes_nothing() {
    let rules = "  - { name: monthly, period: month, limit: 10MB, direction: rx, action: stop, vm_ids: [100] }\n";
    let mut w = World::start(rules).await;
    w.advance_and_poll(60).await;
    let seq = w.last_seq().await;

    let mut d = w.spawn(&["--dry-run"]);
    let m = d.cycles(3).await;
    assert_eq!(
        sample(&m, "pve_traffic_enforcer_fail_safe"),
        Some(0.0),
        "{m}"
    );
    assert!(
        m.contains("pve_traffic_enforcer_actions_total{action=\"stop\","),
        "the stop was decided: {m}"
    );
    assert!(
        !m.contains("pve_traffic_enforcer_guests_enforced{"),
        "nothing enforced: {m}"
    );
    assert_eq!(d.signal("TERM").await.code(), Some(0));
    // A stop task would finish within a simulated second.
    w.control("POST", "/advance?seconds=10").await;
    assert_eq!(w.writes_since(seq).await, Vec::<String>::new());
    assert!(w.running(100).await);
    let status = w.command(&["status"]);
    assert_eq!(text(&status.stdout), "no guest is enforced\n", "{status:?}");
}

/// SIGHUP reloads the rules: a limit tightened in the file while the daemon runs is enforced
/// without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_rules() {
    let mut w =
        World::start("  - { name: monthly, period: month, limit: 1TB, action: disconnect }\n")
            .await;
    w.advance_and_poll(60).await;
    let d = w.spawn(&[]);
    d.cycles(2).await;
    assert!(!w.net0(100).await.contains("link_down=1"), "under 1 TB");
    let tightened = std::fs::read_to_string(&w.cfg)
        .unwrap()
        .replace("limit: 1TB", "limit: 10MB");
    std::fs::write(&w.cfg, tightened).unwrap();
    let pid = d.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    d.eventually("the disconnect after the reload", || async {
        w.net0(100).await.contains("link_down=1").then_some(())
    })
    .await;
}
