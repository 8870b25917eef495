//! The PVE write side against pve-sim over real HTTPS: NIC config read-modify-write with
//! the digest, and power actions with their tasks.
//!
//! Themes: `nics` (read `netN` → edit with `enforcer::nic` → write with the digest → the
//! simulator's truth shows the effect → restore → byte-identical strings; digest
//! conflicts), `power` (UPIDs, task status, PVE's task errors, LXC's synchronous refusals,
//! the retry rule for writes), `reads` (what the enforcer reads before it writes: the live
//! `status/current`, `/pending`, `/version`). `util` starts a simulator per test on a free port; time
//! moves only by `/sim/advance`, never by sleeping.

#[path = "support/sim.rs"]
mod sim;

mod util {
    pub use super::sim::Sim;

    /// Two nodes; a QEMU VM with two NICs (one with an operator's rate, one already carrying
    /// `link_down=0`) and an LXC container, both running with flat traffic.
    pub const CLUSTER: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,rate=12.5,tag=20", rx_rate: 100000, tx_rate: 10000, shaped: false }
      - { config: "e1000=BC:24:11:00:00:02,bridge=vmbr1,link_down=0", rx_rate: 50000, tx_rate: 5000, shaped: false }
  - vmid: 101
    type: lxc
    node: pve2
    name: ct1
    nics:
      - { config: "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:03,ip=dhcp,type=veth", rx_rate: 80000, tx_rate: 8000, shaped: false }
  - vmid: 102
    type: qemu
    node: pve1
    name: stopped1
    status: stopped
    nics:
      - { config: "virtio=BC:24:11:00:00:04,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }
"#;
}

mod nics {
    use std::collections::BTreeMap;

    use super::util::{Sim, CLUSTER};
    use pve_traffic::enforcer::nic::{self, LinkMeaning};
    use pve_traffic::guest::GuestType;
    use pve_traffic::pve::guest_config::{is_digest_conflict, GuestConfig};
    use pve_traffic::pve::Client;
    use pve_traffic::store::enforcement::NicChange;

    /// The simulator runs PVE 9.1: `link_down` is read by value on QEMU and LXC alike.
    const V: LinkMeaning = LinkMeaning::Value;

    fn down(net: &str, change: &mut NicChange) -> String {
        nic::apply_link_down(net, change, V)
    }

    fn restore(net: &str, change: &mut NicChange) -> String {
        nic::restore(net, change, V)
    }

    const GUESTS: [(&str, GuestType, u32); 2] = [
        ("pve1", GuestType::Qemu, 100),
        ("pve2", GuestType::Lxc, 101),
    ];

    /// Applies `edit` to every NIC of the guest and writes the changed ones with the digest.
    async fn edit_all(
        c: &Client,
        (node, ty, vmid): (&str, GuestType, u32),
        changes: &mut BTreeMap<String, NicChange>,
        edit: impl Fn(&str, &mut NicChange) -> String,
    ) -> GuestConfig {
        let config = c.guest_config(node, ty, vmid).await.unwrap();
        let writes: Vec<(String, String)> = config
            .nets
            .iter()
            .filter_map(|(key, net)| {
                let new = edit(net, changes.entry(key.clone()).or_default());
                (new != *net).then(|| (key.clone(), new))
            })
            .collect();
        c.set_guest_nets(node, ty, vmid, &writes, &config.digest)
            .await
            .unwrap();
        config
    }

