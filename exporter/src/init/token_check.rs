//! Tries the token before it goes into the file: can it log in, what does it see, and does
//! it hold what the exporter and the enforcer will need?
//!
//! A token that authenticates can still be useless: without `VM.Audit` the exporter sees an
//! empty cluster and reports zero traffic, and without `VM.PowerMgmt` the enforcer fails at
//! the first quota, maybe weeks later. So the wizard asks PVE (`GET /access/permissions`)
//! what the token holds and names every privilege that is missing, with what will not work
//! without it. The list follows README's "The PVE API token" section.

use pve_traffic_core::pve::{Client, PveError};
use serde_json::Value;

/// A privilege one of the daemons needs.
struct Need {
    /// `exporter` or `enforcer`.
    who: &'static str,
    privilege: &'static str,
    /// The ACL path it is checked on.
    path: &'static str,
    /// What fails without it.
    effect: &'static str,
    /// Only checked from this PVE major release on.
    since_major: u32,
}

/// What README's token section asks for.
const NEEDS: &[Need] = &[
    Need {
        who: "exporter",
        privilege: "VM.Audit",
        path: "/",
        effect: "it sees no guests and accounts nothing",
        since_major: 0,
    },
    Need {
        who: "exporter",
        privilege: "Sys.Audit",
        path: "/",
        effect: "node details are missing (optional)",
        since_major: 0,
    },
    Need {
        who: "enforcer",
        privilege: "VM.PowerMgmt",
        path: "/",
        effect: "shutdown, stop and restart fail",
        since_major: 0,
    },
    Need {
        who: "enforcer",
        privilege: "VM.Config.Network",
        path: "/",
        effect: "rate_limit and disconnect fail",
        since_major: 0,
    },
    Need {
        who: "enforcer",
        privilege: "SDN.Use",
        path: "/sdn/zones/localnetwork",
        effect: "on PVE 8 and later, rate_limit and disconnect fail (role PVESDNUser)",
        since_major: 8,
    },
];

/// What the token test found.
#[derive(Debug)]
pub struct Report {
    /// PVE's release, e.g. `9.1`.
    pub release: String,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Guests the token can see.
    pub guests: usize,
    /// One line per missing privilege: who needs it, on which path, what fails.
    pub missing: Vec<String>,
    /// Why the privileges could not be checked, if they could not.
    pub unchecked: Option<String>,
}

/// Logs in with `client` and looks around. Transport, TLS and 401 errors are returned as they
/// are (the wizard sends the operator back to the step that can fix them); a PVE that does
/// not answer `/access/permissions` only leaves the privileges unchecked.
pub async fn check(client: &Client) -> Result<Report, PveError> {
    let version = client.get("/version", &[]).await?;
    let release = version["release"].as_str().unwrap_or("?").to_string();
    let major: u32 = release
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let nodes = client
        .get("/nodes", &[])
        .await?
        .as_array()
        .map_or(0, Vec::len);
    let guests = client.cluster_guests().await?.len();
    let mut report = Report {
        release,
        nodes,
        guests,
        missing: Vec::new(),
        unchecked: None,
    };
    for need in NEEDS.iter().filter(|n| major >= n.since_major) {
        let answer = client
            .get("/access/permissions", &[("path", need.path)])
            .await;
        let held = match answer {
            Ok(data) => data,
            Err(e @ (PveError::Forbidden { .. } | PveError::Api { .. })) => {
                report.unchecked = Some(e.to_string());
                report.missing.clear();
                break;
            }
            Err(e) => return Err(e),
        };
        if !holds(&held, need.path, need.privilege) {
            report.missing.push(format!(
                "{}: {} on {} is missing: {}",
                need.who, need.privilege, need.path, need.effect
            ));
        }
    }
    Ok(report)
}

/// Whether `/access/permissions?path=P`'s answer grants `privilege` on `path`.
fn holds(answer: &Value, path: &str, privilege: &str) -> bool {
    answer[path]
        .get(privilege)
        .is_some_and(|v| v.as_u64().is_some() || v.as_bool() == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_privilege_is_held_when_listed_under_its_path() {
        let answer = json!({"/": {"VM.Audit": 1, "Sys.Audit": 0}});
        assert!(holds(&answer, "/", "VM.Audit"));
        // 0 means "held, does not propagate": still held on this path.
        assert!(holds(&answer, "/", "Sys.Audit"));
        assert!(!holds(&answer, "/", "VM.PowerMgmt"));
        assert!(!holds(&json!({}), "/", "VM.Audit"));
    }
}
