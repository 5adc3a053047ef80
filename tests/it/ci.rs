//! Using accord in CI: shell completions, `--help` examples, `--version`.

use std::path::Path;

use predicates::prelude::*;

use crate::common::accord;

/// Every command `accord --help` lists.
const COMMANDS: [&str; 7] = [
    "validate",
    "plan",
    "apply",
    "export",
    "schema",
    "serve",
    "completions",
];

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef accord"),
        ("fish", "complete -c accord"),
    ] {
        let output = accord()
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(script.contains(marker), "{shell} script lacks `{marker}`");
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} script lacks {command}");
        }
        assert!(
            script.contains("detailed-exitcode"),
            "{shell} script lacks plan's flags"
        );
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    accord()
        .args(["completions", "tcsh"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("tcsh"));
}

#[test]
fn every_command_help_has_an_example_that_runs_that_command() {
    for command in COMMANDS {
        let output = accord().args([command, "--help"]).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{command} --help");
        let help = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(
            help.contains("Example"),
            "`accord {command} --help` has no example:\n{help}"
        );
        assert!(
            help.contains(&format!("  accord {command}")),
            "`accord {command} --help` has no example of itself:\n{help}"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    accord()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(format!("accord {}\n", env!("CARGO_PKG_VERSION")));
}

// The plan tests' fixtures, shared by path rather than copied (`plan::fixtures` is
// private to the plan tests): a second copy of the module, of which the drift tests
// use only some functions.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "plan/fixtures.rs"]
mod fixtures;

/// The drift report (`src/plan/drift.rs`) on states built in code, in all three formats.
mod drift {
    use std::collections::BTreeMap;

    use accord::plan::drift::{self, LEFT_ALONE, LastChange, PROTECTED};
    use accord::plan::render;
    use accord::state::{AccessLevel, MemberStatus};

    use super::fixtures::*;

    /// One difference of each class: bob's company changed live (by `console` two
    /// days ago), zed is live but undeclared with prune off, dana is declared but
    /// not invited, carol's invitation expired, and the protected it@ is undeclared.
    fn drifted() -> accord::plan::Plan {
        let mut current = account();
        current
            .members
            .insert(email("zed@acme.example"), architect());
        current
            .members
            .get_mut(&email("bob@acme.example"))
            .expect("bob")
            .company = Some("Elsewhere Ltd".into());
        let carol = current
            .members
            .get_mut(&email("carol@acme.example"))
            .expect("carol");
        carol.status = MemberStatus::Pending;
        carol.signed_in = false;
        carol.invited_at = Some(NOW - 10 * 24 * 3600);

        current
            .members
            .insert(email("it@acme.example"), architect());

        let mut wanted = account();
        wanted.members.insert(
            email("dana@acme.example"),
            member("ACME", "Architect", &[AccessLevel::Executive]),
        );
        let mut desired = desired(&wanted);
        desired.protected.insert(email("it@acme.example"));
        let mut plan = plan(&current, &desired);
        plan.drift = drift::classify(&plan, &current, &desired);
        let audit = BTreeMap::from([(
            "bob@acme.example".to_owned(),
            LastChange {
                op: "member.update".into(),
                at: NOW - 2 * 24 * 3600,
                actor: Some("console".into()),
            },
        )]);
        plan.drift.attach(&audit);
        plan
    }

    #[test]
    fn each_class_holds_its_difference() {
        let report = drifted().drift;
        let targets = |items: &[drift::DriftItem]| -> Vec<String> {
            items.iter().map(|i| i.target.clone()).collect()
        };
        assert_eq!(targets(&report.changed), ["bob@acme.example"]);
        assert_eq!(
            report.changed[0]
                .last_change
                .as_ref()
                .map(|c| c.actor.clone()),
            Some(Some("console".to_owned()))
        );
        assert_eq!(
            targets(&report.unmanaged),
            ["it@acme.example", "zed@acme.example"]
        );
        assert_eq!(report.unmanaged[0].repair, PROTECTED);
        assert_eq!(report.unmanaged[1].repair, LEFT_ALONE);
        assert_eq!(targets(&report.missing), ["dana@acme.example"]);
        assert_eq!(targets(&report.expired_invitations), ["carol@acme.example"]);
    }

    #[test]
    fn drift_text() {
        insta::assert_snapshot!("drift_text", render::text(&drifted(), false));
    }

    #[test]
    fn drift_markdown() {
        insta::assert_snapshot!("drift_markdown", render::markdown(&drifted()));
    }

    #[test]
    fn drift_json_follows_the_plan_schema() {
        let json = render::json(&drifted());
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/plan.schema.json"
        ))
        .expect("schema");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let validator = jsonschema::validator_for(&schema).expect("valid schema");
        let instance: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(instance["drift"]["changed"].is_array());
        insta::assert_snapshot!("drift_json", json);
    }
}

