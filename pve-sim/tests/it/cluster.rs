//! Cluster-wide reads: `/version` per release profile, `/nodes`, `/cluster/status`, and
//! `/cluster/resources` with its grouping, string-sorted VMIDs, field types, the 10 s status
//! cache, offline nodes and the legacy-quirks mode (docs/pve-api.md,
//! "`GET /cluster/resources?type=vm`").

use serde_json::Value;

use crate::util::{scenario, Harness, BASIC};

/// BASIC under another release profile.
fn basic_as(version: &str) -> String {
    format!("pve_version: \"{version}\"\n{BASIC}")
}

fn rows(v: &Value) -> &Vec<Value> {
    v.as_array().expect("an array")
}

fn find<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {rows:?}"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn version_follows_the_release_profile() {
    for (profile, version, repoid_len) in [
        ("7.4", "7.4-3", 8),
        ("8.2", "8.2.4", 16),
        ("8.4", "8.4.1", 16),
        ("9.1", "9.1.5", 16),
    ] {
        let h = Harness::start(scenario(&basic_as(profile))).await;
        let v = h.get("/version").await;
        assert_eq!(keys(&v), ["release", "repoid", "version"], "{profile}");
        assert_eq!(v["version"], version);
        assert_eq!(v["release"], profile);
        let repoid = v["repoid"].as_str().unwrap();
        assert_eq!(repoid.len(), repoid_len, "{profile}");
        assert!(repoid.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[tokio::test]
async fn version_rejects_unknown_parameters() {
    let h = Harness::basic().await;
    let r = h.api("GET", "/version", &[("full", "1")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_for("full"),
        "property is not defined in schema and the schema does not allow additional properties"
    );
}

#[tokio::test]
async fn nodes_have_typed_stats_and_an_offline_node_keeps_only_its_maxima_for_5_minutes() {
    let h = Harness::basic().await;
    let nodes = h.get("/nodes").await;
    assert_eq!(rows(&nodes).len(), 2);
    for name in ["pve1", "pve2"] {
        let n = find(rows(&nodes), &format!("node/{name}"));
        assert_eq!(n["node"], name);
        assert_eq!(n["type"], "node");
        assert_eq!(n["status"], "online");
        assert_eq!(n["level"], "");
        assert!(n["cpu"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c)));
        for k in ["maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime"] {
            assert!(n[k].is_u64(), "{name}.{k} = {}", n[k]);
        }
        let fp = n["ssl_fingerprint"].as_str().unwrap();
        assert_eq!(fp.len(), 95);
        assert!(fp.split(':').all(|p| p.len() == 2
            && p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())));
    }
    let (status, _) = h.sim("POST", "/nodes/pve2/offline", None).await;
    assert_eq!(status, 200);
    // Its last push (at the start) is fresh: `level` and the maxima stay, current figures go.
    h.advance(300).await;
    let nodes = h.get("/nodes").await;
    let n = find(rows(&nodes), "node/pve2");
    assert_eq!(n["status"], "offline");
    assert_eq!(
        keys(n),
        [
            "id",
            "level",
            "maxcpu",
            "maxdisk",
            "maxmem",
            "node",
            "ssl_fingerprint",
            "status",
            "type"
        ],
        "{n}"
    );
    assert_eq!(find(rows(&nodes), "node/pve1")["status"], "online");
    // Once that push is more than 300 s old, only the identity is left.
    h.advance(1).await;
    let nodes = h.get("/nodes").await;
    let n = find(rows(&nodes), "node/pve2");
    assert_eq!(n["status"], "offline");
    assert_eq!(
        keys(n),
        ["id", "node", "ssl_fingerprint", "status", "type"],
        "{n}"
    );
}

#[tokio::test]
async fn cluster_status_has_a_cluster_entry_and_one_entry_per_node() {
    let h = Harness::basic().await;
    let st = h.get("/cluster/status").await;
    let st = rows(&st);
    assert_eq!(st.len(), 3);
    let c = find(st, "cluster");
    assert_eq!(c["type"], "cluster");
    assert_eq!(c["nodes"], 2);
    assert_eq!(c["quorate"], 1);
    assert!(c["version"].is_u64());
    assert!(c["name"].is_string());
    for (name, nodeid, local, ip) in [("pve1", 1, 1, "192.0.2.11"), ("pve2", 2, 0, "192.0.2.12")] {
        let n = find(st, &format!("node/{name}"));
        assert_eq!(n["type"], "node");
        assert_eq!(n["name"], name);
        assert_eq!(n["nodeid"], nodeid);
        assert_eq!(n["local"], local);
        assert_eq!(n["online"], 1);
        assert_eq!(n["ip"], ip);
        assert_eq!(n["level"], "");
    }

    // Losing one node of two loses quorum.
    h.sim("POST", "/nodes/pve2/offline", None).await;
    let st = h.get("/cluster/status").await;
    assert_eq!(find(rows(&st), "cluster")["quorate"], 0);
    assert_eq!(find(rows(&st), "node/pve2")["online"], 0);
    assert_eq!(find(rows(&st), "node/pve1")["online"], 1);
}

#[tokio::test]
async fn a_standalone_node_has_no_cluster_entry_and_nodeid_0() {
    let h = Harness::start(scenario(
        "start_time: 1767225600\nnodes: [{ name: solo }]\nguests: []\n",
    ))
    .await;
    let st = h.get("/cluster/status").await;
    assert_eq!(rows(&st).len(), 1);
    let n = &st[0];
    assert_eq!(n["type"], "node");
    assert_eq!(n["id"], "node/solo");
    assert_eq!(n["nodeid"], 0);
    assert_eq!(n["local"], 1);
    assert_eq!(n["online"], 1);
    assert!(n.get("ip").is_none());
    assert_eq!(rows(&h.get("/nodes").await).len(), 1);
}

const ORDER: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - { vmid: 101, type: lxc, node: pve2, pool: zeta }
  - { vmid: 1000, type: qemu, node: pve1, pool: alpha }
  - { vmid: 100, type: qemu, node: pve2 }
  - { vmid: 99999, type: lxc, node: pve1, status: stopped }
"#;

#[tokio::test]
async fn resources_are_pools_then_guests_by_vmid_as_a_string_then_nodes() {
    let h = Harness::start(scenario(ORDER)).await;
    let all = h.get("/cluster/resources").await;
    let ids: Vec<&str> = rows(&all)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "/pool/alpha",
            "/pool/zeta",
            "qemu/100",
            "qemu/1000",
            "lxc/101",
            "lxc/99999",
            "node/pve1",
            "node/pve2"
        ]
    );
    let node = find(rows(&all), "node/pve1");
    assert!(node.get("ssl_fingerprint").is_none());
    assert!(node["maxcpu"].is_u64());

    let vms = h.get("/cluster/resources?type=vm").await;
    let ids: Vec<&str> = rows(&vms)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["qemu/100", "qemu/1000", "lxc/101", "lxc/99999"]);

    let nodes = h.get("/cluster/resources?type=node").await;
    assert!(rows(&nodes).iter().all(|r| r["type"] == "node"));
    assert_eq!(rows(&nodes).len(), 2);
    let storage = h.get("/cluster/resources?type=storage").await;
    assert!(rows(&storage).iter().all(|r| r["type"] == "storage"));
}

