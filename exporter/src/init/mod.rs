//! `pve-traffic-exporter init`: a guided first setup that writes a working `config.yaml`.
//!
//! The order follows what can go wrong: first PVE's address (is anything listening?), then
//! its certificate (shown, compared, pinned), then the token (does it log in, what does it
//! see, which privileges are missing?), and only then the local choices and the quota
//! rules. A failing step says why and asks again, going back as far as needed: a refused
//! connection back to the address, a rejected token back to the token. Nothing is written
//! until every answer is in and the daemons' own loader accepts the result (`file.rs`).
//!
//! With `--non-interactive` every answer comes from flags (and the secret preferably from
//! `PVE_API_TOKEN_SECRET`), for scripts and configuration management; the same checks run
//! and any failure ends the command with a non-zero status.
//!
//! Exit status: 0 written, 1 a check failed or the operator stopped, 2 bad flags.

// The doc comments of the command-line types are clap's `--help` text, written for a
// terminal (`[,rate=MBPS]`, `<file>.bak`, bare URLs), not for rustdoc.
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]

mod file;
mod probe;
mod prompts;
mod rule_answers;
mod token_check;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use pve_traffic_core::config;
use pve_traffic_core::daemon;
use pve_traffic_core::fingerprint;
use pve_traffic_core::period::PeriodKind;
use pve_traffic_core::pve::{Client, ClientOptions, PveError};
use pve_traffic_core::rules::{Action, Direction};
use pve_traffic_core::secret::Secret;
use pve_traffic_core::vocabulary::Vocabulary;

use file::{ConfigFile, MonitorSection, PveSection, RuleSection, StorageSection, TlsSection};
use probe::Endpoint;
use prompts::{Interrupted, Prompter};

/// Time allowed for the probe and for each request of the token test.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Flags of `init`. In the interactive mode the address, token id, interval, time zone,
/// retention and storage flags are the defaults offered; the others serve --non-interactive.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Ask nothing: take every answer from the flags (for scripts).
    #[arg(long)]
    non_interactive: bool,
    /// Overwrite an existing config file without asking (it is kept as <file>.bak).
    #[arg(long)]
    force: bool,
    /// PVE API address, e.g. https://pve1.example.com:8006.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// API token id, user@realm!tokenname.
    #[arg(long, value_name = "ID")]
    token_id: Option<String>,
    /// API token secret (--non-interactive); prefer the environment to the command line.
    #[arg(
        long,
        env = "PVE_API_TOKEN_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    token_secret: Option<String>,
    /// Pin PVE's certificate by this SHA-256 fingerprint, AB:CD:… (--non-interactive).
    #[arg(long, value_name = "FP", conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// Trust the CA certificates in this PEM file, e.g. a copy of /etc/pve/pve-root-ca.pem
    /// (--non-interactive).
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// Pin whatever certificate PVE presents now (--non-interactive; trust on first use).
    #[arg(long, conflicts_with_all = ["fingerprint", "ca_file"])]
    pin_presented: bool,
    /// Write the file without testing the token against PVE (--non-interactive).
    #[arg(long)]
    no_check: bool,
    /// Seconds between polls.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    interval: u32,
    /// IANA time zone of the periods (midnight, Monday, the reset day).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    timezone: String,
    /// Days of 5-minute history to keep; 0 = forever.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    retention_days: u32,
    /// SQLite database file (default: /var/lib/pve-traffic/pve_traffic.db for a config under
    /// /etc, else ./data/pve_traffic.db).
    #[arg(long, value_name = "PATH")]
    storage: Option<String>,
    // A quota rule (repeatable); the help lists the names the config accepts.
    #[arg(long = "rule", value_name = "SPEC", help = rule_spec_help())]
    rules: Vec<String>,
}

/// `--rule`'s help, with every period, action and direction.
fn rule_spec_help() -> String {
    format!(
        "A quota rule (repeatable): name=N,period={},limit=1TB,action={}[,reset_day=1]\
         [,direction={}][,rate=MBPS][,vm_ids=100 101][,tags=a b][,exclude=999].",
        PeriodKind::NAMES.join("|"),
        Action::NAMES.join("|"),
        Direction::NAMES.join("|"),
    )
}

