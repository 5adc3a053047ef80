//! Hostile input through the binary: configurations from pull requests are
//! written by anyone, so no input may make accord abort, panic or hang.

use crate::common::{TestConfig, accord};

/// Issue 14, item 1: 70,000 levels of block nesting were a stack overflow
/// (exit 134) with no location.
#[test]
fn deep_block_nesting_is_a_yaml_error_with_a_location() {
    let config = TestConfig::new().file("x.yaml", format!("{}a\n", "- ".repeat(70_000)));
    let output = accord()
        .args(["validate"])
        .arg(config.join("x.yaml"))
        .output()
        .expect("run accord");
    // Diagnostics go to standard output; standard error would hold a crash.
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[yaml]"), "{stderr}");
    assert!(stderr.contains("nested more than 128 levels"), "{stderr}");
    assert!(stderr.contains("x.yaml:1:"), "{stderr}");
}

/// Standard output and standard error of a run, for assertion messages.
fn all_output(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Issue 14, item 2: a diagnostic past column 65,535 panicked in the human
/// renderer (exit 101); the line is now shown cut around the error.
#[test]
fn a_column_past_65535_is_reported_without_a_panic_and_the_line_is_shortened() {
    let line = format!(
        "account: {{id: a, name: b,{}bogus: 1}}\n",
        " ".repeat(65_600)
    );
    let config = TestConfig::new().file("wide.yaml", line);
    let output = accord()
        .args(["validate", "--color", "never"])
        .arg(config.join("wide.yaml"))
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error["), "{text}");
    // The header names the column in the file, the snippet shows the key.
    assert!(text.contains("wide.yaml:1:65626"), "{text}");
    assert!(text.contains("bogus"), "{text}");
    assert!(text.contains('…'), "the cut is marked: {text}");
    let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 160, "a line of {longest} characters: {text}");
}

/// Issue 14, item 2: a long line is shown around the column at fault, with the
/// caret under the token, not from its start.
#[test]
fn a_long_line_is_shown_around_the_error_with_the_caret_under_it() {
    let padding = "x".repeat(500);
    let yaml =
        format!("account: {{ id: acme, name: ACME }}\nsettings: {{ note: {padding}, bogus: 1 }}\n");
    let config = TestConfig::new().file("a.yaml", yaml);
    let output = accord()
        .args(["validate", "--color", "never"])
        .arg(config.join("a.yaml"))
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let shown = text
        .lines()
        .find(|l| l.contains("bogus") && l.contains(" 2 │"))
        .unwrap_or_else(|| panic!("the line at fault: {text}"));
    assert!(shown.contains("…xxx"), "cut at the left: {shown}");
    assert!(shown.chars().count() < 160, "{shown}");
    let caret_line = text
        .lines()
        .skip_while(|l| !std::ptr::eq(*l, shown))
        .nth(1)
        .expect("the caret line");
    let at = |line: &str, needle: &str| line.find(needle).map(|b| line[..b].chars().count());
    let caret = caret_line.chars().position(|c| c == '─' || c == '┬');
    assert_eq!(caret, at(shown, "bogus"), "{shown}\n{caret_line}");
}

/// Issue 14, item 2: control characters in a file are not sent to the terminal
/// in a snippet (an ESC could rewrite what a CI log shows).
#[test]
fn a_snippet_shows_control_characters_as_replacement_marks() {
    let config = TestConfig::new().file(
        "a.yaml",
        "account: { id: acme, name: ACME }\nsettings: { note: \"a\u{1b}[2Jb\", bogus: 1 }\n",
    );
    let output = accord()
        .args(["validate", "--color", "never"])
        .arg(config.join("a.yaml"))
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("a\u{FFFD}[2Jb"), "{text}");
}

/// `count` members, each with an unknown key: one schema error each.
fn members_with_unknown_keys(count: usize) -> String {
    use std::fmt::Write;
    let mut yaml = String::from(
        "account: { id: acme, name: ACME }\nroles:\n  - { name: R, default_access: [account_admin] }\nmembers:\n",
    );
    for i in 0..count {
        let _ = writeln!(
            yaml,
            "  - {{ email: m{i}@acme.example, role: R, bogus: {i} }}"
        );
    }
    yaml
}

