//! Cluster-wide reads: `/version`, `/nodes`, `/pools`, `/cluster/status`,
//! `/cluster/resources`.

use serde_json::{json, Value};

use std::collections::HashMap;

use super::schema::check;
use super::shape::{shuffle, stringify};
use super::{Ctx, Data};
use crate::error::ApiResult;
use crate::model::snapshot::NodeView;
use crate::model::Node;
use crate::params::{Kind, Params, Spec};

/// `GET /version`: any authenticated caller.
pub(super) fn version(ctx: Ctx, p: &Params) -> ApiResult<Value> {
    check(&[], p)?;
    let v = ctx.cluster.version;
    Ok(json!({"version": v.package_version(), "release": v.release(), "repoid": v.repoid()}))
}

/// `GET /nodes`: membership is live, the rest comes from the node's own last push (see
/// [`NodeView`]); stats only with `Sys.Audit` on the node.
pub(super) fn nodes(ctx: Ctx, p: &Params) -> ApiResult<Value> {
    check(&[], p)?;
    let rows: Vec<Value> = ctx
        .cluster
        .nodes
        .iter()
        .map(|n| {
            let view = ctx.cluster.node_view(n);
            let audit = ctx.can(&format!("/nodes/{}", n.name), &["Sys.Audit"], None);
            let mut row = node_entry(n, view, audit);
            row["ssl_fingerprint"] = json!(ctx
                .cluster
                .certificate_fingerprint
                .clone()
                .unwrap_or_else(|| node_fingerprint(&n.name)));
            row
        })
        .collect();
    Ok(Value::Array(rows))
}

/// A node entry as `extract_node_stats` builds it: `level` and the maxima while the node's
/// last push is fresh, current figures only while it is also online.
fn node_entry(n: &Node, view: NodeView, audit: bool) -> Value {
    let status = match view {
        NodeView::Offline { .. } => "offline",
        NodeView::Online { .. } => "online",
        NodeView::Unknown => "unknown",
    };
    let mut row = json!({"node": n.name, "id": format!("node/{}", n.name), "type": "node",
        "status": status});
    if matches!(
        view,
        NodeView::Online { .. } | NodeView::Offline { pushed: true }
    ) {
        row["level"] = json!("");
        if audit {
            row["maxcpu"] = json!(n.cpus);
            row["maxmem"] = json!(n.memory);
            row["maxdisk"] = json!(100u64 << 30);
        }
    }
    if let (NodeView::Online { uptime }, true) = (view, audit) {
        row["cpu"] = json!(0.05);
        row["mem"] = json!(n.memory / 4);
        row["disk"] = json!(20u64 << 30);
        row["uptime"] = json!(uptime);
    }
    row
}

