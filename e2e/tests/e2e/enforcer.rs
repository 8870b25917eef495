//! The enforcer end to end: the exporter and the enforcer in process, driven at the
//! simulator's time; what the enforcer did is read back from `/sim/requests` and the guests'
//! configs, never from the enforcer itself.

use pve_traffic_core::config::Config;
use pve_traffic_core::daemon::client_options;
use pve_traffic_core::pve::Client;
use pve_traffic_enforcer::nic::LinkMeaning;
use pve_traffic_enforcer::reconcile::{reconcile_guest, Effects, Pass};
use pve_traffic_enforcer::Enforcer;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::enforcement::{ActionRecord, Desired, GuestEnforcement, Stage};
use pve_traffic_store::{EnforcementStore, SqliteStore};
use serde_json::Value;

use crate::util::Env;

/// Guest 100 (QEMU, two NICs, one with an operator's rate=50) moves 1 MB/s down and
/// 100 KB/s up; guest 101 (LXC) moves little and is never over; guest 102 ignores ACPI
/// shutdown requests. Start: 2026-03-02T10:00Z.
const SCENARIO: &str = r#"
start_time: 1772445600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: tenant-a
    tags: "tenant"
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", rx_rate: 1000000, tx_rate: 100000, shaped: false }
      - { config: "virtio=BC:24:11:00:00:02,bridge=vmbr1,rate=50", rx_rate: 1000, tx_rate: 1000, shaped: false }
  - vmid: 101
    type: lxc
    node: pve2
    name: tenant-b
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp", rx_rate: 1000, tx_rate: 100, shaped: false }
  - vmid: 102
    type: qemu
    node: pve2
    name: stubborn
    ignore_shutdown: true
    nics:
      - { config: "virtio=BC:24:11:00:02:01,bridge=vmbr0", rx_rate: 1000000, tx_rate: 1000, shaped: false }
"#;

/// A simulator, an exporter and an enforcer on one database, driven at simulated time.
pub(crate) struct World {
    pub env: Env,
    pub exporter: Exporter,
    pub enforcer: Enforcer,
    config: Config,
}

impl World {
    /// `rules` is the YAML list under `rules:`, over [`SCENARIO`].
    async fn start(rules: &str, dry_run: bool) -> World {
        World::start_in(SCENARIO, rules, dry_run).await
    }

    /// A world for `scenario` (YAML) with `rules`; shutdowns time out after 120 s.
    pub(crate) async fn start_in(scenario: &str, rules: &str, dry_run: bool) -> World {
        let env = Env::start(scenario).await;
        let config = env.config(
            "",
            &format!("enforcer:\n  listen: 127.0.0.1:0\n  interval_seconds: 60\n  shutdown_timeout_seconds: 120\n  max_data_age_seconds: 300\nrules:\n{rules}"),
        );
        let mut exporter = Exporter::open(&config).unwrap();
        env.poll(&mut exporter).await.unwrap();
        let enforcer = Enforcer::open(&config, dry_run).unwrap();
        World {
            env,
            exporter,
            enforcer,
            config,
        }
    }

    /// A new enforcer process on the same database (the old one is dropped: a restart).
    pub(crate) fn restart_enforcer(&mut self) {
        self.enforcer = Enforcer::open(&self.config, false).unwrap();
    }

    /// A PVE client as the enforcer's.
    pub(crate) fn client(&self) -> Client {
        Client::new(client_options(&self.config)).unwrap()
    }

    /// The action log of `vmid`, oldest first, as the store holds it.
    pub(crate) fn actions(&self, vmid: u32) -> Vec<ActionRecord> {
        let store = SqliteStore::open_read_only(&self.env.db_path()).unwrap();
        let mut log = store.action_log(Some(vmid), 0, 1000).unwrap();
        log.sort_by_key(|a| a.at_ms);
        log
    }

    /// Advances `secs`, polls, then runs one enforcer cycle; returns the PVE writes it made.
    pub(crate) async fn step(&mut self, secs: u64) -> usize {
        self.env.advance(secs).await;
        self.env.poll(&mut self.exporter).await.unwrap();
        let now = self.env.now_ms().await;
        let out = self.enforcer.cycle(now).await;
        assert!(out.fail_safe.is_none(), "{:?}", out.fail_safe);
        out.writes
    }

