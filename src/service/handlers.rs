//! The endpoints. Each one is a thin translation between HTTP and the store: the
//! rules live in the store ([`crate::backend::sqlite`]), never here.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::App;
use super::auth::Caller;
use super::error::ApiError;
use super::views::View;
use crate::backend::sqlite::WriteOptions;
use crate::contract::{BackendError, LockError, Op, Outcome};
use crate::state::{AccountInfo, Email};
use crate::wire::{
    AccountRequest, AccountView, AuditEntry, BatchRequest, BatchResponse, DEFAULT_PAGE_SIZE,
    Health, LeaseRequest, LockRequest, MAX_PAGE_SIZE, OutcomeResponse, ServiceInfo,
};

/// The longest lock lease a client may ask for.
pub const MAX_LOCK_TTL_SECS: u64 = 24 * 60 * 60;

/// `?limit=&offset=&revision=`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PageQuery {
    /// Rows per page (1 to 200; 100 when absent).
    pub limit: Option<usize>,
    /// Index of the first row (0 when absent).
    pub offset: Option<usize>,
    /// Read at this revision (412 once it is no longer kept).
    pub revision: Option<u64>,
}

/// A page as serialised: borrows the view's rows.
#[derive(Serialize)]
struct PageOut<'a, T> {
    items: &'a [T],
    total: usize,
    limit: usize,
    offset: usize,
    revision: u64,
}

type Answer = Result<Response, ApiError>;

/// Adds `ETag: "revision"`.
fn with_etag(revision: u64, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn query<T>(parsed: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    parsed
        .map(|Query(q)| q)
        .map_err(|e| ApiError::from_query(&e))
}

/// The request's body as `T`. JSON Schema counts `426.0` as an integer, so a
/// whole number written with a fraction is read as that integer: the OpenAPI file
/// promises that every schema-valid body is taken (issue 14, item 9).
fn body<T: serde::de::DeserializeOwned>(
    app: &App,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Result<T, ApiError> {
    let Json(mut value) = parsed.map_err(|e| ApiError::from_json(&e, app.limits.max_body))?;
    whole_numbers_as_integers(&mut value);
    serde_json::from_value(value).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("the body does not have the expected shape: {e}"),
        )
    })
}

/// Replaces every number with a zero fraction (`426.0`) by the integer it is.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            let whole = number
                .as_f64()
                .filter(|f| number.is_f64() && f.fract() == 0.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // The casts are exact: the value is whole and checked to be in range.
            let integer = whole.and_then(|f| {
                // 2^64 and -2^63 are exact as f64 and both are left out: a number
                // just past u64::MAX or i64::MIN rounds to them when it is read.
                if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    Some(serde_json::Number::from(f as u64))
                } else if f > -9_223_372_036_854_775_808.0 && f < 0.0 {
                    Some(serde_json::Number::from(f as i64))
                } else {
                    None
                }
            });
            if let Some(integer) = integer {
                *number = integer;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The revision an `If-Match` header asks for: `"12"`, `W/"12"` or `12`; `*` or no
/// header asks for none.
///
/// # Errors
/// 400 when the header is not a revision.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    // Exactly the forms `schemas/openapi.yaml` allows: `12`, `"12"`, `W/"12"`.
    fn quoted(t: &str) -> Option<&str> {
        t.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
    }
    let bare = match text.strip_prefix("W/") {
        Some(weak) => quoted(weak),
        None => quoted(text).or(Some(text)),
    }
    .filter(|d| (1..=19).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    bare.and_then(|d| d.parse().ok()).map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match holds the account revision as the ETag gave it (such as \"12\")",
        )
    })
}

/// One page of the collection `pick` selects, at the asked revision.
async fn list<T: Serialize>(
    app: &App,
    parsed: Result<Query<PageQuery>, QueryRejection>,
    pick: fn(&View) -> &[T],
) -> Answer {
    let page = query(parsed)?;
    let limit = page.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is from 1 to {MAX_PAGE_SIZE} rows a page"),
        ));
    }
    let view = app.view(page.revision).await?;
    let items = pick(&view);
    let offset = page.offset.unwrap_or(0);
    let start = offset.min(items.len());
    let end = start.saturating_add(limit).min(items.len());
    Ok(with_etag(
        view.revision,
        Json(PageOut {
            items: &items[start..end],
            total: items.len(),
            limit,
            offset,
            revision: view.revision,
        }),
    ))
}

