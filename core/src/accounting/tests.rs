//! Table tests of the accountant, one case per rule of the module doc.

use super::*;
use proptest::prelude::*;

const GBIT: u64 = 125_000_000;

fn c(node: &str, running: bool, uptime: u64, netin: u64, netout: u64, at_s: i64) -> Counters {
    Counters {
        node: node.to_string(),
        running,
        uptime,
        netin,
        netout,
        at_ms: at_s * 1000,
    }
}

/// What is known when the last poll that listed the guest was the baseline's own.
fn fresh(baseline: &Counters) -> Known<'_> {
    Known {
        baseline,
        node: &baseline.node,
        seen_ms: baseline.at_ms,
    }
}

/// What is known when the guest was last listed at `seen_s` on `node`.
fn seen<'a>(baseline: &'a Counters, node: &'a str, seen_s: i64) -> Known<'a> {
    Known {
        baseline,
        node,
        seen_ms: seen_s * 1000,
    }
}

fn summary(s: &Step) -> (Outcome, u64, u64, i64, i64) {
    let d = s.delta;
    (d.outcome, d.rx, d.tx, d.from_ms / 1000, d.to_ms / 1000)
}

#[test]
fn each_signal_table() {
    let prev = c("pve1", true, 1000, 5_000, 800, 100);
    let cases = [
        (
            "continued",
            c("pve1", true, 1060, 9_000, 900, 160),
            Outcome::Continued,
            (4_000, 100),
            100,
        ),
        (
            "nic re-created",
            c("pve1", true, 1060, 3_000, 900, 160),
            Outcome::Reset(ResetReason::DeviceRecreated),
            (0, 100),
            100,
        ),
        (
            // A new process's bytes are placed after its start: 30 s of uptime.
            "uptime short",
            c("pve1", true, 30, 9_000, 900, 160),
            Outcome::Reset(ResetReason::UptimeDecreased),
            (9_000, 900),
            130,
        ),
        (
            "stopped now",
            c("pve1", false, 0, 0, 0, 160),
            Outcome::Stopped,
            (0, 0),
            100,
        ),
        (
            "too fast",
            c("pve1", true, 1060, 5_000 + 61 * GBIT, 900, 160),
            Outcome::Discarded(DiscardReason::TooFast),
            (0, 0),
            100,
        ),
    ];
    for (name, cur, outcome, (rx, tx), from_s) in cases {
        let s = step(Some(fresh(&prev)), &cur, GBIT);
        assert_eq!(summary(&s), (outcome, rx, tx, from_s, 160), "{name}");
        assert_eq!(s.baseline, cur, "{name}: a fresh push is the next baseline");
    }
}

#[test]
fn first_sight_is_a_baseline_and_a_stopped_guest_counts_from_its_start() {
    let first = c("pve1", true, 500, 7_000, 70, 100);
    let s = step(None, &first, GBIT);
    assert_eq!(
        (s.delta.outcome, s.delta.rx, s.delta.tx),
        (Outcome::Baseline, 0, 0)
    );
    assert_eq!(s.baseline, first);
    let stopped = c("pve1", false, 0, 0, 0, 100);
    let started = c("pve1", true, 50, 4_000, 40, 160);
    let s = step(Some(fresh(&stopped)), &started, GBIT);
    assert_eq!(
        summary(&s),
        (Outcome::Reset(ResetReason::WasStopped), 4_000, 40, 110, 160)
    );
}

#[test]
fn a_re_read_of_the_same_push_is_no_new_data_whatever_the_node_says() {
    let prev = c("pve1", true, 1000, 5_000, 800, 100);
    for node in ["pve1", "pve2"] {
        let again = c(node, true, 1000, 5_000, 800, 110);
        let s = step(Some(seen(&prev, "pve1", 100)), &again, GBIT);
        assert_eq!(summary(&s), (Outcome::Unchanged, 0, 0, 110, 110), "{node}");
        // Counters, node and first sighting all stay.
        assert_eq!(s.baseline, prev, "{node}");
    }
    let stopped = c("pve1", false, 0, 0, 0, 100);
    let s = step(Some(fresh(&stopped)), &c("pve2", false, 0, 0, 0, 200), GBIT);
    assert_eq!(
        (s.delta.outcome, &s.baseline),
        (Outcome::Unchanged, &stopped)
    );
}

