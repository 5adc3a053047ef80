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

/// One line per call on standard error, for logs.
#[derive(Debug, Default)]
pub struct Lines {
    calls: AtomicUsize,
    finished: AtomicUsize,
}

impl Progress for Lines {
    fn started(&self, operations: usize, calls: usize) {
        self.calls.store(calls, Ordering::Relaxed);
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
        let retries = match call.retries {
            0 => String::new(),
            1 => " (after 1 retry)".to_owned(),
            n => format!(" (after {n} retries)"),
        };
        eprintln!(
            "[{finished}/{total}] {} x{}: {}{retries}",
            call.kind,
            call.tally.total(),
            tally_words(&call.tally)
        );
    }

    fn skipped(&self, count: usize) {
        eprintln!("skipped {count} operations (see the summary)");
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
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
            "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} operations  {msg}",
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
        self.0.println(message);
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
