//! Power actions (docs/pve-api.md, "Power actions and tasks"): every action answers a UPID
//! of PVE's exact shape, the state changes only when the task ends, and each refusal lands
//! where PVE puts it (an HTTP error before the task for LXC and quorum, a task exit status
//! for QEMU, locks and templates). Also the task status endpoint and what power actions do
//! to the counters.
//!
//! The small helpers at the top ([`call`], [`assert_upid`], ...) are shared with the
//! `config` and `control` modules: they add the HTTP reason phrase, which the harness's
//! `Reply` leaves out and which is where PVE puts its error text.

use serde_json::Value;

use crate::util::{percent_encode, scenario, Harness};

/// An API answer with its reason phrase and raw body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The reason phrase as sent (PVE's first line of the error message).
    pub reason: String,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The body as received.
    pub raw: Vec<u8>,
}

impl Answer {
    /// `errors.<name>` of a 400.
    pub fn error_for(&self, name: &str) -> &str {
        self.body["errors"][name].as_str().unwrap_or("")
    }

    /// Asserts a PVE error: status, reason phrase and (PVE ≥ 8.4) `message` with a newline.
    pub fn assert_error(&self, status: u16, text: &str) {
        assert_eq!(
            (self.status, self.reason.as_str()),
            (status, text),
            "{:?}",
            self.body
        );
        assert_eq!(self.body["data"], Value::Null, "{:?}", self.body);
        assert_eq!(self.body["message"], format!("{text}\n"), "{:?}", self.body);
    }

    /// Asserts a `400 Parameter verification failed.` whose only error is `param: text`.
    pub fn assert_param_error(&self, param: &str, text: &str) {
        self.assert_error(400, "Parameter verification failed.");
        let errors = self.body["errors"].as_object().expect("errors object");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(self.error_for(param), text, "{errors:?}");
    }
}

/// A PVE API call with the admin token, keeping the reason phrase.
pub async fn call(h: &Harness, method: &str, path: &str, params: &[(&str, &str)]) -> Answer {
    let url = format!("{}{}", h.sim.api_url(), path);
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = h
        .client
        .request(method.clone(), url)
        .header("Authorization", h.sim.authorization());
    req = if method == reqwest::Method::GET {
        req.query(params)
    } else {
        req.form(params)
    };
    let resp = req.send().await.expect("request reaches the simulator");
    let status = resp.status();
    let reason = match resp.extensions().get::<hyper::ext::ReasonPhrase>() {
        Some(r) => String::from_utf8_lossy(r.as_bytes()).into_owned(),
        None => status.canonical_reason().unwrap_or("").to_string(),
    };
    let raw = resp.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status: status.as_u16(),
        reason,
        body,
        raw,
    }
}

/// `POST /nodes/{node}/{kind}/{vmid}/status/{action}`.
pub async fn act(
    h: &Harness,
    node: &str,
    kind: &str,
    vmid: u32,
    action: &str,
    params: &[(&str, &str)],
) -> Answer {
    let path = format!("/nodes/{node}/{kind}/{vmid}/status/{action}");
    call(h, "POST", &path, params).await
}

/// A power action that must be accepted: returns its UPID.
pub async fn act_ok(h: &Harness, node: &str, kind: &str, vmid: u32, action: &str) -> String {
    let a = act(h, node, kind, vmid, action, &[]).await;
    assert_eq!(
        a.status, 200,
        "{action} {kind}/{vmid}: {} {:?}",
        a.reason, a.body
    );
    a.body["data"].as_str().expect("a UPID string").to_string()
}

/// Runs a power action to its end and returns the task's exit status.
pub async fn run_action(h: &Harness, node: &str, kind: &str, vmid: u32, action: &str) -> String {
    let upid = act_ok(h, node, kind, vmid, action).await;
    let t = h.wait_task(node, &upid, 120).await;
    t["exitstatus"].as_str().expect("exitstatus").to_string()
}

/// `GET .../tasks/{upid}/status` (asserting 200).
pub async fn task(h: &Harness, node: &str, upid: &str) -> Value {
    h.get(&format!(
        "/nodes/{node}/tasks/{}/status",
        percent_encode(upid)
    ))
    .await
}

