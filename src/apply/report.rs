//! The end of an apply: the summary, as text for people and JSON for tools.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::lock::format_duration;
use super::outcome::{OpOutcome, Tally};
use super::progress::tally_words;
use crate::plan::model::ManualStep;

/// The version of the JSON summary's shape.
pub const SUMMARY_FORMAT_VERSION: u32 = 1;

/// How many problems and differences the text summary lists before "and N more".
const TEXT_LIST_LIMIT: usize = 50;

/// An operation that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `seat.assign`.
    pub op: String,
    /// Its target.
    pub target: String,
    /// What happened (refused, failed or skipped, with the reason).
    #[serde(flatten)]
    pub outcome: OpOutcome,
}

/// What an apply did, as `--format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// [`SUMMARY_FORMAT_VERSION`].
    pub version: u32,
    /// Whether the account matched the configuration afterwards and every operation
    /// succeeded: the apply's exit code is 0 exactly when this is true.
    pub converged: bool,
    /// The run's id.
    pub run: String,
    /// The run's journal.
    pub journal: String,
    /// The backend.
    pub backend: String,
    /// Operations in the plan.
    pub operations: usize,
    /// Their outcomes.
    #[serde(flatten)]
    pub tally: Tally,
    /// Operations a dead earlier run had carried out, found in its journal and recorded
    /// as done in this run's.
    pub recovered: usize,
    /// Every call made to the backend (writes, reads, lock calls).
    pub api_calls: u64,
    /// Calls carrying operations, retries included.
    pub write_calls: u64,
    /// Retries made.
    pub retries: u64,
    /// Calls the backend answered with "slow down" (HTTP 429).
    pub rate_limited: u64,
    /// Wall time, in seconds.
    pub elapsed_secs: f64,
    /// The account's revision after the apply, when it could be read.
    pub revision: Option<u64>,
    /// The operations that did not succeed.
    pub problems: Vec<Problem>,
    /// Every operation of the plan with its outcome (`done`, `already_so`, ...), in
    /// plan order: what the apply did, one by one.
    pub results: Vec<Problem>,
    /// What still differs from the configuration after the apply.
    pub differences: Vec<String>,
    /// Why the apply stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Anything else worth knowing (a journal that could not be written).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The plan's manual steps: changes a person still has to make in the vendor's
    /// portal (the apply converged without them: the backend cannot make them).
    pub manual: Vec<ManualStep>,
    /// For a partial apply (`--target`): its targets; what it verified is that
    /// nothing they concern still differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Summary {
    /// The summary as pretty JSON, ending with a newline.
    ///
    /// # Panics
    /// Never: a summary is plain data.
    #[must_use]
    pub fn json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a summary is plain data");
        json.push('\n');
        json
    }

    /// The summary for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.problems.is_empty() {
            out.push_str("Problems:\n");
            let lines = self.problems.iter().map(|p| {
                let reason = p.outcome.reason().unwrap_or_default();
                format!("{:<8} {} {}: {reason}", p.outcome.word(), p.op, p.target)
            });
            push_list(&mut out, lines, self.problems.len());
        }
        if let Some(stopped) = &self.stopped {
            let _ = writeln!(out, "Stopped early: {stopped}");
        }
        let verdict = if self.converged {
            "Apply complete"
        } else {
            "Apply incomplete"
        };
        let _ = writeln!(
            out,
            "{verdict}: {}: {}.",
            operations(self.operations),
            tally_words(&self.tally)
        );
        if self.recovered > 0 {
            let _ = writeln!(
                out,
                "Recovered {} an interrupted earlier apply had carried out (recorded in this run's journal).",
                operations(self.recovered)
            );
        }
        let _ = writeln!(
            out,
            "API calls: {} ({} carrying changes, {}, {} rate-limited); elapsed {}.",
            self.api_calls,
            self.write_calls,
            match self.retries {
                1 => "1 retry".to_owned(),
                n => format!("{n} retries"),
            },
            self.rate_limited,
            format_duration(Duration::from_secs_f64(self.elapsed_secs.max(0.0)))
        );
        self.push_verdict(&mut out);
        if !self.manual.is_empty() {
            let _ = writeln!(
                out,
                "Manual steps left ({}): accord cannot make these; a person makes them in the vendor's portal:",
                self.manual.len()
            );
            for step in &self.manual {
                let _ = writeln!(
                    out,
                    "  - {} {}: {} ({})",
                    step.op, step.target, step.action, step.why
                );
            }
        }
        let _ = writeln!(out, "Run journal: {}", self.journal);
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        // Names and reasons are the backend's, as it stored or sent them.
        crate::text::shown(&out).into_owned()
    }

    fn push_verdict(&self, out: &mut String) {
        let revision = self
            .revision
            .map(|r| format!(" (revision {r})"))
            .unwrap_or_default();
        if self.differences.is_empty() && self.revision.is_some() {
            if self.targets.is_empty() {
                let _ = writeln!(
                    out,
                    "Verified: the account matches the configuration{revision}."
                );
            } else {
                let _ = writeln!(
                    out,
                    "Verified: {} match the configuration{revision} (a partial apply: `accord plan` shows the rest).",
                    self.targets.join(", ")
                );
            }
        } else if !self.differences.is_empty() {
            let _ = writeln!(
                out,
                "Not converged: {}{revision} (`accord plan` shows them):",
                match self.differences.len() {
                    1 => "1 difference remains".to_owned(),
                    n => format!("{n} differences remain"),
                }
            );
            push_list(
                out,
                self.differences.iter().cloned(),
                self.differences.len(),
            );
        }
    }
}

