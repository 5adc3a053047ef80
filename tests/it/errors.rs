//! Every way a command fails has its own exit code and, with `--format json`, its own
//! stable `error.kind` on standard output: a tool can tell a held lock from a stale
//! plan from an unreachable backend from a refused plan without reading a sentence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use accord::backend::{Lock, SqliteBackend, SystemClock};
use serde_json::Value;

use crate::common::{MINIMAL, TestConfig, accord};

/// A store and run journals in a temporary directory.
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

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `accord COMMAND ARGS... CONFIG` against this place's store (and, for `apply`,
    /// its journals).
    fn run(&self, command: &str, args: &[&str], config: &Path) -> std::process::Output {
        let mut cmd = accord();
        cmd.arg(command)
            .args(args)
            .args(["--backend", &format!("sqlite:{}", self.store().display())])
            .arg(config);
        if command == "apply" {
            cmd.arg("--runs-dir").arg(self.file("runs"));
        }
        cmd.output().expect("accord runs")
    }
}

/// The JSON document a command printed, and its exit code.
fn json_of(output: &std::process::Output) -> (Value, Option<i32>) {
    let text = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (json, output.status.code())
}

/// The `error.kind` and exit code of a failed command's JSON.
fn kind_of(output: &std::process::Output) -> (Option<i32>, String) {
    let (json, code) = json_of(output);
    (
        code,
        json["error"]["kind"].as_str().unwrap_or("-").to_owned(),
    )
}

#[test]
fn an_unreachable_backend_is_backend_unreachable() {
    let config = TestConfig::with(MINIMAL);
    let output = accord()
        .args([
            "plan",
            "--format",
            "json",
            "--backend",
            "http://127.0.0.1:9",
        ])
        .arg(config.path())
        .env("ACCORD_TOKEN", "t")
        .output()
        .unwrap();
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["kind"], "backend.unreachable", "{json}");
    assert_eq!(json["error"]["exit_code"], 1);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("is `accord serve` running at http://127.0.0.1:9?"),
        "{json}"
    );
}

#[test]
fn a_refused_plan_is_refused_with_exit_3_and_the_plan_beside_the_error() {
    let place = Place::new();
    let config = TestConfig::with(MINIMAL);
    let applied = place.run("apply", &["--auto-approve"], config.path());
    assert_eq!(applied.status.code(), Some(0));
    // Pruning bob with a limit of no removals at all.
    let pruned = MINIMAL
        .replace(
            "account: { id: acme-eu, name: ACME Architects }",
            "account: { id: acme-eu, name: ACME Architects }\nsettings: { prune: true, max_removals: 0 }",
        )
        .replace(
            "  - { email: bob@acme.example, company: ACME Architects, role: Architect }\n",
            "",
        );
    let pruned = TestConfig::with(&pruned);
    let output = place.run("plan", &["--format", "json"], pruned.path());
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(3));
    assert_eq!(json["error"]["kind"], "refused", "{json}");
    assert_eq!(json["refusals"][0]["code"], "R13", "{json}");
    assert!(json["operations"].is_array());
}

#[test]
fn a_held_lock_is_lock_held() {
    let place = Place::new();
    let config = TestConfig::with(MINIMAL);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteBackend::open(place.store(), std::sync::Arc::new(SystemClock))
            .await
            .unwrap();
        store
            .acquire("ci-runner-7 pid 1", Duration::from_secs(600))
            .await
            .unwrap()
    });
    let args = ["--auto-approve", "--format", "json", "--lock-timeout", "0"];
    let output = place.run("apply", &args, config.path());
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["kind"], "lock_held", "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("locked by ci-runner-7 pid 1"), "{json}");
}

#[test]
fn a_stale_saved_plan_is_stale_plan_and_an_edited_one_invalid_plan() {
    let place = Place::new();
    let config = TestConfig::with(MINIMAL);
    let saved = place.file("plan.json");
    let saved_arg = saved.to_str().unwrap();
    let planned = place.run("plan", &["--out", saved_arg], config.path());
    assert_eq!(planned.status.code(), Some(0));
    // An edited plan whose fingerprint no longer matches.
    let edited = place.file("edited.json");
    let text = std::fs::read_to_string(&saved).unwrap();
    std::fs::write(
        &edited,
        text.replace("bob@acme.example", "eve@acme.example"),
    )
    .unwrap();
    let edited_arg = edited.to_str().unwrap();
    let args = ["--auto-approve", "--format", "json", "--plan", edited_arg];
    let output = place.run("apply", &args, config.path());
    assert_eq!(kind_of(&output), (Some(1), "invalid_plan".to_owned()));
    // The account moves on; the reviewed plan is stale.
    let applied = place.run("apply", &["--auto-approve"], config.path());
    assert_eq!(applied.status.code(), Some(0));
    let args = ["--auto-approve", "--format", "json", "--plan", saved_arg];
    let output = place.run("apply", &args, config.path());
    assert_eq!(kind_of(&output), (Some(1), "stale_plan".to_owned()));
}

/// Regression (issue 14): a plan whose operations were edited and its fingerprint
/// recomputed was refused with a message blaming the backend's limits.
#[test]
fn an_edited_plan_with_a_recomputed_fingerprint_is_called_edited() {
    let place = Place::new();
    let config = TestConfig::with(MINIMAL);
    let saved = place.file("plan.json");
    let saved_arg = saved.to_str().unwrap();
    let planned = place.run("plan", &["--out", saved_arg], config.path());
    assert_eq!(planned.status.code(), Some(0));
    let mut plan: accord::plan::SavedPlan =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    plan.plan
        .operations
        .retain(|o| !(o.op.name() == "member.invite" && o.target.starts_with("bob")));
    plan.plan.fingerprint = accord::plan::fingerprint(&plan.plan.operations);
    std::fs::write(&saved, plan.to_json()).unwrap();
    let output = place.run(
        "apply",
        &["--auto-approve", "--plan", saved_arg],
        config.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was the file edited?"), "{stderr}");
    assert!(!stderr.contains("limits"), "{stderr}");
}