/// `GET .../{vmid}/status/current`.
pub async fn current(h: &Harness, node: &str, kind: &str, vmid: u32) -> Value {
    h.get(&format!("/nodes/{node}/{kind}/{vmid}/status/current"))
        .await
}

/// Number of tasks the cluster ever created.
pub fn task_count(h: &Harness) -> usize {
    h.sim.with_cluster(|c| c.tasks.len())
}

/// Asserts `upid` matches the shape PVE's UPID parser accepts (pve-common `PVE::UPID`) with
/// uppercase hex, and
/// names `node`, task `kind`, `id` and `user`. Returns `(pid, pstart, starttime)`.
pub fn assert_upid(upid: &str, node: &str, kind: &str, id: &str, user: &str) -> (u64, u64, u64) {
    let rest = upid
        .strip_prefix("UPID:")
        .and_then(|r| r.strip_suffix(':'))
        .unwrap_or_else(|| panic!("{upid}: no UPID: prefix or trailing colon"));
    let f: Vec<&str> = rest.split(':').collect();
    assert_eq!(f.len(), 7, "{upid}");
    let hex = |s: &str, lens: &[usize]| {
        assert!(
            lens.contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{upid}: field '{s}' is not {lens:?} uppercase hex digits"
        );
        u64::from_str_radix(s, 16).unwrap()
    };
    let pid = hex(f[1], &[8]);
    let pstart = hex(f[2], &[8, 9]);
    let starttime = hex(f[3], &[8]);
    let plain = |s: &str| !s.contains(|c: char| c == ':' || c == '/' || c.is_whitespace());
    assert!(
        plain(f[4]) && plain(f[5]) && plain(f[6]) && !f[6].is_empty(),
        "{upid}"
    );
    assert_eq!((f[0], f[4], f[5], f[6]), (node, kind, id, user), "{upid}");
    (pid, pstart, starttime)
}

/// The simulated time, epoch seconds.
pub async fn sim_time(h: &Harness) -> u64 {
    h.truth().await["time"].as_u64().unwrap()
}

/// A task status object has exactly PVE's fields, agreeing with its UPID.
fn assert_task_fields(t: &Value, upid: &str, node: &str, kind: &str, id: &str) {
    let (pid, pstart, starttime) = assert_upid(upid, node, kind, id, "root@pam!sim");
    let stopped = t["status"] == "stopped";
    let mut keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec![
        "id",
        "node",
        "pid",
        "pstart",
        "starttime",
        "status",
        "tokenid",
        "type",
        "upid",
        "user",
    ];
    if stopped {
        want.push("exitstatus");
        want.sort_unstable();
    }
    assert_eq!(keys, want, "{t}");
    assert_eq!(t["upid"], upid);
    assert_eq!(t["node"], node);
    assert_eq!(
        t["pid"], pid,
        "pid is an integer decoded from the UPID: {t}"
    );
    assert_eq!(t["pstart"], pstart);
    assert_eq!(t["starttime"], starttime);
    assert_eq!(t["type"], kind);
    assert_eq!(t["id"], id, "id is a string: {t}");
    assert_eq!(t["user"], "root@pam", "user without the token part");
    assert_eq!(t["tokenid"], "sim");
}

#[tokio::test]
async fn every_qemu_action_answers_a_pve_upid_and_a_task_that_runs_then_stops() {
    let h = Harness::basic().await;
    let actions = [
        ("suspend", "qmpause"),
        ("resume", "qmresume"),
        ("reset", "qmreset"),
        ("reboot", "qmreboot"),
        ("shutdown", "qmshutdown"),
        ("start", "qmstart"),
        ("stop", "qmstop"),
    ];
    for (action, kind) in actions {
        let now = sim_time(&h).await;
        let upid = act_ok(&h, "pve1", "qemu", 100, action).await;
        let (_, _, starttime) = assert_upid(&upid, "pve1", kind, "100", "root@pam!sim");
        assert_eq!(starttime, now, "starttime is the simulated now");
        let t = task(&h, "pve1", &upid).await;
        assert_eq!(t["status"], "running", "{action}: {t}");
        assert_task_fields(&t, &upid, "pve1", kind, "100");
        let t = h.wait_task("pve1", &upid, 30).await;
        assert_task_fields(&t, &upid, "pve1", kind, "100");
        assert_eq!(t["exitstatus"], "OK", "{action}: {t}");
    }
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
}

