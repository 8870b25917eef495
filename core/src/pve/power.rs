//! Power actions and their tasks: `POST .../{qemu|lxc}/{vmid}/status/{start|stop|shutdown}`
//! answers a task's UPID; `GET /nodes/{node}/tasks/{upid}/status` says whether that task
//! is still running and how it ended (docs/pve-api.md, "Power actions and tasks").
//!
//! A power action is asynchronous: the POST only starts a worker, and success or failure
//! of the action itself shows in the task's exit status later. Some refusals come at once
//! as HTTP errors (LXC `CT 101 already running`, a missing quorum); others only as a task
//! that ends badly (QEMU `VM 100 already running`). So a caller that needs the outcome
//! polls [`Client::task_status`] until the task has stopped and checks
//! [`TaskStatus::succeeded`]. Waiting, and falling back from shutdown to stop, is the
//! enforcer's business, not this module's.
//!
//! Like every write, a power POST is retried only when PVE surely did not act on it (no
//! connection, or pveproxy's 595): starting a guest twice must not happen by accident.

use serde_json::Value;

use super::lenient;
use super::{Client, PveError};
use crate::guest::GuestType;

/// A power action the enforcer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerAction {
    /// Boot the guest.
    Start,
    /// Pull the plug (QEMU kills the process; LXC stops the container).
    Stop,
    /// Ask the guest to shut down (ACPI / `lxc-stop` without kill), waiting up to
    /// `timeout_s` seconds; then, with `force`, stop it (the task ends `WARNINGS: 1`),
    /// without, fail with `VM quit/powerdown failed - got timeout`.
    Shutdown {
        /// PVE's `timeout` parameter, seconds.
        timeout_s: u64,
        /// PVE's `forceStop` parameter.
        force: bool,
    },
}

impl PowerAction {
    /// The last path segment: `start`, `stop`, `shutdown`.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Stop => "stop",
            PowerAction::Shutdown { .. } => "shutdown",
        }
    }
}

/// Where a task stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStatus {
    /// The worker has not finished yet.
    pub running: bool,
    /// How it ended (only once stopped): `OK`, `WARNINGS: <n>`, or PVE's error text, e.g.
    /// `VM 100 already running`.
    pub exitstatus: Option<String>,
}

impl TaskStatus {
    /// Whether the task finished successfully, by PVE's own rule: exit status `OK` or
    /// `WARNINGS: <n>`. A running task has not succeeded (yet).
    pub fn succeeded(&self) -> bool {
        !self.running
            && self
                .exitstatus
                .as_deref()
                .is_some_and(|s| s == "OK" || s.starts_with("WARNINGS: "))
    }
}

/// `/nodes/{node}/{qemu|lxc}/{vmid}/status/{action}`.
pub fn action_path(node: &str, guest_type: GuestType, vmid: u32, action: PowerAction) -> String {
    format!(
        "/nodes/{node}/{guest_type}/{vmid}/status/{}",
        action.as_str()
    )
}

/// `/nodes/{node}/tasks/{upid}/status`. The client percent-encodes what must be (the UPID's
/// `:`, `@` and `!` are legal in a path and go as they are); a UPID cannot hold `/`.
pub fn task_path(node: &str, upid: &str) -> String {
    format!("/nodes/{node}/tasks/{upid}/status")
}

impl Client {
    /// Starts a power action and returns the task's UPID. `Shutdown` sends `timeout` and
    /// `forceStop=0|1`; `Start` and `Stop` send no parameters (PVE's defaults).
    pub async fn power(
        &self,
        node: &str,
        guest_type: GuestType,
        vmid: u32,
        action: PowerAction,
    ) -> Result<String, PveError> {
        let path = action_path(node, guest_type, vmid, action);
        let timeout;
        let form: Vec<(&str, &str)> = match action {
            PowerAction::Start | PowerAction::Stop => Vec::new(),
            PowerAction::Shutdown { timeout_s, force } => {
                timeout = timeout_s.to_string();
                vec![
                    ("timeout", timeout.as_str()),
                    ("forceStop", if force { "1" } else { "0" }),
                ]
            }
        };
        let data = self.post(&path, &form).await?;
        parse_upid(&data).map_err(|detail| PveError::Malformed { path, detail })
    }

    /// The status of the task `upid`, asked of the node it runs on.
    pub async fn task_status(&self, node: &str, upid: &str) -> Result<TaskStatus, PveError> {
        if upid.is_empty() || upid.contains('/') {
            // It would address another path, not this task.
            return Err(PveError::Malformed {
                path: format!("/nodes/{node}/tasks/…/status"),
                detail: format!("{upid:?} is not a UPID"),
            });
        }
        let path = task_path(node, upid);
        let data = self.get(&path, &[]).await?;
        parse_task_status(&data).map_err(|detail| PveError::Malformed { path, detail })
    }
}

/// The UPID a power POST answers (`{"data":"UPID:…"}`).
pub fn parse_upid(data: &Value) -> Result<String, String> {
    match data {
        Value::String(s) if s.starts_with("UPID:") && !s.contains('/') => Ok(s.clone()),
        other => Err(format!("expected a task UPID, got {other}")),
    }
}

/// The task type a UPID names (`UPID:node:pid:pstart:starttime:type:id:user:`): `qmstart`,
/// `vzshutdown`, `hastop`…; `None` for a string that is not a UPID.
pub fn task_type(upid: &str) -> Option<&str> {
    let mut fields = upid.strip_prefix("UPID:")?.split(':');
    fields.nth(4).filter(|t| !t.is_empty())
}

