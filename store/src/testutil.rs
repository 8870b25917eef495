//! Test helpers shared by the store implementations, and the behaviour every [`Store`] must
//! show ([`conformance`], and [`enforcement_conformance`] for [`EnforcementStore`]): each
//! implementation's tests run the same suite, so the SQLite store and the in-memory model
//! cannot drift apart.

use super::enforcement::{ActionRecord, Desired, GuestEnforcement, Release};
use super::*;
use pve_traffic_core::guest::GuestType;

/// 2026-01-01T00:00:00Z, a Thursday.
pub const T0: i64 = 1_767_225_600_000;
/// One day in milliseconds.
pub const DAY: i64 = 24 * HOUR_MS;

/// A running guest `vmid` on pve1 (QEMU when even, LXC when odd) with two tags.
pub fn info(vmid: u32) -> GuestInfo {
    GuestInfo {
        vmid,
        guest_type: if vmid % 2 == 0 {
            GuestType::Qemu
        } else {
            GuestType::Lxc
        },
        name: format!("guest-{vmid}"),
        node: "pve1".into(),
        tags: vec!["prod".into(), "web;x".into()],
        template: false,
        running: true,
    }
}

/// A guest write with the whole delta in the bucket containing `at` and the `day` period.
pub fn gw(vmid: u32, at: i64, rx: u64, tx: u64) -> GuestWrite {
    let buckets = vec![(bucket_start(at), rx, tx)];
    gw_spread(vmid, at, buckets)
}

/// A guest write with the given buckets; periods `hour` and `day` derived from them.
pub fn gw_spread(vmid: u32, at: i64, buckets: Vec<(i64, u64, u64)>) -> GuestWrite {
    let rx = buckets.iter().map(|b| b.1).sum();
    let tx = buckets.iter().map(|b| b.2).sum();
    let mut periods = Vec::new();
    for (key, len) in [("hour", HOUR_MS), ("day", DAY)] {
        for &(s, brx, btx) in &buckets {
            periods.push((key.into(), s.div_euclid(len) * len, brx, btx));
        }
    }
    GuestWrite {
        info: info(vmid),
        counters: RawCounters {
            node: "pve1".into(),
            running: true,
            uptime: 1000,
            netin: rx,
            netout: tx,
            at_ms: at,
        },
        rx,
        tx,
        reset: false,
        buckets,
        periods,
    }
}

/// A cycle at `at_ms` writing `guests`, nothing discarded.
pub fn cycle(at_ms: i64, guests: Vec<GuestWrite>) -> CycleWrite {
    CycleWrite {
        at_ms,
        guests,
        discarded: vec![],
    }
}

fn all<S: Store>(s: &S, vmid: u32) -> Vec<(i64, u64, u64)> {
    s.series(vmid, i64::MIN / 2, i64::MAX / 2).unwrap()
}

/// The behaviour every store must show; `new` makes an empty store.
pub fn conformance<S: Store>(new: impl Fn() -> S) {
    round_trip(new());
    totals_accumulate(new());
    period_usage_sums_cycles_and_separates_windows(new());
    series_returns_buckets_as_written(new());
    retention_keeps_totals(new());
    invalid_cycle_writes_nothing(new());
}

fn round_trip<S: Store>(mut s: S) {
    assert_eq!(s.load_state().unwrap(), StoredState::default());
    assert_eq!(s.last_cycle_ms().unwrap(), None);
    let mut g = gw(100, T0 + 30_000, 1_000, 20);
    g.info.tags = vec![];
    g.info.template = true;
    g.info.running = false;
    g.counters = RawCounters {
        node: "pve2".into(),
        running: false,
        uptime: u64::from(u32::MAX) + 1,
        netin: 1 << 62,
        netout: 7,
        at_ms: T0 + 29_000,
    };
    g.reset = true;
    let mut c = cycle(T0 + 30_000, vec![g.clone(), gw(101, T0 + 30_000, 0, 0)]);
    c.discarded = vec![("max_bandwidth".into(), 2), ("nothing".into(), 0)];
    s.commit_cycle(&c).unwrap();

    let st = s.load_state().unwrap();
    assert_eq!(st.last_cycle_ms, Some(T0 + 30_000));
    assert_eq!(s.last_cycle_ms().unwrap(), Some(T0 + 30_000));
    assert_eq!(
        st.discarded,
        BTreeMap::from([("max_bandwidth".to_string(), 2)])
    );
    let (i, c, t) = &st.guests[&100];
    assert_eq!(i, &g.info);
    assert_eq!(c.as_ref(), Some(&g.counters));
    assert_eq!(
        *t,
        GuestTotals {
            rx: 1_000,
            tx: 20,
            resets: 1
        }
    );
    let (i, _, t) = &st.guests[&101];
    assert_eq!(i.tags, vec!["prod".to_string(), "web;x".into()]);
    assert_eq!(i.guest_type, GuestType::Lxc);
    assert_eq!(*t, GuestTotals::default());
    assert_eq!(st.guests.len(), 2);
}

