//! Guest config (docs/pve-api.md, "Guest config"): the read shape and types, canonical
//! `netN` printing, digests and their conflicts, locks, parameter errors, tags, QEMU's async
//! POST, pending values, and what a NIC change does to a running guest's counters and
//! traffic (checked against `/sim/truth`).

use serde_json::Value;

use crate::power::{act_ok, call, current, run_action, Answer};
use crate::util::{scenario, Harness};

const NOT_IN_SCHEMA: &str =
    "property is not defined in schema and the schema does not allow additional properties";

fn cfg_path(node: &str, kind: &str, vmid: u32) -> String {
    format!("/nodes/{node}/{kind}/{vmid}/config")
}

/// `GET .../config` (pending merged in).
async fn config(h: &Harness, node: &str, kind: &str, vmid: u32) -> Value {
    h.get(&cfg_path(node, kind, vmid)).await
}

/// `GET .../config?current=1`.
async fn config_current(h: &Harness, node: &str, kind: &str, vmid: u32) -> Value {
    h.get(&format!("{}?current=1", cfg_path(node, kind, vmid)))
        .await
}

/// `PUT .../config`.
async fn put(h: &Harness, node: &str, kind: &str, vmid: u32, params: &[(&str, &str)]) -> Answer {
    call(h, "PUT", &cfg_path(node, kind, vmid), params).await
}

/// `PUT .../config` that must succeed with `{"data":null}`.
async fn put_ok(h: &Harness, node: &str, kind: &str, vmid: u32, params: &[(&str, &str)]) {
    let a = put(h, node, kind, vmid, params).await;
    assert_eq!(a.status, 200, "PUT {params:?}: {} {:?}", a.reason, a.body);
    assert_eq!(a.body, serde_json::json!({"data": null}));
}

fn is_proxmox_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    mac.starts_with("BC:24:11:")
        && parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

