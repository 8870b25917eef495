//! Power: the PVE power actions (which create tasks), the end of those tasks, and the
//! out-of-band events a test or demo triggers through `/sim/guests/...` (a tenant powering
//! off from inside, a migration, a lock, a QMP state).
//!
//! PVE checks a few things before it creates a task (an LXC container that is already
//! running cannot be started, a paused VM cannot be shut down: HTTP 500), and reports the
//! rest as task failures (a QEMU VM that is already running: the task ends with `VM 100
//! already running`). Which is which follows qemu-server's `PVE/API2/Qemu.pm` and
//! pve-container's `PVE/API2/LXC/Status.pm`; clients must handle both. For an HA-managed
//! guest, start, stop and shutdown only ask the HA manager (see [`super::ha`]).

use super::configure::is_config_key;
use super::guest::net_index;
use super::guest::{Guest, RunState};
use super::ha::HaRequest;
use super::task::Job;
use super::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::netconf::{GuestKind, NetConfig};

/// A power action requested through the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerAction {
    /// `status/start`.
    Start,
    /// `status/stop` with `overrule-shutdown`.
    Stop {
        /// `overrule-shutdown=1`.
        overrule: bool,
    },
    /// `status/shutdown` with `timeout` (default 60) and `forceStop`.
    Shutdown {
        /// Seconds to wait for the guest to power off.
        timeout: Option<u64>,
        /// Stop it if it does not.
        force: bool,
    },
    /// `status/reboot` with `timeout` for its shutdown half (default 60).
    Reboot {
        /// Seconds to wait for the guest to power off.
        timeout: Option<u64>,
    },
    /// `status/suspend`; `todisk` (QEMU) hibernates instead of pausing.
    Suspend {
        /// `todisk=1`.
        todisk: bool,
    },
    /// `status/resume`.
    Resume,
    /// `status/reset` (QEMU only).
    Reset,
}

/// Default shutdown timeout, seconds.
const SHUTDOWN_TIMEOUT: u64 = 60;

impl Cluster {
    /// Runs a power action from the API on behalf of `user` (`user@realm!token`); returns the
    /// task's UPID, or the error PVE raises before creating one.
    pub fn power_action(
        &mut self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        action: PowerAction,
        user: &str,
    ) -> ApiResult<String> {
        let g = self.guest_on(node, kind, vmid)?;
        let running = g.is_running();
        let ha = g.ha.is_some();
        let refuses_shutdown = self.refuses_shutdown(g);
        let ignores_acpi = g.ignore_shutdown || (running && g.is_paused());
        let lxc = kind == GuestKind::Lxc;
        let not_running = || {
            let what = if lxc { "CT" } else { "VM" };
            ApiError::internal(format!("{what} {vmid} not running"))
        };
        let t = self.timing.clone();
        let (job, secs) = match action {
            PowerAction::Start => {
                // pve-container checks "already running" before the quorum.
                if lxc && running {
                    return Err(ApiError::internal(format!("CT {vmid} already running")));
                }
                if !self.quorate() {
                    return Err(ApiError::internal("cluster not ready - no quorum?"));
                }
                if ha {
                    (Job::HaStart, t.other)
                } else {
                    (Job::Start, t.start)
                }
            }
            PowerAction::Stop { overrule } => {
                if lxc && !running {
                    return Err(not_running());
                }
                if ha && overrule {
                    return Err(ApiError::param(
                        "overrule-shutdown",
                        "Not applicable for HA resources.",
                    ));
                }
                if ha {
                    (Job::HaStop, t.other)
                } else {
                    (Job::Stop, t.stop)
                }
            }
            PowerAction::Shutdown { timeout, force } => {
                if lxc && !running {
                    return Err(not_running());
                }
                // qemu-server refuses before HA is considered; with forceStop it stops.
                if refuses_shutdown && !force {
                    return Err(ApiError::internal("VM is paused - cannot shutdown"));
                }
                let timeout = timeout.unwrap_or(SHUTDOWN_TIMEOUT);
                if ha {
                    (Job::HaStop, t.other)
                } else if refuses_shutdown {
                    let job = Job::Shutdown {
                        timeout,
                        force,
                        acpi: false,
                    };
                    (job, t.stop)
                } else {
                    let secs = if ignores_acpi && running {
                        timeout
                    } else {
                        t.shutdown
                    };
                    let job = Job::Shutdown {
                        timeout,
                        force,
                        acpi: true,
                    };
                    (job, secs)
                }
            }
            PowerAction::Reboot { timeout } => {
                if refuses_shutdown {
                    return Err(ApiError::internal("VM is paused - cannot shutdown"));
                }
                if !running {
                    // LXC says "VM" here too (sic).
                    return Err(ApiError::internal(format!("VM {vmid} not running")));
                }
                let secs = if ignores_acpi {
                    timeout.unwrap_or(SHUTDOWN_TIMEOUT)
                } else {
                    t.reboot
                };
                (Job::Reboot, secs)
            }
            PowerAction::Suspend { todisk } => {
                if !running {
                    return Err(not_running());
                }
                if todisk && ha {
                    return Err(ApiError::internal("Cannot suspend HA managed VM to disk"));
                }
                let job = if todisk { Job::Hibernate } else { Job::Suspend };
                (job, t.other)
            }
            PowerAction::Resume => {
                // pve-container resumes a checkpointed (stopped) container: `die "CT $vmid
                // already running"` if it runs. qemu-server continues a running VM.
                match (lxc, running) {
                    (true, true) => {
                        return Err(ApiError::internal(format!("CT {vmid} already running")))
                    }
                    (false, false) => return Err(not_running()),
                    _ => {}
                }
                (Job::Resume, t.other)
            }
            PowerAction::Reset => {
                if !running {
                    return Err(not_running());
                }
                (Job::Reset, t.other)
            }
        };
        Ok(self.spawn_task(node, vmid, job, user, secs))
    }