fn totals_accumulate<S: Store>(mut s: S) {
    for m in 0..10u64 {
        let at = T0 + m as i64 * 60_000;
        let mut g = gw(100, at, m, 2 * m);
        g.reset = m % 3 == 0;
        g.info.name = format!("renamed-{m}");
        let mut c = cycle(at, vec![g]);
        c.discarded = vec![("max_bandwidth".into(), 1)];
        s.commit_cycle(&c).unwrap();
    }
    let st = s.load_state().unwrap();
    let (i, c, t) = &st.guests[&100];
    assert_eq!(i.name, "renamed-9", "description replaced");
    assert_eq!(
        c.as_ref().unwrap().at_ms,
        T0 + 9 * 60_000,
        "counters replaced"
    );
    assert_eq!(
        *t,
        GuestTotals {
            rx: 45,
            tx: 90,
            resets: 4
        }
    );
    assert_eq!(st.discarded["max_bandwidth"], 10);
    assert_eq!(st.last_cycle_ms, Some(T0 + 9 * 60_000));
}

fn period_usage_sums_cycles_and_separates_windows<S: Store>(mut s: S) {
    // Three cycles on day 1, one straddling midnight, one on day 2.
    s.commit_cycle(&cycle(
        T0 + HOUR_MS,
        vec![gw(100, T0 + HOUR_MS, 10, 1), gw(101, T0 + HOUR_MS, 5, 0)],
    ))
    .unwrap();
    s.commit_cycle(&cycle(
        T0 + 2 * HOUR_MS,
        vec![gw(100, T0 + 2 * HOUR_MS, 20, 2)],
    ))
    .unwrap();
    let midnight = T0 + DAY;
    let split = gw_spread(
        100,
        midnight + 60_000,
        vec![(midnight - BUCKET_MS, 3, 0), (midnight, 4, 1)],
    );
    s.commit_cycle(&cycle(midnight + 60_000, vec![split]))
        .unwrap();
    s.commit_cycle(&cycle(
        midnight + HOUR_MS,
        vec![gw(100, midnight + HOUR_MS, 100, 0)],
    ))
    .unwrap();

    let day1 = s.period_usage("day", T0).unwrap();
    assert_eq!(day1, HashMap::from([(100, (33, 3)), (101, (5, 0))]));
    let day2 = s.period_usage("day", midnight).unwrap();
    assert_eq!(day2, HashMap::from([(100, (104, 1))]));
    assert_eq!(
        s.period_usage("day", midnight + DAY).unwrap(),
        HashMap::new()
    );
    assert_eq!(
        s.period_usage("week", T0).unwrap(),
        HashMap::new(),
        "keys are separate"
    );
    assert_eq!(
        s.period_usage("hour", T0 + HOUR_MS).unwrap(),
        HashMap::from([(100, (10, 1)), (101, (5, 0))])
    );
    let t = s.load_state().unwrap().guests[&100].2;
    assert_eq!((t.rx, t.tx), (137, 4));
}

fn series_returns_buckets_as_written<S: Store>(mut s: S) {
    let h1 = T0 + HOUR_MS;
    let last = h1 - BUCKET_MS; // 00:55
                               // One write straddling 01:00, then two more writes into the 01:00 bucket.
    s.commit_cycle(&cycle(
        h1 + 30_000,
        vec![gw_spread(100, h1 + 30_000, vec![(last, 7, 1), (h1, 3, 0)])],
    ))
    .unwrap();
    s.commit_cycle(&cycle(
        h1 + 90_000,
        vec![gw(100, h1 + 90_000, 5, 5), gw(101, h1 + 90_000, 1, 1)],
    ))
    .unwrap();
    s.commit_cycle(&cycle(h1 + 150_000, vec![gw(100, h1 + 150_000, 0, 2)]))
        .unwrap();
    // A later bucket in the second hour, with an empty bucket between.
    s.commit_cycle(&cycle(h1 + 900_000, vec![gw(100, h1 + 900_000, 9, 0)]))
        .unwrap();
    let want = vec![(last, 7, 1), (h1, 8, 7), (h1 + 900_000, 9, 0)];
    assert_eq!(all(&s, 100), want);
    assert_eq!(s.series(100, last, h1 + 900_000).unwrap(), want[..2]);
    assert_eq!(s.series(100, last + 1, h1 + 900_001).unwrap(), want[1..]);
    assert_eq!(s.series(100, h1, h1).unwrap(), vec![]);
    assert_eq!(all(&s, 101), vec![(h1, 1, 1)]);
    assert_eq!(all(&s, 999), vec![]);
    assert_eq!(
        s.hourly(100, T0, T0 + DAY).unwrap(),
        vec![(T0, 7, 1), (h1, 17, 7)]
    );
    assert_eq!(s.hourly(100, T0 + 1, T0 + DAY).unwrap(), vec![(h1, 17, 7)]);
}

