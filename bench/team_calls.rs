//! The vendor's teams under their budget (BENCHMARKS.md, "## vendor teams: calls and
//! time against the budget"): `accord apply` and `accord plan` (the release binary)
//! against the test suite's stateful fake of the Team Admin API
//! (`tests/it/teams/fake.rs`), with the vendor's 60 calls a window per team and the
//! window scaled down so that a run of hundreds of calls takes seconds.
//!
//! ```text
//! cargo build --release --bins --example team_calls
//! target/release/examples/team_calls [--teams 1] [--users 500] [--changes 300]
//!     [--window 1] [--other 0] [--lag-ms 0]
//! ```
//!
//! The workload: `--teams` teams of `--users` users each, an AutoCAD pool of
//! `users + 100` seats that nobody holds; the configuration (exported from the fake,
//! then edited) gives AutoCAD to the first `--changes` users of each team. `--other S`
//! has another client spend the share S of each team's window, spread over it;
//! `--lag-ms` delays writes in the team-wide list of assignments.
//!
//! It prints, per team: the writes against the changes (goal: equal), the reads of a
//! plan against the fewest the API allows (`ceil(users/100)` + pool pages + 1, and
//! one List Teams for the run), the apply's time against the floor (`changes / 60`
//! windows: achieved / floor, goal >= 0.95 for one team without another client), and
//! the 429s the budget answered.

// The fakes as the test suite holds them: the Team Admin fake reaches the ACC fake's
// shared pieces as `crate::acc::fake`.
#[allow(dead_code, clippy::all)]
#[path = "../tests/it/acc/fake.rs"]
mod acc_fake;

#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../tests/it/teams/fake.rs"]
mod teams_fake;

mod acc {
    pub(crate) use super::acc_fake as fake;
}

mod teams {
    pub(crate) use super::teams_fake as fake;
}

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use teams::fake::{ADMIN_EMAIL, Fake, OtherClient, Pool, Role, Setup};

struct Args {
    teams: usize,
    users: usize,
    changes: usize,
    window: u64,
    other: f64,
    lag_ms: u64,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        teams: 1,
        users: 500,
        changes: 300,
        window: 1,
        other: 0.0,
        lag_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--teams" => args.teams = value.parse().map_err(|e| bad(&e))?,
            "--users" => args.users = value.parse().map_err(|e| bad(&e))?,
            "--changes" => args.changes = value.parse().map_err(|e| bad(&e))?,
            "--window" => args.window = value.parse().map_err(|e| bad(&e))?,
            "--other" => args.other = value.parse().map_err(|e| bad(&e))?,
            "--lag-ms" => args.lag_ms = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.changes > args.users {
        return Err("--changes is at most --users".into());
    }
    Ok(args)
}

fn team_id(t: usize) -> String {
    format!("{}", 100_001 + t)
}

fn email(t: usize, i: usize) -> String {
    format!("t{t}u{i:05}@acme.example")
}

fn setup(args: &Args) -> Setup {
    let mut setup = Setup::new();
    for t in 0..args.teams {
        setup = setup.team(&team_id(t), &format!("Team {t}"));
        for i in 0..args.users {
            setup = setup.member(&email(t, i), Role::User);
        }
        setup = setup.pool(Pool::limited(
            &format!("acad-{t}"),
            "AutoCAD",
            (args.users + 100) as u64,
        ));
    }
    let (window, other, lag) = (args.window, args.other, args.lag_ms);
    setup.with(move |state| {
        state.limits.minute = Duration::from_secs(window);
        if other > 0.0 {
            state.limits.other = OtherClient::Spread(other);
        }
        state.lag = Duration::from_millis(lag);
    })
}

/// The release binary next to this example.
fn accord_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    exe.parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("accord"))
        .expect("target/release")
}

struct Runner {
    fake: Fake,
    refresh: String,
    dir: tempfile::TempDir,
    window: u64,
}

impl Runner {
    fn run(&mut self, args: &[&str]) -> (i32, String) {
        let file = self.dir.path().join("rotated");
        let _ = std::fs::remove_file(&file);
        let output = Command::new(accord_binary())
            .args(args)
            .envs(self.fake.env())
            .env("APS_REFRESH_TOKEN", &self.refresh)
            .env("ACCORD_REFRESH_TOKEN_FILE", &file)
            .env("ACCORD_CONFIG_DIR", self.dir.path())
            .env("ACCORD_TEAM_ADMIN_WINDOW_SECS", self.window.to_string())
            .env("ACCORD_BACKEND", "autodesk://?region=US")
            .current_dir(self.dir.path())
            .output()
            .expect("accord runs");
        if let Ok(next) = std::fs::read_to_string(&file) {
            self.refresh = next.trim().to_owned();
        }
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), said)
    }
}

