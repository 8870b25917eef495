//! The daemons take the store through its traits: an exporter and an enforcer over the
//! in-memory store account exactly and enforce, and no database file is ever created.

use pve_traffic_enforcer::Enforcer;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::enforcement::{Desired, Stage};
use pve_traffic_store::{MemStore, Store};

use crate::util::{Env, TWO_GUESTS};

/// Guest 100 receives up to 1 MB/s (shaped), so an hourly 20 MB rx limit is crossed within two
/// minutes.
const RULES: &str = "enforcer:\n  listen: 127.0.0.1:0\n  interval_seconds: 60\n  max_data_age_seconds: 300\nrules:\n  - { name: hourly, period: hour, limit: 20MB, direction: rx, action: disconnect, vm_ids: [100] }\n";

#[tokio::test]
async fn exporter_and_enforcer_run_on_the_in_memory_store() {
    let env = Env::start(TWO_GUESTS).await;
    let config = env.config("", RULES);
    let mut exporter = Exporter::with_store(&config, MemStore::new()).unwrap();
    for step in [0, 60, 60] {
        env.advance(step).await;
        exporter.poll_once(env.now_ms().await).await.unwrap();
    }
    let state = exporter.store().load_state().unwrap();
    for vmid in [100, 101] {
        let totals = state.guests[&vmid].2;
        assert_eq!((totals.rx, totals.tx), env.truth(vmid).await, "vmid {vmid}");
    }

    // The enforcer reads the exporter's accounting from its own copy of the store.
    let mut enforcer = Enforcer::with_store(&config, false, exporter.store().clone()).unwrap();
    let out = enforcer.cycle(env.now_ms().await).await;
    assert!(out.fail_safe.is_none(), "{:?}", out.fail_safe);
    assert_eq!(out.writes, 1, "{:?}", out.evaluations);
    let record = &enforcer.state()[&100];
    assert_eq!(
        (&record.applied, record.stage),
        (&Desired::Disconnect, Stage::Applied)
    );
    assert!(!enforcer.state().contains_key(&101));

    // PVE saw the write: guest 100's NICs, and nothing of guest 101.
    let log = env.control("GET", "/requests", None).await;
    let writes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        !writes.is_empty() && writes.iter().all(|p| p.contains("/100/")),
        "{writes:?}"
    );
    assert!(
        !env.db_path().exists(),
        "no database file behind the traits"
    );
}
