//! Who is calling: the tokens file and the bearer-token check.
//!
//! The tokens file has one token a line, `SCOPE TOKEN [NAME]`, SCOPE being `read` or
//! `write`; `#` starts a comment (at the start of a line or after a space). Only
//! SHA-256 digests of the tokens are kept in memory, and no message, log line or
//! `Debug` output ever contains a token: callers are known by their NAME (which is
//! what the audit log records).
//!
//! No token or an unknown one is 401; a `read` token asking for a write (any method
//! but GET and HEAD) is 403.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::App;
use super::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read the account, the audit log and the capabilities.
    Read,
    /// Everything: batches, the account, invitations, the lock.
    Write,
}

/// A known caller (a token from the file), by name.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's position in the file (rate limits are per token).
    pub id: usize,
    /// Its name (the audit log's "who").
    pub name: String,
    /// What it may do.
    pub scope: Scope,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.name, self.scope)
    }
}

/// The tokens the service accepts.
#[derive(Clone, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], Caller>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.by_digest.values().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        f.debug_struct("Tokens").field("names", &names).finish()
    }
}

/// A tokens file that cannot be used. Messages name lines, never tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file cannot be read.
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `SCOPE TOKEN [NAME]`.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No token at all: nobody could call the service.
    #[error(
        "{path} holds no token: add a line such as `write <a long random token> ci` (scope read or write, then the token, then a name)"
    )]
    Empty {
        /// The file.
        path: String,
    },
}

impl Tokens {
    /// Reads the tokens file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, a line is malformed, a token or name repeats, or there
    /// is no token.
    pub fn load(path: &Path) -> Result<Self, TokensError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses a tokens file's text (`shown` names it in messages).
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn parse(text: &str, shown: &str) -> Result<Self, TokensError> {
        let mut tokens = Self::default();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut lines_of: HashMap<[u8; 32], usize> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |message: String| TokensError::Line {
                path: shown.to_owned(),
                line,
                message,
            };
            let fields: Vec<&str> = strip_comment(raw).split_whitespace().collect();
            let (scope, token, name) = match fields.as_slice() {
                [] => continue,
                [scope, token] => (*scope, *token, None),
                [scope, token, name] => (*scope, *token, Some(*name)),
                _ => {
                    return Err(error(
                        "expected `SCOPE TOKEN [NAME]` (three fields at most; names have no spaces)"
                            .into(),
                    ));
                }
            };
            let scope = match scope {
                "read" => Scope::Read,
                "write" => Scope::Write,
                _ => {
                    return Err(error(format!(
                        "the scope is `{scope}`; use `read` or `write`"
                    )));
                }
            };
            let digest = digest(token);
            if let Some(first) = lines_of.insert(digest, line) {
                return Err(error(format!(
                    "the same token as line {first}: give every client its own token"
                )));
            }
            let name = name.map_or_else(|| format!("token-line-{line}"), str::to_owned);
            if let Some(first) = names.insert(name.clone(), line) {
                return Err(error(format!(
                    "the name `{name}` is already used on line {first}: names tell writers apart in the audit log"
                )));
            }
            tokens.by_digest.insert(
                digest,
                Caller {
                    id: line,
                    name,
                    scope,
                },
            );
        }
        if tokens.by_digest.is_empty() {
            return Err(TokensError::Empty {
                path: shown.to_owned(),
            });
        }
        Ok(tokens)
    }

    /// The caller holding `token`, if it is known.
    #[must_use]
    pub fn find(&self, token: &str) -> Option<&Caller> {
        self.by_digest.get(&digest(token))
    }

    /// How many tokens there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// The line without its comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (at, c) in line.char_indices() {
        if c == '#' && previous_blank {
            return &line[..at];
        }
        previous_blank = c.is_whitespace();
    }
    line
}

/// The permission bits of the file at `path` when users other than its owner may
/// read it (a tokens file holds secrets); `None` when only the owner can.
#[must_use]
pub fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Tokens are compared by digest: the map lookup leaks nothing useful about a token's
/// characters, and the tokens themselves are not kept.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What the request log shows about a request handled by an authenticated route: who
/// called, and the route template (`/v1/members/{email}`: no personal data in logs).
#[derive(Debug, Clone)]
pub struct RequestLabel {
    /// The caller's name.
    pub who: String,
    /// The matched route.
    pub route: String,
}

