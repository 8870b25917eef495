//! The second layer: every value checked and converted into a [`Config`].
//!
//! Each key is read by one small function that knows its type, range and default, so the
//! error can say exactly what was expected ("expected an integer from 1 to 3600, found
//! \"abc\""). The first problem found is reported: one clear message beats a list in which
//! later entries are consequences of the first.
//!
//! Secrets: values of `token_secret` keys are described by type only, and every message is
//! scrubbed of the secret's known values before it leaves this module, so even a secret
//! pasted into the wrong key does not reach a log.

use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::error::{ConfigError, ConfigErrorKind};
use super::leaves::{as_u64, boolean, found, integer, kind_of, list, nonempty, present};
use super::leaves::{required_word, seconds, socket, string, word};
use super::raw::{section, RawEnforcer, RawExporter, RawFile, RawMonitor, RawPve, RawRule};
use super::raw::{RawStorage, RawTls};
use super::{legacy, Config, EnforcerConfig, ExporterConfig, Loaded, MonitorConfig, PveConfig};
use super::{SecretNeed, StorageConfig, TlsConfig};
use crate::fingerprint;
use crate::guest::GuestType;
use crate::period::{PeriodKind, PeriodSpec};
use crate::rules::{Action, Direction, Rule};
use crate::secret::Secret;
use crate::units;
use crate::vocabulary::{quoted_list, Vocabulary};

use ConfigErrorKind::{Invalid, Io, Missing, Syntax};

/// Default `pve` port, as PVE serves its API.
const DEFAULT_PVE_PORT: u16 = 8006;
/// Default `storage.dsn`.
pub(super) const DEFAULT_DSN: &str = "./data/pve_traffic.db";
/// The largest `limit_gb` that fits in a u64 of bytes (16 EiB).
const MAX_LIMIT_GB: f64 = (1u64 << 34) as f64;

