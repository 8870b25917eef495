//! Who is calling: an API token's holder, or (with no tokens configured) a loopback client.
//!
//! A token arrives as `Authorization: Bearer T` or `X-API-Token: T`; it is hashed with
//! SHA-256 and the hash compared with every configured hash in constant time, so neither the
//! comparison's duration nor the configuration reveals a token. Wrong tokens are logged with
//! the client's address and never the token, and throttled per address (`ratelimit`).

use std::net::IpAddr;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::envelope::ApiError;
use crate::ratelimit::FailedLogins;
use crate::settings::{Role, TokenSettings};

/// The caller of an API route, put in the request's extensions for handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The token's name, or `local` for a loopback client without tokens configured.
    pub(crate) name: String,
    /// What the caller may do.
    pub(crate) role: Role,
}

struct Token {
    name: String,
    digest: [u8; 32],
    role: Role,
}

/// The configured tokens and the failed-login counts.
pub(crate) struct Access {
    tokens: Vec<Token>,
    failed: FailedLogins,
}

impl Access {
    /// Access by `tokens` (validated settings: every hash parses).
    pub(crate) fn new(tokens: &[TokenSettings]) -> Access {
        let tokens = tokens
            .iter()
            .filter_map(|t| {
                Some(Token {
                    name: t.name.clone(),
                    digest: t.digest()?,
                    role: t.role,
                })
            })
            .collect();
        Access {
            tokens,
            failed: FailedLogins::default(),
        }
    }

    /// Without tokens only loopback clients are answered at all.
    pub(crate) fn loopback_only(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether `peer` may be answered at all.
    pub(crate) fn admits(&self, peer: IpAddr) -> Result<(), ApiError> {
        if self.loopback_only() && !is_loopback(peer) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no API tokens are configured (web.tokens), so only loopback clients are \
                 answered; add a token to use the API from other hosts",
            ));
        }
        Ok(())
    }

    /// The caller of a request from `peer` with `headers`, if it may use a route needing `role`.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        role: Role,
        now: Instant,
    ) -> Result<Caller, ApiError> {
        let caller = self.authenticate(headers, peer, now)?;
        if caller.role < role {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the token {:?} is a {} token; this needs an operator token",
                    caller.name,
                    role_name(caller.role)
                ),
            ));
        }
        Ok(caller)
    }

    fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        now: Instant,
    ) -> Result<Caller, ApiError> {
        if self.loopback_only() {
            self.admits(peer)?;
            return Ok(Caller {
                name: "local".into(),
                role: Role::Operator,
            });
        }
        if let Err(wait) = self.failed.check(peer, now) {
            return Err(ApiError::too_many(
                format!("too many wrong API tokens from this address; try again in {wait} s"),
                wait,
            ));
        }
        let presented = presented_token(headers)?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for token in &self.tokens {
            if constant_time_eq(&digest, &token.digest) {
                found = Some(token);
            }
        }
        match found {
            Some(token) => Ok(Caller {
                name: token.name.clone(),
                role: token.role,
            }),
            None => {
                self.failed.record(peer, now);
                tracing::warn!(%peer, "web: rejected a wrong API token");
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the API token is not valid",
                ))
            }
        }
    }
}

/// The token in `Authorization: Bearer T` or `X-API-Token: T`.
fn presented_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "an API token is needed: send `Authorization: Bearer <token>` or \
             `X-API-Token: <token>`",
        )
    };
    if let Some(value) = headers.get("x-api-token") {
        let token = value.to_str().map_err(|_| missing())?.trim();
        return if token.is_empty() {
            Err(missing())
        } else {
            Ok(token)
        };
    }
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(missing());
    };
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

/// Equal digests, compared without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Loopback, including IPv4 loopback mapped into IPv6.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `viewer` or `operator`.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_equal_only_when_every_byte_is() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!constant_time_eq(&a, &b));
    }

    #[test]
    fn mapped_ipv4_loopback_counts_as_loopback() {
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(!is_loopback("192.0.2.1".parse().unwrap()));
    }
}
