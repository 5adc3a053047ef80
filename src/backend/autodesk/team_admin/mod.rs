//! The Team Admin half of the vendor backend: the configuration's `teams` on the
//! vendor's named-user teams (`aps/team-admin.md`).
//!
//! - **Reading** a team costs the fewest calls the API allows: its product pools and
//!   its users in pages of 100, and every assignment in one call (the list is not
//!   paginated). Only the teams the configuration declares are read
//!   ([`TeamAdmin::focus`]); `export` and `accord teams` read every team the login
//!   administers. Teams are read side by side: each has its own budget.
//! - **What is whose**: a pool is named by its product's name (the configuration's
//!   words); when a product has two pools (a renewal starting later), the current
//!   one is used. `DIRECT` assignments are accord's; every other type is inherited
//!   (a group or the whole team, set in the portal) and never changed.
//! - **Writing**: one call per change (the API has no bulk operation), the calls of
//!   one batch side by side, each paced by its team's budget. Every write converges:
//!   a user already on the team, a seat already held (200) and a seat already gone
//!   (404) are `already_so`; an unassign refused because the seat is still inherited
//!   (422) is reported, not retried. An exhausted reassignment quota stops the
//!   assignments of that pool (each is refused with the date the quota resets,
//!   without a call); a quota nearing its end is warned about once per pool.
//! - **The vendor's lag**: the team-wide list of assignments may show a write only
//!   after a while (filtered lists are fresh). What this process wrote is
//!   remembered until a read shows it: a read that does not is taken again (with
//!   backoff, within a bound), and the few users still not shown are read one by one
//!   with the fresh per-user filter, so the apply's verification, and the next plan,
//!   see the account as it is.

pub mod client;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use futures_util::future::{BoxFuture, join_all};
use futures_util::stream::{self, StreamExt};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use self::client::{Scope, TeamAdminClient, decode, error};
use self::wire::{Assignment, Assignments, Page, ProductPool, QUOTA_EXHAUSTED, Team, TeamUser};
use crate::call::RetryPolicy;
use crate::contract::{BackendError, Op, Outcome};
use crate::diagnostic::Code;
use crate::state::{Email, PoolState, TeamState};
use crate::time::{Clock, parse_instant};

/// At most this many teams of a batch are worked on at once (each team's calls go one
/// after the other, paced by its budget).
pub const IN_FLIGHT: usize = 8;

/// When the vendor's list still lags past the bound, at most this many users are read
/// one by one (one call each, always fresh); for more, the vendor's answers to this
/// run's writes are taken as what holds.
pub const FEW_USERS: usize = 5;

/// A product pool as the API lists it, with its dates read.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool as listed.
    pub listed: ProductPool,
    /// When it starts (Unix seconds).
    pub starts: Option<i64>,
    /// When it ends (Unix seconds).
    pub ends: Option<i64>,
}

impl Pool {
    fn new(listed: ProductPool) -> Self {
        let date = |d: &Option<String>| d.as_deref().and_then(|t| parse_instant(t).ok());
        Self {
            starts: date(&listed.start_date),
            ends: date(&listed.end_date),
            listed,
        }
    }

    /// Whether it is usable at `now`: `start <= now < end`.
    #[must_use]
    pub fn is_current(&self, now: i64) -> bool {
        crate::state::is_current(self.starts, self.ends, now)
    }
}

/// One team as read: the state the plan diffs (and `accord teams` lists).
#[derive(Debug, Clone)]
pub struct TeamRead {
    /// The team.
    pub team: Team,
    /// The team's state (users, the pool used for each product, assignments).
    pub state: TeamState,
    /// Its users as listed (names and roles).
    pub users: Vec<TeamUser>,
}

/// The vendor's ids of one team's users and products, as last read or written.
#[derive(Debug, Default, Clone)]
struct TeamIds {
    /// Email -> user id.
    users: BTreeMap<Email, String>,
    /// Product name -> the product id of the pool used for it.
    products: BTreeMap<String, String>,
}

