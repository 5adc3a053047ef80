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

    use accord::plan::drift::{self, Applied, LEFT_ALONE, LastChange, PROTECTED};
    use accord::plan::render;
    use accord::state::{AccessLevel, MemberStatus};

    use super::fixtures::*;

    /// One difference of each class: bob's company changed live (by `console` two
    /// days ago, after accord last applied), zed is live but undeclared with prune
    /// off, carol's invitation expired, and the protected it@ is undeclared; dana is
    /// declared but not invited yet, the configuration's own change (no drift).
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
        // accord last applied three days ago; since then the console changed bob
        // and added zed. Dana is the configuration's own change: not drift.
        let since = BTreeMap::from([
            (
                "bob@acme.example".to_owned(),
                LastChange {
                    op: "member.update".into(),
                    at: NOW - 2 * 24 * 3600,
                    actor: Some("console".into()),
                },
            ),
            (
                "zed@acme.example".to_owned(),
                LastChange {
                    op: "member.invite".into(),
                    at: NOW - 24 * 3600,
                    actor: Some("console".into()),
                },
            ),
        ]);
        let applied = Applied {
            revision: 7,
            at: NOW - 3 * 24 * 3600,
            since,
        };
        plan.drift = drift::classify(&plan, &current, &desired, Some(&applied));
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
        // Dana's invitation is what the configuration asks for, not drift.
        assert!(report.missing.is_empty(), "{:?}", report.missing);
        assert!(report.differs.is_empty(), "{:?}", report.differs);
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
/// against a local `accord serve`; and the recipes' calls of `accord-ci.sh` (the
/// comment, the verdict, the stale-plan check, the drift issue, the install), as
/// written, on what those lines left behind. A recipe whose commands stop working,
/// or whose comment stops saying what happened, fails here.
mod recipes {
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::Duration;

    /// The write token CI uses (audit name `ci`) and one for a person changing the
    /// account outside accord's review (`console`).
    const CI_TOKEN: &str = "ci-token-recipes";
    const CONSOLE_TOKEN: &str = "console-token-recipes";
    /// The marker the comment starts with, by which the recipes find it again.
    const MARKER: &str = "<!-- accord-plan -->";

    fn manifest_dir() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// The helper script the recipes call, as committed.
    fn helper_script() -> PathBuf {
        manifest_dir().join("examples/ci/accord-ci.sh")
    }

    fn recipe_text(recipe: &str) -> String {
        std::fs::read_to_string(manifest_dir().join("examples/ci").join(recipe))
            .expect("the recipe exists")
    }

    /// What `pick` takes from the lines of each job of a recipe, in file order. A
    /// job is a top-level key (GitLab) or, for GitHub Actions, a `jobs:` entry; a
    /// line is trimmed of its YAML list dash and `run: `.
    fn job_lines(
        recipe: &str,
        pick: impl Fn(&str) -> Option<String>,
    ) -> BTreeMap<String, Vec<String>> {
        let text = recipe_text(recipe);
        let github = recipe.contains('/');
        let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut job = String::new();
        for line in text.lines() {
            let key_indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            if (key_indent == 0 || (key_indent == 2 && github))
                && trimmed.ends_with(':')
                && !trimmed.contains(' ')
            {
                job = trimmed.trim_end_matches(':').to_owned();
                continue;
            }
            let command = trimmed.trim_start_matches("- ").trim_start_matches("run: ");
            if let Some(picked) = pick(command) {
                jobs.entry(job.clone()).or_default().push(picked);
            }
        }
        jobs
    }

    /// The lines starting with `accord` of each job of a recipe.
    fn accord_lines(recipe: &str) -> BTreeMap<String, Vec<String>> {
        job_lines(recipe, |line| {
            line.starts_with("accord ").then(|| line.to_owned())
        })
    }

    /// The calls of the helper script of each job of a recipe: `sh PATH/accord-ci.sh
    /// SUBCOMMAND ARGS [> FILE]`, cut where the shell around it goes on (`;`, `)`, `|`).
    fn helper_calls(recipe: &str) -> BTreeMap<String, Vec<String>> {
        job_lines(recipe, |line| {
            let end = line.find("accord-ci.sh ")? + "accord-ci.sh".len();
            let start = line[..end].rfind("sh ")?;
            let call = &line[start..];
            let call = call[..call.find([';', ')', '|']).unwrap_or(call.len())].trim();
            Some(call.to_owned())
        })
    }

    /// The call of `subcommand` among `calls`.
    fn call(calls: &[String], subcommand: &str) -> String {
        calls
            .iter()
            .find(|c| c.split_whitespace().nth(2) == Some(subcommand))
            .unwrap_or_else(|| panic!("no `accord-ci.sh {subcommand}` in {calls:?}"))
            .clone()
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

    /// The address of a backend that is not there: a loopback port just given up.
    fn unreachable_backend() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }

    /// What the pull-request job leaves: the exit codes, the comment, the verdict.
    #[derive(Debug)]
    struct Review {
        validate: i32,
        plan: String,
        comment: String,
        verdict_ok: bool,
        verdict: String,
    }

    /// A checkout of a configuration repository: `config/` holds examples/acme, and
    /// the helper script is where the recipe calls it.
    struct Checkout {
        dir: tempfile::TempDir,
    }

