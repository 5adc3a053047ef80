//! The vendor backend's calls per endpoint (BENCHMARKS.md, "## vendor calls per
//! endpoint"): an apply against the test suite's stateful fake of the vendor's API
//! (`tests/it/acc/fake.rs`), with the vendor's real budgets, each endpoint's
//! requests as the fake received them next to the fewest the change can be made and
//! verified with.
//!
//! ```text
//! cargo run --release --example acc_calls -- [--projects 15] [--rows 250]
//!     [--set-up 20] [--shown 20] [--faults 0.2 --seed 7]
//! ```
//!
//! The workload: an account holding only its admin; the configuration declares
//! `--rows` members and `--projects` new projects with the members spread evenly
//! over them (member i on project i mod P), each a project member with `docs`. The
//! vendor sets a new project up in `--set-up` seconds (it is `pending`, unlisted and
//! takes no writes until then) and shows a project import's users `--shown` seconds
//! after it accepted it. `--faults F` fails that fraction of every request (the
//! token endpoint's too): 500, 503, 429 or a dropped connection, before or after the
//! request is carried out.
//!
//! The plan is made and carried out through the library's pipeline (`check`, then
//! `carry_out`: journal, executor, verification), as `accord apply` does.

#[allow(dead_code, clippy::all)]
#[path = "../tests/it/acc/fake.rs"]
mod fake;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use accord::apply::progress::Silent;
use accord::apply::{ExecuteOptions, Stop};
use accord::backend::Backend;
use accord::backend::acc::client::{Credentials, RateLimits};
use accord::backend::acc::{AccBackend, AccSettings, default_poll};
use accord::config::LoadOptions;
use accord::pipeline::{self, CarryOut, PlanOptions};
use tokio::time::Instant;

struct Args {
    projects: usize,
    rows: usize,
    set_up: f64,
    shown: f64,
    faults: f64,
    seed: u64,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        projects: 15,
        rows: 250,
        set_up: 20.0,
        shown: 20.0,
        faults: 0.0,
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--projects" => args.projects = value.parse().map_err(|e| bad(&e))?,
            "--rows" => args.rows = value.parse().map_err(|e| bad(&e))?,
            "--set-up" => args.set_up = value.parse().map_err(|e| bad(&e))?,
            "--shown" => args.shown = value.parse().map_err(|e| bad(&e))?,
            "--faults" => args.faults = value.parse().map_err(|e| bad(&e))?,
            "--seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

fn config(args: &Args) -> String {
    let mut yaml = format!(
        "account: {{ id: {}, name: ACME }}\nmembers:\n  - {{ email: {}, access: [account_admin] }}\n",
        fake::HUB,
        fake::ADMIN_EMAIL
    );
    for i in 0..args.rows {
        let _ = writeln!(yaml, "  - {{ email: r{i:05}@acme.example }}");
    }
    yaml.push_str("projects:\n");
    for p in 0..args.projects {
        let _ = writeln!(yaml, "  - name: Project {p:03}\n    members:");
        for i in (p..args.rows).step_by(args.projects) {
            let _ = writeln!(
                yaml,
                "      - {{ email: r{i:05}@acme.example, access: member, products: [docs] }}"
            );
        }
    }
    yaml
}

/// Pages of an `hq` list of `n` items (bare arrays of 100, read until a short page).
fn hq_pages(n: usize) -> u64 {
    (n / 100 + 1) as u64
}

/// Pages of a `construction/admin` list of `n` items (envelopes of 200 with a total).
fn admin_pages(n: usize) -> u64 {
    n.div_ceil(200).max(1) as u64
}

/// The fewest requests per endpoint that make the change and verify it: one token;
/// two reads of the account (the plan's, the verification's); one import per 50
/// invitations and one per project (up to 200 users); one creation per project, and
/// one look at the projects' list (their 202 says they are being set up).
fn minimum(args: &Args) -> BTreeMap<&'static str, u64> {
    let per_project: Vec<usize> = (0..args.projects)
        .map(|p| (p..args.rows).step_by(args.projects).count())
        .collect();
    let p = args.projects as u64;
    BTreeMap::from([
        ("POST token", 1),
        ("GET companies", 2),
        ("GET users", hq_pages(1) + hq_pages(args.rows + 1)),
        // The plan's read, one look to see the new projects set up (their 202 says
        // they are being set up), the verification's read.
        (
            "GET projects",
            2 * admin_pages(args.projects) + admin_pages(0),
        ),
        ("POST users/import", args.rows.div_ceil(50) as u64),
        ("POST projects", p),
        (
            "POST projects/{id}/users:import",
            per_project.iter().map(|n| n.div_ceil(200) as u64).sum(),
        ),
        (
            "GET projects/{id}/users",
            per_project.iter().map(|n| admin_pages(*n)).sum(),
        ),
    ])
}

