//! Tests of the loader: finding files, refusing bad ones, merging, positions.

use std::path::Path;
use std::time::Instant;

use accord::config::{self, LoadOptions, Loaded};
use accord::diagnostic::{Code, Diagnostic};
use serde_json::json;

use crate::common::TestConfig;

fn load(config: &TestConfig) -> Result<Loaded, Vec<Diagnostic>> {
    config::load(config.path(), &LoadOptions::default())
}

fn loaded(config: &TestConfig) -> Loaded {
    load(config).unwrap_or_else(|diagnostics| {
        panic!(
            "expected the files to load, got:\n{}",
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn errors(config: &TestConfig) -> Vec<Diagnostic> {
    match load(config) {
        Ok(loaded) => panic!("expected loader errors, loaded {}", loaded.value),
        Err(diagnostics) => diagnostics,
    }
}

/// The only diagnostic, checked for its code.
fn only_error(config: &TestConfig, code: Code) -> Diagnostic {
    let diagnostics = errors(config);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let diagnostic = diagnostics.into_iter().next().expect("one");
    assert_eq!(diagnostic.code, code, "{diagnostic}");
    diagnostic
}

/// Asserts the diagnostic is in `file` (by file name) at `line` (and `column`,
/// when given), and that its printed form names that place.
fn assert_at(diagnostic: &Diagnostic, file: &str, line: u32, column: Option<u32>) {
    let location = diagnostic
        .location
        .as_ref()
        .unwrap_or_else(|| panic!("no location: {diagnostic}"));
    assert!(
        location.file.ends_with(file),
        "{diagnostic}: expected file {file}"
    );
    assert_eq!(location.line, line, "{diagnostic}");
    if let Some(column) = column {
        assert_eq!(location.column, column, "{diagnostic}");
    }
    let printed = diagnostic.to_string();
    assert!(
        printed.contains(&format!("{file}:{line}:")),
        "{printed} should name {file}:{line}"
    );
}

fn assert_message(diagnostic: &Diagnostic, part: &str) {
    assert!(
        diagnostic.message.contains(part),
        "message {:?} should contain {part:?}",
        diagnostic.message
    );
}

/// (file name, line, column) of a location.
fn place(location: Option<accord::diagnostic::Location>) -> (String, u32, u32) {
    let location = location.expect("located");
    let name = Path::new(&*location.file)
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    (name, location.line, location.column)
}

// ---- Refusals -------------------------------------------------------------

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let config = TestConfig::new()
        .file("a.yaml", "account: { id: acme }\n")
        .file("b.yaml", "members:\n  - [alice@acme.example, bob\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "b.yaml", 3, Some(1));
    assert_message(&diagnostic, "invalid YAML");
}

#[test]
fn duplicate_keys_cite_both_places() {
    let config = TestConfig::new().file(
        "people.yaml",
        "members:\n  - email: alice@acme.example\n    role: Architect\n    email: bob@acme.example\n",
    );
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "people.yaml", 4, Some(5));
    assert_message(&diagnostic, "duplicate key `email`");
    assert_message(&diagnostic, "first at line 2, column 5");
    assert_eq!(diagnostic.related.len(), 1);
    assert_eq!(diagnostic.related[0].location.line, 2);
    assert_eq!(diagnostic.related[0].location.column, 5);
    assert_eq!(diagnostic.pointer, "/members/0/email");
}

#[test]
fn a_section_repeated_in_one_file_is_a_duplicate_key() {
    let config = TestConfig::new().file(
        "a.yaml",
        "members:\n  - { email: a@acme.example }\nroles: []\nmembers:\n  - { email: b@acme.example }\n",
    );
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "a.yaml", 4, Some(1));
    assert_eq!(diagnostic.related[0].location.line, 1);
}

#[test]
fn duplicate_keys_in_a_later_file_get_merged_pointers() {
    let config = TestConfig::new()
        .file(
            "a.yaml",
            "members:\n  - { email: a@acme.example }\n  - { email: b@acme.example }\n",
        )
        .file(
            "b.yaml",
            "members:\n  - { email: c@acme.example, email: d@acme.example }\n",
        );
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "b.yaml", 2, Some(30));
    assert_eq!(diagnostic.pointer, "/members/2/email");
}

#[test]
fn tab_indentation_is_refused_with_a_clear_message() {
    // saphyr reports this one as a scan error (on the line before).
    let config = TestConfig::new().file("a.yaml", "account:\n  id: acme\n\tname: ACME\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "a.yaml", 3, Some(1));
    assert_message(
        &diagnostic,
        "tabs are not allowed for indentation; use spaces",
    );

    // saphyr accepts this one: a space, then a tab, then content.
    let config = TestConfig::new().file("b.yaml", "account:\n \tid: acme\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "b.yaml", 2, Some(2));
    assert_message(&diagnostic, "tabs are not allowed for indentation");

    let config = TestConfig::new().file("c.yaml", "roles:\n  - a\n\t- b\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "c.yaml", 3, Some(1));
    assert_message(&diagnostic, "tabs are not allowed for indentation");
}

#[test]
fn tabs_between_tokens_are_fine() {
    let config = TestConfig::new().file(
        "a.yaml",
        "account:\t{ id: acme }\t# tab before a comment\n\t# an indented comment\nnote: a b\n",
    );
    let loaded = loaded(&config);
    assert_eq!(loaded.value["note"], json!("a b"));
}

/// Issue 14, item 8: the texts of a configuration are names, addresses and numbers;
/// a control character in one (a tab, a line break, an ESC written as `\e`) or a
/// bidirectional override is refused where it is, as the account service refuses it.
#[test]
fn a_control_character_or_an_override_inside_a_text_is_refused_where_it_is() {
    // A block scalar's position is its first line of content.
    for (text, line, code_point) in [
        ("note: |\n  a\tb\n", 3, "U+0009"),
        ("note: \"Acme\\e[2K\"\n", 2, "U+001B"),
        ("note: \"a\\u202eb\"\n", 2, "U+202E"),
        ("note: [ok, \"x\\ry\"]\n", 2, "U+000D"),
    ] {
        let config = TestConfig::new().file("a.yaml", format!("account: {{ id: acme }}\n{text}"));
        let diagnostic = only_error(&config, Code::Yaml);
        assert_at(&diagnostic, "a.yaml", line, None);
        assert!(
            diagnostic
                .message
                .contains(&format!("control character {code_point}")),
            "{text}: {diagnostic}"
        );
    }
}

#[test]
fn an_alias_bomb_is_refused() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let previous = level - 1;
        let aliases = vec![format!("*a{previous}"); 10].join(", ");
        yaml.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    let config = TestConfig::new().file("bomb.yaml", yaml);
    let started = Instant::now();
    let diagnostic = only_error(&config, Code::Yaml);
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
    assert_message(
        &diagnostic,
        "alias expansion too large (possible alias bomb)",
    );
    // 10^6 nodes are reached within the aliases of line 6 (`a5`).
    assert_at(&diagnostic, "bomb.yaml", 6, None);
}

#[test]
fn anchors_aliases_and_merge_keys_are_supported() {
    let config = TestConfig::new().file(
        "a.yaml",
        "\
defaults: &architect { company: ACME, role: Architect }
members:
  - { email: a@acme.example, <<: *architect }
  - <<: *architect
    email: b@acme.example
    role: BIM Manager
  - &carol { email: c@acme.example }
copy: *carol
",
    );
    let loaded = loaded(&config);
    let members = &loaded.value["members"];
    assert_eq!(
        members[0],
        json!({"email": "a@acme.example", "company": "ACME", "role": "Architect"})
    );
    // Explicit keys win over merged ones, wherever they are written.
    assert_eq!(members[1]["role"], json!("BIM Manager"));
    assert_eq!(members[1]["company"], json!("ACME"));
    assert_eq!(loaded.value["copy"], json!({"email": "c@acme.example"}));
    // A merged key is located at the `<<` value (the alias); a node inside an
    // alias at the alias.
    assert_eq!(
        place(loaded.sources.locate("/members/1/company")),
        ("a.yaml".into(), 4, 9)
    );
    assert_eq!(
        place(loaded.sources.locate("/copy/email")),
        ("a.yaml".into(), 8, 7)
    );
}

#[test]
fn a_merge_key_needs_a_mapping() {
    let config = TestConfig::new().file(
        "a.yaml",
        "members:\n  - { <<: text, email: a@acme.example }\n",
    );
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "a.yaml", 2, Some(11));
    assert_message(&diagnostic, "merge key `<<`");
}

#[test]
fn an_unknown_alias_is_refused() {
    let config = TestConfig::new().file("a.yaml", "account: { id: acme }\nmembers: *everyone\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "a.yaml", 2, Some(10));
    assert_message(&diagnostic, "unknown anchor");
}

#[test]
fn absurd_nesting_is_refused_without_a_crash() {
    let depth = 100_000;
    let yaml = format!("deep: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let config = TestConfig::new().file("deep.yaml", yaml);
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "deep.yaml", 1, None);
}

#[test]
fn non_utf8_files_are_refused_at_the_first_bad_byte() {
    let config = TestConfig::new()
        .file("a.yaml", "account: { id: acme }\n")
        .file(
            "latin1.yaml",
            b"members:\n  - { email: caf\xe9@acme.example }\n",
        );
    let diagnostic = only_error(&config, Code::File);
    assert_at(&diagnostic, "latin1.yaml", 2, Some(17));
    assert_message(&diagnostic, "not valid UTF-8");
    assert_message(&diagnostic, "latin1.yaml");
}

#[test]
fn utf16_files_are_refused() {
    let config = TestConfig::new().file("a.yaml", b"\xff\xfea\x00:\x00 \x001\x00");
    let diagnostic = only_error(&config, Code::File);
    assert_at(&diagnostic, "a.yaml", 1, Some(1));
    assert_message(&diagnostic, "UTF-16");
}

#[test]
fn binary_files_are_refused() {
    let config = TestConfig::new().file("image.yaml", b"account: x\nab\x00\x01\x02\xff");
    let diagnostic = only_error(&config, Code::File);
    assert_at(&diagnostic, "image.yaml", 2, Some(3));
    assert_message(&diagnostic, "binary");
}

#[test]
fn a_top_level_that_is_not_a_mapping_is_refused() {
    let config = TestConfig::new().file(
        "list.yaml",
        "# members\n- alice@acme.example\n- bob@acme.example\n",
    );
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "list.yaml", 2, Some(1));
    assert_message(&diagnostic, "must be a mapping of sections, not a list");

    let config = TestConfig::new().file("scalar.yaml", "\n  just some text\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "scalar.yaml", 2, Some(3));
}

#[test]
fn a_second_document_is_refused() {
    let config = TestConfig::new().file("a.yaml", "---\naccount: { id: acme }\n---\nmembers: []\n");
    let diagnostic = only_error(&config, Code::Yaml);
    assert_at(&diagnostic, "a.yaml", 3, Some(1));
    assert_message(&diagnostic, "second YAML document");
}

#[test]
fn files_over_the_size_limit_are_refused_with_the_limit_and_the_flag() {
    let config = TestConfig::new().file("big.yaml", format!("note: {}\n", "x".repeat(2000)));
    let options = LoadOptions {
        max_file_size: 1024,
        ..LoadOptions::default()
    };
    let diagnostics = config::load(config.path(), &options).expect_err("too large");
    assert_eq!(diagnostics.len(), 1);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.code, Code::File);
    assert_at(diagnostic, "big.yaml", 1, Some(1));
    assert_message(diagnostic, "big.yaml");
    assert_message(diagnostic, "over the limit of 0.000977 MiB");
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|h| h.contains("--max-file-size"))
    );
}

