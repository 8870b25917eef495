//! The `/sim/` control API (README, "pve-sim"): `/sim/truth` and exact flat-rate bytes,
//! `/sim/advance`, out-of-band guest events (power, in-guest reboot, migration), injected
//! faults (each kind, `count`, `path_prefix`, and that a faulted request never reaches the
//! cluster), the request log (never the secret), and replacing the scenario.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::power::{act, act_ok, call, current, task_count};
use crate::util::Harness;

/// `POST /sim/{path}` that must succeed.
async fn sim_ok(h: &Harness, path: &str) -> Value {
    let (st, body) = h.sim("POST", path, None).await;
    assert_eq!(st, 200, "POST /sim{path}: {body}");
    body
}

/// Arms a fault.
async fn arm(h: &Harness, fault: Value) {
    let (st, body) = h.sim("POST", "/faults", Some(fault.clone())).await;
    assert_eq!(st, 200, "{fault}: {body}");
}

/// `/sim/truth` of one guest.
async fn truth_of(h: &Harness, vmid: u32) -> Value {
    h.truth().await["guests"][vmid.to_string()].clone()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn truth_has_the_documented_shape() {
    let h = Harness::basic().await;
    let t = h.truth().await;
    assert_eq!(keys(&t), ["guests", "nodes", "time", "time_ms"]);
    assert_eq!(
        t["nodes"]["pve1"],
        json!({"online": true, "stalled": false, "pushed_at": 1_767_225_600})
    );
    assert_eq!(t["time"], 1_767_225_600);
    assert_eq!(t["time_ms"], 1_767_225_600_000u64);
    assert_eq!(keys(&t["guests"]), ["100", "101", "102", "9000"]);
    let g = &t["guests"]["100"];
    assert_eq!(
        keys(g),
        [
            "counter_resets",
            "id",
            "netin",
            "netout",
            "nics",
            "node",
            "pushed_at",
            "recreated_pushed_rx_bytes",
            "recreated_pushed_tx_bytes",
            "running",
            "rx_bytes",
            "tx_bytes",
            "unobservable_rx_bytes",
            "unobservable_tx_bytes"
        ]
    );
    assert_eq!(
        (&g["id"], &g["node"], &g["running"]),
        (&json!("qemu/100"), &json!("pve1"), &json!(true))
    );
    assert_eq!(keys(&g["nics"]), ["net0", "net1"]);
    assert_eq!(
        keys(&g["nics"]["net0"]),
        [
            "counter_rx",
            "counter_tx",
            "present",
            "recreated_pushed_rx_bytes",
            "recreated_pushed_tx_bytes",
            "rx_bytes",
            "tx_bytes",
            "unobservable_rx_bytes",
            "unobservable_tx_bytes"
        ]
    );
    for k in [
        "rx_bytes",
        "tx_bytes",
        "netin",
        "netout",
        "counter_resets",
        "unobservable_rx_bytes",
        "recreated_pushed_tx_bytes",
    ] {
        assert_eq!(g[k], 0, "{k} starts at 0");
    }
    assert_eq!(t["guests"]["9000"]["nics"], json!({}));
    assert_eq!(t["guests"]["102"]["running"], false);

    let (st, one) = h.sim("GET", "/truth?vmid=101", None).await;
    assert_eq!(st, 200);
    assert_eq!(keys(&one["guests"]), ["101"]);
    let (st, err) = h.sim("GET", "/truth?vmid=555", None).await;
    assert_eq!((st, &err["error"]), (404, &json!("no guest with VMID 555")));
    let (st, err) = h.sim("GET", "/truth?vmid=x", None).await;
    assert_eq!(st, 400, "{err}");
    assert!(err["error"].as_str().unwrap().contains("vmid"), "{err}");
}

#[tokio::test]
async fn flat_rates_move_exactly_rate_times_seconds() {
    let h = Harness::basic().await;
    for n in [1u64, 7, 52] {
        let before = h.truth().await;
        h.advance(n).await;
        let after = h.truth().await;
        assert_eq!(
            after["time"].as_u64().unwrap() - before["time"].as_u64().unwrap(),
            n
        );
        let grew = |vmid: &str, k: &str| {
            after["guests"][vmid][k].as_u64().unwrap() - before["guests"][vmid][k].as_u64().unwrap()
        };
        assert_eq!(grew("100", "rx_bytes"), 1500 * n);
        assert_eq!(grew("100", "tx_bytes"), 150 * n);
        assert_eq!(
            after["guests"]["100"]["nics"]["net1"]["rx_bytes"]
                .as_u64()
                .unwrap()
                - before["guests"]["100"]["nics"]["net1"]["rx_bytes"]
                    .as_u64()
                    .unwrap(),
            500 * n
        );
        assert_eq!(grew("101", "rx_bytes"), 2000 * n);
        assert_eq!(grew("101", "tx_bytes"), 200 * n);
        assert_eq!(grew("102", "rx_bytes"), 0, "a stopped guest moves nothing");
    }
    // Milliseconds too: 1.5 s at 1500 B/s.
    let (st, body) = h.sim("POST", "/advance?ms=1500", None).await;
    assert_eq!(st, 200, "{body}");
    let g = truth_of(&h, 100).await;
    assert_eq!(g["rx_bytes"], 1500 * 60 + 2250);
    // Nothing was reset, so the live counters are the truth.
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["netin"], &s["netout"]),
        (&g["rx_bytes"], &g["tx_bytes"])
    );
    assert_eq!(
        (&g["netin"], &g["netout"]),
        (&g["rx_bytes"], &g["tx_bytes"])
    );
    let s = current(&h, "pve2", "lxc", 101).await;
    assert_eq!(s["netin"], 2000 * 60 + 3000);
}

