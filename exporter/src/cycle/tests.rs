//! The ledger over polls: re-reads, `unknown` rows and restarts keep the baseline's first
//! sighting, and a gap is placed from it.

use super::*;
use pve_traffic_store::{SqliteStore, Store};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MIN: i64 = 60_000;

fn row(node: &str, stats: Option<(u64, u64, u64)>) -> GuestResource {
    GuestResource {
        vmid: 100,
        guest_type: GuestType::Qemu,
        node: node.to_string(),
        status: if stats.is_some() {
            "running"
        } else {
            "unknown"
        }
        .to_string(),
        name: stats.map(|_| "web1".to_string()),
        uptime: stats.map(|s| s.0),
        netin: stats.map(|s| s.1),
        netout: stats.map(|s| s.2),
        template: false,
        tags: vec![node.to_string()],
        lock: None,
        pool: None,
        hastate: None,
    }
}

fn all() -> Selection {
    Selection {
        guest_types: vec![GuestType::Qemu],
        include_templates: false,
        node: None,
    }
}

fn ledger(state: StoredState) -> Ledger {
    Ledger::new(state, vec![PeriodSpec::hour()], TimeZone::UTC, u64::MAX / 2)
}

#[test]
fn re_reads_and_unknown_rows_keep_the_baseline_and_the_gap_is_placed_from_it() {
    let mut l = ledger(StoredState::default());
    let (w, _) = l.account(&[row("pve1", Some((1000, 5_000, 500)))], &all(), T0);
    let baseline = w.guests[0].counters.clone();
    assert_eq!(baseline.at_ms, T0);
    // The same push again: written unchanged, first sighting included.
    let (w, r) = l.account(&[row("pve1", Some((1000, 5_000, 500)))], &all(), T0 + MIN);
    assert_eq!(
        (&w.guests[0].counters, w.guests[0].rx, r.guests),
        (&baseline, 0, 1)
    );
    // `unknown`: still listed and written, baseline kept, the name (pushed) kept.
    let (w, r) = l.account(&[row("pve1", None)], &all(), T0 + 6 * MIN);
    assert_eq!((r.unknown, r.guests), (1, 0));
    let g = &w.guests[0];
    assert_eq!((&g.counters, g.rx, g.tx, g.reset), (&baseline, 0, 0, false));
    assert_eq!(g.info.name, "web1");
    // Pushes resume, same process: the whole gap, spread from the first sighting.
    let resumed = row("pve1", Some((1000 + 600, 65_000, 6_500)));
    let (w, r) = l.account(&[resumed], &all(), T0 + 10 * MIN);
    let g = &w.guests[0];
    assert_eq!((g.rx, g.tx, r.resets), (60_000, 6_000, 0));
    let buckets: Vec<_> = g.buckets.iter().map(|b| (b.0, b.1)).collect();
    assert_eq!(buckets, [(T0, 30_000), (T0 + 5 * MIN, 30_000)]);
}

#[test]
fn an_unknown_guest_follows_its_live_node_and_its_next_push_there_is_a_new_process() {
    let mut l = ledger(StoredState::default());
    let (w, _) = l.account(&[row("pve1", Some((1000, 5_000, 500)))], &all(), T0);
    let baseline = w.guests[0].counters.clone();
    // pve1 went offline; HA recovered the guest on pve2, which has not pushed it yet.
    let (w, _) = l.account(&[row("pve2", None)], &all(), T0 + 6 * MIN);
    let g = &w.guests[0];
    assert_eq!((&g.counters, g.info.node.as_str()), (&baseline, "pve2"));
    assert_eq!(g.info.tags, ["pve2"]);
    // pve2's first push: its process, whole, even though its uptime alone would not tell.
    let (w, r) = l.account(
        &[row("pve2", Some((1500, 9_000, 900)))],
        &all(),
        T0 + 7 * MIN,
    );
    assert_eq!((w.guests[0].rx, w.guests[0].tx, r.resets), (9_000, 900, 1));
}

#[test]
fn a_guest_first_seen_unknown_is_left_out() {
    let mut l = ledger(StoredState::default());
    let (w, r) = l.account(&[row("pve1", None)], &all(), T0);
    assert_eq!((w.guests.len(), r.unknown), (0, 1));
    assert!(l.guests.is_empty());
}

#[test]
fn the_stored_baseline_keeps_its_first_sighting_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let mut l = ledger(store.load_state().unwrap());
    for (i, stats) in [(1000, 5_000, 500), (1000, 5_000, 500)]
        .into_iter()
        .enumerate()
    {
        let (w, _) = l.account(&[row("pve1", Some(stats))], &all(), T0 + i as i64 * MIN);
        store.commit_cycle(&w).unwrap();
    }
    drop((l, store));
    // Reopened as after a crash: the baseline is the push as first seen.
    let store = SqliteStore::open(&path).unwrap();
    let mut l = ledger(store.load_state().unwrap());
    assert_eq!(l.guests[&100].last.as_ref().unwrap().at_ms, T0);
    let (w, _) = l.account(
        &[row("pve1", Some((1000 + 600, 65_000, 6_500)))],
        &all(),
        T0 + 10 * MIN,
    );
    assert_eq!(w.guests[0].buckets.first().map(|b| b.0), Some(T0));
}
