//! The route table and the middleware stack around it.
//!
//! Routes are added through [`Table`], which records each method and path as it adds
//! it to the router: [`routes`] is therefore exactly what the router serves, and the
//! test that compares it with `schemas/openapi.yaml` checks the real thing.
//!
//! A request passes, outermost first: the request log (one line per request, with
//! status and duration), the request timeout, the body limit; then, on the
//! authenticated routes (all but `/v1/health`): the bearer check, the rate limit, the
//! fault switch, and the write handling of [`super::writes`].

use std::sync::PoisonError;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};

use super::auth::{LabelSlot, RequestLabel};
use super::error::ApiError;
use super::{App, auth, faults, handlers, limits, writes};

/// The health endpoint, the one route without a token.
pub const HEALTH: &str = "/v1/health";

/// A route the service serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteInfo {
    /// `GET`, `POST`, `PUT`.
    pub method: &'static str,
    /// The path template (`/v1/members/{email}`), as `OpenAPI` writes it.
    pub path: &'static str,
}

/// A router and the list of what it serves, kept together.
struct Table {
    router: Router<App>,
    routes: Vec<RouteInfo>,
}

impl Table {
    fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn add(mut self, method: &'static str, path: &'static str, route: MethodRouter<App>) -> Self {
        self.router = self.router.route(path, route);
        self.routes.push(RouteInfo { method, path });
        self
    }
}

/// The authenticated API.
fn api() -> Table {
    Table::new()
        .add("GET", "/v1/capabilities", get(handlers::capabilities))
        .add("GET", "/v1/account", get(handlers::account))
        .add("PUT", "/v1/account", put(handlers::put_account))
        .add("GET", "/v1/companies", get(handlers::companies))
        .add("GET", "/v1/roles", get(handlers::roles))
        .add("GET", "/v1/members", get(handlers::members))
        .add("GET", "/v1/members/{email}", get(handlers::member))
        .add(
            "POST",
            "/v1/members/{email}/accept-invitation",
            post(handlers::accept_invitation),
        )
        .add("GET", "/v1/agreements", get(handlers::agreements))
        .add("GET", "/v1/seats", get(handlers::seats))
        .add("GET", "/v1/cloud-services", get(handlers::cloud_services))
        .add("GET", "/v1/support", get(handlers::support))
        .add("GET", "/v1/projects", get(handlers::projects))
        .add("GET", "/v1/project-members", get(handlers::project_members))
        .add("GET", "/v1/teams", get(handlers::teams))
        .add("POST", "/v1/operations", post(handlers::operations))
        .add("POST", "/v1/lock", post(handlers::lock_acquire))
        .add("POST", "/v1/lock/renew", post(handlers::lock_renew))
        .add("POST", "/v1/lock/release", post(handlers::lock_release))
        .add("POST", "/v1/applied", post(handlers::applied))
        .add("GET", "/v1/audit", get(handlers::audit))
}

/// Every route the service serves, health included, sorted.
#[must_use]
pub fn routes() -> Vec<RouteInfo> {
    let mut routes = api().routes;
    routes.push(RouteInfo {
        method: "GET",
        path: HEALTH,
    });
    routes.sort();
    routes
}

/// The whole service, ready to serve.
pub fn router(app: App) -> Router {
    let api = api()
        .router
        .layer(from_fn_with_state(app.clone(), writes::writes))
        .layer(from_fn_with_state(app.clone(), faults::inject))
        .layer(from_fn_with_state(app.clone(), limits::limit))
        .layer(from_fn_with_state(app.clone(), auth::authenticate));
    Router::new()
        .route(HEALTH, get(handlers::health))
        .merge(api)
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(app.limits.max_body))
        .layer(from_fn_with_state(app.clone(), timeout))
        .layer(from_fn(log_request))
        .with_state(app)
}

/// Answers 503 when a request runs longer than the limit. A write goes on to the end
/// anyway (see [`super::writes`]): its answer can be had again with the same key.
async fn timeout(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let limit = app.limits.request_timeout;
    let slot = LabelSlot::default();
    request.extensions_mut().insert(slot.clone());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = timed_out(limit);
            // The log line names the caller of a request that ran out of time.
            if let Some(label) = slot.0.lock().unwrap_or_else(PoisonError::into_inner).take() {
                response.extensions_mut().insert(label);
            }
            response
        }
    }
}

fn timed_out(limit: std::time::Duration) -> Response {
    ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s; a write still completes: send it again with the same Idempotency-Key to get its answer",
                limit.as_secs_f64()
            ),
        )
        .with_retry_after(std::time::Duration::from_secs(1))
        .into_response()
}

/// One log line per request: method, route, status, duration, caller. Never a token,
/// never a body.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let label = response.extensions().get::<RequestLabel>();
    let route = label.map_or(path.as_str(), |l| l.route.as_str());
    let who = label.map_or("-", |l| l.who.as_str());
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "accord::service",
        %method,
        route,
        status = response.status().as_u16(),
        ms = format_args!("{millis:.1}"),
        who,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::routing::get;

    use super::*;
    use crate::service::{Service, ServiceOptions, Tokens};
    use crate::time::SystemClock;

    /// A slow request is answered 503 `timeout` when the limit runs out.
    #[tokio::test]
    async fn a_request_over_the_timeout_is_logged_with_the_token_name() {
        // Issue 14, item 10: the 503 of a request cut by the timeout carried no
        // label, so its log line said `who="-"`.
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::parse("read r reader\n", "tokens").unwrap();
        let mut options = ServiceOptions::new(dir.path().join("state.db"), tokens);
        options.request_timeout = Duration::from_millis(50);
        let service = Service::open(options, Arc::new(SystemClock)).unwrap();
        let app = service.app.clone();
        // Stands in for the log line: what it would name as the caller.
        let who = |request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            let who = response
                .extensions()
                .get::<RequestLabel>()
                .map_or("-".to_owned(), |l| l.who.clone());
            response.headers_mut().insert("x-who", who.parse().unwrap());
            response
        };
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "slow"
                }),
            )
            .layer(from_fn_with_state(app.clone(), auth::authenticate))
            .layer(from_fn_with_state(app.clone(), timeout))
            .layer(from_fn(who))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let slow = reqwest::Client::new()
            .get(format!("{url}/slow"))
            .bearer_auth("r")
            .send()
            .await
            .unwrap();
        assert_eq!(slow.status(), 503);
        assert_eq!(slow.headers()["x-who"], "reader");
    }

    #[tokio::test]
    async fn a_request_over_the_timeout_is_answered_503() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::parse("read r n\n", "tokens").unwrap();
        let mut options = ServiceOptions::new(dir.path().join("state.db"), tokens);
        options.request_timeout = Duration::from_millis(50);
        let service = Service::open(options, Arc::new(SystemClock)).unwrap();
        let router = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "slow"
                }),
            )
            .layer(from_fn_with_state(service.app.clone(), timeout))
            .with_state(service.app.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let fast = client.get(format!("{url}/fast")).send().await.unwrap();
        assert_eq!(fast.status(), 200);
        let started = std::time::Instant::now();
        let slow = client.get(format!("{url}/slow")).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(slow.status(), 503);
        assert_eq!(slow.headers()["retry-after"], "1");
        let body: serde_json::Value = slow.json().await.unwrap();
        assert_eq!(body["code"], "timeout");
    }
}
