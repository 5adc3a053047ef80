//! Renderings of a plan: [`text()`] for a terminal, [`json()`] for tools (the shape
//! `schemas/plan.schema.json` documents) and [`markdown()`] for a pull-request comment.
//!
//! Text and markdown show the same thing: the operations grouped by object (company,
//! role, member, agreement, project), each with its sign (`+ ~ -`), its provenance
//! and its details (the fields it sets or changes, the consequences of a removal),
//! then the seat picture and the summary line. The helpers here build those lines
//! once, for both.

mod json;
mod markdown;
mod text;

use std::collections::BTreeMap;

pub use json::json;
pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use text::text;

use super::model::{ManualStep, Plan, PoolCount, PoolLine, SeatCount, SeatLine, Summary};
use super::operation::{ObjectKind, Op, Operation, word, words};

/// The output formats of `accord plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people, on a terminal.
    Text,
    /// For tools.
    Json,
    /// For a pull-request comment.
    Markdown,
}

/// Renders `plan` in `format`; `colour` only affects text.
#[must_use]
pub fn render(plan: &Plan, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(plan, colour),
        Format::Json => json(plan),
        Format::Markdown => markdown(plan),
    }
}

/// `plan` with every string fit for a terminal and a markdown comment: control
/// characters and bidirectional overrides replaced by `\u{FFFD}`. Names come from the
/// backend as they are stored; an ESC or a CR in one would rewrite the lines a
/// terminal shows (issue 14). Borrowed, at the cost of one serialisation, when
/// nothing needs replacing.
fn displayable(plan: &Plan) -> std::borrow::Cow<'_, Plan> {
    use std::borrow::Cow;
    let Ok(mut value) = serde_json::to_value(plan) else {
        return Cow::Borrowed(plan);
    };
    if !clean(&mut value) {
        return Cow::Borrowed(plan);
    }
    serde_json::from_value(value).map_or(Cow::Borrowed(plan), Cow::Owned)
}

/// Replaces what [`crate::text::shown`] replaces in every string and key of
/// `value`; whether anything was replaced.
fn clean(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    let fix = |text: &str| -> Option<String> {
        match crate::text::shown(text) {
            std::borrow::Cow::Owned(fixed) => Some(fixed),
            std::borrow::Cow::Borrowed(_) => None,
        }
    };
    match value {
        Value::String(text) => match fix(text) {
            Some(fixed) => {
                *text = fixed;
                true
            }
            None => false,
        },
        Value::Array(items) => {
            // Every item is cleaned: no short circuit.
            let mut changed = false;
            for item in items {
                changed |= clean(item);
            }
            changed
        }
        Value::Object(fields) => {
            let mut changed = false;
            if fields.keys().any(|key| fix(key).is_some()) {
                let old = std::mem::take(fields);
                for (key, field) in old {
                    fields.insert(fix(&key).unwrap_or(key), field);
                }
                changed = true;
            }
            for field in fields.values_mut() {
                changed |= clean(field);
            }
            changed
        }
        _ => false,
    }
}

/// `Plan: 3 to add, 1 to change, 2 to remove.` or `No changes.`
#[must_use]
pub fn summary_line(summary: &Summary) -> String {
    if summary.total() == 0 {
        "No changes.".to_owned()
    } else {
        format!(
            "Plan: {} to add, {} to change, {} to remove.",
            summary.add, summary.change, summary.remove
        )
    }
}

/// The operations grouped by the object they belong to, objects in kind then name
/// order, operations in plan order within each.
fn groups(plan: &Plan) -> BTreeMap<(ObjectKind, &str), Vec<&Operation>> {
    let mut groups: BTreeMap<(ObjectKind, &str), Vec<&Operation>> = BTreeMap::new();
    for operation in &plan.operations {
        groups
            .entry(operation.op.object())
            .or_default()
            .push(operation);
    }
    groups
}

/// The heading of an object's group: `agreement 110001234567 (AEC Collection)`,
/// `team 100001 (ACME EU)`.
fn heading(plan: &Plan, kind: ObjectKind, key: &str) -> String {
    let name = match kind {
        ObjectKind::Agreement => plan
            .seats
            .iter()
            .find(|line| line.agreement == key)
            .map(|line| line.agreement_name.as_str()),
        ObjectKind::Team => plan
            .team_seats
            .iter()
            .find(|line| line.team == key)
            .map(|line| line.team_name.as_str()),
        _ => None,
    }
    .map(|name| format!(" ({name})"))
    .unwrap_or_default();
    format!("{} {key}{name}", kind.word())
}

