//! Per-node guest reads: the unordered guest lists, `status/current` (QEMU with per-tap
//! `nics`, LXC without), node routing errors, `rrddata` layouts and DERIVE rates, and
//! `netstat` (docs/pve-api.md: the `status/current`, `netstat` and `rrddata` sections, and
//! "Node routing").

use std::collections::BTreeSet;

use pve_sim::Scenario;
use serde_json::Value;

use crate::util::{scenario, Harness, BASIC};

fn basic_as(version: &str) -> String {
    format!("pve_version: \"{version}\"\n{BASIC}")
}

fn vmids(list: &Value) -> BTreeSet<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn a_node_list_holds_only_that_nodes_guests_of_that_type() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let qemu = h.get("/nodes/pve1/qemu").await;
    assert_eq!(vmids(&qemu), BTreeSet::from([100, 9000]));
    assert!(qemu
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g.get("nics").is_none()));
    assert_eq!(
        vmids(&h.get("/nodes/pve2/qemu").await),
        BTreeSet::from([102])
    );
    assert_eq!(
        vmids(&h.get("/nodes/pve2/lxc").await),
        BTreeSet::from([101])
    );
    assert_eq!(vmids(&h.get("/nodes/pve1/lxc").await), BTreeSet::new());

    let full = h.get("/nodes/pve1/qemu?full=1").await;
    let web = full
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 100)
        .unwrap();
    let nics = web["nics"].as_object().expect("full=1 adds nics");
    assert_eq!(nics.keys().collect::<Vec<_>>(), ["tap100i0", "tap100i1"]);
    // The list's totals are live, like status/current at the same instant.
    let st = h.get("/nodes/pve1/qemu/100/status/current").await;
    assert_eq!(web["netin"], st["netin"]);
    assert_eq!(web["nics"], st["nics"]);
    let tmpl = full
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 9000)
        .unwrap();
    assert!(tmpl.get("nics").is_none(), "a stopped guest has no nics");

    let r = h.api("GET", "/nodes/pve1/lxc", &[("full", "1")]).await;
    assert_eq!(r.status, 400, "LXC lists have no `full`");
    assert!(r.error_for("full").contains("not defined in schema"));
    let r = h.api("GET", "/nodes/pve1/qemu", &[("full", "yes")]).await;
    assert_eq!(
        r.error_for("full"),
        "type check ('boolean') failed - got 'yes'"
    );
}

#[tokio::test]
async fn lists_come_back_in_no_fixed_order() {
    let h = Harness::start(Scenario::generate(30, 1, 5)).await;
    let mut orders = BTreeSet::new();
    let mut sets = BTreeSet::new();
    for _ in 0..5 {
        let list = h.get("/nodes/pve1/qemu").await;
        let order: Vec<u64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["vmid"].as_u64().unwrap())
            .collect();
        assert!(order.len() >= 10, "{order:?}");
        sets.insert(vmids(&list).into_iter().collect::<Vec<_>>());
        orders.insert(order);
        h.advance(1).await;
    }
    assert_eq!(sets.len(), 1, "the same guests every time");
    assert!(orders.len() > 1, "always the same order: {orders:?}");
}

