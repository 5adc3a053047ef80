//! Helpers for the tests that run `accord` as separate child processes (`apply`
//! against an embedded store, and `serve` with the `http` backend): the shared
//! onboarding configuration, spawning a child whose output is captured, waiting for
//! two children at once, and reading what `plan --format json` lists.
//!
//! Both suites race two applies and compare plans with what was written, so these
//! live here once rather than drifting apart in each suite.

use std::fmt::Write as _;
use std::process::{Child, Command, Output, Stdio};

use crate::common::TestConfig;

/// alice (admin) and `members` architects, each with an AutoCAD seat and on one of
/// four projects: `9 + 3 * members` operations on a fresh account.
pub fn onboarding(members: usize) -> TestConfig {
    let emails: Vec<String> = (0..members)
        .map(|n| format!("m{n:03}@acme.example"))
        .collect();
    let mut yaml = String::from(
        "account: { id: acme, name: ACME }\n\
         companies:\n  - { name: ACME }\n\
         roles:\n  - { name: BIM Manager, default_access: [account_admin] }\n  - { name: Architect }\n\
         members:\n  - { email: alice@acme.example, company: ACME, role: BIM Manager }\n",
    );
    for email in &emails {
        let _ = writeln!(
            yaml,
            "  - {{ email: {email}, company: ACME, role: Architect }}"
        );
    }
    let _ = write!(
        yaml,
        "agreements:\n  - number: \"1100\"\n    name: AEC\n    contract_manager: alice@acme.example\n    products:\n      - name: AutoCAD\n        seats: {members}\n        assigned: [{}]\nprojects:\n",
        emails.join(", ")
    );
    for p in 0..4 {
        let on_project: Vec<&String> = emails.iter().skip(p).step_by(4).collect();
        let empty = if on_project.is_empty() { " []" } else { "" };
        let _ = writeln!(yaml, "  - name: P{p}\n    members:{empty}");
        for email in on_project {
            let _ = writeln!(
                yaml,
                "      - {{ email: {email}, access: member, products: [docs] }}"
            );
        }
    }
    TestConfig::with(&yaml)
}

/// The `accord` binary as a plain child-process command, with colour off, no backend
/// from the environment, no standard input, and both outputs captured: the caller adds
/// the arguments and spawns it.
///
/// Read a spawned child's output with `wait_with_output` (or [`wait_both`]), or the
/// child blocks once a pipe is full.
pub fn accord_child() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("accord"));
    command
        .env("NO_COLOR", "1")
        .env_remove("ACCORD_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for two children at once, reading their output as they write it (one of them
/// may hold the lock while the other waits for it: neither may block on a full pipe).
pub fn wait_both(first: Child, second: Child) -> [Output; 2] {
    let first = std::thread::spawn(move || first.wait_with_output().expect("wait"));
    let second = second.wait_with_output().expect("wait");
    [first.join().expect("first child"), second]
}

/// Of two applies run at once (both exited 0), exactly one says it waited for the
/// apply lock, and that one planned afresh and found nothing left to do.
#[track_caller]
pub fn assert_one_waited_then_found_nothing(outputs: &[Output; 2]) {
    let waited: Vec<bool> = outputs
        .iter()
        .map(|o| text(&o.stderr).contains("waiting for the apply lock held by"))
        .collect();
    assert_eq!(waited.iter().filter(|w| **w).count(), 1, "{waited:?}");
    // The one that waited planned afresh and found nothing left to do.
    let late = &outputs[usize::from(waited[1])];
    assert!(
        text(&late.stdout).contains("No changes."),
        "{}",
        text(&late.stdout)
    );
}

/// `op target` of each operation in the standard output of `accord plan --format json`.
pub fn planned_operations(plan_json: &[u8]) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_slice(plan_json).expect("plan JSON");
    plan["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["op"].as_str().unwrap(),
                o["target"].as_str().unwrap()
            )
        })
        .collect()
}

/// A child's output as text, for messages and searches.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
