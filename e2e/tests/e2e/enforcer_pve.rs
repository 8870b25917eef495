//! The enforcer against the ways of a real PVE that pve-sim models: VMs whose vCPUs are
//! halted, HA-managed guests, operators' pending NIC changes, LXC `link_down` by
//! pve-container version, and stats that are frozen (stalled or offline node) or `unknown`.
//! What happened is read from the simulator (`/sim/requests`, `/sim/truth`, configs,
//! `/cluster/resources`) and from the store's action log, never from the enforcer's state.

use pve_traffic_core::exposition::Format;
use pve_traffic_enforcer::metrics::Stats;

use crate::enforcer::World;

/// 2026-03-02T10:00Z; the hour ends at [`HOUR_END_MS`].
const START: u64 = 1_772_445_600;
const HOUR_END_MS: i64 = 1_772_449_200_000;

/// A cluster of two nodes on `version` with `guests` (YAML list items).
fn scenario(version: &str, guests: &str) -> String {
    format!("start_time: {START}\npve_version: \"{version}\"\nnodes: [{{ name: pve1 }}, {{ name: pve2 }}]\nguests:\n{guests}")
}

/// A QEMU guest moving 1 MB/s down, with `extra` YAML keys.
fn vm(vmid: u32, node: &str, extra: &str) -> String {
    let mac = vmid % 256;
    format!("  - {{ vmid: {vmid}, type: qemu, node: {node}{extra}, nics: [{{ config: \"virtio=BC:24:11:00:{mac:02X}:01,bridge=vmbr0,firewall=1\", rx_rate: 1000000, tx_rate: 1000, shaped: false }}] }}\n")
}

/// An hourly rule over 100 MB received with `action` for `vmids`.
fn rule(action: &str, vmids: &str) -> String {
    format!("  - {{ name: hourly, period: hour, limit: 100MB, direction: rx, action: {action}, rate_limit_mb: 80, vm_ids: [{vmids}] }}\n")
}

impl World {
    /// Polls and runs one enforcer cycle at the simulator's now, without moving time.
    async fn cycle_now(&mut self) -> pve_traffic_enforcer::cycle::CycleOutcome {
        self.env.poll(&mut self.exporter).await.unwrap();
        let now = self.env.now_ms().await;
        self.enforcer.cycle(now).await
    }

    /// Steps of at most `step` seconds (polling and cycling after each) up to `until_ms`.
    async fn run_until(&mut self, until_ms: i64, step: u64) {
        loop {
            let left = (until_ms - self.env.now_ms().await) / 1000;
            if left <= 0 {
                return;
            }
            self.step(step.min(left as u64)).await;
        }
    }

    /// The power POSTs for `vmid` since request `since`: `start`, `stop`, `shutdown`.
    async fn power_posts(&self, vmid: u32, since: u64) -> Vec<String> {
        self.writes(vmid, since)
            .await
            .iter()
            .filter_map(|r| {
                let path = r["path"].as_str().unwrap();
                path.split_once("/status/").map(|(_, a)| a.to_string())
            })
            .collect()
    }

    /// `hastate` and `status` of `vmid` in `/cluster/resources`.
    async fn shown(&self, vmid: u32) -> (Option<String>, String) {
        let guests = self.client().cluster_guests().await.unwrap();
        let g = guests.iter().find(|g| g.vmid == vmid).unwrap();
        (g.hastate.clone(), g.status.clone())
    }

    /// The enforcer's `/metrics` text.
    fn metrics(&self) -> String {
        let stats: Stats = self.enforcer.stats().lock().unwrap().clone();
        stats.render(Format::Classic)
    }
}

/// A VM in `paused`, `prelaunch` or `suspended` cannot take an ACPI shutdown (PVE refuses it,
/// or on 7.4 lets it time out): a shutdown rule stops it directly, logs why, and leaves it
/// stopped at the end (it cannot be brought back paused).
#[tokio::test]
async fn a_halted_vm_that_must_shut_down_is_stopped() {
    for (version, state) in [
        ("9.1", "paused"),
        ("9.1", "prelaunch"),
        ("8.4", "suspended"),
        ("7.4", "prelaunch"),
    ] {
        let s = scenario(version, &vm(100, "pve1", ""));
        let mut w = World::start_in(&s, &rule("shutdown", "100"), false).await;
        w.env.advance(120).await;
        w.env.poll(&mut w.exporter).await.unwrap();
        w.env
            .control(
                "POST",
                &format!("/guests/100/qmp-state?state={state}"),
                None,
            )
            .await;
        w.env.advance(10).await; // the next push shows it
        assert_eq!(w.shown(100).await.1, state, "{version}");
        let seq = w.last_seq().await;
        let out = w.cycle_now().await;
        assert!(out.fail_safe.is_none(), "{:?}", out.fail_safe);
        assert_eq!(w.power_posts(100, seq).await, ["stop"], "{version} {state}");
        w.env.advance(2).await;
        assert!(!w.running(100).await, "{version} {state}");
        let stop = w
            .actions(100)
            .into_iter()
            .find(|a| a.action == "stop")
            .unwrap();
        assert_eq!(stop.result, "ok");
        assert!(
            stop.detail
                .contains(&format!("the VM is {state} and cannot take a shutdown")),
            "{}",
            stop.detail
        );
        let seq = w.last_seq().await;
        w.run_until(HOUR_END_MS + 60_000, 300).await;
        assert!(
            w.power_posts(100, seq).await.is_empty(),
            "{version} {state}"
        );
        assert!(!w.running(100).await, "left stopped: {version} {state}");
    }
}