#[tokio::test]
async fn advance_needs_a_whole_number_of_seconds_or_ms() {
    let h = Harness::basic().await;
    for path in [
        "/advance",
        "/advance?seconds=abc",
        "/advance?seconds=-1",
        "/advance?seconds=1&ms=5",
    ] {
        let (st, body) = h.sim("POST", path, None).await;
        assert_eq!(st, 400, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    let (_, body) = h.sim("POST", "/advance", None).await;
    assert_eq!(body["error"], "give exactly one of `seconds` or `ms`");
    assert_eq!(h.truth().await["time"], 1_767_225_600, "time did not move");
    let (st, body) = h.sim("GET", "/nope", None).await;
    assert_eq!(st, 404, "{body}");
}

#[tokio::test]
async fn out_of_band_stop_start_and_reboot() {
    let h = Harness::basic().await;
    h.advance(10).await;
    sim_ok(&h, "/guests/100/stop").await;
    let g = truth_of(&h, 100).await;
    assert_eq!(
        (&g["running"], &g["netin"], &g["rx_bytes"]),
        (&json!(false), &json!(0), &json!(15_000))
    );
    assert_eq!(g["counter_resets"], 1);
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
    h.advance(10).await;
    assert_eq!(
        truth_of(&h, 100).await["rx_bytes"],
        15_000,
        "stopped: nothing moves"
    );
    let (st, body) = h.sim("POST", "/guests/100/stop", None).await;
    assert_eq!(
        (st, &body["error"]),
        (400, &json!("guest 100 is not running"))
    );

    sim_ok(&h, "/guests/100/start").await;
    h.advance(10).await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["status"], &s["netin"], &s["uptime"]),
        (&json!("running"), &json!(15_000), &json!(10))
    );
    let (st, body) = h.sim("POST", "/guests/100/start", None).await;
    assert_eq!(
        (st, &body["error"]),
        (400, &json!("guest 100 is already running"))
    );
    let (st, _) = h.sim("POST", "/guests/9000/start", None).await;
    assert_eq!(st, 400, "a template cannot start");

    sim_ok(&h, "/guests/100/reboot").await;
    let g = truth_of(&h, 100).await;
    assert_eq!(
        (&g["netin"], &g["rx_bytes"], &g["counter_resets"]),
        (&json!(0), &json!(30_000), &json!(2))
    );
    assert_eq!(current(&h, "pve1", "qemu", 100).await["uptime"], 0);

    let (st, body) = h.sim("POST", "/guests/555/stop", None).await;
    assert_eq!(
        (st, &body["error"]),
        (404, &json!("no guest with VMID 555"))
    );
    let (st, body) = h.sim("POST", "/guests/100/explode", None).await;
    assert_eq!(st, 404, "{body}");
}

