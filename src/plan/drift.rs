//! The drift report: how the live account differs from the configuration *other
//! than by the change the configuration asks for*, sorted into classes a person can
//! act on.
//!
//! A plan says *what* `accord apply` would do. Part of that is what the
//! configuration asks to change (what a reviewer reviews in a pull request); the
//! rest is drift: the live account changed outside accord since accord last applied
//! it. The two are told apart with the backend's history ([`Applied`]): an apply
//! that converges records so (`account.applied`), and a difference whose object was
//! changed since is drift, while a difference whose object nobody touched since is
//! the configuration's change and is left to the plan. So:
//!
//! - a new account (the backend holds none yet) has no drift at all;
//! - with a recorded apply, the classes are **changed** (the object changed live
//!   since, with who and when), **unmanaged** (live but not declared: an undeclared
//!   object, or one added live since that the plan removes), **missing** (declared,
//!   applied, then gone from the live account);
//! - without one (a backend that keeps no history, or one no apply has converged on
//!   yet), who changed a value cannot be told: those differences are listed as
//!   **differs from the configuration**, claiming no origin;
//! - **expired invitations** (pending for more than seven days: the backend's doing)
//!   and undeclared live objects are listed in either case.
//!
//! The report is derived from the plan's operations plus the two states, so it never
//! disagrees with the plan.

use crate::time::format_utc;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::model::Plan;
use super::operation::{Action, Op, Operation, Provenance};
use crate::desired::Desired;
use crate::state::{MemberStatus, State};

pub use crate::contract::{Applied, LastChange};

/// One difference between the live account and the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftItem {
    /// The operation's target string (`email`, `NUMBER/PRODUCT/email`, `name`).
    pub target: String,
    /// What differs, in words (`company: Acme -> Partner`).
    pub detail: String,
    /// What `accord apply` does about it: an operation name, or `nothing` and why.
    pub repair: String,
    /// The change recorded to it since accord last applied, when the backend keeps a
    /// history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<LastChange>,
}

/// The drift report: every difference, by class. Empty when the account is as declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// When accord last applied (an apply converged), from the backend's history:
    /// drift is what changed since. `null` when the backend records none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Live, changed since accord last applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<DriftItem>,
    /// Live, but not declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<DriftItem>,
    /// Declared and applied, then gone from the live account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<DriftItem>,
    /// Differences whose origin is unknown (no recorded apply): the live account and
    /// the configuration differ, whoever changed which.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<DriftItem>,
    /// Pending invitations that expired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_invitations: Vec<DriftItem>,
    /// Differences only a person can repair, in the vendor's portal (the plan's
    /// manual steps): they stay until someone makes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<DriftItem>,
}

/// What apply does about an undeclared member when prune is off.
pub const LEFT_ALONE: &str =
    "nothing: settings.prune is off (declare the member, or turn prune on to remove them)";

/// What apply does about an undeclared member when prune is on but the plan does not
/// remove them: the backend cannot remove members (the vendor's public API).
pub const CANNOT_REMOVE: &str = "nothing: settings.prune is on, but this backend cannot remove members (the plan's notes say so): remove them by hand in the vendor's console, or declare them";

/// What apply does about an undeclared protected member (R12).
pub const PROTECTED: &str = "nothing: the member is protected (settings.protected)";

impl Drift {
    /// Whether the account is as declared.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.classes().iter().all(|(_, items)| items.is_empty())
    }

    /// The classes with their titles, in report order.
    #[must_use]
    pub fn classes(&self) -> [(&'static str, &[DriftItem]); 6] {
        [
            (
                "Changed in the live account since accord last applied",
                &self.changed,
            ),
            ("Live but not declared (unmanaged)", &self.unmanaged),
            (
                "Declared, applied, then gone from the live account",
                &self.missing,
            ),
            (
                "Differs from the configuration (the backend records no apply, so who changed it is not known)",
                &self.differs,
            ),
            ("Invitations expired", &self.expired_invitations),
            (
                "Manual steps (a person makes them in the portal)",
                &self.manual,
            ),
        ]
    }
}

