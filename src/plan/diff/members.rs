//! Steps 1, 2, 4 and 8 of a plan: companies and roles; member invitations, updates
//! and activations; removals (prune) and deactivations; re-sent invitations.

use super::Builder;
use super::values::{change, kept_or_changed, record_of, updated_record};
use crate::desired::Declared;
use crate::plan::operation::{FieldChange, Invitation, Op, Provenance, words as list};
use crate::plan::order::Slot;
use crate::plan::safety::{self, Exit};
use crate::state::{Email, MemberState, MemberStatus};

impl Builder<'_> {
    // ----- step 1: companies and roles -----

    pub(super) fn companies(&mut self) {
        for (name, want) in &self.desired.state.companies {
            let here = self.cite(&[(Declared::Company, name)]);
            match self.current.companies.get(name) {
                None => {
                    let op = Op::CompanyCreate {
                        name: name.clone(),
                        trade: want.trade.clone(),
                    };
                    self.push_op(op, here);
                }
                Some(have) => {
                    let from = self.renamed.companies.get(name).cloned();
                    let mut changes: Vec<FieldChange> = from
                        .iter()
                        .map(|old| change("name", old.clone(), name.clone()))
                        .collect();
                    let trade = kept_or_changed(
                        "trade",
                        have.trade.as_ref(),
                        want.trade.as_ref(),
                        &mut changes,
                    );
                    if !changes.is_empty() {
                        let op = Op::CompanyUpdate {
                            name: name.clone(),
                            trade,
                            from,
                        };
                        self.push(Slot::of(&op), op, here, changes);
                    }
                }
            }
        }
    }

    pub(super) fn roles(&mut self) {
        for (name, want) in &self.desired.state.roles {
            let here = self.cite(&[(Declared::Role, name)]);
            match self.current.roles.get(name) {
                None => {
                    let op = Op::RoleCreate {
                        name: name.clone(),
                        default_access: want.default_access.clone(),
                    };
                    self.push_op(op, here);
                }
                Some(have) => {
                    let from = self.renamed.roles.get(name).cloned();
                    let mut changes: Vec<FieldChange> = from
                        .iter()
                        .map(|old| change("name", old.clone(), name.clone()))
                        .collect();
                    if have.default_access != want.default_access {
                        self.changed_roles.insert(name);
                        changes.push(change(
                            "default_access",
                            list(&have.default_access),
                            list(&want.default_access),
                        ));
                    }
                    if !changes.is_empty() {
                        let op = Op::RoleUpdate {
                            name: name.clone(),
                            default_access: want.default_access.clone(),
                            from,
                        };
                        self.push(Slot::of(&op), op, here, changes);
                    }
                }
            }
        }
    }

    // ----- steps 2, 4 and 8: members -----

    pub(super) fn members(&mut self) {
        for (email, want) in &self.desired.state.members {
            match self.current.members.get(email) {
                None => self.invite(email, want),
                Some(have) => self.member(email, have, want),
            }
        }
        if self.desired.prune {
            self.prune();
        }
    }

    /// Adds a member. One declared inactive is added inactive from the start, in the
    /// same one operation: no invitation goes out, and there is nothing to free.
    fn invite(&mut self, email: &Email, want: &MemberState) {
        let here = self.cite(&[(Declared::Member, email.as_str())]);
        let inactive = want.status.is_inactive();
        let record = record_of(want);
        let invitation = if inactive {
            Invitation::None
        } else if !record.access.is_empty() || self.joins_a_project(email) {
            Invitation::Now
        } else {
            Invitation::Later
        };
        let op = Op::MemberInvite {
            email: email.clone(),
            record,
            inactive,
        };
        if let Some(index) = self.push_op(op, here) {
            self.placed[index].operation.invitation = Some(invitation);
        }
    }

    /// Whether the configuration puts `email` on a project (the invitation goes out
    /// when they are added to it). The set of everyone on a project is gathered the
    /// first time it is asked: asking each project in turn, once per new member, is
    /// new members x projects lookups.
    fn joins_a_project(&self, email: &Email) -> bool {
        self.on_a_project
            .get_or_init(|| {
                self.desired
                    .state
                    .projects
                    .values()
                    .flat_map(|project| project.members.keys())
                    .collect()
            })
            .contains(email)
    }

    fn member(&mut self, email: &Email, have: &MemberState, want: &MemberState) {
        // Cited only when an operation needs it: most members of a large account are
        // unchanged.
        let here = |builder: &Self| builder.cite(&[(Declared::Member, email.as_str())]);
        let (record, changes) = updated_record(have, want);
        if !changes.is_empty() {
            self.guard_protected(email, || {
                let fields: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
                    .collect();
                format!("change them ({})", fields.join("; "))
            });
            let provenance = self
                .update_provenance(want, &changes)
                .unwrap_or_else(|| here(self));
            let slot = Slot::member_update(&have.access, &record.access);
            // Never invited, given an access level now (and not declared inactive):
            // the update sends the invitation.
            let invites = have.status == MemberStatus::NotInvited
                && !want.status.is_inactive()
                && !record.access.is_empty();
            let op = Op::MemberUpdate {
                email: email.clone(),
                record,
            };
            if let Some(index) = self.push(slot, op, provenance, changes) {
                if invites {
                    self.placed[index].operation.invitation = Some(Invitation::Now);
                    self.invited.insert(email.clone());
                }
            }
        }
        match (have.status.is_inactive(), want.status.is_inactive()) {
            (true, false) => {
                self.guard_protected(email, || "activate them".to_owned());
                let op = Op::MemberActivate {
                    email: email.clone(),
                };
                let changes = vec![change("status", "inactive".into(), "active".into())];
                self.push(Slot::of(&op), op, here(self), changes);
            }
            (false, true) => self.leave(email, Exit::Deactivate, here(self)),
            _ => {
                if self.invitation_expired(have) && !want.status.is_inactive() {
                    let op = Op::MemberResendInvite {
                        email: email.clone(),
                    };
                    self.push_op(op, Provenance(Provenance::INVITATION_EXPIRED.into()));
                }
            }
        }
    }

    /// A member's update that only follows their role's new default access cites the role.
    fn update_provenance(&self, want: &MemberState, changes: &[FieldChange]) -> Option<Provenance> {
        let role = want.role.as_deref()?;
        let only_access = changes.iter().all(|c| c.field == "access");
        let follows_role = self.changed_roles.contains(role)
            && self
                .desired
                .state
                .roles
                .get(role)
                .is_some_and(|r| r.default_access == want.access);
        (only_access && follows_role).then(|| self.cite(&[(Declared::Role, role)]))
    }

    fn invitation_expired(&self, have: &MemberState) -> bool {
        have.invitation_expired(self.options.now)
    }

    fn prune(&mut self) {
        let declared = &self.desired.state.members;
        for email in self.current.members.keys() {
            if declared.contains_key(email) {
                continue;
            }
            if self.desired.protected.contains(email) {
                self.notes.push(format!(
                    "{email} is not declared but is protected (settings.protected): prune leaves them alone"
                ));
                continue;
            }
            self.leave(
                email,
                Exit::Remove,
                Provenance(Provenance::NOT_DECLARED.into()),
            );
        }
    }

    /// Plans a removal or deactivation; its cascade is attached as consequences later.
    fn leave(&mut self, email: &Email, exit: Exit, provenance: Provenance) {
        if exit == Exit::Deactivate {
            self.guard_protected(email, || "deactivate them".to_owned());
        }
        let op = match exit {
            Exit::Remove => Op::MemberRemove {
                email: email.clone(),
            },
            Exit::Deactivate => Op::MemberDeactivate {
                email: email.clone(),
            },
        };
        if let Some(index) = self.push_op(op, provenance) {
            self.exits.insert(email.clone(), (exit, index));
        }
    }

    /// R12: records a refusal when `email` is protected; `what` says what would happen.
    fn guard_protected(&mut self, email: &Email, what: impl FnOnce() -> String) {
        if self.desired.protected.contains(email) {
            let diagnostic = safety::protected_changed(self.desired, email, &what());
            self.refusals.push(diagnostic);
        }
    }
}
