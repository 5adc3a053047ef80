//! Named-user teams (DOMAIN.md "Teams"): created and resized, users added and
//! removed, direct seats of a pool given and taken back, each checked as the
//! vendor would (R04 pool sizes, R07 active members only, R09 unknown teams).
//! Inherited seats are never touched by an operation.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::{Checked, Sql, Writer, done_if};
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::Email;

impl Writer<'_, '_> {
    pub(super) fn team_create(
        &self,
        team: &str,
        name: &str,
        seats: &BTreeMap<String, u32>,
    ) -> Sql<Outcome> {
        if let Some(row) = self.team_row(team)? {
            // A create whose answer was lost is found done on the retry, when the
            // team is as it asked; anything else is someone else's team.
            let same_name = self.team_name(row)? == name;
            let mut same_pools = true;
            for (product, &want) in seats {
                same_pools &= self
                    .pool(row, product)?
                    .is_some_and(|(_, have)| have == want);
            }
            return Ok(if same_name && same_pools {
                Outcome::AlreadySo
            } else {
                Outcome::refused_plain(format!(
                    "team {team} already exists with another name or pool sizes; change it with team.update (run `accord plan` again)"
                ))
            });
        }
        self.tx
            .prepare_cached("INSERT INTO teams (team_id, name) VALUES (?1, ?2)")?
            .execute(params![team, name])?;
        let row = self.tx.last_insert_rowid();
        for (product, &count) in seats {
            self.insert_pool(row, product, count)?;
        }
        Ok(Outcome::Done)
    }

    pub(super) fn team_update(
        &self,
        team: &str,
        name: Option<&str>,
        seats: &BTreeMap<String, u32>,
    ) -> Sql<Outcome> {
        let Some(row) = self.team_row(team)? else {
            return Ok(unknown_team(team));
        };
        let mut changed = false;
        if let Some(name) = name {
            changed |= self
                .tx
                .prepare_cached("UPDATE teams SET name = ?2 WHERE id = ?1 AND name <> ?2")?
                .execute(params![row, name])?
                > 0;
        }
        for (product, &count) in seats {
            let Some((pool, have)) = self.pool(row, product)? else {
                self.insert_pool(row, product, count)?;
                changed = true;
                continue;
            };
            if have == count {
                continue;
            }
            let held = self.count("SELECT count(*) FROM team_seats WHERE pool_id = ?1", pool)?;
            if held > i64::from(count) {
                return Ok(Outcome::refused(
                    Code::R04,
                    format!(
                        "team {team}'s {product} pool holds {held} seats; it cannot shrink to {count} before {} are unassigned",
                        held - i64::from(count)
                    ),
                ));
            }
            self.tx
                .prepare_cached("UPDATE team_pools SET seats = ?2 WHERE id = ?1")?
                .execute(params![pool, count])?;
            changed = true;
        }
        Ok(done_if(changed))
    }