#[tokio::test]
async fn in_guest_reboot_keeps_qemu_counters_and_resets_lxc() {
    let h = Harness::basic().await;
    h.advance(10).await;
    sim_ok(&h, "/guests/100/guest-reboot").await;
    sim_ok(&h, "/guests/101/guest-reboot").await;
    let q = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&q["netin"], &q["uptime"]),
        (&json!(15_000), &json!(3610)),
        "{q}"
    );
    let l = current(&h, "pve2", "lxc", 101).await;
    assert_eq!((&l["netin"], &l["uptime"]), (&json!(0), &json!(0)), "{l}");
    h.advance(10).await;
    assert_eq!(truth_of(&h, 100).await["netin"], 30_000);
    let l = truth_of(&h, 101).await;
    assert_eq!(
        (&l["netin"], &l["rx_bytes"]),
        (&json!(20_000), &json!(40_000))
    );
    let (st, _) = h.sim("POST", "/guests/102/guest-reboot", None).await;
    assert_eq!(st, 400, "a stopped guest cannot reboot");
}

#[tokio::test]
async fn migrate_moves_the_guest_and_resets_its_counters() {
    let h = Harness::basic().await;
    let (st, body) = h.sim("POST", "/guests/100/migrate", None).await;
    assert_eq!((st, &body["error"]), (400, &json!("migrate needs `node`")));
    let (st, body) = h.sim("POST", "/guests/100/migrate?node=pve9", None).await;
    assert_eq!((st, &body["error"]), (400, &json!("unknown node 'pve9'")));
    let (st, _) = h.sim("POST", "/guests/100/migrate?node=pve1", None).await;
    assert_eq!(st, 400, "already there");

    h.advance(5).await;
    sim_ok(&h, "/guests/100/migrate?node=pve2").await;
    let s = current(&h, "pve2", "qemu", 100).await;
    assert_eq!(
        (&s["status"], &s["netin"], &s["uptime"]),
        (&json!("running"), &json!(0), &json!(0))
    );
    call(&h, "GET", "/nodes/pve1/qemu/100/status/current", &[])
        .await
        .assert_error(
            500,
            "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist",
        );
    let resources = |v: Value| -> Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "qemu/100")
            .cloned()
            .unwrap()
    };
    // /cluster/resources names the new node at once (identity is live), with the old
    // process's last push (taken at the start) ...
    let r = resources(h.get("/cluster/resources?type=vm").await);
    assert_eq!(
        (&r["node"], &r["netin"], &r["uptime"]),
        (&json!("pve2"), &json!(0), &json!(3600)),
        "{r}"
    );
    // ... until the target node pushes at the next 10 s boundary.
    h.advance(5).await;
    let r = resources(h.get("/cluster/resources?type=vm").await);
    assert_eq!(
        (&r["node"], &r["netin"]),
        (&json!("pve2"), &json!(7_500)),
        "{r}"
    );
    let g = truth_of(&h, 100).await;
    assert_eq!(
        (&g["node"], &g["rx_bytes"], &g["netin"]),
        (&json!("pve2"), &json!(15_000), &json!(7_500))
    );
    // Power actions follow the guest to its new node.
    let upid = act_ok(&h, "pve2", "qemu", 100, "stop").await;
    assert!(upid.starts_with("UPID:pve2:"), "{upid}");

    // A stopped guest just changes node.
    sim_ok(&h, "/guests/102/migrate?node=pve1").await;
    assert_eq!(current(&h, "pve1", "qemu", 102).await["status"], "stopped");
}