#[tokio::test]
async fn running_qemu_status_has_nics_that_sum_to_the_totals() {
    let h = Harness::basic().await;
    h.advance(30).await;
    let st = h.get("/nodes/pve1/qemu/100/status/current").await;
    assert_eq!(st["vmid"], 100);
    assert_eq!(st["status"], "running");
    assert_eq!(st["qmpstatus"], "running");
    assert_eq!(st["name"], "web1");
    assert_eq!(st["tags"], "prod;web");
    assert_eq!(st["ha"], serde_json::json!({"managed": 0}));
    assert!(st["pid"].is_u64());
    assert!(st.get("type").is_none(), "QEMU objects have no type");
    assert!(st.get("template").is_none());
    for k in [
        "maxmem",
        "mem",
        "maxdisk",
        "disk",
        "uptime",
        "netin",
        "netout",
        "diskread",
        "diskwrite",
    ] {
        assert!(st[k].is_u64(), "{k} = {}", st[k]);
    }
    assert!(st["cpu"].is_number() && st["cpus"].is_number());
    assert!(st["uptime"].as_u64().unwrap() >= 3600);

    let nics = st["nics"].as_object().unwrap();
    assert_eq!(nics.keys().collect::<Vec<_>>(), ["tap100i0", "tap100i1"]);
    let (mut sum_in, mut sum_out) = (0, 0);
    for (tap, n) in nics {
        assert_eq!(keys(n), BTreeSet::from(["netin", "netout"]), "{tap}");
        sum_in += n["netin"].as_u64().unwrap();
        sum_out += n["netout"].as_u64().unwrap();
    }
    assert_eq!(st["netin"], sum_in);
    assert_eq!(st["netout"], sum_out);
    assert!(sum_in > 0 && sum_out > 0);

    // Per NIC, netin is what was sent to the guest (truth rx), netout what it sent.
    let truth = h.truth().await;
    let t = &truth["guests"]["100"]["nics"];
    for i in 0..2 {
        let n = &nics[&format!("tap100i{i}")];
        assert_eq!(n["netin"], t[format!("net{i}")]["counter_rx"]);
        assert_eq!(n["netout"], t[format!("net{i}")]["counter_tx"]);
    }
}

#[tokio::test]
async fn lxc_status_has_a_type_and_no_nics() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let st = h.get("/nodes/pve2/lxc/101/status/current").await;
    assert_eq!(st["type"], "lxc");
    assert_eq!(st["vmid"], 101);
    assert_eq!(st["status"], "running");
    assert_eq!(st["name"], "ct1");
    assert!(st.get("nics").is_none());
    assert!(st.get("qmpstatus").is_none());
    assert!(st["pid"].is_u64());
    let truth = h.truth().await;
    assert_eq!(st["netin"], truth["guests"]["101"]["netin"]);
    assert_eq!(st["netout"], truth["guests"]["101"]["netout"]);
    assert!(st["netin"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_stopped_guest_has_the_documented_shape() {
    let h = Harness::basic().await;
    h.advance(10).await;
    let st = h.get("/nodes/pve2/qemu/102/status/current").await;
    assert_eq!(
        keys(&st),
        BTreeSet::from([
            "vmid",
            "status",
            "qmpstatus",
            "name",
            "cpus",
            "cpu",
            "maxmem",
            "mem",
            "maxdisk",
            "disk",
            "uptime",
            "netin",
            "netout",
            "ha"
        ]),
        "{st}"
    );
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["qmpstatus"], "stopped");
    for k in ["netin", "netout", "uptime", "mem", "disk"] {
        assert_eq!(st[k], 0, "{k}");
    }
    assert_eq!(st["cpu"], 0.0);
}

#[tokio::test]
async fn only_a_template_carries_template() {
    let h = Harness::basic().await;
    let t = h.get("/nodes/pve1/qemu/9000/status/current").await;
    assert_eq!(t["template"], 1);
    assert_eq!(t["status"], "stopped");
    let vm = h.get("/nodes/pve1/qemu/100/status/current").await;
    assert!(vm.get("template").is_none());
}

#[tokio::test]
async fn node_routing_errors_are_pves() {
    let h = Harness::basic().await;
    let r = h
        .api("GET", "/nodes/pve1/qemu/101/status/current", &[])
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body["message"],
        "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist\n"
    );
    let r = h
        .api("GET", "/nodes/pve2/lxc/100/status/current", &[])
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body["message"],
        "Configuration file 'nodes/pve2/lxc/100.conf' does not exist\n"
    );

    let r = h
        .api("GET", "/nodes/pve1/qemu/99/status/current", &[])
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error_for("vmid")
            .starts_with("invalid format - value does not look like a valid VM ID"),
        "{:?}",
        r.body
    );
    // A path parameter matches any text; pveproxy resolves the node to proxy to before the
    // schema is checked, so a malformed node name fails the hostname lookup.
    for path in ["/nodes/-x/qemu/100/status/current", "/nodes/-x/qemu"] {
        let r = h.api("GET", path, &[]).await;
        assert_eq!(r.status, 500, "{path}");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .starts_with("hostname lookup '-x' failed - "),
            "{:?}",
            r.body
        );
    }

    let r = h
        .api("GET", "/nodes/nosuch/qemu/100/status/current", &[])
        .await;
    assert_eq!(r.status, 500);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("hostname lookup 'nosuch' failed - "),
        "{:?}",
        r.body
    );
    let r = h.api("GET", "/nodes/nosuch/qemu", &[]).await;
    assert_eq!(r.status, 500);
}

