//! `accord import` and `accord export --format *-csv` through the real binary: the
//! portal's exports become configuration that validates, a file exported from a store
//! imports back to a configuration that plans no change against it, and every bad
//! input is an error naming the file (and line) with nothing written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord::backend::SystemClock;
use accord::backend::sqlite::SqliteStore;
use accord::config::LoadOptions;
use accord::validate::validate;

use crate::common::accord;

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme")
}

fn run(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let output = accord().current_dir(dir).args(args).output().expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "accord {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// A temporary directory holding `state.db`, seeded with the example's state.
fn acme_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = validate(&acme(), &LoadOptions::default())
        .expect("the example is valid")
        .desired
        .state;
    SqliteStore::open(dir.path().join("state.db"), Arc::new(SystemClock))
        .expect("open")
        .import_state(&state)
        .expect("seed");
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable();
    names
}

#[test]
fn a_members_export_from_a_store_imports_to_members_only_which_plans_no_change() {
    let store = acme_store();
    let dir = store.path();
    run(
        dir,
        &["export", "--backend", "sqlite:state.db", "--out", "cfg"],
        0,
    );
    let (csv, _) = run(
        dir,
        &[
            "export",
            "--backend",
            "sqlite:state.db",
            "--format",
            "members-csv",
        ],
        0,
    );
    assert!(
        csv.starts_with(
            "Email,First Name,Last Name,Company,Role,Access Level,Status,External Subscriptions\n\
             alice.anders@acme.example,Alice,Anders,ACME Architects,BIM Manager,Account Admin,Active,\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("\nerik.stahl@stahl-partner.example,Erik,Stahl,Stahl & Partner Engineering,Structural Engineer,,Active,Revit\n"),
        "{csv}"
    );
    std::fs::write(dir.join("members.csv"), &csv).unwrap();
    std::fs::remove_file(dir.join("cfg/members.yaml")).unwrap();
    let (stdout, stderr) = run(dir, &["import", "members.csv", "--out", "cfg"], 0);
    // The directory declares the account, companies and roles: only members are new.
    assert_eq!(stdout, "wrote cfg/members.yaml\n");
    assert_eq!(
        stderr,
        "imported 25 people and 0 team seats from members.csv (members export, 25 rows)\n"
    );
    let members = std::fs::read_to_string(dir.join("cfg/members.yaml")).unwrap();
    assert!(
        members.starts_with("# yaml-language-server: $schema="),
        "{members}"
    );
    assert!(
        members.contains("\n# Imported by accord ")
            && members.contains(" from members.csv (members export, 25 rows).\nmembers:\n"),
        "{members}"
    );
    assert!(
        members.contains("\n  - { email: emma.larsen@acme.example, first_name: Emma, last_name: Larsen, company: ACME Architects, role: Architect, access: [], status: inactive }\n"),
        "{members}"
    );
    run(dir, &["validate", "cfg"], 0);
    let (plan, _) = run(
        dir,
        &[
            "plan",
            "cfg",
            "--backend",
            "sqlite:state.db",
            "--detailed-exitcode",
        ],
        0,
    );
    assert_eq!(plan, "No changes.\n");
}

#[test]
fn members_and_usage_exports_import_together_and_plan_no_change() {
    let store = acme_store();
    let dir = store.path();
    run(
        dir,
        &["export", "--backend", "sqlite:state.db", "--out", "cfg"],
        0,
    );
    for kind in ["members", "usage"] {
        run(
            dir,
            &[
                "export",
                "--backend",
                "sqlite:state.db",
                "--format",
                &format!("{kind}-csv"),
                "--out",
                ".",
            ],
            0,
        );
    }
    let usage = std::fs::read_to_string(dir.join("usage.csv")).unwrap();
    assert!(
        usage.starts_with(
            "Email,Product,Team,Team Name,Seat Assignment,Last Accessed\n\
             alice.anders@acme.example,AutoCAD,100001,ACME Architects EU,Direct,\n"
        ),
        "{usage}"
    );
    std::fs::remove_file(dir.join("cfg/members.yaml")).unwrap();
    std::fs::remove_file(dir.join("cfg/teams.yaml")).unwrap();
    let (stdout, _) = run(
        dir,
        &["import", "members.csv", "usage.csv", "--out", "cfg"],
        0,
    );
    assert_eq!(stdout, "wrote cfg/members.yaml\nwrote cfg/teams.yaml\n");
    let teams = std::fs::read_to_string(dir.join("cfg/teams.yaml")).unwrap();
    assert!(
        teams.contains("teams:\n  - id: \"100001\"\n    name: ACME Architects EU\n    products:\n      - { name: AutoCAD, assigned: [alice.anders@acme.example, chloe.martin@acme.example, dana.dekker@acme.example, felix.wagner@acme.example, grace.lee@acme.example, lena.vogel@acme.example, sofia.marino@acme.example, yuki.tanaka@acme.example] }\n"),
        "{teams}"
    );
    let (plan, _) = run(
        dir,
        &[
            "plan",
            "cfg",
            "--backend",
            "sqlite:state.db",
            "--detailed-exitcode",
        ],
        0,
    );
    assert_eq!(plan, "No changes.\n");
}

#[test]
fn an_import_into_an_empty_directory_declares_the_account_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "\u{feff}EMAIL ADDRESS;x,first_name,Surname,Company Name,job role,Access Levels,STATUS,Phone\n\
         Ada@Example.com ,Ada,Lovelace,Analytical Engines,Engineer,\"Account Admin; Executive\",Active,555\n\
         bob@example.com,Bob,Byron,Analytical Engines,,,Inactive,\n",
    )
    .unwrap();
    // The first header cell is not a column accord knows: reported, and the file is
    // then missing its email column.
    let (_, stderr) = run(dir.path(), &["import", "people.csv", "--out", "cfg"], 1);
    assert!(
        stderr.contains("people.csv: this members export has no Email column"),
        "{stderr}"
    );
    assert!(!dir.path().join("cfg").exists(), "nothing written");
    std::fs::write(
        dir.path().join("people.csv"),
        "\u{feff}E-mail,first_name,Surname,Company Name,job role,Access Levels,STATUS,Phone\n\
         Ada@Example.com ,Ada,Lovelace,Analytical Engines,Engineer,\"Account Admin; Executive\",Active,555\n\
         bob@example.com,Bob,Byron,Analytical Engines,,,Inactive,\n",
    )
    .unwrap();
    let (stdout, stderr) = run(
        dir.path(),
        &[
            "import",
            "people.csv",
            "--out",
            "cfg",
            "--account-id",
            "engines",
        ],
        0,
    );
    assert_eq!(
        stdout,
        "wrote cfg/account.yaml\nwrote cfg/companies.yaml\nwrote cfg/roles.yaml\nwrote cfg/members.yaml\n"
    );
    assert!(
        stderr.starts_with("warning: people.csv:1: column `Phone` is not one accord reads from a members export: ignored\n"),
        "{stderr}"
    );
    assert_eq!(files_in(&dir.path().join("cfg")).len(), 4);
    let members = std::fs::read_to_string(dir.path().join("cfg/members.yaml")).unwrap();
    assert!(
        members.ends_with("members:\n  - { email: ada@example.com, first_name: Ada, last_name: Lovelace, company: Analytical Engines, role: Engineer, access: [account_admin, executive] }\n  - { email: bob@example.com, first_name: Bob, last_name: Byron, company: Analytical Engines, access: [], status: inactive }\n"),
        "{members}"
    );
    let account = std::fs::read_to_string(dir.path().join("cfg/account.yaml")).unwrap();
    assert!(
        account.contains("account: { id: engines, name: engines }\nsettings:\n"),
        "{account}"
    );
    let (stdout, _) = run(dir.path(), &["validate", "cfg"], 0);
    assert_eq!(
        stdout,
        "cfg is valid: account engines, 2 members, 0 agreements, 0 projects\n"
    );
}

