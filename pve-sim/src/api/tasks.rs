//! `GET /nodes/{node}/tasks/{upid}/status`.

use serde_json::{json, Value};

use super::schema::check;
use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::task::parse_upid_node;
use crate::params::Params;

/// A task's status; a caller sees its own tasks, others need `Sys.Audit` on the node.
pub(super) fn status(ctx: Ctx, node: &str, upid: &str, p: &Params) -> ApiResult<Value> {
    check(&[], p)?;
    if parse_upid_node(upid).is_none() {
        return Err(ApiError::param("upid", "unable to parse worker upid"));
    }
    let task = ctx
        .cluster
        .tasks
        .get(upid)
        .filter(|t| t.node == node)
        .ok_or_else(|| ApiError::param("upid", "no such task"))?;
    let own = task.user == ctx.who.user()
        && task
            .tokenid
            .as_deref()
            .is_none_or(|t| t == ctx.who.token_name());
    if !own {
        ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"], None)?;
    }
    let mut v = json!({
        "upid": task.upid, "node": task.node, "pid": task.pid, "pstart": task.pstart,
        "starttime": task.starttime, "type": task.kind, "id": task.id, "user": task.user,
        "status": if task.exitstatus.is_some() { "stopped" } else { "running" },
    });
    if let Some(t) = &task.tokenid {
        v["tokenid"] = json!(t);
    }
    if let Some(e) = &task.exitstatus {
        v["exitstatus"] = json!(e);
    }
    Ok(v)
}
