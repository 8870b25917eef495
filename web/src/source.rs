//! The seam between the web side and the exporter: [`WebSource`], everything the routes read
//! (and the one thing operators write), implemented by the exporter over its snapshot and
//! store.
//!
//! The trait is synchronous because the store is: the server calls it on tokio's blocking
//! pool, one call per request, so a slow query never stalls other connections. Implementations
//! must answer from what they hold (snapshot, store), never by calling PVE.

use jiff::Timestamp;

use crate::model::{
    Enforcement, Export, ExportRequest, Guest, GuestDetail, History, LogEntry, LogQuery, Quota,
    Release, ReleaseRequest, Rule, Stats, SystemStats,
};
use crate::range::{CalendarPeriod, TimeRange};

/// Why a [`WebSource`] could not answer; the text reaches the client, so it must name no
/// secret and should say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The guest (or other thing) asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be answered as asked (e.g. an image too large): 400.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the current state (e.g. releasing an unpenalised guest): 409.
    #[error("{0}")]
    Conflict(String),
    /// The data is not there yet or the store is unreachable: 503.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: 500.
    #[error("{0}")]
    Internal(String),
}

/// What the web UI and API read, implemented by the exporter.
pub trait WebSource: Send + Sync + 'static {
    /// Every guest in the current snapshot.
    fn vms(&self) -> Result<Vec<Guest>, SourceError>;
    /// One guest with its quotas and penalty; [`SourceError::NotFound`] if unknown.
    fn vm(&self, vmid: u32) -> Result<GuestDetail, SourceError>;
    /// Cluster totals and top guests over `range`.
    fn stats(&self, range: TimeRange) -> Result<Stats, SourceError>;
    /// One guest's traffic over `range`, in buckets the source chooses (at most ~1,000).
    fn history(&self, vmid: u32, range: TimeRange) -> Result<History, SourceError>;
    /// Action log entries matching `query`, newest first, at most `query.limit`.
    fn logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>, SourceError>;
    /// The rules as loaded now.
    fn rules(&self) -> Result<Vec<Rule>, SourceError>;
    /// Health of the exporter and the enforcer.
    fn system_stats(&self) -> Result<SystemStats, SourceError>;
    /// Every guest under every rule that applies to it.
    fn quotas(&self) -> Result<Vec<Quota>, SourceError>;
    /// Penalties in force now.
    fn enforcements(&self) -> Result<Vec<Enforcement>, SourceError>;
    /// The export command's file for `request` (same code as the command).
    fn export(&self, request: &ExportRequest) -> Result<Export, SourceError>;
    /// Records an operator's release in the store and the action log (the enforcer lifts the
    /// penalty on its next cycle); [`SourceError::Conflict`] if no penalty is in force.
    fn release(&self, request: &ReleaseRequest) -> Result<Release, SourceError>;
    /// The window of `period` containing `at`, in the exporter's time zone and period rules.
    fn calendar_window(&self, period: CalendarPeriod, at: Timestamp) -> TimeRange;
    /// The current time; tests fix it.
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
