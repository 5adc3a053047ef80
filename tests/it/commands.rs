//! `accord plan` and `accord export` through the real binary, against embedded stores
//! in temporary directories. Stores are seeded from test code with the library
//! (`SqliteStore::import_state`), so each test controls exactly what the backend holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord::backend::sqlite::SqliteStore;
use accord::backend::{Clock, SystemClock};
use accord::config::LoadOptions;
use accord::plan::{SavedPlan, config_digest};
use accord::state::{
    AccessLevel, AgreementState, Email, MemberState, MemberStatus, ProductState, State,
};
use accord::validate::validate;

use crate::common::{MINIMAL, TestConfig, accord};

/// The example configuration of the repository (three files).
fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme")
}

/// The desired state `path` compiles to (it must be valid).
fn desired_state(path: &Path) -> State {
    match validate(path, &LoadOptions::default()) {
        Ok(validated) => validated.desired.state,
        Err(diagnostics) => panic!("{} is invalid: {diagnostics:?}", path.display()),
    }
}

/// A temporary directory with a store path in it (the store is not created).
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A store holding `state` (backend-owned facts as the state says).
    fn holding(state: &State) -> Self {
        let store = Self::new();
        store.open().import_state(state).expect("seed the store");
        store
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    /// `sqlite:PATH`, for `--backend`.
    fn url(&self) -> String {
        format!("sqlite:{}", self.path().display())
    }

    fn open(&self) -> SqliteStore {
        SqliteStore::open(self.path(), Arc::new(SystemClock)).expect("open the store")
    }

    fn revision(&self) -> u64 {
        self.open().revision().expect("revision")
    }

    fn state(&self) -> State {
        self.open().fetch().expect("fetch").state
    }
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `accord ARGS` and returns its output, asserting the exit code.
fn run(args: &[&str], code: i32) -> std::process::Output {
    let output = accord().args(args).output().expect("run accord");
    assert_eq!(
        output.status.code(),
        Some(code),
        "accord {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        stdout_of(&output),
        stderr_of(&output)
    );
    output
}

/// `accord plan CONFIG --backend URL EXTRA...`, asserting the exit code.
fn plan(config: &Path, store: &Store, extra: &[&str], code: i32) -> std::process::Output {
    let config = config.to_str().expect("UTF-8 path");
    let url = store.url();
    let mut args = vec!["plan", config, "--backend", url.as_str()];
    args.extend_from_slice(extra);
    run(&args, code)
}

/// The 1-based line of the first line of `file` containing `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .expect("read")
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {}", file.display()))
        + 1
}

fn member(company: &str, role: &str) -> MemberState {
    MemberState {
        company: Some(company.into()),
        role: Some(role.into()),
        status: MemberStatus::Active,
        signed_in: true,
        ..MemberState::default()
    }
}

// --- plan -----------------------------------------------------------------------

#[test]
fn plan_on_a_fresh_store_prints_the_creation_plan() {
    let store = Store::new();
    let output = plan(&acme(), &store, &[], 0);
    let text = stdout_of(&output);
    assert!(
        text.starts_with(
            "Plan for account acme-eu (ACME Architects) (a new account: the backend takes this id on the first apply)"
        ),
        "{text}"
    );
    let desired = desired_state(&acme());
    let people = acme().join("people.yaml");
    let alice = line_of(&people, "email: alice.anders@acme.example");
    assert!(
        text.contains(&format!(
            "+ member.invite alice.anders@acme.example  ({}:{alice})",
            people.display()
        )) || text.contains(&format!(
            "+ member.invite alice.anders@acme.example  (people.yaml:{alice})"
        )),
        "{text}"
    );
    for op in [
        "+ company.create ACME Architects",
        "+ role.create BIM Manager",
        "+ agreement.create 110001234567",
        "+ seat.assign 110001234567/Revit/alice.anders@acme.example",
        "+ project.create ",
    ] {
        assert!(text.contains(op), "{op} missing:\n{text}");
    }
    // Everything is created, nothing changed or removed: the member on leave
    // (`status: inactive`) is added inactive, in one operation, with no invitation.
    let count = |sign: &str| text.lines().filter(|l| l.starts_with(sign)).count();
    let adds = count("  + ");
    assert!(adds > desired.members.len(), "{text}");
    assert!(
        text.contains(&format!("Plan: {adds} to add, 0 to change, 0 to remove.")),
        "{text}"
    );
    assert_eq!(count("  ~ "), 0, "{text}");
    assert_eq!(count("  - "), 0);
    let emma = text
        .split("\n\n")
        .find(|block| block.starts_with("member emma.larsen@acme.example"))
        .unwrap_or_else(|| panic!("no block for emma:\n{text}"));
    assert_eq!(emma.matches("member.").count(), 1, "{emma}");
    assert!(
        emma.contains("+ member.invite emma.larsen@acme.example"),
        "{emma}"
    );
    assert!(emma.contains("      status: inactive\n"), "{emma}");
    assert!(
        emma.contains("      invitation: none (added inactive"),
        "{emma}"
    );
    assert!(
        text.contains("      invitation: sent now\n"),
        "the others are invited now:\n{text}"
    );
    // A new account has no drift: everything in the plan is the configuration's.
    assert!(!text.contains("Drift"), "{text}");
    plan(&acme(), &store, &["--detailed-exitcode"], 2);
}