    impl Checkout {
        fn new(helper: &str) -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = dir.path().join("config");
            std::fs::create_dir(&config).expect("config/");
            let acme = manifest_dir().join("examples/acme");
            for entry in std::fs::read_dir(acme).expect("examples/acme") {
                let path = entry.expect("entry").path();
                std::fs::copy(&path, config.join(path.file_name().expect("name"))).expect("copy");
            }
            let script = dir.path().join(helper);
            std::fs::create_dir_all(script.parent().expect("dir")).expect("mkdir");
            std::fs::copy(helper_script(), script).expect("copy the helper");
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

        /// Runs one recipe line as CI would, against `backend` with `token`, with
        /// the variables `vars` set (the shell variables or step outputs it reads).
        fn run_as(&self, backend: &str, token: &str, line: &str, vars: &[(&str, &str)]) -> Output {
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
                .env("ACCORD_BACKEND", backend)
                .env("ACCORD_TOKEN", token)
                .env("ACCORD_COMMIT", "0123abc")
                .envs(vars.iter().copied())
                .stdin(Stdio::null())
                .output()
                .expect("sh")
        }

        fn run(&self, backend: &str, line: &str, vars: &[(&str, &str)]) -> Output {
            self.run_as(backend, CI_TOKEN, line, vars)
        }

        /// Runs `line` and checks its exit code.
        fn expect(&self, backend: &str, line: &str, code: i32) -> Output {
            let output = self.run(backend, line, &[]);
            assert_eq!(
                output.status.code(),
                Some(code),
                "`{line}`\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            output
        }

        /// Runs a helper call with `vars`; answers whether it exited 0, and its output.
        fn helper(&self, line: &str, vars: &[(&str, &str)]) -> (bool, String) {
            let output = self.run("unused", line, vars);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stderr.contains("usage:") && !stderr.contains("not found"),
                "`{line}`: {stderr}"
            );
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned() + &stderr,
            )
        }

        /// The pull-request job: validate, plan if valid, the comment and the verdict.
        fn review(&self, backend: &str, uses: &Uses) -> Review {
            let validate = self
                .run(backend, &uses.review[0], &[])
                .status
                .code()
                .expect("exit code");
            let plan = if validate == 0 {
                let code = self.run(backend, &uses.review[1], &[]).status.code();
                code.expect("exit code").to_string()
            } else {
                "-".to_owned()
            };
            let vars = [("validate", &validate.to_string()[..]), ("plan", &plan[..])];
            let (ok, _) = self.helper(&uses.comment, &vars);
            assert!(ok, "the comment was not written");
            let (verdict_ok, verdict) = self.helper(&uses.verdict, &vars);
            Review {
                validate,
                plan,
                comment: self.read("comment.md"),
                verdict_ok,
                verdict,
            }
        }

