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
use crate::state::{Email, MemberState, MemberStatus, State, TeamState};

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
        members: members_with_team_users(state)
            .into_iter()
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
            .map(|(id, team)| export_team(id, team, None))
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

/// The settings an export writes, explicitly at their defaults (a backend holds no
/// settings: they are the configuration's own), so whoever reads the files sees the
/// safety rules the plans run under and can change them.
pub const SETTINGS: &str = "settings:
  prune: false       # true: remove live members (and team users) the configuration does not declare
  max_removals: 10   # R13: refuse a plan that removes more members than this
  protected: []      # R12: members never removed, deactivated or changed
";

/// The state as configuration files, one per section: `(file name, YAML text)`.
/// Sections with nothing in them are left out (a section left out is an empty list).
#[must_use]
pub fn files(state: &State, header: &str, now: i64) -> Vec<(&'static str, String)> {
    let mut config = to_config(state);
    config.teams = state
        .teams
        .iter()
        .map(|(id, team)| export_team(id, team, Some(now)))
        .collect();
    let comments: Vec<String> = state
        .teams
        .iter()
        .flat_map(|(id, team)| team_comments(id, team, now))
        .collect();
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
        .map(|(name, part)| {
            let mut text = format!("{header}{}", emit::to_yaml(&part));
            if name == "account.yaml" {
                text.push_str(SETTINGS);
            }
            if name == "teams.yaml" && !comments.is_empty() {
                text.push_str(&comments.join("\n"));
                text.push('\n');
            }
            (name, text)
        })
        .collect()
}

/// The account's members, and every team user who is not one (a team's users must be
/// declared members, R07: on the vendor's teams alone, the team users are all the
/// members there are), with an empty record.
fn members_with_team_users(state: &State) -> Vec<(&Email, std::borrow::Cow<'_, MemberState>)> {
    let mut members: std::collections::BTreeMap<&Email, std::borrow::Cow<'_, MemberState>> = state
        .members
        .iter()
        .map(|(email, member)| (email, std::borrow::Cow::Borrowed(member)))
        .collect();
    for email in state.teams.values().flat_map(|team| team.users.iter()) {
        members
            .entry(email)
            .or_insert_with(|| std::borrow::Cow::Owned(MemberState::default()));
    }
    members.into_iter().collect()
}

/// The pools of `team` the configuration can declare at `now` (all when `None`):
/// a pool that is not current cannot be listed (R14), so it is left to a comment.
fn declarable(
    team: &TeamState,
    now: Option<i64>,
) -> impl Iterator<Item = (&String, &crate::state::PoolState)> {
    team.pools
        .iter()
        .filter(move |(_, pool)| now.is_none_or(|now| pool.is_current(now)))
}

/// The comments that go with an exported team: its inherited seats (not accord's to
/// change, so not configuration) and its pools that are not current at `now`.
fn team_comments(id: &str, team: &TeamState, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for (product, pool) in &team.pools {
        if !pool.is_current(now) {
            let from = pool
                .starts
                .map_or_else(|| "-".to_owned(), crate::time::format_date);
            let to = pool
                .ends
                .map_or_else(|| "-".to_owned(), crate::time::format_date);
            lines.push(format!(
                "# team {id}: the {product} pool runs from {from} to {to}, not now: add it to `products` once it has started"
            ));
            continue;
        }
        let inherited: Vec<String> = pool
            .inherited
            .difference(&pool.direct)
            .map(ToString::to_string)
            .collect();
        if !inherited.is_empty() {
            lines.push(format!(
                "# team {id}: {product} is inherited (a group or the whole team, set in the portal; accord does not change it) by: {}",
                inherited.join(", ")
            ));
        }
    }
    lines
}

/// A team as configuration: every pool with its size and direct seats, and on
/// `members` the users who hold no direct seat. (Seats held through a group in the
/// portal cannot be written as configuration: [`team_comments`] lists them.)
fn export_team(id: &str, team: &TeamState, now: Option<i64>) -> Team {
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
        products: declarable(team, now)
            .map(|(name, pool)| TeamProduct {
                name: name.clone(),
                seats: pool.seats,
                assigned: pool.direct.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    }
}
