//! The rules a plan is checked against before anything is changed: R11 (role
//! holders are transferred first), R12 (protected members are never changed), R13
//! (too many removals), and, on the state the plan would leave, R10 (an admin
//! remains) and R04 (seats suffice, where the backend's licence counts stay).
//!
//! Each check only builds [`Diagnostic`]s; the diff decides what to check. Every
//! diagnostic is located as DOMAIN.md says: R11 at the member or agreement
//! concerned, R12 at the member's declaration (with the `settings.protected` entry
//! as related), R13 at `settings.max_removals` or saying the limit came from the
//! default or the flag, R10 at the `members` section.

use std::collections::{BTreeMap, BTreeSet};

use super::model::SeatLine;
use crate::desired::{Declared, Desired, LimitSource, MaxRemovals};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::state::{AccessLevel, Email, State};

/// How a member leaves: removed from the account, or deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `member.remove`.
    Remove,
    /// `member.deactivate`.
    Deactivate,
}

impl Exit {
    fn verb(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::Deactivate => "deactivate",
        }
    }
}

/// The roles an agreement gives, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    ContractManager,
    SoftwareCoordinator,
}

impl Holder {
    fn words(self) -> &'static str {
        match self {
            Self::ContractManager => "contract manager",
            Self::SoftwareCoordinator => "software coordinator",
        }
    }
}

fn locate<'a>(desired: &'a Desired, candidates: &[(Declared, &str)]) -> Option<&'a Location> {
    candidates
        .iter()
        .find_map(|(kind, target)| desired.provenance.get(*kind, target))
}

/// R11: nobody leaves while holding a contract-manager or coordinator role on the
/// state the plan leaves behind (declared agreements as configured, the others as
/// they are). For undeclared agreements that means no successor is named.
#[must_use]
pub fn role_holders_leaving(
    current: &State,
    desired: &Desired,
    exits: &BTreeMap<Email, Exit>,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    if exits.is_empty() {
        return diagnostics;
    }
    let declared = &desired.state.agreements;
    let resulting = current
        .agreements
        .iter()
        .filter(|(number, _)| !declared.contains_key(*number))
        .map(|(number, agreement)| (number, agreement, false))
        .chain(
            declared
                .iter()
                .map(|(number, agreement)| (number, agreement, true)),
        );
    for (number, agreement, is_declared) in resulting {
        let holders = [
            (Holder::ContractManager, &agreement.contract_manager),
            (Holder::SoftwareCoordinator, &agreement.software_coordinator),
        ];
        for (index, (holder, email)) in holders.into_iter().enumerate() {
            let Some(&exit) = exits.get(email) else {
                continue;
            };
            // The coordinator standing in for the contract manager is one fact, reported once.
            if index == 1 && agreement.software_coordinator == agreement.contract_manager {
                continue;
            }
            diagnostics.push(role_holder(
                desired,
                number,
                email,
                holder,
                exit,
                is_declared,
            ));
        }
    }
    diagnostics
}

fn role_holder(
    desired: &Desired,
    number: &str,
    email: &Email,
    holder: Holder,
    exit: Exit,
    is_declared: bool,
) -> Diagnostic {
    let role = holder.words();
    let verb = exit.verb();
    let location = locate(
        desired,
        &[
            (Declared::Member, email.as_str()),
            (Declared::Agreement, number),
            (Declared::MembersSection, ""),
        ],
    );
    let (message, help) = if is_declared {
        (
            format!(
                "{email} would be {verb}d but stays {role} of agreement {number} in the configuration"
            ),
            format!("name another {role} for agreement {number}, then {verb} {email}"),
        )
    } else {
        (
            format!(
                "accord will not {verb} {email}: they are the {role} of agreement {number}, which the configuration does not declare, so no successor is named"
            ),
            format!(
                "declare agreement {number} with another {role}, or hand the role over in the portal first; or keep {email} in the account"
            ),
        )
    };
    Diagnostic::error(Code::R11, message)
        .at(location.cloned())
        .help(help)
}

