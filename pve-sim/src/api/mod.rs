//! The simulated PVE REST API: routing, authentication, and one module per resource.
//!
//! [`handle`] takes a request that the server has already parsed (method, path below
//! `/api2/json`, merged parameters, `Authorization` header) and answers with the `data` of
//! the JSON envelope or an [`ApiError`]. It does no I/O, so property tests call it directly,
//! exercising exactly the code a client reaches over HTTPS.
//!
//! Order of checks, as in PVE (pve-manager's `PVE::HTTPServer::rest_handler` in pveproxy,
//! then `PVE::RESTHandler::handle` on the node that runs the method): the path must name a
//! known method (else 501), the caller must authenticate (else 401), a body parameter must
//! not contradict a path parameter (else 400), the caller must hold the privileges the
//! method's schema names (else 403); then pveproxy proxies a node's method to that node
//! (an unknown node fails the hostname lookup, an offline one answers 595), and only there
//! are the parameters checked against the schema (else 400), before the handler runs its own
//! checks (per-key privileges, root-only options). So a caller without rights gets 403 even
//! for bad parameters, and bad parameters to an offline node get 595.

mod access;
mod cluster;
mod config;
mod guests;
mod power;
pub mod response;
mod schema;
mod shape;
mod tasks;

use serde_json::Value;

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult};
use crate::model::Cluster;
use crate::netconf::GuestKind;
use crate::params::{self, Params};

/// A PVE API request, already parsed by the server.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: String,
    /// Path below `/api2/json`, starting with `/`, percent-decoded.
    pub path: String,
    /// Query parameters merged over body parameters.
    pub params: Params,
    /// Raw `Authorization` header.
    pub authorization: Option<String>,
}

/// A method of the API with its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Version,
    Permissions,
    Nodes,
    Pools,
    ClusterStatus,
    ClusterResources,
    NodeNetstat(String),
    GuestList(String, GuestKind),
    GuestStatus(String, GuestKind, String),
    GuestPower(String, GuestKind, String, String),
    GuestRrd(String, GuestKind, String),
    GuestConfigRead(String, GuestKind, String),
    GuestConfigWrite(String, GuestKind, String, bool),
    GuestPending(String, GuestKind, String),
    TaskStatus(String, String),
}

/// Power actions each guest type offers.
const QEMU_ACTIONS: [&str; 7] = [
    "start", "stop", "shutdown", "reboot", "suspend", "resume", "reset",
];
const LXC_ACTIONS: [&str; 6] = ["start", "stop", "shutdown", "reboot", "suspend", "resume"];

fn route(method: &str, path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let kind = |t: &str| match t {
        "qemu" => Some(GuestKind::Qemu),
        "lxc" => Some(GuestKind::Lxc),
        _ => None,
    };
    let s = |x: &str| x.to_string();
    Some(match (method, segs.as_slice()) {
        ("GET", ["version"]) => Route::Version,
        ("GET", ["access", "permissions"]) => Route::Permissions,
        ("GET", ["nodes"]) => Route::Nodes,
        ("GET", ["pools"]) => Route::Pools,
        ("GET", ["cluster", "status"]) => Route::ClusterStatus,
        ("GET", ["cluster", "resources"]) => Route::ClusterResources,
        ("GET", ["nodes", n, "netstat"]) => Route::NodeNetstat(s(n)),
        ("GET", ["nodes", n, t]) => Route::GuestList(s(n), kind(t)?),
        ("GET", ["nodes", n, t, v, "status", "current"]) => {
            Route::GuestStatus(s(n), kind(t)?, s(v))
        }
        ("POST", ["nodes", n, t, v, "status", a]) => {
            let k = kind(t)?;
            let known = match k {
                GuestKind::Qemu => QEMU_ACTIONS.contains(a),
                GuestKind::Lxc => LXC_ACTIONS.contains(a),
            };
            if !known {
                return None;
            }
            Route::GuestPower(s(n), k, s(v), s(a))
        }
        ("GET", ["nodes", n, t, v, "rrddata"]) => Route::GuestRrd(s(n), kind(t)?, s(v)),
        ("GET", ["nodes", n, t, v, "config"]) => Route::GuestConfigRead(s(n), kind(t)?, s(v)),
        ("PUT", ["nodes", n, t, v, "config"]) => {
            Route::GuestConfigWrite(s(n), kind(t)?, s(v), false)
        }
        ("POST", ["nodes", n, "qemu", v, "config"]) => {
            Route::GuestConfigWrite(s(n), GuestKind::Qemu, s(v), true)
        }
        ("GET", ["nodes", n, t, v, "pending"]) => Route::GuestPending(s(n), kind(t)?, s(v)),
        ("GET", ["nodes", n, "tasks", upid, "status"]) => Route::TaskStatus(s(n), s(upid)),
        _ => return None,
    })
}

