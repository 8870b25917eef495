//! Pending changes: a write of `netN` replaces a pending `netN` (and may apply it live,
//! dropping the pending value); `GET .../pending` exists for QEMU and LXC alike.

use serde_json::Value;

use crate::util::{scenario, Harness};

const CLUSTER: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    hotplug: "disk,usb"
    nics: [{ config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, shaped: false }]
  - vmid: 101
    type: lxc
    node: pve1
    nics: [{ config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01", rx_rate: 1000, shaped: false }]
"#;

/// The `/pending` row of `key`.
async fn pending_row(h: &Harness, kind: &str, vmid: u32, key: &str) -> Value {
    let rows = h.get(&format!("/nodes/pve1/{kind}/{vmid}/pending")).await;
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_net_write_replaces_the_pending_value_of_a_qemu_guest() {
    let h = Harness::start(scenario(CLUSTER)).await;
    let put = |v: &'static str| {
        let h = &h;
        async move {
            let r = h
                .api("PUT", "/nodes/pve1/qemu/100/config", &[("net0", v)])
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    // A model change needs a new device: without network hotplug it waits.
    put("e1000=BC:24:11:00:00:01,bridge=vmbr0").await;
    let row = pending_row(&h, "qemu", 100, "net0").await;
    assert_eq!(row["value"], "virtio=BC:24:11:00:00:01,bridge=vmbr0");
    assert_eq!(row["pending"], "e1000=BC:24:11:00:00:01,bridge=vmbr0");
    put("rtl8139=BC:24:11:00:00:01,bridge=vmbr0").await;
    let row = pending_row(&h, "qemu", 100, "net0").await;
    assert_eq!(row["pending"], "rtl8139=BC:24:11:00:00:01,bridge=vmbr0");
    // A write built from the current value applies live and the pending change is gone.
    put("virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1").await;
    let row = pending_row(&h, "qemu", 100, "net0").await;
    assert_eq!(
        row["value"],
        "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1"
    );
    assert!(row.get("pending").is_none(), "{row}");
}

#[tokio::test]
async fn lxc_has_a_pending_endpoint_and_a_live_write_replaces_the_pending_net() {
    let h = Harness::start(scenario(CLUSTER)).await;
    let row = pending_row(&h, "lxc", 101, "net0").await;
    assert_eq!(
        row["value"],
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,type=veth"
    );
    assert!(row.get("pending").is_none(), "{row}");
    let value = "name=eth0,bridge=vmbr1,hwaddr=BC:24:11:00:01:01,type=veth";
    let (status, body) = h
        .sim(
            "POST",
            &format!("/guests/101/pending?key=net0&value={value}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let row = pending_row(&h, "lxc", 101, "net0").await;
    assert_eq!(row["pending"], value);
    let config = h.get("/nodes/pve1/lxc/101/config").await;
    assert_eq!(config["net0"], value, "reads merge pending values");
    let r = h
        .api(
            "PUT",
            "/nodes/pve1/lxc/101/config",
            &[(
                "net0",
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,rate=1",
            )],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let row = pending_row(&h, "lxc", 101, "net0").await;
    assert_eq!(
        row["value"],
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,rate=1,type=veth"
    );
    assert!(row.get("pending").is_none(), "{row}");
}