/// Parses and validates `text`; also says whether the token secret came from the text itself
/// (so `load` can warn about the file's permissions).
pub(super) fn parse(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<(Loaded, bool), ConfigError> {
    let mut ctx = Ctx::new(origin);
    for line in text.lines().filter(|l| l.contains("token_secret")) {
        // Before parsing: a syntax error may quote any line, so learn secrets from the text.
        if !line.contains("token_secret_file") {
            if let Some((_, value)) = line.split_once(':') {
                ctx.secret(value.trim().trim_end_matches(',').trim_matches(['"', '\'']));
            }
        }
    }
    if let Some(s) = env_var(env, "PVE_API_TOKEN_SECRET") {
        ctx.secret(&s);
    }
    match validate(&mut ctx, text, env, need) {
        Ok((config, secret_in_file)) => {
            let warnings = ctx.warnings.iter().map(|w| ctx.scrub(w)).collect();
            Ok((Loaded { config, warnings }, secret_in_file))
        }
        Err(e) => Err(e.scrubbed(|m| ctx.scrub(m))),
    }
}

fn validate(
    ctx: &mut Ctx,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<(Config, bool), ConfigError> {
    let json =
        ctx.file.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let root: Value = if json {
        serde_json::from_str(text).map_err(|e| {
            ConfigError::file(
                ctx.file,
                Syntax,
                format!("invalid JSON: {e}; fix the syntax there"),
            )
        })?
    } else {
        serde_saphyr::from_str(text).map_err(|e| {
            // The first line says where and what; the rest quotes the file, which may hold
            // the secret.
            let e = e.to_string();
            let first = e.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            ConfigError::file(
                ctx.file,
                Syntax,
                format!("invalid YAML: {first}; fix the syntax there"),
            )
        })?
    };
    let mut root = match root {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(ConfigError::file(
                ctx.file,
                Invalid,
                format!(
                    "expected a mapping of sections (`pve:`, `monitor:`, `rules:` ...), found {}",
                    found(&other)
                ),
            ))
        }
    };
    legacy::migrate(ctx, &mut root)?;
    let raw: RawFile = section(ctx, "", Some(Value::Object(root)))?;
    let (pve, secret_in_file) = pve(ctx, raw.pve, env, need)?;
    let monitor = monitor(ctx, raw.monitor)?;
    let storage = storage(ctx, raw.storage)?;
    let exporter = exporter(ctx, raw.exporter)?;
    let enforcer = enforcer(ctx, raw.enforcer, &monitor, &exporter)?;
    let rules = rules(ctx, raw.rules)?;
    let config = Config {
        pve,
        monitor,
        storage,
        exporter,
        enforcer,
        rules,
    };
    Ok((config, secret_in_file))
}

// ---------------------------------------------------------------------------------------------
// Sections

fn pve(
    ctx: &mut Ctx,
    raw: Option<Value>,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<(PveConfig, bool), ConfigError> {
    let r: RawPve = section(ctx, "pve", raw)?;
    let url = pve_url(ctx, &r)?;

    let (token_id, from_env) = match env_var(env, "PVE_API_TOKEN_ID") {
        Some(id) => (Some(id), true),
        None => (nonempty(string(ctx, "pve.token_id", r.token_id)?), false),
    };
    let token_id = token_id.map(|t| t.trim().to_string()).ok_or_else(|| {
        ctx.err(
            "pve.token_id",
            Missing,
            "missing; set it in the file (like \"monitor@pve!traffic\") or in PVE_API_TOKEN_ID",
        )
    })?;
    if !valid_token_id(&token_id) {
        let source = if from_env { " in PVE_API_TOKEN_ID" } else { "" };
        return Err(ctx.err(
            "pve.token_id",
            Invalid,
            format!(
                "expected a token id like \"monitor@pve!traffic\" (user@realm!token), found \
                 {token_id:?}{source}"
            ),
        ));
    }

    let (token_secret, secret_in_file) =
        token_secret(ctx, r.token_secret, r.token_secret_file, env, need)?;

    let node = nonempty(string(ctx, "pve.node", r.node)?).map(|n| n.trim().to_string());
    let tls = tls(ctx, r.tls)?;
    let timeout = seconds(ctx, "pve.timeout_seconds", r.timeout_seconds, 1, 300, 10)?;
    let pve = PveConfig {
        url,
        token_id,
        token_secret,
        node,
        tls,
        timeout,
    };
    Ok((pve, secret_in_file))
}

/// The token secret: `PVE_API_TOKEN_SECRET`, else `pve.token_secret_file`, else
/// `pve.token_secret`; also whether it sits in the config file itself. With
/// [`SecretNeed::NotNeeded`] only the keys' shape is checked and the secret is left empty;
/// with [`SecretNeed::IfPresent`] a missing secret is left empty.
fn token_secret(
    ctx: &mut Ctx,
    inline: Option<Value>,
    file: Option<Value>,
    env: &dyn Fn(&str) -> Option<String>,
    need: SecretNeed,
) -> Result<(Secret, bool), ConfigError> {
    let inline = match present(inline) {
        None => None,
        Some(Value::String(s)) => Some(s),
        // Never echo a secret, not even a mistyped one.
        Some(other) => {
            return Err(ctx.err(
                "pve.token_secret",
                Invalid,
                format!("expected a string, found {}", kind_of(&other)),
            ))
        }
    };
    let secret_file = nonempty(string(ctx, "pve.token_secret_file", file)?);
    if inline.as_deref().is_some_and(|s| !s.is_empty()) && secret_file.is_some() {
        return Err(ctx.err(
            "pve.token_secret_file",
            Invalid,
            "`pve.token_secret` is also set; keep only one of them",
        ));
    }
    let from_env = env_var(env, "PVE_API_TOKEN_SECRET");
    let secret_in_file = from_env.is_none() && secret_file.is_none() && inline.is_some();
    if need == SecretNeed::NotNeeded {
        return Ok((Secret::default(), secret_in_file));
    }
    let secret = match (from_env, secret_file) {
        (Some(s), _) => s,
        (None, Some(path)) => read_secret_file(ctx, &path)?,
        (None, None) => inline.unwrap_or_default(),
    };
    let secret = secret.trim();
    if secret.is_empty() && need == SecretNeed::IfPresent {
        return Ok((Secret::default(), secret_in_file));
    }
    if secret.is_empty() {
        return Err(ctx.err(
            "pve.token_secret",
            Missing,
            "missing; set it in the file, in PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`",
        ));
    }
    ctx.secret(secret);
    if secret.chars().all(|c| matches!(c, '0' | 'x' | 'X' | '-')) {
        ctx.warn(
            "`pve.token_secret` is still the example placeholder; set the real secret (in the \
             file, in PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`)",
        );
    }
    Ok((Secret::new(secret), secret_in_file))
}

/// `pve.url`, or the original tool's `pve.host` + `pve.port`.
fn pve_url(ctx: &mut Ctx, r: &RawPve) -> Result<String, ConfigError> {
    let url = nonempty(string(ctx, "pve.url", r.url.clone())?);
    let host = nonempty(string(ctx, "pve.host", r.host.clone())?);
    let has_port = present(r.port.clone()).is_some();
    let url =
        match (url, host) {
            (Some(_), Some(_)) => {
                return Err(ctx.err(
                    "pve.url",
                    Invalid,
                    "`pve.host` is also set (the original tool's form); keep only `pve.url`",
                ))
            }
            (Some(_), None) if has_port => {
                return Err(ctx.err(
                    "pve.url",
                    Invalid,
                    "`pve.port` is also set (the original tool's form); put the port in `pve.url`",
                ))
            }
            (Some(url), None) => normalise_url(&url).map_err(|m| ctx.err("pve.url", Invalid, m))?,
            (None, Some(host)) => {
                let port = integer(
                    ctx,
                    "pve.port",
                    r.port.clone(),
                    1,
                    65535,
                    DEFAULT_PVE_PORT.into(),
                )?;
                let host = host.trim();
                if host.contains('/') || host.contains(' ') {
                    return Err(ctx.err(
                        "pve.host",
                        Invalid,
                        format!(
                            "expected a host name or IP address like \"pve1.example.com\", found \
                         {host:?}; for a URL use `pve.url` instead"
                        ),
                    ));
                }
                let host = match host.parse::<Ipv6Addr>() {
                    Ok(_) => format!("[{host}]"),
                    Err(_) => host.to_string(),
                };
                normalise_url(&format!("https://{host}:{port}"))
                    .map_err(|m| ctx.err("pve.host", Invalid, m))?
            }
            (None, None) => return Err(ctx.err(
                "pve.url",
                Missing,
                "missing; set it to the PVE API address, like \"https://pve1.example.com:8006\"",
            )),
        };
    if url.starts_with("http://") && !is_loopback_url(&url) {
        ctx.warn(format!(
            "`pve.url` is {url:?}: plain http sends the API token unencrypted; use https://"
        ));
    }
    Ok(url)
}

fn tls(ctx: &mut Ctx, raw: Option<Value>) -> Result<TlsConfig, ConfigError> {
    let r: RawTls = section(ctx, "pve.tls", raw)?;
    let ca_file = nonempty(string(ctx, "pve.tls.ca_file", r.ca_file)?).map(PathBuf::from);
    let fingerprint = match nonempty(string(ctx, "pve.tls.fingerprint", r.fingerprint)?) {
        None => None,
        Some(f) => {
            let pin = fingerprint::parse(&f);
            Some(pin.map_err(|e| ctx.err("pve.tls.fingerprint", Invalid, e.to_string()))?)
        }
    };
    let insecure = boolean(ctx, "pve.tls.insecure", r.insecure, false)?;
    // One trust mode at a time, as the PVE client requires: catch contradictions here, where
    // the error can name the key.
    if ca_file.is_some() && fingerprint.is_some() {
        return Err(ctx.err(
            "pve.tls.fingerprint",
            Invalid,
            "`pve.tls.ca_file` is also set; choose one (the fingerprint pins PVE's own \
             certificate, the CA file trusts what it signs)",
        ));
    }
    if insecure && (ca_file.is_some() || fingerprint.is_some()) {
        return Err(ctx.err(
            "pve.tls.insecure",
            Invalid,
            "turns certificate checks off, yet `pve.tls.ca_file` or `pve.tls.fingerprint` is \
             set; remove one",
        ));
    }
    if insecure {
        ctx.warn(
            "`pve.tls.insecure` is true: PVE's certificate is not checked, so anyone on the path \
             can take the API token; pin it with `pve.tls.fingerprint` instead (`pvenode cert \
             info` shows it)",
        );
    }
    Ok(TlsConfig {
        ca_file,
        fingerprint,
        insecure,
    })
}

fn monitor(ctx: &mut Ctx, raw: Option<Value>) -> Result<MonitorConfig, ConfigError> {
    let r: RawMonitor = section(ctx, "monitor", raw)?;
    let interval = seconds(
        ctx,
        "monitor.interval_seconds",
        r.interval_seconds,
        1,
        3600,
        60,
    )?;

    let tz_name = match nonempty(string(ctx, "monitor.timezone", r.timezone)?) {
        Some(name) => name.trim().to_string(),
        None => {
            if ctx.legacy {
                ctx.warn(
                    "periods (hour, day, week, month) now start at boundaries in \
                     `monitor.timezone`, which is UTC unless set; the original tool used the \
                     host's local time, so set `monitor.timezone` (like \"Asia/Shanghai\")",
                );
            }
            "UTC".to_string()
        }
    };
    let timezone = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
        ctx.err(
            "monitor.timezone",
            Invalid,
            format!(
                "unknown time zone {tz_name:?}; use an IANA name like \"UTC\", \"Europe/Berlin\" \
                 or \"America/New_York\" (`timedatectl list-timezones` lists them)"
            ),
        )
    })?;
    let timezone_name = timezone.iana_name().unwrap_or(&tz_name).to_string();

    let include_templates = boolean(ctx, "monitor.include_templates", r.include_templates, false)?;
    let guest_types = guest_types(ctx, r.guest_types)?;
    let data_retention_days = integer(
        ctx,
        "monitor.data_retention_days",
        r.data_retention_days,
        0,
        36500,
        90,
    )? as u32;
    let max_bandwidth = match present(r.max_bandwidth) {
        None => units::parse_bandwidth("100Gbit").expect("valid default"),
        Some(Value::String(s)) => {
            units::parse_bandwidth(&s).map_err(|m| ctx.err("monitor.max_bandwidth", Invalid, m))?
        }
        Some(v) => as_u64(&v).ok_or_else(|| {
            ctx.err(
                "monitor.max_bandwidth",
                Invalid,
                format!(
                    "expected a bandwidth like \"100Gbit\", \"10 Gbps\", \"800Mbit/s\" or \
                     \"1.25GB/s\", found {}",
                    found(&v)
                ),
            )
        })?,
    };
    if max_bandwidth == 0 {
        return Err(ctx.err(
            "monitor.max_bandwidth",
            Invalid,
            "must be greater than 0: every delta would be discarded; the default is \"100Gbit\"",
        ));
    }
    let export_path = nonempty(string(ctx, "monitor.export_path", r.export_path)?)
        .unwrap_or_else(|| "./exports".into());
    Ok(MonitorConfig {
        interval,
        timezone,
        timezone_name,
        include_templates,
        guest_types,
        data_retention_days,
        max_bandwidth,
        export_path: PathBuf::from(export_path),
    })
}