#[tokio::test]
async fn lxc_actions_have_vz_task_types() {
    let h = Harness::basic().await;
    for (action, kind) in [
        ("stop", "vzstop"),
        ("start", "vzstart"),
        ("reboot", "vzreboot"),
        ("shutdown", "vzshutdown"),
    ] {
        let upid = act_ok(&h, "pve2", "lxc", 101, action).await;
        assert_upid(&upid, "pve2", kind, "101", "root@pam!sim");
        let t = h.wait_task("pve2", &upid, 30).await;
        assert_task_fields(&t, &upid, "pve2", kind, "101");
        assert_eq!(t["exitstatus"], "OK", "{action}: {t}");
    }
    assert_eq!(current(&h, "pve2", "lxc", 101).await["status"], "stopped");
}

#[tokio::test]
async fn a_stop_takes_effect_only_when_its_task_ends() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let upid = act_ok(&h, "pve1", "qemu", 100, "stop").await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["status"], "running", "answered is not done: {s}");
    assert_eq!(s["netin"], 15_000);
    assert_eq!(task(&h, "pve1", &upid).await["status"], "running");
    let t = h.wait_task("pve1", &upid, 10).await;
    assert_eq!(t["exitstatus"], "OK");
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["status"], &s["qmpstatus"]),
        (&"stopped".into(), &"stopped".into())
    );
    assert_eq!(
        (&s["netin"], &s["netout"], &s["uptime"]),
        (&0.into(), &0.into(), &0.into())
    );
    assert!(s.get("nics").is_none() && s.get("pid").is_none(), "{s}");
    // The guest moved traffic until the task ended (1 s after the request).
    let truth = h.truth().await;
    assert_eq!(truth["guests"]["100"]["rx_bytes"], 1500 * 11);
}

#[tokio::test]
async fn qemu_start_of_a_running_vm_fails_in_its_task() {
    let h = Harness::basic().await;
    let pid = current(&h, "pve1", "qemu", 100).await["pid"].clone();
    let exit = run_action(&h, "pve1", "qemu", 100, "start").await;
    assert_eq!(exit, "VM 100 already running");
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["status"], "running");
    assert_eq!(s["pid"], pid, "the process was not touched");
}

#[tokio::test]
async fn lxc_start_of_a_running_ct_is_refused_before_any_task() {
    let h = Harness::basic().await;
    let a = act(&h, "pve2", "lxc", 101, "start", &[]).await;
    a.assert_error(500, "CT 101 already running");
    assert_eq!(task_count(&h), 0);
}

#[tokio::test]
async fn lxc_stop_and_shutdown_of_a_stopped_ct_are_refused_before_any_task() {
    let h = Harness::basic().await;
    let (st, body) = h.sim("POST", "/guests/101/stop", None).await;
    assert_eq!(st, 200, "{body}");
    for action in ["stop", "shutdown", "suspend"] {
        let a = act(&h, "pve2", "lxc", 101, action, &[]).await;
        a.assert_error(500, "CT 101 not running");
    }
    // LXC reboot says "VM" (sic).
    act(&h, "pve2", "lxc", 101, "reboot", &[])
        .await
        .assert_error(500, "VM 101 not running");
    assert_eq!(task_count(&h), 0);
}

#[tokio::test]
async fn qemu_stop_and_shutdown_of_a_stopped_vm_are_ok_tasks() {
    let h = Harness::basic().await;
    for action in ["stop", "shutdown"] {
        assert_eq!(run_action(&h, "pve2", "qemu", 102, action).await, "OK");
    }
    assert_eq!(current(&h, "pve2", "qemu", 102).await["status"], "stopped");
    for action in ["reset", "suspend", "resume", "reboot"] {
        let a = act(&h, "pve2", "qemu", 102, action, &[]).await;
        a.assert_error(500, "VM 102 not running");
    }
}

