//! The HTTP plumbing of the `http` backend: one pooled reqwest client (rustls, no
//! OpenSSL) with timeouts and the bearer token; every request goes through the call
//! policy ([`Caller`]: pacing at the service's declared budget, bounded retries for
//! what is safe to repeat), and every failure becomes a [`BackendError`] an account
//! administrator can act on, by the status table the service shares
//! ([`crate::wire::status`]).
//!
//! The token is held only here, sent only in the `Authorization` header, and never
//! appears in a message or in `Debug` output.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use std::sync::Arc;

use crate::backend::transport::{self, ClientSettings};
pub use crate::call::Repeat;
use crate::call::{Caller, Kind, Request};
use crate::contract::BackendError;
use crate::wire::{ErrorBody, FAMILY, IDEMPOTENCY_KEY, status};

/// How long to wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One request.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The path under the base URL (`/v1/members`).
    pub path: &'a str,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
    /// An idempotency key.
    pub key: Option<String>,
    /// Other headers.
    pub headers: Vec<(&'static str, String)>,
    /// Whether the client may repeat it.
    pub repeat: Repeat,
}

impl<'a> Call<'a> {
    /// A GET of `path` (safe to repeat).
    #[must_use]
    pub fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            key: None,
            headers: Vec::new(),
            repeat: Repeat::Safe,
        }
    }

    /// A write of `body` to `path`, sent once unless [`Self::keyed`].
    #[must_use]
    pub fn write(method: Method, path: &'a str, body: Vec<u8>) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Some(body),
            key: None,
            headers: Vec::new(),
            repeat: Repeat::Once,
        }
    }

    /// Adds an idempotency key; `repeat` says whether this client retries it itself.
    #[must_use]
    pub fn keyed(mut self, key: String, repeat: Repeat) -> Self {
        self.key = Some(key);
        self.repeat = repeat;
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn param(mut self, name: &'static str, value: String) -> Self {
        self.query.push((name, value));
        self
    }
}

