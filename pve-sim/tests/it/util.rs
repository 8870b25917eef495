//! The harness every integration test uses: a simulator on a free loopback port over real
//! HTTPS (trusting its CA), a client, and helpers for the PVE and `/sim/` APIs. Time moves
//! only through `/sim/advance`; nothing sleeps.

use pve_sim::{Options, RunningSim, Scenario};
use serde_json::Value;

/// A running simulator and a client that trusts it.
pub struct Harness {
    pub sim: RunningSim,
    pub client: reqwest::Client,
}

/// What an API call answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The whole body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Reply {
    /// The `data` member of the envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `errors.<name>` of a 400.
    pub fn error_for(&self, name: &str) -> &str {
        self.body["errors"][name].as_str().unwrap_or("")
    }
}

/// Parses a YAML scenario, panicking with the parser's message.
pub fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

/// A small fixed cluster most tests use: two nodes; QEMU 100 (running, two NICs, flat
/// 1000/100 B/s and 500/50 B/s), LXC 101 (running, one NIC 2000/200 B/s), QEMU 102 stopped,
/// QEMU 9000 a template; start time 2026-01-01T00:00:00Z.
pub const BASIC: &str = r#"
start_time: 1767225600
nodes:
  - { name: pve1, ip: 192.0.2.11 }
  - { name: pve2, ip: 192.0.2.12 }
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    tags: "prod;web"
    pool: tenant-a
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", rx_rate: 1000, tx_rate: 100, shaped: false }
      - { config: "e1000=BC:24:11:00:00:02,bridge=vmbr1", rx_rate: 500, tx_rate: 50, shaped: false }
  - vmid: 101
    type: lxc
    node: pve2
    name: ct1
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp", rx_rate: 2000, tx_rate: 200, shaped: false }
  - vmid: 102
    type: qemu
    node: pve2
    name: db1
    status: stopped
    nics:
      - { config: "virtio=BC:24:11:00:02:01,bridge=vmbr0", rx_rate: 3000, tx_rate: 300, shaped: false }
  - { vmid: 9000, type: qemu, node: pve1, name: tmpl, template: true, status: stopped }
"#;

impl Harness {
    /// Starts a simulator with test options for `scenario`.
    pub async fn start(scenario: Scenario) -> Harness {
        Harness::start_with(Options::for_tests(scenario)).await
    }

    /// Starts the [`BASIC`] cluster.
    pub async fn basic() -> Harness {
        Harness::start(scenario(BASIC)).await
    }

    /// Starts a simulator with the given options.
    pub async fn start_with(opts: Options) -> Harness {
        let tls = opts.tls;
        let sim = pve_sim::start(opts).await.expect("simulator starts");
        let mut builder = reqwest::Client::builder().use_rustls_tls().no_gzip();
        if tls {
            let ca = reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap();
            builder = builder
                .add_root_certificate(ca)
                .tls_built_in_root_certs(false);
        }
        Harness {
            sim,
            client: builder.build().unwrap(),
        }
    }

    /// A PVE API call with the admin token; `params` go in the query for GET, in a
    /// form-encoded body otherwise.
    pub async fn api(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Reply {
        let auth = self.sim.authorization();
        self.api_as(Some(&auth), method, path, params).await
    }

    /// A PVE API call with the given `Authorization` header (or none).
    pub async fn api_as(
        &self,
        authorization: Option<&str>,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{}", self.sim.api_url(), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method.clone(), url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        req = if method == reqwest::Method::GET {
            req.query(params)
        } else {
            req.form(params)
        };
        let resp = req.send().await.expect("request reaches the simulator");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body }
    }

    /// `GET` with the admin token, asserting 200, returning `data`.
    pub async fn get(&self, path: &str) -> Value {
        let r = self.api("GET", path, &[]).await;
        assert_eq!(r.status, 200, "GET {path}: {:?}", r.body);
        r.body["data"].clone()
    }

    /// A `/sim/` call, returning the JSON answer and the status.
    pub async fn sim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/sim{}", self.sim.base_url(), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Moves simulated time forward.
    pub async fn advance(&self, seconds: u64) {
        let (status, body) = self
            .sim("POST", &format!("/advance?seconds={seconds}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// `/sim/truth`.
    pub async fn truth(&self) -> Value {
        let (status, body) = self.sim("GET", "/truth", None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Follows a task until it stops; returns its final status object. Advances time by one
    /// second per step, at most `max_secs` steps.
    pub async fn wait_task(&self, node: &str, upid: &str, max_secs: u64) -> Value {
        let path = format!("/nodes/{node}/tasks/{}/status", percent_encode(upid));
        for _ in 0..=max_secs {
            let status = self.get(&path).await;
            if status["status"] == "stopped" {
                return status;
            }
            self.advance(1).await;
        }
        panic!("task {upid} still running after {max_secs} s");
    }
}

/// Percent-encodes every byte but unreserved ones (for UPIDs in paths).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
