//! Authentication and authorisation: the `PVEAPIToken` header grammar, every 401 class in
//! the unified (9.1.5+) and legacy wording, the 401 delay, privilege separation of tokens,
//! ACL filtering of lists, pool ACLs, and the 403 reason format (docs/pve-api.md,
//! "Authentication and privileges").

use std::time::{Duration, Instant};

use pve_sim::Options;
use serde_json::Value;

use crate::transport::{plain_with, raw_get, RawReply};
use crate::util::{scenario, Harness, BASIC};

const RO_SECRET: &str = "0b7e0a4c-3c1e-4c55-9f0e-1f2a3b4c5d6e";
const FULL_SECRET: &str = "5f1d2c3b-0000-4000-8000-00000000f011";
const POOL_SECRET: &str = "7a6b5c4d-1111-4111-8111-0000000000aa";
const OLD_SECRET: &str = "9e8d7c6b-2222-4222-8222-0000000000bb";
const OFF_SECRET: &str = "1a2b3c4d-3333-4333-8333-0000000000cc";

/// BASIC plus API users: `mon@pve` is a PVEAuditor on `/`; its tokens are `ro` (privsep,
/// VM.Audit on `/vms/100` only), `full` (no privsep), `pool` (privsep, PVEAuditor on
/// `/pool/tenant-a`) and `old` (expired before the start time); `off@pve` is disabled.
fn access_yaml(version: &str) -> String {
    format!(
        r#"pve_version: "{version}"
users:
  - {{ userid: mon@pve }}
  - {{ userid: off@pve, enabled: false }}
tokens:
  - {{ id: "mon@pve!ro", secret: "{RO_SECRET}", privsep: true }}
  - {{ id: "mon@pve!full", secret: "{FULL_SECRET}", privsep: false }}
  - {{ id: "mon@pve!pool", secret: "{POOL_SECRET}", privsep: true }}
  - {{ id: "mon@pve!old", secret: "{OLD_SECRET}", privsep: false, expire: 1767225000 }}
  - {{ id: "off@pve!tk", secret: "{OFF_SECRET}", privsep: false }}
acl:
  - {{ path: /, ugid: mon@pve, roles: [PVEAuditor] }}
  - {{ path: /vms/100, ugid: "mon@pve!ro", privs: [VM.Audit] }}
  - {{ path: /pool/tenant-a, ugid: "mon@pve!pool", roles: [PVEAuditor] }}
{BASIC}"#
    )
}

fn header(id: &str, secret: &str) -> String {
    format!("PVEAPIToken={id}={secret}")
}

fn ro() -> String {
    header("mon@pve!ro", RO_SECRET)
}

/// Asserts a 401 with `reason` and an empty body.
fn assert_401(r: &RawReply, reason: &str, what: &str) {
    assert_eq!((r.status, r.reason.as_str()), (401, reason), "{what}");
    assert!(r.body.is_empty(), "{what}: body {:?}", r.body);
    assert_eq!(r.header("content-length"), Some("0"), "{what}");
    assert!(r.header("content-type").is_none(), "{what}");
}

#[tokio::test]
async fn no_authorization_header_is_no_ticket_with_an_empty_body() {
    let h = plain_with(&access_yaml("9.1")).await;
    let r = raw_get(&h, "/version", None).await;
    assert_401(&r, "No ticket", "no header");
    // A header without the token key is no ticket either.
    let r = raw_get(&h, "/version", Some("Bearer abc")).await;
    assert_401(&r, "No ticket", "other scheme");
}

