//! `GET /access/permissions`: what a token may do, so a client can check its privileges
//! before it needs them (the config wizard does, naming any that are missing).
//!
//! As PVE's `API2::AccessControl::permissions`: with `path`, the caller's privileges on that
//! one path (an empty object when it holds none); without, the effective privileges on the
//! top-level paths, every ACL path and every pool and pool member, leaving out paths where
//! nothing is held (`RPCEnvironment::get_effective_permissions`). `userid` asks about another
//! user or token, which needs `Sys.Audit` on `/access` unless it is the caller itself.
//!
//! PVE maps each privilege to whether it propagates; the simulator's ACL model keeps only
//! the union, so every value is `1` (a privilege held by a non-propagating entry reads the
//! same as one that propagates).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::schema::check;
use super::Ctx;
use crate::auth::Identity;
use crate::error::ApiResult;
use crate::params::{Kind, Params, Spec};

/// Paths PVE always reports on when no `path` is given.
const TOP_LEVEL_PATHS: [&str; 8] = [
    "/",
    "/access",
    "/access/groups",
    "/nodes",
    "/pool",
    "/sdn",
    "/storage",
    "/vms",
];

/// `GET /access/permissions[?path=P][&userid=U]`.
pub(super) fn permissions(ctx: Ctx, p: &Params) -> ApiResult<Value> {
    check(
        &[
            Spec::opt("path", Kind::Text),
            Spec::opt("userid", Kind::Text),
        ],
        p,
    )?;
    let who = match p.get("userid") {
        Some(userid) if userid != &ctx.who.token_id => {
            ctx.require("/access", &["Sys.Audit"], None)?;
            Identity {
                token_id: userid.clone(),
            }
        }
        _ => ctx.who.clone(),
    };
    let paths: Vec<String> = match p.get("path") {
        Some(path) => vec![path.clone()],
        None => effective_paths(&ctx),
    };
    let mut out = Map::new();
    for path in paths {
        let privs = ctx
            .cluster
            .access
            .privilege_names(&who, &path, pool_of(&ctx, &path));
        // With an explicit path PVE answers `{}` when nothing is held; without, such paths
        // are left out: both come to the same.
        if !privs.is_empty() {
            let held: Map<String, Value> = privs
                .into_iter()
                .map(|n| (n.to_string(), 1.into()))
                .collect();
            out.insert(path, Value::Object(held));
        }
    }
    Ok(Value::Object(out))
}

/// The pool of the guest that `/vms/<vmid>` names, whose pool ACLs count for it.
fn pool_of<'a>(ctx: &'a Ctx, path: &str) -> Option<&'a str> {
    let vmid: u32 = path.strip_prefix("/vms/")?.parse().ok()?;
    ctx.cluster.guests.get(&vmid)?.pool.as_deref()
}

/// The top-level paths, every ACL path, every pool and every pool member.
fn effective_paths(ctx: &Ctx) -> Vec<String> {
    let mut paths: BTreeSet<String> = TOP_LEVEL_PATHS.iter().map(|p| p.to_string()).collect();
    paths.extend(ctx.cluster.access.acl_paths().map(str::to_string));
    for (vmid, guest) in &ctx.cluster.guests {
        if let Some(pool) = &guest.pool {
            paths.insert(format!("/pool/{pool}"));
            paths.insert(format!("/vms/{vmid}"));
        }
    }
    paths.into_iter().collect()
}
