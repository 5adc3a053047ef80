//! Named-user teams (DOMAIN.md "Teams"): creation with companies and roles (step 1),
//! users added after the invitations (step 2), renames and pool increases with the
//! agreements (step 3), users removed with the member removals (step 4, prune only),
//! direct seats taken back and pool decreases (step 5), direct seats given (step 6);
//! and R14, checked against the live pools.
//!
//! A declared team's **direct** seats of the products it lists are owned whole.
//! **Inherited** seats (through a group or the whole team, set in the vendor's
//! portal) are never changed: someone the configuration assigns who holds the product
//! by inheritance needs nothing; someone it does not assign who holds it by
//! inheritance is reported in a note ("change the group there"), not a change.

use std::collections::BTreeSet;

use super::Builder;
use super::values::change;
use crate::contract::OpKind;
use crate::desired::Declared;
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::operation::{Op, Provenance};
use crate::plan::order::Slot;
use crate::state::{Email, PoolState, TeamState};
use crate::time::format_date;

/// The note for the people who hold `product` of team `id` by inheritance although
/// the configuration does not assign it to them: inherited seats are not accord's
/// (DOMAIN.md: reported, not an error), so this is no change and no manual step;
/// whoever should not have the seat is taken off the group in the portal.
fn inherited_note(id: &str, product: &str, people: &[String]) -> String {
    const SHOWN: usize = 5;
    let more = match people.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let shown: Vec<&str> = people.iter().take(SHOWN).map(String::as_str).collect();
    format!(
        "team {id}: {product} is inherited through the portal (a group or the whole team) by {}{more}, whom the configuration does not assign: accord leaves inherited seats alone; change the group there if they should not have it",
        shown.join(", ")
    )
}

