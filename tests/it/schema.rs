//! Tests of the schema area: the committed schema file, `accord schema`, editor
//! support, and the schema check's diagnostics (code, message, file, line, column).

use std::path::{Path, PathBuf};

use accord::config::{self, LoadOptions, schema};
use accord::diagnostic::{Code, Diagnostic};

use crate::common::{TestConfig, accord};

/// The crate's root directory.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The only diagnostic of `config`, which must be a schema error.
fn only_schema_error(config: &TestConfig) -> Diagnostic {
    let diagnostics = config.errors();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let diagnostic = diagnostics.into_iter().next().expect("one");
    assert_eq!(diagnostic.code, Code::Schema, "{diagnostic}");
    diagnostic
}

/// Asserts that `diagnostic` is in the file named `file` at `line:column`.
fn assert_at(diagnostic: &Diagnostic, file: &str, line: u32, column: u32) {
    let location = diagnostic
        .location
        .as_ref()
        .unwrap_or_else(|| panic!("no location: {diagnostic}"));
    assert!(
        Path::new(&*location.file).ends_with(file),
        "{diagnostic}: expected file {file}"
    );
    assert_eq!(
        (location.line, location.column),
        (line, column),
        "{diagnostic}"
    );
}

// ---------------------------------------------------------------------------------------
// The schema file, the command, the editors
// ---------------------------------------------------------------------------------------

#[test]
fn the_committed_schema_file_is_up_to_date() {
    let path = root().join("schemas/accord.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = schema::schema_text();
    let first_difference = committed
        .lines()
        .zip(generated.lines())
        .position(|(old, new)| old != new)
        .map_or_else(
            || "its length".to_owned(),
            |index| format!("line {}", index + 1),
        );
    assert!(
        committed == generated,
        "{} is stale (it differs from the configuration types at {first_difference}); \
         regenerate it with `{}` and commit it",
        path.display(),
        schema::REGENERATE_COMMAND
    );
}

#[test]
fn accord_schema_prints_the_schema() {
    accord()
        .arg("schema")
        .assert()
        .success()
        .stdout(schema::schema_text());
}

/// Every example file names the committed schema for yaml-language-server, by a
/// relative path that resolves from the file's own directory.
#[test]
fn example_files_point_editors_at_the_schema() {
    let schema_file = root()
        .join("schemas/accord.schema.json")
        .canonicalize()
        .expect("the schema file exists");
    let mut checked = 0;
    // examples/ci/ holds CI pipelines (GitHub Actions, GitLab CI), not configurations.
    let pipelines = root().join("examples/ci");
    for file in yaml_files(&root().join("examples")) {
        if file.starts_with(&pipelines) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let first_line = text.lines().next().unwrap_or_default();
        let relative = first_line
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} does not start with the schema line", file.display()));
        let target = file.parent().expect("dir").join(relative.trim());
        assert_eq!(
            target.canonicalize().ok().as_ref(),
            Some(&schema_file),
            "{}: {relative} is not the schema",
            file.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "expected the example files, found {checked}");
}

/// An editor checks each file alone: every file of the valid example must pass the
/// schema on its own (only the whole configuration needs an `account`).
#[test]
fn each_example_file_passes_the_schema_on_its_own() {
    let files = yaml_files(&root().join("examples/acme"));
    assert!(files.len() >= 3);
    for file in files {
        let loaded = config::load(&file, &LoadOptions::default())
            .unwrap_or_else(|d| panic!("{}: {d:#?}", file.display()));
        if let Err(diagnostics) = schema::check(&loaded) {
            let real: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.message != "the configuration has no `account`")
                .collect();
            assert!(real.is_empty(), "{}: {real:#?}", file.display());
        }
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------
// The schema check's diagnostics
// ---------------------------------------------------------------------------------------

const ACCOUNT: &str = "account: { id: acme-eu, name: ACME Architects }\n";

#[test]
fn an_unknown_key_points_at_the_key_and_suggests_the_nearest() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
members:
  - email: alice@acme.example
    frist_name: Alice
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "unknown key `frist_name` in a member");
    let help = diagnostic.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("allowed keys: access, company, email,"),
        "{help}"
    );
    assert!(help.ends_with("did you mean `first_name`?"), "{help}");
    assert_eq!(diagnostic.pointer, "/members/0/frist_name");
    assert_at(&diagnostic, "accord.yaml", 4, 5);
}

