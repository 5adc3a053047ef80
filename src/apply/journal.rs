//! The run journal: one JSON object a line, written as the apply goes, so that a
//! run killed at any point leaves a record of what it sent and what it was told.
//!
//! Where: `.accord/runs/` under the current directory by default (beside the
//! default store, `.accord/state.db`), or the directory `--runs-dir` names; one file
//! per run, `YYYYMMDDTHHMMSSZ-PID.jsonl`, named after the run's id.
//!
//! Lines (`event` says which):
//! - `start`: the run id, accord's version, the backend, the account, the revision the
//!   plan was made at, the plan's fingerprint and size, the lock holder;
//! - `call`: before each attempt of a backend call, the operations it carries
//!   (`op` and `target`);
//! - `op`: one per operation once its outcome is final (`done`, `already_so`,
//!   `refused`, `failed`, `skipped`, with the reason, the rule and the attempts);
//! - `end`: the summary, when the run finishes (even with failures);
//! - `closed`: appended to the journal of a run that died, by the run that
//!   recovered it.
//!
//! Each line is written with one `write` call as soon as it is known (the lines of
//! one call's answers together), so a `kill -9` loses nothing the process was told.
//! What it cannot record is an answer it never received: operations of a call that
//! was sent but whose answer was lost. The next apply (which holds the lock, so the
//! dead run is not running) reads the journals of runs that never ended and finds
//! those operations "in doubt". Every operation is idempotent and the next plan is
//! made from the account as it is, so an in-doubt operation the account already
//! has is simply not planned again; the new run records it as `done`, recovered
//! from the dead run (the dead run's call carried it out), and closes the old
//! journal. An in-doubt operation still needed is planned and run as usual.
//!
//! An operation the dead run's journal shows acknowledged (`done`, `already_so`) is
//! never sent again blindly: a backend that carries writes out in the background
//! (the vendor answers a project import 202 and shows its users later) may not show
//! it yet, so when the new plan still holds one, the new run first reads the account
//! again (with the call policy's backoff, within its bound) until it shows; only
//! what never shows is sent again, and the summary says so.

use crate::time::{compact_utc, now_ms};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::outcome::{OpOutcome, Tally};
use crate::plan::Operation;

/// The journal's directory when none is given, relative to the current directory.
pub const DEFAULT_RUNS_DIR: &str = ".accord/runs";

/// An operation as a journal names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpRef {
    /// `member.invite`.
    pub op: String,
    /// Its target string.
    pub target: String,
}

impl OpRef {
    /// The reference of a plan operation.
    #[must_use]
    pub fn of(operation: &Operation) -> Self {
        Self {
            op: operation.op.name().to_owned(),
            target: operation.target.clone(),
        }
    }
}

/// What a run is, as its `start` line records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run id (also the file's name).
    pub run: String,
    /// accord's version.
    pub accord: String,
    /// The backend's URL.
    pub backend: String,
    /// The account id.
    pub account: String,
    /// The backend revision the plan was made at.
    pub revision: u64,
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// Operations in the plan.
    pub operations: usize,
    /// Backend calls planned.
    pub calls: usize,
    /// Who holds the lock.
    pub holder: String,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run starts.
    Start {
        /// What the run is.
        #[serde(flatten)]
        info: RunInfo,
        /// Unix milliseconds.
        at: i64,
    },
    /// A call is about to be sent.
    Call {
        /// The call's index.
        call: usize,
        /// The plan batch it carries.
        batch: usize,
        /// 1 for the first attempt.
        attempt: u32,
        /// What it carries.
        ops: Vec<OpRef>,
        /// Unix milliseconds.
        at: i64,
    },
    /// An operation's final outcome.
    Op {
        /// Its index in the plan (none for an operation recovered from a dead run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
        /// The call that carried it (none if it was not sent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<usize>,
        /// What it is.
        #[serde(flatten)]
        op: OpRef,
        /// Its outcome.
        #[serde(flatten)]
        outcome: OpOutcome,
        /// Attempts made.
        #[serde(default)]
        attempts: u32,
        /// The dead run whose call carried it out, for a recovered operation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovered_from: Option<String>,
        /// Unix milliseconds.
        at: i64,
    },
    /// The run finished.
    End {
        /// The counts of the plan's operations.
        #[serde(flatten)]
        tally: Tally,
        /// Whether the account matched the configuration afterwards.
        converged: bool,
        /// Unix milliseconds.
        at: i64,
    },
    /// Appended to a dead run's journal by the run that recovered it.
    Closed {
        /// The recovering run.
        by: String,
        /// Unix milliseconds.
        at: i64,
    },
}