/// The `data` of a successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// A JSON value.
    Value(Value),
    /// JSON text already serialised (large answers skip building a [`Value`] tree).
    Serialized(String),
}

impl From<Value> for Data {
    fn from(v: Value) -> Data {
        Data::Value(v)
    }
}

impl Data {
    /// The answer as a [`Value`] (parses serialised text).
    pub fn into_value(self) -> Value {
        match self {
            Data::Value(v) => v,
            Data::Serialized(s) => serde_json::from_str(&s).expect("handlers serialise valid JSON"),
        }
    }

    /// The answer as JSON text.
    pub fn to_json(&self) -> String {
        match self {
            Data::Value(v) => v.to_string(),
            Data::Serialized(s) => s.clone(),
        }
    }
}

/// Answers one API request against the cluster.
pub fn handle(cluster: &mut Cluster, req: &ApiRequest) -> ApiResult<Data> {
    let route = route(&req.method, &req.path)
        .ok_or_else(|| ApiError::not_implemented(&req.method, &req.path))?;
    let who = cluster
        .access
        .authenticate(req.authorization.as_deref(), cluster.now_secs())
        .map_err(|e| ApiError::unauthorized(e.reason(cluster.version.unified_auth_errors())))?;
    let mut params = req.params.clone();
    let ctx = Ctx { cluster, who: &who };
    let data = match route {
        Route::Version => cluster::version(ctx, &params),
        Route::Permissions => access::permissions(ctx, &params),
        Route::Nodes => cluster::nodes(ctx, &params),
        Route::Pools => cluster::pools(ctx, &params),
        Route::ClusterStatus => cluster::status(ctx, &params),
        Route::ClusterResources => return cluster::resources(ctx, &params),
        Route::NodeNetstat(node) => {
            path_param(&mut params, "node", &node, params::node_format)?;
            guests::netstat(ctx, &node, &params)
        }
        Route::GuestList(node, kind) => {
            uri_param(&mut params, "node", &node)?;
            ctx.cluster.route(&node)?;
            guests::list(ctx, &node, kind, &params)
        }
        Route::GuestStatus(node, kind, vmid) => {
            let vmid = enter_guest(&ctx, &mut params, &node, &vmid, Needs::All(&["VM.Audit"]))?;
            guests::status(ctx, &node, kind, vmid, &params)
        }
        Route::GuestRrd(node, kind, vmid) => {
            let vmid = enter_guest(&ctx, &mut params, &node, &vmid, Needs::All(&["VM.Audit"]))?;
            guests::rrddata(ctx, &node, kind, vmid, &params)
        }
        Route::GuestPower(node, kind, vmid, action) => {
            let vmid = enter_guest(
                &ctx,
                &mut params,
                &node,
                &vmid,
                Needs::All(&["VM.PowerMgmt"]),
            )?;
            power::action(ctx, &node, kind, vmid, &action, &params)
        }
        Route::GuestConfigRead(node, kind, vmid) => {
            let vmid = enter_guest(&ctx, &mut params, &node, &vmid, Needs::All(&["VM.Audit"]))?;
            config::read(ctx, &node, kind, vmid, &params)
        }
        Route::GuestPending(node, kind, vmid) => {
            let vmid = enter_guest(&ctx, &mut params, &node, &vmid, Needs::All(&["VM.Audit"]))?;
            config::pending(ctx, &node, kind, vmid, &params)
        }
        Route::GuestConfigWrite(node, kind, vmid, asynchronous) => {
            let vmid = enter_guest(&ctx, &mut params, &node, &vmid, Needs::AnyConfig)?;
            config::write(ctx, &node, kind, vmid, &params, asynchronous)
        }
        Route::TaskStatus(node, upid) => {
            uri_param(&mut params, "node", &node)?;
            uri_param(&mut params, "upid", &upid)?;
            ctx.cluster.route(&node)?;
            tasks::status(ctx, &node, &upid, &params)
        }
    };
    data.map(Data::from)
}

