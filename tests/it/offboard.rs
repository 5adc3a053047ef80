//! `accord offboard`, end to end through the binary, on copies of examples/acme and
//! on small configurations: the exact edits, what they keep, the refusals, and the
//! plan the edited configuration makes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{MINIMAL, TestConfig, accord};

/// examples/acme, copied file by file into a new configuration directory.
fn acme() -> TestConfig {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    let mut names: Vec<_> = std::fs::read_dir(&source)
        .expect("examples/acme")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    names.sort();
    names.into_iter().fold(TestConfig::new(), |config, name| {
        let text = std::fs::read(source.join(&name)).expect("read");
        config.file(&name.to_string_lossy(), text)
    })
}

/// Every file of the directory, by name, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).expect("read"))
        })
        .collect()
}

/// `accord offboard ARGS` run in `dir` on the configuration `.`: (exit code, stdout, stderr).
fn offboard(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = accord()
        .current_dir(dir)
        .arg("offboard")
        .args(args)
        .output()
        .expect("run");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

/// The comments of `text` (from `#` to the end of each line), in order.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            line.find(" #")
                .map(|at| line[at..].trim())
                .or_else(|| line.trim_start().starts_with('#').then(|| line.trim()))
        })
        .collect()
}

fn validates(dir: &Path) {
    accord()
        .args(["validate", &dir.display().to_string()])
        .assert()
        .success();
}

#[test]
fn deactivating_dana_edits_only_her_lines_in_four_files() {
    let config = acme();
    let before = snapshot(config.path());
    let (code, diff, stderr) = offboard(config.path(), &["dana.dekker@acme.example", "."]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("offboard_dana_diff", diff);
    assert_eq!(
        stderr,
        "\
./agreements.yaml:19: off the Revit seats of agreement 110001234567
./agreements.yaml:41: off cloud service Generative Design of agreement 110001234567
./teams.yaml:24: off the AutoCAD seats of team 100001
./teams.yaml:28: off the Revit seats of team 100001
./projects.yaml:12: off project Harbour Tower A
./people.yaml:82: dana.dekker@acme.example deactivated (status: inactive)
offboarded dana.dekker@acme.example: 4 files changed; run `accord plan` to see what the account frees
",
    );
    let after = snapshot(config.path());
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &before {
        let (old, new) = (
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&after[name]),
        );
        assert_eq!(comments(&old), comments(&new), "{name}: comments kept");
        assert!(!new.contains("dana.dekker@acme.example\n") || name == "people.yaml");
    }
    validates(config.path());
}

