//! `accord report seats`, through the binary, on a store built by applying
//! `examples/acme` and then changing it twice (so the store has a history of seat
//! counts): the JSON exactly, the Markdown as a snapshot, the HTML in a real
//! headless browser (a screenshot of the right size, and the page's text read
//! back), over the account service's audit log too, and the bad inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::accord;

/// Where Debian's chromium is (`apt-get install chromium`; `.ci/run` installs it).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The first change's moment, fixed so dates in the report do not depend on when
/// the test runs: 2026-01-01T00:00:00Z, one day per revision after it.
const EPOCH: i64 = 1_767_225_600;

/// A copy of `examples/acme` and a store it was applied to, then changed twice:
/// (1) Revit gives up Grace's seat, AutoCAD grows to 7 seats and gives her one,
/// the team's Navisworks pool grows to 4; (2) Raj leaves his only project, so his
/// AutoCAD seat is a reclaim candidate.
struct Account {
    dir: tempfile::TempDir,
}

impl Account {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config");
        std::fs::create_dir(&config).expect("config dir");
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
        for entry in std::fs::read_dir(&example).expect("examples/acme") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, config.join(path.file_name().expect("name"))).expect("copy");
        }
        let account = Self { dir };
        account.apply();
        account.edit(
            "agreements.yaml",
            "          - grace.lee@acme.example\n",
            "",
        );
        account.edit(
            "agreements.yaml",
            "        seats: 6\n        assigned:\n          - bob.berg@acme.example\n",
            "        seats: 7\n        assigned:\n          - grace.lee@acme.example\n          - bob.berg@acme.example\n",
        );
        account.edit(
            "teams.yaml",
            "        seats: 3                       #",
            "        seats: 4                       #",
        );
        account.apply();
        account.edit(
            "projects.yaml",
            "      - { email: raj.patel@acme.example, access: member, products: [docs, model_coordination] }\n",
            "",
        );
        account.apply();
        account.fix_times();
        account
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.db().display())
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.config().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }

    fn apply(&self) {
        let output = accord()
            .current_dir(self.dir.path())
            .args(["apply", "--auto-approve", "--backend", &self.url()])
            .arg(self.config())
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Gives every recorded change a fixed moment (one day per revision).
    fn fix_times(&self) {
        let conn = rusqlite::Connection::open(self.db()).expect("open the store");
        conn.execute_batch(&format!(
            "UPDATE seat_usage SET at = {EPOCH} + revision * 86400;
             UPDATE history SET at = {EPOCH} + revision * 86400;"
        ))
        .expect("fix the times");
    }

    fn report(&self, args: &[&str]) -> String {
        let output = accord()
            .current_dir(self.dir.path())
            .args(["report", "seats", "--backend", &self.url()])
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }
}

/// Today's date as the report writes it (`as_of`), which the snapshots leave out.
fn today() -> String {
    accord::time::format_date(jiff::Timestamp::now().as_second())
}

/// `(owner, product, used, seats, free, reclaim candidates, used over time)` per product.
type Row = (String, String, u64, u64, u64, Vec<String>, Vec<u64>);

fn rows(json: &Value) -> Vec<Row> {
    json["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| {
            (
                p["owner"].as_str().unwrap().to_owned(),
                p["product"].as_str().unwrap().to_owned(),
                p["used"].as_u64().unwrap(),
                p["seats"].as_u64().unwrap(),
                p["free"].as_u64().unwrap(),
                p["reclaim"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}",
                            r["email"].as_str().unwrap(),
                            r["reason"].as_str().unwrap()
                        )
                    })
                    .collect(),
                p["history"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["used"].as_u64().unwrap())
                    .collect(),
            )
        })
        .collect()
}

fn row(owner: &str, product: &str, numbers: [u64; 3], reclaim: &[&str], history: &[u64]) -> Row {
    (
        owner.to_owned(),
        product.to_owned(),
        numbers[0],
        numbers[1],
        numbers[2],
        reclaim.iter().map(|s| (*s).to_owned()).collect(),
        history.to_vec(),
    )
}

const AEC: &str = "110001234567";
const CLOUD: &str = "110009876543";
const TEAM: &str = "100001";
const RAJ: &str = "raj.patel@acme.example no_project";

