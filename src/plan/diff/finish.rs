//! Packing a plan: consequences of removals and deactivations, the safety checks,
//! the seat picture, then order and batches.

use std::collections::{BTreeMap, BTreeSet};

use super::{Builder, Refusal};
use crate::desired::{LimitSource, MaxRemovals};
use crate::diagnostic;
use crate::plan::model::{
    PLAN_FORMAT_VERSION, Plan, PoolCount, PoolLine, SeatCount, SeatLine, Summary, fingerprint,
};
use crate::plan::order::order_and_batch;
use crate::plan::safety::{self, Exit};
use crate::state::Email;

impl<'a> Builder<'a> {
    // ----- checks and packing -----

    pub(super) fn finish(mut self) -> Result<Plan, Refusal> {
        self.attach_consequences();
        self.check_safety();
        let seats = self.seat_picture();
        let team_seats = self.team_picture();
        let seats_short =
            safety::seats_short(self.desired, &seats, self.options.records_agreements);
        self.refusals.extend(seats_short);
        self.note_unmanaged_operations();
        let (operations, batches) = order_and_batch(self.placed, &self.options.limits);
        diagnostic::sort(&mut self.refusals);
        let plan = Plan {
            version: PLAN_FORMAT_VERSION,
            account: self.desired.state.account.clone(),
            new_account: self.current.account.id.is_empty(),
            summary: Summary::of(&operations),
            batches,
            fingerprint: fingerprint(&operations),
            operations,
            seats,
            team_seats,
            manual: self.manual,
            notes: self.notes,
            refusals: self.refusals,
            drift: crate::plan::drift::Drift::default(),
            targets: Vec::new(),
            outside_targets: 0,
        };
        if plan.is_refused() {
            Err(Refusal::Rules(Box::new(plan)))
        } else {
            Ok(plan)
        }
    }