#[tokio::test]
async fn a_template_cannot_start() {
    let h = Harness::basic().await;
    let exit = run_action(&h, "pve1", "qemu", 9000, "start").await;
    assert_eq!(exit, "you can't start a vm if it's a template");
    let s = current(&h, "pve1", "qemu", 9000).await;
    assert_eq!(
        (&s["status"], &s["template"]),
        (&"stopped".into(), &1.into())
    );
}

const STUBBORN: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    ignore_shutdown: true
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }
"#;

#[tokio::test]
async fn shutdown_of_a_guest_ignoring_acpi_times_out_and_force_stop_stops_it() {
    let h = Harness::start(scenario(STUBBORN)).await;
    let a = act(&h, "pve1", "qemu", 100, "shutdown", &[("timeout", "5")]).await;
    assert_eq!(a.status, 200, "{a:?}");
    let upid = a.body["data"].as_str().unwrap().to_string();
    h.advance(4).await;
    assert_eq!(task(&h, "pve1", &upid).await["status"], "running");
    h.advance(1).await;
    let t = task(&h, "pve1", &upid).await;
    assert_eq!(
        t["status"], "stopped",
        "the task ends after the timeout: {t}"
    );
    assert_eq!(t["exitstatus"], "VM quit/powerdown failed - got timeout");
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "running");

    let a = act(
        &h,
        "pve1",
        "qemu",
        100,
        "shutdown",
        &[("timeout", "5"), ("forceStop", "1")],
    )
    .await;
    let upid = a.body["data"].as_str().unwrap().to_string();
    h.advance(4).await;
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "running");
    let t = h.wait_task("pve1", &upid, 5).await;
    assert_eq!(t["exitstatus"], "WARNINGS: 1");
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "stopped");
}

#[tokio::test]
async fn a_paused_vm_cannot_be_shut_down_without_force() {
    let h = Harness::basic().await;
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "suspend").await, "OK");
    let a = act(&h, "pve1", "qemu", 100, "shutdown", &[]).await;
    a.assert_error(500, "VM is paused - cannot shutdown");
    let a = act(&h, "pve1", "qemu", 100, "shutdown", &[("forceStop", "1")]).await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn a_locked_guest_fails_power_tasks_with_the_lock_named() {
    let h = Harness::basic().await;
    for vmid in [100, 101, 102] {
        let (st, body) = h
            .sim("POST", &format!("/guests/{vmid}/lock?lock=backup"), None)
            .await;
        assert_eq!(st, 200, "{body}");
    }
    assert_eq!(
        run_action(&h, "pve1", "qemu", 100, "stop").await,
        "VM is locked (backup)"
    );
    assert_eq!(
        run_action(&h, "pve2", "qemu", 102, "start").await,
        "VM is locked (backup)"
    );
    assert_eq!(
        run_action(&h, "pve2", "lxc", 101, "stop").await,
        "CT is locked (backup)"
    );
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "running");
    assert_eq!(current(&h, "pve1", "qemu", 100).await["lock"], "backup");
    assert_eq!(current(&h, "pve2", "qemu", 102).await["status"], "stopped");
    assert_eq!(current(&h, "pve2", "lxc", 101).await["status"], "running");

    let (st, _) = h.sim("POST", "/guests/100/unlock", None).await;
    assert_eq!(st, 200);
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "stop").await, "OK");
}