fn retention_keeps_totals<S: Store>(mut s: S) {
    // Ten days, one write every 6 hours.
    for i in 0..40 {
        let at = T0 + i * 6 * HOUR_MS + 60_000;
        s.commit_cycle(&cycle(
            at,
            vec![gw(100, at, 100 + i as u64, 1), gw(101, at, 1, 1)],
        ))
        .unwrap();
    }
    let end = T0 + 10 * DAY;
    let usage = |s: &S| {
        (0..10)
            .map(|d| s.period_usage("day", T0 + d * DAY).unwrap())
            .collect::<Vec<_>>()
    };
    let (totals, days, hours) = (
        s.load_state().unwrap(),
        usage(&s),
        s.hourly(100, T0, end).unwrap(),
    );
    assert_eq!(s.series(100, T0, end).unwrap().len(), 40);

    // Keep 3 days at end + 1 minute: the hours that ended by day 7 00:01 lose their detail.
    let now = end + 60_000;
    let dropped = s.apply_retention(now, 3).unwrap();
    assert_eq!(
        dropped,
        2 * 7 * 4,
        "two guests, four written hours a day, seven days"
    );
    let kept = s.series(100, T0, end).unwrap();
    assert_eq!(kept.len(), 12);
    assert!(kept.iter().all(|b| b.0 >= T0 + 7 * DAY), "{kept:?}");
    assert_eq!(s.load_state().unwrap(), totals);
    assert_eq!(usage(&s), days);
    assert_eq!(s.hourly(100, T0, end).unwrap(), hours);
    assert_eq!(s.apply_retention(now, 3).unwrap(), 0, "idempotent");

    // New writes still accumulate on top of trimmed history.
    s.commit_cycle(&cycle(now, vec![gw(100, now, 1, 0)]))
        .unwrap();
    assert_eq!(
        s.load_state().unwrap().guests[&100].2.rx,
        totals.guests[&100].2.rx + 1
    );
}

fn invalid_cycle_writes_nothing<S: Store>(mut s: S) {
    let mut bad = gw(101, T0, 10, 0);
    bad.buckets[0].1 = 9;
    let c = cycle(T0, vec![gw(100, T0, 10, 0), bad]);
    let e = s.commit_cycle(&c).unwrap_err();
    assert!(matches!(e, StoreError::InvalidWrite(_)), "{e}");
    assert_eq!(s.load_state().unwrap(), StoredState::default());
    assert_eq!(all(&s, 100), vec![]);
}

/// An enforcement record with every field set, and every state of `KeyChange::set`: net0's
/// `rate` written as a value, its `link_down` written as absent, net1's keys never written
/// (and net1's `rate` originally absent), net2 with both keys untouched.
pub fn enforcement_full(vmid: u32) -> GuestEnforcement {
    use super::enforcement::{KeyChange, NicChange, PendingShutdown, Stage};
    GuestEnforcement {
        vmid,
        applied: Desired::RateLimit { mb: 12.345_678_9 },
        stage: Stage::Applied,
        reasons: BTreeMap::from([
            ("monthly-cap".to_string(), T0 + 31 * DAY),
            ("daily \"burst\"; ünïcode".to_string(), T0 + DAY),
        ]),
        since_ms: T0 + 1,
        nics: BTreeMap::from([
            (
                "net0".to_string(),
                NicChange {
                    rate: KeyChange {
                        original: Some("100".into()),
                        set: Some(Some("12.345".into())),
                    },
                    link_down: KeyChange {
                        original: Some("0".into()),
                        set: Some(None),
                    },
                },
            ),
            (
                "net1".to_string(),
                NicChange {
                    rate: KeyChange {
                        original: None,
                        set: None,
                    },
                    link_down: KeyChange {
                        original: Some("1".into()),
                        set: None,
                    },
                },
            ),
            ("net2".to_string(), NicChange::default()),
        ]),
        was_running: Some(true),
        pending_shutdown: Some(PendingShutdown {
            upid: "UPID:pve1:0000ABCD:00000001:65A1B2C3:qmshutdown:100:root@pam:".into(),
            node: "pve1".into(),
            deadline_ms: T0 + 180_000,
        }),
    }
}

/// An enforcement record with every `Option` `None` and every map empty.
pub fn enforcement_minimal(vmid: u32) -> GuestEnforcement {
    GuestEnforcement {
        vmid,
        applied: Desired::Notify,
        stage: super::enforcement::Stage::Intent,
        reasons: BTreeMap::new(),
        since_ms: -5,
        nics: BTreeMap::new(),
        was_running: None,
        pending_shutdown: None,
    }
}

/// An action log line; `n` makes its detail unique.
pub fn action(at_ms: i64, vmid: u32, n: u32) -> ActionRecord {
    ActionRecord {
        at_ms,
        vmid,
        rule: Some("monthly-cap".into()),
        action: "rate_limit".into(),
        used: Some(1 << 40),
        limit: Some(1 << 39),
        result: "ok".into(),
        detail: format!("line {n}"),
        actor: "enforcer".into(),
    }
}