/// One detail line under an operation.
enum Detail {
    /// A field the operation sets (creations, invitations, additions).
    Set(String, String),
    /// A field the operation changes, old -> new.
    Changed(String, String, String),
    /// Something a removal or deactivation frees.
    Frees(String),
}

/// The detail lines of an operation.
fn details(operation: &Operation) -> Vec<Detail> {
    let mut details: Vec<Detail> = set_fields(&operation.op)
        .into_iter()
        .map(|(field, value)| Detail::Set(field, value))
        .collect();
    details.extend(
        operation
            .changes
            .iter()
            .map(|c| Detail::Changed(c.field.clone(), c.from.clone(), c.to.clone())),
    );
    if let Some(invitation) = operation.invitation {
        details.push(Detail::Set("invitation".into(), invitation.words().into()));
    }
    details.extend(operation.consequences().iter().cloned().map(Detail::Frees));
    details
}

/// The fields a creating operation sets (updates show their changes instead).
fn set_fields(op: &Op) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut set = |field: &str, value: String| fields.push((field.to_owned(), value));
    match op {
        Op::CompanyCreate {
            trade: Some(trade), ..
        } => set("trade", trade.clone()),
        Op::RoleCreate { default_access, .. } => set("default_access", words(default_access)),
        Op::AgreementCreate {
            name,
            contract_manager,
            software_coordinator,
            seats,
            ..
        } => {
            set("name", name.clone());
            set("contract_manager", contract_manager.to_string());
            set("software_coordinator", software_coordinator.to_string());
            for (product, count) in seats {
                set(&format!("seats.{product}"), count.to_string());
            }
        }
        Op::MemberInvite {
            record, inactive, ..
        } => {
            if *inactive {
                set("status", "inactive".to_owned());
            }
            let optional = [
                ("first_name", &record.first_name),
                ("last_name", &record.last_name),
                ("company", &record.company),
                ("role", &record.role),
            ];
            for (field, value) in optional {
                if let Some(value) = value {
                    set(field, value.clone());
                }
            }
            set("access", words(&record.access));
            if !record.external_subscriptions.is_empty() {
                set(
                    "external_subscriptions",
                    words(&record.external_subscriptions),
                );
            }
        }
        Op::ProjectMemberAdd {
            access, products, ..
        } => {
            set("access", word(access));
            set("products", words(products));
        }
        _ => {}
    }
    fields
}

/// `9/10`, `4/unlimited`, or `-` when the pool does not exist yet.
fn pool_count(count: Option<PoolCount>) -> String {
    count.map_or_else(
        || "-".to_owned(),
        |c| match c.seats {
            Some(seats) => format!("{}/{seats}", c.assigned),
            None => format!("{}/unlimited", c.assigned),
        },
    )
}

/// `ACME EU / AutoCAD 9/10 -> 10/10`, as [`seat_text`] does for agreements.
fn pool_text(line: &PoolLine) -> String {
    let after = pool_count(Some(line.after));
    let pool = format!("{} / {}", line.team_name, line.product);
    match line.before {
        None => format!("{pool} (new) {after}"),
        Some(_) if line.changes() => format!("{pool} {} -> {after}", pool_count(line.before)),
        Some(_) => format!("{pool} {}", pool_count(line.before)),
    }
}

/// Who gains and who loses a seat of a pool: `gains: a@x, b@x; loses: c@x`.
fn pool_impact(line: &PoolLine) -> Option<String> {
    let mut parts = Vec::new();
    if !line.gains.is_empty() {
        parts.push(format!("gains a seat: {}", line.gains.join(", ")));
    }
    if !line.loses.is_empty() {
        parts.push(format!("loses their seat: {}", line.loses.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `team_member.remove 100001/dana@x: remove the user ... (why) [file:line]`.
fn manual_text(step: &ManualStep) -> String {
    format!(
        "{} {}: {} ({}) [{}]",
        step.op,
        step.target,
        step.action,
        step.why,
        step.provenance.as_str()
    )
}

/// `9/10`, or `-` when the product does not exist yet.
fn seat_count(count: Option<SeatCount>) -> String {
    count.map_or_else(|| "-".to_owned(), |c| format!("{}/{}", c.assigned, c.seats))
}

/// `AutoCAD 9/10 -> 10/10`, `AutoCAD 9/10` when unchanged, `AutoCAD (new) 2/2` when
/// the product does not exist yet.
fn seat_text(line: &SeatLine) -> String {
    let after = seat_count(Some(line.after));
    match line.before {
        None => format!("{} (new) {after}", line.product),
        Some(_) if line.changes() => {
            format!("{} {} -> {after}", line.product, seat_count(line.before))
        }
        Some(_) => format!("{} {}", line.product, seat_count(line.before)),
    }
}
