//! The PVE client against pve-sim over real HTTPS.
//!
//! Themes: `tls` (the four ways of trusting the server), `auth` (tokens, 401/403, the
//! secret never printed), `errors` (PVE's error text from the reason phrase, malformed
//! answers, timeouts), `retries` (what is retried and how often, counted in the simulator's
//! request log), `resources` (`/cluster/resources` against the simulator's exact truth),
//! `fixtures` (every recorded `/cluster/resources` answer, parsed without a server).
//! `util` starts a simulator per test on a free port; time moves only by `/sim/advance`.

#[path = "support/sim.rs"]
mod util;

use pve_traffic_core::pve::{Client, ClientOptions, PveError};

/// The error a fresh client with `o` gets for `GET /version`.
async fn version_error(o: ClientOptions) -> PveError {
    Client::new(o)
        .unwrap()
        .get("/version", &[])
        .await
        .unwrap_err()
}

mod tls {
    use super::util::{generated, PveClients};
    use pve_traffic_core::fingerprint;
    use pve_traffic_core::pve::{Client, PveError};

    #[tokio::test]
    async fn trusts_a_ca_file() {
        let s = generated().await;
        let mut o = s.opts();
        o.fingerprint = None;
        o.ca_file = Some(s.ca_file());
        let guests = Client::new(o).unwrap().cluster_guests().await.unwrap();
        assert_eq!(guests.len(), 12);
    }

    #[tokio::test]
    async fn trusts_a_fingerprint_pin() {
        let s = generated().await;
        let version = s.client().get("/version", &[]).await.unwrap();
        assert!(version["version"].is_string(), "{version}");
    }

    #[tokio::test]
    async fn a_wrong_pin_names_both_fingerprints() {
        let s = generated().await;
        let mut wrong = s.pin();
        wrong[0] ^= 0xFF;
        let mut o = s.opts();
        o.fingerprint = Some(wrong);
        let err = Client::new(o)
            .unwrap()
            .get("/version", &[])
            .await
            .unwrap_err();
        let PveError::Tls { detail } = &err else {
            panic!("expected a TLS error, got {err:?}")
        };
        assert_eq!(
            detail,
            &format!(
                "certificate fingerprint mismatch: expected {}, server presented {}",
                fingerprint::format(&wrong),
                s.fingerprint().unwrap()
            )
        );
        assert_eq!(err.reason_label(), "tls");
        assert!(err.to_string().contains("pve.tls.fingerprint"), "{err}");
        assert!(
            s.requests().await.is_empty(),
            "no request may pass the handshake"
        );
    }

    #[tokio::test]
    async fn insecure_accepts_the_certificate() {
        let s = generated().await;
        let mut o = s.opts();
        o.fingerprint = None;
        o.insecure = true;
        Client::new(o).unwrap().get("/version", &[]).await.unwrap();
    }

    #[tokio::test]
    async fn without_trust_the_self_made_ca_is_refused() {
        let s = generated().await;
        let mut o = s.opts();
        o.fingerprint = None;
        let err = Client::new(o)
            .unwrap()
            .get("/version", &[])
            .await
            .unwrap_err();
        let PveError::Tls { detail } = &err else {
            panic!("expected a TLS error, got {err:?}")
        };
        assert!(detail.contains("UnknownIssuer"), "{detail}");
        assert!(err.to_string().contains("pve.tls.ca_file"), "{err}");
        assert!(s.requests().await.is_empty());
    }

    #[tokio::test]
    async fn a_ca_file_does_not_also_trust_other_cas() {
        // The CA of another simulator must not vouch for this one.
        let s = generated().await;
        let other = generated().await;
        let mut o = s.opts();
        o.fingerprint = None;
        o.ca_file = Some(other.ca_file());
        let err = Client::new(o)
            .unwrap()
            .get("/version", &[])
            .await
            .unwrap_err();
        assert_eq!(err.reason_label(), "tls", "{err}");
    }
}

mod auth {
    use std::time::Duration;