/// A write this process made whose effect a team-wide list may not show yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The user holds the product directly.
    Direct,
    /// The user holds no direct seat of it.
    NoDirect,
}

/// One team's answers in a batch: (position in the batch, outcome).
type TeamAnswers = Result<Vec<(usize, Outcome)>, BackendError>;

/// (user id, product id) -> what this process wrote about the pair.
type Written = BTreeMap<(String, String), Expect>;

/// The Team Admin API, for the teams of one login.
#[derive(Debug)]
pub struct TeamAdmin {
    client: TeamAdminClient,
    clock: Arc<dyn Clock>,
    poll: RetryPolicy,
    focus: StdMutex<Option<BTreeSet<String>>>,
    ids: Mutex<BTreeMap<String, TeamIds>>,
    /// Per team: what this process wrote.
    written: Mutex<BTreeMap<String, Written>>,
    /// (team, product) -> when its reassignment quota resets.
    exhausted: Mutex<BTreeMap<(String, String), String>>,
    /// (team, product) pools already warned about a quota nearing its end.
    warned: Mutex<BTreeSet<(String, String)>>,
}

impl TeamAdmin {
    /// The teams of the login `client` calls with; `poll` bounds the wait for the
    /// vendor's lagging list.
    #[must_use]
    pub fn new(client: TeamAdminClient, clock: Arc<dyn Clock>, poll: RetryPolicy) -> Self {
        Self {
            client,
            clock,
            poll,
            focus: StdMutex::new(None),
            ids: Mutex::new(BTreeMap::new()),
            written: Mutex::new(BTreeMap::new()),
            exhausted: Mutex::new(BTreeMap::new()),
            warned: Mutex::new(BTreeSet::new()),
        }
    }

    /// Reads from now on only `teams` (those a configuration declares).
    pub fn focus(&self, teams: &BTreeSet<String>) {
        *self.focus.lock().unwrap_or_else(PoisonError::into_inner) = Some(teams.clone());
    }