        /// Someone changes the account outside the reviewed flow (with the
        /// `console` token): Alice's first name becomes Alicia.
        /// Someone changes alice's first name through the service's API with their
        /// own token (as a console would): no accord apply records it as applied.
        fn change_live_account(&self, server: &Server, _helper: &str) {
            use accord::backend::Backend as _;
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async {
                let backend =
                    accord::backend::http::HttpBackend::connect(&server.url, CONSOLE_TOKEN)
                        .await
                        .expect("the service");
                let alice = accord::state::Email::new("alice.anders@acme.example");
                let live = backend.fetch().await.expect("fetch").state.members[&alice].clone();
                let record = accord::plan::MemberRecord {
                    first_name: Some("Alicia".into()),
                    last_name: live.last_name,
                    company: live.company,
                    role: live.role,
                    access: live.access,
                    external_subscriptions: live.external_subscriptions,
                };
                let outcomes = backend
                    .execute(&[accord::plan::Op::MemberUpdate {
                        email: alice,
                        record,
                    }])
                    .await
                    .expect("a change by hand");
                assert_eq!(outcomes, [accord::contract::Outcome::Done]);
            });
        }
    }

    /// The commands of the three uses, as a recipe gives them.
    struct Uses {
        /// Where the recipe keeps accord-ci.sh.
        helper: String,
        review: Vec<String>,
        comment: String,
        verdict: String,
        install: String,
        apply: String,
        replan: String,
        stale: String,
        drift_check: String,
        drift_repair: String,
        drift_issue: String,
    }

    impl Uses {
        fn new(review: Vec<String>, apply: &[String], drift: &[String], calls: &[String]) -> Self {
            assert_eq!(review.len(), 2, "validate then plan: {review:?}");
            assert!(review[0].starts_with("accord validate"), "{review:?}");
            assert!(
                review[1].contains("--format markdown")
                    && review[1].contains("--out plan.json")
                    && review[1].contains("--detailed-exitcode"),
                "{review:?}"
            );
            let [apply, replan] = apply else {
                panic!("apply, then plan again on a stale plan: {apply:?}")
            };
            assert!(
                apply.contains("--plan plan.json") && apply.contains("--auto-approve"),
                "{apply}"
            );
            assert!(
                replan.starts_with("accord plan") && replan.contains("--out plan.json"),
                "{replan}"
            );
            let [drift_check, drift_repair] = drift else {
                panic!("check, then repair: {drift:?}")
            };
            assert!(drift_check.contains("--detailed-exitcode"), "{drift_check}");
            assert!(drift_repair.starts_with("accord apply"), "{drift_repair}");
            let install = call(calls, "install");
            let helper = install.split_whitespace().nth(1).expect("path").to_owned();
            assert!(
                calls.iter().all(|c| c.contains(&helper)),
                "one place for the helper: {calls:?}"
            );
            Self {
                helper,
                review,
                comment: call(calls, "comment"),
                verdict: call(calls, "verdict"),
                install,
                apply: apply.clone(),
                replan: replan.clone(),
                stale: call(calls, "stale"),
                drift_check: drift_check.clone(),
                drift_repair: drift_repair.clone(),
                drift_issue: call(calls, "drift"),
            }
        }
    }

    fn github_actions() -> Uses {
        let mut calls = Vec::new();
        for recipe in ["pull-request.yml", "apply.yml", "drift.yml"] {
            let recipe = format!("github-actions/{recipe}");
            calls.extend(helper_calls(&recipe).into_values().flatten());
        }
        let mut drift = accord_lines("github-actions/drift.yml");
        let mut check = drift.remove("drift").expect("job drift");
        check.extend(drift.remove("repair").expect("job repair"));
        Uses::new(
            accord_lines("github-actions/pull-request.yml")
                .remove("plan")
                .expect("job plan"),
            &accord_lines("github-actions/apply.yml")
                .remove("apply")
                .expect("job apply"),
            &check,
            &calls,
        )
    }

    fn gitlab() -> Uses {
        let mut jobs = accord_lines("gitlab-ci.yml");
        let calls: Vec<String> = helper_calls("gitlab-ci.yml")
            .into_values()
            .flatten()
            .collect();
        Uses::new(
            jobs.remove("accord-plan").expect("accord-plan"),
            &jobs.remove("accord-apply").expect("accord-apply"),
            &jobs.remove("accord-drift").expect("accord-drift"),
            &calls,
        )
    }

    /// The review, merge and nightly uses, in the order a team meets them, and the
    /// ways each goes wrong.
    fn exercise(uses: &Uses) {
        let server = Server::start();
        let url = &server.url;
        let repo = Checkout::new(&uses.helper);

        // Pull request: valid, changes to review; the plan saved.
        let review = repo.review(url, uses);
        assert_eq!((review.validate, &review.plan[..]), (0, "2"), "{review:#?}");
        assert!(
            review
                .comment
                .starts_with(&format!("{MARKER}\n**Changes to review")),
            "{review:#?}"
        );
        assert!(review.comment.contains("### accord plan for `acme-eu`"));
        assert!(review.comment.contains("commit `0123abc`"), "{review:#?}");
        assert!(review.verdict_ok, "{review:#?}");
        assert!(repo.read("plan.json").contains("\"config_digest\""));

        // Merge: the reviewed plan is applied; that is not a stale plan.
        repo.expect(url, &uses.apply, 0);
        assert!(!repo.helper(&uses.stale, &[("code", "0")]).0);
        // Nightly: no drift, no issue.
        repo.expect(url, &uses.drift_check, 0);
        assert!(!repo.helper(&uses.drift_issue, &[("code", "0")]).0);

        // Someone changes the account by hand: drift, with who, in one issue.
        repo.change_live_account(&server, &uses.helper);
        repo.expect(url, &uses.drift_check, 2);
        let report = repo.read("drift.md");
        assert!(report.contains("Changed in the live account"), "{report}");
        assert!(report.contains("alice.anders@acme.example"), "{report}");
        assert!(report.contains("by console at "), "{report}");
        assert!(repo.helper(&uses.drift_issue, &[("code", "2")]).0);
        let issue = repo.read("issue.md");
        assert!(
            issue.starts_with("**The live account has drifted from the configuration.**"),
            "{issue}"
        );
        assert!(issue.contains("alice.anders@acme.example"), "{issue}");
        assert!(issue.contains("closed by the first"), "{issue}");
        // Choice 2: repair; then there is no drift left.
        repo.expect(url, &uses.drift_repair, 0);
        repo.expect(url, &uses.drift_check, 0);

        // A reviewed plan goes stale when the account changes before the merge: the
        // apply refuses it, the recipe sees why, plans again, and that plan applies.
        repo.edit_people("first_name: Marco", "first_name: Marc");
        let review = repo.review(url, uses);
        assert_eq!((review.validate, &review.plan[..]), (0, "2"), "{review:#?}");
        repo.change_live_account(&server, &uses.helper);
        repo.expect(url, &uses.apply, 1);
        let why = repo.read("apply.err");
        assert!(why.contains("changed since this plan was made"), "{why}");
        assert!(repo.helper(&uses.stale, &[("code", "1")]).0, "{why}");
        repo.expect(url, &uses.replan, 2);
        assert!(repo.read("plan.md").contains("first_name: Marco -> Marc"));
        repo.expect(url, &uses.apply, 0);

        // Four people are added by hand; with prune off they are only reported...
        let other = Checkout::new(&uses.helper);
        let mut people = other.read("config/people.yaml");
        for n in 1..=4 {
            people.push_str(&format!(
                "  - {{ email: temp{n}@acme.example, company: ACME Architects, role: Architect }}\n"
            ));
        }
        std::fs::write(other.path("config/people.yaml"), people).expect("write");
        let added = other.run_as(
            url,
            CONSOLE_TOKEN,
            "accord apply --auto-approve config/",
            &[],
        );
        assert_eq!(added.status.code(), Some(0), "{added:?}");
        repo.edit_people("first_name: Marc", "first_name: Marco");
        repo.expect(url, &uses.drift_check, 0);
        let report = repo.read("drift.md");
        assert!(
            report.contains("Live but not declared (unmanaged) | 4 |"),
            "{report}"
        );
        assert!(report.contains("`temp1@acme.example`"), "{report}");

        // ...and with prune on, removing all four is refused by R13 (max_removals: 3):
        // the review fails with exit 3, the comment says so and shows why.
        repo.edit_people("prune: false", "prune: true");
        let review = repo.review(url, uses);
        assert_eq!((review.validate, &review.plan[..]), (0, "3"), "{review:#?}");
        assert!(
            review
                .comment
                .starts_with(&format!("{MARKER}\n**Refused by a safety rule")),
            "{review:#?}"
        );
        assert!(review.comment.contains("R13"), "{review:#?}");
        assert!(!review.verdict_ok, "{review:#?}");
        assert!(review.verdict.starts_with("Refused by a safety rule"));
        // The nightly check reports the refused repair in the issue.
        repo.expect(url, &uses.drift_check, 3);
        assert!(repo.helper(&uses.drift_issue, &[("code", "3")]).0);
        assert!(repo.read("issue.md").contains("refused by a safety rule"));

        // Prune off again: no changes, said as such; the plan may be merged.
        repo.edit_people("prune: true", "prune: false");
        let review = repo.review(url, uses);
        assert_eq!((review.validate, &review.plan[..]), (0, "0"), "{review:#?}");
        assert!(
            review
                .comment
                .starts_with(&format!("{MARKER}\n**No changes")),
            "{review:#?}"
        );
        assert!(review.verdict_ok, "{review:#?}");

        // The backend cannot be reached: the comment says it is the backend, with
        // accord's error; the job fails; the apply's failure is not a stale plan.
        let down = unreachable_backend();
        let review = repo.review(&down, uses);
        assert_eq!((review.validate, &review.plan[..]), (0, "1"), "{review:#?}");
        assert!(
            review
                .comment
                .starts_with(&format!("{MARKER}\n**Backend error")),
            "{review:#?}"
        );
        assert!(review.comment.contains(&down), "{review:#?}");
        assert!(review.comment.contains("is `accord serve` running"));
        assert!(!review.comment.contains("accord plan for"), "{review:#?}");
        assert!(!review.verdict_ok && review.verdict.starts_with("Backend error"));
        repo.expect(&down, &uses.apply, 1);
        assert!(!repo.helper(&uses.stale, &[("code", "1")]).0);

        // An invalid configuration: the comment shows the problems, not a plan (nor
        // the earlier one), and the job fails.
        repo.edit_people("account: { id: acme-eu", "account: { idd: acme-eu");
        let review = repo.review(url, uses);
        assert_eq!((review.validate, &review.plan[..]), (1, "-"), "{review:#?}");
        assert!(
            review
                .comment
                .starts_with(&format!("{MARKER}\n**The configuration is invalid")),
            "{review:#?}"
        );
        assert!(review.comment.contains("people.yaml:"), "{review:#?}");
        assert!(!review.comment.contains("accord plan for"), "{review:#?}");
        assert!(!review.verdict_ok && review.verdict.starts_with("The configuration is invalid"));
    }

    #[test]
    fn github_actions_recipes_review_apply_and_repair_drift() {
        exercise(&github_actions());
    }

    #[test]
    fn gitlab_recipe_reviews_applies_and_repairs_drift() {
        exercise(&gitlab());
    }

    #[test]
    fn apply_and_drift_repair_share_one_concurrency_group() {
        let apply = recipe_text("github-actions/apply.yml");
        assert!(
            apply.contains("concurrency:\n  group: accord-account\n  cancel-in-progress: false\n"),
            "{apply}"
        );
        assert!(apply.contains("  workflow_dispatch:\n"));
        let drift = recipe_text("github-actions/drift.yml");
        let repair = &drift[drift.find("\n  repair:\n").expect("job repair")..];
        assert!(
            repair.contains(
                "concurrency:\n      group: accord-account\n      cancel-in-progress: false\n"
            ),
            "{repair}"
        );
        let review = recipe_text("github-actions/pull-request.yml");
        assert!(review.contains("  merge_group:\n"), "the merge queue");
        let gitlab = recipe_text("gitlab-ci.yml");
        assert_eq!(
            gitlab.matches("  resource_group: accord-account").count(),
            2,
            "apply and drift"
        );
        assert!(!gitlab.contains("curl -f"), "every curl with --location");
        assert!(gitlab.contains("--location"));
    }

    #[test]
    fn recipes_install_this_version() {
        let version = format!("ACCORD_VERSION: \"{}\"", env!("CARGO_PKG_VERSION"));
        for recipe in [
            "github-actions/pull-request.yml",
            "github-actions/apply.yml",
            "github-actions/drift.yml",
            "gitlab-ci.yml",
        ] {
            assert!(
                recipe_text(recipe).contains(&version),
                "{recipe}: {version}"
            );
        }
    }

    /// Runs the helper script in `dir` with `args` and `vars`.
    fn helper_in(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
        Command::new("sh")
            .arg(helper_script())
            .args(args)
            .current_dir(dir)
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("sh")
    }

    #[test]
    fn store_token_hands_the_new_refresh_token_to_gh_on_stdin_and_removes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        let got = dir.path().join("gh-got");
        // A stand-in for gh: records its arguments and what it read on stdin.
        std::fs::write(
            bin.join("gh"),
            format!(
                "#!/bin/sh\necho \"$@\" > '{0}.args'\ncat > '{0}'\n",
                got.display()
            ),
        )
        .expect("write");
        let chmod = Command::new("chmod")
            .arg("755")
            .arg(bin.join("gh"))
            .status()
            .expect("chmod");
        assert!(chmod.success());
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let token_file = dir.path().join("refresh-token");
        let token_path = token_file.to_str().expect("UTF-8");
        let vars = [
            ("PATH", &path[..]),
            ("ACCORD_REFRESH_TOKEN_FILE", token_path),
        ];
        // No refresh happened: nothing to store, and gh is not called.
        let nothing = helper_in(dir.path(), &["store-token", "github"], &vars);
        assert!(nothing.status.success(), "{nothing:?}");
        assert!(String::from_utf8_lossy(&nothing.stdout).contains("no new refresh token"));
        assert!(!got.exists(), "gh was not called");
        std::fs::write(&token_file, "rt-new-0123456789").expect("write");
        let stored = helper_in(dir.path(), &["store-token", "github"], &vars);
        let said = String::from_utf8_lossy(&stored.stdout).into_owned();
        assert!(stored.status.success(), "{stored:?}");
        assert_eq!(
            std::fs::read_to_string(&got).expect("gh ran"),
            "rt-new-0123456789"
        );
        let args = std::fs::read_to_string(dir.path().join("gh-got.args")).expect("args");
        assert_eq!(
            args.trim(),
            "secret set APS_REFRESH_TOKEN",
            "the token is not an argument"
        );
        assert!(!said.contains("rt-new"), "never printed: {said}");
        assert!(!token_file.exists(), "the file is removed once stored");
    }

    #[test]
    fn a_usage_error_is_said_as_such_and_fails_the_review() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("plan.err"),
            "error: invalid value 'markdwn' for '--format <FORMAT>'\n",
        )
        .expect("write");
        // 64, and an older accord's 2 with no plan printed.
        for plan in ["64", "2"] {
            std::fs::write(dir.path().join("plan.md"), "").expect("write");
            let comment = helper_in(dir.path(), &["comment", "0", plan], &[]);
            let text = String::from_utf8(comment.stdout).expect("UTF-8");
            assert!(
                text.starts_with(&format!("{MARKER}\n**Usage error")),
                "{text}"
            );
            assert!(text.contains("markdwn"), "{text}");
            let verdict = helper_in(dir.path(), &["verdict", "0", plan], &[]);
            assert_eq!(verdict.status.code(), Some(1), "{verdict:?}");
        }
        let verdict = helper_in(dir.path(), &["verdict", "64", "-"], &[]);
        assert_eq!(verdict.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&verdict.stdout).starts_with("Usage error"));
        let explain = helper_in(dir.path(), &["explain", "apply", "64"], &[]);
        assert!(String::from_utf8_lossy(&explain.stdout).contains("usage error"));
    }

    #[test]
    fn a_long_plan_is_cut_to_fit_a_comment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut plan = String::from("### accord plan\n\n<details><summary>all</summary>\n\n");
        for n in 0..1000 {
            plan.push_str(&format!("| `member{n}@acme.example` | member.invite |\n"));
        }
        plan.push_str("</details>\n");
        std::fs::write(dir.path().join("plan.md"), plan).expect("write");
        let output = helper_in(
            dir.path(),
            &["comment", "0", "2"],
            &[("ACCORD_COMMENT_MAX", "2000")],
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(text.len() < 2600, "{} bytes", text.len());
        assert!(text.contains("member0@"), "{text}");
        assert!(!text.contains("member999@"), "{text}");
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count(),
            "{text}"
        );
        assert!(text.contains("cut here"), "{text}");
    }

    /// A release of this version for this machine in `dir` (as the release workflow
    /// lays it out), holding the accord under test; its SHA256SUMS, right or not.
    fn fake_release(dir: &Path, right_checksum: bool) -> Option<String> {
        let target = match (std::env::consts::OS, std::env::consts::ARCH) {
            ("linux", "x86_64") => "x86_64-unknown-linux-musl",
            ("linux", "aarch64") => "aarch64-unknown-linux-musl",
            ("macos", "x86_64") => "x86_64-apple-darwin",
            ("macos", "aarch64") => "aarch64-apple-darwin",
            _ => return None,
        };
        let version = env!("CARGO_PKG_VERSION");
        let name = format!("accord-v{version}-{target}");
        let release = dir.join(format!("v{version}"));
        std::fs::create_dir_all(release.join(&name)).expect("mkdir");
        std::fs::copy(
            assert_cmd::cargo::cargo_bin("accord"),
            release.join(&name).join("accord"),
        )
        .expect("copy");
        let archive = format!("{name}.tar.gz");
        let status = Command::new("tar")
            .args(["-czf", &archive, &name])
            .current_dir(&release)
            .status()
            .expect("tar");
        assert!(status.success());
        let bytes = std::fs::read(release.join(&archive)).expect("archive");
        use sha2::Digest;
        let mut digest = hex::encode(sha2::Sha256::digest(&bytes));
        if !right_checksum {
            digest = digest.replace(|c: char| c != '0', "0");
        }
        std::fs::write(
            release.join("SHA256SUMS"),
            format!("{digest}  {archive}\n{digest}  accord-ci.sh\n"),
        )
        .expect("SHA256SUMS");
        Some(format!("file://{}", dir.display()))
    }

    #[test]
    fn install_checks_the_checksum_of_the_release_it_downloads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let releases = dir.path().join("releases");
        let Some(url) = fake_release(&releases, true) else {
            return; // no release is built for this platform
        };
        let uses = github_actions();
        let repo = Checkout::new(&uses.helper);
        let home = dir.path().join("home");
        let vars = [
            ("ACCORD_VERSION", env!("CARGO_PKG_VERSION")),
            ("HOME", home.to_str().expect("UTF-8")),
            ("CI_PROJECT_DIR", home.to_str().expect("UTF-8")),
            ("ACCORD_RELEASES", &url[..]),
        ];
        let (ok, said) = repo.helper(&uses.install, &vars);
        assert!(ok, "{said}");
        assert!(said.contains("checksum verified"), "{said}");
        let version = format!("accord {}", env!("CARGO_PKG_VERSION"));
        let installed = Command::new(home.join(".accord/bin/accord"))
            .arg("--version")
            .output()
            .expect("the installed accord runs");
        assert_eq!(String::from_utf8_lossy(&installed.stdout).trim(), version);
        // Again: the cached one is kept.
        let (ok, said) = repo.helper(&uses.install, &vars);
        assert!(ok && said.contains("(cached)"), "{said}");

        // A checksum that does not match installs nothing, and builds nothing instead.
        let bad = dir.path().join("bad");
        let url = fake_release(&bad, false).expect("a release");
        let gitlab = gitlab();
        let repo = Checkout::new(&gitlab.helper);
        let project = dir.path().join("project");
        let vars = [
            ("ACCORD_VERSION", env!("CARGO_PKG_VERSION")),
            ("CI_PROJECT_DIR", project.to_str().expect("UTF-8")),
            ("ACCORD_RELEASES", &url[..]),
        ];
        let (ok, said) = repo.helper(&gitlab.install, &vars);
        assert!(!ok, "{said}");
        assert!(said.contains("does not match"), "{said}");
        assert!(!project.join(".accord-tool/bin/accord").exists());
    }

    #[test]
    fn install_builds_with_cargo_when_there_is_no_release_binary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let uses = github_actions();
        let repo = Checkout::new(&uses.helper);
        let home = dir.path().join("home");
        let empty = format!("file://{}", dir.path().join("no-releases").display());
        // A stand-in for cargo: records its arguments, installs the accord under test.
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        let log = dir.path().join("cargo-args");
        std::fs::write(
            bin.join("cargo"),
            format!(
                "#!/bin/sh\necho \"$@\" > '{}'\nmkdir -p \"$4/bin\"\ncp '{}' \"$4/bin/accord\"\n",
                log.display(),
                assert_cmd::cargo::cargo_bin("accord").display()
            ),
        )
        .expect("write");
        let chmod = Command::new("chmod")
            .args(["755"])
            .arg(bin.join("cargo"))
            .status()
            .expect("chmod");
        assert!(chmod.success());
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let vars = [
            ("ACCORD_VERSION", env!("CARGO_PKG_VERSION")),
            ("HOME", home.to_str().expect("UTF-8")),
            ("ACCORD_RELEASES", &empty[..]),
            ("PATH", &path[..]),
        ];
        let (ok, said) = repo.helper(&uses.install, &vars);
        assert!(ok, "{said}");
        assert!(said.contains("no release binary"), "{said}");
        assert_eq!(
            std::fs::read_to_string(&log).expect("cargo ran").trim(),
            format!(
                "install --locked --root {} --version {} accord-cli",
                home.join(".accord").display(),
                env!("CARGO_PKG_VERSION")
            )
        );
        // No release and no cargo: says what to do.
        let other = dir.path().join("other");
        let vars = [
            ("ACCORD_VERSION", env!("CARGO_PKG_VERSION")),
            ("HOME", other.to_str().expect("UTF-8")),
            ("ACCORD_RELEASES", &empty[..]),
            ("PATH", "/usr/bin:/bin"),
        ];
        let (ok, said) = repo.helper(&uses.install, &vars);
        assert!(!ok && said.contains("no cargo"), "{said}");
    }

    /// A stand-in for GitLab's notes API of merge request 3 of project 7: `pages`
    /// pages of notes (the marked one, if any, on the last), the first behind a
    /// redirect. Answers the requests it got, once `expected` have come.
    fn fake_gitlab(
        pages: usize,
        marked: bool,
        expected: usize,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for stream in listener.incoming().take(expected) {
                let mut stream = stream.expect("connection");
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                reader.read_line(&mut request).expect("request line");
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).expect("header");
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().expect("length");
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                let mut parts = request.split_whitespace();
                let (method, target) =
                    (parts.next().expect("method"), parts.next().expect("target"));
                seen.push(format!(
                    "{method} {target} {}",
                    String::from_utf8_lossy(&body)
                ));
                let page: usize = target
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("page="))
                    .map_or(0, |p| p.parse().expect("page"));
                let response = if method == "GET" && page == 1 && !target.starts_with("/moved") {
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: /moved{target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                } else if method == "GET" {
                    let notes: Vec<String> = (0..100)
                        .map(|n| {
                            let id = page * 1000 + n;
                            if marked && page == pages && n == 50 {
                                format!(r#"{{"id":{id},"body":"{MARKER}\nold plan"}}"#)
                            } else {
                                format!(r#"{{"id":{id},"body":"a review note"}}"#)
                            }
                        })
                        .collect();
                    let body = format!("[{}]", notes.join(","));
                    let next = if page < pages {
                        (page + 1).to_string()
                    } else {
                        String::new()
                    };
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Next-Page: {next}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_owned()
                };
                stream.write_all(response.as_bytes()).expect("answer");
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn the_gitlab_note_is_found_on_any_page_and_updated() {
        let uses = gitlab();
        let repo = Checkout::new(&uses.helper);
        let note = job_lines("gitlab-ci.yml", |line| {
            line.starts_with("sh ").then(|| line.to_owned())
        })
        .remove("accord-plan")
        .expect("accord-plan")
        .into_iter()
        .find(|line| line.contains("gitlab-note"))
        .expect("the note is posted");
        std::fs::write(
            repo.path("comment.md"),
            format!("{MARKER}\n**No changes**\n"),
        )
        .expect("write");
        // Three pages, the marked note on the third: the redirect, three pages, one PUT.
        let (url, server) = fake_gitlab(3, true, 5);
        let api = format!("{url}/api/v4");
        let vars = [
            ("CI_API_V4_URL", &api[..]),
            ("CI_PROJECT_ID", "7"),
            ("CI_MERGE_REQUEST_IID", "3"),
            ("GITLAB_API_TOKEN", "glpat-test"),
        ];
        let (ok, said) = repo.helper(&note, &vars);
        assert!(ok, "{said}");
        let seen = server.join().expect("server");
        assert_eq!(seen.len(), 5, "{seen:#?}");
        assert!(
            seen[1].starts_with(
                "GET /moved/api/v4/projects/7/merge_requests/3/notes?per_page=100&page=1"
            ),
            "{seen:#?}"
        );
        assert!(seen[3].contains("page=3"), "{seen:#?}");
        assert!(
            seen[4].starts_with("PUT /api/v4/projects/7/merge_requests/3/notes/3050 "),
            "{seen:#?}"
        );
        assert!(
            seen[4].contains(r#"{"body":"<!-- accord-plan -->\n**No changes**\n"}"#),
            "{seen:#?}"
        );

        // No marked note on any page: a new one.
        let (url, server) = fake_gitlab(2, false, 4);
        let api = format!("{url}/api/v4");
        let vars = [
            ("CI_API_V4_URL", &api[..]),
            ("CI_PROJECT_ID", "7"),
            ("CI_MERGE_REQUEST_IID", "3"),
            ("GITLAB_API_TOKEN", "glpat-test"),
        ];
        let (ok, said) = repo.helper(&note, &vars);
        assert!(ok, "{said}");
        let seen = server.join().expect("server");
        assert!(
            seen[3].starts_with("POST /api/v4/projects/7/merge_requests/3/notes "),
            "{seen:#?}"
        );
    }

    // --- many accounts: one job per account ---------------------------------------

    /// A repository of two accounts (`config/accounts/acme-eu`, `nord.bau`), each
    /// with a store of its own under `stores/`.
    fn accounts_repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, id) in [("acme-eu", "acme-eu"), ("nord.bau", "nordbau")] {
            let config = dir.path().join("config/accounts").join(name);
            std::fs::create_dir_all(&config).expect("mkdir");
            std::fs::write(
                config.join("accord.yaml"),
                format!(
                    "account: {{ id: {id}, name: {id} }}\ncompanies: [{{ name: Firm }}]\nroles: [{{ name: Admin, default_access: [account_admin] }}]\nmembers:\n  - {{ email: admin@{id}.example, company: Firm, role: Admin }}\n"
                ),
            )
            .expect("write");
        }
        std::fs::create_dir_all(dir.path().join("config/accounts/.hidden")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("stores")).expect("mkdir");
        dir
    }

    /// Runs a recipe line in `dir` for `account` on its own store, as its matrix job.
    fn run_for(dir: &Path, account: &str, line: &str, vars: &[(&str, &str)]) -> Output {
        let bin = assert_cmd::cargo::cargo_bin("accord");
        let path = format!(
            "{}:{}",
            bin.parent().expect("bin dir").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let store = format!("sqlite:{}/stores/{account}.db", dir.display());
        Command::new("sh")
            .args(["-c", line])
            .current_dir(dir)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("ACCOUNT", account)
            .env("ACCORD_BACKEND", store)
            .env_remove("ACCORD_TOKEN")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("sh")
    }

    #[test]
    fn the_accounts_recipe_is_a_bounded_matrix_that_does_not_fail_fast() {
        let recipe = recipe_text("github-actions/accounts.yml");
        for needle in [
            "account: ${{ fromJSON(needs.accounts.outputs.matrix) }}",
            "ACCORD_BACKEND: ${{ secrets[matrix.account.variable] }}",
            "group: accord-account-${{ matrix.account.name }}",
            "ACCORD_VERSION: \"0.1.0\"",
        ] {
            assert!(recipe.contains(needle), "{needle}");
        }
        // Both matrix jobs: no fail-fast, at most 4 accounts at once.
        assert_eq!(recipe.matches("\n      fail-fast: false\n").count(), 2);
        assert_eq!(recipe.matches("\n      max-parallel: 4\n").count(), 2);
        let gitlab = recipe_text("gitlab-ci.yml");
        assert!(gitlab.contains("resource_group: accord-slot-$SLOT"));
        assert!(gitlab.contains("- { SLOT: \"1\", ACCOUNT: [acme-eu, acme-uk] }"));
    }

    #[test]
    fn the_helper_lists_the_accounts_as_a_matrix_and_names_their_backends() {
        let dir = accounts_repository();
        let output = helper_in(dir.path(), &["accounts", "config/accounts"], &[]);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "[{\"name\": \"acme-eu\", \"variable\": \"ACCORD_BACKEND_ACME_EU\"}, {\"name\": \"nord.bau\", \"variable\": \"ACCORD_BACKEND_NORD_BAU\"}]\n"
        );
        let matrix: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(matrix.as_array().expect("list").len(), 2);
        let output = helper_in(
            dir.path(),
            &["backend", "nord.bau"],
            &[("ACCORD_BACKEND_NORD_BAU", "sqlite:x.db")],
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout), "sqlite:x.db\n");
        let output = helper_in(dir.path(), &["backend", "acme-eu"], &[]);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "accord-ci.sh: no backend for account acme-eu: set the CI/CD variable ACCORD_BACKEND_ACME_EU\n"
        );
        let output = helper_in(dir.path(), &["accounts", "stores"], &[]);
        assert_eq!(output.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&output.stderr).contains("stores holds no account"));
    }

    /// The GitHub and GitLab matrix jobs' accord lines, run for each account the
    /// helper lists: plan (changes), apply (converged), plan again (no changes).
    #[test]
    fn each_accounts_job_plans_and_applies_its_own_account() {
        let github = accord_lines("github-actions/accounts.yml");
        let gitlab = accord_lines("gitlab-ci.yml");
        for (plan, apply) in [
            (&github["plan"], &github["apply"]),
            (
                &gitlab["accord-accounts-plan"],
                &gitlab["accord-accounts-apply"],
            ),
        ] {
            let [plan] = &plan[..] else {
                panic!("{plan:?}")
            };
            let [apply] = &apply[..] else {
                panic!("{apply:?}")
            };
            let dir = accounts_repository();
            let listed = helper_in(dir.path(), &["accounts", "config/accounts"], &[]);
            let matrix: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
            for account in matrix.as_array().expect("list") {
                let name = account["name"].as_str().expect("name");
                let code = |line: &str| run_for(dir.path(), name, line, &[]).status.code();
                assert_eq!(code(plan), Some(2), "{name}: {plan}");
                let md = std::fs::read_to_string(dir.path().join("plan.md")).expect("plan.md");
                assert!(md.contains("### accord plan for"), "{md}");
                assert_eq!(code(apply), Some(0), "{name}: {apply}");
                assert_eq!(code(plan), Some(0), "{name}: converged");
                assert!(
                    dir.path().join("runs").join(name).is_dir(),
                    "its own journal"
                );
            }
        }
        // The GitLab job names its backend through the helper, as written.
        let calls = helper_calls("gitlab-ci.yml");
        assert!(
            calls["accord-accounts-plan"]
                .iter()
                .any(|c| c == "sh .gitlab/accord-ci.sh backend \"$ACCOUNT\""),
            "{calls:?}"
        );
    }
}