/// Issue 14, item 3: human output was quadratic in the number of errors (8,000
/// took 4.7 s, 100,000 did not finish in 120 s). 30,000 errors, ~100 s at the
/// old rate, must take a few seconds; the bound leaves room for a loaded machine.
#[test]
fn human_error_output_is_linear_in_the_number_of_errors() {
    let config = TestConfig::new().file("many.yaml", members_with_unknown_keys(30_000));
    let started = std::time::Instant::now();
    let output = accord()
        .args(["validate", "--color", "never"])
        .arg(config.join("many.yaml"))
        .output()
        .expect("run accord");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", all_output(&output));
    assert!(
        stdout.ends_with("30000 errors found\n"),
        "{}",
        &stdout[stdout.len().saturating_sub(300)..]
    );
    // Each error has its own snippet with its own line.
    assert!(
        stdout.contains("30004 │   - { email: m29999@acme.example"),
        "the last snippet"
    );
    assert!(elapsed < std::time::Duration::from_secs(25), "{elapsed:?}");
}

/// Issue 14, item 4: a file refused as too large was read whole to draw its
/// snippet (a 3 GiB sparse file ran out of memory). Only its first kilobytes
/// are read now: a sparse file far larger than the memory limit set here is
/// refused with a snippet of its first line.
#[test]
fn a_file_refused_as_too_large_is_not_read_whole_for_its_snippet() {
    let config = TestConfig::new().file("big.yaml", "account: { id: acme }\n");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(config.join("big.yaml"))
        .expect("open");
    // 4 GiB of NUL bytes after the first line, taking no disk space.
    file.set_len(4 * 1024 * 1024 * 1024).expect("a sparse file");
    drop(file);
    let output = std::process::Command::new("sh")
        .arg("-c")
        // 1 GiB of address space: reading the file whole cannot fit.
        .arg("ulimit -v 1048576 && exec \"$0\" validate --color never \"$1\"")
        .arg(assert_cmd::cargo::cargo_bin("accord"))
        .arg(config.join("big.yaml"))
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("over the limit of 64 MiB"), "{text}");
    assert!(
        text.contains("account: { id: acme }"),
        "the first line is shown: {text}"
    );
}

/// Issue 14, item 6: `ln -s /etc/shadow cfg/x.yaml` printed two lines of
/// `/etc/shadow` in the CI log. A link out of the configuration directory is an
/// error naming the link, with no snippet of what it points to.
#[test]
fn a_symlink_out_of_the_configuration_directory_is_refused_naming_the_link() {
    let outside = tempfile::tempdir().expect("a directory");
    let secret = outside.path().join("shadow");
    std::fs::write(&secret, "root:SECRET-HASH:19000:0:99999:7:::\n").expect("write");
    let config = TestConfig::new().file("a.yaml", "account: { id: acme, name: ACME }\n");
    std::os::unix::fs::symlink(&secret, config.join("x.yaml")).expect("symlink");
    let output = accord()
        .args(["validate", "--color", "never"])
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("x.yaml` is a symbolic link"), "{text}");
    assert!(text.contains("--follow-symlinks"), "{text}");
    assert!(!text.contains("SECRET-HASH"), "{text}");
    // Named on the command line, the link is refused the same way.
    let direct = accord()
        .args(["validate", "--color", "never"])
        .arg(config.join("x.yaml"))
        .output()
        .expect("run accord");
    let text = all_output(&direct);
    assert_eq!(direct.status.code(), Some(1), "{text}");
    assert!(!text.contains("SECRET-HASH"), "{text}");
}

/// Issue 14, item 6: links inside the configuration directory are read as
/// before, and `--follow-symlinks` reads one that points out.
#[test]
fn symlinks_inside_the_directory_are_read_and_follow_symlinks_reads_the_others() {
    let outside = tempfile::tempdir().expect("a directory");
    std::fs::write(
        outside.path().join("people.yaml"),
        "roles:\n  - { name: R, default_access: [account_admin] }\n",
    )
    .expect("write");
    let config = TestConfig::new()
        .file("a.yaml", "account: { id: acme, name: ACME }\n")
        .file("shared/b.yml", "members: []\n");
    std::os::unix::fs::symlink(config.join("shared/b.yml"), config.join("b.yml")).expect("link");
    std::os::unix::fs::symlink(outside.path().join("people.yaml"), config.join("p.yaml"))
        .expect("link");
    let refused = accord()
        .args(["validate", "--color", "never"])
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&refused);
    assert!(text.contains("p.yaml` is a symbolic link"), "{text}");
    assert!(!text.contains("b.yml` is a symbolic link"), "{text}");
    let followed = accord()
        .args(["validate", "--follow-symlinks"])
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&followed);
    assert!(!text.contains("symbolic link"), "{text}");
}

