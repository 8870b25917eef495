//! The accounting property the whole product rests on, checked on the simulator itself:
//! an observer that reads the counters PVE exposes and takes `cur` instead of `cur - prev`
//! whenever they may have started over never sees more bytes than `/sim/truth` reports, and
//! sees exactly as many when it polls after every event.
//!
//! The cluster is driven in-process through the same `api::handle` the HTTPS server calls
//! (every read and every config write is a real API request), so hundreds of random
//! histories run in seconds.

use std::collections::BTreeMap;

use proptest::prelude::*;
use pve_sim::api::{handle, ApiRequest};
use pve_sim::model::{AdminToken, Cluster};
use pve_sim::netconf::{GuestKind, NetConfig};
use pve_sim::params::Params;
use serde_json::Value;

use crate::util::scenario;

const TOKEN_ID: &str = "root@pam!prop";
const TOKEN_SECRET: &str = "6f1c9a52-6b0e-4d8e-9f0a-0123456789ab";

pub(crate) const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];

/// Three guests with shaped (daily pattern + bursts) traffic on two or one NICs.
const SCENARIO: &str = r#"
start_time: 1767222000
seed: 7
nodes: [{ name: pve1 }, { name: pve2 }, { name: pve3 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 3000000, tx_rate: 400000 }
      - { config: "virtio=BC:24:11:00:00:02,bridge=vmbr1,rate=1", rx_rate: 2000000, tx_rate: 7 }
  - vmid: 101
    type: lxc
    node: pve2
    nics:
      - { config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp", rx_rate: 123457, tx_rate: 33333 }
  - vmid: 102
    type: qemu
    node: pve3
    status: stopped
    nics:
      - { config: "e1000=BC:24:11:00:02:01,bridge=vmbr0", rx_rate: 999, tx_rate: 3 }
"#;

pub(crate) const VMIDS: [u32; 3] = [100, 101, 102];

/// Something that happens to the cluster.
#[derive(Clone, Debug)]
enum Event {
    Advance(u64),
    Stop(usize),
    Start(usize),
    Reboot(usize),
    GuestReboot(usize),
    Migrate(usize, usize),
    /// Sets `rate` on the guest's first NIC (`None` removes the limit).
    Rate(usize, Option<u32>),
    /// Toggles `link_down` on the guest's first NIC.
    LinkDown(usize),
}

fn event() -> impl Strategy<Value = Event> {
    let g = 0..VMIDS.len();
    prop_oneof![
        4 => (1u64..1800).prop_map(Event::Advance),
        1 => g.clone().prop_map(Event::Stop),
        1 => g.clone().prop_map(Event::Start),
        1 => g.clone().prop_map(Event::Reboot),
        1 => g.clone().prop_map(Event::GuestReboot),
        1 => (g.clone(), 0..NODES.len()).prop_map(|(g, n)| Event::Migrate(g, n)),
        1 => (g.clone(), proptest::option::of(1u32..20)).prop_map(|(g, r)| Event::Rate(g, r)),
        1 => g.prop_map(Event::LinkDown),
    ]
}

pub(crate) fn request(
    c: &mut Cluster,
    method: &str,
    path: &str,
    params: Params,
) -> Result<Value, String> {
    let req = ApiRequest {
        method: method.to_string(),
        path: path.to_string(),
        params,
        authorization: Some(format!("PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}")),
    };
    handle(c, &req)
        .map(|d| d.into_value())
        .map_err(|e| format!("{} {}", e.status, e.reason))
}

/// What the observer last saw of one guest.
#[derive(Clone, Debug)]
struct Seen {
    node: String,
    running: bool,
    uptime: u64,
    netin: u64,
    netout: u64,
    at: u64,
}

/// An observer reading the live per-node guest lists. It counts a reset when a counter
/// fell, the guest was stopped at the last poll, its uptime is shorter than the time waited
/// allows, or it is listed on another node (these lists are live, so a new node means a new
/// process).
#[derive(Default)]
struct Observer {
    last: BTreeMap<u64, Seen>,
    rx: u64,
    tx: u64,
}

impl Observer {
    fn poll(&mut self, c: &mut Cluster) {
        let now = c.now_secs();
        for node in NODES {
            for kind in ["qemu", "lxc"] {
                let list = request(c, "GET", &format!("/nodes/{node}/{kind}"), Params::new())
                    .expect("guest list");
                for g in list.as_array().unwrap() {
                    let cur = Seen {
                        node: node.to_string(),
                        running: g["status"] == "running",
                        uptime: g["uptime"].as_u64().unwrap(),
                        netin: g["netin"].as_u64().unwrap(),
                        netout: g["netout"].as_u64().unwrap(),
                        at: now,
                    };
                    let vmid = g["vmid"].as_u64().unwrap();
                    if let Some(prev) = self.last.get(&vmid) {
                        let elapsed = cur.at - prev.at;
                        let reset = cur.netin < prev.netin
                            || cur.netout < prev.netout
                            || cur.node != prev.node
                            || !prev.running
                            || cur.uptime + 2 < prev.uptime + elapsed;
                        let (drx, dtx) = if reset {
                            (cur.netin, cur.netout)
                        } else {
                            (cur.netin - prev.netin, cur.netout - prev.netout)
                        };
                        self.rx += drx;
                        self.tx += dtx;
                    } else {
                        // First sight sets the baseline (bytes before it were not seen); the scenario's
                        // counters start at zero, as does the truth.
                        assert_eq!((cur.netin, cur.netout), (0, 0));
                    }
                    self.last.insert(vmid, cur);
                }
            }
        }
    }
}

fn truth(c: &Cluster) -> (u64, u64) {
    c.guests.values().fold((0, 0), |(r, t), g| {
        let (gr, gt) = g.truth();
        (r + gr, t + gt)
    })
}

/// Applies an event; events that make no sense in the current state (stopping a stopped
/// guest) are refused by the simulator and change nothing.
fn apply(c: &mut Cluster, e: &Event) {
    let vmid = |i: usize| VMIDS[i];
    let _ = match e {
        Event::Advance(s) => {
            let t = c.now_ms() + s * 1000;
            c.advance_to(t);
            Ok(())
        }
        Event::Stop(i) => c.sim_stop(vmid(*i)),
        Event::Start(i) => c.sim_start(vmid(*i)),
        Event::Reboot(i) => c.sim_reboot(vmid(*i)),
        Event::GuestReboot(i) => c.sim_guest_reboot(vmid(*i)),
        Event::Migrate(i, n) => c.sim_migrate(vmid(*i), NODES[*n]),
        Event::Rate(i, rate) => change_nic(c, vmid(*i), |n| {
            let mut s = n.print();
            s = s
                .split(',')
                .filter(|p| !p.starts_with("rate="))
                .collect::<Vec<_>>()
                .join(",");
            if let Some(r) = rate {
                s.push_str(&format!(",rate={r}"));
            }
            s
        }),
        Event::LinkDown(i) => change_nic(c, vmid(*i), |n| {
            let mut n = n.clone();
            n.set_link_down(!n.link_down());
            n.print()
        }),
    };
}

/// Rewrites net0 of a guest through `PUT .../config` with the digest, as a client would.
pub(crate) fn change_nic(
    c: &mut Cluster,
    vmid: u32,
    f: impl Fn(&NetConfig) -> String,
) -> Result<(), String> {
    let g = &c.guests[&vmid];
    let (node, kind) = (g.node.clone(), g.kind);
    let t = if kind == GuestKind::Qemu {
        "qemu"
    } else {
        "lxc"
    };
    let path = format!("/nodes/{node}/{t}/{vmid}/config");
    let config = request(c, "GET", &path, Params::new())?;
    let net0 = NetConfig::parse(kind, config["net0"].as_str().unwrap()).unwrap();
    let params = Params::from([
        ("net0".to_string(), f(&net0)),
        (
            "digest".to_string(),
            config["digest"].as_str().unwrap().to_string(),
        ),
    ]);
    request(c, "PUT", &path, params).map(|_| ())
}

pub(crate) fn new_cluster() -> Cluster {
    let admin = AdminToken {
        id: TOKEN_ID.to_string(),
        secret: TOKEN_SECRET.to_string(),
    };
    Cluster::new(&scenario(SCENARIO), 0, Some(&admin)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn polling_after_every_event_sees_exactly_the_truth(events in proptest::collection::vec(event(), 1..40)) {
        let mut c = new_cluster();
        let mut obs = Observer::default();
        obs.poll(&mut c);
        for e in &events {
            apply(&mut c, e);
            obs.poll(&mut c);
        }
        prop_assert_eq!((obs.rx, obs.tx), truth(&c));
    }

    #[test]
    fn polling_now_and_then_never_sees_more_than_the_truth(
        events in proptest::collection::vec((event(), any::<bool>()), 1..40),
    ) {
        let mut c = new_cluster();
        let mut obs = Observer::default();
        obs.poll(&mut c);
        for (e, poll) in &events {
            apply(&mut c, e);
            if *poll {
                obs.poll(&mut c);
            }
        }
        obs.poll(&mut c);
        let (rx, tx) = truth(&c);
        prop_assert!(obs.rx <= rx, "observed rx {} > truth {}", obs.rx, rx);
        prop_assert!(obs.tx <= tx, "observed tx {} > truth {}", obs.tx, tx);
    }
}

/// The property is not vacuous: traffic does flow, and an observer that ignores resets
/// (plain `cur - prev`, clamped at zero) loses bytes the careful one keeps when a reboot
/// falls between two polls.
#[test]
fn resets_cost_a_careless_observer_bytes() {
    let mut c = new_cluster();
    let mut careful = Observer::default();
    careful.poll(&mut c);
    let mut careless = 0u64;
    let mut last = 0u64;
    let steps = [
        (Event::Advance(900), true),
        (Event::Advance(300), false),
        (Event::Reboot(0), false),
        (Event::Advance(600), true),
    ];
    for (e, poll) in steps {
        apply(&mut c, &e);
        if poll {
            careful.poll(&mut c);
            let now = c.guests[&100].counters().0 + c.guests[&101].counters().0;
            careless += now.saturating_sub(last);
            last = now;
        }
    }
    let (truth_rx, _) = truth(&c);
    assert!(careless > 0);
    assert!(careful.rx <= truth_rx);
    assert!(
        careful.rx > careless,
        "careful {} vs careless {careless}",
        careful.rx
    );
}