impl Builder<'_> {
    // ----- steps 1-6: teams -----

    pub(super) fn teams(&mut self) {
        for (id, want) in &self.desired.state.teams {
            let have = self.current.teams.get(id);
            match have {
                None if !self.carries_out(OpKind::TeamCreate) => {
                    self.refuse_missing_team(id, want);
                    continue;
                }
                None => self.create_team(id, want),
                Some(have) => self.resize_team(id, have, want),
            }
            self.team_users(id, have, want);
            for (product, pool) in &want.pools {
                self.team_pool(id, have, product, pool);
            }
        }
    }

    fn carries_out(&self, kind: OpKind) -> bool {
        self.options
            .kinds
            .as_ref()
            .is_none_or(|k| k.contains(&kind))
    }

    fn team_cite(&self, id: &str) -> Provenance {
        self.cite(&[(Declared::Team, id)])
    }

    fn pool_cite(&self, id: &str, product: &str) -> Provenance {
        let pool = format!("{id}/{product}");
        self.cite(&[(Declared::TeamPool, &pool), (Declared::Team, id)])
    }

    fn r14(&mut self, id: &str, product: Option<&str>, message: String, help: String) {
        let pool = product.map(|p| format!("{id}/{p}")).unwrap_or_default();
        let location = self
            .location(&[(Declared::TeamPool, &pool), (Declared::Team, id)])
            .cloned();
        self.refusals.push(
            Diagnostic::error(Code::R14, message)
                .at(location)
                .help(help),
        );
    }

    /// R14: a backend that cannot create teams (the vendor) must hold every declared one.
    fn refuse_missing_team(&mut self, id: &str, want: &TeamState) {
        self.r14(
            id,
            None,
            format!(
                "team {id} ({}) is declared but the backend does not hold it, and this backend cannot create teams; nothing was changed",
                want.name
            ),
            "on the vendor, `accord teams` lists the teams this login administers: check the id, or have the team's primary admin make the automation admin an admin of it".to_owned(),
        );
    }

    /// Step 1: a new team with its name and pool sizes (every pool needs `seats`).
    fn create_team(&mut self, id: &str, want: &TeamState) {
        let mut seats = std::collections::BTreeMap::new();
        for (product, pool) in &want.pools {
            match pool.seats {
                Some(n) => {
                    seats.insert(product.clone(), n);
                }
                None => self.r14(
                    id,
                    Some(product),
                    format!(
                        "the {product} pool of team {id} does not exist yet, and the configuration gives it no `seats`"
                    ),
                    format!("give the {product} pool of team {id} its number of `seats`"),
                ),
            }
        }
        let op = Op::TeamCreate {
            team: id.to_owned(),
            name: want.name.clone(),
            seats,
        };
        let here = self.team_cite(id);
        self.push_op(op, here);
    }

    /// A rename and pool increases in step 3 (new pools too); decreases in step 5,
    /// after the un-assignments that make room. On a backend that cannot change pool
    /// sizes (the vendor), these are manual steps.
    fn resize_team(&mut self, id: &str, have: &TeamState, want: &TeamState) {
        let (mut up, mut up_changes) = (std::collections::BTreeMap::new(), Vec::new());
        let (mut down, mut down_changes) = (std::collections::BTreeMap::new(), Vec::new());
        for (product, pool) in &want.pools {
            let Some(seats) = pool.seats else { continue };
            let live = have.pools.get(product);
            if live.is_some_and(|p| p.unlimited) {
                self.notes.push(format!(
                    "team {id}: the {product} pool is unlimited, so its `seats: {seats}` changes nothing"
                ));
                continue;
            }
            let old = live.and_then(|p| p.seats);
            if old == Some(seats) {
                continue;
            }
            let from = old.map_or_else(|| "null".to_owned(), |n| n.to_string());
            let field = change(&format!("seats.{product}"), from, seats.to_string());
            if old.is_none_or(|old| seats > old) {
                up.insert(product.clone(), seats);
                up_changes.push(field);
            } else {
                down.insert(product.clone(), seats);
                down_changes.push(field);
            }
        }
        let mut changes = Vec::new();
        if have.name != want.name {
            changes.push(change("name", have.name.clone(), want.name.clone()));
        }
        let renamed = !changes.is_empty();
        if renamed || !up.is_empty() {
            let here = match up.keys().next() {
                Some(product) if !renamed => self.pool_cite(id, product),
                _ => self.team_cite(id),
            };
            changes.extend(up_changes);
            let op = Op::TeamUpdate {
                team: id.to_owned(),
                name: renamed.then(|| want.name.clone()),
                seats: up,
            };
            self.push(Slot::of(&op), op, here, changes);
        }
        if let Some(product) = down.keys().next().cloned() {
            let here = self.pool_cite(id, &product);
            let op = Op::TeamUpdate {
                team: id.to_owned(),
                name: None,
                seats: down,
            };
            self.push(Slot::POOL_DECREASE, op, here, down_changes);
        }
    }

    /// Step 2: users the team lacks; step 4 (with `settings.prune`): users it should
    /// not have, their seats of the team freed as consequences.
    fn team_users(&mut self, id: &str, have: Option<&TeamState>, want: &TeamState) {
        let empty = BTreeSet::new();
        let live = have.map_or(&empty, |h| &h.users);
        for email in want.users.difference(live) {
            let key = format!("{id}/{email}");
            let here = self.cite(&[(Declared::TeamMember, &key), (Declared::Team, id)]);
            let member = self.desired.state.members.get(email);
            let op = Op::TeamMemberAdd {
                team: id.to_owned(),
                email: email.clone(),
                first_name: member.and_then(|m| m.first_name.clone()),
                last_name: member.and_then(|m| m.last_name.clone()),
            };
            self.push_op(op, here);
        }
        if !self.desired.prune {
            return;
        }
        for email in live.difference(&want.users) {
            if self.is_leaving(email) {
                continue;
            }
            if self.desired.protected.contains(email) {
                self.notes.push(format!(
                    "{email} is on team {id} but not on its lists, and is protected (settings.protected): prune leaves them on the team"
                ));
                continue;
            }
            let op = Op::TeamMemberRemove {
                team: id.to_owned(),
                email: email.clone(),
            };
            if let Some(index) = self.push_op(op, Provenance(Provenance::NOT_DECLARED.into())) {
                self.team_exits
                    .insert((id.to_owned(), email.clone()), index);
            }
        }
    }

    /// R14 on one pool, and its direct seats: taken back (step 5) from whoever the
    /// configuration does not assign, given (step 6) to whoever it assigns who holds
    /// none; inherited holders it does not assign are noted.
    fn team_pool(&mut self, id: &str, have: Option<&TeamState>, product: &str, want: &PoolState) {
        let live = have.and_then(|h| h.pools.get(product));
        if have.is_some() && !self.pool_is_usable(id, have, product, want) {
            return;
        }
        let empty = BTreeSet::new();
        let direct = live.map_or(&empty, |p| &p.direct);
        let inherited = live.map_or(&empty, |p| &p.inherited);
        for email in direct.difference(&want.direct) {
            if self.is_leaving(email)
                || self
                    .team_exits
                    .contains_key(&(id.to_owned(), email.clone()))
            {
                continue;
            }
            let op = Op::TeamSeatUnassign {
                team: id.to_owned(),
                product: product.to_owned(),
                email: email.clone(),
            };
            let here = self.pool_cite(id, product);
            self.push_op(op, here);
        }
        for email in want.direct.difference(direct) {
            if inherited.contains(email) {
                continue;
            }
            let key = format!("{id}/{product}/{email}");
            let here = self.cite(&[
                (Declared::TeamSeat, &key),
                (Declared::TeamPool, &format!("{id}/{product}")),
                (Declared::Team, id),
            ]);
            let op = Op::TeamSeatAssign {
                team: id.to_owned(),
                product: product.to_owned(),
                email: email.clone(),
            };
            self.push_op(op, here);
        }
        let unlisted: Vec<String> = inherited
            .difference(&want.direct)
            .map(ToString::to_string)
            .collect();
        if !unlisted.is_empty() {
            self.notes.push(inherited_note(id, product, &unlisted));
        }
        self.check_capacity(id, live, product, want);
    }

    /// R14: a listed product is a current pool of the team, or one this backend can
    /// create (with `seats`). Answers whether the pool's seats can be planned.
    fn pool_is_usable(
        &mut self,
        id: &str,
        have: Option<&TeamState>,
        product: &str,
        want: &PoolState,
    ) -> bool {
        let Some(have) = have else { return true };
        match have.pools.get(product) {
            Some(live) if live.is_current(self.options.now) => true,
            Some(live) => {
                let from = live.starts.map_or_else(|| "-".to_owned(), format_date);
                let to = live.ends.map_or_else(|| "-".to_owned(), format_date);
                self.r14(
                    id,
                    Some(product),
                    format!(
                        "the {product} pool of team {id} ({}) is not current: it runs from {from} to {to}",
                        have.name
                    ),
                    format!(
                        "assign {product} seats of team {id} once its pool has started, or take {product} off the team's products until then"
                    ),
                );
                false
            }
            None if self.carries_out(OpKind::TeamUpdate) && want.seats.is_some() => true,
            None if self.carries_out(OpKind::TeamUpdate) => {
                self.r14(
                    id,
                    Some(product),
                    format!(
                        "team {id} has no {product} pool yet, and the configuration gives it no `seats`"
                    ),
                    format!("give the {product} pool of team {id} its number of `seats`"),
                );
                false
            }
            None => {
                let pools: Vec<&str> = have.pools.keys().map(String::as_str).collect();
                self.r14(
                    id,
                    Some(product),
                    format!(
                        "{product} is not a pool of team {id} ({}); its pools are: {}",
                        have.name,
                        if pools.is_empty() {
                            "none".to_owned()
                        } else {
                            pools.join(", ")
                        }
                    ),
                    "check the product's name as `accord teams` lists it, or buy the product for the team in the portal".to_owned(),
                );
                false
            }
        }
    }

    /// R14: after the plan no pool holds more seats (direct and inherited) than it has.
    fn check_capacity(
        &mut self,
        id: &str,
        live: Option<&PoolState>,
        product: &str,
        want: &PoolState,
    ) {
        if live.is_some_and(|p| p.unlimited) {
            return;
        }
        let live_seats = live.and_then(|p| p.seats);
        let size = if self.carries_out(OpKind::TeamUpdate) {
            want.seats.or(live_seats)
        } else {
            live_seats
        };
        let Some(size) = size else { return };
        let inherited = live.map(|p| &p.inherited);
        let holders: BTreeSet<&Email> = want
            .direct
            .iter()
            .chain(inherited.into_iter().flatten())
            .collect();
        let held = holders.len();
        if held <= size as usize {
            return;
        }
        let inherited_count = inherited.map_or(0, BTreeSet::len);
        let used = live.map_or(0, |p| p.direct.union(&p.inherited).count());
        let now = live_seats.map_or_else(String::new, |n| format!(" (now {used} of {n} used)"));
        self.r14(
            id,
            Some(product),
            format!(
                "the {product} pool of team {id} would hold {held} seats ({} direct, {inherited_count} inherited) but has {size}{now}",
                want.direct.len()
            ),
            {
                let over = held - size as usize;
                let who = if over == 1 { "person" } else { "people" };
                format!(
                    "take {over} {who} off `assigned`, free inherited seats in the portal, or buy more {product} seats for the team"
                )
            },
        );
    }
}