/// A store at `path` holding MINIMAL, applied through the binary.
fn applied_store(dir: &std::path::Path) -> (TestConfig, String) {
    let config = TestConfig::with(crate::common::MINIMAL);
    let backend = format!("sqlite:{}", dir.join("state.db").display());
    let output = accord()
        .args([
            "apply",
            "--auto-approve",
            "--backend",
            &backend,
            "--runs-dir",
        ])
        .arg(dir.join("runs"))
        .arg(config.path())
        .output()
        .expect("run accord");
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    (config, backend)
}

/// [`applied_store`], then `ops` written into the store directly, as a backend
/// that keeps whatever it is given would hold them.
fn applied_store_then(dir: &std::path::Path, ops: &[accord::plan::Op]) -> (TestConfig, String) {
    let (config, backend) = applied_store(dir);
    let mut store = accord::backend::sqlite::SqliteStore::open(
        dir.join("state.db"),
        std::sync::Arc::new(accord::backend::SystemClock),
    )
    .expect("open");
    let outcomes = store.execute(ops).expect("written");
    assert_eq!(outcomes.len(), ops.len());
    (config, backend)
}

/// Issue 14, item 5: one flipped byte made SQLite's integrity check fail, yet
/// `plan` said "No changes" and an apply wrote into the damaged file. The store
/// is checked when opened and refused, saying what to do, with the file left as
/// it was.
#[test]
fn a_damaged_store_is_refused_when_opened_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("a directory");
    let (config, backend) = applied_store(dir.path());
    let path = dir.path().join("state.db");
    // Fold the write-ahead log in, then damage a page of a table (not the header).
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "journal_mode", "DELETE")
        .expect("no WAL");
    let page_size: i64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .expect("page size");
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'members'",
            [],
            |r| r.get(0),
        )
        .expect("the members table");
    drop(conn);
    let mut bytes = std::fs::read(&path).expect("read");
    let page = usize::try_from((root - 1) * page_size).expect("offset");
    // The page's header: its type byte and cell count become nonsense.
    bytes[page] = 0x00;
    bytes[page + 3] ^= 0xFF;
    std::fs::write(&path, &bytes).expect("write");
    for command in ["plan", "apply"] {
        let mut cmd = accord();
        cmd.args([command, "--backend", &backend]);
        if command == "apply" {
            cmd.args(["--auto-approve", "--runs-dir"])
                .arg(dir.path().join("runs"));
        }
        let output = cmd.arg(config.path()).output().expect("run accord");
        let text = all_output(&output);
        assert_eq!(output.status.code(), Some(1), "{command}: {text}");
        assert!(text.contains("damaged"), "{command}: {text}");
        assert!(text.contains("backup"), "what to do: {text}");
        assert!(!text.contains("No changes"), "{text}");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bytes,
            "{command} left the file"
        );
    }
}

/// Issue 14, item 5: a 0-byte store file was taken as a new, empty account with
/// no word that the store was reset.
#[test]
fn an_empty_store_file_is_refused_not_taken_for_a_new_account() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("state.db");
    std::fs::write(&path, b"").expect("an empty file");
    let config = TestConfig::with(crate::common::MINIMAL);
    let output = accord()
        .args(["plan", "--backend"])
        .arg(format!("sqlite:{}", path.display()))
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("empty (0 bytes)"), "{text}");
    assert!(text.contains("restore it from a backup"), "{text}");
    assert_eq!(std::fs::metadata(&path).expect("kept").len(), 0);
}

/// Issue 14, items 5 and 10: `--db` and `sqlite:` paths created missing
/// directories silently (a typo in CI started a new account). Only the default
/// `.accord/` is created.
#[test]
fn a_missing_store_directory_is_an_error_unless_it_is_the_default_accord_directory() {
    let dir = tempfile::tempdir().expect("a directory");
    let config = TestConfig::with(crate::common::MINIMAL);
    let typo = dir.path().join("acount/state.db");
    let output = accord()
        .args(["plan", "--backend"])
        .arg(format!("sqlite:{}", typo.display()))
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(!dir.path().join("acount").exists());
    // The default path, relative to the working directory, is created.
    let output = accord()
        .current_dir(dir.path())
        .arg("plan")
        .arg(config.path())
        .output()
        .expect("run accord");
    assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
    assert!(dir.path().join(".accord/state.db").is_file());
}

