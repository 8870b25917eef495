//! The end-to-end harness: a pve-sim over HTTPS on loopback (manual clock), an exporter
//! configured against it with the certificate's SHA-256 fingerprint pinned, a fresh SQLite
//! file, and helpers that poll at the simulator's "now" and compare with `/sim/truth`.

use std::path::PathBuf;

use pve_sim::testkit::TestSim;
use pve_traffic_core::config::{self, Config};
use pve_traffic_core::exposition::Format;
use pve_traffic_exporter::cycle::CycleReport;
use pve_traffic_exporter::metrics;
use pve_traffic_exporter::{Exporter, ExporterError};
use serde_json::Value;

/// A simulator and a temporary directory for the database and config.
pub struct Env {
    pub sim: TestSim,
    pub dir: tempfile::TempDir,
}

impl Env {
    /// Starts a simulator for a YAML scenario.
    pub async fn start(yaml: &str) -> Env {
        Env {
            sim: TestSim::yaml(yaml).await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The database path of this environment.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("traffic.db")
    }

    /// A config pinned to the simulator's certificate; `extra` is appended YAML (`monitor`
    /// keys go in `monitor_extra`, rules in `rules`).
    pub fn config(&self, monitor_extra: &str, rules: &str) -> Config {
        let text = format!(
            "pve:\n  url: {url}\n  token_id: \"{id}\"\n  token_secret: \"{secret}\"\n  timeout_seconds: 2\n  tls:\n    fingerprint: \"{fp}\"\nmonitor:\n  interval_seconds: 60\n{monitor_extra}storage:\n  dsn: {db}\nexporter:\n  listen: 127.0.0.1:0\n{rules}",
            url = self.sim.base_url(),
            id = self.sim.token_id(),
            secret = self.sim.token_secret(),
            fp = self.sim.fingerprint().unwrap(),
            db = self.db_path().display(),
        );
        let path = self.dir.path().join("config.yaml");
        std::fs::write(&path, &text).unwrap();
        config::load(&path, &|_| None)
            .unwrap_or_else(|e| panic!("test config does not load: {e}\n{text}"))
            .config
    }

    /// A `/sim/` call; panics unless it succeeds.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.sim.control(method, path, body).await
    }

    /// Moves simulated time.
    pub async fn advance(&self, seconds: u64) {
        self.sim.advance(seconds).await;
    }

    /// Simulated now, epoch ms.
    pub async fn now_ms(&self) -> i64 {
        self.sim.now_ms().await
    }

    /// `/sim/truth` for one guest: `(rx_bytes, tx_bytes)`.
    pub async fn truth(&self, vmid: u32) -> (u64, u64) {
        let g = self.sim.guest_truth(vmid).await;
        (
            g["rx_bytes"].as_u64().unwrap(),
            g["tx_bytes"].as_u64().unwrap(),
        )
    }

    /// One exporter cycle at the simulator's now.
    pub async fn poll(&self, exporter: &mut Exporter) -> Result<CycleReport, ExporterError> {
        let now = self.now_ms().await;
        exporter.poll_once(now).await
    }

    /// Advances and polls `n` times, `step` seconds apart, asserting each poll succeeds.
    pub async fn run(&self, exporter: &mut Exporter, n: usize, step: u64) {
        for _ in 0..n {
            self.advance(step).await;
            self.poll(exporter).await.expect("poll succeeds");
        }
    }

    /// Arms a fault.
    pub async fn fault(&self, kind: &str, count: u32, delay_ms: Option<u64>) {
        let mut f = serde_json::json!({"kind": kind, "count": count});
        if let Some(d) = delay_ms {
            f["delay_ms"] = d.into();
        }
        self.sim.fault(f).await;
    }

    /// Number of PVE API requests the simulator received so far.
    pub async fn request_count(&self) -> usize {
        self.sim.requests().await.len()
    }
}

/// The classic-format `/metrics` text of an exporter.
pub fn metrics_text(exporter: &Exporter) -> String {
    metrics::render(&exporter.snapshot(), Format::Classic)
}

/// The value of the sample `name{labels}` in `text` (labels exactly as rendered).
pub fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

/// Accounted `(rx, tx)` of a guest as `/metrics` shows them.
pub fn totals(exporter: &Exporter, id: &str) -> (u64, u64) {
    let text = metrics_text(exporter);
    let labels = format!("id=\"{id}\"");
    let rx = sample(&text, "pve_traffic_receive_bytes_total", &labels)
        .unwrap_or_else(|| panic!("no receive total for {id} in\n{text}"));
    let tx = sample(&text, "pve_traffic_transmit_bytes_total", &labels).unwrap();
    (rx as u64, tx as u64)
}

/// Two guests with flat and shaped traffic on two nodes, starting 2026-01-01T00:00:00Z.
pub const TWO_GUESTS: &str = r#"
start_time: 1767225600
seed: 3
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    tags: "prod;web"
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000000, tx_rate: 100000 }
      - { config: "virtio=BC:24:11:00:00:02,bridge=vmbr1", rx_rate: 50000, tx_rate: 7000, shaped: false }
  - vmid: 101
    type: lxc
    node: pve2
    name: ct1
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp", rx_rate: 300000, tx_rate: 90000 }
"#;