async fn measure(args: &Args) -> Result<String, String> {
    let fake = fake::Fake::start();
    {
        let mut s = fake.state();
        s.project_delay = Duration::from_secs_f64(args.set_up);
        s.import_delay = Duration::from_secs_f64(args.shown);
        if args.faults > 0.0 {
            s.fail_randomly(args.faults, args.seed);
        }
    }
    let dir = tempfile_dir()?;
    std::fs::write(dir.join("accord.yaml"), config(args)).map_err(|e| e.to_string())?;
    let desired = accord::validate::validate(&dir, &LoadOptions::default())
        .map_err(|d| format!("invalid workload: {d:?}"))?
        .desired;
    let settings = AccSettings {
        account_id: fake::HUB.into(),
        region: fake::REGION.into(),
        base_url: fake.url.clone(),
        credentials: Credentials {
            client_id: fake::CLIENT_ID.into(),
            client_secret: fake::CLIENT_SECRET.into(),
            user_id: Some(fake::ADMIN_ID.into()),
        },
        limits: RateLimits::default(),
        poll: default_poll(),
    };
    let backend: Arc<dyn Backend> =
        Arc::new(AccBackend::connect(settings).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let options = PlanOptions {
        skip_unsupported: true,
        ..PlanOptions::default()
    };
    let checked = pipeline::check(backend.as_ref(), &desired, options)
        .await
        .map_err(|e| e.to_string())?;
    let carry = CarryOut {
        holder: "bench".into(),
        runs_dir: dir.join("runs"),
        execute: ExecuteOptions::default(),
        progress: Arc::new(Silent),
        stop: Stop::default(),
        started,
    };
    let summary = pipeline::carry_out(Arc::clone(&backend), checked.plan.clone(), &checked, carry)
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let s = fake.state();
    let minimum = minimum(args);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} projects, {} rows; set up after {} s, imports shown after {} s; faults {}",
        args.projects, args.rows, args.set_up, args.shown, args.faults
    );
    let _ = writeln!(
        out,
        "apply: {} operations, converged {}, {:.1} s (plan and apply); summary: {} API calls ({} writes, {} retries, {} rate-limited)",
        summary.operations,
        summary.converged,
        elapsed.as_secs_f64(),
        summary.api_calls,
        summary.write_calls,
        summary.retries,
        summary.rate_limited
    );
    let _ = writeln!(
        out,
        "the vendor received {} requests ({} faults injected); rows imported twice: {}",
        s.requests,
        s.injected(),
        s.row_imports.values().filter(|n| **n > 1).count()
    );
    out.push_str("\n| endpoint | calls | minimum | calls / minimum |\n|---|---:|---:|---:|\n");
    let mut labels: Vec<&str> = minimum.keys().copied().collect();
    for label in s.received.keys() {
        if !labels.contains(&label.as_str()) {
            labels.push(label);
        }
    }
    for label in labels {
        let calls = s.received(label);
        let least = minimum.get(label).copied().unwrap_or(0);
        let ratio = if least == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", calls as f64 / least as f64)
        };
        let _ = writeln!(out, "| `{label}` | {calls} | {least} | {ratio} |");
    }
    let total_min: u64 = minimum.values().sum();
    let _ = writeln!(
        out,
        "| all | {} | {total_min} | {:.2} |",
        s.requests,
        s.requests as f64 / total_min as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    if !summary.converged {
        return Err(format!("the apply did not converge\n{out}"));
    }
    Ok(out)
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("accord-acc-calls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("acc_calls: {e}");
            return ExitCode::from(64);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(measure(&args)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("acc_calls: {e}");
            ExitCode::FAILURE
        }
    }
}
