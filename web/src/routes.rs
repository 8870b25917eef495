//! The API's route table: method, path, who may call it, its query parameters and what it
//! answers. The router (`server::app`) and the OpenAPI document (`openapi`) are both built
//! from [`table`], and each route's guard checks its query against the parameters declared
//! here, so the document, the checks and the routes cannot drift apart.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::net::SocketAddr;
use std::time::Instant;

use crate::handlers::{self, AppState, Body, Session};
use crate::model::{
    Enforcement, ExportFormat, Guest, GuestDetail, History, LogEntry, Quota, Release, Rule, Stats,
    SystemStats,
};
use crate::query::Query;
use crate::range::PERIODS;
use crate::settings::Role;

/// Makes the JSON Schema of a type, registering the types it uses.
pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A query parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) kind: ParamKind,
}

/// The type of a query parameter, for the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ParamKind {
    /// Any text.
    Text,
    /// An integer.
    Integer,
    /// One of these values.
    OneOf(&'static [&'static str]),
}

/// What a route answers with on success.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    /// `{"success": true, "data": <schema>}`.
    Json(SchemaFn),
    /// A file download in one of these media types.
    File(&'static [&'static str]),
    /// A plain JSON document (not in the envelope).
    Document,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteSpec {
    /// `GET` or `POST`.
    pub(crate) method: &'static str,
    /// The path, with `{name}` path parameters (axum and OpenAPI write them alike).
    pub(crate) path: &'static str,
    /// The least role that may call it; `None`: anyone the server answers.
    pub(crate) role: Option<Role>,
    /// One line for the document.
    pub(crate) summary: &'static str,
    /// Its query parameters; any other is refused.
    pub(crate) query: &'static [Param],
    /// Its JSON request body, if any.
    pub(crate) body: Option<SchemaFn>,
    /// What it answers.
    pub(crate) answer: Answer,
}

/// A route: its description and its handler.
pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    pub(crate) handler: MethodRouter<AppState>,
}

const fn param(name: &'static str, description: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        description,
        kind,
    }
}

const PERIOD: Param = param(
    "period",
    "A named range: rolling (1h … 30d, up to now) or calendar (today … last_month)",
    ParamKind::OneOf(PERIODS),
);
const START: Param = param(
    "start",
    "Range start: epoch seconds or RFC 3339",
    ParamKind::Text,
);
const END: Param = param(
    "end",
    "Range end (exclusive; default now): epoch seconds or RFC 3339",
    ParamKind::Text,
);
const RANGE: &[Param] = &[PERIOD, START, END];
const LOG_QUERY: &[Param] = &[
    PERIOD,
    START,
    END,
    param("vmid", "Only this guest", ParamKind::Integer),
    param("rule", "Only this rule", ParamKind::Text),
    param("action", "Only this action", ParamKind::Text),
    param("result", "Only this result", ParamKind::Text),
    param(
        "limit",
        "At most this many entries (default 500, at most 5000)",
        ParamKind::Integer,
    ),
];
const EXPORT_FORMATS: &[&str] = &["html", "png", "svg", "json", "csv"];
const EXPORT_QUERY: &[Param] = &[
    param(
        "vm",
        "A VMID, or `all` for a ranking of every guest",
        ParamKind::Text,
    ),
    PERIOD,
    START,
    END,
    param(
        "format",
        "File format (default html)",
        ParamKind::OneOf(EXPORT_FORMATS),
    ),
    param(
        "theme",
        "Chart colours (default light)",
        ParamKind::OneOf(&["light", "dark"]),
    ),
    param(
        "width",
        "Image width in pixels (png, svg; default 1200)",
        ParamKind::Integer,
    ),
    param(
        "height",
        "Image height in pixels (png, svg; default 600)",
        ParamKind::Integer,
    ),
];

fn spec(
    method: &'static str,
    path: &'static str,
    role: Option<Role>,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        role,
        summary,
        query: &[],
        body: None,
        answer: Answer::Document,
    }
}

