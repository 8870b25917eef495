//! The enforcer's NIC edits against pve-sim over real HTTPS: read `netN` → edit with
//! `nic` → write with the digest → the simulator's truth shows the effect → restore →
//! byte-identical strings; digest conflicts. `util` starts a simulator per test on a free
//! port; time moves only by `/sim/advance`, never by sleeping.

mod util {
    use std::time::Duration;

    pub use pve_sim::testkit::TestSim as Sim;
    use pve_traffic_core::pve::{Client, ClientOptions};
    use pve_traffic_core::secret::Secret;

    /// A PVE client of ours trusting the simulator's CA file (`pve.tls.ca_file`).
    pub fn ca_client(s: &Sim) -> Client {
        let mut o = ClientOptions::new(s.base_url(), s.token_id(), Secret::new(s.token_secret()));
        o.ca_file = Some(s.ca_file());
        o.timeout = Duration::from_secs(5);
        Client::new(o).unwrap()
    }

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

    use super::util::{ca_client, Sim, CLUSTER};
    use pve_traffic_core::guest::GuestType;
    use pve_traffic_core::pve::guest_config::{is_digest_conflict, GuestConfig};
    use pve_traffic_core::pve::Client;
    use pve_traffic_enforcer::nic::{self, LinkMeaning};
    use pve_traffic_store::enforcement::NicChange;

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
        let c = ca_client(&s);
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
            let t0 = s.guest_truth(vmid).await;
            s.advance(300).await;
            let t1 = s.guest_truth(vmid).await;
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
            let t2 = s.guest_truth(vmid).await;
            assert!(
                t2["rx_bytes"].as_u64() > t1["rx_bytes"].as_u64(),
                "traffic flows again: {t1} → {t2}"
            );
        }
    }

    #[tokio::test]
    async fn a_rate_limit_caps_traffic_and_keeps_a_lower_operator_rate() {
        let s = Sim::yaml(CLUSTER).await;
        let c = ca_client(&s);
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
        let t0 = s.guest_truth(100).await;
        s.advance(100).await;
        let t1 = s.guest_truth(100).await;
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
        let c = ca_client(&s);
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
        let c = ca_client(&s);
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
        let c = ca_client(&s);
        let mut changes = BTreeMap::new();
        let guest = ("pve1", GuestType::Qemu, 102);
        let before = edit_all(&c, guest, &mut changes, down).await;
        edit_all(&c, guest, &mut changes, restore).await;
        let after = c.guest_config("pve1", GuestType::Qemu, 102).await.unwrap();
        assert_eq!(after.nets, before.nets);
    }
}
