//! `GET /version`: which PVE answers, for behaviour that differs between releases.
//!
//! The enforcer needs one such fact: what an LXC `link_down=0` means. pve-container before
//! 6.0 (shipped with PVE 7.x and 8.x) takes a veth down for any `link_down` key, `0`
//! included; only an absent key means up. From pve-container 6.0 (PVE 9.x) only a true
//! value does. `/version` names PVE's release, not pve-container's, so the release's major
//! number stands for it.

use serde_json::Value;

use super::lenient;
use super::{Client, PveError};

/// The API path.
pub const PATH: &str = "/version";

/// PVE's version as `/version` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PveVersion {
    /// `pve-manager`'s version: `8.4.1`, `7.4-3`, `9.1.5`.
    pub version: String,
}

impl PveVersion {
    /// The major release number (`8` for `8.4.1`), `None` when unreadable.
    pub fn major(&self) -> Option<u32> {
        self.version
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|m| m.parse().ok())
    }

    /// Whether an LXC NIC with any `link_down` key, `link_down=0` included, is down
    /// (pve-container before 6.0, PVE 7.x and 8.x). An unreadable version counts as old:
    /// then a `link_down=0` the enforcer finds is left alone, never taken for "up".
    pub fn lxc_link_down_is_any_key(&self) -> bool {
        self.major().is_none_or(|m| m < 9)
    }
}

impl Client {
    /// PVE's version.
    pub async fn version(&self) -> Result<PveVersion, PveError> {
        let data = self.get(PATH, &[]).await?;
        parse_version(&data).map_err(|detail| PveError::Malformed {
            path: PATH.to_string(),
            detail,
        })
    }
}

/// Parses the `data` of `/version`: `version` is required.
pub fn parse_version(data: &Value) -> Result<PveVersion, String> {
    let version = lenient::string_value(data.get("version"))
        .map_err(|e| format!("version: {e}"))?
        .ok_or_else(|| format!("no `version` in {data}"))?;
    Ok(PveVersion { version })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn releases_and_the_lxc_link_down_meaning() {
        for (v, major, any_key) in [
            ("7.4-3", Some(7), true),
            ("8.2.2", Some(8), true),
            ("8.4.1", Some(8), true),
            ("9.1.5", Some(9), false),
            ("10.0", Some(10), false),
            ("dev", None, true),
        ] {
            let p = parse_version(&json!({"version": v, "release": "x"})).unwrap();
            assert_eq!(p.major(), major, "{v}");
            assert_eq!(p.lxc_link_down_is_any_key(), any_key, "{v}");
        }
        assert!(parse_version(&json!({"release": "8.4"})).is_err());
    }
}
