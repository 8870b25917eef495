//! `pve-traffic-exporter init` against an in-process pve-sim: the interactive wizard driven
//! through a pseudo-terminal as an operator would type (every failure it must survive on the
//! way: an unreachable address, a fingerprint that does not match, a wrong secret), and the
//! `--non-interactive` form scripts use.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{Eof, Expect};
use pve_sim::testkit::TestSim;
use pve_sim::Scenario;
use pve_traffic_core::fingerprint;

const BIN: &str = env!("CARGO_BIN_EXE_pve-traffic-exporter");

async fn sim(scenario: Scenario) -> TestSim {
    TestSim::start(scenario).await
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `init` for `config` in a pseudo-terminal, the environment cleared of config variables.
fn wizard(config: &Path) -> Session {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config").arg(config).arg("init");
    cmd.env_remove("PVE_API_TOKEN_SECRET")
        .env_remove("PVE_TRAFFIC_CONFIG");
    let mut s = Session::spawn(cmd).expect("the wizard starts in a pty");
    // Only a guard against a hung wizard; no test depends on timing.
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    s
}

/// A wizard session that keeps everything the terminal showed, to check what never appears.
struct Screen {
    session: Session,
    seen: Vec<u8>,
}

impl Screen {
    fn new(session: Session) -> Screen {
        Screen {
            session,
            seen: Vec::new(),
        }
    }

    /// Waits for `needle` on the terminal; panics with it if it never comes.
    fn expect(&mut self, needle: &str) {
        let found = self
            .session
            .expect(needle)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}"));
        self.seen.extend_from_slice(found.as_bytes());
    }

    fn send(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
    }

    fn send_line(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    /// Reads the rest of the output and returns everything the terminal showed.
    fn finish(mut self) -> (String, i32) {
        if let Ok(rest) = self.session.expect(Eof) {
            self.seen.extend_from_slice(rest.as_bytes());
        }
        let code = exit_code(&self.session);
        (String::from_utf8_lossy(&self.seen).into_owned(), code)
    }
}

/// Waits for the wizard to end; its exit code.
fn exit_code(s: &Session) -> i32 {
    match s.get_process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the wizard did not exit normally: {other:?}"),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn check_config(path: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg("--config")
        .arg(path)
        .arg("check-config")
        .env_remove("PVE_API_TOKEN_SECRET")
        .env_remove("PVE_API_TOKEN_ID")
        .output()
        .unwrap()
}

fn load(path: &Path) -> pve_traffic_core::config::Config {
    pve_traffic_core::config::load(path, &|_| None)
        .unwrap()
        .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_survives_each_failure_and_writes_a_config_check_config_accepts() {
    let sim = sim(Scenario::generate(6, 2, 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("etc/config.yaml");
    let url = sim.base_url();
    let fingerprint = sim.fingerprint().unwrap().to_string();
    let token_id = sim.token_id().to_string();
    let secret = sim.token_secret().to_string();
    let p = path.clone();
    let fp = fingerprint.clone();
    let sec = secret.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = Screen::new(wizard(&p));
        // An address where nothing listens: said so, asked again.
        s.expect("PVE API address");
        s.send_line(&format!("127.0.0.1:{}", closed_port()));
        s.expect("cannot reach 127.0.0.1:");
        s.expect("PVE API address");
        s.send_line(&url);
        // The certificate is shown; a fingerprint that differs is refused, then the right one.
        s.expect(&fp);
        s.expect("Pin this certificate");
        s.send("n");
        s.expect("Fingerprint PVE shows");
        s.send_line(&["00"; 32].join(":"));
        s.expect("fingerprint mismatch");
        s.expect("Fingerprint PVE shows");
        s.send_line(&fp.to_lowercase());
        // A wrong secret: rejected, asked again (the token id is now the default).
        s.expect("API token id");
        s.send_line(&token_id);
        s.expect("API token secret");
        s.send_line("00000000-0000-0000-0000-000000000000");
        s.expect("PVE rejected the API token");
        s.expect("API token id");
        s.send_line("");
        s.expect("API token secret");
        s.send_line(&sec);
        s.expect("6 guest(s) visible");
        s.expect("holds every privilege");
        // Local choices; a bad time zone is re-asked.
        s.expect("Seconds between polls");
        s.send_line("30");
        s.expect("Time zone");
        s.send_line("Mars/Olympus_Mons");
        s.expect("is not an IANA time zone");
        s.send_line("Europe/Berlin");
        s.expect("Days of 5-minute history");
        s.send_line("");
        s.expect("SQLite database file");
        s.send_line("");
        // One rule, then no more.
        s.expect("Add a traffic quota rule?");
        s.send("y");
        s.expect("Rule name");
        s.send_line("monthly");
        s.expect("Period");
        s.send_line("");
        s.expect("Day of the month");
        s.send_line("15");
        s.expect("Traffic counted");
        s.send_line("tx");
        s.expect("Limit");
        s.send_line("1.5TB");
        s.expect("Action over the limit");
        s.send_line("rate_limit");
        s.expect("Rate per NIC");
        s.send_line("");
        s.expect("VMIDs it applies to");
        s.send_line("100 101");
        s.expect("Tags that select");
        s.send_line("limited");
        s.expect("VMIDs never affected");
        s.send_line("");
        s.expect("Add another rule?");
        s.send("n");
        s.expect("wrote");
        let (screen, code) = s.finish();
        assert_eq!(code, 0, "{screen}");
        // What is typed visibly shows, so the capture is complete enough to judge.
        assert!(screen.contains(&token_id), "{screen}");
        // Typed hidden, and never echoed back in a message: neither the wrong secret nor
        // the right one.
        assert!(
            !screen.contains(&sec),
            "the secret appeared on the terminal"
        );
        assert!(!screen.contains("00000000-0000-0000-0000-000000000000"));
    })
    .await
    .unwrap();

    assert_eq!(mode(&path), 0o600);
    let out = check_config(&path);
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));
    let c = load(&path);
    assert_eq!(c.pve.url, sim.base_url());
    assert_eq!(c.pve.token_id, sim.token_id());
    assert_eq!(c.pve.token_secret.expose(), secret);
    assert_eq!(
        c.pve.tls.fingerprint,
        Some(fingerprint::parse(&fingerprint).unwrap())
    );
    assert_eq!(c.monitor.interval, Duration::from_secs(30));
    assert_eq!(c.monitor.timezone_name, "Europe/Berlin");
    assert_eq!(c.monitor.data_retention_days, 90);
    let r = &c.rules[0];
    assert_eq!(
        (r.name.as_str(), r.period.reset_day, r.limit_bytes),
        ("monthly", 15, 1_500_000_000_000)
    );
    assert_eq!(
        (r.rate_limit_mb, r.vm_ids.as_slice()),
        (Some(10.0), &[100, 101][..])
    );
    assert_eq!(r.vm_tags, ["limited"]);
    assert_eq!(c.rules.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_file_is_not_overwritten_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "mine\n").unwrap();
    let p = path.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = Screen::new(wizard(&p));
        s.expect("exists. Overwrite it");
        s.send("n");
        s.expect("left unchanged");
        assert_eq!(s.finish().1, 1);
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
}

