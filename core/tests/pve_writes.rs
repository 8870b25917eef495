//! The PVE write side against pve-sim over real HTTPS: power actions with their tasks, and
//! the reads before a write. (The NIC edits are the enforcer's: enforcer/tests/nic_writes.rs.)
//!
//! Themes: `power` (UPIDs, task status, PVE's task errors, LXC's synchronous refusals,
//! the retry rule for writes), `reads` (what the enforcer reads before it writes: the live
//! `status/current`, `/pending`, `/version`). `util` starts a simulator per test on a free port; time
//! moves only by `/sim/advance`, never by sleeping.

#[path = "support/sim.rs"]
mod sim;

mod util {
    pub use super::sim::{PveClients, Sim};

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

mod power {
    use super::util::{PveClients, Sim, CLUSTER};
    use pve_traffic_core::guest::GuestType;
    use pve_traffic_core::pve::power::{PowerAction, TaskStatus};
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
        assert_eq!(s.guest_truth(100).await["running"], true);

        s.advance(5).await;
        let t = c.task_status("pve1", &upid).await.unwrap();
        assert_eq!(t.exitstatus.as_deref(), Some("OK"));
        assert!(!t.running && t.succeeded());
        assert_eq!(s.guest_truth(100).await["running"], false);

        let upid = c
            .power("pve1", GuestType::Qemu, 100, PowerAction::Start)
            .await
            .unwrap();
        assert!(upid.contains(":qmstart:100:"), "{upid}");
        s.advance(5).await;
        assert!(c.task_status("pve1", &upid).await.unwrap().succeeded());
        assert_eq!(s.guest_truth(100).await["running"], true);
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
        assert_eq!(s.guest_truth(100).await["running"], false);
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
        assert_eq!(s.guest_truth(101).await["running"], false);

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
        assert_eq!(s.guest_truth(101).await["running"], true);
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
    use super::util::{PveClients, Sim, CLUSTER};
    use pve_traffic_core::guest::GuestType;
    use pve_traffic_core::pve::PendingChange;

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
        s.control("POST", "/guests/100/qmp-state?state=paused", None)
            .await;
        s.control("POST", "/guests/100/ha?state=started", None)
            .await;
        let live = c.guest_status("pve1", GuestType::Qemu, 100).await.unwrap();
        assert_eq!(live.shown_status(), "paused");
        assert!(live.hastate.is_some());
        let guests = c.cluster_guests().await.unwrap();
        assert_eq!(guests[0].status, "running", "not pushed yet");
        assert!(guests[0].hastate.is_some(), "hastate is live");
        s.control("POST", "/nodes/pve1/offline", None).await;
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
            "POST",
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
