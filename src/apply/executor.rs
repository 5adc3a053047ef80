//! Carrying out a plan's operations: calls wave after wave, the calls of a wave
//! concurrently (at most `parallelism` at once), each checked against the backend's
//! batch limits before it is sent, failures isolated (see [`super::deps`]), every
//! outcome journaled as it comes.
//!
//! What is retried, and where: a whole call is retried by the call policy inside the
//! backend ([`crate::call::Caller`]), never here again, so no write is sent more
//! often than the policy allows. Here only the operations of an answer marked
//! `Failed { retryable: true }` are sent again (only they), with the same policy's
//! backoff. What stops the apply: the lock lost, or a whole call that failed (a
//! refusal that will not go away, or a backend that kept failing after the
//! policy's retries: sending more would only fail or wait more). A batch over the
//! backend's limit fails alone. Calls already sent finish; the rest is reported as
//! skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::deps::Failures;
use super::journal::{Journal, OpRef};
use super::lock::{Stop, format_duration};
use super::outcome::{OpOutcome, Tally};
use super::progress::{CallDone, Progress};
use super::schedule::{Call, Schedule};
use crate::contract::{Backend, BackendError, Limits};
use crate::plan::{Op, Operation};

/// How calls are carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// The most calls in flight at once.
    pub parallelism: usize,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            parallelism: DEFAULT_PARALLELISM,
        }
    }
}

/// Calls in flight at once by default: enough to keep a remote service's rate limit
/// busy while one call waits for its answer, few enough for a small service.
pub const DEFAULT_PARALLELISM: usize = 4;

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// The outcome of each operation, in plan order.
    pub outcomes: Vec<OpOutcome>,
    /// Retries made (attempts beyond each call's first).
    pub retries: u64,
    /// Why the execution stopped early, if it did.
    pub stopped: Option<String>,
}

impl Execution {
    /// The counts of the outcomes.
    #[must_use]
    pub fn tally(&self) -> Tally {
        Tally::of(&self.outcomes)
    }
}

/// Carries out operations against a backend.
pub struct Executor {
    backend: Arc<dyn Backend>,
    options: ExecuteOptions,
    journal: Option<Arc<Journal>>,
    progress: Arc<dyn Progress>,
    stop: Stop,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("backend", &self.backend.url())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What every call task shares.
struct Shared {
    backend: Arc<dyn Backend>,
    operations: Arc<[Operation]>,
    journal: Option<Arc<Journal>>,
    progress: Arc<dyn Progress>,
    stop: Stop,
    limits: Limits,
    retries: AtomicU64,
}

/// One operation's final outcome and the attempts it took.
struct Final {
    index: usize,
    outcome: OpOutcome,
    attempts: u32,
}

impl Executor {
    /// An executor sending calls to `backend` (wrap it in a
    /// [`super::pacing::PacedBackend`] to keep to a rate), journaling to `journal`,
    /// reporting to `progress`, and stopping when `stop` is raised.
    #[must_use]
    pub fn new(
        backend: Arc<dyn Backend>,
        options: ExecuteOptions,
        journal: Option<Arc<Journal>>,
        progress: Arc<dyn Progress>,
        stop: Stop,
    ) -> Self {
        Self {
            backend,
            options,
            journal,
            progress,
            stop,
        }
    }

    /// Carries out `operations` (a plan's, in plan order) as `schedule` cuts them.
    pub async fn run(&self, operations: Arc<[Operation]>, schedule: &Schedule) -> Execution {
        let shared = Arc::new(Shared {
            backend: Arc::clone(&self.backend),
            operations: Arc::clone(&operations),
            journal: self.journal.clone(),
            progress: Arc::clone(&self.progress),
            stop: self.stop.clone(),
            limits: self.backend.capabilities().limits,
            retries: AtomicU64::new(0),
        });
        let mut outcomes: Vec<Option<OpOutcome>> = vec![None; operations.len()];
        let mut failures = Failures::default();
        let semaphore = Arc::new(Semaphore::new(self.options.parallelism.max(1)));
        self.progress.started(operations.len(), schedule.calls());
        for wave in &schedule.waves {
            let mut tasks = JoinSet::new();
            let mut in_flight: HashMap<tokio::task::Id, Vec<usize>> = HashMap::new();
            for call in &wave.calls {
                let send = self.sort_out(&shared, call, &failures, &mut outcomes);
                if send.is_empty() {
                    continue;
                }
                // Closed never: the semaphore lives as long as this function.
                let Ok(permit) = Arc::clone(&semaphore).acquire_owned().await else {
                    break;
                };
                let task = run_call(Arc::clone(&shared), call.clone(), send.clone());
                let handle = tasks.spawn(async move {
                    let _permit = permit;
                    task.await
                });
                in_flight.insert(handle.id(), send);
            }
            while let Some(joined) = tasks.join_next_with_id().await {
                match joined {
                    Ok((_, finals)) => {
                        for f in finals {
                            outcomes[f.index] = Some(f.outcome);
                        }
                    }
                    Err(error) => {
                        let lost = in_flight.remove(&error.id()).unwrap_or_default();
                        internal_failure(&shared, &lost, &error, &mut outcomes);
                    }
                }
            }
            for call in &wave.calls {
                for index in call.ops.clone() {
                    if outcomes[index].as_ref().is_some_and(|o| !o.is_success()) {
                        failures.record(&operations[index]);
                    }
                }
            }
        }
        self.progress.finished();
        Execution {
            outcomes: outcomes
                .into_iter()
                .map(|o| {
                    o.unwrap_or_else(|| OpOutcome::Failed {
                        reason: "internal error: no outcome was recorded".into(),
                    })
                })
                .collect(),
            retries: shared.retries.load(Ordering::Relaxed),
            stopped: self.stop.reason(),
        }
    }

