//! Secrets that cannot leak by accident.
//!
//! The PVE token secret passes through config loading, the HTTP client and error paths. A
//! `Secret` prints as `********` in `Debug` and `Display`, so no log line, error message or
//! `check-config` output can carry it; the one way to read it is [`Secret::expose`], used
//! only where the `Authorization` header is built.

/// A string that never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Call only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"********\"")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("0b7e0a4c-3c1e-4c55");
        assert_eq!(format!("{s}"), "********");
        assert!(!format!("{s:?}").contains("0b7e"));
        assert_eq!(s.expose(), "0b7e0a4c-3c1e-4c55");
    }
}