fn is_digest(v: &Value) -> bool {
    v.as_str().is_some_and(|d| {
        d.len() == 40
            && d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[tokio::test]
async fn config_read_has_pves_shape_and_types_on_9_1() {
    let h = Harness::basic().await;
    let c = config(&h, "pve1", "qemu", 100).await;
    assert!(is_digest(&c["digest"]), "{c}");
    assert_eq!(c["cores"], 2, "integer keys are JSON numbers");
    assert_eq!(c["memory"], "2048", "QEMU memory is a string since 8.1");
    assert_eq!(c["name"], "web1");
    assert_eq!(c["tags"], "prod;web");
    assert_eq!(
        c["net0"],
        "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"
    );
    assert_eq!(c["net1"], "e1000=BC:24:11:00:00:02,bridge=vmbr1");
    assert!(
        c.get("lock").is_none() && c.get("template").is_none(),
        "{c}"
    );

    let t = config(&h, "pve1", "qemu", 9000).await;
    assert_eq!(t["template"], 1);

    let ct = config(&h, "pve2", "lxc", 101).await;
    assert!(is_digest(&ct["digest"]));
    assert_eq!(ct["memory"], 2048, "LXC memory is an integer");
    assert_eq!(ct["cores"], 2);
    assert_eq!(ct["hostname"], "ct1");
    assert_eq!(
        ct["net0"],
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp,type=veth"
    );
    // The digest is of the config file, so two guests differ, and reading twice agrees.
    assert_ne!(c["digest"], ct["digest"]);
    assert_eq!(config(&h, "pve1", "qemu", 100).await["digest"], c["digest"]);
}

#[tokio::test]
async fn qemu_memory_is_a_number_on_7_4_and_errors_lack_message() {
    let yaml = crate::util::BASIC.replacen("start_time", "pve_version: \"7.4\"\nstart_time", 1);
    let h = Harness::start(scenario(&yaml)).await;
    let c = config(&h, "pve1", "qemu", 100).await;
    assert_eq!(c["memory"], 2048);
    assert_eq!(c["cores"], 2);
    let a = put(&h, "pve1", "qemu", 100, &[]).await;
    assert_eq!((a.status, a.reason.as_str()), (500, "no options specified"));
    assert_eq!(a.body, serde_json::json!({"data": null}));
}

#[tokio::test]
async fn put_net0_stores_the_canonical_string() {
    let h = Harness::basic().await;
    let before = config(&h, "pve1", "qemu", 100).await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[(
            "net0",
            "rate=12.5,link_down=yes,firewall=1,bridge=vmbr0,virtio=BC:24:11:00:00:01",
        )],
    )
    .await;
    let want = "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=1,rate=12.5";
    let after = config(&h, "pve1", "qemu", 100).await;
    assert_eq!(after["net0"], want);
    assert_eq!(
        config_current(&h, "pve1", "qemu", 100).await["net0"],
        want,
        "applied live"
    );
    assert!(is_digest(&after["digest"]));
    assert_ne!(
        after["digest"], before["digest"],
        "a write changes the digest"
    );
    assert_eq!(after["net1"], before["net1"], "other keys untouched");

    // The `model=...,macaddr=...` spelling and other bool spellings also print canonically.
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[(
            "net1",
            "tag=5,macaddr=BC:24:11:00:00:02,model=e1000,bridge=vmbr1,firewall=off,queues=2",
        )],
    )
    .await;
    assert_eq!(
        config(&h, "pve1", "qemu", 100).await["net1"],
        "e1000=BC:24:11:00:00:02,bridge=vmbr1,firewall=0,queues=2,tag=5"
    );
}

#[tokio::test]
async fn a_nic_without_a_mac_gets_a_new_proxmox_mac() {
    let h = Harness::basic().await;
    put_ok(&h, "pve2", "qemu", 102, &[("net0", "virtio,bridge=vmbr0")]).await;
    let net0 = config(&h, "pve2", "qemu", 102).await["net0"]
        .as_str()
        .unwrap()
        .to_string();
    let (model_mac, rest) = net0.split_once(',').unwrap();
    let mac = model_mac.strip_prefix("virtio=").expect(&net0);
    assert!(is_proxmox_mac(mac), "{net0}");
    assert_ne!(mac, "BC:24:11:00:02:01", "a new MAC, not the old one");
    assert_eq!(rest, "bridge=vmbr0");

    put_ok(
        &h,
        "pve2",
        "lxc",
        101,
        &[("net1", "name=eth1,bridge=vmbr1")],
    )
    .await;
    let net1 = config(&h, "pve2", "lxc", 101).await["net1"]
        .as_str()
        .unwrap()
        .to_string();
    let mac = net1
        .strip_prefix("name=eth1,bridge=vmbr1,hwaddr=")
        .and_then(|r| r.strip_suffix(",type=veth"))
        .expect(&net1);
    assert!(is_proxmox_mac(mac), "{net1}");
}

#[tokio::test]
async fn a_stale_digest_is_refused_and_changes_nothing() {
    let h = Harness::basic().await;
    for (node, kind, vmid, text) in [
        (
            "pve1",
            "qemu",
            100,
            "checksum mismatch (file change by other user?)",
        ),
        (
            "pve2",
            "lxc",
            101,
            "detected modified configuration - file changed by other user? Try again.",
        ),
    ] {
        let d1 = config(&h, node, kind, vmid).await["digest"]
            .as_str()
            .unwrap()
            .to_string();
        put_ok(
            &h,
            node,
            kind,
            vmid,
            &[("description", "first"), ("digest", &d1)],
        )
        .await;
        let c2 = config(&h, node, kind, vmid).await;
        assert_ne!(c2["digest"], d1.as_str());
        let a = put(
            &h,
            node,
            kind,
            vmid,
            &[("description", "second"), ("digest", &d1)],
        )
        .await;
        a.assert_error(500, text);
        let c3 = config(&h, node, kind, vmid).await;
        assert_eq!(c3, c2, "nothing changed");
        assert_eq!(c3["description"], "first");
    }
    // POST checks the digest before forking: a synchronous 500, no task.
    let d = config(&h, "pve1", "qemu", 100).await["digest"]
        .as_str()
        .unwrap()
        .replace(|c: char| c != '0', "0");
    let a = call(
        &h,
        "POST",
        &cfg_path("pve1", "qemu", 100),
        &[("description", "x"), ("digest", &d)],
    )
    .await;
    a.assert_error(500, "checksum mismatch (file change by other user?)");
    assert_eq!(crate::power::task_count(&h), 0);
}

#[tokio::test]
async fn a_locked_guest_refuses_config_writes() {
    let h = Harness::basic().await;
    for vmid in [100, 101] {
        let (st, _) = h
            .sim("POST", &format!("/guests/{vmid}/lock?lock=backup"), None)
            .await;
        assert_eq!(st, 200);
    }
    let before = config(&h, "pve1", "qemu", 100).await;
    assert_eq!(before["lock"], "backup");
    put(&h, "pve1", "qemu", 100, &[("description", "x")])
        .await
        .assert_error(500, "VM is locked (backup)");
    put(&h, "pve2", "lxc", 101, &[("description", "x")])
        .await
        .assert_error(500, "CT is locked (backup)");
    assert_eq!(config(&h, "pve1", "qemu", 100).await, before);
    put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("description", "x"), ("skiplock", "1")],
    )
    .await
    .assert_param_error("skiplock", "Only root may use this option.");
    let (st, _) = h.sim("POST", "/guests/100/unlock", None).await;
    assert_eq!(st, 200);
    put_ok(&h, "pve1", "qemu", 100, &[("description", "x")]).await;
}

