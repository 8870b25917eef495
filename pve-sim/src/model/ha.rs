//! High availability: guests managed by pve-ha-manager.
//!
//! For an HA-managed guest, PVE's start, stop and shutdown API calls do not touch the guest:
//! they fork an `hastart` or `hastop` task that only records a request (`ha-manager set
//! --state started`, `ha-manager crm-command stop <timeout>`) and ends OK at once. The
//! cluster resource manager (CRM) picks the request up in its next round, moves the
//! service through a request state, and the node's local resource manager (LRM) acts on the
//! guest. A client that waits for the task therefore learns nothing about the guest: it
//! must wait for the guest's state.
//!
//! The simulator runs one CRM round [`HA_ROUND_SECS`] simulated seconds after each change:
//! - start: `stopped` → (round 1) `request_start` → (round 2) `started`, the guest starts;
//! - stop: `started` → (round 1) `request_stop`, the guest stops → (round 2) `stopped`.
//!
//! So a start shows in the guest's state 20 s after the request, a stop 10 s after it. The
//! LRM also keeps a `started` service running: a guest that is stopped out of band is
//! started again at the next round, and a guest started out of band while its service is
//! `stopped` is stopped again. `hastate` in `/cluster/resources` is the CRM's service state,
//! or the requested state from `resources.cfg` while the CRM has not seen the resource yet.

use super::{Cluster, Timer};

/// Seconds between a change and the CRM round that handles it (the CRM and LRM loops run
/// about every 10 s).
pub const HA_ROUND_SECS: u64 = 10;

/// The state an operator requests in `resources.cfg` (also the scenario's `ha` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HaRequest {
    /// `state: started`.
    Started,
    /// `state: stopped`.
    Stopped,
}

impl HaRequest {
    /// Parses `started` or `stopped`.
    pub fn parse(s: &str) -> Result<HaRequest, String> {
        match s {
            "started" => Ok(HaRequest::Started),
            "stopped" => Ok(HaRequest::Stopped),
            other => Err(format!(
                "unknown HA state '{other}': expected started or stopped"
            )),
        }
    }
}

/// The CRM's service state (a subset of pve-ha-manager's: no fencing, migration, errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceState {
    /// Stopped and meant to stay so.
    Stopped,
    /// A start was requested; the next round marks it started.
    RequestStart,
    /// Running and kept running.
    Started,
    /// A stop was requested; the LRM stops the guest.
    RequestStop,
}

impl ServiceState {
    /// The name `hastate` shows.
    pub fn name(self) -> &'static str {
        match self {
            ServiceState::Stopped => "stopped",
            ServiceState::RequestStart => "request_start",
            ServiceState::Started => "started",
            ServiceState::RequestStop => "request_stop",
        }
    }
}

/// A guest's HA resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HaResource {
    /// The requested state.
    pub request: HaRequest,
    /// The CRM's state; `None` until the CRM has seen the resource.
    pub service: Option<ServiceState>,
    /// Whether a CRM round for this guest is scheduled.
    round_due: bool,
}

impl HaResource {
    /// A resource in its steady state (as a scenario declares it).
    pub fn settled(request: HaRequest) -> HaResource {
        let service = match request {
            HaRequest::Started => ServiceState::Started,
            HaRequest::Stopped => ServiceState::Stopped,
        };
        HaResource {
            request,
            service: Some(service),
            round_due: false,
        }
    }

