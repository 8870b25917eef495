//! Test helpers shared by the store implementations, and the behaviour every [`Store`] must
//! show ([`conformance`]): each implementation's tests run the same suite, so the SQLite store
//! and the in-memory model cannot drift apart.

use super::*;
use crate::guest::GuestType;

/// 2026-01-01T00:00:00Z, a Thursday.
pub(crate) const T0: i64 = 1_767_225_600_000;
pub(crate) const DAY: i64 = 24 * HOUR_MS;

pub(crate) fn info(vmid: u32) -> GuestInfo {
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
pub(crate) fn gw(vmid: u32, at: i64, rx: u64, tx: u64) -> GuestWrite {
    let buckets = vec![(bucket_start(at), rx, tx)];
    gw_spread(vmid, at, buckets)
}

/// A guest write with the given buckets; periods `hour` and `day` derived from them.
pub(crate) fn gw_spread(vmid: u32, at: i64, buckets: Vec<(i64, u64, u64)>) -> GuestWrite {
    let rx = buckets.iter().map(|b| b.1).sum();
    let tx = buckets.iter().map(|b| b.2).sum();
    let mut periods = Vec::new();
    for (key, len) in [("hour", HOUR_MS), ("day", DAY)] {
        for &(s, brx, btx) in &buckets {
            periods.push((key.to_string(), s.div_euclid(len) * len, brx, btx));
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

pub(crate) fn cycle(at_ms: i64, guests: Vec<GuestWrite>) -> CycleWrite {
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
pub(crate) fn conformance<S: Store>(new: impl Fn() -> S) {
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

/// Splits `n` bytes over the 5-minute buckets of `(from, to]` in proportion to time, exactly
/// (largest remainder), as the accountant does.
pub(crate) fn spread(from: i64, to: i64, n: u64) -> Vec<(i64, u64)> {
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
                            periods.push((key.to_string(), s.div_euclid(len) * len, brx, btx));
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

        #[test]
        fn spread_is_exact(from in 0i64..10_000_000, len in 1i64..5_000_000, n in any::<u64>()) {
            let parts = spread(from, from + len, n);
            prop_assert_eq!(parts.iter().map(|p| u128::from(p.1)).sum::<u128>(), u128::from(n));
        }
    }
}
