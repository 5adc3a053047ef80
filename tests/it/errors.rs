//! Every way a command fails has its own exit code and, with `--format json`, its own
//! stable `error.kind` on standard output: a tool can tell a held lock from a stale
//! plan from an unreachable backend from a refused plan without reading a sentence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use accord::backend::{Lock, SqliteBackend, SystemClock};
use serde_json::Value;

use crate::common::{MINIMAL, TestConfig, accord};

fn store(dir: &Path) -> PathBuf {
    dir.join("state.db")
}

fn backend(dir: &Path) -> String {
    format!("sqlite:{}", store(dir).display())
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
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is `accord serve` running at http://127.0.0.1:9?"),
        "{json}"
    );
}

#[test]
fn a_refused_plan_is_refused_with_exit_3_and_the_plan_beside_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = TestConfig::with(MINIMAL);
    accord()
        .args(["apply", "--auto-approve", "--backend", &backend(dir.path())])
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .assert()
        .code(0);
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
    let output = accord()
        .args([
            "plan",
            "--format",
            "json",
            "--backend",
            &backend(dir.path()),
        ])
        .arg(pruned.path())
        .output()
        .unwrap();
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(3));
    assert_eq!(json["error"]["kind"], "refused", "{json}");
    assert_eq!(json["refusals"][0]["code"], "R13", "{json}");
    assert!(json["operations"].is_array());
}

#[test]
fn a_held_lock_is_lock_held() {
    let dir = tempfile::tempdir().unwrap();
    let config = TestConfig::with(MINIMAL);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lease = runtime.block_on(async {
        let store = SqliteBackend::open(store(dir.path()), std::sync::Arc::new(SystemClock))
            .await
            .unwrap();
        store
            .acquire("ci-runner-7 pid 1", Duration::from_secs(600))
            .await
            .unwrap()
    });
    let output = accord()
        .args([
            "apply",
            "--auto-approve",
            "--format",
            "json",
            "--lock-timeout",
            "0",
        ])
        .args(["--backend", &backend(dir.path())])
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["kind"], "lock_held", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("locked by ci-runner-7 pid 1"),
        "{json}"
    );
    assert_eq!(lease.holder, "ci-runner-7 pid 1");
}

#[test]
fn a_stale_saved_plan_is_stale_plan_and_an_edited_one_invalid_plan() {
    let dir = tempfile::tempdir().unwrap();
    let config = TestConfig::with(MINIMAL);
    let saved = dir.path().join("plan.json");
    accord()
        .args(["plan", "--backend", &backend(dir.path()), "--out"])
        .arg(&saved)
        .arg(config.path())
        .assert()
        .code(0);
    // An edited plan whose fingerprint no longer matches.
    let edited = dir.path().join("edited.json");
    let text = std::fs::read_to_string(&saved).unwrap();
    std::fs::write(
        &edited,
        text.replace("bob@acme.example", "eve@acme.example"),
    )
    .unwrap();
    let output = accord()
        .args(["apply", "--auto-approve", "--format", "json"])
        .args(["--backend", &backend(dir.path()), "--plan"])
        .arg(&edited)
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let (json, code) = json_of(&output);
    assert_eq!(
        (code, json["error"]["kind"].as_str()),
        (Some(1), Some("invalid_plan")),
        "{json}"
    );
    // The account moves on; the reviewed plan is stale.
    accord()
        .args(["apply", "--auto-approve", "--backend", &backend(dir.path())])
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .assert()
        .code(0);
    let output = accord()
        .args(["apply", "--auto-approve", "--format", "json"])
        .args(["--backend", &backend(dir.path()), "--plan"])
        .arg(&saved)
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let (json, code) = json_of(&output);
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["kind"], "stale_plan", "{json}");
}

/// Regression (issue 14): a plan whose operations were edited and its fingerprint
/// recomputed was refused with a message blaming the backend's limits.
#[test]
fn an_edited_plan_with_a_recomputed_fingerprint_is_called_edited() {
    let dir = tempfile::tempdir().unwrap();
    let config = TestConfig::with(MINIMAL);
    let saved = dir.path().join("plan.json");
    accord()
        .args(["plan", "--backend", &backend(dir.path()), "--out"])
        .arg(&saved)
        .arg(config.path())
        .assert()
        .code(0);
    let mut plan: accord::plan::SavedPlan =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    plan.plan
        .operations
        .retain(|o| o.op.name() != "member.invite" || !o.target.starts_with("bob"));
    plan.plan.fingerprint = accord::plan::fingerprint(&plan.plan.operations);
    std::fs::write(&saved, plan.to_json()).unwrap();
    let output = accord()
        .args([
            "apply",
            "--auto-approve",
            "--backend",
            &backend(dir.path()),
            "--plan",
        ])
        .arg(&saved)
        .arg(config.path())
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was the file edited?"), "{stderr}");
    assert!(!stderr.contains("limits"), "{stderr}");
}
