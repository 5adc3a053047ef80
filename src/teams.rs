//! What `accord teams` shows: the teams a backend holds (on the vendor, those the
//! login administers) and for each its pools, with seats used and total (or
//! unlimited), their dates and whether they are current, in text or JSON.
//!
//! It reads the backend's state as `fetch` gives it, so it shows what `plan` diffs
//! against: seats used are the direct and inherited holders the assignments list,
//! and a product with a pool running out and its renewal shows the pool accord uses
//! (the current one).

use serde::Serialize;

use crate::state::{PoolState, State, TeamState};
use crate::time::format_date;

/// The version of the JSON form.
pub const VERSION: u32 = 1;

/// Every team, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The JSON form's version.
    pub version: u32,
    /// The backend, as `--backend` named it (no secret).
    pub backend: String,
    /// The teams, by id.
    pub teams: Vec<TeamRow>,
}

/// One team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamRow {
    /// The vendor's team id (what the configuration's `teams[].id` names).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// How many users it has.
    pub users: usize,
    /// Its pools, by product.
    pub pools: Vec<PoolRow>,
}

/// One product pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolRow {
    /// The product, as the configuration names it.
    pub product: String,
    /// Seats held (direct and inherited).
    pub used: usize,
    /// Of which inherited (through a group or the whole team).
    pub inherited: usize,
    /// Seats in the pool; `null` when unlimited.
    pub seats: Option<u32>,
    /// Whether the pool is unlimited.
    pub unlimited: bool,
    /// When it starts (`YYYY-MM-DD`), if known.
    pub starts: Option<String>,
    /// When it ends, if known.
    pub ends: Option<String>,
    /// Whether seats of it can be assigned now (`start <= now < end`).
    pub current: bool,
}

/// The listing of `state`'s teams at `now` (Unix seconds).
#[must_use]
pub fn listing(backend: &str, state: &State, now: i64) -> Listing {
    Listing {
        version: VERSION,
        backend: backend.to_owned(),
        teams: state
            .teams
            .iter()
            .map(|(id, team)| team_row(id, team, now))
            .collect(),
    }
}

fn team_row(id: &str, team: &TeamState, now: i64) -> TeamRow {
    TeamRow {
        id: id.to_owned(),
        name: team.name.clone(),
        users: team.users.len(),
        pools: team
            .pools
            .iter()
            .map(|(product, pool)| pool_row(product, pool, now))
            .collect(),
    }
}

fn pool_row(product: &str, pool: &PoolState, now: i64) -> PoolRow {
    PoolRow {
        product: product.to_owned(),
        used: pool.direct.union(&pool.inherited).count(),
        inherited: pool.inherited.difference(&pool.direct).count(),
        seats: pool.seats.filter(|_| !pool.unlimited),
        unlimited: pool.unlimited,
        starts: pool.starts.map(format_date),
        ends: pool.ends.map(format_date),
        current: pool.is_current(now),
    }
}

impl Listing {
    /// The text form: one block per team, one line per pool, aligned.
    #[must_use]
    pub fn text(&self) -> String {
        if self.teams.is_empty() {
            return format!(
                "{} holds no team (on the vendor: the login administers none, or none is an eligible Commercial team).\n",
                self.backend
            );
        }
        let mut out = String::new();
        for team in &self.teams {
            let users = if team.users == 1 { "user" } else { "users" };
            out.push_str(&format!(
                "team {} ({}): {} {users}\n",
                team.id, team.name, team.users
            ));
            if team.pools.is_empty() {
                out.push_str("  no product pool the API can assign\n");
            }
            let width = team
                .pools
                .iter()
                .map(|p| p.product.len())
                .max()
                .unwrap_or(0);
            for pool in &team.pools {
                let total = pool
                    .seats
                    .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
                let inherited = match pool.inherited {
                    0 => String::new(),
                    n => format!(" ({n} inherited)"),
                };
                let dates = format!(
                    "{} to {}",
                    pool.starts.as_deref().unwrap_or("-"),
                    pool.ends.as_deref().unwrap_or("-")
                );
                let state = if pool.current {
                    "current"
                } else {
                    "not current"
                };
                out.push_str(&format!(
                    "  {:width$}  {} of {total} used{inherited}  {dates}  {state}\n",
                    pool.product, pool.used
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Email;

    #[test]
    fn pools_show_use_size_dates_and_whether_current() {
        let mut state = State::default();
        let mut team = TeamState {
            name: "ACME EU".into(),
            users: [Email::new("a@x"), Email::new("b@x")].into(),
            ..TeamState::default()
        };
        team.pools.insert(
            "AutoCAD".into(),
            PoolState {
                seats: Some(10),
                starts: Some(0),
                ends: Some(2_000_000_000),
                direct: [Email::new("a@x")].into(),
                inherited: [Email::new("b@x")].into(),
                ..PoolState::default()
            },
        );
        team.pools.insert(
            "Revit".into(),
            PoolState {
                unlimited: true,
                starts: Some(1_900_000_000),
                ..PoolState::default()
            },
        );
        state.teams.insert("100001".into(), team);
        let listing = listing("autodesk://?region=US", &state, 1_800_000_000);
        let text = listing.text();
        assert!(text.contains("team 100001 (ACME EU): 2 users"), "{text}");
        assert!(
            text.contains("AutoCAD  2 of 10 used (1 inherited)  1970-01-01 to 2033-05-18  current"),
            "{text}"
        );
        assert!(
            text.contains("Revit    0 of unlimited used  2030-03-17 to -  not current"),
            "{text}"
        );
        let json = serde_json::to_value(&listing).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(
            json["teams"][0]["pools"][1]["seats"],
            serde_json::Value::Null
        );
        assert_eq!(json["teams"][0]["pools"][1]["unlimited"], true);
        assert_eq!(json["teams"][0]["pools"][0]["used"], 2);
    }

    #[test]
    fn no_team_is_said_plainly() {
        let text = listing("sqlite:x.db", &State::default(), 0).text();
        assert!(text.starts_with("sqlite:x.db holds no team"), "{text}");
    }
}