#[test]
fn the_size_limit_is_checked_before_reading() {
    // A sparse 4 GiB file: reading it would take seconds and gigabytes.
    let config = TestConfig::new();
    let file = std::fs::File::create(config.join("huge.yaml")).expect("create");
    file.set_len(4 << 30).expect("sparse file");
    let started = Instant::now();
    let diagnostic = only_error(&config, Code::File);
    assert!(
        started.elapsed().as_secs() < 2,
        "took {:?}",
        started.elapsed()
    );
    assert_message(&diagnostic, "is 4096 MiB");
    assert_message(&diagnostic, "over the limit of 64 MiB");
}

#[test]
fn non_string_keys_are_refused() {
    let config = TestConfig::new().file(
        "a.yaml",
        "account:\n  id: acme\n  123: number\nsettings:\n  ? [a, b]\n  : list\n  true: yes\n",
    );
    let diagnostics = errors(&config);
    let lines: Vec<(Code, u32, u32)> = diagnostics
        .iter()
        .map(|d| {
            let location = d.location.as_ref().expect("located");
            (d.code, location.line, location.column)
        })
        .collect();
    assert_eq!(
        lines,
        vec![(Code::Yaml, 3, 3), (Code::Yaml, 5, 5), (Code::Yaml, 7, 3)],
        "{diagnostics:#?}"
    );
    assert_message(&diagnostics[0], "the key `123` is not text");
}