#[tokio::test]
async fn an_offline_node_answers_595_with_an_empty_body() {
    let h = Harness::basic().await;
    h.sim("POST", "/nodes/pve2/offline", None).await;
    for path in [
        "/nodes/pve2/qemu/102/status/current",
        "/nodes/pve2/lxc",
        "/nodes/pve2/lxc/101/rrddata?timeframe=hour",
    ] {
        let resp = h
            .client
            .get(format!("{}{path}", h.sim.api_url()))
            .header("Authorization", h.sim.authorization())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 595, "{path}");
        assert!(resp.bytes().await.unwrap().is_empty(), "{path}");
    }
    h.sim("POST", "/nodes/pve2/online", None).await;
    let st = h.get("/nodes/pve2/lxc/101/status/current").await;
    assert_eq!(st["status"], "running");
}

#[tokio::test]
async fn rrddata_checks_its_parameters() {
    let h = Harness::basic().await;
    let path = "/nodes/pve1/qemu/100/rrddata";
    let r = h.api("GET", path, &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_for("timeframe"),
        "property is missing and it is not optional"
    );
    let r = h.api("GET", path, &[("timeframe", "minute")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_for("timeframe"),
        "value 'minute' does not have a value in the enumeration 'hour, day, week, month, year'"
    );
    let r = h
        .api("GET", path, &[("timeframe", "hour"), ("cf", "MIN")])
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_for("cf"),
        "value 'MIN' does not have a value in the enumeration 'AVERAGE, MAX'"
    );
}

/// Rows of an hour of `rrddata` for guest 100 after an hour of flat traffic, with the
/// DERIVE rate the truth implies.
async fn an_hour_of_rrd(version: &str, cf: Option<&str>) -> (Vec<Value>, f64, u64) {
    let h = Harness::start(scenario(&basic_as(version))).await;
    let before = h.truth().await["guests"]["100"]["rx_bytes"]
        .as_u64()
        .unwrap();
    h.advance(3600).await;
    let truth = h.truth().await;
    let moved = truth["guests"]["100"]["rx_bytes"].as_u64().unwrap() - before;
    let rate = moved as f64 / 3600.0;
    let mut params = vec![("timeframe", "hour")];
    if let Some(cf) = cf {
        params.push(("cf", cf));
    }
    let r = h.api("GET", "/nodes/pve1/qemu/100/rrddata", &params).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let now = truth["time"].as_u64().unwrap();
    (r.data().as_array().unwrap().clone(), rate, now)
}

fn assert_hour_layout(rows: &[Value], count: usize, now: u64) {
    assert_eq!(rows.len(), count);
    let times: Vec<u64> = rows.iter().map(|r| r["time"].as_u64().unwrap()).collect();
    assert!(times.iter().all(|t| t % 60 == 0), "{times:?}");
    assert!(times.windows(2).all(|w| w[1] == w[0] + 60), "{times:?}");
    assert_eq!(*times.last().unwrap(), now / 60 * 60 - 60);
}

#[tokio::test]
async fn rrddata_hour_has_the_9_x_layout_and_derive_rates() {
    let (rows, rate, now) = an_hour_of_rrd("9.1", None).await;
    assert_hour_layout(&rows, 60, now);
    let known: Vec<&Value> = rows.iter().filter(|r| r.get("netin").is_some()).collect();
    assert!(known.len() >= 55, "{} known rows", known.len());
    for row in &known {
        let netin = row["netin"].as_f64().unwrap();
        assert!((netin - rate).abs() < 1e-6, "{row} vs {rate}");
        assert!(row["netout"].is_number());
        assert_eq!(row["maxmem"], 2048u64 << 20);
    }
    // Flat BASIC rates: 1000 + 500 B/s offered to the guest's two NICs.
    assert!((rate - 1500.0).abs() < 1e-6, "{rate}");
}

