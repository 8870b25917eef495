//! What can go wrong talking to PVE, sorted by what the caller does about it.
//!
//! Each variant answers one question for the poller or the enforcer: is it worth trying again
//! ([`PveError::is_retryable`]), which `reason` label does the failure count under in
//! `pve_traffic_poll_errors_total` ([`PveError::reason_label`]), and what should the operator
//! change (the `Display` text, which names the config key to look at). PVE's own words come
//! from the HTTP reason phrase (the JSON body has no text before PVE 8.4), so they are carried
//! verbatim in `reason`.
//!
//! No variant holds the token secret: the client never puts it anywhere but the
//! `Authorization` header, and transport details come from errors that never see headers.

use std::time::Duration;

/// A failed PVE API call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PveError {
    /// 401: PVE did not accept the token (unknown, expired, wrong secret, revoked). Never
    /// retried: the same token will not work on the next attempt either, and PVE delays every
    /// 401 answer by 3 s.
    #[error("PVE rejected the API token (401 {reason}): check pve.token_id and pve.token_secret")]
    Unauthorized {
        /// PVE's reason phrase, e.g. `Authentication failed!` or `invalid token value!`.
        reason: String,
    },

    /// 403: the token is valid but lacks a privilege on this path.
    #[error(
        "PVE denied {path} (403 {reason}): grant the privilege to the API token's role \
         (with privilege separation, to the token itself)"
    )]
    Forbidden {
        /// The API path (below `/api2/json`).
        path: String,
        /// PVE's reason phrase, e.g. `Permission check failed (/vms/100, VM.Audit)`.
        reason: String,
    },

    /// Any other HTTP error status: 400 (bad parameter), 500 (the handler died, e.g.
    /// `VM 100 not running`), 501, and the proxy pseudo-statuses 595/596.
    #[error("PVE answered {status} {reason} for {path}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// PVE's reason phrase (or the `message` member, or the canonical phrase, in that
        /// order of preference); for a 400, the per-parameter errors are appended.
        reason: String,
        /// The API path (below `/api2/json`).
        path: String,
    },

    /// No complete answer within the configured time.
    #[error("no answer from PVE for {path} within {after:?}: raise pve.timeout_seconds or check the node's load")]
    Timeout {
        /// The API path (below `/api2/json`).
        path: String,
        /// The per-request timeout that ran out.
        after: Duration,
    },

    /// The TCP connection could not be made or broke before an answer arrived.
    #[error("cannot reach PVE at {url}: {detail}; check pve.url and that pveproxy listens there (port 8006)")]
    Connect {
        /// The URL requested (never with credentials: they travel in a header).
        url: String,
        /// What the network stack said.
        detail: String,
    },

    /// The server's certificate was not trusted.
    #[error(
        "TLS verification of the PVE server failed: {detail}; trust the cluster CA with \
         pve.tls.ca_file (/etc/pve/pve-root-ca.pem) or pin the certificate with pve.tls.fingerprint"
    )]
    Tls {
        /// What failed, e.g. `certificate fingerprint mismatch: expected AB:…, server
        /// presented CD:…` or `invalid peer certificate: UnknownIssuer`.
        detail: String,
    },

    /// A 2xx answer whose body is not PVE's `{"data": …}` envelope, or whose data has the
    /// wrong shape.
    #[error("PVE sent an unreadable answer for {path}: {detail}")]
    Malformed {
        /// The API path (below `/api2/json`).
        path: String,
        /// What was expected and what came.
        detail: String,
    },

    /// The client options are unusable (bad URL, unreadable CA file, contradictory TLS
    /// settings); the message names the setting.
    #[error("PVE client setup: {0}")]
    Config(String),
}

impl PveError {
    /// The `reason` label of the poll-error metric: `unauthorized`, `forbidden`, `http`,
    /// `timeout`, `connect`, `tls`, `malformed` or `config`.
    pub fn reason_label(&self) -> &'static str {
        match self {
            PveError::Unauthorized { .. } => "unauthorized",
            PveError::Forbidden { .. } => "forbidden",
            PveError::Api { .. } => "http",
            PveError::Timeout { .. } => "timeout",
            PveError::Connect { .. } => "connect",
            PveError::Tls { .. } => "tls",
            PveError::Malformed { .. } => "malformed",
            PveError::Config(_) => "config",
        }
    }

    /// Whether trying again may help: server errors (5xx, including PVE's proxy statuses
    /// 595 and 596), timeouts and connection failures. Never 401, 403 or 400: the same
    /// request with the same token fails the same way.
    pub fn is_retryable(&self) -> bool {
        match self {
            PveError::Api { status, .. } => *status >= 500,
            PveError::Timeout { .. } | PveError::Connect { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status PVE answered, when it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            PveError::Unauthorized { .. } => Some(401),
            PveError::Forbidden { .. } => Some(403),
            PveError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> PveError {
        PveError::Api {
            status,
            reason: "x".into(),
            path: "/p".into(),
        }
    }

    #[test]
    fn retryable_only_when_another_attempt_can_differ() {
        for s in [500, 502, 503, 595, 596, 599] {
            assert!(api(s).is_retryable(), "{s}");
        }
        for s in [400, 404, 409] {
            assert!(!api(s).is_retryable(), "{s}");
        }
        assert!(!PveError::Unauthorized { reason: "x".into() }.is_retryable());
        assert!(!PveError::Forbidden {
            path: "/p".into(),
            reason: "x".into()
        }
        .is_retryable());
        assert!(!PveError::Tls { detail: "x".into() }.is_retryable());
        assert!(!PveError::Malformed {
            path: "/p".into(),
            detail: "x".into()
        }
        .is_retryable());
        assert!(PveError::Timeout {
            path: "/p".into(),
            after: Duration::from_secs(1)
        }
        .is_retryable());
    }

    #[test]
    fn messages_name_the_setting_to_check() {
        let e = PveError::Unauthorized {
            reason: "Authentication failed!".into(),
        };
        assert_eq!(
            e.to_string(),
            "PVE rejected the API token (401 Authentication failed!): check pve.token_id and pve.token_secret"
        );
        assert_eq!(e.reason_label(), "unauthorized");
        let e = PveError::Api {
            status: 500,
            reason: "VM 100 not running".into(),
            path: "/nodes/pve1/qemu/100/status/shutdown".into(),
        };
        assert_eq!(
            e.to_string(),
            "PVE answered 500 VM 100 not running for /nodes/pve1/qemu/100/status/shutdown"
        );
        assert_eq!(e.reason_label(), "http");
        assert_eq!(e.status(), Some(500));
    }
}