#[tokio::test]
async fn resources_type_must_be_one_of_the_enumeration() {
    let h = Harness::basic().await;
    for bad in ["qemu", "pool", "network"] {
        let r = h.api("GET", "/cluster/resources", &[("type", bad)]).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(
            r.error_for("type"),
            format!(
                "value '{bad}' does not have a value in the enumeration 'vm, storage, node, sdn'"
            )
        );
        assert_eq!(r.body["message"], "Parameter verification failed.\n");
    }
}

#[tokio::test]
async fn guest_entries_have_the_documented_fields_and_types() {
    let h = Harness::basic().await;
    h.advance(20).await;
    let vms = h.get("/cluster/resources?type=vm").await;
    let vms = rows(&vms);
    let web = find(vms, "qemu/100");
    assert_eq!(web["type"], "qemu");
    assert_eq!(web["vmid"], 100);
    assert_eq!(web["node"], "pve1");
    assert_eq!(web["status"], "running");
    assert_eq!(web["name"], "web1");
    assert_eq!(web["tags"], "prod;web");
    assert_eq!(web["pool"], "tenant-a");
    assert_eq!(web["template"], 0);
    for k in [
        "vmid",
        "uptime",
        "maxmem",
        "mem",
        "maxdisk",
        "disk",
        "netin",
        "netout",
        "diskread",
        "diskwrite",
        "template",
        "memhost",
    ] {
        assert!(web[k].is_u64(), "qemu/100 {k} = {}", web[k]);
    }
    assert!(web["cpu"].is_number());
    assert!(web["maxcpu"].is_number());
    assert_eq!(web["disk"], 0);
    assert!(web["uptime"].as_u64().unwrap() >= 3600);
    assert!(web["netin"].as_u64().unwrap() > 0);

    let ct = find(vms, "lxc/101");
    assert_eq!(ct["type"], "lxc");
    assert!(ct.get("memhost").is_none(), "memhost is QEMU only");
    assert!(ct["netin"].is_u64());

    let stopped = find(vms, "qemu/102");
    assert_eq!(stopped["status"], "stopped");
    for k in ["uptime", "netin", "netout", "mem", "diskread", "diskwrite"] {
        assert_eq!(stopped[k], 0, "{k}");
    }
    assert_eq!(stopped["cpu"], 0.0);
    let tmpl = find(vms, "qemu/9000");
    assert_eq!(tmpl["template"], 1);
    assert_eq!(tmpl["status"], "stopped");
}

#[tokio::test]
async fn memhost_exists_only_on_9_x() {
    let h = Harness::start(scenario(&basic_as("8.2"))).await;
    let vms = h.get("/cluster/resources?type=vm").await;
    assert!(rows(&vms).iter().all(|r| r.get("memhost").is_none()));
}

