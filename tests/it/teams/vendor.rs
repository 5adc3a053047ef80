//! The vendor's teams end to end, through the binary, against the Team Admin fake:
//! `accord teams`, export -> plan (no change), a change of 300 seats across two teams
//! -> apply -> plan (no change), with the vendor's lag, another client on the same
//! budget, faults, a quota used up mid-apply, and the refresh token rotated by every
//! run (each run hands the next the token it wrote, as a CI pipeline does).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::fake::{
    ADMIN_EMAIL, DOMAIN, Fake, FaultKind, FaultTime, Inherited, OtherClient, Pool, Setup,
};
use crate::common::accord;

/// The vendor's teams alone.
const TEAMS_ONLY: &str = "autodesk://?region=US";

const EU: &str = "100001";
const US: &str = "100002";

/// The fake's scaled "UTC minute", and accord's, so that hundreds of calls take
/// seconds: the vendor's 60 calls a window, in one second.
const WINDOW_SECS: u64 = 1;

/// Two teams of 160 users each (`user0001..`; the US team's are the same people from
/// 0161 on), each with a limited AutoCAD pool of 200 seats, an unlimited Revit pool
/// and a Civil 3D pool that has not started; a few seats held directly and through a
/// group.
fn two_teams() -> Setup {
    let mut setup = Setup::new()
        .team(EU, "ACME EU")
        .users(160)
        .pool(Pool::limited("acad-eu", "AutoCAD", 200))
        .pool(Pool::unlimited("revit-eu", "Revit"))
        .pool(Pool::limited("civil-eu", "Civil 3D", 5).future())
        .direct(&user(1), "acad-eu")
        .direct(&user(2), "acad-eu")
        .inherited(&user(3), "revit-eu", Inherited::Group)
        .team(US, "ACME US");
    for i in 161..=320 {
        setup = setup.member(&user(i), super::fake::Role::User);
    }
    setup
        .pool(Pool::limited("acad-us", "AutoCAD", 200))
        .direct(&user(161), "acad-us")
        .with(|state| {
            state.limits.minute = Duration::from_secs(WINDOW_SECS);
        })
}

fn user(i: usize) -> String {
    format!("user{i:04}@{DOMAIN}")
}

/// One pipeline against the fake: its environment, and the refresh token each run
/// hands to the next through `ACCORD_REFRESH_TOKEN_FILE`.
struct Pipeline {
    fake: Fake,
    dir: tempfile::TempDir,
    refresh: String,
}

impl Pipeline {
    fn new(setup: Setup) -> Self {
        let fake = setup.start();
        let refresh = fake.login().refresh;
        Self {
            fake,
            dir: tempfile::tempdir().expect("temp dir"),
            refresh,
        }
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("refresh-token")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Runs `accord ARGS` as a CI job would: the refresh token from the last run in
    /// `APS_REFRESH_TOKEN`, the new one written to `ACCORD_REFRESH_TOKEN_FILE` and
    /// kept for the next run.
    fn run(&mut self, args: &[&str]) -> Output {
        let _ = std::fs::remove_file(self.token_file());
        let output = accord()
            .args(args)
            .envs(self.fake.env())
            .env("APS_REFRESH_TOKEN", &self.refresh)
            .env("ACCORD_REFRESH_TOKEN_FILE", self.token_file())
            .env("ACCORD_CONFIG_DIR", self.dir.path().join("no-login"))
            .env("ACCORD_TEAM_ADMIN_WINDOW_SECS", WINDOW_SECS.to_string())
            .env("ACCORD_BACKEND", TEAMS_ONLY)
            .env("NO_COLOR", "1")
            .env_remove("ACCORD_TOKEN")
            .current_dir(self.dir.path())
            .output()
            .expect("accord runs");
        if let Ok(next) = std::fs::read_to_string(self.token_file()) {
            assert_ne!(next.trim(), self.refresh, "a refresh gives a new token");
            next.trim().clone_into(&mut self.refresh);
        }
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains(&self.refresh) && !all.contains(super::fake::CLIENT_SECRET),
            "no secret in any output:\n{all}"
        );
        output
    }