#[test]
fn the_first_apply_of_the_example_adds_the_member_on_leave_inactive_and_converges() {
    let store = applied_acme();
    let state = store.state();
    let emma = &state.members[&Email::new("emma.larsen@acme.example")];
    assert_eq!(emma.status, MemberStatus::Inactive);
    assert_eq!(emma.invited_at, None, "never invited");
    // The history records the converged apply, so later plans tell drift apart.
    let history = store.open().history().expect("history");
    assert_eq!(
        history.last().map(|e| e.op.as_str()),
        Some("account.applied"),
        "{history:?}"
    );
    let output = plan(&acme(), &store, &["--detailed-exitcode"], 0);
    assert_eq!(stdout_of(&output), "No changes.\n");
}

/// A copy of the example, with `edit` applied to `file`'s text.
fn acme_edited(file: &str, edit: impl Fn(String) -> String) -> TestConfig {
    let mut config = TestConfig::new();
    for entry in std::fs::read_dir(acme()).expect("examples/acme") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let mut text = std::fs::read_to_string(&path).expect("read");
        if name == file {
            let edited = edit(text.clone());
            assert_ne!(edited, text, "the edit changed nothing");
            text = edited;
        }
        config = config.file(&name, text);
    }
    config
}

/// `accord apply --auto-approve CONFIG` against `store`, which must converge.
fn apply(config: &Path, store: &Store) {
    let runs = tempfile::tempdir().expect("runs dir");
    let url = store.url();
    let args = [
        "apply",
        config.to_str().expect("UTF-8"),
        "--backend",
        &url,
        "--auto-approve",
        "--runs-dir",
        runs.path().to_str().expect("UTF-8"),
    ];
    run(&args, 0);
}

/// Applies the example to a fresh store, as the first CI apply does.
fn applied_acme() -> Store {
    let store = Store::new();
    apply(&acme(), &store);
    store
}

