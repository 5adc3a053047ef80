//! `validate` checks items while the files are read (`schema::load_and_check`) and
//! compiles on two threads; these tests hold it to the plain pipeline, stage after
//! stage on the whole merged value: `config::load`, `schema::check`, `rules::compile`.
//! Same diagnostics (messages, positions, order once sorted), same typed
//! configuration, same desired state, same positions.

use accord::config::{self, LoadOptions, schema};
use accord::diagnostic::{self, Diagnostic};
use accord::rules;

use crate::common::TestConfig;

const ACCOUNT: &str = "account: { id: acme-eu, name: ACME }\n";

const PEOPLE: &str = "\
companies:
  - { name: ACME }
roles:
  - { name: Admin, default_access: [account_admin] }
  - { name: Architect }
groups:
  - { name: team, members: [bob@acme.example, dana@acme.example] }
members:
  - { email: alice@acme.example, company: ACME, role: Admin }
  - { email: bob@acme.example, company: ACME, role: Architect }
  - { email: carol@acme.example, company: ACME, role: Architect, status: inactive }
  - { email: dana@acme.example, company: ACME, role: Architect }
";

const WORK: &str = "\
agreements:
  - number: \"1100\"
    name: AEC
    contract_manager: alice@acme.example
    products:
      - { name: AutoCAD, seats: 3, assigned: [alice@acme.example, group:team] }
    support: [bob@acme.example]
projects:
  - name: Tower
    members:
      - { email: alice@acme.example, access: admin, products: [docs, build] }
      - { group: team, products: [docs] }
";

/// The outcome of the plain pipeline, diagnostics sorted as `validate` sorts them.
fn reference(
    config: &TestConfig,
) -> Result<(config::ConfigFile, accord::desired::Desired), Vec<Diagnostic>> {
    let sorted = |mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        diagnostics
    };
    let loaded = config::load(config.path(), &LoadOptions::default()).map_err(sorted)?;
    let typed = schema::check(&loaded).map_err(sorted)?;
    let desired = rules::compile(&typed, &loaded.sources).map_err(sorted)?;
    Ok((typed, desired))
}

/// Asserts that `validate` and the plain pipeline agree on `config` and that it is valid.
fn agree_valid(config: &TestConfig) {
    let diagnostics = agree(config);
    assert!(diagnostics.is_empty(), "{:#?}", texts(&diagnostics));
}

/// Asserts that `validate` and the plain pipeline agree on `config`; returns the
/// diagnostics (empty when valid).
fn agree(config: &TestConfig) -> Vec<Diagnostic> {
    let expected = reference(config);
    let actual = config.validate();
    match (expected, actual) {
        (Ok((typed, desired)), Ok(validated)) => {
            assert_eq!(validated.config, typed);
            assert_eq!(validated.desired, desired);
            let loaded = config::load(config.path(), &LoadOptions::default()).expect("loads");
            for pointer in POINTERS {
                assert_eq!(
                    validated.sources.locate(pointer),
                    loaded.sources.locate(pointer),
                    "{pointer}"
                );
                assert_eq!(
                    validated.sources.locate_key(pointer),
                    loaded.sources.locate_key(pointer),
                    "{pointer}"
                );
            }
            Vec::new()
        }
        (Err(expected), Err(actual)) => {
            assert_eq!(actual, expected);
            actual
        }
        (expected, actual) => panic!(
            "the pipelines disagree:\nplain: {:?}\nstreamed: {:?}",
            expected.map(|_| "valid").map_err(|d| texts(&d)),
            actual.map(|_| "valid").map_err(|d| texts(&d)),
        ),
    }
}

const POINTERS: [&str; 10] = [
    "",
    "/account",
    "/members",
    "/members/0",
    "/members/2/email",
    "/members/9/email",
    "/projects/0/members/1/group",
    "/agreements/0/products/0/assigned/1",
    "/settings/max_removals",
    "/nothing/here",
];

fn texts(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(ToString::to_string).collect()
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(|d| d.code.to_string()).collect()
}

#[test]
fn a_valid_configuration_in_one_file_or_three() {
    let one = TestConfig::with(&format!("{ACCOUNT}{PEOPLE}{WORK}"));
    agree_valid(&one);
    let three = TestConfig::new()
        .file("a.yaml", ACCOUNT)
        .file("b.yaml", PEOPLE)
        .file("c.yaml", WORK)
        .file("d.yaml", "# only a comment\n");
    agree_valid(&three);
}

