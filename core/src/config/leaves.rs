//! Readers for one value each: absent or empty, then the type, then the range, with an error
//! that names the key and says what was expected ("expected an integer from 1 to 3600, found
//! \"abc\"").
//!
//! Shared by the raw layer (a section that is not a mapping), the legacy rewrite and the
//! validation of every section, so they live below all three.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::ctx::Ctx;
use super::error::{
    suggest, ConfigError,
    ConfigErrorKind::{Invalid, Missing},
};
use crate::vocabulary::{quoted_list, Vocabulary};

/// `None` for an absent key and for an empty one (`key:` with no value, or `null`).
pub(super) fn present(v: Option<Value>) -> Option<Value> {
    v.filter(|v| !v.is_null())
}

/// `None` for an empty string too.
pub(super) fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// How a value is shown after "found": strings quoted, numbers and booleans as written.
pub(super) fn found(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "nothing".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// A value's type only, for secrets.
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "nothing",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A whole non-negative number (`60`, or `60.0` as some YAML writers emit).
pub(super) fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// A whole number from `lo` to `hi`; `default` when absent or empty.
pub(super) fn integer(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    lo: u64,
    hi: u64,
    default: u64,
) -> Result<u64, ConfigError> {
    let Some(v) = present(v) else {
        return Ok(default);
    };
    as_u64(&v).filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
        ctx.err(
            key,
            Invalid,
            format!("expected an integer from {lo} to {hi}, found {}", found(&v)),
        )
    })
}

/// [`integer`] seconds as a [`Duration`].
pub(super) fn seconds(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    lo: u64,
    hi: u64,
    default: u64,
) -> Result<Duration, ConfigError> {
    integer(ctx, key, v, lo, hi, default).map(Duration::from_secs)
}

/// `true` or `false`; `default` when absent or empty.
pub(super) fn boolean(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    default: bool,
) -> Result<bool, ConfigError> {
    match present(v) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(ctx.err(
            key,
            Invalid,
            format!("expected true or false, found {}", found(&other)),
        )),
    }
}

/// A string, or `None` when absent or empty.
pub(super) fn string(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
) -> Result<Option<String>, ConfigError> {
    match present(v) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ctx.err(
            key,
            Invalid,
            format!("expected a string, found {}", found(&other)),
        )),
    }
}

/// A list, or `None` if absent; `example` shows the expected form in the error.
pub(super) fn list(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    example: &str,
) -> Result<Option<Vec<Value>>, ConfigError> {
    match present(v) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(ctx.err(
            key,
            Invalid,
            format!("expected a list like {example}, found {}", found(&other)),
        )),
    }
}

/// One of a fixed set of words (case-insensitive); suggests the closest on a typo.
pub(super) fn choice<T: Copy>(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    options: &[(&str, T)],
) -> Result<Option<T>, ConfigError> {
    let Some(v) = present(v) else {
        return Ok(None);
    };
    if let Value::String(s) = &v {
        let s = s.trim().to_ascii_lowercase();
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == s) {
            return Ok(Some(*t));
        }
    }
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let mut message = format!(
        "expected one of {}, found {}",
        option_list(options),
        found(&v)
    );
    if let Some(best) = v.as_str().and_then(|s| suggest(s, &names)) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    Err(ctx.err(key, Invalid, message))
}

/// [`choice`] for a key without a default: missing is an error that lists the options.
pub(super) fn required_choice<T: Copy>(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    options: &[(&str, T)],
) -> Result<T, ConfigError> {
    choice(ctx, key, v, options)?.ok_or_else(|| {
        let message = format!("missing; expected one of {}", option_list(options));
        ctx.err(key, Missing, message)
    })
}

/// "`a`, `b`, `c`": the names of `options`, for messages.
fn option_list<T>(options: &[(&str, T)]) -> String {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    quoted_list(&names)
}

/// [`choice`] among the names of a [`Vocabulary`] (a period, a direction, an action).
pub(super) fn word<V: Vocabulary>(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
) -> Result<Option<V>, ConfigError> {
    choice(ctx, key, v, &vocabulary_options::<V>())
}

/// [`required_choice`] among the names of a [`Vocabulary`].
pub(super) fn required_word<V: Vocabulary>(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
) -> Result<V, ConfigError> {
    required_choice(ctx, key, v, &vocabulary_options::<V>())
}

fn vocabulary_options<V: Vocabulary>() -> Vec<(&'static str, V)> {
    V::ALL.iter().map(|&v| (v.name(), v)).collect()
}

/// A socket address like `0.0.0.0:9811` or `[::]:9811`; `default` when absent or empty.
pub(super) fn socket(
    ctx: &Ctx,
    key: &str,
    v: Option<Value>,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let text = nonempty(string(ctx, key, v)?).unwrap_or_else(|| default.into());
    text.trim().parse().map_err(|_| {
        ctx.err(
            key,
            Invalid,
            format!(
                "expected an address like {default:?} or \"[::]:{}\", found {text:?}",
                default.rsplit(':').next().unwrap_or_default()
            ),
        )
    })
}