/// A stable, made-up SHA-256 fingerprint per node name, for clusters served without TLS.
fn node_fingerprint(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(name.as_bytes());
    hash.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `GET /pools`: pools the caller may audit.
pub(super) fn pools(ctx: Ctx, p: &Params) -> ApiResult<Value> {
    check(
        &[
            Spec::opt("poolid", Kind::Text),
            Spec::opt("type", Kind::Enum(&["qemu", "lxc", "storage"])),
        ],
        p,
    )?;
    let mut names: Vec<&str> = ctx
        .cluster
        .guests
        .values()
        .filter_map(|g| g.pool.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    Ok(Value::Array(
        names
            .into_iter()
            .filter(|n| ctx.can(&format!("/pool/{n}"), &["Pool.Audit"], None))
            .filter(|n| p.get("poolid").is_none_or(|id| id == n))
            .map(|n| json!({"poolid": n}))
            .collect(),
    ))
}

/// `GET /cluster/status`: needs `Sys.Audit` on `/`.
pub(super) fn status(ctx: Ctx, p: &Params) -> ApiResult<Value> {
    ctx.require("/", &["Sys.Audit"], None)?;
    check(&[], p)?;
    let c = &ctx.cluster;
    let mut rows = Vec::new();
    let clustered = c.nodes.len() > 1;
    if clustered {
        rows.push(json!({"type": "cluster", "id": "cluster", "name": c.name,
            "nodes": c.nodes.len(), "version": 3, "quorate": u8::from(c.quorate())}));
    }
    let mut node_rows = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        let mut row = json!({"type": "node", "id": format!("node/{}", n.name), "name": n.name,
            "nodeid": if clustered { i + 1 } else { 0 }, "local": u8::from(i == 0),
            "online": u8::from(n.online), "level": ""});
        if let Some(ip) = &n.ip {
            row["ip"] = json!(ip);
        }
        node_rows.push(row);
    }
    // Node entries come from a Perl hash: no defined order.
    shuffle(&mut node_rows, c.now_ms());
    rows.extend(node_rows);
    Ok(Value::Array(rows))
}

/// Values of `/cluster/resources?type=`.
const RESOURCE_TYPES: &[&str] = &["vm", "storage", "node", "sdn"];

/// `GET /cluster/resources[?type=vm|storage|node|sdn]`: guests as live identity plus their
/// last pushed stats, filtered by `VM.Audit`; `pool` only with `Pool.Audit`; node stats
/// only with `Sys.Audit`.
pub(super) fn resources(ctx: Ctx, p: &Params) -> ApiResult<Data> {
    check(&[Spec::opt("type", Kind::Enum(RESOURCE_TYPES))], p)?;
    let want = p.get("type").map(String::as_str);
    let c = &*ctx.cluster;
    // 10,000 guests make a 3 MB answer: serialise rows straight into the output instead of
    // building a `Value` tree first.
    let mut out = Vec::with_capacity(c.guests.len() * 360 + 64);
    out.push(b'[');
    let push = |out: &mut Vec<u8>, item: &dyn erased::Item| {
        if out.len() > 1 {
            out.push(b',');
        }
        item.write(out);
    };
    let mut pool_audit: HashMap<String, bool> = HashMap::new();
    let mut can_audit_pool = |pool: &str| match pool_audit.get(pool) {
        Some(&known) => known,
        None => {
            let can = ctx.can(&format!("/pool/{pool}"), &["Pool.Audit"], None);
            pool_audit.insert(pool.to_string(), can);
            can
        }
    };
    if want.is_none() {
        let mut pools: Vec<&str> = c
            .guests
            .values()
            .filter_map(|g| g.pool.as_deref())
            .collect();
        pools.sort_unstable();
        pools.dedup();
        for pool in pools {
            if can_audit_pool(pool) {
                push(
                    &mut out,
                    &json!({"id": format!("/pool/{pool}"), "type": "pool", "pool": pool}),
                );
            }
        }
    }
    if want.is_none() || want == Some("vm") {
        for row in c.resource_rows() {
            if !ctx.can(&format!("/vms/{}", row.vmid), &["VM.Audit"], row.pool) {
                continue;
            }
            let hide_pool = row.pool.is_some_and(|p| !can_audit_pool(p));
            if c.legacy_quirks || hide_pool {
                let mut value = serde_json::to_value(&row).expect("rows serialise");
                let obj = value.as_object_mut().expect("row is an object");
                if hide_pool {
                    obj.remove("pool");
                }
                if c.legacy_quirks {
                    stringify(&mut value, &["netin", "netout", "maxcpu"]);
                }
                push(&mut out, &value);
            } else {
                push(&mut out, &row);
            }
        }
    }
    if want.is_none() || want == Some("node") {
        let Value::Array(nodes) = nodes(
            Ctx {
                cluster: ctx.cluster,
                who: ctx.who,
            },
            &Params::new(),
        )?
        else {
            unreachable!("nodes() returns an array");
        };
        for mut n in nodes {
            if let Some(o) = n.as_object_mut() {
                o.remove("ssl_fingerprint");
            }
            push(&mut out, &n);
        }
    }
    out.push(b']');
    Ok(Data::Serialized(
        String::from_utf8(out).expect("serde_json writes UTF-8"),
    ))
}

/// One serialisable entry of a hand-built JSON array.
mod erased {
    /// Something that writes itself as JSON.
    pub trait Item {
        fn write(&self, out: &mut Vec<u8>);
    }

    impl<T: serde::Serialize> Item for T {
        fn write(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).expect("resource entries serialise");
        }
    }
}
