//! Transport: TLS trust, the envelope, reason phrases, and pveproxy's HTTP rules, checked
//! on the wire (raw HTTP/1.1 over TCP where a client library would hide the detail).
//!
//! The raw helpers here ([`RawReply`], [`raw_http`], [`plain_with`]) are shared with the
//! `auth` module, whose 401 texts live only in the reason phrase.

use std::io::{Read, Write};

use pve_sim::Options;
use serde_json::Value;

use crate::util::{scenario, Harness, BASIC};

/// Sends `request` verbatim over plain TCP and returns the whole raw answer.
fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One raw HTTP answer, split into its parts.
#[derive(Debug)]
pub(crate) struct RawReply {
    pub status: u16,
    /// The reason phrase exactly as sent.
    pub reason: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes as sent (not decompressed).
    pub body: Vec<u8>,
}

impl RawReply {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// Sends `head` (request line and headers, each ending in `\r\n`, without the blank line)
/// and `body` over plain TCP with `Connection: close`, and parses the answer.
pub(crate) async fn raw_http(
    addr: std::net::SocketAddr,
    head: impl AsRef<str>,
    body: &[u8],
) -> RawReply {
    let mut request = format!("{}Connection: close\r\n\r\n", head.as_ref()).into_bytes();
    request.extend_from_slice(body);
    let bytes = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(&request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    })
    .await
    .unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or("").to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    RawReply {
        status,
        reason,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

/// A GET over raw TCP with the given `Authorization` header (or none).
pub(crate) async fn raw_get(h: &Harness, path: &str, authorization: Option<&str>) -> RawReply {
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    raw_http(
        h.sim.addr(),
        &format!("GET /api2/json{path} HTTP/1.1\r\nHost: sim\r\n{auth}"),
        b"",
    )
    .await
}

/// A plain-HTTP simulator for `yaml`.
pub(crate) async fn plain_with(yaml: &str) -> Harness {
    let mut opts = Options::for_tests(scenario(yaml));
    opts.tls = false;
    Harness::start_with(opts).await
}

async fn plain() -> Harness {
    plain_with(BASIC).await
}

/// BASIC with another `pve_version`.
fn basic_as(version: &str) -> String {
    format!("pve_version: \"{version}\"\n{BASIC}")
}

#[tokio::test]
async fn https_with_the_ca_works_and_the_fingerprint_matches_the_served_certificate() {
    let h = Harness::basic().await;
    let v = h.get("/version").await;
    assert_eq!(v["release"], "9.1");
    let fp = h.sim.fingerprint().unwrap();
    assert_eq!(fp.len(), 95);
}

#[tokio::test]
async fn the_served_certificate_is_the_one_whose_fingerprint_the_simulator_reports() {
    let h = Harness::basic().await;
    let ca = reqwest::Certificate::from_pem(h.sim.ca_pem().unwrap().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .tls_info(true)
        .build()
        .unwrap();
    let resp = client
        .get(format!("{}/version", h.sim.api_url()))
        .header("Authorization", h.sim.authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let info = resp.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    let der = info.peer_certificate().expect("a peer certificate");
    assert_eq!(pve_sim::tls::fingerprint(der), h.sim.fingerprint().unwrap());
}

#[tokio::test]
async fn a_client_that_trusts_no_ca_is_refused_and_one_trusting_only_the_ca_succeeds() {
    let h = Harness::basic().await;
    let url = format!("{}/version", h.sim.api_url());
    let trusting_nothing = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let err = trusting_nothing
        .get(&url)
        .header("Authorization", h.sim.authorization())
        .send()
        .await
        .expect_err("an unknown CA must fail the handshake");
    assert!(err.is_connect(), "{err:?}");

    let ca = reqwest::Certificate::from_pem(h.sim.ca_pem().unwrap().as_bytes()).unwrap();
    let only_the_ca = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let resp = only_the_ca
        .get(&url)
        .header("Authorization", h.sim.authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn error_text_travels_in_the_reason_phrase_and_closes_the_connection() {
    let h = plain().await;
    let auth = h.sim.authorization();
    let addr = h.sim.addr();
    let answer = tokio::task::spawn_blocking(move || {
        raw(
            addr,
            &format!("GET /api2/json/nodes/pve1/qemu/101/status/current HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"),
        )
    })
    .await
    .unwrap();
    let first = answer.lines().next().unwrap();
    assert_eq!(
        first,
        "HTTP/1.1 500 Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist"
    );
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        answer.contains("\"message\":\"Configuration file"),
        "{answer}"
    );
}

#[tokio::test]
async fn success_carries_pves_headers_and_the_data_envelope() {
    let h = Harness::basic().await;
    let resp = h
        .client
        .get(format!("{}/version", h.sim.api_url()))
        .header("Authorization", h.sim.authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let hd = resp.headers();
    assert_eq!(hd["server"], "pve-api-daemon/3.0");
    assert_eq!(hd["content-type"], "application/json;charset=UTF-8");
    assert_eq!(hd["cache-control"], "max-age=0");
    assert_eq!(hd["pragma"], "no-cache");
    assert!(hd.contains_key("expires"));
    assert!(hd.get("connection").is_none_or(|v| v != "close"));
    let body: Value = resp.json().await.unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["data"]);
    assert!(obj["data"].is_object());
}

#[tokio::test]
async fn head_is_not_available() {
    let h = plain().await;
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "HEAD /api2/json/version HTTP/1.1\r\nHost: sim\r\nAuthorization: {}\r\n",
            h.sim.authorization()
        ),
        b"",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.reason, "method 'HEAD' not available");
    assert_eq!(r.header("connection"), Some("close"));
}

#[tokio::test]
async fn a_get_with_a_body_is_refused() {
    let h = plain().await;
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "GET /api2/json/version HTTP/1.1\r\nHost: sim\r\nAuthorization: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n",
            h.sim.authorization()
        ),
        b"full=1",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.reason, "Unexpected content for method 'GET'");
    assert_eq!(
        r.json(),
        serde_json::json!({"data": null, "message": "Unexpected content for method 'GET'\n"})
    );
}

#[tokio::test]
async fn a_body_over_512_kib_is_refused() {
    let h = plain().await;
    // PVE judges the announced length before reading: the body is not even sent (sending
    // it would race the server's close against our read).
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "POST /api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1\r\nHost: sim\r\n\
             Authorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n",
            h.sim.authorization(),
            512 * 1024 + 1
        ),
        b"",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.reason, "for data too large");
    // Exactly 512 KiB is still accepted (and then judged by the schema).
    let body = vec![b'a'; 512 * 1024];
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "POST /api2/json/nodes/pve1/qemu/100/status/start HTTP/1.1\r\nHost: sim\r\n\
             Authorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n",
            h.sim.authorization(),
            body.len()
        ),
        &body,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.reason);
}

