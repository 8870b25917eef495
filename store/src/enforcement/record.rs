//! The enforcer's records as the store keeps them: what it changed on each guest, the
//! operators' releases, the action log.
//!
//! Why they are defined here, in the store, and not in the enforcer: they are the vocabulary
//! of [`EnforcementStore`](super::EnforcementStore), which every backend persists and reads
//! back field by field. Defined above the store, they would make the store depend on the
//! reconciler that uses it (the flow is PVE client → accountant → store → enforcer), and a
//! second backend would have to reach into the enforcer for its own column types. So the store
//! owns the shapes and the enforcer imports them; the policy over them (which action is
//! strongest, what a rule's action asks for) stays in the enforcer.
//!
//! Why the enforcer needs them at all: it changes paying customers' guests, and whatever it
//! changed it must be able to undo exactly, even after a crash, without ever applying or
//! lifting a penalty twice because it restarted. So, per guest, it persists what it put in
//! place, the values it found before its first change (the "originals"), and, per NIC key,
//! what it set, so that at the period's end it restores its own changes and leaves an
//! operator's later changes alone. The record is written *before* the PVE write (an intent)
//! and marked applied after it: a SIGKILL between the two leaves an intent whose originals are
//! already safe.

use std::collections::BTreeMap;

use pve_traffic_core::rules::Action;

/// The name of [`Desired::Normal`]; every other state is named by its rule action.
pub(crate) const NORMAL: &str = "normal";

/// The state the enforcer wants a guest in, and the state it records as put in place
/// ([`GuestEnforcement::applied`]). Which one wins among several breaches is the enforcer's
/// choice, not the store's.
#[derive(Clone, Debug, PartialEq)]
pub enum Desired {
    /// No rule over its limit: as the operator left it.
    Normal,
    /// Over a notify-only rule: reported, nothing changed.
    Notify,
    /// `rate=mb` (MB/s) on every NIC, unless an operator's rate is already lower.
    RateLimit {
        /// MB/s, PVE's `rate` unit.
        mb: f64,
    },
    /// `link_down=1` on every NIC.
    Disconnect,
    /// Powered off by ACPI shutdown, falling back to stop after `shutdown_timeout`.
    Shutdown,
    /// Powered off hard.
    Stop,
}

impl Desired {
    /// The metric label / log word: `normal`, or the name of the rule action that asks for
    /// this state (`notify`, `rate_limit`, `disconnect`, `shutdown`, `stop`).
    pub fn as_str(&self) -> &'static str {
        self.action().map_or(NORMAL, Action::as_str)
    }

    /// The rule action this state carries out; `None` for [`Desired::Normal`].
    pub fn action(&self) -> Option<Action> {
        Some(match self {
            Desired::Normal => return None,
            Desired::Notify => Action::Notify,
            Desired::RateLimit { .. } => Action::RateLimit,
            Desired::Disconnect => Action::Disconnect,
            Desired::Shutdown => Action::Shutdown,
            Desired::Stop => Action::Stop,
        })
    }

    /// Whether the guest must be powered off.
    pub fn powers_off(&self) -> bool {
        matches!(self, Desired::Shutdown | Desired::Stop)
    }
}

/// One NIC key the enforcer may change: its value before the enforcer's first change, and the
/// value the enforcer last wrote. `None` = the key was absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyChange {
    /// Value before enforcement (restored at the end, if the key still holds `set`).
    pub original: Option<String>,
    /// Value the enforcer wrote; `None` while it has not written this key.
    pub set: Option<Option<String>>,
}

/// The `rate` and `link_down` keys of one `netN`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NicChange {
    /// `rate`.
    pub rate: KeyChange,
    /// `link_down`.
    pub link_down: KeyChange,
}

/// Where a guest's enforcement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Recorded before the PVE write; the write may or may not have happened.
    Intent,
    /// The PVE write succeeded (or the guest was found already in the desired state).
    Applied,
}

/// A power task the enforcer started and is waiting for (a shutdown, or a restoring start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingShutdown {
    /// The task's UPID.
    pub upid: String,
    /// Node the task runs on.
    pub node: String,
    /// When to stop waiting, epoch ms: stop the guest (shutdown), or start it again (start).
    pub deadline_ms: i64,
}

/// Everything the enforcer has changed on one guest.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestEnforcement {
    /// The guest.
    pub vmid: u32,
    /// What the enforcer put (or is putting) in place.
    pub applied: Desired,
    /// Intent or applied.
    pub stage: Stage,
    /// Rules over their limit, with the end of their current period (epoch ms).
    pub reasons: BTreeMap<String, i64>,
    /// Since when the guest is enforced, epoch ms.
    pub since_ms: i64,
    /// Per `netN`, what the enforcer changed.
    pub nics: BTreeMap<String, NicChange>,
    /// Whether the guest ran before the enforcer powered it off (`None`: not powered off by
    /// the enforcer). A guest that ran is started again at the end.
    pub was_running: Option<bool>,
    /// A power task of the enforcer's in progress: a shutdown while powering off, or, while
    /// restoring, the start it waits to see (its UPID's task type says which).
    pub pending_shutdown: Option<PendingShutdown>,
}

/// An operator lifted a rule's penalty for a guest until the period ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The guest.
    pub vmid: u32,
    /// The rule (`None`: every rule).
    pub rule: Option<String>,
    /// The release lasts until this time (the end of the period it was given in), epoch ms.
    pub until_ms: i64,
    /// When it was given, epoch ms.
    pub at_ms: i64,
}

/// One line of the action log: who did what to which guest, why, and how it went.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    /// When, epoch ms.
    pub at_ms: i64,
    /// The guest.
    pub vmid: u32,
    /// The rule that caused it (`None` for restores and releases spanning rules).
    pub rule: Option<String>,
    /// What was done: `rate_limit`, `disconnect`, `shutdown`, `stop`, `start`, `restore`,
    /// `notify`, `release`.
    pub action: String,
    /// Bytes used in the rule's period when it was decided.
    pub used: Option<u64>,
    /// The rule's limit.
    pub limit: Option<u64>,
    /// `ok`, `failed`, `dry_run`.
    pub result: String,
    /// Details: PVE's error text, the UPID, what was written.
    pub detail: String,
    /// Who: `enforcer` or `operator` (release).
    pub actor: String,
}
