//! What `accord report seats` shows: seat usage on the live account, per agreement
//! product and team pool, built from a backend's fetched state (and, where the
//! backend keeps one, its history of seat counts), in JSON, Markdown or one
//! self-contained HTML page.
//!
//! This module owns the report's content ([`SeatReport`], what [`build`] decides:
//! free seats, reclaim candidates, expiring pools, time-bound grants, the history
//! per product); `markdown` and `html` only lay it out, and `svg` draws the
//! bars and charts both HTML parts use. The configuration is optional: given, it
//! only adds where each product and seat is declared (or that it is not).
//!
//! Two of the report's terms, from DOMAIN.md's "Teams": a pool with an end date is
//! **expiring** when it ends within 90 days (the report says whether within 30, 60
//! or 90), and every seat of a pool with an end date is a **time-bound grant**: the
//! holder loses it when the pool ends, whatever the configuration says.

mod html;
mod markdown;
mod svg;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::contract::{PoolKind, SeatSample};
use crate::desired::{Declared, Desired};
use crate::state::{Email, MemberState, MemberStatus, State};
use crate::time::format_date;

/// The version of the JSON form (`schemas/seats.schema.json`).
pub const VERSION: u32 = 1;

/// A day, in seconds.
const DAY: i64 = 24 * 60 * 60;

/// The windows an expiring pool is put in, in days.
pub const EXPIRY_WINDOWS: [u32; 3] = [30, 60, 90];

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatReport {
    /// The JSON form's version.
    pub version: u32,
    /// The backend, as `--backend` named it (no secret).
    pub backend: String,
    /// The account's id.
    pub account: String,
    /// The account's display name.
    pub account_name: String,
    /// The revision the state was read at.
    pub revision: u64,
    /// The day the report is of (`YYYY-MM-DD`, the backend's clock): what
    /// "expiring" and "days left" count from.
    pub as_of: String,
    /// Whether the backend keeps a history of seat counts (then each product has
    /// its `history`).
    pub history_kept: bool,
    /// Sums over the products with a limited number of seats.
    pub totals: Totals,
    /// Every agreement product, then every team pool, by owner and product.
    pub products: Vec<ProductUsage>,
    /// Team pools ending within 90 days, soonest first.
    pub expiring: Vec<Expiring>,
    /// Seats of pools with an end date, soonest end first.
    pub time_bound: Vec<TimeBound>,
}

/// Sums over the products with a limited number of seats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Seats in total.
    pub seats: u64,
    /// Seats held.
    pub used: u64,
    /// Seats free.
    pub free: u64,
    /// Seats held by reclaim candidates.
    pub reclaimable: u64,
}

/// One agreement product or team pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductUsage {
    /// An agreement's product or a team's pool.
    pub kind: PoolKind,
    /// The contract number or the team id.
    pub owner: String,
    /// The agreement's or the team's name.
    pub owner_name: String,
    /// The product.
    pub product: String,
    /// Seats held (a team's: direct and inherited).
    pub used: u32,
    /// Seats in total; `null` when unlimited.
    pub seats: Option<u32>,
    /// Seats free (`null` when unlimited; 0 when over-assigned).
    pub free: Option<u32>,
    /// Seats held beyond the total (a backend changed outside accord).
    pub over: u32,
    /// Team pools: when the pool starts and ends (`YYYY-MM-DD`), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts: Option<String>,
    /// See `starts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends: Option<String>,
    /// Whether seats of it can be used now (an agreement's always can).
    pub current: bool,
    /// With a configuration: `file:line` of the declaration, or `not declared`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
    /// Who holds a seat, by email.
    pub holders: Vec<Holder>,
    /// Holders whose seat could be freed: inactive members, and members on no project.
    pub reclaim: Vec<Reclaim>,
    /// Seats used and total over time, oldest first (empty when the backend keeps no history).
    pub history: Vec<Point>,
}

/// A person holding a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Their email.
    pub email: String,
    /// First and last name, when the account has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their status in the account (`unknown`: on a team but not an account member).
    pub status: String,
    /// How many projects they are on.
    pub projects: usize,
    /// Team seats: held through a group or the whole team (set in the portal).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inherited: bool,
    /// With a configuration: `file:line` of the seat's declaration, or `not declared`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