/// Classifies the differences `plan` repairs, plus the undeclared members it leaves
/// alone (`settings.prune` off), between `current` (live) and `desired`; `applied` is
/// what the backend's history says accord last applied (`None`: it records none).
#[must_use]
pub fn classify(
    plan: &Plan,
    current: &State,
    desired: &Desired,
    applied: Option<&Applied>,
) -> Drift {
    let mut drift = Drift {
        since: applied.map(|a| a.at),
        ..Drift::default()
    };
    // A new account: everything in the plan is the configuration's, nothing drifted.
    if plan.new_account {
        return drift;
    }
    for operation in &plan.operations {
        if matches!(operation.op, Op::MemberResendInvite { .. }) {
            drift.expired_invitations.push(item_of(operation, current));
            continue;
        }
        match applied {
            None => {
                let mut item = item_of(operation, current);
                if operation.op.action() == Action::Add {
                    item.detail = format!("{}, not in the live account", item.detail);
                }
                drift.differs.push(item);
            }
            Some(applied) => {
                // Nothing touched it since accord applied: the configuration changed.
                let Some(change) = touched(applied, &operation.target) else {
                    continue;
                };
                let mut item = item_of(operation, current);
                item.last_change = Some(change.clone());
                match operation.op.action() {
                    Action::Add => drift.missing.push(item),
                    Action::Change => drift.changed.push(item),
                    Action::Remove => drift.unmanaged.push(item),
                }
            }
        }
    }
    for step in &plan.manual {
        let change = applied.map(|a| touched(a, &step.target));
        if matches!(change, Some(None)) {
            continue;
        }
        drift.manual.push(DriftItem {
            target: step.target.clone(),
            detail: format!("{} ({})", step.op, step.why),
            repair: format!("nothing: {}", step.action),
            last_change: change.flatten().cloned(),
        });
    }
    undeclared_objects(&mut drift, current, desired, applied);
    for email in current.members.keys() {
        if !desired.state.members.contains_key(email) && !removed(plan, email.as_str()) {
            drift.unmanaged.push(DriftItem {
                target: email.as_str().to_owned(),
                detail: "member not declared".to_owned(),
                repair: if desired.protected.contains(email) {
                    PROTECTED.to_owned()
                } else if desired.prune {
                    CANNOT_REMOVE.to_owned()
                } else {
                    LEFT_ALONE.to_owned()
                },
                last_change: applied.and_then(|a| touched(a, email.as_str())).cloned(),
            });
        }
    }
    drift
}

/// What apply does about an undeclared company, role, project, agreement or team.
pub const UNDECLARED: &str = "nothing: accord leaves what the configuration does not declare alone (declare it to manage it, or rename a declared one to it with `renamed_from`)";

/// Lists every company, role, project, agreement and team live but not declared (a
/// live object the configuration renames is declared).
fn undeclared_objects(
    drift: &mut Drift,
    current: &State,
    desired: &Desired,
    applied: Option<&Applied>,
) {
    let wanted = &desired.state;
    let renames = &desired.renames;
    let renamed = |from: &std::collections::BTreeMap<String, String>, name: &str| {
        from.values().any(|old| old == name)
    };
    let mut push = |kind: &str, target: &str| {
        drift.unmanaged.push(DriftItem {
            target: target.to_owned(),
            detail: format!("{kind} not declared"),
            repair: UNDECLARED.to_owned(),
            last_change: applied.and_then(|a| a.since.get(target)).cloned(),
        });
    };
    for name in current.companies.keys() {
        if !wanted.companies.contains_key(name) && !renamed(&renames.companies, name) {
            push("company", name);
        }
    }
    for name in current.roles.keys() {
        if !wanted.roles.contains_key(name) && !renamed(&renames.roles, name) {
            push("role", name);
        }
    }
    for name in current.projects.keys() {
        if !wanted.projects.contains_key(name) && !renamed(&renames.projects, name) {
            push("project", name);
        }
    }
    for number in current.agreements.keys() {
        if !wanted.agreements.contains_key(number) {
            push("agreement", number);
        }
    }
    for id in current.teams.keys() {
        if !wanted.teams.contains_key(id) {
            push("team", id);
        }
    }
}

/// The change recorded since accord last applied to what an operation concerns: its
/// target itself or, for a seat, service, support or project membership, the
/// removal or deactivation of the member it names (whose cascade freed it).
fn touched<'a>(applied: &'a Applied, target: &str) -> Option<&'a LastChange> {
    if let Some(change) = applied.since.get(target) {
        return Some(change);
    }
    let (_, member) = target.rsplit_once('/')?;
    applied
        .since
        .get(member)
        .filter(|c| c.op == "member.remove" || c.op == "member.deactivate")
}