#[test]
fn json_gives_every_product_its_seats_holders_reclaim_candidates_and_history() {
    let account = Account::new();
    let json: Value = serde_json::from_str(&account.report(&["--format", "json"])).expect("JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["account"], "acme-eu");
    assert_eq!(json["revision"], 18);
    assert_eq!(json["as_of"], today());
    assert_eq!(json["history_kept"], true);
    assert_eq!(
        rows(&json),
        [
            row(AEC, "AutoCAD", [6, 7, 1], &[RAJ], &[0, 5, 5, 6]),
            row(AEC, "Navisworks Manage", [2, 3, 1], &[], &[0, 2]),
            row(AEC, "Revit", [6, 8, 2], &[], &[0, 7, 6]),
            row(AEC, "Robot Structural Analysis", [3, 3, 0], &[], &[0, 3]),
            row(CLOUD, "AutoCAD LT", [3, 4, 1], &[], &[0, 3]),
            row(CLOUD, "Autodesk Build", [5, 8, 3], &[], &[0, 5]),
            row(CLOUD, "Autodesk Takeoff", [2, 2, 0], &[], &[0, 2]),
            row(TEAM, "AutoCAD", [8, 10, 2], &[], &[0, 8]),
            row(TEAM, "Navisworks Manage", [2, 4, 2], &[], &[0, 2, 2]),
            row(TEAM, "Revit", [5, 6, 1], &[], &[0, 5]),
        ]
    );
    assert_eq!(
        json["totals"],
        serde_json::json!({ "seats": 55, "used": 42, "free": 13, "reclaimable": 1 })
    );
    // The history's revisions and moments: the AutoCAD seats of the agreement.
    let history: Vec<(u64, i64, u64)> = json["products"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_u64().unwrap(),
                h["at"].as_i64().unwrap(),
                h["seats"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (7, EPOCH + 7 * 86400, 6),
            (8, EPOCH + 8 * 86400, 6),
            (14, EPOCH + 14 * 86400, 7),
            (17, EPOCH + 17 * 86400, 7),
        ]
    );
    let errors = crate::common::schema_errors("seats.schema.json", &json);
    assert!(errors.is_empty(), "schemas/seats.schema.json: {errors:?}");
    let mut whole = json.clone();
    whole["as_of"] = Value::from("[today]");
    whole["backend"] = Value::from("sqlite:[store]");
    insta::assert_snapshot!("seats_json", format!("{whole:#}"));
}

#[test]
fn a_configuration_adds_where_each_product_and_seat_is_declared() {
    let account = Account::new();
    let config = account.config();
    let json: Value =
        serde_json::from_str(&account.report(&[config.to_str().unwrap(), "--format", "json"]))
            .expect("JSON");
    let agreements = config.join("agreements.yaml").display().to_string();
    let teams = config.join("teams.yaml").display().to_string();
    let autocad = &json["products"][0];
    assert_eq!(autocad["declared"], format!("{agreements}:22"));
    assert_eq!(autocad["holders"][0]["email"], "bob.berg@acme.example");
    assert_eq!(
        autocad["holders"][0]["declared"],
        format!("{agreements}:26")
    );
    assert_eq!(json["products"][8]["declared"], format!("{teams}:29"));
    // Without a configuration there is nothing to say either way.
    let bare: Value = serde_json::from_str(&account.report(&["--format", "json"])).expect("JSON");
    assert!(bare["products"][0].get("declared").is_none());
    let errors = crate::common::schema_errors("seats.schema.json", &json);
    assert!(errors.is_empty(), "schemas/seats.schema.json: {errors:?}");
    // A product the configuration does not declare (the store keeps it).
    account.edit(
        "agreements.yaml",
        "      - name: Autodesk Takeoff\n        seats: 2\n        assigned: [noah.fischer@acme.example, luca.ferri@nordbau.example]\n",
        "",
    );
    let json: Value =
        serde_json::from_str(&account.report(&[config.to_str().unwrap(), "--format", "json"]))
            .expect("JSON");
    assert_eq!(json["products"][6]["product"], "Autodesk Takeoff");
    assert_eq!(json["products"][6]["declared"], "not declared");
    assert_eq!(
        json["products"][6]["holders"][0]["declared"],
        "not declared"
    );
}

#[test]
fn markdown_is_a_pull_request_comment() {
    let account = Account::new();
    let markdown = account
        .report(&["--format", "markdown"])
        .replace(&today(), "[today]")
        .replace(&account.url(), "sqlite:[store]");
    insta::assert_snapshot!("seats_markdown", markdown);
}

#[test]
fn html_is_one_page_a_browser_renders_with_the_numbers_and_names() {
    let account = Account::new();
    let out = account.dir.path().join("seats.html");
    let out_arg = out.to_str().unwrap();
    account.report(&["--format", "html", "--out", out_arg]);
    let html = std::fs::read_to_string(&out).expect("the page");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for forbidden in [
        "<script", "http://", "https://", "<link", "<img", "src=", "url(",
    ] {
        assert!(!html.contains(forbidden), "the page has {forbidden}");
    }
    assert_eq!(
        html.matches("<svg class=\"chart\"").count(),
        10,
        "a chart per product"
    );
    let Some(browser) = Browser::find() else {
        eprintln!(
            "SKIPPED the browser half of this test: {CHROMIUM} is absent (install it with `apt-get install -y chromium`; `.ci/run` does)"
        );
        return;
    };
    let shot = account.dir.path().join("seats.png");
    browser.run(
        account.dir.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        &out,
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 1600));
    assert!(
        (20_000..5_000_000).contains(&png.len()),
        "a page with tables and charts, not a blank one: {} bytes",
        png.len()
    );
    let dom = browser.run(account.dir.path(), &["--dump-dom"], &out);
    for text in [
        "Seat usage: ACME Architects (acme-eu)",
        "42 of 55 seats used, 13 free, 1 held by reclaim candidates, over 10 products.",
        "6 of 7 seats used, 1 free.",
        "raj.patel@acme.example",
        "Raj Patel",
        "Chloé Martin",
        "on no project",
        "No team pool ends within 90 days.",
        "Seats used over time, AutoCAD, agreement AEC Collection (110001234567): 0 at revision 7 (2026-01-08), 6 at revision 17 (2026-01-18), 4 points",
        "team ACME Architects EU (100001)",
    ] {
        assert!(
            dom.contains(text),
            "the page the browser read has no {text:?}:\n{dom}"
        );
    }
}