fn guest_types(ctx: &mut Ctx, raw: Option<Value>) -> Result<Vec<GuestType>, ConfigError> {
    let key = "monitor.guest_types";
    let Some(items) = list(ctx, key, raw, "[qemu, lxc]")? else {
        return Ok(vec![GuestType::Qemu, GuestType::Lxc]);
    };
    let mut types = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let t = word::<GuestType>(ctx, &format!("{key}[{i}]"), Some(item))?
            .expect("list items are present");
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if types.is_empty() {
        return Err(ctx.err(
            key,
            Invalid,
            "expected at least one of `qemu`, `lxc`; remove the key to account both",
        ));
    }
    Ok(types)
}

fn storage(ctx: &mut Ctx, raw: Option<Value>) -> Result<StorageConfig, ConfigError> {
    let r: RawStorage = section(ctx, "storage", raw)?;
    let kind = nonempty(string(ctx, "storage.type", r.kind)?).unwrap_or_else(|| "sqlite".into());
    match kind.trim().to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => {}
        "postgresql" | "postgres" | "mysql" | "mariadb" => {
            return Err(ctx.err(
                "storage.type",
                Invalid,
                format!(
                    "{kind:?} is not supported yet, use sqlite (`type: sqlite`, with `dsn` the \
                     database file)"
                ),
            ))
        }
        _ => {
            return Err(ctx.err(
                "storage.type",
                Invalid,
                format!("expected `sqlite`, found {kind:?}"),
            ))
        }
    }
    let dsn = nonempty(string(ctx, "storage.dsn", r.dsn)?).unwrap_or_else(|| DEFAULT_DSN.into());
    Ok(StorageConfig { dsn })
}

