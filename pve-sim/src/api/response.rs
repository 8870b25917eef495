//! Turning handler results into what PVE puts on the wire.
//!
//! Success: `200 OK` with `{"data": ...}`. Errors: the message's first line as the HTTP reason
//! phrase, a `{"data":null}` body with `errors` for parameter problems and, from PVE 8.4 on,
//! `message` with the full text and a trailing newline; 401 and 595 have empty bodies. Every
//! response with status ≥ 400 closes the connection, as `pveproxy` does.

use serde_json::{json, Value};

use super::Data;
use crate::error::ApiError;

/// A response ready for the HTTP layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireResponse {
    /// HTTP status.
    pub status: u16,
    /// Reason phrase; `None` = the canonical one.
    pub reason: Option<String>,
    /// Body bytes (uncompressed).
    pub body: Vec<u8>,
    /// Whether the body is JSON (else empty).
    pub json: bool,
}

impl WireResponse {
    /// `200` with the envelope around `data`.
    pub fn ok(data: &Data) -> WireResponse {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(b"{\"data\":");
        match data {
            Data::Value(v) => serde_json::to_writer(&mut body, v).expect("JSON values serialise"),
            Data::Serialized(s) => body.extend_from_slice(s.as_bytes()),
        }
        body.push(b'}');
        WireResponse {
            status: 200,
            reason: None,
            body,
            json: true,
        }
    }

    /// The error as PVE sends it; `message_field` adds `message` (PVE ≥ 8.4).
    pub fn error(err: &ApiError, message_field: bool) -> WireResponse {
        let first_line = err.reason.lines().next().unwrap_or("").to_string();
        if err.empty_body {
            return WireResponse {
                status: err.status,
                reason: Some(first_line),
                body: Vec::new(),
                json: false,
            };
        }
        let mut body = serde_json::Map::new();
        body.insert("data".to_string(), Value::Null);
        if let Some(errors) = &err.errors {
            body.insert("errors".to_string(), json!(errors));
        }
        if message_field {
            let mut message = err.reason.clone();
            if !message.ends_with('\n') {
                message.push('\n');
            }
            body.insert("message".to_string(), Value::from(message));
        }
        WireResponse {
            status: err.status,
            reason: Some(first_line),
            body: serde_json::to_vec(&Value::Object(body)).expect("JSON values serialise"),
            json: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamErrors;

    #[test]
    fn parameter_errors_carry_errors_and_message() {
        let err = ApiError::params(ParamErrors::from([(
            "timeframe".to_string(),
            "bad".to_string(),
        )]));
        let r = WireResponse::error(&err, true);
        assert_eq!(r.status, 400);
        assert_eq!(r.reason.as_deref(), Some("Parameter verification failed."));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            json!({"data": null, "errors": {"timeframe": "bad"}, "message": "Parameter verification failed.\n"})
        );
        let old: Value = serde_json::from_slice(&WireResponse::error(&err, false).body).unwrap();
        assert!(old.get("message").is_none());
    }

    #[test]
    fn unauthorized_has_an_empty_body() {
        let r = WireResponse::error(&ApiError::unauthorized("No ticket"), true);
        assert_eq!((r.status, r.body.len()), (401, 0));
        assert_eq!(r.reason.as_deref(), Some("No ticket"));
    }
}
