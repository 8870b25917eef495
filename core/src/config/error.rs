//! The one error type of config loading, and the "did you mean" helper behind it.
//!
//! Every message names the file, the key path (`monitor.interval_seconds`, `rules[2].limit`)
//! and what was expected, then what to do, in one line an operator can act on:
//!
//! ```text
//! config.yaml: `monitor.interval_seconds`: expected an integer from 1 to 3600, found "abc"
//! ```
//!
//! Messages are built by the config modules only, and never contain the token secret: values
//! of secret keys are described by their type ("a number"), never echoed.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of mistake a [`ConfigError`] reports, for callers that react differently (the
/// binaries only print the message and exit with status 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read, or a file it points to (`pve.token_secret_file`).
    Io,
    /// The file is not valid YAML or JSON.
    Syntax,
    /// A key the config does not know (a typo, or a key in the wrong section).
    UnknownKey,
    /// A required key is absent.
    Missing,
    /// A key has a value of the wrong type or out of range, or keys contradict each other.
    Invalid,
}

/// A config file that cannot be used, with where and why.
///
/// Display: `<file>: `<key.path>`: <what was wrong>; <what to do>` (no key part when the
/// problem is the whole file, such as a syntax error).
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The config file as the operator named it.
    file: PathBuf,
    /// The key path, `section.key` or `rules[N].key`; `None` for whole-file problems.
    key: Option<String>,
    /// What was wrong and what to do, without file or key.
    message: String,
    /// The class of mistake.
    kind: ConfigErrorKind,
}

impl ConfigError {
    /// An error about the key `key` of `file`.
    pub(crate) fn new(
        file: &Path,
        key: impl Into<String>,
        kind: ConfigErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.to_path_buf(),
            key: Some(key.into()),
            message: message.into(),
            kind,
        }
    }

    /// An error about the whole file.
    pub(crate) fn file(file: &Path, kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            key: None,
            message: message.into(),
            kind,
        }
    }

    /// The same error with `scrub` applied to its message (to remove secrets).
    pub(crate) fn scrubbed(mut self, scrub: impl Fn(&str) -> String) -> ConfigError {
        self.message = scrub(&self.message);
        self
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The key path (`monitor.interval_seconds`, `rules[0].limit`), if the error is about one key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What was wrong and what to do, without the file and key.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The class of mistake.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    fn render(&self) -> String {
        match &self.key {
            Some(key) => format!("{}: `{key}`: {}", self.file.display(), self.message),
            None => format!("{}: {}", self.file.display(), self.message),
        }
    }
}

/// The candidate closest to `typo`, if it is close enough to be what the operator meant.
///
/// Close means a small edit distance to the whole name (`intervl` → `interval_seconds` is too
/// far, but `interval_secnds` is not) or to its start (`interval` → `interval_seconds`,
/// `timeout` → `timeout_seconds`): shortened names are the commonest slip after typos.
pub(crate) fn suggest<'a>(typo: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let typo = typo.to_ascii_lowercase();
    let limit = (typo.chars().count() / 3).max(1);
    candidates
        .iter()
        .filter_map(|&c| {
            let whole = levenshtein(&typo, c);
            let prefix: String = c.chars().take(typo.chars().count()).collect();
            // A prefix match costs one more than the edits, so an exact name wins over it.
            let start = levenshtein(&typo, &prefix) + 1;
            let d = whole.min(start);
            (d <= limit).then_some((d, c))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions) between two strings.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigErrorKind::Io => "cannot read",
            ConfigErrorKind::Syntax => "syntax error",
            ConfigErrorKind::UnknownKey => "unknown key",
            ConfigErrorKind::Missing => "missing key",
            ConfigErrorKind::Invalid => "invalid value",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_key() {
        let e = ConfigError::new(
            Path::new("config.yaml"),
            "monitor.interval_seconds",
            ConfigErrorKind::Invalid,
            "expected an integer from 1 to 3600, found \"abc\"",
        );
        assert_eq!(
            e.to_string(),
            "config.yaml: `monitor.interval_seconds`: expected an integer from 1 to 3600, found \"abc\""
        );
        let e = ConfigError::file(Path::new("/etc/x.json"), ConfigErrorKind::Syntax, "bad");
        assert_eq!(e.to_string(), "/etc/x.json: bad");
        assert_eq!(e.key(), None);
    }

    #[test]
    fn suggestions() {
        let keys = [
            "interval_seconds",
            "timezone",
            "include_templates",
            "guest_types",
        ];
        assert_eq!(suggest("intervall", &keys), Some("interval_seconds"));
        assert_eq!(suggest("interval", &keys), Some("interval_seconds"));
        assert_eq!(suggest("timezon", &keys), Some("timezone"));
        assert_eq!(suggest("TimeZone", &keys), Some("timezone"));
        assert_eq!(suggest("guest_type", &keys), Some("guest_types"));
        assert_eq!(suggest("colour", &keys), None);
        assert_eq!(suggest("x", &keys), None);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
