//! R09: every company, role and group referenced exists; companies, roles, groups,
//! projects, agreement numbers and team ids are unique.
//!
//! Also R09's, as "a name declared twice" (DOMAIN.md gives R01 only to member
//! emails): the same product or cloud service listed twice in one agreement, the
//! same product listed twice in one team, and the same person or group listed twice
//! in one project. Groups named in team lists must exist like any other. A group
//! that includes itself,
//! directly or through other groups, references no group that can exist and is
//! reported at the entry that closes the cycle. Names are compared as written.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::context::{Context, Entry, normalise, suggest};
use crate::diagnostic::{Code, Diagnostic, Severity};

/// Checks R09.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    unique_sections(ctx, &mut out);
    unique_within_agreements(ctx, &mut out);
    unique_within_teams(ctx, &mut out);
    unique_within_projects(ctx, &mut out);
    member_references(ctx, &mut out);
    group_references(ctx, &mut out);
    group_cycles(ctx, &mut out);
    out
}

/// Reports each repeated name after its first occurrence. `names` yields (index,
/// name); `pointer` turns an index into the pointer of the name node (called only
/// for repeats, so large sections cost no formatting); `what` says what the name
/// names, for messages.
fn repeated<'n>(
    ctx: &Context,
    names: impl Iterator<Item = (usize, &'n str)>,
    pointer: impl Fn(usize) -> String,
    what: &str,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut first: FxHashMap<&'n str, usize> = FxHashMap::default();
    for (index, name) in names {
        let &mut first_index = first.entry(name).or_insert(index);
        if first_index != index {
            let first = ctx.locate(&pointer(first_index));
            out.push(
                ctx.error(
                    Code::R09,
                    pointer(index),
                    format!(
                        "{what} `{name}` is declared twice{}",
                        super::context::first_at(first.as_ref())
                    ),
                )
                .help(help)
                .related(first, "first declared here"),
            );
        }
    }
}

/// Names that differ from an earlier one only by letter case (`C1`, `c1`): allowed
/// (names are compared as written), but most likely one thing written two ways, so
/// a warning names both places.
fn case_only<'n>(
    ctx: &Context,
    names: impl Iterator<Item = (usize, &'n str)>,
    pointer: impl Fn(usize) -> String,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut first: FxHashMap<String, (usize, &'n str)> = FxHashMap::default();
    for (index, name) in names {
        let &mut (first_index, first_name) =
            first.entry(name.to_lowercase()).or_insert((index, name));
        if first_name != name {
            let place = ctx.locate(&pointer(first_index));
            let mut warning = ctx
                .error(
                    Code::R09,
                    pointer(index),
                    format!(
                        "{what} `{name}` differs from {what} `{first_name}` only by letter case{}: they are two {what}s",
                        super::context::first_at(place.as_ref()).replace("first declared", "declared")
                    ),
                )
                .help(format!(
                    "if they are one {what}, write its name the same way in both places"
                ))
                .related(place, format!("`{first_name}` is declared here"));
            warning.severity = Severity::Warning;
            out.push(warning);
        }
    }
}

/// `renamed_from` naming a name the section declares too: both are wanted, so nothing
/// is renamed (a warning; the old one stays as declared).
fn renamed_from_declared<'n>(
    ctx: &Context,
    entries: impl Iterator<Item = (usize, &'n str, Option<&'n str>)> + Clone,
    section: &str,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let names: FxHashMap<&str, usize> = entries.clone().map(|(i, name, _)| (name, i)).collect();
    for (index, name, from) in entries {
        let Some(from) = from else { continue };
        if let Some(&other) = names.get(from).filter(|&&other| other != index) {
            let place = ctx.locate(&format!("/{section}/{other}/name"));
            let mut warning = ctx
                .error(
                    Code::R09,
                    format!("/{section}/{index}/renamed_from"),
                    format!(
                        "{what} `{name}` is renamed from `{from}`, which is declared too{}: nothing is renamed",
                        super::context::first_at(place.as_ref()).replace("first declared", "declared")
                    ),
                )
                .help(format!(
                    "to rename `{from}`, delete its own entry; to keep both, delete `renamed_from`"
                ))
                .related(place, format!("`{from}` is declared here"));
            warning.severity = Severity::Warning;
            out.push(warning);
        }
    }
}