#[test]
fn a_migration_counts_the_old_process_once_and_the_new_one_whole() {
    // Old process on pve1 pushed at 100; it moves at 103; the row names pve2 from then on,
    // still with pve1's push, until pve2 pushes at 110 from a process started at 103.
    let p100 = c("pve1", true, 40, 50_000, 5_000, 101);
    let stale = c("pve2", true, 40, 50_000, 5_000, 105);
    let s = step(Some(fresh(&p100)), &stale, GBIT);
    assert_eq!(summary(&s), (Outcome::Unchanged, 0, 0, 105, 105));
    assert_eq!(s.baseline.node, "pve1");
    // The target's push: a young process whose uptime alone would not show it.
    let p110 = c("pve2", true, 7, 60_000, 700, 111);
    let s = step(Some(seen(&p100, "pve2", 105)), &p110, GBIT);
    assert_eq!(
        summary(&s),
        (Outcome::Reset(ResetReason::Migrated), 60_000, 700, 104, 111)
    );
    assert_eq!(s.baseline, p110);
}

#[test]
fn a_push_first_seen_with_the_node_change_is_judged_by_its_stats() {
    let p90 = c("pve1", true, 1000, 50_000, 5_000, 91);
    // pve1's last push (at 100, before the move at 103) is first seen with the new node: the
    // same process went on, only its growth is new.
    let p100 = c("pve2", true, 1010, 58_000, 5_800, 105);
    let s = step(Some(fresh(&p90)), &p100, GBIT);
    assert_eq!(summary(&s), (Outcome::Continued, 8_000, 800, 91, 105));
    assert_eq!(s.baseline, p100);
    // The target's first push shows a process younger than the old one could be.
    let p110 = c("pve2", true, 7, 3_000, 300, 111);
    let s = step(Some(seen(&p100, "pve2", 105)), &p110, GBIT);
    assert_eq!(
        summary(&s),
        (
            Outcome::Reset(ResetReason::UptimeDecreased),
            3_000,
            300,
            105,
            111
        )
    );
    // Without having seen pve1's last push, the target's first push shows the reset itself.
    let s = step(Some(fresh(&p90)), &p110, GBIT);
    assert_eq!(
        summary(&s),
        (
            Outcome::Reset(ResetReason::UptimeDecreased),
            3_000,
            300,
            104,
            111
        )
    );
}

#[test]
fn frozen_stats_count_nothing_until_pushes_resume_then_the_whole_gap() {
    let last = c("pve1", true, 1000, 5_000, 800, 101);
    for at in (111..=401).step_by(10) {
        let frozen = c("pve1", true, 1000, 5_000, 800, at);
        let s = step(Some(seen(&last, "pve1", at - 10)), &frozen, GBIT);
        assert_eq!(
            (s.delta.outcome, s.delta.rx, &s.baseline),
            (Outcome::Unchanged, 0, &last)
        );
    }
    // The node pushes again at 410: 310 s of the same process.
    let resumed = c("pve1", true, 1310, 905_000, 8_800, 411);
    let s = step(Some(seen(&last, "pve1", 401)), &resumed, GBIT);
    assert_eq!(summary(&s), (Outcome::Continued, 900_000, 8_000, 101, 411));
}

#[test]
fn an_unknown_gap_keeps_the_baseline_and_is_counted_at_the_next_push() {
    // Polls during `unknown` only move `seen`; the caller keeps the baseline.
    let last = c("pve1", true, 1000, 5_000, 800, 101);
    let resumed = c("pve1", true, 1000 + 900, 2_005_000, 9_800, 1001);
    let s = step(Some(seen(&last, "pve1", 991)), &resumed, GBIT);
    assert_eq!(
        summary(&s),
        (Outcome::Continued, 2_000_000, 9_000, 101, 1001)
    );
}

#[test]
fn a_reboot_inside_a_stall_shows_in_the_uptime_the_wait_makes_impossible() {
    // Pushed at 100 with 100 s of uptime, frozen until 400, rebooted at 250: the new
    // process's uptime (160 s) is longer than the old one's was, but not 300 s longer.
    let last = c("pve1", true, 100, 5_000, 800, 101);
    let rebooted = c("pve1", true, 160, 9_000, 900, 411);
    let s = step(Some(seen(&last, "pve1", 401)), &rebooted, GBIT);
    assert_eq!(
        summary(&s),
        (
            Outcome::Reset(ResetReason::UptimeDecreased),
            9_000,
            900,
            251,
            411
        )
    );
    // After an exporter restart the wait since the last poll is unknown, and this push may be
    // up to 300 s old: too little to tell (only growth, never an overcount).
    let s = step(Some(fresh(&last)), &rebooted, GBIT);
    assert_eq!(summary(&s), (Outcome::Continued, 4_000, 100, 101, 411));
}

