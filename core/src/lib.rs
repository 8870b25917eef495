//! `pve_traffic`: the library behind `pve-traffic-exporter` and `pve-traffic-enforcer`.
//!
//! One concept per module, each unaware of the binaries:
//! - [`rules`]: traffic rules (limit, direction, action, guest selection);
//! - [`period`]: calendar periods (hour, day, ISO week, month with a reset day) in any zone.
pub mod period;
pub mod rules;