    /// PVE writes (PUT/POST) the simulator received for a guest since request `since`.
    pub(crate) async fn writes(&self, vmid: u32, since: u64) -> Vec<Value> {
        let log = self
            .env
            .control("GET", &format!("/requests?since={since}"), None)
            .await;
        log.as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["method"] != "GET" && r["path"].as_str().unwrap().contains(&format!("/{vmid}/"))
            })
            .cloned()
            .collect()
    }

    pub(crate) async fn last_seq(&self) -> u64 {
        let log = self.env.control("GET", "/requests", None).await;
        log.as_array()
            .unwrap()
            .last()
            .map_or(0, |r| r["seq"].as_u64().unwrap())
    }

    /// A GET of the PVE API as an operator would: its `data`.
    pub(crate) async fn api_get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.env.sim.api_url());
        let v: Value = self
            .env
            .sim
            .http()
            .get(url)
            .header("Authorization", self.env.sim.authorization())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"].clone()
    }

    pub(crate) async fn nets(&self, vmid: u32, node: &str, kind: &str) -> Vec<String> {
        let data = self
            .api_get(&format!("/nodes/{node}/{kind}/{vmid}/config?current=1"))
            .await;
        let cfg = data.as_object().unwrap();
        let mut nets: Vec<String> = cfg
            .iter()
            .filter(|(k, _)| k.starts_with("net"))
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
            .collect();
        nets.sort();
        nets
    }

    pub(crate) async fn running(&self, vmid: u32) -> bool {
        let t = self
            .env
            .control("GET", &format!("/truth?vmid={vmid}"), None)
            .await;
        t["guests"][vmid.to_string()]["running"].as_bool().unwrap()
    }
}

/// 1 MB/s crosses 100 MB after 100 s: an hourly disconnect fires in the first cycle that
/// sees the limit crossed, exactly once, and at the hour's end the NIC strings are
/// byte-identical to before.
#[tokio::test]
async fn disconnect_fires_once_and_restores_byte_identical_strings() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: disconnect, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    let before = w.nets(100, "pve1", "qemu").await;
    let seq = w.last_seq().await;
    assert_eq!(w.step(60).await, 0, "60 MB used: under the limit");
    assert_eq!(
        w.step(60).await,
        1,
        "120 MB used: the disconnect, one config write"
    );
    for _ in 0..5 {
        assert_eq!(w.step(60).await, 0, "nothing to change: no write");
    }
    let writes = w.writes(100, seq).await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    let during = w.nets(100, "pve1", "qemu").await;
    assert!(
        during.iter().all(|n| n.contains("link_down=1")),
        "{during:?}"
    );
    // Traffic stopped.
    let t0 = w.env.truth(100).await;
    w.step(60).await;
    assert_eq!(w.env.truth(100).await, t0);
    // 10:00 → 11:00: the hour ends; the next cycle restores.
    while w.env.now_ms().await < 1_772_449_200_000 {
        w.step(60).await;
    }
    assert_eq!(w.nets(100, "pve1", "qemu").await, before);
    assert!(w.enforcer.state().is_empty());
    // Guest 101 was never touched.
    assert!(w.writes(101, 0).await.is_empty());
}

/// A rate limit never loosens an operator's lower rate, and restores exactly.
#[tokio::test]
async fn rate_limit_keeps_a_lower_operator_rate() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: rate_limit, rate_limit_mb: 80, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    let before = w.nets(100, "pve1", "qemu").await;
    w.step(120).await;
    let during = w.nets(100, "pve1", "qemu").await;
    assert!(during[0].contains("rate=80"), "{during:?}");
    assert!(
        during[1].contains("rate=50") && !during[1].contains("rate=80"),
        "{during:?}"
    );
    while w.env.now_ms().await < 1_772_449_200_000 {
        w.step(120).await;
    }
    assert_eq!(w.nets(100, "pve1", "qemu").await, before);
}

/// A stop rule: the guest is stopped in the cycle that sees the limit crossed; a tenant who
/// starts it again finds it stopped again within one cycle; at the period's end it runs again.
#[tokio::test]
async fn a_stopped_guest_stays_stopped_until_the_period_ends_then_runs_again() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: stop, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    w.step(120).await;
    w.env.advance(2).await; // the stop task takes a simulated second
    assert!(!w.running(100).await);
    w.env.control("POST", "/guests/100/start", None).await;
    assert!(w.running(100).await);
    let seq = w.last_seq().await;
    assert_eq!(w.step(60).await, 1, "stopped again in the next cycle");
    w.env.advance(2).await;
    assert!(!w.running(100).await);
    assert_eq!(w.writes(100, seq).await.len(), 1);
    while w.env.now_ms().await < 1_772_449_200_000 {
        w.step(120).await;
    }
    w.env.advance(2).await;
    assert!(
        w.running(100).await,
        "started again: it ran before the enforcer stopped it"
    );
}

