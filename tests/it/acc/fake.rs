//! A stateful fake of the vendor's account-admin API, built from the vendor's
//! OpenAPI description (`../shared/aps/accountadmin.openapi.yaml`) and fact sheet.
//!
//! It rejects what the real API rejects (unknown field names, more than 50 items per
//! `hq` import or 200 per project import, page sizes over the maximum, a
//! `construction/admin` write without `User-Id`, a missing or wrong `Region`, an
//! expired or unknown token, a token without `account:write` on a write, an app that
//! is not a custom integration, a company without a trade, a second project of the
//! same name, a write to a project still being set up) and behaves as the real one
//! does where accord must cope: partial import failures inside a 201, 429 with
//! `Retry-After`, new projects that are `pending` and unlisted for a while, project
//! imports that show only after a delay, a project admin made administrator of
//! every product, a deactivated user kept on their projects, PATCH answers with only
//! the changed fields, deleted project users hidden from lists, new users
//! `not_invited`.
//!
//! Faults, on any request (the token endpoint's too): targeted ones ([`Fault`], once
//! each, in order) and a seeded fraction of all requests ([`FakeState::random`]):
//! 500, 503, 429 or a dropped connection, before the request is carried out or (but
//! 429) after it (a write committed, its answer lost). Every request received is
//! counted ([`FakeState::requests`]), faulted or not.

// The `Err` of the handlers' helpers is the HTTP answer itself, built once for a
// rejected call: boxing it would only add noise to a test fake.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// The account id the API knows.
pub const ACCOUNT: &str = "1234abcd";
/// The hub id: the account id with the `b.` prefix (what the vendor's UI shows).
pub const HUB: &str = "b.1234abcd";
pub const REGION: &str = "EMEA";
pub const CLIENT_ID: &str = "app-id";
pub const CLIENT_SECRET: &str = "app-s3cret-value";
pub const ADMIN_ID: &str = "u-admin";
pub const ADMIN_EMAIL: &str = "it-admin@acme.example";

/// A failure the fake answers instead of (or after) carrying a request out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 500.
    ServerError,
    /// 503.
    Unavailable,
    /// 429 with `Retry-After: 1` (only before: a 429 is never carried out).
    TooMany,
    /// The connection closes without a complete answer.
    Drop,
}

/// When a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTime {
    /// Nothing was done.
    Before,
    /// The request was carried out (a write committed); its answer is lost.
    After,
}

/// A targeted fault: the next request of `label` gets it, once.
#[derive(Debug, Clone)]
pub struct Fault {
    pub label: String,
    pub kind: FaultKind,
    pub time: FaultTime,
}

impl Fault {
    pub fn new(label: &str, kind: FaultKind, time: FaultTime) -> Self {
        Self {
            label: label.to_owned(),
            kind,
            time,
        }
    }
}

/// A seeded fraction of all requests fail.
#[derive(Debug)]
pub struct RandomFaults {
    pub fraction: f64,
    pub rng: fastrand::Rng,
    /// Faults injected so far, by label.
    pub injected: BTreeMap<String, u64>,
}

