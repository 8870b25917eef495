//! Traffic rules: which guests a rule watches, how it measures their traffic, how much they
//! may use per period, and what happens when they use more.
//!
//! A [`Rule`] is already validated (parsing and checking the YAML is the config's job); this
//! module answers the pure questions the enforcer and the exporter ask of it: does it apply to
//! this guest, how many of these bytes count, which window is current at a given instant, and
//! which of two actions is stronger. Usage itself comes from the store, the time
//! from the caller: nothing here reads the clock or talks to PVE.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::period::{PeriodSpec, Window};

crate::vocabulary! {
    /// Which traffic counts against a rule's limit (the guest's view: rx = download); its
    /// name is the config's `direction:` and the metric label `direction`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Direction ("direction") {
        /// Download plus upload.
        Both = "both",
        /// Download only (PVE `netin`).
        Rx = "rx",
        /// Upload only (PVE `netout`).
        Tx = "tx",
        /// The larger of the two.
        Max = "max",
    }
}

impl Direction {
    /// The bytes that count against a limit, from `rx` (download) and `tx` (upload).
    /// `Both` saturates at `u64::MAX` instead of wrapping: a sum that large is over any limit.
    pub fn used(self, rx: u64, tx: u64) -> u64 {
        match self {
            Direction::Both => rx.saturating_add(tx),
            Direction::Rx => rx,
            Direction::Tx => tx,
            Direction::Max => rx.max(tx),
        }
    }
}

crate::vocabulary! {
    /// What the enforcer does to a guest over its limit; its name is the config's `action:`
    /// and the metric label `action`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Action ("action") {
        /// ACPI shutdown, falling back to stop after a timeout.
        Shutdown = "shutdown",
        /// Hard stop.
        Stop = "stop",
        /// `link_down=1` on every NIC.
        Disconnect = "disconnect",
        /// `rate=R` on every NIC.
        RateLimit = "rate_limit",
        /// Only report.
        Notify = "notify",
    }
}

impl Action {
    /// How strong the action is, for choosing among the rules a guest is over (the
    /// strongest wins): stop 4 > shutdown 3 > disconnect 2 > rate_limit 1 > notify 0.
    /// Shutdown is weaker than stop because it lets the guest decide when to go down; among
    /// rate limits the lowest rate wins, which the caller decides from `rate_limit_mb`.
    pub fn strength(self) -> u8 {
        match self {
            Action::Stop => 4,
            Action::Shutdown => 3,
            Action::Disconnect => 2,
            Action::RateLimit => 1,
            Action::Notify => 0,
        }
    }
}

/// One validated rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Unique name (metric label `rule`).
    pub name: String,
    /// Disabled rules are kept in the config but never evaluated.
    pub enabled: bool,
    /// The period the limit applies to.
    pub period: PeriodSpec,
    /// Which traffic counts.
    pub direction: Direction,
    /// Allowed bytes per period.
    pub limit_bytes: u64,
    /// What happens over the limit.
    pub action: Action,
    /// `rate` in MB/s (PVE's unit) for [`Action::RateLimit`].
    pub rate_limit_mb: Option<f64>,
    /// Guests the rule applies to; empty = all.
    pub vm_ids: Vec<u32>,
    /// Tags of which any one selects a guest; empty = no tag filter.
    pub vm_tags: Vec<String>,
    /// Guests never affected (wins over everything).
    pub exclude_vm_ids: Vec<u32>,
}

impl Rule {
    /// Whether the rule watches guest `vmid` with PVE tags `tags`: the rule is enabled, the
    /// guest is not in `exclude_vm_ids` (which wins over everything), `vm_ids` is empty or
    /// lists it, and `vm_tags` is empty or shares a tag with it (case-insensitively; PVE
    /// keeps tags as typed, operators do not).
    pub fn applies_to(&self, vmid: u32, tags: &[String]) -> bool {
        if !self.enabled || self.exclude_vm_ids.contains(&vmid) {
            return false;
        }
        if !self.vm_ids.is_empty() && !self.vm_ids.contains(&vmid) {
            return false;
        }
        self.vm_tags.is_empty()
            || self
                .vm_tags
                .iter()
                .any(|want| tags.iter().any(|have| same_tag(want, have)))
    }

    /// The bytes that count against this rule's limit (see [`Direction::used`]).
    pub fn used(&self, rx: u64, tx: u64) -> u64 {
        self.direction.used(rx, tx)
    }

    /// The rule's period window containing `t` in `tz` (`monitor.timezone`).
    pub fn window_at(&self, t: Timestamp, tz: &TimeZone) -> Window {
        self.period.window_at(t, tz)
    }
}

