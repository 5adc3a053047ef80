//! The markdown rendering, for a pull-request comment: a summary table and the seat
//! picture up front, the operations in collapsible sections per kind of object, and
//! a cut past [`MARKDOWN_LIMIT`] with a note of what was left out (code hosts refuse
//! comments much beyond 64 KB).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{
    Detail, details, groups, heading, manual_text, pool_count, pool_impact, seat_count,
    summary_line,
};
use crate::plan::model::{Plan, Summary};
use crate::plan::operation::{Action, ObjectKind, Operation};

/// The size past which operations are left out, in bytes.
pub const MARKDOWN_LIMIT: usize = 60 * 1024;

/// Room kept for closing the open section and the note on what was cut.
const CLOSING_ROOM: usize = 1024;

/// The plan as markdown for a pull-request comment.
#[must_use]
pub fn markdown(plan: &Plan) -> String {
    let plan = &*super::displayable(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### accord plan for `{}` ({})\n",
        cell(&plan.account.id),
        cell(&plan.account.name)
    );
    if let Some(partial) = crate::plan::scope::partial_line(plan) {
        let _ = writeln!(out, "> {}\n", cell(&partial));
    }
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary));
    refusals(&mut out, plan);
    if !plan.is_empty() {
        summary_table(&mut out, plan);
        seat_table(&mut out, plan);
        team_seat_table(&mut out, plan);
    }
    manual_steps(&mut out, plan);
    notes(&mut out, plan);
    out.push_str(&crate::plan::drift::markdown(&plan.drift));
    sections(&mut out, plan);
    out
}

fn refusals(out: &mut String, plan: &Plan) {
    if plan.refusals.is_empty() {
        return;
    }
    out.push_str("**Refused: nothing will be changed.**\n\n");
    for diagnostic in &plan.refusals {
        let _ = write!(out, "- `{}` {}", diagnostic.code, cell(&diagnostic.message));
        if let Some(location) = &diagnostic.location {
            let _ = write!(out, " (`{location}`)");
        }
        if let Some(help) = &diagnostic.help {
            let _ = write!(out, "<br>help: {}", cell(help));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn counts_by_kind(plan: &Plan) -> BTreeMap<ObjectKind, Summary> {
    let mut counts: BTreeMap<ObjectKind, Summary> = BTreeMap::new();
    for operation in &plan.operations {
        let summary = counts.entry(operation.op.object().0).or_default();
        match operation.op.action() {
            Action::Add => summary.add += 1,
            Action::Change => summary.change += 1,
            Action::Remove => summary.remove += 1,
        }
    }
    counts
}

fn summary_table(out: &mut String, plan: &Plan) {
    out.push_str("| | to add | to change | to remove |\n|---|---:|---:|---:|\n");
    for (kind, summary) in counts_by_kind(plan) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            kind.plural(),
            summary.add,
            summary.change,
            summary.remove
        );
    }
    out.push('\n');
}

fn seat_table(out: &mut String, plan: &Plan) {
    if plan.seats.is_empty() {
        return;
    }
    out.push_str("| agreement | product | seats now | after |\n|---|---|---:|---:|\n");
    for line in &plan.seats {
        let after = if line.changes() {
            seat_count(Some(line.after))
        } else {
            "unchanged".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {after} |",
            cell(&line.agreement),
            cell(&line.agreement_name),
            cell(&line.product),
            seat_count(line.before)
        );
    }
    out.push('\n');
}

fn team_seat_table(out: &mut String, plan: &Plan) {
    if plan.team_seats.is_empty() {
        return;
    }
    out.push_str("| team | product | seats now | after | who |\n|---|---|---:|---:|---|\n");
    for line in &plan.team_seats {
        let after = if line.changes() {
            pool_count(Some(line.after))
        } else {
            "unchanged".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {after} | {} |",
            cell(&line.team),
            cell(&line.team_name),
            cell(&line.product),
            pool_count(line.before),
            cell(&pool_impact(line).unwrap_or_default())
        );
    }
    out.push('\n');
}

fn manual_steps(out: &mut String, plan: &Plan) {
    if plan.manual.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**Manual steps ({}): a person makes these in the vendor's portal; accord cannot.**\n",
        plan.manual.len()
    );
    for step in &plan.manual {
        let _ = writeln!(out, "- {}", cell(&manual_text(step)));
    }
    out.push('\n');
}