/// An operator's NIC change during enforcement survives the restore.
#[tokio::test]
async fn an_operator_change_during_enforcement_survives() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: disconnect, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    w.step(120).await;
    // The operator moves net1 to another bridge while it is disconnected.
    let during = w.nets(100, "pve1", "qemu").await;
    let net1 = during[1]
        .trim_start_matches("net1: ")
        .replace("bridge=vmbr1", "bridge=vmbr7");
    let url = format!("{}/nodes/pve1/qemu/100/config", w.env.sim.api_url());
    let r = w
        .env
        .sim
        .http()
        .put(url)
        .header("Authorization", w.env.sim.authorization())
        .form(&[("net1", net1.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    while w.env.now_ms().await < 1_772_449_200_000 {
        w.step(120).await;
    }
    let after = w.nets(100, "pve1", "qemu").await;
    assert!(
        after[1].contains("bridge=vmbr7") && !after[1].contains("link_down"),
        "{after:?}"
    );
}

/// Overlapping rules: an hourly rate limit and a daily disconnect. The stronger disconnect
/// wins while both apply; when the hour ends the rate limit goes, the disconnect stays;
/// when the day ends everything is as before.
#[tokio::test]
async fn overlapping_rules_restore_as_each_period_ends() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: rate_limit, rate_limit_mb: 80, vm_ids: [100] }\n  - { name: daily, period: day, limit: 200MB, direction: rx, action: disconnect, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    let before = w.nets(100, "pve1", "qemu").await;
    w.step(120).await; // 120 MB: over hourly
    assert!(w.nets(100, "pve1", "qemu").await[0].contains("rate=80"));
    w.step(120).await; // 240 MB: over daily as well (rx stops flowing once disconnected)
    let both = w.nets(100, "pve1", "qemu").await;
    assert!(
        both[0].contains("link_down=1") && !both[0].contains("rate=80"),
        "{both:?}"
    );
    while w.env.now_ms().await < 1_772_449_200_000 + 60_000 {
        w.step(300).await;
    }
    let after_hour = w.nets(100, "pve1", "qemu").await;
    assert!(
        after_hour[0].contains("link_down=1"),
        "the day's disconnect stays: {after_hour:?}"
    );
    // Midnight UTC: 2026-03-03T00:00Z.
    while w.env.now_ms().await < 1_772_496_000_000 + 60_000 {
        w.step(3600).await;
    }
    assert_eq!(w.nets(100, "pve1", "qemu").await, before);
}

/// Stale data and PVE errors: no action at all.
#[tokio::test]
async fn stale_data_and_pve_errors_cause_no_action() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: stop, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    let seq = w.last_seq().await;
    // The exporter stops polling; 10 minutes later the data is older than 300 s.
    w.env.advance(600).await;
    let out = w.enforcer.cycle(w.env.now_ms().await).await;
    assert!(
        matches!(
            out.fail_safe,
            Some(pve_traffic_enforcer::cycle::FailSafe::StaleData { .. })
        ),
        "{:?}",
        out.fail_safe
    );
    // Fresh data, but PVE fails.
    w.env.poll(&mut w.exporter).await.unwrap();
    w.env.fault("http500", 0, None).await;
    let out = w.enforcer.cycle(w.env.now_ms().await).await;
    assert!(
        matches!(
            out.fail_safe,
            Some(pve_traffic_enforcer::cycle::FailSafe::Pve(_))
        ),
        "{:?}",
        out.fail_safe
    );
    w.env.control("DELETE", "/faults", None).await;
    assert!(w.writes(100, seq).await.is_empty());
    assert!(w.running(100).await);
}

/// `--dry-run` and `plan` write nothing to PVE.
#[tokio::test]
async fn dry_run_and_plan_make_zero_writes() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: stop, vm_ids: [100] }\n";
    let mut w = World::start(rules, true).await;
    let seq = w.last_seq().await;
    w.step(120).await;
    let plan = w.enforcer.plan(w.env.now_ms().await).await.unwrap();
    assert!(plan.contains("hourly") && plan.contains("100"), "{plan}");
    assert!(w.writes(100, seq).await.is_empty());
    assert!(w.running(100).await);
    assert!(w.enforcer.state().is_empty());
}

/// Released: the penalty is lifted for the rest of the period, and logged.
#[tokio::test]
async fn release_lifts_the_penalty_until_the_period_ends() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: disconnect, vm_ids: [100] }\n";
    let mut w = World::start(rules, false).await;
    let before = w.nets(100, "pve1", "qemu").await;
    w.step(120).await;
    assert_ne!(w.nets(100, "pve1", "qemu").await, before);
    w.enforcer
        .release(100, Some("hourly"), w.env.now_ms().await)
        .unwrap();
    w.step(60).await;
    assert_eq!(w.nets(100, "pve1", "qemu").await, before);
    assert_eq!(w.step(60).await, 0, "released: stays as it is");
}

