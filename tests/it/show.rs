//! `accord show` through the real binary: the example's member, product, agreement
//! and team as text (snapshots), JSON, the live account's differences, and unknown
//! names as clear errors.

use std::path::Path;
use std::sync::Arc;

use accord::backend::SystemClock;
use accord::backend::sqlite::SqliteStore;
use accord::config::LoadOptions;
use accord::validate::validate;

use crate::common::accord;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `accord show ARGS` in the repository (so files print as `examples/acme/...`).
fn show(args: &[&str], code: i32) -> (String, String) {
    let output = accord()
        .current_dir(repo())
        .arg("show")
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "show {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn a_member_shows_everything_they_hold_with_the_line_declaring_it() {
    let (stdout, _) = show(
        &[
            "member",
            "Felix.Wagner@acme.example",
            "examples/acme",
            "--offline",
        ],
        0,
    );
    insta::assert_snapshot!("show_member", stdout);
}

#[test]
fn a_product_shows_its_holders_on_every_agreement_and_team() {
    let (stdout, _) = show(&["product", "revit", "examples/acme", "--offline"], 0);
    insta::assert_snapshot!("show_product", stdout);
}

#[test]
fn an_agreement_shows_its_roles_products_services_and_support() {
    let (stdout, _) = show(
        &["agreement", "110001234567", "examples/acme", "--offline"],
        0,
    );
    insta::assert_snapshot!("show_agreement", stdout);
}

#[test]
fn a_team_shows_its_pools_and_holders() {
    let (stdout, _) = show(&["team", "100001", "examples/acme", "--offline"], 0);
    insta::assert_snapshot!("show_team", stdout);
}

#[test]
fn json_is_versioned_and_cites_each_fact() {
    let (stdout, _) = show(
        &[
            "member",
            "erik.stahl@stahl-partner.example",
            "examples/acme",
            "--offline",
            "--format",
            "json",
        ],
        0,
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["kind"], "member");
    assert_eq!(json["live"], false);
    assert_eq!(json["source"], "configuration only: --offline");
    assert_eq!(json["at"], "examples/acme/people.yaml:153");
    let seat = json["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == "seat")
        .expect("a seat");
    assert_eq!(
        seat,
        &serde_json::json!({
            "topic": "seat",
            "text": "Robot Structural Analysis on agreement 110001234567",
            "at": "examples/acme/agreements.yaml:36",
            "via": "structural",
            "live": null,
        })
    );
}

#[test]
fn without_a_store_the_configuration_alone_is_shown_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("none.db").display());
    let (stdout, _) = show(
        &[
            "member",
            "bob.berg@acme.example",
            "examples/acme",
            "--backend",
            &url,
        ],
        0,
    );
    assert!(
        stdout.ends_with(&format!(
            "configuration only: there is no store at {} (--backend)\n",
            dir.path().join("none.db").display()
        )),
        "{stdout}"
    );
    assert!(!dir.path().join("none.db").exists(), "no store is created");
}

