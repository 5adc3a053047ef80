//! Step 7 of a plan: projects and their owned member lists.

use std::collections::BTreeMap;

use super::Builder;
use super::values::change;
use crate::desired::Declared;
use crate::plan::operation::{Invitation, Op, word, words as list};
use crate::plan::order::Slot;
use crate::state::{Email, MemberStatus, ProjectMemberState};

impl Builder<'_> {
    // ----- step 7: projects -----

    pub(super) fn projects(&mut self) {
        let empty = BTreeMap::new();
        for (name, want) in &self.desired.state.projects {
            let project_here = self.cite(&[(Declared::Project, name)]);
            let have = self.current.projects.get(name).map(|p| &p.members);
            if have.is_none() {
                self.push_op(
                    Op::ProjectCreate { name: name.clone() },
                    project_here.clone(),
                );
            }
            if let Some(from) = self.renamed.projects.get(name) {
                let changes = vec![change("name", from.clone(), name.clone())];
                let op = Op::ProjectUpdate {
                    name: name.clone(),
                    from: from.clone(),
                };
                self.push(Slot::of(&op), op, project_here.clone(), changes);
            }
            let have = have.unwrap_or(&empty);
            for email in have.keys().filter(|e| !want.members.contains_key(*e)) {
                if self.is_leaving(email) {
                    continue;
                }
                let op = Op::ProjectMemberRemove {
                    project: name.clone(),
                    email: email.clone(),
                };
                self.push_op(op, project_here.clone());
            }
            for (email, wanted) in &want.members {
                self.project_member(name, email, have.get(email), wanted);
            }
        }
    }

    fn project_member(
        &mut self,
        project: &str,
        email: &Email,
        had: Option<&ProjectMemberState>,
        wanted: &ProjectMemberState,
    ) {
        // Most memberships of a large account are unchanged: they cost a comparison,
        // not a citation.
        if had == Some(wanted) {
            return;
        }
        let key = format!("{project}/{email}");
        let here = self.cite(&[
            (Declared::ProjectMember, &key),
            (Declared::Project, project),
        ]);
        let (project, email) = (project.to_owned(), email.clone());
        let (access, products) = (wanted.access, wanted.products.clone());
        match had {
            None => {
                // A member in the account but never invited is invited when they
                // join their first project.
                let first_invitation = self
                    .current
                    .members
                    .get(&email)
                    .is_some_and(|m| m.status == MemberStatus::NotInvited)
                    && !self.invited.contains(&email);
                let op = Op::ProjectMemberAdd {
                    project,
                    email: email.clone(),
                    access,
                    products,
                };
                if let Some(index) = self.push_op(op, here) {
                    if first_invitation {
                        self.placed[index].operation.invitation = Some(Invitation::Now);
                        self.invited.insert(email);
                    }
                }
            }
            Some(had) => {
                let mut changes = Vec::new();
                if had.access != wanted.access {
                    changes.push(change("access", word(&had.access), word(&wanted.access)));
                }
                if had.products != wanted.products {
                    changes.push(change(
                        "products",
                        list(&had.products),
                        list(&wanted.products),
                    ));
                }
                let op = Op::ProjectMemberUpdate {
                    project,
                    email,
                    access,
                    products,
                };
                self.push(Slot::of(&op), op, here, changes);
            }
        }
    }
}