#[test]
fn a_user_list_with_an_admin_validates_and_prints_one_document_without_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "First Name,Last Name,Email\r\nAda,\"Lovelace, Countess\",ada@example.com\r\nBob,Byron,bob@example.com\r\n",
    )
    .unwrap();
    let (stdout, _) = run(
        dir.path(),
        &[
            "import",
            "users.csv",
            "--account-id",
            "engines",
            "--account-name",
            "Analytical Engines",
            "--admin",
            "ADA@example.com",
        ],
        0,
    );
    assert!(
        stdout.contains("account: { id: engines, name: Analytical Engines }\n")
            && stdout.contains("\nmembers:\n  - { email: ada@example.com, first_name: Ada, last_name: \"Lovelace, Countess\", access: [account_admin] }\n  - { email: bob@example.com, first_name: Bob, last_name: Byron }\n"),
        "{stdout}"
    );
    std::fs::write(dir.path().join("all.yaml"), &stdout).unwrap();
    run(dir.path(), &["validate", "all.yaml"], 0);
    let (_, stderr) = run(
        dir.path(),
        &[
            "import",
            "users.csv",
            "--account-id",
            "e",
            "--admin",
            "eve@example.com",
        ],
        1,
    );
    assert!(
        stderr.contains("--admin eve@example.com: no file imported lists this person"),
        "{stderr}"
    );
}

#[test]
fn every_unusable_row_is_an_error_with_its_file_and_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("members.csv"),
        "Email,Company,Access Level,Status\n\
         ada@example.com,A,Account Admin,Active\n\
         ,A,,Active\n\
         not-an-email,A,,Active\n\
         ADA@example.com,A,,Active\n\
         eve@example.com,A,Owner,Active\n\
         fay@example.com,A,,Sleeping\n\
         ,,,\n\
         gus@example.com,A\n",
    )
    .unwrap();
    let (stdout, stderr) = run(
        dir.path(),
        &["import", "members.csv", "--out", "cfg", "--account-id", "x"],
        1,
    );
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: cannot import: 7 problems; nothing was written\n\
         \x20 members.csv:3: no email\n\
         \x20 members.csv:4: `not-an-email` is not a valid email address\n\
         \x20 members.csv:5: duplicate: ada@example.com is already on line 2\n\
         \x20 members.csv:6: unknown access level `Owner`: expected Account Admin, Executive or Standards Admin\n\
         \x20 members.csv:7: unknown status `Sleeping`: expected Active, Pending, Not invited or Inactive\n\
         \x20 members.csv:8: empty row\n\
         \x20 members.csv:9: 2 fields but the header has 4\n"
    );
    assert!(!dir.path().join("cfg").exists());
}