/// Why a holder's seat could be freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReclaimReason {
    /// The member is inactive: the seat does nothing for them.
    Inactive,
    /// The member is on no project.
    NoProject,
}

impl ReclaimReason {
    /// For people.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Inactive => "inactive member",
            Self::NoProject => "on no project",
        }
    }
}

/// A reclaim candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reclaim {
    /// Their email.
    pub email: String,
    /// Why.
    pub reason: ReclaimReason,
}

/// Seats used and total after one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    /// The revision.
    pub revision: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// Seats held.
    pub used: u32,
    /// Seats in total (`null`: unlimited).
    pub seats: Option<u32>,
}

/// A team pool ending soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    /// The team id.
    pub team: String,
    /// The team's name.
    pub team_name: String,
    /// The product.
    pub product: String,
    /// When it ends (`YYYY-MM-DD`).
    pub ends: String,
    /// Whole days from `as_of` to the end (0: it ends today).
    pub days_left: i64,
    /// The smallest window it falls in: 30, 60 or 90 (days).
    pub within_days: u32,
    /// Seats held in it, which lapse with it.
    pub used: u32,
}

/// A seat that lapses when its pool ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeBound {
    /// The team id.
    pub team: String,
    /// The product.
    pub product: String,
    /// The holder.
    pub email: String,
    /// When the seat lapses (`YYYY-MM-DD`).
    pub ends: String,
    /// Whole days from `as_of` (negative: the pool has ended).
    pub days_left: i64,
}

/// What the report is built from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The backend, as named (no secret).
    pub backend: &'a str,
    /// The fetched state.
    pub state: &'a State,
    /// Its revision.
    pub revision: u64,
    /// The backend's clock (Unix seconds).
    pub now: i64,
    /// The backend's seat history, where it keeps one.
    pub history: Option<&'a [SeatSample]>,
    /// The configuration, when one was given.
    pub desired: Option<&'a Desired>,
}

/// Builds the report.
#[must_use]
pub fn build(inputs: &Inputs<'_>) -> SeatReport {
    let state = inputs.state;
    let projects = projects_per_member(state);
    let history = history_by_product(inputs.history.unwrap_or_default());
    let context = Context {
        inputs,
        projects: &projects,
        history: &history,
    };
    let mut products = Vec::new();
    for (number, agreement) in &state.agreements {
        for (name, product) in &agreement.products {
            let holders = product.assigned.iter().map(|email| (email, false));
            products.push(context.usage(
                Pool {
                    kind: PoolKind::Agreement,
                    owner: number,
                    owner_name: &agreement.name,
                    product: name,
                    seats: product.seats,
                    starts: None,
                    ends: None,
                },
                holders,
            ));
        }
    }
    for (id, team) in &state.teams {
        for (name, pool) in &team.pools {
            let holders = pool.direct.iter().map(|email| (email, false)).chain(
                pool.inherited
                    .difference(&pool.direct)
                    .map(|email| (email, true)),
            );
            products.push(context.usage(
                Pool {
                    kind: PoolKind::Team,
                    owner: id,
                    owner_name: &team.name,
                    product: name,
                    seats: pool.seats.filter(|_| !pool.unlimited),
                    starts: pool.starts,
                    ends: pool.ends,
                },
                holders,
            ));
        }
    }
    let expiring = expiring(state, inputs.now);
    let time_bound = time_bound(state, inputs.now);
    SeatReport {
        version: VERSION,
        backend: inputs.backend.to_owned(),
        account: state.account.id.clone(),
        account_name: state.account.name.clone(),
        revision: inputs.revision,
        as_of: format_date(inputs.now),
        history_kept: inputs.history.is_some(),
        totals: totals(&products),
        products,
        expiring,
        time_bound,
    }
}

/// A pool's identity and size, agreement's or team's alike.
struct Pool<'a> {
    kind: PoolKind,
    owner: &'a str,
    owner_name: &'a str,
    product: &'a str,
    seats: Option<u32>,
    starts: Option<i64>,
    ends: Option<i64>,
}

