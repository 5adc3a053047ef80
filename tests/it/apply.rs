//! `accord apply` (`src/apply/`): the executor against a fault-injecting backend,
//! backoff, pacing and lock timing on paused tokio time (never real sleeps), and, in
//! `process`, the real binary: approval, refusals, saved plans, two applies at once,
//! and a SIGKILL mid-apply.

mod fixtures;
mod process;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use accord::apply::journal::{Journal, OpRef, RunInfo};
use accord::apply::lock::{self, LockFailure, LockOptions};
use accord::apply::progress::Silent;
use accord::apply::{ExecuteOptions, Executor, HeldLock, OpOutcome, Schedule, Stop};
use accord::backend::{Backend, Lock, LockError};
use accord::call::{CallOptions, Caller, Repeat, Request, RetryPolicy};
use tokio::time::Instant;

use fixtures::*;

const SECOND: Duration = Duration::from_secs(1);

/// The store's history holds every operation of `plan` exactly once, and nothing else.
async fn assert_each_done_once(store: &accord::backend::SqliteBackend, plan_ops: &HashSet<String>) {
    let counts = history_counts(&store.history().await.expect("history"));
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    let done: HashSet<String> = counts.keys().cloned().collect();
    let lost: Vec<_> = plan_ops.difference(&done).collect();
    assert!(lost.is_empty(), "never applied: {lost:?}");
    let extra: Vec<_> = done.difference(plan_ops).collect();
    assert!(extra.is_empty(), "applied but not planned: {extra:?}");
}

#[tokio::test(start_paused = true)]
async fn with_seeded_faults_the_apply_converges_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 10).await;
    let faults = Faults {
        rate_limited: 0.1,
        retry_after: Some(Duration::from_secs(2)),
        server_error: 0.1,
        timeout: 0.05,
        dropped_after_write: 0.15,
        op_failure: 0.03,
        first_calls: vec!["429", "500", "timeout", "dropped"],
        ..Faults::default()
    };
    let faulty = Arc::new(FaultyBackend::new(store.clone(), faults, 11));
    let desired = desired();
    let (summary, plan) = apply(faulty.clone(), &desired, &dir.path().join("runs")).await;

    assert_eq!(plan.operations.len(), 211);
    assert!(summary.converged, "{}", summary.text());
    assert_eq!(summary.tally.total(), 211);
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    // The faults did happen, and what a dropped connection had already done came
    // back as "already so" on the retry.
    let calls = faulty.calls();
    let results: HashSet<&str> = calls.iter().map(|c| c.result).collect();
    for kind in ["429", "500", "timeout", "dropped", "ok"] {
        assert!(results.contains(kind), "no {kind} among {results:?}");
    }
    assert!(summary.tally.already_so > 0, "{:?}", summary.tally);
    assert!(summary.retries > 0);
    assert_each_done_once(&store, &plan_lines(&plan).into_iter().collect()).await;
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_dies_stops_the_apply_and_plan_then_apply_finishes_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let store = seeded_store(dir.path(), 10).await;
    let dying = Faults {
        die_after_calls: Some(7),
        ..Faults::default()
    };
    let quick = RetryPolicy {
        max_attempts: 4,
        ..patient()
    };
    let faulty = Arc::new(FaultyBackend::new(store.clone(), dying, 1).with_retry(quick));
    let desired = desired();
    let (first, plan) = apply(faulty.clone(), &desired, &runs).await;
    assert!(!first.converged);
    let stopped = first.stopped.clone().expect("stopped");
    assert!(stopped.contains("the backend kept failing"), "{stopped}");
    assert!(
        first.tally.done > 0 && first.tally.skipped > 0,
        "{:?}",
        first.tally
    );
    // Nothing was sent after the backend was found dead: 7 calls went through, then
    // the one that found it dead was tried 4 times, and calls in flight beside it.
    let dead_calls = faulty.calls().iter().filter(|c| c.result == "dead").count();
    assert!((4..=4 * 4).contains(&dead_calls), "{dead_calls}");

    // The backend is back: a new plan holds only what is left, and applying it converges.
    let (second, rest) = apply(Arc::new(store.clone()), &desired, &runs).await;
    assert!(second.converged, "{}", second.text());
    assert_eq!(
        rest.operations.len() + first.tally.done,
        plan.operations.len()
    );
    assert_eq!(second.tally.already_so, 0);
    assert_each_done_once(&store, &plan_lines(&plan).into_iter().collect()).await;
}