/// Why `init` stopped, with its exit status.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<Interrupted> for Failure {
    fn from(i: Interrupted) -> Failure {
        Failure::failed(i.0)
    }
}

/// How PVE's certificate is trusted.
#[derive(Clone, Debug)]
enum Trust {
    /// Plain HTTP (pve-sim only): nothing to trust.
    None,
    Pin([u8; 32]),
    CaFile(PathBuf),
}

/// What the connection steps settled.
struct Connection {
    endpoint: Endpoint,
    trust: Trust,
    token_id: String,
    secret: Secret,
}

/// Runs the wizard for the config file `--config` names (else `$PVE_TRAFFIC_CONFIG`, else
/// `./config.yaml`).
pub fn run(args: InitArgs, config_arg: Option<&Path>) -> ExitCode {
    let env = |k: &str| std::env::var(k).ok();
    let path = config::config_path(config_arg, &env);
    let result = if args.non_interactive {
        scripted(&args, &path)
    } else if !std::io::stdin().is_terminal() {
        Err(Failure::usage(
            "no terminal to ask on: run it in a terminal, or pass --non-interactive with the \
             answers as flags (see `pve-traffic-exporter init --help`)",
        ))
    } else {
        interactive(&args, &path)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("pve-traffic-exporter init: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn interactive(args: &InitArgs, path: &Path) -> Result<(), Failure> {
    let ask = Prompter::new();
    eprintln!(
        "This writes {} (mode 0600). Enter takes the [default].",
        path.display()
    );
    if path.exists()
        && !args.force
        && !ask.confirm(
            &format!(
                "{} exists. Overwrite it (the old file is kept as .bak)?",
                path.display()
            ),
            false,
        )?
    {
        return Err(Failure::failed(format!(
            "{} left unchanged",
            path.display()
        )));
    }
    let conn = connect(&ask, args)?;
    let monitor = MonitorSection {
        interval_seconds: ask.text(
            "Seconds between polls (1-3600)",
            &args.interval.to_string(),
            |s| match s.trim().parse::<u32>() {
                Ok(n @ 1..=3600) => Ok(n),
                _ => Err("a whole number of seconds from 1 to 3600".to_string()),
            },
        )?,
        timezone: ask.text(
            "Time zone of the periods (IANA name)",
            &args.timezone,
            time_zone,
        )?,
        data_retention_days: ask.text(
            "Days of 5-minute history to keep (0 = forever)",
            &args.retention_days.to_string(),
            |s| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| "a whole number of days".to_string())
            },
        )?,
    };
    let dsn = ask.text("SQLite database file", &default_storage(args, path), |s| {
        Ok::<_, String>(s.trim().to_string())
    })?;
    let mut rules: Vec<RuleSection> = Vec::new();
    loop {
        let question = if rules.is_empty() {
            "Add a traffic quota rule?"
        } else {
            "Add another rule?"
        };
        if !ask.confirm(question, false)? {
            break;
        }
        let rule = ask.rule(&rules)?;
        rules.push(rule);
    }
    write(conn, monitor, dsn, rules, path)
}

/// Address → certificate → token, going back as far as a failure requires.
fn connect(ask: &Prompter, args: &InitArgs) -> Result<Connection, Failure> {
    let runtime = runtime()?;
    let mut url = args.url.clone().unwrap_or_default();
    let mut token_id = args.token_id.clone().unwrap_or_default();
    loop {
        let endpoint = ask.text("PVE API address (https://host:8006)", &url, Endpoint::parse)?;
        url.clone_from(&endpoint.url);
        let trust = if endpoint.tls {
            match probe::presented_fingerprint(&endpoint, TIMEOUT) {
                Ok(presented) => ask_trust(ask, &presented)?,
                Err(e) => {
                    eprintln!("✗ {e}");
                    continue;
                }
            }
        } else {
            eprintln!("! plain HTTP: the token travels unencrypted (fine for pve-sim only)");
            Trust::None
        };
        loop {
            token_id = ask.text(
                "API token id (user@realm!tokenname)",
                &token_id,
                token_id_answer,
            )?;
            let secret = ask.secret("API token secret (typed hidden)")?;
            let conn = Connection {
                endpoint: endpoint.clone(),
                trust: trust.clone(),
                token_id: token_id.clone(),
                secret,
            };
            match test_token(&runtime, &conn) {
                Ok(()) => return Ok(conn),
                Err(e @ PveError::Unauthorized { .. }) => {
                    eprintln!("✗ {e}\n  Try the token id and secret again.");
                }
                Err(e @ PveError::Config(_)) | Err(e @ PveError::Forbidden { .. }) => {
                    eprintln!("✗ {e}\n  Try another token.");
                }
                Err(e) => {
                    // Transport, TLS or server trouble: start over from the address.
                    eprintln!("✗ {e}\n  Back to the address.");
                    break;
                }
            }
        }
    }
}

