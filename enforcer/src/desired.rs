//! The enforcer's decision: which rules each guest is over, and the state it should be in.
//!
//! Enforcement is a reconciler (docs/design.md, "Enforcement"): each cycle it computes what
//! every guest *should* look like, compares that with what PVE shows and what it persisted
//! (`state`), and writes only the difference. This module is the first half, kept pure so it
//! can be tested as a table and printed as a plan (`plan`) without a PVE or a store: rules,
//! guest facts, usage, releases and "now" are all arguments; nothing here reads the clock,
//! the store or the config, and nothing here changes a guest.
//!
//! The rules of the decision:
//! - a rule watches a guest per [`Rule::applies_to`] (enabled, not excluded, listed, tagged);
//!   templates are never enforced (they cannot run, and PVE refuses most config writes);
//! - a rule is *over* when the bytes it counts in its current window reach its limit:
//!   `used >= limit`. A guest at exactly its quota has used all of it, so the limit is the
//!   first value that is enforced, not the last one that is allowed;
//! - an operator's [`Release`] of that rule (or of all rules) for the guest, still running at
//!   "now", lifts the penalty until it ends; the rule is still reported, marked released;
//! - the strongest penalty of the remaining breaches wins: stop > shutdown > disconnect >
//!   rate limit > notify, and of several rate limits the lowest rate.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use pve_traffic_core::period::{PeriodSpec, Window};
use pve_traffic_core::rules::{Action, Rule};
use pve_traffic_store::enforcement::{Desired, Release};

/// Usage per rule: for each rule name, the (rx, tx) of each guest in the rule's current window.
///
/// The caller reads it from the store for the windows [`Rule::window_at`] gives at the same
/// "now" it passes to [`evaluate`]. A rule or guest missing from it has used nothing.
pub type Usage = HashMap<String, HashMap<u32, (u64, u64)>>;

/// What the decision needs to know about one guest (from PVE's cluster resources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestFacts<'a> {
    /// The guest's VMID.
    pub vmid: u32,
    /// Its PVE tags, as PVE reports them (rules compare them case-insensitively).
    pub tags: &'a [String],
    /// Whether it is a template: templates are never enforced.
    pub template: bool,
}

/// A rule a guest is over and whose penalty is not released: a reason to act.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    /// The rule's name.
    pub rule: String,
    /// The rule's action.
    pub action: Action,
    /// The rule's `rate_limit_mb` (MB/s) when its action is [`Action::RateLimit`], else `None`.
    pub rate_mb: Option<f64>,
    /// Bytes counted against the limit in `window`.
    pub used: u64,
    /// The rule's limit, bytes per window.
    pub limit: u64,
    /// The rule's current window; the penalty lasts until its end.
    pub window: Window,
}

/// Where one applicable rule stands for one guest (for status pages, logs and the plan).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleStatus {
    /// The rule's name.
    pub rule: String,
    /// The rule's period (to name it in reports).
    pub period: PeriodSpec,
    /// The rule's action (what `over` leads to unless `released`).
    pub action: Action,
    /// Bytes counted against the limit in `window` (0 without usage data).
    pub used: u64,
    /// The rule's limit, bytes per window.
    pub limit: u64,
    /// The rule's current window.
    pub window: Window,
    /// `used >= limit`: the quota is used up (at the limit counts as reached).
    pub over: bool,
    /// An operator's release covers this rule for this guest now. A released rule that is
    /// over is not a [`Breach`].
    pub released: bool,
}

/// The decision for one guest.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The guest.
    pub vmid: u32,
    /// Every enabled rule that applies to the guest, in config order (empty for templates).
    pub applicable: Vec<RuleStatus>,
    /// The rules of `applicable` that are over and not released, in config order.
    pub breaches: Vec<Breach>,
    /// The state the guest should be in: [`strongest`] of `breaches`.
    pub desired: Desired,
}

/// A rule prepared once per [`evaluate`] call: its window and its usage map do not depend on
/// the guest, and `window_at` walks time zone rules, so 10,000 guests share one computation.
struct Prepared<'a> {
    rule: &'a Rule,
    window: Window,
    usage: Option<&'a HashMap<u32, (u64, u64)>>,
}

