//! The original tool's keys (its `config.json`; its two example files are kept byte for byte
//! in `core/tests/fixtures/`), rewritten into today's.
//!
//! Runs on the parsed document before the raw layer, so an old file loads unchanged and a
//! half-migrated one works too: each old key is moved to its new place with one warning that
//! names the new key, or dropped with a warning that says what happens instead. Errors about a
//! renamed key still name the key the operator wrote (through `Ctx::renamed`).
//!
//! | original                         | now                                                  |
//! |----------------------------------|------------------------------------------------------|
//! | `pve.api_token_id`/`_secret`     | `pve.token_id`/`pve.token_secret`                    |
//! | `pve.host` + `pve.port`          | still accepted, as an alternative to `pve.url`       |
//! | `storage.type: file`, `file_path`| SQLite at `<file_path>/pve_traffic.db`               |
//! | `storage.max_open_conns` etc.    | dropped (one process owns the SQLite file)           |
//! | `api.host` + `api.port`          | `exporter.listen`                                    |
//! | `api.enabled`, `api.token`       | dropped (no web UI yet; `/metrics` only)             |
//! | `rules[].traffic_direction`      | `rules[].direction` (download = rx, upload = tx)     |
//! | `rules[].force_stop: true`       | `action: stop`                                       |
//! | `rules[].use_creation_time`      | dropped (periods are calendar-aligned)               |
//! | a rule without `enabled`         | disabled, as the original tool read it               |

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::error::{ConfigError, ConfigErrorKind::Invalid};
use super::leaves::{boolean, found, string};
use super::raw::section;
use crate::rules::{Action, Direction};

/// The original tool's `api:` section (its web UI and JSON API).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LegacyApi {
    enabled: Option<Value>,
    host: Option<Value>,
    port: Option<Value>,
    token: Option<Value>,
}

/// Rewrites the original tool's keys in `root` into the current ones, with warnings.
pub(super) fn migrate(ctx: &mut Ctx, root: &mut Map<String, Value>) -> Result<(), ConfigError> {
    if let Some(Value::Object(pve)) = root.get_mut("pve") {
        rename(ctx, pve, "pve", "api_token_id", "token_id")?;
        rename(ctx, pve, "pve", "api_token_secret", "token_secret")?;
        if pve.contains_key("host") {
            // Documented alternative to `url`, so no warning; but the file is the old kind.
            ctx.legacy = true;
        }
    }
    if let Some(Value::Object(storage)) = root.get_mut("storage") {
        storage_keys(ctx, storage)?;
    }
    if let Some(api) = root.remove("api") {
        api_section(ctx, root, api)?;
    }
    if let Some(Value::Array(rules)) = root.get_mut("rules") {
        for (i, rule) in rules.iter_mut().enumerate() {
            if let Value::Object(rule) = rule {
                rule_keys(ctx, i, rule)?;
            }
        }
    }
    Ok(())
}

/// Moves `section.old` to `section.new` with a warning; both set is an error.
fn rename(
    ctx: &mut Ctx,
    map: &mut Map<String, Value>,
    section: &str,
    old: &str,
    new: &str,
) -> Result<(), ConfigError> {
    let Some(value) = map.remove(old) else {
        return Ok(());
    };
    ctx.legacy = true;
    let (old, new_path) = (format!("{section}.{old}"), format!("{section}.{new}"));
    if map.contains_key(new) {
        return Err(ctx.err(
            &old,
            Invalid,
            format!("`{new_path}` is also set; keep only `{new_path}` (the new name)"),
        ));
    }
    ctx.warn(format!("`{old}` is now `{new_path}`"));
    ctx.renamed.insert(new_path, old);
    map.insert(new.to_string(), value);
    Ok(())
}