    /// Splits a call's operations into those to send and those to skip (an operation
    /// they depend on failed, or the apply stopped); records the skipped ones.
    fn sort_out(
        &self,
        shared: &Shared,
        call: &Call,
        failures: &Failures,
        outcomes: &mut [Option<OpOutcome>],
    ) -> Vec<usize> {
        let stopped = self.stop.reason();
        let mut send = Vec::new();
        let mut skipped = Vec::new();
        for index in call.ops.clone() {
            let operation = &shared.operations[index];
            let reason = if let Some(reason) = &stopped {
                format!("not sent: {reason}")
            } else if let Some(blocker) = failures.blocking(operation) {
                format!("not sent: it depends on {blocker}, which did not succeed")
            } else {
                send.push(index);
                continue;
            };
            skipped.push(Final {
                index,
                outcome: OpOutcome::Skipped { reason },
                attempts: 0,
            });
        }
        if !skipped.is_empty() {
            shared.journal_finals(None, &skipped);
            self.progress.skipped(skipped.len());
            for f in skipped {
                outcomes[f.index] = Some(f.outcome);
            }
        }
        send
    }
}

/// A call task panicked: its operations' outcomes are unknown.
fn internal_failure(
    shared: &Shared,
    lost: &[usize],
    error: &tokio::task::JoinError,
    outcomes: &mut [Option<OpOutcome>],
) {
    let finals: Vec<Final> = lost
        .iter()
        .filter(|&&i| outcomes[i].is_none())
        .map(|&index| Final {
            index,
            outcome: OpOutcome::Failed {
                reason: format!("internal error while sending it: {error}"),
            },
            attempts: 0,
        })
        .collect();
    shared.journal_finals(None, &finals);
    for f in finals {
        outcomes[f.index] = Some(f.outcome);
    }
}

impl Shared {
    fn journal_finals(&self, call: Option<usize>, finals: &[Final]) {
        if let Some(journal) = &self.journal {
            let entries: Vec<_> = finals
                .iter()
                .map(|f| {
                    (
                        f.index,
                        call,
                        &self.operations[f.index],
                        &f.outcome,
                        f.attempts,
                    )
                })
                .collect();
            journal.outcomes(&entries);
        }
    }