/// Shows the presented certificate and asks how to trust it; a fingerprint typed in is
/// compared with the presented one.
fn ask_trust(ask: &Prompter, presented: &[u8; 32]) -> Result<Trust, Failure> {
    eprintln!(
        "PVE presented a certificate with the SHA-256 fingerprint\n  {}\nCompare it with the \
         one PVE shows (node → System → Certificates, or `pvenode cert info`).",
        fingerprint::format(presented)
    );
    if ask.confirm("Pin this certificate (trust exactly this one)?", true)? {
        return Ok(Trust::Pin(*presented));
    }
    loop {
        let answer = ask.text(
            "Fingerprint PVE shows (AB:CD:…), or a CA file to trust instead",
            "",
            |s| {
                if s.trim().is_empty() {
                    Err("type the fingerprint or the CA file's path".to_string())
                } else {
                    Ok(s.trim().to_string())
                }
            },
        )?;
        if let Ok(expected) = fingerprint::parse(&answer) {
            if expected == *presented {
                return Ok(Trust::Pin(expected));
            }
            eprintln!(
                "✗ fingerprint mismatch: you expect {}, but the server presented {}. Something \
                 between here and PVE may be intercepting, or the address names another host. \
                 Check and try again.",
                fingerprint::format(&expected),
                fingerprint::format(presented)
            );
            continue;
        }
        let file = PathBuf::from(&answer);
        if file.is_file() {
            return Ok(Trust::CaFile(file));
        }
        eprintln!(
            "✗ {answer:?} is neither a SHA-256 fingerprint (64 hex digits) nor a readable file"
        );
    }
}

/// Logs in with the answers and reports what the token sees and lacks.
fn test_token(runtime: &tokio::runtime::Runtime, conn: &Connection) -> Result<(), PveError> {
    let client = client(conn)?;
    let report = runtime.block_on(token_check::check(&client))?;
    eprintln!(
        "✓ token works: PVE {}, {} node(s), {} guest(s) visible",
        report.release, report.nodes, report.guests
    );
    if let Some(why) = &report.unchecked {
        eprintln!("! privileges not checked: {why}");
    } else if report.missing.is_empty() {
        eprintln!("✓ the token holds every privilege the exporter and the enforcer need");
    }
    for line in &report.missing {
        eprintln!("! {line}");
    }
    if !report.missing.is_empty() {
        eprintln!(
            "  Grant them as README's \"The PVE API token\" shows, then restart the services."
        );
    }
    Ok(())
}

/// The verifying client the daemons will use, with the answers' trust.
fn client(conn: &Connection) -> Result<Client, PveError> {
    let mut opts = ClientOptions::new(
        conn.endpoint.url.clone(),
        conn.token_id.clone(),
        conn.secret.clone(),
    );
    match &conn.trust {
        Trust::None => {}
        Trust::Pin(fp) => opts.fingerprint = Some(*fp),
        Trust::CaFile(path) => opts.ca_file = Some(path.clone()),
    }
    opts.timeout = TIMEOUT;
    opts.retries = 0;
    Client::new(opts)
}

