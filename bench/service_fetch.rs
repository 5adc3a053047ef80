//! The fetch benchmark of the `http` backend (BENCHMARKS.md, "## serve"): reading a
//! 50,000-member account from `accord serve` over loopback, against the ideal
//! `pages x round trip / concurrency`.
//!
//! ```text
//! cargo build --release --example service_fetch
//! target/release/examples/service_fetch [--members 50000] [--runs 5] [--concurrency 1,2,4,8,16]
//!                                       [--latency-ms 20] [--latency-concurrency 8,16]
//! ```
//!
//! 1. Seeds a store with the account of `service_common::Shape::LARGE` (50,000
//!    members, 150,000 project memberships, 40,000 seats...) and serves it in-process
//!    on 127.0.0.1 (its own 2-thread runtime).
//! 2. One warm-up fetch builds the service's view of that revision.
//! 3. Round trip: every page URL the fetch reads, requested once, one at a time, with
//!    one pooled connection (body read, not parsed); the mean.
//! 4. For each concurrency c: `runs` fetches (`HttpBackend::fetch`: pages, JSON,
//!    assembly), the median time; ratio = time / (pages x round trip / c).
//! 5. The same with `--latency-ms` added by the server to every request: a simulated
//!    network round trip, so the ratio shows how well the fetch overlaps requests when
//!    waiting dominates (on bare loopback the round trip is all CPU, shared by client
//!    and server on the same cores).

#[path = "service_common.rs"]
mod common;
#[path = "tool.rs"]
mod tool;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use accord::backend::http::HttpBackend;
use accord::wire::MAX_PAGE_SIZE;

use common::{Shape, TOKEN};

struct Args {
    members: usize,
    runs: usize,
    concurrency: Vec<usize>,
    latency: Duration,
    latency_concurrency: Vec<usize>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        members: Shape::LARGE.members,
        runs: 5,
        concurrency: vec![1, 2, 4, 8, 16],
        latency: Duration::from_millis(20),
        latency_concurrency: vec![8, 16],
    };
    let list = |v: &str| -> Result<Vec<usize>, String> {
        v.split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .map_err(|_| format!("not a list of numbers: {v}"))
            })
            .collect()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--members" => args.members = value.parse().map_err(|_| "--members N".to_owned())?,
            "--runs" => args.runs = value.parse().map_err(|_| "--runs N".to_owned())?,
            "--concurrency" => args.concurrency = list(&value)?,
            "--latency-ms" => {
                args.latency =
                    Duration::from_millis(value.parse().map_err(|_| "--latency-ms N".to_owned())?);
            }
            "--latency-concurrency" => args.latency_concurrency = list(&value)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    tool::finish(parse().and_then(|args| run(&args)))
}

fn run(args: &Args) -> Result<(), String> {
    let shape = Shape {
        members: args.members,
        ..Shape::LARGE
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("state.db");
    let started = Instant::now();
    common::seed(&db, &common::account(shape))?;
    println!(
        "seeded {} members in {:.1} s",
        shape.members,
        started.elapsed().as_secs_f64()
    );
    measure(&db, Duration::ZERO, &args.concurrency, args.runs)?;
    if !args.latency.is_zero() && !args.latency_concurrency.is_empty() {
        measure(
            &db,
            args.latency,
            &args.latency_concurrency,
            args.runs.min(3),
        )?;
    }
    Ok(())
}

fn measure(
    db: &std::path::Path,
    latency: Duration,
    concurrency: &[usize],
    runs: usize,
) -> Result<(), String> {
    let server = common::serve(db, latency, 2)?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    client.block_on(async {
        let mut backend = HttpBackend::connect(&server.url, TOKEN)
            .await
            .map_err(|e| e.to_string())?;
        let warm = Instant::now();
        let (snapshot, stats) = backend.fetch_with_stats().await.map_err(|e| e.to_string())?;
        println!(
            "\nadded latency {} ms: first fetch (builds the service's view) {:.2} s; {} pages, {} members, revision {}",
            latency.as_millis(),
            warm.elapsed().as_secs_f64(),
            stats.pages,
            snapshot.state.members.len(),
            snapshot.revision
        );
        let rtt = round_trip(&server.url, snapshot.revision, &snapshot.state, latency).await?;
        println!("round trip (mean of single-page requests, one at a time): {:.3} ms", rtt * 1000.0);
        println!("| concurrency | fetch time (median of {runs}) | ideal pages x rtt / c | ratio |");
        println!("|---|---|---|---|");
        for &c in concurrency {
            backend.set_concurrency(c);
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let (fetched, _) = backend.fetch_with_stats().await.map_err(|e| e.to_string())?;
                times.push(t.elapsed().as_secs_f64());
                assert_eq!(fetched.state.members.len(), snapshot.state.members.len());
            }
            let time = common::median(&mut times);
            #[allow(clippy::cast_precision_loss)] // page counts are small
            let ideal = stats.pages as f64 * rtt / c as f64;
            println!("| {c} | {time:.3} s | {ideal:.3} s | {:.2} |", time / ideal);
        }
        Ok::<_, String>(())
    })?;
    drop(server);
    Ok(())
}

/// The mean time of a single page request, one at a time, over the pages a fetch
/// reads (with added latency, a sample of 60 of them): pages x this is what the
/// fetch would take one page after another.
async fn round_trip(
    url: &str,
    revision: u64,
    state: &accord::state::State,
    latency: Duration,
) -> Result<f64, String> {
    let project_members: usize = state.projects.values().map(|p| p.members.len()).sum();
    let seats: usize = state
        .agreements
        .values()
        .flat_map(|a| a.products.values())
        .map(|p| p.assigned.len())
        .sum();
    let cloud: usize = state
        .agreements
        .values()
        .flat_map(|a| a.cloud_services.values())
        .map(std::collections::BTreeSet::len)
        .sum();
    let support: usize = state.agreements.values().map(|a| a.support.len()).sum();
    let collections = [
        ("companies", state.companies.len()),
        ("roles", state.roles.len()),
        ("members", state.members.len()),
        ("agreements", state.agreements.len()),
        ("seats", seats),
        ("cloud-services", cloud),
        ("support", support),
        ("projects", state.projects.len()),
        ("project-members", project_members),
    ];
    let mut pages = Vec::new();
    for (name, total) in collections {
        let mut offset = 0;
        loop {
            pages.push(format!(
                "{url}/v1/{name}?limit={MAX_PAGE_SIZE}&offset={offset}&revision={revision}"
            ));
            offset += MAX_PAGE_SIZE;
            if offset >= total {
                break;
            }
        }
    }
    if !latency.is_zero() {
        let step = (pages.len() / 60).max(1);
        pages = pages.into_iter().step_by(step).collect();
    }
    let http = reqwest::Client::new();
    // One request first, so the connection is open before timing.
    let _ = http
        .get(&pages[0])
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await;
    let mut times = Vec::with_capacity(pages.len());
    for page in &pages {
        let t = Instant::now();
        let response = http
            .get(page)
            .bearer_auth(TOKEN)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{page}: HTTP {}", response.status()));
        }
        let _ = response.bytes().await.map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64());
    }
    #[allow(clippy::cast_precision_loss)] // page counts are small
    Ok(times.iter().sum::<f64>() / times.len() as f64)
}
