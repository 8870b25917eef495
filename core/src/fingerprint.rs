//! SHA-256 certificate fingerprints as people copy them, and as PVE shows them.
//!
//! Operators pin PVE's certificate by pasting its fingerprint into `pve.tls.fingerprint` or
//! `init --fingerprint`, from wherever they found it: PVE's GUI (node → System →
//! Certificates) and `pvenode cert info` show `AB:CD:…` (32 uppercase pairs joined by `:`),
//! `openssl x509 -noout -fingerprint -sha256` prints the same behind `sha256 Fingerprint=`
//! (`SHA256 Fingerprint=` before OpenSSL 3), browsers' certificate viewers separate the pairs
//! with spaces, and scripts often keep 64 bare hex digits. All of these are accepted, in any
//! case; anything else is refused with a message that says what to type.
//!
//! The parser lives here, not in the PVE client's TLS module, because the config needs it
//! too and must not depend on the HTTP client: both use this leaf.

use std::fmt;

/// The separators accepted between hex pairs: PVE's `:`, a browser's space, or `-`.
const SEPARATORS: [char; 3] = [':', ' ', '-'];

/// The label `openssl x509 -fingerprint -sha256` prints before the pairs (compared without
/// case, so OpenSSL 1.1's `SHA256 Fingerprint=` matches too).
const OPENSSL_LABEL: &str = "sha256 fingerprint=";

/// Parses a SHA-256 fingerprint in any of the forms the module docs list.
pub fn parse(text: &str) -> Result<[u8; 32], FingerprintError> {
    let fail = |problem| FingerprintError {
        found: text.to_string(),
        problem,
    };
    let t = text.trim();
    if let Some(prefix) = other_prefix(t) {
        return Err(fail(Problem::Prefix(prefix.to_string())));
    }
    let t = strip_openssl_label(t).trim();
    let hex: String = match t.chars().find(|c| SEPARATORS.contains(c)) {
        Some(separator) => {
            let pairs: Vec<&str> = t.split(separator).collect();
            if pairs.iter().any(|p| p.chars().count() != 2) {
                return Err(fail(Problem::Grouping));
            }
            pairs.concat()
        }
        None => t.to_string(),
    };
    if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(fail(Problem::NotHex(c)));
    }
    match hex.len() {
        64 => {}
        40 => return Err(fail(Problem::Sha1)),
        n => return Err(fail(Problem::Length(n))),
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
        *byte = u8::from_str_radix(pair, 16).expect("checked hex digits");
    }
    Ok(out)
}

/// `AB:CD:…`: uppercase hex pairs joined by `:`, as PVE shows fingerprints.
pub fn format(fp: &[u8; 32]) -> String {
    let pairs: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

/// `sha256:` or `sha256/` (any case) in front: labels other tools use, refused so the
/// message can say to drop them rather than call `s` a bad digit.
fn other_prefix(t: &str) -> Option<&str> {
    let head = t.get(..7)?;
    ["sha256:", "sha256/"]
        .iter()
        .any(|p| head.eq_ignore_ascii_case(p))
        .then_some(head)
}

fn strip_openssl_label(t: &str) -> &str {
    match t.get(..OPENSSL_LABEL.len()) {
        Some(head) if head.eq_ignore_ascii_case(OPENSSL_LABEL) => &t[OPENSSL_LABEL.len()..],
        _ => t,
    }
}

/// Text that is not a SHA-256 fingerprint; the message says what to type instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FingerprintError {
    found: String,
    problem: Problem,
}

/// What was wrong with the text, for the message's last words.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    /// A `sha256:` or `sha256/` label, as written.
    Prefix(String),
    /// Separators, but not between pairs of two digits.
    Grouping,
    /// A character that is neither a hex digit nor a separator.
    NotHex(char),
    /// 40 digits: the SHA-1 fingerprint that older tools show.
    Sha1,
    /// Hex digits, but not 64 of them.
    Length(usize),
}

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected a SHA-256 fingerprint, 32 hex pairs like \"AB:CD:EF:...\" as PVE shows it \
             (`pvenode cert info`) or 64 hex digits, found {:?}; ",
            self.found
        )?;
        match &self.problem {
            Problem::Prefix(p) => write!(f, "drop the {p:?} in front"),
            Problem::Grouping => f.write_str("write two hex digits between separators"),
            Problem::NotHex(c) => write!(f, "{c:?} is not a hex digit"),
            Problem::Sha1 => f.write_str(
                "that is a SHA-1 fingerprint (20 pairs); copy the SHA-256 one (32 pairs)",
            ),
            Problem::Length(n) => write!(f, "that is {n} hex digits, not 64"),
        }
    }
}

impl std::error::Error for FingerprintError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// 00:01:…:1F, the bytes 0 to 31.
    fn counting() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    fn pairs(separator: &str, upper: bool) -> String {
        let pairs: Vec<String> = (0..32)
            .map(|i| match upper {
                true => format!("{i:02X}"),
                false => format!("{i:02x}"),
            })
            .collect();
        pairs.join(separator)
    }

    #[test]
    fn every_form_people_copy_is_accepted() {
        let want = counting();
        for text in [
            pairs(":", true),
            pairs(":", false),
            pairs("", true),
            pairs("", false),
            pairs(" ", true),
            pairs("-", false),
            format!("sha256 Fingerprint={}", pairs(":", true)),
            format!("SHA256 Fingerprint={}", pairs(":", true)),
            format!("  {}\n", pairs(":", true)),
        ] {
            assert_eq!(parse(&text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn format_is_pves_and_parses_back() {
        let text = format(&counting());
        assert_eq!(text, pairs(":", true));
        assert!(text.starts_with("00:01:02:") && text.ends_with(":1F"));
        assert_eq!(parse(&text), Ok(counting()));
    }

    #[test]
    fn wrong_text_is_refused_saying_what_to_type() {
        let cases = [
            ("AB:CD".to_string(), "that is 4 hex digits, not 64"),
            (
                pairs("", true)[1..].to_string(),
                "that is 63 hex digits, not 64",
            ),
            (
                format!("{}zz", &pairs("", true)[2..]),
                "'z' is not a hex digit",
            ),
            (["AB"; 20].join(":"), "that is a SHA-1 fingerprint"),
            (
                format!("A:B{}", &pairs(":", true)[5..]),
                "two hex digits between",
            ),
            (pairs(":-", true), "two hex digits between"),
            (format!("{}:", pairs(":", true)), "two hex digits between"),
            (
                format!("SHA256:{}", pairs("", true)),
                "drop the \"SHA256:\" in front",
            ),
            (
                format!("sha256/{}", pairs(":", true)),
                "drop the \"sha256/\" in front",
            ),
            (String::new(), "that is 0 hex digits, not 64"),
        ];
        for (text, why) in cases {
            let message = parse(&text).unwrap_err().to_string();
            assert!(
                message.starts_with("expected a SHA-256 fingerprint, 32 hex pairs like"),
                "{message}"
            );
            assert!(message.contains(&format!("found {text:?}")), "{message}");
            assert!(message.contains(why), "{message}");
        }
    }
}
