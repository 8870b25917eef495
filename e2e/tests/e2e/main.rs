//! End-to-end tests of the exporter and the enforcer against pve-sim over HTTPS with a
//! pinned fingerprint.
//!
//! - `util`: the harness (simulator, config, polling at simulated time, `/metrics` parsing).
//! - `accounting`: totals exact against `/sim/truth` through reboots, stops, migrations,
//!   re-created NICs, restarts of the exporter, outages and broken answers.
//! - `periods`: calendar period gauges and quota usage across hour/day/month boundaries in
//!   UTC, Asia/Kathmandu and Europe/Berlin (DST), and `reset_day: 31` in February.
//! - `pushes`: exact to the bytes no push showed through migrations, node outages of 2 and 6
//!   minutes and a pvestatd stall, lifetime totals, hour windows and 5-minute buckets.
//! - `exactness`: a property test of random event sequences (migrations, reboots, stops,
//!   re-created NICs, offline and stalled nodes, outages, killed exporters): lifetime totals
//!   and every period window equal `/sim/truth` minus its unobservable bytes.
//! - `metrics`: the exposition formats, and `promtool check metrics`.
//! - `enforcer`: actions fire once, restore exactly, survive operators, fail safe.
//! - `mem_store`: the exporter and the enforcer over the in-memory store, through the store's
//!   traits only (no database file).
//! - `enforcer_pve`: the enforcer under a real PVE's ways: halted VMs, HA-managed guests,
//!   operators' pending NIC changes, LXC `link_down` by version, stale and unknown stats.

mod accounting;
mod enforcer;
mod enforcer_pve;
mod exactness;
mod mem_store;
mod metrics;
mod periods;
mod pushes;
mod util;
