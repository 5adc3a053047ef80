//! The parse-only baseline of the benchmark: read the same files `accord validate`
//! reads and run saphyr-parser over them, events with spans, building nothing.
//!
//! ```text
//! cargo run --release --example parse_only -- PATH [--parallel]
//! ```
//!
//! PATH is a file or a directory whose `*.yaml` / `*.yml` files are read in sorted
//! order. This is the floor any YAML validator built on saphyr-parser pays
//! (PERFORMANCE.md), so `accord validate` time / this time is the overhead of
//! everything accord does on top: the value tree, positions, schema and rules.
//! With `--parallel`, files are parsed on one thread per CPU, the floor for a
//! validator that parses files in parallel.
//!
//! It prints the number of files, bytes and events, so that the work cannot be
//! optimised away, and exits 1 on the first file that cannot be read or parsed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use saphyr_parser::{Event, Parser, Span, SpannedEventReceiver};

fn main() -> ExitCode {
    let mut path = None;
    let mut parallel = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--parallel" => parallel = true,
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("usage: parse_only PATH [--parallel]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("usage: parse_only PATH [--parallel]");
        return ExitCode::from(2);
    };
    let outcome = yaml_files(&path).and_then(|files| {
        if parallel {
            parse_parallel(&files)
        } else {
            files.iter().map(|file| parse_file(file)).sum()
        }
    });
    match outcome {
        Ok(totals) => {
            println!(
                "{} file(s), {} bytes, {} events (checksum {})",
                totals.files, totals.bytes, totals.events, totals.checksum
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What was parsed. The checksum folds in every span so nothing is dead code.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    files: usize,
    bytes: usize,
    events: usize,
    checksum: usize,
}

impl std::ops::Add for Totals {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            files: self.files + other.files,
            bytes: self.bytes + other.bytes,
            events: self.events + other.events,
            checksum: self.checksum.wrapping_add(other.checksum),
        }
    }
}

impl std::iter::Sum for Totals {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |acc, next| acc + next)
    }
}

/// The files of `path` as `accord validate` reads them: the file itself, or the
/// directory's `*.yaml` / `*.yml` files in sorted order.
fn yaml_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn parse_parallel(files: &[PathBuf]) -> Result<Totals, String> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut totals = Ok(Totals::default());
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(index) else {
                            return totals;
                        };
                        totals = totals.and_then(|t| Ok(t + parse_file(file)?));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a parser thread panicked"))
            .sum()
    })
}

fn parse_file(path: &Path) -> Result<Totals, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut counter = EventCounter::default();
    Parser::new_from_str(&text)
        .load(&mut counter, true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Totals {
        files: 1,
        bytes: text.len(),
        events: counter.events,
        checksum: counter.checksum,
    })
}

/// Counts events and folds their spans and scalar lengths into a checksum.
#[derive(Default)]
struct EventCounter {
    events: usize,
    checksum: usize,
}

impl SpannedEventReceiver<'_> for EventCounter {
    fn on_event(&mut self, event: Event<'_>, span: Span) {
        self.events += 1;
        let scalar_len = match &event {
            Event::Scalar(value, ..) => value.len(),
            _ => 0,
        };
        self.checksum = self
            .checksum
            .wrapping_mul(31)
            .wrapping_add(span.start.line() ^ span.start.col() ^ scalar_len);
    }
}