fn teams_yaml(args: &Args) -> String {
    let mut yaml = String::from("teams:\n");
    for t in 0..args.teams {
        let assigned: Vec<String> = (0..args.changes).map(|i| email(t, i)).collect();
        yaml.push_str(&format!(
            "  - id: \"{}\"\n    name: Team {t}\n    members: [{ADMIN_EMAIL}]\n    products:\n      - name: AutoCAD\n        assigned: [{}]\n",
            team_id(t),
            assigned.join(", ")
        ));
    }
    yaml
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("team_calls: {e}");
            return ExitCode::from(64);
        }
    };
    let fake = setup(&args).start();
    let refresh = fake.login().refresh;
    let mut runner = Runner {
        fake,
        refresh,
        dir: tempfile::tempdir().expect("temp dir"),
        window: args.window,
    };
    let config = runner.dir.path().join("config");
    let config_arg = config.to_str().expect("UTF-8").to_owned();
    let (code, said) = runner.run(&["export", "--out", &config_arg]);
    assert_eq!(code, 0, "export: {said}");
    std::fs::write(config.join("teams.yaml"), teams_yaml(&args)).expect("write teams.yaml");
    runner.fake.state().log.clear();
    let start = Instant::now();
    let (code, said) = runner.run(&["apply", "--auto-approve", &config_arg]);
    let applied = start.elapsed();
    assert_eq!(code, 0, "apply: {said}");
    let during_apply = runner.fake.state().log.clone();
    runner.fake.state().log.clear();
    let (code, said) = runner.run(&["plan", "--detailed-exitcode", &config_arg]);
    assert_eq!(code, 0, "the plan after the apply is empty: {said}");
    let state = runner.fake.state();
    let plan_log = state.log.clone();
    println!(
        "teams {}, users {}, changes {} per team, window {} s (60 calls), other client {:.0}%, lag {} ms",
        args.teams,
        args.users,
        args.changes,
        args.window,
        args.other * 100.0,
        args.lag_ms
    );
    let list_teams = plan_log.iter().filter(|r| r.label == "GET teams").count();
    println!("plan: List Teams {list_teams} (fewest 1)");
    let floor = Duration::from_secs_f64(args.changes as f64 / 60.0 * args.window as f64);
    for t in 0..args.teams {
        let id = team_id(t);
        let mine = |log: &[teams::fake::Received], label: &str| {
            log.iter()
                .filter(|r| r.team.as_deref() == Some(id.as_str()) && r.label == label)
                .count()
        };
        let writes = mine(&during_apply, "POST teams/{id}/assignments")
            + mine(&during_apply, "DELETE teams/{id}/assignments");
        let reads = [
            "GET teams/{id}/users",
            "GET teams/{id}/product-pools",
            "GET teams/{id}/assignments",
        ]
        .iter()
        .map(|label| mine(&plan_log, label))
        .sum::<usize>();
        // The team's users are the benchmark's and the automation admin.
        let fewest = (args.users + 1).div_ceil(100) + 1 + 1;
        let team_time = {
            let times: Vec<Instant> = during_apply
                .iter()
                .filter(|r| r.team.as_deref() == Some(id.as_str()))
                .map(|r| r.at)
                .collect();
            match (times.iter().min(), times.iter().max()) {
                (Some(a), Some(b)) => *b - *a,
                _ => Duration::ZERO,
            }
        };
        let throttled = state.team(&id).map_or(0, |team| team.bucket.throttled);
        println!(
            "team {id}: writes {writes} for {} changes (ratio {:.2}); plan reads {reads} (fewest {fewest}, ratio {:.2}); team's calls spanned {:.2} s, floor {:.2} s (floor / achieved {:.2}); 429 for the budget: {throttled}",
            args.changes,
            writes as f64 / args.changes.max(1) as f64,
            reads as f64 / fewest as f64,
            team_time.as_secs_f64(),
            floor.as_secs_f64(),
            floor.as_secs_f64() / team_time.as_secs_f64().max(1e-9),
        );
    }
    println!(
        "apply wall time {:.2} s (the process: fetch, plan, writes, verification); floor per team {:.2} s",
        applied.as_secs_f64(),
        floor.as_secs_f64()
    );
    ExitCode::SUCCESS
}