/// `GET /v1/health` (no token needed).
pub(super) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /v1/capabilities`.
pub(super) async fn capabilities(State(app): State<App>) -> Json<ServiceInfo> {
    let mut capabilities = crate::contract::Capabilities::full(app.limits.bulk_limit);
    capabilities.budgets = app
        .limiter
        .as_ref()
        .map(|limiter| crate::call::Budget::per_second(crate::wire::FAMILY, limiter.rate()))
        .into_iter()
        .collect();
    Json(ServiceInfo {
        capabilities,
        max_page_size: MAX_PAGE_SIZE,
        max_body_bytes: app.limits.max_body,
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /v1/account`.
pub(super) async fn account(State(app): State<App>) -> Answer {
    let view = app.view(None).await?;
    Ok(with_etag(
        view.revision,
        Json(AccountView {
            id: view.account.id.clone(),
            name: view.account.name.clone(),
            revision: view.revision,
            now: app.clock.now(),
        }),
    ))
}

/// `PUT /v1/account`: gives a fresh store its account.
pub(super) async fn put_account(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let request: AccountRequest = body(&app, parsed)?;
    let expected = if_match(&headers)?;
    let account = AccountInfo {
        id: request.id,
        name: request.name,
    };
    if let Some(problem) = super::checks::account_problem(&account) {
        return Err(ApiError::unprocessable("invalid_account", problem));
    }
    let (outcome, revision) = app
        .store(move |s| {
            check_revision(s.revision()?, expected)?;
            let outcome = s.ensure_account(&account)?;
            Ok((outcome, s.revision()?))
        })
        .await?;
    if outcome == Outcome::Done {
        app.attribute(revision, &caller.name).await?;
    }
    Ok(with_etag(
        revision,
        Json(OutcomeResponse { revision, outcome }),
    ))
}

fn check_revision(found: u64, expected: Option<u64>) -> Result<(), BackendError> {
    match expected {
        Some(expected) if expected != found => Err(BackendError::Stale { expected, found }),
        _ => Ok(()),
    }
}

/// `GET /v1/companies`.
pub(super) async fn companies(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.companies).await
}

/// `GET /v1/roles`.
pub(super) async fn roles(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.roles).await
}

/// `GET /v1/members`.
pub(super) async fn members(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.members).await
}

/// `GET /v1/agreements`.
pub(super) async fn agreements(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.agreements).await
}

/// `GET /v1/seats`.
pub(super) async fn seats(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.seats).await
}

/// `GET /v1/cloud-services`.
pub(super) async fn cloud_services(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.cloud_services).await
}

/// `GET /v1/support`.
pub(super) async fn support(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.support).await
}

/// `GET /v1/projects`.
pub(super) async fn projects(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.projects).await
}

/// `GET /v1/project-members`.
pub(super) async fn project_members(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.project_members).await
}

/// `GET /v1/teams`.
pub(super) async fn teams(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    list(&app, q, |v| &v.teams).await
}

/// `GET /v1/members/{email}`.
pub(super) async fn member(State(app): State<App>, Path(email): Path<String>) -> Answer {
    let email = Email::new(&email);
    let view = app.view(None).await?;
    let found = view
        .members
        .binary_search_by(|m| m.email.cmp(&email))
        .map_err(|_| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{email} is not a member of the account"),
            )
        })?;
    Ok(with_etag(view.revision, Json(&view.members[found])))
}

/// `POST /v1/operations`: one batch, one transaction, one outcome per operation.
pub(super) async fn operations(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let batch = body::<BatchRequest>(&app, parsed)?.operations;
    if batch.len() > app.limits.bulk_limit {
        return Err(BackendError::BatchTooLarge {
            size: batch.len(),
            limit: app.limits.bulk_limit,
        }
        .into());
    }
    let options = WriteOptions {
        actor: Some(caller.name),
        if_revision: if_match(&headers)?,
    };
    // Operations whose strings break validate's rules are refused here; the others
    // go to the store, and the outcomes are put back in the batch's order.
    let refused: Vec<Option<Outcome>> = batch.iter().map(super::checks::refusal).collect();
    let checked: Vec<Op> = batch
        .into_iter()
        .zip(&refused)
        .filter_map(|(op, refusal)| refusal.is_none().then_some(op))
        .collect();
    let (done, revision) = app
        .store(move |s| {
            let outcomes = if checked.is_empty() {
                check_revision(s.revision()?, options.if_revision)?;
                Vec::new()
            } else {
                s.execute_with(&checked, &options)?
            };
            Ok((outcomes, s.revision()?))
        })
        .await?;
    let mut done = done.into_iter();
    let outcomes: Vec<Outcome> = refused
        .into_iter()
        .filter_map(|refusal| refusal.or_else(|| done.next()))
        .collect();
    Ok(with_etag(
        revision,
        Json(BatchResponse { revision, outcomes }),
    ))
}

