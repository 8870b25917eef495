//! Worker tasks: the UPIDs PVE hands out for asynchronous actions, and their life.
//!
//! A power action answers at once with a UPID; the state change happens when the task ends,
//! a few simulated seconds later (`TaskTiming`). Clients must poll
//! `/nodes/{node}/tasks/{upid}/status` to learn the outcome, exactly as with a real PVE, so
//! an enforcer that assumes "answered = done" fails against the simulator too.

/// The work a task does when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Start the guest.
    Start,
    /// Stop the guest.
    Stop,
    /// Shut the guest down; a guest ignoring ACPI times out after `timeout` seconds, and is
    /// then stopped if `force` is set.
    Shutdown {
        /// Seconds to wait for the guest.
        timeout: u64,
        /// `forceStop=1`.
        force: bool,
        /// Whether the guest is asked through ACPI; `false` when qemu-server stops a paused
        /// VM instead (`forceStop=1` on a paused guest).
        acpi: bool,
    },
    /// Shut down and start again (new process, counters reset).
    Reboot,
    /// Pause (QEMU); checkpoint and stop (LXC, CRIU).
    Suspend,
    /// QEMU suspend to disk (`todisk=1`): the state is saved, the process ends (counters
    /// die with it) and the config gets `lock: suspended` until the next start resumes it.
    Hibernate,
    /// Continue a paused, prelaunch or suspended VM (QEMU); restore a checkpointed
    /// container (LXC).
    Resume,
    /// Hard reset: the QEMU process stays, counters survive.
    Reset,
    /// An asynchronous config write that has already been applied.
    Config,
    /// Asks the HA manager to start the guest (`ha-manager set --state started`).
    HaStart,
    /// Asks the HA manager to stop the guest (`ha-manager crm-command stop`).
    HaStop,
}

impl Job {
    /// PVE's task type for this job on a QEMU (`qm…`) or LXC (`vz…`) guest.
    pub fn task_type(self, qemu: bool) -> &'static str {
        match (self, qemu) {
            (Job::Start, true) => "qmstart",
            (Job::Start, false) => "vzstart",
            (Job::Stop, true) => "qmstop",
            (Job::Stop, false) => "vzstop",
            (Job::Shutdown { .. }, true) => "qmshutdown",
            (Job::Shutdown { .. }, false) => "vzshutdown",
            (Job::Reboot, true) => "qmreboot",
            (Job::Reboot, false) => "vzreboot",
            (Job::Suspend, true) => "qmpause",
            (Job::Suspend, false) => "vzsuspend",
            (Job::Hibernate, _) => "qmsuspend",
            (Job::Resume, true) => "qmresume",
            (Job::Resume, false) => "vzresume",
            (Job::Reset, _) => "qmreset",
            (Job::Config, _) => "qmconfig",
            (Job::HaStart, _) => "hastart",
            (Job::HaStop, _) => "hastop",
        }
    }
}

/// One task, running or finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The UPID string.
    pub upid: String,
    /// Node that runs it.
    pub node: String,
    /// Worker PID.
    pub pid: u32,
    /// Worker start in clock ticks since boot.
    pub pstart: u64,
    /// Epoch seconds at start.
    pub starttime: u64,
    /// Task type, e.g. `qmstart`.
    pub kind: String,
    /// Guest id as text.
    pub id: String,
    /// `user@realm` of the caller.
    pub user: String,
    /// Token name of the caller (`tokenid` in the status).
    pub tokenid: Option<String>,
    /// Guest the task acts on.
    pub vmid: u32,
    /// What it does when it ends.
    pub job: Job,
    /// `None` while running; the exit status once stopped.
    pub exitstatus: Option<String>,
}

/// Formats a UPID as PVE does: uppercase hex fields and a trailing colon.
pub fn format_upid(
    node: &str,
    pid: u32,
    pstart: u64,
    starttime: u64,
    kind: &str,
    id: &str,
    user: &str,
) -> String {
    format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{user}:")
}

/// The node named in a UPID, if it parses (`^UPID:node:pid:pstart:starttime:type:id:user:$`).
pub fn parse_upid_node(upid: &str) -> Option<&str> {
    let rest = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
    let parts: Vec<&str> = rest.split(':').collect();
    let hex = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let ok = parts.len() == 7
        && crate::params::node_format(parts[0]).is_ok()
        && hex(parts[1], 8, 8)
        && hex(parts[2], 8, 9)
        && hex(parts[3], 8, 8)
        && !parts[4].is_empty()
        && !parts[6].is_empty();
    ok.then_some(parts[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upid_has_pves_shape_and_parses_back() {
        let upid = format_upid(
            "pve1",
            0x2A1B3C,
            0xC4D5E6F,
            0x6651A2B3,
            "qmshutdown",
            "100",
            "exporter@pve!quota",
        );
        assert_eq!(
            upid,
            "UPID:pve1:002A1B3C:0C4D5E6F:6651A2B3:qmshutdown:100:exporter@pve!quota:"
        );
        assert_eq!(parse_upid_node(&upid), Some("pve1"));
    }

    #[test]
    fn malformed_upids_do_not_parse() {
        for bad in [
            "UPID:pve1:002A1B3C:0C4D5E6F:6651A2B3:qmstart:100:u@pve",
            "UPID:pve1:2A1B3C:0C4D5E6F:6651A2B3:qmstart:100:u@pve:",
            "nonsense",
            "UPID:-pve:002A1B3C:0C4D5E6F:6651A2B3:qmstart:100:u@pve:",
        ] {
            assert_eq!(parse_upid_node(bad), None, "{bad}");
        }
    }
}
