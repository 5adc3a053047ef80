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
fn validate_json_of_a_valid_configuration_is_versioned_and_lists_nothing() {
    let output = accord_at_root()
        .args(["validate", "--format", "json", "examples/acme"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["version"], 1, "{value:#}");
    assert_eq!(value["valid"], true);
    assert_eq!(value["errors"], 0);
    assert_eq!(value["diagnostics"], serde_json::json!([]));
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
    assert_eq!(value["valid"], false);
    assert!(value["errors"].as_u64().is_some_and(|n| n >= 1));
    let first = &value["diagnostics"][0];
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

#[test]
fn init_writes_a_valid_configuration_with_the_schema_line_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("config");
    accord()
        .arg("init")
        .arg(&target)
        .args([
            "--account-id",
            "acme-eu",
            "--account-name",
            "ACME: Architects, Ltd",
        ])
        .args(["--admin", "it@acme.example"])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(target.join("accord.yaml")).unwrap();
    // Outside a checkout of accord, the published schema.
    assert!(
        text.starts_with(
            "# yaml-language-server: $schema=https://raw.githubusercontent.com/accord-rs/accord/main/schemas/accord.schema.json\n"
        ),
        "{text}"
    );
    accord()
        .arg("validate")
        .arg(&target)
        .assert()
        .code(0)
        .stdout(predicates::str::contains("account acme-eu, 1 members"));
    accord()
        .arg("init")
        .arg(&target)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "already exists: nothing was written",
        ));
    accord()
        .arg("init")
        .arg(&target)
        .arg("--force")
        .assert()
        .code(0);
    // Inside a checkout, the repository's schema by a relative path.
    let inside = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/init-test");
    let _ = std::fs::remove_dir_all(&inside);
    accord().arg("init").arg(&inside).assert().code(0);
    let text = std::fs::read_to_string(inside.join("accord.yaml")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=../../schemas/accord.schema.json\n"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&inside);
}

#[test]
fn color_always_wins_over_no_color_and_clicolor_force_colours_auto() {
    let config = TestConfig::with(crate::common::MINIMAL.replace("bob@", "bob@@").as_str());
    let coloured = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = accord();
        cmd.arg("validate").args(args).arg(config.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains('\u{1b}')
    };
    // `accord()` sets NO_COLOR=1.
    assert!(
        coloured(&["--color", "always"], &[]),
        "an explicit flag wins"
    );
    assert!(!coloured(&[], &[]), "NO_COLOR turns auto off");
    assert!(
        coloured(&[], &[("CLICOLOR_FORCE", "1")]),
        "CLICOLOR_FORCE forces auto"
    );
    assert!(!coloured(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
}

#[test]
fn logs_follow_the_verbosity_flags_and_rust_log_and_never_show_a_token() {
    let config = TestConfig::with(crate::common::MINIMAL);
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = accord();
        cmd.args(["plan", "--backend", "http://127.0.0.1:9"])
            .args(args)
            .arg(config.path())
            .env("ACCORD_TOKEN", "sEcReT-token-123");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let quiet = run(&[], &[]);
    assert!(!quiet.contains("service call"), "{quiet}");
    let verbose = run(&["-v"], &[]);
    assert!(verbose.contains("service call"), "{verbose}");
    assert!(verbose.contains("/v1/health"), "{verbose}");
    let json = run(&["-v", "--log-format", "json"], &[]);
    let line = json
        .lines()
        .find(|l| l.contains("service call"))
        .unwrap_or_else(|| panic!("{json}"));
    let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(parsed["fields"]["path"], "/v1/health");
    let rust_log = run(&[], &[("RUST_LOG", "accord=debug")]);
    assert!(rust_log.contains("service call"), "{rust_log}");
    for output in [quiet, verbose, json, rust_log] {
        assert!(!output.contains("sEcReT"), "{output}");
    }
    assert_eq!(
        accord()
            .args(["-q", "-v", "schema"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(64),
        "-q and -v together are a usage error"
    );
}

/// A configuration with one error (R01, line 4) and a duplicate (R01 with a
/// related place), for the machine-readable formats.
fn two_problems() -> TestConfig {
    TestConfig::with(
        "account: { id: a, name: A }\n\
         members:\n  \
           - { email: alice@acme.example, access: [account_admin] }\n  \
           - { email: not-an-email }\n  \
           - { email: Alice@acme.example }\n",
    )
}

fn validate_as(config: &TestConfig, format: &str) -> (Option<i32>, String) {
    let output = accord()
        .args(["validate", "--format", format])
        .arg(config.path())
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8"),
    )
}

#[test]
fn validate_json_matches_its_published_schema_valid_or_not() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/validate.schema.json"),
        )
        .expect("schemas/validate.schema.json"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let invalid = two_problems();
    let valid = TestConfig::with(
        "account: { id: a, name: A }\nmembers:\n  - { email: a@acme.example, access: [account_admin] }\n",
    );
    for (config, code) in [(&invalid, 1), (&valid, 0)] {
        let (status, stdout) = validate_as(config, "json");
        assert_eq!(status, Some(code), "{stdout}");
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{json:#}");
    }
}

#[test]
fn validate_github_writes_one_workflow_command_per_problem_on_its_line() {
    let config = two_problems();
    let (status, stdout) = validate_as(&config, "github");
    assert_eq!(status, Some(1), "{stdout}");
    let file = config.join("accord.yaml").display().to_string();
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 2, "{stdout}");
    assert!(
        errors.iter().any(
            |l| l.starts_with(&format!("::error file={file},line=4,col="))
                && l.contains("title=R01::")
        ),
        "{stdout}"
    );
    // The duplicate's first declaration is a notice on line 3; the help is on the
    // same command, escaped, so GitHub shows it under the message.
    assert!(
        stdout.contains(&format!("::notice file={file},line=3,")),
        "{stdout}"
    );
    assert!(stdout.contains("%0Ahelp: "), "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("::")), "{stdout}");
}

#[test]
fn validate_sarif_is_a_sarif_2_1_0_log_with_rules_and_regions() {
    let config = two_problems();
    let (status, stdout) = validate_as(&config, "sarif");
    assert_eq!(status, Some(1), "{stdout}");
    let log: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "accord");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "R01");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{log:#}");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4, "{log:#}");
    assert!(region["startColumn"].as_u64().is_some_and(|c| c > 1));
    assert!(
        results
            .iter()
            .any(|r| r["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 3),
        "{log:#}"
    );
}
