//! A stateful fake of the vendor's Team Admin API (`team-admin/v1`) and of the OAuth
//! endpoints it needs (`authentication/v2/authorize` and `token`), built from the
//! fact sheet `../shared/aps/team-admin.md` and `authentication.openapi.yaml`.
//!
//! It rejects what the vendor would: a two-legged token on a team path, an expired or
//! unknown token, a token without an operation's scopes, `limit` outside 1-100 or a
//! cursor it did not hand out, unknown query parameters or body fields, a team the
//! admin does not administer (the same 403 as an unknown or ineligible team), an
//! unknown or hidden product id, a full pool, an exhausted reassignment quota, a
//! reused refresh token or authorization code, a wrong PKCE verifier. It produces
//! what accord must cope with: pages with `hasMore`/`cursor`, inherited (group, team)
//! assignments that cannot be removed, unlimited and future pools with `null`
//! quantities, converging writes (200 for what exists, 201 for what is new), a
//! team-wide assignment listing that lags behind writes while a per-user one does not,
//! 60 calls per (scalable) minute per team with `X-RateLimit-*` headers and 429 +
//! `Retry-After`, another client spending part of each team's budget, 503 under load,
//! single-use refresh tokens and expiring access tokens on a clock the test moves.
//!
//! Faults (the ACC fake's, [`Fault`]: targeted once each, or a seeded fraction of all
//! requests) strike any request, the token endpoint's too, before the request is
//! carried out or after it (a write committed, its answer lost). Every request is
//! logged ([`FakeState::log`]: label, team, when, status), faulted or not.
//!
//! Where the fact sheet says UNCONFIRMED, the choice made is one constant or function
//! below marked "UNCONFIRMED" (the lead's client makes the same choices).
//!
//! Start one with [`Setup`]: `Setup::new().team("100001", "Acme").users(3).pool(..).start()`.

// The lead's end-to-end tests and benchmarks use parts of this API that the checks
// of the fake itself (`fake_checks.rs`) do not.
#![allow(dead_code)]
// The `Err` of the handlers' helpers is the HTTP answer itself, built once for a
// refused call (as in the ACC fake): boxing it would only add noise to a test fake.
#![allow(clippy::result_large_err)]

// Paths given, so the file also builds where it is included by `#[path]` (the benchmark).
#[path = "fake/api.rs"]
mod api;
#[path = "fake/oauth.rs"]
mod oauth;

pub use oauth::challenge_of;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

// What this fake shares with the ACC fake: its fault model, its server, Basic auth.
use crate::acc::fake as shared;
pub use shared::{Fault, FaultKind, FaultTime, RandomFaults};

/// One vendor app for both fakes (so accord's one login serves ACC and teams).
pub use shared::{CLIENT_ID, CLIENT_SECRET};
/// The automation admin who logs in (a primary admin of every team [`Setup::team`] adds).
pub const ADMIN_ID: &str = "US0000000001";
pub const ADMIN_EMAIL: &str = "automation-admin@acme.example";
/// The domain of the users [`Setup::users`] adds, unless the team has domains.
pub const DOMAIN: &str = "acme.example";

/// The Team Admin API's base path (documented).
pub const API: &str = "/team-admin/v1";
/// The token endpoint (documented).
pub const TOKEN_PATH: &str = "/authentication/v2/token";
/// The authorization endpoint (documented).
pub const AUTHORIZE_PATH: &str = "/authentication/v2/authorize";

pub const TEAM_READ: &str = "tmadmapi:team:read";
pub const TEAM_WRITE: &str = "tmadmapi:team:write";
pub const USERS_READ: &str = "tmadmapi:team-users:read";
pub const USERS_WRITE: &str = "tmadmapi:team-users:write";
pub const PRODUCTS_READ: &str = "tmadmapi:team-products:read";
pub const PRODUCTS_WRITE: &str = "tmadmapi:team-products:write";
/// The six scopes a reconciler asks for.
pub const SCOPES: [&str; 6] = [
    TEAM_READ,
    TEAM_WRITE,
    USERS_READ,
    USERS_WRITE,
    PRODUCTS_READ,
    PRODUCTS_WRITE,
];

/// The vendor's problem type URIs are `{PROBLEMS}/{slug}`.
pub const PROBLEMS: &str = "https://developer.api.autodesk.com/problems";

/// The `type` slugs of the problems the fake answers.
pub mod problem {
    /// 400 for a bad parameter or body (documented).
    pub const INVALID_REQUEST: &str = "invalid-request";
    /// 422 when the pool's reassignment quota is used up (documented).
    pub const QUOTA_EXHAUSTED: &str = "reassignment-quota-exhausted";
    /// UNCONFIRMED: 403 for an unknown, foreign or ineligible team (one answer for all).
    pub const FORBIDDEN: &str = "forbidden";
    /// UNCONFIRMED: 404 for a user not on the team, or nothing to unassign.
    pub const NOT_FOUND: &str = "not-found";
    /// UNCONFIRMED: 422 for an unknown product id or a hidden / unsupported pool.
    pub const UNSUPPORTED_PRODUCT: &str = "unsupported-product";
    /// UNCONFIRMED: 422 when a limited pool has no free seat.
    pub const NO_SEATS: &str = "no-seats-available";
    /// UNCONFIRMED: 422 when a pool is not current (future or ended) on assign.
    pub const POOL_NOT_ACTIVE: &str = "product-pool-not-active";
    /// UNCONFIRMED: 422 on unassign when only inherited assignments remain.
    pub const INHERITED_ONLY: &str = "inherited-assignment";
    /// UNCONFIRMED: 422 on Add Team User when an invitation conflicts.
    pub const INVITATION_CONFLICT: &str = "invitation-conflict";
    /// UNCONFIRMED: 429 over the team's (or List Teams') budget.
    pub const TOO_MANY: &str = "too-many-requests";
    /// UNCONFIRMED: 503 under load.
    pub const UNAVAILABLE: &str = "service-unavailable";
}