/// An HA-managed guest: the shutdown is an `hastop` task that ends OK a second later while
/// the guest still runs for ten more; the enforcer, cycling every 5 s, waits for the state
/// (no stop fallback, no second request), across a restart of its own. At the end it starts
/// the guest through PVE's start (an `hastart`, which sets the HA request back to started),
/// sends it once although the guest shows running only 20 s later, and logs the restore
/// only once the guest runs.
#[tokio::test]
async fn an_ha_managed_guest_is_powered_through_the_ha_manager_and_waited_for() {
    let s = scenario("9.1", &vm(100, "pve1", ", ha: started"));
    let mut w = World::start_in(&s, &rule("shutdown", "100"), false).await;
    assert_eq!(w.shown(100).await.0.as_deref(), Some("started"));
    let seq = w.last_seq().await;
    w.step(120).await;
    for i in 0..12 {
        if i == 1 {
            w.restart_enforcer(); // the hastop task has ended OK; the guest still runs
        }
        w.step(5).await;
    }
    assert_eq!(w.power_posts(100, seq).await, ["shutdown"]);
    assert!(!w.running(100).await);
    assert_eq!(
        w.shown(100).await,
        (Some("stopped".into()), "stopped".into())
    );
    let shutdown = w
        .actions(100)
        .into_iter()
        .find(|a| a.action == "shutdown")
        .unwrap();
    assert!(shutdown.detail.contains(":hastop:"), "{}", shutdown.detail);

    w.run_until(HOUR_END_MS - 60_000, 300).await;
    let seq = w.last_seq().await;
    let mut running_at = None;
    while w.env.now_ms().await < HOUR_END_MS + 60_000 {
        w.step(5).await;
        if running_at.is_none() && w.running(100).await {
            running_at = Some(w.env.now_ms().await);
        }
    }
    assert_eq!(
        w.power_posts(100, seq).await,
        ["start"],
        "one start, waited for"
    );
    assert_eq!(
        w.shown(100).await,
        (Some("started".into()), "running".into())
    );
    let log = w.actions(100);
    let start = log.iter().find(|a| a.action == "start").unwrap();
    assert!(start.detail.contains(":hastart:"), "{}", start.detail);
    let restore = log.iter().find(|a| a.action == "restore").unwrap();
    assert!(
        restore.at_ms > start.at_ms + 10_000 && restore.at_ms >= running_at.unwrap(),
        "the restore is logged once the guest runs, not when the task ended: {log:?}"
    );
}

/// An operator left a pending change on net0 (another bridge): the rate limit is written
/// onto the pending value, so the operator's change is kept (and here applied with it), the
/// log says so, and at the end net0 is exactly the operator's value.
#[tokio::test]
async fn an_operators_pending_nic_change_is_never_overwritten() {
    let s = scenario("9.1", &vm(100, "pve1", ""));
    let mut w = World::start_in(&s, &rule("rate_limit", "100"), false).await;
    let theirs = "virtio=BC:24:11:00:64:01,bridge=vmbr5,firewall=1";
    w.env
        .control(
            "POST",
            &format!(
                "/guests/100/pending?key=net0&value={}",
                theirs.replace(',', "%2C")
            ),
            None,
        )
        .await;
    let pending = w.api_get("/nodes/pve1/qemu/100/pending").await;
    let row = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "net0")
        .unwrap();
    assert_eq!(row["pending"], theirs);
    w.step(120).await;
    assert_eq!(
        w.nets(100, "pve1", "qemu").await,
        [format!("net0: {theirs},rate=80")]
    );
    let limit = w
        .actions(100)
        .into_iter()
        .find(|a| a.action == "rate_limit")
        .unwrap();
    assert!(
        limit.detail.contains(
            "net0 has an operator's pending change: edited the pending value, which is kept"
        ),
        "{}",
        limit.detail
    );
    w.run_until(HOUR_END_MS + 60_000, 300).await;
    assert_eq!(
        w.nets(100, "pve1", "qemu").await,
        [format!("net0: {theirs}")]
    );
}

