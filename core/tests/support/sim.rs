//! The PVE client tests' part of the harness (`pve_client.rs`, `pve_writes.rs`, each
//! including it with `#[path]`): the workspace's [`TestSim`](pve_sim::testkit::TestSim), and
//! PVE clients trusting it by pin or by CA file.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

pub use pve_sim::testkit::TestSim as Sim;
use pve_traffic_core::fingerprint;
use pve_traffic_core::pve::{Client, ClientOptions};
use pve_traffic_core::secret::Secret;

/// A generated cluster: 12 guests on 2 nodes.
pub async fn generated() -> Sim {
    Sim::start(pve_sim::Scenario::generate(12, 2, 7)).await
}

/// PVE clients of ours for a simulator.
pub trait PveClients {
    /// The simulator's certificate pin.
    fn pin(&self) -> [u8; 32];
    /// Options trusting the simulator by its pin: 5 s timeout, default retries.
    fn opts(&self) -> ClientOptions;
    /// A client from [`PveClients::opts`].
    fn client(&self) -> Client;
    /// A client trusting the simulator's CA (`pve.tls.ca_file`) instead of its pin.
    fn ca_client(&self) -> Client;
}

impl PveClients for Sim {
    fn pin(&self) -> [u8; 32] {
        fingerprint::parse(self.fingerprint().unwrap()).unwrap()
    }

    fn opts(&self) -> ClientOptions {
        let mut o = ClientOptions::new(
            self.base_url(),
            self.token_id(),
            Secret::new(self.token_secret()),
        );
        o.fingerprint = Some(self.pin());
        o.timeout = Duration::from_secs(5);
        o
    }

    fn client(&self) -> Client {
        Client::new(self.opts()).unwrap()
    }

    fn ca_client(&self) -> Client {
        let mut o = self.opts();
        o.fingerprint = None;
        o.ca_file = Some(self.ca_file());
        Client::new(o).unwrap()
    }
}
