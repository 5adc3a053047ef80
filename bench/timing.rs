//! Timing helpers shared by the stage benchmarks (`stages`, `plan_stages`), which
//! are separate example binaries: each includes this file with `#[path]`.

use std::time::{Duration, Instant};

/// Runs `f`, returning its result and how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

/// `duration` in whole milliseconds, as the benchmarks print it.
pub fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}
