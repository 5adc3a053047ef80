//! The Team Admin operations, past the gate (token, scopes, team, budget checked).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::problem::{
    INHERITED_ONLY, INVITATION_CONFLICT, NO_SEATS, NOT_FOUND, POOL_NOT_ACTIVE, QUOTA_EXHAUSTED,
    UNSUPPORTED_PRODUCT,
};
use super::{
    Ctx, DIRECT, Direct, FakeState, Pool, Role, Shared, Team, forbidden, invalid, problem,
    problem_with, vendor_date,
};

type Params = BTreeMap<String, String>;

/// The default and largest page sizes (documented).
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;

/// UNCONFIRMED: query parameters the operation does not take are a 400 (a misspelt
/// filter would otherwise list everything).
fn only(ctx: &Ctx, q: &Params, allowed: &[&str]) -> Result<(), Response> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(bad) => Err(invalid(ctx, bad, &format!("unknown query parameter {bad}"))),
        None => Ok(()),
    }
}

/// UNCONFIRMED: a cursor is opaque and good only for the listing (and filters) that
/// handed it out; here it is the hex of `{scope}|{offset}`.
fn cursor(scope: &str, offset: usize) -> String {
    hex::encode(format!("{scope}|{offset}"))
}

fn offset_of(ctx: &Ctx, given: &str, scope: &str) -> Result<usize, Response> {
    hex::decode(given)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (at, offset) = s.rsplit_once('|')?;
            (at == scope).then(|| offset.parse().ok())?
        })
        .ok_or_else(|| invalid(ctx, "cursor", "the cursor is not valid for this listing"))
}

/// One page of `items`: `{data, pagination: {cursor, hasMore}}`.
fn page(ctx: &Ctx, q: &Params, items: &[Value], scope: &str) -> Result<Response, Response> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| invalid(ctx, "limit", "limit must be an integer from 1 to 100"))?,
    };
    let offset = match q.get("cursor") {
        None => 0,
        Some(c) => offset_of(ctx, c, scope)?,
    };
    let end = (offset + limit).min(items.len());
    let data: Vec<Value> = items.get(offset..end).unwrap_or_default().to_vec();
    let more = end < items.len();
    let next = more.then(|| cursor(scope, end));
    Ok(
        axum::Json(json!({"data": data, "pagination": {"cursor": next, "hasMore": more}}))
            .into_response(),
    )
}

fn team_of<'a>(s: &'a FakeState, ctx: &Ctx) -> Result<&'a Team, Response> {
    ctx.team
        .as_deref()
        .and_then(|t| s.team(t))
        .ok_or_else(|| forbidden(ctx))
}

fn user_json(s: &FakeState, user: &str, role: Role) -> Value {
    let person = s.person(user).expect("a member is a person");
    json!({
        "id": person.id,
        "email": person.email,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "role": role.wire(),
    })
}

pub async fn list_teams(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = only(&ctx, &q, &["limit", "cursor", "teamId"]) {
        return r;
    }
    let s = st.lock().unwrap();
    let filter = q.get("teamId");
    let teams: Vec<Value> = s
        .teams
        .iter()
        // UNCONFIRMED: ineligible teams are not listed.
        .filter(|t| t.eligible && t.role(&ctx.user).is_some_and(Role::admin))
        .filter(|t| filter.is_none_or(|f| *f == t.id))
        .map(|t| json!({"id": t.id, "name": t.name}))
        .collect();
    let scope = format!("teams:{}", filter.map_or("", String::as_str));
    page(&ctx, &q, &teams, &scope).unwrap_or_else(|r| r)
}

pub async fn list_users(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = only(&ctx, &q, &["limit", "cursor", "email"]) {
        return r;
    }
    let s = st.lock().unwrap();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let filter = q.get("email");
    let users: Vec<Value> = team
        .members
        .iter()
        .map(|(u, r)| user_json(&s, u, *r))
        // UNCONFIRMED: the `email` filter matches exactly (case included).
        .filter(|u| filter.is_none_or(|f| u["email"] == f.as_str()))
        .collect();
    let scope = format!("users:{}:{}", team.id, filter.map_or("", String::as_str));
    page(&ctx, &q, &users, &scope).unwrap_or_else(|r| r)
}

pub async fn get_user(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((_, user)): Path<(String, String)>,
) -> Response {
    let s = st.lock().unwrap();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match team.role(&user) {
        Some(role) => axum::Json(user_json(&s, &user, role)).into_response(),
        None => not_found(&ctx, "The user is not on the team."),
    }
}

fn not_found(ctx: &Ctx, detail: &str) -> Response {
    problem(ctx, StatusCode::NOT_FOUND, NOT_FOUND, "Not Found", detail)
}

fn unprocessable(ctx: &Ctx, slug: &str, detail: &str) -> Response {
    problem(
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        slug,
        "Unprocessable Content",
        detail,
    )
}

/// UNCONFIRMED field names of Add Team User's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewUser {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

fn body<T: serde::de::DeserializeOwned>(ctx: &Ctx, bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| invalid(ctx, "body", &e.to_string()))
}