#[test]
fn a_reviewed_change_is_not_drift_and_a_change_made_live_since_the_last_apply_is() {
    let store = applied_acme();
    // The pull request: noah loses takeoff on Riverside School.
    let config = acme_edited("projects.yaml", |text| {
        text.replace(
            "noah.fischer@acme.example, access: member, products: [docs, cost, takeoff]",
            "noah.fischer@acme.example, access: member, products: [docs, cost]",
        )
    });
    let output = plan(config.path(), &store, &["--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ops: Vec<&str> = json["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o["target"].as_str().expect("target"))
        .collect();
    assert_eq!(ops, ["Riverside School/noah.fischer@acme.example"]);
    assert!(
        json.get("drift").is_none(),
        "a reviewed change is no drift: {json:#}"
    );
    let text = stdout_of(&plan(config.path(), &store, &[], 0));
    assert!(!text.contains("Drift"), "{text}");
    // Someone changes tom's products in the console: that is drift, with who.
    let tom = Email::new("tom.hughes@acme.example");
    let options = accord::backend::sqlite::WriteOptions {
        actor: Some("console".into()),
        if_revision: None,
    };
    let outcomes = store
        .open()
        .execute_with(
            &[accord::plan::Op::ProjectMemberUpdate {
                project: "Harbour Tower A".into(),
                email: tom,
                access: accord::state::ProjectAccess::Admin,
                products: [accord::state::ProjectProduct::Docs].into(),
            }],
            &options,
        )
        .expect("a console change");
    assert_eq!(outcomes, [accord::contract::Outcome::Done]);
    let output = plan(config.path(), &store, &["--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        json["operations"].as_array().map(Vec::len),
        Some(2),
        "{json:#}"
    );
    let drift = &json["drift"];
    assert!(drift["since"].is_i64(), "{drift:#}");
    let changed = drift["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1, "{drift:#}");
    assert_eq!(
        changed[0]["target"],
        "Harbour Tower A/tom.hughes@acme.example"
    );
    assert_eq!(changed[0]["last_change"]["actor"], "console");
    assert!(
        drift.get("missing").is_none() && drift.get("differs").is_none(),
        "{drift:#}"
    );
}

#[test]
fn renamed_from_renames_the_live_project_instead_of_creating_another() {
    let store = applied_acme();
    let projects = acme_edited("projects.yaml", |text| {
        text.replace(
            "  - name: Riverside School\n",
            "  - name: Riverside Academy\n    renamed_from: Riverside School\n",
        )
    });
    let output = plan(projects.path(), &store, &[], 0);
    let text = stdout_of(&output);
    assert!(
        text.contains("~ project.update Riverside Academy"),
        "{text}"
    );
    assert!(
        text.contains("      name: Riverside School -> Riverside Academy"),
        "{text}"
    );
    assert!(!text.contains("project.create"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to remove."),
        "{text}"
    );
    // Without renamed_from, the new name is a new project and the old one is listed.
    let renamed = acme_edited("projects.yaml", |text| {
        text.replace(
            "  - name: Riverside School\n",
            "  - name: Riverside Academy\n",
        )
    });
    let output = plan(renamed.path(), &store, &["--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let unmanaged = json["drift"]["unmanaged"].as_array().expect("unmanaged");
    assert!(
        unmanaged
            .iter()
            .any(|i| i["target"] == "Riverside School" && i["detail"] == "project not declared"),
        "{unmanaged:#?}"
    );
    let members = store.state().projects["Riverside School"].members.clone();
    apply(projects.path(), &store);
    let state = store.state();
    assert!(!state.projects.contains_key("Riverside School"));
    assert_eq!(state.projects["Riverside Academy"].members, members);
    assert_eq!(
        stdout_of(&plan(projects.path(), &store, &[], 0)),
        "No changes.\n"
    );
}

#[test]
fn plan_against_a_store_holding_the_configuration_has_no_changes() {
    let store = Store::holding(&desired_state(&acme()));
    let output = plan(&acme(), &store, &[], 0);
    assert_eq!(stdout_of(&output), "No changes.\n");
    let output = plan(&acme(), &store, &["--detailed-exitcode"], 0);
    assert_eq!(stdout_of(&output), "No changes.\n");
}

#[test]
fn plan_json_matches_the_schema_and_carries_op_target_batch_provenance() {
    let store = Store::new();
    let output = plan(&acme(), &store, &["--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json"),
        )
        .expect("schemas/plan.schema.json"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(json["account"]["id"], "acme-eu");
    assert_eq!(json["new_account"], true);
    let operations = json["operations"].as_array().expect("operations");
    assert!(!operations.is_empty());
    for operation in operations {
        for key in ["op", "target", "batch", "provenance"] {
            assert!(operation.get(key).is_some(), "{key} missing in {operation}");
        }
    }
    let invite = operations
        .iter()
        .find(|o| o["op"] == "member.invite" && o["target"] == "alice.anders@acme.example")
        .expect("alice is invited");
    let alice = line_of(
        &acme().join("people.yaml"),
        "email: alice.anders@acme.example",
    );
    let provenance = invite["provenance"].as_str().expect("a string");
    assert!(
        provenance.ends_with(&format!("people.yaml:{alice}")),
        "{provenance}"
    );
    assert!(invite["batch"].is_u64());
    // Batches are numbered in order, from 0 up to `batches - 1`.
    let batches: Vec<u64> = operations
        .iter()
        .map(|o| o["batch"].as_u64().unwrap())
        .collect();
    assert!(batches.windows(2).all(|w| w[0] <= w[1]), "{batches:?}");
    assert_eq!(
        batches.last().copied().map(|b| b + 1),
        json["batches"].as_u64()
    );
}

#[test]
fn plan_markdown_has_the_summary_table() {
    let store = Store::new();
    let output = plan(&acme(), &store, &["--format", "markdown"], 0);
    let text = stdout_of(&output);
    assert!(
        text.contains("| | to add | to change | to remove |\n|---|---:|---:|---:|\n"),
        "{text}"
    );
    assert!(text.contains("<details><summary>"), "{text}");
    assert!(
        text.contains("member.invite alice.anders@acme.example"),
        "{text}"
    );
}

#[test]
fn plan_out_saves_the_plan_with_the_revision_and_the_configuration_digest() {
    let store = Store::holding(&desired_state(&acme()));
    // One change, so the saved plan is not empty: bob leaves the AutoCAD seats.
    let mut current = store.state();
    current
        .agreements
        .get_mut("110001234567")
        .unwrap()
        .products
        .get_mut("AutoCAD")
        .unwrap()
        .assigned
        .remove(&Email::new("bob.berg@acme.example"));
    store.open().import_state(&current).expect("seed");
    let revision = store.revision();
    let out = store.dir.path().join("plan.json");
    let output = plan(
        &acme(),
        &store,
        &["--out", out.to_str().unwrap(), "--detailed-exitcode"],
        2,
    );
    assert!(
        stdout_of(&output).contains("+ seat.assign 110001234567/AutoCAD/bob.berg@acme.example"),
        "{}",
        stdout_of(&output)
    );
    let text = std::fs::read_to_string(&out).expect("the plan was saved");
    let saved = SavedPlan::from_json(&text).expect("a saved plan");
    assert_eq!(saved.backend_revision, revision);
    let mut files: Vec<PathBuf> = std::fs::read_dir(acme())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(saved.config_digest, config_digest(&files).unwrap());
    let ops: Vec<(&str, &str)> = saved
        .plan
        .operations
        .iter()
        .map(|o| (o.op.name(), o.target.as_str()))
        .collect();
    assert_eq!(
        ops,
        [("seat.assign", "110001234567/AutoCAD/bob.berg@acme.example")]
    );
    assert!(!saved.plan.new_account);
}

#[test]
fn plan_refuses_a_store_holding_another_account() {
    let mut state = desired_state(&acme());
    state.account.id = "acme-us".into();
    let store = Store::holding(&state);
    let output = plan(&acme(), &store, &["--detailed-exitcode"], 1);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("this configuration is for acme-eu but the backend holds acme-us"),
        "{stderr}"
    );
    assert!(
        !stdout_of(&output).contains("Plan:"),
        "{}",
        stdout_of(&output)
    );
}

/// A configuration that prunes, allowing `max_removals` removals (line 3), and a store
/// holding it plus `extra` undeclared members.
fn pruning(max_removals: u32, extra: usize) -> (TestConfig, Store) {
    let config = TestConfig::with(&MINIMAL.replacen(
        "companies:",
        &format!("settings:\n  prune: true\n  max_removals: {max_removals}\ncompanies:"),
        1,
    ));
    let mut state = desired_state(config.path());
    for i in 0..extra {
        state.members.insert(
            Email::new(&format!("extra{i}@acme.example")),
            member("ACME Architects", "Architect"),
        );
    }
    (config, Store::holding(&state))
}

#[test]
fn plan_refuses_more_removals_than_max_removals_with_exit_3() {
    let (config, store) = pruning(2, 3);
    let revision = store.revision();
    let output = plan(config.path(), &store, &["--detailed-exitcode"], 3);
    let stdout = stdout_of(&output);
    let file = config.join("accord.yaml");
    let line = line_of(&file, "max_removals:");
    assert_eq!(line, 4);
    assert!(
        stdout.contains(
            "error[R13]: this plan removes 3 members, more than settings.max_removals: 2 allows; nothing was changed"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}:{line}:", file.display())),
        "R13 cites settings.max_removals:\n{stdout}"
    );
    assert!(stdout.contains("--max-removals 3"), "{stdout}");
    assert!(
        stderr_of(&output).contains("refused"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(store.revision(), revision);
    assert_eq!(store.state().members.len(), 5);
}

#[test]
fn the_max_removals_flag_lets_the_removals_through() {
    let (config, store) = pruning(2, 3);
    let output = plan(
        config.path(),
        &store,
        &["--max-removals", "3", "--detailed-exitcode"],
        2,
    );
    let stdout = stdout_of(&output);
    for i in 0..3 {
        assert!(
            stdout.contains(&format!(
                "- member.remove extra{i}@acme.example  (not declared"
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("Plan: 0 to add, 0 to change, 3 to remove."),
        "{stdout}"
    );
    // A flag below the count is refused again, citing the flag.
    let output = plan(config.path(), &store, &["--max-removals", "1"], 3);
    assert!(
        stdout_of(&output).contains("more than --max-removals 1 allows"),
        "{}",
        stdout_of(&output)
    );
}

#[test]
fn plan_refuses_deactivating_the_contract_manager_of_an_undeclared_agreement_with_exit_3() {
    let config = TestConfig::with(&MINIMAL.replace(
        "{ email: bob@acme.example, company: ACME Architects, role: Architect }",
        "{ email: bob@acme.example, company: ACME Architects, role: Architect, status: inactive }",
    ));
    let mut state = desired_state(config.path());
    state
        .members
        .get_mut(&Email::new("bob@acme.example"))
        .unwrap()
        .status = MemberStatus::Active;
    let bob = Email::new("bob@acme.example");
    state.agreements.insert(
        "120000000001".into(),
        AgreementState {
            name: "Site Licences".into(),
            contract_manager: bob.clone(),
            software_coordinator: bob.clone(),
            products: [(
                "AutoCAD".to_owned(),
                ProductState {
                    seats: Some(1),
                    assigned: [bob].into(),
                },
            )]
            .into(),
            ..AgreementState::default()
        },
    );
    let store = Store::holding(&state);
    let revision = store.revision();
    let output = plan(config.path(), &store, &["--detailed-exitcode"], 3);
    let stdout = stdout_of(&output);
    let line = line_of(&config.join("accord.yaml"), "bob@acme.example");
    assert!(
        stdout.contains(
            "error[R11]: accord will not deactivate bob@acme.example: they are the contract manager of agreement 120000000001, which the configuration does not declare"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("accord.yaml:{line}:")),
        "R11 cites bob's declaration:\n{stdout}"
    );
    assert_eq!(store.revision(), revision);
}

#[test]
fn an_invalid_configuration_exits_1_without_contacting_the_backend() {
    let store = Store::new();
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/invalid/r04-seats-over-limit");
    let output = plan(&config, &store, &["--detailed-exitcode"], 1);
    assert!(
        stdout_of(&output).contains("error[R04]"),
        "{}",
        stdout_of(&output)
    );
    assert!(
        stderr_of(&output).contains("the configuration is invalid"),
        "{}",
        stderr_of(&output)
    );
    assert!(!store.path().exists(), "the store was created");
    assert!(!store.dir.path().join(".accord").exists());
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error_and_is_left_alone() {
    let store = Store::new();
    let junk = "this is a shopping list, not a database\n".repeat(200);
    std::fs::write(store.path(), &junk).unwrap();
    let output = plan(&acme(), &store, &[], 1);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "{} is not an accord store",
            store.path().display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("point --backend at another path"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), junk);
    let url = store.url();
    let output = run(&["export", "--backend", &url], 1);
    assert!(
        stderr_of(&output).contains("is not an accord store"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), junk);
}

#[test]
fn an_unknown_backend_scheme_is_a_clear_error() {
    let acme = acme();
    let output = run(
        &[
            "plan",
            acme.to_str().unwrap(),
            "--backend",
            "postgres://db/accord",
        ],
        1,
    );
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("unknown backend `postgres://db/accord`: use sqlite:PATH"),
        "{stderr}"
    );
    let output = accord()
        .args(["export"])
        .env("ACCORD_BACKEND", "state.db")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("unknown backend `state.db`"),
        "{}",
        stderr_of(&output)
    );
}

// --- export ---------------------------------------------------------------------

const SECTIONS: [&str; 7] = [
    "teams.yaml",
    "account.yaml",
    "companies.yaml",
    "roles.yaml",
    "members.yaml",
    "agreements.yaml",
    "projects.yaml",
];

fn export_to(store: &Store, out: &Path, extra: &[&str], code: i32) -> std::process::Output {
    let url = store.url();
    let mut args = vec![
        "export",
        "--backend",
        url.as_str(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, code)
}

#[test]
fn export_writes_one_file_per_section_which_validates_and_plans_no_change() {
    let store = Store::holding(&desired_state(&acme()));
    let out = store.dir.path().join("exported");
    let output = export_to(&store, &out, &[], 0);
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort_unstable();
    let mut expected: Vec<String> = SECTIONS.iter().map(|s| (*s).to_owned()).collect();
    expected.sort_unstable();
    assert_eq!(written, expected);
    for name in SECTIONS {
        assert!(
            stdout_of(&output).contains(&format!("wrote {}", out.join(name).display())),
            "{}",
            stdout_of(&output)
        );
    }
    let members = std::fs::read_to_string(out.join("members.yaml")).unwrap();
    assert!(
        members.starts_with("# yaml-language-server: $schema="),
        "the schema line first: {members}"
    );
    assert!(members.contains("\n# Exported by accord"), "{members}");
    let account = std::fs::read_to_string(out.join("account.yaml")).unwrap();
    assert!(account.contains("\nsettings:\n  prune: false"), "{account}");
    assert!(members.contains("\nmembers:\n"), "{members}");
    assert!(!members.contains("agreements:"), "{members}");
    let out_str = out.to_str().unwrap();
    run(&["validate", out_str], 0);
    let output = plan(&out, &store, &["--detailed-exitcode"], 0);
    assert_eq!(stdout_of(&output), "No changes.\n");
    // The exported files compile to the state the store holds, teams included.
    let acme_state = desired_state(&acme());
    assert!(!acme_state.teams.is_empty());
    assert_eq!(desired_state(&out), acme_state);
}

#[test]
fn export_never_overwrites_files_without_force() {
    let store = Store::holding(&desired_state(&acme()));
    let out = store.dir.path().join("exported");
    std::fs::create_dir_all(&out).unwrap();
    let mine = "# my own notes, not an export\n";
    std::fs::write(out.join("members.yaml"), mine).unwrap();
    let output = export_to(&store, &out, &[], 1);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "{} already exists: nothing was written; use --force to overwrite",
            out.join("members.yaml").display()
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("members.yaml")).unwrap(),
        mine
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing else was written");

    export_to(&store, &out, &["--force"], 0);
    let members = std::fs::read_to_string(out.join("members.yaml")).unwrap();
    assert!(members.contains("alice.anders@acme.example"), "{members}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), SECTIONS.len());
    run(&["validate", out.to_str().unwrap()], 0);
}

#[test]
fn export_of_a_fresh_store_is_a_clear_error() {
    let store = Store::new();
    drop(store.open()); // created, holding no account yet
    let out = store.dir.path().join("exported");
    let output = export_to(&store, &out, &[], 1);
    assert!(
        stderr_of(&output).contains("holds no account yet: there is nothing to export"),
        "{}",
        stderr_of(&output)
    );
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn export_of_a_missing_store_is_a_clear_error_and_creates_nothing() {
    let store = Store::new();
    let out = store.dir.path().join("exported");
    let output = export_to(&store, &out, &[], 1);
    assert!(
        stderr_of(&output).contains(&format!(
            "there is no store at {}: nothing to export",
            store.path().display()
        )),
        "{}",
        stderr_of(&output)
    );
    assert!(!store.path().exists(), "export created a store");
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn export_without_out_prints_one_document_that_validates() {
    let mut state = desired_state(&acme());
    // Backend-owned facts are not exported: a pending member is just a member.
    let pending = state
        .members
        .get_mut(&Email::new("bob.berg@acme.example"))
        .unwrap();
    pending.status = MemberStatus::Pending;
    // Invited an hour ago (by the system clock the binary reads): not expired yet.
    pending.invited_at = Some(SystemClock.now() - 3600);
    pending.access.insert(AccessLevel::Executive);
    let store = Store::holding(&state);
    let url = store.url();
    let output = run(&["export", "--backend", &url], 0);
    let text = stdout_of(&output);
    assert_eq!(text.matches("# Exported by accord").count(), 1, "{text}");
    for section in [
        "\naccount: ",
        "\ncompanies:\n",
        "\nroles:\n",
        "\nmembers:\n",
        "\nagreements:\n",
        "\nprojects:\n",
    ] {
        assert_eq!(text.matches(section).count(), 1, "{section} in:\n{text}");
    }
    let config = TestConfig::with(&text);
    let exported = config.valid().desired.state;
    let mut expected = state;
    let bob = expected
        .members
        .get_mut(&Email::new("bob.berg@acme.example"))
        .unwrap();
    bob.status = MemberStatus::Active;
    bob.invited_at = None;
    assert_eq!(exported, expected);
    let output = plan(config.path(), &store, &[], 0);
    assert_eq!(stdout_of(&output), "No changes.\n");
}

#[test]
fn an_apply_with_nothing_to_do_records_the_account_as_applied_once() {
    // An account already as configured, never applied by this accord (imported).
    let store = Store::holding(&desired_state(&acme()));
    let applied = |store: &Store| {
        store
            .open()
            .history()
            .expect("history")
            .iter()
            .filter(|e| e.op == "account.applied")
            .count()
    };
    assert_eq!(applied(&store), 0);
    apply(&acme(), &store);
    assert_eq!(applied(&store), 1, "the first converged apply records it");
    apply(&acme(), &store);
    assert_eq!(applied(&store), 1, "nothing changed since: not again");
}