    /// Every item of a paginated list.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        path: &str,
    ) -> Result<Vec<T>, BackendError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", wire::PAGE.to_string())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page: Page<T> = self.client.get(scope, path, &query).await?;
            let next = page.next().map(str::to_owned);
            all.extend(page.data);
            match next {
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// The teams the login administers.
    ///
    /// # Errors
    /// The list cannot be read.
    pub async fn list_teams(&self) -> Result<Vec<Team>, BackendError> {
        self.pages(Scope::Teams, "/teams").await
    }

    /// Every team the login administers (those in focus only, when focused), read.
    ///
    /// # Errors
    /// A team cannot be read.
    pub async fn read(&self) -> Result<Vec<TeamRead>, BackendError> {
        let focus = self
            .focus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if focus.as_ref().is_some_and(BTreeSet::is_empty) {
            return Ok(Vec::new());
        }
        let teams: Vec<Team> = self
            .list_teams()
            .await?
            .into_iter()
            .filter(|t| focus.as_ref().is_none_or(|f| f.contains(&t.id)))
            .collect();
        let mut read = Vec::new();
        for (id, result) in join_all(teams.into_iter().map(|team| async {
            let id = team.id.clone();
            (id, self.read_team(team).await)
        }))
        .await
        {
            match result {
                Ok(team) => read.push(team),
                // Listed, yet refused (not eligible, or the role was lost meanwhile):
                // left out, so a declared team is refused by R14 with what to check.
                Err(e) if client::is_forbidden_team(&e) => {
                    tracing::warn!(team = id, "{e}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(read)
    }

    async fn read_team(&self, team: Team) -> Result<TeamRead, BackendError> {
        let scope = Scope::Team(&team.id);
        let base = format!("/teams/{}", team.id);
        let pools: Vec<Pool> = self
            .pages::<ProductPool>(scope, &format!("{base}/product-pools"))
            .await?
            .into_iter()
            .map(Pool::new)
            .collect();
        let users: Vec<TeamUser> = self.pages(scope, &format!("{base}/users")).await?;
        let assignments = self.assignments(&team.id).await?;
        let now = self.clock.now();
        let chosen = choose_pools(&pools, now);
        let mut ids = TeamIds::default();
        let mut state = TeamState {
            name: team.name.clone(),
            ..TeamState::default()
        };
        let mut emails: BTreeMap<&str, Email> = BTreeMap::new();
        for user in &users {
            let email = Email::new(&user.email);
            ids.users.insert(email.clone(), user.id.clone());
            emails.insert(&user.id, email.clone());
            state.users.insert(email);
        }
        let mut names: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, pool) in &chosen {
            ids.products
                .insert((*name).to_owned(), pool.listed.product_id.clone());
            names.insert(&pool.listed.product_id, name);
            state.pools.insert(
                (*name).to_owned(),
                PoolState {
                    seats: if pool.listed.unlimited {
                        None
                    } else {
                        pool.listed.total_quantity
                    },
                    unlimited: pool.listed.unlimited,
                    starts: pool.starts,
                    ends: pool.ends,
                    ..PoolState::default()
                },
            );
        }
        for row in &assignments {
            let Some(name) = names.get(row.product_id.as_str()) else {
                continue; // a pool not used for its product (a renewal not started)
            };
            let email = emails
                .get(row.user_id.as_str())
                .cloned()
                .or_else(|| row.email.as_deref().map(Email::new));
            let (Some(email), Some(pool)) = (email, state.pools.get_mut(*name)) else {
                continue;
            };
            if row.is_direct() {
                pool.direct.insert(email);
            } else {
                pool.inherited.insert(email);
            }
        }
        self.ids.lock().await.insert(team.id.clone(), ids);
        Ok(TeamRead { team, state, users })
    }

    /// Every assignment of `team`, as this process's writes left it: the team-wide
    /// list, taken again while it lags behind them (see the module docs). Looking
    /// again until the list shows them, rather than reading the users apart, is what
    /// makes the next plan (another process, which knows nothing of these writes)
    /// see them too. Past the bound the few users still not shown are read one by
    /// one (fresh), and for more the vendor's answers to the writes are taken.
    async fn assignments(&self, team: &str) -> Result<Vec<Assignment>, BackendError> {
        let path = format!("/teams/{team}/assignments");
        let mut backoff = self.poll.backoff(fastrand::u64(..));
        loop {
            let list: Assignments = self.client.get(Scope::Team(team), &path, &[]).await?;
            let rows = list.data;
            let lagging = self.lagging(team, &rows).await;
            if lagging.is_empty() {
                return Ok(rows);
            }
            if let Some(delay) = backoff.next_delay(None) {
                tracing::debug!(
                    team,
                    writes = lagging.len(),
                    "the vendor's list lags; looking again"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            let users: BTreeSet<String> = lagging.into_iter().map(|(user, _)| user).collect();
            if users.len() > FEW_USERS {
                tracing::warn!(
                    team,
                    users = users.len(),
                    "the vendor's list of assignments still does not show some of this run's writes; taking the vendor's answers to them as what holds"
                );
                return Ok(self.overlay(team, rows).await);
            }
            return self.fresh(team, &path, rows, &users).await;
        }
    }

    /// `rows` with the assignments of `users` read apart (a user's own list is fresh).
    async fn fresh(
        &self,
        team: &str,
        path: &str,
        mut rows: Vec<Assignment>,
        users: &BTreeSet<String>,
    ) -> Result<Vec<Assignment>, BackendError> {
        for user in users {
            let own: Assignments = self
                .client
                .get(Scope::Team(team), path, &[("userId", user.clone())])
                .await?;
            rows.retain(|row| &row.user_id != user);
            rows.extend(own.data);
        }
        // What they hold is what their own lists say, whatever was written.
        if let Some(expected) = self.written.lock().await.get_mut(team) {
            expected.retain(|(user, _), _| !users.contains(user));
        }
        Ok(rows)
    }

    /// The writes of this process `rows` do not show yet; those they show are
    /// forgotten.
    async fn lagging(&self, team: &str, rows: &[Assignment]) -> Vec<(String, String)> {
        let mut written = self.written.lock().await;
        let Some(expected) = written.get_mut(team) else {
            return Vec::new();
        };
        let direct: BTreeSet<(&str, &str)> = rows
            .iter()
            .filter(|r| r.is_direct())
            .map(|r| (r.user_id.as_str(), r.product_id.as_str()))
            .collect();
        expected.retain(|(user, product), expect| {
            let shown = direct.contains(&(user.as_str(), product.as_str()));
            shown != (*expect == Expect::Direct)
        });
        expected.keys().cloned().collect()
    }

    /// `rows` with this process's writes laid over them (the vendor answered each).
    async fn overlay(&self, team: &str, mut rows: Vec<Assignment>) -> Vec<Assignment> {
        let mut written = self.written.lock().await;
        let Some(expected) = written.remove(team) else {
            return rows;
        };
        for ((user, product), expect) in expected {
            rows.retain(|r| !(r.user_id == user && r.product_id == product && r.is_direct()));
            if expect == Expect::Direct {
                rows.push(Assignment {
                    user_id: user,
                    email: None,
                    product_id: product,
                    assignment_type: Some(wire::DIRECT.to_owned()),
                });
            }
        }
        rows
    }

    /// Carries out `ops` (team operations only), one answer each in order: each
    /// team's one after the other (its budget allows one a second anyway, and an
    /// answer such as an exhausted quota must be known before the next is sent), the
    /// teams side by side (each has its own budget).
    ///
    /// # Errors
    /// A call failed as a whole (the login was refused, the vendor unreachable after
    /// the retries); what was done before stays done and converges on the next run.
    pub async fn execute(&self, ops: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let mut by_team: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, op) in ops.iter().enumerate() {
            // A team operation's object is its team.
            by_team.entry(op.object().1).or_default().push(index);
        }
        // Boxed so the futures are `Send` with one lifetime (the trait object the
        // executor calls through needs it).
        let teams: Vec<BoxFuture<'_, TeamAnswers>> = by_team
            .into_values()
            .map(|indices| {
                Box::pin(async move {
                    let mut answers = Vec::with_capacity(indices.len());
                    for index in indices {
                        answers.push((index, self.execute_one(&ops[index]).await?));
                    }
                    Ok(answers)
                }) as _
            })
            .collect();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; ops.len()];
        let answered: Vec<_> = stream::iter(teams)
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for answers in answered {
            for (index, outcome) in answers? {
                outcomes[index] = Some(outcome);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::refused_plain("the backend gave no answer")))
            .collect())
    }

    async fn execute_one(&self, op: &Op) -> Result<Outcome, BackendError> {
        match op {
            Op::TeamMemberAdd {
                team,
                email,
                first_name,
                last_name,
            } => {
                self.add_user(team, email, first_name.as_deref(), last_name.as_deref())
                    .await
            }
            Op::TeamSeatAssign {
                team,
                product,
                email,
            } => self.assign(team, product, email).await,
            Op::TeamSeatUnassign {
                team,
                product,
                email,
            } => self.unassign(team, product, email).await,
            other => Ok(Outcome::refused_plain(format!(
                "the vendor's Team Admin API cannot carry out {}",
                other.name()
            ))),
        }
    }

    async fn user_id(&self, team: &str, email: &Email) -> Option<String> {
        self.ids.lock().await.get(team)?.users.get(email).cloned()
    }

    async fn product_id(&self, team: &str, product: &str) -> Option<String> {
        self.ids
            .lock()
            .await
            .get(team)?
            .products
            .get(product)
            .cloned()
    }

    async fn add_user(
        &self,
        team: &str,
        email: &Email,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> Result<Outcome, BackendError> {
        if self.user_id(team, email).await.is_some() {
            return Ok(Outcome::AlreadySo);
        }
        let body = wire::add_user_body(email.as_str(), first_name, last_name);
        let scope = Scope::Team(team);
        let answer = self
            .client
            .send(
                Method::POST,
                scope,
                &format!("/teams/{team}/users"),
                &[],
                Some(&body),
            )
            .await?;
        match answer.status {
            StatusCode::OK | StatusCode::CREATED => {
                let user: TeamUser = decode(&answer)?;
                self.ids
                    .lock()
                    .await
                    .entry(team.to_owned())
                    .or_default()
                    .users
                    .insert(email.clone(), user.id);
                Ok(if answer.status == StatusCode::CREATED {
                    Outcome::Done
                } else {
                    Outcome::AlreadySo
                })
            }
            StatusCode::UNPROCESSABLE_ENTITY => Ok(Outcome::refused_plain(format!(
                "the vendor could not invite {email} to team {team}: an invitation conflicts and it cannot confirm a matching user on the team ({}); check the person's Autodesk account, or invite them in Autodesk Account under User Management",
                answer.problem().detail
            ))),
            _ => refused_or_failed(&answer, scope),
        }
    }

    async fn assign(
        &self,
        team: &str,
        product: &str,
        email: &Email,
    ) -> Result<Outcome, BackendError> {
        let key = (team.to_owned(), product.to_owned());
        if let Some(reset) = self.exhausted.lock().await.get(&key) {
            return Ok(quota_refusal(team, product, reset));
        }
        let (Some(user), Some(product_id)) = (
            self.user_id(team, email).await,
            self.product_id(team, product).await,
        ) else {
            return Ok(self.unknown(team, product, email).await);
        };
        let scope = Scope::Team(team);
        let body = wire::assign_body(&user, &product_id);
        let answer = self
            .client
            .send(
                Method::POST,
                scope,
                &format!("/teams/{team}/assignments"),
                &[],
                Some(&body),
            )
            .await?;
        match answer.status {
            StatusCode::OK | StatusCode::CREATED => {
                let said: wire::AssignAnswer = decode(&answer).unwrap_or_default();
                if said.reassignment_quota_nearing_limit && self.warned.lock().await.insert(key) {
                    tracing::warn!(
                        team,
                        product,
                        "the vendor says team {team} has used 80% or more of the reassignment quota of its {product} pool: assignments of it may soon be refused until the quota resets"
                    );
                }
                self.wrote(team, user, product_id, Expect::Direct).await;
                Ok(if answer.status == StatusCode::CREATED {
                    Outcome::Done
                } else {
                    Outcome::AlreadySo
                })
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                let problem = answer.problem();
                if problem.kind == QUOTA_EXHAUSTED {
                    let reset = problem
                        .next_reset
                        .unwrap_or_else(|| "a date the vendor did not give".to_owned());
                    self.exhausted.lock().await.insert(key, reset.clone());
                    return Ok(quota_refusal(team, product, &reset));
                }
                Ok(Outcome::refused(
                    Code::R14,
                    format!(
                        "the vendor refused to give {email} a {product} seat of team {team} ({}): the pool may be full or not supported by the API; `accord teams` shows its seats",
                        problem.detail
                    ),
                ))
            }
            _ => refused_or_failed(&answer, scope),
        }
    }

    async fn unassign(
        &self,
        team: &str,
        product: &str,
        email: &Email,
    ) -> Result<Outcome, BackendError> {
        let (Some(user), Some(product_id)) = (
            self.user_id(team, email).await,
            self.product_id(team, product).await,
        ) else {
            // Not on the team, or no such pool: there is no direct seat to take back.
            return Ok(Outcome::AlreadySo);
        };
        let scope = Scope::Team(team);
        let answer = self
            .client
            .send(
                Method::DELETE,
                scope,
                &format!("/teams/{team}/assignments"),
                &wire::unassign_query(&user, &product_id),
                None,
            )
            .await?;
        match answer.status {
            s if s.is_success() => {
                self.wrote(team, user, product_id, Expect::NoDirect).await;
                Ok(Outcome::Done)
            }
            StatusCode::NOT_FOUND => {
                self.wrote(team, user, product_id, Expect::NoDirect).await;
                Ok(Outcome::AlreadySo)
            }
            StatusCode::UNPROCESSABLE_ENTITY => Ok(Outcome::refused_plain(format!(
                "{email} still holds {product} of team {team} through a group or the whole team ({}): the direct seat is gone or was never there; take them off the group in Autodesk Account under User Management",
                answer.problem().detail
            ))),
            _ => refused_or_failed(&answer, scope),
        }
    }

    /// Why an assignment names a user or a product the team does not have.
    async fn unknown(&self, team: &str, product: &str, email: &Email) -> Outcome {
        if self.user_id(team, email).await.is_none() {
            Outcome::refused(
                Code::R07,
                format!(
                    "{email} is not on team {team}: add them to the team first (the plan adds them before it assigns seats; an invitation the vendor refused leaves them out)"
                ),
            )
        } else {
            Outcome::refused(
                Code::R14,
                format!(
                    "{product} is not a pool of team {team} that the API can assign: `accord teams` lists its pools"
                ),
            )
        }
    }

    async fn wrote(&self, team: &str, user: String, product: String, expect: Expect) {
        self.written
            .lock()
            .await
            .entry(team.to_owned())
            .or_default()
            .insert((user, product), expect);
    }
}

/// For each product name, the pool used for it: the current one, else the one that
/// starts first (a product can have a pool running out and its renewal).
fn choose_pools(pools: &[Pool], now: i64) -> BTreeMap<&str, &Pool> {
    let mut chosen: BTreeMap<&str, &Pool> = BTreeMap::new();
    for pool in pools {
        let name = pool.listed.product_name.as_str();
        let better = match chosen.get(name) {
            None => true,
            Some(held) => match (pool.is_current(now), held.is_current(now)) {
                (true, false) => true,
                (false, true) => false,
                _ => pool.starts.unwrap_or(i64::MIN) < held.starts.unwrap_or(i64::MIN),
            },
        };
        if better {
            chosen.insert(name, pool);
        }
    }
    chosen
}

/// The refusal of an assignment from a pool whose reassignment quota is used up.
fn quota_refusal(team: &str, product: &str, reset: &str) -> Outcome {
    Outcome::refused_plain(format!(
        "the reassignment quota of the {product} pool of team {team} is used up until {reset}: the vendor refuses its assignments until then; run `accord apply` again after that date (the other changes were carried out)"
    ))
}

/// A write's answer other than the ones each operation reads: a refused login or team
/// ends the call; anything else refuses the operation with the vendor's words.
fn refused_or_failed(answer: &client::Answer, scope: Scope<'_>) -> Result<Outcome, BackendError> {
    match error(answer, scope) {
        e @ BackendError::Unauthorized { .. } => Err(e),
        other => Ok(Outcome::refused_plain(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, id: &str, starts: &str, ends: &str) -> Pool {
        Pool::new(ProductPool {
            product_id: id.into(),
            product_name: name.into(),
            total_quantity: Some(5),
            assigned_quantity: Some(0),
            unlimited: false,
            start_date: Some(starts.into()),
            end_date: Some(ends.into()),
        })
    }

    #[test]
    fn a_products_current_pool_is_used_before_its_renewal() {
        let now = parse_instant("2026-12-02T00:00:00Z").unwrap();
        let pools = [
            pool(
                "Revit",
                "renewal",
                "2027-01-01T00:00:00.000Z",
                "2028-01-01T00:00:00.000Z",
            ),
            pool(
                "Revit",
                "current",
                "2026-01-01T00:00:00.000Z",
                "2027-01-01T00:00:00.000Z",
            ),
            pool(
                "AutoCAD",
                "later",
                "2027-06-01T00:00:00.000Z",
                "2028-01-01T00:00:00.000Z",
            ),
            pool(
                "AutoCAD",
                "sooner",
                "2027-02-01T00:00:00.000Z",
                "2028-01-01T00:00:00.000Z",
            ),
        ];
        let chosen = choose_pools(&pools, now);
        assert_eq!(chosen["Revit"].listed.product_id, "current");
        assert_eq!(chosen["AutoCAD"].listed.product_id, "sooner");
        assert!(chosen["Revit"].is_current(now));
        assert!(!chosen["AutoCAD"].is_current(now));
    }
}
