//! Packing a plan: consequences of removals and deactivations, the safety checks,
//! the seat picture, then order and batches.

use std::collections::{BTreeMap, BTreeSet};

use super::{Builder, Refusal};
use crate::desired::{LimitSource, MaxRemovals};
use crate::diagnostic;
use crate::plan::model::{PLAN_FORMAT_VERSION, Plan, SeatCount, SeatLine, Summary, fingerprint};
use crate::plan::order::order_and_batch;
use crate::plan::safety::{self, Exit};
use crate::state::Email;

impl<'a> Builder<'a> {
    // ----- checks and packing -----

    pub(super) fn finish(mut self) -> Result<Plan, Refusal> {
        self.attach_consequences();
        self.check_safety();
        let seats = self.seat_picture();
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
            notes: self.notes,
            refusals: self.refusals,
            drift: crate::plan::drift::Drift::default(),
        };
        if plan.is_refused() {
            Err(Refusal::Rules(Box::new(plan)))
        } else {
            Ok(plan)
        }
    }

    /// Lists, on each removal or deactivation, everything the member holds now.
    fn attach_consequences(&mut self) {
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
        for (email, consequences) in freed {
            if let Some(&(_, index)) = self.exits.get(email) {
                self.placed[index].operation.consequences = consequences;
            }
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
        let limit = self.removal_limit();
        self.refusals
            .extend(safety::too_many_removals(removed.len(), &limit));
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
