//! Every guest's traffic over a range, largest first: the `--vm all` report.
//!
//! One store query for all guests ([`HistoryStore::range_totals`]), so 10,000 guests cost
//! one pass over the range's hour rows, not 10,000 queries.

use super::aggregate::Resolution;
use super::range::ReportRange;
use super::ReportError;
use pve_traffic_core::rules::Direction;
use pve_traffic_store::{GuestInfo, HistoryStore, HOUR_MS};

/// One guest's line in a ranking.
#[derive(Clone, Debug, PartialEq)]
pub struct RankRow {
    /// The guest as PVE last described it.
    pub guest: GuestInfo,
    /// Bytes received over the range.
    pub rx: u64,
    /// Bytes sent over the range.
    pub tx: u64,
}

impl RankRow {
    /// Download plus upload.
    pub fn total(&self) -> u64 {
        self.rx.saturating_add(self.tx)
    }
}

/// All guests with traffic in a range, sorted by `direction` (largest first, then VMID).
#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// The range (its buckets are not used: a ranking has one value per guest).
    pub range: ReportRange,
    /// What the rows are sorted by: download, upload or both.
    pub direction: Direction,
    /// `Hour` when the range is whole UTC hours (hour totals only), else `FiveMinutes`
    /// (edge hours from their detail).
    pub resolution: Resolution,
    /// Every guest with traffic in the range.
    pub rows: Vec<RankRow>,
    /// Bytes received by all guests.
    pub rx: u64,
    /// Bytes sent by all guests.
    pub tx: u64,
}

/// Ranks the guests of `guests` (every guest the store knows, by VMID) over `range`. A guest
/// with history but no description (impossible in a consistent store) is named `""`.
pub fn ranking<S: HistoryStore + ?Sized>(
    store: &S,
    guests: &std::collections::BTreeMap<u32, GuestInfo>,
    range: ReportRange,
    direction: Direction,
) -> Result<Ranking, ReportError> {
    let (from, to) = range.span_ms();
    let totals = store.range_totals(from, to)?;
    if let Some(hour_ms) = totals.missing_detail_hour {
        return Err(ReportError::DetailGone { hour_ms });
    }
    let mut rows: Vec<RankRow> = totals
        .guests
        .iter()
        .map(|(&vmid, &(rx, tx))| RankRow {
            guest: guests.get(&vmid).cloned().unwrap_or_else(|| unknown(vmid)),
            rx,
            tx,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &RankRow| direction.used(r.rx, r.tx);
        key(b).cmp(&key(a)).then(a.guest.vmid.cmp(&b.guest.vmid))
    });
    let pairs: Vec<(u64, u64)> = rows.iter().map(|r| (r.rx, r.tx)).collect();
    let (rx, tx) = super::guest::sum(&pairs)?;
    let aligned = from.rem_euclid(HOUR_MS) == 0 && to.rem_euclid(HOUR_MS) == 0;
    Ok(Ranking {
        range,
        direction,
        resolution: if aligned {
            Resolution::Hour
        } else {
            Resolution::FiveMinutes
        },
        rows,
        rx,
        tx,
    })
}

fn unknown(vmid: u32) -> GuestInfo {
    GuestInfo {
        vmid,
        guest_type: pve_traffic_core::guest::GuestType::Qemu,
        name: String::new(),
        node: String::new(),
        tags: Vec::new(),
        template: false,
        running: false,
    }
}