/// Everything the fake holds; tests read and steer it through [`Fake::state`].
#[derive(Debug)]
pub struct FakeState {
    pub companies: Vec<Value>,
    pub users: Vec<Value>,
    pub projects: Vec<Value>,
    /// Project users: each carries `projectId`, `deleted` and `visibleAt` besides the
    /// API's fields (stripped from answers).
    pub project_users: Vec<(Value, Instant)>,
    /// Valid tokens, with the scopes they carry.
    pub tokens: BTreeMap<String, String>,
    pub token_requests: u64,
    /// `expires_in` of the tokens issued, in seconds.
    pub token_lifetime: u64,
    /// The scopes the app may have: a token carries those it asked for among them.
    pub app_scopes: String,
    /// Whether the app is a custom integration of the account (else every API call
    /// is 403).
    pub integrated: bool,
    /// Every request received (the token endpoint's included, faults included).
    pub requests: u64,
    /// Requests received, by label (`POST token` for the token endpoint).
    pub received: BTreeMap<String, u64>,
    /// Targeted faults, each used once, the first matching a request's label first.
    pub faults: Vec<Fault>,
    /// A fraction of every request fails.
    pub random: Option<RandomFaults>,
    /// How long a new project is `pending` (unlisted, taking no writes).
    pub project_delay: Duration,
    /// When each project is set up.
    pub project_ready: BTreeMap<String, Instant>,
    /// Writes refused because the project was still being set up.
    pub not_ready: u64,
    /// How often each (project id, email) was carried by a project import.
    pub row_imports: BTreeMap<(String, String), u64>,
    /// Calls accepted (authenticated, not throttled, well addressed), by label.
    pub calls: BTreeMap<String, u64>,
    /// Calls turned away (401, 429, wrong region or account, no `User-Id`), by label.
    pub turned_away: BTreeMap<String, u64>,
    /// All API calls so far (token calls excluded).
    pub api_calls: u64,
    /// When set, every token becomes invalid after this many API calls in all.
    pub expire_tokens_at_call: Option<u64>,
    /// The next N API calls answer 429 with `Retry-After: 1`.
    pub throttle: u64,
    /// Emails a user import fails for (partial success).
    pub reject_emails: BTreeSet<String>,
    /// How long a project import takes to show in the project's list.
    pub import_delay: Duration,
    next_id: u64,
}

impl FakeState {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    /// Calls of `label` carried out (`POST users/import`).
    pub fn count(&self, label: &str) -> u64 {
        self.calls.get(label).copied().unwrap_or_default()
    }

    /// Requests of `label` received, faulted or turned away or not.
    pub fn received(&self, label: &str) -> u64 {
        self.received.get(label).copied().unwrap_or_default()
    }

    /// Fails `fraction` of all requests from now on, drawing from `seed`.
    pub fn fail_randomly(&mut self, fraction: f64, seed: u64) {
        self.random = Some(RandomFaults {
            fraction,
            rng: fastrand::Rng::with_seed(seed),
            injected: BTreeMap::new(),
        });
    }

    /// Faults injected at random so far.
    pub fn injected(&self) -> u64 {
        self.random
            .as_ref()
            .map_or(0, |r| r.injected.values().sum())
    }

    /// Adds the user `email` to the account as an active member who signed in.
    pub fn add_active_user(&mut self, email: &str) -> String {
        let id = self.id("u");
        self.users.push(json!({
            "id": id, "account_id": ACCOUNT, "email": email, "role": "account_user",
            "status": "active", "first_name": null, "last_name": null, "company_id": null,
            "last_sign_in": "2026-01-02T00:00:00Z"
        }));
        id
    }

    /// Adds a project, set up, with `members` (email, products as `key=access`).
    pub fn add_project(&mut self, name: &str, members: &[(&str, &[(&str, &str)])]) -> String {
        let id = self.id("p");
        self.projects.push(
            json!({"id": id, "name": name, "type": "Office", "status": "active", "accountId": ACCOUNT}),
        );
        for (email, products) in members {
            let user = self.id("pu");
            let products: Vec<Value> = products
                .iter()
                .map(|(k, a)| json!({"key": k, "access": a}))
                .collect();
            self.project_users.push((
                json!({"id": user, "email": email, "projectId": id, "status": "active", "products": products}),
                Instant::now(),
            ));
        }
        id
    }

    /// Whether the project `id` is set up (listed, taking writes).
    fn ready(&self, id: &str) -> bool {
        self.project_ready
            .get(id)
            .is_none_or(|at| *at <= Instant::now())
    }

    /// The fault for the next request of `label`, if it gets one.
    fn draw(&mut self, label: &str) -> Option<(FaultKind, FaultTime)> {
        draw(&mut self.faults, self.random.as_mut(), label)
    }
}