/// The gateway's answers (`application/json` `{developerMessage, userMessage,
/// errorCode}`): status and error code.
pub mod gateway {
    use axum::http::StatusCode;
    /// A missing, unknown or expired access token (inferred: 401).
    pub const EXPIRED: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "AUTH-006");
    /// UNCONFIRMED: a two-legged token on a team path (403 rather than 401).
    pub const TWO_LEGGED: (StatusCode, &str) = (StatusCode::FORBIDDEN, "AUTH-001");
    /// UNCONFIRMED code: a token without the operation's scopes.
    pub const SCOPE: (StatusCode, &str) = (StatusCode::FORBIDDEN, "AUTH-010");
}

/// A user's role on a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    PrimaryAdmin,
    SecondaryAdmin,
    SsoAdmin,
    User,
    ExternalUser,
}

impl Role {
    /// UNCONFIRMED: the admin names (`USER` and `EXTERNAL_USER` are documented).
    pub fn wire(self) -> &'static str {
        match self {
            Self::PrimaryAdmin => "PRIMARY_ADMIN",
            Self::SecondaryAdmin => "SECONDARY_ADMIN",
            Self::SsoAdmin => "SSO_ADMIN",
            Self::User => "USER",
            Self::ExternalUser => "EXTERNAL_USER",
        }
    }

    /// Whether the role may use the API on its team.
    pub fn admin(self) -> bool {
        matches!(
            self,
            Self::PrimaryAdmin | Self::SecondaryAdmin | Self::SsoAdmin
        )
    }
}

/// How an assignment that is not direct is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherited {
    Group,
    Team,
}

impl Inherited {
    /// UNCONFIRMED: the names of the inherited `assignmentType`s (`DIRECT` is documented).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Group => "GROUP",
            Self::Team => "TEAM",
        }
    }
}

/// The `assignmentType` of a direct assignment (documented).
pub const DIRECT: &str = "DIRECT";

/// A person known to the vendor (one id across teams).
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The reassignment quota of a pool: at most `size` reassignments in any `window`
/// (on the fake's clock). UNCONFIRMED: a reassignment is assigning a seat of the pool
/// while a seat was freed (unassigned) within the window and not yet reassigned.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub size: u32,
    pub window: Duration,
}

/// One team's seats for one product.
#[derive(Debug, Clone)]
pub struct Pool {
    pub product_id: String,
    pub name: String,
    /// `None`: unlimited.
    pub seats: Option<u64>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Hidden or unsupported: never listed, 422 on assign / unassign.
    pub hidden: bool,
    pub quota: Option<Quota>,
    /// When seats were freed, and when reassigned (fake clock), for the quota.
    pub freed: Vec<Instant>,
    pub reassigned: Vec<Instant>,
}

impl Pool {
    /// A current pool of `seats` seats (started 30 days ago, ending in a year).
    pub fn limited(product_id: &str, name: &str, seats: u64) -> Self {
        let today =
            Timestamp::from_second(Timestamp::now().as_second() / 86_400 * 86_400).expect("a day");
        Self {
            product_id: product_id.to_owned(),
            name: name.to_owned(),
            seats: Some(seats),
            start: today - Duration::from_secs(30 * 86_400),
            end: today + Duration::from_secs(365 * 86_400),
            hidden: false,
            quota: None,
            freed: Vec::new(),
            reassigned: Vec::new(),
        }
    }

    /// A current pool without a seat count.
    pub fn unlimited(product_id: &str, name: &str) -> Self {
        Self {
            seats: None,
            ..Self::limited(product_id, name, 0)
        }
    }

    /// Starts in 30 days, for a year.
    #[must_use]
    pub fn future(mut self) -> Self {
        self.start = self.end - Duration::from_secs(335 * 86_400);
        self.end = self.start + Duration::from_secs(365 * 86_400);
        self
    }

    /// Hidden or unsupported: never listed.
    #[must_use]
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Dates as the vendor writes them (`2026-01-01T00:00:00.000Z`).
    #[must_use]
    pub fn dates(mut self, start: &str, end: &str) -> Self {
        self.start = start.parse().expect("a start date");
        self.end = end.parse().expect("an end date");
        self
    }

    /// At most `size` reassignments in any `window`.
    #[must_use]
    pub fn quota(mut self, size: u32, window: Duration) -> Self {
        self.quota = Some(Quota { size, window });
        self
    }
}

/// A direct assignment, with when it was made and removed (real time, for the lag
/// of team-wide listings; `None`: always, set up by the test).
#[derive(Debug, Clone)]
pub struct Direct {
    pub user: String,
    pub product: String,
    pub since: Option<Instant>,
    pub until: Option<Instant>,
}

