//! The config file: one `config.yaml` read by every binary (the repository's `config.yaml`
//! documents every key with its default), and the original tool's `config.json`, which must
//! keep loading unchanged.
//!
//! Loading happens in two layers, as ripgrep splits `LowArgs` from `HiArgs`:
//! 1. `raw.rs`: the file's shape, exactly as written; unknown keys are errors with a
//!    suggestion. `legacy.rs` first rewrites the original tool's keys into the current ones,
//!    with one warning per key, so old files load and operators learn the new names.
//! 2. `validate.rs`: every value checked and converted (durations, sizes, bandwidths, time
//!    zones, socket addresses, rules) into the [`Config`] the rest of the crate uses, which is
//!    never partially valid.
//!
//! Below both layers sit `ctx.rs` (the loading state: file, warnings, renamed keys, secrets to
//! scrub) and `leaves.rs` (one reader per value type), so the imports run one way:
//! `validate` → `legacy` → `raw` → `leaves` → `ctx` → `error`.
//!
//! Errors name the file, the key path and what was expected ([`ConfigError`]); the binaries
//! print them and exit with status 2. The environment is an argument (`env`), never read
//! directly, so tests can pass a map and the binaries pass `std::env::var`.
//!
//! Secrets: the PVE token secret comes from the file, `PVE_API_TOKEN_SECRET` or
//! `pve.token_secret_file`, is held as a [`Secret`], and appears in no error, warning, `Debug`
//! output or [`Config::to_masked_yaml`].

mod ctx;
mod error;
mod leaves;
mod legacy;
mod masked;
mod raw;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrorKind};

use crate::guest::GuestType;
use crate::rules::Rule;
use crate::secret::Secret;

/// The validated configuration shared by the exporter and the enforcer.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `pve:` — the PVE API to poll and act on.
    pub pve: PveConfig,
    /// `monitor:` — polling, time zone, retention, sanity bounds.
    pub monitor: MonitorConfig,
    /// `storage:` — the database.
    pub storage: StorageConfig,
    /// `exporter:` — the `/metrics` listener.
    pub exporter: ExporterConfig,
    /// `enforcer:` — the quota reconciler.
    pub enforcer: EnforcerConfig,
    /// `rules:` — traffic quotas, in file order; names are unique.
    pub rules: Vec<Rule>,
}

/// How to reach the PVE API.
#[derive(Clone, Debug, PartialEq)]
pub struct PveConfig {
    /// `pve.url`, normalised to `https://host:port` (scheme and port filled in, no trailing
    /// slash, no `/api2/json`); or built from the original tool's `pve.host` and `pve.port`
    /// (default port 8006). `http://` is accepted for pve-sim and warned about elsewhere.
    pub url: String,
    /// `pve.token_id`: `user@realm!tokenname`; `PVE_API_TOKEN_ID` overrides the file.
    pub token_id: String,
    /// `pve.token_secret`, `PVE_API_TOKEN_SECRET` (wins) or the trimmed contents of
    /// `pve.token_secret_file`; empty when loaded with [`SecretNeed::NotNeeded`].
    pub token_secret: Secret,
    /// `pve.node`: only watch guests on this node; `None` (the default) = the whole cluster.
    pub node: Option<String>,
    /// `pve.tls`: how to trust PVE's certificate.
    pub tls: TlsConfig,
    /// `pve.timeout_seconds` (default 10, 1..=300): the limit for any one API request.
    pub timeout: Duration,
}

/// How to trust PVE's TLS certificate: at most one of the three is set (the loader rejects
/// contradictions); none set means the system's CA roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// `pve.tls.ca_file`: a PEM file of CA certificates to trust, such as PVE's own
    /// `/etc/pve/pve-root-ca.pem`.
    pub ca_file: Option<PathBuf>,
    /// `pve.tls.fingerprint`: the SHA-256 fingerprint of PVE's certificate to pin, in any form
    /// [`crate::fingerprint::parse`] takes (`AB:CD:..` as PVE shows it, or 64 hex digits).
    pub fingerprint: Option<[u8; 32]>,
    /// `pve.tls.insecure`: do not verify the certificate at all (default false; warned about).
    pub insecure: bool,
}

/// What the exporter polls and how it keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorConfig {
    /// `monitor.interval_seconds` (default 60, 1..=3600): time between polls.
    pub interval: Duration,
    /// `monitor.timezone` (default UTC): period boundaries (midnight, Monday, the reset day)
    /// are local to this zone.
    pub timezone: jiff::tz::TimeZone,
    /// The zone's IANA name as resolved (`UTC`, `Europe/Berlin`), for display.
    pub timezone_name: String,
    /// `monitor.include_templates` (default false): account templates too.
    pub include_templates: bool,
    /// `monitor.guest_types` (default `[qemu, lxc]`): which guest types to account.
    pub guest_types: Vec<GuestType>,
    /// `monitor.data_retention_days` (default 90): how long 5-minute history is kept; 0 =
    /// forever (as in the original tool). Coarser rollups are kept longer.
    pub data_retention_days: u32,
    /// `monitor.max_bandwidth` (default `100Gbit`), in bytes per second: a delta implying more
    /// over its interval is no traffic but a counter glitch, so it is discarded, logged and
    /// counted in `pve_traffic_discarded_deltas_total`, never silently.
    pub max_bandwidth: u64,
    /// `monitor.export_path` (default `./exports`): where the export tool writes files.
    pub export_path: PathBuf,
}