fn valid_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@') && !email.contains(' ')
    })
}

/// Add Team User: 201 with a new user, 200 with the one already on the team
/// (UNCONFIRMED: 200 vs 201, by analogy with Assign Product).
pub async fn add_user(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    bytes: Bytes,
) -> Response {
    let new: NewUser = match body(&ctx, &bytes) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if !valid_email(&new.email) {
        return invalid(&ctx, "email", "email is not a valid address");
    }
    let mut s = st.lock().unwrap();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let team_id = team.id.clone();
    let existing = s
        .person_by_email(&new.email)
        .and_then(|p| Some((p.id.clone(), team.role(&p.id)?)));
    if let Some((found, role)) = existing {
        return axum::Json(user_json(&s, &found, role)).into_response();
    }
    if team
        .invite_conflicts
        .contains(&new.email.to_ascii_lowercase())
    {
        return unprocessable(
            &ctx,
            INVITATION_CONFLICT,
            "The invitation conflicts and no matching user can be confirmed on the team.",
        );
    }
    let domain = new.email.rsplit_once('@').map_or("", |(_, d)| d);
    // UNCONFIRMED: a team without domains makes everyone a `USER`.
    let own =
        team.domains.is_empty() || team.domains.iter().any(|d| d.eq_ignore_ascii_case(domain));
    let role = if own { Role::User } else { Role::ExternalUser };
    let user = s.add_member(&team_id, &new.email, role);
    if let Some(person) = s.people.iter_mut().find(|p| p.id == user) {
        person.first_name = person.first_name.take().or(new.first_name);
        person.last_name = person.last_name.take().or(new.last_name);
    }
    s.team_mut(&team_id)
        .expect("checked")
        .invitations
        .push(new.email.clone());
    (StatusCode::CREATED, axum::Json(user_json(&s, &user, role))).into_response()
}

/// Whether the pool is current: `startDate <= now < endDate`.
fn current(s: &FakeState, pool: &Pool) -> bool {
    let now = s.utc_now();
    pool.start <= now && now < pool.end
}

fn pool_json(s: &FakeState, team: &Team, pool: &Pool) -> Value {
    // UNCONFIRMED: a future pool's `assignedQuantity` is always null.
    let future = pool.start > s.utc_now();
    let assigned = (pool.seats.is_some() && !future).then(|| team.holders(&pool.product_id));
    json!({
        "productId": pool.product_id,
        "teamId": team.id,
        "productName": pool.name,
        "totalQuantity": pool.seats,
        "assignedQuantity": assigned,
        "unlimited": pool.seats.is_none(),
        "startDate": vendor_date(pool.start),
        "endDate": vendor_date(pool.end),
    })
}

pub async fn list_pools(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = only(&ctx, &q, &["limit", "cursor"]) {
        return r;
    }
    let s = st.lock().unwrap();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pools: Vec<Value> = team
        .pools
        .iter()
        .filter(|p| !p.hidden)
        .map(|p| pool_json(&s, team, p))
        .collect();
    page(&ctx, &q, &pools, &format!("pools:{}", team.id)).unwrap_or_else(|r| r)
}

fn assignment_json(s: &FakeState, team: &str, user: &str, product: &str, kind: &str) -> Value {
    json!({
        "userId": user,
        "email": s.person(user).map(|p| p.email.clone()),
        "teamId": team,
        "productId": product,
        "assignmentType": kind,
    })
}

