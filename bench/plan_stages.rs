//! Times each stage of `accord plan` on a configuration and a backend (see
//! BENCHMARKS.md, "## plan stages after the diff fixes").
//!
//! ```text
//! cargo run --release --example plan_stages -- PATH BACKEND_URL
//! ```
//!
//! The stages are those `accord plan` runs, one after the other:
//! - `validate`: [`accord::validate::validate`] (load, schema, rules, compile);
//! - `open`: [`accord::pipeline::open`] (for a store: opening it and checking it);
//! - `fetch`: [`accord::pipeline::fetch`], reading the whole account;
//! - `check`: [`accord::pipeline::check`] less its own fetch (the `fetch` figure):
//!   the diff, the safety rules, the drift report and the backend's preflight;
//! - `render`: the plan as text.

use std::path::PathBuf;
use std::process::ExitCode;
#[path = "timing.rs"]
mod timing;

use std::time::Instant;

use timing::{ms, timed};

use accord::config::LoadOptions;
use accord::pipeline::{self, PlanOptions};
use accord::plan::render::{self, Format};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, url] = args.as_slice() else {
        eprintln!("usage: plan_stages PATH BACKEND_URL");
        return ExitCode::from(2);
    };
    let (validated, validate) =
        timed(|| accord::validate::validate(&PathBuf::from(path), &LoadOptions::default()));
    let Ok(validated) = validated else {
        eprintln!("the configuration is not valid");
        return ExitCode::FAILURE;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = runtime.block_on(async {
        let start = Instant::now();
        let backend = pipeline::open(url, &Default::default()).await?;
        let open = start.elapsed();
        let start = Instant::now();
        let snapshot = pipeline::fetch(backend.as_ref()).await?;
        let fetch = start.elapsed();
        drop(snapshot);
        let options = PlanOptions {
            drift: true,
            ..PlanOptions::default()
        };
        let start = Instant::now();
        let checked = pipeline::check(backend.as_ref(), &validated.desired, options).await?;
        let check = start.elapsed().saturating_sub(fetch);
        let (text, render) = timed(|| render::render(&checked.plan, Format::Text, false));
        Ok::<_, accord::error::Error>((open, fetch, check, render, text.len(), checked.plan))
    });
    match outcome {
        Ok((open, fetch, check, render, bytes, plan)) => {
            println!(
                "validate {} open {} fetch {} check {} render {} ({} operations, {bytes} bytes of text)",
                ms(validate),
                ms(open),
                ms(fetch),
                ms(check),
                ms(render),
                plan.operations.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
