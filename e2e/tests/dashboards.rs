//! The Grafana dashboards and Prometheus rules under `dashboards/`, proven three ways:
//!
//! - **lint**: every dashboard JSON is importable as is (built-in panels, schemaVersion 39–41,
//!   stable unique uids, unique panel ids), every panel and query goes through the `datasource`
//!   variable, byte and rate panels carry a unit, and no query pins an instance;
//! - **promtool**: `promtool check rules` and the unit tests of `dashboards/tests/rules_test.yml`
//!   (every alert fires when it should and stays quiet when it should, across a counter reset);
//! - **a real Prometheus**: pve-sim, the exporter and the enforcer in process, Debian's
//!   `prometheus` scraping both every second with the rules loaded; once a few scrapes are in,
//!   every panel query of every dashboard, its template variables filled in, returns at least
//!   one series, every rule evaluates without error and the quota alert names the guest.
//!
//! `promtool` and `prometheus` come from Debian's `prometheus` package
//! (`scripts/install-test-deps`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pve_sim::testkit::TestSim;
use pve_sim::{ClockMode, Options, Scenario};
use serde_json::Value;

/// The workspace root (this crate lives in `e2e/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every `dashboards/*.json`, with its file name, sorted.
fn dashboards() -> Vec<(String, Value)> {
    let dir = root().join("dashboards");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            json,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The panels of a dashboard, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The PromQL expressions of a panel.
fn exprs(panel: &Value) -> Vec<&str> {
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expr"].as_str())
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

// ------------------------------------------------------------------------------------- lint

/// Panel types every Grafana has (no plugin to install).
const BUILT_IN_PANELS: &[&str] = &["timeseries", "stat", "table", "bargauge", "gauge"];
const BYTE_UNITS: &[&str] = &["bytes", "decbytes"];
const BYTE_RATE_UNITS: &[&str] = &["binBps", "Bps", "decBps"];

/// Whether a panel or target datasource is the `datasource` variable.
fn uses_datasource_variable(ds: &Value) -> bool {
    let uid = match ds {
        Value::Object(_) => str_of(ds, "uid"),
        Value::String(s) => s,
        _ => "",
    };
    matches!(uid, "${datasource}" | "$datasource")
}

/// What an expression measures, for the unit check: a byte rate, a byte amount, or
/// something else (a ratio, a comparison, a count, a time).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Measure {
    ByteRate,
    Bytes,
    Other,
}

fn measure(expr: &str) -> Measure {
    if expr.contains(" / ") || expr.contains(" bool ") || !expr.contains("_bytes") {
        Measure::Other
    } else if expr.contains("rate(") && !expr.contains("clamp_min") {
        Measure::ByteRate
    } else {
        Measure::Bytes
    }
}

/// A `host:port` (or an IP) written into an expression.
fn hard_coded_address(expr: &str) -> Option<String> {
    if expr.contains("localhost") || expr.contains("127.0.0.1") {
        return Some("localhost".into());
    }
    let b = expr.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c != b':' || i == 0 {
            continue;
        }
        let before = b[i - 1];
        let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
        let after = b.get(i + 1 + digits).copied().unwrap_or(b' ');
        if (before.is_ascii_alphanumeric() || before == b'.' || before == b'-')
            && (2..=5).contains(&digits)
            && !after.is_ascii_alphanumeric()
        {
            return Some(expr[i.saturating_sub(20)..(i + 1 + digits)].to_string());
        }
    }
    None
}

