//! Per-guest identity, state and accounted lifetime traffic.

use super::{name, PerItem};
use crate::snapshot::{GuestSnapshot, Snapshot};
use pve_traffic_core::exposition::{Encoder, Kind};

/// `guest_info`, `guest_running`, `guest_stats_age_seconds`, receive/transmit totals and
/// counter resets.
pub(super) fn encode(s: &Snapshot, enc: &mut Encoder) {
    enc.family(
        &name("guest_info"),
        "Guest metadata; always 1.",
        Kind::Gauge,
    );
    for g in &s.guests {
        let id = &g.id;
        enc.sample(
            &[
                ("id", id),
                ("name", &g.name),
                ("node", &g.node),
                ("guest_type", g.guest_type.as_str()),
                ("tags", &g.tags),
                ("template", if g.template { "1" } else { "0" }),
            ],
            1.0,
        );
    }
    enc.family(
        &name("guest_running"),
        "Whether the guest runs (1) or not (0).",
        Kind::Gauge,
    );
    for g in &s.guests {
        let id = &g.id;
        enc.sample(&[("id", id)], if g.running { 1.0 } else { 0.0 });
    }
    enc.family(
        &name("guest_stats_age_seconds"),
        "Seconds since the guest's PVE stats last changed; grows while its node does not push them (stalled or offline) and while it stays stopped.",
        Kind::Gauge,
    );
    for g in &s.guests {
        enc.sample(&[("id", &g.id)], g.stats_age);
    }
    let totals: [PerItem<GuestSnapshot>; 3] = [
        PerItem {
            suffix: "receive_bytes_total",
            help: "Bytes sent to the guest (download), accounted across counter resets and restarts.",
            value: |g| g.rx_total as f64,
        },
        PerItem {
            suffix: "transmit_bytes_total",
            help: "Bytes sent by the guest (upload), accounted across counter resets and restarts.",
            value: |g| g.tx_total as f64,
        },
        // Not `counter_resets_total`: promtool's lint rejects a type name inside a metric
        // name, and the exposition must pass `promtool check metrics`.
        PerItem {
            suffix: "guest_resets_total",
            help: "Times the guest's PVE traffic counters started over (restart, migration, re-created NIC).",
            value: |g| g.resets as f64,
        },
    ];
    for f in totals {
        enc.family(&name(f.suffix), f.help, Kind::Counter);
        for g in &s.guests {
            let id = &g.id;
            enc.sample(&[("id", id)], (f.value)(g));
        }
    }
}