/// Whether the plan removes or deactivates the member `email`.
fn removed(plan: &Plan, email: &str) -> bool {
    plan.operations.iter().any(|operation| {
        matches!(&operation.op, Op::MemberRemove { email: e } | Op::MemberDeactivate { email: e } if e.as_str() == email)
    })
}

/// The drift item an operation repairs.
fn item_of(operation: &Operation, current: &State) -> DriftItem {
    let detail = if operation.changes.is_empty() {
        describe(operation, current)
    } else {
        operation
            .changes
            .iter()
            .map(|change| format!("{}: {} -> {}", change.field, change.from, change.to))
            .collect::<Vec<_>>()
            .join("; ")
    };
    DriftItem {
        target: operation.target.clone(),
        detail,
        repair: operation.op.name().to_owned(),
        last_change: None,
    }
}

/// Words for an operation without field changes; a deactivation says what the
/// member is live (pending, never invited, not in the account yet, active).
fn describe(operation: &Operation, current: &State) -> String {
    let (kind, _) = operation.op.object();
    match &operation.op {
        Op::MemberResendInvite { .. } => "invited more than 7 days ago, never accepted".to_owned(),
        Op::MemberActivate { .. } => "inactive live, declared active".to_owned(),
        Op::MemberDeactivate { email } => {
            let live = match current.members.get(email).map(|m| m.status) {
                None => "not in the account yet",
                Some(MemberStatus::Pending) => "pending live (invited, not accepted yet)",
                Some(MemberStatus::NotInvited) => "in the account but never invited",
                Some(_) => "active live",
            };
            format!("{live}, declared inactive")
        }
        _ if operation.provenance.as_str() == Provenance::NOT_DECLARED => {
            format!("{} not declared", kind.word())
        }
        _ => match operation.op.action() {
            Action::Add => format!("declared at {}", operation.provenance.as_str()),
            Action::Change => format!("differs from {}", operation.provenance.as_str()),
            Action::Remove => "live, not declared".to_owned(),
        },
    }
}

/// The most items listed per class in text and markdown (JSON lists all): with
/// [`CELL_LIMIT`], the markdown report stays well under the plan comment's limit.
const SHOWN_PER_CLASS: usize = 25;

/// The longest markdown table cell, in characters (longer ones end with `...`).
const CELL_LIMIT: usize = 160;

/// The drift report as text, for `plan`'s text rendering; empty when there is none.
#[must_use]
pub fn text(drift: &Drift) -> String {
    let mut out = String::new();
    if drift.is_empty() {
        return out;
    }
    match drift.since {
        Some(at) => {
            let _ = writeln!(
                out,
                "Drift (the live account changed outside accord since accord last applied it, {}):",
                format_utc(at)
            );
        }
        None => out.push_str("Drift:\n"),
    }
    for (title, items) in drift.classes() {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title} ({}):", items.len());
        for item in items.iter().take(SHOWN_PER_CLASS) {
            let _ = writeln!(out, "    {}: {}", item.target, item.detail);
            if let Some(change) = &item.last_change {
                let _ = writeln!(out, "      last changed {}", who_and_when(change));
            }
            let _ = writeln!(out, "      apply: {}", item.repair);
        }
        more(&mut out, items.len(), "    ");
    }
    out.push('\n');
    out
}

/// The drift report as markdown, for `plan`'s pull-request comment; empty when there
/// is none.
#[must_use]
pub fn markdown(drift: &Drift) -> String {
    let mut out = String::new();
    if drift.is_empty() {
        return out;
    }
    out.push_str("#### Drift\n\n");
    if let Some(at) = drift.since {
        let _ = writeln!(
            out,
            "What changed in the live account outside accord since accord last applied it ({}); the configuration's own changes are the plan above.\n",
            format_utc(at)
        );
    }
    out.push_str("| | Count |\n|---|---:|\n");
    for (title, items) in drift.classes() {
        if !items.is_empty() {
            let _ = writeln!(out, "| {title} | {} |", items.len());
        }
    }
    out.push('\n');
    for (title, items) in drift.classes() {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details><summary>{title} ({})</summary>\n\n| Target | What differs | Last change | accord apply |\n|---|---|---|---|",
            items.len()
        );
        for item in items.iter().take(SHOWN_PER_CLASS) {
            let last = item
                .last_change
                .as_ref()
                .map_or_else(String::new, who_and_when);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&item.target),
                cell(&item.detail),
                cell(&last),
                cell(&item.repair)
            );
        }
        more(&mut out, items.len(), "\n");
        out.push_str("\n</details>\n\n");
    }
    out
}

