//! A web server over the fake source on a real TCP port, and an HTTP client for it.

use std::net::SocketAddr;
use std::sync::Arc;

use pve_traffic_web::{hash_token, Role, Settings, TokenSettings, WebServer};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::fake::FakeSource;

pub const VIEWER: &str = "viewer-token-0123456789abcdef";
pub const OPERATOR: &str = "operator-token-fedcba9876543210";

/// Settings with a viewer (`grafana`) and an operator (`alice`) token, listening on `ip`.
pub fn with_tokens(ip: &str) -> Settings {
    Settings {
        listen: Some(format!("{ip}:0").parse().unwrap()),
        tls: None,
        tokens: vec![
            TokenSettings {
                name: "grafana".into(),
                sha256: hash_token(VIEWER),
                role: Role::Viewer,
            },
            TokenSettings {
                name: "alice".into(),
                sha256: hash_token(OPERATOR),
                role: Role::Operator,
            },
        ],
    }
}

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub source: Arc<FakeSource>,
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// Serves `settings` over a fake source with `extra` generated guests.
    pub async fn start(settings: Settings, extra: u32) -> Server {
        let source = Arc::new(FakeSource::new(extra));
        let server = WebServer::bind(&settings, source.clone())
            .await
            .expect("the web server starts")
            .expect("web.listen is set");
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            source,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET `path` with `token` (as a bearer token), answering status and JSON body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = client().get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        json(request.send().await.expect("the server answers")).await
    }

    /// POST JSON `body` to `path` with `token`.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut request = client()
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        json(request.send().await.expect("the server answers")).await
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The status and JSON body, checking the envelope matches the status.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("a JSON body");
    if body.get("openapi").is_none() {
        assert_eq!(
            body["success"],
            Value::Bool(status == 200),
            "{status} {body}"
        );
        if status != 200 {
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        }
    }
    (status, body)
}
