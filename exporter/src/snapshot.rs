//! What `/metrics` shows: a snapshot the poller swaps in after each cycle.
//!
//! A scrape never calls PVE or the database; it only reads the latest `Arc<Snapshot>`. A
//! failed poll keeps the last good guest data and only changes the poll health (`up` = 0, an
//! error counted), so a PVE outage shows as `pve_traffic_up 0` instead of vanished series.

use std::collections::BTreeMap;

use pve_traffic_core::guest::GuestType;
use pve_traffic_core::period::PeriodKind;

/// Index of each calendar period in [`GuestSnapshot::periods`]: every [`PeriodKind`].
pub const PERIODS: &[PeriodKind] = PeriodKind::ALL;

/// One guest as the last successful poll left it.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestSnapshot {
    /// VMID.
    pub vmid: u32,
    /// Label `id`: `qemu/100`.
    pub id: String,
    /// QEMU or LXC.
    pub guest_type: GuestType,
    /// Name.
    pub name: String,
    /// Node.
    pub node: String,
    /// Tags joined with `;`.
    pub tags: String,
    /// Template flag.
    pub template: bool,
    /// Whether its process exists.
    pub running: bool,
    /// Seconds since its stats last changed (since its current push was first seen): about a
    /// push interval (10 s) at most while its node pushes, growing while the node is stalled or offline
    /// (stats frozen, then `unknown`) and while the guest stays stopped.
    pub stats_age: f64,
    /// Accounted bytes to the guest, ever.
    pub rx_total: u64,
    /// Accounted bytes from the guest, ever.
    pub tx_total: u64,
    /// Counter resets seen.
    pub resets: u64,
    /// `(rx, tx)` in the current hour, day, ISO week and month (see [`PERIODS`]).
    pub periods: [(u64, u64); PERIODS.len()],
}

/// One guest under one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSnapshot {
    /// VMID.
    pub vmid: u32,
    /// Label `id`: `qemu/100`.
    pub id: String,
    /// QEMU or LXC.
    pub guest_type: GuestType,
    /// Rule name.
    pub rule: String,
    /// Allowed bytes per period.
    pub limit: u64,
    /// Bytes used in the current period, in the rule's direction.
    pub used: u64,
    /// End of the current period, epoch seconds.
    pub period_end: i64,
}

/// Everything `/metrics` renders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Whether the last poll succeeded.
    pub up: bool,
    /// When the last successful poll ended, epoch ms.
    pub last_poll_ms: Option<i64>,
    /// How long the last poll cycle took, seconds.
    pub poll_duration: f64,
    /// Failed polls since start, by reason.
    pub poll_errors: BTreeMap<String, u64>,
    /// Discarded deltas ever, by reason.
    pub discarded: BTreeMap<String, u64>,
    /// Guests, by VMID.
    pub guests: Vec<GuestSnapshot>,
    /// Quotas, by VMID then rule.
    pub quotas: Vec<QuotaSnapshot>,
}