/// The fault for the next request of `label`, if it gets one: the first targeted
/// fault of that label (used up), else a draw of `random` (shared with the Team Admin
/// fake, `teams/fake.rs`).
pub fn draw(
    faults: &mut Vec<Fault>,
    random: Option<&mut RandomFaults>,
    label: &str,
) -> Option<(FaultKind, FaultTime)> {
    if let Some(at) = faults.iter().position(|f| f.label == label) {
        let fault = faults.remove(at);
        return Some((fault.kind, fault.time));
    }
    let random = random?;
    if random.rng.f64() >= random.fraction {
        return None;
    }
    let time = if random.rng.bool() {
        FaultTime::Before
    } else {
        FaultTime::After
    };
    let kinds: &[FaultKind] = match time {
        FaultTime::Before => &[
            FaultKind::ServerError,
            FaultKind::Unavailable,
            FaultKind::TooMany,
            FaultKind::Drop,
        ],
        FaultTime::After => &[
            FaultKind::ServerError,
            FaultKind::Unavailable,
            FaultKind::Drop,
        ],
    };
    let kind = kinds[random.rng.usize(..kinds.len())];
    *random.injected.entry(label.to_owned()).or_default() += 1;
    Some((kind, time))
}

pub struct Fake {
    pub url: String,
    pub state: Arc<Mutex<FakeState>>,
    /// Stops the server when the fake is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Fake {
    /// Starts a fake whose account holds its admin (the `User-Id`), on a runtime of its own.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            companies: Vec::new(),
            users: vec![json!({
                "id": ADMIN_ID, "account_id": ACCOUNT, "email": ADMIN_EMAIL, "role": "account_admin",
                "status": "active", "first_name": "IT", "last_name": "Admin", "company_id": null,
                "last_sign_in": "2026-01-01T00:00:00Z"
            })],
            projects: Vec::new(),
            project_users: Vec::new(),
            tokens: BTreeMap::new(),
            token_requests: 0,
            token_lifetime: 3599,
            app_scopes: "account:read account:write".to_owned(),
            integrated: true,
            requests: 0,
            received: BTreeMap::new(),
            faults: Vec::new(),
            random: None,
            project_delay: Duration::from_millis(300),
            project_ready: BTreeMap::new(),
            not_ready: 0,
            row_imports: BTreeMap::new(),
            calls: BTreeMap::new(),
            turned_away: BTreeMap::new(),
            api_calls: 0,
            expire_tokens_at_call: None,
            throttle: 0,
            reject_emails: BTreeSet::new(),
            import_delay: Duration::from_millis(300),
            next_id: 0,
        }));
        let (url, stop) = serve(router(Arc::clone(&state)));
        Self {
            url,
            state,
            _stop: stop,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }
}

/// Serves `app` on `127.0.0.1:0` from a thread and runtime of its own (so tests may
/// be sync or async): its base URL, and what stops it when dropped (shared with the
/// Team Admin fake).
pub fn serve(app: Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            url_tx
                .send(format!("http://{}", listener.local_addr().unwrap()))
                .unwrap();
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await;
        });
    });
    (url_rx.recv().unwrap(), stop_tx)
}

type Shared = Arc<Mutex<FakeState>>;

fn router(state: Shared) -> Router {
    Router::new()
        .route("/authentication/v2/token", post(token))
        .route(
            "/construction/admin/v1/projects/{project}",
            get(get_project),
        )
        .route("/hq/v1/accounts/{account}/companies", get(list_companies))
        .route(
            "/hq/v1/accounts/{account}/companies/import",
            post(import_companies),
        )
        .route(
            "/hq/v1/accounts/{account}/companies/{id}",
            patch(patch_company),
        )
        .route("/hq/v1/accounts/{account}/users", get(list_users))
        .route("/hq/v1/accounts/{account}/users/import", post(import_users))
        .route("/hq/v1/accounts/{account}/users/{id}", patch(patch_user))
        .route(
            "/construction/admin/v1/accounts/{account}/projects",
            get(list_projects).post(create_project),
        )
        .route(
            "/construction/admin/v1/projects/{project}/users",
            get(list_project_users),
        )
        .route(
            "/construction/admin/v2/projects/{project}/users:import",
            post(import_project_users),
        )
        .route(
            "/construction/admin/v1/projects/{project}/users/{user}",
            patch(patch_project_user).delete(delete_project_user),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            inject,
        ))
        .with_state(state)
}