#[test]
fn an_unknown_key_in_a_flow_mapping_of_a_second_file_is_located_there() {
    let config = TestConfig::new()
        .file(
            "a.yaml",
            format!("{ACCOUNT}members:\n  - {{ email: alice@acme.example }}\n"),
        )
        .file(
            "b.yaml",
            "members:\n  - { email: bob@acme.example, lastname: Berg }\n",
        );
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "unknown key `lastname` in a member");
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|h| h.ends_with("did you mean `last_name`?")),
        "{diagnostic:?}"
    );
    assert_eq!(diagnostic.pointer, "/members/1/lastname");
    assert_at(&diagnostic, "b.yaml", 2, 32);
}

#[test]
fn a_number_where_text_belongs_says_to_quote_it() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
agreements:
  - number: 110001234567
    name: AEC Collection
    contract_manager: alice@acme.example
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "expected text, found a number");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some("quote it: \"110001234567\"")
    );
    assert_at(&diagnostic, "accord.yaml", 3, 13);
}

#[test]
fn a_bad_enum_value_lists_the_allowed_values() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
projects:
  - name: Tower A
    members:
      - {{ email: alice@acme.example, access: adminn }}
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "`adminn` is not a project access level");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some("allowed values: member, admin; did you mean `admin`?")
    );
    assert_at(&diagnostic, "accord.yaml", 5, 46);
}

#[test]
fn a_missing_required_field_is_located_at_its_mapping() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
companies:
  - {{ name: ACME Architects }}
members:
  - first_name: Alice
    last_name: Anders
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "a member needs `email`");
    assert_eq!(diagnostic.pointer, "/members/0");
    assert_at(&diagnostic, "accord.yaml", 5, 5);
}

#[test]
fn a_configuration_without_account_is_refused_at_the_first_file() {
    let config = TestConfig::new()
        .file("a.yaml", "companies:\n  - { name: ACME Architects }\n")
        .file("b.yaml", "members:\n  - { email: alice@acme.example }\n");
    let diagnostic = only_schema_error(&config);
    assert_eq!(diagnostic.message, "the configuration has no `account`");
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|h| h.contains("account: { id: ..., name: ... }")),
        "{diagnostic:?}"
    );
    assert_at(&diagnostic, "a.yaml", 1, 1);
}

#[test]
fn a_project_member_entry_with_both_email_and_group_is_refused() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
projects:
  - name: Tower A
    members:
      - {{ email: alice@acme.example, access: admin }}
      - {{ email: bob@acme.example, group: structural }}
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(
        diagnostic.message,
        "a project member entry has both `email` and `group`"
    );
    assert_at(&diagnostic, "accord.yaml", 6, 9);
}

#[test]
fn a_project_member_entry_with_neither_email_nor_group_is_refused() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
projects:
  - name: Tower A
    members:
      - access: admin
        products: [docs]
"
    ));
    let diagnostic = only_schema_error(&config);
    assert_eq!(
        diagnostic.message,
        "a project member entry needs `email` or `group`"
    );
    assert_at(&diagnostic, "accord.yaml", 5, 9);
}

#[test]
fn every_schema_error_is_reported_at_once_in_file_order() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}\
settings:
  prune: yes
members:
  - {{ email: alice@acme.example, status: actve }}
  - {{ emial: bob@acme.example }}
"
    ));
    let diagnostics = config.errors();
    let found: Vec<(u32, &str)> = diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.code, Code::Schema, "{d}");
            (
                d.location.as_ref().map_or(0, |l| l.line),
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (3, "expected true or false, found text"),
            (5, "`actve` is not a member status"),
            // One defect, not also "a member needs `email`".
            (6, "unknown key `emial` in a member"),
        ]
    );
}

/// The configuration of DOMAIN.md's "configuration format" section, as written there.
const DOMAIN_EXAMPLE: &str = r#"# yaml-language-server: $schema=../../schemas/accord.schema.json
account: { id: acme-eu, name: ACME Architects }
settings:
  prune: false            # remove backend members absent from the config
  max_removals: 5         # R13
  protected: [it-admin@acme.example]