/// A shutdown that the guest ignores falls back to a stop once `shutdown_timeout` passed,
/// and the shutdown is sent once, not every cycle.
#[tokio::test]
async fn an_ignored_shutdown_falls_back_to_stop_after_the_timeout() {
    let rules = "  - { name: hourly, period: hour, limit: 100MB, direction: rx, action: shutdown, vm_ids: [102] }\n";
    let mut w = World::start(rules, false).await;
    let seq = w.last_seq().await;
    assert_eq!(w.step(120).await, 1, "the shutdown");
    assert_eq!(w.step(60).await, 0, "waiting: 60 s of 120");
    assert!(w.running(102).await);
    assert_eq!(w.step(60).await, 1, "timed out: the stop");
    w.env.advance(2).await;
    assert!(!w.running(102).await);
    let writes = w.writes(102, seq).await;
    let paths: Vec<&str> = writes.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/nodes/pve2/qemu/102/status/shutdown",
            "/nodes/pve2/qemu/102/status/stop"
        ]
    );
}

/// Persists like the store, but "dies" (fails) at the persist after the PVE write: the
/// state of a process killed between the PVE write and the state write.
struct KilledAfterWrite {
    saved: Option<GuestEnforcement>,
    calls: usize,
}

impl Effects for KilledAfterWrite {
    fn persist(&mut self, _vmid: u32, record: Option<&GuestEnforcement>) -> Result<(), String> {
        self.calls += 1;
        if self.calls > 1 {
            return Err("killed".into());
        }
        self.saved = record.cloned();
        Ok(())
    }
}

struct Keep(Option<GuestEnforcement>);

impl Effects for Keep {
    fn persist(&mut self, _vmid: u32, record: Option<&GuestEnforcement>) -> Result<(), String> {
        self.0 = record.cloned();
        Ok(())
    }
}

/// Killed between the PVE write and the state write: the restarted enforcer finds the
/// intent (with the originals), makes no second write, and still restores exactly.
#[tokio::test]
async fn killed_between_the_pve_write_and_the_state_write() {
    let w = World::start("  []\n", false).await;
    let config = w.env.config("", "");
    let client = Client::new(client_options(&config)).unwrap();
    let guests = client.cluster_guests().await.unwrap();
    let guest = guests.iter().find(|g| g.vmid == 100).unwrap();
    let before = w.nets(100, "pve1", "qemu").await;
    let now = w.env.now_ms().await;
    let mut killed = KilledAfterWrite {
        saved: None,
        calls: 0,
    };
    let r = reconcile_guest(
        &client,
        guest,
        None,
        &Desired::Disconnect,
        Default::default(),
        pass(now),
        &mut killed,
    )
    .await;
    assert!(r.is_err(), "the state write failed");
    let intent = killed.saved.expect("the intent was saved before the write");
    assert_eq!(intent.stage, Stage::Intent);
    assert!(
        w.nets(100, "pve1", "qemu")
            .await
            .iter()
            .all(|n| n.contains("link_down=1")),
        "the PVE write happened"
    );
    // Restart: the same decision from the persisted intent.
    let seq = w.last_seq().await;
    let mut keep = Keep(None);
    let out = reconcile_guest(
        &client,
        guest,
        Some(intent),
        &Desired::Disconnect,
        Default::default(),
        pass(now),
        &mut keep,
    )
    .await
    .unwrap();
    assert_eq!(out.writes, 0, "no duplicate action");
    assert!(w.writes(100, seq).await.is_empty());
    let applied = keep.0.take().expect("record kept");
    assert_eq!(applied.stage, Stage::Applied);
    // The period ends: exact restore from the originals captured before the first write.
    let out = reconcile_guest(
        &client,
        guest,
        Some(applied),
        &Desired::Normal,
        Default::default(),
        pass(now),
        &mut keep,
    )
    .await
    .unwrap();
    assert_eq!(out.writes, 1);
    assert!(out.record.is_none());
    assert_eq!(w.nets(100, "pve1", "qemu").await, before);
}

fn pass(now_ms: i64) -> Pass {
    Pass {
        now_ms,
        shutdown_timeout_ms: 120_000,
        dry_run: false,
        verify_nics: true,
        lxc_link: LinkMeaning::Value,
    }
}