fn exporter(ctx: &mut Ctx, raw: Option<Value>) -> Result<ExporterConfig, ConfigError> {
    let r: RawExporter = section(ctx, "exporter", raw)?;
    let listen = socket(ctx, "exporter.listen", r.listen, "0.0.0.0:9811")?;
    Ok(ExporterConfig { listen })
}

fn enforcer(
    ctx: &mut Ctx,
    raw: Option<Value>,
    monitor: &MonitorConfig,
    exporter: &ExporterConfig,
) -> Result<EnforcerConfig, ConfigError> {
    let r: RawEnforcer = section(ctx, "enforcer", raw)?;
    let listen = socket(ctx, "enforcer.listen", r.listen, "127.0.0.1:9812")?;
    let other = exporter.listen;
    // Port 0 means "any free port": two of those never clash.
    if listen.port() == other.port()
        && listen.port() != 0
        && (listen.ip() == other.ip()
            || listen.ip().is_unspecified()
            || other.ip().is_unspecified())
    {
        return Err(ctx.err(
            "enforcer.listen",
            Invalid,
            format!(
                "\"{listen}\" clashes with `exporter.listen` \"{other}\"; give the enforcer another \
                 port (the default is 127.0.0.1:9812)"
            ),
        ));
    }
    let interval = seconds(
        ctx,
        "enforcer.interval_seconds",
        r.interval_seconds,
        1,
        3600,
        60,
    )?;
    let shutdown_timeout = seconds(
        ctx,
        "enforcer.shutdown_timeout_seconds",
        r.shutdown_timeout_seconds,
        1,
        3600,
        120,
    )?;
    let dry_run = boolean(ctx, "enforcer.dry_run", r.dry_run, false)?;
    let max_data_age = seconds(
        ctx,
        "enforcer.max_data_age_seconds",
        r.max_data_age_seconds,
        1,
        86400,
        300,
    )?;
    if max_data_age <= monitor.interval {
        ctx.warn(format!(
            "`enforcer.max_data_age_seconds` ({}) is not longer than `monitor.interval_seconds` \
             ({}): the enforcer will often find the data stale and do nothing; make it at least \
             twice the poll interval",
            max_data_age.as_secs(),
            monitor.interval.as_secs()
        ));
    }
    Ok(EnforcerConfig {
        listen,
        interval,
        shutdown_timeout,
        dry_run,
        max_data_age,
    })
}

