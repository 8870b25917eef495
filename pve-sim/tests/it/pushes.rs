//! Pushed stats, live identity: what `/cluster/resources` and `/nodes` show between pushes,
//! after a migration, while a node is offline or its `pvestatd` stalled, and the bytes no
//! push showed in `/sim/truth`.

use serde_json::{json, Value};

use crate::util::{scenario, Harness, BASIC};

/// The `/cluster/resources` entry with `id`.
async fn resource(h: &Harness, id: &str) -> Value {
    let all = h.get("/cluster/resources").await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in {all}"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

async fn sim_ok(h: &Harness, path: &str) {
    let (st, body) = h.sim("POST", path, None).await;
    assert_eq!(st, 200, "{path}: {body}");
}

/// `(netin, netout, uptime)` of a row.
fn stats(r: &Value) -> (Value, Value, Value) {
    (r["netin"].clone(), r["netout"].clone(), r["uptime"].clone())
}

#[tokio::test]
async fn after_a_migration_the_row_names_the_new_node_with_the_old_stats_until_it_pushes() {
    let h = Harness::basic().await;
    h.advance(20).await;
    let at_20 = h.truth().await["guests"]["100"].clone();
    let before = resource(&h, "qemu/100").await;
    assert_eq!(before["netin"], at_20["netin"]);
    h.advance(4).await;
    sim_ok(&h, "/guests/100/migrate?node=pve2").await;
    let moved = resource(&h, "qemu/100").await;
    assert_eq!(moved["node"], "pve2", "identity is live");
    assert_eq!(stats(&moved), stats(&before), "the old process's last push");
    assert_eq!(moved["status"], "running");

    h.advance(5).await;
    assert_eq!(stats(&resource(&h, "qemu/100").await), stats(&before));
    h.advance(1).await;
    let pushed = resource(&h, "qemu/100").await;
    let at_30 = h.truth().await["guests"]["100"].clone();
    assert_eq!(
        stats(&pushed),
        (at_30["netin"].clone(), at_30["netout"].clone(), json!(6)),
        "pve2 pushed the new process at 30 s"
    );
    assert_eq!(at_30["pushed_at"], 1_767_225_630u64);
}

#[tokio::test]
async fn a_stalled_node_freezes_its_guests_for_300_s_then_they_are_unknown_until_it_pushes() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let frozen = resource(&h, "lxc/101").await;
    let frozen_node = resource(&h, "node/pve2").await;
    h.advance(3).await;
    sim_ok(&h, "/nodes/pve2/stall").await;
    assert_eq!(h.truth().await["nodes"]["pve2"]["stalled"], true);

    // Up to 300 s after its last push: the same record, status running.
    h.advance(297).await;
    let row = resource(&h, "lxc/101").await;
    assert_eq!(row, frozen);
    assert_eq!(row["status"], "running");
    let node = resource(&h, "node/pve2").await;
    assert_eq!(
        (&node["status"], &node["uptime"]),
        (&json!("online"), &frozen_node["uptime"])
    );
    // The node still answers, with live counters: the guest keeps moving traffic.
    let live = h.get("/nodes/pve2/lxc/101/status/current").await;
    let truth = h.truth().await["guests"]["101"].clone();
    assert_eq!(live["netin"], truth["netin"]);
    assert!(truth["netin"].as_u64() > frozen["netin"].as_u64());
    // Other nodes go on pushing.
    assert_eq!(
        resource(&h, "qemu/100").await["netin"],
        h.truth().await["guests"]["100"]["netin"]
    );

    // More than 300 s: only the live identity is left, for guests and for the node.
    h.advance(1).await;
    let row = resource(&h, "lxc/101").await;
    assert_eq!(
        row,
        json!({"id": "lxc/101", "type": "lxc", "vmid": 101, "node": "pve2", "status": "unknown"})
    );
    assert_eq!(resource(&h, "qemu/102").await["status"], "unknown");
    let node = resource(&h, "node/pve2").await;
    assert_eq!(
        node,
        json!({"id": "node/pve2", "node": "pve2", "type": "node", "status": "unknown"})
    );
    let nodes = h.get("/nodes").await;
    let n = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "pve2")
        .unwrap();
    assert_eq!(keys(n), ["id", "node", "ssl_fingerprint", "status", "type"]);

    // Resumed: the next push shows the same process, its counters grown by the whole gap.
    sim_ok(&h, "/nodes/pve2/unstall").await;
    h.advance(8).await;
    assert_eq!(resource(&h, "lxc/101").await["status"], "unknown");
    h.advance(1).await;
    let row = resource(&h, "lxc/101").await;
    let truth = h.truth().await["guests"]["101"].clone();
    assert_eq!(
        (&row["status"], &row["netin"]),
        (&json!("running"), &truth["netin"])
    );
    assert_eq!(
        row["uptime"].as_u64(),
        Some(frozen["uptime"].as_u64().unwrap() + 310)
    );
    assert_eq!(
        truth["unobservable_rx_bytes"], 0,
        "nothing ended: nothing is lost"
    );
    assert_eq!(resource(&h, "node/pve2").await["status"], "online");
}

