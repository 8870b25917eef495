//! The simulator's control API under `/sim/`: plain JSON, no auth, not part of PVE.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /sim/truth[?vmid=N]` | exact bytes ever moved per guest and NIC, device counters, the bytes no push showed, nodes' push state, simulated time |
//! | `POST /sim/advance?seconds=N` | moves simulated time forward (`ms=N` for milliseconds) |
//! | `POST /sim/guests/{vmid}/start\|stop\|reboot\|guest-reboot` | out-of-band power events |
//! | `POST /sim/guests/{vmid}/migrate?node=X` | moves a guest (a running one gets new counters) |
//! | `POST /sim/guests/{vmid}/lock?lock=backup`, `.../unlock` | config locks |
//! | `POST /sim/guests/{vmid}/ha?state=started\|stopped`, `DELETE .../ha` | puts a guest under HA (or changes its requested state), takes it out |
//! | `POST /sim/guests/{vmid}/qmp-state?state=running\|paused\|prelaunch\|suspended` | sets a running QEMU guest's QMP run state |
//! | `POST /sim/guests/{vmid}/pending?key=netN&value=V` | an operator's change that waits for the next start (pending `netN`) |
//! | `POST /sim/nodes/{node}/offline\|online` | takes a node off the network (595; it pushes no stats) or brings it back |
//! | `POST /sim/nodes/{node}/stall\|unstall` | stalls or resumes the node's `pvestatd`: the node answers its API but pushes no stats |
//! | `GET/POST/DELETE /sim/faults` | lists, arms (`{"kind","count","path_prefix","delay_ms"}`), clears faults |
//! | `GET/DELETE /sim/requests[?since=SEQ]` | the PVE API request log |
//! | `POST /sim/scenario` | replaces the whole cluster (JSON or YAML scenario) |
//! | `GET /sim/info` | simulated time, node and guest counts, clock mode |
//!
//! Errors answer 400 (bad input) or 404 (unknown guest, node or path) with `{"error": "..."}`.
//!
//! ## Truth and pushes
//!
//! `/cluster/resources` shows each guest's counters only as its node's `pvestatd` last
//! pushed them (every aligned 10 s of simulated time, while the node is online and not
//! stalled), so some bytes are never shown by any push: those a device moved between the
//! guest's last push and the end of that device. A device ends with its process (stop,
//! shutdown, API reboot, hibernation, migration, an LXC reboot from inside) or alone (the
//! NIC re-created by a model or MAC change, or removed); a QEMU reboot from inside, a
//! `reset`, a pause and a `rate` or `link_down` change keep it. A process that ends before
//! any push leaves all its bytes unobservable. Per guest, and per NIC under `nics`:
//!
//! - `rx_bytes`, `tx_bytes`: every byte ever moved (rx = to the guest, PVE `netin`).
//! - `unobservable_rx_bytes`, `unobservable_tx_bytes`: the bytes of ended devices that no
//!   push showed. Read right after a push that every hosting node made (all online, none
//!   stalled), an observer that polls `/cluster/resources` after every push and tells a new
//!   process by its uptime accounts exactly `rx_bytes - unobservable_rx_bytes` (and tx
//!   likewise), as long as no NIC was re-created or removed while its process went on.
//! - `recreated_pushed_rx_bytes`, `recreated_pushed_tx_bytes`: for devices re-created or
//!   removed while the process went on, their counters at the guest's last push. PVE reports
//!   only the sum over NICs, so the pushed sum drops by that much while other devices grow:
//!   an observer that counts only the sum's growth accounts between
//!   `rx_bytes - unobservable_rx_bytes - recreated_pushed_rx_bytes` and
//!   `rx_bytes - unobservable_rx_bytes`.
//! - `pushed_at`: epoch seconds of the guest's last pushed record (`null` if none), whatever
//!   its age (`/cluster/resources` serves it while it is at most 300 s old).
//!
//! `nodes` maps each node to `{"online", "stalled", "pushed_at"}`.

use serde_json::{json, Value};

use crate::faults::Fault;
use crate::model::guest::{Guest, RunState};
use crate::model::ha::HaRequest;
use crate::model::Cluster;
use crate::scenario::Scenario;
use crate::state::State;