/// The drift report against the embedded store: who and when come from its history
/// (a write without the service records no actor, so only when and what). A change
/// the configuration made and accord applied is no drift; one made in the store since
/// is.
#[test]
fn drift_against_sqlite_says_when_from_the_store_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("state.db");
    let backend = format!("sqlite:{}", db.display());
    let acme = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/acme");
    let changed = dir.path().join("changed");
    std::fs::create_dir(&changed).expect("dir");
    for name in [
        "people.yaml",
        "agreements.yaml",
        "projects.yaml",
        "teams.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{acme}/{name}")).expect("read");
        let text = text.replacen("first_name: Alice", "first_name: Alicia", 1);
        std::fs::write(changed.join(name), text).expect("write");
    }
    let runs = dir.path().join("runs");
    let plan_json = |config: &Path, code: i32| -> serde_json::Value {
        let output = accord()
            .args([
                "plan",
                "--format",
                "json",
                "--detailed-exitcode",
                "--backend",
                &backend,
            ])
            .arg(config)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    accord()
        .args([
            "apply",
            "--auto-approve",
            "--backend",
            &backend,
            "--runs-dir",
        ])
        .arg(&runs)
        .arg(acme)
        .assert()
        .code(0);
    // The pull request renames Alice: a reviewed change, not drift.
    let plan = plan_json(&changed, 2);
    assert!(plan.get("drift").is_none(), "{plan:#}");
    // Someone changes her name in the store itself, after accord applied: drift.
    let mut store = accord::backend::sqlite::SqliteStore::open(
        &db,
        std::sync::Arc::new(accord::backend::SystemClock),
    )
    .expect("store");
    let alice = accord::state::Email::new("alice.anders@acme.example");
    let live = store.fetch().expect("fetch").state.members[&alice].clone();
    let record = accord::plan::MemberRecord {
        first_name: Some("Alicia".into()),
        last_name: live.last_name,
        company: live.company,
        role: live.role,
        access: live.access,
        external_subscriptions: live.external_subscriptions,
    };
    store
        .execute(&[accord::plan::Op::MemberUpdate {
            email: alice,
            record,
        }])
        .expect("a change outside accord");
    drop(store);
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