/// Decides the desired state of every guest at `now` (periods local to `tz`).
///
/// Returns one [`Evaluation`] per guest, sorted by VMID, guests no rule applies to included
/// (with desired [`Desired::Normal`], so a reconciler sees them and can restore what it
/// changed earlier). VMIDs are unique in a cluster; should `guests` list one twice, the first
/// entry is used. Disabled rules are ignored; a release counts while `until_ms > now`.
pub fn evaluate(
    rules: &[Rule],
    guests: &[GuestFacts<'_>],
    usage: &Usage,
    releases: &[Release],
    now: Timestamp,
    tz: &TimeZone,
) -> Vec<Evaluation> {
    let now_ms = now.as_millisecond();
    let prepared: Vec<Prepared<'_>> = rules
        .iter()
        .filter(|rule| rule.enabled)
        .map(|rule| Prepared {
            rule,
            window: rule.window_at(now, tz),
            usage: usage.get(&rule.name),
        })
        .collect();
    // Releases still running, by guest: `None` releases every rule. Expired ones are dropped
    // here so the per-guest check is a lookup, not a scan of the release log.
    let mut released: HashMap<u32, Vec<Option<&str>>> = HashMap::new();
    for release in releases.iter().filter(|r| r.until_ms > now_ms) {
        released
            .entry(release.vmid)
            .or_default()
            .push(release.rule.as_deref());
    }

    let mut order: Vec<&GuestFacts<'_>> = guests.iter().collect();
    // Stable, so `dedup_by_key` keeps the first of a duplicated VMID.
    order.sort_by_key(|g| g.vmid);
    order.dedup_by_key(|g| g.vmid);
    order
        .into_iter()
        .map(|guest| {
            let releases = released.get(&guest.vmid).map_or(&[][..], Vec::as_slice);
            evaluate_guest(guest, &prepared, releases)
        })
        .collect()
}

/// The decision for one guest, given the prepared rules and the releases running for it.
fn evaluate_guest(
    guest: &GuestFacts<'_>,
    rules: &[Prepared<'_>],
    releases: &[Option<&str>],
) -> Evaluation {
    let mut applicable = Vec::new();
    let mut breaches = Vec::new();
    if !guest.template {
        for p in rules
            .iter()
            .filter(|p| p.rule.applies_to(guest.vmid, guest.tags))
        {
            let rule = p.rule;
            let (rx, tx) = p
                .usage
                .and_then(|by_guest| by_guest.get(&guest.vmid))
                .copied()
                .unwrap_or((0, 0));
            let used = rule.used(rx, tx);
            let over = used >= rule.limit_bytes;
            let is_released = releases
                .iter()
                .any(|r| r.is_none_or(|name| name == rule.name));
            if over && !is_released {
                breaches.push(Breach {
                    rule: rule.name.clone(),
                    action: rule.action,
                    rate_mb: rule
                        .rate_limit_mb
                        .filter(|_| rule.action == Action::RateLimit),
                    used,
                    limit: rule.limit_bytes,
                    window: p.window,
                });
            }
            applicable.push(RuleStatus {
                rule: rule.name.clone(),
                period: rule.period,
                action: rule.action,
                used,
                limit: rule.limit_bytes,
                window: p.window,
                over,
                released: is_released,
            });
        }
    }
    let desired = strongest(&breaches);
    Evaluation {
        vmid: guest.vmid,
        applicable,
        breaches,
        desired,
    }
}

/// The desired state a rule's action asks for; a rate limit without a rate is PVE's 1 MB/s.
pub fn desired_for(action: Action, rate_mb: Option<f64>) -> Desired {
    match action {
        Action::Notify => Desired::Notify,
        Action::RateLimit => Desired::RateLimit {
            mb: rate_mb.unwrap_or(1.0),
        },
        Action::Disconnect => Desired::Disconnect,
        Action::Shutdown => Desired::Shutdown,
        Action::Stop => Desired::Stop,
    }
}

/// The strength order used to pick the strongest of several desired states.
pub fn strength(d: &Desired) -> u8 {
    match d {
        Desired::Normal => 0,
        Desired::Notify => 1,
        Desired::RateLimit { .. } => 2,
        Desired::Disconnect => 3,
        Desired::Shutdown => 4,
        Desired::Stop => 5,
    }
}

/// The desired state for a set of breaches: the strongest action wins
/// (stop > shutdown > disconnect > rate limit > notify); several rate limits combine to the
/// lowest rate, since that one satisfies all of them. No breach: [`Desired::Normal`].
pub fn strongest(breaches: &[Breach]) -> Desired {
    breaches
        .iter()
        .map(|b| desired_for(b.action, b.rate_mb))
        .fold(Desired::Normal, |best, next| match (&best, &next) {
            // `f64::min` ignores a NaN rate rather than letting it win.
            (Desired::RateLimit { mb: a }, Desired::RateLimit { mb: b }) => {
                Desired::RateLimit { mb: a.min(*b) }
            }
            _ if strength(&next) > strength(&best) => next,
            _ => best,
        })
}

#[cfg(test)]
mod tests {
    use super::super::testing::guest;
    use super::*;
    use proptest::prelude::*;
    use pve_traffic_core::rules::Direction;

    const GIB: u64 = 1 << 30;

    fn now() -> Timestamp {
        "2026-11-15T12:00Z".parse().unwrap()
    }

    /// A monthly rule (the shared fixture).
    fn rule(name: &str, action: Action, limit_bytes: u64) -> Rule {
        super::super::testing::rule(name, PeriodSpec::month(1), action, limit_bytes)
    }

    /// Usage of `(rule, vmid, rx, tx)` rows.
    fn usage(rows: &[(&str, u32, u64, u64)]) -> Usage {
        let mut u = Usage::new();
        for &(rule, vmid, rx, tx) in rows {
            u.entry(rule.to_string())
                .or_default()
                .insert(vmid, (rx, tx));
        }
        u
    }

    fn release(vmid: u32, rule: Option<&str>, until: &str) -> Release {
        Release {
            vmid,
            rule: rule.map(str::to_string),
            until_ms: until.parse::<Timestamp>().unwrap().as_millisecond(),
            at_ms: 0,
        }
    }

    fn eval(
        rules: &[Rule],
        guests: &[GuestFacts<'_>],
        u: &Usage,
        r: &[Release],
    ) -> Vec<Evaluation> {
        evaluate(rules, guests, u, r, now(), &TimeZone::UTC)
    }

    /// One guest (100) over every rule in `rules`.
    fn desired_over_all(rules: &[Rule]) -> Desired {
        let rows: Vec<_> = rules
            .iter()
            .map(|r| (r.name.as_str(), 100, GIB, 0))
            .collect();
        let evals = eval(rules, &[guest(100)], &usage(&rows), &[]);
        assert_eq!(evals[0].breaches.len(), rules.len());
        evals[0].desired.clone()
    }

    #[test]
    fn the_strongest_action_wins() {
        use Action::*;
        let cases: &[(&[Action], Desired)] = &[
            (&[Notify], Desired::Notify),
            (&[Notify, RateLimit], Desired::RateLimit { mb: 10.0 }),
            (&[RateLimit, Disconnect, Notify], Desired::Disconnect),
            (&[Disconnect, Shutdown], Desired::Shutdown),
            (&[Shutdown, Stop], Desired::Stop),
            (
                &[Stop, Shutdown, Disconnect, RateLimit, Notify],
                Desired::Stop,
            ),
            (&[Notify, Notify], Desired::Notify),
        ];
        for (actions, want) in cases {
            let rules: Vec<Rule> = actions
                .iter()
                .enumerate()
                .map(|(i, &a)| rule(&format!("r{i}"), a, GIB))
                .collect();
            assert_eq!(&desired_over_all(&rules), want, "{actions:?}");
        }
    }

    #[test]
    fn two_rate_limits_give_the_lowest_rate() {
        let fast = Rule {
            rate_limit_mb: Some(10.0),
            ..rule("fast", Action::RateLimit, GIB)
        };
        let slow = Rule {
            rate_limit_mb: Some(2.5),
            ..rule("slow", Action::RateLimit, GIB)
        };
        let notify = rule("notify", Action::Notify, GIB);
        let want = Desired::RateLimit { mb: 2.5 };
        assert_eq!(desired_over_all(&[fast.clone(), slow.clone()]), want);
        assert_eq!(desired_over_all(&[slow.clone(), notify, fast]), want);
        // A rate limit without a rate is PVE's 1 MB/s default (desired_for).
        let unset = Rule {
            rate_limit_mb: None,
            ..rule("unset", Action::RateLimit, GIB)
        };
        assert_eq!(
            desired_over_all(&[slow, unset]),
            Desired::RateLimit { mb: 1.0 }
        );
    }

    #[test]
    fn breaches_carry_the_rate_only_for_rate_limits() {
        let odd = Rule {
            rate_limit_mb: Some(3.0),
            ..rule("odd", Action::Stop, GIB)
        };
        let evals = eval(&[odd], &[guest(1)], &usage(&[("odd", 1, GIB, 0)]), &[]);
        assert_eq!(evals[0].breaches[0].rate_mb, None);
        assert_eq!(evals[0].desired, Desired::Stop);
    }

    #[test]
    fn exclusion_wins_over_ids_and_tags() {
        let tags = vec!["monitored".to_string()];
        let r = Rule {
            vm_ids: vec![100, 101],
            vm_tags: tags.clone(),
            exclude_vm_ids: vec![100],
            ..rule("cap", Action::Stop, GIB)
        };
        let guests = [
            GuestFacts {
                vmid: 100,
                tags: &tags,
                template: false,
            },
            GuestFacts {
                vmid: 101,
                tags: &tags,
                template: false,
            },
        ];
        let u = usage(&[("cap", 100, GIB, GIB), ("cap", 101, GIB, GIB)]);
        let evals = eval(&[r], &guests, &u, &[]);
        assert!(evals[0].applicable.is_empty());
        assert_eq!(evals[0].desired, Desired::Normal);
        assert_eq!(evals[1].desired, Desired::Stop);
    }

    #[test]
    fn tags_select_guests_case_insensitively() {
        let r = Rule {
            vm_tags: vec!["Monitored".to_string()],
            ..rule("tagged", Action::Disconnect, GIB)
        };
        let monitored = vec!["web".to_string(), "monitored".to_string()];
        let other = vec!["web".to_string()];
        let guests = [
            GuestFacts {
                vmid: 1,
                tags: &monitored,
                template: false,
            },
            GuestFacts {
                vmid: 2,
                tags: &other,
                template: false,
            },
        ];
        let u = usage(&[("tagged", 1, GIB, 0), ("tagged", 2, GIB, 0)]);
        let evals = eval(&[r], &guests, &u, &[]);
        assert_eq!(evals[0].desired, Desired::Disconnect);
        assert_eq!(evals[0].applicable.len(), 1);
        assert_eq!(evals[1].desired, Desired::Normal);
        assert!(evals[1].applicable.is_empty());
    }

    #[test]
    fn disabled_rules_are_ignored() {
        let off = Rule {
            enabled: false,
            ..rule("off", Action::Stop, 1)
        };
        let on = rule("on", Action::Notify, 1);
        let u = usage(&[("off", 7, GIB, 0), ("on", 7, GIB, 0)]);
        let evals = eval(&[off, on], &[guest(7)], &u, &[]);
        let names: Vec<_> = evals[0]
            .applicable
            .iter()
            .map(|s| s.rule.as_str())
            .collect();
        assert_eq!(names, ["on"]);
        assert_eq!(evals[0].desired, Desired::Notify);
    }

    #[test]
    fn releasing_one_rule_leaves_the_others_enforced() {
        let rules = [
            rule("hard", Action::Stop, GIB),
            rule("soft", Action::RateLimit, GIB),
        ];
        let u = usage(&[
            ("hard", 5, GIB, 0),
            ("soft", 5, GIB, 0),
            ("hard", 6, GIB, 0),
        ]);
        let releases = [
            release(5, Some("hard"), "2026-12-01T00:00Z"),
            // Expired (until == now): no effect.
            release(6, Some("hard"), "2026-11-15T12:00Z"),
            // Another guest's release: no effect on 6.
            release(7, None, "2026-12-01T00:00Z"),
        ];
        let evals = eval(&rules, &[guest(5), guest(6)], &u, &releases);

        let five = &evals[0];
        assert_eq!(five.desired, Desired::RateLimit { mb: 10.0 });
        assert_eq!(five.breaches.len(), 1);
        assert_eq!(five.breaches[0].rule, "soft");
        let hard = &five.applicable[0];
        assert_eq!(
            (hard.rule.as_str(), hard.over, hard.released),
            ("hard", true, true)
        );
        let soft = &five.applicable[1];
        assert_eq!((soft.over, soft.released), (true, false));

        assert_eq!(evals[1].desired, Desired::Stop);
        assert!(!evals[1].applicable[0].released);
    }

    #[test]
    fn releasing_all_rules_lifts_every_penalty() {
        let rules = [
            rule("hard", Action::Stop, GIB),
            rule("soft", Action::RateLimit, GIB),
        ];
        let u = usage(&[("hard", 5, GIB, 0), ("soft", 5, GIB, 0)]);
        let evals = eval(
            &rules,
            &[guest(5)],
            &u,
            &[release(5, None, "2026-11-15T12:00:00.001Z")],
        );
        assert_eq!(evals[0].desired, Desired::Normal);
        assert!(evals[0].breaches.is_empty());
        assert!(evals[0].applicable.iter().all(|s| s.over && s.released));
    }

    #[test]
    fn templates_are_never_enforced() {
        let rules = [rule("cap", Action::Stop, 1)];
        let template = GuestFacts {
            vmid: 9000,
            tags: &[],
            template: true,
        };
        let u = usage(&[("cap", 9000, GIB, GIB)]);
        let evals = eval(&rules, &[template], &u, &[]);
        assert_eq!(evals.len(), 1);
        assert_eq!(evals[0].vmid, 9000);
        assert!(evals[0].applicable.is_empty());
        assert_eq!(evals[0].desired, Desired::Normal);
    }

    #[test]
    fn reaching_the_limit_counts_as_over() {
        let rules = [rule("cap", Action::Shutdown, 1000)];
        let u = usage(&[("cap", 1, 600, 400), ("cap", 2, 600, 399)]);
        let evals = eval(&rules, &[guest(1), guest(2)], &u, &[]);
        assert_eq!(evals[0].applicable[0].used, 1000);
        assert!(evals[0].applicable[0].over);
        assert_eq!(evals[0].desired, Desired::Shutdown);
        assert_eq!(evals[1].applicable[0].used, 999);
        assert!(!evals[1].applicable[0].over);
        assert_eq!(evals[1].desired, Desired::Normal);
    }

    #[test]
    fn usage_is_counted_per_direction_and_missing_usage_is_zero() {
        let rx_only = Rule {
            direction: Direction::Rx,
            ..rule("rx", Action::Stop, 100)
        };
        let u = usage(&[("rx", 1, 99, 1_000_000)]);
        let evals = eval(&[rx_only], &[guest(1), guest(2)], &u, &[]);
        assert_eq!(evals[0].applicable[0].used, 99);
        assert_eq!(evals[0].desired, Desired::Normal);
        assert_eq!(evals[1].applicable[0].used, 0);
        // No usage at all for a rule: nothing used.
        let evals = eval(
            &[rule("none", Action::Stop, 1)],
            &[guest(1)],
            &Usage::new(),
            &[],
        );
        assert_eq!(evals[0].applicable[0].used, 0);
        assert_eq!(evals[0].desired, Desired::Normal);
    }

    #[test]
    fn one_evaluation_per_guest_sorted_with_the_rules_window() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let r = Rule {
            vm_ids: vec![3],
            ..rule("cap", Action::Stop, GIB)
        };
        let guests = [guest(30), guest(3), guest(12), guest(3)];
        let u = usage(&[("cap", 3, GIB, 0)]);
        let evals = evaluate(std::slice::from_ref(&r), &guests, &u, &[], now(), &tz);
        let vmids: Vec<u32> = evals.iter().map(|e| e.vmid).collect();
        assert_eq!(vmids, [3, 12, 30]);
        let window = r.window_at(now(), &tz);
        assert_eq!(evals[0].breaches[0].window, window);
        assert_eq!(evals[0].applicable[0].window, window);
        assert_eq!(evals[0].applicable[0].period, PeriodSpec::month(1));
        assert_eq!(evals[1].desired, Desired::Normal);
        assert!(eval(&[r], &[], &u, &[]).is_empty());
    }

    fn any_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Notify),
            Just(Action::RateLimit),
            Just(Action::Disconnect),
            Just(Action::Shutdown),
            Just(Action::Stop),
        ]
    }

    fn any_rules() -> impl Strategy<Value = Vec<Rule>> {
        let one = (
            any_action(),
            prop::option::of(1u32..100),
            0u64..120,
            any::<bool>(),
            prop::collection::vec(0u32..8, 0..3),
            prop::collection::vec(0u32..8, 0..2),
        );
        prop::collection::vec(one, 0..6).prop_map(|rules| {
            rules
                .into_iter()
                .enumerate()
                .map(|(i, (action, rate, limit, enabled, ids, excluded))| Rule {
                    enabled,
                    rate_limit_mb: rate.map(|r| f64::from(r) / 4.0),
                    vm_ids: ids,
                    exclude_vm_ids: excluded,
                    ..rule(&format!("r{i}"), action, limit)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn desired_is_the_strongest_breach(
            rules in any_rules(),
            vmids in prop::collection::vec((0u32..8, any::<bool>()), 0..10),
            rows in prop::collection::vec((0usize..6, 0u32..8, 0u64..80, 0u64..80), 0..40),
            releases in prop::collection::vec((0u32..8, prop::option::of(0usize..6), -5i64..5), 0..6),
        ) {
            let guests: Vec<GuestFacts<'_>> = vmids
                .iter()
                .map(|&(vmid, template)| GuestFacts { vmid, tags: &[], template })
                .collect();
            let mut u = Usage::new();
            for (r, vmid, rx, tx) in rows {
                u.entry(format!("r{r}")).or_default().insert(vmid, (rx, tx));
            }
            let now_ms = now().as_millisecond();
            let releases: Vec<Release> = releases
                .into_iter()
                .map(|(vmid, r, offset)| Release {
                    vmid,
                    rule: r.map(|r| format!("r{r}")),
                    until_ms: now_ms + offset,
                    at_ms: 0,
                })
                .collect();
            let evals = eval(&rules, &guests, &u, &releases);

            let mut unique: Vec<u32> = vmids.iter().map(|v| v.0).collect();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(evals.iter().map(|e| e.vmid).collect::<Vec<_>>(), unique);

            for e in &evals {
                let strengths = e.breaches.iter().map(|b| strength(&desired_for(b.action, b.rate_mb)));
                prop_assert_eq!(strength(&e.desired), strengths.max().unwrap_or(0));
                prop_assert_eq!(e.desired == Desired::Normal, e.breaches.is_empty());
                if let Desired::RateLimit { mb } = e.desired {
                    let lowest = e.breaches.iter()
                        .filter(|b| b.action == Action::RateLimit)
                        .map(|b| b.rate_mb.unwrap_or(1.0))
                        .fold(f64::INFINITY, f64::min);
                    prop_assert_eq!(mb, lowest);
                }
                // Breaches are exactly the applicable rules over their limit and not released.
                let want: Vec<&str> = e.applicable.iter()
                    .filter(|s| s.over && !s.released)
                    .map(|s| s.rule.as_str())
                    .collect();
                let got: Vec<&str> = e.breaches.iter().map(|b| b.rule.as_str()).collect();
                prop_assert_eq!(got, want);
                for s in &e.applicable {
                    prop_assert_eq!(s.over, s.used >= s.limit);
                    let r = rules.iter().find(|r| r.name == s.rule).unwrap();
                    prop_assert!(r.enabled && r.applies_to(e.vmid, &[]));
                    let released = releases.iter().any(|rel| rel.vmid == e.vmid
                        && rel.until_ms > now_ms
                        && rel.rule.as_ref().is_none_or(|n| *n == s.rule));
                    prop_assert_eq!(s.released, released);
                }
                // Every enabled rule that applies is listed, unless the guest is a template.
                let template = vmids.iter().find(|v| v.0 == e.vmid).unwrap().1;
                let applying = rules.iter().filter(|r| r.applies_to(e.vmid, &[])).count();
                prop_assert_eq!(e.applicable.len(), if template { 0 } else { applying });
            }
        }
    }
}
