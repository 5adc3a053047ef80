//! The service's error answers: a status and the JSON body `{code, message, details}`
//! every client can read (see [`ErrorBody`]), with `Retry-After` where waiting helps.
//!
//! Store failures are turned into the closest HTTP answer here, once, so handlers
//! just use `?`. Internal details (the store's path) go to the log, not to clients.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::contract::BackendError;
use crate::wire::{ErrorBody, status};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`stale`, `rate_limited`).
    pub code: &'static str,
    /// For a person: what went wrong and what to do.
    pub message: String,
    /// Structured facts.
    pub details: Value,
    /// `Retry-After`, when waiting helps.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with no details.
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    /// Adds structured details.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Adds a `Retry-After`.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// 400: the request itself is malformed.
    #[must_use]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: well-formed, but not something the service can do.
    #[must_use]
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 412: the account is not at the revision the caller expected.
    #[must_use]
    pub fn stale(expected: u64, found: u64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            format!(
                "the account changed since revision {expected} (it is at {found}): read it again and plan again"
            ),
        )
        .with_details(json!({ "expected": expected, "found": found }))
    }

    /// 413: the body is larger than the service accepts.
    #[must_use]
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is larger than this service accepts ({limit} bytes); send smaller batches"
            ),
        )
        .with_details(json!({ "limit_bytes": limit }))
    }

    /// 500: something failed inside the service.
    #[must_use]
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }

    /// A query string axum could not read (`limit=abc`).
    #[must_use]
    pub fn from_query(rejection: &QueryRejection) -> Self {
        Self::bad_request(
            "invalid_query",
            format!("the query string is not valid: {}", rejection.body_text()),
        )
    }

    /// A JSON body axum could not read: too large (413), not JSON (415), malformed
    /// (400), or the wrong shape (422).
    #[must_use]
    pub fn from_json(rejection: &JsonRejection, max_body: usize) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::body_too_large(max_body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => Self::unprocessable(
                "invalid_body",
                format!(
                    "the body does not have the expected shape: {}",
                    rejection.body_text()
                ),
            ),
            _ => Self::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {}", rejection.body_text()),
            ),
        }
    }

    /// The closest HTTP answer to a store failure, by the status table the client
    /// shares ([`status::answer_of`]). Storage details are logged here and kept from
    /// the client (they name the service's files).
    #[must_use]
    pub fn from_backend(error: &BackendError) -> Self {
        let (code, name, details) = status::answer_of(error);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match error {
            BackendError::BatchTooLarge { size, limit } => format!(
                "a batch of {size} operations is more than this service takes in one call ({limit})"
            ),
            BackendError::Rejected { detail } | BackendError::InvalidState { detail } => {
                detail.clone()
            }
            BackendError::Busy { .. } => "the service's store is busy; try again".to_owned(),
            BackendError::Stale { expected, found } => format!(
                "the account changed since revision {expected} (it is at {found}): read it again and plan again"
            ),
            BackendError::AccountMismatch { .. } => error.to_string(),
            other => {
                tracing::error!(error = %other, "store failure");
                "the service's store failed; the service log says why. Nothing was half-written: each batch is one transaction".to_owned()
            }
        };
        let answer = Self::new(status, name, message).with_details(details);
        if matches!(error, BackendError::Busy { .. }) {
            answer.with_retry_after(status::BUSY_RETRY_AFTER)
        } else {
            answer
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        Self::from_backend(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(wait) = self.retry_after {
            // Retry-After counts whole seconds: round up, so nobody comes back early.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"accord\""),
            );
        }
        response
    }
}
