//! The parts of a configuration a backend does not manage, found before the diff so
//! that `plan` can list them ("not managed by this backend") instead of dropping them
//! silently, and so that the diff plans only what the backend can carry out. It
//! reads only the backend's [`Capabilities`], so it serves every backend alike.
//!
//! [`split`] answers the configuration restricted to what the backend manages (each
//! unmanaged part takes the account's current value, so the diff plans nothing for
//! it) and the list of unmanaged parts, each saying whether the configuration would
//! change it. By section: roles (and members' roles), account access levels,
//! agreements with their seats, cloud services and support. A backend that cannot
//! write access levels (the vendor's public API) cannot write the names of members
//! already in the account, nor external subscriptions, either: those count too.
//! The embedded store and the account service manage everything: nothing is split.

use std::borrow::Cow;

use crate::contract::{Capabilities, MemberField, Section};
use crate::desired::{Declared, Desired};
use crate::state::{MemberState, State};

/// One part of the configuration the backend does not manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    /// What it is (`agreement 110001234567 (AEC Collection)`).
    pub what: String,
    /// Where it is declared (`agreements.yaml:8`), when known.
    pub location: Option<String>,
    /// Whether the configuration asks for something else than the account holds.
    pub changes: bool,
}

impl Unmanaged {
    /// The plan note for it; `skipped` when `--skip-unsupported` was given.
    #[must_use]
    pub fn note(&self, skipped: bool) -> String {
        let place = self
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let effect = match (self.changes, skipped) {
            (false, _) => "matches the account",
            (true, false) => "the configuration would change it",
            (true, true) => "the change is skipped (--skip-unsupported)",
        };
        let lead = if self.changes && skipped {
            "warning: not managed by this backend"
        } else {
            "not managed by this backend"
        };
        format!("{lead}: {}{place}: {effect}", self.what)
    }
}

