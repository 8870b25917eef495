//! The harness the PVE-client test files share (`pve_client.rs`, `pve_writes.rs`, each
//! including it with `#[path]`): a simulator per test on a free port, a plain HTTPS client
//! for its `/sim/` control API, and PVE clients trusting it by pin or by CA file. Time moves
//! only by `/sim/advance`, never by sleeping.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use pve_sim::{Options, RunningSim, Scenario};
use pve_traffic::fingerprint;
use pve_traffic::pve::{Client, ClientOptions};
use pve_traffic::secret::Secret;
use serde_json::Value;

/// A running simulator and a plain HTTPS client for its `/sim/` control API.
pub struct Sim {
    pub sim: RunningSim,
    control: reqwest::Client,
    /// Holds CA files written for clients that trust the simulator's CA.
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sim {
    /// A generated cluster: 12 guests on 2 nodes.
    pub async fn start() -> Sim {
        Sim::with(Scenario::generate(12, 2, 7)).await
    }

    /// A simulator for the scenario in `yaml`.
    pub async fn yaml(yaml: &str) -> Sim {
        Sim::with(scenario(yaml)).await
    }

    /// A simulator for `scenario`.
    pub async fn with(scenario: Scenario) -> Sim {
        let sim = pve_sim::start(Options::for_tests(scenario))
            .await
            .expect("simulator starts");
        let ca = reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap();
        let control = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "pve-client-test-{}-{}",
            std::process::id(),
            sim.addr().port()
        ));
        Sim { sim, control, dir }
    }

    /// The simulator's certificate pin.
    pub fn pin(&self) -> [u8; 32] {
        fingerprint::parse(self.sim.fingerprint().unwrap()).unwrap()
    }

    /// Options trusting the simulator by its pin: 5 s timeout, default retries.
    pub fn opts(&self) -> ClientOptions {
        let mut o = ClientOptions::new(
            self.sim.base_url(),
            self.sim.token_id(),
            Secret::new(self.sim.token_secret()),
        );
        o.fingerprint = Some(self.pin());
        o.timeout = Duration::from_secs(5);
        o
    }

    /// A client from [`Sim::opts`].
    pub fn client(&self) -> Client {
        Client::new(self.opts()).unwrap()
    }

    /// A client trusting the simulator's CA (`pve.tls.ca_file`) instead of its pin.
    pub fn ca_client(&self) -> Client {
        let mut o = self.opts();
        o.fingerprint = None;
        o.ca_file = Some(self.ca_file("ca.pem"));
        Client::new(o).unwrap()
    }

    /// The CA written to a file of this simulator's directory.
    pub fn ca_file(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(&self.dir).unwrap();
        let path = self.dir.join(name);
        std::fs::write(&path, self.sim.ca_pem().unwrap()).unwrap();
        path
    }

    /// Calls the control API; panics unless it answers 200.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/sim{path}", self.sim.base_url());
        let mut req = self.control.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let value: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    /// Moves simulated time forward.
    pub async fn advance(&self, seconds: u64) {
        let path = format!("/advance?seconds={seconds}");
        self.control(reqwest::Method::POST, &path, None).await;
    }

    /// `/sim/truth` of one guest.
    pub async fn truth(&self, vmid: u32) -> Value {
        let path = format!("/truth?vmid={vmid}");
        let t = self.control(reqwest::Method::GET, &path, None).await;
        t["guests"][vmid.to_string()].clone()
    }

    /// Every PVE API request logged so far.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self.control(reqwest::Method::GET, "/requests", None).await;
        v.as_array().unwrap().clone()
    }

    /// Forgets the request log.
    pub async fn clear_requests(&self) {
        self.control(reqwest::Method::DELETE, "/requests", None)
            .await;
    }

    /// Arms a fault.
    pub async fn fault(&self, fault: Value) {
        self.control(reqwest::Method::POST, "/faults", Some(fault))
            .await;
    }
}

/// A scenario from YAML.
pub fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("bad scenario: {e}"))
}