fn notes(out: &mut String, plan: &Plan) {
    for note in &plan.notes {
        let _ = writeln!(out, "> {}", cell(note));
    }
    if !plan.notes.is_empty() {
        out.push('\n');
    }
}

/// One `<details>` section per kind of object, cut when the comment grows too long.
fn sections(out: &mut String, plan: &Plan) {
    let counts = counts_by_kind(plan);
    let mut left_out: BTreeMap<ObjectKind, usize> = BTreeMap::new();
    let mut open: Option<ObjectKind> = None;
    for ((kind, key), operations) in groups(plan) {
        let mut block = String::new();
        if open == Some(kind) {
            block.push('\n');
        }
        let _ = writeln!(block, "{}", fence_safe(&heading(plan, kind, key)));
        for operation in &operations {
            operation_lines(&mut block, operation);
        }
        let room = MARKDOWN_LIMIT.saturating_sub(CLOSING_ROOM);
        let opening = if open == Some(kind) { 0 } else { 200 };
        if !left_out.is_empty() || out.len() + block.len() + opening > room {
            *left_out.entry(kind).or_default() += operations.len();
            continue;
        }
        if open != Some(kind) {
            close(out, open);
            let summary = &counts[&kind];
            let _ = write!(
                out,
                "<details><summary>{}: {}</summary>\n\n```diff\n",
                kind.plural(),
                summary_line(summary)
                    .trim_start_matches("Plan: ")
                    .trim_end_matches('.')
            );
            open = Some(kind);
        }
        out.push_str(&block);
    }
    close(out, open);
    cut_note(out, &left_out);
}

fn close(out: &mut String, open: Option<ObjectKind>) {
    if open.is_some() {
        out.push_str("```\n\n</details>\n\n");
    }
}

fn cut_note(out: &mut String, left_out: &BTreeMap<ObjectKind, usize>) {
    if left_out.is_empty() {
        return;
    }
    let total: usize = left_out.values().sum();
    let parts: Vec<String> = left_out
        .iter()
        .map(|(kind, count)| format!("{count} on {}", kind.plural()))
        .collect();
    let _ = writeln!(
        out,
        "**Cut:** this comment stops at about {} KB; {total} more operation{} not shown ({}). The whole plan is in this run's saved plan (the `plan.json` artifact `accord plan --out` wrote), or in `accord plan --format text`.",
        MARKDOWN_LIMIT / 1024,
        if total == 1 { " is" } else { "s are" },
        parts.join(", ")
    );
}

fn operation_lines(out: &mut String, operation: &Operation) {
    // In a `diff` block, code hosts colour `+` and `-` lines, and `!` lines as
    // changed: a change (`~` in text) is shown with `!` so it stands out too.
    let sign = match operation.op.action() {
        Action::Change => '!',
        action => action.sign(),
    };
    let _ = writeln!(
        out,
        "{} {} {}  ({})",
        sign,
        operation.op.name(),
        fence_safe(&operation.target),
        fence_safe(operation.provenance.as_str())
    );
    for detail in details(operation) {
        let line = match detail {
            Detail::Set(field, value) => format!("{field}: {value}"),
            Detail::Changed(field, from, to) => format!("{field}: {from} -> {to}"),
            Detail::Frees(what) => format!("frees: {what}"),
        };
        let _ = writeln!(out, "    {}", fence_safe(&line));
    }
}

/// Text inside a code fence must not close it.
fn fence_safe(text: &str) -> String {
    text.replace("```", "'''")
}

/// Text inside a table cell or a line: [`crate::text::markdown_cell`].
fn cell(text: &str) -> String {
    crate::text::markdown_cell(text)
}
