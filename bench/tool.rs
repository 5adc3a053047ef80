//! What the benchmark tools in `bench/` share (each is an example of its own, see
//! Cargo.toml, and includes this file with `#[path = "tool.rs"] mod tool;`): how
//! `main` ends on an error, and the small deterministic random generator behind the
//! generated workloads.
//!
//! Kept here once so that the tools report errors alike and that a seed means the
//! same sequence of choices in every tool.

#![allow(dead_code)] // each tool uses a part (not every one draws random numbers)

use std::process::ExitCode;

/// The exit code for the outcome of a tool's run: an error is printed to stderr
/// (`error: ...`) and exits 1.
pub fn finish(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The exit code for a command line the tool cannot use: the error and the usage
/// line are printed to stderr, and it exits 2.
pub fn usage_error(message: &str, usage: &str) -> ExitCode {
    eprintln!("error: {message}\n{usage}");
    ExitCode::from(2)
}

/// A small deterministic generator (`SplitMix64`): no dependency, the same seed gives
/// the same output everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0). The modulo bias is irrelevant for a benchmark's
    /// choices.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).expect("below n, a usize")
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `items`, or `None` when there are none.
    pub fn pick_any<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| self.pick(items))
    }
}
