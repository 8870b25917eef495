//! Per-node guest reads: the guest lists, `status/current`, `rrddata` and `netstat`.
//!
//! Unlike `/cluster/resources`, these read live counters (PVE reads `/proc/net/dev` on each
//! call). Lists come back in no particular order, as PVE's Perl hashes do: the simulator
//! shuffles them so that no client comes to rely on an order.

use serde_json::{json, Value};

use super::schema::check;
use super::shape::{object, shuffle, stringify};
use super::Ctx;
use crate::error::ApiResult;
use crate::model::guest::{Guest, Power};
use crate::netconf::GuestKind;
use crate::params::{Kind, Params, Spec};
use crate::rrd::{Cf, Timeframe};

/// `GET /nodes/{node}/qemu` (`full` optional) and `/nodes/{node}/lxc`, filtered by `VM.Audit`.
pub(super) fn list(ctx: Ctx, node: &str, kind: GuestKind, p: &Params) -> ApiResult<Value> {
    match kind {
        GuestKind::Qemu => check(&[Spec::opt("full", Kind::Bool)], p)?,
        GuestKind::Lxc => check(&[], p)?,
    }
    let full = crate::params::flag(p, "full");
    let c = &*ctx.cluster;
    let mut rows: Vec<Value> = c
        .guests
        .values()
        .filter(|g| g.node == node && g.kind == kind)
        .filter(|g| {
            ctx.can(
                &format!("/vms/{}", g.vmid),
                &["VM.Audit"],
                g.pool.as_deref(),
            )
        })
        .map(|g| status_object(ctx.cluster, g, full))
        .collect();
    shuffle(&mut rows, c.now_ms());
    Ok(Value::Array(rows))
}

/// `GET .../{vmid}/status/current`: always full.
pub(super) fn status(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
) -> ApiResult<Value> {
    check(&[], p)?;
    let g = ctx.cluster.guest_on(node, kind, vmid)?;
    Ok(status_object(ctx.cluster, g, true))
}

/// The status object of a guest as `vmstatus` builds it (`full` adds `nics` and friends).
fn status_object(c: &crate::model::Cluster, g: &Guest, full: bool) -> Value {
    let now = c.now_ms();
    let (netin, netout) = g.counters();
    let running = g.is_running();
    let qemu = g.kind == GuestKind::Qemu;
    let (diskread, diskwrite) = g.disk_io(now);
    let status = if running { "running" } else { "stopped" };
    let qmpstatus = g.qmp_status();
    let pid = match g.power {
        Power::Running { pid, .. } => Some(json!(pid)),
        Power::Stopped => None,
    };
    let nics = (qemu && running && full).then(|| {
        let map: serde_json::Map<String, Value> = g
            .nics
            .iter()
            .filter(|(_, n)| n.has_device())
            .map(|(i, n)| {
                (
                    format!("tap{}i{i}", g.vmid),
                    json!({"netin": n.counter_rx, "netout": n.counter_tx}),
                )
            })
            .collect();
        Value::Object(map)
    });
    let mut v = object(vec![
        ("vmid", Some(json!(g.vmid))),
        ("type", (!qemu).then(|| json!("lxc"))),
        ("status", Some(json!(status))),
        ("qmpstatus", qemu.then(|| json!(qmpstatus))),
        ("name", Some(json!(g.name()))),
        ("cpus", Some(json!(g.cpus))),
        ("cpu", Some(json!(g.cpu(now)))),
        ("maxmem", Some(json!(g.maxmem))),
        ("mem", Some(json!(g.mem()))),
        (
            "memhost",
            (qemu && running && c.version.has_memhost()).then(|| json!(g.mem())),
        ),
        ("maxdisk", Some(json!(g.maxdisk))),
        (
            "disk",
            Some(json!(if qemu || !running { 0 } else { g.maxdisk / 4 })),
        ),
        ("uptime", Some(json!(g.uptime(now)))),
        ("netin", Some(json!(netin))),
        ("netout", Some(json!(netout))),
        ("nics", nics),
        (
            "diskread",
            (running || !qemu).then(|| json!(if running { diskread } else { 0 })),
        ),
        (
            "diskwrite",
            (running || !qemu).then(|| json!(if running { diskwrite } else { 0 })),
        ),
        ("pid", pid),
        (
            "running-qemu",
            (qemu && running && full).then(|| json!("9.2.0")),
        ),
        (
            "running-machine",
            (qemu && running && full).then(|| json!("pc-i440fx-9.2+pve1")),
        ),
        ("template", g.is_template().then(|| json!(1))),
        ("lock", g.lock().map(|l| json!(l))),
        ("tags", g.tags().map(|t| json!(t))),
        (
            "ha",
            Some(match g.hastate() {
                Some(state) => json!({"managed": 1, "state": state}),
                None => json!({"managed": 0}),
            }),
        ),
    ]);
    if c.legacy_quirks {
        stringify(&mut v, &["vmid", "netin", "netout"]);
    }
    v
}

/// `GET .../{vmid}/rrddata?timeframe=..[&cf=AVERAGE|MAX]`.
pub(super) fn rrddata(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
) -> ApiResult<Value> {
    check(
        &[
            Spec::req(
                "timeframe",
                Kind::Enum(&["hour", "day", "week", "month", "year"]),
            ),
            Spec::opt("cf", Kind::Enum(&["AVERAGE", "MAX"])),
        ],
        p,
    )?;
    let g = ctx.cluster.guest_on(node, kind, vmid)?;
    let timeframe: Timeframe = p["timeframe"].parse().expect("enum checked");
    let cf: Cf = p
        .get("cf")
        .map_or(Ok(Cf::Average), |s| s.parse())
        .expect("enum checked");
    let mut fixed = serde_json::Map::new();
    fixed.insert("maxcpu".into(), json!(g.cpus));
    fixed.insert("maxmem".into(), json!(g.maxmem));
    fixed.insert("maxdisk".into(), json!(g.maxdisk));
    fixed.insert("disk".into(), json!(0));
    Ok(Value::Array(g.rrd.rows(
        timeframe,
        cf,
        ctx.cluster.now_secs(),
        &fixed,
    )))
}

/// `GET /nodes/{node}/netstat`: the host devices of the node's running guests (QEMU taps
/// `tap{vmid}i{n}`, LXC veths `veth{vmid}i{n}`) as `/proc/net/dev` lists them, sorted by
/// device name. `in` is what the host transmitted on the device (the guest's download),
/// `out` what it received (the guest's upload); every value is a string. Live, not pushed.
pub(super) fn netstat(ctx: Ctx, node: &str, p: &Params) -> ApiResult<Value> {
    check(&[], p)?;
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"], None)?;
    ctx.cluster.route(node)?;
    let mut devices: Vec<(String, Value)> = Vec::new();
    for g in ctx.cluster.guests.values() {
        if g.node != node || !g.is_running() {
            continue;
        }
        let prefix = match g.kind {
            GuestKind::Qemu => "tap",
            GuestKind::Lxc => "veth",
        };
        for (i, n) in g.nics.iter().filter(|(_, n)| n.has_device()) {
            let row = json!({"vmid": g.vmid.to_string(), "dev": format!("net{i}"),
                "in": n.counter_rx.to_string(), "out": n.counter_tx.to_string()});
            devices.push((format!("{prefix}{}i{i}", g.vmid), row));
        }
    }
    devices.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Array(devices.into_iter().map(|(_, r)| r).collect()))
}
