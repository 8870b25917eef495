//! The order of PVE's checks: a caller without the method's privileges gets 403 whatever
//! the parameters; pveproxy then proxies to the node (595 when it is offline) before the
//! parameters are checked against the schema there (400).

use crate::util::{scenario, Harness, Reply};

const SECRET: &str = "6c1d2e3f-6666-4666-8666-0000000000aa";

fn cluster() -> String {
    format!(
        r#"
start_time: 1767225600
nodes:
  - {{ name: pve1 }}
  - {{ name: pve2 }}
  - {{ name: pve3 }}
users:
  - {{ userid: ro@pve }}
tokens:
  - {{ id: "ro@pve!mon", secret: "{SECRET}", privsep: false }}
acl:
  - {{ path: /, ugid: ro@pve, roles: [PVEAuditor] }}
guests:
  - {{ vmid: 100, type: qemu, node: pve1 }}
  - {{ vmid: 101, type: lxc, node: pve2 }}
"#
    )
}

async fn as_reader(h: &Harness, method: &str, path: &str, params: &[(&str, &str)]) -> Reply {
    let auth = format!("PVEAPIToken=ro@pve!mon={SECRET}");
    h.api_as(Some(&auth), method, path, params).await
}

#[tokio::test]
async fn permission_comes_before_parameters_and_before_the_hop_to_an_offline_node() {
    let h = Harness::start(scenario(&cluster())).await;
    let (status, _) = h.sim("POST", "/nodes/pve2/offline", None).await;
    assert_eq!(status, 200);
    let bad = [("timeout", "-1"), ("bogus", "1")];
    for path in [
        "/nodes/pve1/qemu/100/status/shutdown",
        "/nodes/pve2/lxc/101/status/shutdown",
        "/nodes/pve1/qemu/abc/status/shutdown",
    ] {
        let r = as_reader(&h, "POST", path, &bad).await;
        assert_eq!(r.status, 403, "{path}: {:?}", r.body);
    }
    let r = as_reader(
        &h,
        "PUT",
        "/nodes/pve2/lxc/101/config",
        &[("net0", "nonsense")],
    )
    .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
}

#[tokio::test]
async fn an_offline_node_answers_595_before_its_parameters_are_checked() {
    let h = Harness::start(scenario(&cluster())).await;
    let (status, _) = h.sim("POST", "/nodes/pve2/offline", None).await;
    assert_eq!(status, 200);
    let bad = [("timeout", "-1")];
    let r = h
        .api("POST", "/nodes/pve2/lxc/101/status/shutdown", &bad)
        .await;
    assert_eq!(r.status, 595, "{:?}", r.body);
    let r = h
        .api(
            "GET",
            "/nodes/pve2/lxc/101/status/current",
            &[("bogus", "1")],
        )
        .await;
    assert_eq!(r.status, 595, "{:?}", r.body);
    // On a reachable node the same request fails its schema.
    let r = h
        .api("POST", "/nodes/pve1/qemu/100/status/shutdown", &bad)
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(!r.error_for("timeout").is_empty(), "{:?}", r.body);
    // The reader may read, so an offline node is what it meets.
    let r = as_reader(
        &h,
        "GET",
        "/nodes/pve2/lxc/101/status/current",
        &[("bogus", "1")],
    )
    .await;
    assert_eq!(r.status, 595, "{:?}", r.body);
}