#[test]
fn a_restart_inside_a_long_blind_spell_shows_in_the_uptime_the_push_age_makes_impossible() {
    // Pushed at 100 with 400 s of uptime; the exporter is down (or PVE fails) until 3700.
    // The process was replaced at 700; the row at 3700 was pushed at 3400 at the earliest,
    // so the same process would show at least 400 + 3300 s: 3000 s is a new process.
    let last = c("pve1", true, 400, 5_000, 800, 100);
    let replaced = c("pve1", true, 3000, 9_000, 900, 3700);
    let s = step(Some(fresh(&last)), &replaced, GBIT);
    assert_eq!(
        summary(&s),
        (
            Outcome::Reset(ResetReason::UptimeDecreased),
            9_000,
            900,
            700,
            3700
        )
    );
    // The same process, its push as old as PVE serves: continued.
    let same = c("pve1", true, 400 + 3300, 9_000, 900, 3700);
    let s = step(Some(fresh(&last)), &same, GBIT);
    assert_eq!(s.delta.outcome, Outcome::Continued);
}

#[test]
fn the_uptime_test_allows_one_push_interval_of_slack() {
    // Last listed 25 s after the baseline was first seen: the same process shows at least
    // 25 s more uptime, less the slack.
    let prev = c("pve1", true, 1000, 5_000, 800, 100);
    let known = seen(&prev, "pve1", 125);
    let grown_by = |secs| {
        step(
            Some(known),
            &c("pve1", true, 1000 + secs, 6_000, 900, 131),
            GBIT,
        )
    };
    assert_eq!(
        grown_by(25 - UPTIME_TOLERANCE_SECS).delta.outcome,
        Outcome::Continued
    );
    assert_eq!(
        grown_by(24 - UPTIME_TOLERANCE_SECS).delta.outcome,
        Outcome::Reset(ResetReason::UptimeDecreased)
    );
}

proptest! {
    #[test]
    fn a_re_read_never_changes_anything(
        uptime in 0u64..1 << 30, netin in 0u64..1 << 40, netout in 0u64..1 << 40,
        running: bool, moved: bool, at in 0i64..1_000_000, later in 0i64..1_000_000,
    ) {
        let prev = c("pve1", running, uptime, netin, netout, at);
        let again = c(if moved { "pve2" } else { "pve1" }, running, uptime, netin, netout, at + later);
        let s = step(Some(seen(&prev, "pve2", at + later / 2)), &again, 1);
        prop_assert_eq!(s.delta.outcome, Outcome::Unchanged);
        prop_assert_eq!((s.delta.rx, s.delta.tx), (0, 0));
        prop_assert_eq!(s.baseline, prev);
    }

    #[test]
    fn deltas_never_exceed_what_the_counters_show(
        pn in 0u64..1 << 40, po in 0u64..1 << 40, cn in 0u64..1 << 40, co in 0u64..1 << 40,
        pu in 0u64..1 << 30, cu in 0u64..1 << 30, dt in 0i64..100_000, wait in 0i64..100_000,
        prun: bool, crun: bool, moved: bool, left: bool,
    ) {
        let prev = c("pve1", prun, pu, if prun { pn } else { 0 }, if prun { po } else { 0 }, 1_000);
        let cur = c(if moved { "pve2" } else { "pve1" }, crun, cu, if crun { cn } else { 0 }, if crun { co } else { 0 }, 1_000 + dt);
        let known = seen(&prev, if left { "pve2" } else { "pve1" }, 1_000 + wait.min(dt));
        let d = step(Some(known), &cur, u64::MAX / 2).delta;
        // Never negative (u64), never more than the current counters hold.
        prop_assert!(d.rx <= cur.netin && d.tx <= cur.netout);
        // Only a new process may count more than the growth.
        if !matches!(d.outcome, Outcome::Reset(r) if r != ResetReason::DeviceRecreated) {
            prop_assert!(d.rx <= cur.netin.saturating_sub(prev.netin));
            prop_assert!(d.tx <= cur.netout.saturating_sub(prev.netout));
        }
        // A continued delta is exactly the difference.
        if d.outcome == Outcome::Continued {
            prop_assert_eq!((d.rx, d.tx), (cur.netin - prev.netin, cur.netout - prev.netout));
        }
        prop_assert!(d.from_ms <= d.to_ms);
    }
}
