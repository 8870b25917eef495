//! `status`: the guests enforced now, read from the store alone.
//!
//! "Who is held in a penalty, since when, why, until when?" is answered by what the enforcer
//! persisted (the store's enforcement records), not by PVE. So `status` needs neither PVE nor the token secret,
//! and it only reads: it opens the database read-only, never creates or migrates it (a
//! missing file means nothing has written one yet, which is worth saying rather than hiding
//! behind an empty list).

use std::collections::BTreeMap;
use std::path::Path;

use super::EnforcerError;
use pve_traffic_core::config::Config;
use pve_traffic_core::period::ts;
use pve_traffic_store::enforcement::GuestEnforcement;
use pve_traffic_store::{self as store, Access, EnforcementStore};

/// The enforced guests as [`render`] shows them, read from `storage.dsn` without writing.
pub fn status(config: &Config) -> Result<String, EnforcerError> {
    existing_database(config)?;
    let store = store::open(&config.storage.dsn, Access::ReadOnly)?;
    Ok(render(&store.load_enforcements()?))
}

/// The configured database, or [`EnforcerError::NoDatabase`] when there is none: the
/// commands that only look must not leave an empty database behind.
pub fn existing_database(config: &Config) -> Result<&Path, EnforcerError> {
    let path = Path::new(&config.storage.dsn);
    if path.exists() {
        Ok(path)
    } else {
        Err(EnforcerError::NoDatabase(path.to_owned()))
    }
}

/// One line per enforced guest: VMID, applied state, stage, since (UTC), and each rule with
/// the end of its period; `no guest is enforced` when there is none.
pub fn render(state: &BTreeMap<u32, GuestEnforcement>) -> String {
    if state.is_empty() {
        return "no guest is enforced\n".to_string();
    }
    let utc = |ms: i64| ts(ms).strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut text = format!(
        "{:<8} {:<11} {:<7} {:<20} {}\n",
        "guest", "state", "stage", "since", "rules (until)"
    );
    for r in state.values() {
        let rules: Vec<String> = r
            .reasons
            .iter()
            .map(|(rule, until)| format!("{rule} ({})", utc(*until)))
            .collect();
        text.push_str(&format!(
            "{:<8} {:<11} {:<7} {:<20} {}\n",
            r.vmid,
            r.applied.as_str(),
            format!("{:?}", r.stage).to_lowercase(),
            utc(r.since_ms),
            if rules.is_empty() {
                "-".to_string()
            } else {
                rules.join(", ")
            }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pve_traffic_store::enforcement::{Desired, Stage};

    #[test]
    fn renders_one_line_per_guest_with_each_rule_and_its_end() {
        let e = GuestEnforcement {
            vmid: 100,
            applied: Desired::Disconnect,
            stage: Stage::Applied,
            reasons: BTreeMap::from([("monthly".to_string(), 1_764_547_200_000)]),
            since_ms: 1_763_200_800_000,
            nics: BTreeMap::new(),
            was_running: None,
            pending_shutdown: None,
        };
        let text = render(&BTreeMap::from([(100, e)]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("guest"), "{text}");
        assert_eq!(
            lines[1],
            "100      disconnect  applied 2025-11-15 10:00 UTC monthly (2025-12-01 00:00 UTC)"
        );
        assert_eq!(render(&BTreeMap::new()), "no guest is enforced\n");
    }
}