/// The behaviour every [`EnforcementStore`] must show; `new` makes an empty store.
pub fn enforcement_conformance<S: EnforcementStore>(new: impl Fn() -> S) {
    enforcement_round_trip(new());
    enforcement_save_replaces_the_whole_record(new());
    enforcement_delete(new());
    enforcement_invalid_writes_nothing(new());
    releases_filtered_by_time(new());
    action_log_order_limit_filter(new());
}

fn enforcement_round_trip<S: EnforcementStore>(mut s: S) {
    assert!(s.load_enforcements().unwrap().is_empty());
    let full = enforcement_full(100);
    let minimal = enforcement_minimal(101);
    s.save_enforcement(&full).unwrap();
    s.save_enforcement(&minimal).unwrap();
    let mut every_kind = Vec::new();
    for (i, applied) in [
        Desired::Normal,
        Desired::Notify,
        Desired::RateLimit { mb: 0.5 },
        Desired::Disconnect,
        Desired::Shutdown,
        Desired::Stop,
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = enforcement_minimal(200 + i as u32);
        e.applied = applied;
        e.was_running = Some(false);
        s.save_enforcement(&e).unwrap();
        every_kind.push(e);
    }
    let loaded = s.load_enforcements().unwrap();
    assert_eq!(loaded[&100], full);
    assert_eq!(loaded[&101], minimal);
    for e in every_kind {
        assert_eq!(loaded[&e.vmid], e);
    }
    assert_eq!(loaded.len(), 8);
    // The three states of `set`, spelled out.
    let nics = &loaded[&100].nics;
    assert_eq!(nics["net0"].rate.set, Some(Some("12.345".to_string())));
    assert_eq!(nics["net0"].link_down.set, Some(None));
    assert_eq!(nics["net1"].rate.set, None);
    assert_eq!(nics["net1"].rate.original, None);
}

fn enforcement_save_replaces_the_whole_record<S: EnforcementStore>(mut s: S) {
    s.save_enforcement(&enforcement_full(100)).unwrap();
    // Intent → applied, one reason and one NIC fewer, shutdown finished.
    let mut e = enforcement_full(100);
    e.stage = super::enforcement::Stage::Intent;
    e.applied = Desired::Stop;
    e.reasons.remove("monthly-cap");
    e.nics.remove("net1");
    e.nics.get_mut("net0").unwrap().rate.set = None;
    e.pending_shutdown = None;
    e.was_running = Some(false);
    s.save_enforcement(&e).unwrap();
    assert_eq!(s.load_enforcements().unwrap(), BTreeMap::from([(100, e)]));
}

fn enforcement_delete<S: EnforcementStore>(mut s: S) {
    s.save_enforcement(&enforcement_full(100)).unwrap();
    s.save_enforcement(&enforcement_full(101)).unwrap();
    s.delete_enforcement(100).unwrap();
    s.delete_enforcement(100).unwrap(); // absent: not an error
    s.delete_enforcement(999).unwrap();
    assert_eq!(
        s.load_enforcements().unwrap(),
        BTreeMap::from([(101, enforcement_full(101))])
    );
    // A deleted guest can be enforced again from scratch.
    s.save_enforcement(&enforcement_minimal(100)).unwrap();
    assert_eq!(
        s.load_enforcements().unwrap()[&100],
        enforcement_minimal(100)
    );
}

fn enforcement_invalid_writes_nothing<S: EnforcementStore>(mut s: S) {
    s.save_enforcement(&enforcement_full(100)).unwrap();
    for mb in [f64::NAN, f64::INFINITY] {
        let mut e = enforcement_minimal(100);
        e.applied = Desired::RateLimit { mb };
        let err = s.save_enforcement(&e).unwrap_err();
        assert!(matches!(err, StoreError::InvalidWrite(_)), "{err}");
    }
    assert_eq!(s.load_enforcements().unwrap()[&100], enforcement_full(100));

    let mut a = action(T0, 100, 0);
    a.used = Some(MAX_STORED + 1);
    let err = s.log_action(&a).unwrap_err();
    assert!(
        err.to_string().contains("vmid 100: action log used"),
        "{err}"
    );
    a.used = None;
    a.limit = Some(u64::MAX);
    let err = s.log_action(&a).unwrap_err();
    assert!(matches!(err, StoreError::InvalidWrite(_)), "{err}");
    assert_eq!(s.action_log(None, i64::MIN, usize::MAX).unwrap(), vec![]);
    a.limit = Some(MAX_STORED);
    s.log_action(&a).unwrap();
    assert_eq!(s.action_log(None, i64::MIN, 10).unwrap(), vec![a]);
}

