//! HA-managed guests: `hastart`/`hastop` tasks that end OK before the guest's state changes,
//! the HA manager's rounds, and `hastate`.

use serde_json::Value;

use crate::power::{act, act_ok, assert_upid, current, task};
use crate::util::{scenario, Harness};

const HA: &str = r#"
start_time: 1767225600
nodes:
  - { name: pve1 }
  - { name: pve2 }
guests:
  - vmid: 100
    type: qemu
    node: pve1
    ha: started
    nics: [{ config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, shaped: false }]
  - vmid: 101
    type: lxc
    node: pve2
    ha: started
    nics: [{ config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01", rx_rate: 1000, shaped: false }]
  - { vmid: 102, type: qemu, node: pve1, status: stopped }
  - { vmid: 103, type: qemu, node: pve1 }
"#;

/// `ha.state` of `status/current` (live), `None` when not HA-managed.
async fn ha_state(h: &Harness, node: &str, kind: &str, vmid: u32) -> Option<String> {
    let ha = current(h, node, kind, vmid).await["ha"].clone();
    match ha["managed"].as_u64() {
        Some(1) => Some(ha["state"].as_str().unwrap().to_string()),
        _ => None,
    }
}

/// The `/cluster/resources` entry of `vmid`.
async fn resource(h: &Harness, vmid: u32) -> Value {
    let all = h.get("/cluster/resources?type=vm").await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == vmid)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn hastate_is_listed_for_ha_managed_guests_only() {
    let h = Harness::start(scenario(HA)).await;
    h.advance(10).await;
    assert_eq!(resource(&h, 100).await["hastate"], "started");
    assert_eq!(resource(&h, 101).await["hastate"], "started");
    assert!(resource(&h, 103).await.get("hastate").is_none());
    assert_eq!(ha_state(&h, "pve1", "qemu", 103).await, None);
}

#[tokio::test]
async fn shutdown_of_an_ha_guest_is_an_hastop_task_that_ends_before_the_guest_stops() {
    let h = Harness::start(scenario(HA)).await;
    let upid = act_ok(&h, "pve1", "qemu", 100, "shutdown").await;
    assert_upid(&upid, "pve1", "hastop", "100", "root@pam!sim");
    let t = h.wait_task("pve1", &upid, 5).await;
    assert_eq!(t["exitstatus"], "OK");
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "running");
    assert_eq!(ha_state(&h, "pve1", "qemu", 100).await.unwrap(), "started");
    // First CRM round: request_stop, the LRM stops the guest.
    h.advance(10).await;
    assert_eq!(
        ha_state(&h, "pve1", "qemu", 100).await.unwrap(),
        "request_stop"
    );
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
    h.advance(10).await;
    assert_eq!(ha_state(&h, "pve1", "qemu", 100).await.unwrap(), "stopped");
    // `/cluster/resources` shows it once its cache was refreshed after the round.
    h.advance(10).await;
    assert_eq!(resource(&h, 100).await["hastate"], "stopped");
    assert_eq!(resource(&h, 100).await["status"], "stopped");
}

#[tokio::test]
async fn start_of_an_ha_guest_passes_request_start_before_it_runs() {
    let h = Harness::start(scenario(HA)).await;
    let (status, body) = h.sim("POST", "/guests/102/ha?state=stopped", None).await;
    assert_eq!(status, 200, "{body}");
    h.advance(30).await;
    assert_eq!(ha_state(&h, "pve1", "qemu", 102).await.unwrap(), "stopped");
    let upid = act_ok(&h, "pve1", "qemu", 102, "start").await;
    assert_upid(&upid, "pve1", "hastart", "102", "root@pam!sim");
    assert_eq!(h.wait_task("pve1", &upid, 5).await["exitstatus"], "OK");
    assert_eq!(current(&h, "pve1", "qemu", 102).await["status"], "stopped");
    h.advance(10).await;
    assert_eq!(
        ha_state(&h, "pve1", "qemu", 102).await.unwrap(),
        "request_start"
    );
    assert_eq!(current(&h, "pve1", "qemu", 102).await["status"], "stopped");
    h.advance(10).await;
    assert_eq!(ha_state(&h, "pve1", "qemu", 102).await.unwrap(), "started");
    assert_eq!(current(&h, "pve1", "qemu", 102).await["status"], "running");
}

#[tokio::test]
async fn lxc_stop_is_hastop_and_reboot_stays_a_plain_task() {
    let h = Harness::start(scenario(HA)).await;
    let upid = act_ok(&h, "pve2", "lxc", 101, "reboot").await;
    assert_upid(&upid, "pve2", "vzreboot", "101", "root@pam!sim");
    h.wait_task("pve2", &upid, 30).await;
    let upid = act_ok(&h, "pve2", "lxc", 101, "stop").await;
    assert_upid(&upid, "pve2", "hastop", "101", "root@pam!sim");
    assert_eq!(h.wait_task("pve2", &upid, 5).await["exitstatus"], "OK");
    assert_eq!(current(&h, "pve2", "lxc", 101).await["status"], "running");
    h.advance(20).await;
    assert_eq!(current(&h, "pve2", "lxc", 101).await["status"], "stopped");
    let a = act(
        &h,
        "pve1",
        "qemu",
        100,
        "stop",
        &[("overrule-shutdown", "1")],
    )
    .await;
    a.assert_param_error("overrule-shutdown", "Not applicable for HA resources.");
}

#[tokio::test]
async fn the_ha_manager_restarts_a_started_guest_stopped_out_of_band() {
    let h = Harness::start(scenario(HA)).await;
    let (status, _) = h.sim("POST", "/guests/100/stop", None).await;
    assert_eq!(status, 200);
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
    h.advance(10).await;
    let now = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(now["status"], "running");
    assert!(now["uptime"].as_u64().unwrap() <= 10, "{now}");
}

#[tokio::test]
async fn removing_a_guest_from_ha_makes_its_actions_plain_tasks_again() {
    let h = Harness::start(scenario(HA)).await;
    let (status, body) = h.sim("DELETE", "/guests/100/ha", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ha_state(&h, "pve1", "qemu", 100).await, None);
    let upid = act_ok(&h, "pve1", "qemu", 100, "stop").await;
    assert_upid(&upid, "pve1", "qmstop", "100", "root@pam!sim");
    let (status, _) = h.sim("DELETE", "/guests/100/ha", None).await;
    assert_eq!(status, 400);
    let (status, _) = h.sim("POST", "/guests/100/ha?state=bogus", None).await;
    assert_eq!(status, 400);
    let t = task(&h, "pve1", &upid).await;
    assert_eq!(t["type"], "qmstop");
}