/// The label of a request: its method and the route's last words
/// (`POST users/import`, `GET projects/{id}/users`, `POST token`).
fn label(method: &Method, route: &str) -> String {
    const ROUTES: [(&str, &str); 12] = [
        ("/authentication/v2/token", "token"),
        ("/hq/v1/accounts/{account}/companies", "companies"),
        (
            "/hq/v1/accounts/{account}/companies/import",
            "companies/import",
        ),
        ("/hq/v1/accounts/{account}/companies/{id}", "companies/{id}"),
        ("/hq/v1/accounts/{account}/users", "users"),
        ("/hq/v1/accounts/{account}/users/import", "users/import"),
        ("/hq/v1/accounts/{account}/users/{id}", "users/{id}"),
        (
            "/construction/admin/v1/accounts/{account}/projects",
            "projects",
        ),
        ("/construction/admin/v1/projects/{project}", "projects/{id}"),
        (
            "/construction/admin/v1/projects/{project}/users",
            "projects/{id}/users",
        ),
        (
            "/construction/admin/v2/projects/{project}/users:import",
            "projects/{id}/users:import",
        ),
        (
            "/construction/admin/v1/projects/{project}/users/{user}",
            "projects/{id}/users/{id}",
        ),
    ];
    let short = ROUTES
        .iter()
        .find(|(r, _)| *r == route)
        .map_or(route, |(_, s)| *s);
    format!("{method} {short}")
}

/// Counts every request and answers the fault drawn for it, before or after the
/// handler runs.
async fn inject(
    State(st): State<Shared>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let label = label(request.method(), route.as_str());
    let fault = {
        let mut s = st.lock().unwrap();
        s.requests += 1;
        *s.received.entry(label.clone()).or_default() += 1;
        s.draw(&label)
    };
    match fault {
        None => next.run(request).await,
        Some((kind, FaultTime::Before)) => failure(kind),
        Some((kind, FaultTime::After)) => {
            drop(next.run(request).await);
            failure(kind)
        }
    }
}

/// The answer of an injected fault (shared with the Team Admin fake).
pub fn failure(kind: FaultKind) -> Response {
    match kind {
        FaultKind::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "injected fault"),
        FaultKind::Unavailable => error(StatusCode::SERVICE_UNAVAILABLE, "injected fault"),
        FaultKind::TooMany => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "Too Many Requests",
        )
            .into_response(),
        FaultKind::Drop => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "connection dropped by the fake",
                ))
            });
            Response::new(Body::from_stream(broken))
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.replace('+', " ").replace("%3A", ":").replace("%20", " "))
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let expected = format!(
        "Basic {}",
        base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"developerMessage": "The client_id specified does not have access to the api product", "errorCode": "AUTH-001"})),
        )
            .into_response();
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope = form_value(&body, "scope").unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded")
        || form_value(&body, "grant_type").as_deref() != Some("client_credentials")
        || !scope.split(' ').any(|s| s == "account:write")
        || !scope.split(' ').any(|s| s == "account:read")
    {
        return error(StatusCode::BAD_REQUEST, "invalid token request");
    }
    let mut s = state.lock().unwrap();
    s.token_requests += 1;
    let token = format!("tok-{}", s.token_requests);
    let granted: Vec<&str> = scope
        .split(' ')
        .filter(|asked| s.app_scopes.split(' ').any(|allowed| allowed == *asked))
        .collect();
    let granted = granted.join(" ");
    s.tokens.insert(token.clone(), granted);
    axum::Json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": s.token_lifetime}),
    )
    .into_response()
}

/// Counts the call and checks what every call needs; `write` adds `User-Id`.
fn guard(
    state: &Shared,
    headers: &HeaderMap,
    label: &str,
    account: Option<&str>,
    admin_write: bool,
) -> Result<(), Response> {
    let mut s = state.lock().unwrap();
    s.api_calls += 1;
    let write = !label.starts_with("GET ");
    let answer = check(&mut s, headers, account, write, admin_write);
    let tally = if answer.is_ok() {
        &mut s.calls
    } else {
        &mut s.turned_away
    };
    *tally.entry(label.to_owned()).or_default() += 1;
    answer
}

