//! The text rendering, for a terminal: colour only when asked for.

use std::fmt::Write;

use similar::{Algorithm, DiffTag};

use super::{
    Detail, details, groups, heading, manual_text, pool_impact, pool_text, seat_text, summary_line,
};
use crate::plan::model::Plan;
use crate::plan::operation::{Action, Operation};

/// Values longer than this (old and new together) are shown as a word diff.
const LONG_VALUE: usize = 60;

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
struct Style {
    colour: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn action(self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Add => "32",
            Action::Change => "33",
            Action::Remove => "31",
        };
        self.paint(code, text)
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// The plan as text: operations grouped by object with `+ ~ -`, each with its
/// provenance and details, then the seat picture, notes, refusals and the summary
/// line (`Plan: 3 to add, 1 to change, 2 to remove.`, or `No changes.`).
#[must_use]
pub fn text(plan: &Plan, colour: bool) -> String {
    let plan = &*super::displayable(plan);
    let style = Style { colour };
    let mut out = String::new();
    if let Some(partial) = crate::plan::scope::partial_line(plan) {
        let _ = writeln!(out, "{}\n", style.bold(&partial));
    }
    if !plan.is_empty() {
        let fresh = if plan.new_account {
            " (a new account: the backend takes this id on the first apply)"
        } else {
            ""
        };
        let title = format!(
            "Plan for account {} ({}){fresh}",
            plan.account.id, plan.account.name
        );
        let _ = writeln!(out, "{}\n", style.bold(&title));
        for ((kind, key), operations) in groups(plan) {
            let _ = writeln!(out, "{}", style.bold(&heading(plan, kind, key)));
            for operation in operations {
                operation_lines(&mut out, operation, style);
            }
            out.push('\n');
        }
        seat_lines(&mut out, plan, style);
        team_seat_lines(&mut out, plan, style);
    }
    let manual: Vec<String> = plan.manual.iter().map(manual_text).collect();
    list_lines(
        &mut out,
        "Manual steps (a person makes these in the vendor's portal; accord cannot):",
        &manual,
        style,
    );
    list_lines(&mut out, "Notes:", &plan.notes, style);
    out.push_str(&crate::plan::drift::text(&plan.drift));
    refusal_lines(&mut out, plan, style);
    let _ = writeln!(out, "{}", style.bold(&summary_line(&plan.summary)));
    out
}

fn operation_lines(out: &mut String, operation: &Operation, style: Style) {
    let action = operation.op.action();
    let head = format!(
        "{} {} {}",
        action.sign(),
        operation.op.name(),
        operation.target
    );
    let _ = writeln!(
        out,
        "  {}  {}",
        style.action(action, &head),
        style.dim(&format!("({})", operation.provenance.as_str()))
    );
    for detail in details(operation) {
        let line = match detail {
            Detail::Set(field, value) => format!("{field}: {value}"),
            Detail::Changed(field, from, to) => format!("{field}: {}", changed(&from, &to, style)),
            Detail::Frees(what) => format!("frees: {what}"),
        };
        let _ = writeln!(out, "      {line}");
    }
}

/// `old -> new`, or for long values a diff (with `similar`) marking what goes
/// (`[-...-]`, red) and what comes (`{+...+}`, green): item by item for lists
/// (`[a, b]`), word by word for other text.
fn changed(from: &str, to: &str, style: Style) -> String {
    if from.len() + to.len() <= LONG_VALUE {
        return format!("{from} -> {to}");
    }
    match (list_items(from), list_items(to)) {
        (Some(old), Some(new)) => {
            let items = diff_tokens(&old, &new, style);
            format!("[{}]", items.join(", "))
        }
        (None, None) => diff_spans(&word_tokens(from), &word_tokens(to), style),
        // A list against a plain value (`null`): nothing to align.
        _ => format!("{from} -> {to}"),
    }
}

/// Words and the runs of spaces between them, as separate tokens: so a word is the
/// same word whether or not a space follows it (the last word of a value).
fn word_tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut space = None;
    for (i, c) in text.char_indices() {
        let is_space = c == ' ';
        if space.is_some_and(|s| s != is_space) {
            tokens.push(&text[start..i]);
            start = i;
        }
        space = Some(is_space);
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}

/// The items of a `[a, b]` value (as field changes write sets), if it is one.
fn list_items(value: &str) -> Option<Vec<&str>> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    Some(if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(", ").collect()
    })
}