/// Whether a shutdown (or reboot) was refused because the VM does not run its vCPUs:
/// qemu-server answers `VM is paused - cannot shutdown` at once, without a task, for QMP
/// state `paused` and, from qemu-server 8.0.8 on, `prelaunch` and `suspended` too.
pub fn is_paused_refusal(e: &PveError) -> bool {
    matches!(e, PveError::Api { reason, .. } if reason.contains("is paused - cannot shutdown"))
}

/// Parses the `data` of `GET .../tasks/{upid}/status`: `status` (`running` | `stopped`)
/// and, once stopped, `exitstatus`. Other fields are ignored. A stopped task without an
/// exit status has not succeeded.
pub fn parse_task_status(data: &Value) -> Result<TaskStatus, String> {
    let status = lenient::string_value(data.get("status"))
        .map_err(|e| format!("status: {e}"))?
        .ok_or_else(|| format!("no `status` in the task status {data}"))?;
    let running = match status.as_str() {
        "running" => true,
        "stopped" => false,
        other => {
            return Err(format!(
                "task status {other:?} is neither running nor stopped"
            ))
        }
    };
    let exitstatus =
        lenient::string_value(data.get("exitstatus")).map_err(|e| format!("exitstatus: {e}"))?;
    Ok(TaskStatus {
        running,
        exitstatus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stopped_task_from_the_spec() {
        let data = json!({"upid":"UPID:pve1:002A1B3C:0C4D5E6F:6651A2B3:qmshutdown:100:exporter@pve!quota:",
            "node":"pve1","pid":2759484,"pstart":206397039,"starttime":1716626099,"type":"qmshutdown",
            "id":"100","user":"exporter@pve","tokenid":"quota","status":"stopped","exitstatus":"OK"});
        let t = parse_task_status(&data).unwrap();
        assert_eq!(
            t,
            TaskStatus {
                running: false,
                exitstatus: Some("OK".into())
            }
        );
        assert!(t.succeeded());
    }

    #[test]
    fn a_running_task_has_not_succeeded() {
        let t = parse_task_status(&json!({"status": "running", "type": "qmstart"})).unwrap();
        assert_eq!(
            t,
            TaskStatus {
                running: true,
                exitstatus: None
            }
        );
        assert!(!t.succeeded());
    }

    #[test]
    fn success_is_ok_or_warnings() {
        let stopped = |e: Option<&str>| TaskStatus {
            running: false,
            exitstatus: e.map(str::to_string),
        };
        assert!(stopped(Some("OK")).succeeded());
        assert!(stopped(Some("WARNINGS: 1")).succeeded());
        assert!(stopped(Some("WARNINGS: 12")).succeeded());
        for bad in [
            "VM 100 already running",
            "VM quit/powerdown failed - got timeout",
            "unexpected status",
            "WARNINGS:1",
            "ok",
            "",
        ] {
            assert!(!stopped(Some(bad)).succeeded(), "{bad}");
        }
        assert!(!stopped(None).succeeded());
    }

    #[test]
    fn odd_task_answers() {
        assert!(parse_task_status(&json!({"exitstatus": "OK"}))
            .unwrap_err()
            .contains("no `status`"));
        assert_eq!(
            parse_task_status(&json!({"status": "zombie"})).unwrap_err(),
            "task status \"zombie\" is neither running nor stopped"
        );
        assert!(parse_task_status(&json!(null)).is_err());
        // An empty exit status is none.
        let t = parse_task_status(&json!({"status": "stopped", "exitstatus": ""})).unwrap();
        assert_eq!(t.exitstatus, None);
        assert!(!t.succeeded());
    }

    #[test]
    fn upids() {
        let upid = "UPID:pve1:002A1B3C:0C4D5E6F:6651A2B3:qmstart:100:root@pam!sim:";
        assert_eq!(parse_upid(&json!(upid)).unwrap(), upid);
        assert_eq!(
            parse_upid(&json!(null)).unwrap_err(),
            "expected a task UPID, got null"
        );
        assert!(parse_upid(&json!("UPID:a/../b")).is_err());
        assert!(parse_upid(&json!(42)).is_err());
    }

    #[test]
    fn task_types_and_paused_refusals() {
        let upid = "UPID:pve1:002A1B3C:0C4D5E6F:6651A2B3:hastop:100:root@pam!sim:";
        assert_eq!(task_type(upid), Some("hastop"));
        assert_eq!(
            task_type("UPID:pve1:1:2:3:vzstart:101:root@pam:"),
            Some("vzstart")
        );
        assert_eq!(task_type("UPID:pve1:1:2"), None);
        assert_eq!(task_type("qmstart"), None);
        let api = |reason: &str| PveError::Api {
            status: 500,
            reason: reason.into(),
            path: "/nodes/pve1/qemu/100/status/shutdown".into(),
        };
        assert!(is_paused_refusal(&api("VM is paused - cannot shutdown")));
        assert!(!is_paused_refusal(&api("VM 100 not running")));
    }

    #[test]
    fn paths() {
        assert_eq!(
            action_path(
                "pve1",
                GuestType::Qemu,
                100,
                PowerAction::Shutdown {
                    timeout_s: 60,
                    force: true
                }
            ),
            "/nodes/pve1/qemu/100/status/shutdown"
        );
        assert_eq!(
            action_path("pve2", GuestType::Lxc, 101, PowerAction::Start),
            "/nodes/pve2/lxc/101/status/start"
        );
        assert_eq!(
            task_path("pve1", "UPID:pve1:1:2:3:qmstart:100:root@pam!sim:"),
            "/nodes/pve1/tasks/UPID:pve1:1:2:3:qmstart:100:root@pam!sim:/status"
        );
    }
}