    fn expect(&mut self, args: &[&str], code: i32) -> String {
        let output = self.run(args);
        let text = format!(
            "{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(code), "accord {args:?}:\n{text}");
        text
    }

    fn export(&mut self) {
        let out = self.config();
        self.expect(&["export", "--out", out.to_str().expect("UTF-8")], 0);
    }

    fn plan_is_empty(&mut self) {
        let config = self.config();
        let said = self.expect(
            &[
                "plan",
                "--detailed-exitcode",
                config.to_str().expect("UTF-8"),
            ],
            0,
        );
        assert!(said.contains("No changes."), "{said}");
    }

    fn apply(&mut self) -> String {
        let config = self.config();
        self.expect(
            &["apply", "--auto-approve", config.to_str().expect("UTF-8")],
            0,
        )
    }

    /// Replaces the exported `teams.yaml` with `yaml` (members stay as exported).
    fn declare_teams(&self, yaml: &str) {
        std::fs::write(self.config().join("teams.yaml"), yaml).expect("write teams.yaml");
    }

    /// Adds `emails` to the exported members.
    fn declare_members(&self, emails: impl IntoIterator<Item = String>) {
        let path = self.config().join("members.yaml");
        let mut text = std::fs::read_to_string(&path).expect("members.yaml");
        for email in emails {
            if !text.contains(&format!("email: {email}")) {
                text.push_str(&format!("- email: {email}\n"));
            }
        }
        std::fs::write(path, text).expect("write members.yaml");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable")
}

/// Every user of the EU team (1-160) holds AutoCAD but 1, 2 (who lose it) and the
/// first ten; every user of the US team (161-320) likewise but the first ten: 148 + 150
/// seats given, 2 taken back, 300 changes. Revit is left as it is.
fn three_hundred_changes() -> String {
    let eu: Vec<String> = (13..=160).map(user).collect();
    let us: Vec<String> = (171..=320).map(user).chain([user(161)]).collect();
    format!(
        "teams:\n  - id: \"{EU}\"\n    name: ACME EU\n    members: [{admin}]\n    products:\n      - name: AutoCAD\n        assigned: [{eu}]\n  - id: \"{US}\"\n    name: ACME US\n    members: [{admin}]\n    products:\n      - name: AutoCAD\n        assigned: [{us}]\n",
        admin = ADMIN_EMAIL,
        eu = eu.join(", "),
        us = us.join(", "),
    )
}

#[test]
fn accord_teams_lists_the_logins_teams_and_their_pools() {
    let mut pipeline = Pipeline::new(two_teams());
    let text = pipeline.expect(&["teams"], 0);
    assert!(text.contains("team 100001 (ACME EU): 161 users"), "{text}");
    assert!(text.contains("team 100002 (ACME US): 161 users"), "{text}");
    assert!(text.contains("AutoCAD   2 of 200 used"), "{text}");
    assert!(
        text.contains("Revit     1 of unlimited used (1 inherited)"),
        "{text}"
    );
    assert!(text.contains("Civil 3D  0 of 5 used"), "{text}");
    assert!(text.contains("not current"), "{text}");
    let json = pipeline.expect(&["teams", "--format", "json"], 0);
    let json: serde_json::Value =
        serde_json::from_str(json.split("\n--- stderr").next().unwrap()).expect("JSON");
    assert_eq!(json["version"], 1);
    let eu = &json["teams"][0];
    assert_eq!(eu["id"], EU);
    let revit = eu["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product"] == "Revit")
        .unwrap();
    assert_eq!(revit["unlimited"], true);
    assert_eq!(revit["seats"], serde_json::Value::Null);
}

#[test]
fn export_then_plan_is_empty_and_inherited_seats_are_comments() {
    let mut pipeline = Pipeline::new(two_teams());
    pipeline.export();
    let teams = read(&pipeline.config().join("teams.yaml"));
    assert!(
        teams.contains("id: '100001'") || teams.contains("id: \"100001\""),
        "{teams}"
    );
    assert!(
        teams.contains(&format!(
            "# team 100001: Revit is inherited (a group or the whole team, set in the portal; accord does not change it) by: {}",
            user(3)
        )),
        "{teams}"
    );
    assert!(
        teams.contains("# team 100001: the Civil 3D pool runs from"),
        "{teams}"
    );
    let members = read(&pipeline.config().join("members.yaml"));
    assert!(
        members.contains(&user(160)),
        "every team user is a member (R07)"
    );
    let validate = accord()
        .args(["validate"])
        .arg(pipeline.config())
        .output()
        .expect("validate");
    assert!(validate.status.success(), "{validate:?}");
    pipeline.plan_is_empty();
    // The reads of export and of plan, each: one List Teams, and per team its pools
    // (1 page), its users (161: 2 pages of 100) and its assignments (1 call).
    let state = pipeline.fake.state();
    assert_eq!(state.count("GET teams"), 2);
    assert_eq!(state.count("GET teams/{id}/product-pools"), 2 * 2);
    assert_eq!(state.count("GET teams/{id}/users"), 2 * 2 * 2);
    assert_eq!(state.count("GET teams/{id}/assignments"), 2 * 2);
}

#[test]
fn three_hundred_seats_across_two_teams_apply_and_converge() {
    let mut pipeline = Pipeline::new(two_teams().with(|state| {
        // The vendor's team-wide list shows a write a while after it.
        state.lag = Duration::from_millis(1500);
    }));
    pipeline.export();
    pipeline.declare_teams(&three_hundred_changes());
    let config = pipeline.config();
    let plan = pipeline.expect(
        &["plan", "--detailed-exitcode", config.to_str().unwrap()],
        2,
    );
    assert!(plan.contains("team_seat.assign"), "{plan}");
    let applied = pipeline.apply();
    assert!(applied.contains("300 operations: 300 done"), "{applied}");
    pipeline.plan_is_empty();
    let state = pipeline.fake.state();
    let eu = state.team(EU).unwrap();
    assert!(eu.has_direct(&state.person_by_email(&user(13)).unwrap().id, "acad-eu"));
    assert!(!eu.has_direct(&state.person_by_email(&user(1)).unwrap().id, "acad-eu"));
    assert_eq!(state.too_many(EU), 0, "no 429 for the budget");
    assert_eq!(state.too_many(US), 0, "no 429 for the budget");
    let busiest = state.per_window(EU).values().copied().max().unwrap_or(0);
    assert!(busiest <= 60, "60 calls a window at most: {busiest}");
    // Writes: exactly one per change.
    let writes =
        state.count("POST teams/{id}/assignments") + state.count("DELETE teams/{id}/assignments");
    assert_eq!(writes, 300, "one call per change");
}

#[test]
fn faults_and_another_client_on_the_budget_lose_nothing_and_a_rerun_converges() {
    let mut pipeline = Pipeline::new(two_teams().on(US).with(|state| {
        state.limits.other = OtherClient::Spread(0.5);
        state.lag = Duration::from_millis(500);
    }));
    pipeline.export();
    pipeline.declare_teams(&three_hundred_changes());
    pipeline.fake.state().fail_randomly(0.1, 7);
    // A run under faults either converges or stops with what is left; the next run
    // carries out the rest, and the account ends as declared.
    let config = pipeline.config();
    let first = pipeline.run(&["apply", "--auto-approve", config.to_str().unwrap()]);
    assert!(matches!(first.status.code(), Some(0 | 1)), "{first:?}");
    let injected = pipeline.fake.state().injected();
    assert!(injected > 0, "faults were injected");
    pipeline.fake.state().random = None;
    let _ = pipeline.apply();
    pipeline.plan_is_empty();
    let state = pipeline.fake.state();

    // The other client's calls fall due as its window goes by, which no
    // `X-RateLimit-Remaining` can foresee: a lone 429 at a window's end may happen,
    // a run of them may not (each waits for its `Retry-After`, the window's end).
    let statuses: Vec<u16> = state.team_log(US).iter().map(|r| r.status).collect();
    let longest_run = statuses
        .split(|s| *s != 429)
        .map(<[u16]>::len)
        .max()
        .unwrap_or(0);
    assert!(longest_run <= 2, "no run of 429s: {statuses:?}");
    assert!(
        state.team(US).unwrap().bucket.throttled <= 3,
        "the other client's share was respected"
    );
    assert!(state.other_calls(US).0 > 0, "the other client did call");
}

#[test]
fn a_dropped_answer_to_an_assignment_is_sent_again_and_counts_once() {
    let mut pipeline = Pipeline::new(two_teams());
    pipeline.export();
    pipeline.declare_teams(&format!(
        "teams:\n  - id: \"{EU}\"\n    name: ACME EU\n    products:\n      - name: AutoCAD\n        assigned: [{}, {}, {}]\n",
        user(1),
        user(2),
        user(50)
    ));
    pipeline.fake.state().faults.push(super::fake::Fault {
        label: "POST teams/{id}/assignments".into(),
        kind: FaultKind::Drop,
        time: FaultTime::After,
    });
    let applied = pipeline.apply();
    // user0050's seat was made, its answer lost; the resend finds it (200): one seat,
    // two requests, the operation already so.
    assert!(applied.contains("1 already so"), "{applied}");
    pipeline.plan_is_empty();
    let state = pipeline.fake.state();
    assert_eq!(state.received("POST teams/{id}/assignments"), 2);
    let id = state.person_by_email(&user(50)).unwrap().id.clone();
    assert!(state.team(EU).unwrap().has_direct(&id, "acad-eu"));
}

#[test]
fn a_team_the_login_does_not_administer_is_refused_by_r14_before_any_write() {
    let mut pipeline = Pipeline::new(two_teams().foreign_team("100009", "Someone else's"));
    pipeline.export();
    pipeline.declare_members([user(1)]);
    pipeline.declare_teams(&format!(
        "teams:\n  - id: \"100009\"\n    name: Someone else's\n    products:\n      - name: AutoCAD\n        assigned: [{}]\n",
        user(1)
    ));
    let config = pipeline.config();
    let said = pipeline.expect(&["plan", config.to_str().unwrap()], 3);
    assert!(said.contains("R14"), "{said}");
    assert!(said.contains("100009"), "{said}");
    assert_eq!(
        pipeline.fake.state().count("POST teams/{id}/assignments"),
        0,
        "nothing written"
    );
}

#[test]
fn a_pool_size_and_a_removal_from_a_team_are_manual_steps() {
    let mut pipeline = Pipeline::new(two_teams());
    pipeline.export();
    // A bigger AutoCAD pool, and (with prune) user0160 off the EU team's lists.
    let teams = read(&pipeline.config().join("teams.yaml"))
        .replace("seats: 200", "seats: 250")
        .replace(&format!("{}, ", user(160)), "")
        .replace(&format!(", {}]", user(160)), "]");
    assert!(!teams.contains(&user(160)), "{teams}");
    pipeline.declare_teams(&teams);
    let account = pipeline.config().join("account.yaml");
    std::fs::write(
        &account,
        read(&account).replace("prune: false", "prune: true"),
    )
    .unwrap();
    let config = pipeline.config();
    let said = pipeline.expect(
        &["plan", "--detailed-exitcode", config.to_str().unwrap()],
        2,
    );
    assert!(
        said.contains("Manual steps") || said.contains("manual"),
        "{said}"
    );
    assert!(said.contains("buy or cancel seats"), "{said}");
    assert!(
        said.contains(&format!("team_member.remove 100001/{}", user(160)))
            && said.contains("remove the user from the team in Autodesk Account"),
        "{said}"
    );
    let applied = pipeline.apply();
    assert!(
        applied.contains("buy or cancel seats"),
        "the manual step is printed: {applied}"
    );
}

#[test]
fn without_a_login_the_teams_only_backend_says_to_log_in() {
    let fake = two_teams().start();
    let dir = tempfile::tempdir().unwrap();
    let output = accord()
        .args(["teams", "--backend", TEAMS_ONLY])
        .envs(fake.env())
        .env_remove("APS_REFRESH_TOKEN")
        .env("ACCORD_CONFIG_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("accord login"), "{err}");
}

#[test]
fn a_used_up_reassignment_quota_stops_that_pool_and_says_when_it_resets() {
    let mut setup = Setup::new()
        .team(EU, "ACME EU")
        .users(10)
        .pool(Pool::limited("acad-eu", "AutoCAD", 10).quota(3, Duration::from_secs(86_400)));
    for i in 1..=5 {
        setup = setup.direct(&user(i), "acad-eu");
    }
    let mut pipeline = Pipeline::new(setup.with(|state| {
        state.limits.minute = Duration::from_secs(WINDOW_SECS);
    }));
    pipeline.export();
    // The five seats go to five others: five un-assignments, then five reassignments
    // of freed seats, of which the quota allows three.
    let others: Vec<String> = (6..=10).map(user).collect();
    pipeline.declare_teams(&format!(
        "teams:\n  - id: \"{EU}\"\n    name: ACME EU\n    members: [{ADMIN_EMAIL}, {}]\n    products:\n      - name: AutoCAD\n        assigned: [{}]\n",
        (1..=5).map(user).collect::<Vec<_>>().join(", "),
        others.join(", ")
    ));
    let config = pipeline.config();
    let applied = pipeline.expect(
        &[
            "apply",
            "--auto-approve",
            "--format",
            "json",
            config.to_str().unwrap(),
        ],
        1,
    );
    let summary: serde_json::Value =
        serde_json::from_str(applied.split("\n--- stderr").next().unwrap()).expect("JSON");
    let errors = crate::common::schema_errors("apply.schema.json", &summary);
    assert!(
        errors.is_empty(),
        "schemas/apply.schema.json: {errors:?}\n{summary:#}"
    );
    assert_eq!(summary["converged"], false);
    assert_eq!(summary["refused"], 2, "{summary:#}");
    assert!(
        applied.contains("reassignment quota of the AutoCAD pool of team 100001 is used up until"),
        "{applied}"
    );
    assert!(
        applied.contains("80%"),
        "the warning before it ran out: {applied}"
    );
    let state = pipeline.fake.state();
    assert_eq!(state.quota_used(EU, "acad-eu"), 3);
    assert_eq!(
        state.received("POST teams/{id}/assignments"),
        4,
        "after the refusal, the pool's last assignment is not sent"
    );
}

#[test]
fn two_commands_of_one_ci_job_share_the_token_the_first_rotated() {
    // One job: the secret's refresh token in the environment for both commands; the
    // first spends it and writes the new one to ACCORD_REFRESH_TOKEN_FILE, which the
    // second reads instead of the spent one.
    let fake = two_teams().start();
    let refresh = fake.login().refresh;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rotated");
    let run = || {
        accord()
            .args(["teams", "--backend", TEAMS_ONLY])
            .envs(fake.env())
            .env("APS_REFRESH_TOKEN", &refresh)
            .env("ACCORD_REFRESH_TOKEN_FILE", &file)
            .env("ACCORD_CONFIG_DIR", dir.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let rotated = read(&file);
    assert_ne!(rotated.trim(), refresh);
    let second = run();
    assert!(
        second.status.success(),
        "the spent token was not sent again: {second:?}"
    );
    assert_ne!(read(&file).trim(), rotated.trim(), "rotated again");
}

#[test]
fn one_plan_and_one_apply_manage_the_acc_account_and_its_teams_together() {
    use crate::acc::fake as acc;
    // One base URL for the whole vendor: the Team Admin fake, which hands ACC's paths
    // and the app's own token requests to the ACC fake.
    let acc_fake = acc::Fake::start();
    let teams = Setup::new()
        .team(EU, "ACME EU")
        .member(&user(1), super::fake::Role::User)
        .pool(Pool::limited("acad-eu", "AutoCAD", 10))
        .upstream(&acc_fake.url)
        .start();
    let refresh = teams.login().refresh;
    let config = crate::common::TestConfig::with(&format!(
        "account: {{ id: {hub}, name: ACME }}\nmembers:\n  - {{ email: {admin}, access: [account_admin] }}\n  - {{ email: alice@acme.example, first_name: Alice, last_name: Anders }}\n  - {{ email: {u1} }}\nteams:\n  - id: \"{EU}\"\n    name: ACME EU\n    products:\n      - name: AutoCAD\n        assigned: [alice@acme.example, {u1}]\n",
        hub = acc::HUB,
        admin = acc::ADMIN_EMAIL,
        u1 = user(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rotated");
    let backend = format!("autodesk://{}?region={}", acc::HUB, acc::REGION);
    let run = |args: &[&str]| {
        let token = std::fs::read_to_string(&file).unwrap_or_else(|_| refresh.clone());
        accord()
            .args(args)
            .arg(config.path())
            .args(["--backend", &backend])
            .envs(teams.env())
            .env("APS_REFRESH_TOKEN", token.trim())
            .env("ACCORD_REFRESH_TOKEN_FILE", &file)
            .env("ACCORD_CONFIG_DIR", dir.path())
            .env("ACCORD_ACC_USER_ID", acc::ADMIN_ID)
            .env("ACCORD_TEAM_ADMIN_WINDOW_SECS", "1")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let plan = run(&["plan", "--detailed-exitcode"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr)
    );
    assert_eq!(plan.status.code(), Some(2), "{said}");
    for line in [
        "member.invite alice@acme.example",
        "team_member.add 100001/alice@acme.example",
        "team_seat.assign 100001/AutoCAD/alice@acme.example",
        "team_seat.assign 100001/AutoCAD/user0001@acme.example",
    ] {
        assert!(said.contains(line), "{line}:\n{said}");
    }
    let applied = run(&["apply", "--auto-approve"]);
    assert!(
        applied.status.success(),
        "{}{}",
        String::from_utf8_lossy(&applied.stdout),
        String::from_utf8_lossy(&applied.stderr)
    );
    let again = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    let state = teams.state();
    let alice = state
        .person_by_email("alice@acme.example")
        .expect("invited to the team");
    assert!(state.team(EU).unwrap().has_direct(&alice.id, "acad-eu"));
}

#[test]
fn the_seat_report_lists_a_pool_that_ends_soon_and_the_seats_that_lapse_with_it() {
    let mut soon = Pool::limited("acad-eu", "AutoCAD", 10);
    soon.end = soon.start + Duration::from_secs((30 + 20) * 86_400);
    let setup = Setup::new()
        .team(EU, "ACME EU")
        .users(5)
        .pool(soon)
        .pool(Pool::unlimited("revit-eu", "Revit"))
        .direct(&user(1), "acad-eu")
        .direct(&user(2), "acad-eu")
        .direct(&user(3), "revit-eu");
    let mut pipeline = Pipeline::new(setup);
    let out = pipeline.expect(&["report", "seats", "--format", "json"], 0);
    let json: serde_json::Value =
        serde_json::from_str(out.split("\n--- stderr").next().unwrap()).expect("JSON");
    let expiring = json["expiring"].as_array().expect("expiring pools");
    assert_eq!(
        expiring.len(),
        1,
        "only the AutoCAD pool ends soon: {json:#}"
    );
    let autocad = &expiring[0];
    assert_eq!(autocad["team"], EU);
    assert_eq!(autocad["team_name"], "ACME EU");
    assert_eq!(autocad["product"], "AutoCAD");
    assert_eq!(autocad["within_days"], 30);
    assert_eq!(autocad["used"], 2);
    let days_left = autocad["days_left"].as_i64().expect("days left");
    assert!((19..=20).contains(&days_left), "{autocad}");
    let lapsing: Vec<&str> = json["time_bound"]
        .as_array()
        .expect("time-bound seats")
        .iter()
        .filter(|seat| seat["product"] == "AutoCAD")
        .map(|seat| seat["email"].as_str().unwrap())
        .collect();
    assert_eq!(lapsing, [user(1), user(2)], "{json:#}");

    let markdown = pipeline.expect(&["report", "seats", "--format", "markdown"], 0);
    let row = format!(
        "| AutoCAD | ACME EU ({EU}) | {} | {days_left} | 30 days | 2 |",
        autocad["ends"].as_str().unwrap()
    );
    assert!(markdown.contains("#### Expiring pools"), "{markdown}");
    assert!(markdown.contains(&row), "{row}\n{markdown}");
}
