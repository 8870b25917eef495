//! The one error type of the PVE API surface, shaped like PVE's exceptions.
//!
//! PVE puts the first line of an error into the HTTP reason phrase, so a client that reads
//! only the status line still learns what went wrong ("500 VM 100 not running"). Per-parameter
//! problems travel in an `errors` object. Model operations and handlers both return
//! [`ApiError`]; the server turns it into bytes (see `api::response`).

use crate::params::ParamErrors;

/// An error answer of the simulated PVE API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (PVE also uses the 59x pseudo-statuses of its proxy).
    pub status: u16,
    /// First line of the message: the HTTP reason phrase.
    pub reason: String,
    /// Per-parameter problems (`400 Parameter verification failed.`).
    pub errors: Option<ParamErrors>,
    /// Whether the body is empty (401, 595) instead of the JSON envelope.
    pub empty_body: bool,
}

impl ApiError {
    /// A `500` with `message`: most business errors ("VM 100 not running").
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::status(500, message)
    }

    /// An error with the given status and reason phrase and a JSON body.
    pub fn status(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            reason: message.into(),
            errors: None,
            empty_body: false,
        }
    }

    /// `400 Parameter verification failed.` with per-parameter messages.
    pub fn params(errors: ParamErrors) -> ApiError {
        ApiError {
            status: 400,
            reason: "Parameter verification failed.".to_string(),
            errors: Some(errors),
            empty_body: false,
        }
    }

    /// `400` for a single parameter.
    pub fn param(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::params(ParamErrors::from([(name.to_string(), message.into())]))
    }

    /// `401` with an empty body.
    pub fn unauthorized(reason: impl Into<String>) -> ApiError {
        ApiError {
            status: 401,
            reason: reason.into(),
            errors: None,
            empty_body: true,
        }
    }

    /// `403 Permission check failed (<path>, <privs>)`.
    pub fn forbidden(path: &str, privs: &[&str]) -> ApiError {
        ApiError::status(403, crate::auth::permission_denied_reason(path, privs))
    }

    /// `501 Method '<M> <path>' not implemented`.
    pub fn not_implemented(method: &str, path: &str) -> ApiError {
        ApiError::status(501, format!("Method '{method} {path}' not implemented"))
    }

    /// `595`: the proxy could not reach the node.
    pub fn node_unreachable() -> ApiError {
        ApiError {
            status: 595,
            reason: "Errors during connection establishment, proxy handshake: No route to host"
                .to_string(),
            errors: None,
            empty_body: true,
        }
    }
}

/// Result of a simulated API operation.
pub type ApiResult<T> = Result<T, ApiError>;