    use super::util::{generated, PveClients, Sim};
    use super::version_error;
    use pve_sim::testkit::scenario;
    use pve_traffic_core::pve::{Client, ClientOptions, PveError};
    use pve_traffic_core::secret::Secret;

    #[tokio::test]
    async fn the_header_carries_the_token_id() {
        let s = generated().await;
        s.client().get("/version", &[]).await.unwrap();
        let log = s.requests().await;
        assert_eq!(log[0]["token"], s.token_id());
        assert_eq!(log[0]["status"], 200);
    }

    #[tokio::test]
    async fn a_wrong_secret_is_unauthorized_and_not_retried() {
        let s = generated().await;
        let mut o = s.opts();
        o.token_secret = Secret::new("11111111-2222-3333-4444-555555555555");
        let err = Client::new(o).unwrap().cluster_guests().await.unwrap_err();
        assert!(matches!(err, PveError::Unauthorized { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "PVE rejected the API token (401 Authentication failed!): check pve.token_id and pve.token_secret"
        );
        assert!(!err.is_retryable());
        assert_eq!(s.requests().await.len(), 1);
    }

    #[tokio::test]
    async fn a_missing_privilege_is_forbidden_with_pves_text() {
        let s = Sim::start(scenario(
            r#"
nodes: [{ name: pve1 }]
guests:
  - { vmid: 100, type: qemu, node: pve1, name: web1 }
users: [{ userid: audit@pve }]
tokens: [{ id: "audit@pve!ro", secret: "00000000-0000-0000-0000-0000000000aa", privsep: false }]
acl:
  - { path: /vms/100, ugid: audit@pve, privs: [VM.Audit] }
"#,
        ))
        .await;
        let mut o = ClientOptions::new(
            s.base_url(),
            "audit@pve!ro",
            Secret::new("00000000-0000-0000-0000-0000000000aa"),
        );
        o.fingerprint = Some(s.pin());
        let c = Client::new(o).unwrap();
        let err = c
            .post("/nodes/pve1/qemu/100/status/stop", &[])
            .await
            .unwrap_err();
        let PveError::Forbidden { path, reason } = &err else {
            panic!("expected Forbidden, got {err:?}")
        };
        assert_eq!(path, "/nodes/pve1/qemu/100/status/stop");
        assert_eq!(reason, "Permission check failed (/vms/100, VM.PowerMgmt)");
        assert_eq!(err.reason_label(), "forbidden");
        assert_eq!(s.requests().await.len(), 1, "403 is not retried");
    }

    /// Every error kind the client can produce, and the client itself, printed every way:
    /// the secret appears nowhere.
    #[tokio::test]
    async fn the_secret_never_prints() {
        let s = generated().await;
        let secret = s.token_secret().to_string();
        let mut shown = Vec::new();
        let client = s.client();
        shown.push(format!("{client:?}"));
        shown.push(format!("{:?}", s.opts()));

        let mut errors: Vec<PveError> = Vec::new();
        // unauthorized (the secret, altered, is on the wire)
        let mut o = s.opts();
        o.token_secret = Secret::new(format!("{secret}x"));
        errors.push(version_error(o).await);
        // http 500 / 400
        errors.push(client.get("/nodes/nosuch/qemu", &[]).await.unwrap_err());
        errors.push(
            client
                .get("/cluster/resources", &[("type", "qemu")])
                .await
                .unwrap_err(),
        );
        // malformed
        s.fault(serde_json::json!({"kind": "malformed", "count": 1}))
            .await;
        errors.push(client.get("/version", &[]).await.unwrap_err());
        // timeout
        s.fault(serde_json::json!({"kind": "timeout", "count": 1, "delay_ms": 1000}))
            .await;
        let mut o = s.opts();
        o.timeout = Duration::from_millis(200);
        o.retries = 0;
        errors.push(version_error(o).await);
        // tls
        let mut o = s.opts();
        o.fingerprint = Some([0; 32]);
        errors.push(version_error(o).await);
        // connect
        let mut o = s.opts();
        o.url = "https://127.0.0.1:1".into();
        o.retries = 0;
        errors.push(version_error(o).await);
        // config (a secret that cannot go in a header)
        let mut o = s.opts();
        o.token_secret = Secret::new(format!("{secret}\n"));
        errors.push(Client::new(o).unwrap_err());

        let labels: Vec<&str> = errors.iter().map(PveError::reason_label).collect();
        assert_eq!(
            labels,
            [
                "unauthorized",
                "http",
                "http",
                "malformed",
                "timeout",
                "tls",
                "connect",
                "config"
            ]
        );
        for e in &errors {
            shown.push(format!("{e}"));
            shown.push(format!("{e:?}"));
        }
        for text in &shown {
            assert!(!text.contains(&secret), "secret leaked in: {text}");
        }
    }
}

mod errors {
    use std::time::{Duration, Instant};

    use super::util::{generated, PveClients, Sim};
    use pve_sim::testkit::scenario;
    use pve_traffic_core::pve::{Client, PveError};
    use serde_json::json;

    /// PVE 7.4 sends no `message` member: the text can only come from the reason phrase.
    #[tokio::test]
    async fn the_reason_phrase_is_pves_error_text() {
        let s = Sim::start(scenario(
            r#"
pve_version: "7.4"
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - { vmid: 101, type: qemu, node: pve1, name: web1 }
"#,
        ))
        .await;
        let mut o = s.opts();
        o.retries = 0;
        let c = Client::new(o).unwrap();
        let err = c.get("/nodes/pve2/qemu/101/config", &[]).await.unwrap_err();
        let PveError::Api {
            status,
            reason,
            path,
        } = &err
        else {
            panic!("expected an API error, got {err:?}")
        };
        assert_eq!(*status, 500);
        assert_eq!(
            reason,
            "Configuration file 'nodes/pve2/qemu-server/101.conf' does not exist"
        );
        assert_eq!(path, "/nodes/pve2/qemu/101/config");
        assert_eq!(
            err.to_string(),
            "PVE answered 500 Configuration file 'nodes/pve2/qemu-server/101.conf' does not exist for /nodes/pve2/qemu/101/config"
        );
        let err = c.get("/nodes/nosuch/qemu", &[]).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "PVE answered 500 hostname lookup 'nosuch' failed - failed to get address info for: nosuch: Name or service not known for /nodes/nosuch/qemu"
        );
    }

    #[tokio::test]
    async fn a_bad_parameter_names_it_and_is_not_retried() {
        let s = generated().await;
        let err = s
            .client()
            .get("/cluster/resources", &[("type", "qemu")])
            .await
            .unwrap_err();
        let PveError::Api {
            status: 400,
            reason,
            ..
        } = &err
        else {
            panic!("expected a 400, got {err:?}")
        };
        assert!(
            reason.starts_with("Parameter verification failed. (type: "),
            "{reason}"
        );
        assert_eq!(s.requests().await.len(), 1);
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_malformed() {
        let s = generated().await;
        s.fault(json!({"kind": "malformed", "count": 1})).await;
        let err = s.client().cluster_guests().await.unwrap_err();
        let PveError::Malformed { path, detail } = &err else {
            panic!("expected Malformed, got {err:?}")
        };
        assert_eq!(path, "/cluster/resources");
        assert!(detail.starts_with("body is not JSON"), "{detail}");
        assert_eq!(s.requests().await.len(), 1);
    }

    #[tokio::test]
    async fn a_silent_server_times_out_per_request() {
        let s = generated().await;
        s.fault(json!({"kind": "timeout", "count": 1, "delay_ms": 2000}))
            .await;
        let mut o = s.opts();
        o.timeout = Duration::from_millis(300);
        o.retries = 0;
        let started = Instant::now();
        let err = Client::new(o).unwrap().cluster_guests().await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        let PveError::Timeout { path, after } = &err else {
            panic!("expected a timeout, got {err:?}")
        };
        assert_eq!(path, "/cluster/resources");
        assert_eq!(*after, Duration::from_millis(300));
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn nobody_listening_is_a_connect_error() {
        let s = generated().await;
        let mut o = s.opts();
        o.url = "https://127.0.0.1:1".into();
        o.retries = 1;
        let err = Client::new(o)
            .unwrap()
            .get("/version", &[])
            .await
            .unwrap_err();
        let PveError::Connect { url, .. } = &err else {
            panic!("expected Connect, got {err:?}")
        };
        assert_eq!(url, "https://127.0.0.1:1/api2/json");
    }
}

mod retries {
    use std::time::Duration;

    use super::util::{generated, PveClients};
    use pve_traffic_core::pve::{Client, PveError};
    use serde_json::json;

    fn statuses(log: &[serde_json::Value]) -> Vec<u64> {
        log.iter().map(|r| r["status"].as_u64().unwrap()).collect()
    }

    #[tokio::test]
    async fn one_server_error_is_cured_by_one_retry() {
        let s = generated().await;
        s.fault(json!({"kind": "http500", "count": 1})).await;
        let guests = s.client().cluster_guests().await.unwrap();
        assert_eq!(guests.len(), 12);
        assert_eq!(statuses(&s.requests().await), [500, 200]);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let s = generated().await;
        s.fault(json!({"kind": "http595", "count": 5})).await;
        let mut o = s.opts();
        o.retries = 2;
        let err = Client::new(o).unwrap().cluster_guests().await.unwrap_err();
        let PveError::Api { status: 595, .. } = &err else {
            panic!("expected a 595, got {err:?}")
        };
        assert_eq!(statuses(&s.requests().await), [595, 595, 595]);
    }

    #[tokio::test]
    async fn a_write_is_not_repeated_after_the_server_may_have_acted() {
        let s = generated().await;
        let guest = s.client().cluster_guests().await.unwrap()[0].clone();
        let path = format!(
            "/nodes/{}/{}/{}/status/start",
            guest.node, guest.guest_type, guest.vmid
        );
        s.control("DELETE", "/requests", None).await;
        s.fault(json!({"kind": "http596", "count": 1})).await;
        let err = s.client().post(&path, &[]).await.unwrap_err();
        assert_eq!(err.status(), Some(596));
        assert_eq!(s.requests().await.len(), 1);
    }

    #[tokio::test]
    async fn a_write_is_retried_when_pveproxy_never_reached_the_node() {
        let s = generated().await;
        let guest = s.client().cluster_guests().await.unwrap()[0].clone();
        // Stopped or running, `stop` gives a UPID or PVE's own error; neither is a 595.
        let path = format!(
            "/nodes/{}/{}/{}/status/stop",
            guest.node, guest.guest_type, guest.vmid
        );
        s.control("DELETE", "/requests", None).await;
        s.fault(json!({"kind": "http595", "count": 1})).await;
        let result = s.client().post(&path, &[]).await;
        let log = s.requests().await;
        assert_eq!(log.len(), 2, "{result:?}");
        assert_eq!(log[0]["status"], 595);
        assert_ne!(log[1]["status"], 595);
    }

    #[tokio::test]
    async fn timeouts_are_retried() {
        let s = generated().await;
        s.fault(json!({"kind": "timeout", "count": 1, "delay_ms": 2000}))
            .await;
        let mut o = s.opts();
        o.timeout = Duration::from_millis(300);
        o.retries = 1;
        let guests = Client::new(o).unwrap().cluster_guests().await.unwrap();
        assert_eq!(guests.len(), 12);
    }
}

mod resources {
    use super::util::{PveClients, Sim};
    use pve_sim::testkit::scenario;
    use pve_sim::Scenario;
    use pve_traffic_core::pve::GuestResource;

    /// Starts the clock on a 10 s boundary, so that after advancing by a multiple of 10 s
    /// PVE's status cache (refreshed every 10 s) holds exactly the live counters.
    fn aligned(mut sc: Scenario) -> Scenario {
        sc.start_time = Some(1_767_225_600);
        sc
    }

    async fn assert_matches_truth(s: &Sim, guests: &[GuestResource]) {
        let truth = s.control("GET", "/truth", None).await;
        let truth = truth["guests"].as_object().unwrap();
        assert_eq!(guests.len(), truth.len());
        for g in guests {
            let t = &truth[&g.vmid.to_string()];
            assert_eq!(t["id"], g.id(), "{}", g.id());
            assert_eq!(t["node"], g.node.as_str(), "{}", g.id());
            assert_eq!(g.netin, t["netin"].as_u64(), "netin of {}", g.id());
            assert_eq!(g.netout, t["netout"].as_u64(), "netout of {}", g.id());
        }
    }

    #[tokio::test]
    async fn every_guest_with_counters_equal_to_the_truth() {
        let s = Sim::start(aligned(Scenario::generate(40, 3, 11))).await;
        s.advance(3600).await;
        let guests = s.client().cluster_guests().await.unwrap();
        assert!(
            guests.iter().any(|g| g.netin.unwrap_or(0) > 0),
            "traffic flowed"
        );
        assert!(guests.iter().any(|g| g.status == "stopped"));
        assert!(guests.iter().any(|g| !g.tags.is_empty()));
        assert_matches_truth(&s, &guests).await;
        let log = s.requests().await;
        assert_eq!(log.len(), 1, "exactly one request per poll");
        assert_eq!(log[0]["method"], "GET");
        assert_eq!(log[0]["path"], "/cluster/resources");
        assert_eq!(log[0]["params"], serde_json::json!({"type": "vm"}));
    }

    #[tokio::test]
    async fn numbers_as_strings_still_match_the_truth() {
        let mut sc = aligned(Scenario::generate(20, 2, 5));
        sc.legacy_quirks = true;
        let s = Sim::start(sc).await;
        s.advance(120).await;
        let guests = s.client().cluster_guests().await.unwrap();
        assert_matches_truth(&s, &guests).await;
    }

    #[tokio::test]
    async fn an_offline_node_gives_guests_without_counters() {
        let s = Sim::start(scenario(
            r#"
start_time: 1767225600
nodes: [{ name: pve1 }, { name: pve2 }]
guests:
  - { vmid: 100, type: qemu, node: pve1, name: a, tags: "prod;web", pool: p1, nics: [{ config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 1000, tx_rate: 100, shaped: false }] }
  - { vmid: 101, type: lxc, node: pve2, name: b, lock: backup, nics: [{ config: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02", rx_rate: 1000, tx_rate: 100, shaped: false }] }
"#,
        ))
        .await;
        s.advance(60).await;
        s.control("POST", "/nodes/pve2/offline", None).await;
        s.advance(600).await;
        let guests = s.client().cluster_guests().await.unwrap();
        let a = &guests[0];
        assert_eq!(
            (a.vmid, a.status.as_str(), a.tags.clone()),
            (100, "running", vec!["prod".to_string(), "web".to_string()])
        );
        assert_eq!(a.pool.as_deref(), Some("p1"));
        assert_eq!(a.netin, Some(660 * 1000));
        let b = &guests[1];
        assert_eq!((b.vmid, b.status.as_str()), (101, "unknown"));
        assert_eq!((b.uptime, b.netin, b.netout), (None, None, None));
        assert_eq!(b.lock.as_deref(), Some("backup"));
    }
}

mod fixtures {
    use std::path::Path;

    use pve_traffic_core::pve::parse_cluster_guests;

    /// What the parser gave for each `tests/fixtures/cluster_resources_<name>.json` when it
    /// still read the whole answer into a `serde_json::Value` tree before looking at it:
    /// `<name>:`, then each guest (`Debug`), then each note. Reading in one pass must not
    /// change a guest, a note or their order.
    const EXPECTED: &str = r#"odd:
GuestResource { vmid: 100, guest_type: Qemu, node: "pve1", status: "running", name: Some("web1"), uptime: Some(86400), netin: Some(734003200), netout: Some(52428800), template: false, tags: ["prod", "web", "eu-west"], lock: None, pool: None, hastate: None }
GuestResource { vmid: 101, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct1"), uptime: Some(10), netin: Some(1), netout: Some(2), template: false, tags: [], lock: None, pool: None, hastate: None }
GuestResource { vmid: 102, guest_type: Qemu, node: "pve1", status: "paused", name: Some("big"), uptime: Some(5), netin: Some(1200000000000000), netout: Some(1500), template: true, tags: [], lock: None, pool: None, hastate: None }
GuestResource { vmid: 103, guest_type: Qemu, node: "pve3", status: "unknown", name: None, uptime: None, netin: None, netout: None, template: false, tags: [], lock: Some("migrate"), pool: None, hastate: None }
GuestResource { vmid: 104, guest_type: Qemu, node: "pve1", status: "stopped", name: Some("1234"), uptime: Some(0), netin: Some(0), netout: Some(0), template: false, tags: [], lock: None, pool: None, hastate: None }
GuestResource { vmid: 105, guest_type: Lxc, node: "pve2", status: "stopped", name: Some("tmpl-ct"), uptime: Some(0), netin: Some(0), netout: Some(0), template: true, tags: [], lock: None, pool: None, hastate: None }
GuestResource { vmid: 107, guest_type: Lxc, node: "pve2", status: "unknown", name: None, uptime: None, netin: Some(7), netout: Some(8), template: false, tags: [], lock: None, pool: None, hastate: None }
GuestResource { vmid: 108, guest_type: Qemu, node: "pve1", status: "running", name: None, uptime: Some(3), netin: None, netout: Some(5), template: false, tags: [], lock: None, pool: None, hastate: None }
note: skipped entry #6 (openvz/106): unknown guest type "openvz" (expected qemu or lxc)
note: skipped entry #8 (qemu/abc): vmid: expected a non-negative integer, got "abc"
note: skipped entry #9 (qemu/109): no node
note: ignored netin of entry #10 (qemu/108): expected a non-negative integer, got -1
note: skipped entry #13: expected an object, got a string
note: skipped a second entry for VMID 101 (lxc/101 on pve1): VMIDs are unique
pve9:
GuestResource { vmid: 100, guest_type: Qemu, node: "pve1", status: "running", name: Some("web1"), uptime: Some(86400), netin: Some(734003200), netout: Some(52428800), template: false, tags: ["prod", "web"], lock: None, pool: Some("tenant-a"), hastate: Some("started") }
GuestResource { vmid: 101, guest_type: Lxc, node: "pve2", status: "stopped", name: Some("ct1"), uptime: Some(0), netin: Some(0), netout: Some(0), template: false, tags: [], lock: Some("backup"), pool: None, hastate: None }
GuestResource { vmid: 9000, guest_type: Qemu, node: "pve1", status: "stopped", name: Some("tmpl-debian"), uptime: Some(0), netin: Some(0), netout: Some(0), template: true, tags: [], lock: None, pool: None, hastate: None }
sim:
GuestResource { vmid: 100, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-100"), uptime: Some(4200), netin: Some(464782200), netout: Some(159433200), template: false, tags: ["db", "monitored", "prod"], lock: None, pool: Some("pool1"), hastate: None }
GuestResource { vmid: 101, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-101"), uptime: Some(4200), netin: Some(3831000), netout: Some(189087000), template: false, tags: ["prod"], lock: None, pool: None, hastate: None }
GuestResource { vmid: 102, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-102"), uptime: Some(4200), netin: Some(9099600), netout: Some(118596600), template: false, tags: ["prod", "tenant-a"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 103, guest_type: Qemu, node: "pve1", status: "running", name: Some("vm-103"), uptime: Some(4200), netin: Some(420000), netout: Some(207000), template: false, tags: ["db"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 104, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-104"), uptime: Some(4200), netin: Some(318786000), netout: Some(2802000), template: false, tags: ["monitored"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 105, guest_type: Qemu, node: "pve1", status: "stopped", name: Some("vm-105"), uptime: Some(0), netin: Some(0), netout: Some(0), template: false, tags: ["monitored"], lock: None, pool: Some("pool3"), hastate: None }
GuestResource { vmid: 106, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-106"), uptime: Some(4200), netin: Some(994200), netout: Some(7220400), template: false, tags: ["dev", "monitored"], lock: None, pool: None, hastate: None }
GuestResource { vmid: 107, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-107"), uptime: Some(4200), netin: Some(975921600), netout: Some(13239600), template: false, tags: ["dev", "prod", "tenant-a"], lock: None, pool: None, hastate: None }
sim_legacy:
GuestResource { vmid: 100, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-100"), uptime: Some(4200), netin: Some(464782200), netout: Some(159433200), template: false, tags: ["db", "monitored", "prod"], lock: None, pool: Some("pool1"), hastate: None }
GuestResource { vmid: 101, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-101"), uptime: Some(4200), netin: Some(3831000), netout: Some(189087000), template: false, tags: ["prod"], lock: None, pool: None, hastate: None }
GuestResource { vmid: 102, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-102"), uptime: Some(4200), netin: Some(9099600), netout: Some(118596600), template: false, tags: ["prod", "tenant-a"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 103, guest_type: Qemu, node: "pve1", status: "running", name: Some("vm-103"), uptime: Some(4200), netin: Some(420000), netout: Some(207000), template: false, tags: ["db"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 104, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-104"), uptime: Some(4200), netin: Some(318786000), netout: Some(2802000), template: false, tags: ["monitored"], lock: None, pool: Some("pool2"), hastate: None }
GuestResource { vmid: 105, guest_type: Qemu, node: "pve1", status: "stopped", name: Some("vm-105"), uptime: Some(0), netin: Some(0), netout: Some(0), template: false, tags: ["monitored"], lock: None, pool: Some("pool3"), hastate: None }
GuestResource { vmid: 106, guest_type: Qemu, node: "pve2", status: "running", name: Some("vm-106"), uptime: Some(4200), netin: Some(994200), netout: Some(7220400), template: false, tags: ["dev", "monitored"], lock: None, pool: None, hastate: None }
GuestResource { vmid: 107, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct-107"), uptime: Some(4200), netin: Some(975921600), netout: Some(13239600), template: false, tags: ["dev", "prod", "tenant-a"], lock: None, pool: None, hastate: None }
unfiltered:
GuestResource { vmid: 100, guest_type: Qemu, node: "pve1", status: "running", name: Some("web1"), uptime: Some(86400), netin: Some(734003200), netout: Some(52428800), template: false, tags: [], lock: None, pool: Some("tenant-a"), hastate: None }
GuestResource { vmid: 101, guest_type: Lxc, node: "pve2", status: "running", name: Some("ct1"), uptime: Some(120), netin: Some(4096), netout: Some(1024), template: false, tags: [], lock: None, pool: None, hastate: None }
"#;

    #[test]
    fn every_recorded_answer_gives_the_same_guests_and_notes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let file = e.unwrap().file_name().into_string().unwrap();
                let name = file
                    .strip_prefix("cluster_resources_")?
                    .strip_suffix(".json")?;
                Some(name.to_string())
            })
            .collect();
        names.sort();
        assert_eq!(
            names.len(),
            5,
            "a new fixture needs its expectation here: {names:?}"
        );
        let mut actual = String::new();
        for name in &names {
            let body = std::fs::read(dir.join(format!("cluster_resources_{name}.json"))).unwrap();
            let (guests, notes) = parse_cluster_guests(&body)
                .unwrap_or_else(|e| panic!("cluster_resources_{name}.json: {e}"));
            actual.push_str(&format!("{name}:\n"));
            for g in &guests {
                actual.push_str(&format!("{g:?}\n"));
            }
            for n in &notes {
                actual.push_str(&format!("note: {n}\n"));
            }
        }
        assert!(
            actual == EXPECTED,
            "expected:\n{EXPECTED}\nactual:\n{actual}"
        );
    }
}
