//! The account as the API serves it: a [`View`] is one revision's state cut into the
//! flat collections of [`crate::wire`], built once per revision and
//! kept for the last few revisions, so a client paging through 50,000 members at
//! `?revision=R` reads slices of one consistent state, while writes go on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::contract::Snapshot;
use crate::state::AccountInfo;
use crate::wire::{
    AgreementItem, CloudServiceItem, CompanyItem, MemberItem, ProductItem, ProjectItem,
    ProjectMemberItem, RoleItem, SeatItem, SupportItem, TeamItem, TeamPoolItem,
};

/// How many revisions' views are kept: enough for a fetch to finish while a few
/// writes land, small enough for a large account's memory.
pub const KEPT_REVISIONS: usize = 3;

/// One revision of the account, as flat collections in a stable order.
#[derive(Debug, Default)]
pub struct View {
    /// The revision.
    pub revision: u64,
    /// The account's identity.
    pub account: AccountInfo,
    /// Companies by name.
    pub companies: Vec<CompanyItem>,
    /// Roles by name.
    pub roles: Vec<RoleItem>,
    /// Members by email.
    pub members: Vec<MemberItem>,
    /// Agreements by number.
    pub agreements: Vec<AgreementItem>,
    /// Seats by agreement, product, email.
    pub seats: Vec<SeatItem>,
    /// Cloud-service users by agreement, service, email.
    pub cloud_services: Vec<CloudServiceItem>,
    /// Support holders by agreement, email.
    pub support: Vec<SupportItem>,
    /// Projects by name.
    pub projects: Vec<ProjectItem>,
    /// Project memberships by project, email.
    pub project_members: Vec<ProjectMemberItem>,
    /// Teams by id.
    pub teams: Vec<TeamItem>,
}

impl View {
    /// Cuts a snapshot into collections.
    #[must_use]
    pub fn of(snapshot: Snapshot) -> Self {
        let Snapshot {
            state, revision, ..
        } = snapshot;
        let mut view = Self {
            revision,
            account: state.account,
            companies: state
                .companies
                .into_iter()
                .map(|(name, c)| CompanyItem {
                    name,
                    trade: c.trade,
                })
                .collect(),
            roles: state
                .roles
                .into_iter()
                .map(|(name, r)| RoleItem {
                    name,
                    default_access: r.default_access,
                })
                .collect(),
            members: state
                .members
                .into_iter()
                .map(|(email, member)| MemberItem::new(email, member))
                .collect(),
            ..Self::default()
        };
        for (number, agreement) in state.agreements {
            for (product, held) in &agreement.products {
                view.seats
                    .extend(held.assigned.iter().map(|email| SeatItem {
                        agreement: number.clone(),
                        product: product.clone(),
                        email: email.clone(),
                    }));
            }
            for (service, users) in &agreement.cloud_services {
                view.cloud_services
                    .extend(users.iter().map(|email| CloudServiceItem {
                        agreement: number.clone(),
                        service: service.clone(),
                        email: email.clone(),
                    }));
            }
            view.support
                .extend(agreement.support.iter().map(|email| SupportItem {
                    agreement: number.clone(),
                    email: email.clone(),
                }));
            view.agreements.push(AgreementItem {
                number,
                name: agreement.name,
                contract_manager: agreement.contract_manager,
                software_coordinator: agreement.software_coordinator,
                products: agreement
                    .products
                    .into_iter()
                    .map(|(name, p)| ProductItem {
                        name,
                        seats: p.seats.unwrap_or_default(),
                    })
                    .collect(),
                cloud_services: agreement.cloud_services.into_keys().collect(),
            });
        }
        for (id, team) in state.teams {
            view.teams.push(TeamItem {
                id,
                name: team.name,
                users: team.users,
                pools: team
                    .pools
                    .into_iter()
                    .map(|(product, pool)| TeamPoolItem {
                        product,
                        seats: pool.seats.unwrap_or_default(),
                        direct: pool.direct,
                        inherited: pool.inherited,
                    })
                    .collect(),
            });
        }
        for (name, project) in state.projects {
            view.projects.push(ProjectItem {
                name: name.clone(),
                members: project.members.len(),
            });
            view.project_members
                .extend(
                    project
                        .members
                        .into_iter()
                        .map(|(email, m)| ProjectMemberItem {
                            project: name.clone(),
                            email,
                            access: m.access,
                            products: m.products,
                        }),
                );
        }
        view
    }
}

/// The views of the last [`KEPT_REVISIONS`] revisions, newest last.
#[derive(Debug, Default)]
pub struct Views {
    kept: Mutex<VecDeque<Arc<View>>>,
    /// Held while a view is built, so concurrent pages of a new revision build it once.
    pub building: tokio::sync::Mutex<()>,
}

impl Views {
    /// The view of `revision`, if it is kept.
    #[must_use]
    pub fn get(&self, revision: u64) -> Option<Arc<View>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().rev().find(|v| v.revision == revision).cloned()
    }

    /// Keeps `view`, dropping the oldest beyond the limit.
    pub fn keep(&self, view: Arc<View>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.iter().any(|v| v.revision == view.revision) {
            return;
        }
        kept.push_back(view);
        while kept.len() > KEPT_REVISIONS {
            kept.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{
        AgreementState, Email, ProductState, ProjectMemberState, ProjectState, State,
    };
    use crate::state::{ProjectAccess, ProjectProduct};

    #[test]
    fn a_view_flattens_assignments_and_keeps_empty_products_and_services() {
        let alice = Email::new("alice@acme.example");
        let mut state = State::default();
        let mut agreement = AgreementState {
            name: "AEC".into(),
            contract_manager: alice.clone(),
            software_coordinator: alice.clone(),
            ..AgreementState::default()
        };
        agreement.products.insert(
            "AutoCAD".into(),
            ProductState {
                seats: Some(2),
                assigned: [alice.clone()].into(),
            },
        );
        agreement.products.insert(
            "Revit".into(),
            ProductState {
                seats: Some(1),
                assigned: [].into(),
            },
        );
        agreement
            .cloud_services
            .insert("Rendering".into(), [].into());
        agreement.support.insert(alice.clone());
        state.agreements.insert("1100".into(), agreement);
        let mut project = ProjectState::default();
        project.members.insert(
            alice.clone(),
            ProjectMemberState {
                access: ProjectAccess::Admin,
                products: [ProjectProduct::Docs].into(),
            },
        );
        state.projects.insert("Tower A".into(), project);
        let view = View::of(Snapshot {
            state,
            revision: 7,
            now: 0,
        });
        assert_eq!(view.revision, 7);
        assert_eq!(view.seats.len(), 1);
        assert_eq!(view.support.len(), 1);
        assert!(view.cloud_services.is_empty());
        assert_eq!(view.agreements[0].products.len(), 2);
        assert_eq!(view.agreements[0].cloud_services, ["Rendering"]);
        assert_eq!(view.projects[0].members, 1);
        assert_eq!(view.project_members[0].project, "Tower A");
    }

    #[test]
    fn only_the_last_revisions_are_kept() {
        let views = Views::default();
        for revision in 1..=5 {
            views.keep(Arc::new(View {
                revision,
                ..View::default()
            }));
        }
        assert!(views.get(2).is_none());
        assert!((3..=5).all(|r| views.get(r).is_some()));
    }
}