#[test]
fn an_unreachable_backend_leaves_the_configuration_s_answer_and_says_why() {
    // Port 9 (discard) on loopback: nothing listens there.
    let args = |format: &'static str| {
        [
            "show",
            "member",
            "bob.berg@acme.example",
            "examples/acme",
            "--backend",
            "http://127.0.0.1:9",
            "--format",
            format,
        ]
    };
    let run = |format| {
        let output = accord()
            .current_dir(repo())
            .args(args(format))
            .env("ACCORD_TOKEN", "t")
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let why = "the backend cannot be read (cannot open the backend: cannot reach the backend at http://127.0.0.1:9: connection refused";
    let text = run("text");
    assert!(
        text.contains("seat                 AutoCAD on agreement 110001234567"),
        "the configuration's facts are shown: {text}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("configuration only: {why}")),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).expect("JSON");
    assert_eq!(json["live"], false);
    assert!(json["source"].as_str().unwrap().contains(why), "{json:#}");
    assert!(!json["facts"].as_array().unwrap().is_empty());
}

#[test]
fn the_live_account_s_differences_are_shown_next_to_the_facts() {
    let dir = tempfile::tempdir().unwrap();
    let state = validate(&repo().join("examples/acme"), &LoadOptions::default())
        .expect("valid")
        .desired
        .state;
    SqliteStore::open(dir.path().join("state.db"), Arc::new(SystemClock))
        .expect("open")
        .import_state(&state)
        .expect("seed");
    // The configuration moves Bob off Harbour Tower A and gives Architects executive.
    let config = dir.path().join("cfg");
    std::fs::create_dir(&config).unwrap();
    for file in [
        "agreements.yaml",
        "people.yaml",
        "projects.yaml",
        "teams.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join("examples/acme").join(file)).unwrap();
        let text = text
            .replace(
                "      - { email: bob.berg@acme.example, access: member, products: [docs, design_collaboration] }\n",
                "",
            )
            .replace("  - { name: Architect }", "  - { name: Architect, default_access: [executive] }");
        std::fs::write(config.join(file), text).unwrap();
    }
    let url = format!("sqlite:{}", dir.path().join("state.db").display());
    let output = accord()
        .current_dir(dir.path())
        .args([
            "show",
            "member",
            "bob.berg@acme.example",
            "cfg",
            "--backend",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "  access               executive (the default of role Architect)  cfg/people.yaml:25\n                       live: none\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  live: on project Harbour Tower A (the configuration does not list them: the plan removes them)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!("compared with {url}: 2 differences\n")),
        "{stdout}"
    );
    let same = accord()
        .current_dir(repo())
        .args([
            "show",
            "product",
            "Revit",
            "examples/acme",
            "--backend",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&same.stdout)
            .ends_with(&format!("compared with {url}: no differences\n")),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
}

#[test]
fn an_unknown_name_is_an_error_with_what_is_close() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["member", "dana.dekker@acme.exmple"],
            "error: the configuration declares no member `dana.dekker@acme.exmple`: did you mean `dana.dekker@acme.example`?\n",
        ),
        (
            &["product", "Revitt"],
            "error: the configuration declares no product `Revitt`: did you mean `Revit`?\n",
        ),
        (
            &["agreement", "110001234568"],
            "error: the configuration declares no agreement `110001234568`: did you mean `110001234567`?\n",
        ),
        (
            &["team", "100002"],
            "error: the configuration declares no team `100002`: did you mean `100001`?\n",
        ),
        (
            &["member", "zz@nowhere.example"],
            "error: the configuration declares no member `zz@nowhere.example`\n",
        ),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["examples/acme", "--offline"]);
        let (stdout, stderr) = show(&all, 1);
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr, expected, "{args:?}");
    }
    let (stdout, _) = show(
        &[
            "team",
            "9",
            "examples/acme",
            "--offline",
            "--format",
            "json",
        ],
        1,
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["error"]["kind"], "not_found");
}

#[test]
fn an_invalid_configuration_is_reported_not_shown() {
    let (stdout, stderr) = show(
        &[
            "member",
            "a@b.example",
            "examples/invalid/schema-unknown-key",
            "--offline",
        ],
        1,
    );
    assert!(stdout.contains("error[schema]"), "{stdout}");
    assert!(stderr.contains("the configuration is invalid"), "{stderr}");
}

#[test]
fn a_store_holding_another_account_is_not_compared_and_the_output_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = validate(&repo().join("examples/acme"), &LoadOptions::default())
        .expect("valid")
        .desired
        .state;
    state.account.id = "acme-us".to_owned();
    SqliteStore::open(dir.path().join("state.db"), Arc::new(SystemClock))
        .expect("open")
        .import_state(&state)
        .expect("seed");
    let url = format!("sqlite:{}", dir.path().join("state.db").display());
    let (stdout, _) = show(
        &[
            "team",
            "100001",
            "examples/acme",
            "--backend",
            &url,
            "--format",
            "json",
        ],
        0,
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["live"], false);
    assert_eq!(
        json["source"],
        format!("configuration only: {url} holds the account acme-us, not acme-eu")
    );
}
