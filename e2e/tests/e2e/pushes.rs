//! Exactness under pushed stats: `/cluster/resources` shows each guest's stats as its node last
//! pushed them (every 10 s), its node live. Polls land right after pushes, and the exporter's
//! totals must equal `/sim/truth`'s bytes minus those no push ever showed, to the byte, through
//! migrations (with and without a poll of the stale row), node outages of 2 and 6 minutes (the
//! second long enough for `unknown`) and a pvestatd stall with a reboot and an exporter restart
//! inside. Period windows and 5-minute buckets whose boundaries had a fresh push must equal the
//! truth's growth between them.

use std::collections::BTreeMap;

use pve_traffic_exporter::Exporter;
use pve_traffic_store::{SqliteStore, Store};

use crate::util::{metrics_text, sample, totals, Env, TWO_GUESTS};

/// `TWO_GUESTS`'s start, 2026-01-01T00:00:00Z, on a push boundary.
const T0: i64 = 1_767_225_600_000;

/// `/sim/truth`'s bytes of a guest minus those no push showed: what an exact exporter counts.
async fn shown(env: &Env, vmid: u32) -> (u64, u64) {
    let t = env
        .control("GET", &format!("/truth?vmid={vmid}"), None)
        .await;
    let g = &t["guests"][vmid.to_string()];
    let n = |k: &str| g[k].as_u64().unwrap();
    (
        n("rx_bytes") - n("unobservable_rx_bytes"),
        n("tx_bytes") - n("unobservable_tx_bytes"),
    )
}

async fn assert_exact(env: &Env, exp: &Exporter) {
    for (vmid, id) in [(100, "qemu/100"), (101, "lxc/101")] {
        assert_eq!(totals(exp, id), shown(env, vmid).await, "{id}");
    }
}

fn resets(exp: &Exporter, id: &str) -> f64 {
    let labels = format!("id=\"{id}\"");
    sample(
        &metrics_text(exp),
        "pve_traffic_guest_resets_total",
        &labels,
    )
    .unwrap()
}

#[tokio::test]
async fn a_migration_is_exact_whether_or_not_a_poll_saw_the_stale_row() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 6, 10).await;
    // A poll between the move and the target's first push sees pve2 with pve1's last push:
    // nothing new.
    env.advance(3).await;
    env.control("POST", "/guests/100/migrate?node=pve2", None)
        .await;
    let before = totals(&exp, "qemu/100");
    env.poll(&mut exp).await.unwrap();
    assert_eq!(totals(&exp, "qemu/100"), before);
    env.advance(7).await;
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 3, 10).await;
    assert_exact(&env, &exp).await;
    // Back without a poll in between: the node change and pve1's first push come together.
    env.advance(4).await;
    env.control("POST", "/guests/100/migrate?node=pve1", None)
        .await;
    env.advance(6).await;
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 3, 10).await;
    assert_exact(&env, &exp).await;
    assert_eq!(resets(&exp, "qemu/100"), 2.0);
    // The seconds between each last push and the move were never shown.
    assert!(shown(&env, 100).await.0 < env.truth(100).await.0);
}

/// A guest started 8 s before its push and moved right after it: the target's process is as
/// young as the old one was, so only the node tells them apart.
#[tokio::test]
async fn a_young_guest_moved_before_its_uptime_could_tell_is_exact() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 2, 10).await;
    env.advance(1).await;
    env.control("POST", "/guests/100/stop", None).await;
    env.advance(9).await;
    env.poll(&mut exp).await.unwrap();
    env.advance(2).await;
    env.control("POST", "/guests/100/start", None).await;
    env.advance(8).await;
    env.poll(&mut exp).await.unwrap();
    env.advance(1).await;
    env.control("POST", "/guests/100/migrate?node=pve2", None)
        .await;
    env.poll(&mut exp).await.unwrap();
    env.advance(9).await;
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 2, 10).await;
    assert_exact(&env, &exp).await;
    // Start after stop, migration.
    assert_eq!(resets(&exp, "qemu/100"), 2.0);
}

