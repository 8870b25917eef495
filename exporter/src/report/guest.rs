//! One guest's traffic over a range: download, upload and total per bucket, with the range's
//! totals.

use jiff::ZonedDateTime;

use super::aggregate::{guest_buckets, Resolution};
use super::range::ReportRange;
use super::ReportError;
use pve_traffic_store::{GuestInfo, Store};

/// One bucket of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    /// First instant, in the report's zone.
    pub start: ZonedDateTime,
    /// First instant after it.
    pub end: ZonedDateTime,
    /// The x-axis label, formatted in the report's zone (see `BucketSize::label`).
    pub label: String,
    /// Bytes received by the guest (download).
    pub rx: u64,
    /// Bytes sent by the guest (upload).
    pub tx: u64,
}

impl Bucket {
    /// Download plus upload (saturating: no stored total comes near `u64::MAX`).
    pub fn total(&self) -> u64 {
        self.rx.saturating_add(self.tx)
    }
}

/// One guest's traffic over a range.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestReport {
    /// The guest as PVE last described it.
    pub guest: GuestInfo,
    /// The range and its buckets.
    pub range: ReportRange,
    /// The history's resolution the buckets were summed from.
    pub resolution: Resolution,
    /// One entry per bucket of `range`, in time order (empty buckets included).
    pub buckets: Vec<Bucket>,
    /// Bytes received over the whole range.
    pub rx: u64,
    /// Bytes sent over the whole range.
    pub tx: u64,
}

impl GuestReport {
    /// Download plus upload over the range.
    pub fn total(&self) -> u64 {
        self.rx.saturating_add(self.tx)
    }
}

/// Builds the report of `guest` over `range` from `store`.
pub fn guest_report<S: Store + ?Sized>(
    store: &S,
    guest: GuestInfo,
    range: ReportRange,
) -> Result<GuestReport, ReportError> {
    let (sums, resolution) = guest_buckets(store, guest.vmid, &range.bounds_ms())?;
    let buckets = buckets(&range, &sums);
    let (rx, tx) = sum(&sums)?;
    Ok(GuestReport {
        guest,
        range,
        resolution,
        buckets,
        rx,
        tx,
    })
}

/// The range's buckets, labelled, with their sums.
pub(crate) fn buckets(range: &ReportRange, sums: &[(u64, u64)]) -> Vec<Bucket> {
    let tz = range.tz();
    range
        .bounds
        .windows(2)
        .zip(sums)
        .map(|(w, &(rx, tx))| {
            let start = w[0].to_zoned_datetime(tz.clone());
            Bucket {
                label: range.bucket.label(&start),
                start,
                end: w[1].to_zoned_datetime(tz.clone()),
                rx,
                tx,
            }
        })
        .collect()
}

/// The sum of `(rx, tx)` pairs.
pub(crate) fn sum(parts: &[(u64, u64)]) -> Result<(u64, u64), ReportError> {
    parts.iter().try_fold((0u64, 0u64), |a, b| {
        Ok((
            a.0.checked_add(b.0).ok_or(ReportError::Overflow)?,
            a.1.checked_add(b.1).ok_or(ReportError::Overflow)?,
        ))
    })
}
