//! LXC `link_down`: before pve-container 6.0 (PVE 7.4 to 8.4) any `link_down` key takes the
//! veth down when it is plugged, `link_down=0` included; from 6.0 (PVE 9) only `1` does.
//! A veth that is down moves nothing.

use crate::power::run_action;
use crate::util::{scenario, Harness};

fn cluster(version: &str, net0: &str) -> String {
    format!(
        r#"
pve_version: "{version}"
start_time: 1767225600
nodes: [{{ name: pve1 }}]
guests:
  - vmid: 101
    type: lxc
    node: pve1
    nics: [{{ config: "{net0}", rx_rate: 1000, tx_rate: 100, shaped: false }}]
"#
    )
}

const NET: &str = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01";

async fn moves(h: &Harness) -> bool {
    let before = h.truth().await["guests"]["101"]["rx_bytes"]
        .as_u64()
        .unwrap();
    h.advance(10).await;
    h.truth().await["guests"]["101"]["rx_bytes"]
        .as_u64()
        .unwrap()
        > before
}

async fn put_net0(h: &Harness, value: &str) {
    let r = h
        .api("PUT", "/nodes/pve1/lxc/101/config", &[("net0", value)])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn link_down_0_is_down_before_pve_9_and_up_from_it() {
    for (version, up) in [
        ("7.4", false),
        ("8.2", false),
        ("8.4", false),
        ("9.1", true),
    ] {
        let h = Harness::start(scenario(&cluster(version, &format!("{NET},link_down=0")))).await;
        assert_eq!(moves(&h).await, up, "PVE {version}");
    }
}

#[tokio::test]
async fn on_8_4_clearing_link_down_with_0_keeps_the_veth_down_and_only_removing_it_helps() {
    let h = Harness::start(scenario(&cluster("8.4", NET))).await;
    assert!(moves(&h).await);
    put_net0(&h, &format!("{NET},link_down=1")).await;
    assert!(!moves(&h).await);
    put_net0(&h, &format!("{NET},link_down=0")).await;
    assert!(!moves(&h).await, "re-plugged with link_down=0: still down");
    put_net0(&h, NET).await;
    assert!(
        !moves(&h).await,
        "0 and absent are equal as booleans: no re-plug"
    );
    run_action(&h, "pve1", "lxc", 101, "reboot").await;
    assert!(moves(&h).await, "plugged anew without the key: up");
}

#[tokio::test]
async fn on_9_1_link_down_0_brings_the_veth_up() {
    let h = Harness::start(scenario(&cluster("9.1", NET))).await;
    put_net0(&h, &format!("{NET},link_down=1")).await;
    assert!(!moves(&h).await);
    put_net0(&h, &format!("{NET},link_down=0")).await;
    assert!(moves(&h).await);
}
