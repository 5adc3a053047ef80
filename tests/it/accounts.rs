//! `plan --accounts` and `apply --accounts` through the binary: a repository of three
//! accounts (one with changes, one clean, one invalid), each on its own store.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{accord, schema_errors};

/// A small valid account with `admin` as its one admin.
fn small(id: &str, admin: &str) -> String {
    format!(
        "account: {{ id: {id}, name: {id} }}\n\
         companies:\n  - {{ name: Firm }}\n\
         roles:\n  - {{ name: Admin, default_access: [account_admin] }}\n  - {{ name: Architect }}\n\
         members:\n  - {{ email: {admin}, company: Firm, role: Admin }}\n"
    )
}

/// `accounts/{changed,clean,invalid}`, stores in `stores/`: `clean` applied,
/// `changed` applied and then given a new member, `invalid` with a bad email.
struct Repository {
    dir: tempfile::TempDir,
}

impl Repository {
    fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir_all(repo.dir.path().join("stores")).expect("mkdir");
        for (name, yaml) in [
            ("changed", small("changed-co", "ann@changed.example")),
            ("clean", small("clean-co", "cat@clean.example")),
            (
                "invalid",
                "account: { id: invalid-co, name: Invalid }\nmembers:\n  - { email: not-an-email }\n"
                    .to_owned(),
            ),
        ] {
            repo.write(name, &yaml);
        }
        // A hidden directory is not an account.
        std::fs::create_dir_all(repo.accounts().join(".git")).expect("mkdir");
        for name in ["changed", "clean"] {
            repo.single(&["apply", "--auto-approve"], name, 0);
        }
        repo.write(
            "changed",
            &format!(
                "{}  - {{ email: bea@changed.example, company: Firm, role: Architect }}\n",
                small("changed-co", "ann@changed.example")
            ),
        );
        repo
    }

    fn accounts(&self) -> PathBuf {
        self.dir.path().join("accounts")
    }

    fn write(&self, name: &str, yaml: &str) {
        let dir = self.accounts().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("accord.yaml"), yaml).expect("write");
    }

    fn template(&self) -> String {
        format!("sqlite:{}/stores/{{account}}.db", self.dir.path().display())
    }

    fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    /// One account alone, as a CI matrix job runs it.
    fn single(&self, command: &[&str], name: &str, code: i32) -> Output {
        let url = self.template().replace("{account}", name);
        let mut cmd = accord();
        cmd.args(command)
            .arg(self.accounts().join(name))
            .args(["--backend", &url]);
        if command[0] == "apply" {
            cmd.arg("--runs-dir").arg(self.runs());
        }
        self.check(cmd.output().expect("run"), code)
    }

    /// `accord COMMAND --accounts accounts/ EXTRA...`, asserting the exit code.
    fn all(&self, command: &[&str], extra: &[&str], code: i32) -> Output {
        let mut cmd = accord();
        cmd.args(command)
            .arg("--accounts")
            .arg(self.accounts())
            .args(["--backend", &self.template()])
            .args(extra);
        if command[0] == "apply" {
            cmd.arg("--runs-dir").arg(self.runs());
        }
        self.check(cmd.output().expect("run"), code)
    }

    fn check(&self, output: Output, code: i32) -> Output {
        assert_eq!(
            output.status.code(),
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.shown(&output.stdout),
            self.shown(&output.stderr)
        );
        output
    }

    fn shown(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).replace(&self.dir.path().display().to_string(), "[dir]")
    }

    fn json(&self, command: &[&str], extra: &[&str], code: i32) -> serde_json::Value {
        let mut args = extra.to_vec();
        args.extend(["--format", "json"]);
        let output = self.all(command, &args, code);
        serde_json::from_slice(&output.stdout).expect("JSON")
    }
}