#[tokio::test]
async fn a_write_without_options_is_refused() {
    let h = Harness::basic().await;
    put(&h, "pve1", "qemu", 100, &[])
        .await
        .assert_error(500, "no options specified");
    let d = config(&h, "pve2", "lxc", 101).await["digest"]
        .as_str()
        .unwrap()
        .to_string();
    put(&h, "pve2", "lxc", 101, &[("digest", &d)])
        .await
        .assert_error(500, "no options specified");
}

#[tokio::test]
async fn invalid_values_and_unknown_keys_are_400s_that_change_nothing() {
    let h = Harness::basic().await;
    let before = config(&h, "pve1", "qemu", 100).await;
    let mac = "virtio=BC:24:11:00:00:01,bridge=vmbr0";
    put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", &format!("{mac},rate=abc"))],
    )
    .await
    .assert_param_error(
        "net0",
        "invalid format - format error\nnet0.rate: type check ('number') failed - got 'abc'\n",
    );
    put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", &format!("{mac},rate=-1"))],
    )
    .await
    .assert_param_error(
        "net0",
        "invalid format - format error\nnet0.rate: value must have a minimum value of 0\n",
    );
    put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net3", "virtio,bridge=vmbr0,speed=10")],
    )
    .await
    .assert_param_error(
        "net3",
        &format!("invalid format - format error\nnet3.speed: {NOT_IN_SCHEMA}\n"),
    );
    put(&h, "pve1", "qemu", 100, &[("net0", "virtio2,bridge=vmbr0")])
        .await
        .assert_param_error(
            "net0",
            "invalid format - format error\nnet0.model: value 'virtio2' does not have a value in the enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n",
        );
    put(&h, "pve1", "qemu", 100, &[("frobnicate", "1")])
        .await
        .assert_param_error("frobnicate", NOT_IN_SCHEMA);
    put(&h, "pve1", "qemu", 100, &[("net32", mac)])
        .await
        .assert_param_error("net32", NOT_IN_SCHEMA);
    // One bad value sinks the whole write: the good one is not applied either.
    let a = put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net1", &format!("{mac},rate=abc")), ("description", "x")],
    )
    .await;
    assert_eq!(a.status, 400, "{a:?}");
    assert_eq!(config(&h, "pve1", "qemu", 100).await, before);
}