/// One team's budget in the current window.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// The window's index: unix time / minute.
    pub window: u128,
    /// Calls counted in the window (accord's and the other client's).
    pub used: u32,
    /// The other client's calls made in the window.
    pub other_done: u32,
    /// The other client's calls, all windows: made, and refused (over the limit).
    pub other_total: u64,
    pub other_refused: u64,
    /// Requests answered 429 for the budget, all windows.
    pub throttled: u64,
}

/// Another app or admin using the same team's budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OtherClient {
    None,
    /// Spends this share of each window's limit in calls spread evenly over it.
    Spread(f64),
    /// Spends this share of each window's limit at the window's start.
    Burst(f64),
}

/// The budgets.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Calls per window, per team (and for List Teams, per client id).
    pub per_window: u32,
    /// The length of a "UTC minute"; windows are aligned to multiples of it.
    pub minute: Duration,
    pub other: OtherClient,
}

/// A team.
#[derive(Debug, Clone)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// Ineligible (non-Commercial) teams answer the same 403 as unknown ones.
    pub eligible: bool,
    /// Email domains of the team's own users: others are `EXTERNAL_USER`s (none: all
    /// are `USER`s).
    pub domains: Vec<String>,
    /// Users and their roles, in listing order.
    pub members: Vec<(String, Role)>,
    pub pools: Vec<Pool>,
    /// Direct assignments, removed ones included (`until`).
    pub direct: Vec<Direct>,
    /// Inherited assignments by (user id, product id).
    pub inherited: BTreeMap<(String, String), Inherited>,
    /// Emails (lower case) whose invitation conflicts (422).
    pub invite_conflicts: BTreeSet<String>,
    /// Emails invited (users added by Add Team User), in order.
    pub invitations: Vec<String>,
    pub bucket: Bucket,
}

impl Team {
    fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            eligible: true,
            domains: Vec::new(),
            members: Vec::new(),
            pools: Vec::new(),
            direct: Vec::new(),
            inherited: BTreeMap::new(),
            invite_conflicts: BTreeSet::new(),
            invitations: Vec::new(),
            bucket: Bucket::default(),
        }
    }

    pub fn role(&self, user: &str) -> Option<Role> {
        self.members
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, r)| *r)
    }

    /// The pool of `product` that can be listed and assigned.
    pub fn pool(&self, product: &str) -> Option<&Pool> {
        self.pools
            .iter()
            .find(|p| p.product_id == product && !p.hidden)
    }

    /// Whether `user` holds `product` directly now.
    pub fn has_direct(&self, user: &str, product: &str) -> bool {
        self.direct
            .iter()
            .any(|d| d.until.is_none() && d.user == user && d.product == product)
    }

    /// The effective assignments (user id, product id) -> type, now, or as a team-wide
    /// listing shows them `lag` behind.
    pub fn effective(&self, lag: Duration) -> BTreeMap<(String, String), &'static str> {
        let now = Instant::now();
        let shown = |at: Instant| at + lag <= now;
        let mut out: BTreeMap<(String, String), &'static str> = self
            .inherited
            .iter()
            .map(|(k, v)| (k.clone(), v.wire()))
            .collect();
        for d in &self.direct {
            let made = d.since.is_none_or(shown);
            let removed = d.until.is_some_and(shown);
            if made && !removed {
                out.insert((d.user.clone(), d.product.clone()), DIRECT);
            }
        }
        out
    }

    /// Users holding `product` now (directly or not).
    pub fn holders(&self, product: &str) -> usize {
        self.effective(Duration::ZERO)
            .keys()
            .filter(|(_, p)| p == product)
            .count()
    }
}

/// Who logs in at the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The admin with this user id consents.
    As(String),
    /// The user refuses (`error=access_denied`).
    Deny,
}

/// An access token.
#[derive(Debug, Clone)]
pub struct Access {
    /// The admin it acts for; `None`: two-legged.
    pub user: Option<String>,
    pub scopes: BTreeSet<String>,
    /// On the fake's clock.
    pub expires: Instant,
}

/// A refresh token.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub user: String,
    pub scopes: BTreeSet<String>,
    pub expires: Instant,
    /// Used once already (refused from then on).
    pub used: bool,
}

/// An authorization code handed out by the authorization endpoint.
#[derive(Debug, Clone)]
pub struct Code {
    pub user: String,
    pub scopes: BTreeSet<String>,
    pub redirect_uri: String,
    pub challenge: String,
    pub expires: Instant,
    pub used: bool,
}

/// A pair of tokens issued (by the token endpoint or [`FakeState::issue`]).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET teams/{id}/users`, `POST token`, ...
    pub label: String,
    /// The team in the path, if any.
    pub team: Option<String>,
    pub at: Instant,
    pub wall: SystemTime,
    /// The status answered; 0 for a dropped connection.
    pub status: u16,
    /// Whether it spent a call of a budget (the team's, or List Teams').
    pub counted: bool,
}

/// Where the request is in [`FakeState::log`] (a request extension).
#[derive(Debug, Clone, Copy)]
struct LogIndex(usize);