type HistoryKey<'a> = (PoolKind, &'a str, &'a str);

/// What every product's usage is computed against.
struct Context<'a> {
    inputs: &'a Inputs<'a>,
    projects: &'a BTreeMap<&'a Email, usize>,
    history: &'a BTreeMap<HistoryKey<'a>, Vec<Point>>,
}

impl Context<'_> {
    fn usage<'e>(
        &self,
        pool: Pool<'_>,
        holders: impl Iterator<Item = (&'e Email, bool)>,
    ) -> ProductUsage {
        let (seat_kind, product_kind) = match pool.kind {
            PoolKind::Agreement => (Declared::Seat, Declared::Product),
            PoolKind::Team => (Declared::TeamSeat, Declared::TeamPool),
        };
        let product_target = format!("{}/{}", pool.owner, pool.product);
        let holders: Vec<Holder> = holders
            .map(|(email, inherited)| {
                let member = self.inputs.state.members.get(email);
                Holder {
                    email: email.to_string(),
                    name: member.and_then(full_name),
                    status: member
                        .map_or("unknown", |m| status_name(m.status))
                        .to_owned(),
                    projects: self.projects.get(email).copied().unwrap_or(0),
                    inherited,
                    declared: self.declared(seat_kind, &format!("{product_target}/{email}")),
                }
            })
            .collect();
        let reclaim = holders
            .iter()
            .filter_map(|holder| {
                let reason = if holder.status == status_name(MemberStatus::Inactive) {
                    ReclaimReason::Inactive
                } else if holder.projects == 0 {
                    ReclaimReason::NoProject
                } else {
                    return None;
                };
                Some(Reclaim {
                    email: holder.email.clone(),
                    reason,
                })
            })
            .collect();
        let used = u32::try_from(holders.len()).unwrap_or(u32::MAX);
        ProductUsage {
            kind: pool.kind,
            owner: pool.owner.to_owned(),
            owner_name: pool.owner_name.to_owned(),
            product: pool.product.to_owned(),
            used,
            seats: pool.seats,
            free: pool.seats.map(|seats| seats.saturating_sub(used)),
            over: pool.seats.map_or(0, |seats| used.saturating_sub(seats)),
            starts: pool.starts.map(format_date),
            ends: pool.ends.map(format_date),
            current: crate::state::is_current(pool.starts, pool.ends, self.inputs.now),
            declared: self.declared(product_kind, &product_target),
            holders,
            reclaim,
            history: self
                .history
                .get(&(pool.kind, pool.owner, pool.product))
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Where the configuration declares `target`, when a configuration was given.
    fn declared(&self, kind: Declared, target: &str) -> Option<String> {
        let desired = self.inputs.desired?;
        Some(
            desired
                .provenance
                .get(kind, target)
                .map_or_else(|| "not declared".to_owned(), |l| l.file_line()),
        )
    }
}

fn full_name(member: &MemberState) -> Option<String> {
    let parts: Vec<&str> = [&member.first_name, &member.last_name]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn status_name(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::NotInvited => "not_invited",
        MemberStatus::Pending => "pending",
        MemberStatus::Active => "active",
        MemberStatus::Inactive => "inactive",
    }
}

fn projects_per_member(state: &State) -> BTreeMap<&Email, usize> {
    let mut count = BTreeMap::new();
    for project in state.projects.values() {
        for email in project.members.keys() {
            *count.entry(email).or_insert(0) += 1;
        }
    }
    count
}

fn history_by_product(samples: &[SeatSample]) -> BTreeMap<HistoryKey<'_>, Vec<Point>> {
    let mut by_product: BTreeMap<HistoryKey<'_>, Vec<Point>> = BTreeMap::new();
    for sample in samples {
        let count = &sample.count;
        by_product
            .entry((count.kind, count.owner.as_str(), count.product.as_str()))
            .or_default()
            .push(Point {
                revision: sample.revision,
                at: sample.at,
                used: count.used,
                seats: count.seats,
            });
    }
    for points in by_product.values_mut() {
        points.sort_by_key(|p| p.revision);
    }
    by_product
}