#[tokio::test(start_paused = true)]
async fn what_a_dead_run_sent_without_recording_the_answer_is_recovered_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let store = seeded_store(dir.path(), 10).await;
    let desired = desired();
    let (plan, revision) = plan(&store, &desired).await;
    // A run sends its first call, the store commits it, and the process dies before
    // it records the answer.
    let info = RunInfo {
        run: String::new(),
        accord: "test".into(),
        backend: store.url(),
        account: "acme".into(),
        revision,
        fingerprint: plan.fingerprint.clone(),
        operations: plan.operations.len(),
        calls: 22,
        holder: "dead".into(),
    };
    let dead = Journal::create(&runs, info).unwrap();
    let first: Vec<_> = plan.operations.iter().filter(|o| o.batch == 0).collect();
    dead.call(0, 0, 1, first.iter().map(|o| OpRef::of(o)).collect());
    let ops: Vec<_> = first.iter().map(|o| o.op.clone()).collect();
    assert!(
        store
            .execute(&ops)
            .await
            .unwrap()
            .iter()
            .all(|o| *o == accord::backend::Outcome::Done)
    );
    let dead_run = dead.run().to_owned();
    drop(dead);

    let (summary, rest) = apply(Arc::new(store.clone()), &desired, &runs).await;
    assert!(summary.converged, "{}", summary.text());
    assert_eq!(summary.recovered, first.len());
    assert_eq!(rest.operations.len(), plan.operations.len() - first.len());

    let text = std::fs::read_to_string(&summary.journal).unwrap();
    let recovered: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["recovered_from"] == dead_run.as_str())
        .collect();
    assert_eq!(recovered.len(), first.len());
    assert!(
        recovered
            .iter()
            .all(|e| e["outcome"] == "done" && e["event"] == "op")
    );
    let dead_text = std::fs::read_to_string(runs.join(format!("{dead_run}.jsonl"))).unwrap();
    assert!(
        dead_text.contains(&format!("\"event\":\"closed\",\"by\":\"{}\"", summary.run)),
        "{dead_text}"
    );
    // A later run finds nothing left to recover.
    let (again, _) = apply(Arc::new(store.clone()), &desired, &runs).await;
    assert_eq!(again.recovered, 0);
    assert_each_done_once(&store, &plan_lines(&plan).into_iter().collect()).await;
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_never_retried_and_only_what_depends_on_it_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 100).await;
    let faults = Faults {
        refuse: ["n007@acme.example".to_owned()].into(),
        ..Faults::default()
    };
    let faulty = Arc::new(FaultyBackend::new(store.clone(), faults, 1));
    let (summary, _) = apply(faulty.clone(), &desired(), &dir.path().join("runs")).await;

    assert!(!summary.converged);
    let problems: Vec<(String, &str)> = summary
        .problems
        .iter()
        .map(|p| (format!("{} {}", p.op, p.target), p.outcome.word()))
        .collect();
    assert_eq!(
        problems,
        [
            ("member.invite n007@acme.example".to_owned(), "refused"),
            (
                format!("seat.assign {AGREEMENT}/AutoCAD/n007@acme.example"),
                "skipped"
            ),
            (
                "project_member.add P3/n007@acme.example".to_owned(),
                "skipped"
            ),
        ]
    );
    let OpOutcome::Skipped { reason } = &summary.problems[1].outcome else {
        panic!("not skipped");
    };
    assert!(
        reason.contains("depends on member.invite n007@acme.example"),
        "{reason}"
    );
    // Sent once, never again.
    let sent = faulty
        .calls()
        .iter()
        .filter(|c| {
            c.targets
                .iter()
                .any(|t| t == "member.invite n007@acme.example")
        })
        .count();
    assert_eq!(sent, 1);
    assert_eq!(summary.tally.done, 211 - 3);
    assert_eq!(summary.differences.len(), 3, "{:?}", summary.differences);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_backoff_doubles_with_jitter() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 100).await;
    // Every call fails until the backend has seen 4 failures: 429 (Retry-After 7 s),
    // then 500 three times; the fifth attempt goes through.
    let policy = RetryPolicy {
        max_attempts: 6,
        initial_delay: Duration::from_millis(400),
        max_delay: Duration::from_secs(60),
        max_elapsed: Duration::from_secs(120),
    };
    let script = Arc::new(ScriptedBackend::new(
        store.clone(),
        vec![
            accord::backend::BackendError::Server {
                status: 500,
                detail: "x".into(),
            },
            accord::backend::BackendError::Server {
                status: 503,
                detail: "x".into(),
            },
            accord::backend::BackendError::Server {
                status: 502,
                detail: "x".into(),
            },
            accord::backend::BackendError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ],
        policy,
    ));
    let (plan, _) = plan(script.as_ref(), &desired()).await;
    let first_call: Vec<_> = plan
        .operations
        .iter()
        .take_while(|o| o.batch == 0)
        .cloned()
        .collect();
    let schedule = Schedule::new(&first_call, &script.capabilities());
    let executor = Executor::new(
        script.clone(),
        ExecuteOptions { parallelism: 1 },
        None,
        Arc::new(Silent),
        Stop::default(),
    );
    let execution = executor.run(Arc::from(first_call), &schedule).await;
    assert!(execution.outcomes.iter().all(OpOutcome::is_success));
    assert_eq!(script.caller().counts().retries, 4);

    let times = script.times.lock().unwrap().clone();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 4, "{gaps:?}");
    // Retry-After 7 s, plus at most 10% jitter.
    assert!(
        gaps[0] >= 7 * SECOND && gaps[0] <= Duration::from_millis(7_700),
        "{gaps:?}"
    );
    // Then the backoff of failures 2, 3, 4: 400 ms doubled each failure, plus jitter
    // of up to as much again.
    for (gap, base) in gaps[1..].iter().zip([800u64, 1_600, 3_200]) {
        let base = Duration::from_millis(base);
        assert!(*gap >= base && *gap < 2 * base, "{gap:?} vs {base:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_their_bounds_and_a_dead_backend_stops_the_apply() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 10).await;
    let dead = Faults {
        die_after_calls: Some(0),
        ..Faults::default()
    };
    let policy = RetryPolicy {
        max_attempts: 5,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(8),
    };
    let faulty = Arc::new(FaultyBackend::new(store.clone(), dead, 1).with_retry(policy));
    let start = Instant::now();
    let (summary, plan) = apply(faulty.clone(), &desired(), &dir.path().join("runs")).await;
    // Delays of 1-2, 2-4, then 2-4 s (capped): the 8 s budget ends the retries first.
    assert!(start.elapsed() <= 9 * SECOND, "{:?}", start.elapsed());
    let calls = faulty.calls();
    for call in &calls {
        let attempts = calls.iter().filter(|c| c.targets == call.targets).count();
        assert!(attempts <= 5, "{attempts} attempts");
        // Only the first wave (invitations) was ever sent.
        assert!(call.targets.iter().all(|t| t.starts_with("member.invite")));
    }
    let gave_up = summary.problems.iter().find_map(|p| match &p.outcome {
        OpOutcome::Failed { reason } => Some(reason.clone()),
        _ => None,
    });
    let reason = gave_up.expect("a call gave up");
    assert!(reason.contains("cannot reach the backend"), "{reason}");
    assert!(reason.contains("connection refused"), "{reason}");
    let stopped = summary.stopped.clone().expect("stopped");
    assert!(stopped.contains("the backend kept failing"), "{stopped}");
    assert_eq!(summary.tally.done, 0);
    assert_eq!(summary.tally.total(), plan.operations.len());
    assert!(
        store
            .history()
            .await
            .unwrap()
            .iter()
            .all(|h| h.op.starts_with("account."))
    );
}

#[tokio::test(start_paused = true)]
async fn calls_keep_to_the_declared_rate_and_a_429_pauses_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 10).await;
    let faults = Faults {
        rate_limit: Some(5.0),
        rate_limited: 0.1,
        retry_after: Some(3 * SECOND),
        ..Faults::default()
    };
    let faulty = Arc::new(FaultyBackend::new(store.clone(), faults, 5));
    let start = Instant::now();
    let (summary, _) = apply(faulty.clone(), &desired(), &dir.path().join("runs")).await;
    assert!(summary.converged, "{}", summary.text());
    let calls = faulty.calls();
    assert!(calls.len() >= 22, "{}", calls.len());
    for pair in calls.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(199), "calls {gap:?} apart");
        if pair[0].result == "429" {
            assert!(
                gap >= 3 * SECOND,
                "a 429 was followed by a call {gap:?} later"
            );
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let floor = Duration::from_secs_f64((calls.len() - 1) as f64 / 5.0);
    assert!(
        start.elapsed() >= floor,
        "{:?} < {floor:?}",
        start.elapsed()
    );
    assert_eq!(
        summary.rate_limited,
        calls.iter().filter(|c| c.result == "429").count() as u64
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_apply_waits_for_the_lock_then_gives_up_naming_holder_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 100).await;
    let first = store
        .acquire("ci-runner-1 pid 7", 120 * SECOND)
        .await
        .unwrap();
    let options = LockOptions {
        ttl: 30 * SECOND,
        timeout: 10 * SECOND,
        poll: SECOND / 2,
    };
    let start = Instant::now();
    let mut told = Vec::new();
    let failure = lock::acquire(&store, "me", &options, |holder, since| {
        told.push((holder.to_owned(), since));
    })
    .await
    .unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= 10 * SECOND && waited < 11 * SECOND, "{waited:?}");
    assert_eq!(told, [("ci-runner-1 pid 7".to_owned(), first.since)]);
    let LockFailure::Held {
        ref holder, since, ..
    } = failure
    else {
        panic!("{failure}");
    };
    assert_eq!((holder.as_str(), since), ("ci-runner-1 pid 7", T0));
    let message = failure.to_string();
    assert!(
        message.contains("locked by ci-runner-1 pid 7 since 2026-01-01 00:00:00 UTC (waited 10s"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_applys_lock_expires_and_the_waiting_apply_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 100).await;
    // Taken and never renewed: its holder crashed.
    store.acquire("crashed", 20 * SECOND).await.unwrap();
    let options = LockOptions {
        ttl: 30 * SECOND,
        timeout: 60 * SECOND,
        poll: SECOND / 2,
    };
    let start = Instant::now();
    let lease = lock::acquire(&store, "me", &options, |_, _| {})
        .await
        .unwrap();
    let waited = start.elapsed();
    assert!(waited >= 20 * SECOND && waited <= 21 * SECOND, "{waited:?}");
    assert_eq!(lease.holder, "me");
}

