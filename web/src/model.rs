//! What the API answers with (inside `{"success": true, "data": …}`) and what a
//! [`WebSource`](crate::WebSource) returns. Numbers are the exporter's *accounted* traffic,
//! never since-boot counters; times are epoch milliseconds; sizes are bytes; rates are bytes
//! per second. `rx` is what a guest received (download), `tx` what it sent (upload).
//!
//! The JSON Schemas in `/api/openapi.json` are derived from these types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::range::TimeRange;

/// One guest as the guests table lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Guest {
    /// The VMID.
    pub vmid: u32,
    /// The guest's name in PVE.
    pub name: String,
    /// The node it runs on.
    pub node: String,
    /// `qemu` or `lxc`.
    pub kind: String,
    /// PVE's status, e.g. `running` or `stopped`.
    pub status: String,
    /// PVE tags.
    pub tags: Vec<String>,
    /// Received in the current calendar month.
    pub month_rx_bytes: u64,
    /// Sent in the current calendar month.
    pub month_tx_bytes: u64,
    /// Receive rate over the last poll interval.
    pub rx_rate: f64,
    /// Send rate over the last poll interval.
    pub tx_rate: f64,
    /// The highest use of any rule that applies, in percent of its limit (none: no rule).
    pub quota_percent: Option<f64>,
    /// Whether a penalty is in force now.
    pub enforced: bool,
}

/// One guest with its quotas and penalty, for the guest page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GuestDetail {
    /// The guest as listed.
    pub guest: Guest,
    /// Each rule that applies to it.
    pub quotas: Vec<Quota>,
    /// The penalty in force, if any.
    pub enforcement: Option<Enforcement>,
}

/// Cluster totals over a range, with the guests that moved the most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// The range the totals cover.
    pub range: TimeRange,
    /// Received by all guests.
    pub rx_bytes: u64,
    /// Sent by all guests.
    pub tx_bytes: u64,
    /// Guests with any traffic in the range.
    pub active_guests: u32,
    /// The guests with the most traffic (received + sent), most first, at most ten.
    pub top: Vec<TopGuest>,
}

/// A guest's traffic over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TopGuest {
    /// The VMID.
    pub vmid: u32,
    /// The guest's name.
    pub name: String,
    /// Received in the range.
    pub rx_bytes: u64,
    /// Sent in the range.
    pub tx_bytes: u64,
}

/// A guest's traffic over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct History {
    /// The VMID.
    pub vmid: u32,
    /// The range asked for.
    pub range: TimeRange,
    /// Width of each bucket in seconds.
    pub step_seconds: u32,
    /// One point per bucket, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// Traffic in one bucket of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryPoint {
    /// Start of the bucket.
    pub time_ms: i64,
    /// Received in the bucket.
    pub rx_bytes: u64,
    /// Sent in the bucket.
    pub tx_bytes: u64,
}

/// One entry of the action log: what the enforcer (or an operator) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LogEntry {
    /// When.
    pub time_ms: i64,
    /// The guest, if the action was about one.
    pub vmid: Option<u32>,
    /// The rule, if the action was about one.
    pub rule: Option<String>,
    /// What was done, e.g. `throttle`, `disconnect`, `restore`, `release`.
    pub action: String,
    /// `ok`, `failed` or `dry-run`.
    pub result: String,
    /// Details for people.
    pub message: String,
    /// Who asked for it: `enforcer`, or the name of an operator's API token.
    pub actor: String,
}

/// The filters of `GET /api/logs`, passed to [`WebSource::logs`](crate::WebSource::logs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LogQuery {
    /// Only entries in this range.
    pub range: TimeRange,
    /// Only this guest.
    pub vmid: Option<u32>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this result.
    pub result: Option<String>,
    /// At most this many entries, newest first.
    pub limit: u32,
}