    pub(super) fn team_member_add(&self, team: &str, email: &Email) -> Sql<Outcome> {
        let Some(row) = self.team_row(team)? else {
            return Ok(unknown_team(team));
        };
        let member = match self.assignable(email, &format!("a place on team {team}"))? {
            Ok(member) => member,
            Err(refusal) => return Ok(refusal),
        };
        let added = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO team_users (team_id, member_id) VALUES (?1, ?2)",
            )?
            .execute([row, member.id])?;
        Ok(done_if(added > 0))
    }

    pub(super) fn team_member_remove(&self, team: &str, email: &Email) -> Sql<Outcome> {
        let (Some(row), Some(member)) = (self.team_row(team)?, self.member(email)?) else {
            return Ok(Outcome::AlreadySo);
        };
        // Leaving a team frees that team's seats (direct and inherited alike).
        self.tx
            .prepare_cached(
                "DELETE FROM team_seats WHERE member_id = ?2
                   AND pool_id IN (SELECT id FROM team_pools WHERE team_id = ?1)",
            )?
            .execute([row, member.id])?;
        let removed = self
            .tx
            .prepare_cached("DELETE FROM team_users WHERE team_id = ?1 AND member_id = ?2")?
            .execute([row, member.id])?;
        Ok(done_if(removed > 0))
    }

    pub(super) fn team_seat_assign(
        &self,
        team: &str,
        product: &str,
        email: &Email,
    ) -> Sql<Outcome> {
        let (pool, seats) = match self.team_pool(team, product)? {
            Ok(found) => found,
            Err(refusal) => return Ok(refusal),
        };
        let member = match self.assignable(email, &format!("a {product} seat of team {team}"))? {
            Ok(member) => member,
            Err(refusal) => return Ok(refusal),
        };
        if !self.exists(
            "SELECT 1 FROM team_users WHERE team_id = (SELECT team_id FROM team_pools WHERE id = ?1) AND member_id = ?2",
            pool,
            member.id,
        )? {
            return Ok(Outcome::refused(
                Code::R07,
                format!("{email} is not on team {team}; add them first (team_member.add)"),
            ));
        }
        let inherited: Option<bool> = self
            .tx
            .prepare_cached(
                "SELECT inherited FROM team_seats WHERE pool_id = ?1 AND member_id = ?2",
            )?
            .query_row([pool, member.id], |row| row.get(0))
            .optional()?;
        if inherited.is_some() {
            // Held directly, or already through a group: either way they have it.
            return Ok(Outcome::AlreadySo);
        }
        let held = self.count("SELECT count(*) FROM team_seats WHERE pool_id = ?1", pool)?;
        if held >= i64::from(seats) {
            return Ok(Outcome::refused(
                Code::R04,
                format!(
                    "all {seats} seats of team {team}'s {product} pool are taken; unassign one before giving one to {email}"
                ),
            ));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO team_seats (pool_id, member_id, inherited) VALUES (?1, ?2, 0)",
            )?
            .execute([pool, member.id])?;
        Ok(Outcome::Done)
    }

    pub(super) fn team_seat_unassign(
        &self,
        team: &str,
        product: &str,
        email: &Email,
    ) -> Sql<Outcome> {
        let removed = self
            .tx
            .prepare_cached(
                "DELETE FROM team_seats WHERE inherited = 0
                   AND pool_id = (SELECT p.id FROM team_pools p JOIN teams t ON t.id = p.team_id
                                  WHERE t.team_id = ?1 AND p.product = ?2)
                   AND member_id = (SELECT id FROM members WHERE email = ?3)",
            )?
            .execute(params![team, product, email.as_str()])?;
        Ok(done_if(removed > 0))
    }

    fn team_row(&self, team: &str) -> Sql<Option<i64>> {
        self.tx
            .prepare_cached("SELECT id FROM teams WHERE team_id = ?1")?
            .query_row([team], |row| row.get(0))
            .optional()
    }

    fn team_name(&self, row: i64) -> Sql<String> {
        self.tx
            .prepare_cached("SELECT name FROM teams WHERE id = ?1")?
            .query_row([row], |row| row.get(0))
    }

    /// A team's pool of `product`: its row id and size.
    fn pool(&self, team_row: i64, product: &str) -> Sql<Option<(i64, u32)>> {
        self.tx
            .prepare_cached("SELECT id, seats FROM team_pools WHERE team_id = ?1 AND product = ?2")?
            .query_row(params![team_row, product], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
    }

    /// The pool of `product` on `team`, or the refusal that says which is missing.
    fn team_pool(&self, team: &str, product: &str) -> Checked<(i64, u32)> {
        let Some(row) = self.team_row(team)? else {
            return Ok(Err(unknown_team(team)));
        };
        Ok(self.pool(row, product)?.ok_or_else(|| {
            Outcome::refused(
                Code::R04,
                format!("team {team} has no {product} pool; give it seats first (team.update)"),
            )
        }))
    }

    fn insert_pool(&self, team_row: i64, product: &str, seats: u32) -> Sql<()> {
        self.tx
            .prepare_cached("INSERT INTO team_pools (team_id, product, seats) VALUES (?1, ?2, ?3)")?
            .execute(params![team_row, product, seats])?;
        Ok(())
    }
}

fn unknown_team(team: &str) -> Outcome {
    Outcome::refused(
        Code::R09,
        format!("team {team} does not exist; create it first (team.create)"),
    )
}
