//! `accord apply` through the real binary, against embedded stores in temporary
//! directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord::backend::{Backend, SqliteBackend, SystemClock};

use super::fixtures::history_counts;
use crate::common::{TestConfig, accord};
use crate::process::{
    accord_child, assert_one_waited_then_found_nothing, onboarding, planned_operations, text,
    wait_both,
};

/// A place for a store and run journals.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    fn backend(&self) -> String {
        format!("sqlite:{}", self.store().display())
    }

    fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    /// `accord ARGS... CONFIG --backend STORE --runs-dir RUNS`, for a command that
    /// takes them all.
    fn apply(&self, config: &Path, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = accord();
        cmd.arg("apply")
            .arg(config)
            .args(["--backend", &self.backend()])
            .arg("--runs-dir")
            .arg(self.runs())
            .args(extra);
        cmd
    }

    fn plan(&self, config: &Path, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = accord();
        cmd.arg("plan")
            .arg(config)
            .args(["--backend", &self.backend()])
            .args(extra);
        cmd
    }

    /// The same `apply` as a plain child process (to run two at once, or kill one).
    /// Its output is captured: read it with `wait_with_output`, or the child blocks
    /// once the pipe is full.
    fn spawn_apply(&self, config: &Path, extra: &[&str]) -> std::process::Child {
        accord_child()
            .arg("apply")
            .arg(config)
            .args(["--backend", &self.backend(), "--auto-approve"])
            .arg("--runs-dir")
            .arg(self.runs())
            .args(extra)
            .spawn()
            .expect("spawn accord")
    }

    /// `op target` -> how many times the store's history records it.
    fn history(&self) -> BTreeMap<String, usize> {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let store = SqliteBackend::open(self.store(), Arc::new(SystemClock))
                .await
                .expect("open store");
            history_counts(&store.history().await.expect("history"))
        })
    }

    fn revision(&self) -> u64 {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let store = SqliteBackend::open(self.store(), Arc::new(SystemClock))
                .await
                .expect("open store");
            store.fetch().await.expect("fetch").revision
        })
    }

    /// Every line of every journal, parsed.
    fn journal_events(&self) -> Vec<(PathBuf, serde_json::Value)> {
        let mut events = Vec::new();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.runs())
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("journal");
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                if let Ok(value) = serde_json::from_str(line) {
                    events.push((path.clone(), value));
                }
            }
        }
        events
    }
}

/// `op target` of each operation `accord plan --format json` lists.
fn planned(place: &Place, config: &Path) -> Vec<String> {
    let output = place.plan(config, &["--format", "json"]).output().unwrap();
    planned_operations(&output.stdout)
}

