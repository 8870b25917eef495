//! End-to-end tests of the whole flow, in `tests/e2e/`: pve-sim, the exporter, the store and
//! the enforcer together, each test asserting against the simulator's `/sim/truth`.
//!
//! This crate is the only one that depends on both daemons' libraries; it has no code of its
//! own, so nothing in the product can lean on it.

#![warn(missing_docs)]