#[tokio::test]
async fn tags_are_normalised_and_bad_tags_refused() {
    let h = Harness::basic().await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("tags", "Web;prod,web  Prod;a-b.c+d")],
    )
    .await;
    assert_eq!(
        config(&h, "pve1", "qemu", 100).await["tags"],
        "a-b.c+d;prod;web"
    );
    assert_eq!(
        current(&h, "pve1", "qemu", 100).await["tags"],
        "a-b.c+d;prod;web"
    );
    for bad in ["bad!tag", "prod;-lead"] {
        put(&h, "pve1", "qemu", 100, &[("tags", bad)])
            .await
            .assert_param_error("tags", "invalid format - invalid characters in tag\n");
    }
    assert_eq!(
        config(&h, "pve1", "qemu", 100).await["tags"],
        "a-b.c+d;prod;web"
    );
}

#[tokio::test]
async fn qemu_post_answers_a_qmconfig_upid_and_lxc_has_no_post() {
    let h = Harness::basic().await;
    let a = call(
        &h,
        "POST",
        &cfg_path("pve1", "qemu", 100),
        &[("net1", "e1000=BC:24:11:00:00:02,bridge=vmbr1,rate=3")],
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    let upid = a.body["data"].as_str().unwrap().to_string();
    crate::power::assert_upid(&upid, "pve1", "qmconfig", "100", "root@pam!sim");
    let t = h.wait_task("pve1", &upid, 5).await;
    assert_eq!(t["exitstatus"], "OK");
    assert_eq!(
        config(&h, "pve1", "qemu", 100).await["net1"],
        "e1000=BC:24:11:00:00:02,bridge=vmbr1,rate=3"
    );
    call(
        &h,
        "POST",
        &cfg_path("pve2", "lxc", 101),
        &[("description", "x")],
    )
    .await
    .assert_error(
        501,
        "Method 'POST /nodes/pve2/lxc/101/config' not implemented",
    );
}

#[tokio::test]
async fn delete_removes_a_nic_and_its_device() {
    let h = Harness::basic().await;
    h.advance(10).await;
    put_ok(&h, "pve1", "qemu", 100, &[("delete", "net1")]).await;
    let c = config(&h, "pve1", "qemu", 100).await;
    assert!(c.get("net1").is_none(), "{c}");
    let s = current(&h, "pve1", "qemu", 100).await;
    let nics: Vec<&String> = s["nics"].as_object().unwrap().keys().collect();
    assert_eq!(nics, ["tap100i0"]);
    h.advance(10).await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["netin"], 20_000, "only net0 counts now: {s}");
    let truth = &h.truth().await["guests"]["100"];
    assert_eq!(truth["nics"]["net1"]["present"], false);
    assert_eq!(
        truth["nics"]["net1"]["rx_bytes"], 5_000,
        "its truth stays, frozen"
    );
    assert_eq!(truth["rx_bytes"], 25_000);
    put(&h, "pve1", "qemu", 100, &[("delete", "bogus")])
        .await
        .assert_param_error("delete", "invalid configuration key 'bogus'");
}

const NO_NET_HOTPLUG: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    hotplug: "disk,usb"
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }
"#;

#[tokio::test]
async fn without_network_hotplug_a_mac_change_stays_pending_until_the_next_start() {
    let h = Harness::start(scenario(NO_NET_HOTPLUG)).await;
    let old = "virtio=BC:24:11:00:00:01,bridge=vmbr0";
    let new = "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0";
    h.advance(10).await;
    let d0 = config(&h, "pve1", "qemu", 100).await["digest"].clone();
    put_ok(&h, "pve1", "qemu", 100, &[("net0", new)]).await;
    assert_eq!(
        config(&h, "pve1", "qemu", 100).await["net0"],
        new,
        "pending merged"
    );
    assert_eq!(config_current(&h, "pve1", "qemu", 100).await["net0"], old);
    let pending = h.get("/nodes/pve1/qemu/100/pending").await;
    let row = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "net0")
        .cloned()
        .expect("net0 row");
    assert_eq!(row["value"], old);
    assert_eq!(row["pending"], new);
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        s["nics"]["tap100i0"]["netin"], 10_000,
        "the device was not touched"
    );

    // The pending section is part of the config file, so of the digest, whichever view
    // is read.
    let d = config(&h, "pve1", "qemu", 100).await["digest"].clone();
    assert_ne!(d, d0);
    assert_eq!(config_current(&h, "pve1", "qemu", 100).await["digest"], d);

    assert_eq!(run_action(&h, "pve1", "qemu", 100, "stop").await, "OK");
    assert_eq!(
        config_current(&h, "pve1", "qemu", 100).await["net0"],
        old,
        "still pending"
    );
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "start").await, "OK");
    assert_eq!(config_current(&h, "pve1", "qemu", 100).await["net0"], new);
    let pending = h.get("/nodes/pve1/qemu/100/pending").await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("pending").is_none()),
        "{pending}"
    );
}