/// (name, outcome, exit code) of each account of a JSON report.
fn outcomes(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["outcome"].as_str().unwrap().to_owned(),
                a["exit_code"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expect(rows: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    rows.iter()
        .map(|(n, o, c)| ((*n).to_owned(), (*o).to_owned(), *c))
        .collect()
}

#[test]
fn plan_of_three_accounts_prints_one_report_and_exits_with_the_worst() {
    let repo = Repository::new();
    let output = repo.all(&["plan"], &["--detailed-exitcode"], 1);
    insta::assert_snapshot!("plan_text", repo.shown(&output.stdout));
    assert!(output.stderr.is_empty(), "{}", repo.shown(&output.stderr));
}

#[test]
fn plan_of_three_accounts_in_markdown_has_a_table_and_each_plan() {
    let repo = Repository::new();
    let output = repo.all(&["plan", "--format", "markdown"], &[], 1);
    insta::assert_snapshot!("plan_markdown", repo.shown(&output.stdout));
}

#[test]
fn the_json_report_holds_each_accounts_plan_under_its_name() {
    let repo = Repository::new();
    let report = repo.json(&["plan"], &["--detailed-exitcode"], 1);
    assert_eq!(report["command"], "plan");
    assert_eq!(report["exit_code"], 1);
    assert_eq!(
        outcomes(&report),
        expect(&[
            ("changed", "changes", 2),
            ("clean", "no_changes", 0),
            ("invalid", "failed", 1),
        ])
    );
    let changed = &report["accounts"][0];
    assert_eq!(changed["plan"]["operations"][0]["op"], "member.invite");
    assert_eq!(
        changed["plan"]["operations"][0]["target"],
        "bea@changed.example"
    );
    assert_eq!(
        schema_errors("plan.schema.json", &changed["plan"]),
        Vec::<String>::new(),
        "each plan is a plan as `plan --format json` prints it"
    );
    assert_eq!(
        report["accounts"][2]["error"]["kind"],
        "invalid_configuration"
    );
    assert!(report["accounts"][2].get("plan").is_none());
    assert!(
        report["accounts"][2]["error"]["details"]
            .as_str()
            .unwrap()
            .contains("error[R01]"),
        "{report}"
    );
}

#[test]
fn the_exit_code_follows_the_worst_account() {
    let repo = Repository::new();
    // Without the invalid account: changes (2) with --detailed-exitcode, else 0.
    std::fs::remove_dir_all(repo.accounts().join("invalid")).expect("rm");
    let report = repo.json(&["plan"], &["--detailed-exitcode"], 2);
    assert_eq!(report["exit_code"], 2);
    repo.all(&["plan"], &[], 0);
    // A refusal (3) outranks changes: with prune on and `max_removals: 0`, the clean
    // account's admin handed from cat to cid removes cat, and R13 refuses.
    repo.write(
        "clean",
        &small("clean-co", "cat@clean.example").replace(
            "companies:",
            "settings: { prune: true, max_removals: 0 }\ncompanies:",
        ),
    );
    repo.single(&["apply", "--auto-approve"], "clean", 0);
    repo.write(
        "clean",
        &small("clean-co", "cat@clean.example")
            .replace(
                "companies:",
                "settings: { prune: true, max_removals: 0 }\ncompanies:",
            )
            .replace("cat@clean.example", "cid@clean.example"),
    );
    let report = repo.json(&["plan"], &["--detailed-exitcode"], 3);
    assert_eq!(
        outcomes(&report),
        expect(&[("changed", "changes", 2), ("clean", "refused", 3)])
    );
    assert_eq!(report["accounts"][1]["error"]["kind"], "refused");
    assert_eq!(
        report["accounts"][1]["plan"]["operations"][0]["op"], "member.invite",
        "the refused plan is shown"
    );
}

#[test]
fn apply_of_three_accounts_converges_the_valid_ones_and_reports_the_invalid() {
    let repo = Repository::new();
    let report = repo.json(&["apply", "--auto-approve"], &[], 1);
    assert_eq!(report["command"], "apply");
    assert_eq!(
        outcomes(&report),
        expect(&[
            ("changed", "converged", 0),
            ("clean", "converged", 0),
            ("invalid", "failed", 1),
        ])
    );
    let summary = &report["accounts"][0]["summary"];
    assert_eq!(summary["operations"], 1);
    assert_eq!(summary["converged"], true);
    assert_eq!(
        schema_errors("apply.schema.json", summary),
        Vec::<String>::new()
    );
    // Each account's journal in its own directory.
    for name in ["changed", "clean"] {
        let journals = std::fs::read_dir(repo.runs().join(name))
            .expect("runs/NAME")
            .count();
        assert_eq!(journals, 1, "{name}");
    }
    // Now each valid account alone plans nothing, as a matrix job would see it.
    for name in ["changed", "clean"] {
        let output = repo.single(&["plan", "--detailed-exitcode"], name, 0);
        assert_eq!(repo.shown(&output.stdout), "No changes.\n");
    }
    // The text report ends with the per-account summary.
    let output = repo.all(&["apply", "--auto-approve"], &[], 1);
    let text = repo.shown(&output.stdout);
    let tail = &text[text.find("Accounts: 3").expect("summary")..];
    assert_eq!(
        tail,
        "Accounts: 3 (1 failed, 2 converged):\n  changed  exit 0  converged: 0 operations\n  clean    exit 0  converged: 0 operations\n  invalid  exit 1  failed: the configuration is invalid; nothing was contacted or changed\nExit code: 1 (the worst account's).\n"
    );
}

#[test]
fn an_account_without_a_backend_fails_alone() {
    let repo = Repository::new();
    // --backend without {account}: only an account with its own variable has one.
    let url = repo.template().replace("{account}", "clean");
    let mut cmd = accord();
    let output = cmd
        .args(["plan", "--format", "json", "--accounts"])
        .arg(repo.accounts())
        .args(["--backend", "sqlite:unused.db"])
        .env("ACCORD_BACKEND_CLEAN", &url)
        .current_dir(repo.dir.path())
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        outcomes(&report),
        expect(&[
            ("changed", "failed", 1),
            ("clean", "no_changes", 0),
            ("invalid", "failed", 1),
        ])
    );
    assert_eq!(
        report["accounts"][0]["error"]["message"],
        "no backend for account changed: set ACCORD_BACKEND_CHANGED, or give --backend with `{account}` in it (sqlite:stores/{account}.db)"
    );
    assert!(
        !repo.dir.path().join("unused.db").exists(),
        "no store was made"
    );
}

#[test]
fn accounts_need_a_directory_of_accounts_and_apply_needs_auto_approve() {
    let repo = Repository::new();
    let empty = repo.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let output = accord()
        .args(["plan", "--accounts"])
        .arg(&empty)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        repo.shown(&output.stderr),
        "error: [dir]/empty holds no account: with --accounts, each subdirectory is one account's configuration\n"
    );
    let output = accord()
        .args(["apply", "--accounts"])
        .arg(repo.accounts())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(64));
    assert!(
        repo.shown(&output.stderr).contains("--auto-approve"),
        "{}",
        repo.shown(&output.stderr)
    );
    // Nothing was applied: the changed account still has its change.
    let output = repo.single(&["plan", "--detailed-exitcode"], "changed", 2);
    assert!(
        repo.shown(&output.stdout)
            .contains("+ member.invite bea@changed.example")
    );
}
