//! The one way every crate's tests and benchmarks start a simulator and talk to it (feature
//! `testkit`, for dev-dependencies only).
//!
//! A [`TestSim`] is a [`RunningSim`] on a free loopback port with its own CA, plus an HTTPS
//! client that trusts that CA for the `/sim/` control API. Time moves only when a test says
//! so ([`TestSim::advance`]), never by sleeping. The PVE clients under test are configured by
//! the tests themselves, trusting the simulator by [`RunningSim::fingerprint`] or by the CA
//! file [`TestSim::ca_file`] writes.

use std::ops::Deref;
use std::path::PathBuf;

use serde_json::Value;

use crate::{Options, RunningSim, Scenario};

/// A running simulator, a client for its control API and a directory for its files.
pub struct TestSim {
    sim: RunningSim,
    control: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Deref for TestSim {
    type Target = RunningSim;

    fn deref(&self) -> &RunningSim {
        &self.sim
    }
}

/// A scenario from YAML; panics with the parser's message on a bad one.
pub fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("bad scenario: {e}"))
}

impl TestSim {
    /// A simulator for `scenario`: TLS, manual clock, a random token ([`Options::for_tests`]).
    pub async fn start(scenario: Scenario) -> TestSim {
        TestSim::with_options(Options::for_tests(scenario)).await
    }

    /// A simulator for the scenario in `yaml`.
    pub async fn yaml(yaml: &str) -> TestSim {
        TestSim::start(scenario(yaml)).await
    }

    /// A simulator with options of the caller's (a benchmark's listen address, a clock).
    pub async fn with_options(options: Options) -> TestSim {
        let sim = crate::start(options).await.expect("simulator starts");
        let mut control = reqwest::Client::builder().use_rustls_tls();
        if let Some(pem) = sim.ca_pem() {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the CA parses");
            control = control.add_root_certificate(ca);
        }
        TestSim {
            sim,
            control: control.build().expect("HTTPS client"),
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// The simulator itself.
    pub fn sim(&self) -> &RunningSim {
        &self.sim
    }

    /// An HTTPS client trusting the simulator's CA, for calls of the tests' own.
    pub fn http(&self) -> &reqwest::Client {
        &self.control
    }

    /// The simulator's CA certificate written to a file (for `pve.tls.ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("pve-sim-ca.pem");
        let pem = self.sim.ca_pem().expect("the simulator serves TLS");
        std::fs::write(&path, pem).expect("CA file written");
        path
    }

    /// Calls `/sim{path}`; panics unless the answer is a success.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.try_control(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} /sim{path}: {status} {value}"
        );
        value
    }

    /// Calls `/sim{path}` and returns the status with the JSON answer, whatever they are.
    pub async fn try_control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let url = format!("{}/sim{path}", self.sim.base_url());
        let mut request = self.control.request(method, url);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.expect("the simulator answers");
        let status = response.status().as_u16();
        let value = response.json().await.unwrap_or(Value::Null);
        (status, value)
    }

    /// Moves simulated time forward.
    pub async fn advance(&self, seconds: u64) {
        let path = format!("/advance?seconds={seconds}");
        self.control("POST", &path, None).await;
    }

    /// Simulated now, epoch milliseconds.
    pub async fn now_ms(&self) -> i64 {
        let info = self.control("GET", "/info", None).await;
        info["time_ms"].as_i64().expect("/sim/info has time_ms")
    }

    /// The whole `/sim/truth`.
    pub async fn truth(&self) -> Value {
        self.control("GET", "/truth", None).await
    }

    /// `/sim/truth` of one guest.
    pub async fn guest_truth(&self, vmid: u32) -> Value {
        let path = format!("/truth?vmid={vmid}");
        let truth = self.control("GET", &path, None).await;
        truth["guests"][vmid.to_string()].clone()
    }

    /// Every PVE API request logged so far.
    pub async fn requests(&self) -> Vec<Value> {
        let log = self.control("GET", "/requests", None).await;
        log.as_array().expect("/sim/requests is a list").clone()
    }

    /// Forgets the request log.
    pub async fn clear_requests(&self) {
        self.control("DELETE", "/requests", None).await;
    }

    /// Arms a fault (`{"kind": …, "count": …}`, see `/sim/faults`).
    pub async fn fault(&self, fault: Value) {
        self.control("POST", "/faults", Some(fault)).await;
    }
}
