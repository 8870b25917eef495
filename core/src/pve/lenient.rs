//! Reading PVE's loosely typed JSON: numbers that may be strings, booleans that may be
//! anything.
//!
//! PVE's Perl backend serialises whatever scalar it holds and does not coerce output to its
//! schema (docs/pve-api.md, "Conventions"): counters can arrive as `123` or `"123"`, large
//! values as `1.2e+15`, booleans as `0`/`1`, `"0"`/`"1"`, `""`, JSON booleans or not at all.
//! These functions accept every such spelling and refuse only what cannot mean a value, so a
//! caller can skip one odd field (with a note) instead of failing the whole response.
//! They never panic.

use serde_json::Value;

/// A value that no lenient reading can make sense of; `Display` says what was expected and
/// shows what came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// What was expected, e.g. `a non-negative integer`.
    pub expected: &'static str,
    /// The offending JSON, shortened.
    pub got: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {}, got {}", self.expected, self.got)
    }
}

impl std::error::Error for Invalid {}

fn invalid(expected: &'static str, v: &Value) -> Invalid {
    let mut got = v.to_string();
    if got.len() > 60 {
        let mut cut = 57;
        while !got.is_char_boundary(cut) {
            cut -= 1;
        }
        got.truncate(cut);
        got.push_str("...");
    }
    Invalid { expected, got }
}

/// A non-negative integer: a JSON integer, an integral float (`1.5e3`), or a string holding
/// either (surrounding whitespace ignored). `null`, absent and `""` are `None`.
pub fn u64_value(v: Option<&Value>) -> Result<Option<u64>, Invalid> {
    const EXPECTED: &str = "a non-negative integer";
    let Some(v) = v else { return Ok(None) };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if let Some(f) = n.as_f64() {
                float_to_u64(f)
                    .map(Some)
                    .ok_or_else(|| invalid(EXPECTED, v))
            } else {
                Err(invalid(EXPECTED, v))
            }
        }
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            if let Ok(u) = s.parse::<u64>() {
                return Ok(Some(u));
            }
            s.parse::<f64>()
                .ok()
                .and_then(float_to_u64)
                .map(Some)
                .ok_or_else(|| invalid(EXPECTED, v))
        }
        _ => Err(invalid(EXPECTED, v)),
    }
}

/// A float is accepted as an integer only when it is one: finite, non-negative, no fraction
/// and within `u64` (Perl prints large NVs as `1.23e+15`).
fn float_to_u64(f: f64) -> Option<u64> {
    // 2^64 as f64; anything at or above it does not fit.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < LIMIT).then_some(f as u64)
}

/// A `u32` (e.g. a VMID), read as [`u64_value`] and then range-checked.
pub fn u32_value(v: Option<&Value>) -> Result<Option<u32>, Invalid> {
    match u64_value(v)? {
        None => Ok(None),
        Some(u) => u32::try_from(u)
            .map(Some)
            .map_err(|_| invalid("an integer below 2^32", v.unwrap_or(&Value::Null))),
    }
}

/// A finite float (`cpu`, rates): a JSON number or a numeric string. `null`, absent and `""`
/// are `None`.
pub fn f64_value(v: Option<&Value>) -> Result<Option<f64>, Invalid> {
    const EXPECTED: &str = "a number";
    let Some(v) = v else { return Ok(None) };
    let f = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    f.filter(|f| f.is_finite())
        .map(Some)
        .ok_or_else(|| invalid(EXPECTED, v))
}

/// A PVE boolean. False: absent, `null`, `false`, `0`, `""`, `"0"`, and the
/// words `false`/`no`/`off`. True: `true`, any other number, `"1"` or another non-zero
/// numeric string, and `true`/`yes`/`on`. Anything else (an array, `"maybe"`) is invalid.
pub fn bool_value(v: Option<&Value>) -> Result<bool, Invalid> {
    const EXPECTED: &str = "a boolean (0/1)";
    let Some(v) = v else { return Ok(false) };
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => {
            let s = s.trim();
            match s.to_ascii_lowercase().as_str() {
                "" | "0" | "false" | "no" | "off" => Ok(false),
                "1" | "true" | "yes" | "on" => Ok(true),
                _ => s
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f != 0.0)
                    .ok_or_else(|| invalid(EXPECTED, v)),
            }
        }
        _ => Err(invalid(EXPECTED, v)),
    }
}

