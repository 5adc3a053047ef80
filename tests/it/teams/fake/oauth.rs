//! The OAuth endpoints: the authorization endpoint (the browser's part, answered at
//! once for the configured [`Login`]) and the token endpoint (client credentials,
//! authorization code with PKCE S256, refresh with single-use rotation).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    Access, CLIENT_ID, CLIENT_SECRET, Code, FakeState, Login, SCOPES, Shared, TOKEN_PATH, Tokens,
    shared,
};

type Params = BTreeMap<String, String>;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// base64url without padding (PKCE S256).
fn base64url(input: &[u8]) -> String {
    shared::base64(input)
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_owned()
}

/// PKCE S256: base64url(sha256(verifier)).
pub fn challenge_of(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// Whether `uri` is a registered callback: one of `redirect_uris`, or when none is
/// registered any loopback `http` URL with a port (the tests' listeners).
fn registered(s: &FakeState, uri: &str) -> bool {
    if !s.redirect_uris.is_empty() {
        return s.redirect_uris.iter().any(|r| r == uri);
    }
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost"))
            && u.port().is_some()
    })
}

/// The requested scopes, if every one is a Team Admin scope and there is one at least.
fn scopes_of(scope: &str) -> Option<BTreeSet<String>> {
    let asked: BTreeSet<String> = scope.split_whitespace().map(str::to_owned).collect();
    (!asked.is_empty() && asked.iter().all(|s| SCOPES.contains(&s.as_str()))).then_some(asked)
}

fn redirect(to: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = url::Url::parse(to).expect("a registered URL");
    url.query_pairs_mut().extend_pairs(pairs);
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// `GET authorize`: checks the request and answers 302 to `redirect_uri` with a code
/// (or `error=access_denied` when [`Login::Deny`]); a wrong client or callback is a
/// 400 with no redirect.
pub async fn authorize(State(st): State<Shared>, Query(q): Query<Params>) -> Response {
    let mut s = st.lock().unwrap();
    s.last_authorize = Some(q.clone());
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    let Some(to) = q.get("redirect_uri").filter(|r| registered(&s, r)).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri does not match the app's callback URL",
        );
    };
    let state = q.get("state").cloned().unwrap_or_default();
    let fail = |error: &str, description: &str| {
        redirect(
            &to,
            &[
                ("error", error),
                ("error_description", description),
                ("state", state.as_str()),
            ],
        )
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(scopes) = q.get("scope").and_then(|s| scopes_of(s)) else {
        return fail("invalid_scope", "scope must name Team Admin scopes");
    };
    let state_ok = !state.is_empty()
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b',' | b'.' | b'_' | b'-'));
    if !state_ok {
        return fail("invalid_request", "state is required (A-Z a-z 0-9 , . _ -)");
    }
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    let challenge_ok = (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !challenge_ok || q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return fail(
            "invalid_request",
            "code_challenge with code_challenge_method=S256 is required",
        );
    }
    let Login::As(user) = s.login.clone() else {
        return fail("access_denied", "the user denied access");
    };
    let code = s.id("code");
    let expires = s.now() + s.code_lifetime;
    s.codes.insert(
        code.clone(),
        Code {
            user,
            scopes,
            redirect_uri: to.clone(),
            challenge,
            expires,
            used: false,
        },
    );
    redirect(&to, &[("code", code.as_str()), ("state", state.as_str())])
}

/// `POST token`: HTTP Basic client authentication, a form body.
pub async fn token(State(st): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let expected = format!(
        "Basic {}",
        shared::base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let form_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_body {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let form: Params = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let upstream = st.lock().unwrap().upstream.clone();
    if let (Some(to), "client_credentials") = (upstream, grant.as_str()) {
        // The ACC fake's two-legged tokens, from the one token endpoint.
        let uri = axum::http::Uri::from_static(TOKEN_PATH);
        return super::forward(&to, axum::http::Method::POST, &uri, &headers, body.into()).await;
    }
    let mut s = st.lock().unwrap();
    let answer = match grant.as_str() {
        "client_credentials" => Ok(two_legged(&mut s)),
        "authorization_code" => by_code(&mut s, &form),
        "refresh_token" => by_refresh(&mut s, &form),
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        )),
    };
    match answer {
        Ok(answer) => {
            *s.grants.entry(grant).or_default() += 1;
            answer
        }
        Err(refused) => refused,
    }
}

fn two_legged(s: &mut FakeState) -> Response {
    let access = s.id("at2");
    let expires = s.now() + s.access_lifetime;
    s.tokens.insert(
        access.clone(),
        Access {
            user: None,
            scopes: BTreeSet::new(),
            expires,
        },
    );
    axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": s.access_lifetime.as_secs(),
    }))
    .into_response()
}

fn three_legged(s: &FakeState, tokens: &Tokens) -> Response {
    axum::Json(json!({
        "access_token": tokens.access,
        "token_type": "Bearer",
        "expires_in": s.access_lifetime.as_secs(),
        "refresh_token": tokens.refresh,
    }))
    .into_response()
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn by_code(s: &mut FakeState, form: &Params) -> Result<Response, Response> {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        form.get("code"),
        form.get("redirect_uri"),
        form.get("code_verifier"),
    ) else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        ));
    };
    let now = s.now();
    let Some(found) = s.codes.get_mut(code) else {
        return Err(invalid_grant("unknown authorization code"));
    };
    if found.used || found.expires <= now {
        return Err(invalid_grant(
            "the authorization code was used or has expired",
        ));
    }
    // A code is spent by any exchange, a failed one too.
    found.used = true;
    if found.redirect_uri != *redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization",
        ));
    }
    if !(43..=128).contains(&verifier.len()) || challenge_of(verifier) != found.challenge {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let (user, scopes) = (found.user.clone(), found.scopes.clone());
    let tokens = s.issue_pair(&user, &scopes);
    Ok(three_legged(s, &tokens))
}

fn by_refresh(s: &mut FakeState, form: &Params) -> Result<Response, Response> {
    let Some(given) = form.get("refresh_token") else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let now = s.now();
    let Some(found) = s.refresh_tokens.get_mut(given) else {
        return Err(invalid_grant("unknown refresh token"));
    };
    if found.used {
        return Err(invalid_grant("the refresh token was used already"));
    }
    if found.expires <= now {
        return Err(invalid_grant("the refresh token has expired"));
    }
    let scopes = match form.get("scope") {
        None => found.scopes.clone(),
        Some(asked) => {
            let asked: BTreeSet<String> = asked.split_whitespace().map(str::to_owned).collect();
            if !asked.is_subset(&found.scopes) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a refresh may only narrow the scopes",
                ));
            }
            asked
        }
    };
    found.used = true;
    let user = found.user.clone();
    let tokens = s.issue_pair(&user, &scopes);
    Ok(three_legged(s, &tokens))
}
