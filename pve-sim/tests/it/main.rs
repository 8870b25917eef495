//! Integration tests of pve-sim over real HTTPS on loopback.
//!
//! - `util`: the harness (start, client, `/sim/` helpers) and the `BASIC` scenario.
//! - `transport`: TLS, envelope, reason phrases, PVE's HTTP rules.
//! - `auth`: token header grammar, 401 texts and delay, privsep, ACLs, 403s.
//! - `cluster`: `/version`, `/nodes`, `/pools`, `/cluster/status`, `/cluster/resources`.
//! - `guests`: guest lists, `status/current`, `rrddata`, `netstat`.
//! - `power`: power actions, UPIDs, tasks and their outcomes.
//! - `config`: config reads and writes, digest, pending, canonical `netN`, live effects.
//! - `control`: the `/sim/` API: truth, advance, guest events, faults, request log, scenario.
//! - `property`: random event sequences; observed counter deltas against `/sim/truth`.
//! - `pushes`: pushed stats and live identity, stalls and outages, unobservable bytes.
//! - `push_property`: an ideal observer of the pushed stats against truth minus unobservable.

mod access;
mod auth;
mod cluster;
mod config;
mod control;
mod guests;
mod power;
mod property;
mod push_property;
mod pushes;
mod transport;
mod util;
