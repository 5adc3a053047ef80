//! Times each stage of `accord validate` on a configuration (see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release --example stages -- PATH [--whole]
//! ```
//!
//! The stages are those `accord::validate::validate` runs:
//! - `load+schema`: reading, parsing and merging the files while each item of a list
//!   section is checked against the schema and typed (`schema::load_and_check`);
//! - `context`: indexing the typed configuration for the rules;
//! - `rules`: the checks R01-R10 (`validate` runs them on a second thread, alongside
//!   `compile`; here they run one after the other, so each is timed alone);
//! - `compile`: compiling the desired state and its provenance;
//! - `drop`: freeing it all (the `accord` binary skips this: it exits instead).
//!
//! With `--whole`, the stages of the plain pipeline are timed first, for comparison:
//! `config::load` building the whole merged value, then `schema::check` on it.

use std::path::PathBuf;
use std::process::ExitCode;
#[path = "timing.rs"]
mod timing;

use timing::{ms, timed};

use accord::config::{self, LoadOptions, schema};
use accord::rules::{self, Context};

fn main() -> ExitCode {
    let mut path = None;
    let mut whole = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--whole" => whole = true,
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return usage(),
        }
    }
    let Some(path) = path else {
        return usage();
    };
    let options = LoadOptions::default();
    if whole {
        let (loaded, load) = timed(|| config::load(&path, &options));
        let Ok(loaded) = loaded else {
            eprintln!("the configuration does not load");
            return ExitCode::FAILURE;
        };
        let (checked, check) = timed(|| schema::check(&loaded));
        let ((), drop_time) = timed(|| drop((loaded, checked)));
        println!(
            "whole value: load {} schema {} drop {}",
            ms(load),
            ms(check),
            ms(drop_time)
        );
    }
    let mut peaks = Vec::new();
    let (checked, load_and_check) = timed(|| schema::load_and_check(&path, &options));
    peaks.push(format!("load+schema {}", peak_memory()));
    let Ok(checked) = checked else {
        eprintln!("the configuration does not pass the schema");
        return ExitCode::FAILURE;
    };
    let (ctx, context) = timed(|| Context::new(&checked.config, &checked.sources));
    let (diagnostics, check) = timed(|| rules::check(&ctx));
    peaks.push(format!("rules {}", peak_memory()));
    let (desired, compile) = timed(|| rules::compile::desired(&ctx));
    peaks.push(format!("compile {}", peak_memory()));
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    drop(ctx);
    let ((), drop_time) = timed(|| drop((desired, checked)));
    println!(
        "load+schema {} context {} rules {} compile {} drop {} ({errors} rule errors)",
        ms(load_and_check),
        ms(context),
        ms(check),
        ms(compile),
        ms(drop_time)
    );
    println!("peak memory after {}", peaks.join(", "));
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: stages PATH [--whole]");
    ExitCode::from(2)
}

/// The peak resident memory of the process so far (Linux; `?` elsewhere).
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{} MiB", kib / 1024))
        })
        .unwrap_or_else(|| "?".to_owned())
}