#[test]
fn lint_dashboards() {
    let all = dashboards();
    let names: BTreeSet<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "traffic-overview.json",
        "guest.json",
        "quotas-enforcement.json",
    ] {
        assert!(names.contains(want), "dashboards/{want} is missing");
    }
    let mut problems = Vec::new();
    let mut uids = BTreeMap::new();
    for (file, d) in &all {
        let mut fail = |msg: String| problems.push(format!("{file}: {msg}"));
        let uid = str_of(d, "uid");
        if uid.is_empty() || uid.len() > 40 {
            fail(format!("uid {uid:?} must be set, at most 40 characters"));
        }
        if let Some(other) = uids.insert(uid.to_string(), file.clone()) {
            fail(format!("uid {uid:?} is also used by {other}"));
        }
        if str_of(d, "title").is_empty() {
            fail("no title".into());
        }
        let schema = d["schemaVersion"].as_u64().unwrap_or(0);
        if !(39..=41).contains(&schema) {
            fail(format!("schemaVersion {schema}, expected 39..=41"));
        }
        if !d["id"].is_null() {
            fail("`id` must be null so that import and provisioning assign one".into());
        }
        let vars = d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match vars.iter().find(|v| v["name"] == "datasource") {
            Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
            _ => fail("no `datasource` variable of type datasource (prometheus)".into()),
        }
        for v in &vars {
            if v["type"] == "query" && !uses_datasource_variable(&v["datasource"]) {
                fail(format!(
                    "variable {} does not use the datasource variable",
                    v["name"]
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for p in panels(d) {
            let title = str_of(p, "title");
            let ptype = str_of(p, "type");
            let mut fail = |msg: String| problems.push(format!("{file}: panel {title:?}: {msg}"));
            if title.is_empty() {
                fail("no title".into());
            }
            if !BUILT_IN_PANELS.contains(&ptype) {
                fail(format!("type {ptype:?} is not one of {BUILT_IN_PANELS:?}"));
            }
            match p["id"].as_u64() {
                Some(id) if !ids.insert(id) => fail(format!("duplicate panel id {id}")),
                Some(_) => {}
                None => fail("no numeric id".into()),
            }
            if !p["gridPos"].is_object() {
                fail("no gridPos".into());
            }
            if !uses_datasource_variable(&p["datasource"]) {
                fail(format!(
                    "datasource {} is not the datasource variable",
                    p["datasource"]
                ));
            }
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                fail("no queries".into());
            }
            for t in &targets {
                let expr = str_of(t, "expr");
                if expr.trim().is_empty() {
                    fail(format!("target {} has no expr", t["refId"]));
                }
                if !uses_datasource_variable(&t["datasource"]) {
                    fail(format!(
                        "target {} datasource {} is not the datasource variable",
                        t["refId"], t["datasource"]
                    ));
                }
                if expr.contains("instance=") || expr.contains("instance =") {
                    fail(format!("hard-coded instance in {expr}"));
                }
                if let Some(addr) = hard_coded_address(expr) {
                    fail(format!("hard-coded address {addr:?} in {expr}"));
                }
            }
            let unit = str_of(&p["fieldConfig"]["defaults"], "unit");
            if unit.is_empty() {
                fail("fieldConfig.defaults.unit is not set".into());
            }
            let measures: BTreeSet<_> = exprs(p)
                .into_iter()
                .map(|e| format!("{:?}", measure(e)))
                .collect();
            let only = |m: Measure| measures.len() == 1 && measures.contains(&format!("{m:?}"));
            if only(Measure::Bytes) && !BYTE_UNITS.contains(&unit) {
                fail(format!("shows bytes but its unit is {unit:?}"));
            }
            if only(Measure::ByteRate) && !BYTE_RATE_UNITS.contains(&unit) {
                fail(format!("shows a byte rate but its unit is {unit:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn lint_recognises_addresses_and_measures() {
    assert_eq!(hard_coded_address("rate(x[5m:1m])"), None);
    assert_eq!(hard_coded_address("pve_traffic:quota_usage:ratio"), None);
    assert!(hard_coded_address(r#"up{job="x",host="pve1:9811"}"#).is_some());
    assert!(hard_coded_address(r#"up{target="10.0.0.1:9100"}"#).is_some());
    assert_eq!(
        measure("sum(rate(pve_traffic_receive_bytes_total[5m]))"),
        Measure::ByteRate
    );
    assert_eq!(
        measure("sum(pve_traffic_period_receive_bytes)"),
        Measure::Bytes
    );
    assert_eq!(
        measure("pve_traffic_quota_used_bytes / pve_traffic_quota_limit_bytes"),
        Measure::Other
    );
}

// --------------------------------------------------------------------------------- promtool

/// Runs a Debian `prometheus` package binary; a missing binary says how to get it.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed: run scripts/install-test-deps (Debian package `prometheus`)"
    );
    let mut cmd = Command::new(name);
    cmd.current_dir(root());
    cmd
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let mut check = tool("promtool");
    check.args(["check", "rules", "dashboards/pve-traffic.rules.yml"]);
    run_ok(check);
    let mut test = tool("promtool");
    test.args(["test", "rules", "dashboards/tests/rules_test.yml"]);
    run_ok(test);
}

/// The example scrape config is valid once its rule file path points at the real file.
#[test]
fn promtool_checks_the_example_scrape_config() {
    let text = std::fs::read_to_string(root().join("deploy/prometheus/prometheus.yml")).unwrap();
    let installed = "/etc/prometheus/rules/pve-traffic.rules.yml";
    assert!(
        text.contains(installed),
        "rule_files should name {installed}"
    );
    let rules = root().join("dashboards/pve-traffic.rules.yml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, text.replace(installed, rules.to_str().unwrap())).unwrap();
    let mut check = tool("promtool");
    check.arg("check").arg("config").arg(&path);
    run_ok(check);
}

// ------------------------------------------------------------------- against a real Prometheus

/// web1 moves 200 kB/s down (12 MB per real second at the simulator's 60× speed) and crosses
/// its 2 MB daily quota at once: the enforcer disconnects it. ct-db moves little; idle is
/// stopped. No `start_time`: simulated time starts at the wall clock, which is what the
/// exporter and the enforcer record and judge by.
const SCENARIO: &str = r#"
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    tags: "tenant;web"
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 200000, tx_rate: 20000, shaped: false }
  - vmid: 101
    type: lxc
    node: pve2
    name: ct-db
    tags: tenant
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp", rx_rate: 5000, tx_rate: 3000, shaped: false }
  - vmid: 102
    type: qemu
    node: pve2
    name: idle
    status: stopped
    nics:
      - { config: "virtio=BC:24:11:00:02:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 1000 }
"#;

/// What Grafana would put in place of a template variable.
fn fill_variables(expr: &str, guest: &str) -> String {
    let filled = expr
        .replace("$__rate_interval", "30s")
        .replace("${__rate_interval}", "30s")
        .replace("$__interval", "5s")
        .replace("$__range", "5m")
        .replace("${guest}", guest)
        .replace("$guest", guest);
    assert!(
        !filled.contains('$'),
        "unknown template variable in {expr}: teach fill_variables about it"
    );
    filled
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `prometheus` process, killed when dropped (also when the test panics).
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Prometheus {
    fn start(dir: &Path, exporter: u16, enforcer: u16) -> Prometheus {
        let rules = root().join("dashboards/pve-traffic.rules.yml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: pve-traffic-exporter\n    static_configs: [{{ targets: [\"127.0.0.1:{exporter}\"] }}]\n  - job_name: pve-traffic-enforcer\n    static_configs: [{{ targets: [\"127.0.0.1:{enforcer}\"] }}]\n",
            rules = rules.display()
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let log = dir.join("prometheus.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = tool("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            http: reqwest::Client::new(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /api/v1/<path>`'s `data`, or why not.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let resp = self
            .http
            .get(format!("{}/api/v1/{path}", self.url))
            .query(query)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        Ok(body["data"].clone())
    }

    /// The series an instant query returns.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("query", &[("query", expr)]).await?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// The first value of an instant query, if any.
    async fn scalar(&self, expr: &str) -> Option<f64> {
        let series = self.query(expr).await.ok()?;
        series.first()?["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the test is waiting for at once, so a timeout names what was missing.
async fn ready(prom: &Prometheus) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if prom
        .scalar("min(count_over_time(up[1m]))")
        .await
        .is_none_or(|n| n < 5.0)
    {
        missing.push("five scrapes of both targets");
    }
    if prom
        .scalar("max(pve_traffic_quota_used_bytes)")
        .await
        .is_none_or(|v| v <= 0.0)
    {
        missing.push("quota usage");
    }
    for (what, expr) in [
        ("an enforced guest", "pve_traffic_enforcer_guests_enforced"),
        ("an enforcer action", "pve_traffic_enforcer_actions_total"),
        (
            "the projection recording rule",
            "pve_traffic:quota_projected_bytes",
        ),
    ] {
        if prom.query(expr).await.map_or(true, |s| s.is_empty()) {
            missing.push(what);
        }
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_returns_series_from_a_real_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::from_yaml(SCENARIO).unwrap();
    let mut opts = Options::for_tests(scenario);
    // Traffic flows on its own, 60 simulated seconds per real second.
    opts.clock = ClockMode::RealTime { speed: 60.0 };
    let sim = TestSim::with_options(opts).await;

    // The daemons get listeners bound here, on ports the kernel picked: no port can be taken
    // by someone else between choosing it and binding it.
    let listener = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        l
    };
    let (exporter_listener, enforcer_listener) = (listener(), listener());
    let exporter_port = exporter_listener.local_addr().unwrap().port();
    let enforcer_port = enforcer_listener.local_addr().unwrap().port();
    let text = format!(
        "pve:\n  url: {url}\n  token_id: \"{id}\"\n  token_secret: \"{secret}\"\n  timeout_seconds: 2\n  tls:\n    fingerprint: \"{fp}\"\nmonitor:\n  interval_seconds: 1\nstorage:\n  dsn: {db}\nexporter:\n  listen: 127.0.0.1:{exporter_port}\nenforcer:\n  listen: 127.0.0.1:{enforcer_port}\n  interval_seconds: 1\nrules:\n  - {{ name: monthly, period: month, limit: 1TB, action: notify, vm_tags: [tenant] }}\n  - {{ name: daily_small, period: day, limit: 2MB, action: disconnect, vm_ids: [100] }}\n",
        url = sim.base_url(),
        id = sim.token_id(),
        secret = sim.token_secret(),
        fp = sim.fingerprint().unwrap(),
        db = dir.path().join("traffic.db").display(),
    );
    let config_path = dir.path().join("config.yaml");
    std::fs::write(&config_path, &text).unwrap();
    let config = pve_traffic_core::config::load(&config_path, &|_| None)
        .unwrap_or_else(|e| panic!("test config does not load: {e}\n{text}"))
        .config;

    // Each daemon on its own thread and single-threaded runtime, as its binary runs it (their
    // futures hold SQLite connections and are not `Send`).
    let (stop_exporter, exporter_stopped) = tokio::sync::oneshot::channel::<()>();
    let exporter_config = config.clone();
    let exporter = std::thread::spawn(move || {
        pve_traffic_core::daemon::runtime()
            .unwrap()
            .block_on(async {
                let listener = tokio::net::TcpListener::from_std(exporter_listener).unwrap();
                let (_reload, reload_rx) = tokio::sync::mpsc::channel(1);
                pve_traffic_exporter::serve(
                    exporter_config,
                    listener,
                    async {
                        let _ = exporter_stopped.await;
                    },
                    reload_rx,
                )
                .await
            })
            .map_err(|e| e.to_string())
    });
    let (stop_enforcer, enforcer_stopped) = tokio::sync::oneshot::channel::<()>();
    let enforcer = std::thread::spawn(move || {
        let (_reload, reload_rx) = tokio::sync::mpsc::channel(1);
        pve_traffic_core::daemon::runtime()
            .unwrap()
            .block_on(async {
                let listener = tokio::net::TcpListener::from_std(enforcer_listener).unwrap();
                pve_traffic_enforcer::serve(
                    config,
                    false,
                    listener,
                    async {
                        let _ = enforcer_stopped.await;
                    },
                    reload_rx,
                )
                .await
            })
            .map_err(|e| e.to_string())
    });

    let prom = Prometheus::start(dir.path(), exporter_port, enforcer_port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing = ready(&prom).await;
        if missing.is_empty() {
            break;
        }
        if Instant::now() >= deadline || exporter.is_finished() || enforcer.is_finished() {
            let outcome = |h: std::thread::JoinHandle<Result<(), String>>| {
                if h.is_finished() {
                    format!("{:?}", h.join())
                } else {
                    "running".to_string()
                }
            };
            panic!(
                "Prometheus still lacks: {}\nexporter: {}\nenforcer: {}\nprometheus log:\n{}",
                missing.join(", "),
                outcome(exporter),
                outcome(enforcer),
                prom.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every panel query of every dashboard returns at least one series.
    let mut empty = Vec::new();
    let mut checked = 0;
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for expr in exprs(p) {
                let q = fill_variables(expr, "web1");
                checked += 1;
                match prom.query(&q).await {
                    Ok(series) if !series.is_empty() => {}
                    Ok(_) => empty.push(format!(
                        "{file} ({}) / panel {:?}: no series for\n    {q}",
                        str_of(&d, "title"),
                        str_of(p, "title")
                    )),
                    Err(e) => empty.push(format!(
                        "{file} ({}) / panel {:?}: query failed: {e}\n    {q}",
                        str_of(&d, "title"),
                        str_of(p, "title")
                    )),
                }
            }
        }
    }
    assert!(
        empty.is_empty(),
        "{} of {checked} panel queries returned nothing:\n{}",
        empty.len(),
        empty.join("\n")
    );
    // The guest variable's query lists the guests by name.
    let names: BTreeSet<String> = prom
        .api(
            "label/name/values",
            &[("match[]", "pve_traffic_guest_info")],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["ct-db", "idle", "web1"].map(String::from).into(),
        "label_values(pve_traffic_guest_info, name)"
    );

    // Every rule evaluates cleanly against the real series (no many-to-many joins, no
    // errors), and every recording rule records something.
    let groups = prom.api("rules", &[]).await.unwrap();
    let mut recorded = 0;
    for g in groups["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert_eq!(
                r["health"], "ok",
                "rule {} in group {}: {r}",
                r["name"], g["name"]
            );
            if r["type"] == "recording" {
                let name = r["name"].as_str().unwrap();
                let series = prom.query(name).await.unwrap();
                assert!(!series.is_empty(), "recording rule {name} recorded nothing");
                recorded += 1;
            }
        }
    }
    assert!(recorded >= 4, "{groups}");

    // web1 is over its daily quota: the alert is pending (its `for` is longer than this
    // test) and names the guest by name and id; nothing is down.
    let alerts = prom.api("alerts", &[]).await.unwrap();
    let alerts = alerts["alerts"].as_array().unwrap();
    let exceeded = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "PveTrafficQuotaExceeded")
        .unwrap_or_else(|| panic!("no quota alert for web1 in {alerts:?}"));
    assert_eq!(exceeded["labels"]["id"], "qemu/100", "{exceeded}");
    assert_eq!(exceeded["labels"]["rule"], "daily_small", "{exceeded}");
    let summary = exceeded["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Guest web1 (qemu/100) exceeded its quota daily_small"),
        "{summary}"
    );
    for down in [
        "PveTrafficPveUnreachable",
        "PveTrafficExporterDown",
        "PveTrafficEnforcerDown",
        "PveTrafficEnforcerActionsFailing",
    ] {
        assert!(
            !alerts.iter().any(|a| a["labels"]["alertname"] == down),
            "{down} is active in a healthy setup: {alerts:?}"
        );
    }

    drop(prom);
    let _ = stop_exporter.send(());
    let _ = stop_enforcer.send(());
    exporter.join().unwrap().unwrap();
    enforcer.join().unwrap().unwrap();
}
