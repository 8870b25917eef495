//! Traffic rules: which guests a rule watches, how it measures their traffic, how much they
//! may use per period, and what happens when they use more.

use crate::period::PeriodSpec;

/// Which traffic counts against a rule's limit (the guest's view: rx = download).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Download plus upload.
    Both,
    /// Download only (PVE `netin`).
    Rx,
    /// Upload only (PVE `netout`).
    Tx,
    /// The larger of the two.
    Max,
}

/// What the enforcer does to a guest over its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// ACPI shutdown, falling back to stop after a timeout.
    Shutdown,
    /// Hard stop.
    Stop,
    /// `link_down=1` on every NIC.
    Disconnect,
    /// `rate=R` on every NIC.
    RateLimit,
    /// Only report.
    Notify,
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
