//! The enforcer: usage from the store → desired state per guest → PVE writes, only where
//! reality differs (DESIGN §7).
//!
//! - `state`: what the enforcer persists, and why restarting it is safe.

pub mod state;