fn check(
    s: &mut FakeState,
    headers: &HeaderMap,
    account: Option<&str>,
    write: bool,
    admin_write: bool,
) -> Result<(), Response> {
    if s.expire_tokens_at_call == Some(s.api_calls) {
        s.tokens.clear();
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(scopes) = bearer.and_then(|t| s.tokens.get(t)) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"developerMessage": "The token has expired or is invalid", "userMessage": "", "errorCode": "AUTH-006"})),
        )
            .into_response());
    };
    if write && !scopes.split(' ').any(|s| s == "account:write") {
        return Err((
            StatusCode::FORBIDDEN,
            axum::Json(json!({"developerMessage": "Token does not have the privilege for this request.", "userMessage": "", "errorCode": "AUTH-010"})),
        )
            .into_response());
    }
    if !s.integrated {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the app is not enabled for this account (add it in Account Admin, Custom Integrations)",
        ));
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "Too Many Requests",
        )
            .into_response());
    }
    if headers.get("region").and_then(|v| v.to_str().ok()) != Some(REGION) {
        return Err(error(
            StatusCode::NOT_FOUND,
            "no such account in this region (Region header)",
        ));
    }
    if account.is_some_and(|a| a != ACCOUNT) {
        return Err(error(StatusCode::NOT_FOUND, "account not found"));
    }
    if admin_write && headers.get("user-id").and_then(|v| v.to_str().ok()) != Some(ADMIN_ID) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "a 2-legged write needs User-Id naming an account admin",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

fn page(items: &[Value], query: &Page, max: usize) -> Result<(Vec<Value>, usize), Response> {
    let limit = query.limit.unwrap_or(10);
    if limit > max {
        return Err(error(StatusCode::BAD_REQUEST, "limit is too large"));
    }
    let offset = query.offset.unwrap_or(0);
    Ok((
        items.iter().skip(offset).take(limit).cloned().collect(),
        offset,
    ))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, &e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CompanyPayload {
    name: String,
    trade: Option<String>,
    address_line_1: Option<String>,
    address_line_2: Option<String>,
    city: Option<String>,
    state_or_province: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    website_url: Option<String>,
    description: Option<String>,
    erp_id: Option<String>,
    tax_id: Option<String>,
}

async fn list_companies(
    State(st): State<Shared>,
    Path(account): Path<String>,
    Query(q): Query<Page>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "GET companies", Some(&account), false) {
        return r;
    }
    let s = st.lock().unwrap();
    match page(&s.companies, &q, 100) {
        Ok((items, _)) => axum::Json(items).into_response(),
        Err(r) => r,
    }
}

async fn import_companies(
    State(st): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(
        &st,
        &headers,
        "POST companies/import",
        Some(&account),
        false,
    ) {
        return r;
    }
    let items: Vec<CompanyPayload> = match parse(&body) {
        Ok(items) => items,
        Err(r) => return r,
    };
    if items.len() > 50 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 50 companies per import",
        );
    }
    let mut s = st.lock().unwrap();
    let (mut success, mut failure) = (Vec::new(), Vec::new());
    for item in items {
        if s.companies.iter().any(|c| c["name"] == item.name.as_str()) {
            failure.push(json!({"name": item.name, "error": "a company with this name exists"}));
            continue;
        }
        if item.trade.as_deref().is_none_or(|t| t.trim().is_empty()) {
            failure.push(json!({"name": item.name, "error": "trade is required"}));
            continue;
        }
        let id = s.id("c");
        let company =
            json!({"id": id, "account_id": ACCOUNT, "name": item.name, "trade": item.trade});
        s.companies.push(company.clone());
        success.push(company);
    }
    (StatusCode::CREATED, axum::Json(json!({"success": success.len(), "failure": failure.len(), "success_items": success, "failure_items": failure}))).into_response()
}

