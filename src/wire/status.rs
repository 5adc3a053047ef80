//! The one table between the account service's HTTP answers and [`BackendError`]s:
//! the service answers a store failure with [`answer_of`], the `http` backend reads
//! an answer back with [`error_of`]. Keeping both directions here, row beside row,
//! means a status and code the service sends is always one the client understands.

use std::time::Duration;

use serde_json::{Value, json};

use super::ErrorBody;
use crate::contract::BackendError;

/// How long a client should wait when the store is busy.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The status, stable code and details the service answers `error` with.
#[must_use]
pub fn answer_of(error: &BackendError) -> (u16, &'static str, Value) {
    match error {
        BackendError::Stale { expected, found } => (
            412,
            "stale",
            json!({ "expected": expected, "found": found }),
        ),
        BackendError::BatchTooLarge { size, limit } => (
            422,
            "batch_too_large",
            json!({ "size": size, "limit": limit }),
        ),
        BackendError::AccountMismatch { expected, found } => (
            409,
            "account_mismatch",
            json!({ "expected": expected, "found": found }),
        ),
        BackendError::Rejected { .. } | BackendError::InvalidState { .. } => {
            (422, "rejected", Value::Null)
        }
        BackendError::Busy { .. } => (503, "busy", Value::Null),
        BackendError::RateLimited { .. } => (429, "rate_limited", Value::Null),
        _ => (500, "internal", Value::Null),
    }
}

/// The error an answer with `status` (other than 401 and 403, which each client
/// phrases for its own credentials) and `body` stands for; `message` is the body's
/// message or text, `retry_after` the wait the answer asked for.
#[must_use]
pub fn error_of(
    status: u16,
    body: Option<&ErrorBody>,
    message: &str,
    retry_after: Option<Duration>,
) -> BackendError {
    let code = body.map_or("", |b| b.code.as_str());
    let details = body.map(|b| &b.details);
    let number = |name: &str| {
        details
            .and_then(|d| d.get(name))
            .and_then(Value::as_u64)
            .unwrap_or_default()
    };
    let text = |name: &str| {
        details
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match (status, code) {
        (412, _) => BackendError::Stale {
            expected: number("expected"),
            found: number("found"),
        },
        (422, "batch_too_large") => BackendError::BatchTooLarge {
            size: usize::try_from(number("size")).unwrap_or_default(),
            limit: usize::try_from(number("limit")).unwrap_or_default(),
        },
        (409, "account_mismatch") => BackendError::AccountMismatch {
            expected: text("expected"),
            found: text("found"),
        },
        (429, _) => BackendError::RateLimited { retry_after },
        (500..=599, _) => BackendError::Server {
            status,
            detail: message.to_owned(),
        },
        _ => BackendError::Rejected {
            detail: format!("{message} (HTTP {status})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error the service answers with reads back as the same kind of error.
    #[test]
    fn what_the_service_answers_the_client_reads_back() {
        let errors = [
            BackendError::Stale {
                expected: 3,
                found: 5,
            },
            BackendError::BatchTooLarge {
                size: 101,
                limit: 100,
            },
            BackendError::AccountMismatch {
                expected: "a".into(),
                found: "b".into(),
            },
            BackendError::Rejected {
                detail: "no".into(),
            },
            BackendError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        ];
        for error in errors {
            let (status, code, details) = answer_of(&error);
            let body = ErrorBody {
                code: code.to_owned(),
                message: error.to_string(),
                details,
            };
            let back = error_of(status, Some(&body), &body.message, error.retry_after());
            assert_eq!(back.kind(), error.kind(), "{error} -> {back}");
            assert!(!back.to_string().is_empty());
            if let (BackendError::Stale { .. }, BackendError::Stale { expected, found }) =
                (&error, &back)
            {
                assert_eq!((*expected, *found), (3, 5));
            }
        }
        let busy = error_of(503, None, "busy", None);
        assert!(busy.retryable());
    }
}
