//! Request parameters and their schema check, as PVE's `JSONSchema.pm` does it.
//!
//! Every PVE method in scope declares `additionalProperties => 0`: a parameter the schema does
//! not name is an error, and so is a value of the wrong type. Clients that get parameters
//! wrong against the simulator would get them wrong against a real cluster, so the checks and
//! their messages follow PVE's: a `400 Parameter verification failed.` whose `errors` object
//! maps each parameter to what was wrong with it.

use std::collections::BTreeMap;

/// Parameters of one request: query string merged over the body, every value as text
/// (JSON `true`/`false` arrive as `1`/`0`, numbers as their decimal text).
pub type Params = BTreeMap<String, String>;

/// Per-parameter problems, keyed by parameter name (`_root` for none).
pub type ParamErrors = BTreeMap<String, String>;

/// What a parameter's value must look like.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `0` or `1` in form encoding.
    Bool,
    /// A whole number within the optional bounds.
    Int {
        /// Smallest value allowed.
        min: Option<i64>,
        /// Largest value allowed.
        max: Option<i64>,
    },
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Any text; its meaning is checked by the handler.
    Text,
    /// Text checked by a function returning PVE's message on failure.
    Format(fn(&str) -> Result<(), String>),
}

/// One parameter of a method's schema.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Parameter name as it appears in the request.
    pub name: &'static str,
    /// What its value must look like.
    pub kind: Kind,
    /// Whether the request may leave it out.
    pub optional: bool,
}

impl Spec {
    /// An optional parameter.
    pub const fn opt(name: &'static str, kind: Kind) -> Spec {
        Spec {
            name,
            kind,
            optional: true,
        }
    }

    /// A required parameter.
    pub const fn req(name: &'static str, kind: Kind) -> Spec {
        Spec {
            name,
            kind,
            optional: false,
        }
    }
}

/// Text PVE gives for a parameter the schema does not know.
pub const NOT_IN_SCHEMA: &str =
    "property is not defined in schema and the schema does not allow additional properties";

/// Checks `params` against `specs`; extra names are allowed only if `extra` accepts them
/// (config writes accept `net0`..`net31` and friends through it).
pub fn check(
    specs: &[Spec],
    params: &Params,
    extra: &dyn Fn(&str) -> Option<Kind>,
) -> Result<(), ParamErrors> {
    let mut errors = ParamErrors::new();
    for (name, value) in params {
        let kind = match specs.iter().find(|s| s.name == name) {
            Some(spec) => spec.kind,
            None => match extra(name) {
                Some(kind) => kind,
                None => {
                    errors.insert(name.clone(), NOT_IN_SCHEMA.to_string());
                    continue;
                }
            },
        };
        if let Err(msg) = check_value(kind, value) {
            errors.insert(name.clone(), msg);
        }
    }
    for spec in specs.iter().filter(|s| !s.optional) {
        if !params.contains_key(spec.name) {
            errors.insert(
                spec.name.to_string(),
                "property is missing and it is not optional".to_string(),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks one value against its kind, with PVE's message on failure.
pub fn check_value(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::Bool => match value {
            "0" | "1" => Ok(()),
            _ => Err(format!("type check ('boolean') failed - got '{value}'")),
        },
        Kind::Int { min, max } => {
            let n: i64 = value
                .parse()
                .map_err(|_| format!("type check ('integer') failed - got '{value}'"))?;
            if let Some(min) = min.filter(|m| n < *m) {
                return Err(format!("value must have a minimum value of {min}"));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                return Err(format!("value must have a maximum value of {max}"));
            }
            Ok(())
        }
        Kind::Enum(words) => {
            if words.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "value '{value}' does not have a value in the enumeration '{}'",
                    words.join(", ")
                ))
            }
        }
        Kind::Text => Ok(()),
        Kind::Format(f) => f(value),
    }
}

/// `true` when a checked boolean parameter is present and `1`.
pub fn flag(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|v| v == "1")
}

/// The VMID format: `100..=999999999`.
pub fn vmid_format(v: &str) -> Result<(), String> {
    let ok = v.len() >= 3
        && v.len() <= 9
        && v.bytes().all(|b| b.is_ascii_digit())
        && !v.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err("invalid format - value does not look like a valid VM ID\n".to_string())
    }
}

/// The node name format: `^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`.
pub fn node_format(v: &str) -> Result<(), String> {
    let b = v.as_bytes();
    let inner_ok = b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    let ends_ok = b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric);
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err("invalid format - value does not look like a valid node name\n".to_string())
    }
}

/// Converts a JSON request body into [`Params`], as PVE's JSON body support does: strings
/// stay, numbers become their text, booleans become `1`/`0`. Anything else is a 400.
pub fn from_json_body(body: &[u8]) -> Result<Params, ParamErrors> {
    let root_err = |m: String| ParamErrors::from([("_root".to_string(), m)]);
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| root_err(format!("invalid JSON body - {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(root_err("JSON body must be an object".to_string()));
    };
    let mut params = Params::new();
    for (k, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            serde_json::Value::Null => continue,
            other => {
                return Err(ParamErrors::from([(
                    k,
                    format!("type check failed - got {other}"),
                )]))
            }
        };
        params.insert(k, text);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Spec] = &[
        Spec::req(
            "timeframe",
            Kind::Enum(&["hour", "day", "week", "month", "year"]),
        ),
        Spec::opt("full", Kind::Bool),
        Spec::opt(
            "timeout",
            Kind::Int {
                min: Some(0),
                max: None,
            },
        ),
    ];

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_extra(_: &str) -> Option<Kind> {
        None
    }

    #[test]
    fn valid_parameters_pass() {
        let p = params(&[("timeframe", "hour"), ("full", "1"), ("timeout", "30")]);
        assert_eq!(check(SPECS, &p, &no_extra), Ok(()));
    }

    #[test]
    fn each_error_class_has_pves_text() {
        let p = params(&[
            ("timeframe", "minute"),
            ("full", "true"),
            ("timeout", "-1"),
            ("bogus", "x"),
        ]);
        let errors = check(SPECS, &p, &no_extra).unwrap_err();
        assert_eq!(
            errors["timeframe"],
            "value 'minute' does not have a value in the enumeration 'hour, day, week, month, year'"
        );
        assert_eq!(errors["full"], "type check ('boolean') failed - got 'true'");
        assert_eq!(errors["timeout"], "value must have a minimum value of 0");
        assert_eq!(errors["bogus"], NOT_IN_SCHEMA);
    }

    #[test]
    fn missing_required_parameter_is_named() {
        let errors = check(SPECS, &Params::new(), &no_extra).unwrap_err();
        assert_eq!(
            errors["timeframe"],
            "property is missing and it is not optional"
        );
    }

    #[test]
    fn vmid_and_node_formats() {
        assert!(vmid_format("100").is_ok());
        assert!(vmid_format("999999999").is_ok());
        assert!(vmid_format("99").is_err());
        assert!(vmid_format("0100").is_err());
        assert!(vmid_format("1000000000").is_err());
        assert!(node_format("pve-1").is_ok());
        assert!(node_format("-pve").is_err());
        assert!(node_format("pve_1").is_err());
    }

    #[test]
    fn json_bodies_become_text_parameters() {
        let p = from_json_body(br#"{"net0":"virtio","link_down":true,"rate":12.5}"#).unwrap();
        assert_eq!(
            p,
            params(&[("net0", "virtio"), ("link_down", "1"), ("rate", "12.5")])
        );
        assert!(from_json_body(b"[1]").is_err());
        assert!(from_json_body(b"{").is_err());
    }
}
