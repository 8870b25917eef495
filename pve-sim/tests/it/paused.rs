//! Guests whose vCPUs do not run: QEMU `paused`, `prelaunch` and `suspended` (shutdown is
//! refused, `forceStop=1` stops), and LXC suspend, a checkpoint that stops the container.

use serde_json::Value;

use crate::power::{act, act_ok, current, run_action, task_count};
use crate::util::{scenario, Harness};

fn cluster(version: &str) -> String {
    format!(
        r#"
pve_version: "{version}"
start_time: 1767225600
nodes: [{{ name: pve1 }}]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    nics: [{{ config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }}]
  - vmid: 101
    type: lxc
    node: pve1
    nics: [{{ config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01", rx_rate: 2000, tx_rate: 200, shaped: false }}]
"#
    )
}

async fn set_state(h: &Harness, vmid: u32, state: &str) {
    let (status, body) = h
        .sim(
            "POST",
            &format!("/guests/{vmid}/qmp-state?state={state}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn resource_status(h: &Harness, vmid: u32) -> Value {
    let all = h.get("/cluster/resources?type=vm").await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == vmid)
        .unwrap()["status"]
        .clone()
}

async fn rx_truth(h: &Harness, vmid: u32) -> u64 {
    h.truth().await["guests"][vmid.to_string()]["rx_bytes"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn halted_states_show_as_qmp_status_and_move_nothing() {
    let h = Harness::start(scenario(&cluster("9.1"))).await;
    for state in ["paused", "prelaunch", "suspended"] {
        set_state(&h, 100, state).await;
        let now = current(&h, "pve1", "qemu", 100).await;
        assert_eq!(
            (now["status"].as_str(), now["qmpstatus"].as_str()),
            (Some("running"), Some(state))
        );
        let before = rx_truth(&h, 100).await;
        h.advance(10).await;
        assert_eq!(rx_truth(&h, 100).await, before, "{state} moved traffic");
        assert_eq!(resource_status(&h, 100).await, state);
    }
    set_state(&h, 100, "running").await;
    let before = rx_truth(&h, 100).await;
    h.advance(10).await;
    assert!(rx_truth(&h, 100).await > before);
    let (status, _) = h
        .sim("POST", "/guests/101/qmp-state?state=paused", None)
        .await;
    assert_eq!(status, 400, "an LXC container has no QMP state");
}

#[tokio::test]
async fn shutdown_of_a_halted_vm_is_refused_before_any_task_and_force_stop_stops_it() {
    let h = Harness::start(scenario(&cluster("9.1"))).await;
    for state in ["paused", "prelaunch", "suspended"] {
        run_action(&h, "pve1", "qemu", 100, "start").await;
        set_state(&h, 100, state).await;
        let tasks = task_count(&h);
        for action in ["shutdown", "reboot"] {
            let a = act(&h, "pve1", "qemu", 100, action, &[]).await;
            a.assert_error(500, "VM is paused - cannot shutdown");
        }
        assert_eq!(task_count(&h), tasks, "{state}: no task may be created");
        let a = act(&h, "pve1", "qemu", 100, "shutdown", &[("forceStop", "1")]).await;
        assert_eq!(a.status, 200, "{a:?}");
        let upid = a.body["data"].as_str().unwrap();
        assert!(upid.contains(":qmshutdown:100:"), "{upid}");
        assert_eq!(h.wait_task("pve1", upid, 10).await["exitstatus"], "OK");
        assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
    }
}

#[tokio::test]
async fn before_qemu_server_8_only_paused_is_refused() {
    let h = Harness::start(scenario(&cluster("7.4"))).await;
    set_state(&h, 100, "paused").await;
    // PVE 7.4 error bodies carry no `message`: the text travels in the reason phrase.
    let a = act(&h, "pve1", "qemu", 100, "shutdown", &[]).await;
    assert_eq!(
        (a.status, a.reason.as_str()),
        (500, "VM is paused - cannot shutdown")
    );
    for state in ["prelaunch", "suspended"] {
        set_state(&h, 100, state).await;
        let upid = act_ok(&h, "pve1", "qemu", 100, "shutdown").await;
        let t = h.wait_task("pve1", &upid, 70).await;
        assert_eq!(
            t["exitstatus"], "VM quit/powerdown failed - got timeout",
            "{state}"
        );
        assert_eq!(current(&h, "pve1", "qemu", 100).await["qmpstatus"], state);
    }
}

#[tokio::test]
async fn lxc_suspend_checkpoints_and_stops_and_resume_restores_with_new_counters() {
    let h = Harness::start(scenario(&cluster("9.1"))).await;
    h.advance(30).await;
    let moved = rx_truth(&h, 101).await;
    assert!(moved > 0);
    act(&h, "pve1", "lxc", 101, "resume", &[])
        .await
        .assert_error(500, "CT 101 already running");
    assert_eq!(run_action(&h, "pve1", "lxc", 101, "suspend").await, "OK");
    assert_eq!(current(&h, "pve1", "lxc", 101).await["status"], "stopped");
    h.advance(10).await;
    assert_eq!(resource_status(&h, 101).await, "stopped");
    let frozen = rx_truth(&h, 101).await;
    h.advance(10).await;
    assert_eq!(
        rx_truth(&h, 101).await,
        frozen,
        "a checkpointed CT moves nothing"
    );
    assert_eq!(run_action(&h, "pve1", "lxc", 101, "resume").await, "OK");
    let now = current(&h, "pve1", "lxc", 101).await;
    assert_eq!(now["status"], "running");
    assert_eq!(now["uptime"], 0);
    assert_eq!(now["netin"], 0, "new veth, new counters");
    h.advance(5).await;
    let truth = &h.truth().await["guests"]["101"];
    assert_eq!(truth["netin"], truth["rx_bytes"].as_u64().unwrap() - frozen);
    // A second resume has no checkpoint to restore.
    run_action(&h, "pve1", "lxc", 101, "stop").await;
    let exit = run_action(&h, "pve1", "lxc", 101, "resume").await;
    assert_eq!(
        exit,
        "command 'lxc-checkpoint -n 101 -r --foreground -D /var/lib/vz/dump' failed: exit code 1"
    );
}