#[tokio::test]
async fn bad_parameters_are_refused_before_any_task() {
    let h = Harness::basic().await;
    act(&h, "pve1", "qemu", 100, "stop", &[("skiplock", "1")])
        .await
        .assert_param_error("skiplock", "Only root may use this option.");
    act(&h, "pve2", "lxc", 101, "stop", &[("skiplock", "1")])
        .await
        .assert_param_error("skiplock", "Only root may use this option.");
    act(&h, "pve1", "qemu", 100, "start", &[("bogus", "1")])
        .await
        .assert_param_error(
            "bogus",
            "property is not defined in schema and the schema does not allow additional properties",
        );
    act(
        &h,
        "pve1",
        "qemu",
        100,
        "shutdown",
        &[("forceStop", "true")],
    )
    .await
    .assert_param_error("forceStop", "type check ('boolean') failed - got 'true'");
    act(&h, "pve1", "qemu", 100, "shutdown", &[("timeout", "-1")])
        .await
        .assert_param_error("timeout", "value must have a minimum value of 0");
    // `todisk` is a QEMU suspend option only; LXC suspend takes none.
    act(&h, "pve2", "lxc", 101, "suspend", &[("todisk", "0")])
        .await
        .assert_param_error(
            "todisk",
            "property is not defined in schema and the schema does not allow additional properties",
        );
    assert_eq!(task_count(&h), 0);
    assert_eq!(current(&h, "pve1", "qemu", 100).await["status"], "running");
}

#[tokio::test]
async fn unknown_guests_nodes_and_actions_get_pves_errors() {
    let h = Harness::basic().await;
    act(&h, "pve1", "qemu", 101, "stop", &[])
        .await
        .assert_error(
            500,
            "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist",
        );
    act(&h, "pve1", "lxc", 100, "stop", &[]).await.assert_error(
        500,
        "Configuration file 'nodes/pve1/lxc/100.conf' does not exist",
    );
    act(&h, "pve2", "lxc", 101, "reset", &[])
        .await
        .assert_error(
            501,
            "Method 'POST /nodes/pve2/lxc/101/status/reset' not implemented",
        );
    assert_eq!(task_count(&h), 0);
}

const THREE_NODES: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }, { name: pve3 }]
guests:
  - { vmid: 100, type: qemu, node: pve1, status: stopped }
  - { vmid: 101, type: lxc, node: pve1, status: stopped }
  - { vmid: 102, type: qemu, node: pve1 }
"#;

#[tokio::test]
async fn without_quorum_start_is_refused_but_stop_still_works() {
    let h = Harness::start(scenario(THREE_NODES)).await;
    let (st, _) = h.sim("POST", "/nodes/pve2/offline", None).await;
    assert_eq!(st, 200);
    // One of three offline: still quorate.
    let upid = act_ok(&h, "pve1", "qemu", 100, "start").await;
    assert_eq!(h.wait_task("pve1", &upid, 5).await["exitstatus"], "OK");
    let (st, _) = h.sim("POST", "/nodes/pve3/offline", None).await;
    assert_eq!(st, 200);
    let before = task_count(&h);
    act(&h, "pve1", "qemu", 100, "stop", &[]).await;
    act(&h, "pve1", "qemu", 102, "start", &[])
        .await
        .assert_error(500, "cluster not ready - no quorum?");
    act(&h, "pve1", "lxc", 101, "start", &[])
        .await
        .assert_error(500, "cluster not ready - no quorum?");
    assert_eq!(task_count(&h), before + 1, "only the stop made a task");
    // A guest on an offline node is unreachable altogether.
    let a = act(&h, "pve3", "qemu", 100, "start", &[]).await;
    assert_eq!(a.status, 595, "{a:?}");
}

#[tokio::test]
async fn task_status_of_unknown_or_garbled_upids_is_a_400() {
    let h = Harness::basic().await;
    let upid = act_ok(&h, "pve1", "qemu", 100, "reset").await;
    let missing = upid.replace(":qmreset:", ":qmstart:");
    let path = |node: &str, u: &str| format!("/nodes/{node}/tasks/{}/status", percent_encode(u));
    call(&h, "GET", &path("pve1", &missing), &[])
        .await
        .assert_param_error("upid", "no such task");
    // Tasks are looked up on the node named in the path.
    call(&h, "GET", &path("pve2", &upid), &[])
        .await
        .assert_param_error("upid", "no such task");
    for garbage in ["nonsense", "UPID:pve1:1:2:3:qmstart:100:root@pam:"] {
        call(&h, "GET", &path("pve1", garbage), &[])
            .await
            .assert_param_error("upid", "unable to parse worker upid");
    }
    call(&h, "GET", &path("pve1", &upid), &[("full", "1")])
        .await
        .assert_param_error(
            "full",
            "property is not defined in schema and the schema does not allow additional properties",
        );
}