/// Where accounted traffic is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// `storage.dsn` (default `./data/pve_traffic.db`): the SQLite database path. Only
    /// `storage.type: sqlite` exists so far.
    pub dsn: String,
}

/// The exporter's HTTP listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterConfig {
    /// `exporter.listen` (default `0.0.0.0:9811`); the original tool's `api.host`/`api.port`.
    pub listen: SocketAddr,
}

/// The enforcer's schedule and safety limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnforcerConfig {
    /// `enforcer.listen` (default `127.0.0.1:9812`): its own `/metrics`.
    pub listen: SocketAddr,
    /// `enforcer.interval_seconds` (default 60, 1..=3600): time between reconciliations.
    pub interval: Duration,
    /// `enforcer.shutdown_timeout_seconds` (default 120, 1..=3600): how long a guest may take
    /// to shut down before it is stopped.
    pub shutdown_timeout: Duration,
    /// `enforcer.dry_run` (default false): decide and log, but write nothing to PVE.
    pub dry_run: bool,
    /// `enforcer.max_data_age_seconds` (default 300, 1..=86400): never act on usage older than
    /// this (the exporter may be down).
    pub max_data_age: Duration,
}

/// A loaded config and what the operator should hear about it (renamed keys, ignored keys,
/// risky settings). The binaries log each warning at startup.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// One line each, `<file>: <what>`; never containing a secret.
    pub warnings: Vec<String>,
}

/// Whether the caller talks to PVE, and so needs the API token secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretNeed {
    /// It talks to PVE (the daemons, `plan`, `check-config`): a missing secret is an error.
    Required,
    /// It only reads the database (`export`, `cleanup`): the secret is not looked up
    /// (neither `PVE_API_TOKEN_SECRET` nor `pve.token_secret_file` is read) and
    /// [`PveConfig::token_secret`] is empty, which the PVE client refuses, so such a config
    /// cannot reach PVE by mistake. The rest of the file is checked as always.
    NotNeeded,
    /// It reads the database and asks PVE only when it can (`plan`): the secret is looked up
    /// as for [`SecretNeed::Required`], but a missing one leaves
    /// [`PveConfig::token_secret`] empty instead of failing.
    IfPresent,
}

/// Reads and validates the config file at `path`, demanding the token secret
/// ([`load_with`] with [`SecretNeed::Required`]).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, ConfigError> {
    load_with(path, env, SecretNeed::Required)
}

/// Reads and validates the config file at `path`.
///
/// The text is JSON if the file name ends in `.json` or the text starts with `{` (the original
/// tool's files), YAML otherwise. `env` looks up environment variables (`PVE_API_TOKEN_ID`,
/// `PVE_API_TOKEN_SECRET`); pass `&|k| std::env::var(k).ok()`. `need` says whether the token
/// secret must be there. Also warns when a file that holds the token secret can be read by
/// other users.
pub fn load_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::file(
            path,
            ConfigErrorKind::Io,
            format!(
                "cannot read the config file: {e}; pass `--config PATH` or set PVE_TRAFFIC_CONFIG"
            ),
        )
    })?;
    let (mut loaded, secret_in_file) = validate::parse(&text, path, env, need)?;
    if secret_in_file {
        if let Some(w) = validate::readable_by_others(path) {
            loaded.warnings.push(format!(
                "{}: holds `pve.token_secret` but {w}; run `chmod 600 {}` or move the secret to \
                 `pve.token_secret_file`",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(loaded)
}

/// Validates config `text`, demanding the token secret ([`parse_with`] with
/// [`SecretNeed::Required`]).
pub fn parse(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    parse_with(text, origin, env, SecretNeed::Required)
}

/// Validates config `text`; `origin` names the file in messages and decides JSON or YAML as
/// in [`load_with`]. Does no I/O except reading `pve.token_secret_file` if set and `need` is
/// [`SecretNeed::Required`].
pub fn parse_with(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<Loaded, ConfigError> {
    validate::parse(text, origin, env, need).map(|(loaded, _)| loaded)
}

/// The config file to read: `--config PATH` if given, else `PVE_TRAFFIC_CONFIG` if set and not
/// empty, else `./config.yaml`.
pub fn config_path(arg: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(path) = arg {
        return path.to_path_buf();
    }
    match env("PVE_TRAFFIC_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("./config.yaml"),
    }
}

impl Config {
    /// The effective config as YAML, with every key (defaults filled in), the token secret as
    /// `"********"`, the fingerprint as `AB:CD:..`, durations as `*_seconds`. What
    /// `check-config` prints; [`parse`] reads it back to the same config, secret aside.
    pub fn to_masked_yaml(&self) -> String {
        masked::to_yaml(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_path_precedence() {
        let none = |_: &str| None;
        let set = |k: &str| (k == "PVE_TRAFFIC_CONFIG").then(|| "/etc/pve-traffic.yaml".into());
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            config_path(Some(Path::new("x.yaml")), &set),
            PathBuf::from("x.yaml")
        );
        assert_eq!(
            config_path(None, &set),
            PathBuf::from("/etc/pve-traffic.yaml")
        );
        assert_eq!(config_path(None, &none), PathBuf::from("./config.yaml"));
        assert_eq!(config_path(None, &empty), PathBuf::from("./config.yaml"));
    }
}
