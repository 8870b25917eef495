//! Each guest's use of each rule that applies to it.

use super::{name, PerItem};
use crate::snapshot::{QuotaSnapshot, Snapshot};
use pve_traffic_core::exposition::{Encoder, Kind};

/// `quota_limit_bytes`, `quota_used_bytes`, `quota_period_end_timestamp_seconds`.
pub(super) fn encode(s: &Snapshot, enc: &mut Encoder) {
    let families: [PerItem<QuotaSnapshot>; 3] = [
        PerItem {
            suffix: "quota_limit_bytes",
            help: "Bytes a rule allows per period.",
            value: |q| q.limit as f64,
        },
        PerItem {
            suffix: "quota_used_bytes",
            help: "Bytes used in the rule's current period, in the rule's direction.",
            value: |q| q.used as f64,
        },
        PerItem {
            suffix: "quota_period_end_timestamp_seconds",
            help: "End of the rule's current period, Unix time.",
            value: |q| q.period_end as f64,
        },
    ];
    for f in families {
        enc.family(&name(f.suffix), f.help, Kind::Gauge);
        for q in &s.quotas {
            enc.sample(&[("id", &q.id), ("rule", &q.rule)], (f.value)(q));
        }
    }
}