/// A text field: a string, or a number or boolean printed as text (Perl may hand out a
/// numeric-looking name such as `1234` as a number). `null`, absent and `""` are `None`.
pub fn string_value(v: Option<&Value>) -> Result<Option<String>, Invalid> {
    let Some(v) = v else { return Ok(None) };
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(invalid("a string", v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn u(v: Value) -> Result<Option<u64>, Invalid> {
        u64_value(Some(&v))
    }

    fn b(v: Value) -> Result<bool, Invalid> {
        bool_value(Some(&v))
    }

    #[test]
    fn integers_in_every_spelling_pve_uses() {
        assert_eq!(u(json!(734003200)), Ok(Some(734003200)));
        assert_eq!(u(json!("734003200")), Ok(Some(734003200)));
        assert_eq!(u(json!(" 42 ")), Ok(Some(42)));
        assert_eq!(u(json!(1.5e3)), Ok(Some(1500)));
        assert_eq!(u(json!("1.2e+15")), Ok(Some(1_200_000_000_000_000)));
        assert_eq!(u(json!(u64::MAX)), Ok(Some(u64::MAX)));
        assert_eq!(
            u(json!("18446744073709551615")),
            Ok(Some(18_446_744_073_709_551_615))
        );
        assert_eq!(u(json!(0)), Ok(Some(0)));
        assert_eq!(u(json!("0")), Ok(Some(0)));
    }

    #[test]
    fn absent_integers_are_none() {
        assert_eq!(u64_value(None), Ok(None));
        assert_eq!(u(Value::Null), Ok(None));
        assert_eq!(u(json!("")), Ok(None));
        assert_eq!(u(json!("   ")), Ok(None));
    }

    #[test]
    fn nonsense_integers_are_invalid_not_zero() {
        for v in [
            json!(-1),
            json!("-5"),
            json!(1.5),
            json!("12abc"),
            json!("NaN"),
            json!("inf"),
            json!("18446744073709551616"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            let err = u(v.clone()).expect_err(&v.to_string());
            assert_eq!(err.expected, "a non-negative integer");
        }
        assert_eq!(
            u(json!("12abc")).unwrap_err().to_string(),
            "expected a non-negative integer, got \"12abc\""
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(500);
        let err = u(json!(long)).unwrap_err();
        assert!(err.got.len() <= 60, "{}", err.got);
        assert!(err.got.ends_with("..."));
    }

    #[test]
    fn u32_is_range_checked() {
        assert_eq!(u32_value(Some(&json!("100"))), Ok(Some(100)));
        assert_eq!(u32_value(Some(&json!(4294967295u64))), Ok(Some(u32::MAX)));
        assert!(u32_value(Some(&json!(4294967296u64))).is_err());
        assert_eq!(u32_value(None), Ok(None));
    }

    #[test]
    fn floats() {
        assert_eq!(f64_value(Some(&json!(0.0213))), Ok(Some(0.0213)));
        assert_eq!(f64_value(Some(&json!("0.5"))), Ok(Some(0.5)));
        assert_eq!(f64_value(Some(&json!(""))), Ok(None));
        assert!(f64_value(Some(&json!("NaN"))).is_err());
        assert!(f64_value(Some(&json!([]))).is_err());
    }

    #[test]
    fn booleans_false_spellings() {
        assert_eq!(bool_value(None), Ok(false));
        for v in [
            Value::Null,
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!("0"),
            json!(" 0 "),
            json!("false"),
            json!("No"),
            json!("off"),
        ] {
            assert_eq!(b(v.clone()), Ok(false), "{v}");
        }
    }

    #[test]
    fn booleans_true_spellings() {
        for v in [
            json!(true),
            json!(1),
            json!(2),
            json!("1"),
            json!("TRUE"),
            json!("yes"),
            json!("on"),
            json!("2"),
        ] {
            assert_eq!(b(v.clone()), Ok(true), "{v}");
        }
    }

    #[test]
    fn booleans_nonsense_is_invalid() {
        for v in [json!("maybe"), json!([0]), json!({})] {
            assert!(b(v.clone()).is_err(), "{v}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(string_value(Some(&json!("web1"))), Ok(Some("web1".into())));
        assert_eq!(string_value(Some(&json!(1234))), Ok(Some("1234".into())));
        assert_eq!(string_value(Some(&json!(""))), Ok(None));
        assert_eq!(string_value(None), Ok(None));
        assert!(string_value(Some(&json!(["a"]))).is_err());
    }

    proptest! {
        #[test]
        fn any_u64_round_trips_as_number_and_string(n: u64) {
            prop_assert_eq!(u(json!(n)), Ok(Some(n)));
            prop_assert_eq!(u(json!(n.to_string())), Ok(Some(n)));
        }

        #[test]
        fn no_string_panics(s in "\\PC*") {
            let _ = u(json!(s.clone()));
            let _ = b(json!(s.clone()));
            let _ = f64_value(Some(&json!(s)));
        }
    }
}