    /// Lists, on each removal or deactivation, everything the member holds now; on
    /// each removal from a team, the seats of that team the user holds.
    fn attach_consequences(&mut self) {
        self.attach_team_consequences();
        if self.exits.is_empty() {
            return;
        }
        let mut freed: BTreeMap<&Email, Vec<String>> = BTreeMap::new();
        let mut note = |email: &'a Email, consequence: String| {
            if self.exits.contains_key(email) {
                freed.entry(email).or_default().push(consequence);
            }
        };
        for (number, agreement) in &self.current.agreements {
            for (product, p) in &agreement.products {
                for email in &p.assigned {
                    note(email, format!("seat.unassign {number}/{product}/{email}"));
                }
            }
            for (service, holders) in &agreement.cloud_services {
                for email in holders {
                    note(
                        email,
                        format!("cloud_service.unassign {number}/{service}/{email}"),
                    );
                }
            }
            for email in &agreement.support {
                note(email, format!("support.unassign {number}/{email}"));
            }
        }
        for (name, project) in &self.current.projects {
            for email in project.members.keys() {
                note(email, format!("project_member.remove {name}/{email}"));
            }
        }
        for (id, team) in &self.current.teams {
            for (product, pool) in &team.pools {
                for email in &pool.direct {
                    note(email, format!("team_seat.unassign {id}/{product}/{email}"));
                }
            }
            for email in &team.users {
                note(email, format!("team_member.remove {id}/{email}"));
            }
        }
        for (email, consequences) in freed {
            if let Some(&(_, index)) = self.exits.get(email) {
                self.placed[index].operation.consequences = Some(consequences);
            }
        }
    }

    fn attach_team_consequences(&mut self) {
        for ((id, email), &index) in &self.team_exits {
            let Some(team) = self.current.teams.get(id) else {
                continue;
            };
            let freed = team
                .pools
                .iter()
                .filter(|(_, pool)| pool.direct.contains(email))
                .map(|(product, _)| format!("team_seat.unassign {id}/{product}/{email}"))
                .collect();
            self.placed[index].operation.consequences = Some(freed);
        }
    }

    fn check_safety(&mut self) {
        let exits: BTreeMap<Email, Exit> = self
            .exits
            .iter()
            .map(|(email, &(exit, _))| (email.clone(), exit))
            .collect();
        let holders = safety::role_holders_leaving(self.current, self.desired, &exits);
        self.refusals.extend(holders);
        let removed: BTreeSet<&Email> = exits
            .iter()
            .filter(|(_, exit)| **exit == Exit::Remove)
            .map(|(email, _)| email)
            .collect();
        // R13 counts every member removal and every removal from a team, one each.
        let limit = self.removal_limit();
        self.refusals.extend(safety::too_many_removals(
            removed.len() + self.team_exits.len(),
            &limit,
        ));
        self.refusals
            .extend(safety::last_admin(self.current, self.desired, &removed));
    }

    /// The flag overrides the configuration, which overrides the default.
    fn removal_limit(&self) -> MaxRemovals {
        self.options.max_removals.map_or_else(
            || self.desired.max_removals.clone(),
            |limit| MaxRemovals {
                limit,
                source: LimitSource::Flag,
            },
        )
    }

    /// Seats per product of each declared agreement, before and after the plan.
    fn seat_picture(&self) -> Vec<SeatLine> {
        let mut lines = Vec::new();
        for (number, want) in &self.desired.state.agreements {
            let have = self.current.agreements.get(number);
            let products: BTreeSet<&String> = want
                .products
                .keys()
                .chain(have.into_iter().flat_map(|h| h.products.keys()))
                .collect();
            for product in products {
                let before = have
                    .and_then(|h| h.products.get(product))
                    .map(|p| SeatCount {
                        assigned: p.assigned.len(),
                        seats: p.seats.unwrap_or(0),
                    });
                let wanted = want.products.get(product);
                let seats = match wanted.and_then(|p| p.seats) {
                    Some(seats) if self.options.records_agreements => seats,
                    _ => before.map_or(0, |b| b.seats),
                };
                lines.push(SeatLine {
                    agreement: number.clone(),
                    agreement_name: want.name.clone(),
                    product: product.clone(),
                    before,
                    after: SeatCount {
                        assigned: wanted.map_or(0, |p| p.assigned.len()),
                        seats,
                    },
                });
            }
        }
        lines
    }

    /// Seats per product pool of each declared team, before and after the plan, and
    /// who gains and who loses one.
    fn team_picture(&self) -> Vec<PoolLine> {
        let mut lines = Vec::new();
        let writes_sizes = self
            .options
            .kinds
            .as_ref()
            .is_none_or(|k| k.contains(&crate::contract::OpKind::TeamUpdate));
        for (id, want) in &self.desired.state.teams {
            let have = self.current.teams.get(id);
            for (product, wanted) in &want.pools {
                let live = have.and_then(|h| h.pools.get(product));
                let count = |pool: &crate::state::PoolState, holders: usize| PoolCount {
                    assigned: holders,
                    seats: if pool.unlimited { None } else { pool.seats },
                };
                let before = live.map(|p| count(p, p.direct.union(&p.inherited).count()));
                let inherited = live.map(|p| p.inherited.clone()).unwrap_or_default();
                let direct = live.map(|p| p.direct.clone()).unwrap_or_default();
                let holders = wanted.direct.union(&inherited).count();
                let seats = match live {
                    Some(p) if p.unlimited => None,
                    Some(p) if !writes_sizes => p.seats,
                    Some(p) => wanted.seats.or(p.seats),
                    None => wanted.seats,
                };
                let gains = wanted
                    .direct
                    .difference(&direct)
                    .filter(|e| !inherited.contains(*e))
                    .map(ToString::to_string)
                    .collect();
                let loses = direct
                    .difference(&wanted.direct)
                    .map(ToString::to_string)
                    .collect();
                lines.push(PoolLine {
                    team: id.clone(),
                    team_name: want.name.clone(),
                    product: product.clone(),
                    before,
                    after: PoolCount {
                        assigned: holders,
                        seats,
                    },
                    gains,
                    loses,
                });
            }
        }
        lines
    }

    fn note_unmanaged_operations(&mut self) {
        if self.unmanaged.is_empty() {
            return;
        }
        let counts: Vec<String> = self
            .unmanaged
            .iter()
            .map(|(name, count)| format!("{count} × {name}"))
            .collect();
        self.notes.push(format!(
            "not managed by this backend, so left out of the plan: {}",
            counts.join(", ")
        ));
    }
}
