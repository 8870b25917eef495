//! `GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current`: a guest's state as its node sees it
//! now.
//!
//! `/cluster/resources` shows a guest's status and uptime as the hosting node's `pvestatd`
//! last pushed them (every 10 s), and keeps showing that push for up to 5 minutes after the
//! node stopped pushing (stalled daemon, node offline). `status/current` is answered by the
//! node itself (pveproxy forwards it; 595 when the node cannot be reached), so it is live:
//! comparing the two tells how old the pushed stats are. Fetch is apart from
//! [`parse_guest_status`], which is pure and lenient.

use serde_json::Value;

use super::lenient;
use super::{Client, PveError};
use crate::guest::GuestType;

/// A guest's live state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestStatus {
    /// `running` or `stopped` (the process exists or not).
    pub status: String,
    /// QEMU's QMP run state (`running`, `paused`, `prelaunch`, `suspended`…); `None` for LXC
    /// and stopped VMs. `/cluster/resources` shows this state as a running VM's `status`.
    pub qmpstatus: Option<String>,
    /// Seconds since the process started (0 when stopped).
    pub uptime: Option<u64>,
    /// The HA manager's state when the guest is HA-managed.
    pub hastate: Option<String>,
}

impl GuestStatus {
    /// The state `/cluster/resources` would show for this guest: the QMP state of a running
    /// VM, else `status`.
    pub fn shown_status(&self) -> &str {
        match (&self.qmpstatus, self.status.as_str()) {
            (Some(q), "running") => q,
            (_, s) => s,
        }
    }
}

/// `/nodes/{node}/{qemu|lxc}/{vmid}/status/current`.
pub fn path(node: &str, guest_type: GuestType, vmid: u32) -> String {
    format!("/nodes/{node}/{guest_type}/{vmid}/status/current")
}

impl Client {
    /// The guest's live status, from its node.
    pub async fn guest_status(
        &self,
        node: &str,
        guest_type: GuestType,
        vmid: u32,
    ) -> Result<GuestStatus, PveError> {
        let path = path(node, guest_type, vmid);
        let data = self.get(&path, &[]).await?;
        parse_guest_status(&data).map_err(|detail| PveError::Malformed { path, detail })
    }
}

/// Parses the `data` of `status/current`. `status` is required; the rest is optional.
/// `ha` is `{"managed": 1, "state": "started"}` for an HA-managed guest, `{"managed": 0}`
/// otherwise.
pub fn parse_guest_status(data: &Value) -> Result<GuestStatus, String> {
    let status = lenient::string_value(data.get("status"))
        .map_err(|e| format!("status: {e}"))?
        .ok_or_else(|| format!("no `status` in the guest status {data}"))?;
    let qmpstatus =
        lenient::string_value(data.get("qmpstatus")).map_err(|e| format!("qmpstatus: {e}"))?;
    let uptime = lenient::u64_value(data.get("uptime")).map_err(|e| format!("uptime: {e}"))?;
    let ha = data.get("ha");
    let managed = lenient::bool_value(ha.and_then(|h| h.get("managed")))
        .map_err(|e| format!("ha.managed: {e}"))?;
    let hastate = if managed {
        lenient::string_value(ha.and_then(|h| h.get("state")))
            .map_err(|e| format!("ha.state: {e}"))?
    } else {
        None
    };
    Ok(GuestStatus {
        status,
        qmpstatus,
        uptime,
        hastate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_paused_ha_managed_vm() {
        let data = json!({"vmid": 100, "status": "running", "qmpstatus": "paused",
            "uptime": 4200, "netin": "12", "ha": {"managed": 1, "state": "started"}});
        let s = parse_guest_status(&data).unwrap();
        assert_eq!(
            s,
            GuestStatus {
                status: "running".into(),
                qmpstatus: Some("paused".into()),
                uptime: Some(4200),
                hastate: Some("started".into()),
            }
        );
        assert_eq!(s.shown_status(), "paused");
    }

    #[test]
    fn a_stopped_container_without_ha() {
        let data = json!({"vmid": "101", "type": "lxc", "status": "stopped", "uptime": "0",
            "ha": {"managed": 0}});
        let s = parse_guest_status(&data).unwrap();
        assert_eq!((s.status.as_str(), s.uptime), ("stopped", Some(0)));
        assert_eq!((s.qmpstatus, s.hastate), (None, None));
        let s = GuestStatus {
            status: "stopped".into(),
            qmpstatus: Some("prelaunch".into()),
            ..Default::default()
        };
        assert_eq!(s.shown_status(), "stopped");
    }

    #[test]
    fn without_status_it_is_unusable() {
        assert!(parse_guest_status(&json!({"uptime": 3}))
            .unwrap_err()
            .contains("no `status`"));
        assert!(parse_guest_status(&json!({"status": "running", "uptime": -1})).is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(
            path("pve2", GuestType::Lxc, 101),
            "/nodes/pve2/lxc/101/status/current"
        );
    }
}
