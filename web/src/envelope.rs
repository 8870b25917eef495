//! The JSON envelope every API answer is wrapped in, as the original tool had it:
//! `{"success": true, "data": …}` or `{"success": false, "error": "…"}`, with a status code
//! that says the same (400 bad input, 401 no or wrong token, 403 not allowed, 404 unknown,
//! 429 too many failed logins, 500/503 the source failed).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::source::SourceError;

/// A failed request: its status and a message for people (never a secret).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with `status`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400: the request is malformed; the message says how.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 429 with `Retry-After`.
    pub(crate) fn too_many(message: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }
}

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> ApiError {
        let status = match &e {
            SourceError::NotFound(_) => StatusCode::NOT_FOUND,
            SourceError::Invalid(_) => StatusCode::BAD_REQUEST,
            SourceError::Conflict(_) => StatusCode::CONFLICT,
            SourceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            SourceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

#[derive(Serialize)]
struct Failure<'a> {
    success: bool,
    error: &'a str,
}

#[derive(Serialize)]
struct Success<T> {
    success: bool,
    data: T,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Failure {
            success: false,
            error: &self.message,
        };
        let mut response = (self.status, json_body(&body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, json_type());
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// 200 with `data` in the envelope.
pub(crate) fn ok<T: Serialize>(data: T) -> Response {
    let body = json_body(&Success {
        success: true,
        data,
    });
    ([(header::CONTENT_TYPE, json_type())], body).into_response()
}

/// A JSON value as bytes; plain data structures always serialise.
pub(crate) fn json_body<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("API types serialise to JSON")
}

fn json_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}