fn gone(style: Style, text: &str) -> String {
    if style.colour {
        style.paint("31;9", text)
    } else {
        format!("[-{text}-]")
    }
}

fn come(style: Style, text: &str) -> String {
    if style.colour {
        style.paint("32", text)
    } else {
        format!("{{+{text}+}}")
    }
}

/// Each token of the aligned sequences, marked when it goes or comes.
fn diff_tokens(old: &[&str], new: &[&str], style: Style) -> Vec<String> {
    let mut out = Vec::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, old, new) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            out.extend(old[old_range].iter().map(|t| (*t).to_owned()));
            continue;
        }
        out.extend(old[old_range].iter().map(|t| gone(style, t)));
        out.extend(new[new_range].iter().map(|t| come(style, t)));
    }
    out
}

/// The aligned sequences as one text, each run of tokens that goes or comes marked once.
fn diff_spans(old: &[&str], new: &[&str], style: Style) -> String {
    let mut out = String::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, old, new) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let (went, came) = (old[old_range].concat(), new[new_range].concat());
        if tag == DiffTag::Equal {
            out.push_str(&went);
            continue;
        }
        if !went.is_empty() {
            out.push_str(&gone(style, &went));
        }
        if !came.is_empty() {
            out.push_str(&come(style, &came));
        }
    }
    out
}

fn seat_lines(out: &mut String, plan: &Plan, style: Style) {
    if plan.seats.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Seats:"));
    let mut agreement = None;
    for line in &plan.seats {
        if agreement != Some(&line.agreement) {
            agreement = Some(&line.agreement);
            let _ = writeln!(out, "  {} {}", line.agreement, line.agreement_name);
        }
        let _ = writeln!(out, "    {}", seat_text(line));
    }
    out.push('\n');
}

/// The seat picture of the declared teams: `ACME EU / AutoCAD 9/10 -> 10/10`, with
/// who gains and who loses a seat.
fn team_seat_lines(out: &mut String, plan: &Plan, style: Style) {
    if plan.team_seats.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Team seats:"));
    for line in &plan.team_seats {
        let _ = writeln!(out, "  {}", pool_text(line));
        if let Some(impact) = pool_impact(line) {
            let _ = writeln!(out, "    {}", style.dim(&impact));
        }
    }
    out.push('\n');
}

fn list_lines(out: &mut String, title: &str, items: &[String], style: Style) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold(title));
    for item in items {
        let _ = writeln!(out, "  - {item}");
    }
    out.push('\n');
}

fn refusal_lines(out: &mut String, plan: &Plan, style: Style) {
    if plan.refusals.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        style.paint("1;31", "Refused (nothing will be changed):")
    );
    for diagnostic in &plan.refusals {
        let _ = writeln!(out, "  {diagnostic}");
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "    help: {help}");
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style { colour: false };

    #[test]
    fn short_values_show_old_and_new() {
        assert_eq!(changed("ACME", "Other", PLAIN), "ACME -> Other");
    }

    #[test]
    fn long_lists_mark_the_items_that_go_and_come() {
        let from = "[Navisworks Manage, Revit, AutoCAD Architecture]";
        let to = "[Civil 3D, Navisworks Manage, AutoCAD Architecture, InfraWorks]";
        assert_eq!(
            changed(from, to, PLAIN),
            "[{+Civil 3D+}, Navisworks Manage, [-Revit-], AutoCAD Architecture, {+InfraWorks+}]"
        );
    }

    #[test]
    fn long_text_marks_the_words_that_change() {
        let from = "Structural and Civil Engineering Partners of Northern Europe";
        let to = "Structural and Civil Engineering Partners of Southern Europe";
        assert_eq!(
            changed(from, to, PLAIN),
            "Structural and Civil Engineering Partners of [-Northern-]{+Southern+} Europe"
        );
        let coloured = changed(from, to, Style { colour: true });
        assert!(coloured.contains("\u{1b}[31;9mNorthern\u{1b}[0m\u{1b}[32mSouthern\u{1b}[0m"));
    }

    #[test]
    fn a_word_kept_at_the_end_of_a_value_is_not_marked_removed() {
        let from = "AEC Collection";
        let to = "AEC Collection for Architecture, Engineering and Construction";
        assert_eq!(
            changed(from, to, PLAIN),
            "AEC Collection{+ for Architecture, Engineering and Construction+}"
        );
    }
}
