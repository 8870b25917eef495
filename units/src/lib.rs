//! Sizes and bandwidths as operators write them, and bytes as operators read them.
//!
//! Quotas are written `1.5TB`, `800GiB` or (as in the original tool) `limit_gb: 1000`, and the
//! sanity bound on deltas as `100Gbit`. This crate turns those strings into exact byte counts
//! and back into short human text. It knows nothing about config keys: callers put the key
//! path in front of the error text, which only says what was expected.
//!
//! Parsing is exact: the number is read as a decimal fraction and multiplied in integer
//! arithmetic, so `0.1KB` is 100 bytes, never 100.00000000000001 rounded by luck. A result that
//! is not a whole number of bytes (`1.5B`, `1bit/s`) is rounded to the nearest byte, half up.
//!
//! It is a crate of its own, with nothing but `std`, so that the chart renderer can write bytes
//! the way the rest of the project does without depending on the domain library (its store,
//! PVE client and HTTP server).
#![warn(missing_docs)]

mod decimal;
mod format;
mod parse;

pub use format::{binary_unit, format_bytes};
pub use parse::{gib, parse_bandwidth, parse_size};