async fn patch_company(
    State(st): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "PATCH companies/{id}", Some(&account), false) {
        return r;
    }
    let fields: BTreeMap<String, Value> = match parse(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    const ALLOWED: [&str; 13] = [
        "name",
        "trade",
        "address_line_1",
        "address_line_2",
        "city",
        "state_or_province",
        "postal_code",
        "country",
        "phone",
        "website_url",
        "description",
        "erp_id",
        "tax_id",
    ];
    if let Some(bad) = fields.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return error(StatusCode::BAD_REQUEST, &format!("unknown field {bad}"));
    }
    let mut s = st.lock().unwrap();
    let Some(company) = s.companies.iter_mut().find(|c| c["id"] == id.as_str()) else {
        return error(StatusCode::NOT_FOUND, "company not found");
    };
    for (k, v) in fields {
        company[k] = v;
    }
    axum::Json(company.clone()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UserPayload {
    email: String,
    company_id: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    image_url: Option<String>,
    address_line_1: Option<String>,
    address_line_2: Option<String>,
    city: Option<String>,
    state_or_province: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    about_me: Option<String>,
}

async fn list_users(
    State(st): State<Shared>,
    Path(account): Path<String>,
    Query(q): Query<Page>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "GET users", Some(&account), false) {
        return r;
    }
    let s = st.lock().unwrap();
    match page(&s.users, &q, 100) {
        Ok((items, _)) => axum::Json(items).into_response(),
        Err(r) => r,
    }
}

async fn import_users(
    State(st): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "POST users/import", Some(&account), false) {
        return r;
    }
    let items: Vec<UserPayload> = match parse(&body) {
        Ok(items) => items,
        Err(r) => return r,
    };
    if items.len() > 50 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 50 users per import",
        );
    }
    let mut s = st.lock().unwrap();
    let (mut success, mut failure) = (Vec::new(), Vec::new());
    for item in items {
        let email = item.email.to_ascii_lowercase();
        if s.reject_emails.contains(&email) || s.users.iter().any(|u| u["email"] == email.as_str())
        {
            failure.push(json!({"email": email, "errors": "the email cannot be imported"}));
            continue;
        }
        if item
            .company_id
            .as_ref()
            .is_some_and(|c| !s.companies.iter().any(|x| x["id"] == c.as_str()))
        {
            failure.push(json!({"email": email, "errors": "unknown company_id"}));
            continue;
        }
        let id = s.id("u");
        let user = json!({"id": id, "account_id": ACCOUNT, "email": email, "role": "account_user",
            "status": "not_invited", "company_id": item.company_id, "first_name": item.first_name,
            "last_name": item.last_name, "last_sign_in": null});
        s.users.push(user.clone());
        success.push(user);
    }
    (StatusCode::CREATED, axum::Json(json!({"success": success.len(), "failure": failure.len(), "success_items": success, "failure_items": failure}))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    status: Option<String>,
    company_id: Option<String>,
}

async fn patch_user(
    State(st): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "PATCH users/{id}", Some(&account), false) {
        return r;
    }
    let patch: UserPatch = match parse(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut s = st.lock().unwrap();
    let Some(user) = s.users.iter_mut().find(|u| u["id"] == id.as_str()) else {
        return error(StatusCode::NOT_FOUND, "user not found");
    };
    if let Some(status) = patch.status {
        if !matches!(status.as_str(), "active" | "inactive") {
            return error(StatusCode::BAD_REQUEST, "status is active or inactive");
        }
        if matches!(user["status"].as_str(), Some("pending" | "not_invited")) {
            return error(
                StatusCode::CONFLICT,
                "the user has not accepted the invitation",
            );
        }
        user["status"] = json!(status);
    }
    if let Some(company) = patch.company_id {
        user["company_id"] = json!(company);
    }
    axum::Json(user.clone()).into_response()
}

fn envelope(items: Vec<Value>, offset: usize, limit: usize, total: usize) -> Response {
    axum::Json(json!({"pagination": {"limit": limit, "offset": offset, "totalResults": total, "nextUrl": null}, "results": items})).into_response()
}

