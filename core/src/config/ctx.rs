//! The loading state every layer shares: the file, the warnings so far, the keys `legacy.rs`
//! renamed, and the secret's known values.
//!
//! It sits below the raw, legacy and validation layers so each of them can report an error
//! under the key the operator wrote, and none of them has to import another for it.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;

use super::error::{ConfigError, ConfigErrorKind};

/// Loading state shared by the validation functions: where we are, what to warn about.
pub(super) struct Ctx<'a> {
    /// The config file, for messages.
    pub file: &'a Path,
    /// Warnings so far, each prefixed with the file.
    pub warnings: Vec<String>,
    /// Current key path → the key the file used, for keys `legacy.rs` renamed, so errors
    /// name what the operator actually wrote.
    pub renamed: HashMap<String, String>,
    /// Whether the file used any of the original tool's keys (it then gets a note about
    /// time zones, which the original tool did not have).
    pub legacy: bool,
    /// Known values of the token secret, scrubbed from every message.
    secrets: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// A fresh state for loading `file`.
    pub fn new(file: &'a Path) -> Ctx<'a> {
        Ctx {
            file,
            warnings: Vec::new(),
            renamed: HashMap::new(),
            legacy: false,
            secrets: Vec::new(),
        }
    }

    /// An error about `key` (shown under its original name if `legacy.rs` renamed it).
    pub fn err(
        &self,
        key: impl Into<String>,
        kind: ConfigErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        let key = key.into();
        let key = self.renamed.get(&key).cloned().unwrap_or(key);
        ConfigError::new(self.file, key, kind, message)
    }

    /// Records a warning.
    pub fn warn(&mut self, message: impl Display) {
        self.warnings
            .push(format!("{}: {message}", self.file.display()));
    }

    /// Remembers a value of the token secret so no message can carry it.
    pub fn secret(&mut self, value: &str) {
        let value = value.trim();
        // Too short to be a real secret, and scrubbing it would mangle ordinary words.
        if value.len() >= 4 {
            self.secrets.push(value.to_string());
        }
    }

    /// `text` with every known value of the secret replaced by `********`.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "********"))
    }
}