    /// `hastate` as `/cluster/resources` shows it.
    pub fn hastate(&self) -> &'static str {
        match (self.service, self.request) {
            (Some(s), _) => s.name(),
            (None, HaRequest::Started) => "started",
            (None, HaRequest::Stopped) => "stopped",
        }
    }

    /// The state the next CRM round moves the service to.
    fn next(&self) -> ServiceState {
        use ServiceState as S;
        match (self.service, self.request) {
            (None | Some(S::Stopped), HaRequest::Started) => S::RequestStart,
            (None | Some(S::Stopped) | Some(S::RequestStop), HaRequest::Stopped) => S::Stopped,
            (Some(S::RequestStart), _) | (Some(S::Started), HaRequest::Started) => S::Started,
            (Some(S::Started), HaRequest::Stopped) => S::RequestStop,
            (Some(S::RequestStop), HaRequest::Started) => S::Stopped,
        }
    }

    /// Whether the service has reached what was requested.
    fn settled_at(&self, service: ServiceState) -> bool {
        matches!(
            (service, self.request),
            (ServiceState::Started, HaRequest::Started)
                | (ServiceState::Stopped, HaRequest::Stopped)
        )
    }
}

impl Cluster {
    /// Puts a guest under HA with `request`, or changes its requested state (`ha-manager
    /// add` / `set`); the CRM acts at its next round.
    pub fn ha_request(&mut self, vmid: u32, request: HaRequest) -> Result<(), String> {
        let g = self
            .guests
            .get_mut(&vmid)
            .ok_or_else(|| format!("no guest with VMID {vmid}"))?;
        let ha = g.ha.get_or_insert(HaResource {
            request,
            service: None,
            round_due: false,
        });
        ha.request = request;
        self.ha_wake(vmid);
        Ok(())
    }

    /// Takes a guest out of HA (`ha-manager remove`); the guest keeps its state.
    pub fn ha_remove(&mut self, vmid: u32) -> Result<(), String> {
        let g = self
            .guests
            .get_mut(&vmid)
            .ok_or_else(|| format!("no guest with VMID {vmid}"))?;
        g.ha.take()
            .map(|_| ())
            .ok_or_else(|| format!("guest {vmid} is not HA-managed"))
    }

    /// Schedules a CRM round for `vmid` unless one is due already (no-op without HA).
    pub(super) fn ha_wake(&mut self, vmid: u32) {
        let Some(ha) = self.guests.get_mut(&vmid).and_then(|g| g.ha.as_mut()) else {
            return;
        };
        if !ha.round_due {
            ha.round_due = true;
            self.schedule(Timer::HaRound(vmid), HA_ROUND_SECS);
        }
    }

    /// One CRM round for `vmid`: the service moves one state on, the LRM makes the guest
    /// follow it, and another round is scheduled until the request is met.
    pub(super) fn ha_round(&mut self, vmid: u32) {
        let now = self.now_ms();
        let pid = self.next_pid();
        let Some(g) = self.guests.get_mut(&vmid) else {
            return;
        };
        let Some(ha) = g.ha.as_mut() else {
            return;
        };
        ha.round_due = false;
        let service = ha.next();
        ha.service = Some(service);
        let settled = ha.settled_at(service);
        match service {
            ServiceState::Started if !g.is_running() && !g.is_template() => {
                g.checkpointed = false;
                g.apply_pending();
                g.start_process(now, pid);
            }
            ServiceState::RequestStop | ServiceState::Stopped if g.is_running() => {
                g.stop_process(now);
            }
            _ => {}
        }
        if !settled {
            self.ha_wake(vmid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_request_passes_request_start_and_a_stop_request_request_stop() {
        let mut ha = HaResource::settled(HaRequest::Stopped);
        ha.request = HaRequest::Started;
        let mut seen = Vec::new();
        while !ha.service.is_some_and(|s| ha.settled_at(s)) || seen.is_empty() {
            let s = ha.next();
            ha.service = Some(s);
            seen.push(s.name());
        }
        assert_eq!(seen, ["request_start", "started"]);
        ha.request = HaRequest::Stopped;
        assert_eq!(ha.next().name(), "request_stop");
        ha.service = Some(ha.next());
        assert_eq!(ha.next().name(), "stopped");
    }

    #[test]
    fn an_unseen_resource_shows_its_requested_state() {
        let ha = HaResource {
            request: HaRequest::Started,
            service: None,
            round_due: false,
        };
        assert_eq!(ha.hastate(), "started");
        assert_eq!(ha.next(), ServiceState::RequestStart);
    }
}
