//! Reports for people: one guest's traffic over a range, a ranking of all guests, a quota
//! statement for a rule, as JSON and CSV files (HTML, PNG and SVG charts are drawn by the
//! render crate from these same report types).
//!
//! Operators hand these to customers and settle disputes with them, so every number is the
//! store's, exactly: buckets are sums of the 5-minute history (or of hour totals where
//! retention dropped the detail and the hour lies wholly in one bucket, see [`aggregate`]);
//! a report that cannot be exact is refused, never approximated. Time is shown in a zone
//! (`--tz`, default `monitor.timezone`), buckets follow its calendar ([`range`]).
//!
//! - [`range`]: `--period`/`--date`/`--start`/`--end` to a checked range and its buckets;
//! - [`aggregate`]: history to bucket sums; [`guest`], [`mod@ranking`], [`quota`]: the reports;
//! - [`json`], [`csv`]: the file formats; [`output`]: safe file names, writing.
//!
//! # JSON schema (`pve-traffic-export/1`)
//!
//! Keys are snake_case, byte counts are integers, instants are ISO-8601 with the offset in
//! force at that instant (`2026-11-01T00:00:00+01:00`), ranges are half-open `[start, end)`.
//! Every file has `schema` (`"pve-traffic-export/1"`), `kind` (`guest`, `ranking`, `quota`),
//! `generated_at`, `time_zone` (IANA name), `start`, `end`. Then by kind:
//!
//! - `guest`: `bucket` (`5m`, `hour`, `day`, `week`, `month`), `resolution` (`5m`, or `1h`
//!   when hour totals were used because retention dropped the 5-minute detail),
//!   `guest` {`vmid`, `name`, `node`, `type`}, `buckets` [{`start`, `end`, `label`,
//!   `rx_bytes`, `tx_bytes`, `total_bytes`}] (every bucket, empty ones too), `totals`
//!   {`rx_bytes`, `tx_bytes`, `total_bytes`};
//! - `ranking`: `resolution`, `direction` (the sort key: `both`, `rx`, `tx`), `guests`
//!   [{`rank`, `vmid`, `name`, `node`, `type`, `rx_bytes`, `tx_bytes`, `total_bytes`}]
//!   (guests with traffic in the range, largest first), `totals`;
//! - `quota`: `start`/`end` are the rule's window, `current` (the window contains now),
//!   `rule` {`name`, `period` (`hour`, `day`, `week`, `month`, `month@15`), `direction`,
//!   `limit_bytes`, `action`}, `guests` [{`vmid`, `name`, `node`, `type`, `rx_bytes`,
//!   `tx_bytes`, `used_bytes`, `limit_bytes`, `remaining_bytes`, `percent_used`}] (most used
//!   first); for one guest also `bucket`, `resolution` and `buckets` [{`start`, `end`,
//!   `label`, `rx_bytes`, `tx_bytes`, `total_bytes`, `used_bytes`, `cumulative_used_bytes`}].
//!
//! rx is what the guest received (download, PVE `netin`), tx what it sent (upload).
//!
//! # CSV
//!
//! RFC 4180 with a header line; one table per file: `guest` one row per bucket (`vmid, name,
//! start, end, label, rx_bytes, tx_bytes, total_bytes`), `ranking` one row per guest (`rank,
//! vmid, name, node, type, start, end, rx_bytes, tx_bytes, total_bytes`), `quota` one row
//! per guest (`rule, vmid, name, start, end, used_bytes, limit_bytes, remaining_bytes,
//! percent_used, rx_bytes, tx_bytes`). Text fields that a spreadsheet would run as a formula
//! get a leading `'` (see [`csv`]).

pub mod aggregate;
pub mod csv;
pub mod guest;
pub mod json;
pub mod output;
pub mod quota;
pub mod range;
pub mod ranking;

use std::path::PathBuf;

use jiff::tz::TimeZone;
use jiff::ZonedDateTime;

pub use aggregate::Resolution;
pub use guest::{guest_report, Bucket, GuestReport};
pub use quota::{quota_statement, QuotaRequest, QuotaRow, QuotaStatement};
pub use range::{resolve, BucketSize, RangeRequest, ReportRange};
pub use ranking::{ranking, RankRow, Ranking};

use pve_traffic_store::StoreError;

/// The `schema` value of every JSON report.
pub const SCHEMA: &str = "pve-traffic-export/1";

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The range (or another request value) is unusable; the message says what to type.
    #[error("{0}")]
    Range(String),
    /// No guest with this VMID was ever accounted.
    #[error("no guest {0} in the database; `--vm all` lists the guests with traffic")]
    NoGuest(u32),
    /// The range cuts through an hour whose 5-minute detail retention has dropped.
    #[error(
        "the 5-minute history of the hour starting {} was dropped by retention \
         (monitor.data_retention_days); only hour totals remain, which cannot be split: use \
         --period hour or longer with --start/--end on whole hours (in a zone whose offset is \
         not whole hours, use --tz UTC)",
        show_ms(*hour_ms)
    )]
    DetailGone {
        /// The hour's start, Unix ms.
        hour_ms: i64,
    },
    /// A sum exceeds 64 bits (impossible with a consistent store).
    #[error("byte counts in the range exceed 64 bits; the database looks damaged")]
    Overflow,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report file could not be written.
    #[error("cannot write {}: {source}; check --output / monitor.export_path", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether the operator's request is at fault (exit status 2) rather than the system.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ReportError::Range(_) | ReportError::NoGuest(_) | ReportError::DetailGone { .. }
        )
    }
}

fn show_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// An instant as ISO-8601 with its offset: `2026-11-01T00:00:00+01:00`.
pub fn iso(z: &ZonedDateTime) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The zone's IANA name, or its fixed offset when it has none.
pub fn zone_name(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(n) => n.to_string(),
        None => tz.to_offset(jiff::Timestamp::UNIX_EPOCH).to_string(),
    }
}
