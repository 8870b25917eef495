//! The schema check every handler starts with.
//!
//! Every PVE method the simulator serves declares `additionalProperties => 0`, so a parameter
//! its schema does not name is an error (`400 Parameter verification failed.`), as is a value
//! of the wrong type.

use crate::error::{ApiError, ApiResult};
use crate::params::{self, Kind, Params, Spec};

fn no_extra(_: &str) -> Option<Kind> {
    None
}

/// Checks `params` against `specs` with no extra keys allowed.
pub(super) fn check(specs: &[Spec], params: &Params) -> ApiResult<()> {
    params::check(specs, params, &no_extra).map_err(ApiError::params)
}