/// Each failure class, as (header, legacy reason).
fn failures() -> Vec<(String, String)> {
    vec![
        (
            "PVEAPIToken=mon@pve!ro".to_string(),
            "no tokenid specified".to_string(),
        ),
        (
            format!("PVEAPIToken=mon-pve-ro={RO_SECRET}"),
            "'mon-pve-ro' is not a valid token ID - not able to split into user and token parts"
                .to_string(),
        ),
        (
            header("nobody@pve!ro", RO_SECRET),
            "no such user ('nobody@pve')".to_string(),
        ),
        (
            header("off@pve!tk", OFF_SECRET),
            "user 'off@pve' is disabled".to_string(),
        ),
        (
            header("mon@pve!nope", RO_SECRET),
            "no such token 'nope' for user 'mon@pve'".to_string(),
        ),
        (
            header("mon@pve!old", OLD_SECRET),
            "token 'old' access expired".to_string(),
        ),
        (
            header("mon@pve!ro", FULL_SECRET),
            "invalid token value!".to_string(),
        ),
    ]
}

#[tokio::test]
async fn every_failure_class_reads_authentication_failed_on_9_1() {
    let h = plain_with(&access_yaml("9.1")).await;
    for (hdr, legacy) in failures() {
        let r = raw_get(&h, "/version", Some(&hdr)).await;
        assert_401(&r, "Authentication failed!", &legacy);
    }
}

#[tokio::test]
async fn every_failure_class_has_its_own_text_on_8_2() {
    let h = plain_with(&access_yaml("8.2")).await;
    for (hdr, legacy) in failures() {
        let r = raw_get(&h, "/version", Some(&hdr)).await;
        assert_401(&r, &legacy, &hdr);
    }
    let r = raw_get(&h, "/version", None).await;
    assert_401(&r, "No ticket", "no header");
}

#[tokio::test]
async fn the_header_may_use_a_space_and_percent_encoding() {
    let h = plain_with(&access_yaml("9.1")).await;
    let space = format!("PVEAPIToken mon@pve!ro={RO_SECRET}");
    let r = raw_get(&h, "/version", Some(&space)).await;
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    assert_eq!(r.json()["data"]["version"], "9.1.5");
    let encoded = format!("PVEAPIToken=mon%40pve%21ro={RO_SECRET}");
    let r = raw_get(&h, "/version", Some(&encoded)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_401_is_held_back_for_the_configured_delay() {
    let mut opts = Options::for_tests(scenario(&access_yaml("9.1")));
    opts.auth_delay = Duration::from_millis(300);
    let h = Harness::start_with(opts).await;
    let started = Instant::now();
    let r = h
        .api_as(Some(&header("mon@pve!ro", "wrong")), "GET", "/version", &[])
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 401);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let started = Instant::now();
    let r = h.api_as(None, "GET", "/version", &[]).await;
    assert_eq!(r.status, 401);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn without_a_delay_a_401_is_answered_at_once() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    let r = h
        .api_as(Some(&header("mon@pve!ro", "wrong")), "GET", "/version", &[])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, Value::Null);
}

/// VMIDs of the guest entries of a `/cluster/resources` answer.
fn guest_vmids(rows: &Value) -> Vec<u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "qemu" || r["type"] == "lxc")
        .map(|r| r["vmid"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_privsep_token_sees_only_what_its_own_acl_grants() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    let ro = ro();
    let r = h
        .api_as(Some(&ro), "GET", "/cluster/resources", &[("type", "vm")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(guest_vmids(r.data()), [100]);
    // VM.Audit on /vms/100 but no Pool.Audit on the pool: no `pool` member, no pool entry.
    let row = &r.data()[0];
    assert!(row.get("pool").is_none(), "{row}");
    assert_eq!(row["tags"], "prod;web");
    let all = h.api_as(Some(&ro), "GET", "/cluster/resources", &[]).await;
    assert!(all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["type"] != "pool"));

    // The user itself is an auditor everywhere: the non-privsep token sees everything.
    let full = header("mon@pve!full", FULL_SECRET);
    let r = h
        .api_as(Some(&full), "GET", "/cluster/resources", &[("type", "vm")])
        .await;
    assert_eq!(guest_vmids(r.data()), [100, 101, 102, 9000]);
    let row = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == 100);
    assert_eq!(row.unwrap()["pool"], "tenant-a");

    // Node lists are filtered the same way.
    let r = h.api_as(Some(&ro), "GET", "/nodes/pve1/qemu", &[]).await;
    assert_eq!(r.status, 200);
    let vmids: Vec<&Value> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["vmid"])
        .collect();
    assert_eq!(vmids, [&Value::from(100)]);
    let r = h.api_as(Some(&ro), "GET", "/nodes/pve2/lxc", &[]).await;
    assert_eq!(r.data(), &Value::Array(vec![]));
}

