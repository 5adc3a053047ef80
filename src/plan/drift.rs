//! The drift report: how the live account differs from the configuration, sorted
//! into classes a person can act on.
//!
//! A plan says *what* `accord apply` would do; the drift report says *why the account
//! is not as declared*, so someone can decide between repairing it (`accord apply`)
//! and updating the configuration. The classes are:
//!
//! - **changed**: the object exists on both sides but the live account holds other
//!   values (someone changed it outside accord); who and when come from the backend's
//!   audit log when it has one ([`crate::backend::Backend::last_changes`]);
//! - **unmanaged**: present live but not declared. With `settings.prune` off, members
//!   are only reported (apply leaves them); anything else undeclared is removed;
//! - **missing**: declared but not in the live account (apply creates it);
//! - **expired invitations**: pending invitations older than seven days (apply sends
//!   them again).
//!
//! The report is derived from the plan's operations plus the two states, so it never
//! disagrees with the plan.

use crate::time::format_utc;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::model::Plan;
use super::operation::{Action, Op, Operation, Provenance};
use crate::desired::Desired;
use crate::state::{MemberStatus, State};

pub use crate::contract::{LastChange, latest_per_target};

/// One difference between the live account and the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftItem {
    /// The operation's target string (`email`, `NUMBER/PRODUCT/email`, `name`).
    pub target: String,
    /// What differs, in words (`company: Acme -> Partner`).
    pub detail: String,
    /// What `accord apply` does about it: an operation name, or `nothing` and why.
    pub repair: String,
    /// The last recorded change to the target, when the backend keeps an audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<LastChange>,
}

/// The drift report: every difference, by class. Empty when the account is as declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// Live, but declared with other values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<DriftItem>,
    /// Live, but not declared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<DriftItem>,
    /// Declared, but not live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<DriftItem>,
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
    pub fn classes(&self) -> [(&'static str, &[DriftItem]); 5] {
        [
            ("Changed in the live account", &self.changed),
            ("Live but not declared (unmanaged)", &self.unmanaged),
            ("Declared but missing live", &self.missing),
            ("Invitations expired", &self.expired_invitations),
            (
                "Manual steps (a person makes them in the portal)",
                &self.manual,
            ),
        ]
    }

    /// The targets worth an audit-log look-up: the changed and unmanaged ones (what
    /// someone did outside accord). Empty when there are none, so a plan without
    /// such drift never reads the log.
    #[must_use]
    pub fn targets(&self) -> Vec<String> {
        let mut targets: Vec<String> = self
            .changed
            .iter()
            .chain(&self.unmanaged)
            .map(|item| item.target.clone())
            .collect();
        targets.sort();
        targets.dedup();
        targets
    }

    /// Fills in who and when from `changes` (by target), for the changed and
    /// unmanaged items: those are the ones someone did outside accord.
    pub fn attach(&mut self, changes: &BTreeMap<String, LastChange>) {
        for item in self.changed.iter_mut().chain(self.unmanaged.iter_mut()) {
            item.last_change = changes.get(&item.target).cloned();
        }
    }
}

/// Classifies the differences `plan` repairs, plus the undeclared members it leaves
/// alone (`settings.prune` off), between `current` (live) and `desired`.
#[must_use]
pub fn classify(plan: &Plan, current: &State, desired: &Desired) -> Drift {
    let mut drift = Drift::default();
    for operation in &plan.operations {
        let item = item_of(operation, current);
        match operation.op.action() {
            _ if matches!(operation.op, Op::MemberResendInvite { .. }) => {
                drift.expired_invitations.push(item);
            }
            Action::Add => drift.missing.push(item),
            Action::Change => drift.changed.push(item),
            Action::Remove => drift.unmanaged.push(item),
        }
    }
    for step in &plan.manual {
        drift.manual.push(DriftItem {
            target: step.target.clone(),
            detail: format!("{} ({})", step.op, step.why),
            repair: format!("nothing: {}", step.action),
            last_change: None,
        });
    }
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
                last_change: None,
            });
        }
    }
    drift
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
    out.push_str("Drift:\n");
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
    out.push_str("#### Drift\n\n| | Count |\n|---|---:|\n");
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
    short.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_change_of_each_wanted_target_is_kept() {
        let change = |op: &str, at: i64| LastChange {
            op: op.into(),
            at,
            actor: None,
        };
        let entry = |target: &str, op: &str, at: i64| (target.to_owned(), op.to_owned(), at, None);
        let log = [
            entry("a@x", "member.invite", 1),
            entry("b@x", "member.invite", 2),
            entry("a@x", "member.update", 3),
        ];
        let latest = latest_per_target(log, &["a@x".to_owned()]);
        assert_eq!(latest.len(), 1);
        assert_eq!(latest["a@x"], change("member.update", 3));
        assert_eq!(
            who_and_when(&latest["a@x"]),
            "at 1970-01-01 00:00:03 UTC (member.update; who was not recorded)"
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
            let drift = classify(&plan, &current, &desired);
            assert_eq!(drift.changed.len(), 1, "{drift:?}");
            assert_eq!(drift.changed[0].detail, words);
        }
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
            let drift = classify(&plan, &current, &desired);
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