fn releases_filtered_by_time<S: EnforcementStore>(mut s: S) {
    let r = |vmid: u32, rule: Option<&str>, until_ms: i64, at_ms: i64| Release {
        vmid,
        rule: rule.map(str::to_string),
        until_ms,
        at_ms,
    };
    assert_eq!(s.releases(T0).unwrap(), vec![]);
    let a = r(100, Some("monthly-cap"), T0 + DAY, T0 + 10);
    let b = r(101, None, T0 + 2 * DAY, T0 + 5);
    let c = r(100, None, T0 + DAY, T0 + 10); // same time as `a`, added after it
    let expired = r(102, None, T0, T0 - DAY);
    for x in [&a, &b, &c, &expired] {
        s.add_release(x).unwrap();
    }
    assert_eq!(
        s.releases(T0 - 1).unwrap(),
        vec![expired.clone(), b.clone(), a.clone(), c.clone()]
    );
    // `until_ms` is exclusive: a release ending now is over.
    assert_eq!(
        s.releases(T0).unwrap(),
        vec![b.clone(), a.clone(), c.clone()]
    );
    assert_eq!(s.releases(T0 + DAY).unwrap(), vec![b.clone()]);
    assert_eq!(s.releases(T0 + 2 * DAY).unwrap(), vec![]);
}

fn action_log_order_limit_filter<S: EnforcementStore>(mut s: S) {
    assert_eq!(s.action_log(None, i64::MIN, 10).unwrap(), vec![]);
    // Logged out of time order on purpose, and two lines at the same time.
    let lines = [
        action(T0 + 2, 100, 0),
        action(T0, 101, 1),
        action(T0 + 1, 100, 2),
        action(T0 + 2, 101, 3),
        action(T0 + 3, 100, 4),
    ];
    for a in &lines {
        s.log_action(a).unwrap();
    }
    let mut minimal = action(T0 + 4, 102, 5);
    (minimal.rule, minimal.used, minimal.limit) = (None, None, None);
    minimal.detail = String::new();
    s.log_action(&minimal).unwrap();
    let details =
        |v: Vec<ActionRecord>| -> Vec<String> { v.into_iter().map(|a| a.detail).collect() };

    let all = s.action_log(None, i64::MIN, usize::MAX).unwrap();
    assert_eq!(all[0], minimal);
    assert_eq!(all[1], lines[4]);
    assert_eq!(
        details(all),
        ["", "line 4", "line 3", "line 0", "line 2", "line 1"]
    );
    assert_eq!(
        details(s.action_log(None, i64::MIN, 2).unwrap()),
        ["", "line 4"]
    );
    assert_eq!(s.action_log(None, i64::MIN, 0).unwrap(), vec![]);
    // `since_ms` is inclusive.
    assert_eq!(
        details(s.action_log(None, T0 + 2, 10).unwrap()),
        ["", "line 4", "line 3", "line 0"]
    );
    assert_eq!(
        details(s.action_log(Some(100), i64::MIN, 10).unwrap()),
        ["line 4", "line 0", "line 2"]
    );
    assert_eq!(
        details(s.action_log(Some(100), T0 + 1, 2).unwrap()),
        ["line 4", "line 0"]
    );
    assert_eq!(
        details(s.action_log(Some(101), T0 + 1, 10).unwrap()),
        ["line 3"]
    );
    assert_eq!(s.action_log(Some(999), i64::MIN, 10).unwrap(), vec![]);
}

/// Splits `n` bytes over the 5-minute buckets of `(from, to]` in proportion to time, exactly
/// (largest remainder), as the accountant does.
pub fn spread(from: i64, to: i64, n: u64) -> Vec<(i64, u64)> {
    assert!(from < to);
    let mut parts = Vec::new();
    let mut b = bucket_start(from);
    while b < to {
        let overlap = (b + BUCKET_MS).min(to) - b.max(from);
        if overlap > 0 {
            parts.push((b, overlap));
        }
        b += BUCKET_MS;
    }
    let len = (to - from) as u128;
    let mut out: Vec<(i64, u64)> = parts
        .iter()
        .map(|&(b, o)| (b, (u128::from(n) * o as u128 / len) as u64))
        .collect();
    let given: u64 = out.iter().map(|p| p.1).sum();
    let last = out.len() - 1;
    out[last].1 += n - given;
    out
}

/// The behaviour every [`HistoryStore`] must show; `new` makes an empty store.
pub fn history_conformance<S: history::HistoryStore>(new: impl Fn() -> S) {
    range_totals_whole_hours_and_edges(new());
    range_totals_flag_edges_without_detail(new());
    cleanup_deletes_exactly_the_plan(new());
    cleanup_of_one_guest_and_before(new());
}

/// Two guests, traffic in buckets 00:55, 01:00, 01:15 and 02:30 of day 1 (guest 101 only at
/// 01:15), with `hour` and `day` accumulators.
fn history_fixture<S: Store>(s: &mut S) {
    let b = |m: i64| T0 + m * 60_000;
    let g100 = gw_spread(
        100,
        b(151),
        vec![
            (b(55), 1, 2),
            (b(60), 10, 20),
            (b(75), 100, 200),
            (b(150), 1000, 2000),
        ],
    );
    let g101 = gw_spread(101, b(151), vec![(b(75), 5, 6)]);
    s.commit_cycle(&cycle(b(151), vec![g100, g101])).unwrap();
}