/// Tag equality ignoring case: ASCII fast path (PVE tags are ASCII), Unicode lowercase
/// otherwise.
fn same_tag(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::PeriodKind;
    use proptest::prelude::*;

    fn rule() -> Rule {
        Rule {
            name: "monthly_limit".to_string(),
            enabled: true,
            period: PeriodSpec::month(15),
            direction: Direction::Both,
            limit_bytes: 1 << 40,
            action: Action::Shutdown,
            rate_limit_mb: None,
            vm_ids: Vec::new(),
            vm_tags: Vec::new(),
            exclude_vm_ids: Vec::new(),
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn direction_counts_the_right_bytes() {
        let cases = [
            (Direction::Both, 3, 4, 7),
            (Direction::Rx, 3, 4, 3),
            (Direction::Tx, 3, 4, 4),
            (Direction::Max, 3, 4, 4),
            (Direction::Max, 9, 4, 9),
            (Direction::Both, u64::MAX, 1, u64::MAX),
            (Direction::Both, u64::MAX - 5, 5, u64::MAX),
        ];
        for (direction, rx, tx, want) in cases {
            assert_eq!(
                direction.used(rx, tx),
                want,
                "{} {rx} {tx}",
                direction.as_str()
            );
        }
        let names = [
            Direction::Both,
            Direction::Rx,
            Direction::Tx,
            Direction::Max,
        ]
        .map(Direction::as_str);
        assert_eq!(names, ["both", "rx", "tx", "max"]);
    }

    #[test]
    fn actions_are_named_and_ordered_by_strength() {
        let strongest_first = [
            Action::Stop,
            Action::Shutdown,
            Action::Disconnect,
            Action::RateLimit,
            Action::Notify,
        ];
        assert_eq!(
            strongest_first.map(Action::as_str),
            ["stop", "shutdown", "disconnect", "rate_limit", "notify"]
        );
        for pair in strongest_first.windows(2) {
            assert!(
                pair[0].strength() > pair[1].strength(),
                "{:?} should beat {:?}",
                pair[0],
                pair[1]
            );
        }
        let strongest = [Action::Notify, Action::Shutdown, Action::RateLimit]
            .into_iter()
            .max_by_key(|a| a.strength());
        assert_eq!(strongest, Some(Action::Shutdown));
    }

    #[test]
    fn selection_by_ids_tags_and_exclusions() {
        let all = rule();
        assert!(all.applies_to(100, &[]));
        assert!(all.applies_to(7, &tags(&["anything"])));

        let disabled = Rule {
            enabled: false,
            ..rule()
        };
        assert!(!disabled.applies_to(100, &[]));

        let ids = Rule {
            vm_ids: vec![100, 101],
            ..rule()
        };
        assert!(ids.applies_to(101, &[]));
        assert!(!ids.applies_to(102, &[]));

        let tagged = Rule {
            vm_tags: tags(&["monitored", "Billing"]),
            ..rule()
        };
        assert!(tagged.applies_to(5, &tags(&["web", "MONITORED"])));
        assert!(tagged.applies_to(5, &tags(&["billing"])));
        assert!(!tagged.applies_to(5, &tags(&["web"])));
        assert!(!tagged.applies_to(5, &[]));
        // Whole tags only, not substrings.
        assert!(!tagged.applies_to(5, &tags(&["monitored-not"])));

        // Both filters: the guest must be listed and tagged.
        let both = Rule {
            vm_ids: vec![100],
            vm_tags: tags(&["monitored"]),
            ..rule()
        };
        assert!(both.applies_to(100, &tags(&["monitored"])));
        assert!(!both.applies_to(100, &tags(&["other"])));
        assert!(!both.applies_to(101, &tags(&["monitored"])));

        // Exclusion wins even over an explicit id and a matching tag.
        let excluded = Rule {
            vm_ids: vec![999],
            vm_tags: tags(&["monitored"]),
            exclude_vm_ids: vec![999],
            ..rule()
        };
        assert!(!excluded.applies_to(999, &tags(&["monitored"])));
        let excluded_all = Rule {
            exclude_vm_ids: vec![999],
            ..rule()
        };
        assert!(!excluded_all.applies_to(999, &[]));
        assert!(excluded_all.applies_to(998, &[]));
    }

    #[test]
    fn tags_compare_without_case_beyond_ascii() {
        let r = Rule {
            vm_tags: tags(&["Ärger"]),
            ..rule()
        };
        assert!(r.applies_to(1, &tags(&["ärger"])));
        assert!(!r.applies_to(1, &tags(&["arger"])));
    }

    #[test]
    fn rule_measures_and_windows_through_its_settings() {
        let r = Rule {
            direction: Direction::Max,
            ..rule()
        };
        assert_eq!(r.used(10, 30), 30);
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let t: Timestamp = "2026-05-20T12:00Z".parse().unwrap();
        let w = r.window_at(t, &tz);
        assert_eq!(r.period.kind, PeriodKind::Month);
        // Reset day 15, Berlin summer time: 2026-05-15 00:00 CEST to 2026-06-15 00:00 CEST.
        assert_eq!(w.start, "2026-05-14T22:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(w.end, "2026-06-14T22:00Z".parse::<Timestamp>().unwrap());
    }

    proptest! {
        #[test]
        fn exclusion_always_wins(vmid in any::<u32>(), other in any::<u32>(), tag in "[a-z]{1,8}") {
            let r = Rule { vm_ids: vec![vmid, other], vm_tags: vec![tag.clone()], exclude_vm_ids: vec![vmid], ..rule() };
            prop_assert!(!r.applies_to(vmid, &[tag.clone(), tag.to_uppercase()]));
        }

        #[test]
        fn used_is_between_the_parts_and_their_sum(rx in any::<u64>(), tx in any::<u64>()) {
            for d in [Direction::Both, Direction::Rx, Direction::Tx, Direction::Max] {
                let used = d.used(rx, tx);
                prop_assert!(used >= rx.min(tx));
                prop_assert!(u128::from(used) <= u128::from(rx) + u128::from(tx));
            }
            prop_assert_eq!(Direction::Max.used(rx, tx), Direction::Max.used(tx, rx));
            prop_assert_eq!(Direction::Both.used(rx, tx), Direction::Both.used(tx, rx));
        }
    }
}
