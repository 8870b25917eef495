//! `/metrics`: the snapshot rendered in the Prometheus formats, one collector per file.
//!
//! Every name starts with [`PREFIX`]; label keys are `id` (PVE's `qemu/100`, the same as
//! prometheus-pve-exporter's so the two join), `rule`, `period` and `reason`. Counters end in
//! `_total`, base units (bytes, seconds), no timestamps (docs/design.md, "Metrics").

mod guests;
mod periods;
mod poll;
mod quotas;

use pve_traffic_core::exposition::{Encoder, Format};

use super::snapshot::Snapshot;

/// Prefix of every metric name.
pub const PREFIX: &str = "pve_traffic";

/// Renders the whole snapshot.
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    let mut enc = Encoder::new(format, 1024 + snapshot.guests.len() * 1400);
    poll::encode(snapshot, &mut enc);
    guests::encode(snapshot, &mut enc);
    periods::encode(snapshot, &mut enc);
    quotas::encode(snapshot, &mut enc);
    enc.finish()
}

/// A family with one sample per item (guest, quota), labelled by the item's `id`.
struct PerItem<T> {
    /// Name after the prefix.
    suffix: &'static str,
    /// HELP text.
    help: &'static str,
    /// The sample value of an item.
    value: fn(&T) -> f64,
}

/// `{PREFIX}_{suffix}`.
fn name(suffix: &str) -> String {
    format!("{PREFIX}_{suffix}")
}
