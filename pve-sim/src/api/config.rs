//! Guest config endpoints: `GET .../config`, `GET .../pending` (QEMU and LXC), `PUT
//! .../config` (QEMU and LXC, synchronous) and `POST .../config` (QEMU, asynchronous, answers
//! a UPID).
//!
//! Permission checks follow PVE's `check_vm_modify_config_perm`: any `VM.Config.*` to get in,
//! then per key (`netN` needs `VM.Config.Network`, and from PVE 8 on `SDN.Use` on the bridge
//! for the old and the new value).

use serde_json::{json, Value};

use super::schema::check;
use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::configure::{is_config_key, WRITE_CONTROL_PARAMS};
use crate::model::guest::net_index;
use crate::netconf::{GuestKind, NetConfig};
use crate::params::{self, Kind, Params, Spec};

/// `GET .../config[?current=1][&snapshot=NAME]`.
pub(super) fn read(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
) -> ApiResult<Value> {
    check(
        &[
            Spec::opt("current", Kind::Bool),
            Spec::opt("snapshot", Kind::Text),
        ],
        p,
    )?;
    if let Some(snap) = p.get("snapshot") {
        ctx.cluster.guest_on(node, kind, vmid)?;
        return Err(ApiError::internal(format!(
            "snapshot '{snap}' does not exist"
        )));
    }
    let config = ctx
        .cluster
        .read_config(node, kind, vmid, params::flag(p, "current"))?;
    Ok(Value::Object(config))
}

/// `GET /nodes/{node}/{qemu|lxc}/{vmid}/pending`: every key with its current and pending
/// value (`delete: 1` for a pending deletion); the same shape for both guest types.
pub(super) fn pending(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
) -> ApiResult<Value> {
    check(&[], p)?;
    let g = ctx.cluster.guest_on(node, kind, vmid)?;
    let mut keys: Vec<&String> = g.config.keys().chain(g.pending.keys()).collect();
    keys.sort();
    keys.dedup();
    let rows = keys
        .into_iter()
        .map(|k| {
            let mut row = json!({"key": k});
            if let Some(v) = g.config.get(k) {
                row["value"] = json!(v);
            }
            if let Some(v) = g.pending.get(k) {
                row["pending"] = json!(v);
            }
            if g.pending_delete.contains(k) {
                row["delete"] = json!(1);
            }
            row
        })
        .collect();
    Ok(Value::Array(rows))
}

/// `PUT`/`POST .../config`.
pub(super) fn write(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
    asynchronous: bool,
) -> ApiResult<Value> {
    let mut specs = vec![
        Spec::opt("delete", Kind::Text),
        Spec::opt("revert", Kind::Text),
        Spec::opt("digest", Kind::Text),
        Spec::opt("skiplock", Kind::Bool),
    ];
    if asynchronous {
        specs.push(Spec::opt(
            "background_delay",
            Kind::Int {
                min: Some(1),
                max: Some(30),
            },
        ));
    }
    let extra = |key: &str| is_config_key(kind, key).then_some(Kind::Text);
    params::check(&specs, p, &extra).map_err(ApiError::params)?;
    check_write_permissions(&ctx, node, kind, vmid, p)?;
    let upid = ctx
        .cluster
        .write_config(node, kind, vmid, p, &ctx.who.token_id, asynchronous)?;
    Ok(upid.map_or(Value::Null, Value::from))
}

/// PVE's per-key permission checks for a config write (the method's "any `VM.Config.*`"
/// check ran before the hop to the node).
fn check_write_permissions(
    ctx: &Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    p: &Params,
) -> ApiResult<()> {
    let g = ctx.cluster.guest_on(node, kind, vmid)?;
    let path = format!("/vms/{vmid}");
    let pool = g.pool.as_deref();
    let mut keys: Vec<String> = p
        .keys()
        .filter(|k| !WRITE_CONTROL_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    for list in ["delete", "revert"] {
        if let Some(v) = p.get(list) {
            keys.extend(
                v.split([',', ';', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
    }
    for key in keys {
        let privilege = match key.as_str() {
            k if net_index(k).is_some() => "VM.Config.Network",
            "memory" | "swap" => "VM.Config.Memory",
            "cores" | "sockets" => "VM.Config.CPU",
            "hotplug" => "VM.Config.HWType",
            _ => "VM.Config.Options",
        };
        ctx.require(&path, &[privilege], pool)?;
        if let (Some(index), true) = (net_index(&key), ctx.cluster.version.needs_sdn_use()) {
            let old = g.nics.get(&index).and_then(|n| n.config.clone());
            let new = p.get(&key).and_then(|v| NetConfig::parse(kind, v).ok());
            for net in [old, new].into_iter().flatten() {
                if let Some(bridge) = net.bridge() {
                    let mut zone = format!("/sdn/zones/localnetwork/{bridge}");
                    if let Some(tag) = net.vlan_tag() {
                        zone.push_str(&format!("/{tag}"));
                    }
                    ctx.require(&zone, &["SDN.Use"], None)?;
                }
            }
        }
    }
    Ok(())
}