#[tokio::test]
async fn without_network_hotplug_rate_and_link_down_still_apply_live() {
    let h = Harness::start(scenario(NO_NET_HOTPLUG)).await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1")],
    )
    .await;
    assert_eq!(
        config_current(&h, "pve1", "qemu", 100).await["net0"],
        "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1"
    );
    h.advance(30).await;
    assert_eq!(h.truth().await["guests"]["100"]["rx_bytes"], 0);
}

#[tokio::test]
async fn a_mac_or_model_change_recreates_the_nic_but_rate_and_link_down_keep_counters() {
    let h = Harness::basic().await;
    h.advance(20).await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1")],
    )
    .await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["nics"]["tap100i0"]["netin"], 0, "new device: {s}");
    assert_eq!(
        s["nics"]["tap100i1"]["netin"], 10_000,
        "the other NIC is untouched"
    );
    h.advance(5).await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["nics"]["tap100i0"]["netin"], 5_000);
    assert_eq!(s["nics"]["tap100i0"]["netout"], 500);
    let truth = &h.truth().await["guests"]["100"]["nics"]["net0"];
    assert_eq!(truth["rx_bytes"], 25_000, "the truth goes on: {truth}");

    // A model change recreates the device too.
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net1", "virtio=BC:24:11:00:00:02,bridge=vmbr1")],
    )
    .await;
    assert_eq!(
        current(&h, "pve1", "qemu", 100).await["nics"]["tap100i1"]["netin"],
        0
    );

    // rate, link_down, firewall, bridge: same device, counters kept.
    h.advance(5).await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[(
            "net0",
            "virtio=BC:24:11:AA:BB:CC,bridge=vmbr2,link_down=1,rate=50",
        )],
    )
    .await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["nics"]["tap100i0"]["netin"], 10_000, "{s}");
    assert_eq!(s["nics"]["tap100i1"]["netin"], 2_500);
}

#[tokio::test]
async fn link_down_on_every_nic_stops_all_traffic() {
    let h = Harness::basic().await;
    h.advance(10).await;
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[
            (
                "net0",
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=1",
            ),
            ("net1", "e1000=BC:24:11:00:00:02,bridge=vmbr1,link_down=1"),
        ],
    )
    .await;
    put_ok(
        &h,
        "pve2",
        "lxc",
        101,
        &[(
            "net0",
            "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp,link_down=1",
        )],
    )
    .await;
    let before = h.truth().await;
    h.advance(60).await;
    let after = h.truth().await;
    for vmid in ["100", "101"] {
        for dir in ["rx_bytes", "tx_bytes"] {
            assert_eq!(
                after["guests"][vmid][dir], before["guests"][vmid][dir],
                "{vmid} {dir} frozen"
            );
        }
    }
    assert_eq!(before["guests"]["100"]["rx_bytes"], 15_000);
    assert_eq!(before["guests"]["101"]["rx_bytes"], 20_000);
    // Counters are kept, not reset, by link_down.
    assert_eq!(current(&h, "pve1", "qemu", 100).await["netin"], 15_000);
    assert_eq!(current(&h, "pve2", "lxc", 101).await["netin"], 20_000);

    // link_down=0 brings the traffic back.
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[(
            "net0",
            "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=0",
        )],
    )
    .await;
    h.advance(10).await;
    assert_eq!(
        h.truth().await["guests"]["100"]["rx_bytes"],
        15_000 + 10_000
    );
}

