//! `renamed_from`: a company, role or project declared under a new name with its old
//! one is renamed, not created anew (DOMAIN.md "Ownership").
//!
//! Before the diff proper, each rename that applies is made on a copy of the live
//! state (the entry moves to its new name; for companies and roles, so do the
//! members' references to it), so the rest of the diff sees the object under its new
//! name and plans only what else differs: its members, assignments and history stay.
//! The rename itself is the `company.update`, `role.update` or `project.update`
//! carrying `from`. A rename applies when the backend carries out that kind, the live
//! account has the old name and not the new one, and the configuration does not
//! declare the old name as well; otherwise `renamed_from` is a no-op (in particular
//! once the live object has the new name).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::DiffOptions;
use crate::contract::OpKind;
use crate::desired::Desired;
use crate::state::State;

/// The renames that apply, by kind: new name -> old (live) name.
#[derive(Debug, Clone, Default)]
pub(super) struct Applied {
    pub(super) companies: BTreeMap<String, String>,
    pub(super) roles: BTreeMap<String, String>,
    pub(super) projects: BTreeMap<String, String>,
    /// Notes for renames the backend cannot make (the new name is created instead).
    pub(super) notes: Vec<String>,
}

/// The live state with the applicable renames made, and which they are.
pub(super) fn apply<'s>(
    current: &'s State,
    desired: &Desired,
    options: &DiffOptions,
) -> (Cow<'s, State>, Applied) {
    let renames = &desired.renames;
    let mut applied = Applied::default();
    if renames.is_empty() {
        return (Cow::Borrowed(current), applied);
    }
    let carries = |kind: OpKind| options.kinds.as_ref().is_none_or(|k| k.contains(&kind));
    for (kind, word, pairs) in [
        (OpKind::CompanyUpdate, "company", &renames.companies),
        (OpKind::RoleUpdate, "role", &renames.roles),
        (OpKind::ProjectUpdate, "project", &renames.projects),
    ] {
        if !carries(kind) {
            for (new, old) in pairs {
                applied.notes.push(format!(
                    "{word} {new} (renamed_from {old}): this backend cannot rename a {word} ({kind}), so the plan creates {new} and {old} stays; to keep {old}'s members and history, rename it in the vendor's portal first"
                ));
            }
        }
    }
    let wanted = &desired.state;
    let pick = |pairs: &BTreeMap<String, String>,
                live: &dyn Fn(&str) -> bool,
                declared: &dyn Fn(&str) -> bool| {
        pairs
            .iter()
            .filter(|(new, old)| live(old) && !live(new) && !declared(old))
            .map(|(new, old)| (new.clone(), old.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    if carries(OpKind::CompanyUpdate) {
        applied.companies = pick(
            &renames.companies,
            &|n| current.companies.contains_key(n),
            &|n| wanted.companies.contains_key(n),
        );
    }
    if carries(OpKind::RoleUpdate) {
        applied.roles = pick(&renames.roles, &|n| current.roles.contains_key(n), &|n| {
            wanted.roles.contains_key(n)
        });
    }
    if carries(OpKind::ProjectUpdate) {
        applied.projects = pick(
            &renames.projects,
            &|n| current.projects.contains_key(n),
            &|n| wanted.projects.contains_key(n),
        );
    }
    if applied.companies.is_empty() && applied.roles.is_empty() && applied.projects.is_empty() {
        return (Cow::Borrowed(current), applied);
    }
    let mut state = current.clone();
    for (new, old) in &applied.companies {
        if let Some(company) = state.companies.remove(old) {
            state.companies.insert(new.clone(), company);
        }
    }
    for (new, old) in &applied.roles {
        if let Some(role) = state.roles.remove(old) {
            state.roles.insert(new.clone(), role);
        }
    }
    for (new, old) in &applied.projects {
        if let Some(project) = state.projects.remove(old) {
            state.projects.insert(new.clone(), project);
        }
    }
    if !applied.companies.is_empty() || !applied.roles.is_empty() {
        let company_of: BTreeMap<&str, &str> = applied
            .companies
            .iter()
            .map(|(new, old)| (old.as_str(), new.as_str()))
            .collect();
        let role_of: BTreeMap<&str, &str> = applied
            .roles
            .iter()
            .map(|(new, old)| (old.as_str(), new.as_str()))
            .collect();
        for member in state.members.values_mut() {
            if let Some(new) = member.company.as_deref().and_then(|c| company_of.get(c)) {
                member.company = Some((*new).to_owned());
            }
            if let Some(new) = member.role.as_deref().and_then(|r| role_of.get(r)) {
                member.role = Some((*new).to_owned());
            }
        }
    }
    (Cow::Owned(state), applied)
}