#[tokio::test(start_paused = true)]
async fn the_lock_is_renewed_while_held_and_released_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 100).await;
    let lock = store.lock().expect("the store keeps a lock");
    let lease = lock.acquire("me", 3 * SECOND).await.unwrap();
    let stop = Stop::default();
    let held = HeldLock::keep(lock, lease, stop.clone());
    // Well past the 3 s ttl: only renewals keep it.
    tokio::time::sleep(10 * SECOND).await;
    assert!(held.renewals() >= 9, "{}", held.renewals());
    assert!(matches!(
        store.acquire("other", SECOND).await,
        Err(LockError::Held { ref holder, .. }) if holder == "me"
    ));
    assert_eq!(stop.reason(), None);
    held.release().await.unwrap();
    assert!(store.acquire("other", SECOND).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_lost_lock_stops_the_apply_before_its_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), 10).await;
    let slow = Faults {
        latency: 2 * SECOND,
        ..Faults::default()
    };
    let faulty: Arc<dyn Backend> = Arc::new(FaultyBackend::new(store.clone(), slow, 1));
    let lock = faulty.lock().expect("the store's lock");
    let lease = lock.acquire("me", 3 * SECOND).await.unwrap();
    // Someone breaks the lock (in real life: it expired while renewals failed).
    store.release(lease.clone()).await.unwrap();
    store.acquire("intruder", 60 * SECOND).await.unwrap();
    let stop = Stop::default();
    let held = HeldLock::keep(lock, lease, stop.clone());

    let (plan, _) = plan(faulty.as_ref(), &desired()).await;
    let schedule = Schedule::new(&plan.operations, &faulty.capabilities());
    let executor = Executor::new(
        Arc::clone(&faulty),
        ExecuteOptions { parallelism: 1 },
        None,
        Arc::new(Silent),
        stop.clone(),
    );
    let execution = executor
        .run(Arc::from(plan.operations.clone()), &schedule)
        .await;
    let reason = stop.reason().expect("stopped");
    assert!(reason.contains("intruder"), "{reason}");
    // The renewal at 1 s found the lock gone: the call in flight finished, nothing after it.
    let tally = execution.tally();
    assert_eq!(tally.done, 10, "{tally:?}");
    assert_eq!(tally.skipped, plan.operations.len() - 10);
    let OpOutcome::Skipped { reason } = &execution.outcomes[10] else {
        panic!("not skipped");
    };
    assert!(
        reason.starts_with("not sent: the lock held by me was lost"),
        "{reason}"
    );
    let _ = held.release().await;
}

