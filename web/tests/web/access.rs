//! Who may call what: tokens per role, both headers, wrong and missing tokens, throttling,
//! loopback-only without tokens, tokens in URLs, security headers, TLS.

use std::net::{IpAddr, UdpSocket};

use pve_traffic_web::{Settings, TlsSettings};

use crate::support::{client, json, with_tokens, Server, OPERATOR, VIEWER};

#[tokio::test]
async fn api_routes_need_a_token_and_say_how_to_send_it() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let response = client().get(s.url("/api/vms")).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = json(response).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{body}"
    );
    assert_eq!(s.get("/api/vms", Some("not-a-token")).await.0, 401);
    let (status, _) = json(
        client()
            .get(s.url("/api/vms"))
            .header("authorization", "Basic dXNlcg==")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn both_headers_carry_a_token_and_the_session_names_it() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let (status, body) = s.get("/api/session", Some(VIEWER)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["data"]["name"].as_str(), body["data"]["role"].as_str()),
        (Some("grafana"), Some("viewer"))
    );
    let response = client()
        .get(s.url("/api/session"))
        .header("x-api-token", OPERATOR)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["role"], "operator");
    assert_eq!(body["data"]["loopback_only"], false);
}

#[tokio::test]
async fn a_viewer_may_read_but_not_release() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    assert_eq!(s.get("/api/quotas", Some(VIEWER)).await.0, 200);
    let (status, body) = s
        .post(
            "/api/guests/101/release",
            Some(VIEWER),
            r#"{"reason": "x"}"#,
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("operator token"),
        "{body}"
    );
    assert!(!body.to_string().contains(VIEWER));
    assert!(s.source.log().iter().all(|e| e.action != "release"));
}

#[tokio::test]
async fn tokens_in_the_url_are_refused_even_when_valid() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let (status, body) = s
        .get(&format!("/api/vms?token={OPERATOR}"), Some(OPERATOR))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not accepted in the URL"),
        "{body}"
    );
    assert!(!body.to_string().contains(OPERATOR));
}

#[tokio::test]
async fn wrong_tokens_are_throttled_per_address_and_then_even_a_good_one_waits() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    for _ in 0..10 {
        assert_eq!(s.get("/api/vms", Some("guess")).await.0, 401);
    }
    let response = client()
        .get(s.url("/api/vms"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many wrong API tokens"),
        "{body}"
    );
    assert_eq!(
        s.get("/api/openapi.json", None).await.0,
        200,
        "public routes still answer"
    );
}

/// This machine's first non-loopback address, which the tests connect from to be a remote peer.
fn outside_address() -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("198.51.100.1:9")
        .expect("a route off this machine (no packet is sent)");
    let ip = socket.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback(),
        "these tests need a non-loopback interface"
    );
    ip
}

#[tokio::test]
async fn without_tokens_only_loopback_is_answered_and_it_may_operate() {
    let settings = Settings {
        listen: Some("0.0.0.0:0".parse().unwrap()),
        ..Settings::default()
    };
    let s = Server::start(settings, 0).await;
    let (status, body) = s.get("/api/session", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["loopback_only"], true);
    assert_eq!(body["data"]["role"], "operator");
    let (status, _) = s
        .post("/api/guests/101/release", None, r#"{"reason": "local"}"#)
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.source.log().last().unwrap().actor, "local");
    let remote = format!("http://{}:{}", outside_address(), s.addr.port());
    for path in ["/api/vms", "/", "/api/openapi.json"] {
        let (status, body) = json(
            client()
                .get(format!("{remote}{path}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{path}");
        assert!(
            body["error"].as_str().unwrap().contains("only loopback"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn with_tokens_remote_clients_are_answered() {
    let s = Server::start(with_tokens("0.0.0.0"), 0).await;
    let url = format!("http://{}:{}/api/vms", outside_address(), s.addr.port());
    let (status, _) = json(client().get(url).bearer_auth(VIEWER).send().await.unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    for path in ["/", "/assets/app/main.js", "/api/vms", "/api/nothing"] {
        let response = client().get(s.url(path)).send().await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self' 'sha256-"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert!(!csp.contains("http"), "no remote origin: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(!h.contains_key("strict-transport-security"), "plain HTTP");
    }
}

#[tokio::test]
async fn tls_serves_the_api_with_hsts() {
    let dir = std::env::temp_dir().join(format!("pve-traffic-web-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let mut settings = with_tokens("127.0.0.1");
    settings.tls = Some(TlsSettings {
        cert_file,
        key_file,
    });
    let s = Server::start(settings, 0).await;
    let https = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", s.addr)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/api/vms", s.addr.port());
    let response = https.get(&url).bearer_auth(VIEWER).send().await.unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(json(response).await.0, 200);
    assert!(
        client().get(s.url("/api/vms")).send().await.is_err(),
        "plain HTTP is not answered"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn unreadable_tls_files_stop_the_start_with_the_path() {
    let mut settings = with_tokens("127.0.0.1");
    settings.tls = Some(TlsSettings {
        cert_file: "/nonexistent/cert.pem".into(),
        key_file: "/nonexistent/key.pem".into(),
    });
    let source = std::sync::Arc::new(crate::fake::FakeSource::new(0));
    let err = pve_traffic_web::WebServer::bind(&settings, source)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}

#[test]
fn the_web_section_reads_from_yaml() {
    let yaml = "listen: 127.0.0.1:9813\ntls:\n  cert_file: /etc/pve-traffic/cert.pem\n  key_file: /etc/pve-traffic/key.pem\ntokens:\n  - name: grafana\n    sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\n    role: viewer\n";
    let settings: Settings = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(settings.listen, Some("127.0.0.1:9813".parse().unwrap()));
    assert_eq!(settings.tokens[0].role, pve_traffic_web::Role::Viewer);
    settings.validate().unwrap();
    let typo: Result<Settings, _> = serde_saphyr::from_str("listen: 127.0.0.1:9813\ntoken: []\n");
    assert!(typo.is_err(), "unknown keys are refused");
    let role: Result<Settings, _> =
        serde_saphyr::from_str("tokens:\n  - {name: a, sha256: x, role: admin}\n");
    assert!(role.is_err());
}