/// `POST /v1/members/{email}/accept-invitation`: the member signs in (tests, demos).
pub(super) async fn accept_invitation(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(email): Path<String>,
) -> Answer {
    let email = Email::new(&email);
    let expected = if_match(&headers)?;
    let (outcome, revision) = app
        .store(move |s| {
            check_revision(s.revision()?, expected)?;
            let outcome = s.accept_invitation(&email)?;
            Ok((outcome, s.revision()?))
        })
        .await?;
    match outcome {
        Outcome::Refused { rule, reason } => {
            Err(
                ApiError::new(StatusCode::CONFLICT, "refused", reason.clone())
                    .with_details(json!({ "rule": rule, "reason": reason })),
            )
        }
        outcome => {
            if outcome == Outcome::Done {
                app.attribute(revision, &caller.name).await?;
            }
            Ok(with_etag(
                revision,
                Json(OutcomeResponse { revision, outcome }),
            ))
        }
    }
}

/// `POST /v1/lock`: takes the apply lock (409 `lock_held` while someone holds it).
pub(super) async fn lock_acquire(
    State(app): State<App>,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let request: LockRequest = body(&app, parsed)?;
    if request.holder.trim().is_empty() || !(1..=MAX_LOCK_TTL_SECS).contains(&request.ttl_secs) {
        return Err(ApiError::unprocessable(
            "invalid_lock_request",
            format!("a lock needs a holder and a ttl_secs from 1 to {MAX_LOCK_TTL_SECS}"),
        ));
    }
    let ttl = Duration::from_secs(request.ttl_secs);
    let result = app
        .blocking(move |s| s.acquire_lock(&request.holder, ttl))
        .await?;
    lease_answer(result)
}

/// `POST /v1/lock/renew`: extends a lease (409 `lock_lost` when it is no longer the lock's).
pub(super) async fn lock_renew(
    State(app): State<App>,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let LeaseRequest { lease } = body(&app, parsed)?;
    let result = app.blocking(move |s| s.renew_lock(&lease)).await?;
    lease_answer(result)
}

/// `POST /v1/lock/release`: gives the lock up (204; also for a lease already lost).
pub(super) async fn lock_release(
    State(app): State<App>,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let LeaseRequest { lease } = body(&app, parsed)?;
    match app.blocking(move |s| s.release_lock(&lease)).await? {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(error) => Err(lock_error(error)),
    }
}

fn lease_answer(result: Result<crate::backend::Lease, LockError>) -> Answer {
    result
        .map(|lease| Json(lease).into_response())
        .map_err(lock_error)
}

fn lock_error(error: LockError) -> ApiError {
    match error {
        LockError::Held {
            holder,
            since,
            expires,
        } => ApiError::new(
            StatusCode::CONFLICT,
            "lock_held",
            format!("the account is locked by {holder} since {since} (Unix time), until {expires} unless renewed"),
        )
        .with_details(json!({ "holder": holder, "since": since, "expires": expires })),
        LockError::Lost { holder, reason } => ApiError::new(
            StatusCode::CONFLICT,
            "lock_lost",
            format!("the lock held by {holder} was lost: {reason}"),
        )
        .with_details(json!({ "holder": holder, "reason": reason })),
        LockError::Backend(error) => error.into(),
    }
}

/// `POST /v1/applied`: records, in the audit log (`account.applied`, by the caller),
/// that an apply converged with the account at `revision`; nothing when the account
/// moved on since.
pub(super) async fn applied(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let revision = body::<crate::wire::AppliedRequest>(&app, parsed)?.revision;
    let recorded = app
        .store(move |s| s.record_applied(revision, Some(&caller.name)))
        .await?;
    app.forget_audit();
    Ok(Json(crate::wire::AppliedResponse { recorded }).into_response())
}

