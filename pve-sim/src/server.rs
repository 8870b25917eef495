//! The listener: HTTPS (or plain HTTP) on TCP, PVE's transport rules, and the split between
//! the PVE API (`/api2/json/...`) and the simulator's own control API (`/sim/...`).
//!
//! Transport rules kept from `pveproxy`: a body on GET is refused, bodies over 512 KiB are
//! refused, HEAD is refused, JSON and form bodies are both accepted with the query merged over
//! the body, responses over 1 KiB are gzip-compressed when the client accepts it, every error
//! response closes the connection, and a 401 is delayed to 3 s after the request started.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::response::WireResponse;
use crate::api::{self, ApiRequest};
use crate::error::ApiError;
use crate::faults::FaultKind;
use crate::model::Cluster;
use crate::params::{self, Params};
use crate::request_log::{token_id_of, LoggedRequest};
use crate::state::State;

/// Largest request body PVE accepts.
const MAX_BODY: usize = 512 * 1024;

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn run(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => serve_connection(TokioIo::new(s), state, peer).await,
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                },
                None => serve_connection(TokioIo::new(stream), state, peer).await,
            }
        });
    }
}

async fn serve_connection<I>(io: I, state: Arc<State>, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(respond(&state, req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Answers one HTTP request.
async fn respond(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let accept_gzip = headers
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    // PVE refuses an announced length before reading the body (a client that waits for the
    // verdict before sending gets it); `Limited` catches chunked bodies that grow too large.
    let announced = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|len| len > MAX_BODY) {
        return pve_error(state, &ApiError::status(501, "for data too large"));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return pve_error(state, &ApiError::status(501, "for data too large")),
    };
    if let Some(rest) = path.strip_prefix("/sim") {
        let (status, value) = crate::control::handle(state, &method, rest, &query, &body);
        let wire = WireResponse {
            status,
            reason: None,
            body: serde_json::to_vec(&value).expect("JSON values serialise"),
            json: true,
        };
        return to_http(wire, accept_gzip);
    }
    let Some(api_path) = path.strip_prefix("/api2/json") else {
        let err = if path.starts_with("/api2/") {
            ApiError::status(501, "no such uri")
        } else {
            ApiError::not_implemented(&method, &path)
        };
        return pve_error(state, &err);
    };
    if method == "HEAD" {
        return pve_error(state, &ApiError::status(501, "method 'HEAD' not available"));
    }
    if !body.is_empty() && method != "POST" && method != "PUT" {
        return pve_error(
            state,
            &ApiError::status(501, format!("Unexpected content for method '{method}'")),
        );
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let decoded_path = percent_encoding::percent_decode_str(api_path)
        .decode_utf8_lossy()
        .into_owned();
    let params = match parse_params(&query, &body, content_type) {
        Ok(p) => p,
        Err(e) => return pve_error(state, &e),
    };
    let request = ApiRequest {
        method,
        path: decoded_path,
        params,
        authorization,
    };
    let (wire, delay) = handle_api(state, &request);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if wire.status == 401 {
        let until = started + state.auth_delay;
        tokio::time::sleep_until(until.into()).await;
    }
    to_http(wire, accept_gzip)
}

/// Runs an API request under the lock: faults first, then the handler; logs it. Returns the
/// response and how long to hold it back.
fn handle_api(state: &State, request: &ApiRequest) -> (WireResponse, Option<Duration>) {
    let mut sim = state.lock();
    sim.catch_up();
    let message_field = sim.cluster.version.error_message_field();
    let fault = sim.faults.take(&request.path);
    let mut delay = None;
    let wire = match fault.as_ref().map(|f| (f.kind, f.delay_ms)) {
        Some((FaultKind::Http500, _)) => WireResponse::error(
            &ApiError::internal("Internal Server Error (simulated fault)"),
            message_field,
        ),
        Some((FaultKind::Timeout, d)) => {
            delay = Some(Duration::from_millis(d.unwrap_or(120_000)));
            WireResponse::error(
                &ApiError::status(596, "Connection timed out"),
                message_field,
            )
        }
        Some((FaultKind::Malformed, _)) => WireResponse {
            status: 200,
            reason: None,
            body: br#"{"data":[{"id":"qemu/100","netin":12"#.to_vec(),
            json: true,
        },
        Some((FaultKind::Unauthorized, _)) => WireResponse::error(
            &ApiError::unauthorized(if sim.cluster.version.unified_auth_errors() {
                "Authentication failed!"
            } else {
                "invalid token value!"
            }),
            message_field,
        ),
        Some((FaultKind::Http595, _)) => {
            WireResponse::error(&ApiError::node_unreachable(), message_field)
        }
        Some((FaultKind::Http596, _)) => WireResponse::error(
            &ApiError::status(596, "Connection timed out"),
            message_field,
        ),
        Some((FaultKind::Slow, d)) => {
            delay = Some(Duration::from_millis(d.unwrap_or(2_000)));
            answer(&mut sim.cluster, request, message_field)
        }
        None => answer(&mut sim.cluster, request, message_field),
    };
    let time = sim.cluster.now_secs();
    sim.log.push(LoggedRequest {
        seq: 0,
        time,
        method: request.method.clone(),
        path: request.path.clone(),
        params: request.params.clone(),
        status: wire.status,
        token: token_id_of(request.authorization.as_deref()),
        fault: fault.map(|f| format!("{:?}", f.kind).to_lowercase()),
    });
    (wire, delay)
}

fn answer(cluster: &mut Cluster, request: &ApiRequest, message_field: bool) -> WireResponse {
    match api::handle(cluster, request) {
        Ok(data) => WireResponse::ok(&data),
        Err(e) => WireResponse::error(&e, message_field),
    }
}

/// Query parameters merged over body parameters (JSON or form-encoded).
fn parse_params(query: &str, body: &[u8], content_type: &str) -> Result<Params, ApiError> {
    let mut params = if body.is_empty() {
        Params::new()
    } else if content_type.starts_with("application/json") {
        params::from_json_body(body).map_err(ApiError::params)?
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    };
    params.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
    Ok(params)
}

/// An error before the request reaches the API (transport rules); the body follows the
/// imitated release like any other error (`message` only from 8.4 on).
fn pve_error(state: &State, err: &ApiError) -> Response<Full<Bytes>> {
    let message_field = state.lock().cluster.version.error_message_field();
    to_http(WireResponse::error(err, message_field), false)
}

/// Builds the HTTP response with PVE's headers.
fn to_http(wire: WireResponse, accept_gzip: bool) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let compress = accept_gzip && wire.body.len() > 1024;
    let body = if compress {
        gzip(&wire.body)
    } else {
        wire.body
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if wire.json {
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
    }
    h.insert("server", HeaderValue::from_static("pve-api-daemon/3.0"));
    h.insert("cache-control", HeaderValue::from_static("max-age=0"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert("expires", v);
    }
    if compress {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if wire.status >= 400 {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(reason) = wire.reason {
        // Reason phrases must be visible ASCII, spaces and tabs.
        let clean: String = reason
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(clean.into_bytes()) {
            resp.extensions_mut().insert(r);
        }
    }
    resp
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}