#[tokio::test]
async fn an_unknown_path_is_501_not_implemented_with_the_method_and_path() {
    let h = plain().await;
    let r = raw_get(&h, "/nodes/pve1/foo", Some(&h.sim.authorization())).await;
    assert_eq!(r.status, 501);
    assert_eq!(r.reason, "Method 'GET /nodes/pve1/foo' not implemented");
    assert_eq!(
        r.json(),
        serde_json::json!({"data": null, "message": "Method 'GET /nodes/pve1/foo' not implemented\n"})
    );
    // The route is resolved before authentication: no token, still 501.
    let r = raw_get(&h, "/nodes/pve1/foo", None).await;
    assert_eq!(r.status, 501);
}

#[tokio::test]
async fn another_api_format_is_no_such_uri() {
    let h = plain().await;
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "GET /api2/extjs/version HTTP/1.1\r\nHost: sim\r\nAuthorization: {}\r\n",
            h.sim.authorization()
        ),
        b"",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.reason, "no such uri");
}

#[tokio::test]
async fn bodies_over_1_kib_are_gzipped_when_the_client_accepts_it() {
    let h = plain().await;
    let auth = h.sim.authorization();
    let get = |path: &'static str, gzip: bool| {
        let enc = if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        raw_http(
            h.sim.addr(),
            format!("GET /api2/json{path} HTTP/1.1\r\nHost: sim\r\nAuthorization: {auth}\r\n{enc}"),
            b"",
        )
    };
    let identity = get("/cluster/resources", false).await;
    assert_eq!(identity.status, 200);
    assert!(identity.header("content-encoding").is_none());
    assert!(identity.body.len() > 1024, "{}", identity.body.len());

    let zipped = get("/cluster/resources", true).await;
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut plain_body = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut plain_body)
        .unwrap();
    assert_eq!(plain_body, identity.body);

    // A small body stays uncompressed even when gzip is accepted.
    let small = get("/version", true).await;
    assert!(small.body.len() <= 1024);
    assert!(small.header("content-encoding").is_none());
    assert_eq!(small.json()["data"]["release"], "9.1");
}

