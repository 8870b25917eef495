//! Poll health: always present, so a broken poller is visible even with no guest data.

use super::name;
use crate::snapshot::Snapshot;
use pve_traffic_core::exposition::{Encoder, Kind};

/// `up`, last poll time, poll duration, poll errors and discarded deltas.
pub(super) fn encode(s: &Snapshot, enc: &mut Encoder) {
    enc.family(
        &name("up"),
        "Whether the last poll of the PVE API succeeded (1) or not (0).",
        Kind::Gauge,
    );
    enc.sample(&[], if s.up { 1.0 } else { 0.0 });
    enc.family(
        &name("last_poll_timestamp_seconds"),
        "When the last successful poll ended, Unix time.",
        Kind::Gauge,
    );
    enc.sample(&[], s.last_poll_ms.map_or(0.0, |ms| ms as f64 / 1000.0));
    enc.family(
        &name("poll_duration_seconds"),
        "How long the last poll cycle took.",
        Kind::Gauge,
    );
    enc.sample(&[], s.poll_duration);
    enc.family(
        &name("poll_errors_total"),
        "Failed polls since the exporter started, by reason.",
        Kind::Counter,
    );
    for (reason, n) in &s.poll_errors {
        enc.sample_u64(&[("reason", reason)], *n);
    }
    enc.family(
        &name("discarded_deltas_total"),
        "Implausible counter deltas thrown away, by reason.",
        Kind::Counter,
    );
    for (reason, n) in &s.discarded {
        enc.sample_u64(&[("reason", reason)], *n);
    }
}