/// `netin`/`netout` of guest `vmid` in `/cluster/resources` and in `status/current`.
async fn both_views(h: &Harness, vmid: u64) -> ((Value, Value), (Value, Value)) {
    let res = h.get("/cluster/resources?type=vm").await;
    let row = rows(&res)
        .iter()
        .find(|r| r["vmid"] == vmid)
        .unwrap()
        .clone();
    let live = h
        .get(&format!("/nodes/pve1/qemu/{vmid}/status/current"))
        .await;
    (
        (row["netin"].clone(), row["netout"].clone()),
        (live["netin"].clone(), live["netout"].clone()),
    )
}

#[tokio::test]
async fn resources_serve_the_10_second_status_cache_while_status_current_is_live() {
    // BASIC starts on a 10 s boundary.
    let h = Harness::basic().await;
    let (cached0, live0) = both_views(&h, 100).await;
    assert_eq!(cached0, live0);

    h.advance(5).await;
    let (cached5, live5) = both_views(&h, 100).await;
    assert_eq!(cached5, cached0, "the cache is not refreshed within 10 s");
    assert!(
        live5.0.as_u64() > live0.0.as_u64(),
        "{live5:?} vs {live0:?}"
    );
    assert!(live5.1.as_u64() > live0.1.as_u64());
    let truth = h.truth().await;
    assert_eq!(live5.0, truth["guests"]["100"]["netin"]);
    assert_eq!(live5.1, truth["guests"]["100"]["netout"]);

    h.advance(5).await;
    let (cached10, live10) = both_views(&h, 100).await;
    assert_eq!(cached10, live10, "refreshed exactly at the boundary");
    let at_boundary = h.truth().await;

    h.advance(7).await;
    let (cached17, live17) = both_views(&h, 100).await;
    assert_eq!(cached17, cached10);
    assert_eq!(cached17.0, at_boundary["guests"]["100"]["netin"]);
    assert_eq!(cached17.1, at_boundary["guests"]["100"]["netout"]);
    assert!(live17.0.as_u64() > live10.0.as_u64());

    // Crossing a boundary inside one step (17 → 23) caches the value at 20, not at 23.
    h.advance(3).await;
    let at_20 = h.truth().await;
    h.advance(3).await;
    let (cached23, live23) = both_views(&h, 100).await;
    assert_eq!(cached23.0, at_20["guests"]["100"]["netin"]);
    assert_ne!(cached23, live23);
}

#[tokio::test]
async fn a_guest_on_an_offline_node_is_unknown_with_only_its_identity_after_5_minutes() {
    let h = Harness::basic().await;
    h.sim("POST", "/nodes/pve2/offline", None).await;
    h.advance(310).await;
    let vms = h.get("/cluster/resources?type=vm").await;
    let ct = find(rows(&vms), "lxc/101");
    assert_eq!(
        ct,
        &serde_json::json!({"id": "lxc/101", "type": "lxc", "vmid": 101, "node": "pve2", "status": "unknown"})
    );
    let db = find(rows(&vms), "qemu/102");
    assert_eq!(db["status"], "unknown");
    assert_eq!(keys(db), ["id", "node", "status", "type", "vmid"]);
    // Guests of the online node keep their stats.
    assert_eq!(find(rows(&vms), "qemu/100")["status"], "running");

    let nodes = h.get("/cluster/resources?type=node").await;
    let n = find(rows(&nodes), "node/pve2");
    assert_eq!(n["status"], "offline");
    assert!(n.get("cpu").is_none());
}

#[tokio::test]
async fn an_unknown_guest_keeps_its_config_derived_fields() {
    let h = Harness::start(scenario(
        r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - { vmid: 300, type: qemu, node: pve2, tags: "a;b", pool: p1, lock: backup }
"#,
    ))
    .await;
    h.sim("POST", "/nodes/pve2/offline", None).await;
    h.advance(310).await;
    let vms = h.get("/cluster/resources?type=vm").await;
    assert_eq!(
        vms[0],
        serde_json::json!({"id": "qemu/300", "type": "qemu", "vmid": 300, "node": "pve2",
            "status": "unknown", "tags": "a;b", "pool": "p1", "lock": "backup"})
    );
}

#[tokio::test]
async fn legacy_quirks_send_counters_as_json_strings() {
    let h = Harness::start(scenario(&format!("legacy_quirks: true\n{BASIC}"))).await;
    h.advance(10).await;
    let vms = h.get("/cluster/resources?type=vm").await;
    let web = find(rows(&vms), "qemu/100");
    let truth = h.truth().await;
    for k in ["netin", "netout"] {
        let s = web[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} = {}", web[k]));
        assert_eq!(s, truth["guests"]["100"][k].to_string(), "{k}");
    }
    // vmid stays an integer in /cluster/resources.
    assert_eq!(web["vmid"], 100);
}