companies:
  - { name: ACME Architects, trade: Architecture }
roles:
  - { name: BIM Manager, default_access: [account_admin] }
  - { name: Architect }
groups:
  - { name: structural, members: [dana@acme.example, erik@acme.example] }
members:
  - email: alice@acme.example
    first_name: Alice
    last_name: Anders
    company: ACME Architects
    role: BIM Manager
    access: [account_admin, executive]   # optional; overrides the role default
    status: active                       # or inactive
    external_subscriptions: [Revit]      # optional
  - { email: bob@acme.example, company: ACME Architects, role: Architect }
  - { email: dana@acme.example, company: ACME Architects, role: Architect }
  - { email: erik@acme.example, company: ACME Architects, role: Architect }
agreements:
  - number: "110001234567"
    name: AEC Collection
    contract_manager: alice@acme.example
    software_coordinator: bob@acme.example   # optional (R03)
    products:
      - { name: AutoCAD, seats: 10, assigned: [alice@acme.example, group:structural] }
    cloud_services:
      - { name: Cloud Rendering, assigned: [alice@acme.example] }   # R05
    support: [alice@acme.example, bob@acme.example]                 # R06
projects:
  - name: Tower A
    members:
      - { email: alice@acme.example, access: admin, products: [docs, build, cost] }
      - { group: structural, access: member, products: [docs, model_coordination] }
"#;