async fn list_projects(
    State(st): State<Shared>,
    Path(account): Path<String>,
    Query(q): Query<Page>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "GET projects", Some(&account), false) {
        return r;
    }
    let s = st.lock().unwrap();
    // A project being set up is not listed yet.
    let listed: Vec<Value> = s
        .projects
        .iter()
        .filter(|p| s.ready(p["id"].as_str().unwrap_or_default()))
        .map(|p| {
            let mut p = p.clone();
            p["status"] = json!("active");
            p
        })
        .collect();
    match page(&listed, &q, 200) {
        Ok((items, offset)) => envelope(items, offset, q.limit.unwrap_or(20), listed.len()),
        Err(r) => r,
    }
}

async fn get_project(
    State(st): State<Shared>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "GET projects/{id}", None, false) {
        return r;
    }
    let s = st.lock().unwrap();
    let Some(found) = s.projects.iter().find(|p| p["id"] == project.as_str()) else {
        return error(StatusCode::NOT_FOUND, "project not found");
    };
    let mut found = found.clone();
    found["status"] = json!(if s.ready(&project) {
        "active"
    } else {
        "pending"
    });
    axum::Json(found).into_response()
}

/// A write to a project still being set up is refused.
fn not_ready(s: &mut FakeState, project: &str) -> Option<Response> {
    if s.ready(project) {
        return None;
    }
    s.not_ready += 1;
    Some(error(
        StatusCode::CONFLICT,
        "the project is still being set up (status pending)",
    ))
}

async fn create_project(
    State(st): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "POST projects", Some(&account), true) {
        return r;
    }
    let fields: BTreeMap<String, Value> = match parse(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    const ALLOWED: [&str; 8] = [
        "name",
        "type",
        "startDate",
        "endDate",
        "jobNumber",
        "city",
        "country",
        "timezone",
    ];
    if let Some(bad) = fields.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return error(StatusCode::BAD_REQUEST, &format!("unknown field {bad}"));
    }
    let (Some(name), Some(_)) = (
        fields.get("name").and_then(Value::as_str),
        fields.get("type"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "name and type are required");
    };
    let mut s = st.lock().unwrap();
    if s.projects.iter().any(|p| p["name"] == name) {
        return error(StatusCode::CONFLICT, "a project with this name exists");
    }
    let id = s.id("p");
    let project = json!({"id": id, "name": name, "type": fields["type"], "status": "pending", "accountId": ACCOUNT});
    s.projects.push(project.clone());
    let ready = Instant::now() + s.project_delay;
    s.project_ready.insert(id, ready);
    (StatusCode::ACCEPTED, axum::Json(project)).into_response()
}

fn visible(s: &FakeState, project: &str) -> Vec<Value> {
    let now = Instant::now();
    s.project_users
        .iter()
        .filter(|(u, at)| u["projectId"] == project && u["status"] != "deleted" && *at <= now)
        .map(|(u, _)| u.clone())
        .collect()
}

async fn list_project_users(
    State(st): State<Shared>,
    Path(project): Path<String>,
    Query(q): Query<Page>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "GET projects/{id}/users", None, false) {
        return r;
    }
    let s = st.lock().unwrap();
    let users = visible(&s, &project);
    match page(&users, &q, 200) {
        Ok((items, offset)) => envelope(items, offset, q.limit.unwrap_or(20), users.len()),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductAccess {
    key: String,
    access: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ImportUser {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    company_id: Option<String>,
    role_ids: Option<Vec<String>>,
    products: Vec<ProductAccess>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportPayload {
    users: Vec<ImportUser>,
}

const KEYS: [&str; 15] = [
    "build",
    "docs",
    "takeoff",
    "cost",
    "autoSpecs",
    "financials",
    "buildingConnected",
    "capitalPlanning",
    "accountAdministration",
    "workshopxr",
    "insight",
    "projectAdministration",
    "modelCoordination",
    "designCollaboration",
    "cloudWorksharing",
];

/// The products as the vendor keeps them: a project admin (project administration
/// `administrator`) is made administrator of every product.
fn products(list: &[ProductAccess]) -> Result<Value, Response> {
    for p in list {
        if !KEYS.contains(&p.key.as_str())
            || !matches!(p.access.as_str(), "administrator" | "member" | "none")
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("bad product {}:{}", p.key, p.access),
            ));
        }
    }
    let admin = list
        .iter()
        .any(|p| p.key == "projectAdministration" && p.access == "administrator");
    if admin {
        return Ok(Value::Array(
            KEYS.iter()
                .filter(|k| **k != "accountAdministration")
                .map(|k| json!({"key": k, "access": "administrator"}))
                .collect(),
        ));
    }
    Ok(Value::Array(
        list.iter()
            .map(|p| json!({"key": p.key, "access": p.access}))
            .collect(),
    ))
}