/// The parameters the simulator logged for its latest request.
async fn last_logged_params(h: &Harness) -> Value {
    let (status, log) = h.sim("GET", "/requests", None).await;
    assert_eq!(status, 200);
    log.as_array().unwrap().last().unwrap()["params"].clone()
}

#[tokio::test]
async fn json_bodies_are_accepted_with_booleans_as_0_1_and_the_query_wins() {
    let h = Harness::basic().await;
    let url = format!(
        "{}/nodes/pve1/qemu/100/status/shutdown?timeout=7",
        h.sim.api_url()
    );
    let resp = h
        .client
        .post(&url)
        .header("Authorization", h.sim.authorization())
        .json(&serde_json::json!({"forceStop": true, "timeout": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"].as_str().unwrap().starts_with("UPID:pve1:"));
    assert_eq!(
        last_logged_params(&h).await,
        serde_json::json!({"forceStop": "1", "timeout": "7"})
    );

    // PUT takes JSON too; `false` becomes 0.
    let resp = h
        .client
        .put(format!("{}/nodes/pve2/lxc/101/config", h.sim.api_url()))
        .header("Authorization", h.sim.authorization())
        .json(&serde_json::json!({"protection": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        serde_json::json!({"data": null})
    );
    assert_eq!(
        last_logged_params(&h).await,
        serde_json::json!({"protection": "0"})
    );
}

#[tokio::test]
async fn form_booleans_must_be_0_or_1() {
    let h = Harness::basic().await;
    let r = h
        .api(
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            &[("forceStop", "true")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_for("forceStop"),
        "type check ('boolean') failed - got 'true'"
    );
}

#[tokio::test]
async fn the_message_member_exists_from_8_4_on() {
    for (version, has_message) in [("9.1", true), ("8.4", true), ("8.2", false), ("7.4", false)] {
        let h = Harness::start(scenario(&basic_as(version))).await;
        // A handler error, a parameter error and a transport error.
        let r = h
            .api("GET", "/nodes/pve1/qemu/101/status/current", &[])
            .await;
        assert_eq!(r.status, 500);
        let want = if has_message {
            serde_json::json!({"data": null, "message": "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist\n"})
        } else {
            serde_json::json!({"data": null})
        };
        assert_eq!(r.body, want, "{version}");

        let r = h.api("GET", "/version", &[("bogus", "1")]).await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body.get("message").is_some(),
            has_message,
            "{version}: {}",
            r.body
        );
        assert!(r.error_for("bogus").contains("not defined in schema"));

        let r = h.api("GET", "/nodes/pve1/foo", &[]).await;
        assert_eq!(r.status, 501);
        assert_eq!(
            r.body.get("message").is_some(),
            has_message,
            "{version}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn transport_errors_follow_the_version_too() {
    let h = plain_with(&basic_as("8.2")).await;
    let r = raw_http(
        h.sim.addr(),
        &format!(
            "GET /api2/json/version HTTP/1.1\r\nHost: sim\r\nAuthorization: {}\r\n\
             Content-Length: 6\r\n",
            h.sim.authorization()
        ),
        b"full=1",
    )
    .await;
    assert_eq!(r.status, 501);
    assert_eq!(r.json(), serde_json::json!({"data": null}));
}