fn totals(products: &[ProductUsage]) -> Totals {
    let mut totals = Totals::default();
    for product in products {
        let Some(seats) = product.seats else { continue };
        totals.seats += u64::from(seats);
        totals.used += u64::from(product.used);
        totals.free += u64::from(product.free.unwrap_or(0));
        totals.reclaimable += product.reclaim.len() as u64;
    }
    totals
}

/// Whole days from `now` to `ends`, rounded down (a pool ending later today: 0).
fn days_left(ends: i64, now: i64) -> i64 {
    (ends - now).div_euclid(DAY)
}

fn expiring(state: &State, now: i64) -> Vec<Expiring> {
    let mut found: Vec<Expiring> = state
        .teams
        .iter()
        .flat_map(|(id, team)| {
            team.pools.iter().filter_map(move |(product, pool)| {
                let ends = pool.ends.filter(|&ends| ends > now)?;
                let days = days_left(ends, now);
                let within_days = EXPIRY_WINDOWS
                    .into_iter()
                    .find(|&window| days < i64::from(window))?;
                Some(Expiring {
                    team: id.clone(),
                    team_name: team.name.clone(),
                    product: product.clone(),
                    ends: format_date(ends),
                    days_left: days,
                    within_days,
                    used: u32::try_from(pool.direct.union(&pool.inherited).count())
                        .unwrap_or(u32::MAX),
                })
            })
        })
        .collect();
    found.sort_by(|a, b| {
        (a.days_left, &a.team, &a.product).cmp(&(b.days_left, &b.team, &b.product))
    });
    found
}

fn time_bound(state: &State, now: i64) -> Vec<TimeBound> {
    let mut found: Vec<(i64, TimeBound)> = Vec::new();
    for (id, team) in &state.teams {
        for (product, pool) in &team.pools {
            let Some(ends) = pool.ends else { continue };
            for email in pool.direct.union(&pool.inherited) {
                found.push((
                    ends,
                    TimeBound {
                        team: id.clone(),
                        product: product.clone(),
                        email: email.to_string(),
                        ends: format_date(ends),
                        days_left: days_left(ends, now),
                    },
                ));
            }
        }
    }
    found.sort_by(|(a, x), (b, y)| {
        (a, &x.team, &x.product, &x.email).cmp(&(b, &y.team, &y.product, &y.email))
    });
    found.into_iter().map(|(_, grant)| grant).collect()
}

impl SeatReport {
    /// The versioned JSON form.
    #[must_use]
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The Markdown form, for a pull-request comment.
    #[must_use]
    pub fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// The HTML form: one self-contained page (inline CSS and SVG, no script, no
    /// network address).
    #[must_use]
    pub fn html(&self) -> String {
        html::render(self)
    }

    /// Reclaim candidates over every product, with the product each holds.
    pub(crate) fn reclaim_rows(&self) -> impl Iterator<Item = (&ProductUsage, &Reclaim)> {
        self.products
            .iter()
            .flat_map(|product| product.reclaim.iter().map(move |r| (product, r)))
    }
}

impl ProductUsage {
    /// `AEC Collection (110001234567)` or `team ACME EU (100001)`.
    #[must_use]
    pub fn owner_label(&self) -> String {
        match self.kind {
            PoolKind::Agreement => format!("agreement {} ({})", self.owner_name, self.owner),
            PoolKind::Team => format!("team {} ({})", self.owner_name, self.owner),
        }
    }

    /// `7 of 8`, `3 of unlimited`.
    #[must_use]
    pub fn used_of(&self) -> String {
        match self.seats {
            Some(seats) => format!("{} of {seats}", self.used),
            None => format!("{} of unlimited", self.used),
        }
    }

    /// The share of seats used, 0 to 1 (0 when unlimited or of no seats).
    #[must_use]
    pub fn share(&self) -> f64 {
        match self.seats {
            Some(seats) if seats > 0 => (f64::from(self.used) / f64::from(seats)).min(1.0),
            Some(_) if self.used > 0 => 1.0,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests;