#[test]
fn apply_converges_journals_every_outcome_and_a_second_apply_finds_nothing_to_do() {
    let config = onboarding(20);
    let place = Place::new();
    let ops = planned(&place, config.path());
    assert_eq!(ops.len(), 69);

    let output = place
        .apply(config.path(), &["--auto-approve"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Plan: 69 to add, 0 to change, 0 to remove."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Apply complete: 69 operations: 69 done."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Verified: the account matches the configuration"),
        "{stdout}"
    );
    assert!(
        stderr.contains("[1/7] company.create x1: 1 done"),
        "{stderr}"
    );

    let events = place.journal_events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, e)| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"end"));
    assert_eq!(kinds.iter().filter(|k| **k == "op").count(), 69);
    assert_eq!(kinds.iter().filter(|k| **k == "call").count(), 7);
    let history = place.history();
    assert!(
        ops.iter().all(|op| history.get(op) == Some(&1)),
        "{history:?}"
    );

    let again = place
        .apply(config.path(), &["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(summary["operations"], 0);
    assert_eq!(summary["converged"], true);
    assert_eq!(summary["write_calls"], 0);
    assert_eq!(summary["results"], serde_json::json!([]));
    assert!(
        text(&again.stdout).contains("\"results\""),
        "the JSON lists what was done"
    );
}

#[test]
fn apply_json_lists_every_operation_with_its_outcome() {
    let config = onboarding(1);
    let place = Place::new();
    let ops = planned(&place, config.path());
    let output = place
        .apply(config.path(), &["--auto-approve", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let results: Vec<String> = summary["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["op"].as_str().unwrap(),
                r["target"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(results.len(), ops.len(), "{results:?}");
    assert!(results.iter().all(|r| r.ends_with(" done")), "{results:?}");
    let errors = crate::common::schema_errors("apply.schema.json", &summary);
    assert!(
        errors.is_empty(),
        "schemas/apply.schema.json: {errors:?}\n{summary:#}"
    );
}

#[test]
fn without_a_terminal_or_auto_approve_apply_refuses_and_changes_nothing() {
    let config = onboarding(3);
    let place = Place::new();
    let output = place.apply(config.path(), &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refusing to apply without confirmation: there is no terminal to ask on"),
        "{stderr}"
    );
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    assert_eq!(place.revision(), 0);
    assert!(place.history().is_empty());
}

#[test]
fn a_safety_refusal_exits_3_before_any_write() {
    let config = onboarding(12);
    let place = Place::new();
    place
        .apply(config.path(), &["--auto-approve"])
        .assert()
        .code(0);
    let revision = place.revision();
    // Pruning the 12 architects removes more than the default limit of 10 (R13).
    let pruned = TestConfig::with(
        "account: { id: acme, name: ACME }\n\
         settings: { prune: true }\n\
         companies:\n  - { name: ACME }\n\
         roles:\n  - { name: BIM Manager, default_access: [account_admin] }\n\
         members:\n  - { email: alice@acme.example, company: ACME, role: BIM Manager }\n",
    );
    let output = place
        .apply(pruned.path(), &["--auto-approve"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("R13"), "{stdout}");
    assert!(stdout.contains("this plan removes 12 members"), "{stdout}");
    assert_eq!(place.revision(), revision);
    // With the limit raised on the command line, the same apply goes through.
    place
        .apply(pruned.path(), &["--auto-approve", "--max-removals", "12"])
        .assert()
        .code(0);
    assert!(
        place
            .history()
            .contains_key("member.remove m011@acme.example")
    );
}

#[test]
fn a_stale_saved_plan_is_refused_and_nothing_is_written() {
    let config = onboarding(4);
    let place = Place::new();
    place
        .apply(config.path(), &["--auto-approve"])
        .assert()
        .code(0);
    let bigger = onboarding(6);
    let saved = place.dir.path().join("plan.json");
    place
        .plan(bigger.path(), &["--out", saved.to_str().unwrap()])
        .assert()
        .code(0);

    // The account changes in between (someone else's apply).
    let other = onboarding(5);
    place
        .apply(other.path(), &["--auto-approve"])
        .assert()
        .code(0);
    let (revision, history) = (place.revision(), place.history());
    let output = place
        .apply(
            bigger.path(),
            &["--auto-approve", "--plan", saved.to_str().unwrap()],
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the account changed since this plan was made (revision")
            && stderr.contains("run `accord plan --out ")
            && stderr.contains("again; nothing was changed"),
        "{stderr}"
    );
    assert_eq!((place.revision(), place.history()), (revision, history));

    // A plan for a configuration edited since is refused before the backend is asked.
    place
        .plan(bigger.path(), &["--out", saved.to_str().unwrap()])
        .assert()
        .code(0);
    let edited = bigger.file("late.yaml", "companies:\n  - { name: Late Co }\n");
    let output = place
        .apply(
            edited.path(),
            &["--auto-approve", "--plan", saved.to_str().unwrap()],
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("the configuration changed since this plan was made"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(place.revision(), revision);

    // A fresh saved plan is applied as saved.
    place
        .plan(edited.path(), &["--out", saved.to_str().unwrap()])
        .assert()
        .code(0);
    place
        .apply(
            edited.path(),
            &["--auto-approve", "--plan", saved.to_str().unwrap()],
        )
        .assert()
        .code(0);
    assert_eq!(place.history().get("company.create Late Co"), Some(&1));
}

#[test]
fn two_applies_at_once_one_waits_for_the_other_and_nothing_runs_twice() {
    let config = onboarding(200);
    let place = Place::new();
    let ops = planned(&place, config.path());
    let slow = ["--max-rate", "10", "--lock-timeout", "60s"];
    let first = place.spawn_apply(config.path(), &slow);
    let second = place.spawn_apply(config.path(), &slow);
    let outputs = wait_both(first, second);
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    assert_one_waited_then_found_nothing(&outputs);
    let history = place.history();
    assert_eq!(history.len(), ops.len());
    assert!(ops.iter().all(|op| history.get(op) == Some(&1)));
    place
        .plan(config.path(), &["--detailed-exitcode"])
        .assert()
        .code(0);
}

#[test]
fn with_no_lock_timeout_the_second_apply_refuses_naming_holder_and_since() {
    let config = onboarding(200);
    let place = Place::new();
    let slow = ["--max-rate", "10", "--lock-timeout", "0"];
    let first = place.spawn_apply(config.path(), &slow);
    let second = place.spawn_apply(config.path(), &slow);
    let outputs = wait_both(first, second);
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}"
    );
    let refused = &outputs[codes.iter().position(|c| *c == Some(1)).unwrap()];
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("the account is locked by "), "{stderr}");
    assert!(
        stderr.contains(" pid ") && stderr.contains(" since 20"),
        "{stderr}"
    );
    assert!(stderr.contains("--lock-timeout"), "{stderr}");
    place
        .plan(config.path(), &["--detailed-exitcode"])
        .assert()
        .code(0);
}

#[test]
fn a_killed_apply_resumes_with_plan_and_apply_and_every_operation_is_done_once() {
    let config = onboarding(300);
    let place = Place::new();
    let ops = planned(&place, config.path());
    assert_eq!(ops.len(), 909);

    let mut victim = Command::new(assert_cmd::cargo::cargo_bin("accord"))
        .arg("apply")
        .arg(config.path())
        .args([
            "--backend",
            &place.backend(),
            "--auto-approve",
            "--max-rate",
            "8",
        ])
        .args(["--lock-ttl", "2s", "--runs-dir"])
        .arg(place.runs())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn accord");
    let deadline = Instant::now() + Duration::from_secs(60);
    let done_lines = |place: &Place| {
        place
            .journal_events()
            .iter()
            .filter(|(_, e)| e["event"] == "op" && e["outcome"] == "done")
            .count()
    };
    while done_lines(&place) < 150 {
        assert!(Instant::now() < deadline, "the apply made no progress");
        assert!(
            victim.try_wait().unwrap().is_none(),
            "the apply ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().expect("SIGKILL");
    victim.wait().unwrap();
    let killed_at = done_lines(&place);
    assert!(killed_at < ops.len(), "{killed_at}");

    // What is left shows in the plan; applying it converges (after the dead run's
    // lock expires).
    place
        .plan(config.path(), &["--detailed-exitcode"])
        .assert()
        .code(2);
    let output = place
        .apply(config.path(), &["--auto-approve", "--lock-timeout", "30s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    place
        .plan(config.path(), &["--detailed-exitcode"])
        .assert()
        .code(0);

    // The store did every operation exactly once...
    let history = place.history();
    assert_eq!(history.len(), ops.len());
    assert!(ops.iter().all(|op| history.get(op) == Some(&1)));
    // ...and the journals, together, show every operation exactly once as done.
    let events = place.journal_events();
    let mut done: BTreeMap<String, usize> = BTreeMap::new();
    for (_, event) in &events {
        if event["event"] == "op" && event["outcome"] == "done" {
            let key = format!(
                "{} {}",
                event["op"].as_str().unwrap(),
                event["target"].as_str().unwrap()
            );
            *done.entry(key).or_default() += 1;
        }
    }
    let wrong: Vec<_> = ops.iter().filter(|op| done.get(*op) != Some(&1)).collect();
    assert!(wrong.is_empty(), "not exactly once as done: {wrong:?}");
    assert_eq!(done.len(), ops.len());
    // The dead run's journal never ended; the run that recovered it closed it.
    let dead: Vec<&PathBuf> = events
        .iter()
        .filter(|(_, e)| e["event"] == "closed")
        .map(|(path, _)| path)
        .collect();
    assert_eq!(dead.len(), 1);
    assert!(
        !events
            .iter()
            .any(|(p, e)| p == dead[0] && e["event"] == "end")
    );
}