#[tokio::test]
async fn each_fault_kind_fails_the_way_pve_does_without_reaching_the_cluster() {
    let h = Harness::basic().await;
    let prefix = "/nodes/pve1/qemu/100/status";
    let cases: [(&str, u16, &str); 5] = [
        ("http500", 500, "Internal Server Error (simulated fault)"),
        ("unauthorized", 401, "Authentication failed!"),
        (
            "http595",
            595,
            "Errors during connection establishment, proxy handshake: No route to host",
        ),
        ("http596", 596, "Connection timed out"),
        ("malformed", 200, "OK"),
    ];
    for (kind, status, reason) in cases {
        arm(&h, json!({"kind": kind, "count": 1, "path_prefix": prefix})).await;
        // Another path is not hit.
        assert_eq!(h.get("/version").await["release"], "9.1");
        let a = act(&h, "pve1", "qemu", 100, "stop", &[]).await;
        assert_eq!(
            (a.status, a.reason.as_str()),
            (status, reason),
            "{kind}: {a:?}"
        );
        match kind {
            "malformed" => assert!(
                serde_json::from_slice::<Value>(&a.raw).is_err() && !a.raw.is_empty(),
                "{kind}: the body is not valid JSON"
            ),
            "unauthorized" | "http595" => assert!(a.raw.is_empty(), "{kind}: empty body"),
            _ => assert_eq!(a.body["data"], Value::Null, "{kind}: {:?}", a.body),
        }
        assert_eq!(
            task_count(&h),
            0,
            "{kind}: the request never reached the cluster"
        );
        let (_, armed) = h.sim("GET", "/faults", None).await;
        assert_eq!(armed, json!([]), "{kind}: count 1 is used up");
    }
    // Unarmed again: the same request now reaches the cluster.
    act_ok(&h, "pve1", "qemu", 100, "stop").await;
    assert_eq!(task_count(&h), 1);
}

#[tokio::test]
async fn fault_count_and_path_prefix_are_honoured() {
    let h = Harness::basic().await;
    arm(
        &h,
        json!({"kind": "http500", "count": 2, "path_prefix": "/cluster"}),
    )
    .await;
    let (_, armed) = h.sim("GET", "/faults", None).await;
    assert_eq!(
        armed,
        json!([{"kind": "http500", "count": 2, "path_prefix": "/cluster", "delay_ms": null}])
    );
    assert_eq!(call(&h, "GET", "/nodes", &[]).await.status, 200);
    assert_eq!(call(&h, "GET", "/cluster/resources", &[]).await.status, 500);
    assert_eq!(call(&h, "GET", "/cluster/status", &[]).await.status, 500);
    assert_eq!(
        call(&h, "GET", "/cluster/resources", &[]).await.status,
        200,
        "count used up"
    );

    // count 0: until cleared.
    arm(&h, json!({"kind": "http596", "count": 0})).await;
    for _ in 0..3 {
        assert_eq!(call(&h, "GET", "/version", &[]).await.status, 596);
    }
    let (st, _) = h.sim("DELETE", "/faults", None).await;
    assert_eq!(st, 200);
    assert_eq!(call(&h, "GET", "/version", &[]).await.status, 200);

    // The first matching fault wins; a later one waits its turn.
    arm(&h, json!({"kind": "http595", "path_prefix": "/version"})).await;
    arm(&h, json!({"kind": "http500", "path_prefix": "/version"})).await;
    assert_eq!(call(&h, "GET", "/version", &[]).await.status, 595);
    assert_eq!(call(&h, "GET", "/version", &[]).await.status, 500);
    assert_eq!(call(&h, "GET", "/version", &[]).await.status, 200);

    for bad in [
        json!({"kind": "meteor"}),
        json!({"kind": "http500", "bogus": 1}),
        json!([]),
    ] {
        let (st, body) = h.sim("POST", "/faults", Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("fault: "),
            "{body}"
        );
    }
}

