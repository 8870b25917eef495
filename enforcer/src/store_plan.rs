//! The plan from the store alone: `plan` without the PVE token secret.
//!
//! Which rules a guest is over, and what the enforcer would want for it, follow from the
//! store (usage, guests' tags, releases, what was applied) and the rules; only *how* to get
//! there needs PVE's live state (power, NICs, HA). An operator checking a new rule on a
//! machine without the secret gets the first part, with the `action` column saying that the
//! rest needs PVE. The guests are those the exporter last saw, so a guest created since
//! its last commit is missing until the next one.

use pve_traffic_core::config::Config;
use pve_traffic_core::period::ts;
use pve_traffic_store::{self as store, Access, EnforcementStore, Store};

use crate::cycle::read_usage;
use crate::desired::{evaluate, Evaluation, GuestFacts};
use crate::status::existing_database;
use crate::{plan, EnforcerError};

/// What the `action` column says when PVE was not asked.
pub const NEEDS_PVE: &str = "? (set the token secret to see the PVE actions)";

/// The plan at `now_ms` from the database alone, in the layout of [`plan::render_plan`].
pub fn store_plan(config: &Config, now_ms: i64) -> Result<String, EnforcerError> {
    existing_database(config)?;
    let store = store::open(&config.storage.dsn, Access::ReadOnly)?;
    let guests = store.load_state()?.guests;
    let facts: Vec<GuestFacts> = guests
        .values()
        .map(|(info, _, _)| GuestFacts {
            vmid: info.vmid,
            tags: &info.tags,
            template: info.template,
        })
        .collect();
    let usage = read_usage(&store, config, now_ms)?;
    let releases = store.releases(now_ms)?;
    let tz = &config.monitor.timezone;
    let evaluations = evaluate(&config.rules, &facts, &usage, &releases, ts(now_ms), tz);
    let applied = store.load_enforcements()?;
    let current = |vmid: u32| {
        applied
            .get(&vmid)
            .map_or("normal", |r| r.applied.as_str())
            .to_string()
    };
    let action = |_: &Evaluation| NEEDS_PVE.to_string();
    Ok(plan::render_plan(&evaluations, &current, &action, tz))
}