/// LXC `link_down` by pve-container version. On 8.4 an operator's `link_down=0` is a veth
/// that is down: a disconnect leaves it alone; the enforcer's own `link_down=1` is undone by
/// removing the key, and traffic flows again. On 9.1 `link_down=0` is up: it is taken down
/// and given back as it was. Either way the strings end byte-identical.
#[tokio::test]
async fn lxc_link_down_follows_the_containers_version() {
    let ct = "  - { vmid: 101, type: lxc, node: pve2, nics: [\
        { config: \"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp,type=veth\", rx_rate: 1000000, tx_rate: 1000, shaped: false }, \
        { config: \"name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:01:02,ip=dhcp,link_down=0,type=veth\", rx_rate: 1000, tx_rate: 1000, shaped: false }] }\n";
    for (version, net1_during) in [("8.4", "link_down=0"), ("9.1", "link_down=1")] {
        let mut w =
            World::start_in(&scenario(version, ct), &rule("disconnect", "101"), false).await;
        let before = w.nets(101, "pve2", "lxc").await;
        w.step(120).await;
        let during = w.nets(101, "pve2", "lxc").await;
        assert!(during[0].contains("link_down=1"), "{version}: {during:?}");
        assert!(during[1].contains(net1_during), "{version}: {during:?}");
        w.run_until(HOUR_END_MS + 60_000, 300).await;
        assert_eq!(w.nets(101, "pve2", "lxc").await, before, "{version}");
        let (rx, _) = w.env.truth(101).await;
        w.env.advance(10).await;
        assert!(w.env.truth(101).await.0 > rx, "{version}: eth0 is up again");
    }
}

/// Two guests over a stop limit, one on a node whose pvestatd stalls: its frozen stats look
/// normal in `/cluster/resources`, so the enforcer asks its node, finds them stale, and
/// leaves it alone (counted in the metrics) while it stops the other; once the node pushes
/// again, the guest is stopped.
#[tokio::test]
async fn a_guest_with_stale_stats_is_left_alone_until_they_are_fresh() {
    for (fault, back) in [("stall", "unstall"), ("offline", "online")] {
        let guests = vm(100, "pve1", "") + &vm(102, "pve2", "");
        let mut w =
            World::start_in(&scenario("9.1", &guests), &rule("stop", "100, 102"), false).await;
        w.env.advance(120).await;
        w.env.poll(&mut w.exporter).await.unwrap();
        w.env
            .control("POST", &format!("/nodes/pve1/{fault}"), None)
            .await;
        let seq = w.last_seq().await;
        for _ in 0..2 {
            w.env.advance(60).await;
            let out = w.cycle_now().await;
            assert!(out.fail_safe.is_none(), "{fault}: {:?}", out.fail_safe);
            assert_eq!(
                w.shown(100).await.1,
                "running",
                "{fault}: frozen, not unknown"
            );
        }
        assert!(w.writes(100, seq).await.is_empty(), "{fault}");
        assert_eq!(w.power_posts(102, seq).await, ["stop"], "{fault}");
        assert!(w.running(100).await, "{fault}");
        let m = w.metrics();
        assert!(
            m.contains(
                "pve_traffic_enforcer_guest_skipped{id=\"qemu/100\",reason=\"stale_stats\"} 1"
            ),
            "{fault}: {m}"
        );
        assert!(
            m.contains("pve_traffic_enforcer_guest_skips_total{reason=\"stale_stats\"} 2"),
            "{fault}: {m}"
        );
        w.env
            .control("POST", &format!("/nodes/pve1/{back}"), None)
            .await;
        w.env.advance(10).await;
        w.cycle_now().await;
        assert_eq!(w.power_posts(100, seq).await, ["stop"], "{fault}");
        w.env.advance(2).await;
        assert!(!w.running(100).await, "{fault}");
        assert!(
            !w.metrics().contains("guest_skipped{id=\"qemu/100\""),
            "{fault}"
        );
    }
}

/// A node offline for more than 5 minutes: its guest shows `unknown`, is not acted on (no
/// request for it at all) and is counted; when the node is back, it is stopped.
#[tokio::test]
async fn an_unknown_guest_is_left_alone() {
    let guests = vm(100, "pve1", "") + &vm(102, "pve2", "");
    let mut w = World::start_in(&scenario("9.1", &guests), &rule("stop", "100, 102"), false).await;
    w.env.advance(120).await;
    w.env.poll(&mut w.exporter).await.unwrap();
    w.env.control("POST", "/nodes/pve1/offline", None).await;
    w.env.advance(360).await;
    let seq = w.last_seq().await;
    let out = w.cycle_now().await;
    assert!(out.fail_safe.is_none(), "{:?}", out.fail_safe);
    assert_eq!(w.shown(100).await.1, "unknown");
    let log = w
        .env
        .control("GET", &format!("/requests?since={seq}"), None)
        .await;
    assert!(
        !log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["path"].as_str().unwrap().contains("/100/")),
        "{log}"
    );
    assert_eq!(w.power_posts(102, seq).await, ["stop"]);
    assert!(w.running(100).await);
    let m = w.metrics();
    assert!(
        m.contains(
            "pve_traffic_enforcer_guest_skipped{id=\"qemu/100\",reason=\"unknown_status\"} 1"
        ),
        "{m}"
    );
    w.env.control("POST", "/nodes/pve1/online", None).await;
    w.env.advance(10).await;
    w.cycle_now().await;
    assert_eq!(w.power_posts(100, seq).await, ["stop"]);
}