#[tokio::test]
async fn slow_serves_late_and_timeout_answers_596_late() {
    let h = Harness::basic().await;
    let prefix = "/nodes/pve1/qemu/100/status/stop";
    arm(
        &h,
        json!({"kind": "slow", "delay_ms": 200, "path_prefix": prefix}),
    )
    .await;
    let started = Instant::now();
    let a = act(&h, "pve1", "qemu", 100, "stop", &[]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body["data"].as_str().unwrap().starts_with("UPID:pve1:"));
    assert_eq!(task_count(&h), 1, "a slow request is served");

    arm(
        &h,
        json!({"kind": "timeout", "delay_ms": 300, "path_prefix": prefix}),
    )
    .await;
    let started = Instant::now();
    let a = act(&h, "pve1", "qemu", 100, "stop", &[]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((a.status, a.reason.as_str()), (596, "Connection timed out"));
    assert_eq!(
        task_count(&h),
        1,
        "a timed-out request never reached the cluster"
    );
}

#[tokio::test]
async fn the_request_log_lists_calls_without_secrets() {
    let h = Harness::basic().await;
    let secret = h.sim.token_secret().to_string();
    h.get("/version").await;
    let a = call(
        &h,
        "PUT",
        "/nodes/pve1/qemu/100/config",
        &[("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,rate=5")],
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    // A wrong secret for the same token: logged with the id, never the secret.
    let wrong = "PVEAPIToken=root@pam!sim=11111111-2222-3333-4444-555555555555";
    let r = h.api_as(Some(wrong), "GET", "/nodes", &[]).await;
    assert_eq!(r.status, 401);
    let r = h.api_as(None, "GET", "/nodes", &[]).await;
    assert_eq!(r.status, 401);
    arm(&h, json!({"kind": "http500", "path_prefix": "/cluster"})).await;
    call(&h, "GET", "/cluster/resources", &[("type", "vm")]).await;

    let url = format!("{}/sim/requests", h.sim.base_url());
    let text = h
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&secret), "the admin secret leaked: {text}");
    assert!(
        !text.contains("11111111-2222"),
        "a wrong secret leaked: {text}"
    );
    let log: Value = serde_json::from_str(&text).unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(
        log.len(),
        5,
        "only PVE API calls are logged, /sim/ ones are not: {text}"
    );
    let e = &log[0];
    assert_eq!(
        keys(e),
        ["method", "params", "path", "seq", "status", "time", "token"]
    );
    assert_eq!(
        (
            &e["method"],
            &e["path"],
            &e["status"],
            &e["token"],
            &e["params"]
        ),
        (
            &json!("GET"),
            &json!("/version"),
            &json!(200),
            &json!("root@pam!sim"),
            &json!({})
        )
    );
    assert_eq!(e["time"], 1_767_225_600);
    let e = &log[1];
    assert_eq!(
        (&e["method"], &e["path"]),
        (&json!("PUT"), &json!("/nodes/pve1/qemu/100/config"))
    );
    assert_eq!(
        e["params"],
        json!({"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,rate=5"})
    );
    assert_eq!(
        (&log[2]["status"], &log[2]["token"]),
        (&json!(401), &json!("root@pam!sim"))
    );
    assert_eq!(log[3]["status"], 401);
    assert!(
        log[3].get("token").is_none(),
        "no header, no token: {}",
        log[3]
    );
    assert_eq!(
        (&log[4]["fault"], &log[4]["status"], &log[4]["params"]),
        (&json!("http500"), &json!(500), &json!({"type": "vm"}))
    );
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let (_, since) = h
        .sim("GET", &format!("/requests?since={}", seqs[2]), None)
        .await;
    let since: Vec<u64> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(since, seqs[3..]);

    let (st, _) = h.sim("DELETE", "/requests", None).await;
    assert_eq!(st, 200);
    let (_, empty) = h.sim("GET", "/requests", None).await;
    assert_eq!(empty, json!([]));
    h.get("/version").await;
    let (_, after) = h.sim("GET", "/requests", None).await;
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(
        after[0]["seq"],
        seqs[4] + 1,
        "sequence numbers go on after a clear"
    );
}