fn range_totals_whole_hours_and_edges<S: history::HistoryStore>(mut s: S) {
    history_fixture(&mut s);
    let m = |m: i64| T0 + m * 60_000;
    let t = |from, to| s.range_totals(from, to).unwrap();
    assert_eq!(
        t(T0, T0 + DAY).guests,
        BTreeMap::from([(100, (1111, 2222)), (101, (5, 6))])
    );
    assert_eq!(t(T0, T0 + DAY).missing_detail_hour, None);
    // Edges: 00:55..01:00 from detail, then whole hour 01:00, then 02:00..02:30 (excluded).
    assert_eq!(
        t(m(55), m(150)).guests,
        BTreeMap::from([(100, (111, 222)), (101, (5, 6))])
    );
    // Inside one hour.
    assert_eq!(t(m(60), m(75)).guests, BTreeMap::from([(100, (10, 20))]));
    assert_eq!(t(m(60), m(60)).guests, BTreeMap::new());
    // Every range's totals equal the sum of the series.
    for (from, to) in [
        (m(0), m(65)),
        (m(55), m(155)),
        (m(80), m(180)),
        (m(5), m(10)),
    ] {
        let want: BTreeMap<u32, (u64, u64)> = [100, 101]
            .into_iter()
            .filter_map(|v| {
                let (rx, tx) = s
                    .series(v, from, to)
                    .unwrap()
                    .iter()
                    .fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
                ((rx, tx) != (0, 0)).then_some((v, (rx, tx)))
            })
            .collect();
        assert_eq!(t(from, to).guests, want, "{from}..{to}");
    }
    let e = s.range_totals(m(1), m(60)).unwrap_err();
    assert!(matches!(e, StoreError::InvalidWrite(_)), "{e}");
}

fn range_totals_flag_edges_without_detail<S: history::HistoryStore>(mut s: S) {
    history_fixture(&mut s);
    s.apply_retention(T0 + 10 * DAY, 1).unwrap();
    let m = |m: i64| T0 + m * 60_000;
    // Whole hours are still exact from the hour totals.
    let whole = s.range_totals(T0, T0 + 3 * HOUR_MS).unwrap();
    assert_eq!(whole.guests[&100], (1111, 2222));
    assert_eq!(whole.missing_detail_hour, None);
    let part = s.range_totals(m(30), m(120)).unwrap();
    assert_eq!(part.missing_detail_hour, Some(T0));
    assert_eq!(part.guests[&100], (110, 220), "the whole 01:00 hour only");
}

fn counts<S: history::HistoryStore>(s: &S) -> (usize, usize) {
    let hours: usize = [100, 101]
        .iter()
        .map(|&v| s.hourly(v, i64::MIN, i64::MAX).unwrap().len())
        .sum();
    (hours, s.period_usage("day", T0).unwrap().len())
}

fn cleanup_deletes_exactly_the_plan<S: history::HistoryStore>(mut s: S) {
    use history::{CleanupGuest, CleanupPlan, CleanupScope};
    history_fixture(&mut s);
    let state = s.load_state().unwrap();
    let hour2 = s.period_usage("hour", T0 + 2 * HOUR_MS).unwrap();
    // Hours 00:00 and 01:00: both hour windows go, the day window is only partly inside.
    let scope = CleanupScope::new(None, T0, T0 + 2 * HOUR_MS, jiff::tz::TimeZone::UTC).unwrap();
    let plan = s.cleanup_plan(&scope).unwrap();
    assert_eq!(
        plan,
        BTreeMap::from([
            (
                100,
                CleanupGuest {
                    hour_rows: 2,
                    rx: 111,
                    tx: 222,
                    period_rows: 2
                }
            ),
            (
                101,
                CleanupGuest {
                    hour_rows: 1,
                    rx: 5,
                    tx: 6,
                    period_rows: 1
                }
            ),
        ])
    );
    assert_eq!(counts(&s), (4, 2), "listing deletes nothing");
    let mut other = plan.clone();
    other.get_mut(&101).unwrap().hour_rows = 2;
    let e = s.cleanup(&scope, &other).unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(counts(&s), (4, 2), "a refused cleanup deletes nothing");

    assert_eq!(s.cleanup(&scope, &plan).unwrap(), plan);
    assert_eq!(
        s.hourly(100, i64::MIN, i64::MAX).unwrap(),
        vec![(T0 + 2 * HOUR_MS, 1000, 2000)]
    );
    assert_eq!(s.hourly(101, i64::MIN, i64::MAX).unwrap(), vec![]);
    assert_eq!(s.period_usage("hour", T0).unwrap(), HashMap::new());
    assert_eq!(
        s.period_usage("hour", T0 + HOUR_MS).unwrap(),
        HashMap::new()
    );
    assert_eq!(
        s.period_usage("hour", T0 + 2 * HOUR_MS).unwrap(),
        hour2,
        "outside kept"
    );
    assert_eq!(
        s.period_usage("day", T0).unwrap().len(),
        2,
        "partly inside: kept"
    );
    assert_eq!(
        s.load_state().unwrap(),
        state,
        "lifetime totals never change"
    );
    assert_eq!(s.cleanup_plan(&scope).unwrap(), CleanupPlan::new());
}