fn rules(ctx: &mut Ctx, raw: Option<Value>) -> Result<Vec<Rule>, ConfigError> {
    let Some(items) = list(ctx, "rules", raw, "`- name: monthly_limit` entries")? else {
        return Ok(Vec::new());
    };
    let mut rules: Vec<Rule> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let rule = rule(ctx, i, item)?;
        if let Some(j) = rules.iter().position(|r| r.name == rule.name) {
            return Err(ctx.err(
                format!("rules[{i}].name"),
                Invalid,
                format!(
                    "{:?} is already the name of `rules[{j}]`; rule names must be unique (they \
                     label metrics and logs)",
                    rule.name
                ),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn rule(ctx: &mut Ctx, i: usize, raw: Value) -> Result<Rule, ConfigError> {
    let p = format!("rules[{i}]");
    let key = |k: &str| format!("{p}.{k}");
    let r: RawRule = section(ctx, &p, Some(raw))?;

    let name = nonempty(string(ctx, &key("name"), r.name)?)
        .map(|n| n.trim().to_string())
        .ok_or_else(|| {
            ctx.err(
                key("name"),
                Missing,
                "missing; every rule needs a unique name (it labels metrics and logs)",
            )
        })?;
    let enabled = boolean(ctx, &key("enabled"), r.enabled, true)?;

    let kind: PeriodKind = required_word(ctx, &key("period"), r.period)?;
    let reset_day = if kind == PeriodKind::Month {
        integer(ctx, &key("reset_day"), r.reset_day, 1, 31, 1)? as u8
    } else if present(r.reset_day).is_some() {
        return Err(ctx.err(
            key("reset_day"),
            Invalid,
            format!(
                "only applies to `period: month`, but this rule's period is `{}`; remove it",
                kind.as_str()
            ),
        ));
    } else {
        1
    };

    if let Some(Value::String(s)) = &r.direction {
        if matches!(s.as_str(), "download" | "upload") {
            return Err(ctx.err(
                key("direction"),
                Invalid,
                format!(
                    "expected one of {}, found {s:?}; download is `{}`, upload is `{}`",
                    quoted_list(Direction::NAMES),
                    Direction::Rx,
                    Direction::Tx,
                ),
            ));
        }
    }
    let direction = word(ctx, &key("direction"), r.direction)?;
    let direction = direction.unwrap_or(Direction::Both);

    let limit_bytes = limit(ctx, &p, r.limit_gb, r.limit)?;

    let action: Action = required_word(ctx, &key("action"), r.action)?;
    let rate = match present(r.rate_limit_mb) {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| {
                    ctx.err(
                        key("rate_limit_mb"),
                        Invalid,
                        format!(
                            "expected a rate in MB/s greater than 0, like 10, found {}",
                            found(&v)
                        ),
                    )
                })?,
        ),
    };
    let rate_limit_mb = match (action, rate) {
        (Action::RateLimit, Some(rate)) => Some(rate),
        (Action::RateLimit, None) => {
            return Err(ctx.err(
                key("rate_limit_mb"),
                Missing,
                "missing; `action: rate_limit` needs the rate in MB/s, like 10",
            ))
        }
        (_, Some(_)) => {
            ctx.warn(format!(
                "`{}` only applies to `action: rate_limit`; ignored",
                key("rate_limit_mb")
            ));
            None
        }
        (_, None) => None,
    };

    let vm_ids = vmids(ctx, &key("vm_ids"), r.vm_ids)?;
    let exclude_vm_ids = vmids(ctx, &key("exclude_vm_ids"), r.exclude_vm_ids)?;
    let mut vm_tags = Vec::new();
    for (j, tag) in list(ctx, &key("vm_tags"), r.vm_tags, "[monitored]")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let k = format!("{}[{j}]", key("vm_tags"));
        let tag = nonempty(string(ctx, &k, Some(tag))?)
            .ok_or_else(|| ctx.err(&k, Invalid, "expected a tag, found an empty string"))?;
        vm_tags.push(tag.trim().to_string());
    }

    Ok(Rule {
        name,
        enabled,
        period: PeriodSpec { kind, reset_day },
        direction,
        limit_bytes,
        action,
        rate_limit_mb,
        vm_ids,
        vm_tags,
        exclude_vm_ids,
    })
}

/// A rule's limit: `limit_gb` (GiB, the original tool's key) or `limit` with a unit.
fn limit(
    ctx: &mut Ctx,
    p: &str,
    limit_gb: Option<Value>,
    limit: Option<Value>,
) -> Result<u64, ConfigError> {
    let bytes = match (present(limit_gb), present(limit)) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                format!("{p}.limit"),
                Invalid,
                "`limit_gb` is also set; keep only one of `limit_gb` (GiB) and `limit` (like \
                 \"1.5TB\")",
            ))
        }
        (None, None) => return Err(ctx.err(
            format!("{p}.limit_gb"),
            Missing,
            "missing; set `limit_gb` (GiB, like 1000) or `limit` (like \"1.5TB\" or \"800GiB\")",
        )),
        (Some(gb), None) => {
            let n = gb
                .as_f64()
                .filter(|n| n.is_finite() && *n > 0.0 && *n < MAX_LIMIT_GB);
            units::gib(n.ok_or_else(|| {
                ctx.err(
                    format!("{p}.limit_gb"),
                    Invalid,
                    format!(
                        "expected a number of GiB greater than 0, like 1000, found {}",
                        found(&gb)
                    ),
                )
            })?)
        }
        (None, Some(Value::String(s))) if s.chars().any(|c| c.is_ascii_alphabetic()) => {
            units::parse_size(&s).map_err(|m| ctx.err(format!("{p}.limit"), Invalid, m))?
        }
        (None, Some(v)) => {
            return Err(ctx.err(
                format!("{p}.limit"),
                Invalid,
                format!(
                    "expected a size with a unit like \"1.5TB\" or \"800GiB\", found {}; for GiB \
                     use `limit_gb`",
                    found(&v)
                ),
            ))
        }
    };
    if bytes == 0 {
        return Err(ctx.err(
            format!("{p}.limit"),
            Invalid,
            "must be greater than 0 bytes; to stop a guest entirely, stop it in PVE",
        ));
    }
    Ok(bytes)
}