/// Everything the fake holds; tests read and steer it through [`Fake::state`].
#[derive(Debug)]
pub struct FakeState {
    pub people: Vec<Person>,
    pub teams: Vec<Team>,
    pub limits: Limits,
    /// List Teams' buckets, by client id.
    pub client_buckets: BTreeMap<String, Bucket>,
    /// The next N team calls answer 503 with `Retry-After: overload_retry_after`.
    pub overload: u32,
    pub overload_retry_after: u64,
    /// How long a write takes to show in team-wide (unfiltered by user) listings.
    pub lag: Duration,
    /// Added to the real clock for tokens, codes and quotas ([`FakeState::advance`]).
    pub offset: Duration,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub code_lifetime: Duration,
    pub tokens: BTreeMap<String, Access>,
    pub refresh_tokens: BTreeMap<String, Refresh>,
    pub codes: BTreeMap<String, Code>,
    pub login: Login,
    /// Registered callback URLs; empty: any `http://127.0.0.1:PORT/...` or
    /// `http://localhost:PORT/...`.
    pub redirect_uris: Vec<String>,
    /// The last authorization request's parameters.
    pub last_authorize: Option<BTreeMap<String, String>>,
    /// Another fake (the ACC one's URL) that answers every path this one does not
    /// serve, and the token endpoint's `client_credentials` grants: one base URL for
    /// the whole vendor ([`Setup::upstream`]).
    pub upstream: Option<String>,
    /// Tokens issued by the token endpoint, by grant type.
    pub grants: BTreeMap<String, u64>,
    /// Every request received, in order.
    pub log: Vec<Received>,
    /// Requests carried out (past the token, scope, team and budget checks), by label.
    pub carried: BTreeMap<String, u64>,
    /// Targeted faults, each used once, the first matching a request's label first.
    pub faults: Vec<Fault>,
    /// A fraction of every request fails.
    pub random: Option<RandomFaults>,
    next_id: u64,
}

impl FakeState {
    fn new() -> Self {
        Self {
            people: vec![Person {
                id: ADMIN_ID.to_owned(),
                email: ADMIN_EMAIL.to_owned(),
                first_name: Some("Automation".to_owned()),
                last_name: Some("Admin".to_owned()),
            }],
            teams: Vec::new(),
            limits: Limits {
                per_window: 60,
                minute: Duration::from_secs(60),
                other: OtherClient::None,
            },
            client_buckets: BTreeMap::new(),
            overload: 0,
            overload_retry_after: 1,
            lag: Duration::ZERO,
            offset: Duration::ZERO,
            access_lifetime: Duration::from_secs(3600),
            refresh_lifetime: Duration::from_secs(15 * 86_400),
            code_lifetime: Duration::from_secs(300),
            tokens: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            codes: BTreeMap::new(),
            login: Login::As(ADMIN_ID.to_owned()),
            redirect_uris: Vec::new(),
            last_authorize: None,
            upstream: None,
            grants: BTreeMap::new(),
            log: Vec::new(),
            carried: BTreeMap::new(),
            faults: Vec::new(),
            random: None,
            // Clear of ADMIN_ID's number.
            next_id: 1000,
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:010}", self.next_id)
    }

    /// The fake's clock (tokens, codes, quota windows).
    pub fn now(&self) -> Instant {
        Instant::now() + self.offset
    }

    /// The fake's clock as a date.
    pub fn utc_now(&self) -> Timestamp {
        Timestamp::now() + self.offset
    }