#[test]
fn unsupported_tags_and_infinities_are_refused() {
    let config = TestConfig::new().file("a.yaml", "a: !secret x\nb: .inf\nc: !!int twelve\n");
    let diagnostics = errors(&config);
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    assert!(diagnostics.iter().all(|d| d.code == Code::Yaml));
    assert_at(&diagnostics[0], "a.yaml", 1, Some(4));
    assert_message(&diagnostics[0], "tag `!secret`");
    assert_at(&diagnostics[1], "a.yaml", 2, Some(4));
    assert_at(&diagnostics[2], "a.yaml", 3, Some(4));
}

#[test]
fn every_problem_of_every_file_is_reported_at_once() {
    let config = TestConfig::new()
        .file("1.yaml", "account: { id: acme\n")
        .file("2.yaml", "account: { id: acme }\n")
        .file("3.yaml", b"x: \xff\n")
        .file("4.yaml", "members: []\n\tbad: tab\n")
        .file("5.yaml", "roles: []\nroles: []\n")
        .file("6.yaml", "account: { id: other }\n");
    let diagnostics = errors(&config);
    let mut found: Vec<(String, Code)> = diagnostics
        .iter()
        .map(|d| (place(d.location.clone()).0, d.code))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("1.yaml".into(), Code::Yaml),
            ("3.yaml".into(), Code::File),
            ("4.yaml".into(), Code::Yaml),
            ("5.yaml".into(), Code::Yaml),
            ("6.yaml".into(), Code::Schema),
        ],
        "{diagnostics:#?}"
    );
}