/// `GET /v1/audit`: every change to the account, oldest first, with who made it.
pub(super) async fn audit(
    State(app): State<App>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    let page = query(q)?;
    let limit = page.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is from 1 to {MAX_PAGE_SIZE} rows a page"),
        ));
    }
    let (revision, entries) = app.audit_log().await?;
    let offset = page.offset.unwrap_or(0);
    let start = offset.min(entries.len());
    let end = start.saturating_add(limit).min(entries.len());
    Ok(with_etag(
        revision,
        Json(PageOut {
            items: &entries[start..end],
            total: entries.len(),
            limit,
            offset,
            revision,
        }),
    ))
}

/// Builds the audit log: the store's history, with the attributions the service made
/// for changes the store records without an actor, and the seat counts each revision
/// left (on that revision's last entry).
pub(super) fn audit_entries(
    history: Vec<crate::backend::sqlite::HistoryEntry>,
    attributions: &std::collections::HashMap<u64, String>,
    seats: Vec<crate::contract::SeatSample>,
) -> Arc<[AuditEntry]> {
    let mut seats_by_revision: std::collections::HashMap<u64, Vec<crate::contract::SeatCount>> =
        std::collections::HashMap::new();
    for sample in seats {
        seats_by_revision
            .entry(sample.revision)
            .or_default()
            .push(sample.count);
    }
    let last_of_revision: Vec<bool> = history
        .iter()
        .zip(history.iter().skip(1).map(Some).chain([None]))
        .map(|(entry, next)| next.is_none_or(|next| next.revision != entry.revision))
        .collect();
    history
        .into_iter()
        .zip(last_of_revision)
        .zip(1..)
        .map(|((entry, last), seq)| AuditEntry {
            seq,
            revision: entry.revision,
            actor: entry
                .actor
                .or_else(|| attributions.get(&entry.revision).cloned()),
            seats: if last {
                seats_by_revision
                    .remove(&entry.revision)
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
            op: entry.op,
            target: entry.target,
            at: entry.at,
        })
        .collect()
}

/// Unknown paths: 404 `no_route` (a missing member is 404 `not_found`).
pub(super) async fn no_route(uri: axum::http::Uri, method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!(
            "there is no endpoint {method} {}; the API is described in schemas/openapi.yaml",
            uri.path()
        ),
    )
}

/// A known path with another method: 405 `method_not_allowed`.
pub(super) async fn method_not_allowed(
    uri: axum::http::Uri,
    method: axum::http::Method,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {method}; the API is described in schemas/openapi.yaml",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_counts_ride_on_the_last_entry_of_their_revision() {
        use crate::backend::sqlite::HistoryEntry;
        use crate::contract::{PoolKind, SeatCount, SeatSample};
        let entry = |revision, op: &str| HistoryEntry {
            revision,
            op: op.to_owned(),
            target: "t".to_owned(),
            at: 10,
            actor: None,
        };
        let count = SeatCount {
            kind: PoolKind::Agreement,
            owner: "1".to_owned(),
            product: "Revit".to_owned(),
            used: 2,
            seats: Some(3),
        };
        let history = vec![
            entry(1, "seat.assign"),
            entry(1, "seat.assign"),
            entry(2, "member.invite"),
        ];
        let seats = vec![SeatSample {
            revision: 1,
            at: 10,
            count: count.clone(),
        }];
        let entries = audit_entries(history, &std::collections::HashMap::new(), seats);
        let carried: Vec<usize> = entries.iter().map(|e| e.seats.len()).collect();
        assert_eq!(carried, [0, 1, 0]);
        assert_eq!(entries[1].seats, [count]);
        let json = serde_json::to_value(&entries[0]).unwrap();
        assert!(json.get("seats").is_none(), "left out when empty: {json}");
    }

    #[test]
    fn if_match_reads_etags_with_or_without_quotes() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers).unwrap(), None);
        for (value, expected) in [
            ("\"12\"", Some(12)),
            ("12", Some(12)),
            ("W/\"3\"", Some(3)),
            ("*", None),
        ] {
            headers.insert(header::IF_MATCH, HeaderValue::from_static(value));
            assert_eq!(if_match(&headers).unwrap(), expected, "{value}");
        }
        // Issue 14: only the forms the OpenAPI file allows.
        for value in ["\"abc\"", "\"12", "W/12", "", "12345678901234567890"] {
            headers.insert(header::IF_MATCH, HeaderValue::from_static(value));
            assert_eq!(
                if_match(&headers).unwrap_err().code,
                "invalid_if_match",
                "{value}"
            );
        }
    }
}
