//! Transport: TLS trust, the envelope, reason phrases, and pveproxy's HTTP rules, checked
//! on the wire (raw HTTP/1.1 over TCP where a client library would hide the detail).

use std::io::{Read, Write};

use pve_sim::Options;

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

async fn plain() -> Harness {
    let mut opts = Options::for_tests(scenario(BASIC));
    opts.tls = false;
    Harness::start_with(opts).await
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
