//! `pve_traffic`: the library behind `pve-traffic-exporter` and `pve-traffic-enforcer`.
//!
//! One concept per module, each unaware of the binaries:
//! - [`cli_docs`]: man pages and shell completions generated from the binaries' clap
//!   definitions;
//! - [`daemon`]: logging and signals shared by the daemons;
//! - [`config`]: the config file (YAML, or the original tool's JSON), validated;
//! - [`enforcer`]: quota rules → desired state → PVE writes (a reconciler);
//! - [`exporter`]: poll → account → commit → snapshot → `/metrics`;
//! - [`exposition`]: the Prometheus text formats (classic and OpenMetrics);
//! - [`accounting`]: reset-safe deltas between two polls of a guest's counters;
//! - [`fingerprint`]: SHA-256 certificate fingerprints as people copy them;
//! - [`guest`]: guest identity and type;
//! - [`secret`]: secrets that never print;
//! - [`rules`]: traffic rules (limit, direction, action, guest selection);
//! - [`period`]: calendar periods (hour, day, ISO week, month with a reset day) in any zone;
//! - [`pve`]: the PVE API client (TLS trust, token auth, errors; one module per PVE resource);
//! - [`report`]: export reports (one guest, all guests, quota statements) as JSON and CSV;
//! - [`store`]: durable accounting state behind the [`store::Store`] trait (SQLite today);
//! - [`vocabulary`](mod@vocabulary): the closed sets of names (periods, directions, actions) and their parsing;
//! - [`units`]: byte sizes and bandwidths as people write them (the `pve-traffic-units` crate,
//!   re-exported).
pub mod accounting;
pub mod cli_docs;
pub mod config;
pub mod daemon;
pub mod enforcer;
pub mod exporter;
pub mod exposition;
pub mod fingerprint;
pub mod guest;
pub mod period;
pub mod pve;
pub mod report;
pub mod rules;
pub mod secret;
pub mod store;
pub mod vocabulary;
pub use pve_traffic_units as units;
