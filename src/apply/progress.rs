//! Feedback while an apply runs, on standard error: a progress bar on a terminal,
//! plain lines otherwise (CI logs), or nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::outcome::Tally;

/// What a finished call did.
#[derive(Debug, Clone, Copy)]
pub struct CallDone<'a> {
    /// The call's index (0-based).
    pub index: usize,
    /// The operation kind it carried (`member.invite`; `mixed` when several).
    pub kind: &'a str,
    /// Its operations' outcomes.
    pub tally: Tally,
    /// How many times it was retried.
    pub retries: u32,
}

/// Receives what happens during an apply. Called from several tasks at once.
pub trait Progress: Send + Sync {
    /// The execution starts.
    fn started(&self, operations: usize, calls: usize);
    /// A call got its final answers.
    fn call_done(&self, call: &CallDone<'_>);
    /// Operations were skipped without a call.
    fn skipped(&self, count: usize);
    /// Something worth saying (a retry, a wait).
    fn note(&self, message: &str);
    /// The execution ended.
    fn finished(&self);
}

/// Says nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _: usize, _: usize) {}
    fn call_done(&self, _: &CallDone<'_>) {}
    fn skipped(&self, _: usize) {}
    fn note(&self, _: &str) {}
    fn finished(&self) {}
}

/// One line per call on standard error, for logs, each with how long the rest will
/// take at the pace so far (which, on a paced backend, is its budget's).
#[derive(Debug, Default)]
pub struct Lines {
    calls: AtomicUsize,
    finished: AtomicUsize,
    operations: AtomicUsize,
    done: AtomicUsize,
    started: std::sync::OnceLock<std::time::Instant>,
}

/// How long the rest of `total` will take when `done` took `elapsed`: `None` until
/// something is done, or when everything is.
#[must_use]
pub fn remaining(
    elapsed: std::time::Duration,
    done: usize,
    total: usize,
) -> Option<std::time::Duration> {
    if done == 0 || done >= total {
        return None;
    }
    let per_op = elapsed.as_secs_f64() / done as f64;
    Some(std::time::Duration::from_secs_f64(
        per_op * (total - done) as f64,
    ))
}

/// `about 3 min left`, rounded for a log line.
#[must_use]
pub fn remaining_words(left: std::time::Duration) -> String {
    let secs = left.as_secs();
    if secs < 90 {
        format!("about {} s left", secs.max(1))
    } else if secs < 90 * 60 {
        format!("about {} min left", secs.div_ceil(60))
    } else {
        format!("about {:.1} h left", left.as_secs_f64() / 3600.0)
    }
}

impl Progress for Lines {
    fn started(&self, operations: usize, calls: usize) {
        self.calls.store(calls, Ordering::Relaxed);
        self.operations.store(operations, Ordering::Relaxed);
        let _ = self.started.set(std::time::Instant::now());
        if operations > 0 {
            let calls = match calls {
                1 => "1 call".to_owned(),
                n => format!("{n} calls"),
            };
            eprintln!(
                "applying {} in {calls}",
                super::report::operations(operations)
            );
        }
    }

    fn call_done(&self, call: &CallDone<'_>) {
        let finished = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.calls.load(Ordering::Relaxed);
        let done = self.done.fetch_add(call.tally.total(), Ordering::Relaxed) + call.tally.total();
        let left = self
            .started
            .get()
            .and_then(|at| remaining(at.elapsed(), done, self.operations.load(Ordering::Relaxed)))
            .map(|left| format!("; {}", remaining_words(left)))
            .unwrap_or_default();
        let retries = match call.retries {
            0 => String::new(),
            1 => " (after 1 retry)".to_owned(),
            n => format!(" (after {n} retries)"),
        };
        eprintln!(
            "[{finished}/{total}] {} x{}: {}{retries}{left}",
            call.kind,
            call.tally.total(),
            tally_words(&call.tally)
        );
    }

    fn skipped(&self, count: usize) {
        eprintln!("skipped {count} operations (see the summary)");
    }

    fn note(&self, message: &str) {
        eprintln!("{}", crate::text::shown(message));
    }

    fn finished(&self) {}
}

/// A progress bar on standard error (a terminal).
#[derive(Debug)]
pub struct Bar(ProgressBar);

impl Default for Bar {
    fn default() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} operations, about {eta} left  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self(bar)
    }
}

impl Progress for Bar {
    fn started(&self, operations: usize, _calls: usize) {
        self.0.set_length(operations as u64);
        self.0
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn call_done(&self, call: &CallDone<'_>) {
        self.0.set_message(call.kind.to_owned());
        self.0.inc(call.tally.total() as u64);
        if !call.tally.all_succeeded() {
            self.0.println(format!(
                "{} x{}: {}",
                call.kind,
                call.tally.total(),
                tally_words(&call.tally)
            ));
        }
    }

    fn skipped(&self, count: usize) {
        self.0.inc(count as u64);
    }

    fn note(&self, message: &str) {
        self.0.println(crate::text::shown(message));
    }

    fn finished(&self) {
        self.0.finish_and_clear();
    }
}

/// `98 done, 2 already so`, leaving out the zeros.
#[must_use]
pub fn tally_words(tally: &Tally) -> String {
    let parts = [
        (tally.done, "done"),
        (tally.already_so, "already so"),
        (tally.refused, "refused"),
        (tally.failed, "failed"),
        (tally.skipped, "skipped"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}"))
        .collect();
    if words.is_empty() {
        "nothing".into()
    } else {
        words.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_rest_takes_as_long_as_the_pace_so_far_says() {
        assert_eq!(
            remaining(Duration::from_secs(60), 60, 300),
            Some(Duration::from_secs(240))
        );
        assert_eq!(
            remaining(Duration::from_secs(5), 0, 300),
            None,
            "nothing done yet"
        );
        assert_eq!(
            remaining(Duration::from_secs(5), 300, 300),
            None,
            "all done"
        );
        assert_eq!(
            remaining_words(Duration::from_secs(240)),
            "about 4 min left"
        );
        assert_eq!(
            remaining_words(Duration::from_millis(200)),
            "about 1 s left"
        );
        assert_eq!(
            remaining_words(Duration::from_secs(7200)),
            "about 2.0 h left"
        );
    }
}
