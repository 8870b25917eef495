//! The first layer: the file's shape, exactly as written, with unknown keys rejected.
//!
//! Each struct mirrors one mapping of `config.yaml` (as the repository's example documents
//! it) and denies keys it does not know, so a typo is an error with a suggestion rather than
//! a silently ignored setting. The
//! leaves are kept as untyped [`Value`]s on purpose: serde's own type errors ("invalid type:
//! string, expected u32") know neither the key path nor the allowed range, so the types and
//! ranges are checked in `validate.rs`, where the message can say "expected an integer from
//! 1 to 3600". Nested mappings are also kept as values and read one section at a time, so
//! every unknown key is reported with its full path.
//!
//! The original tool's keys are not here: `legacy.rs` rewrites them into these before this
//! layer runs.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::error::{suggest, ConfigError, ConfigErrorKind};
use super::leaves::found;

/// The top level: one mapping per section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawFile {
    pub pve: Option<Value>,
    pub monitor: Option<Value>,
    pub storage: Option<Value>,
    pub exporter: Option<Value>,
    pub enforcer: Option<Value>,
    pub rules: Option<Value>,
}

/// `pve:` — how to reach and authenticate to the PVE API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPve {
    pub url: Option<Value>,
    /// The original tool's alternative to `url`, with `port`.
    pub host: Option<Value>,
    pub port: Option<Value>,
    pub token_id: Option<Value>,
    pub token_secret: Option<Value>,
    pub token_secret_file: Option<Value>,
    pub node: Option<Value>,
    pub tls: Option<Value>,
    pub timeout_seconds: Option<Value>,
}

/// `pve.tls:` — how to trust PVE's certificate.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTls {
    pub ca_file: Option<Value>,
    pub fingerprint: Option<Value>,
    pub insecure: Option<Value>,
}

/// `monitor:` — what the exporter polls and how.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMonitor {
    pub interval_seconds: Option<Value>,
    pub timezone: Option<Value>,
    pub include_templates: Option<Value>,
    pub guest_types: Option<Value>,
    pub data_retention_days: Option<Value>,
    pub max_bandwidth: Option<Value>,
    pub export_path: Option<Value>,
}

/// `storage:` — where accounted traffic is kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawStorage {
    #[serde(rename = "type")]
    pub kind: Option<Value>,
    pub dsn: Option<Value>,
}

/// `exporter:` — the `/metrics` listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawExporter {
    pub listen: Option<Value>,
}

/// `enforcer:` — the quota reconciler.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawEnforcer {
    pub listen: Option<Value>,
    pub interval_seconds: Option<Value>,
    pub shutdown_timeout_seconds: Option<Value>,
    pub dry_run: Option<Value>,
    pub max_data_age_seconds: Option<Value>,
}

/// One entry of `rules:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawRule {
    pub name: Option<Value>,
    pub enabled: Option<Value>,
    pub period: Option<Value>,
    pub reset_day: Option<Value>,
    pub direction: Option<Value>,
    pub limit_gb: Option<Value>,
    pub limit: Option<Value>,
    pub action: Option<Value>,
    pub rate_limit_mb: Option<Value>,
    pub vm_ids: Option<Value>,
    pub vm_tags: Option<Value>,
    pub exclude_vm_ids: Option<Value>,
}

/// Every mapping's path pattern (rules as `rules[]`) with its known keys, for suggestions that
/// cross sections (`pve.timezone` → did you mean `monitor.timezone`?).
pub(super) fn all_sections() -> &'static [(&'static str, Vec<String>)] {
    static SECTIONS: std::sync::OnceLock<Vec<(&'static str, Vec<String>)>> =
        std::sync::OnceLock::new();
    SECTIONS.get_or_init(|| {
        vec![
            ("", fields_of::<RawFile>()),
            ("pve", fields_of::<RawPve>()),
            ("pve.tls", fields_of::<RawTls>()),
            ("monitor", fields_of::<RawMonitor>()),
            ("storage", fields_of::<RawStorage>()),
            ("exporter", fields_of::<RawExporter>()),
            ("enforcer", fields_of::<RawEnforcer>()),
            ("rules[]", fields_of::<RawRule>()),
        ]
    })
}

/// Reads the mapping at `path` into the raw struct `T`. Absent or empty (`monitor:` with
/// nothing under it) gives the defaults; anything but a mapping is an error; an unknown key
/// is an error naming its full path and the closest known key.
pub(super) fn section<T: DeserializeOwned + Default>(
    ctx: &Ctx,
    path: &str,
    value: Option<Value>,
) -> Result<T, ConfigError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(T::default()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ctx.err(
                display_path(path),
                ConfigErrorKind::Invalid,
                format!(
                    "expected a mapping of keys (`key: value` lines), found {}",
                    found(&other)
                ),
            ))
        }
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        let message = e.to_string();
        // "unknown field `x`, expected one of `a`, `b`": the first quoted word is the key.
        let known: Vec<&str> = backticked(&message).into_iter().skip(1).collect();
        let unknown = keys
            .iter()
            .find(|k| !known.contains(&k.as_str()))
            .cloned()
            .unwrap_or_default();
        unknown_key(ctx, path, &unknown, &known)
    })
}

/// The error for `path.key`, a key the mapping does not have: suggests the closest key of the
/// same mapping, else a section where the key exists, else lists the known keys.
pub(super) fn unknown_key(ctx: &Ctx, path: &str, key: &str, known: &[&str]) -> ConfigError {
    let full = join(path, key);
    let message = if let Some(best) = suggest(key, known) {
        format!("unknown key; did you mean `{}`?", join(path, best))
    } else if let Some((other, _)) = all_sections().iter().find(|(p, keys)| {
        keys.iter().any(|k| k == key) && p.trim_end_matches("[]") != path_pattern(path)
    }) {
        // `rules[]` is a pattern; point at the first rule for a concrete path.
        let other = other.replace("[]", "[0]");
        format!("unknown key here; did you mean `{}`?", join(&other, key))
    } else {
        let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        format!(
            "unknown key; remove it (known keys here: {})",
            list.join(", ")
        )
    };
    ctx.err(full, ConfigErrorKind::UnknownKey, message)
}

/// `a.b` from `a` and `b`; just `b` at the top level.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The top level has no key path of its own; errors about it name the whole document.
fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
}

/// `rules[3]` → `rules` (what [`all_sections`] calls `rules[]`).
fn path_pattern(path: &str) -> &str {
    path.split('[').next().unwrap_or(path)
}

/// The known fields of a raw struct, read from serde's own "unknown field" error so the list
/// cannot drift from the struct.
fn fields_of<T: DeserializeOwned>() -> Vec<String> {
    let mut probe = Map::new();
    probe.insert("\u{1}".into(), Value::Null);
    match serde_json::from_value::<T>(Value::Object(probe)) {
        Ok(_) => Vec::new(),
        Err(e) => backticked(&e.to_string())
            .into_iter()
            .filter(|k| *k != "\u{1}")
            .map(str::to_string)
            .collect(),
    }
}

/// The `` `quoted` `` words of a serde message: "unknown field `x`, expected one of `a`, `b`"
/// gives `x`, `a`, `b`.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_come_from_the_structs() {
        assert_eq!(
            fields_of::<RawStorage>(),
            vec!["type", "dsn"],
            "serde's error format changed: fix `backticked`"
        );
        assert_eq!(fields_of::<RawExporter>(), vec!["listen"]);
        assert!(fields_of::<RawRule>().iter().any(|k| k == "exclude_vm_ids"));
    }
}