    /// Moves the fake's clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn team_mut(&mut self, id: &str) -> Option<&mut Team> {
        self.teams.iter_mut().find(|t| t.id == id)
    }

    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }

    /// The person with this email (case-insensitively).
    pub fn person_by_email(&self, email: &str) -> Option<&Person> {
        self.people
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(email))
    }

    /// Adds (or finds) the person `email` and puts them on `team` with `role`; their id.
    pub fn add_member(&mut self, team: &str, email: &str, role: Role) -> String {
        let id = if let Some(p) = self.person_by_email(email) {
            p.id.clone()
        } else {
            let id = self.id("US");
            self.people.push(Person {
                id: id.clone(),
                email: email.to_owned(),
                first_name: None,
                last_name: None,
            });
            id
        };
        let team = self.team_mut(team).expect("a team");
        if team.role(&id).is_none() {
            team.members.push((id.clone(), role));
        }
        id
    }

    /// Issues a three-legged pair for `user` with `scopes`, as a login would.
    pub fn issue(&mut self, user: &str, scopes: &[&str]) -> Tokens {
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self.issue_pair(user, &scopes)
    }

    fn issue_pair(&mut self, user: &str, scopes: &BTreeSet<String>) -> Tokens {
        let access = self.id("at");
        let refresh = self.id("rt");
        let now = self.now();
        self.tokens.insert(
            access.clone(),
            Access {
                user: Some(user.to_owned()),
                scopes: scopes.clone(),
                expires: now + self.access_lifetime,
            },
        );
        self.refresh_tokens.insert(
            refresh.clone(),
            Refresh {
                user: user.to_owned(),
                scopes: scopes.clone(),
                expires: now + self.refresh_lifetime,
                used: false,
            },
        );
        Tokens { access, refresh }
    }

    /// Every access token expires now (refresh tokens stay).
    pub fn expire_access_tokens(&mut self) {
        let now = self.now();
        for token in self.tokens.values_mut() {
            token.expires = now;
        }
    }

    /// Every refresh token of `user` is refused from now on (a revoked consent).
    pub fn revoke_refresh_tokens(&mut self, user: &str) {
        for token in self.refresh_tokens.values_mut() {
            if token.user == user {
                token.used = true;
            }
        }
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

    /// Requests of `label` received (faulted, refused or not).
    pub fn received(&self, label: &str) -> u64 {
        self.log.iter().filter(|r| r.label == label).count() as u64
    }

    /// Requests of `label` carried out.
    pub fn count(&self, label: &str) -> u64 {
        self.carried.get(label).copied().unwrap_or_default()
    }

    /// Requests received on `team`'s paths, in order.
    pub fn team_log(&self, team: &str) -> Vec<&Received> {
        self.log
            .iter()
            .filter(|r| r.team.as_deref() == Some(team))
            .collect()
    }

    /// Requests on `team`'s paths that spent a call of its budget, by window (unix
    /// time / minute); the other client's calls are not in it ([`Bucket`]).
    pub fn per_window(&self, team: &str) -> BTreeMap<u128, u32> {
        let mut out = BTreeMap::new();
        for r in self.team_log(team) {
            if r.counted {
                *out.entry(window_of(r.wall, self.limits.minute))
                    .or_default() += 1;
            }
        }
        out
    }

    /// The most requests received on `team`'s paths within any `span` (sliding): how
    /// bursty the calls were.
    pub fn max_in(&self, team: &str, span: Duration) -> usize {
        let at: Vec<Instant> = self.team_log(team).iter().map(|r| r.at).collect();
        let mut most = 0;
        let mut first = 0;
        for (last, t) in at.iter().enumerate() {
            while *t - at[first] > span {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        most
    }

    /// From the first request received on `team`'s paths to the last.
    pub fn wall_time(&self, team: &str) -> Duration {
        let log = self.team_log(team);
        match (log.first(), log.last()) {
            (Some(first), Some(last)) => last.at - first.at,
            _ => Duration::ZERO,
        }
    }

    /// 429s answered on `team`'s paths (the budget's and injected ones).
    pub fn too_many(&self, team: &str) -> usize {
        self.team_log(team)
            .iter()
            .filter(|r| r.status == 429)
            .count()
    }

    /// The other client's calls on `team`: made, refused.
    pub fn other_calls(&self, team: &str) -> (u64, u64) {
        self.team(team)
            .map_or((0, 0), |t| (t.bucket.other_total, t.bucket.other_refused))
    }

    /// Who holds what on `team` now: (email, product id) -> assignment type.
    pub fn holdings(&self, team: &str) -> BTreeMap<(String, String), &'static str> {
        let team = self.team(team).expect("a team");
        team.effective(Duration::ZERO)
            .into_iter()
            .map(|((u, p), t)| ((self.email(&u), p), t))
            .collect()
    }

    /// The direct assignments on `team` now: (email, product id).
    pub fn direct(&self, team: &str) -> BTreeSet<(String, String)> {
        self.holdings(team)
            .into_iter()
            .filter(|(_, t)| *t == DIRECT)
            .map(|(k, _)| k)
            .collect()
    }

    /// The team's users: (email, role).
    pub fn members(&self, team: &str) -> Vec<(String, Role)> {
        let team = self.team(team).expect("a team");
        team.members
            .iter()
            .map(|(u, r)| (self.email(u), *r))
            .collect()
    }

    /// Reassignments counted in the quota window of `product` on `team`.
    pub fn quota_used(&self, team: &str, product: &str) -> usize {
        let now = self.now();
        let team = self.team(team).expect("a team");
        let pool = team.pool(product).expect("a pool");
        let window = pool.quota.map_or(Duration::MAX, |q| q.window);
        pool.reassigned
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < window)
            .count()
    }

    fn email(&self, user: &str) -> String {
        self.person(user)
            .map_or_else(|| user.to_owned(), |p| p.email.clone())
    }
}

/// The window (unix time / minute) `at` falls in.
pub fn window_of(at: SystemTime, minute: Duration) -> u128 {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    ms / minute.as_millis().max(1)
}

/// The fake's setup, one team at a time: the methods after [`Setup::team`] apply to
/// that team.
pub struct Setup {
    state: FakeState,
    /// The team being set up.
    current: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// No teams; [`ADMIN_ID`] logs in; the vendor's limits (60 calls a minute).
    pub fn new() -> Self {
        Self {
            state: FakeState::new(),
            current: 0,
        }
    }

    fn current(&mut self) -> &mut Team {
        self.state
            .teams
            .get_mut(self.current)
            .expect("Setup::team before what goes on it")
    }

    fn current_id(&self) -> String {
        self.state.teams[self.current].id.clone()
    }

    /// A team [`ADMIN_ID`] administers (primary admin).
    #[must_use]
    pub fn team(mut self, id: &str, name: &str) -> Self {
        self.state.teams.push(Team::new(id, name));
        self.current = self.state.teams.len() - 1;
        self.state.add_member(id, ADMIN_EMAIL, Role::PrimaryAdmin);
        self
    }

    /// A team [`ADMIN_ID`] is not on (another admin's).
    #[must_use]
    pub fn foreign_team(mut self, id: &str, name: &str) -> Self {
        self.state.teams.push(Team::new(id, name));
        self.current = self.state.teams.len() - 1;
        self.state
            .add_member(id, "someone-else@other.example", Role::PrimaryAdmin);
        self
    }

    /// [`ADMIN_ID`]'s role on the team (a secondary or SSO admin, or no admin at all).
    #[must_use]
    pub fn admin_as(mut self, role: Role) -> Self {
        let team = self.current();
        if let Some(member) = team.members.iter_mut().find(|(u, _)| u == ADMIN_ID) {
            member.1 = role;
        }
        self
    }