/// `init --non-interactive` with `args`, the secret in the environment.
fn scripted(config: &Path, secret: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["init", "--non-interactive"])
        .args(args)
        .env("PVE_API_TOKEN_SECRET", secret)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_interactive_pins_the_presented_certificate_and_writes_rules() {
    let sim = sim(Scenario::generate(4, 1, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let url = sim.base_url();
    let args = [
        "--url",
        url.as_str(),
        "--token-id",
        sim.token_id(),
        "--pin-presented",
        "--storage",
        "/var/lib/pve-traffic/pve_traffic.db",
        "--rule",
        "name=daily,period=day,limit=50GiB,action=notify,tags=a b",
    ];
    let out = scripted(&path, sim.token_secret(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 guest(s) visible"), "{stderr}");
    assert!(!stderr.contains(sim.token_secret()), "{stderr}");
    assert_eq!(mode(&path), 0o600);
    assert!(check_config(&path).status.success());
    let c = load(&path);
    assert_eq!(
        c.pve.tls.fingerprint,
        Some(fingerprint::parse(sim.fingerprint().unwrap()).unwrap())
    );
    assert_eq!(c.storage.dsn, "/var/lib/pve-traffic/pve_traffic.db");
    assert_eq!(c.rules[0].vm_tags, ["a", "b"]);

    // A second run refuses to overwrite; --force keeps the old file as .bak.
    let out = scripted(&path, sim.token_secret(), &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let mut forced: Vec<&str> = args.to_vec();
    forced.push("--force");
    assert!(scripted(&path, sim.token_secret(), &forced)
        .status
        .success());
    assert!(PathBuf::from(format!("{}.bak", path.display())).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_interactive_names_missing_privileges_and_fails_on_a_wrong_pin() {
    let mut scenario = Scenario::generate(3, 1, 3);
    let yaml = r#"
users: [ { userid: traffic@pve } ]
tokens: [ { id: "traffic@pve!ro", secret: "11111111-2222-4333-8444-555555555555", privsep: false } ]
acl: [ { path: /, ugid: traffic@pve, roles: [PVEAuditor] } ]
nodes: [ { name: pve1 } ]
"#;
    let access = Scenario::from_yaml(yaml).unwrap();
    scenario.users = access.users;
    scenario.tokens = access.tokens;
    scenario.acl = access.acl;
    let sim = sim(scenario).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let url = sim.base_url();
    let fp = sim.fingerprint().unwrap().to_string();
    let secret = "11111111-2222-4333-8444-555555555555";
    let base = ["--url", url.as_str(), "--token-id", "traffic@pve!ro"];
    let out = scripted(
        &path,
        secret,
        &[&base[..], &["--fingerprint", &fp]].concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for missing in [
        "VM.PowerMgmt on /",
        "VM.Config.Network on /",
        "SDN.Use on /sdn/zones/localnetwork",
    ] {
        assert!(
            stderr.contains(&format!("enforcer: {missing} is missing")),
            "{stderr}"
        );
    }
    assert!(!stderr.contains("exporter: VM.Audit"), "{stderr}");

    // A pin that is not the server's: refused, nothing written.
    let other = dir.path().join("other.yaml");
    let wrong = ["AB"; 32].join(":");
    let out = scripted(
        &other,
        secret,
        &[&base[..], &["--fingerprint", &wrong]].concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("certificate fingerprint mismatch"),
        "{stderr}"
    );
    assert!(!other.exists());

    // Without a terminal and without --non-interactive: told how to script it.
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&other)
        .arg("init")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--non-interactive"));
}
