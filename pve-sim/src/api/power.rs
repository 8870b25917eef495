//! `POST .../{vmid}/status/{action}`: power actions, answered with a task's UPID.

use serde_json::Value;

use super::schema::check;
use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::power::PowerAction;
use crate::netconf::GuestKind;
use crate::params::{flag, Kind, Params, Spec};

const TIMEOUT: Kind = Kind::Int {
    min: Some(0),
    max: None,
};

/// Runs a power action after checking its parameters and `VM.PowerMgmt`.
pub(super) fn action(
    ctx: Ctx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    action: &str,
    p: &Params,
) -> ApiResult<Value> {
    let qemu = kind == GuestKind::Qemu;
    let root_only = ["skiplock", "keepActive"];
    let specs: Vec<Spec> = match (action, qemu) {
        ("start", true) => vec![
            Spec::opt("timeout", TIMEOUT),
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("machine", Kind::Text),
        ],
        ("start", false) => vec![
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("debug", Kind::Bool),
        ],
        ("stop", true) => vec![
            Spec::opt("timeout", TIMEOUT),
            Spec::opt("keepActive", Kind::Bool),
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("overrule-shutdown", Kind::Bool),
        ],
        // pve-container's vm_stop and vm_shutdown take fewer options than qemu-server's.
        ("stop", false) => vec![
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("overrule-shutdown", Kind::Bool),
        ],
        ("shutdown", true) => vec![
            Spec::opt("timeout", TIMEOUT),
            Spec::opt("forceStop", Kind::Bool),
            Spec::opt("keepActive", Kind::Bool),
            Spec::opt("skiplock", Kind::Bool),
        ],
        ("shutdown", false) => vec![
            Spec::opt("timeout", TIMEOUT),
            Spec::opt("forceStop", Kind::Bool),
        ],
        ("reboot", _) => vec![Spec::opt("timeout", TIMEOUT)],
        ("suspend", true) => vec![
            Spec::opt("todisk", Kind::Bool),
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("statestorage", Kind::Text),
        ],
        ("resume", true) => vec![
            Spec::opt("skiplock", Kind::Bool),
            Spec::opt("nocheck", Kind::Bool),
        ],
        ("reset", true) => vec![Spec::opt("skiplock", Kind::Bool)],
        // LXC suspend and resume take no options at all.
        (_, _) => vec![],
    };
    check(&specs, p)?;
    if let Some(opt) = root_only.iter().find(|o| p.contains_key(**o)) {
        return Err(ApiError::param(opt, "Only root may use this option."));
    }
    let timeout = p
        .get("timeout")
        .map(|t| t.parse().expect("integer checked"));
    let act = match action {
        "start" => PowerAction::Start,
        "stop" => PowerAction::Stop {
            overrule: flag(p, "overrule-shutdown"),
        },
        "shutdown" => PowerAction::Shutdown {
            timeout,
            force: flag(p, "forceStop"),
        },
        "reboot" => PowerAction::Reboot { timeout },
        "suspend" => PowerAction::Suspend {
            todisk: flag(p, "todisk"),
        },
        "resume" => PowerAction::Resume,
        _ => PowerAction::Reset,
    };
    let upid = ctx
        .cluster
        .power_action(node, kind, vmid, act, &ctx.who.token_id)?;
    Ok(Value::from(upid))
}