#[test]
fn a_missing_path_is_a_file_error() {
    let config = TestConfig::new();
    let missing = config.join("nowhere");
    let diagnostics = config::load(&missing, &LoadOptions::default()).expect_err("missing");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, Code::File);
    assert_message(&diagnostics[0], "nowhere` does not exist");
}

#[test]
fn a_directory_without_yaml_files_is_a_file_error() {
    let config = TestConfig::new()
        .file("README.md", "# not configuration\n")
        .file("sub/a.yaml", "account: { id: acme }\n");
    let diagnostic = only_error(&config, Code::File);
    assert_message(&diagnostic, "no `*.yaml` or `*.yml` files in");
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|h| h.contains("--recursive"))
    );
}

// ---- Merging ----------------------------------------------------------------

#[test]
fn sections_merge_across_files_in_sorted_order() {
    // Written out of order: the loader sorts by path.
    let config = TestConfig::new()
        .file("b.yml", "members:\n  - { email: c@acme.example }\nroles:\n  - { name: R2 }\n")
        .file("c.yaml", "members:\n  - { email: d@acme.example }\nextra: 1\n")
        .file("a.yaml", "account: { id: acme }\nmembers:\n  - { email: a@acme.example }\n  - { email: b@acme.example }\nroles:\n  - { name: R1 }\n")
        .file("notes.txt", "not read\n");
    let loaded = loaded(&config);
    let emails: Vec<&str> = loaded.value["members"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["email"].as_str().expect("an email"))
        .collect();
    assert_eq!(
        emails,
        [
            "a@acme.example",
            "b@acme.example",
            "c@acme.example",
            "d@acme.example"
        ]
    );
    assert_eq!(
        loaded.value["roles"],
        json!([{"name": "R1"}, {"name": "R2"}])
    );
    assert_eq!(loaded.value["account"], json!({"id": "acme"}));
    // Unknown keys are kept for the schema check to report.
    assert_eq!(loaded.value["extra"], json!(1));
    let files: Vec<String> = loaded
        .sources
        .files()
        .iter()
        .map(|f| place(Some(accord::diagnostic::Location::new(f.as_str(), 1, 1))).0)
        .collect();
    assert_eq!(files, ["a.yaml", "b.yml", "c.yaml"]);
}