const FLAT: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 5000, tx_rate: 3000, shaped: false }
      - { config: "virtio=BC:24:11:00:00:02,bridge=vmbr1", rx_rate: 700, tx_rate: 5000, shaped: false }
  - vmid: 101
    type: lxc
    node: pve1
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01", rx_rate: 5000, tx_rate: 2000, shaped: false }
"#;

#[tokio::test]
async fn rate_caps_both_directions_at_int_rate_mib() {
    let h = Harness::start(scenario(FLAT)).await;
    let cap = (0.001f64 * 1024.0 * 1024.0) as u64;
    assert_eq!(cap, 1048);
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[
            ("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,rate=0.001"),
            ("net1", "virtio=BC:24:11:00:00:02,bridge=vmbr1,rate=0.001"),
        ],
    )
    .await;
    put_ok(
        &h,
        "pve1",
        "lxc",
        101,
        &[(
            "net0",
            "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,rate=0.001",
        )],
    )
    .await;
    let before = h.truth().await;
    h.advance(100).await;
    let after = h.truth().await;
    let grew = |vmid: &str, nic: &str, dir: &str| {
        after["guests"][vmid]["nics"][nic][dir].as_u64().unwrap()
            - before["guests"][vmid]["nics"][nic][dir].as_u64().unwrap()
    };
    assert_eq!(grew("100", "net0", "rx_bytes"), cap * 100);
    assert_eq!(grew("100", "net0", "tx_bytes"), cap * 100);
    assert_eq!(
        grew("100", "net1", "rx_bytes"),
        700 * 100,
        "below the cap: as offered"
    );
    assert_eq!(grew("100", "net1", "tx_bytes"), cap * 100);
    assert_eq!(grew("101", "net0", "rx_bytes"), cap * 100);
    assert_eq!(grew("101", "net0", "tx_bytes"), cap * 100);

    // rate=0 removes the limit.
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,rate=0")],
    )
    .await;
    let before = h.truth().await;
    h.advance(10).await;
    let after = h.truth().await;
    let rx = |t: &Value| {
        t["guests"]["100"]["nics"]["net0"]["rx_bytes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rx(&after) - rx(&before), 50_000);
}

#[tokio::test]
async fn lxc_put_prints_canonical_lxc_order_and_applies_live() {
    let h = Harness::basic().await;
    h.advance(10).await;
    put_ok(
        &h,
        "pve2",
        "lxc",
        101,
        &[(
            "net0",
            "type=veth,ip=dhcp,rate=5,link_down=no,hwaddr=BC:24:11:00:01:01,firewall=1,bridge=vmbr0,name=eth0",
        )],
    )
    .await;
    let want = "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:01:01,ip=dhcp,link_down=0,rate=5,type=veth";
    assert_eq!(config(&h, "pve2", "lxc", 101).await["net0"], want);
    assert_eq!(config_current(&h, "pve2", "lxc", 101).await["net0"], want);
    assert_eq!(
        current(&h, "pve2", "lxc", 101).await["netin"],
        20_000,
        "same veth"
    );
    // An hwaddr change recreates the veth: counters start over.
    put_ok(
        &h,
        "pve2",
        "lxc",
        101,
        &[(
            "net0",
            "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:02,ip=dhcp",
        )],
    )
    .await;
    assert_eq!(current(&h, "pve2", "lxc", 101).await["netin"], 0);
    h.advance(1).await;
    assert_eq!(current(&h, "pve2", "lxc", 101).await["netin"], 2_000);
    assert_eq!(h.truth().await["guests"]["101"]["rx_bytes"], 22_000);
    // LXC: a missing `name` is an error naming it.
    put(&h, "pve2", "lxc", 101, &[("net0", "bridge=vmbr0")])
        .await
        .assert_param_error(
            "net0",
            "invalid format - format error\nnet0.name: property is missing and it is not optional\n",
        );
}

#[tokio::test]
async fn a_stopped_guest_takes_nic_changes_directly() {
    let h = Harness::basic().await;
    put_ok(
        &h,
        "pve2",
        "qemu",
        102,
        &[("net0", "e1000=BC:24:11:00:02:09,bridge=vmbr0,rate=1")],
    )
    .await;
    let want = "e1000=BC:24:11:00:02:09,bridge=vmbr0,rate=1";
    assert_eq!(config_current(&h, "pve2", "qemu", 102).await["net0"], want);
    let pending = h.get("/nodes/pve2/qemu/102/pending").await;
    assert!(pending
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("pending").is_none()));
    let upid = act_ok(&h, "pve2", "qemu", 102, "start").await;
    h.wait_task("pve2", &upid, 5).await;
    h.advance(10).await;
    assert_eq!(current(&h, "pve2", "qemu", 102).await["netin"], 30_000);
}