    #[tokio::test]
    async fn disconnect_stops_traffic_and_restore_is_byte_identical() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        s.advance(60).await;
        for guest in GUESTS {
            let (node, ty, vmid) = guest;
            let mut changes = BTreeMap::new();
            let before = edit_all(&c, guest, &mut changes, down).await;
            assert!(!before.nets.is_empty());
            assert_eq!(before.digest.len(), 40, "SHA-1 hex");

            // Every NIC is down in PVE's config, and no byte moves any more.
            let down = c.guest_config(node, ty, vmid).await.unwrap();
            assert_ne!(down.digest, before.digest);
            for (key, net) in &down.nets {
                assert_eq!(
                    nic::get_key(net, "link_down").as_deref(),
                    Some("1"),
                    "{key}: {net}"
                );
                assert_eq!(
                    nic::with_key(net, "link_down", None),
                    nic::with_key(&before.nets[key], "link_down", None),
                    "only link_down changed"
                );
            }
            let t0 = s.truth(vmid).await;
            s.advance(300).await;
            let t1 = s.truth(vmid).await;
            assert_eq!(t0["rx_bytes"], t1["rx_bytes"], "{ty}/{vmid}: {t0} → {t1}");
            assert_eq!(t0["tx_bytes"], t1["tx_bytes"], "{ty}/{vmid}");
            assert_eq!(t1["running"], true, "a disconnect is not a stop");

            // Restore: the strings read back are exactly the originals.
            edit_all(&c, guest, &mut changes, restore).await;
            let after = c.guest_config(node, ty, vmid).await.unwrap();
            assert_eq!(after.nets, before.nets, "{ty}/{vmid}");
            assert!(changes
                .values()
                .all(|ch| ch.rate.set.is_none() && ch.link_down.set.is_none()));
            s.advance(60).await;
            let t2 = s.truth(vmid).await;
            assert!(
                t2["rx_bytes"].as_u64() > t1["rx_bytes"].as_u64(),
                "traffic flows again: {t1} → {t2}"
            );
        }
    }

    #[tokio::test]
    async fn a_rate_limit_caps_traffic_and_keeps_a_lower_operator_rate() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        // 0.05 MB/s = 52428 B/s: below net0's 100000 B/s offered; above net1's 50000.
        let mut changes = BTreeMap::new();
        let before = edit_all(&c, GUESTS[0], &mut changes, |n, ch| {
            nic::apply_rate(n, 0.05, ch)
        })
        .await;
        let limited = c.guest_config("pve1", GuestType::Qemu, 100).await.unwrap();
        assert_eq!(
            limited.nets["net0"],
            "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,rate=0.05,tag=20"
        );
        assert_eq!(
            limited.nets["net1"],
            "e1000=BC:24:11:00:00:02,bridge=vmbr1,link_down=0,rate=0.05"
        );
        let t0 = s.truth(100).await;
        s.advance(100).await;
        let t1 = s.truth(100).await;
        let rx = |t: &serde_json::Value, n: &str| t["nics"][n]["rx_bytes"].as_u64().unwrap();
        assert_eq!(
            rx(&t1, "net0") - rx(&t0, "net0"),
            100 * 52_428,
            "capped at the rate"
        );
        assert_eq!(
            rx(&t1, "net1") - rx(&t0, "net1"),
            100 * 50_000,
            "below the cap"
        );

        // A stricter limit later, then the operator lowers net1 below it by hand.
        let config = c.guest_config("pve1", GuestType::Qemu, 100).await.unwrap();
        let op = nic::with_key(&config.nets["net1"], "rate", Some("0.01"));
        c.set_guest_nets(
            "pve1",
            GuestType::Qemu,
            100,
            &[("net1".into(), op.clone())],
            &config.digest,
        )
        .await
        .unwrap();
        edit_all(&c, GUESTS[0], &mut changes, |n, ch| {
            nic::apply_rate(n, 0.02, ch)
        })
        .await;
        let now = c.guest_config("pve1", GuestType::Qemu, 100).await.unwrap();
        assert_eq!(
            nic::get_key(&now.nets["net0"], "rate").as_deref(),
            Some("0.02")
        );
        assert_eq!(now.nets["net1"], op, "never loosened");