fn push_list(out: &mut String, lines: impl Iterator<Item = String>, total: usize) {
    for line in lines.take(TEXT_LIST_LIMIT) {
        let _ = writeln!(out, "  {line}");
    }
    if total > TEXT_LIST_LIMIT {
        let _ = writeln!(
            out,
            "  ... and {} more (the run journal and --format json list them all)",
            total - TEXT_LIST_LIMIT
        );
    }
}

/// `1 operation`, `2 operations`.
#[must_use]
pub fn operations(n: usize) -> String {
    format!("{n} operation{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            version: SUMMARY_FORMAT_VERSION,
            converged: false,
            run: "r".into(),
            journal: ".accord/runs/r.jsonl".into(),
            backend: "sqlite:x".into(),
            operations: 3,
            tally: Tally {
                done: 1,
                already_so: 1,
                refused: 1,
                ..Tally::default()
            },
            recovered: 0,
            api_calls: 5,
            write_calls: 2,
            retries: 1,
            rate_limited: 0,
            elapsed_secs: 1.5,
            revision: Some(9),
            results: Vec::new(),
            problems: vec![Problem {
                op: "seat.assign".into(),
                target: "1/A/x@y".into(),
                outcome: OpOutcome::Refused {
                    rule: Some("R04".into()),
                    reason: "no seat left".into(),
                },
            }],
            differences: vec!["seat.assign 1/A/x@y".into()],
            stopped: None,
            warnings: vec![],
            manual: vec![],
            targets: Vec::new(),
        }
    }

    #[test]
    fn the_text_summary_lists_problems_counts_calls_and_differences() {
        let text = summary().text();
        assert!(
            text.contains("refused  seat.assign 1/A/x@y: R04: no seat left"),
            "{text}"
        );
        assert!(
            text.contains("Apply incomplete: 3 operations: 1 done, 1 already so, 1 refused."),
            "{text}"
        );
        assert!(
            text.contains(
                "API calls: 5 (2 carrying changes, 1 retry, 0 rate-limited); elapsed 1s."
            ),
            "{text}"
        );
        assert!(
            text.contains("Not converged: 1 difference remains (revision 9)"),
            "{text}"
        );
    }

    #[test]
    fn the_json_summary_flattens_counts_and_outcomes() {
        let json: serde_json::Value = serde_json::from_str(&summary().json()).unwrap();
        assert_eq!(json["done"], 1);
        assert_eq!(json["refused"], 1);
        assert_eq!(json["problems"][0]["outcome"], "refused");
        assert_eq!(json["problems"][0]["rule"], "R04");
        assert_eq!(json["converged"], false);
        assert!(json.get("stopped").is_none());
    }

    #[test]
    fn one_operation_is_one_operation() {
        let mut one = summary();
        one.operations = 1;
        assert!(one.text().contains(": 1 operation: "), "{}", one.text());
        assert!(!one.text().contains("1 operations"), "{}", one.text());
        assert_eq!(operations(2), "2 operations");
    }
}