#[test]
fn missing_columns_and_an_unknown_header_name_the_file_and_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "First Name,Last Name\nAda,L\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("usage.csv"),
        "Email,Seat Assignment\na@b.example,Direct\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("noteam.csv"),
        "Email,Product\na@b.example,Revit\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("other.csv"), "Phone,City\n1,Rome\n").unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let (_, stderr) = run(
        dir.path(),
        &[
            "import",
            "users.csv",
            "usage.csv",
            "noteam.csv",
            "other.csv",
            "empty.csv",
            "--account-id",
            "x",
        ],
        1,
    );
    assert_eq!(
        stderr,
        "error: cannot import: 5 problems; nothing was written\n\
         \x20 users.csv: this user list has no Email column (its header: First Name, Last Name)\n\
         \x20 usage.csv: this usage export has no Product column (its header: Email, Seat Assignment)\n\
         \x20 noteam.csv: this usage export has no Team column: give --team ID to say which team its seats belong to\n\
         \x20 other.csv: cannot tell which export this is from its header (Phone, City): expected a user list (First Name, Last Name, Email), a members export (Email, Company, Role, Access Level, Status) or a usage export (Email, Product, Team, Seat Assignment, Last Accessed)\n\
         \x20 empty.csv: the file is empty: expected a header line\n"
    );
    // --team places the seats of a usage export without a Team column.
    let (stdout, _) = run(
        dir.path(),
        &[
            "import",
            "noteam.csv",
            "--account-id",
            "x",
            "--admin",
            "a@b.example",
            "--team",
            "100001",
        ],
        0,
    );
    assert!(
        stdout.contains("teams:\n  - id: \"100001\"\n    name: \"100001\"\n    products:\n      - { name: Revit, assigned: [a@b.example] }\n"),
        "{stdout}"
    );
}

#[test]
fn an_import_never_overwrites_a_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "First Name,Last Name,Email\nAda,L,ada@example.com\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    let mine = "# my own notes\n";
    std::fs::write(dir.path().join("cfg/members.yaml"), mine).unwrap();
    let args = [
        "import",
        "users.csv",
        "--out",
        "cfg",
        "--account-id",
        "x",
        "--admin",
        "ada@example.com",
    ];
    let (stdout, stderr) = run(dir.path(), &args, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: cfg/members.yaml already exists: nothing was written; use --force to overwrite\n"
    );
    assert_eq!(files_in(&dir.path().join("cfg")), ["members.yaml"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cfg/members.yaml")).unwrap(),
        mine
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    run(dir.path(), &forced, 0);
    assert_eq!(
        files_in(&dir.path().join("cfg")),
        ["account.yaml", "members.yaml"]
    );
    run(dir.path(), &["validate", "cfg"], 0);
}

#[test]
fn people_and_teams_the_directory_declares_are_kept_and_said() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    std::fs::write(
        dir.path().join("cfg/base.yaml"),
        "account: { id: x, name: X }\nmembers:\n  - { email: ada@example.com, access: [account_admin] }\nteams:\n  - { id: \"7\", name: T }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("usage.csv"),
        "email,product,team_id\nAda@example.com,Revit,7\nbob@example.com,Revit,8\n",
    )
    .unwrap();
    let (stdout, stderr) = run(dir.path(), &["import", "usage.csv", "--out", "cfg"], 0);
    assert_eq!(stdout, "wrote cfg/members.yaml\nwrote cfg/teams.yaml\n");
    assert!(
        stderr.contains("note: 1 imported person is already declared in the directory: kept as declared, not imported again\n")
            && stderr.contains("note: team 7 is already declared at cfg/base.yaml:5: its seats in the usage export are not imported\n"),
        "{stderr}"
    );
    run(dir.path(), &["validate", "cfg"], 0);
}

#[test]
fn a_file_that_is_not_utf8_or_missing_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // "Chloé" in Latin-1, as an old spreadsheet saves it.
    std::fs::write(
        dir.path().join("latin1.csv"),
        b"First Name,Last Name,Email\nChlo\xe9,Martin,chloe@example.com\n",
    )
    .unwrap();
    let (_, stderr) = run(
        dir.path(),
        &["import", "latin1.csv", "--account-id", "x"],
        1,
    );
    assert_eq!(
        stderr,
        "error: cannot import: 1 problem; nothing was written\n  latin1.csv: not UTF-8 text: save the export as CSV UTF-8\n"
    );
    let (_, stderr) = run(dir.path(), &["import", "gone.csv", "--account-id", "x"], 1);
    assert!(
        stderr.starts_with("error: cannot read gone.csv: "),
        "{stderr}"
    );
}