/// The CI recipes of `examples/ci/`, run the way CI runs them: the lines of each
/// job that start with `accord`, in order, through `sh -c` (so redirections work),
/// against a local `accord serve`. A recipe whose commands stop working fails here.
mod recipes {
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::Duration;

    /// The write token CI uses (audit name `ci`) and one for a person changing the
    /// account outside accord's review (`console`).
    const CI_TOKEN: &str = "ci-token-recipes";
    const CONSOLE_TOKEN: &str = "console-token-recipes";

    /// The lines starting with `accord` of each job of a recipe, in file order. A
    /// job is a top-level key (GitLab) or, for GitHub Actions, a `jobs:` entry.
    fn accord_lines(recipe: &str) -> BTreeMap<String, Vec<String>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/ci")
            .join(recipe);
        let text = std::fs::read_to_string(&path).expect("the recipe exists");
        let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut job = String::new();
        for line in text.lines() {
            let key_indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            if (key_indent == 0
                || (key_indent == 2 && recipe.ends_with(".yml") && recipe.contains('/')))
                && trimmed.ends_with(':')
                && !trimmed.contains(' ')
            {
                job = trimmed.trim_end_matches(':').to_owned();
                continue;
            }
            let command = trimmed.trim_start_matches("- ").trim_start_matches("run: ");
            if command.starts_with("accord ") {
                jobs.entry(job.clone())
                    .or_default()
                    .push(command.to_owned());
            }
        }
        jobs
    }

    /// A running `accord serve` on 127.0.0.1:0; killed when dropped.
    struct Server {
        child: Child,
        url: String,
        _dir: tempfile::TempDir,
    }

    impl Server {
        fn start() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let tokens = dir.path().join("tokens");
            std::fs::write(
                &tokens,
                format!("write {CI_TOKEN} ci\nwrite {CONSOLE_TOKEN} console\n"),
            )
            .expect("tokens");
            let mut child = Command::new(assert_cmd::cargo::cargo_bin("accord"))
                .args(["serve", "--listen", "127.0.0.1:0", "--db"])
                .arg(dir.path().join("state.db"))
                .arg("--tokens")
                .arg(&tokens)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn accord serve");
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let _ = tx.send(line);
                let mut rest = String::new();
                while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                    rest.clear();
                }
            });
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("accord serve printed its address");
            let url = line
                .trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
                .to_owned();
            Self {
                child,
                url,
                _dir: dir,
            }
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A checkout of a configuration repository: `config/` holds examples/acme.
    struct Checkout {
        dir: tempfile::TempDir,
    }

    impl Checkout {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = dir.path().join("config");
            std::fs::create_dir(&config).expect("config/");
            let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
            for entry in std::fs::read_dir(acme).expect("examples/acme") {
                let path = entry.expect("entry").path();
                std::fs::copy(&path, config.join(path.file_name().expect("name"))).expect("copy");
            }
            Self { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
        }

        /// Replaces `from` by `to` in `config/people.yaml`.
        fn edit_people(&self, from: &str, to: &str) {
            let path = self.path("config/people.yaml");
            let text = std::fs::read_to_string(&path).expect("people.yaml");
            assert!(text.contains(from), "people.yaml lacks {from}");
            std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        }

        /// Runs one recipe line as CI would, with `token`.
        fn sh(&self, server: &Server, token: &str, line: &str) -> Output {
            let bin = assert_cmd::cargo::cargo_bin("accord");
            let path = format!(
                "{}:{}",
                bin.parent().expect("bin dir").display(),
                std::env::var("PATH").unwrap_or_default()
            );
            Command::new("sh")
                .args(["-c", line])
                .current_dir(self.dir.path())
                .env("PATH", path)
                .env("NO_COLOR", "1")
                .env("ACCORD_BACKEND", &server.url)
                .env("ACCORD_TOKEN", token)
                .stdin(Stdio::null())
                .output()
                .expect("sh")
        }

        /// Runs `line` and checks its exit code.
        fn expect(&self, server: &Server, line: &str, code: i32) -> Output {
            let output = self.sh(server, CI_TOKEN, line);
            assert_eq!(
                output.status.code(),
                Some(code),
                "`{line}`\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            output
        }

        /// Someone changes the account outside the reviewed flow (with the
        /// `console` token): Alice's first name becomes Alicia.
        fn change_live_account(&self, server: &Server) {
            let other = Self::new();
            other.edit_people("first_name: Alice", "first_name: Alicia");
            let output = other.sh(server, CONSOLE_TOKEN, "accord apply --auto-approve config/");
            assert_eq!(output.status.code(), Some(0), "{output:?}");
        }
    }

    /// The commands of the three uses, as a recipe gives them.
    struct Uses {
        review: Vec<String>,
        apply: Vec<String>,
        drift_check: String,
        drift_repair: String,
    }

    fn github_actions() -> Uses {
        let review = accord_lines("github-actions/pull-request.yml")
            .remove("plan")
            .expect("job plan");
        let apply = accord_lines("github-actions/apply.yml")
            .remove("apply")
            .expect("job apply");
        let drift = accord_lines("github-actions/drift.yml")
            .remove("drift")
            .expect("job drift");
        assert_eq!(drift.len(), 2, "{drift:?}");
        Uses {
            review,
            apply,
            drift_check: drift[0].clone(),
            drift_repair: drift[1].clone(),
        }
    }

    fn gitlab() -> Uses {
        let mut jobs = accord_lines("gitlab-ci.yml");
        let mut review = jobs.remove("accord-validate").expect("accord-validate");
        review.extend(jobs.remove("accord-plan").expect("accord-plan"));
        let drift = jobs.remove("accord-drift").expect("accord-drift");
        assert_eq!(drift.len(), 2, "{drift:?}");
        Uses {
            review,
            apply: jobs.remove("accord-apply").expect("accord-apply"),
            drift_check: drift[0].clone(),
            drift_repair: drift[1].clone(),
        }
    }

    /// The review, merge and nightly uses, in the order a team meets them.
    fn exercise(uses: &Uses) {
        assert_eq!(
            uses.review.len(),
            2,
            "validate then plan: {:?}",
            uses.review
        );
        assert!(uses.review[0].starts_with("accord validate"));
        assert!(
            uses.review[1].contains("--format markdown")
                && uses.review[1].contains("--out plan.json")
        );
        assert!(
            uses.apply
                .iter()
                .all(|l| l.contains("--plan plan.json") && l.contains("--auto-approve"))
        );
        assert!(uses.drift_check.contains("--detailed-exitcode"));
        let server = Server::start();
        let repo = Checkout::new();

        // Pull request: validate, plan as markdown, the plan saved.
        for line in &uses.review {
            repo.expect(&server, line, 0);
        }
        assert!(
            repo.read("plan.md")
                .contains("### accord plan for `acme-eu`")
        );
        assert!(repo.read("plan.json").contains("\"config_digest\""));

        // Merge: the reviewed plan is applied.
        for line in &uses.apply {
            repo.expect(&server, line, 0);
        }
        // Nightly: no drift.
        repo.expect(&server, &uses.drift_check, 0);

        // Someone changes the account by hand: drift, with who.
        repo.change_live_account(&server);
        repo.expect(&server, &uses.drift_check, 2);
        let report = repo.read("drift.md");
        assert!(report.contains("Changed in the live account"), "{report}");
        assert!(report.contains("alice.anders@acme.example"), "{report}");
        assert!(report.contains("by console at "), "{report}");
        // Choice 2: repair; then there is no drift left.
        repo.expect(&server, &uses.drift_repair, 0);
        repo.expect(&server, &uses.drift_check, 0);

        // A reviewed plan goes stale when the account changes before the merge.
        repo.edit_people("first_name: Marco", "first_name: Marc");
        for line in &uses.review {
            repo.expect(&server, line, 0);
        }
        repo.change_live_account(&server);
        for line in &uses.apply {
            let output = repo.expect(&server, line, 1);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("changed since this plan was made"),
                "{stderr}"
            );
        }

        // Four people are added by hand; with prune off they are only reported...
        let other = Checkout::new();
        let mut people = other.read("config/people.yaml");
        for n in 1..=4 {
            people.push_str(&format!(
                "  - {{ email: temp{n}@acme.example, company: ACME Architects, role: Architect }}\n"
            ));
        }
        std::fs::write(other.path("config/people.yaml"), people).expect("write");
        let added = other.sh(
            &server,
            CONSOLE_TOKEN,
            "accord apply --auto-approve config/",
        );
        assert_eq!(added.status.code(), Some(0), "{added:?}");
        repo.edit_people("first_name: Marc", "first_name: Marco");
        repo.expect(&server, &uses.drift_check, 0);
        let report = repo.read("drift.md");
        assert!(
            report.contains("Live but not declared (unmanaged) | 4 |"),
            "{report}"
        );
        assert!(report.contains("`temp1@acme.example`"), "{report}");
        // ...and with prune on, removing all four is refused by R13 (max_removals: 3):
        // the review fails with exit 3, and the markdown says why.
        repo.edit_people("prune: false", "prune: true");
        repo.expect(&server, &uses.review[0], 0);
        repo.expect(&server, &uses.review[1], 3);
        assert!(
            repo.read("plan.md").contains("R13"),
            "{}",
            repo.read("plan.md")
        );

        // An invalid configuration fails the review at validate.
        repo.edit_people("account: { id: acme-eu", "account: { idd: acme-eu");
        let output = repo.expect(&server, &uses.review[0], 1);
        assert!(String::from_utf8_lossy(&output.stdout).contains("people.yaml:"));
    }

    #[test]
    fn github_actions_recipes_review_apply_and_repair_drift() {
        exercise(&github_actions());
    }

    #[test]
    fn gitlab_recipe_reviews_applies_and_repairs_drift() {
        exercise(&gitlab());
    }
}