#[test]
fn account_or_settings_twice_is_a_schema_error_citing_both() {
    let config = TestConfig::new()
        .file(
            "a.yaml",
            "account: { id: acme }\nsettings: { prune: false }\n",
        )
        .file("b.yaml", "# second\n\naccount: { id: acme-us }\n")
        .file("c.yaml", "settings:\n  prune: true\n");
    let mut diagnostics = errors(&config);
    accord::diagnostic::sort(&mut diagnostics);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic.code, Code::Schema);
        assert_eq!(diagnostic.related.len(), 1);
        assert!(diagnostic.related[0].location.file.ends_with("a.yaml"));
    }
    assert_at(&diagnostics[0], "b.yaml", 3, Some(1));
    assert_message(&diagnostics[0], "`account` is declared a second time");
    assert_eq!(diagnostics[0].related[0].location.line, 1);
    assert_eq!(diagnostics[0].pointer, "/account");
    assert_at(&diagnostics[1], "c.yaml", 1, Some(1));
    assert_eq!(diagnostics[1].related[0].location.line, 2);
}

#[test]
fn a_later_list_section_that_is_not_a_list_is_refused() {
    let config = TestConfig::new()
        .file("a.yaml", "members:\n  - { email: a@acme.example }\n")
        .file("b.yaml", "members:\n  email: b@acme.example\n");
    let diagnostic = only_error(&config, Code::Schema);
    assert_at(&diagnostic, "b.yaml", 2, Some(3));
    assert_message(&diagnostic, "`members` must be a list, not a mapping");
    assert_eq!(diagnostic.related[0].location.line, 1);
}

#[test]
fn a_first_section_of_the_wrong_type_is_left_to_the_schema_check() {
    let config = TestConfig::new()
        .file("a.yaml", "members: everyone\nprojects:\n")
        .file("b.yaml", "members:\n  - { email: b@acme.example }\n");
    let loaded = loaded(&config);
    assert_eq!(loaded.value["members"], json!("everyone"));
    assert_eq!(loaded.value["projects"], json!(null));
    assert_eq!(
        place(loaded.sources.locate("/members")),
        ("a.yaml".into(), 1, 10)
    );
}

#[test]
fn empty_files_among_others_are_ignored() {
    let config = TestConfig::new()
        .file("0-empty.yaml", "")
        .file("1-comments.yaml", "# nothing yet\n# still nothing\n")
        .file("2-marker.yaml", "---\n# just a document marker\n")
        .file("3-null.yaml", "~\n")
        .file("4-real.yaml", "account: { id: acme }\n")
        .file("5-empty-mapping.yaml", "{}\n");
    let loaded = loaded(&config);
    assert_eq!(loaded.value, json!({"account": {"id": "acme"}}));
    assert_eq!(loaded.sources.files().len(), 6);
    // The root is located in the first file that holds something.
    assert_eq!(
        place(loaded.sources.locate("")),
        ("4-real.yaml".into(), 1, 1)
    );
}