        // Restore: net0 as it was; net1 keeps the operator's rate.
        edit_all(&c, GUESTS[0], &mut changes, restore).await;
        let after = c.guest_config("pve1", GuestType::Qemu, 100).await.unwrap();
        assert_eq!(after.nets["net0"], before.nets["net0"]);
        assert_eq!(after.nets["net1"], op);
    }

    #[tokio::test]
    async fn a_change_between_read_and_write_is_a_digest_conflict() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        for (node, ty, vmid) in GUESTS {
            let ours = c.guest_config(node, ty, vmid).await.unwrap();
            // Someone else writes in between (with the digest they read: it succeeds).
            let theirs = c.guest_config(node, ty, vmid).await.unwrap();
            let other = nic::with_key(&theirs.nets["net0"], "firewall", Some("0"));
            c.set_guest_nets(
                node,
                ty,
                vmid,
                &[("net0".into(), other.clone())],
                &theirs.digest,
            )
            .await
            .unwrap();
            s.clear_requests().await;

            let mut change = NicChange::default();
            let down = nic::apply_link_down(&ours.nets["net0"], &mut change, V);
            let err = c
                .set_guest_nets(node, ty, vmid, &[("net0".into(), down)], &ours.digest)
                .await
                .unwrap_err();
            assert!(is_digest_conflict(&err), "{ty}: {err:?}");
            assert_eq!(err.status(), Some(500));
            assert_eq!(
                s.requests().await.len(),
                1,
                "a write that reached PVE is not retried"
            );

            // Read again, redo the edit on the fresh string: the other change survives.
            let fresh = c.guest_config(node, ty, vmid).await.unwrap();
            let mut change = NicChange::default();
            let down = nic::apply_link_down(&fresh.nets["net0"], &mut change, V);
            c.set_guest_nets(node, ty, vmid, &[("net0".into(), down)], &fresh.digest)
                .await
                .unwrap();
            let now = c.guest_config(node, ty, vmid).await.unwrap();
            assert_eq!(
                now.nets["net0"],
                nic::with_key(&other, "link_down", Some("1"))
            );
        }
    }

    #[tokio::test]
    async fn the_write_sends_only_the_changed_nets_and_the_digest() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        let config = c.guest_config("pve2", GuestType::Lxc, 101).await.unwrap();
        s.clear_requests().await;
        let mut change = NicChange::default();
        let limited = nic::apply_rate(&config.nets["net0"], 2.5, &mut change);
        c.set_guest_nets(
            "pve2",
            GuestType::Lxc,
            101,
            &[("net0".into(), limited.clone())],
            &config.digest,
        )
        .await
        .unwrap();
        // Nothing to write: no request at all.
        c.set_guest_nets("pve2", GuestType::Lxc, 101, &[], "whatever")
            .await
            .unwrap();
        let log = s.requests().await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0]["method"], "PUT");
        assert_eq!(log[0]["path"], "/nodes/pve2/lxc/101/config");
        assert_eq!(
            log[0]["params"],
            serde_json::json!({"net0": limited, "digest": config.digest})
        );
        // And the read asked for the values in effect.
        c.guest_config("pve2", GuestType::Lxc, 101).await.unwrap();
        let log = s.requests().await;
        assert_eq!(log[1]["method"], "GET");
        assert_eq!(log[1]["params"], serde_json::json!({"current": "1"}));
    }

    #[tokio::test]
    async fn a_stopped_guest_is_written_too() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        let mut changes = BTreeMap::new();
        let guest = ("pve1", GuestType::Qemu, 102);
        let before = edit_all(&c, guest, &mut changes, down).await;
        edit_all(&c, guest, &mut changes, restore).await;
        let after = c.guest_config("pve1", GuestType::Qemu, 102).await.unwrap();
        assert_eq!(after.nets, before.nets);
    }
}

mod power {
    use super::util::{Sim, CLUSTER};
    use pve_traffic::guest::GuestType;
    use pve_traffic::pve::power::{PowerAction, TaskStatus};
    use serde_json::json;

    const SHUTDOWN: PowerAction = PowerAction::Shutdown {
        timeout_s: 30,
        force: true,
    };