/// The drift report against the embedded store: who and when come from its history
/// (a local apply records no actor, so only when and what).
#[test]
fn drift_against_sqlite_says_when_from_the_store_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = format!("sqlite:{}", dir.path().join("state.db").display());
    let acme = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/acme");
    let changed = dir.path().join("changed");
    std::fs::create_dir(&changed).expect("dir");
    for name in ["people.yaml", "agreements.yaml", "projects.yaml"] {
        let text = std::fs::read_to_string(format!("{acme}/{name}")).expect("read");
        let text = text.replacen("first_name: Alice", "first_name: Alicia", 1);
        std::fs::write(changed.join(name), text).expect("write");
    }
    let runs = dir.path().join("runs");
    for config in [Path::new(acme), changed.as_path()] {
        accord()
            .args([
                "apply",
                "--auto-approve",
                "--backend",
                &backend,
                "--runs-dir",
            ])
            .arg(&runs)
            .arg(config)
            .assert()
            .code(0);
    }
    let output = accord()
        .args([
            "plan",
            "--format",
            "json",
            "--detailed-exitcode",
            "--backend",
            &backend,
            acme,
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let changed = &plan["drift"]["changed"];
    assert_eq!(changed.as_array().map(Vec::len), Some(1), "{plan:#}");
    assert_eq!(changed[0]["target"], "alice.anders@acme.example");
    assert_eq!(changed[0]["detail"], "first_name: Alicia -> Alice");
    assert_eq!(changed[0]["last_change"]["op"], "member.update");
    assert!(changed[0]["last_change"]["actor"].is_null(), "{plan:#}");
    assert!(
        changed[0]["last_change"]["at"]
            .as_i64()
            .is_some_and(|at| at > 0)
    );
}