#[tokio::test]
async fn an_offline_node_keeps_its_guests_last_push_and_counts_the_gap_when_back() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let frozen = resource(&h, "lxc/101").await;
    sim_ok(&h, "/nodes/pve2/offline").await;
    h.advance(120).await;
    assert_eq!(resource(&h, "lxc/101").await, frozen);
    let node = resource(&h, "node/pve2").await;
    assert_eq!(node["status"], "offline");
    assert!(
        node.get("uptime").is_none() && node.get("maxmem").is_some(),
        "{node}"
    );
    sim_ok(&h, "/nodes/pve2/online").await;
    h.advance(10).await;
    let row = resource(&h, "lxc/101").await;
    let truth = h.truth().await["guests"]["101"].clone();
    assert_eq!(row["netin"], truth["netin"]);
    assert_eq!(
        truth["rx_bytes"], truth["netin"],
        "one process, nothing lost"
    );
}

#[tokio::test]
async fn truth_counts_what_a_process_moved_after_its_last_push_as_unobservable() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let at_push = h.truth().await["guests"]["100"].clone();
    h.advance(4).await;
    let at_stop = h.truth().await["guests"]["100"].clone();
    sim_ok(&h, "/guests/100/stop").await;
    let g = h.truth().await["guests"]["100"].clone();
    for (dir, counter) in [("rx", "netin"), ("tx", "netout")] {
        let moved_since_push =
            at_stop[counter].as_u64().unwrap() - at_push[counter].as_u64().unwrap();
        assert!(moved_since_push > 0);
        assert_eq!(
            g[format!("unobservable_{dir}_bytes")],
            moved_since_push,
            "{dir}"
        );
        assert_eq!(g[format!("recreated_pushed_{dir}_bytes")], 0);
    }
    for nic in ["net0", "net1"] {
        let n = &g["nics"][nic];
        let before = &at_push["nics"][nic];
        assert_eq!(
            n["unobservable_rx_bytes"].as_u64(),
            Some(n["rx_bytes"].as_u64().unwrap() - before["counter_rx"].as_u64().unwrap()),
            "{nic}"
        );
    }

    // A process that ends before any push: all its bytes are unobservable.
    h.advance(1).await;
    sim_ok(&h, "/guests/100/start").await;
    h.advance(3).await;
    sim_ok(&h, "/guests/100/stop").await;
    let after = h.truth().await["guests"]["100"].clone();
    let short_lived = after["rx_bytes"].as_u64().unwrap() - g["rx_bytes"].as_u64().unwrap();
    assert!(short_lived > 0);
    assert_eq!(
        after["unobservable_rx_bytes"].as_u64().unwrap(),
        g["unobservable_rx_bytes"].as_u64().unwrap() + short_lived
    );
    // The row shows the push at 10 s (running) until the push at 20 s shows it stopped.
    assert_eq!(resource(&h, "qemu/100").await["netin"], at_push["netin"]);
    h.advance(2).await;
    assert_eq!(resource(&h, "qemu/100").await["status"], "stopped");
}

#[tokio::test]
async fn a_node_stalled_in_the_scenario_never_pushes_until_unstalled() {
    let yaml = BASIC.replace(
        "  - { name: pve2, ip: 192.0.2.12 }",
        "  - { name: pve2, ip: 192.0.2.12, stalled: true }",
    );
    let h = Harness::start(scenario(&yaml)).await;
    assert_eq!(resource(&h, "lxc/101").await["status"], "unknown");
    assert_eq!(resource(&h, "qemu/100").await["status"], "running");
    assert_eq!(h.truth().await["nodes"]["pve2"]["pushed_at"], Value::Null);
    assert_eq!(
        h.get("/nodes/pve2/lxc/101/status/current").await["status"],
        "running"
    );
    sim_ok(&h, "/nodes/pve2/unstall").await;
    h.advance(10).await;
    assert_eq!(resource(&h, "lxc/101").await["status"], "running");
    let (st, body) = h.sim("POST", "/nodes/pve9/stall", None).await;
    assert_eq!((st, &body["error"]), (404, &json!("unknown node 'pve9'")));
}