    /// Goes back to the team `id` (added before): what follows applies to it.
    #[must_use]
    pub fn on(mut self, id: &str) -> Self {
        self.current = self
            .state
            .teams
            .iter()
            .position(|t| t.id == id)
            .expect("a team added before");
        self
    }

    /// The team is not eligible (non-Commercial): 403 like an unknown team.
    #[must_use]
    pub fn ineligible(mut self) -> Self {
        self.current().eligible = false;
        self
    }

    /// A domain of the team's own users.
    #[must_use]
    pub fn domain(mut self, domain: &str) -> Self {
        self.current().domains.push(domain.to_owned());
        self
    }

    /// The user `email` with `role` (the same person, id and all, on every team).
    #[must_use]
    pub fn member(mut self, email: &str, role: Role) -> Self {
        let team = self.current_id();
        self.state.add_member(&team, email, role);
        self
    }

    /// `n` users `user0001@DOMAIN`...
    #[must_use]
    pub fn users(mut self, n: usize) -> Self {
        let team = self.current_id();
        for i in 1..=n {
            self.state
                .add_member(&team, &format!("user{i:04}@{DOMAIN}"), Role::User);
        }
        self
    }

    #[must_use]
    pub fn pool(mut self, pool: Pool) -> Self {
        self.current().pools.push(pool);
        self
    }

    /// `email` (a member already) holds `product` directly.
    #[must_use]
    pub fn direct(mut self, email: &str, product: &str) -> Self {
        let user = self.user_id(email);
        self.current().direct.push(Direct {
            user,
            product: product.to_owned(),
            since: None,
            until: None,
        });
        self
    }

    /// `email` (a member already) holds `product` through a group or the team.
    #[must_use]
    pub fn inherited(mut self, email: &str, product: &str, how: Inherited) -> Self {
        let user = self.user_id(email);
        self.current()
            .inherited
            .insert((user, product.to_owned()), how);
        self
    }

    /// Inviting `email` conflicts (422).
    #[must_use]
    pub fn invite_conflict(mut self, email: &str) -> Self {
        self.current()
            .invite_conflicts
            .insert(email.to_ascii_lowercase());
        self
    }

    /// Serves what this fake does not (the ACC paths, two-legged tokens) from the fake
    /// at `url`, so one base URL is the whole vendor.
    #[must_use]
    pub fn upstream(mut self, url: &str) -> Self {
        self.state.upstream = Some(url.to_owned());
        self
    }

    /// Anything else: limits, lag, lifetimes, who logs in.
    #[must_use]
    pub fn with(mut self, change: impl FnOnce(&mut FakeState)) -> Self {
        change(&mut self.state);
        self
    }

    fn user_id(&self, email: &str) -> String {
        self.state
            .person_by_email(email)
            .expect("a member added before")
            .id
            .clone()
    }

    pub fn start(self) -> Fake {
        let state = Arc::new(Mutex::new(self.state));
        let (url, stop) = shared::serve(router(Arc::clone(&state)));
        Fake {
            url,
            state,
            _stop: stop,
        }
    }
}

pub struct Fake {
    /// The vendor's base URL (`ACCORD_ACC_BASE_URL`).
    pub url: String,
    pub state: Arc<Mutex<FakeState>>,
    /// Stops the server when the fake is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Fake {
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    /// `{url}/team-admin/v1{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{API}{path}", self.url)
    }

    /// What points accord at the fake: `ACCORD_ACC_BASE_URL`, `APS_CLIENT_ID`,
    /// `APS_CLIENT_SECRET`.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("ACCORD_ACC_BASE_URL", self.url.clone()),
            ("APS_CLIENT_ID", CLIENT_ID.to_owned()),
            ("APS_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ]
    }

    /// A three-legged pair for [`ADMIN_ID`] with all six scopes.
    pub fn login(&self) -> Tokens {
        self.state().issue(ADMIN_ID, &SCOPES)
    }
}

type Shared = Arc<Mutex<FakeState>>;

fn router(state: Shared) -> Router {
    Router::new()
        .route(TOKEN_PATH, axum::routing::post(oauth::token))
        .route(AUTHORIZE_PATH, get(oauth::authorize))
        .route(&format!("{API}/teams"), get(api::list_teams))
        .route(
            &format!("{API}/teams/{{team}}/users"),
            get(api::list_users).post(api::add_user),
        )
        .route(
            &format!("{API}/teams/{{team}}/users/{{user}}"),
            get(api::get_user),
        )
        .route(
            &format!("{API}/teams/{{team}}/product-pools"),
            get(api::list_pools),
        )
        .route(
            &format!("{API}/teams/{{team}}/assignments"),
            get(api::list_assignments)
                .post(api::assign)
                .delete(api::unassign),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            gate,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            inject,
        ))
        .fallback(upstream)
        .with_state(state)
}

/// The label of a request: its method and its route after the base, ids as `{id}`
/// (`GET teams/{id}/users`, `POST token`, `GET authorize`).
pub fn label(method: &str, route: &str) -> String {
    let short = match route {
        TOKEN_PATH => "token".to_owned(),
        AUTHORIZE_PATH => "authorize".to_owned(),
        _ => route
            .strip_prefix(API)
            .unwrap_or(route)
            .trim_start_matches('/')
            .replace("{team}", "{id}")
            .replace("{user}", "{id}"),
    };
    format!("{method} {short}")
}