#[test]
fn the_domain_example_is_valid() {
    let validated = TestConfig::with(DOMAIN_EXAMPLE).valid();
    let config = &validated.config;
    assert_eq!(
        config.account.as_ref().map(|a| a.id.as_str()),
        Some("acme-eu")
    );
    assert_eq!(config.members.len(), 4);
    assert_eq!(config.agreements[0].number, "110001234567");
    assert_eq!(config.projects[0].members.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Teams: every malformed team entry is one located schema error
// ---------------------------------------------------------------------------------------

/// The only diagnostic of a configuration whose `teams:` section is `teams` (lines
/// of the file: 1 is `account`, 2 is `teams:`, 3 the first line of `teams`).
fn team_error(teams: &str) -> Diagnostic {
    only_schema_error(&TestConfig::with(&format!("{ACCOUNT}teams:\n{teams}")))
}

/// Asserts a diagnostic's message, help (when given) and `line:column` in accord.yaml.
fn assert_team_error(teams: &str, message: &str, help: Option<&str>, (line, column): (u32, u32)) {
    let diagnostic = team_error(teams);
    assert_eq!(diagnostic.message, message, "{teams}");
    if let Some(help) = help {
        assert_eq!(diagnostic.help.as_deref(), Some(help), "{teams}");
    }
    assert_at(&diagnostic, "accord.yaml", line, column);
}

#[test]
fn a_team_id_written_as_a_number_says_to_quote_it_like_an_agreement_number() {
    assert_team_error(
        "  - id: 100001\n    name: ACME EU\n",
        "expected text, found a number",
        Some("quote it: \"100001\""),
        (3, 9),
    );
    assert_team_error(
        "  - { id: \"\", name: ACME EU }\n",
        "`id` of a team must not be empty",
        None,
        (3, 11),
    );
}

#[test]
fn a_team_without_id_or_name_is_refused_at_the_team() {
    assert_team_error(
        "  - name: ACME EU\n    members: [alice@acme.example]\n",
        "a team needs `id`",
        Some("add `id: ...` to it"),
        (3, 5),
    );
    assert_team_error(
        "  - id: \"100001\"\n    products: []\n",
        "a team needs `name`",
        Some("add `name: ...` to it"),
        (3, 5),
    );
    assert_team_error(
        "  - { id: \"100001\", name: ACME EU, products: [{ seats: 3 }] }\n",
        "a product of a team needs `name`",
        Some("add `name: ...` to it"),
        (3, 47),
    );
}

#[test]
fn unknown_keys_of_a_team_and_of_its_products_are_refused() {
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    member: [alice@acme.example]\n",
        "unknown key `member` in a team",
        Some("allowed keys: id, members, name, products; did you mean `members`?"),
        (5, 5),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    products:\n      - { name: AutoCAD, seat: 3 }\n",
        "unknown key `seat` in a product of a team",
        Some("allowed keys: assigned, name, seats; did you mean `seats`?"),
        (6, 26),
    );
}

#[test]
fn team_lists_of_the_wrong_type_are_refused() {
    assert_team_error(
        "  { id: \"100001\", name: ACME EU }\n",
        "expected a list, found a mapping",
        None,
        (3, 3),
    );
    assert_team_error(
        "  - \"100001\"\n",
        "expected a mapping, found text",
        Some("write a mapping, such as { id: ..., name: ... }"),
        (3, 5),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    members: alice@acme.example\n",
        "expected a list, found text",
        Some("write a list, such as [alice@acme.example]"),
        (5, 14),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    products: AutoCAD\n",
        "expected a list, found text",
        Some("write a list, such as [AutoCAD]"),
        (5, 15),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    products:\n      - AutoCAD\n",
        "expected a mapping, found text",
        Some("write a mapping, such as { name: AutoCAD }"),
        (6, 9),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    products:\n      - { name: AutoCAD, assigned: alice@acme.example }\n",
        "expected a list, found text",
        Some("write a list, such as [alice@acme.example]"),
        (6, 36),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: ACME EU\n    products:\n",
        "expected a list, found nothing",
        Some("write a value, or remove the key if it is optional"),
        (5, 13),
    );
    assert_team_error(
        "  - id: \"100001\"\n    name: [ACME EU]\n",
        "expected text, found a list",
        None,
        (4, 11),
    );
}

#[test]
fn team_seats_must_be_a_whole_number_of_at_least_zero() {
    let product = |seats: &str| {
        format!(
            "  - id: \"100001\"\n    name: ACME EU\n    products:\n      - {{ name: AutoCAD, seats: {seats} }}\n"
        )
    };
    assert_team_error(
        &product("-1"),
        "`-1` is too small for `seats` of a product of a team",
        Some("the smallest allowed value is 0"),
        (6, 33),
    );
    assert_team_error(
        &product("\"10\""),
        "expected a whole number, found text",
        Some("remove the quotes: 10"),
        (6, 33),
    );
    assert_team_error(
        &product("ten"),
        "expected a whole number, found text",
        None,
        (6, 33),
    );
    assert_team_error(
        &product("10.5"),
        "expected a whole number, found a number",
        None,
        (6, 33),
    );
    // Passes JSON Schema (10.0 is an integer there) but not the model: still located.
    assert_team_error(
        &product("10.0"),
        "expected a whole number, found 10.0",
        Some("write it without a fraction: 10"),
        (6, 33),
    );
    assert_team_error(
        &product("4294967296"),
        "`4294967296` is too large for `seats` of a product of a team",
        None,
        (6, 33),
    );
}

#[test]
fn a_key_twice_in_a_team_is_a_yaml_error_citing_both() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}teams:\n  - id: \"100001\"\n    name: ACME EU\n    name: ACME Europe\n"
    ));
    let diagnostics = config.errors();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.code, Code::Yaml, "{diagnostic}");
    assert!(
        diagnostic.message.starts_with("duplicate key `name`"),
        "{diagnostic}"
    );
    assert_at(diagnostic, "accord.yaml", 5, 5);
    assert_eq!(diagnostic.related[0].location.line, 4, "the first `name:`");
    let product = TestConfig::with(&format!(
        "{ACCOUNT}teams:\n  - id: \"1\"\n    name: A\n    products:\n      - {{ name: AutoCAD, seats: 1, seats: 2 }}\n"
    ));
    let diagnostics = product.errors();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::Yaml);
    assert_at(&diagnostics[0], "accord.yaml", 6, 36);
}