#[test]
fn lists_split_across_files_merge_in_file_order() {
    let config = TestConfig::new()
        .file("1.yaml", format!("{ACCOUNT}{PEOPLE}"))
        .file("2.yaml", "members:\n  - { email: dan@acme.example }\n  - { email: erin@acme.example, frist_name: Erin }\n")
        .file("3.yaml", "members: [{ email: dan@acme.example }]\n");
    let diagnostics = agree(&config);
    assert_eq!(codes(&diagnostics), ["schema"]);
    assert_eq!(diagnostics[0].pointer, "/members/5/frist_name");
    let valid = TestConfig::new()
        .file("1.yaml", format!("{ACCOUNT}{PEOPLE}"))
        .file("2.yaml", "members:\n  - { email: dan@acme.example }\n")
        .file("3.yaml", WORK);
    agree_valid(&valid);
}

#[test]
fn schema_errors_in_items_and_outside_them() {
    let companies = TestConfig::with(&format!(
        "{ACCOUNT}companies:\n  - {{ name: \"\" }}\n  - 7\n  - ~\n"
    ));
    assert_eq!(codes(&agree(&companies)), ["schema", "schema", "schema"]);
    let config = TestConfig::with(&format!(
        "{ACCOUNT}colour: blue\nsettings: {{ max_removals: -1 }}\n{PEOPLE}\
         projects:\n  - name: T\n    members:\n      - {{ email: a@acme.example, group: team }}\n      - {{ access: Admin }}\n      - group:team\n\
         agreements:\n  - {{ number: 1100, name: AEC }}\n  - {{ number: \"1\", name: B, contract_manager: a@acme.example, products: [{{ name: X, seats: -2 }}] }}\n"
    ));
    let diagnostics = agree(&config);
    assert!(diagnostics.len() >= 8, "{:#?}", texts(&diagnostics));
    assert!(codes(&diagnostics).iter().all(|code| code == "schema"));
}

#[test]
fn a_section_of_the_wrong_type_first_hides_later_lists() {
    // The first `members` is a mapping: the schema says so, and the later list
    // (and the problems in it) are not part of the configuration.
    let config = TestConfig::new()
        .file(
            "1.yaml",
            format!("{ACCOUNT}members: {{ email: a@acme.example }}\n"),
        )
        .file(
            "2.yaml",
            "members:\n  - { email: b@acme.example, frist_name: B }\n",
        );
    let diagnostics = agree(&config);
    assert_eq!(diagnostics.len(), 1, "{:#?}", texts(&diagnostics));
    // A later section of the wrong type is the loader's error, before any schema error.
    let config = TestConfig::new()
        .file(
            "1.yaml",
            format!("{ACCOUNT}members:\n  - {{ email: a@acme.example, x: 1 }}\n"),
        )
        .file("2.yaml", "members: { email: b@acme.example }\n");
    assert_eq!(codes(&agree(&config)), ["schema"]);
}

#[test]
fn loader_errors_stop_before_schema_errors() {
    let config = TestConfig::new()
        .file(
            "1.yaml",
            format!("{ACCOUNT}members:\n  - {{ email: a@acme.example, x: 1 }}\n"),
        )
        .file("2.yaml", "projects:\n  - name: [unclosed\n");
    assert_eq!(codes(&agree(&config)), ["yaml"]);
    let twice = TestConfig::new()
        .file("1.yaml", format!("{ACCOUNT}{PEOPLE}"))
        .file(
            "2.yaml",
            format!("{ACCOUNT}settings: {{ prune: true }}\nsettings: {{ prune: false }}\n"),
        );
    // `account` again (a schema error of the merge) at line 1, `settings` twice in
    // one mapping (a YAML error) at line 3.
    let diagnostics = agree(&twice);
    assert_eq!(codes(&diagnostics), ["schema", "yaml"]);
}

#[test]
fn a_list_section_repeated_in_one_file_is_a_duplicate_key() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}members:\n  - {{ email: a@acme.example }}\nmembers:\n  - {{ email: b@acme.example, x: 1 }}\n"
    ));
    assert_eq!(codes(&agree(&config)), ["yaml"]);
}