#[tokio::test]
async fn a_privsep_token_without_sys_audit_gets_403_naming_path_and_privilege() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    let ro = ro();
    let r = h.api_as(Some(&ro), "GET", "/cluster/status", &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        serde_json::json!({"data": null, "message": "Permission check failed (/, Sys.Audit)\n"})
    );
    let r = h.api_as(Some(&ro), "GET", "/nodes/pve1/netstat", &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["message"],
        "Permission check failed (/nodes/pve1, Sys.Audit)\n"
    );
    // Status of a guest outside its ACL.
    let r = h
        .api_as(Some(&ro), "GET", "/nodes/pve2/lxc/101/status/current", &[])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["message"],
        "Permission check failed (/vms/101, VM.Audit)\n"
    );
    // The user's own rights reach a non-privsep token.
    let full = header("mon@pve!full", FULL_SECRET);
    let r = h.api_as(Some(&full), "GET", "/cluster/status", &[]).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_403_reason_phrase_is_the_permission_text() {
    let h = plain_with(&access_yaml("8.2")).await;
    let r = raw_get(&h, "/cluster/status", Some(&ro())).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.reason, "Permission check failed (/, Sys.Audit)");
    assert_eq!(r.json(), serde_json::json!({"data": null}));
}

#[tokio::test]
async fn a_power_action_needs_vm_powermgmt() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    for token in [ro(), header("mon@pve!full", FULL_SECRET)] {
        let r = h
            .api_as(
                Some(&token),
                "POST",
                "/nodes/pve1/qemu/100/status/shutdown",
                &[],
            )
            .await;
        assert_eq!(r.status, 403, "{token}");
        assert_eq!(
            r.body["message"],
            "Permission check failed (/vms/100, VM.PowerMgmt)\n"
        );
    }
    // Nothing happened to the guest.
    let st = h.get("/nodes/pve1/qemu/100/status/current").await;
    assert_eq!(st["status"], "running");
}

#[tokio::test]
async fn a_pool_acl_reaches_the_pool_members() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    let pool = header("mon@pve!pool", POOL_SECRET);
    let r = h
        .api_as(Some(&pool), "GET", "/cluster/resources", &[])
        .await;
    assert_eq!(r.status, 200);
    let rows = r.data().as_array().unwrap();
    assert_eq!(
        rows[0],
        serde_json::json!({"id": "/pool/tenant-a", "type": "pool", "pool": "tenant-a"})
    );
    assert_eq!(guest_vmids(r.data()), [100]);
    let guest = rows.iter().find(|r| r["vmid"] == 100).unwrap();
    assert_eq!(guest["pool"], "tenant-a");
    let r = h
        .api_as(
            Some(&pool),
            "GET",
            "/nodes/pve1/qemu/100/status/current",
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .api_as(
            Some(&pool),
            "GET",
            "/nodes/pve1/qemu/9000/status/current",
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = h.api_as(Some(&pool), "GET", "/pools", &[]).await;
    assert_eq!(r.data(), &serde_json::json!([{"poolid": "tenant-a"}]));
    let r = h.api_as(Some(&ro()), "GET", "/pools", &[]).await;
    assert_eq!(r.data(), &serde_json::json!([]));
}

#[tokio::test]
async fn the_request_log_names_the_token_but_never_the_secret() {
    let h = Harness::start(scenario(&access_yaml("9.1"))).await;
    let r = h.api_as(Some(&ro()), "GET", "/version", &[]).await;
    assert_eq!(r.status, 200);
    let (_, log) = h.sim("GET", "/requests", None).await;
    let last = log.as_array().unwrap().last().unwrap();
    assert_eq!(last["token"], "mon@pve!ro");
    assert!(!log.to_string().contains(RO_SECRET));
}