/// An open journal, safe to write from several tasks.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    run: String,
    file: Mutex<File>,
    /// The first write error, reported at the end (an apply does not stop for it).
    error: Mutex<Option<String>>,
}

impl Journal {
    /// Creates the run's journal in `dir` (created if missing) and writes its `start`
    /// line; `info.run` is filled in.
    ///
    /// # Errors
    /// The directory or the file cannot be created or written.
    pub fn create(dir: &Path, mut info: RunInfo) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let base = format!("{}-{}", compact_utc(now_ms() / 1000), std::process::id());
        let (path, file, run) = (0..100)
            .find_map(|n| {
                let run = if n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                let path = dir.join(format!("{run}.jsonl"));
                let mut options = OpenOptions::new();
                options.append(true).create_new(true);
                // A journal lists the account's members: owner-only, like the store.
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options.open(&path).ok()?;
                Some((path, file, run))
            })
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("cannot find a free journal name for {base}"),
                )
            })?;
        info.run.clone_from(&run);
        let journal = Self {
            path,
            run,
            file: Mutex::new(file),
            error: Mutex::new(None),
        };
        journal.write_all(&[Event::Start { info, at: now_ms() }])?;
        Ok(journal)
    }

    /// The journal's file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's id.
    #[must_use]
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Records that a call is about to be sent.
    pub fn call(&self, call: usize, batch: usize, attempt: u32, ops: Vec<OpRef>) {
        self.record(&[Event::Call {
            call,
            batch,
            attempt,
            ops,
            at: now_ms(),
        }]);
    }

    /// Records final outcomes: `(index in the plan, call, operation, outcome, attempts)`.
    pub fn outcomes(&self, entries: &[(usize, Option<usize>, &Operation, &OpOutcome, u32)]) {
        let at = now_ms();
        let events: Vec<Event> = entries
            .iter()
            .map(|&(index, call, operation, outcome, attempts)| Event::Op {
                index: Some(index),
                call,
                op: OpRef::of(operation),
                outcome: outcome.clone(),
                attempts,
                recovered_from: None,
                at,
            })
            .collect();
        self.record(&events);
    }

    /// Records operations a dead run carried out (see the module docs).
    pub fn recovered(&self, from_run: &str, ops: &[OpRef]) {
        let at = now_ms();
        let events: Vec<Event> = ops
            .iter()
            .map(|op| Event::Op {
                index: None,
                call: None,
                op: op.clone(),
                outcome: OpOutcome::Done,
                attempts: 0,
                recovered_from: Some(from_run.to_owned()),
                at,
            })
            .collect();
        self.record(&events);
    }

    /// Records the end of the run.
    pub fn end(&self, tally: Tally, converged: bool) {
        self.record(&[Event::End {
            tally,
            converged,
            at: now_ms(),
        }]);
    }

    /// The first write error, if any line could not be written.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, events: &[Event]) {
        if let Err(e) = self.write_all(events) {
            let mut error = self.error.lock().unwrap_or_else(PoisonError::into_inner);
            error.get_or_insert_with(|| format!("cannot write {}: {e}", self.path.display()));
        }
    }

    /// Writes `events` as lines with a single `write` (so they land together).
    fn write_all(&self, events: &[Event]) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for event in events {
            let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
            text.push_str(&line);
            text.push('\n');
        }
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(text.as_bytes())
    }
}

/// A run that started but neither ended nor was closed: it died (the caller holds the
/// lock, so it is not running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadRun {
    /// Its journal.
    pub path: PathBuf,
    /// Its id.
    pub run: String,
    /// Operations it sent without recording an answer, in the order sent.
    pub in_doubt: Vec<OpRef>,
    /// Operations its journal shows acknowledged (`done` or `already_so`): the
    /// backend said the account is so. A backend that carries writes out in the
    /// background (the vendor's project imports) may not show them yet.
    pub acknowledged: Vec<OpRef>,
}