    fn journal_call(&self, call: &Call, attempt: u32, pending: &[usize]) {
        if let Some(journal) = &self.journal {
            let ops = pending
                .iter()
                .map(|&i| OpRef::of(&self.operations[i]))
                .collect();
            journal.call(call.index, call.batch, attempt, ops);
        }
    }
}

/// Sends one call until every operation has a final outcome: the operations
/// answered `failed, retryable` are sent again (alone) while the policy's backoff
/// allows; a whole call that failed ends it.
async fn run_call(shared: Arc<Shared>, call: Call, mut pending: Vec<usize>) -> Vec<Final> {
    let started = Instant::now();
    let mut finals: Vec<Final> = Vec::with_capacity(pending.len());
    let mut backoff = None;
    let mut attempt = 0;
    while !pending.is_empty() {
        if let Some(reason) = shared.stop.reason() {
            let skipped = give_up(&mut pending, attempt, |_| OpOutcome::Skipped {
                reason: format!("not sent: {reason}"),
            });
            shared.journal_finals(Some(call.index), &skipped);
            finals.extend(skipped);
            break;
        }
        attempt += 1;
        let batch: Vec<Op> = pending
            .iter()
            .map(|&i| shared.operations[i].op.clone())
            .collect();
        if let Err(error) = shared.limits.check(&batch) {
            let failed = give_up(&mut pending, attempt, |_| OpOutcome::Failed {
                reason: error.to_string(),
            });
            shared.journal_finals(Some(call.index), &failed);
            finals.extend(failed);
            break;
        }
        shared.journal_call(&call, attempt, &pending);
        let answers = match shared.backend.execute(&batch).await {
            Ok(answers) if answers.len() == batch.len() => answers,
            Ok(answers) => {
                let reason = format!(
                    "the backend answered {} outcomes for {} operations",
                    answers.len(),
                    batch.len()
                );
                let failed = give_up(&mut pending, attempt, |_| OpOutcome::Failed {
                    reason: reason.clone(),
                });
                shared.journal_finals(Some(call.index), &failed);
                finals.extend(failed);
                break;
            }
            Err(error) => {
                if stops_the_apply(&error) {
                    let why = if error.retryable() {
                        format!("the backend kept failing ({error}); stopped sending calls")
                    } else {
                        format!("the backend refused a call: {error}")
                    };
                    shared.stop.trigger(why);
                }
                let failed = give_up(&mut pending, attempt, |_| OpOutcome::Failed {
                    reason: error.to_string(),
                });
                shared.journal_finals(Some(call.index), &failed);
                finals.extend(failed);
                break;
            }
        };
        let (answered, again, reason) = sort_answers(&pending, &answers, attempt);
        shared.journal_finals(Some(call.index), &answered);
        finals.extend(answered);
        pending = again;
        if pending.is_empty() {
            break;
        }
        let backoff = backoff.get_or_insert_with(|| shared.backend.caller().backoff());
        if let Some(delay) = backoff.next_delay(None) {
            shared.retries.fetch_add(1, Ordering::Relaxed);
            shared.progress.note(&format!(
                "call {} ({} x{}): operations failed ({reason}); retrying in {}",
                call.index + 1,
                shared.operations[pending[0]].op.name(),
                pending.len(),
                format_duration(delay)
            ));
            tokio::time::sleep(delay).await;
            continue;
        }
        let reason = format!(
            "gave up after {attempt} attempts over {}: operations failed ({reason})",
            format_duration(started.elapsed())
        );
        let failed = give_up(&mut pending, attempt, |_| OpOutcome::Failed {
            reason: reason.clone(),
        });
        shared.journal_finals(Some(call.index), &failed);
        finals.extend(failed);
    }
    report_call(&shared, &call, &finals, attempt);
    finals
}

/// Splits a call's answers into final outcomes and the operations to send again (a
/// retryable failure), with the last such failure's reason.
fn sort_answers(
    pending: &[usize],
    answers: &[crate::backend::Outcome],
    attempt: u32,
) -> (Vec<Final>, Vec<usize>, String) {
    let mut answered = Vec::new();
    let mut again = Vec::new();
    let mut reason = String::new();
    for (&index, answer) in pending.iter().zip(answers) {
        match OpOutcome::from_final(answer) {
            Some(outcome) => answered.push(Final {
                index,
                outcome,
                attempts: attempt,
            }),
            None => {
                if let crate::backend::Outcome::Failed { reason: r, .. } = answer {
                    reason.clone_from(r);
                }
                again.push(index);
            }
        }
    }
    (answered, again, reason)
}

/// Gives every pending operation its final outcome and empties `pending`.
fn give_up(
    pending: &mut Vec<usize>,
    attempts: u32,
    outcome: impl Fn(usize) -> OpOutcome,
) -> Vec<Final> {
    pending
        .drain(..)
        .map(|index| Final {
            index,
            outcome: outcome(index),
            attempts,
        })
        .collect()
}

fn report_call(shared: &Shared, call: &Call, finals: &[Final], attempts: u32) {
    let tally = Tally::of(finals.iter().map(|f| &f.outcome));
    let first = shared.operations[call.ops.start].op.name();
    let same = shared.operations[call.ops.clone()]
        .iter()
        .all(|o| o.op.name() == first);
    shared.progress.call_done(&CallDone {
        index: call.index,
        kind: if same { first } else { "mixed" },
        tally,
        retries: attempts.saturating_sub(1),
    });
}

/// Whole-call failures after which sending more calls would fail the same way (or
/// write where it must not): all but a batch the backend found too large or
/// malformed, which fails alone.
fn stops_the_apply(error: &BackendError) -> bool {
    !matches!(
        error,
        BackendError::BatchTooLarge { .. } | BackendError::Rejected { .. }
    )
}