/// `--non-interactive`: the same steps, answers from flags, no retries.
fn scripted(args: &InitArgs, path: &Path) -> Result<(), Failure> {
    if path.exists() && !args.force {
        return Err(Failure::usage(format!(
            "{} exists; pass --force to overwrite it (the old file is kept as .bak)",
            path.display()
        )));
    }
    let required = |flag: &str, v: &Option<String>| {
        v.clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Failure::usage(format!("--non-interactive needs {flag}")))
    };
    let endpoint = Endpoint::parse(&required("--url", &args.url)?).map_err(Failure::usage)?;
    let token_id =
        token_id_answer(&required("--token-id", &args.token_id)?).map_err(Failure::usage)?;
    let secret = Secret::new(required(
        "--token-secret (or PVE_API_TOKEN_SECRET)",
        &args.token_secret,
    )?);
    let trust = match (&args.fingerprint, &args.ca_file, args.pin_presented) {
        _ if !endpoint.tls => Trust::None,
        (Some(fp), None, false) => Trust::Pin(
            fingerprint::parse(fp).map_err(|e| Failure::usage(format!("--fingerprint: {e}")))?,
        ),
        (None, Some(ca), false) => Trust::CaFile(ca.clone()),
        (None, None, true) => {
            Trust::Pin(probe::presented_fingerprint(&endpoint, TIMEOUT).map_err(Failure::failed)?)
        }
        _ => {
            return Err(Failure::usage(
                "choose how to trust PVE's certificate: --fingerprint, --ca-file or \
                 --pin-presented",
            ))
        }
    };
    let conn = Connection {
        endpoint,
        trust,
        token_id,
        secret,
    };
    if !args.no_check {
        test_token(&runtime()?, &conn).map_err(|e| Failure::failed(e.to_string()))?;
    }
    let monitor = MonitorSection {
        interval_seconds: args.interval,
        timezone: time_zone(&args.timezone).map_err(Failure::usage)?,
        data_retention_days: args.retention_days,
    };
    let mut rules: Vec<RuleSection> = Vec::new();
    for spec in &args.rules {
        let rule = rule_answers::from_spec(spec, &rules).map_err(Failure::usage)?;
        rules.push(rule);
    }
    write(conn, monitor, default_storage(args, path), rules, path)
}

/// Renders, checks and writes the file, and says what to do next.
fn write(
    conn: Connection,
    monitor: MonitorSection,
    dsn: String,
    rules: Vec<RuleSection>,
    path: &Path,
) -> Result<(), Failure> {
    let tls = match conn.trust {
        Trust::None => TlsSection::default(),
        Trust::Pin(fp) => TlsSection {
            fingerprint: Some(fingerprint::format(&fp)),
            ca_file: None,
        },
        Trust::CaFile(ca) => TlsSection {
            ca_file: Some(std::path::absolute(&ca).unwrap_or(ca)),
            fingerprint: None,
        },
    };
    let file = ConfigFile {
        pve: PveSection {
            url: conn.endpoint.url,
            token_id: conn.token_id,
            token_secret: conn.secret,
            tls,
        },
        monitor,
        storage: StorageSection {
            kind: "sqlite",
            dsn,
        },
        rules,
    };
    let text = file
        .render(path)
        .map_err(|e| Failure::usage(format!("the answers do not make a valid config: {e}")))?;
    file::write_private(path, &text)
        .map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "✓ wrote {} (mode 0600)\n  Check it:  pve-traffic-exporter --config {} check-config",
        path.display(),
        path.display()
    );
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    daemon::runtime().map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))
}

/// `user@realm!tokenname`.
fn token_id_answer(s: &str) -> Result<String, String> {
    let s = s.trim();
    match s.split_once('!') {
        Some((user, name)) if user.contains('@') && !name.is_empty() => Ok(s.to_string()),
        _ => Err(format!(
            "{s:?} is not an API token id: expected user@realm!tokenname (Datacenter → \
             Permissions → API Tokens)"
        )),
    }
}

/// An IANA time zone name the periods can use.
fn time_zone(s: &str) -> Result<String, String> {
    let s = s.trim();
    jiff::tz::TimeZone::get(s)
        .map(|_| s.to_string())
        .map_err(|_| format!("{s:?} is not an IANA time zone, e.g. UTC or Europe/Berlin"))
}

/// `--storage`, else the packaged layout's database for a config under /etc, else the
/// source tree's.
fn default_storage(args: &InitArgs, path: &Path) -> String {
    if let Some(s) = &args.storage {
        return s.clone();
    }
    if path.starts_with("/etc") {
        "/var/lib/pve-traffic/pve_traffic.db".to_string()
    } else {
        "./data/pve_traffic.db".to_string()
    }
}
