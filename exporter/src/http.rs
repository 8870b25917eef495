//! The exporter's HTTP side: `/metrics`, a landing page, `/healthz` and `/readyz`.
//!
//! Handlers only read the current snapshot (an `Arc` swapped in by the poller), so a scrape
//! costs one render and never waits on PVE or the database.

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::metrics;
use super::snapshot::Snapshot;
use pve_traffic_core::exposition::Format;

/// The snapshot shared between the poller (writer) and the HTTP handlers (readers). The lock
/// is held only to clone or replace the `Arc`, never while rendering.
pub type SharedSnapshot = Arc<RwLock<Arc<Snapshot>>>;

/// The current snapshot.
pub fn current(shared: &SharedSnapshot) -> Arc<Snapshot> {
    shared
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The router serving `shared`.
pub fn router(shared: SharedSnapshot) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(shared)
}

async fn metrics_handler(State(shared): State<SharedSnapshot>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let body = metrics::render(&current(&shared), format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

/// Ready once a poll has succeeded: before that, `/metrics` has no guest data.
async fn ready(State(shared): State<SharedSnapshot>) -> Response {
    if current(&shared).last_poll_ms.is_some() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no successful poll yet\n").into_response()
    }
}

async fn landing() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html><head><title>pve-traffic exporter</title></head><body>",
        "<h1>pve-traffic exporter</h1>",
        "<p>Exact per-guest traffic of a Proxmox VE cluster.</p><ul>",
        "<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>",
        "<li><a href=\"/healthz\">/healthz</a>: liveness</li>",
        "<li><a href=\"/readyz\">/readyz</a>: readiness (after the first successful poll)</li>",
        "</ul></body></html>"
    ))
}