#[test]
fn anchors_aliases_and_merge_keys_behave_as_in_the_whole_value() {
    // An anchored section is not streamed (an alias may need its items); aliased
    // items and sections, and sections merged in with `<<`, are checked too.
    let config = TestConfig::with(&format!(
        "{ACCOUNT}companies: &companies\n  - {{ name: ACME }}\n\
         roles:\n  - &role {{ name: Architect }}\n\
         members:\n  - &alice {{ email: alice@acme.example, company: ACME, access: [account_admin] }}\n  - {{ <<: *alice, email: bob@acme.example }}\n\
         x-roles: *companies\n"
    ));
    assert_eq!(codes(&agree(&config)), ["schema"]);
    let merged = TestConfig::with(&format!(
        "{ACCOUNT}base: &base\n  groups: [{{ name: g, members: [] }}]\n  projects: [{{ name: P, members: [{{ email: x@acme.example, frist: 1 }}] }}]\n<<: *base\n"
    ));
    let diagnostics = agree(&merged);
    assert!(diagnostics.len() >= 2, "{:#?}", texts(&diagnostics));
    let aliased = TestConfig::with(&format!(
        "{ACCOUNT}x: &people [{{ email: a@acme.example, access: [account_admin] }}]\nmembers: *people\n"
    ));
    assert_eq!(codes(&agree(&aliased)), ["schema"]);
}

#[test]
fn whole_numbers_written_as_fractions_are_located_in_items_and_settings() {
    let config = TestConfig::with(&format!(
        "{ACCOUNT}settings: {{ max_removals: 5.0 }}\n{PEOPLE}{}",
        WORK.replace("seats: 3", "seats: 3.0")
    ));
    let diagnostics = agree(&config);
    assert_eq!(
        diagnostics
            .iter()
            .map(|d| d.pointer.as_str())
            .collect::<Vec<_>>(),
        ["/settings/max_removals", "/agreements/0/products/0/seats"]
    );
}

#[test]
fn a_configuration_without_account_and_empty_files() {
    assert_eq!(codes(&agree(&TestConfig::with(PEOPLE))), ["schema"]);
    let empty = TestConfig::new()
        .file("a.yaml", "")
        .file("b.yaml", "# nothing\n");
    assert_eq!(codes(&agree(&empty)), ["schema"]);
}

#[test]
fn rule_errors_are_the_same() {
    let config = TestConfig::new()
        .file("1.yaml", format!("{ACCOUNT}{PEOPLE}"))
        .file(
            "2.yaml",
            format!(
                "{}members:\n  - {{ email: Alice@acme.example }}\n",
                WORK.replace("[docs]", "[build]")
                    .replace("seats: 3", "seats: 1")
            ),
        );
    let diagnostics = agree(&config);
    assert!(diagnostics.len() >= 3, "{:#?}", texts(&diagnostics));
}

#[test]
fn the_invalid_examples_agree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("invalid")).expect("examples/invalid") {
        let path = entry.expect("entry").path();
        if !path.is_dir() {
            continue;
        }
        let mut config = TestConfig::new();
        for file in std::fs::read_dir(&path).expect("example") {
            let file = file.expect("file").path();
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            config = config.file(&name, std::fs::read(&file).expect("read"));
        }
        assert!(!agree(&config).is_empty(), "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn a_large_generated_configuration_agrees_in_one_file_and_in_many() {
    let header =
        "companies: [{ name: ACME }]\nroles: [{ name: Admin, default_access: [account_admin] }]\n";
    let members: Vec<String> = (0..400)
        .map(|i| format!("  - {{ email: m{i}@acme.example, company: ACME, role: Admin }}\n"))
        .collect();
    let projects: Vec<String> = (0..40)
        .map(|p| {
            let mut project = format!("  - name: P{p}\n    members:\n");
            for m in 0..10 {
                project.push_str(&format!(
                    "      - {{ email: m{}@acme.example }}\n",
                    p * 10 + m
                ));
            }
            project
        })
        .collect();
    let whole = format!(
        "{ACCOUNT}{header}members:\n{}projects:\n{}",
        members.concat(),
        projects.concat()
    );
    agree_valid(&TestConfig::with(&whole));
    let mut split = TestConfig::new().file("00.yaml", format!("{ACCOUNT}{header}"));
    for (i, chunk) in members.chunks(57).enumerate() {
        split = split.file(
            &format!("1{i}.yaml"),
            format!("members:\n{}", chunk.concat()),
        );
    }
    for (i, chunk) in projects.chunks(15).enumerate() {
        split = split.file(
            &format!("2{i}.yaml"),
            format!("projects:\n{}", chunk.concat()),
        );
    }
    agree_valid(&split);
}