/// What every handler gets: the cluster and the caller.
struct Ctx<'a> {
    cluster: &'a mut Cluster,
    who: &'a Identity,
}

impl Ctx<'_> {
    /// 403 unless the caller holds all of `privs` on `path`.
    fn require(&self, path: &str, privs: &[&str], pool: Option<&str>) -> ApiResult<()> {
        if self
            .cluster
            .access
            .check(self.who, path, privs, false, pool)
        {
            Ok(())
        } else {
            Err(ApiError::forbidden(path, privs))
        }
    }

    /// Whether the caller holds `privs` on `path`.
    fn can(&self, path: &str, privs: &[&str], pool: Option<&str>) -> bool {
        self.cluster
            .access
            .check(self.who, path, privs, false, pool)
    }

    /// 403 unless the caller holds `needs` on `/vms/{vmid}` (`vmid` as given in the path).
    fn require_vm(&self, vmid: &str, needs: Needs) -> ApiResult<()> {
        let path = format!("/vms/{vmid}");
        let pool = vmid
            .parse::<u32>()
            .ok()
            .and_then(|v| self.cluster.guests.get(&v))
            .and_then(|g| g.pool.clone());
        match needs {
            Needs::All(privs) => self.require(&path, privs, pool.as_deref()),
            Needs::AnyConfig => {
                let access = &self.cluster.access;
                if access.check_prefix(self.who, &path, "VM.Config.", pool.as_deref()) {
                    Ok(())
                } else {
                    Err(ApiError::forbidden(&path, &["VM.Config.*"]))
                }
            }
        }
    }
}

/// The privileges a guest method's schema demands on `/vms/{vmid}`.
enum Needs {
    /// All of these.
    All(&'static [&'static str]),
    /// Any `VM.Config.*` (the config write methods' `any => 1` lists).
    AnyConfig,
}

/// Everything PVE checks before a guest method's code runs, in PVE's order: conflicting
/// path and body parameters (400), the schema's permission check (403), the hop to the node
/// (hostname lookup error, 595 when offline), then the VMID's format (400).
fn enter_guest(
    ctx: &Ctx,
    params: &mut Params,
    node: &str,
    vmid: &str,
    needs: Needs,
) -> ApiResult<u32> {
    uri_param(params, "node", node)?;
    uri_param(params, "vmid", vmid)?;
    ctx.require_vm(vmid, needs)?;
    // A node that passes routing has a valid name; the VMID is the schema's first check.
    ctx.cluster.route(node)?;
    params::vmid_format(vmid).map_err(|e| ApiError::param("vmid", e))?;
    Ok(vmid.parse().expect("vmid format checked"))
}

/// 400 when a body parameter contradicts the path parameter of the same name (checked
/// before anything else, as pveproxy merges them).
fn uri_param(params: &mut Params, name: &str, value: &str) -> ApiResult<()> {
    match params.remove(name) {
        Some(other) if other != value => Err(ApiError::param(
            name,
            "duplicate parameter (already defined in URI) with conflicting values!",
        )),
        _ => Ok(()),
    }
}

/// Checks a path parameter's format, and that a body parameter of the same name agrees.
fn path_param(
    params: &mut Params,
    name: &str,
    value: &str,
    format: fn(&str) -> Result<(), String>,
) -> ApiResult<()> {
    uri_param(params, name, value)?;
    format(value).map_err(|e| ApiError::param(name, e))
}
