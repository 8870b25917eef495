//! The listener and the router: the API routes from the route table behind their guards, the
//! embedded UI, the security headers on every answer, and plain HTTP or TLS on a TCP port.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::assets;
use crate::auth::Access;
use crate::envelope::{json_body, ApiError};
use crate::handlers::AppState;
use crate::openapi;
use crate::routes::{self, RouteSpec};
use crate::security::SecurityHeaders;
use crate::settings::Settings;
use crate::source::WebSource;

/// The largest request body (a release reason is at most 500 characters).
const MAX_BODY: usize = 16 * 1024;

/// Why the web server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebServerError {
    /// The settings are invalid.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The listen address cannot be bound.
    #[error("web.listen {addr}: cannot listen: {source} (is another process using the port?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key cannot be read or used.
    #[error("web.tls: {0}")]
    Tls(String),
}

/// The router of the UI and API over `source` (`tls`: whether it is served over TLS, for the
/// HSTS header). Serve it with `ConnectInfo<SocketAddr>` (as [`WebServer`] does).
pub fn app(source: Arc<dyn WebSource>, settings: &Settings, tls: bool) -> Router {
    let table = routes::table();
    let specs: Vec<RouteSpec> = table.iter().map(|r| r.spec).collect();
    let state = AppState {
        source,
        access: Arc::new(Access::new(&settings.tokens)),
        openapi: Arc::new(json_body(&openapi::document(&specs))),
    };
    let mut router = Router::new();
    for route in table {
        let path = route.spec.path;
        router = router.route(path, routes::guarded(&state, route));
    }
    let security = SecurityHeaders::new(tls);
    let access = state.access.clone();
    router
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        // Browsers ask for it on every page that names no icon (index.html names an empty one).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such page or route; see /api/openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this route does not take that method; see /api/openapi.json",
            )
        })
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(
            move |ConnectInfo(peer): ConnectInfo<SocketAddr>,
                  request: Request,
                  next: axum::middleware::Next| {
                let access = access.clone();
                async move {
                    match access.admits(peer.ip()) {
                        Ok(()) => next.run(request).await,
                        Err(e) => e.into_response(),
                    }
                }
            },
        ))
        .layer(axum::middleware::map_response(move |response: Response| {
            let security = security.clone();
            async move { security.apply(response) }
        }))
}

async fn index(headers: HeaderMap) -> Response {
    assets::find("index.html")
        .expect("index.html is embedded")
        .respond(&headers)
}

async fn asset(
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    match assets::find(&path) {
        Some(asset) => asset.respond(&headers),
        None => ApiError::new(StatusCode::NOT_FOUND, format!("no asset {path:?}")).into_response(),
    }
}

/// The web server, bound and ready to run.
pub struct WebServer {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
}

impl WebServer {
    /// Validates `settings`, reads the TLS files, binds `web.listen`; `Ok(None)` when
    /// `web.listen` is unset (the web server is off). Logs how access is controlled.
    pub async fn bind(
        settings: &Settings,
        source: Arc<dyn WebSource>,
    ) -> Result<Option<WebServer>, WebServerError> {
        settings.validate()?;
        let Some(addr) = settings.listen else {
            return Ok(None);
        };
        let tls = settings
            .tls
            .as_ref()
            .map(|t| acceptor(&t.cert_file, &t.key_file))
            .transpose()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| WebServerError::Bind { addr, source })?;
        let router = app(source, settings, tls.is_some());
        tracing::info!(%addr, tls = tls.is_some(), "{}", settings.access_summary());
        Ok(Some(WebServer {
            listener,
            tls,
            router,
        }))
    }

    /// The address actually bound (the port, when `web.listen` asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "web: accept failed");
                        continue;
                    }
                },
                () = &mut shutdown => return,
            };
            let _ = stream.set_nodelay(true);
            let router = self.router.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => serve_connection(TokioIo::new(s), router, peer).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "web: TLS handshake failed"),
                    },
                    None => serve_connection(TokioIo::new(stream), router, peer).await,
                }
            });
        }
    }
}

async fn serve_connection<I>(io: I, router: Router, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }
        });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(%peer, error = %e, "web: connection ended with an error");
    }
}

/// A TLS acceptor from PEM files.
fn acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, WebServerError> {
    let read = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        WebServerError::Tls(format!("cannot read the {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| read("certificate", cert_file, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read("certificate", cert_file, &e))?;
    if certs.is_empty() {
        return Err(WebServerError::Tls(format!(
            "{} holds no PEM certificate",
            cert_file.display()
        )));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_file).map_err(|e| read("private key", key_file, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| WebServerError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        WebServerError::Tls(format!("the certificate and key do not fit together: {e}"))
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