#[test]
fn only_empty_files_load_as_an_empty_configuration() {
    // No `account`: the schema check reports that, not the loader, at the
    // start of the first file.
    let config = TestConfig::new()
        .file("a.yaml", "# empty\n")
        .file("b.yaml", "");
    let loaded = loaded(&config);
    assert_eq!(loaded.value, json!({}));
    assert_eq!(
        place(loaded.sources.locate("/account")),
        ("a.yaml".into(), 1, 1)
    );
}

#[test]
fn subdirectories_are_read_only_when_recursive() {
    let config = TestConfig::new()
        .file("a.yaml", "members:\n  - { email: a@acme.example }\n")
        .file("team/b.yaml", "members:\n  - { email: b@acme.example }\n")
        .file(
            "team/deeper/c.yml",
            "members:\n  - { email: c@acme.example }\n",
        )
        .file(".github/workflows/ci.yml", "on: push\n")
        .file(".hidden.yaml", "members: oops\n");
    let flat = loaded(&config);
    assert_eq!(flat.value["members"].as_array().map(Vec::len), Some(1));

    let options = LoadOptions {
        recursive: true,
        ..LoadOptions::default()
    };
    let deep = config::load(config.path(), &options).expect("loads");
    let emails: Vec<&str> = deep.value["members"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["email"].as_str().expect("email"))
        .collect();
    assert_eq!(
        emails,
        ["a@acme.example", "b@acme.example", "c@acme.example"]
    );
    assert!(
        deep.value.get("on").is_none(),
        "hidden directories are skipped"
    );
    let c = deep.sources.locate("/members/2/email").expect("located");
    let expected = config.path().join("team").join("deeper").join("c.yml");
    assert_eq!(&*c.file, expected.display().to_string());
}

// ---- Positions ----------------------------------------------------------------

#[test]
fn positions_of_nested_nodes_across_files() {
    let path = Path::new("tests/data/loader/split");
    let loaded = config::load(path, &LoadOptions::default()).expect("the fixture loads");
    let sources = &loaded.sources;
    // Relative paths stay relative.
    assert_eq!(
        sources.files(),
        [
            "tests/data/loader/split/1-people.yaml",
            "tests/data/loader/split/2-more-people.yaml",
            "tests/data/loader/split/3-empty.yaml"
        ]
    );
    let email = sources.locate("/members/3/email").expect("located");
    assert_eq!(&*email.file, "tests/data/loader/split/2-more-people.yaml");
    assert_eq!((email.line, email.column), (7, 12));
    assert_eq!(
        place(sources.locate_key("/members/3/email")),
        ("2-more-people.yaml".into(), 7, 5)
    );
    assert_eq!(
        place(sources.locate("/members/3/role")),
        ("2-more-people.yaml".into(), 10, 11)
    );
    assert_eq!(
        place(sources.locate("/members/2")),
        ("2-more-people.yaml".into(), 3, 5)
    );
    assert_eq!(
        place(sources.locate("/members/1/email")),
        ("1-people.yaml".into(), 12, 12)
    );
    // A missing field locates the member; a missing member the section.
    assert_eq!(
        place(sources.locate("/members/3/last_name")),
        ("2-more-people.yaml".into(), 7, 5)
    );
    assert_eq!(
        place(sources.locate("/members/9/email")),
        ("1-people.yaml".into(), 9, 3)
    );
    assert_eq!(
        place(sources.locate_key("/members")),
        ("1-people.yaml".into(), 8, 1)
    );
    assert_eq!(
        place(sources.locate("/projects/0/members/0/products/1")),
        ("2-more-people.yaml".into(), 14, 69)
    );
    assert_eq!(
        place(sources.locate("/account/name")),
        ("1-people.yaml".into(), 2, 31)
    );
    assert_eq!(
        place(sources.locate("/roles/0/default_access/0")),
        ("1-people.yaml".into(), 6, 43)
    );
    assert_eq!(loaded.value["members"][3]["first_name"], json!("Dana"));
}