/// The team id in a request's path.
fn team_in(path: &str) -> Option<String> {
    let rest = path.strip_prefix(API)?.strip_prefix("/teams/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// Logs every request and answers the fault drawn for it, before or after the
/// handler runs.
async fn inject(
    State(st): State<Shared>,
    route: MatchedPath,
    mut request: Request,
    next: Next,
) -> Response {
    let label = label(request.method().as_str(), route.as_str());
    let team = team_in(request.uri().path());
    let (fault, at) = {
        let mut guard = st.lock().unwrap();
        let s = &mut *guard;
        let fault = shared::draw(&mut s.faults, s.random.as_mut(), &label);
        s.log.push(Received {
            label,
            team,
            at: Instant::now(),
            wall: SystemTime::now(),
            status: 0,
            counted: false,
        });
        (fault, s.log.len() - 1)
    };
    request.extensions_mut().insert(LogIndex(at));
    let response = match fault {
        None => next.run(request).await,
        Some((kind, FaultTime::Before)) => shared::failure(kind),
        Some((kind, FaultTime::After)) => {
            drop(next.run(request).await);
            shared::failure(kind)
        }
    };
    let status = match fault {
        Some((FaultKind::Drop, _)) => 0,
        _ => response.status().as_u16(),
    };
    st.lock().unwrap().log[at].status = status;
    response
}

/// What a handler learns from the gate.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    /// The request's path (a problem's `instance`).
    pub instance: String,
    /// The admin the token acts for.
    pub user: String,
    /// The team in the path (checked: the admin administers it).
    pub team: Option<String>,
}

/// The scopes an operation needs, and whether it spends a team's budget (else the
/// client id's, List Teams).
fn needs(label: &str) -> Option<&'static [&'static str]> {
    Some(match label {
        "GET teams" => &[TEAM_READ],
        "GET teams/{id}/users" | "GET teams/{id}/users/{id}" => &[USERS_READ, TEAM_READ],
        "POST teams/{id}/users" => &[USERS_WRITE, TEAM_WRITE],
        "GET teams/{id}/product-pools" | "GET teams/{id}/assignments" => {
            &[PRODUCTS_READ, TEAM_READ]
        }
        "POST teams/{id}/assignments" | "DELETE teams/{id}/assignments" => &[PRODUCTS_WRITE],
        _ => return None,
    })
}

/// The request id answered: the caller's when valid (1-128 of `[A-Za-z0-9._-]`,
/// trimmed), else a generated one.
fn request_id(headers: &HeaderMap, generated: u64) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map_or_else(|| format!("fake-{generated:08}"), str::to_owned)
}

/// Checks what every team operation needs, in the vendor's order as far as known:
/// the token (401), three-legged (403), scopes (403), the team (403), load (503),
/// the budget (429); then runs the handler and adds the rate-limit and request-id
/// headers. The token and authorization endpoints pass through. UNCONFIRMED: only
/// a request past the first five checks spends a call of the budget, and only it
/// carries the rate-limit headers.
async fn gate(
    State(st): State<Shared>,
    route: MatchedPath,
    mut request: Request,
    next: Next,
) -> Response {
    let label = label(request.method().as_str(), route.as_str());
    let Some(scopes) = needs(&label) else {
        return next.run(request).await;
    };
    let instance = request.uri().path().to_owned();
    let (ctx, budget) = {
        let mut s = st.lock().unwrap();
        let generated = s.log.len() as u64;
        let mut ctx = Ctx {
            request_id: request_id(request.headers(), generated),
            instance,
            user: String::new(),
            team: team_in(request.uri().path()),
        };
        match admit(&mut s, &mut ctx, request.headers(), scopes) {
            Ok(budget) => {
                *s.carried.entry(label).or_default() += 1;
                if let Some(LogIndex(at)) = request.extensions().get::<LogIndex>().copied() {
                    s.log[at].counted = true;
                }
                (ctx, budget)
            }
            Err(mut refused) => {
                stamp(&mut refused, &ctx.request_id, None);
                return refused;
            }
        }
    };
    request.extensions_mut().insert(ctx.clone());
    let mut response = next.run(request).await;
    stamp(&mut response, &ctx.request_id, Some(budget));
    response
}

/// The budget left after a call: (remaining, seconds until the window resets).
type Budget = (u32, u64);