fn unique_sections(ctx: &Context, out: &mut Vec<Diagnostic>) {
    const HELP: &str = "names must be unique: keep one declaration and delete or rename the other";
    fn name_in(section: &'static str) -> impl Fn(usize) -> String {
        move |i| format!("/{section}/{i}/name")
    }
    let config = ctx.config;
    let companies = || config.companies.iter().map(|c| c.name.as_str()).enumerate();
    repeated(ctx, companies(), name_in("companies"), "company", HELP, out);
    case_only(ctx, companies(), name_in("companies"), "company", out);
    let roles = || config.roles.iter().map(|r| r.name.as_str()).enumerate();
    repeated(ctx, roles(), name_in("roles"), "role", HELP, out);
    case_only(ctx, roles(), name_in("roles"), "role", out);
    let groups = || config.groups.iter().map(|g| g.name.as_str()).enumerate();
    repeated(ctx, groups(), name_in("groups"), "group", HELP, out);
    case_only(ctx, groups(), name_in("groups"), "group", out);
    let projects = || config.projects.iter().map(|p| p.name.as_str()).enumerate();
    repeated(ctx, projects(), name_in("projects"), "project", HELP, out);
    case_only(ctx, projects(), name_in("projects"), "project", out);
    renamed_from_declared(
        ctx,
        config
            .companies
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.name.as_str(), c.renamed_from.as_deref())),
        "companies",
        "company",
        out,
    );
    renamed_from_declared(
        ctx,
        config
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.name.as_str(), r.renamed_from.as_deref())),
        "roles",
        "role",
        out,
    );
    renamed_from_declared(
        ctx,
        config
            .projects
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.name.as_str(), p.renamed_from.as_deref())),
        "projects",
        "project",
        out,
    );
    let numbers = config
        .agreements
        .iter()
        .map(|a| a.number.as_str())
        .enumerate();
    repeated(
        ctx,
        numbers,
        |i| format!("/agreements/{i}/number"),
        "agreement number",
        "agreement numbers must be unique: merge the two agreements into one, or correct the number",
        out,
    );
    let ids = config.teams.iter().map(|t| t.id.as_str()).enumerate();
    repeated(
        ctx,
        ids,
        |i| format!("/teams/{i}/id"),
        "team id",
        "team ids must be unique: merge the two teams into one, or correct the id (`accord teams` lists the ids of the teams you administer)",
        out,
    );
}

fn unique_within_agreements(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (a, agreement) in ctx.config.agreements.iter().enumerate() {
        repeated(
            ctx,
            agreement
                .products
                .iter()
                .map(|p| p.name.as_str())
                .enumerate(),
            |p| format!("/agreements/{a}/products/{p}/name"),
            &format!("on agreement {}, product", agreement.number),
            "list each product once per agreement: merge the two entries (seats and assigned) into one",
            out,
        );
        repeated(
            ctx,
            agreement
                .cloud_services
                .iter()
                .map(|s| s.name.as_str())
                .enumerate(),
            |s| format!("/agreements/{a}/cloud_services/{s}/name"),
            &format!("on agreement {}, cloud service", agreement.number),
            "list each cloud service once per agreement: merge the two `assigned` lists into one",
            out,
        );
    }
}

fn unique_within_teams(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (t, team) in ctx.config.teams.iter().enumerate() {
        repeated(
            ctx,
            team.products.iter().map(|p| p.name.as_str()).enumerate(),
            |p| format!("/teams/{t}/products/{p}/name"),
            &format!("on team {} ({}), product", team.id, team.name),
            "a team has one pool per product: merge the two entries (seats and assigned) into one",
            out,
        );
    }
}