/// A complete answer (any status).
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// The connection to one service.
pub struct Client {
    http: reqwest::Client,
    base: String,
    shown: String,
    caller: Arc<Caller>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the service at `base` (no trailing slash; `shown` is how messages
    /// name it), sending `token`.
    ///
    /// # Errors
    /// [`BackendError::Unauthorized`] for a token that cannot be sent in a header;
    /// [`BackendError::Internal`] when the TLS stack cannot be set up.
    pub fn new(
        base: &str,
        shown: &str,
        token: &str,
        caller: Arc<Caller>,
    ) -> Result<Self, BackendError> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            BackendError::Unauthorized {
                detail: "ACCORD_TOKEN holds characters that cannot be sent in a header: check ACCORD_TOKEN".into(),
            }
        })?;
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, bearer);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = transport::client(&ClientSettings {
            headers,
            connect_timeout: CONNECT_TIMEOUT,
            timeout: REQUEST_TIMEOUT,
        })?;
        Ok(Self {
            http,
            base: base.to_owned(),
            shown: shown.to_owned(),
            caller,
        })
    }

    /// The call policy its requests go through.
    #[must_use]
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The service's URL as messages show it.
    #[must_use]
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Sends `call` through the call policy: paced, and repeated on transient
    /// failures when it is safe to (see [`Call::repeat`]). Answers any complete HTTP
    /// answer that is not transient (the caller reads the status), or the
    /// transport's or the last transient failure's error.
    ///
    /// # Errors
    /// The service cannot be reached, did not answer, or kept failing.
    pub async fn send(&self, call: &Call<'_>) -> Result<Answer, BackendError> {
        let kind = if call.method == Method::GET {
            Kind::Read
        } else {
            Kind::Write
        };
        let request = Request {
            family: FAMILY,
            key: "",
            kind,
            repeat: call.repeat,
        };
        self.caller
            .call(&request, |attempt| async move {
                let started = std::time::Instant::now();
                let result = self.send_once(call).await;
                let status = result.as_ref().map_or(0, |a| a.status.as_u16());
                tracing::info!(
                    method = %call.method,
                    path = call.path,
                    status,
                    attempt,
                    ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    request_id = result
                        .as_ref()
                        .ok()
                        .and_then(|a| a.headers.get("x-request-id"))
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default(),
                    "service call"
                );
                match result {
                    Ok(answer) if is_transient(answer.status) => Err(self.error(&answer)),
                    other => other,
                }
            })
            .await
    }

    /// Sends `call` and reads a 2xx answer as JSON.
    ///
    /// # Errors
    /// As [`Self::send`], and the service's error for any other status.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, BackendError> {
        let answer = self.send(call).await?;
        if !answer.status.is_success() {
            return Err(self.error(&answer));
        }
        self.decode(&answer)
    }

    /// Reads an answer's body as JSON.
    ///
    /// # Errors
    /// [`BackendError::Rejected`] when the body is not what the API describes.
    pub fn decode<T: DeserializeOwned>(&self, answer: &Answer) -> Result<T, BackendError> {
        serde_json::from_slice(&answer.body).map_err(|e| BackendError::Rejected {
            detail: format!(
                "the service at {} answered something accord cannot read ({e}); is it an accord service of the same version?",
                self.shown
            ),
        })
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<Answer, BackendError> {
        let mut request = self
            .http
            .request(call.method.clone(), format!("{}{}", self.base, call.path));
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(key) = &call.key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        Ok(Answer {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    /// A transport failure, phrased for the person who has to fix it.
    fn transport(&self, error: &reqwest::Error) -> BackendError {
        let check = format!("is `accord serve` running at {}?", self.shown);
        transport::failure(&self.shown, error, REQUEST_TIMEOUT, &check)
    }

    /// The error a non-2xx answer stands for, by the status table the service
    /// shares ([`status::error_of`]), with what to do added for 401 and 403.
    #[must_use]
    pub fn error(&self, answer: &Answer) -> BackendError {
        let body: Option<ErrorBody> = serde_json::from_slice(&answer.body).ok();
        let text = || {
            String::from_utf8_lossy(&answer.body)
                .chars()
                .take(200)
                .collect::<String>()
        };
        let message = body.as_ref().map_or_else(text, |b| b.message.clone());
        match answer.status {
            // The service's own message may name the variable already: say it once.
            StatusCode::UNAUTHORIZED if message.contains("ACCORD_TOKEN") => {
                BackendError::Unauthorized {
                    detail: format!(
                        "the service at {} did not accept the token: {message}",
                        self.shown
                    ),
                }
            }
            StatusCode::UNAUTHORIZED => BackendError::Unauthorized {
                detail: format!(
                    "the service at {} did not accept the token: check ACCORD_TOKEN ({message})",
                    self.shown
                ),
            },
            StatusCode::FORBIDDEN => BackendError::Unauthorized {
                detail: "this token can only read: set ACCORD_TOKEN to a `write` token to change the account".into(),
            },
            other => status::error_of(other.as_u16(), body.as_ref(), &message, retry_after(answer)),
        }
    }
}

/// Statuses worth trying again: 429, 5xx (and 408).
fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// How long the service asked to wait: the exact `details.retry_after_ms` when
/// given, else `Retry-After` (whole seconds).
fn retry_after(answer: &Answer) -> Option<Duration> {
    let exact = serde_json::from_slice::<ErrorBody>(&answer.body)
        .ok()
        .and_then(|b| {
            b.details
                .get("retry_after_ms")
                .and_then(serde_json::Value::as_u64)
        })
        .map(Duration::from_millis);
    exact.or_else(|| {
        answer
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let caller = Arc::new(Caller::new(&[], crate::call::CallOptions::default()));
        Client::new("http://127.0.0.1:9", "http://127.0.0.1:9", "s3cret", caller).unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_become_errors_a_person_can_act_on() {
        let c = client();
        let e = c.error(&answer(
            401,
            r#"{"code":"unauthorized","message":"no","details":null}"#,
        ));
        assert!(e.to_string().contains("check ACCORD_TOKEN"), "{e}");
        let e = c.error(&answer(
            403,
            r#"{"code":"forbidden","message":"no","details":null}"#,
        ));
        assert!(e.to_string().contains("this token can only read"), "{e}");
        let e = c.error(&answer(
            412,
            r#"{"code":"stale","message":"m","details":{"expected":3,"found":5}}"#,
        ));
        assert!(matches!(
            e,
            BackendError::Stale {
                expected: 3,
                found: 5
            }
        ));
        assert!(e.to_string().contains("the account changed since"), "{e}");
        let e = c.error(&answer(
            429,
            r#"{"code":"rate_limited","message":"m","details":{"retry_after_ms":250}}"#,
        ));
        assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));
        let e = c.error(&answer(503, "upstream down"));
        assert!(
            e.retryable() && e.to_string().contains("upstream down"),
            "{e}"
        );
        let e = c.error(&answer(
            409,
            r#"{"code":"account_mismatch","message":"m","details":{"expected":"a","found":"b"}}"#,
        ));
        assert!(matches!(e, BackendError::AccountMismatch { .. }));
        assert!(!c.error(&answer(422, "{}")).retryable());
    }

    #[test]
    fn the_token_is_never_shown() {
        let c = client();
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn a_refused_connection_asks_whether_the_service_runs() {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let mut call = Call::get("/v1/health");
        call.repeat = Repeat::Never;
        let e = client().send(&call).await.unwrap_err();
        assert!(matches!(e, BackendError::Unreachable { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("is `accord serve` running at http://127.0.0.1:9?"),
            "{e}"
        );
    }
}