#[test]
fn keys_with_slashes_and_tildes_are_escaped_in_pointers() {
    let config = TestConfig::new().file("a.yaml", "extra:\n  a/b: 1\n  c~d: 2\n");
    let loaded = loaded(&config);
    assert_eq!(
        place(loaded.sources.locate("/extra/a~1b")),
        ("a.yaml".into(), 2, 8)
    );
    assert_eq!(
        place(loaded.sources.locate_key("/extra/c~0d")),
        ("a.yaml".into(), 3, 3)
    );
}

// ---- Scalars ----------------------------------------------------------------------

#[test]
fn scalars_are_typed_by_the_yaml_1_2_core_schema() {
    let config = TestConfig::new().file(
        "a.yaml",
        "\
nulls: [null, ~, Null, NULL]
empty:
bools: [true, false, True, FALSE]
not_bools: [yes, no, on, off]
ints: [0, -12, +7, 0o17, 0x1F, 007]
floats: [1.5, -0.25, .5, 1e3]
quoted: ['12', \"true\", 'null']
tagged: !!str 123
forced: [!!str true, ! 12, !!int '42', !!float 1]
number: \"110001234567\"
plain_number: 110001234567
text: Tower A
multi: >-
  line one
  line two
",
    );
    let value = loaded(&config).value;
    assert_eq!(value["nulls"], json!([null, null, null, null]));
    assert_eq!(value["empty"], json!(null));
    assert_eq!(value["bools"], json!([true, false, true, false]));
    assert_eq!(value["not_bools"], json!(["yes", "no", "on", "off"]));
    assert_eq!(value["ints"], json!([0, -12, 7, 15, 31, 7]));
    assert_eq!(value["floats"], json!([1.5, -0.25, 0.5, 1000.0]));
    assert_eq!(value["quoted"], json!(["12", "true", "null"]));
    assert_eq!(value["tagged"], json!("123"));
    assert_eq!(value["forced"], json!(["true", "12", 42, 1.0]));
    assert_eq!(value["number"], json!("110001234567"));
    assert_eq!(value["plain_number"], json!(110_001_234_567_u64));
    assert_eq!(value["text"], json!("Tower A"));
    // Folded: a configuration's texts are names, which hold no line break.
    assert_eq!(value["multi"], json!("line one line two"));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let config = TestConfig::new().file("a.yaml", "\u{feff}account: { id: acme }\n");
    let loaded = loaded(&config);
    assert_eq!(loaded.value["account"]["id"], json!("acme"));
    assert_eq!(place(loaded.sources.locate("/account")).1, 1);
}

// ---- Scale ------------------------------------------------------------------------

/// A configuration of `members` members, about 3 project memberships each.
fn generated(members: usize) -> String {
    use std::fmt::Write as _;
    let mut yaml = String::from("account: { id: acme, name: ACME }\ncompanies:\n");
    for company in 0..members.div_ceil(50) {
        writeln!(
            yaml,
            "  - {{ name: Company {company}, trade: Architecture }}"
        )
        .expect("write");
    }
    yaml.push_str("members:\n");
    for member in 0..members {
        writeln!(
            yaml,
            "  - email: person{member}@acme.example\n    first_name: Person\n    last_name: Number{member}\n    company: Company {}\n    role: Architect\n    access: [executive]",
            member / 50
        )
        .expect("write");
    }
    yaml.push_str("projects:\n");
    for project in 0..members / 20 {
        writeln!(yaml, "  - name: Project {project}\n    members:").expect("write");
        for slot in 0..60 {
            let member = (project * 20 + slot) % members;
            writeln!(
                yaml,
                "      - {{ email: person{member}@acme.example, access: member, products: [docs, build] }}"
            )
            .expect("write");
        }
    }
    yaml
}

#[test]
fn a_large_generated_configuration_loads() {
    let members = 20_000;
    let config = TestConfig::new().file("big.yaml", generated(members));
    let size = std::fs::metadata(config.join("big.yaml"))
        .expect("size")
        .len();
    let started = Instant::now();
    let loaded = loaded(&config);
    let elapsed = started.elapsed();
    eprintln!(
        "loaded {members} members ({:.1} MB, {} positions) in {elapsed:?}",
        size as f64 / 1e6,
        loaded.sources.len()
    );
    assert_eq!(
        loaded.value["members"].as_array().map(Vec::len),
        Some(members)
    );
    let last = loaded
        .sources
        .locate(&format!("/members/{}/access/0", members - 1))
        .expect("located");
    assert_eq!(
        last.line,
        2 + members.div_ceil(50) as u32 + 1 + 6 * (members as u32 - 1) + 6
    );
}

#[test]
fn split_files_load_in_parallel_and_merge_in_order() {
    let mut config = TestConfig::new();
    for file in 0..8 {
        let mut yaml = String::from("members:\n");
        for member in 0..500 {
            yaml.push_str(&format!("  - {{ email: p{file}-{member}@acme.example }}\n"));
        }
        config = config.file(&format!("part-{file:02}.yaml"), yaml);
    }
    let loaded = loaded(&config);
    let members = loaded.value["members"].as_array().expect("a list");
    assert_eq!(members.len(), 4000);
    assert_eq!(members[1234]["email"], json!("p2-234@acme.example"));
    assert_eq!(
        place(loaded.sources.locate("/members/1234/email")),
        ("part-02.yaml".into(), 236, 14)
    );
}

#[test]
fn team_lists_merge_across_files_with_positions_for_every_node() {
    let config = TestConfig::new()
        .file(
            "a.yaml",
            "account: { id: acme, name: ACME }\nteams:\n  - id: \"100001\"\n    name: ACME EU\n    members: [it@acme.example]\n",
        )
        .file(
            "b.yaml",
            "teams:\n  - id: \"100002\"\n    name: ACME US\n    products:\n      - name: AutoCAD\n        seats: 4\n        assigned:\n          - alice@acme.example\n          - group:structural\n",
        );
    for loaded in [
        loaded(&config),
        // What `validate` uses: team items checked and typed as they are read.
        {
            let checked =
                accord::config::schema::load_and_check(config.path(), &LoadOptions::default())
                    .expect("valid");
            assert_eq!(checked.config.teams.len(), 2);
            assert_eq!(checked.config.teams[1].products[0].seats, Some(4));
            Loaded {
                value: json!({}),
                sources: checked.sources,
            }
        },
    ] {
        let sources = &loaded.sources;
        let at = |pointer: &str| place(sources.locate(pointer));
        assert_eq!(at("/teams/0/id"), ("a.yaml".into(), 3, 9));
        assert_eq!(at("/teams/0/members/0"), ("a.yaml".into(), 5, 15));
        assert_eq!(at("/teams/1"), ("b.yaml".into(), 2, 5));
        assert_eq!(at("/teams/1/name"), ("b.yaml".into(), 3, 11));
        assert_eq!(at("/teams/1/products/0"), ("b.yaml".into(), 5, 9));
        assert_eq!(at("/teams/1/products/0/seats"), ("b.yaml".into(), 6, 16));
        assert_eq!(
            at("/teams/1/products/0/assigned/1"),
            ("b.yaml".into(), 9, 13)
        );
        assert_eq!(
            place(sources.locate_key("/teams/1/products/0/seats")),
            ("b.yaml".into(), 6, 9)
        );
        assert_eq!(place(sources.locate_key("/teams")), ("a.yaml".into(), 2, 1));
    }
    let whole = loaded(&config);
    let ids: Vec<&str> = whole.value["teams"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_str().expect("text"))
        .collect();
    assert_eq!(ids, ["100001", "100002"]);
}
