//! `pve_traffic_core`: the domain of pve-traffic, and what both daemons share.
//!
//! The data flows one way through the workspace's crates: this one (config, the PVE client,
//! the accountant, periods, rules) → `pve-traffic-store` → `pve-traffic-exporter` (poller,
//! `/metrics`, reports) and `pve-traffic-enforcer` (the reconciler), which meet only in the
//! store. This crate knows none of them, so Cargo itself refuses an import against the flow.
//!
//! One concept per module:
//! - [`cli_docs`]: man pages and shell completions generated from the binaries' clap
//!   definitions;
//! - [`daemon`]: logging and signals shared by the daemons;
//! - [`config`]: the config file (YAML, or the original tool's JSON), validated;
//! - [`exposition`]: the Prometheus text formats (classic and OpenMetrics);
//! - [`accounting`]: reset-safe deltas between two polls of a guest's counters;
//! - [`fingerprint`]: SHA-256 certificate fingerprints as people copy them;
//! - [`guest`]: guest identity and type;
//! - [`secret`]: secrets that never print;
//! - [`rules`]: traffic rules (limit, direction, action, guest selection);
//! - [`period`]: calendar periods (hour, day, ISO week, month with a reset day) in any zone;
//! - [`pve`]: the PVE API client (TLS trust, token auth, errors; one module per PVE resource);
//! - [`vocabulary`](mod@vocabulary): the closed sets of names (periods, directions, actions) and their parsing;
//! - [`units`]: byte sizes and bandwidths as people write them (the `pve-traffic-units` crate,
//!   re-exported).

#![warn(missing_docs)]

pub mod accounting;
pub mod cli_docs;
pub mod config;
pub mod daemon;
pub mod exposition;
pub mod fingerprint;
pub mod guest;
pub mod period;
pub mod pve;
pub mod rules;
pub mod secret;
pub mod vocabulary;
pub use pve_traffic_units as units;