fn vmids(ctx: &mut Ctx, key: &str, raw: Option<Value>) -> Result<Vec<u32>, ConfigError> {
    let mut ids = Vec::new();
    for (j, v) in list(ctx, key, raw, "[100, 101]")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let id = as_u64(&v)
            .filter(|n| (100..=999_999_999).contains(n))
            .ok_or_else(|| {
                ctx.err(
                    format!("{key}[{j}]"),
                    Invalid,
                    format!("expected a VMID from 100 to 999999999, found {}", found(&v)),
                )
            })?;
        ids.push(id as u32);
    }
    Ok(ids)
}

fn env_var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

// ---------------------------------------------------------------------------------------------
// Formats

/// `user@realm!tokenname`, as PVE writes it; no spaces or `=` (which would break the
/// `PVEAPIToken=ID=SECRET` header).
fn valid_token_id(id: &str) -> bool {
    let Some((user_realm, token)) = id.split_once('!') else {
        return false;
    };
    let Some((user, realm)) = user_realm.split_once('@') else {
        return false;
    };
    ![user, realm, token].iter().any(|p| p.is_empty())
        && !id.contains(|c: char| c.is_whitespace() || c == '=')
}

/// `https://host:port` from what operators write: `pve1`, `pve1:8006`, `https://pve1:8006/`,
/// `https://pve1:8006/api2/json`, `https://[2001:db8::1]:8006`.
pub(super) fn normalise_url(s: &str) -> Result<String, String> {
    let expected = || format!("expected a URL like \"https://pve1.example.com:8006\", found {s:?}");
    let t = s.trim();
    let (scheme, rest) = match t.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_string(), t),
    };
    if scheme != "https" && scheme != "http" {
        return Err(expected());
    }
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix("/api2/json").unwrap_or(rest);
    if rest.contains('/') {
        return Err(format!(
            "expected the address only, like \"https://pve1.example.com:8006\" (the client adds \
             /api2/json), found {s:?}"
        ));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(expected)?;
        addr.parse::<Ipv6Addr>().map_err(|_| expected())?;
        (format!("[{addr}]"), after.strip_prefix(':'))
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (rest.to_string(), None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'));
    if !host_ok {
        return Err(expected());
    }
    let port = match port {
        None => DEFAULT_PVE_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("expected a port from 1 to 65535 in {s:?}"))?,
    };
    Ok(format!("{scheme}://{host}:{port}"))
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.rsplit_once(':').map_or(rest, |(h, _)| h),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Reads `pve.token_secret_file`, trimmed; warns if others may read it.
fn read_secret_file(ctx: &mut Ctx, path: &str) -> Result<String, ConfigError> {
    let key = "pve.token_secret_file";
    let content = std::fs::read_to_string(path).map_err(|e| {
        ctx.err(
            key,
            Io,
            format!(
                "cannot read {path:?}: {e}; create it with the token secret (mode 0600) or set \
                 `pve.token_secret`"
            ),
        )
    })?;
    let secret = content.trim().to_string();
    if secret.is_empty() {
        return Err(ctx.err(
            key,
            Invalid,
            format!("{path:?} is empty; write the token secret into it"),
        ));
    }
    ctx.secret(&secret);
    if let Some(w) = readable_by_others(Path::new(path)) {
        ctx.warn(format!("`{key}`: {path:?} {w}; run `chmod 600 {path}`"));
    }
    Ok(secret)
}

/// "is readable by other users (mode 0644)" if group or others have any permission.
pub(super) fn readable_by_others(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o077 != 0)
            .then(|| format!("is readable by other users (mode {:04o})", mode & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok = |s: &str| normalise_url(s).unwrap();
        assert_eq!(
            ok("https://pve1.example.com:8006"),
            "https://pve1.example.com:8006"
        );
        assert_eq!(
            ok("https://pve1.example.com:8006/"),
            "https://pve1.example.com:8006"
        );
        assert_eq!(ok("https://pve1:8006/api2/json/"), "https://pve1:8006");
        assert_eq!(ok("pve1"), "https://pve1:8006");
        assert_eq!(ok("HTTPS://pve1"), "https://pve1:8006");
        assert_eq!(ok("10.0.0.1:443"), "https://10.0.0.1:443");
        assert_eq!(ok("http://127.0.0.1:41234"), "http://127.0.0.1:41234");
        assert_eq!(ok("https://[2001:db8::1]"), "https://[2001:db8::1]:8006");
        assert_eq!(ok("https://[::1]:8006"), "https://[::1]:8006");
        for bad in [
            "",
            "ftp://pve1",
            "https://pve1:99999",
            "https://pve1:0",
            "https://pve 1",
        ] {
            assert!(normalise_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            normalise_url("https://pve1/foo"),
            Err(
                "expected the address only, like \"https://pve1.example.com:8006\" (the client \
                 adds /api2/json), found \"https://pve1/foo\""
                    .into()
            )
        );
        assert!(is_loopback_url("http://127.0.0.1:8006"));
        assert!(is_loopback_url("http://[::1]:8006"));
        assert!(is_loopback_url("http://localhost:8006"));
        assert!(!is_loopback_url("http://pve1:8006"));
    }

    #[test]
    fn token_ids() {
        assert!(valid_token_id("monitor@pve!traffic"));
        assert!(valid_token_id("root@pam!x"));
        for bad in [
            "monitor@pve",
            "monitor!x",
            "@pve!x",
            "a@!x",
            "a@pve!",
            "a b@pve!x",
            "a@pve!x=y",
        ] {
            assert!(!valid_token_id(bad), "{bad:?}");
        }
    }
}
