//! The enforcer's durable state, behind its own trait: what it changed on each guest, the
//! operators' releases, and the action log (docs/design.md, "Enforcement").
//!
//! Why a second trait next to [`Store`](super::Store): the two have different writers. The
//! exporter alone writes accounting ([`Store::commit_cycle`](super::Store::commit_cycle)); the
//! enforcer alone writes these records, and only reads accounting. Keeping them apart lets
//! the enforcer's unit tests run on a [`MemStore`](super::MemStore) and lets another engine
//! implement either side. [`SqliteStore`](super::SqliteStore) implements both on one file; the
//! enforcer opens it with [`SqliteStore::open_enforcer`](super::SqliteStore::open_enforcer),
//! a writer connection whose accounting writes are refused, so it can never run the
//! exporter's hour-row logic even by mistake.
//!
//! Each method is atomic: [`EnforcementStore::save_enforcement`] replaces the guest's whole
//! record (reasons and NICs included) in one transaction, so a crash leaves either the old or
//! the new record, never a mix. The enforcer writes the record *before* its PVE write (stage
//! [`Stage::Intent`]) and again after it ([`Stage::Applied`]); `record` says why.
//!
//! Values are checked before anything is written (`check_enforcement`, `check_action`):
//! a non-finite rate (SQLite would store NaN as NULL) or a byte count beyond
//! [`MAX_STORED`] is a caller bug, reported as [`StoreError::InvalidWrite`].

use std::collections::BTreeMap;

use pve_traffic_core::rules::Action;

use super::{StoreError, MAX_STORED};

mod record;

pub use record::{
    ActionRecord, Desired, GuestEnforcement, KeyChange, NicChange, PendingShutdown, Release, Stage,
};

/// Durable enforcer state. One writer (the enforcer); reporting tools may read.
pub trait EnforcementStore: Send {
    /// Every guest's enforcement record, by VMID.
    fn load_enforcements(&self) -> Result<BTreeMap<u32, GuestEnforcement>, StoreError>;

    /// Stores `e` as the guest's record, replacing any previous one entirely (reasons and
    /// NICs not in `e` are gone), in one transaction.
    fn save_enforcement(&mut self, e: &GuestEnforcement) -> Result<(), StoreError>;

    /// Forgets the guest's record (after the enforcer restored everything). Deleting a
    /// record that does not exist is not an error.
    fn delete_enforcement(&mut self, vmid: u32) -> Result<(), StoreError>;

    /// Records an operator's release. Kept after it expires (history).
    fn add_release(&mut self, r: &Release) -> Result<(), StoreError>;

    /// The releases still in force at `now_ms` (`until_ms > now_ms`), ordered by `at_ms`,
    /// equal times in the order they were added.
    fn releases(&self, now_ms: i64) -> Result<Vec<Release>, StoreError>;

    /// Appends one line to the action log.
    fn log_action(&mut self, a: &ActionRecord) -> Result<(), StoreError>;

    /// Action log lines with `at_ms >= since_ms` (of one guest if `vmid` is given), newest
    /// first (equal times: last logged first), at most `limit` of them.
    fn action_log(
        &self,
        vmid: Option<u32>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, StoreError>;
}

/// Checks what a store relies on before writing `e`: a rate limit's rate is finite.
pub(crate) fn check_enforcement(e: &GuestEnforcement) -> Result<(), StoreError> {
    if let Desired::RateLimit { mb } = e.applied {
        if !mb.is_finite() {
            return Err(StoreError::InvalidWrite(format!(
                "vmid {}: rate limit {mb} MB/s is not a finite number",
                e.vmid
            )));
        }
    }
    Ok(())
}

/// Checks what a store relies on before writing `a`: byte counts at most [`MAX_STORED`].
pub(crate) fn check_action(a: &ActionRecord) -> Result<(), StoreError> {
    for (what, v) in [("used", a.used), ("limit", a.limit)] {
        if let Some(v) = v.filter(|&v| v > MAX_STORED) {
            return Err(StoreError::InvalidWrite(format!(
                "vmid {}: action log {what} {v} exceeds {MAX_STORED}",
                a.vmid
            )));
        }
    }
    Ok(())
}

/// `Stage` as stored: `intent`, `applied`.
pub(crate) fn stage_str(s: Stage) -> &'static str {
    match s {
        Stage::Intent => "intent",
        Stage::Applied => "applied",
    }
}

/// The inverse of [`stage_str`].
pub(crate) fn parse_stage(s: &str) -> Option<Stage> {
    match s {
        "intent" => Some(Stage::Intent),
        "applied" => Some(Stage::Applied),
        _ => None,
    }
}

/// A `Desired` from its stored kind ([`Desired::as_str`]) and rate; `None` if the kind is
/// unknown or a rate limit has no rate.
pub(crate) fn parse_desired(kind: &str, rate_mb: Option<f64>) -> Option<Desired> {
    if kind == record::NORMAL {
        return Some(Desired::Normal);
    }
    Some(match Action::parse(kind).ok()? {
        Action::Notify => Desired::Notify,
        Action::RateLimit => Desired::RateLimit { mb: rate_mb? },
        Action::Disconnect => Desired::Disconnect,
        Action::Shutdown => Desired::Shutdown,
        Action::Stop => Desired::Stop,
    })
}

/// The rate column of a `Desired`: its MB/s for a rate limit, else `None`.
pub(crate) fn rate_of(d: &Desired) -> Option<f64> {
    match d {
        Desired::RateLimit { mb } => Some(*mb),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_and_stage_round_trip_through_their_stored_form() {
        for d in [
            Desired::Normal,
            Desired::Notify,
            Desired::RateLimit { mb: 2.5 },
            Desired::Disconnect,
            Desired::Shutdown,
            Desired::Stop,
        ] {
            assert_eq!(parse_desired(d.as_str(), rate_of(&d)), Some(d));
        }
        assert_eq!(parse_desired("rate_limit", None), None);
        assert_eq!(parse_desired("throttle", Some(1.0)), None);
        for s in [Stage::Intent, Stage::Applied] {
            assert_eq!(parse_stage(stage_str(s)), Some(s));
        }
        assert_eq!(parse_stage("done"), None);
    }

    #[test]
    fn checks_name_the_guest_and_the_value() {
        let e = GuestEnforcement {
            vmid: 7,
            applied: Desired::RateLimit { mb: f64::NAN },
            stage: Stage::Intent,
            reasons: BTreeMap::new(),
            since_ms: 0,
            nics: BTreeMap::new(),
            was_running: None,
            pending_shutdown: None,
        };
        let msg = check_enforcement(&e).unwrap_err().to_string();
        assert_eq!(
            msg,
            "refusing to store: vmid 7: rate limit NaN MB/s is not a finite number"
        );
    }
}