fn storage_keys(ctx: &mut Ctx, storage: &mut Map<String, Value>) -> Result<(), ConfigError> {
    for key in ["max_open_conns", "max_idle_conns", "conn_max_lifetime"] {
        if storage.remove(key).is_some() {
            ctx.legacy = true;
            ctx.warn(format!(
                "`storage.{key}` has no effect (SQLite needs no connection pool); remove it"
            ));
        }
    }
    let file_path = storage.remove("file_path").filter(|v| !v.is_null());
    let kind = storage
        .get("type")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase());
    if kind.as_deref() == Some("file") {
        ctx.legacy = true;
        let dir = string(ctx, "storage.file_path", file_path)?
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| "./data".into());
        let has_dsn = storage
            .get("dsn")
            .is_some_and(|d| !d.is_null() && d.as_str() != Some(""));
        if !has_dsn {
            let dsn = format!("{}/pve_traffic.db", dir.trim().trim_end_matches('/'));
            storage.insert("dsn".into(), Value::String(dsn));
        }
        storage.insert("type".into(), Value::String("sqlite".into()));
        let dsn = storage
            .get("dsn")
            .and_then(Value::as_str)
            .unwrap_or("`storage.dsn`");
        ctx.warn(format!(
            "`storage.type: file` is not supported; using SQLite at {dsn:?} instead (the original \
             tool's files are not imported); set `storage.type: sqlite` and `storage.dsn`"
        ));
    } else if file_path.is_some() {
        ctx.legacy = true;
        ctx.warn("`storage.file_path` only applied to `storage.type: file`; ignored, remove it");
    }
    Ok(())
}

/// `api:` → `exporter.listen`, plus warnings for what no longer exists.
fn api_section(
    ctx: &mut Ctx,
    root: &mut Map<String, Value>,
    api: Value,
) -> Result<(), ConfigError> {
    ctx.legacy = true;
    let r: LegacyApi = section(ctx, "api", Some(api))?;
    if r.enabled.as_ref().is_some_and(|v| !v.is_null()) {
        boolean(ctx, "api.enabled", r.enabled, true)?;
        ctx.warn(
            "`api.enabled` has no effect: the exporter always serves /metrics on \
             `exporter.listen`, and the original web UI and JSON API are not built yet; remove it",
        );
    }
    if let Some(Value::String(token)) = &r.token {
        // A credential of the old web API: keep it out of every message too.
        ctx.secret(token);
        if !token.is_empty() {
            ctx.warn(
                "`api.token` has no effect: /metrics takes no token; bind `exporter.listen` to a \
                 private address or firewall it instead; remove it",
            );
        }
    }
    let has_host = r.host.as_ref().is_some_and(|v| !v.is_null());
    let has_port = r.port.as_ref().is_some_and(|v| !v.is_null());
    if !has_host && !has_port {
        return Ok(());
    }
    let first = if has_host { "api.host" } else { "api.port" };
    let host = string(ctx, "api.host", r.host)?.unwrap_or_else(|| "0.0.0.0".into());
    let ip: std::net::IpAddr = match host.trim() {
        "localhost" => [127, 0, 0, 1].into(),
        "" => [0, 0, 0, 0].into(),
        h => h.parse().map_err(|_| {
            ctx.err(
                "api.host",
                Invalid,
                format!("expected an IP address like \"0.0.0.0\" or \"127.0.0.1\", found {host:?}"),
            )
        })?,
    };
    let port = match r.port.filter(|v| !v.is_null()) {
        None => 8080,
        Some(v) => v
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .ok_or_else(|| {
                ctx.err(
                    "api.port",
                    Invalid,
                    format!("expected an integer from 1 to 65535, found {}", found(&v)),
                )
            })? as u16,
    };
    let listen = std::net::SocketAddr::new(ip, port).to_string();
    let exporter = root
        .entry("exporter")
        .or_insert_with(|| Value::Object(Map::new()));
    if exporter.is_null() {
        *exporter = Value::Object(Map::new());
    }
    if let Value::Object(exporter) = exporter {
        if exporter.get("listen").is_some_and(|v| !v.is_null()) {
            return Err(ctx.err(
                first,
                Invalid,
                "`exporter.listen` is also set; keep only `exporter.listen`",
            ));
        }
        exporter.insert("listen".into(), Value::String(listen.clone()));
    }
    let keys = match (has_host, has_port) {
        (true, true) => "`api.host` and `api.port` are",
        (true, false) => "`api.host` is",
        _ => "`api.port` is",
    };
    ctx.warn(format!(
        "{keys} now `exporter.listen` (set to {listen:?}), where the exporter serves /metrics"
    ));
    Ok(())
}