const OTHER: &str = r#"
start_time: 1800000000
nodes: [{ name: alpha }, { name: beta }]
guests:
  - vmid: 200
    type: qemu
    node: beta
    nics:
      - { config: "virtio=BC:24:11:00:02:00,bridge=vmbr0", rx_rate: 4000, tx_rate: 40, shaped: false }
"#;

/// `POST /sim/scenario` with a raw YAML body.
async fn post_scenario(h: &Harness, yaml: &str) -> (u16, Value) {
    let url = format!("{}/sim/scenario", h.sim.base_url());
    let resp = h
        .client
        .post(url)
        .body(yaml.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn posting_a_scenario_replaces_the_cluster() {
    let h = Harness::basic().await;
    h.advance(100).await;
    arm(&h, json!({"kind": "http500", "count": 0})).await;
    let (st, body) = post_scenario(&h, OTHER).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "time": 1_800_000_000u64, "guests": 1})
    );
    let (_, faults) = h.sim("GET", "/faults", None).await;
    assert_eq!(faults, json!([]), "faults are cleared with the old cluster");
    let t = h.truth().await;
    assert_eq!(
        t["time"], 1_800_000_000u64,
        "time restarts at the scenario's start"
    );
    assert_eq!(keys(&t["guests"]), ["200"]);
    let (_, info) = h.sim("GET", "/info", None).await;
    assert_eq!((&info["guests"], &info["nodes"]), (&json!(1), &json!(2)));
    let nodes: Vec<String> = h
        .get("/nodes")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap().to_string())
        .collect();
    let mut nodes = nodes;
    nodes.sort();
    assert_eq!(nodes, ["alpha", "beta"]);
    // The admin token still works, and the new cluster runs.
    h.advance(10).await;
    assert_eq!(current(&h, "beta", "qemu", 200).await["netin"], 40_000);
    call(&h, "GET", "/nodes/pve1/qemu/100/status/current", &[])
        .await
        .assert_error(
            500,
            "hostname lookup 'pve1' failed - failed to get address info for: pve1: Name or service not known",
        );

    // JSON is YAML too.
    let json_scenario = json!({"start_time": 1_700_000_000u64, "nodes": [{"name": "solo"}]});
    let (st, body) = post_scenario(&h, &json_scenario.to_string()).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["guests"], 0);
}

#[tokio::test]
async fn a_bad_scenario_is_refused_with_the_problem_named_and_changes_nothing() {
    let h = Harness::basic().await;
    let cases = [
        (
            "start_time: 1\nnodes: [{name: pve1}]\nguests: [{vmid: 100, type: qemu, node: pve9}]\n",
            "guest 100: unknown node 'pve9'",
        ),
        ("nodes: [{name: pve1}]\nguestz: []\n", "guestz"),
        ("nodes: []\n", "`nodes` must name at least one node"),
        (
            "nodes: [{name: pve1}]\nguests: [{vmid: 100, type: qemu, node: pve1}, {vmid: 100, type: lxc, node: pve1}]\n",
            "guest 100: duplicate VMID",
        ),
        (
            "nodes: [{name: pve1}]\nguests: [{vmid: 100, type: qemu, node: pve1, nics: [{config: \"virtio,rate=x\"}]}]\n",
            "net0",
        ),
        ("{{{", ""),
    ];
    for (yaml, needle) in cases {
        let (st, body) = post_scenario(&h, yaml).await;
        assert_eq!(st, 400, "{yaml}: {body}");
        let err = body["error"].as_str().unwrap();
        assert!(!err.is_empty() && err.contains(needle), "{yaml}: {err}");
    }
    assert_eq!(
        keys(&h.truth().await["guests"]),
        ["100", "101", "102", "9000"]
    );
}