/// Debian's chromium, headless, with everything that would reach the network off.
struct Browser;

impl Browser {
    fn find() -> Option<Self> {
        Path::new(CHROMIUM).exists().then_some(Self)
    }

    /// Runs it on `page` with `args`; answers its standard output.
    fn run(&self, dir: &Path, args: &[&str], page: &Path) -> String {
        let profile = tempfile::tempdir_in(dir).expect("profile");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let started = Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                panic!("chromium did not finish in 120 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let output = child.wait_with_output().expect("output");
        assert!(
            output.status.success(),
            "chromium failed: {:?}",
            output.status
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[test]
fn the_account_service_charts_from_its_audit_log() {
    let account = Account::new();
    let tokens = account.dir.path().join("tokens");
    std::fs::write(&tokens, "read seats-read-token dash\n").expect("tokens");
    let mut server = Command::new(assert_cmd::cargo::cargo_bin("accord"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(account.db())
        .arg("--tokens")
        .arg(&tokens)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("the address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    let output = accord()
        .args(["report", "seats", "--format", "json", "--backend", &url])
        .env("ACCORD_TOKEN", "seats-read-token")
        .output()
        .expect("runs");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let over_http: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let from_store: Value =
        serde_json::from_str(&account.report(&["--format", "json"])).expect("JSON");
    assert_eq!(over_http["history_kept"], true);
    assert_eq!(
        rows(&over_http),
        rows(&from_store),
        "the same numbers and history"
    );
}

#[test]
fn an_unreachable_backend_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = accord()
        .current_dir(dir.path())
        .args(["report", "seats", "--backend", "http://127.0.0.1:9"])
        .env("ACCORD_TOKEN", "t")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http://127.0.0.1:9"), "{stderr}");
    assert!(output.stdout.is_empty());
    let missing = dir.path().join("nothing.db");
    let output = accord()
        .args(["report", "seats", "--backend"])
        .arg(format!("sqlite:{}", missing.display()))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: there is no store at {}: nothing to report on (check --backend or ACCORD_BACKEND)\n",
            missing.display()
        )
    );
    assert!(!missing.exists(), "no store was created");
}

#[test]
fn a_format_that_does_not_exist_is_a_usage_error() {
    let output = accord()
        .args(["report", "seats", "--format", "pdf"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid value 'pdf' for '--format <FORMAT>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[possible values: markdown, html, json]"),
        "{stderr}"
    );
}

#[test]
fn an_existing_out_file_is_kept_without_force() {
    let account = Account::new();
    let out = account.dir.path().join("seats.html");
    std::fs::write(&out, "keep me").expect("write");
    let output = accord()
        .args([
            "report",
            "seats",
            "--format",
            "html",
            "--backend",
            &account.url(),
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: {} already exists: nothing was written; use --force to overwrite it\n",
            out.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let output = accord()
        .args([
            "report",
            "seats",
            "--format",
            "html",
            "--force",
            "--backend",
            &account.url(),
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
}

#[test]
fn a_store_from_before_seat_history_starts_its_history_at_its_revision() {
    let account = Account::new();
    // Make the store what an older accord left: schema version 2, no seat_usage.
    {
        let conn = rusqlite::Connection::open(account.db()).expect("open");
        conn.execute_batch("DROP TABLE seat_usage; PRAGMA user_version = 2;")
            .expect("downgrade");
    }
    let json: Value = serde_json::from_str(&account.report(&["--format", "json"])).expect("JSON");
    let conn = rusqlite::Connection::open(account.db()).expect("open");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 3, "migrated");
    let history: Vec<(u64, u64)> = json["products"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["revision"].as_u64().unwrap(), h["used"].as_u64().unwrap()))
        .collect();
    assert_eq!(history, [(18, 6)], "today's counts at the current revision");
    assert_eq!(
        json["products"][0]["history"][0]["at"],
        EPOCH + 18 * 86400,
        "the time of its newest change"
    );
}

#[test]
fn the_schema_describes_expiring_pools_time_bound_grants_and_unlimited_pools_too() {
    use accord::seat_report::{Inputs, build};
    use accord::state::{Email, PoolState, State, TeamState};
    let now = EPOCH;
    let mut state = State::default();
    let mut team = TeamState {
        name: "EU".into(),
        ..TeamState::default()
    };
    team.pools.insert(
        "AutoCAD".into(),
        PoolState {
            seats: Some(3),
            starts: Some(now - 86400),
            ends: Some(now + 20 * 86400),
            direct: [Email::new("a@x")].into(),
            inherited: [Email::new("b@x")].into(),
            ..PoolState::default()
        },
    );
    team.pools.insert(
        "Revit".into(),
        PoolState {
            unlimited: true,
            ends: Some(now - 86400),
            direct: [Email::new("a@x")].into(),
            ..PoolState::default()
        },
    );
    state.teams.insert("100001".into(), team);
    let report = build(&Inputs {
        backend: "autodesk://?region=US",
        state: &state,
        revision: 0,
        now,
        history: None,
        desired: None,
    });
    let json: Value = serde_json::from_str(&report.json()).expect("JSON");
    let errors = crate::common::schema_errors("seats.schema.json", &json);
    assert!(
        errors.is_empty(),
        "schemas/seats.schema.json: {errors:?}\n{json:#}"
    );
    assert_eq!(json["expiring"][0]["within_days"], 30);
    assert_eq!(json["time_bound"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["time_bound"][0]["days_left"], -1,
        "the ended pool first"
    );
    assert_eq!(json["products"][1]["seats"], Value::Null);
    assert_eq!(json["products"][1]["current"], false);
    assert_eq!(json["products"][0]["holders"][1]["inherited"], true);
    assert_eq!(json["history_kept"], false);
    let html = report.html();
    assert!(
        html.contains("This backend keeps no history of seat counts"),
        "{html}"
    );
    assert!(html.contains("<td class=\"warn\">30 days</td>"), "{html}");
}

#[test]
fn history_follows_assignments_batch_after_batch_and_the_cascade_of_a_removal() {
    use crate::common::TestConfig;
    let members: String = (0..250)
        .map(|i| format!("  - {{ email: m{i}@acme.example }}\n"))
        .collect();
    let assigned = |n: usize| {
        (0..n)
            .map(|i| format!("m{i}@acme.example"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let yaml = |n: usize, extra: &str| {
        format!(
            "account: {{ id: acme-eu, name: ACME }}\nsettings: {{ prune: true, max_removals: 300 }}\nmembers:\n  - {{ email: admin@acme.example, access: [account_admin] }}\n{extra}agreements:\n  - number: \"1\"\n    name: AEC\n    contract_manager: admin@acme.example\n    products:\n      - {{ name: Revit, seats: 300, assigned: [{}] }}\n",
            assigned(n)
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let apply = |config: &TestConfig| {
        let output = accord()
            .current_dir(dir.path())
            .args(["apply", "--auto-approve", "--backend", &url])
            .arg(config.path())
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    // 250 assignments: three batches of at most 100, each counted from the last.
    apply(&TestConfig::with(&yaml(250, &members)));
    // 50 members leave the account: their seats go with them (a cascade).
    let fewer: String = members
        .lines()
        .take(200)
        .map(|l| format!("{l}\n"))
        .collect();
    apply(&TestConfig::with(&yaml(200, &fewer)));
    let output = accord()
        .args(["report", "seats", "--format", "json", "--backend", &url])
        .output()
        .expect("runs");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let used: Vec<u64> = json["products"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["used"].as_u64().unwrap())
        .collect();
    // The three batches run side by side (they are independent), in any order: each
    // adds its own seats to the count the one before left.
    assert_eq!(used.len(), 5, "{used:?}");
    assert_eq!((used[0], used[3], used[4]), (0, 250, 200), "{used:?}");
    let mut steps: Vec<u64> = used.windows(2).take(3).map(|w| w[1] - w[0]).collect();
    steps.sort_unstable();
    assert_eq!(steps, [50, 100, 100], "{used:?}");
    assert_eq!(json["products"][0]["used"], 200);
}
