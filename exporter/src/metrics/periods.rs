//! Traffic in the current calendar hour, day, ISO week and month, local to
//! `monitor.timezone`: what `increase()` cannot compute.

use super::name;
use crate::snapshot::{Snapshot, PERIODS};
use pve_traffic_core::exposition::{Encoder, Kind};

/// `period_receive_bytes` and `period_transmit_bytes`.
pub(super) fn encode(s: &Snapshot, enc: &mut Encoder) {
    let families: [(&str, &str, bool); 2] = [
        (
            "period_receive_bytes",
            "Bytes sent to the guest in the current calendar period.",
            true,
        ),
        (
            "period_transmit_bytes",
            "Bytes sent by the guest in the current calendar period.",
            false,
        ),
    ];
    for (suffix, help, rx) in families {
        enc.family(&name(suffix), help, Kind::Gauge);
        for g in &s.guests {
            let id = &g.id;
            for (period, (r, t)) in PERIODS.iter().zip(g.periods) {
                let labels = [("id", id.as_str()), ("period", period.as_str())];
                enc.sample_u64(&labels, if rx { r } else { t });
            }
        }
    }
}