/// `by ci at 2026-11-21 13:10:00 UTC (member.update)`; without an actor,
/// `at ... (member.update; who was not recorded)`.
fn who_and_when(change: &LastChange) -> String {
    match &change.actor {
        Some(actor) => format!("by {actor} at {} ({})", format_utc(change.at), change.op),
        None => format!(
            "at {} ({}; who was not recorded)",
            format_utc(change.at),
            change.op
        ),
    }
}

/// A "… and N more" line when a class was cut.
fn more(out: &mut String, total: usize, indent: &str) {
    if total > SHOWN_PER_CLASS {
        let _ = writeln!(
            out,
            "{indent}... and {} more (all are in `--format json`)",
            total - SHOWN_PER_CLASS
        );
    }
}

/// A markdown table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    let short: String = if text.chars().count() > CELL_LIMIT {
        text.chars().take(CELL_LIMIT).chain("...".chars()).collect()
    } else {
        text.to_owned()
    };
    crate::text::markdown_cell(&short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_changed_since_the_newest_recorded_apply_is_kept() {
        let change = |op: &str, at: i64| LastChange {
            op: op.into(),
            at,
            actor: None,
        };
        let entry = |op: &str, target: &str, at: i64| {
            (
                op.to_owned(),
                target.to_owned(),
                at,
                None,
                at.unsigned_abs(),
            )
        };
        assert_eq!(
            crate::contract::applied_from_history([entry("member.invite", "a@x", 1)]),
            None
        );
        let log = [
            entry("member.invite", "a@x", 1),
            entry(crate::contract::APPLIED, "acme", 1),
            entry("member.invite", "b@x", 2),
            entry(crate::contract::APPLIED, "acme", 2),
            entry("member.update", "a@x", 3),
            entry("member.update", "a@x", 4),
        ];
        let applied = crate::contract::applied_from_history(log).expect("an apply");
        assert_eq!((applied.revision, applied.at), (2, 2));
        assert_eq!(applied.since.len(), 1);
        assert_eq!(applied.since["a@x"], change("member.update", 4));
        assert_eq!(
            who_and_when(&applied.since["a@x"]),
            "at 1970-01-01 00:00:04 UTC (member.update; who was not recorded)"
        );
    }

    #[test]
    fn long_reports_are_cut_in_text_and_markdown() {
        let item = |n: usize| DriftItem {
            target: format!("m{n}@x"),
            detail: "x".repeat(300),
            repair: LEFT_ALONE.to_owned(),
            last_change: None,
        };
        let drift = Drift {
            unmanaged: (0..30).map(item).collect(),
            ..Drift::default()
        };
        let markdown = markdown(&drift);
        assert!(markdown.contains("| `m24@x` |") && !markdown.contains("| `m25@x` |"));
        assert!(markdown.contains("... and 5 more (all are in `--format json`)"));
        assert!(markdown.contains(&format!("| {}... |", "x".repeat(CELL_LIMIT))));
        assert!(text(&drift).contains("    ... and 5 more"));
    }

    /// An account with its admin, and `extra` as the member `x@acme.example`.
    fn account(extra: Option<crate::state::MemberState>) -> State {
        use crate::state::{AccessLevel, AccountInfo, Email, MemberState};
        let mut state = State {
            account: AccountInfo {
                id: "acme".into(),
                name: "ACME".into(),
            },
            ..State::default()
        };
        state.members.insert(
            Email::new("admin@acme.example"),
            MemberState {
                access: [AccessLevel::AccountAdmin].into(),
                ..MemberState::default()
            },
        );
        if let Some(member) = extra {
            state.members.insert(Email::new("x@acme.example"), member);
        }
        state
    }

    #[test]
    fn a_deactivation_says_what_the_member_is_live() {
        use crate::state::MemberState;
        let inactive = MemberState {
            status: MemberStatus::Inactive,
            ..MemberState::default()
        };
        let desired = Desired {
            state: account(Some(inactive)),
            ..Desired::default()
        };
        for (status, words) in [
            (
                MemberStatus::Pending,
                "pending live (invited, not accepted yet), declared inactive",
            ),
            (
                MemberStatus::NotInvited,
                "in the account but never invited, declared inactive",
            ),
            (MemberStatus::Active, "active live, declared inactive"),
        ] {
            let current = account(Some(MemberState {
                status,
                ..MemberState::default()
            }));
            let plan = crate::plan::diff(&current, &desired, &crate::plan::DiffOptions::default())
                .expect("a plan");
            let drift = classify(
                &plan,
                &current,
                &desired,
                Some(&touched_since("x@acme.example")),
            );
            assert_eq!(drift.changed.len(), 1, "{drift:?}");
            assert_eq!(drift.changed[0].detail, words);
            // Without a recorded apply, the same difference claims no origin.
            let drift = classify(&plan, &current, &desired, None);
            assert!(drift.changed.is_empty(), "{drift:?}");
            assert_eq!(drift.differs.len(), 1, "{drift:?}");
            assert_eq!(drift.differs[0].detail, words);
        }
    }

    /// A recorded apply after which `target` was changed (by `console`).
    fn touched_since(target: &str) -> Applied {
        Applied {
            revision: 3,
            at: 100,
            since: [(
                target.to_owned(),
                LastChange {
                    op: "member.update".into(),
                    at: 200,
                    actor: Some("console".into()),
                },
            )]
            .into(),
        }
    }

    #[test]
    fn what_the_configuration_changes_since_the_last_apply_is_not_drift() {
        use crate::state::{Email, MemberState};
        let current = account(Some(MemberState::default()));
        let mut wanted = account(Some(MemberState {
            company: Some("Partner".into()),
            ..MemberState::default()
        }));
        wanted
            .members
            .insert(Email::new("new@acme.example"), MemberState::default());
        let desired = Desired {
            state: wanted,
            ..Desired::default()
        };
        let mut plan =
            crate::plan::diff(&current, &desired, &crate::plan::DiffOptions::default()).unwrap();
        assert_eq!(plan.operations.len(), 2, "{:?}", plan.operations);
        // Nobody touched x@ or new@ since the apply: the plan is the reviewed change.
        let untouched = touched_since("someone-else@acme.example");
        let drift = classify(&plan, &current, &desired, Some(&untouched));
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(drift.since, Some(100));
        // The console changed x@ since: that part is drift, with who and when.
        let drift = classify(
            &plan,
            &current,
            &desired,
            Some(&touched_since("x@acme.example")),
        );
        assert_eq!(drift.changed.len(), 1, "{drift:?}");
        assert_eq!(
            drift.changed[0]
                .last_change
                .as_ref()
                .and_then(|c| c.actor.as_deref()),
            Some("console")
        );
        assert!(drift.missing.is_empty(), "{drift:?}");
        // A new account has no drift, whatever the history says.
        plan.new_account = true;
        assert!(classify(&plan, &current, &desired, None).is_empty());
    }

    #[test]
    fn an_undeclared_member_a_backend_cannot_remove_is_not_blamed_on_prune_being_off() {
        let current = account(Some(crate::state::MemberState::default()));
        let options = crate::plan::DiffOptions {
            kinds: Some(
                crate::contract::OpKind::ALL
                    .iter()
                    .copied()
                    .filter(|k| *k != crate::contract::OpKind::MemberRemove)
                    .collect(),
            ),
            ..crate::plan::DiffOptions::default()
        };
        for (prune, repair) in [(true, CANNOT_REMOVE), (false, LEFT_ALONE)] {
            let desired = Desired {
                state: account(None),
                prune,
                ..Desired::default()
            };
            let plan = crate::plan::diff(&current, &desired, &options).expect("a plan");
            assert!(plan.operations.is_empty(), "{:?}", plan.operations);
            let drift = classify(&plan, &current, &desired, None);
            assert_eq!(drift.unmanaged.len(), 1, "{drift:?}");
            assert_eq!(drift.unmanaged[0].repair, repair);
        }
    }

    #[test]
    fn an_empty_report_renders_nothing() {
        assert!(Drift::default().is_empty());
        assert_eq!(text(&Drift::default()), "");
        assert_eq!(markdown(&Drift::default()), "");
    }
}