/// The configuration restricted to what `capabilities` manage, and the parts left out.
#[must_use]
pub fn split<'a>(
    current: &State,
    desired: &'a Desired,
    capabilities: &Capabilities,
) -> (Cow<'a, Desired>, Vec<Unmanaged>) {
    if !capabilities.is_partial() {
        return (Cow::Borrowed(desired), Vec::new());
    }
    let mut managed = desired.clone();
    let mut parts = Vec::new();
    let here = |kind: Declared, target: &str| {
        desired
            .provenance
            .get(kind, target)
            .map(crate::diagnostic::Location::file_line)
    };
    let agreements_managed = capabilities.records_agreements()
        && [
            Section::Agreements,
            Section::Seats,
            Section::CloudServices,
            Section::Support,
        ]
        .iter()
        .all(|s| capabilities.manages(*s));
    if !agreements_managed {
        for (number, agreement) in &desired.state.agreements {
            parts.push(Unmanaged {
                what: format!(
                    "agreement {number} ({}): contract manager, software coordinator, seats, cloud services and support",
                    agreement.name
                ),
                location: here(Declared::Agreement, number),
                changes: current.agreements.get(number) != Some(agreement),
            });
        }
        managed.state.agreements.clone_from(&current.agreements);
    }
    let roles = capabilities.manages(Section::Roles);
    if !roles {
        for (name, role) in &desired.state.roles {
            parts.push(Unmanaged {
                what: format!("role {name}"),
                location: here(Declared::Role, name),
                changes: current.roles.get(name) != Some(role),
            });
        }
        managed.state.roles.clone_from(&current.roles);
    }
    for (section, kind, names) in [
        (
            Section::Companies,
            Declared::Company,
            declared_names(&desired.state.companies, &current.companies),
        ),
        (
            Section::Projects,
            Declared::Project,
            declared_names(&desired.state.projects, &current.projects),
        ),
    ] {
        if capabilities.manages(section) {
            continue;
        }
        for (name, changes) in names {
            let word = if section == Section::Companies {
                "company"
            } else {
                "project"
            };
            parts.push(Unmanaged {
                what: format!("{word} {name}"),
                location: here(kind, name),
                changes,
            });
        }
    }
    if !capabilities.manages_teams() {
        // A backend without teams (the vendor without a login for its Team Admin
        // API): the declared teams are listed, with why, and none is planned.
        let why = capabilities
            .unmanaged_because
            .get(&Section::Teams)
            .map(|why| format!(" ({why})"))
            .unwrap_or_default();
        for (id, team) in &desired.state.teams {
            parts.push(Unmanaged {
                what: format!("team {id} ({}){why}", team.name),
                location: here(Declared::Team, id),
                changes: current.teams.get(id) != Some(team),
            });
        }
        managed.state.teams.clone_from(&current.teams);
    }
    if !capabilities.manages(Section::Members) {
        // A backend without the account's members (the vendor's teams alone): the
        // members are declared for the teams (R07), not for this backend to change.
        if !desired.state.members.is_empty() {
            parts.push(Unmanaged {
                what: format!(
                    "members ({} declared): invitations, companies, roles, access levels and status; they stay declared for the teams",
                    desired.state.members.len()
                ),
                location: here(Declared::MembersSection, ""),
                changes: false,
            });
        }
        return (Cow::Owned(managed), parts);
    }
    let access = capabilities.writes(MemberField::Access);
    let subscriptions = capabilities.writes(MemberField::ExternalSubscriptions);
    let names = capabilities.writes(MemberField::Names);
    let role = capabilities.writes(MemberField::Role);
    for (email, member) in &mut managed.state.members {
        let now = current.members.get(email);
        let fallback = MemberState::default();
        let now_or_new = now.unwrap_or(&fallback);
        let mut fields = Vec::new();
        if !role && member.role.is_some() {
            fields.push(("role", member.role != now_or_new.role));
            member.role.clone_from(&now_or_new.role);
        }
        if !access {
            if !member.access.is_empty() || !now_or_new.access.is_empty() {
                fields.push(("account access levels", member.access != now_or_new.access));
            }
            member.access.clone_from(&now_or_new.access);
        }
        if !subscriptions {
            if !member.external_subscriptions.is_empty() {
                fields.push((
                    "external subscriptions",
                    member.external_subscriptions != now_or_new.external_subscriptions,
                ));
            }
            member
                .external_subscriptions
                .clone_from(&now_or_new.external_subscriptions);
        }
        if let (false, Some(now)) = (names, now) {
            let differ = (member.first_name.is_some() && member.first_name != now.first_name)
                || (member.last_name.is_some() && member.last_name != now.last_name);
            if differ {
                fields.push(("names (set only on invitation)", true));
                member.first_name.clone_from(&now.first_name);
                member.last_name.clone_from(&now.last_name);
            }
        }
        for (field, changes) in fields {
            parts.push(Unmanaged {
                what: format!("{field} of {email}"),
                location: here(Declared::Member, email.as_str()),
                changes,
            });
        }
    }
    (Cow::Owned(managed), parts)
}