    #[tokio::test]
    async fn shutdown_then_start_a_vm() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        s.clear_requests().await;
        let upid = c
            .power("pve1", GuestType::Qemu, 100, SHUTDOWN)
            .await
            .unwrap();
        assert!(upid.starts_with("UPID:pve1:"), "{upid}");
        assert!(upid.contains(":qmshutdown:100:root@pam!sim:"), "{upid}");
        let log = s.requests().await;
        assert_eq!(log[0]["method"], "POST");
        assert_eq!(log[0]["path"], "/nodes/pve1/qemu/100/status/shutdown");
        assert_eq!(log[0]["params"], json!({"timeout": "30", "forceStop": "1"}));

        let t = c.task_status("pve1", &upid).await.unwrap();
        assert_eq!(
            t,
            TaskStatus {
                running: true,
                exitstatus: None
            }
        );
        assert!(!t.succeeded());
        assert_eq!(s.truth(100).await["running"], true);

        s.advance(5).await;
        let t = c.task_status("pve1", &upid).await.unwrap();
        assert_eq!(t.exitstatus.as_deref(), Some("OK"));
        assert!(!t.running && t.succeeded());
        assert_eq!(s.truth(100).await["running"], false);

        let upid = c
            .power("pve1", GuestType::Qemu, 100, PowerAction::Start)
            .await
            .unwrap();
        assert!(upid.contains(":qmstart:100:"), "{upid}");
        s.advance(5).await;
        assert!(c.task_status("pve1", &upid).await.unwrap().succeeded());
        assert_eq!(s.truth(100).await["running"], true);
    }

    #[tokio::test]
    async fn starting_a_running_vm_is_a_failed_task() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        let upid = c
            .power("pve1", GuestType::Qemu, 100, PowerAction::Start)
            .await
            .unwrap();
        s.advance(5).await;
        let t = c.task_status("pve1", &upid).await.unwrap();
        assert_eq!(
            t,
            TaskStatus {
                running: false,
                exitstatus: Some("VM 100 already running".into())
            }
        );
        assert!(!t.succeeded());
    }

    #[tokio::test]
    async fn stop_a_vm() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        s.clear_requests().await;
        let upid = c
            .power("pve1", GuestType::Qemu, 100, PowerAction::Stop)
            .await
            .unwrap();
        assert!(upid.contains(":qmstop:100:"), "{upid}");
        assert_eq!(s.requests().await[0]["params"], json!({}));
        s.advance(5).await;
        assert!(c.task_status("pve1", &upid).await.unwrap().succeeded());
        assert_eq!(s.truth(100).await["running"], false);
    }

    #[tokio::test]
    async fn lxc_shutdown_start_and_its_synchronous_refusals() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        // Starting a running CT is refused at once, not as a task.
        let err = c
            .power("pve2", GuestType::Lxc, 101, PowerAction::Start)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(500));
        assert!(err.to_string().contains("CT 101 already running"), "{err}");

        let shutdown = PowerAction::Shutdown {
            timeout_s: 10,
            force: false,
        };
        let upid = c
            .power("pve2", GuestType::Lxc, 101, shutdown)
            .await
            .unwrap();
        assert!(
            upid.starts_with("UPID:pve2:") && upid.contains(":vzshutdown:101:"),
            "{upid}"
        );
        assert!(c.task_status("pve2", &upid).await.unwrap().running);
        s.advance(5).await;
        let t = c.task_status("pve2", &upid).await.unwrap();
        assert!(t.succeeded(), "{t:?}");
        assert_eq!(s.truth(101).await["running"], false);

        let err = c
            .power("pve2", GuestType::Lxc, 101, PowerAction::Stop)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("CT 101 not running"), "{err}");

        let upid = c
            .power("pve2", GuestType::Lxc, 101, PowerAction::Start)
            .await
            .unwrap();
        assert!(upid.contains(":vzstart:101:"), "{upid}");
        s.advance(5).await;
        assert!(c.task_status("pve2", &upid).await.unwrap().succeeded());
        assert_eq!(s.truth(101).await["running"], true);
    }

    #[tokio::test]
    async fn a_task_is_asked_of_its_own_node() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        let upid = c
            .power("pve1", GuestType::Qemu, 100, PowerAction::Stop)
            .await
            .unwrap();
        let err = c.task_status("pve2", &upid).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("no such task"), "{err}");
        let err = c.task_status("pve1", "UPID:../../x").await.unwrap_err();
        assert_eq!(err.reason_label(), "malformed");
    }

    #[tokio::test]
    async fn a_power_post_is_retried_only_when_pve_never_saw_it() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        s.clear_requests().await;
        s.fault(json!({"kind": "http595", "count": 1})).await;
        let upid = c
            .power("pve1", GuestType::Qemu, 100, SHUTDOWN)
            .await
            .unwrap();
        let log = s.requests().await;
        let statuses: Vec<_> = log.iter().map(|r| r["status"].clone()).collect();
        assert_eq!(statuses, [json!(595), json!(200)]);

        s.clear_requests().await;
        s.fault(json!({"kind": "http596", "count": 1})).await;
        let err = c
            .power("pve1", GuestType::Qemu, 102, PowerAction::Start)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(596));
        assert_eq!(s.requests().await.len(), 1, "may have acted: not repeated");
        s.advance(5).await;
        assert!(c.task_status("pve1", &upid).await.unwrap().succeeded());
    }
}

