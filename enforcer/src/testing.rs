//! Fixtures shared by the enforcer's unit tests.

use super::desired::GuestFacts;
use pve_traffic_core::period::PeriodSpec;
use pve_traffic_core::rules::{Action, Direction, Rule};

/// An enabled rule over every guest, both directions; a rate limit is 10 MB/s.
pub(super) fn rule(name: &str, period: PeriodSpec, action: Action, limit_bytes: u64) -> Rule {
    Rule {
        name: name.to_string(),
        enabled: true,
        period,
        direction: Direction::Both,
        limit_bytes,
        action,
        rate_limit_mb: (action == Action::RateLimit).then_some(10.0),
        vm_ids: Vec::new(),
        vm_tags: Vec::new(),
        exclude_vm_ids: Vec::new(),
    }
}

/// A guest that is not a template and has no tags.
pub(super) fn guest(vmid: u32) -> GuestFacts<'static> {
    GuestFacts {
        vmid,
        tags: &[],
        template: false,
    }
}