/// Each declared name, and whether the live value differs from the declared one.
fn declared_names<'d, T: PartialEq>(
    declared: &'d std::collections::BTreeMap<String, T>,
    live: &std::collections::BTreeMap<String, T>,
) -> Vec<(&'d str, bool)> {
    declared
        .iter()
        .map(|(name, value)| (name.as_str(), live.get(name) != Some(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AccessLevel, Email, RoleState};

    fn acc_like() -> Capabilities {
        let mut caps = Capabilities::full(50);
        caps.kinds.retain(|kind| {
            matches!(
                kind.section(),
                Section::Companies | Section::Members | Section::Projects | Section::ProjectMembers
            )
        });
        caps.unwritable = [
            MemberField::Names,
            MemberField::Access,
            MemberField::ExternalSubscriptions,
        ]
        .into();
        caps
    }

    #[test]
    fn full_backends_split_nothing() {
        let desired = Desired::default();
        let (managed, parts) = split(&State::default(), &desired, &Capabilities::full(100));
        assert!(matches!(managed, Cow::Borrowed(_)));
        assert!(parts.is_empty());
    }

    #[test]
    fn roles_and_access_take_the_accounts_values_and_are_listed() {
        let mut desired = Desired::default();
        desired.state.roles.insert(
            "BIM Manager".into(),
            RoleState {
                default_access: [AccessLevel::AccountAdmin].into(),
            },
        );
        let email = Email::new("a@x.example");
        desired.state.members.insert(
            email.clone(),
            MemberState {
                role: Some("BIM Manager".into()),
                access: [AccessLevel::AccountAdmin].into(),
                ..MemberState::default()
            },
        );
        let (managed, parts) = split(&State::default(), &desired, &acc_like());
        assert!(managed.state.roles.is_empty());
        let member = &managed.state.members[&email];
        assert!(member.access.is_empty() && member.role.is_none());
        let whats: Vec<&str> = parts.iter().map(|p| p.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "role BIM Manager",
                "role of a@x.example",
                "account access levels of a@x.example"
            ]
        );
        assert!(parts.iter().all(|p| p.changes));
        assert!(
            parts[0]
                .note(true)
                .starts_with("warning: not managed by this backend: role BIM Manager")
        );
    }

    #[test]
    fn a_backend_with_teams_alone_lists_the_members_and_other_sections_without_failing() {
        let mut caps = Capabilities::full(100);
        caps.kinds.retain(|kind| {
            matches!(
                kind.section(),
                Section::Teams | Section::TeamMembers | Section::TeamSeats
            )
        });
        let mut desired = Desired::default();
        desired
            .state
            .members
            .insert(Email::new("a@x.example"), MemberState::default());
        desired
            .state
            .projects
            .insert("Tower A".into(), crate::state::ProjectState::default());
        let (managed, parts) = split(&State::default(), &desired, &caps);
        assert_eq!(
            managed.state.members, desired.state.members,
            "kept for the teams"
        );
        let whats: Vec<(&str, bool)> = parts.iter().map(|p| (p.what.as_str(), p.changes)).collect();
        assert_eq!(
            whats,
            [
                ("project Tower A", true),
                (
                    "members (1 declared): invitations, companies, roles, access levels and status; they stay declared for the teams",
                    false
                ),
            ]
        );
    }

    #[test]
    fn a_backend_without_teams_lists_the_declared_teams_and_plans_none() {
        let mut caps = Capabilities::full(100);
        caps.kinds.retain(|kind| {
            !matches!(
                kind.section(),
                Section::Teams | Section::TeamMembers | Section::TeamSeats
            )
        });
        let mut desired = Desired::default();
        desired.state.teams.insert(
            "100001".into(),
            crate::state::TeamState {
                name: "ACME EU".into(),
                ..crate::state::TeamState::default()
            },
        );
        let (managed, parts) = split(&State::default(), &desired, &caps);
        assert!(managed.state.teams.is_empty(), "the live teams, none");
        let whats: Vec<(&str, bool)> = parts.iter().map(|p| (p.what.as_str(), p.changes)).collect();
        assert_eq!(whats, [("team 100001 (ACME EU)", true)]);
        // The vendor without a login says why its teams are not managed.
        caps.unmanaged_because
            .insert(Section::Teams, "no login: run `accord login`".into());
        let (_, parts) = split(&State::default(), &desired, &caps);
        assert_eq!(
            parts[0].what,
            "team 100001 (ACME EU) (no login: run `accord login`)"
        );
    }

    #[test]
    fn a_backend_that_only_adds_users_and_seats_manages_teams() {
        // The vendor carries out team_member.add and the seat kinds, not team.create
        // or team.update: its teams are managed, their creation and resizing are manual.
        let mut caps = Capabilities::full(100);
        caps.kinds
            .retain(|kind| matches!(kind.section(), Section::TeamMembers | Section::TeamSeats));
        assert!(caps.manages_teams());
        assert!(!caps.manages(Section::Teams));
        let mut desired = Desired::default();
        desired
            .state
            .teams
            .insert("100001".into(), crate::state::TeamState::default());
        let (managed, parts) = split(&State::default(), &desired, &caps);
        assert!(
            parts.iter().all(|p| !p.what.starts_with("team ")),
            "{parts:?}"
        );
        assert!(managed.state.teams.contains_key("100001"));
    }
}