#[tokio::test]
async fn reboot_resets_the_counters_while_the_truth_goes_on() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let before = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&before["netin"], &before["netout"]),
        (&15_000.into(), &1_500.into())
    );
    let t0 = sim_time(&h).await;
    let upid = act_ok(&h, "pve1", "qemu", 100, "reboot").await;
    h.wait_task("pve1", &upid, 10).await;
    let elapsed = sim_time(&h).await - t0;
    assert_eq!(elapsed, 4, "reboot takes the scenario's 4 s");
    let after = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&after["netin"], &after["netout"]),
        (&0.into(), &0.into()),
        "{after}"
    );
    assert_eq!(after["uptime"], 0);
    assert_ne!(after["pid"], before["pid"], "a new process");
    h.advance(6).await;
    let after = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&after["netin"], &after["netout"]),
        (&9_000.into(), &900.into())
    );
    assert_eq!(after["nics"]["tap100i0"]["netin"], 6_000);
    let truth = &h.truth().await["guests"]["100"];
    assert_eq!(
        truth["rx_bytes"],
        1500 * 20,
        "the truth never resets: {truth}"
    );
    assert_eq!(truth["tx_bytes"], 150 * 20);
    assert_eq!(
        truth["netin"], 9_000,
        "truth also shows the device counters"
    );
}

#[tokio::test]
async fn reset_keeps_the_counters() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let pid = current(&h, "pve1", "qemu", 100).await["pid"].clone();
    let upid = act_ok(&h, "pve1", "qemu", 100, "reset").await;
    h.wait_task("pve1", &upid, 5).await;
    h.advance(9).await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["netin"], &s["netout"]),
        (&(1500 * 20).into(), &(150 * 20).into())
    );
    assert_eq!(s["pid"], pid);
    assert_eq!(h.truth().await["guests"]["100"]["rx_bytes"], 1500 * 20);
}

#[tokio::test]
async fn suspend_pauses_traffic_and_shows_paused_then_resume_goes_on() {
    let h = Harness::basic().await;
    h.advance(2).await;
    let upid = act_ok(&h, "pve1", "qemu", 100, "suspend").await;
    h.wait_task("pve1", &upid, 5).await; // now start + 3 s
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["status"], &s["qmpstatus"]),
        (&"running".into(), &"paused".into())
    );
    let resources = |v: &Value| -> Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "qemu/100")
            .cloned()
            .unwrap()
    };
    // /cluster/resources shows the 10 s cache: still running until the next refresh.
    let r = resources(&h.get("/cluster/resources?type=vm").await);
    assert_eq!(r["status"], "running", "{r}");
    let rx = h.truth().await["guests"]["100"]["rx_bytes"].clone();
    assert_eq!(rx, 1500 * 3);
    h.advance(30).await;
    let r = resources(&h.get("/cluster/resources?type=vm").await);
    assert_eq!(r["status"], "paused", "{r}");
    let truth = &h.truth().await["guests"]["100"];
    assert_eq!(truth["rx_bytes"], rx, "nothing moves while paused");
    assert_eq!(current(&h, "pve1", "qemu", 100).await["netin"], 1500 * 3);

    let upid = act_ok(&h, "pve1", "qemu", 100, "resume").await;
    h.wait_task("pve1", &upid, 5).await;
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["qmpstatus"], "running");
    h.advance(10).await;
    let truth = &h.truth().await["guests"]["100"];
    assert_eq!(
        truth["rx_bytes"],
        1500 * 13,
        "resume keeps the counters: {truth}"
    );
    assert_eq!(truth["netin"], 1500 * 13);
}