fn rule_keys(ctx: &mut Ctx, i: usize, rule: &mut Map<String, Value>) -> Result<(), ConfigError> {
    let p = format!("rules[{i}]");
    let mut old_rule = false;
    if let Some(v) = rule.remove("traffic_direction") {
        old_rule = true;
        let (old, new) = (format!("{p}.traffic_direction"), format!("{p}.direction"));
        if rule.contains_key("direction") {
            return Err(ctx.err(
                &old,
                Invalid,
                format!("`{new}` is also set; keep only `{new}`"),
            ));
        }
        let direction = match v {
            Value::Null => None,
            Value::String(s) => Some(match s.trim().to_ascii_lowercase().as_str() {
                "both" | "" => Direction::Both,
                "download" | "rx" => Direction::Rx,
                "upload" | "tx" => Direction::Tx,
                _ => {
                    return Err(ctx.err(
                        &old,
                        Invalid,
                        format!("expected one of `both`, `download`, `upload`, found {s:?}"),
                    ))
                }
            }),
            other => {
                return Err(ctx.err(
                    &old,
                    Invalid,
                    format!(
                        "expected one of `both`, `download`, `upload`, found {}",
                        found(&other)
                    ),
                ))
            }
        };
        ctx.warn(format!(
            "`{old}` is now `{new}` (download = `rx`, upload = `tx`)"
        ));
        if let Some(d) = direction {
            rule.insert("direction".into(), Value::String(d.as_str().into()));
        }
    }
    if let Some(v) = rule.remove("use_creation_time") {
        old_rule = true;
        let key = format!("{p}.use_creation_time");
        if boolean(ctx, &key, Some(v), false)? {
            ctx.warn(format!(
                "`{key}` is not supported: periods start at calendar boundaries in \
                 `monitor.timezone` (a month on `reset_day`), not at the guest's creation; remove it"
            ));
        } else {
            ctx.warn(format!(
                "`{key}` has no effect (periods are always calendar-aligned); remove it"
            ));
        }
    }
    if let Some(v) = rule.remove("force_stop") {
        old_rule = true;
        let key = format!("{p}.force_stop");
        let force = boolean(ctx, &key, Some(v), false)?;
        let action = rule
            .get("action")
            .and_then(Value::as_str)
            .map(|a| a.trim().to_ascii_lowercase());
        match (force, action.as_deref().map(Action::parse)) {
            (true, Some(Ok(Action::Shutdown))) => {
                rule.insert("action".into(), Value::String(Action::Stop.as_str().into()));
                ctx.warn(format!("`{key}: true` is now `{p}.action: stop`"));
            }
            (true, _) => ctx.warn(format!(
                "`{key}` only applied to `action: shutdown`; ignored, remove it"
            )),
            (false, _) => ctx.warn(format!(
                "`{key}: false` is the default (`action: shutdown`); remove it"
            )),
        }
    }
    if (old_rule || ctx.legacy) && !rule.contains_key("enabled") {
        // The original tool read a missing `enabled` as false: do not start enforcing a rule
        // its operator never switched on.
        rule.insert("enabled".into(), Value::Bool(false));
        ctx.warn(format!(
            "`{p}.enabled` is not set; the original tool read that as false, so the rule stays \
             disabled; set `enabled: true` to enforce it"
        ));
    }
    Ok(())
}