mod reads {
    use super::util::{Sim, CLUSTER};
    use pve_traffic::guest::GuestType;
    use pve_traffic::pve::PendingChange;

    /// `status/current` is the node's live view: the QMP state and uptime now, whatever the
    /// last push said; and 595 (an error) while the node is offline.
    #[tokio::test]
    async fn live_status_comes_from_the_node() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        s.advance(25).await;
        let live = c.guest_status("pve1", GuestType::Qemu, 100).await.unwrap();
        let pushed = c.cluster_guests().await.unwrap()[0].uptime.unwrap();
        assert_eq!(live.status, "running");
        assert_eq!(
            live.uptime,
            Some(pushed + 5),
            "pushed at +20 s, read at +25 s"
        );
        assert_eq!(live.hastate, None);
        s.control(
            reqwest::Method::POST,
            "/guests/100/qmp-state?state=paused",
            None,
        )
        .await;
        s.control(reqwest::Method::POST, "/guests/100/ha?state=started", None)
            .await;
        let live = c.guest_status("pve1", GuestType::Qemu, 100).await.unwrap();
        assert_eq!(live.shown_status(), "paused");
        assert!(live.hastate.is_some());
        let guests = c.cluster_guests().await.unwrap();
        assert_eq!(guests[0].status, "running", "not pushed yet");
        assert!(guests[0].hastate.is_some(), "hastate is live");
        s.control(reqwest::Method::POST, "/nodes/pve1/offline", None)
            .await;
        let e = c
            .guest_status("pve1", GuestType::Qemu, 100)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("595"), "{e}");
    }

    #[tokio::test]
    async fn pending_values_and_the_version() {
        let s = Sim::yaml(CLUSTER).await;
        let c = s.ca_client();
        assert!(c
            .guest_pending("pve2", GuestType::Lxc, 101)
            .await
            .unwrap()
            .is_empty());
        let theirs = "name=eth0,bridge=vmbr5,firewall=1,hwaddr=BC:24:11:00:00:03,ip=dhcp,type=veth";
        s.control(
            reqwest::Method::POST,
            &format!(
                "/guests/101/pending?key=net0&value={}",
                theirs.replace(',', "%2C")
            ),
            None,
        )
        .await;
        let p = c.guest_pending("pve2", GuestType::Lxc, 101).await.unwrap();
        assert_eq!(p["net0"], PendingChange::Value(theirs.to_string()));
        let v = c.version().await.unwrap();
        assert_eq!(v.major(), Some(9));
        assert!(!v.lxc_link_down_is_any_key());
    }
}
