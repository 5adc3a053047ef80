//! Teams on the embedded store, through the binary: the store keeps what a plan
//! writes, so plan -> apply -> plan is empty; pool sizes and direct seats change
//! as planned; removing a member frees their team seats and team places in the
//! store exactly as the plan's cascade says, so the next plan is empty too.

use std::path::Path;
use std::sync::Arc;

use accord::backend::SystemClock;
use accord::backend::sqlite::SqliteStore;
use accord::state::{Email, State};

use crate::common::{TestConfig, accord};

fn yaml(team: &str, extra_members: &str, prune: bool) -> String {
    format!(
        "account: {{ id: acme-eu, name: ACME }}\n\
         settings: {{ prune: {prune} }}\n\
         members:\n  \
           - {{ email: alice@acme.example, access: [account_admin] }}\n  \
           - {{ email: carol@acme.example }}\n\
         {extra_members}\
         teams:\n{team}"
    )
}

const BOB: &str = "  - { email: bob@acme.example }\n";

fn team_yaml(seats: u32, assigned: &str) -> String {
    format!(
        "  - id: \"100001\"\n    name: ACME EU\n    members: [alice@acme.example]\n    products:\n      - {{ name: AutoCAD, seats: {seats}, assigned: [{assigned}] }}\n"
    )
}

fn run(dir: &Path, db: &Path, args: &[&str], code: i32) -> String {
    let url = format!("sqlite:{}", db.display());
    let output = accord()
        .args(args)
        .arg(dir)
        .args(["--backend", &url])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "accord {args:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn stored(db: &Path) -> State {
    SqliteStore::open(db.to_owned(), Arc::new(SystemClock))
        .expect("open")
        .fetch()
        .expect("fetch")
        .state
}

fn emails(list: &[&str]) -> std::collections::BTreeSet<Email> {
    list.iter().map(|e| Email::new(e)).collect()
}

#[test]
fn the_store_keeps_teams_so_a_second_plan_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let config = TestConfig::with(&yaml(
        &team_yaml(2, "bob@acme.example, carol@acme.example"),
        BOB,
        false,
    ));
    let plan = run(config.path(), &db, &["plan"], 0);
    assert!(plan.contains("team.create 100001"), "{plan}");
    assert!(
        plan.contains("team_seat.assign 100001/AutoCAD/bob@acme.example"),
        "{plan}"
    );
    run(config.path(), &db, &["apply", "--auto-approve"], 0);
    assert_eq!(
        run(config.path(), &db, &["plan", "--detailed-exitcode"], 0),
        "No changes.\n"
    );
    let state = stored(&db);
    let team = &state.teams["100001"];
    assert_eq!(team.name, "ACME EU");
    assert_eq!(
        team.users,
        emails(&[
            "alice@acme.example",
            "bob@acme.example",
            "carol@acme.example"
        ])
    );
    let pool = &team.pools["AutoCAD"];
    assert_eq!(pool.seats, Some(2));
    assert_eq!(
        pool.direct,
        emails(&["bob@acme.example", "carol@acme.example"])
    );

    // A smaller pool and one seat taken back: unassign first, then shrink.
    let smaller = TestConfig::with(&yaml(&team_yaml(1, "bob@acme.example"), BOB, false));
    let plan = run(smaller.path(), &db, &["plan", "--detailed-exitcode"], 2);
    assert!(
        plan.contains("team_seat.unassign 100001/AutoCAD/carol@acme.example"),
        "{plan}"
    );
    assert!(plan.contains("team.update 100001"), "{plan}");
    run(smaller.path(), &db, &["apply", "--auto-approve"], 0);
    assert_eq!(
        run(smaller.path(), &db, &["plan", "--detailed-exitcode"], 0),
        "No changes.\n"
    );
    let pool = &stored(&db).teams["100001"].pools["AutoCAD"];
    assert_eq!(pool.seats, Some(1));
    assert_eq!(pool.direct, emails(&["bob@acme.example"]));
}