async fn import_project_users(
    State(st): State<Shared>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "POST projects/{id}/users:import", None, true) {
        return r;
    }
    let payload: ImportPayload = match parse(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if payload.users.len() > 200 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 200 users per import",
        );
    }
    let mut s = st.lock().unwrap();
    if !s.projects.iter().any(|p| p["id"] == project.as_str()) {
        return error(StatusCode::NOT_FOUND, "project not found");
    }
    if let Some(refused) = not_ready(&mut s, &project) {
        return refused;
    }
    let at = Instant::now() + s.import_delay;
    for user in payload.users {
        let products = match products(&user.products) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let email = user.email.to_ascii_lowercase();
        *s.row_imports
            .entry((project.clone(), email.clone()))
            .or_default() += 1;
        // Imported again: the same member, with the products now given.
        if let Some((record, _)) = s.project_users.iter_mut().find(|(u, _)| {
            u["projectId"] == project.as_str()
                && u["email"] == email.as_str()
                && u["status"] != "deleted"
        }) {
            record["products"] = products;
            continue;
        }
        let id = s.id("pu");
        s.project_users.push((json!({"id": id, "email": email, "projectId": project, "status": "active", "products": products}), at));
    }
    let job = s.id("job");
    (StatusCode::ACCEPTED, axum::Json(json!({"jobId": job}))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProjectUserPatch {
    company_id: Option<String>,
    role_ids: Option<Vec<String>>,
    products: Option<Vec<ProductAccess>>,
}

async fn patch_project_user(
    State(st): State<Shared>,
    Path((project, user)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&st, &headers, "PATCH projects/{id}/users/{id}", None, true) {
        return r;
    }
    let patch: ProjectUserPatch = match parse(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut s = st.lock().unwrap();
    if let Some(refused) = not_ready(&mut s, &project) {
        return refused;
    }
    let Some((record, _)) = s.project_users.iter_mut().find(|(u, _)| {
        u["projectId"] == project.as_str() && u["id"] == user.as_str() && u["status"] != "deleted"
    }) else {
        return error(StatusCode::NOT_FOUND, "project user not found");
    };
    // The answer carries only what changed, and the id.
    let mut answer = json!({"id": user});
    if let Some(list) = patch.products {
        let products = match products(&list) {
            Ok(p) => p,
            Err(r) => return r,
        };
        record["products"] = products.clone();
        answer["products"] = products;
    }
    if let Some(company) = patch.company_id {
        record["companyId"] = json!(company);
        answer["companyId"] = json!(company);
    }
    if let Some(roles) = patch.role_ids {
        answer["roleIds"] = json!(roles);
    }
    axum::Json(answer).into_response()
}

async fn delete_project_user(
    State(st): State<Shared>,
    Path((project, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&st, &headers, "DELETE projects/{id}/users/{id}", None, true) {
        return r;
    }
    let mut s = st.lock().unwrap();
    if let Some(refused) = not_ready(&mut s, &project) {
        return refused;
    }
    let Some((record, _)) = s.project_users.iter_mut().find(|(u, _)| {
        u["projectId"] == project.as_str() && u["id"] == user.as_str() && u["status"] != "deleted"
    }) else {
        return error(StatusCode::NOT_FOUND, "project user not found");
    };
    record["status"] = json!("deleted");
    StatusCode::NO_CONTENT.into_response()
}
