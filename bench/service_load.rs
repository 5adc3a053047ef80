//! The load benchmark of `accord serve` (BENCHMARKS.md, "## serve"): N concurrent
//! clients on loopback, each sending requests one after another for a bounded time
//! and count, for reads and for bulk writes; requests per second and latency
//! percentiles.
//!
//! ```text
//! cargo build --release --example service_load
//! target/release/examples/service_load [--clients 1,4,16,64] [--seconds 3] [--max-requests 20000]
//! ```
//!
//! - Account: 5,000 members, 1,000 companies (`service_common::account`), served
//!   in-process on 127.0.0.1 by a 2-thread runtime; the clients run in this process on
//!   another 2-thread runtime, sharing one pooled HTTP client (one connection per
//!   client in flight). The machine's 2 cores are shared by both sides.
//! - Reads: `GET /v1/members?limit=100&offset=K` (K pseudo-random), the view warm.
//! - Bulk writes: `POST /v1/operations` with 100 `company.update` operations (each
//!   client its own 100 companies, a new trade each time, so every operation is done
//!   and every batch is one committed transaction that moves the revision).
//! - Each phase stops after `--seconds` or `--max-requests`, whichever comes first.

#[path = "service_common.rs"]
mod common;
#[path = "tool.rs"]
mod tool;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Shape, TOKEN};
use serde_json::json;

struct Args {
    clients: Vec<usize>,
    seconds: f64,
    max_requests: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        clients: vec![1, 4, 16, 64],
        seconds: 3.0,
        max_requests: 20_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--clients" => {
                args.clients = value
                    .split(',')
                    .map(|n| n.trim().parse().map_err(|_| format!("--clients: {value}")))
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => args.seconds = value.parse().map_err(|_| "--seconds S".to_owned())?,
            "--max-requests" => {
                args.max_requests = value.parse().map_err(|_| "--max-requests N".to_owned())?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(args.seconds > 0.0 && args.seconds <= 60.0) || args.max_requests == 0 {
        return Err("--seconds is from 0 to 60 and --max-requests at least 1".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    tool::finish(parse().and_then(|args| run(&args)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reads,
    Writes,
}

fn run(args: &Args) -> Result<(), String> {
    let shape = Shape {
        members: 5_000,
        companies: 1_000,
        agreements: 20,
        projects: 100,
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("state.db");
    common::seed(&db, &common::account(shape))?;
    let server = common::serve(&db, Duration::ZERO, 2)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let limit = Duration::from_secs_f64(args.seconds);
    println!(
        "| phase | clients | requests | seconds | requests/s | operations/s | p50 ms | p99 ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for phase in [Phase::Reads, Phase::Writes] {
        for &clients in &args.clients {
            let result =
                runtime.block_on(load(&server.url, phase, clients, limit, args.max_requests))?;
            print_row(phase, clients, result);
        }
    }
    drop(server);
    Ok(())
}

struct Measured {
    latencies: Vec<f64>,
    elapsed: f64,
    errors: usize,
}

fn print_row(phase: Phase, clients: usize, mut r: Measured) {
    let requests = r.latencies.len();
    #[allow(clippy::cast_precision_loss)] // counts are small
    let rate = requests as f64 / r.elapsed;
    let (name, ops) = match phase {
        Phase::Reads => ("reads (GET 100 members)", "-".to_owned()),
        Phase::Writes => ("bulk writes (100 ops)", format!("{:.0}", rate * 100.0)),
    };
    let p50 = common::percentile(&mut r.latencies, 0.50) * 1000.0;
    let p99 = common::percentile(&mut r.latencies, 0.99) * 1000.0;
    println!(
        "| {name} | {clients} | {requests} | {:.2} | {rate:.0} | {ops} | {p50:.2} | {p99:.2} | {} |",
        r.elapsed, r.errors
    );
}

async fn load(
    url: &str,
    phase: Phase,
    clients: usize,
    limit: Duration,
    max_requests: usize,
) -> Result<Measured, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    // Warm: the view of the current revision, and one connection.
    let _ = http
        .get(format!("{url}/v1/members?limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if phase == Phase::Writes {
        // Every operation of a batch is carried out (not `already_so`): check one.
        let answer: serde_json::Value = http
            .post(format!("{url}/v1/operations"))
            .bearer_auth(TOKEN)
            .json(&batch(9_999, clients))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let done = answer["outcomes"]
            .as_array()
            .map_or(0, |o| o.iter().filter(|o| o["outcome"] == "done").count());
        if done != 100 {
            return Err(format!(
                "a write batch did {done} of 100 operations: {answer}"
            ));
        }
    }
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (http, url, sent) = (http.clone(), url.to_owned(), Arc::clone(&sent));
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n: usize = 0;
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < max_requests {
                n += 1;
                let request = match phase {
                    Phase::Reads => {
                        let offset = (client * 7_919 + n * 104_729) % 4_900;
                        http.get(format!("{url}/v1/members?limit=100&offset={offset}"))
                    }
                    Phase::Writes => http
                        .post(format!("{url}/v1/operations"))
                        .json(&batch(client, n)),
                };
                let t = Instant::now();
                let ok = match request.bearer_auth(TOKEN).send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(t.elapsed().as_secs_f64());
                errors += usize::from(!ok);
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        let (l, e) = joined.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
    }
    Ok(Measured {
        latencies,
        elapsed: started.elapsed().as_secs_f64(),
        errors,
    })
}

/// 100 `company.update`s of client `client`'s companies, with a trade new to round `n`.
fn batch(client: usize, n: usize) -> serde_json::Value {
    let operations: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            json!({
                "op": "company.update",
                "name": format!("Company {:04}", (client * 100 + i) % 1_000),
                "trade": format!("Trade {client}-{n}"),
            })
        })
        .collect();
    json!({ "operations": operations })
}