/// Answers a control request; `path` is below `/sim`.
pub(crate) fn handle(
    state: &State,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> (u16, Value) {
    let q: std::collections::BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut sim = state.lock();
    sim.catch_up();
    let result: Result<Value, (u16, String)> = match (method, segs.as_slice()) {
        ("GET", ["truth"]) => truth(&sim.cluster, q.get("vmid")),
        ("GET", ["info"]) => Ok(json!({
            "time": sim.cluster.now_secs(),
            "time_ms": sim.cluster.now_ms(),
            "nodes": sim.cluster.nodes.len(),
            "guests": sim.cluster.guests.len(),
            "pve_version": sim.cluster.version.package_version(),
            "clock": format!("{:?}", sim.clock.mode()),
        })),
        ("POST", ["advance"]) => {
            let ms = match (q.get("seconds"), q.get("ms")) {
                (Some(s), None) => s
                    .parse::<u64>()
                    .map(|s| s * 1000)
                    .map_err(|_| bad("`seconds` must be a whole number")),
                (None, Some(ms)) => ms
                    .parse::<u64>()
                    .map_err(|_| bad("`ms` must be a whole number")),
                _ => Err(bad("give exactly one of `seconds` or `ms`")),
            };
            ms.map(|ms| {
                sim.clock.advance(ms);
                sim.catch_up();
                json!({"time": sim.cluster.now_secs(), "time_ms": sim.cluster.now_ms()})
            })
        }
        ("POST", ["guests", vmid, action]) => {
            let vmid: Result<u32, _> = vmid.parse().map_err(|_| bad("VMID must be a number"));
            vmid.and_then(|vmid| {
                let c = &mut sim.cluster;
                if !c.guests.contains_key(&vmid) {
                    return Err((404, format!("no guest with VMID {vmid}")));
                }
                match *action {
                    "start" => c.sim_start(vmid),
                    "stop" => c.sim_stop(vmid),
                    "reboot" => c.sim_reboot(vmid),
                    "guest-reboot" => c.sim_guest_reboot(vmid),
                    "migrate" => match q.get("node") {
                        Some(node) => c.sim_migrate(vmid, node),
                        None => Err("migrate needs `node`".to_string()),
                    },
                    "lock" => {
                        c.sim_lock(vmid, Some(q.get("lock").map_or("backup", String::as_str)))
                    }
                    "unlock" => c.sim_lock(vmid, None),
                    "ha" => match q.get("state") {
                        Some(state) => HaRequest::parse(state).and_then(|r| c.ha_request(vmid, r)),
                        None => Err("ha needs `state` (started or stopped)".to_string()),
                    },
                    "qmp-state" => match q.get("state").and_then(|s| RunState::parse(s)) {
                        Some(run) => c.sim_run_state(vmid, run),
                        None => Err(
                            "qmp-state needs `state`: running, paused, prelaunch or suspended"
                                .to_string(),
                        ),
                    },
                    "pending" => match (q.get("key"), q.get("value")) {
                        (Some(key), Some(value)) => c.sim_pending(vmid, key, value),
                        _ => Err("pending needs `key` and `value`".to_string()),
                    },
                    other => return Err((404, format!("unknown guest action '{other}'"))),
                }
                .map(|()| json!({"ok": true, "time": c.now_secs()}))
                .map_err(|e| (400, e))
            })
        }
        ("DELETE", ["guests", vmid, "ha"]) => match vmid.parse::<u32>() {
            Ok(vmid) if sim.cluster.guests.contains_key(&vmid) => sim
                .cluster
                .ha_remove(vmid)
                .map(|()| json!({"ok": true}))
                .map_err(|e| (400, e)),
            Ok(vmid) => Err((404, format!("no guest with VMID {vmid}"))),
            Err(_) => Err(bad("VMID must be a number")),
        },
        ("POST", ["nodes", node, state @ ("offline" | "online")]) => sim
            .cluster
            .sim_node_online(node, *state == "online")
            .map(|()| json!({"ok": true}))
            .map_err(|e| (404, e)),
        ("POST", ["nodes", node, state @ ("stall" | "unstall")]) => sim
            .cluster
            .sim_node_stall(node, *state == "stall")
            .map(|()| json!({"ok": true}))
            .map_err(|e| (404, e)),
        ("GET", ["faults"]) => Ok(json!(sim.faults.armed())),
        ("POST", ["faults"]) => serde_json::from_slice::<Fault>(body)
            .map_err(|e| bad(&format!("fault: {e}")))
            .map(|f| {
                sim.faults.arm(f);
                json!({"ok": true, "armed": sim.faults.armed().len()})
            }),
        ("DELETE", ["faults"]) => {
            sim.faults.clear();
            Ok(json!({"ok": true}))
        }
        ("GET", ["requests"]) => {
            let since = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
            Ok(json!(sim.log.since(since)))
        }
        ("DELETE", ["requests"]) => {
            sim.log.clear();
            Ok(json!({"ok": true}))
        }
        ("POST", ["scenario"]) => {
            let text = String::from_utf8_lossy(body);
            Scenario::from_yaml(&text)
                .and_then(|s| {
                    let now = crate::clock::wall_clock_ms();
                    Cluster::new(&s, now, Some(&state.admin))
                })
                .map(|mut cluster| {
                    cluster.certificate_fingerprint = sim.cluster.certificate_fingerprint.take();
                    let start = cluster.now_ms();
                    sim.cluster = cluster;
                    sim.clock.reset(start);
                    sim.faults.clear();
                    json!({"ok": true, "time": start / 1000, "guests": sim.cluster.guests.len()})
                })
                .map_err(|e| bad(&e))
        }
        _ => Err((404, format!("no control endpoint {method} /sim{path}"))),
    };
    match result {
        Ok(v) => (200, v),
        Err((status, msg)) => (status, json!({"error": msg})),
    }
}

fn bad(msg: &str) -> (u16, String) {
    (400, msg.to_string())
}

/// `/sim/truth`: per guest, the exact bytes ever moved (`rx_bytes` = to the guest, PVE
/// `netin`; `tx_bytes` = from the guest, `netout`), per NIC, with the live device counters
/// and the bytes no push showed (see the module docs); and the nodes' push state.
fn truth(c: &Cluster, vmid: Option<&String>) -> Result<Value, (u16, String)> {
    let filter: Option<u32> = match vmid {
        Some(v) => Some(v.parse().map_err(|_| bad("vmid must be a number"))?),
        None => None,
    };
    let mut guests = serde_json::Map::new();
    for g in c
        .guests
        .values()
        .filter(|g| filter.is_none_or(|v| v == g.vmid))
    {
        guests.insert(g.vmid.to_string(), guest_truth(c, g));
    }
    if let (Some(v), true) = (filter, guests.is_empty()) {
        return Err((404, format!("no guest with VMID {v}")));
    }
    let nodes: serde_json::Map<String, Value> = c
        .nodes
        .iter()
        .map(|n| {
            (
                n.name.clone(),
                json!({"online": n.online, "stalled": n.stalled,
                    "pushed_at": n.pushed_ms.map(|ms| ms / 1000)}),
            )
        })
        .collect();
    Ok(json!({"time": c.now_secs(), "time_ms": c.now_ms(), "guests": guests, "nodes": nodes}))
}

/// One guest's entry of `/sim/truth`.
fn guest_truth(c: &Cluster, g: &Guest) -> Value {
    let (rx, tx) = g.truth();
    let (netin, netout) = g.counters();
    let (un_rx, un_tx) = g.unobservable();
    let (re_rx, re_tx) = g.recreated_pushed();
    let nics: serde_json::Map<String, Value> = g
        .nics
        .iter()
        .map(|(i, n)| {
            (
                format!("net{i}"),
                json!({"rx_bytes": n.truth_rx, "tx_bytes": n.truth_tx,
                    "counter_rx": if g.is_running() { n.counter_rx } else { 0 },
                    "counter_tx": if g.is_running() { n.counter_tx } else { 0 },
                    "unobservable_rx_bytes": n.unobservable.0,
                    "unobservable_tx_bytes": n.unobservable.1,
                    "recreated_pushed_rx_bytes": n.recreated_pushed.0,
                    "recreated_pushed_tx_bytes": n.recreated_pushed.1,
                    "present": n.config.is_some()}),
            )
        })
        .collect();
    let pushed_at = c.status_cache().last(g.vmid).map(|p| p.at_ms / 1000);
    json!({"id": g.id(), "node": g.node, "running": g.is_running(),
        "rx_bytes": rx, "tx_bytes": tx, "netin": netin, "netout": netout,
        "unobservable_rx_bytes": un_rx, "unobservable_tx_bytes": un_tx,
        "recreated_pushed_rx_bytes": re_rx, "recreated_pushed_tx_bytes": re_tx,
        "pushed_at": pushed_at, "counter_resets": g.counter_resets, "nics": nics})
}
