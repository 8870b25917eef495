//! The simulation every connection shares: the cluster, its clock, the armed faults and the
//! request log behind one lock, with the settings a request needs beside it.
//!
//! Both doors into the simulator hold it: the PVE API in `server` and the `/sim/` control
//! API in `control`; neither has to import the other for it.

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::Clock;
use crate::faults::Faults;
use crate::model::Cluster;
use crate::request_log::RequestLog;

/// Everything a request may touch, behind one lock: no lock is ever held across an
/// `.await`, so a std `Mutex` is the right tool (and the cheapest).
pub(crate) struct Sim {
    /// The cluster.
    pub cluster: Cluster,
    /// The simulated clock the cluster follows.
    pub clock: Clock,
    /// Armed faults.
    pub faults: Faults,
    /// Every PVE API request received.
    pub log: RequestLog,
}

impl Sim {
    /// Brings the cluster up to the clock's time.
    pub fn catch_up(&mut self) {
        let now = self.clock.now_ms();
        self.cluster.advance_to(now);
    }
}

/// Shared by every connection.
pub(crate) struct State {
    /// The simulation.
    pub sim: Mutex<Sim>,
    /// Delay of 401 answers, from the start of the request.
    pub auth_delay: Duration,
    /// Admin token re-added when a scenario is replaced.
    pub admin: crate::model::AdminToken,
}

impl State {
    /// Locks the simulation; a panic in another request must not take the simulator down.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Sim> {
        self.sim
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
