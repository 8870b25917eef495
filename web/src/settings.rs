//! The `web:` section of the exporter's configuration: where the UI and API listen, whether
//! over TLS, and which API tokens may use them.
//!
//! Tokens are stored as SHA-256 hashes only, so the configuration file is not itself a
//! credential. The section is a plain serde struct; the exporter embeds it in its config and
//! calls [`Settings::validate`] when it loads (and reloads) the file.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `web:` section. Everything is optional: without `listen` the web server is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to serve the UI and API on, e.g. `127.0.0.1:9813` (default: off).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// API tokens. With none, only loopback clients are answered.
    #[serde(default)]
    pub tokens: Vec<TokenSettings>,
}

/// `web.tls`: PEM files, read when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// One API token: a name for the logs and the action log, the hex SHA-256 of the token, and
/// what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Shown in the action log next to what the token did; never the token itself.
    pub name: String,
    /// Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
    pub sha256: String,
    /// `viewer` (read everything) or `operator` (also release penalties).
    pub role: Role,
}

/// What a caller may do. Operators may do everything viewers may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page and route.
    Viewer,
    /// Also lifts penalties (`POST /api/guests/{vmid}/release`).
    Operator,
}

/// A `web:` section that cannot be used, and what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// A token without a name.
    #[error("web.tokens[{index}]: `name` is empty; give each token a name for the logs")]
    EmptyName {
        /// Position in `web.tokens`.
        index: usize,
    },
    /// Two tokens with one name: the action log could not tell them apart.
    #[error("web.tokens: the name {name:?} is used twice; names must be unique")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// `sha256` is not 64 hex digits.
    #[error(
        "web.tokens[{index}] ({name}): `sha256` must be 64 hex digits, the SHA-256 of the \
         token (printf %s \"$TOKEN\" | sha256sum), not the token itself"
    )]
    BadHash {
        /// Position in `web.tokens`.
        index: usize,
        /// The token's name.
        name: String,
    },
    /// Two tokens with one hash: one token would carry two names.
    #[error("web.tokens: {first} and {second} have the same sha256; generate a token for each")]
    DuplicateHash {
        /// The first token's name.
        first: String,
        /// The second token's name.
        second: String,
    },
    /// `tls` with an empty path.
    #[error("web.tls: `{field}` is empty; give the path of a PEM file")]
    EmptyTlsPath {
        /// `cert_file` or `key_file`.
        field: &'static str,
    },
}

impl Settings {
    /// Checks what serde cannot: names, hashes, TLS paths.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(tls) = &self.tls {
            for (field, path) in [("cert_file", &tls.cert_file), ("key_file", &tls.key_file)] {
                if path.as_os_str().is_empty() {
                    return Err(SettingsError::EmptyTlsPath { field });
                }
            }
        }
        let mut names = BTreeSet::new();
        for (index, token) in self.tokens.iter().enumerate() {
            token.validate(index)?;
            if !names.insert(token.name.as_str()) {
                return Err(SettingsError::DuplicateName {
                    name: token.name.clone(),
                });
            }
        }
        for (i, a) in self.tokens.iter().enumerate() {
            if let Some(b) = self.tokens[i + 1..]
                .iter()
                .find(|b| b.digest() == a.digest())
            {
                return Err(SettingsError::DuplicateHash {
                    first: a.name.clone(),
                    second: b.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// What an operator should read when the server starts: how access is controlled.
    pub fn access_summary(&self) -> String {
        if self.tokens.is_empty() {
            "web: no API tokens configured (web.tokens): answering loopback clients only".into()
        } else {
            format!(
                "web: {} API token(s) configured; every API request needs one",
                self.tokens.len()
            )
        }
    }
}

impl TokenSettings {
    /// An operator token from a plain-text token (the original `api.token`): the token is
    /// hashed here, so it is kept in memory only as its hash.
    pub fn from_plain(name: &str, token: &str) -> TokenSettings {
        TokenSettings {
            name: name.to_string(),
            sha256: hash_token(token),
            role: Role::Operator,
        }
    }

    fn validate(&self, index: usize) -> Result<(), SettingsError> {
        if self.name.trim().is_empty() {
            return Err(SettingsError::EmptyName { index });
        }
        if self.digest().is_none() {
            return Err(SettingsError::BadHash {
                index,
                name: self.name.clone(),
            });
        }
        Ok(())
    }

    /// The hash as bytes, if `sha256` is 64 hex digits (either case).
    pub(crate) fn digest(&self) -> Option<[u8; 32]> {
        let hex = self.sha256.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(out)
    }
}

/// The hex SHA-256 of a token, as `web.tokens[].sha256` expects it.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, secret: &str) -> TokenSettings {
        TokenSettings {
            name: name.into(),
            sha256: hash_token(secret),
            role: Role::Viewer,
        }
    }

    #[test]
    fn hash_is_the_sha256_sum_of_the_token() {
        // printf %s secret | sha256sum
        assert_eq!(
            hash_token("secret"),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
        );
    }

    #[test]
    fn valid_settings_pass_and_upper_case_hex_is_accepted() {
        let mut upper = token("b", "two");
        upper.sha256 = upper.sha256.to_uppercase();
        let s = Settings {
            tokens: vec![token("a", "one"), upper],
            ..Settings::default()
        };
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn a_plain_token_instead_of_its_hash_is_refused_with_the_fix() {
        let mut t = token("grafana", "x");
        t.sha256 = "my-secret-token".into();
        let s = Settings {
            tokens: vec![t],
            ..Settings::default()
        };
        let err = s.validate().unwrap_err();
        assert!(err.to_string().contains("sha256sum"), "{err}");
        assert!(!err.to_string().contains("my-secret-token"), "{err}");
    }

    #[test]
    fn duplicate_names_and_hashes_and_empty_names_are_refused() {
        let dup_name = Settings {
            tokens: vec![token("a", "one"), token("a", "two")],
            ..Settings::default()
        };
        assert!(matches!(
            dup_name.validate(),
            Err(SettingsError::DuplicateName { .. })
        ));
        let dup_hash = Settings {
            tokens: vec![token("a", "one"), token("b", "one")],
            ..Settings::default()
        };
        assert!(matches!(
            dup_hash.validate(),
            Err(SettingsError::DuplicateHash { .. })
        ));
        let empty = Settings {
            tokens: vec![token(" ", "one")],
            ..Settings::default()
        };
        assert_eq!(empty.validate(), Err(SettingsError::EmptyName { index: 0 }));
    }

    #[test]
    fn empty_tls_paths_are_refused() {
        let s = Settings {
            tls: Some(TlsSettings {
                cert_file: "/etc/cert.pem".into(),
                key_file: "".into(),
            }),
            ..Settings::default()
        };
        assert_eq!(
            s.validate(),
            Err(SettingsError::EmptyTlsPath { field: "key_file" })
        );
    }

    #[test]
    fn a_plain_legacy_token_becomes_a_hashed_operator_token() {
        let t = TokenSettings::from_plain("api.token", "secret");
        assert_eq!(t.role, Role::Operator);
        assert_eq!(t.sha256, hash_token("secret"));
    }

    #[test]
    fn the_summary_says_when_only_loopback_is_answered() {
        assert!(Settings::default().access_summary().contains("loopback"));
    }
}