#[test]
fn removing_a_member_frees_their_team_seat_and_place_as_the_plan_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let with_bob = TestConfig::with(&yaml(&team_yaml(2, "bob@acme.example"), BOB, true));
    run(with_bob.path(), &db, &["apply", "--auto-approve"], 0);
    assert!(
        stored(&db).teams["100001"]
            .users
            .contains(&Email::new("bob@acme.example"))
    );

    // Bob leaves the account: one member.remove, its cascade frees the seat (no
    // team operation for him), and the store agrees, so the next plan is empty.
    let without_bob = TestConfig::with(&yaml(&team_yaml(2, ""), "", true));
    let plan = run(without_bob.path(), &db, &["plan", "--detailed-exitcode"], 2);
    assert!(plan.contains("member.remove bob@acme.example"), "{plan}");
    let op_lines = |op: &str| {
        plan.lines()
            .filter(|l| l.trim_start().starts_with(&format!("- {op}")))
            .count()
    };
    assert_eq!(op_lines("team_seat.unassign"), 0, "{plan}");
    assert_eq!(op_lines("team_member.remove"), 0, "{plan}");
    assert!(
        plan.contains("frees: team_seat.unassign 100001/AutoCAD/bob@acme.example"),
        "{plan}"
    );
    assert!(
        plan.contains("frees: team_member.remove 100001/bob@acme.example"),
        "{plan}"
    );
    run(without_bob.path(), &db, &["apply", "--auto-approve"], 0);
    assert_eq!(
        run(without_bob.path(), &db, &["plan", "--detailed-exitcode"], 0),
        "No changes.\n"
    );
    let team = &stored(&db).teams["100001"];
    assert!(!team.users.contains(&Email::new("bob@acme.example")));
    assert!(team.pools["AutoCAD"].direct.is_empty());
}

#[test]
fn a_pool_too_small_for_its_seats_is_refused_by_the_store_with_r04() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let config = TestConfig::with(&yaml(&team_yaml(2, "bob@acme.example"), BOB, false));
    run(config.path(), &db, &["apply", "--auto-approve"], 0);
    let mut store = SqliteStore::open(db.clone(), Arc::new(SystemClock)).expect("open");
    let before = store.revision().expect("revision");
    let outcomes = store
        .execute(&[
            accord::contract::Op::TeamUpdate {
                team: "100001".into(),
                name: None,
                seats: [("AutoCAD".to_owned(), 0)].into(),
            },
            accord::contract::Op::TeamSeatAssign {
                team: "100001".into(),
                product: "AutoCAD".into(),
                email: Email::new("nobody@acme.example"),
            },
        ])
        .expect("a batch");
    let texts: Vec<String> = outcomes.iter().map(|o| format!("{o:?}")).collect();
    assert!(texts[0].contains("R04"), "{texts:?}");
    assert!(texts[1].contains("R07"), "{texts:?}");
    assert_eq!(
        store.revision().expect("revision"),
        before,
        "nothing changed"
    );
}

#[test]
fn a_store_written_before_teams_is_migrated_and_keeps_its_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let config = TestConfig::with(&yaml(&team_yaml(2, "bob@acme.example"), BOB, false));
    run(config.path(), &db, &["apply", "--auto-approve"], 0);
    let revision = SqliteStore::open(db.clone(), Arc::new(SystemClock))
        .expect("open")
        .revision()
        .expect("revision");
    // Make it a version-1 store: the tables the first schema had, no teams.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DROP TABLE team_seats; DROP TABLE team_pools; DROP TABLE team_users; DROP TABLE teams;
             DROP TABLE seat_usage; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let state = stored(&db);
    assert!(
        state.teams.is_empty(),
        "the migrated store starts without teams"
    );
    assert_eq!(state.members.len(), 3, "members kept");
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 3, "brought to the newest schema");
    assert_eq!(
        SqliteStore::open(db.clone(), Arc::new(SystemClock))
            .expect("open")
            .revision()
            .expect("revision"),
        revision
    );
    // The next apply puts the team back.
    run(config.path(), &db, &["apply", "--auto-approve"], 0);
    assert_eq!(
        run(config.path(), &db, &["plan", "--detailed-exitcode"], 0),
        "No changes.\n"
    );
}