fn admit(
    s: &mut FakeState,
    ctx: &mut Ctx,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Budget, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let now = s.now();
    let Some(token) = bearer
        .and_then(|t| s.tokens.get(t))
        .filter(|t| t.expires > now)
    else {
        return Err(gateway_error(
            gateway::EXPIRED,
            "The token has expired or is invalid",
        ));
    };
    let Some(user) = token.user.clone() else {
        return Err(gateway_error(
            gateway::TWO_LEGGED,
            "This API accepts three-legged (user) tokens only",
        ));
    };
    if let Some(missing) = scopes.iter().find(|s| !token.scopes.contains(**s)) {
        return Err(gateway_error(
            gateway::SCOPE,
            &format!("Token does not have the privilege for this request (needs {missing})."),
        ));
    }
    ctx.user = user;
    let Some(team_id) = ctx.team.clone() else {
        // List Teams: the client id's own bucket.
        let limits = s.limits.clone();
        let bucket = s.client_buckets.entry(CLIENT_ID.to_owned()).or_default();
        return spend(bucket, &limits, OtherClient::None, ctx);
    };
    let admitted = s
        .team(&team_id)
        .is_some_and(|t| t.eligible && t.role(&ctx.user).is_some_and(Role::admin));
    if !admitted {
        return Err(forbidden(ctx));
    }
    if s.overload > 0 {
        s.overload -= 1;
        let retry = s.overload_retry_after;
        let mut r = problem(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            problem::UNAVAILABLE,
            "Service Unavailable",
            "The service is under heavy load; retry later.",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return Err(r);
    }
    let limits = s.limits.clone();
    let team = s.team_mut(&team_id).expect("checked");
    spend(&mut team.bucket, &limits, limits.other, ctx)
}

/// The 403 for a team the token may not use: unknown, not administered, ineligible.
pub(crate) fn forbidden(ctx: &Ctx) -> Response {
    problem(
        ctx,
        StatusCode::FORBIDDEN,
        problem::FORBIDDEN,
        "Forbidden",
        "The team does not exist or you are not an administrator of an eligible team.",
    )
}

/// Spends one call of `bucket` in the current window, after the other client's calls
/// due by now.
fn spend(
    bucket: &mut Bucket,
    limits: &Limits,
    other: OtherClient,
    ctx: &Ctx,
) -> Result<Budget, Response> {
    let minute = limits.minute.as_millis().max(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let window = now / minute;
    let elapsed = now % minute;
    if bucket.window != window {
        bucket.window = window;
        bucket.used = 0;
        bucket.other_done = 0;
    }
    let limit = limits.per_window;
    let (share, spread) = match other {
        OtherClient::None => (0.0, false),
        OtherClient::Spread(share) => (share, true),
        OtherClient::Burst(share) => (share, false),
    };
    let calls = share_of(limit, share);
    let due = if spread {
        // The k-th of `calls` falls at (k + 1/2) / calls of the window.
        let due = (u128::from(calls) * elapsed * 2 + minute) / (2 * minute);
        u32::try_from(due).unwrap_or(calls).min(calls)
    } else {
        calls
    };
    while bucket.other_done < due {
        bucket.other_done += 1;
        bucket.other_total += 1;
        if bucket.used < limit {
            bucket.used += 1;
        } else {
            bucket.other_refused += 1;
        }
    }
    let reset = reset_seconds(minute - elapsed);
    if bucket.used >= limit {
        bucket.throttled += 1;
        let mut r = problem(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            problem::TOO_MANY,
            "Too Many Requests",
            "The rate limit of the team was exceeded.",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(reset));
        rate_headers(&mut r, (0, reset));
        return Err(r);
    }
    bucket.used += 1;
    Ok((limit - bucket.used, reset))
}

/// The other client's calls in a window of `limit`.
fn share_of(limit: u32, share: f64) -> u32 {
    let share = share.clamp(0.0, 1.0);
    // A share of at most 60-odd calls: the product fits and is not negative.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let calls = (f64::from(limit) * share).round() as u32;
    calls
}

/// UNCONFIRMED: `X-RateLimit-Reset` (and `Retry-After`) is the number of seconds
/// until the window resets, rounded up, at least 1.
pub fn reset_seconds(ms_left: u128) -> u64 {
    u64::try_from(ms_left.div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

fn rate_headers(response: &mut Response, (remaining, reset): Budget) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

fn stamp(response: &mut Response, request_id: &str, budget: Option<Budget>) {
    if let Some(budget) = budget {
        rate_headers(response, budget);
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
}

/// A gateway error: `application/json` `{developerMessage, userMessage, errorCode}`.
pub(crate) fn gateway_error((status, code): (StatusCode, &str), message: &str) -> Response {
    (
        status,
        axum::Json(json!({"developerMessage": message, "userMessage": "", "errorCode": code})),
    )
        .into_response()
}

/// A problem (RFC 9457, `application/problem+json`).
pub(crate) fn problem(
    ctx: &Ctx,
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
) -> Response {
    problem_with(ctx, status, slug, title, detail, None)
}

/// A problem with more members (`errors`, `data`).
pub(crate) fn problem_with(
    ctx: &Ctx,
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
    extra: Option<Value>,
) -> Response {
    let mut body = json!({
        "type": format!("{PROBLEMS}/{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "instance": ctx.instance,
        "requestId": ctx.request_id,
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            body[k] = v;
        }
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// A 400 `invalid-request` naming the field.
pub(crate) fn invalid(ctx: &Ctx, field: &str, detail: &str) -> Response {
    problem_with(
        ctx,
        StatusCode::BAD_REQUEST,
        problem::INVALID_REQUEST,
        "Invalid request",
        detail,
        Some(json!({"errors": [{"field": field, "title": "Invalid value", "detail": detail}]})),
    )
}

/// Dates as the vendor writes them: `2026-01-01T00:00:00.000Z`.
pub fn vendor_date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A path this fake does not serve: the upstream fake's answer, or 404.
async fn upstream(State(st): State<Shared>, request: Request) -> Response {
    let Some(to) = st.lock().unwrap().upstream.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    forward(&to, parts.method, &parts.uri, &parts.headers, body).await
}

/// The request as `to` answers it (a dropped connection there is one here).
pub(crate) async fn forward(
    to: &str,
    method: axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = reqwest::Client::new()
        .request(method, format!("{to}{path}"))
        .body(body);
    for (name, value) in headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return shared::failure(FaultKind::Drop);
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(bytes) = answer.bytes().await else {
        return shared::failure(FaultKind::Drop);
    };
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