/// Something done at a time (seconds after `T0`, never on a push boundary).
enum Act {
    /// A `/sim/` POST.
    Sim(&'static str),
    /// The exporter is dropped mid-way (as by SIGKILL: its commits are atomic) and reopened.
    RestartExporter,
}

/// Polls after every push from `T0` for an hour and 10 s, doing `acts` on the way; pve1 (guest
/// 100's node) pushes nothing in `no_push` (seconds after `T0`). Then checks the lifetime
/// totals, the first hour's window, and every run of 5-minute buckets between boundaries
/// where pve1 pushed, against the truth.
async fn walk(acts: &[(i64, Act)], no_push: (i64, i64)) {
    let env = Env::start(TWO_GUESTS).await;
    let config = env.config("", "");
    let mut exp = Exporter::open(&config).unwrap();
    env.poll(&mut exp).await.unwrap();
    let mut at_boundary = BTreeMap::from([(0, shown(&env, 100).await)]);
    let mut acts = acts.iter().peekable();
    let mut t = 0;
    while t < 3610 {
        let next = match acts.peek() {
            Some((at, _)) if *at < t + 10 - t % 10 => *at,
            _ => t + 10 - t % 10,
        };
        env.advance((next - t) as u64).await;
        t = next;
        if t % 10 != 0 {
            match acts.next().unwrap().1 {
                Act::Sim(path) => drop(env.control("POST", path, None).await),
                Act::RestartExporter => {
                    drop(exp);
                    exp = Exporter::open(&config).unwrap();
                }
            }
            continue;
        }
        env.poll(&mut exp).await.unwrap();
        if t % 300 == 0 && !(no_push.0 < t && t < no_push.1) {
            at_boundary.insert(t, shown(&env, 100).await);
        }
        if t == no_push.0 + 330 - no_push.0 % 10 && no_push.1 - no_push.0 > 330 {
            assert_unknown_but_listed(&exp);
        }
    }
    assert_exact(&env, &exp).await;
    let store = SqliteStore::open_read_only(&env.db_path()).unwrap();
    let growth = |a: i64, b: i64| {
        let (ra, ta) = at_boundary[&a];
        let (rb, tb) = at_boundary[&b];
        (rb - ra, tb - ta)
    };
    let hour = store.period_usage("hour", T0).unwrap()[&100];
    assert_eq!(hour, growth(0, 3600), "the first hour");
    let bounds: Vec<i64> = at_boundary.keys().copied().collect();
    for w in bounds.windows(2) {
        let series = store
            .series(100, T0 + w[0] * 1000, T0 + w[1] * 1000)
            .unwrap();
        let sum = series.iter().fold((0, 0), |(r, t), b| (r + b.1, t + b.2));
        assert_eq!(
            sum,
            growth(w[0], w[1]),
            "buckets from {}s to {}s",
            w[0],
            w[1]
        );
    }
}

/// More than 5 minutes without a push: `unknown`, yet listed with its node and its totals.
fn assert_unknown_but_listed(exp: &Exporter) {
    let text = metrics_text(exp);
    let info = "id=\"qemu/100\",name=\"web1\",node=\"pve1\",guest_type=\"qemu\",tags=\"prod;web\",template=\"0\"";
    assert_eq!(sample(&text, "pve_traffic_guest_info", info), Some(1.0));
    let age = sample(
        &text,
        "pve_traffic_guest_stats_age_seconds",
        "id=\"qemu/100\"",
    );
    assert!(age.unwrap() > 300.0, "{age:?}");
}

#[tokio::test]
async fn a_node_outage_of_two_minutes_is_counted_when_the_node_pushes_again() {
    let acts = [
        (1205, Act::Sim("/nodes/pve1/offline")),
        (1325, Act::Sim("/nodes/pve1/online")),
    ];
    walk(&acts, (1205, 1325)).await;
}

#[tokio::test]
async fn a_node_outage_of_six_minutes_is_counted_when_the_node_pushes_again() {
    let acts = [
        (1805, Act::Sim("/nodes/pve1/offline")),
        (2165, Act::Sim("/nodes/pve1/online")),
    ];
    walk(&acts, (1805, 2165)).await;
}

/// A stall of 7 minutes with a reboot inside (the new process's uptime is shorter than the
/// wait allows) and an exporter restart after it.
#[tokio::test]
async fn a_pvestatd_stall_with_a_reboot_and_a_restart_inside_is_exact() {
    let acts = [
        (1505, Act::Sim("/nodes/pve1/stall")),
        (1625, Act::Sim("/guests/100/reboot")),
        (1745, Act::RestartExporter),
        (1925, Act::Sim("/nodes/pve1/unstall")),
    ];
    walk(&acts, (1505, 1925)).await;
}