/// A viewer's `GET` answering `T` in the envelope.
fn read<T: JsonSchema>(
    path: &'static str,
    summary: &'static str,
    query: &'static [Param],
) -> RouteSpec {
    RouteSpec {
        query,
        answer: Answer::Json(schema::<T>),
        ..spec("GET", path, Some(Role::Viewer), summary)
    }
}

/// Every API route.
pub(crate) fn table() -> Vec<Route> {
    let route = |spec: RouteSpec, handler: MethodRouter<AppState>| Route { spec, handler };
    vec![
        route(
            read::<Session>("/api/session", "Who the token belongs to and what it may do", &[]),
            get(handlers::session),
        ),
        route(read::<Vec<Guest>>("/api/vms", "Every guest", &[]), get(handlers::vms)),
        route(
            read::<GuestDetail>("/api/vm/{vmid}", "One guest with its quotas and penalty", &[]),
            get(handlers::vm),
        ),
        route(
            read::<Stats>("/api/stats", "Cluster totals and top guests (default: today)", RANGE),
            get(handlers::stats),
        ),
        route(
            read::<History>("/api/history/{vmid}", "A guest's traffic over time (default: 24h)", RANGE),
            get(handlers::history),
        ),
        route(
            read::<Vec<LogEntry>>("/api/logs", "The action log, newest first (default: 24h)", LOG_QUERY),
            get(handlers::logs),
        ),
        route(read::<Vec<Rule>>("/api/rules", "The rules as loaded now", &[]), get(handlers::rules)),
        route(
            read::<SystemStats>("/api/system/stats", "Exporter and enforcer health", &[]),
            get(handlers::system_stats),
        ),
        route(
            read::<Vec<Quota>>("/api/quotas", "Every guest under every rule that applies", &[]),
            get(handlers::quotas),
        ),
        route(
            read::<Vec<Enforcement>>("/api/enforcements", "Penalties in force now", &[]),
            get(handlers::enforcements),
        ),
        route(
            RouteSpec {
                query: EXPORT_QUERY,
                answer: Answer::File(&["text/html", "image/png", "image/svg+xml", "application/json", "text/csv"]),
                ..spec("GET", "/api/export", Some(Role::Viewer), "The export command's file, as a download")
            },
            get(handlers::export),
        ),
        route(
            RouteSpec {
                body: Some(schema::<Body>),
                answer: Answer::Json(schema::<Release>),
                ..spec(
                    "POST",
                    "/api/guests/{vmid}/release",
                    Some(Role::Operator),
                    "Lift a guest's penalty for the rest of the period (the enforcer acts on its next cycle)",
                )
            },
            post(handlers::release),
        ),
        route(
            spec("GET", "/api/openapi.json", None, "This document (OpenAPI 3.1)"),
            get(handlers::openapi),
        ),
    ]
}

/// The export formats the route accepts, in [`ExportFormat`]'s order.
pub(crate) fn export_format(name: &str) -> Option<ExportFormat> {
    ExportFormat::ALL.into_iter().find(|f| f.name() == name)
}

/// A route's handler behind its guard: the peer is admitted, the caller authorised for the
/// route's role, the query checked against its parameters; the caller and query are handed to
/// the handler as request extensions.
pub(crate) fn guarded(state: &AppState, route: Route) -> MethodRouter<AppState> {
    let guard_state = (state.clone(), route.spec);
    route
        .handler
        .route_layer(middleware::from_fn_with_state(guard_state, guard))
}

async fn guard(
    State((state, spec)): State<(AppState, RouteSpec)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let names: Vec<&str> = spec.query.iter().map(|p| p.name).collect();
    let query = match Query::parse(request.uri().query(), &names) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let caller = match spec.role {
        Some(role) => state
            .access
            .authorize(request.headers(), peer.ip(), role, Instant::now()),
        None => state
            .access
            .admits(peer.ip())
            .map(|()| handlers::anonymous()),
    };
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(query);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}
