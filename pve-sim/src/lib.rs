//! `pve-sim`: a faithful Proxmox VE API simulator that knows the exact truth.
//!
//! No real cluster is reachable from a test run, yet the exporter and the enforcer must be
//! proven against one. This crate is that cluster: it speaks the PVE REST API as PVE 7.4,
//! 8.2, 8.4 and 9.1 serve it, each as its upstream sources (pve-manager, qemu-server,
//! pve-container, pve-access-control, pve-http-server) define it: HTTPS with a self-made CA,
//! API tokens with privilege separation and ACLs, PVE's error conventions down to the reason
//! phrase, tasks that take time, counters that reset when real ones do. It also answers what
//! no real cluster can: how many bytes every guest *really* moved (`/sim/truth`).
//!
//! The layers, each unaware of the ones above it:
//! - [`traffic`]: the byte model, exact under any split of time;
//! - [`model`]: the cluster state on a simulated clock (no I/O);
//! - [`api`]: the PVE API as a pure function of the cluster and a parsed request;
//! - `server` and `control`: HTTP(S), PVE's transport rules, and the `/sim/` control API.
//!   Both hold the shared `state` (the simulation behind one lock) and neither imports the
//!   other.
//!
//! Use it from tests with [`start`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), pve_sim::StartError> {
//! let sim = pve_sim::start(pve_sim::Options::for_tests(pve_sim::Scenario::generate(10, 2, 1))).await?;
//! println!("{} {} {}", sim.api_url(), sim.fingerprint().unwrap_or(""), sim.token_id());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod clock;
mod control;
pub mod error;
pub mod faults;
pub mod model;
pub mod netconf;
pub mod params;
pub mod request_log;
pub mod rrd;
pub mod scenario;
mod server;
mod state;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod traffic;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use clock::ClockMode;
pub use model::AdminToken;
pub use scenario::Scenario;

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct Options {
    /// The cluster.
    pub scenario: Scenario,
    /// Address to listen on (port 0 = any free port).
    pub listen: SocketAddr,
    /// Serve HTTPS (as PVE does) rather than plain HTTP.
    pub tls: bool,
    /// How simulated time passes.
    pub clock: ClockMode,
    /// Delay of 401 answers (PVE: 3 s).
    pub auth_delay: Duration,
    /// A token with full rights, added to the scenario's users.
    pub token: AdminToken,
}

impl Options {
    /// Test defaults: HTTPS on a free loopback port, manual clock, no 401 delay, a random
    /// admin token `root@pam!sim`.
    pub fn for_tests(scenario: Scenario) -> Options {
        Options {
            scenario,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            clock: ClockMode::Manual,
            auth_delay: Duration::ZERO,
            token: AdminToken {
                id: "root@pam!sim".to_string(),
                secret: uuid::Uuid::new_v4().to_string(),
            },
        }
    }
}

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenario is inconsistent; the message names the entry.
    #[error("invalid scenario: {0}")]
    Scenario(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Certificate generation or TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// A running simulator. Dropping it stops the listener.
pub struct RunningSim {
    addr: SocketAddr,
    tls: bool,
    cert: Option<tls::SimCertificate>,
    token: AdminToken,
    state: Arc<state::State>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("addr", &self.addr)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl RunningSim {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://`).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `<base>/api2/json`.
    pub fn api_url(&self) -> String {
        format!("{}/api2/json", self.base_url())
    }

    /// SHA-256 fingerprint of the server certificate (HTTPS only).
    pub fn fingerprint(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.fingerprint.as_str())
    }

    /// PEM of the CA that signed the server certificate (HTTPS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.ca_pem.as_str())
    }

    /// The admin token's id.
    pub fn token_id(&self) -> &str {
        &self.token.id
    }

    /// The admin token's secret.
    pub fn token_secret(&self) -> &str {
        &self.token.secret
    }

    /// The `Authorization` header value for the admin token.
    pub fn authorization(&self) -> String {
        format!("PVEAPIToken={}={}", self.token.id, self.token.secret)
    }

    /// Runs `f` on the cluster, caught up to the clock (for tests that inspect or drive it
    /// directly instead of through `/sim/`).
    pub fn with_cluster<T>(&self, f: impl FnOnce(&mut model::Cluster) -> T) -> T {
        let mut sim = self.state.lock();
        sim.catch_up();
        f(&mut sim.cluster)
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a simulator on the current Tokio runtime.
pub async fn start(opts: Options) -> Result<RunningSim, StartError> {
    let now = clock::wall_clock_ms();
    let mut cluster = model::Cluster::new(&opts.scenario, now, Some(&opts.token))
        .map_err(StartError::Scenario)?;
    let start_ms = cluster.now_ms();
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: opts.listen,
        source,
    })?;
    let (cert, acceptor) = if opts.tls {
        let names: Vec<String> = opts.scenario.nodes.iter().map(|n| n.name.clone()).collect();
        let cert =
            tls::SimCertificate::generate(&names).map_err(|e| StartError::Tls(e.to_string()))?;
        let config = cert
            .server_config()
            .map_err(|e| StartError::Tls(e.to_string()))?;
        cluster.certificate_fingerprint = Some(cert.fingerprint.clone());
        (Some(cert), Some(tokio_rustls::TlsAcceptor::from(config)))
    } else {
        (None, None)
    };
    let state = Arc::new(state::State {
        sim: Mutex::new(state::Sim {
            cluster,
            clock: clock::Clock::new(opts.clock, start_ms),
            faults: faults::Faults::default(),
            log: request_log::RequestLog::default(),
        }),
        auth_delay: opts.auth_delay,
        admin: opts.token.clone(),
    });
    let (tx, rx) = watch::channel(false);
    tokio::spawn(server::run(listener, acceptor, state.clone(), rx));
    Ok(RunningSim {
        addr,
        tls: opts.tls,
        cert,
        token: opts.token,
        state,
        shutdown: tx,
    })
}