    /// Whether qemu-server's `vm_is_paused($vmid, 1)` holds: shutdown and reboot refuse the
    /// VM. From qemu-server 8.0.8 on that covers `paused`, `prelaunch` and `suspended`;
    /// before, only `paused` (the others take the ACPI request and time out).
    fn refuses_shutdown(&self, g: &Guest) -> bool {
        match g.run_state() {
            Some(RunState::Paused) => true,
            Some(RunState::Prelaunch | RunState::Suspended) => {
                self.version.refuses_shutdown_when_halted()
            }
            _ => false,
        }
    }

    /// Ends task `upid`: applies its state change and sets its exit status.
    pub(super) fn finish_task(&mut self, upid: &str) {
        let Some(task) = self.tasks.get(upid).cloned() else {
            return;
        };
        let exit = self.apply_job(task.vmid, task.job);
        if let Some(t) = self.tasks.get_mut(upid) {
            t.exitstatus = Some(exit);
        }
    }

    /// Applies a finished task's job to the guest and returns the exit status text.
    fn apply_job(&mut self, vmid: u32, job: Job) -> String {
        // The HA tasks only record a request; `ha-manager` checks no lock.
        let ha_request = match job {
            Job::HaStart => Some(HaRequest::Started),
            Job::HaStop => Some(HaRequest::Stopped),
            _ => None,
        };
        if let Some(request) = ha_request {
            return match self.ha_request(vmid, request) {
                Ok(()) => "OK".to_string(),
                Err(e) => e,
            };
        }
        let now = self.now_ms();
        let pid = self.next_pid();
        let Some(g) = self.guests.get_mut(&vmid) else {
            return format!("VM {vmid} does not exist");
        };
        let (what, vm_or_ct) = match g.kind {
            GuestKind::Qemu => ("VM", "vm"),
            GuestKind::Lxc => ("CT", "CT"),
        };
        // Both start workers check the template flag before the lock.
        if job == Job::Start && g.is_template() {
            return format!("you can't start a {vm_or_ct} if it's a template");
        }
        // A start resumes a hibernated VM despite its `suspended` lock (qemu-server's
        // vm_start skips check_lock then).
        let resumes = job == Job::Start && g.lock() == Some("suspended");
        if job != Job::Config && !resumes {
            if let Some(lock) = g.lock() {
                return format!("{what} is locked ({lock})");
            }
        }
        // A guest that does not react to ACPI: ignores it, or its vCPUs do not run.
        let deaf = g.ignore_shutdown || g.is_paused();
        match job {
            Job::Start => {
                if g.is_running() {
                    return format!("{what} {vmid} already running");
                }
                if resumes {
                    g.config.remove("lock");
                }
                g.checkpointed = false;
                g.apply_pending();
                g.start_process(now, pid);
            }
            Job::Stop => {
                if g.is_running() {
                    g.stop_process(now);
                }
            }
            Job::Shutdown { force, acpi, .. } => {
                if !g.is_running() {
                    return "OK".to_string();
                }
                if acpi && deaf {
                    if !force {
                        return "VM quit/powerdown failed - got timeout".to_string();
                    }
                    g.stop_process(now);
                    return "WARNINGS: 1".to_string();
                }
                g.stop_process(now);
            }
            Job::Reboot => {
                if !g.is_running() {
                    return format!("VM {vmid} not running");
                }
                if deaf {
                    return "VM quit/powerdown failed - got timeout".to_string();
                }
                g.apply_pending();
                g.start_process(now, pid);
            }
            Job::Suspend | Job::Resume => return suspend_or_resume(g, job, now, pid),
            Job::Hibernate => {
                if !g.is_running() {
                    return format!("{what} {vmid} not running");
                }
                g.stop_process(now);
                g.config.insert("lock".to_string(), "suspended".to_string());
            }
            Job::Reset | Job::Config | Job::HaStart | Job::HaStop => {}
        }
        "OK".to_string()
    }