#[tokio::test]
async fn rrddata_hour_has_70_rows_on_8_x_and_max_equals_average_for_flat_traffic() {
    let (rows, rate, now) = an_hour_of_rrd("8.2", Some("MAX")).await;
    assert_hour_layout(&rows, 70, now);
    let known: Vec<&Value> = rows.iter().filter(|r| r.get("netin").is_some()).collect();
    assert!(known.len() >= 55, "{} known rows", known.len());
    for row in known {
        assert!(
            (row["netin"].as_f64().unwrap() - rate).abs() < 1e-6,
            "{row}"
        );
    }
    // Before the simulation started nothing was recorded: those rows hold only `time`.
    assert_eq!(keys(&rows[0]), BTreeSet::from(["time"]));
}

#[tokio::test]
async fn netstat_lists_running_qemu_taps_as_strings_equal_to_status_current() {
    let h = Harness::basic().await;
    h.advance(25).await;
    let ns = h.get("/nodes/pve1/netstat").await;
    let st = h.get("/nodes/pve1/qemu/100/status/current").await;
    let rows = ns.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{ns}");
    for row in rows {
        assert_eq!(keys(row), BTreeSet::from(["vmid", "dev", "in", "out"]));
        assert_eq!(row["vmid"], "100");
        let dev = row["dev"].as_str().unwrap();
        let i = dev.strip_prefix("net").unwrap();
        let nic = &st["nics"][format!("tap100i{i}")];
        assert_eq!(row["in"], nic["netin"].to_string());
        assert_eq!(row["out"], nic["netout"].to_string());
    }
    let devs: Vec<&str> = rows.iter().map(|r| r["dev"].as_str().unwrap()).collect();
    assert_eq!(devs, ["net0", "net1"], "sorted by device name");

    let r = h
        .api("GET", "/nodes/pve1/netstat", &[("vmid", "100")])
        .await;
    assert_eq!(r.status, 400);
}

/// Three LXC and two QEMU guests on one node, NIC slots chosen so that the device names'
/// order differs from the VMIDs' and slots' numeric order.
const NETSTAT: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - vmid: 1000
    type: lxc
    node: pve1
    nics:
      - { config: "name=eth0,bridge=vmbr0", rx_rate: 100, tx_rate: 10, shaped: false }
  - vmid: 200
    type: qemu
    node: pve1
    nics:
      - { index: 2, config: "virtio,bridge=vmbr0", rx_rate: 300, tx_rate: 30, shaped: false }
      - { index: 10, config: "virtio,bridge=vmbr0", rx_rate: 400, tx_rate: 40, shaped: false }
  - vmid: 300
    type: lxc
    node: pve1
    nics:
      - { config: "name=eth0,bridge=vmbr0", rx_rate: 500, tx_rate: 50, shaped: false }
  - vmid: 301
    type: lxc
    node: pve1
    status: stopped
    nics:
      - { config: "name=eth0,bridge=vmbr0", rx_rate: 600, tx_rate: 60, shaped: false }
  - vmid: 400
    type: qemu
    node: pve2
    nics:
      - { config: "virtio,bridge=vmbr0", rx_rate: 700, tx_rate: 70, shaped: false }
"#;

#[tokio::test]
async fn netstat_lists_taps_and_veths_sorted_by_device_name_with_live_string_values() {
    let h = Harness::start(crate::util::scenario(NETSTAT)).await;
    h.advance(7).await;
    let ns = h.get("/nodes/pve1/netstat").await;
    let listed: Vec<(&str, &str, &str, &str)> = ns
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["vmid"].as_str().unwrap(),
                r["dev"].as_str().unwrap(),
                r["in"].as_str().unwrap(),
                r["out"].as_str().unwrap(),
            )
        })
        .collect();
    // tap200i10 < tap200i2 < veth1000i0 < veth300i0; the stopped CT 301 has no veth, and
    // QEMU 400 lives on pve2. Values are live (7 s, between two pushes): in = to the guest.
    assert_eq!(
        listed,
        [
            ("200", "net10", "2800", "280"),
            ("200", "net2", "2100", "210"),
            ("1000", "net0", "700", "70"),
            ("300", "net0", "3500", "350"),
        ]
    );
    let truth = h.truth().await;
    assert_eq!(truth["guests"]["300"]["nics"]["net0"]["rx_bytes"], 3500);
    assert_eq!(truth["guests"]["200"]["nics"]["net10"]["tx_bytes"], 280);
}