/// List Assignments: one row per (user, product), the effective type; not paginated.
/// Filtered by `userId` it is fresh; otherwise it shows writes only after `lag`.
pub async fn list_assignments(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = only(&ctx, &q, &["userId", "productId"]) {
        return r;
    }
    let s = st.lock().unwrap();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (user, product) = (q.get("userId"), q.get("productId"));
    let lag = if user.is_some() {
        Duration::ZERO
    } else {
        s.lag
    };
    let data: Vec<Value> = team
        .effective(lag)
        .into_iter()
        .filter(|((u, p), _)| {
            team.pool(p).is_some() && user.is_none_or(|f| f == u) && product.is_none_or(|f| f == p)
        })
        .map(|((u, p), kind)| assignment_json(&s, &team.id, &u, &p, kind))
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewAssignment {
    user_id: String,
    product_id: String,
    assignment_type: Option<String>,
}

/// The quota's state for a pool now: (reassignments in the window, seats freed in
/// the window and not yet reassigned).
fn quota_state(pool: &mut Pool, now: Instant) -> Option<(u32, usize, usize)> {
    let quota = pool.quota?;
    let keep = |at: &Instant| now.saturating_duration_since(*at) < quota.window;
    pool.freed.retain(keep);
    pool.reassigned.retain(keep);
    Some((quota.size, pool.reassigned.len(), pool.freed.len()))
}

/// `reassignmentQuotaNearingLimit`: at least 80 % of the quota used.
fn nearing(used: usize, size: u32) -> bool {
    used * 5 >= usize::try_from(size).unwrap_or(usize::MAX) * 4
}

/// Assign Product: 201 new, 200 already direct; 404 for a user not on the team
/// (UNCONFIRMED: 404 rather than 422); 422 for an unknown or hidden product, a pool
/// not current (UNCONFIRMED), a full pool (UNCONFIRMED type), an exhausted quota.
pub async fn assign(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    bytes: Bytes,
) -> Response {
    let new: NewAssignment = match body(&ctx, &bytes) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if new.assignment_type.as_deref().is_some_and(|t| t != DIRECT) {
        return invalid(
            &ctx,
            "assignmentType",
            "only DIRECT assignments can be created",
        );
    }
    let mut s = st.lock().unwrap();
    let now = s.now();
    let utc = s.utc_now();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let team_id = team.id.clone();
    let (user, product) = (new.user_id, new.product_id);
    if team.role(&user).is_none() {
        return not_found(&ctx, "The user is not on the team.");
    }
    let Some(pool) = team.pool(&product) else {
        return unprocessable(
            &ctx,
            UNSUPPORTED_PRODUCT,
            "The product is unknown or its pool is not supported.",
        );
    };
    if !current(&s, pool) {
        return unprocessable(&ctx, POOL_NOT_ACTIVE, "The product pool is not current.");
    }
    let already = team.has_direct(&user, &product);
    let holds = team
        .effective(Duration::ZERO)
        .contains_key(&(user.clone(), product.clone()));
    let full = pool
        .seats
        .is_some_and(|seats| team.holders(&product) as u64 >= seats);
    let answer = |s: &FakeState, near: bool| {
        let mut a = assignment_json(s, &team_id, &user, &product, DIRECT);
        a["reassignmentQuotaNearingLimit"] = json!(near);
        a
    };
    let team = s.team_mut(&team_id).expect("checked");
    let pool = team
        .pools
        .iter_mut()
        .find(|p| p.product_id == product && !p.hidden)
        .expect("checked");
    let quota = quota_state(pool, now);
    if already {
        let near = quota.is_some_and(|(size, used, _)| nearing(used, size));
        return axum::Json(answer(&s, near)).into_response();
    }
    // UNCONFIRMED: a user holding the product through a group or the team takes no
    // new seat when assigned it directly (and shows as DIRECT from then on).
    if !holds && full {
        return unprocessable(&ctx, NO_SEATS, "The product pool has no seat available.");
    }
    let mut near = false;
    if let Some((size, used, freed)) = quota {
        let reassignment = !holds && freed > used;
        if reassignment && used >= usize::try_from(size).unwrap_or(usize::MAX) {
            let oldest = pool.reassigned.iter().min().copied().unwrap_or(now);
            let window = pool.quota.expect("a quota").window;
            let reset = utc + (oldest + window).saturating_duration_since(now);
            return problem_with(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                QUOTA_EXHAUSTED,
                "Reassignment quota exhausted",
                "The team has used its reassignment quota for this product pool.",
                Some(json!({"data": {"nextQuotaResetDate": vendor_date(reset)}})),
            );
        }
        if reassignment {
            pool.reassigned.push(now);
        }
        near = nearing(used + usize::from(reassignment), size);
    }
    team.direct.push(Direct {
        user: user.clone(),
        product: product.clone(),
        since: Some(Instant::now()),
        until: None,
    });
    (StatusCode::CREATED, axum::Json(answer(&s, near))).into_response()
}

/// Unassign Product (UNCONFIRMED: `userId` and `productId` query parameters; 204):
/// 404 when the user holds no seat of the product, 422 when only inherited ones are
/// left, 422 for an unknown or hidden product.
pub async fn unassign(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = only(&ctx, &q, &["userId", "productId"]) {
        return r;
    }
    let (Some(user), Some(product)) = (q.get("userId"), q.get("productId")) else {
        return invalid(&ctx, "userId", "userId and productId are required");
    };
    let mut s = st.lock().unwrap();
    let now = s.now();
    let team = match team_of(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let team_id = team.id.clone();
    if team.pool(product).is_none() {
        return unprocessable(
            &ctx,
            UNSUPPORTED_PRODUCT,
            "The product is unknown or its pool is not supported.",
        );
    }
    let inherited = team
        .inherited
        .contains_key(&(user.clone(), product.clone()));
    let team = s.team_mut(&team_id).expect("checked");
    let Some(direct) = team
        .direct
        .iter_mut()
        .find(|d| d.until.is_none() && d.user == *user && d.product == *product)
    else {
        return if inherited {
            unprocessable(
                &ctx,
                INHERITED_ONLY,
                "Only inherited (group or team) assignments remain; they cannot be removed here.",
            )
        } else {
            not_found(&ctx, "The user has no assignment of this product.")
        };
    };
    direct.until = Some(Instant::now());
    if !inherited {
        // A seat is freed: assigning it again within the window is a reassignment.
        let pool = team
            .pools
            .iter_mut()
            .find(|p| p.product_id == *product && !p.hidden)
            .expect("checked");
        pool.freed.push(now);
    }
    StatusCode::NO_CONTENT.into_response()
}