    /// Out-of-band start (the tenant or the hoster, not through this API).
    pub fn sim_start(&mut self, vmid: u32) -> Result<(), String> {
        let now = self.now_ms();
        let pid = self.next_pid();
        let g = self.sim_guest(vmid)?;
        if g.is_template() {
            return Err(format!("guest {vmid} is a template"));
        }
        if g.is_running() {
            return Err(format!("guest {vmid} is already running"));
        }
        g.apply_pending();
        g.start_process(now, pid);
        self.ha_wake(vmid);
        Ok(())
    }

    /// Out-of-band stop: the guest powers off from inside, or crashes. The HA manager starts
    /// an HA-managed guest again at its next round.
    pub fn sim_stop(&mut self, vmid: u32) -> Result<(), String> {
        let now = self.now_ms();
        let g = self.sim_guest(vmid)?;
        if !g.is_running() {
            return Err(format!("guest {vmid} is not running"));
        }
        g.stop_process(now);
        self.ha_wake(vmid);
        Ok(())
    }

    /// Sets a running QEMU guest's QMP run state (a pause from the monitor, a guest that
    /// sleeps, a start that waits in `prelaunch`).
    pub fn sim_run_state(&mut self, vmid: u32, run: RunState) -> Result<(), String> {
        let now = self.now_ms();
        let g = self.sim_guest(vmid)?;
        if g.kind != GuestKind::Qemu {
            return Err(format!("guest {vmid} is not a QEMU guest"));
        }
        if !g.is_running() {
            return Err(format!("guest {vmid} is not running"));
        }
        g.set_run_state(run);
        g.mark_disturbed(now);
        Ok(())
    }

    /// Records a pending config value, as an operator's change that waits for the next start
    /// (`netN` values are parsed and printed canonically, as PVE stores them).
    pub fn sim_pending(&mut self, vmid: u32, key: &str, value: &str) -> Result<(), String> {
        let g = self.sim_guest(vmid)?;
        let value = match net_index(key) {
            Some(_) => NetConfig::parse(g.kind, value)
                .map_err(|e| format!("{key}: {}", e.trim_end()))?
                .print(),
            None if is_config_key(g.kind, key) => value.to_string(),
            None => return Err(format!("unknown config key '{key}'")),
        };
        g.pending_delete.remove(key);
        g.pending.insert(key.to_string(), value);
        Ok(())
    }

