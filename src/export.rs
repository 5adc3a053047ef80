//! `accord export`: the backend's current state written as configuration files that
//! validate and that `plan` then reports as no change.
//!
//! Every value is written explicitly (a member's `access`, an agreement's
//! coordinator, a project member's `products`), so the export does not depend on
//! defaults that might change: what the backend holds is what the files say.

use crate::config::emit;
use crate::config::model::{
    Account, Agreement, CloudService, Company, ConfigFile, DesiredStatus, Member, Product, Project,
    ProjectMember, Role, Team, TeamProduct,
};
use crate::state::{MemberStatus, State, TeamState};

/// The state as one configuration.
#[must_use]
pub fn to_config(state: &State) -> ConfigFile {
    ConfigFile {
        account: Some(Account {
            id: state.account.id.clone(),
            name: state.account.name.clone(),
        }),
        settings: None,
        companies: state
            .companies
            .iter()
            .map(|(name, company)| Company {
                name: name.clone(),
                trade: company.trade.clone(),
                renamed_from: None,
            })
            .collect(),
        roles: state
            .roles
            .iter()
            .map(|(name, role)| Role {
                name: name.clone(),
                default_access: role.default_access.iter().copied().collect(),
                renamed_from: None,
            })
            .collect(),
        groups: Vec::new(),
        members: state
            .members
            .iter()
            .map(|(email, member)| Member {
                email: email.to_string(),
                first_name: member.first_name.clone(),
                last_name: member.last_name.clone(),
                company: member.company.clone(),
                role: member.role.clone(),
                access: Some(member.access.iter().copied().collect()),
                status: (member.status == MemberStatus::Inactive)
                    .then_some(DesiredStatus::Inactive),
                external_subscriptions: member.external_subscriptions.iter().cloned().collect(),
            })
            .collect(),
        agreements: state
            .agreements
            .iter()
            .map(|(number, agreement)| Agreement {
                number: number.clone(),
                name: agreement.name.clone(),
                contract_manager: agreement.contract_manager.to_string(),
                software_coordinator: (agreement.software_coordinator
                    != agreement.contract_manager)
                    .then(|| agreement.software_coordinator.to_string()),
                products: agreement
                    .products
                    .iter()
                    .map(|(name, product)| Product {
                        name: name.clone(),
                        seats: product.seats,
                        assigned: product.assigned.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
                cloud_services: agreement
                    .cloud_services
                    .iter()
                    .map(|(name, assigned)| CloudService {
                        name: name.clone(),
                        assigned: assigned.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
                support: agreement.support.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        teams: state
            .teams
            .iter()
            .map(|(id, team)| export_team(id, team))
            .collect(),
        projects: state
            .projects
            .iter()
            .map(|(name, project)| Project {
                name: name.clone(),
                renamed_from: None,
                members: project
                    .members
                    .iter()
                    .map(|(email, member)| ProjectMember {
                        email: Some(email.to_string()),
                        group: None,
                        access: member.access,
                        products: Some(member.products.iter().copied().collect()),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The state as configuration files, one per section: `(file name, YAML text)`.
/// Sections with nothing in them are left out (a section left out is an empty list).
#[must_use]
pub fn files(state: &State, header: &str) -> Vec<(&'static str, String)> {
    let config = to_config(state);
    let empty = ConfigFile::default();
    let parts = [
        (
            "account.yaml",
            ConfigFile {
                account: config.account,
                ..empty.clone()
            },
        ),
        (
            "companies.yaml",
            ConfigFile {
                companies: config.companies,
                ..empty.clone()
            },
        ),
        (
            "roles.yaml",
            ConfigFile {
                roles: config.roles,
                ..empty.clone()
            },
        ),
        (
            "members.yaml",
            ConfigFile {
                members: config.members,
                ..empty.clone()
            },
        ),
        (
            "agreements.yaml",
            ConfigFile {
                agreements: config.agreements,
                ..empty.clone()
            },
        ),
        (
            "projects.yaml",
            ConfigFile {
                projects: config.projects,
                ..empty.clone()
            },
        ),
        (
            "teams.yaml",
            ConfigFile {
                teams: config.teams,
                ..empty
            },
        ),
    ];
    parts
        .into_iter()
        .filter(|(_, part)| *part != ConfigFile::default())
        .map(|(name, part)| (name, format!("{header}{}", emit::to_yaml(&part))))
        .collect()
}

/// A team as configuration: every pool with its size and direct seats, and on
/// `members` the users who hold no direct seat. (Seats held through a group in the
/// portal cannot be written as configuration; the plan reports them.)
fn export_team(id: &str, team: &TeamState) -> Team {
    let seated: std::collections::BTreeSet<_> = team
        .pools
        .values()
        .flat_map(|pool| pool.direct.iter())
        .collect();
    Team {
        id: id.to_owned(),
        name: team.name.clone(),
        members: team
            .users
            .iter()
            .filter(|email| !seated.contains(email))
            .map(ToString::to_string)
            .collect(),
        products: team
            .pools
            .iter()
            .map(|(name, pool)| TeamProduct {
                name: name.clone(),
                seats: pool.seats,
                assigned: pool.direct.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    }
}