#[tokio::test]
async fn a_pending_delete_hides_the_key_from_the_merged_view_and_revert_drops_it() {
    let h = Harness::start(scenario(NO_NET_HOTPLUG)).await;
    let old = "virtio=BC:24:11:00:00:01,bridge=vmbr0";
    put_ok(&h, "pve1", "qemu", 100, &[("delete", "net0")]).await;
    let merged = config(&h, "pve1", "qemu", 100).await;
    assert!(
        merged.get("net0").is_none(),
        "pending deletions are applied to the merged view: {merged}"
    );
    assert_eq!(config_current(&h, "pve1", "qemu", 100).await["net0"], old);
    let pending = h.get("/nodes/pve1/qemu/100/pending").await;
    let row = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "net0")
        .cloned()
        .unwrap();
    assert_eq!(
        (&row["value"], &row["delete"]),
        (&old.into(), &1.into()),
        "{row}"
    );
    assert_eq!(
        current(&h, "pve1", "qemu", 100).await["nics"]["tap100i0"]["netin"],
        0
    );

    put_ok(&h, "pve1", "qemu", 100, &[("revert", "net0")]).await;
    assert_eq!(config(&h, "pve1", "qemu", 100).await["net0"], old);
    let pending = h.get("/nodes/pve1/qemu/100/pending").await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("delete").is_none()),
        "{pending}"
    );

    // A pending value can be reverted too.
    put_ok(
        &h,
        "pve1",
        "qemu",
        100,
        &[("net0", "e1000=BC:24:11:00:00:01,bridge=vmbr0")],
    )
    .await;
    assert_ne!(config(&h, "pve1", "qemu", 100).await["net0"], old);
    put_ok(&h, "pve1", "qemu", 100, &[("revert", "net0")]).await;
    assert_eq!(config(&h, "pve1", "qemu", 100).await["net0"], old);

    // Applied at the next start.
    put_ok(&h, "pve1", "qemu", 100, &[("delete", "net0")]).await;
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "stop").await, "OK");
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "start").await, "OK");
    assert!(config_current(&h, "pve1", "qemu", 100)
        .await
        .get("net0")
        .is_none());
}

#[tokio::test]
async fn qemu_post_with_background_delay_answers_null_once_done() {
    let h = Harness::basic().await;
    let a = call(
        &h,
        "POST",
        &cfg_path("pve1", "qemu", 100),
        &[("description", "bg"), ("background_delay", "5")],
    )
    .await;
    assert_eq!(
        (a.status, &a.body),
        (200, &serde_json::json!({"data": null}))
    );
    assert_eq!(config(&h, "pve1", "qemu", 100).await["description"], "bg");
    call(
        &h,
        "POST",
        &cfg_path("pve1", "qemu", 100),
        &[("description", "bg"), ("background_delay", "31")],
    )
    .await
    .assert_param_error("background_delay", "value must have a maximum value of 30");
    // PUT has no background_delay.
    put(
        &h,
        "pve1",
        "qemu",
        100,
        &[("description", "bg"), ("background_delay", "5")],
    )
    .await
    .assert_param_error("background_delay", NOT_IN_SCHEMA);
}