/// R12: a protected member would be changed (`what` says how: "change company: A -> B",
/// "deactivate them").
#[must_use]
pub fn protected_changed(desired: &Desired, email: &Email, what: &str) -> Diagnostic {
    let location = locate(
        desired,
        &[
            (Declared::Member, email.as_str()),
            (Declared::Protected, email.as_str()),
        ],
    );
    Diagnostic::error(
        Code::R12,
        format!(
            "{email} is protected (settings.protected), but the configuration would {what}"
        ),
    )
    .at(location.cloned())
    .related(
        desired
            .provenance
            .get(Declared::Protected, email.as_str())
            .cloned(),
        "protected here",
    )
    .help(format!(
        "accord never changes a protected member: make the declaration of {email} match the account, or take them off settings.protected"
    ))
}

/// R13: the plan removes more members than the limit in force allows.
#[must_use]
pub fn too_many_removals(removals: usize, limit: &MaxRemovals) -> Option<Diagnostic> {
    if removals <= limit.limit as usize {
        return None;
    }
    let (source, location) = match &limit.source {
        LimitSource::Default => (
            format!(
                "the default limit of {} (settings.max_removals is not set)",
                limit.limit
            ),
            None,
        ),
        LimitSource::Config(location) => (
            format!("settings.max_removals: {}", limit.limit),
            Some(location.clone()),
        ),
        LimitSource::Flag => (format!("--max-removals {}", limit.limit), None),
    };
    Some(
        Diagnostic::error(
            Code::R13,
            format!(
                "this plan removes {removals} members, more than {source} allows; nothing was changed"
            ),
        )
        .at(location)
        .help(format!(
            "if these removals are intended, set `settings.max_removals: {removals}` in the configuration or pass `--max-removals {removals}`; otherwise declare the members to keep, or turn `settings.prune` off"
        )),
    )
}

/// R10 on the state the plan leaves: declared members as configured, undeclared ones
/// as they are unless removed.
#[must_use]
pub fn last_admin(
    current: &State,
    desired: &Desired,
    removed: &BTreeSet<&Email>,
) -> Option<Diagnostic> {
    let is_admin = |access: &BTreeSet<AccessLevel>, inactive: bool| {
        !inactive && access.contains(&AccessLevel::AccountAdmin)
    };
    let declared_admin = desired
        .state
        .members
        .values()
        .any(|m| is_admin(&m.access, m.status.is_inactive()));
    let kept_admin = || {
        current.members.iter().any(|(email, m)| {
            !desired.state.members.contains_key(email)
                && !removed.contains(email)
                && is_admin(&m.access, m.status.is_inactive())
        })
    };
    if declared_admin || kept_admin() {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::R10,
            "after this plan no member who is not inactive would hold account_admin: an account never loses its last admin",
        )
        .at(locate(desired, &[(Declared::MembersSection, "")]).cloned())
        .help("give account_admin to at least one active member"),
    )
}

/// R04 on the state the plan leaves: where the backend's licence count stays (the
/// configuration gives no `seats`, or the backend does not change licence counts),
/// the members assigned must still fit in it.
#[must_use]
pub fn seats_short(
    desired: &Desired,
    seats: &[SeatLine],
    records_agreements: bool,
) -> Vec<Diagnostic> {
    seats
        .iter()
        .filter(|line| line.after.assigned > line.after.seats as usize)
        .map(|line| {
            let why = if records_agreements {
                "the configuration does not set `seats` for it, so the backend's count stays"
            } else {
                "this backend does not change licence counts"
            };
            let product_key = format!("{}/{}", line.agreement, line.product);
            let location = locate(
                desired,
                &[
                    (Declared::Product, &product_key),
                    (Declared::Agreement, &line.agreement),
                ],
            );
            Diagnostic::error(
                Code::R04,
                format!(
                    "agreement {}, product {}: {} members would be assigned but there are only {} seats ({why})",
                    line.agreement, line.product, line.after.assigned, line.after.seats
                ),
            )
            .at(location.cloned())
            .help("assign fewer members, or buy more seats and set `seats` to the new count")
        })
        .collect()
}