/// Issue 14, item 10: the store was created world-readable; it holds the whole
/// account, so it and the run journals are owner-only.
#[test]
fn the_store_and_the_journals_are_created_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a directory");
    applied_store(dir.path());
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&dir.path().join("state.db")), 0o600);
    let journals: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .expect("journals")
        .flatten()
        .collect();
    assert!(!journals.is_empty());
    for journal in journals {
        assert_eq!(mode(&journal.path()), 0o600, "{}", journal.path().display());
    }
}

/// Issue 14, item 8: names from a backend were printed raw in text and markdown
/// plans, so an ESC or a CR could rewrite lines of a terminal plan.
#[test]
fn plans_show_control_characters_from_the_backend_as_replacement_marks() {
    use accord::plan::Op;
    let dir = tempfile::tempdir().expect("a directory");
    let (config, backend) = applied_store_then(
        dir.path(),
        &[Op::CompanyUpdate {
            name: "ACME Architects".into(),
            trade: Some("Evil\u{1b}[2J\rCorp\u{1b}]0;title\u{7}".into()),
            from: None,
        }],
    );
    for format in ["text", "markdown"] {
        let output = accord()
            .args(["plan", "--format", format, "--backend", &backend])
            .arg(config.path())
            .output()
            .expect("run accord");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("Evil"), "{format}: {stdout}");
        assert!(!stdout.contains('\u{1b}'), "{format}: {stdout:?}");
        assert!(!stdout.contains('\r'), "{format}: {stdout:?}");
        assert!(
            stdout.contains("Evil\u{FFFD}[2J\u{FFFD}Corp"),
            "{format}: {stdout}"
        );
    }
}

/// Issue 14, item 8: beyond plans, every output that carries a backend's strings
/// (the team listing, the apply summary, the exported files) shows a control
/// character as a replacement mark or an escape, never as it is; and the exported
/// file that holds one is refused by `validate` where it is, naming the character.
#[test]
fn backend_strings_are_escaped_in_teams_apply_and_export_and_validate_names_them() {
    use accord::plan::Op;
    let dir = tempfile::tempdir().expect("a directory");
    let hostile = "Evil\u{1b}[2J\rCorp\u{202e}";
    let (config, backend) = applied_store_then(
        dir.path(),
        &[
            Op::CompanyUpdate {
                name: "ACME Architects".into(),
                trade: Some(hostile.into()),
                from: None,
            },
            Op::TeamCreate {
                team: "T1".into(),
                name: hostile.into(),
                seats: [("AutoCAD".to_owned(), 2)].into(),
            },
        ],
    );
    let clean = |what: &str, text: &str| {
        for c in ['\u{1b}', '\r', '\u{202e}'] {
            assert!(!text.contains(c), "{what}: {c:?} in {text:?}");
        }
    };

    let teams = accord()
        .args(["teams", "--backend", &backend])
        .output()
        .expect("run accord");
    assert_eq!(teams.status.code(), Some(0), "{}", all_output(&teams));
    let listing = String::from_utf8_lossy(&teams.stdout);
    assert!(
        listing.contains("team T1 (Evil\u{FFFD}[2J\u{FFFD}Corp\u{FFFD})"),
        "{listing}"
    );
    clean("teams", &listing);

    let out = dir.path().join("exported");
    let export = accord()
        .args(["export", "--backend", &backend, "--out"])
        .arg(&out)
        .output()
        .expect("run accord");
    assert_eq!(export.status.code(), Some(0), "{}", all_output(&export));
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .expect("exported")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read"))
        .collect();
    let all = texts.join("");
    clean("export", &all);
    assert!(all.contains("\"Evil\\u001b[2J\\rCorp\\u202e\""), "{all}");
    let validate = accord()
        .arg("validate")
        .arg(&out)
        .output()
        .expect("run accord");
    assert_eq!(validate.status.code(), Some(1), "{}", all_output(&validate));
    let report = all_output(&validate);
    assert!(
        report.contains("error[yaml]: this text holds the control character U+001B"),
        "{report}"
    );
    clean("validate", &report);

    let apply = accord()
        .args([
            "apply",
            "--auto-approve",
            "--backend",
            &backend,
            "--runs-dir",
        ])
        .arg(dir.path().join("runs"))
        .arg(config.path())
        .output()
        .expect("run accord");
    let shown = all_output(&apply);
    assert_eq!(apply.status.code(), Some(0), "{shown}");
    assert!(shown.contains("Evil\u{FFFD}[2J"), "{shown}");
    clean("apply", &shown);
}