/// Where [`authenticate`] leaves the [`RequestLabel`] for the layers outside it
/// that answer without the inner response (the request timeout).
#[derive(Debug, Clone, Default)]
pub struct LabelSlot(pub std::sync::Arc<std::sync::Mutex<Option<RequestLabel>>>);

/// Whether a request changes something (anything but GET and HEAD).
#[must_use]
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// The bearer check; puts the [`Caller`] in the request's extensions.
pub async fn authenticate(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |m| m.as_str().to_owned(),
    );
    let Ok(sent) = bearer(&request) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the Authorization header holds characters other than visible ASCII: tokens are ASCII (check how ACCORD_TOKEN was copied)",
        )
        .into_response();
    };
    let caller = match sent.map(|token| app.tokens.find(token)) {
        None => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "no bearer token: send `Authorization: Bearer TOKEN` with a token from the service's tokens file (accord reads it from ACCORD_TOKEN)",
            )
            .into_response();
        }
        Some(None) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the bearer token is not one this service knows: check ACCORD_TOKEN against the service's tokens file",
            )
            .into_response();
        }
        Some(Some(caller)) => caller.clone(),
    };
    if caller.scope == Scope::Read && is_write(request.method()) {
        let mut response = ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the token `{}` can only read; changing the account needs a `write` token",
                caller.name
            ),
        )
        .into_response();
        response.extensions_mut().insert(RequestLabel {
            who: caller.name,
            route,
        });
        return response;
    }
    let label = RequestLabel {
        who: caller.name.clone(),
        route,
    };
    // A request cut by the timeout is answered by an outer layer, without this
    // response: it finds who called here.
    if let Some(slot) = request.extensions().get::<LabelSlot>() {
        *slot
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(label.clone());
    }
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(label);
    response
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(request: &Request) -> Result<Option<&str>, NotAscii> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    // A header with bytes outside visible ASCII is a token sent (in another
    // encoding), not a missing one.
    let value = value.to_str().map_err(|_| NotAscii)?;
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    Ok((scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim()))
}

/// The `Authorization` header holds bytes other than visible ASCII.
struct NotAscii;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scopes_names_and_comments() {
        let tokens = Tokens::parse(
            "# the CI runner\nwrite s3cret-ci ci   # trailing comment\n\nread s3cret-dash\nread with#hash reader\n",
            "tokens",
        )
        .unwrap();
        assert_eq!(tokens.len(), 3);
        let ci = tokens.find("s3cret-ci").unwrap();
        assert_eq!((ci.name.as_str(), ci.scope), ("ci", Scope::Write));
        let dash = tokens.find("s3cret-dash").unwrap();
        assert_eq!(
            (dash.name.as_str(), dash.scope),
            ("token-line-4", Scope::Read)
        );
        assert!(tokens.find("with#hash").is_some());
        assert!(tokens.find("nope").is_none());
    }

    #[test]
    fn refuses_bad_lines_without_echoing_tokens() {
        let cases = [
            ("admin s3cret x\n", 1, "the scope is `admin`"),
            ("write a b c d\n", 1, "expected `SCOPE TOKEN [NAME]`"),
            (
                "write s3cret a\nread s3cret b\n",
                2,
                "the same token as line 1",
            ),
            (
                "write one a\nread two a\n",
                2,
                "the name `a` is already used on line 1",
            ),
        ];
        for (text, line, expected) in cases {
            let error = Tokens::parse(text, "tokens").unwrap_err().to_string();
            assert!(error.starts_with(&format!("tokens:{line}: ")), "{error}");
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
        let empty = Tokens::parse("# nothing\n", "tokens").unwrap_err();
        assert!(matches!(empty, TokensError::Empty { .. }));
    }

    #[test]
    fn debug_output_shows_names_only() {
        let tokens = Tokens::parse("write s3cret-ci ci\n", "tokens").unwrap();
        let shown = format!("{tokens:?} {:?}", tokens.find("s3cret-ci").unwrap());
        assert!(shown.contains("ci") && !shown.contains("s3cret"), "{shown}");
    }
}