/// A backend whose calls fail as scripted (last first), recording when each came;
/// its calls go through its own call policy, as a real backend's requests do.
struct ScriptedBackend {
    inner: accord::backend::SqliteBackend,
    failures: std::sync::Mutex<Vec<accord::backend::BackendError>>,
    times: std::sync::Mutex<Vec<Instant>>,
    caller: Caller,
}

impl ScriptedBackend {
    fn new(
        inner: accord::backend::SqliteBackend,
        failures: Vec<accord::backend::BackendError>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            inner,
            failures: std::sync::Mutex::new(failures),
            times: std::sync::Mutex::new(Vec::new()),
            caller: Caller::new(
                &[],
                CallOptions {
                    retry,
                    seed: Some(3),
                    ..CallOptions::default()
                },
            ),
        }
    }
}

#[async_trait::async_trait]
impl Backend for ScriptedBackend {
    fn url(&self) -> String {
        self.inner.url()
    }
    fn capabilities(&self) -> accord::backend::Capabilities {
        self.inner.capabilities()
    }
    fn caller(&self) -> &Caller {
        &self.caller
    }
    async fn fetch(&self) -> Result<accord::backend::Snapshot, accord::backend::BackendError> {
        self.inner.fetch().await
    }
    async fn execute(
        &self,
        batch: &[accord::plan::Op],
    ) -> Result<Vec<accord::backend::Outcome>, accord::backend::BackendError> {
        self.caller
            .call(&Request::write("scripted", Repeat::Safe), |_| async {
                self.times.lock().unwrap().push(Instant::now());
                let failure = self.failures.lock().unwrap().pop();
                match failure {
                    Some(error) => Err(error),
                    None => self.inner.execute(batch).await,
                }
            })
            .await
    }
}

#[test]
fn durations_rates_and_parallelism_parse_as_documented() {
    use accord::cli::{parse_duration, parse_parallelism, parse_rate};
    assert_eq!(parse_duration("30s"), Ok(30 * SECOND));
    assert_eq!(parse_duration("5m"), Ok(300 * SECOND));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    assert_eq!(parse_duration("1h 30m"), Ok(5_400 * SECOND));
    assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2_500)));
    assert!(
        parse_duration("soon")
            .unwrap_err()
            .contains("not a duration")
    );
    assert!(parse_duration("3 lightyears").is_err());
    assert_eq!(parse_rate("2.5"), Ok(2.5));
    assert!(parse_rate("0").is_err() && parse_rate("-1").is_err() && parse_rate("inf").is_err());
    assert_eq!(parse_parallelism("4"), Ok(4));
    assert!(parse_parallelism("0").is_err() && parse_parallelism("65").is_err());
}