#[test]
fn the_plan_after_offboarding_deactivates_the_person_with_what_it_frees() {
    let config = acme();
    let db = config.path().join("state.db");
    let backend = format!("sqlite:{}", db.display());
    accord()
        .current_dir(config.path())
        .args(["apply", ".", "--backend", &backend, "--auto-approve"])
        .assert()
        .success();
    let (code, _, stderr) = offboard(config.path(), &["Dana.Dekker@ACME.example"]);
    assert_eq!(code, 0, "{stderr}");
    let output = accord()
        .current_dir(config.path())
        .args(["plan", ".", "--backend", &backend, "--format", "json"])
        .output()
        .expect("plan");
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let operations = plan["operations"].as_array().expect("operations");
    let summary: Vec<(String, String)> = operations
        .iter()
        .map(|op| {
            (
                op["op"].as_str().unwrap_or_default().to_owned(),
                op["target"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(
            "member.deactivate".to_owned(),
            "dana.dekker@acme.example".to_owned()
        )],
        "{plan:#}"
    );
    let consequences: Vec<&str> = operations[0]["consequences"]
        .as_array()
        .expect("consequences")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    insta::assert_debug_snapshot!("offboard_dana_plan_consequences", consequences);
}

#[test]
fn a_contract_manager_without_a_successor_is_refused_naming_the_agreements() {
    let config = acme();
    let before = snapshot(config.path());
    let (code, diff, stderr) = offboard(config.path(), &["tom.hughes@acme.example"]);
    assert_eq!(code, 1);
    assert_eq!(diff, "");
    assert_eq!(
        stderr,
        "error: tom.hughes@acme.example holds roles someone must always hold: contract manager of agreement 110009876543 (Construction Cloud); name who takes them over with --transfer-to EMAIL; nothing was changed\n"
    );
    let (code, _, stderr) = offboard(config.path(), &["alice.anders@acme.example"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("software coordinator of agreement 110001234567 (AEC Collection)"),
        "{stderr}"
    );
    assert_eq!(snapshot(config.path()), before);
}

#[test]
fn the_successor_takes_over_the_contract_manager_and_the_coordinator_follows() {
    let config = acme();
    let (code, diff, stderr) = offboard(
        config.path(),
        &[
            "tom.hughes@acme.example",
            "--transfer-to",
            "priya.nair@acme.example",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        diff.contains(
            "-    contract_manager: tom.hughes@acme.example\n+    contract_manager: priya.nair@acme.example\n"
        ),
        "{diff}"
    );
    assert!(
        stderr.contains(
            "./agreements.yaml:51: contract manager of agreement 110009876543 (Construction Cloud): tom.hughes@acme.example -> priya.nair@acme.example\n"
        ),
        "{stderr}"
    );
    validates(config.path());
    let text = std::fs::read_to_string(config.join("agreements.yaml")).expect("read");
    assert!(!text.contains("tom.hughes"), "{text}");
}

#[test]
fn dry_run_prints_the_diff_and_leaves_every_byte() {
    let config = acme();
    let before = snapshot(config.path());
    let (code, diff, stderr) = offboard(
        config.path(),
        &["--dry-run", "jonas.meier@acme.example", "."],
    );
    assert_eq!(code, 0, "{stderr}");
    // Jonas is the last item of a flow list: `, jonas` goes with its comma.
    assert!(
        diff.contains(
            "-        assigned: [felix.wagner@acme.example, jonas.meier@acme.example]\n+        assigned: [felix.wagner@acme.example]\n"
        ),
        "{diff}"
    );
    assert!(
        stderr.ends_with("dry run: 4 files would change; nothing was written\n"),
        "{stderr}"
    );
    assert_eq!(snapshot(config.path()), before);

    // The diff is the one the command makes, in a form `git apply` takes.
    let patch = config.join("offboard.patch");
    std::fs::write(&patch, &diff).expect("write patch");
    let applied = std::process::Command::new("git")
        .current_dir(config.path())
        .args(["apply", "offboard.patch"])
        .output()
        .expect("git is needed for this test");
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    std::fs::remove_file(&patch).expect("remove patch");
    let patched = snapshot(config.path());
    let edited = acme();
    let (code, _, stderr) = offboard(edited.path(), &["jonas.meier@acme.example", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(patched, snapshot(edited.path()));
    assert_ne!(patched, before);
}

#[test]
fn an_unknown_email_is_an_error_with_a_suggestion_and_nothing_changes() {
    let config = acme();
    let before = snapshot(config.path());
    let (code, diff, stderr) = offboard(config.path(), &["dana.dekkr@acme.example"]);
    assert_eq!((code, diff.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "error: `dana.dekkr@acme.example` is not a member declared in the configuration (did you mean `dana.dekker@acme.example`?); nothing was changed\n"
    );
    let (code, _, stderr) = offboard(config.path(), &["nobody@elsewhere.example"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: `nobody@elsewhere.example` is not a member declared in the configuration; the member must be declared under `members`; nothing was changed\n"
    );
    assert_eq!(snapshot(config.path()), before);
}

#[test]
fn the_successor_must_be_an_active_declared_member_other_than_the_person() {
    let config = acme();
    let before = snapshot(config.path());
    let marco = "marco.rossi@acme.example";
    let (code, _, stderr) = offboard(
        config.path(),
        &[marco, "--transfer-to", "emma.larsen@acme.example"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: --transfer-to: emma.larsen@acme.example is inactive and cannot take over roles (R07): name an active member; nothing was changed\n"
    );
    let (code, _, stderr) = offboard(
        config.path(),
        &[marco, "--transfer-to", "alice.anders@acme.exampl"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: --transfer-to: `alice.anders@acme.exampl` is not a member declared in the configuration (did you mean `alice.anders@acme.example`?); nothing was changed\n"
    );
    let (code, _, stderr) = offboard(
        config.path(),
        &[marco, "--transfer-to", "MARCO.rossi@acme.example"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("names marco.rossi@acme.example, the person who leaves"),
        "{stderr}"
    );
    assert_eq!(snapshot(config.path()), before);
}

#[test]
fn lists_left_empty_become_empty_lists_block_or_flow() {
    let yaml = "\
account: { id: acme-eu, name: ACME }
roles:
  - { name: BIM Manager, default_access: [account_admin] }
groups:
  - name: solo
    members:          # just Bob
      - bob@acme.example
members:
  - { email: alice@acme.example, role: BIM Manager }
  - email: bob@acme.example   # Bob
    first_name: Bob
agreements:
  - number: \"1\"
    name: A
    contract_manager: alice@acme.example
    products:
      - { name: Revit, seats: 2, assigned: [bob@acme.example] }
    support: ['bob@acme.example']
";
    let config = TestConfig::with(yaml);
    let (code, _, stderr) = offboard(config.path(), &["bob@acme.example"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(config.join("accord.yaml")).expect("read"),
        "\
account: { id: acme-eu, name: ACME }
roles:
  - { name: BIM Manager, default_access: [account_admin] }
groups:
  - name: solo
    members: []          # just Bob
members:
  - { email: alice@acme.example, role: BIM Manager }
  - email: bob@acme.example   # Bob
    first_name: Bob
    status: inactive
agreements:
  - number: \"1\"
    name: A
    contract_manager: alice@acme.example
    products:
      - { name: Revit, seats: 2, assigned: [] }
    support: []
"
    );
    validates(config.path());
}

#[test]
fn the_last_account_admin_is_handed_to_the_successor() {
    let config = TestConfig::with(MINIMAL);
    let before = snapshot(config.path());
    let (code, _, stderr) = offboard(config.path(), &["alice@acme.example"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("the last account admin (R10)"), "{stderr}");
    assert_eq!(snapshot(config.path()), before);
    let (code, diff, stderr) = offboard(
        config.path(),
        &["alice@acme.example", "--transfer-to", "bob@acme.example"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        diff.contains(
            "+  - { email: alice@acme.example, company: ACME Architects, role: BIM Manager, status: inactive }\n"
        ) && diff.contains(
            "+  - { email: bob@acme.example, company: ACME Architects, role: Architect, access: [account_admin] }\n"
        ),
        "{diff}"
    );
    validates(config.path());
}

#[test]
fn remove_takes_the_entry_out_and_says_the_live_account_keeps_them_without_prune() {
    let config = TestConfig::with(MINIMAL);
    let (code, diff, stderr) = offboard(config.path(), &["bob@acme.example", "--remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        diff.contains(
            "-  - { email: bob@acme.example, company: ACME Architects, role: Architect }\n"
        ),
        "{diff}"
    );
    assert!(
        stderr.contains("note: `settings.prune` is not true: the plan frees what bob@acme.example held but leaves them in the live account"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(config.join("accord.yaml")).expect("read");
    assert!(!text.contains("bob"), "{text}");
    validates(config.path());
}

#[test]
fn a_protected_member_is_refused() {
    let yaml = format!("{MINIMAL}settings: {{ protected: [Bob@acme.example] }}\n");
    let config = TestConfig::with(&yaml);
    let before = snapshot(config.path());
    let (code, _, stderr) = offboard(config.path(), &["bob@acme.example"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is listed in `settings.protected` (R12)"),
        "{stderr}"
    );
    assert_eq!(snapshot(config.path()), before);
}

#[test]
fn a_person_in_several_files_is_taken_off_each_and_permissions_are_kept() {
    let config = TestConfig::new()
        .file("a.yaml", MINIMAL)
        .file(
            "b.yaml",
            "groups:\n  - { name: g, members: [bob@acme.example, alice@acme.example] }\n",
        )
        .file(
            "c.yaml",
            "projects:\n  - name: P\n    members:\n      - { email: bob@acme.example, access: member }\n      - { group: g, access: member }\n",
        );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            config.join("b.yaml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .expect("chmod");
    }
    let (code, diff, stderr) = offboard(config.path(), &["bob@acme.example"]);
    assert_eq!(code, 0, "{stderr}");
    for file in ["a.yaml", "b.yaml", "c.yaml"] {
        assert!(diff.contains(&format!("+++ b/{file}\n")), "{diff}");
    }
    assert_eq!(
        std::fs::read_to_string(config.join("b.yaml")).expect("read"),
        "groups:\n  - { name: g, members: [alice@acme.example] }\n"
    );
    assert_eq!(
        std::fs::read_to_string(config.join("c.yaml")).expect("read"),
        "projects:\n  - name: P\n    members:\n      - { group: g, access: member }\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("b.yaml"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // No temporary file is left behind.
    assert_eq!(snapshot(config.path()).len(), 3);
    validates(config.path());
}

#[test]
fn an_invalid_configuration_is_reported_and_nothing_changes() {
    let config = TestConfig::with(&format!(
        "{MINIMAL}  - {{ email: carol@acme.example, role: Nope }}\n"
    ));
    let before = snapshot(config.path());
    let (code, _, _) = offboard(config.path(), &["bob@acme.example"]);
    assert_eq!(code, 1);
    assert_eq!(snapshot(config.path()), before);
}
