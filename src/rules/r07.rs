//! R07: every member named anywhere (assignment, project, group) is declared under
//! `members`, and an inactive member holds no seat, cloud service, support benefit,
//! project membership, contract manager or coordinator role.
//!
//! Precedence (DOMAIN.md): an undeclared contract manager or coordinator is
//! R02/R03's, and a malformed undeclared address R01's; everything else named but
//! not declared is reported here. An undeclared person inside a group is reported
//! once, at the group, not at every place the group is used. Inactive members may
//! stay in groups (a group holds nothing), but a group used to hand out a seat,
//! service, support benefit or project membership must not bring one in: that is
//! reported where the group is used, naming the inactive members.

use super::context::{Context, Entry, normalise, short_list};
use super::r01::is_valid_email;
use crate::diagnostic::{Code, Diagnostic};

/// Why an inactive member may not be where they are, for help lines.
const INACTIVE_HELP: &str = "an inactive member holds no seat, cloud service, support benefit, project membership, contract manager or coordinator role: remove them here, or set their `status` to `active`";

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
        let place = list.holding.describe();
        for (index, raw) in list.items.iter().enumerate() {
            let pointer = format!("{}/{index}", list.pointer);
            match Entry::parse(raw) {
                Entry::Person(email) => {
                    if let Some(diagnostic) =
                        person(ctx, pointer, &email, &place, list.holding.is_benefit())
                    {
                        out.push(diagnostic);
                    }
                }
                Entry::Group(name) if list.holding.is_benefit() => {
                    if let Some(diagnostic) = inactive_in_group(ctx, pointer, name, &place) {
                        out.push(diagnostic);
                    }
                }
                Entry::Group(_) => {}
            }
        }
    }
}

fn projects(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (p, project) in ctx.config.projects.iter().enumerate() {
        let place = format!("project `{}`", project.name);
        for (m, entry) in project.members.iter().enumerate() {
            let base = format!("/projects/{p}/members/{m}");
            if let Some(raw) = &entry.email {
                let email = normalise(raw);
                if let Some(diagnostic) = person(ctx, format!("{base}/email"), &email, &place, true) {
                    out.push(diagnostic);
                }
            } else if let Some(name) = &entry.group {
                if let Some(diagnostic) =
                    inactive_in_group(ctx, format!("{base}/group"), name.trim(), &place)
                {
                    out.push(diagnostic);
                }
            }
        }
    }
}

/// A person named at `pointer`: undeclared (and well-formed: else R01), or inactive
/// where that matters.
fn person(
    ctx: &Context,
    pointer: String,
    email: &str,
    place: &str,
    holds_something: bool,
) -> Option<Diagnostic> {
    match ctx.member(email) {
        None if is_valid_email(email) => Some(
            ctx.error(
                Code::R07,
                pointer,
                format!("`{email}` in {place} is not declared under `members`"),
            )
            .help(format!(
                "declare `{email}` under `members` (with company and role), or correct the address"
            )),
        ),
        Some(member) if holds_something && super::context::is_inactive(member) => {
            let declared = ctx.member_index(email).map(|i| format!("/members/{i}/status"));
            Some(
                ctx.error(
                    Code::R07,
                    pointer,
                    format!("`{email}` is inactive but is on {place}"),
                )
                .help(INACTIVE_HELP)
                .related(
                    declared.and_then(|p| ctx.locate(&p)),
                    "made inactive here",
                ),
            )
        }
        _ => None,
    }
}

/// A group used at `pointer` to hand something out, bringing in inactive members.
fn inactive_in_group(ctx: &Context, pointer: String, group: &str, place: &str) -> Option<Diagnostic> {
    let inactive: Vec<&str> = ctx
        .group_members(group)?
        .iter()
        .filter(|email| ctx.is_inactive(email))
        .map(AsRef::as_ref)
        .collect();
    if inactive.is_empty() {
        return None;
    }
    Some(
        ctx.error(
            Code::R07,
            pointer,
            format!(
                "group `{group}` puts inactive {} {} on {place}",
                if inactive.len() == 1 { "member" } else { "members" },
                short_list(&inactive)
            ),
        )
        .help(format!(
            "an inactive member holds no seat, cloud service, support benefit or project membership: take them out of group `{group}`, list the others directly here, or set their `status` to `active`"
        )),
    )
}

/// Contract managers and coordinators who are declared but inactive (undeclared
/// ones are R02/R03's). When no coordinator is named the contract manager stands
/// in, and is reported once, as contract manager.
fn role_holders(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        let holders = [
            ("contract_manager", "contract manager", Some(&agreement.contract_manager)),
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
