//! The enforcer's `/metrics` (prefix `pve_traffic_enforcer_`) and `/healthz`.
//!
//! Counters of actions by action and result, guests enforced by rule and action, how long
//! evaluation took, how old the usage data was, whether the last cycle failed safe (and
//! why), and which guests it left alone because their stats were `unknown` or stale: what
//! an operator needs to trust, or distrust, what the enforcer does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::cycle::CycleOutcome;
use pve_traffic_core::exposition::{Encoder, Format, Kind};
use pve_traffic_store::enforcement::GuestEnforcement;

/// Prefix of every enforcer metric.
pub const PREFIX: &str = "pve_traffic_enforcer";

/// What the metrics show, updated after every cycle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Cycles run.
    pub cycles: u64,
    /// Actions since start, by (action, result).
    pub actions: BTreeMap<(String, String), u64>,
    /// Guests enforced now, by (rule, action).
    pub enforced: BTreeMap<(String, String), u64>,
    /// Each enforced guest: (`id`, rule, action).
    pub guest_enforced: Vec<(String, String, String)>,
    /// PVE's `id` of guests seen enforced (kept across fail-safe cycles, which list none).
    pub ids: BTreeMap<u32, String>,
    /// Cycles that acted on nothing, by reason.
    pub fail_safe: BTreeMap<String, u64>,
    /// Whether the last cycle failed safe.
    pub last_fail_safe: Option<String>,
    /// Evaluation time of the last cycle, seconds.
    pub evaluation_seconds: f64,
    /// Age of the usage data at the last cycle, seconds.
    pub data_age_seconds: Option<i64>,
    /// Guests the last cycle left alone: (`id`, reason).
    pub guest_skipped: Vec<(String, String)>,
    /// Guests left alone since start, summed over cycles, by reason.
    pub skips: BTreeMap<String, u64>,
}

impl Stats {
    /// Folds a cycle's outcome in.
    pub fn record(&mut self, out: &CycleOutcome, state: &BTreeMap<u32, GuestEnforcement>) {
        self.cycles += 1;
        for a in &out.actions {
            *self
                .actions
                .entry((a.action.clone(), a.result.clone()))
                .or_default() += 1;
        }
        self.last_fail_safe = out.fail_safe.as_ref().map(|f| f.reason().to_string());
        if let Some(reason) = &self.last_fail_safe {
            *self.fail_safe.entry(reason.clone()).or_default() += 1;
        }
        self.guest_skipped = out
            .skipped
            .values()
            .map(|(id, reason, _)| (id.clone(), reason.to_string()))
            .collect();
        for (_, reason) in &self.guest_skipped {
            *self.skips.entry(reason.clone()).or_default() += 1;
        }
        self.evaluation_seconds = out.evaluation_seconds;
        self.data_age_seconds = out.data_age_s;
        self.enforced.clear();
        self.guest_enforced.clear();
        self.ids
            .extend(out.ids.iter().map(|(k, v)| (*k, v.clone())));
        self.ids.retain(|vmid, _| state.contains_key(vmid));
        for r in state.values() {
            let id = self
                .ids
                .get(&r.vmid)
                .cloned()
                .unwrap_or_else(|| r.vmid.to_string());
            for rule in r.reasons.keys() {
                let action = r.applied.as_str().to_string();
                *self
                    .enforced
                    .entry((rule.clone(), action.clone()))
                    .or_default() += 1;
                self.guest_enforced.push((id.clone(), rule.clone(), action));
            }
        }
    }

    /// The exposition.
    pub fn render(&self, format: Format) -> String {
        let n = |s: &str| format!("{PREFIX}_{s}");
        let mut e = Encoder::new(format, 4096);
        e.family(
            &n("cycles_total"),
            "Enforcement cycles run since start.",
            Kind::Counter,
        );
        e.sample_u64(&[], self.cycles);
        e.family(
            &n("actions_total"),
            "Actions since start, by action and result.",
            Kind::Counter,
        );
        for ((action, result), v) in &self.actions {
            e.sample_u64(&[("action", action), ("result", result)], *v);
        }
        e.family(
            &n("guests_enforced"),
            "Guests enforced now, by rule and action.",
            Kind::Gauge,
        );
        for ((rule, action), v) in &self.enforced {
            e.sample_u64(&[("rule", rule), ("action", action)], *v);
        }
        e.family(
            &n("guest_enforced"),
            "1 for each guest the enforcer holds in a penalty state, by rule and action.",
            Kind::Gauge,
        );
        for (id, rule, action) in &self.guest_enforced {
            e.sample(&[("id", id), ("rule", rule), ("action", action)], 1.0);
        }
        e.family(
            &n("fail_safe"),
            "Whether the last cycle took no action because data was stale or PVE failed (1) or not (0).",
            Kind::Gauge,
        );
        e.sample(
            &[],
            if self.last_fail_safe.is_some() {
                1.0
            } else {
                0.0
            },
        );
        e.family(
            &n("fail_safe_cycles_total"),
            "Cycles that took no action, by reason.",
            Kind::Counter,
        );
        for (reason, v) in &self.fail_safe {
            e.sample_u64(&[("reason", reason)], *v);
        }
        e.family(
            &n("guest_skipped"),
            "1 for each guest the last cycle left alone, by reason: unknown_status (PVE has no stats for it) or stale_stats (its node's pushed stats are stale).",
            Kind::Gauge,
        );
        for (id, reason) in &self.guest_skipped {
            e.sample(&[("id", id), ("reason", reason)], 1.0);
        }
        e.family(
            &n("guest_skips_total"),
            "Guests left alone since start, summed over cycles, by reason.",
            Kind::Counter,
        );
        for (reason, v) in &self.skips {
            e.sample_u64(&[("reason", reason)], *v);
        }
        e.family(
            &n("evaluation_duration_seconds"),
            "Evaluation time of the last cycle, without PVE round trips.",
            Kind::Gauge,
        );
        e.sample(&[], self.evaluation_seconds);
        e.family(
            &n("data_age_seconds"),
            "Age of the exporter's data at the last cycle.",
            Kind::Gauge,
        );
        if let Some(age) = self.data_age_seconds {
            e.sample(&[], age as f64);
        }
        e.finish()
    }
}

/// `/metrics` and `/healthz` over the shared stats.
pub fn router(stats: Arc<Mutex<Stats>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(stats)
}

async fn metrics_handler(State(stats): State<Arc<Mutex<Stats>>>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = stats
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .render(format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}