/// A rule as loaded now (after a reload too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// Which guests it applies to, as written in the config (VMIDs, tags).
    pub applies_to: String,
    /// `hour`, `day`, `week` or `month`.
    pub period: String,
    /// `rx`, `tx` or `both`.
    pub direction: String,
    /// The limit per period.
    pub limit_bytes: u64,
    /// What happens past the limit, e.g. `throttle 10 Mbit/s` or `disconnect`.
    pub action: String,
    /// Whether the rule is in force (not disabled).
    pub enabled: bool,
}

/// Health of the exporter and the enforcer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemStats {
    /// The exporter.
    pub exporter: Component,
    /// The enforcer, as last seen in the store.
    pub enforcer: Component,
    /// Guests in the last snapshot.
    pub guests: u32,
    /// Nodes in the last snapshot.
    pub nodes: u32,
    /// Cluster receive rate.
    pub rx_rate: f64,
    /// Cluster send rate.
    pub tx_rate: f64,
}

/// One daemon's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Component {
    /// `ok`, `degraded`, `down` or `unknown`.
    pub state: String,
    /// The daemon's version.
    pub version: Option<String>,
    /// Its last successful cycle (poll or enforcement run).
    pub last_cycle_ms: Option<i64>,
    /// Its most recent error, if the last cycle failed.
    pub last_error: Option<String>,
}

/// One guest under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quota {
    /// The VMID.
    pub vmid: u32,
    /// The guest's name.
    pub name: String,
    /// The rule's name.
    pub rule: String,
    /// Used in the rule's current period (in the rule's direction).
    pub used_bytes: u64,
    /// The rule's limit.
    pub limit_bytes: u64,
    /// `used / limit` in percent.
    pub percent: f64,
    /// Projected use at the period's end at the current period's average rate.
    pub projected_bytes: u64,
    /// When the current period ends.
    pub period_end_ms: i64,
    /// `ok`, `enforced` or `released`.
    pub state: String,
}

/// A penalty in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Enforcement {
    /// The VMID.
    pub vmid: u32,
    /// The guest's name.
    pub name: String,
    /// The rule that triggered it.
    pub rule: String,
    /// The penalty, e.g. `throttle 10 Mbit/s`.
    pub action: String,
    /// Since when.
    pub since_ms: i64,
    /// When it is lifted (the period's end).
    pub until_ms: i64,
}

/// What `GET /api/export` draws or lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportRequest {
    /// One guest, or none for a ranking of every guest.
    pub vmid: Option<u32>,
    /// The range.
    pub range: TimeRange,
    /// The file format.
    pub format: ExportFormat,
    /// Dark colours (charts only).
    pub dark: bool,
    /// Image width in pixels (png, svg).
    pub width: u32,
    /// Image height in pixels (png, svg).
    pub height: u32,
}

/// The export command's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A self-contained page with the chart and tables.
    Html,
    /// A PNG image of the chart.
    Png,
    /// An SVG image of the chart.
    Svg,
    /// The numbers as JSON.
    Json,
    /// The numbers as CSV.
    Csv,
}

impl ExportFormat {
    /// Every format, in the order the UI offers them.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Html,
        ExportFormat::Png,
        ExportFormat::Svg,
        ExportFormat::Json,
        ExportFormat::Csv,
    ];

    /// The name used in queries and file names.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Html => "html",
            ExportFormat::Png => "png",
            ExportFormat::Svg => "svg",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        }
    }
}

/// A file to download.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Its media type, e.g. `image/png`.
    pub content_type: String,
    /// A file name for the download (letters, digits, `.`, `-`, `_` are kept).
    pub file_name: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// An operator's request to lift a guest's penalty for the rest of the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseRequest {
    /// The guest.
    pub vmid: u32,
    /// Why (kept in the action log).
    pub reason: String,
    /// The name of the operator's token (`local` on loopback without tokens).
    pub actor: String,
}

/// What a release recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Release {
    /// The guest.
    pub vmid: u32,
    /// The rules whose penalties are lifted.
    pub rules: Vec<String>,
    /// Until when (the end of the latest of those periods).
    pub until_ms: i64,
}
