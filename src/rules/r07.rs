//! R07: every member named anywhere (assignment, project, group, team) is declared
//! under `members`, and an inactive member holds no seat, cloud service, support
//! benefit, project membership, contract manager or coordinator role, holds no team
//! seat and is on no team's `members` list.
//!
//! Precedence (DOMAIN.md): an undeclared contract manager or coordinator is
//! R02/R03's, and a malformed undeclared address R01's; everything else named but
//! not declared is reported here. An undeclared person inside a group is reported
//! once, at the group, not at every place the group is used. Inactive members may
//! stay in groups (a group holds nothing), but a group used to hand out a seat,
//! service, support benefit or project membership must not bring one in: that is
//! reported where the group is used, naming the inactive members.

use super::context::{Context, Entry, is_inactive, normalise, short_list};
use super::r01::is_valid_email;
use crate::diagnostic::{Code, Diagnostic};

/// Why an inactive member may not be where they are, for help lines.
const INACTIVE_HELP: &str = "an inactive member holds no seat, cloud service, support benefit, project membership, contract manager or coordinator role: remove them here, or set their `status` to `active`";

/// Why an inactive member may not be on a team's list, for help lines.
const INACTIVE_TEAM_HELP: &str = "an inactive member holds no team seat and is on no team's `members` list: remove them here, or set their `status` to `active`";

/// Checks R07.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    member_lists(ctx, &mut out);
    projects(ctx, &mut out);
    role_holders(ctx, &mut out);
    out
}

fn member_lists(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for list in &ctx.member_lists {
        let benefit = list.holding.is_benefit();
        let pointer = |index: usize| format!("{}/{index}", list.pointer);
        let help = if list.holding.is_team() {
            INACTIVE_TEAM_HELP
        } else {
            INACTIVE_HELP
        };
        for (index, raw) in list.items.iter().enumerate() {
            let found = match Entry::parse(raw) {
                Entry::Person(email) => person(ctx, &email, benefit).map(|fault| {
                    fault.report(ctx, pointer(index), &email, &list.holding.describe(), help)
                }),
                Entry::Group(name) if benefit => inactive_in_group(ctx, name).map(|inactive| {
                    group_report(
                        ctx,
                        pointer(index),
                        name,
                        &inactive,
                        &list.holding.describe(),
                        list.holding.is_team(),
                    )
                }),
                Entry::Group(_) => None,
            };
            out.extend(found);
        }
    }
}

fn projects(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (p, project) in ctx.config.projects.iter().enumerate() {
        let place = || format!("project `{}`", project.name);
        for (m, entry) in project.members.iter().enumerate() {
            let found = if let Some(raw) = &entry.email {
                let email = normalise(raw);
                person(ctx, &email, true).map(|fault| {
                    fault.report(
                        ctx,
                        format!("/projects/{p}/members/{m}/email"),
                        &email,
                        &place(),
                        INACTIVE_HELP,
                    )
                })
            } else if let Some(name) = &entry.group {
                let name = name.trim();
                inactive_in_group(ctx, name).map(|inactive| {
                    group_report(
                        ctx,
                        format!("/projects/{p}/members/{m}/group"),
                        name,
                        &inactive,
                        &place(),
                        false,
                    )
                })
            } else {
                None
            };
            out.extend(found);
        }
    }
}

/// What is wrong with a person named somewhere.
enum Fault {
    /// Not declared (and well-formed: a malformed address is R01's).
    Undeclared,
    /// Declared inactive, on a list that holds something; the member's index.
    Inactive(usize),
}

/// Whether the person named is at fault; `holds_something` is false for groups.
fn person(ctx: &Context, email: &str, holds_something: bool) -> Option<Fault> {
    match ctx.member_index(email) {
        None if is_valid_email(email) => Some(Fault::Undeclared),
        Some(index) if holds_something && is_inactive(&ctx.config.members[index]) => {
            Some(Fault::Inactive(index))
        }
        _ => None,
    }
}

impl Fault {
    fn report(
        &self,
        ctx: &Context,
        pointer: String,
        email: &str,
        place: &str,
        inactive_help: &str,
    ) -> Diagnostic {
        match *self {
            Self::Undeclared => ctx
                .error(
                    Code::R07,
                    pointer,
                    format!("`{email}` in {place} is not declared under `members`"),
                )
                .help(format!(
                    "declare `{email}` under `members` (with company and role), correct the address, or, if the person has left, delete this reference"
                )),
            Self::Inactive(index) => ctx
                .error(
                    Code::R07,
                    pointer,
                    format!("`{email}` is inactive but is on {place}"),
                )
                .help(inactive_help)
                .related(
                    ctx.locate(&format!("/members/{index}/status")),
                    "made inactive here",
                ),
        }
    }
}

/// The inactive members a group would bring onto a list that holds something.
fn inactive_in_group(ctx: &Context, group: &str) -> Option<Vec<String>> {
    let inactive: Vec<String> = ctx
        .group_members(group)?
        .iter()
        .filter(|email| ctx.is_inactive(email))
        .map(ToString::to_string)
        .collect();
    (!inactive.is_empty()).then_some(inactive)
}

/// A group used at `pointer` to hand something out, bringing in inactive members.
fn group_report(
    ctx: &Context,
    pointer: String,
    group: &str,
    inactive: &[String],
    place: &str,
    team: bool,
) -> Diagnostic {
    let held = if team {
        "team seat and is on no team's `members` list"
    } else {
        "seat, cloud service, support benefit or project membership"
    };
    ctx.error(
        Code::R07,
        pointer,
        format!(
            "group `{group}` puts inactive {} {} on {place}",
            if inactive.len() == 1 { "member" } else { "members" },
            short_list(inactive)
        ),
    )
    .help(format!(
        "an inactive member holds no {held}: take them out of group `{group}`, list the others directly here, or set their `status` to `active`"
    ))
}

/// Contract managers and coordinators who are declared but inactive (undeclared
/// ones are R02/R03's). When no coordinator is named the contract manager stands
/// in, and is reported once, as contract manager.
fn role_holders(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        let holders = [
            (
                "contract_manager",
                "contract manager",
                Some(&agreement.contract_manager),
            ),
            (
                "software_coordinator",
                "software coordinator",
                agreement.software_coordinator.as_ref(),
            ),
        ];
        for (field, role, raw) in holders {
            let Some(raw) = raw else { continue };
            let email = normalise(raw);
            if !ctx.is_inactive(&email) {
                continue;
            }
            out.push(
                ctx.error(
                    Code::R07,
                    format!("/agreements/{a}/{field}"),
                    format!(
                        "the {role} of agreement {} is `{email}`, who is inactive",
                        agreement.number
                    ),
                )
                .help(format!(
                    "name an active member as `{field}`, or set the status of `{email}` to `active`"
                ))
                .related(
                    ctx.member_index(&email)
                        .and_then(|i| ctx.locate(&format!("/members/{i}/status"))),
                    "made inactive here",
                ),
            );
        }
    }
}
