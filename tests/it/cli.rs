//! The binary as a user runs it: exit codes, output formats, colour, snapshots of
//! the output for every configuration under `examples/invalid`.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{TestConfig, accord};

/// Runs accord from the crate root so paths in the output are `examples/...`.
fn accord_at_root() -> assert_cmd::Command {
    let mut cmd = accord();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn validate_acme_example_is_valid_and_exits_0() {
    accord_at_root()
        .args(["validate", "examples/acme"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("examples/acme is valid"))
        .stdout(predicate::str::contains("account acme-eu"));
}

#[test]
fn validate_json_of_a_valid_configuration_is_an_empty_array() {
    let output = accord_at_root()
        .args(["validate", "--format", "json", "examples/acme"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value, serde_json::json!([]));
}

#[test]
fn validate_invalid_configuration_exits_1_naming_file_line_column_and_rule() {
    let config = TestConfig::with(
        "account: { id: a, name: A }\n\
         members:\n  \
           - { email: alice@acme.example, access: [account_admin] }\n  \
           - { email: ALICE@acme.example }\n",
    );
    let file = config.join("accord.yaml");
    accord()
        .arg("validate")
        .arg(config.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[R01]"))
        .stdout(predicate::str::contains(format!("{}:4:", file.display())));
}

#[test]
fn validate_json_lists_code_file_line_column_pointer_message_help() {
    let config = TestConfig::with(
        "account: { id: a, name: A }\n\
         members:\n  \
           - { email: alice@acme.example, access: [account_admin] }\n  \
           - { email: not-an-email }\n",
    );
    let output = accord()
        .args(["validate", "--format", "json"])
        .arg(config.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let first = &value[0];
    assert_eq!(first["code"], "R01");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 4);
    assert!(first["column"].as_u64().is_some_and(|c| c > 1));
    assert_eq!(first["pointer"], "/members/1/email");
    assert!(
        first["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("accord.yaml"))
    );
    assert!(first["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(first["help"].as_str().is_some_and(|h| !h.is_empty()));
}

#[test]
fn usage_error_exits_64_never_2_or_3() {
    accord()
        .args(["validate", "--format", "yaml"])
        .assert()
        .code(64);
    accord().arg("no-such-command").assert().code(64);
    accord()
        .args(["plan", "--detailed-exitcode", "--format", "markdwn"])
        .assert()
        .code(64);
    // Help and the version are answers, not errors.
    accord().arg("--help").assert().code(0);
    accord().arg("--version").assert().code(0);
}

#[test]
fn no_color_env_turns_colour_off_even_when_forced() {
    let config = TestConfig::with("account: { id: a, name: A }\nmembers: [{ email: nope }]\n");
    accord()
        .args(["--color", "always", "validate"])
        .arg(config.path())
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn colour_is_used_when_forced_without_no_color() {
    let config = TestConfig::with("account: { id: a, name: A }\nmembers: [{ email: nope }]\n");
    accord()
        .args(["--color", "always", "validate"])
        .arg(config.path())
        .env_remove("NO_COLOR")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\u{1b}["));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/accord.schema.json"),
    )
    .expect("schemas/accord.schema.json is committed");
    let output = accord().arg("schema").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).expect("UTF-8"),
        committed,
        "schemas/accord.schema.json is stale: run `cargo run -- schema > schemas/accord.schema.json`"
    );
}

/// Every broken example, rendered for people and for CI tools. The snapshots are
/// what the README shows.
#[test]
fn invalid_examples_output_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut entries: Vec<_> = std::fs::read_dir(root.join("examples/invalid"))
        .expect("examples/invalid")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 5, "expected a handful of invalid examples");
    for path in entries {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let relative = format!("examples/invalid/{name}");
        for format in ["human", "json"] {
            let output = accord_at_root()
                .args(["validate", "--format", format, &relative])
                .output()
                .expect("runs");
            assert_eq!(
                output.status.code(),
                Some(1),
                "{relative} should be invalid"
            );
            let stdout = String::from_utf8(output.stdout).expect("UTF-8");
            insta::assert_snapshot!(format!("invalid_{name}_{format}"), stdout);
        }
    }
}

/// The README shows the output of some broken examples; it must stay true.
#[test]
fn readme_shows_the_real_output_of_the_invalid_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut shown = 0;
    for block in readme.split("```console\n").skip(1) {
        let block = block.split("```").next().expect("block");
        let Some((command, expected)) = block.split_once('\n') else {
            continue;
        };
        let Some(args) = command.strip_prefix("$ accord validate ") else {
            continue;
        };
        let output = accord_at_root()
            .args(["validate", args.trim()])
            .output()
            .expect("runs");
        assert_eq!(
            String::from_utf8(output.stdout).expect("UTF-8"),
            expected,
            "README.md shows stale output for `{command}`"
        );
        shown += 1;
    }
    assert!(shown >= 3, "README.md should show some invalid examples");
}