    /// Out-of-band reboot with a new process (like PVE's API reboot): counters reset.
    pub fn sim_reboot(&mut self, vmid: u32) -> Result<(), String> {
        let now = self.now_ms();
        let pid = self.next_pid();
        let g = self.sim_guest(vmid)?;
        if !g.is_running() {
            return Err(format!("guest {vmid} is not running"));
        }
        g.apply_pending();
        g.start_process(now, pid);
        Ok(())
    }

    /// A reboot from inside the guest: a QEMU process survives it (counters and uptime go
    /// on); an LXC container is restarted with new veth devices (counters reset).
    pub fn sim_guest_reboot(&mut self, vmid: u32) -> Result<(), String> {
        let g = self.sim_guest(vmid)?;
        if !g.is_running() {
            return Err(format!("guest {vmid} is not running"));
        }
        if g.kind == GuestKind::Lxc {
            return self.sim_reboot(vmid);
        }
        Ok(())
    }

    /// Moves a guest to `node`. A running guest gets a new process there: its counters
    /// start over and its uptime with them.
    pub fn sim_migrate(&mut self, vmid: u32, node: &str) -> Result<(), String> {
        if self.node(node).is_none() {
            return Err(format!("unknown node '{node}'"));
        }
        let now = self.now_ms();
        let pid = self.next_pid();
        let g = self.sim_guest(vmid)?;
        if g.node == node {
            return Err(format!("guest {vmid} is already on node '{node}'"));
        }
        g.node = node.to_string();
        if let Some(run) = g.run_state() {
            g.start_process(now, pid);
            g.set_run_state(run);
        }
        Ok(())
    }

    /// Sets or clears a guest's config lock (e.g. a backup window).
    pub fn sim_lock(&mut self, vmid: u32, lock: Option<&str>) -> Result<(), String> {
        let g = self.sim_guest(vmid)?;
        match lock {
            Some(l) => g.config.insert("lock".to_string(), l.to_string()),
            None => g.config.remove("lock"),
        };
        Ok(())
    }

    /// Takes a node off the network or brings it back.
    pub fn sim_node_online(&mut self, node: &str, online: bool) -> Result<(), String> {
        let n = self
            .nodes
            .iter_mut()
            .find(|n| n.name == node)
            .ok_or_else(|| format!("unknown node '{node}'"))?;
        n.online = online;
        Ok(())
    }

    fn sim_guest(&mut self, vmid: u32) -> Result<&mut super::guest::Guest, String> {
        self.guests
            .get_mut(&vmid)
            .ok_or_else(|| format!("no guest with VMID {vmid}"))
    }
}

/// Suspend and resume. QEMU pauses the vCPUs and continues them (`cont`, or
/// `system_wakeup` for a sleeping guest). LXC suspend is a CRIU checkpoint (`lxc-checkpoint
/// -s`) that stops the container; resume restores it as a new process with new veth
/// devices, so its counters and uptime start over.
fn suspend_or_resume(g: &mut Guest, job: Job, now: u64, pid: u32) -> String {
    let vmid = g.vmid;
    match (g.kind, job) {
        (GuestKind::Lxc, Job::Suspend) => {
            if !g.is_running() {
                return format!("CT {vmid} not running");
            }
            g.stop_process(now);
            g.checkpointed = true;
        }
        (GuestKind::Lxc, _) => {
            if !g.checkpointed {
                return format!(
                    "command 'lxc-checkpoint -n {vmid} -r --foreground -D /var/lib/vz/dump' failed: exit code 1"
                );
            }
            g.checkpointed = false;
            g.start_process(now, pid);
        }
        (GuestKind::Qemu, _) => {
            if !g.is_running() {
                return format!("VM {vmid} not running");
            }
            let run = if job == Job::Suspend {
                RunState::Paused
            } else {
                RunState::Running
            };
            g.set_run_state(run);
            g.mark_disturbed(now);
        }
    }
    "OK".to_string()
}
