//! `GET /access/permissions` (what a token may do): per path, over every path, for another
//! user or token, and its parameter and privilege checks. Expected sets follow PVE's
//! privilege separation: a privsep token holds the intersection of its own ACLs and its
//! user's.

use serde_json::{json, Value};

use crate::util::{scenario, Harness, Reply, BASIC};

const SECRET: &str = "6c1d2e3f-4444-4444-8444-0000000000dd";
const OTHER_SECRET: &str = "6c1d2e3f-5555-4555-8555-0000000000ee";

/// BASIC plus `traffic@pve`, which holds the enforcer's role on `/` and `PVESDNUser` on the
/// local SDN zone; its privsep token `traffic@pve!enforcer` is granted the enforcer's role on
/// `/` but `SDN.Use` nowhere, and `VM.Console` (which its user lacks) on `/vms/102` and
/// `/vms/100`.
/// `audit@pve!ro` is a PVEAuditor token without privilege separation.
fn yaml() -> String {
    format!(
        r#"users:
  - {{ userid: traffic@pve }}
  - {{ userid: audit@pve }}
tokens:
  - {{ id: "traffic@pve!enforcer", secret: "{SECRET}", privsep: true }}
  - {{ id: "audit@pve!ro", secret: "{OTHER_SECRET}", privsep: false }}
acl:
  - {{ path: /, ugid: traffic@pve, privs: [VM.Audit, VM.PowerMgmt, VM.Config.Network, Sys.Audit] }}
  - {{ path: /sdn/zones/localnetwork, ugid: traffic@pve, roles: [PVESDNUser] }}
  - {{ path: /, ugid: "traffic@pve!enforcer", privs: [VM.Audit, VM.PowerMgmt, VM.Config.Network] }}
  - {{ path: /vms/100, ugid: "traffic@pve!enforcer", privs: [VM.Console] }}
  - {{ path: /vms/102, ugid: "traffic@pve!enforcer", privs: [VM.Console] }}
  - {{ path: /, ugid: audit@pve, roles: [PVEAuditor] }}
{BASIC}"#
    )
}

fn token() -> String {
    format!("PVEAPIToken=traffic@pve!enforcer={SECRET}")
}

fn auditor() -> String {
    format!("PVEAPIToken=audit@pve!ro={OTHER_SECRET}")
}

/// `GET /access/permissions` as `auth` with `params`.
async fn permissions(h: &Harness, auth: &str, params: &[(&str, &str)]) -> Reply {
    h.api_as(Some(auth), "GET", "/access/permissions", params)
        .await
}

/// The privilege names of one path of an answer, sorted.
fn privs(data: &Value, path: &str) -> Vec<String> {
    let mut names: Vec<String> = data[path]
        .as_object()
        .unwrap_or_else(|| panic!("no {path} in {data}"))
        .iter()
        .map(|(k, v)| {
            assert_eq!(v, &json!(1), "{path}.{k}");
            k.clone()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_privsep_token_holds_the_intersection_with_its_user_on_a_path() {
    let h = Harness::start(scenario(&yaml())).await;
    let t = token();
    let r = permissions(&h, &t, &[("path", "/")]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.data().as_object().unwrap().len(), 1, "{:?}", r.body);
    // Sys.Audit is the user's only, so the token lacks it.
    assert_eq!(
        privs(r.data(), "/"),
        ["VM.Audit", "VM.Config.Network", "VM.PowerMgmt"]
    );
    // The user may use the bridge, the token was not granted it: nothing held, `{}`.
    let r = permissions(&h, &t, &[("path", "/sdn/zones/localnetwork")]).await;
    assert_eq!((r.status, r.data()), (200, &json!({})));
    // The entry on /vms/102 replaces what the token inherits from `/`, and its user lacks
    // VM.Console: nothing is held there.
    let r = permissions(&h, &t, &[("path", "/vms/102")]).await;
    assert_eq!((r.status, r.data()), (200, &json!({})));
    // Guest 100 is in pool tenant-a, whose path inherits from `/`: the pool's roles add to
    // the guest's own, as in PVE.
    let r = permissions(&h, &t, &[("path", "/vms/100")]).await;
    assert_eq!(
        privs(r.data(), "/vms/100"),
        ["VM.Audit", "VM.Config.Network", "VM.PowerMgmt"]
    );
}

#[tokio::test]
async fn without_a_path_every_path_where_something_is_held() {
    let h = Harness::start(scenario(&yaml())).await;
    let r = permissions(&h, &auditor(), &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let paths: Vec<&String> = r.data().as_object().unwrap().keys().collect();
    // The top-level paths, the ACL paths and the pool of guest 100 with the guest.
    for p in [
        "/",
        "/access",
        "/nodes",
        "/pool",
        "/sdn",
        "/storage",
        "/vms",
        "/sdn/zones/localnetwork",
        "/vms/100",
        "/pool/tenant-a",
    ] {
        assert!(paths.iter().any(|k| *k == p), "{p} missing from {paths:?}");
    }
    let audit = privs(r.data(), "/");
    assert!(audit.iter().all(|p| p.ends_with(".Audit")), "{audit:?}");
    assert!(audit.contains(&"Sys.Audit".to_string()), "{audit:?}");
    // The privsep token holds nothing on the SDN zone: the path is left out.
    let r = permissions(&h, &token(), &[]).await;
    assert!(
        r.data().get("/sdn/zones/localnetwork").is_none(),
        "{:?}",
        r.body
    );
    assert!(r.data().get("/vms/100").is_some(), "{:?}", r.body);
}

#[tokio::test]
async fn asking_about_someone_else_needs_sys_audit_on_access() {
    let h = Harness::start(scenario(&yaml())).await;
    let t = token();
    let params = [("path", "/"), ("userid", "audit@pve!ro")];
    let r = permissions(&h, &t, &params).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    // Asking about itself by name is allowed.
    let r = permissions(&h, &t, &[("path", "/"), ("userid", "traffic@pve!enforcer")]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The auditor holds Sys.Audit on /access and may look at the token's user.
    let r = permissions(&h, &auditor(), &[("path", "/"), ("userid", "traffic@pve")]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        privs(r.data(), "/"),
        ["Sys.Audit", "VM.Audit", "VM.Config.Network", "VM.PowerMgmt"]
    );
    let r = permissions(&h, &t, &[("vmid", "100")]).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(!r.error_for("vmid").is_empty(), "{:?}", r.body);
}