fn cleanup_of_one_guest_and_before<S: history::HistoryStore>(mut s: S) {
    use history::CleanupScope;
    history_fixture(&mut s);
    let utc = jiff::tz::TimeZone::UTC;
    let one = CleanupScope::new(Some(101), T0, T0 + DAY, utc.clone()).unwrap();
    let plan = s.cleanup_plan(&one).unwrap();
    assert_eq!(plan.keys().copied().collect::<Vec<_>>(), vec![101]);
    // 101 has one hour row, its hour-01 accumulator and its day accumulator.
    assert_eq!((plan[&101].hour_rows, plan[&101].period_rows), (1, 2));
    s.cleanup(&one, &plan).unwrap();
    assert_eq!(s.period_usage("day", T0).unwrap().len(), 1);
    assert_eq!(s.hourly(100, i64::MIN, i64::MAX).unwrap().len(), 3);

    let before = CleanupScope::new(None, i64::MIN, T0 + 2 * HOUR_MS, utc).unwrap();
    let plan = s.cleanup_plan(&before).unwrap();
    assert_eq!((plan[&100].hour_rows, plan[&100].rx), (2, 111));
    s.cleanup(&before, &plan).unwrap();
    assert_eq!(s.hourly(100, i64::MIN, i64::MAX).unwrap().len(), 1);
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// One cycle: seconds since the previous one and, per guest present, (vmid, rx, tx, reset).
    type Plan = Vec<(i64, Vec<(u32, u64, u64, bool)>)>;

    fn cycles() -> impl Strategy<Value = Plan> {
        let gap = prop_oneof![8 => 1i64..=600, 1 => 600i64..=4 * 86_400];
        let bytes = prop_oneof![4 => 0u64..1_000_000_000, 1 => Just(0u64), 1 => 0u64..1 << 50];
        let guest = (bytes.clone(), bytes, any::<bool>());
        let guests = prop::collection::btree_map(100u32..105, guest, 0..5).prop_map(|m| {
            m.into_iter()
                .map(|(vmid, (rx, tx, reset))| (vmid, rx, tx, reset))
                .collect::<Vec<_>>()
        });
        prop::collection::vec((gap, guests), 1..40)
    }

    const KEYS: [(&str, i64); 4] = [
        ("hour", HOUR_MS),
        ("day", DAY),
        ("week", 7 * DAY),
        ("5min", BUCKET_MS),
    ];

    fn build(plan: &Plan) -> Vec<CycleWrite> {
        let mut at = T0 + 17_000;
        let mut out = Vec::new();
        for (gap, guests) in plan {
            let prev = at;
            at += gap * 1000;
            let guests = guests
                .iter()
                .map(|&(vmid, rx, tx, reset)| {
                    let rxs = spread(prev, at, rx);
                    let txs = spread(prev, at, tx);
                    let buckets: Vec<_> =
                        rxs.iter().zip(&txs).map(|(r, t)| (r.0, r.1, t.1)).collect();
                    let mut periods = Vec::new();
                    for (key, len) in KEYS {
                        for &(s, brx, btx) in &buckets {
                            periods.push((key.into(), s.div_euclid(len) * len, brx, btx));
                        }
                    }
                    let mut g = gw_spread(vmid, at, buckets);
                    g.periods = periods;
                    g.reset = reset;
                    g
                })
                .collect();
            out.push(cycle(at, guests));
        }
        out
    }

    fn check_invariants<S: Store>(s: &S, cycles: &[CycleWrite]) -> Result<(), TestCaseError> {
        let st = s.load_state().unwrap();
        for (&vmid, (_, _, t)) in &st.guests {
            let series = all(s, vmid);
            prop_assert!(series.windows(2).all(|w| w[0].0 < w[1].0), "ascending");
            let sum = series.iter().fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
            prop_assert_eq!(sum, (t.rx, t.tx), "series == totals for {}", vmid);
            let hours = s.hourly(vmid, i64::MIN / 2, i64::MAX / 2).unwrap();
            let hsum = hours.iter().fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
            prop_assert_eq!(hsum, (t.rx, t.tx), "hourly == totals for {}", vmid);
        }
        for (key, len) in KEYS {
            let windows: std::collections::BTreeSet<i64> = cycles
                .iter()
                .flat_map(|c| &c.guests)
                .flat_map(|g| &g.buckets)
                .map(|b| b.0.div_euclid(len) * len)
                .collect();
            let mut sums: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
            for w in windows {
                for (vmid, (rx, tx)) in s.period_usage(key, w).unwrap() {
                    let e = sums.entry(vmid).or_default();
                    e.0 += rx;
                    e.1 += tx;
                }
            }
            for (&vmid, (_, _, t)) in &st.guests {
                let got = sums.get(&vmid).copied().unwrap_or_default();
                prop_assert_eq!(got, (t.rx, t.tx), "periods {} == totals for {}", key, vmid);
            }
        }
        Ok(())
    }

    fn same<A: Store, B: Store>(a: &A, b: &B) -> Result<(), TestCaseError> {
        let st = a.load_state().unwrap();
        prop_assert_eq!(&st, &b.load_state().unwrap());
        for &vmid in st.guests.keys() {
            prop_assert_eq!(all(a, vmid), all(b, vmid));
            let (lo, hi) = (i64::MIN / 2, i64::MAX / 2);
            prop_assert_eq!(
                a.hourly(vmid, lo, hi).unwrap(),
                b.hourly(vmid, lo, hi).unwrap()
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random cycles: series over all time == totals == hourly == sum of every period
        /// key's windows; SQLite agrees with the model, also after retention.
        #[test]
        fn sums_agree(plan in cycles(), keep_days in 0u32..5, late in 0i64..3 * DAY) {
            let cycles = build(&plan);
            let mut sql = SqliteStore::open_in_memory().unwrap();
            let mut mem = MemStore::new();
            for c in &cycles {
                sql.commit_cycle(c).unwrap();
                mem.commit_cycle(c).unwrap();
            }
            check_invariants(&sql, &cycles)?;
            check_invariants(&mem, &cycles)?;
            same(&sql, &mem)?;

            let now = cycles.last().unwrap().at_ms + late;
            prop_assert_eq!(sql.apply_retention(now, keep_days).unwrap(),
                            mem.apply_retention(now, keep_days).unwrap());
            same(&sql, &mem)?;
            let st = sql.load_state().unwrap();
            for (&vmid, (_, _, t)) in &st.guests {
                let h = sql.hourly(vmid, i64::MIN / 2, i64::MAX / 2).unwrap();
                let hsum = h.iter().fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2));
                prop_assert_eq!(hsum, (t.rx, t.tx));
            }
        }

        /// Random cycles and ranges: the range totals of all guests equal each guest's
        /// 5-minute series over the range, in SQLite and in the model; a random cleanup plans
        /// and deletes the same in both, and exactly the hours in its range.
        #[test]
        fn range_totals_and_cleanup_agree(
            plan in cycles(),
            from in 0i64..2_000,
            len in 0i64..2_000,
            hours in (0i64..200, 1i64..200),
            one in prop::option::of(100u32..105),
        ) {
            let cycles = build(&plan);
            let mut sql = SqliteStore::open_in_memory().unwrap();
            let mut mem = MemStore::new();
            for c in &cycles {
                sql.commit_cycle(c).unwrap();
                mem.commit_cycle(c).unwrap();
            }
            let (a, b) = (T0 + from * BUCKET_MS, T0 + (from + len) * BUCKET_MS);
            let totals = sql.range_totals(a, b).unwrap();
            prop_assert_eq!(&totals, &mem.range_totals(a, b).unwrap());
            prop_assert_eq!(totals.missing_detail_hour, None);
            for vmid in 100..105 {
                let want = sql.series(vmid, a, b).unwrap().iter()
                    .fold((0, 0), |x, y| (x.0 + y.1, x.1 + y.2));
                prop_assert_eq!(totals.guests.get(&vmid).copied().unwrap_or_default(), want);
            }

            let (lo, hi) = (T0 + hours.0 * HOUR_MS, T0 + (hours.0 + hours.1) * HOUR_MS);
            let scope = history::CleanupScope::new(one, lo, hi, jiff::tz::TimeZone::UTC).unwrap();
            let listed = sql.cleanup_plan(&scope).unwrap();
            prop_assert_eq!(&listed, &mem.cleanup_plan(&scope).unwrap());
            let before: BTreeMap<u32, Vec<(i64, u64, u64)>> =
                (100..105).map(|v| (v, sql.hourly(v, i64::MIN / 2, i64::MAX / 2).unwrap())).collect();
            prop_assert_eq!(sql.cleanup(&scope, &listed).unwrap(), listed.clone());
            mem.cleanup(&scope, &listed).unwrap();
            same(&sql, &mem)?;
            for (vmid, rows) in before {
                let inside = |h: &(i64, u64, u64)| {
                    one.is_none_or(|v| v == vmid) && (lo..hi).contains(&h.0)
                };
                let kept: Vec<_> = rows.iter().filter(|h| !inside(h)).copied().collect();
                prop_assert_eq!(sql.hourly(vmid, i64::MIN / 2, i64::MAX / 2).unwrap(), kept);
                let gone = rows.iter().filter(|h| inside(h)).count() as u64;
                prop_assert_eq!(listed.get(&vmid).map_or(0, |g| g.hour_rows), gone);
            }
        }

        #[test]
        fn spread_is_exact(from in 0i64..10_000_000, len in 1i64..5_000_000, n in any::<u64>()) {
            let parts = spread(from, from + len, n);
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.1)).sum::<u128>(), u128::from(n));
        }
    }
}
