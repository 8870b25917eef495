//! The API's handlers: each reads the checked query (see `routes::guard`), asks the
//! [`WebSource`] on the blocking pool, and wraps the answer in the envelope.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::{Access, Caller};
use crate::envelope::{ok, ApiError};
use crate::model::{Export, ExportRequest, LogQuery, ReleaseRequest};
use crate::query::Query;
use crate::range;
use crate::routes;
use crate::settings::Role;
use crate::source::WebSource;

/// Entries `GET /api/logs` returns by default, and at most.
const LOG_LIMIT: (u32, u32) = (500, 5_000);
/// The longest release reason kept.
const MAX_REASON: usize = 500;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) source: Arc<dyn WebSource>,
    pub(crate) access: Arc<Access>,
    /// `/api/openapi.json`, built once from the route table.
    pub(crate) openapi: Arc<Vec<u8>>,
}

/// `GET /api/session`: who is calling.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Session {
    /// The token's name (`local` for a loopback client without tokens configured).
    name: String,
    /// What it may do.
    role: Role,
    /// Whether the server answers loopback clients only (no tokens configured).
    loopback_only: bool,
}

/// The body of `POST /api/guests/{vmid}/release`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Body {
    /// Why the penalty is lifted (kept in the action log; 1 to 500 characters).
    reason: String,
}

/// The caller of a public route.
pub(crate) fn anonymous() -> Caller {
    Caller {
        name: "anonymous".into(),
        role: Role::Viewer,
    }
}

/// Runs `read` on the blocking pool and answers its value in the envelope.
async fn answer<T, F>(state: &AppState, read: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&dyn WebSource) -> Result<T, ApiError> + Send + 'static,
{
    match blocking(state, read).await {
        Ok(value) => ok(value),
        Err(e) => e.into_response(),
    }
}

async fn blocking<T, F>(state: &AppState, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn WebSource) -> Result<T, ApiError> + Send + 'static,
{
    let source = state.source.clone();
    tokio::task::spawn_blocking(move || read(source.as_ref()))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "web: a data read panicked");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the exporter's log",
            ))
        })
}

/// A VMID from the path.
fn vmid(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|id| *id >= 100)
        .ok_or_else(|| {
            ApiError::bad_request(format!("{text:?} is not a VMID (an integer from 100)"))
        })
}

pub(crate) async fn session(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    ok(Session {
        name: caller.name,
        role: caller.role,
        loopback_only: state.access.loopback_only(),
    })
}

pub(crate) async fn vms(State(state): State<AppState>) -> Response {
    answer(&state, |s| Ok(s.vms()?)).await
}

pub(crate) async fn vm(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    answer(&state, move |s| Ok(s.vm(vmid(&id)?)?)).await
}

pub(crate) async fn stats(
    State(state): State<AppState>,
    Extension(q): Extension<Query>,
) -> Response {
    answer(&state, move |s| {
        Ok(s.stats(range::from_query(&q, s, "today")?)?)
    })
    .await
}

pub(crate) async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(q): Extension<Query>,
) -> Response {
    answer(&state, move |s| {
        let vmid = vmid(&id)?;
        Ok(s.history(vmid, range::from_query(&q, s, "24h")?)?)
    })
    .await
}

pub(crate) async fn logs(
    State(state): State<AppState>,
    Extension(q): Extension<Query>,
) -> Response {
    answer(&state, move |s| {
        let limit = q.parsed::<u32>("limit", "a count")?.unwrap_or(LOG_LIMIT.0);
        if limit == 0 || limit > LOG_LIMIT.1 {
            return Err(ApiError::bad_request(format!(
                "limit must be 1 to {}",
                LOG_LIMIT.1
            )));
        }
        let query = LogQuery {
            range: range::from_query(&q, s, "24h")?,
            vmid: q.get("vmid").map(vmid).transpose()?,
            rule: q.get("rule").map(str::to_string),
            action: q.get("action").map(str::to_string),
            result: q.get("result").map(str::to_string),
            limit,
        };
        Ok(s.logs(&query)?)
    })
    .await
}

pub(crate) async fn rules(State(state): State<AppState>) -> Response {
    answer(&state, |s| Ok(s.rules()?)).await
}

pub(crate) async fn system_stats(State(state): State<AppState>) -> Response {
    answer(&state, |s| Ok(s.system_stats()?)).await
}

pub(crate) async fn quotas(State(state): State<AppState>) -> Response {
    answer(&state, |s| Ok(s.quotas()?)).await
}

pub(crate) async fn enforcements(State(state): State<AppState>) -> Response {
    answer(&state, |s| Ok(s.enforcements()?)).await
}

pub(crate) async fn export(
    State(state): State<AppState>,
    Extension(q): Extension<Query>,
) -> Response {
    let file = blocking(&state, move |s| {
        let request = export_request(&q, s)?;
        Ok(s.export(&request)?)
    })
    .await;
    match file {
        Ok(file) => download(file),
        Err(e) => e.into_response(),
    }
}

/// The export the query asks for.
fn export_request(q: &Query, source: &dyn WebSource) -> Result<ExportRequest, ApiError> {
    let vmid = match q.get("vm") {
        None => return Err(ApiError::bad_request("vm=… is needed: a VMID, or `all`")),
        Some("all") => None,
        Some(text) => Some(vmid(text)?),
    };
    let format = q.get("format").unwrap_or("html");
    let format = routes::export_format(format).ok_or_else(|| {
        ApiError::bad_request(format!(
            "format={format:?} is not one of html, png, svg, json, csv"
        ))
    })?;
    let dark = match q.get("theme").unwrap_or("light") {
        "light" => false,
        "dark" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "theme={other:?} is not light or dark"
            )))
        }
    };
    Ok(ExportRequest {
        vmid,
        range: range::from_query(q, source, "24h")?,
        format,
        dark,
        width: q.parsed("width", "a number of pixels")?.unwrap_or(1200),
        height: q.parsed("height", "a number of pixels")?.unwrap_or(600),
    })
}

/// A file as an attachment.
fn download(file: Export) -> Response {
    let name: String = file
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let disposition = format!("attachment; filename=\"{name}\"");
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub(crate) async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = match release_request(&id, &caller, body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    answer(&state, move |s| {
        let release = s.release(&request)?;
        tracing::info!(vmid = request.vmid, actor = %request.actor, "web: penalty released");
        Ok(release)
    })
    .await
}

fn release_request(
    id: &str,
    caller: &Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<ReleaseRequest, ApiError> {
    let vmid = vmid(id)?;
    let body = body.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("the request body could not be read: {e}"),
        )
    })?;
    let body: Body = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be JSON like {{\"reason\": \"…\"}}: {e}"
        ))
    })?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::bad_request(format!(
            "reason must be 1 to {MAX_REASON} characters: say why the penalty is lifted"
        )));
    }
    Ok(ReleaseRequest {
        vmid,
        reason: reason.to_string(),
        actor: caller.name.clone(),
    })
}

pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    let body = state.openapi.as_ref().clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