/// The same person, or the same group, listed twice in one project: the two entries
/// may disagree on access and products, so neither can be picked silently.
fn unique_within_projects(ctx: &Context, out: &mut Vec<Diagnostic>) {
    const HELP: &str =
        "list each person and each group once per project: merge the two entries into one";
    for (p, project) in ctx.config.projects.iter().enumerate() {
        let emails: Vec<(usize, Cow<'_, str>)> = project
            .members
            .iter()
            .enumerate()
            .filter_map(|(m, entry)| Some((m, normalise(entry.email.as_deref()?))))
            .collect();
        repeated(
            ctx,
            emails.iter().map(|(m, email)| (*m, email.as_ref())),
            |m| format!("/projects/{p}/members/{m}/email"),
            &format!("on project `{}`, member", project.name),
            HELP,
            out,
        );
        let groups = project.members.iter().enumerate();
        repeated(
            ctx,
            groups.filter_map(|(m, entry)| Some((m, entry.group.as_deref()?.trim()))),
            |m| format!("/projects/{p}/members/{m}/group"),
            &format!("on project `{}`, group", project.name),
            HELP,
            out,
        );
    }
}

/// Members' `company` and `role`. Suggestions are cached per unknown name, so a
/// misspelling repeated on thousands of members is looked up once.
fn member_references(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let mut company_hints: FxHashMap<&str, Option<&str>> = FxHashMap::default();
    let mut role_hints: FxHashMap<&str, Option<&str>> = FxHashMap::default();
    let company_names = || ctx.config.companies.iter().map(|c| c.name.as_str());
    let role_names = || ctx.config.roles.iter().map(|r| r.name.as_str());
    for (i, member) in ctx.config.members.iter().enumerate() {
        if let Some(company) = member.company.as_deref() {
            if !ctx.companies.contains_key(company) {
                let hint = *company_hints
                    .entry(company)
                    .or_insert_with(|| suggest(company, company_names()));
                out.push(unknown(
                    ctx,
                    format!("/members/{i}/company"),
                    ("company", "companies"),
                    company,
                    hint,
                ));
            }
        }
        if let Some(role) = member.role.as_deref() {
            if !ctx.roles.contains_key(role) {
                let hint = *role_hints
                    .entry(role)
                    .or_insert_with(|| suggest(role, role_names()));
                out.push(unknown(
                    ctx,
                    format!("/members/{i}/role"),
                    ("role", "roles"),
                    role,
                    hint,
                ));
            }
        }
    }
}

/// `group:NAME` in member lists and `group:` entries of projects.
fn group_references<'c>(ctx: &Context<'c>, out: &mut Vec<Diagnostic>) {
    let mut hints: FxHashMap<&'c str, Option<&'c str>> = FxHashMap::default();
    let mut check = |pointer: String, name: &'c str| {
        if ctx.groups.contains_key(name) {
            return;
        }
        let hint = *hints
            .entry(name)
            .or_insert_with(|| suggest(name, ctx.config.groups.iter().map(|g| g.name.as_str())));
        out.push(unknown(ctx, pointer, ("group", "groups"), name, hint));
    };
    for list in &ctx.member_lists {
        for (index, raw) in list.items.iter().enumerate() {
            if let Entry::Group(name) = Entry::parse(raw) {
                check(format!("{}/{index}", list.pointer), name);
            }
        }
    }
    for (p, project) in ctx.config.projects.iter().enumerate() {
        for (m, entry) in project.members.iter().enumerate() {
            if let Some(group) = &entry.group {
                check(format!("/projects/{p}/members/{m}/group"), group.trim());
            }
        }
    }
}

/// An R09 error for a reference to an undeclared `kind` ("company", section
/// "companies"), with a "did you mean" when a declared name is close.
fn unknown(
    ctx: &Context,
    pointer: String,
    (kind, section): (&str, &str),
    name: &str,
    hint: Option<&str>,
) -> Diagnostic {
    let help = match hint {
        Some(close) => {
            format!("did you mean `{close}`? Otherwise declare {kind} `{name}` under `{section}`")
        }
        None => format!("declare {kind} `{name}` under `{section}`, or name one that is declared"),
    };
    ctx.error(
        Code::R09,
        pointer,
        format!("{kind} `{name}` is not declared under `{section}`"),
    )
    .help(help)
}

fn group_cycles(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for cycle in &ctx.group_cycles {
        let group = &ctx.config.groups[cycle.group];
        let raw = &group.members[cycle.entry];
        out.push(
            ctx.error(
                Code::R09,
                format!("/groups/{}/members/{}", cycle.group, cycle.entry),
                format!(
                    "`{}` in group `{}` makes a cycle: that group includes `{}` again, directly or through other groups",
                    raw.trim(),
                    group.name,
                    group.name
                ),
            )
            .help("groups may include other groups, but not themselves: remove this entry or the one that leads back"),
        );
    }
}