/// Issue 14, item 8: a name from a backend reaches a pull request's markdown
/// comment as text: no HTML tag (an `<img>` would load a remote image where the
/// plan is reviewed), no link, no extra table column.
#[test]
fn a_markdown_plan_shows_html_and_links_from_the_backend_as_text() {
    use accord::plan::Op;
    let dir = tempfile::tempdir().expect("a directory");
    let (config, backend) = applied_store_then(
        dir.path(),
        &[Op::TeamCreate {
            team: "T1".into(),
            name: "<img src=http://evil.example/x> [win](http://evil.example) | x".into(),
            seats: [("AutoCAD".to_owned(), 2)].into(),
        }],
    );
    // The configuration declares the team (so its differing name is planned).
    let file = config.path().join("accord.yaml");
    let mut with_team = std::fs::read_to_string(&file).expect("the configuration");
    with_team.push_str(
        "teams:\n  - { id: T1, name: Design, products: [{ name: AutoCAD, seats: 2, assigned: [] }] }\n",
    );
    std::fs::write(&file, with_team).expect("write");
    let output = accord()
        .args(["plan", "--format", "markdown", "--backend", &backend])
        .arg(config.path())
        .output()
        .expect("run accord");
    let markdown = String::from_utf8_lossy(&output.stdout);
    assert!(
        markdown.contains("&lt;img src=http://evil.example/x>"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\\[win\\](http://evil.example) \\| x"),
        "{markdown}"
    );
    // Inside a code fence a tag is text (and the fence cannot be closed by a name).
    let outside_fences: String = markdown
        .split("```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join("");
    assert!(!outside_fences.contains("<img"), "{markdown}");
    assert!(markdown.contains("```diff\nteam T1 (Design)"), "{markdown}");
}

/// Issue 14, item 10: a saved plan whose operations were reordered, with the
/// fingerprint recomputed, is an edited file, not a change of the backend's limits.
#[test]
fn a_reordered_plan_with_a_recomputed_fingerprint_is_called_edited() {
    let dir = tempfile::tempdir().expect("a directory");
    let config = TestConfig::with(crate::common::MINIMAL);
    let saved = dir.path().join("plan.json");
    let backend = format!("sqlite:{}", dir.path().join("state.db").display());
    let planned = accord()
        .args(["plan", "--backend", &backend, "--out"])
        .arg(&saved)
        .arg(config.path())
        .output()
        .expect("run accord");
    assert_eq!(planned.status.code(), Some(0), "{}", all_output(&planned));
    let mut plan: accord::plan::SavedPlan =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("read")).expect("a plan");
    plan.plan.operations.reverse();
    plan.plan.fingerprint = accord::plan::fingerprint(&plan.plan.operations);
    std::fs::write(&saved, plan.to_json()).expect("write");
    let output = accord()
        .args([
            "apply",
            "--auto-approve",
            "--backend",
            &backend,
            "--runs-dir",
        ])
        .arg(dir.path().join("runs"))
        .arg("--plan")
        .arg(&saved)
        .arg(config.path())
        .output()
        .expect("run accord");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("was the file edited?"), "{text}");
    assert!(!text.contains("limits"), "{text}");
}

/// Issue 14, item 10: `--backend http://user:PASSWORD@host` echoed the password
/// in errors. No form of backend URL carrying credentials shows them.
#[test]
fn credentials_in_a_backend_url_are_never_echoed() {
    let config = TestConfig::with(crate::common::MINIMAL);
    for url in [
        "http://user:PASSWORD@127.0.0.1:1",
        "http://user:PASSWORD@[::1",
        "acc://user:PASSWORD@acct?region=nowhere",
        "postgres://user:PASSWORD@db",
    ] {
        let output = accord()
            .args(["plan", "--format", "json", "--backend", url])
            .env("ACCORD_TOKEN", "t")
            .arg(config.path())
            .output()
            .expect("run accord");
        let text = all_output(&output);
        assert_eq!(output.status.code(), Some(1), "{url}: {text}");
        assert!(!text.contains("PASSWORD"), "{url}: {text}");
    }
}