impl DeadRun {
    /// Appends `closed` to the dead run's journal.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn close(&self, by: &str) -> std::io::Result<()> {
        let line = serde_json::to_string(&Event::Closed {
            by: by.to_owned(),
            at: now_ms(),
        })
        .map_err(std::io::Error::other)?;
        let mut file = OpenOptions::new().append(true).open(&self.path)?;
        // A dead run's last line may have been cut short: start on a line of our own.
        file.write_all(format!("\n{line}\n").as_bytes())
    }
}

/// The runs in `dir` against `backend` and `account` that died, except `current`.
/// Lines that do not parse (a line cut short by the kill) are passed over; files
/// that cannot be read are too (a journal is a record, not a requirement).
#[must_use]
pub fn dead_runs(dir: &Path, backend: &str, account: &str, current: &str) -> Vec<DeadRun> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| read_dead_run(&path, backend, account, current))
        .collect()
}

fn read_dead_run(path: &Path, backend: &str, account: &str, current: &str) -> Option<DeadRun> {
    // Lossy: a line cut short mid-character must not hide the lines before it.
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut info: Option<RunInfo> = None;
    let mut sent: Vec<OpRef> = Vec::new();
    let mut answered: HashSet<OpRef> = HashSet::new();
    let mut acknowledged: Vec<OpRef> = Vec::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            continue;
        };
        match event {
            Event::Start { info: start, .. } => info = Some(start),
            Event::Call { ops, .. } => sent.extend(ops),
            Event::Op { op, outcome, .. } => {
                if outcome.is_success() && !answered.contains(&op) {
                    acknowledged.push(op.clone());
                }
                answered.insert(op);
            }
            Event::End { .. } | Event::Closed { .. } => return None,
        }
    }
    let info = info?;
    if info.run == current || info.backend != backend || info.account != account {
        return None;
    }
    let mut seen = HashSet::new();
    let in_doubt = sent
        .into_iter()
        .filter(|op| !answered.contains(op) && seen.insert(op.clone()))
        .collect();
    Some(DeadRun {
        path: path.to_owned(),
        run: info.run,
        in_doubt,
        acknowledged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            run: String::new(),
            accord: "test".into(),
            backend: "sqlite:x.db".into(),
            account: "acme".into(),
            revision: 3,
            fingerprint: "sha256:0".into(),
            operations: 2,
            calls: 1,
            holder: "me".into(),
        }
    }

    fn op(target: &str) -> OpRef {
        OpRef {
            op: "member.invite".into(),
            target: target.into(),
        }
    }

    #[test]
    fn a_run_that_never_ended_leaves_what_it_sent_without_answer_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::create(dir.path(), info()).unwrap();
        journal.call(0, 0, 1, vec![op("a@x"), op("b@x")]);
        let a = Operation::new(
            crate::plan::Op::MemberInvite {
                inactive: false,
                email: crate::state::Email::new("a@x"),
                record: crate::plan::MemberRecord::default(),
            },
            crate::plan::Provenance("t".into()),
        );
        journal.outcomes(&[(0, Some(0), &a, &OpOutcome::Done, 1)]);
        journal.call(0, 0, 2, vec![op("b@x")]);
        // The process dies here, with half a line written.
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal.path())
            .unwrap();
        file.write_all(b"{\"event\":\"op\",\"ind").unwrap();

        let dead = dead_runs(dir.path(), "sqlite:x.db", "acme", "another");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].run, journal.run());
        assert_eq!(dead[0].in_doubt, [op("b@x")]);
        assert_eq!(dead[0].acknowledged, [op("a@x")]);
        assert!(dead_runs(dir.path(), "sqlite:y.db", "acme", "another").is_empty());
        assert!(dead_runs(dir.path(), "sqlite:x.db", "acme", journal.run()).is_empty());

        dead[0].close("another").unwrap();
        assert!(dead_runs(dir.path(), "sqlite:x.db", "acme", "another").is_empty());
    }

    #[test]
    fn a_run_that_ended_is_not_dead() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::create(dir.path(), info()).unwrap();
        journal.call(0, 0, 1, vec![op("a@x")]);
        journal.end(Tally::default(), false);
        assert!(dead_runs(dir.path(), "sqlite:x.db", "acme", "other").is_empty());
        let text = std::fs::read_to_string(journal.path()).unwrap();
        let events: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(matches!(events[0], Event::Start { ref info, .. } if info.run == journal.run()));
        assert_eq!(events.len(), 3);
    }
}