#[test]
fn every_team_defect_is_reported_at_once_across_files() {
    let config = TestConfig::new()
        .file(
            "a.yaml",
            format!("{ACCOUNT}teams:\n  - {{ id: 1, name: A }}\n"),
        )
        .file(
            "b.yaml",
            "teams:\n  - { id: \"2\", name: B, products: [{ name: Revit, seats: -3 }] }\n  - { id: \"3\" }\n",
        );
    let found: Vec<(String, u32, String)> = config
        .errors()
        .iter()
        .map(|d| {
            assert_eq!(d.code, Code::Schema, "{d}");
            let location = d.location.as_ref().expect("located");
            let file = Path::new(&*location.file)
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (file, location.line, d.pointer.clone())
        })
        .collect();
    assert_eq!(
        found,
        [
            ("a.yaml".to_owned(), 3, "/teams/0/id".to_owned()),
            (
                "b.yaml".to_owned(),
                2,
                "/teams/1/products/0/seats".to_owned()
            ),
            ("b.yaml".to_owned(), 3, "/teams/2".to_owned()),
        ]
    );
}

/// `validate` checks team items while reading (the streaming check); it must agree
/// with the plain pipeline, stage after stage on the whole value.
#[test]
fn the_streaming_check_agrees_with_the_whole_value_on_teams() {
    let valid = format!(
        "{ACCOUNT}roles: [{{ name: Admin, default_access: [account_admin] }}]\n\
         members: [{{ email: alice@acme.example, role: Admin }}]\n\
         teams:\n  - {{ id: \"1\", name: A, members: [alice@acme.example], products: [{{ name: AutoCAD, seats: 1, assigned: [alice@acme.example] }}] }}\n"
    );
    let invalid = format!(
        "{ACCOUNT}teams:\n  - {{ id: 1, name: A }}\n  - {{ id: \"2\", name: B, colour: red, products: [{{ name: X, seats: 1.0 }}] }}\n"
    );
    for yaml in [valid, invalid] {
        let config = TestConfig::with(&yaml);
        let options = LoadOptions::default();
        let streamed = schema::load_and_check(config.path(), &options).map(|c| c.config);
        let whole = config::load(config.path(), &options).and_then(|l| schema::check(&l));
        match (streamed, whole) {
            (Ok(streamed), Ok(whole)) => {
                assert_eq!(streamed, whole);
                assert_eq!(streamed.teams.len(), 1);
            }
            (Err(mut streamed), Err(mut whole)) => {
                accord::diagnostic::sort(&mut streamed);
                accord::diagnostic::sort(&mut whole);
                assert_eq!(streamed, whole);
            }
            (streamed, whole) => panic!("disagree: {streamed:?} / {whole:?}"),
        }
    }
}

/// Editors complete and explain every key of a team from the committed schema.
#[test]
fn the_schema_describes_every_key_of_a_team_for_editors() {
    let schema = schema::schema();
    assert_eq!(
        schema["properties"]["teams"]["items"]["$ref"],
        "#/$defs/Team"
    );
    for (definition, keys) in [
        ("Team", &["id", "name", "members", "products"][..]),
        ("TeamProduct", &["name", "seats", "assigned"][..]),
    ] {
        let def = &schema["$defs"][definition];
        assert!(def["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(def["additionalProperties"], false);
        for key in keys {
            let described = def["properties"][key]["description"].as_str();
            assert!(
                described.is_some_and(|d| !d.is_empty()),
                "{definition}.{key}"
            );
        }
    }
    assert_eq!(
        schema["$defs"]["Team"]["required"],
        serde_json::json!(["id", "name"])
    );
    assert_eq!(
        schema["$defs"]["Team"]["properties"]["id"]["type"],
        "string"
    );
    assert_eq!(
        schema["$defs"]["TeamProduct"]["properties"]["seats"]["minimum"],
        0
    );
}

/// The README's configuration and its `teams` example, together, are valid.
#[test]
fn the_readme_configuration_with_its_team_is_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|block| block.split("```").next().expect("block"))
        .collect();
    let config = blocks
        .iter()
        .find(|b| b.contains("\naccount: "))
        .expect("the configuration block");
    let teams = blocks
        .iter()
        .find(|b| b.starts_with("teams:\n"))
        .expect("the teams block");
    let validated = TestConfig::with(&format!("{config}{teams}")).valid();
    let team = &validated.desired.state.teams["100001"];
    assert_eq!(
        team.users.len(),
        4,
        "bob, alice and group `structural` (dana, erik)"
    );
    assert_eq!(team.pools["AutoCAD"].seats, Some(10));
    assert_eq!(team.pools["Revit"].seats, None);
}