#[tokio::test]
async fn reboot_honours_its_timeout_for_a_guest_ignoring_acpi() {
    let h = Harness::start(scenario(STUBBORN)).await;
    let pid = current(&h, "pve1", "qemu", 100).await["pid"].clone();
    let a = act(&h, "pve1", "qemu", 100, "reboot", &[("timeout", "5")]).await;
    assert_eq!(a.status, 200, "{a:?}");
    let upid = a.body["data"].as_str().unwrap().to_string();
    h.advance(4).await;
    assert_eq!(task(&h, "pve1", &upid).await["status"], "running");
    h.advance(1).await;
    let t = task(&h, "pve1", &upid).await;
    assert_eq!(
        t["status"], "stopped",
        "the shutdown half waits `timeout` s: {t}"
    );
    assert_eq!(t["exitstatus"], "VM quit/powerdown failed - got timeout");
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!((&s["status"], &s["pid"]), (&"running".into(), &pid));
}

#[tokio::test]
async fn lxc_resume_of_a_running_ct_is_refused_as_already_running() {
    // pve-container's vm_resume: `die "CT $vmid already running\n" if check_running`.
    let h = Harness::basic().await;
    act(&h, "pve2", "lxc", 101, "resume", &[])
        .await
        .assert_error(500, "CT 101 already running");
    assert_eq!(task_count(&h), 0);
    // Suspended (frozen) it can be resumed.
    assert_eq!(run_action(&h, "pve2", "lxc", 101, "suspend").await, "OK");
    assert_eq!(run_action(&h, "pve2", "lxc", 101, "resume").await, "OK");
}

#[tokio::test]
async fn lxc_start_checks_already_running_before_quorum() {
    // pve-container's vm_start dies "already running" before check_cfs_quorum.
    let h = Harness::basic().await;
    let (st, _) = h.sim("POST", "/nodes/pve1/offline", None).await;
    assert_eq!(st, 200);
    act(&h, "pve2", "lxc", 101, "start", &[])
        .await
        .assert_error(500, "CT 101 already running");
}

#[tokio::test]
async fn lxc_actions_take_only_their_own_parameters() {
    let h = Harness::basic().await;
    for (action, param) in [
        ("stop", "timeout"),
        ("stop", "keepActive"),
        ("shutdown", "skiplock"),
        ("shutdown", "keepActive"),
        ("suspend", "skiplock"),
        ("resume", "skiplock"),
        ("reboot", "skiplock"),
    ] {
        act(&h, "pve2", "lxc", 101, action, &[(param, "1")])
            .await
            .assert_param_error(
            param,
            "property is not defined in schema and the schema does not allow additional properties",
        );
    }
    let a = act(
        &h,
        "pve2",
        "lxc",
        101,
        "stop",
        &[("overrule-shutdown", "1")],
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn a_locked_template_reports_the_template_first() {
    // qemu-server's vm_start and pve-container's start worker check the template flag
    // before the lock.
    let h = Harness::basic().await;
    let (st, _) = h.sim("POST", "/guests/9000/lock?lock=backup", None).await;
    assert_eq!(st, 200);
    assert_eq!(
        run_action(&h, "pve1", "qemu", 9000, "start").await,
        "you can't start a vm if it's a template"
    );
}

#[tokio::test]
async fn suspend_to_disk_ends_the_process_and_the_next_start_resumes_it() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let a = act(&h, "pve1", "qemu", 100, "suspend", &[("todisk", "1")]).await;
    assert_eq!(a.status, 200, "{a:?}");
    let upid = a.body["data"].as_str().unwrap().to_string();
    assert_upid(&upid, "pve1", "qmsuspend", "100", "root@pam!sim");
    assert_eq!(h.wait_task("pve1", &upid, 5).await["exitstatus"], "OK");
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(
        (&s["status"], &s["netin"]),
        (&"stopped".into(), &0.into()),
        "{s}"
    );
    assert_eq!(s["lock"], "suspended");
    // The lock blocks config writes, as on PVE, but not the resuming start.
    crate::power::call(
        &h,
        "PUT",
        "/nodes/pve1/qemu/100/config",
        &[("description", "x")],
    )
    .await
    .assert_error(500, "VM is locked (suspended)");
    assert_eq!(run_action(&h, "pve1", "qemu", 100, "start").await, "OK");
    let s = current(&h, "pve1", "qemu", 100).await;
    assert_eq!(s["status"], "running");
    assert!(s.get("lock").is_none(), "{s}");
    assert_eq!(h.truth().await["guests"]["100"]["rx_bytes"], 1500 * 11);
}
