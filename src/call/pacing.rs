//! Keeping to a server's request budgets: one [`Pacer`] per backend, one limiter per
//! budget (and per key, for budgets such as the vendor's "60 per UTC minute per
//! team").
//!
//! A limiter has up to three parts, all on tokio's clock so tests can pause time:
//! - the steady pace: a token bucket that *reserves* each request's slot (the count
//!   goes negative while requests wait), so waiters leave in arrival order, exactly on
//!   the rate's grid, whatever the parallelism. `governor`'s GCRA was tried first: it
//!   has no reservations, so every waiter checks again after its sleep and the
//!   timer's lateness adds up (6% of a 50/s budget lost in the apply benchmark), and
//!   it cannot pause;
//! - a fixed window, for servers that count in one: at most `calls` per window,
//!   windows aligned to the UTC clock, and the server's own count followed (a server
//!   that reports fewer requests left than we think, because other clients share the
//!   budget, is believed; so is its reset time);
//! - a pause: a 429 with `Retry-After` holds every request of the budget until then,
//!   not only the one that was told, and no burst follows it.
//!
//! `--max-rate` adds one more limiter that every request of the backend passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::budget::{Budget, Window};

/// A token bucket on tokio's clock that reserves slots.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Tokens available now; negative when waiters have reserved future tokens.
    tokens: f64,
    /// When `tokens` was last brought up to date (in the future during a pause).
    updated: Instant,
}

impl Bucket {
    /// `rate` per second with room for `burst` at once; it starts full.
    fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate,
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes a token (possibly one not there yet) and answers when it is there.
    fn reserve(&self, now: Instant) -> Instant {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now > state.updated {
            let elapsed = (now - state.updated).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
            state.updated = now;
        }
        state.tokens -= 1.0;
        if state.tokens >= 0.0 {
            state.updated.max(now)
        } else {
            state.updated + Duration::from_secs_f64(-state.tokens / self.rate)
        }
    }

    /// No token accrues before `until`, and at most one is there then: after a
    /// pause requests leave at the rate again, not in a burst.
    fn hold_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if until > state.updated {
            state.updated = until;
            state.tokens = state.tokens.min(1.0);
        }
    }
}

/// What a server reported about a fixed-window budget after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reported {
    /// Requests left in the current window (`X-RateLimit-Remaining`).
    pub remaining: Option<u32>,
    /// How long until the window resets (`X-RateLimit-Reset`, as a duration from now).
    pub reset_in: Option<Duration>,
}

/// The state of a fixed window.
#[derive(Debug)]
struct WindowState {
    window: Window,
    /// When the current window ends.
    ends: Instant,
    /// Requests still allowed in it.
    left: u32,
}

/// One budget's limiter.
#[derive(Debug)]
struct Limiter {
    bucket: Bucket,
    window: Option<Mutex<WindowState>>,
    paused_until: Mutex<Instant>,
}

/// Where the UTC clock stands at tokio's `Instant::now()`: tokio's clock can be paused
/// in tests, so windows are placed on it, anchored once to the wall clock.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    instant: Instant,
    unix: Duration,
}

impl Anchor {
    fn now() -> Self {
        Self {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    /// When the window of `seconds` that holds `at` ends (windows start at multiples
    /// of `seconds` on the UTC clock).
    fn window_end(self, at: Instant, seconds: u64) -> Instant {
        let seconds = seconds.max(1);
        let unix = self.unix + at.saturating_duration_since(self.instant);
        let into = Duration::from_nanos(
            u64::try_from(unix.as_nanos() % u128::from(seconds * 1_000_000_000)).unwrap_or(0),
        );
        at + (Duration::from_secs(seconds) - into)
    }
}

impl Limiter {
    fn new(per_second: f64, burst: u32, window: Option<Window>, anchor: Anchor) -> Option<Self> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return None;
        }
        let now = Instant::now();
        Some(Self {
            bucket: Bucket::new(per_second, burst),
            window: window.map(|window| {
                Mutex::new(WindowState {
                    window,
                    ends: anchor.window_end(now, window.seconds),
                    left: window.calls,
                })
            }),
            paused_until: Mutex::new(now),
        })
    }

    fn paused_until(&self) -> Instant {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until one request may leave, and counts it.
    async fn acquire(&self, anchor: Anchor) {
        loop {
            let now = Instant::now();
            let paused = self.paused_until();
            if paused > now {
                tokio::time::sleep_until(paused).await;
                continue;
            }
            if let Some(window_end) = self.window_exhausted(now, anchor) {
                tokio::time::sleep_until(window_end).await;
                continue;
            }
            let ready = self.bucket.reserve(now);
            if ready > now {
                tokio::time::sleep_until(ready).await;
            }
            // A pause that began while this request waited holds it too (its slot is
            // forfeited: a little under the rate, never over it).
            if self.paused_until() > Instant::now() {
                continue;
            }
            // Take its place in the window (another waiter may have taken the last
            // one meanwhile: then wait for the next window).
            if self.take_from_window(Instant::now(), anchor) {
                return;
            }
        }
    }

    /// When the current window ends, if it has no request left.
    fn window_exhausted(&self, now: Instant, anchor: Anchor) -> Option<Instant> {
        let mut state = self
            .window
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        roll(&mut state, now, anchor);
        (state.left == 0).then_some(state.ends)
    }

    fn take_from_window(&self, now: Instant, anchor: Anchor) -> bool {
        let Some(window) = &self.window else {
            return true;
        };
        let mut state = window.lock().unwrap_or_else(PoisonError::into_inner);
        roll(&mut state, now, anchor);
        if state.left == 0 {
            return false;
        }
        state.left -= 1;
        true
    }

    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if until > *paused {
            *paused = until;
            self.bucket.hold_until(until);
        }
    }

    fn follow(&self, reported: Reported, anchor: Anchor) {
        let Some(window) = &self.window else {
            return;
        };
        let now = Instant::now();
        let mut state = window.lock().unwrap_or_else(PoisonError::into_inner);
        let reported = Reported {
            reset_in: reported
                .reset_in
                .map(|reset| refine(reset, anchor.window_end(now, state.window.seconds) - now)),
            ..reported
        };
        if let Some(reset_in) = reported.reset_in {
            // The server's window is the one that counts: end ours when it says.
            state.ends = now + reset_in;
        }
        if let Some(remaining) = reported.remaining {
            state.left = state.left.min(remaining);
        }
        drop(state);
        // Spend what is left of the server's window evenly over what is left of it:
        // others may be spending it too, so the last calls of a window are not sent
        // in a rush that meets a 429. The `+ 1` keeps one call's margin.
        // (A spent window is waited out by the window itself.) After the hold a token
        // takes one interval of the budget's pace to accrue, so the hold is shorter
        // by that.
        if let (Some(remaining @ 1..), Some(reset_in)) = (reported.remaining, reported.reset_in) {
            let spacing = reset_in / remaining.saturating_add(1);
            let interval = Duration::from_secs_f64(1.0 / self.bucket.rate);
            if spacing > interval {
                self.bucket.hold_until(now + (spacing - interval));
            }
        }
    }
}

/// The time to a window's reset: what the server reported, unless it is a whole
/// number of seconds at most one second past the end of the UTC-aligned window
/// (`ours`): then it is that end rounded up, and the aligned end is the precise one.
fn refine(reported: Duration, ours: Duration) -> Duration {
    let whole = reported.subsec_nanos() == 0;
    if whole && ours <= reported && reported - ours < Duration::from_secs(1) {
        ours
    } else {
        reported
    }
}

/// Starts a new window when the current one has ended.
fn roll(state: &mut WindowState, now: Instant, anchor: Anchor) {
    if now >= state.ends {
        state.ends = anchor.window_end(now, state.window.seconds);
        state.left = state.window.calls;
    }
}

/// The limiters of one backend's budgets.
#[derive(Debug)]
pub struct Pacer {
    budgets: Mutex<HashMap<String, Budget>>,
    limiters: Mutex<HashMap<(String, String), Arc<Limiter>>>,
    overall: Option<Limiter>,
    anchor: Anchor,
}

impl Pacer {
    /// A pacer for `budgets`, every request also kept below `max_rate` per second
    /// when given.
    #[must_use]
    pub fn new(budgets: &[Budget], max_rate: Option<f64>) -> Self {
        Self::anchored(budgets, max_rate, Anchor::now())
    }

    fn anchored(budgets: &[Budget], max_rate: Option<f64>, anchor: Anchor) -> Self {
        Self {
            budgets: Mutex::new(
                budgets
                    .iter()
                    .map(|b| (b.family.clone(), b.clone()))
                    .collect(),
            ),
            limiters: Mutex::new(HashMap::new()),
            overall: max_rate.and_then(|rate| Limiter::new(rate, 1, None, anchor)),
            anchor,
        }
    }

    /// Adds or replaces budgets (a service declares its own when first asked).
    /// A budget declared again unchanged keeps its limiter (and what it has spent):
    /// backends sharing one pacer each declare the same budgets.
    pub fn set_budgets(&self, budgets: &[Budget]) {
        let mut known = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = Vec::new();
        for budget in budgets {
            if known.get(&budget.family) != Some(budget) {
                known.insert(budget.family.clone(), budget.clone());
                changed.push(budget.family.as_str());
            }
        }
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(family, _), _| !changed.contains(&family.as_str()));
    }

    /// The limiter of `family` (and `key`, for per-key budgets); `None` when the
    /// family has no budget.
    fn limiter(&self, family: &str, key: &str) -> Option<Arc<Limiter>> {
        let budget = self
            .budgets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(family)
            .cloned()?;
        let key = if budget.per_key { key } else { "" };
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limiter) = limiters.get(&(family.to_owned(), key.to_owned())) {
            return Some(Arc::clone(limiter));
        }
        let limiter = Arc::new(Limiter::new(
            budget.per_second,
            budget.burst,
            budget.window,
            self.anchor,
        )?);
        limiters.insert((family.to_owned(), key.to_owned()), Arc::clone(&limiter));
        Some(limiter)
    }

    /// Waits until a request of `family` (for `key`) may leave.
    pub async fn acquire(&self, family: &str, key: &str) {
        if let Some(overall) = &self.overall {
            overall.acquire(self.anchor).await;
        }
        if let Some(limiter) = self.limiter(family, key) {
            limiter.acquire(self.anchor).await;
        }
    }

    /// Holds every request of `family` (for `key`) for `wait` (a `Retry-After`).
    pub fn pause(&self, family: &str, key: &str, wait: Duration) {
        if let Some(limiter) = self.limiter(family, key) {
            limiter.pause_for(wait);
        }
    }

    /// Follows what the server reported about a fixed-window budget.
    pub fn follow(&self, family: &str, key: &str, reported: Reported) {
        if let Some(limiter) = self.limiter(family, key) {
            limiter.follow(reported, self.anchor);
        }
    }

    /// How many requests of `family` may leave per second at most (its steady pace).
    #[must_use]
    pub fn rate(&self, family: &str) -> Option<f64> {
        let budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let budget = budgets.get(family)?;
        let window = budget.window.map_or(f64::INFINITY, |w| {
            f64::from(w.calls) / (w.seconds.max(1) as f64)
        });
        Some(budget.per_second.min(window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn times(pacer: &Pacer, family: &str, key: &str, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut out = Vec::new();
        for _ in 0..n {
            pacer.acquire(family, key).await;
            out.push(start.elapsed());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_declared_again_unchanged_keeps_what_it_spent() {
        let budget = Budget::per_second("svc", 10.0);
        let pacer = Pacer::new(std::slice::from_ref(&budget), None);
        let first = times(&pacer, "svc", "", 5).await;
        pacer.set_budgets(std::slice::from_ref(&budget));
        let start = Instant::now();
        pacer.acquire("svc", "").await;
        // Still paced: the sixth request waits its turn after the fifth.
        assert!(start.elapsed() >= Duration::from_millis(99), "{first:?}");
        // A changed budget starts afresh.
        pacer.set_budgets(&[Budget::per_second("svc", 20.0)]);
        let start = Instant::now();
        pacer.acquire("svc", "").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_leave_evenly_spaced_at_the_rate() {
        let pacer = Pacer::new(&[Budget::per_second("svc", 10.0)], None);
        let times = times(&pacer, "svc", "", 21).await;
        assert_eq!(times[0], Duration::ZERO);
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(99), "{pair:?}");
        }
        assert!(times[20] <= Duration::from_millis(2_010), "{:?}", times[20]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate() {
        let pacer = Arc::new(Pacer::new(&[Budget::per_second("svc", 20.0)], None));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let pacer = Arc::clone(&pacer);
            tasks.spawn(async move {
                for _ in 0..5 {
                    pacer.acquire("svc", "").await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        // 40 requests at 20/s: the first at once, the last 39 x 50 ms later.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1_949) && elapsed <= Duration::from_millis(2_000),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_pause_requests_leave_at_the_rate_not_in_a_burst() {
        let mut budget = Budget::per_second("svc", 10.0);
        budget.burst = 5;
        let pacer = Pacer::new(&[budget], None);
        pacer.acquire("svc", "").await;
        pacer.pause("svc", "", Duration::from_secs(3));
        let times = times(&pacer, "svc", "", 3).await;
        assert!(times[0] >= Duration::from_secs(3), "{times:?}");
        assert!(
            times[1] - times[0] >= Duration::from_millis(99),
            "{times:?}"
        );
        assert!(
            times[2] - times[1] >= Duration::from_millis(99),
            "{times:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_of_the_budget() {
        let pacer = Pacer::new(&[Budget::per_second("svc", 10.0)], None);
        pacer.acquire("svc", "").await;
        let start = Instant::now();
        pacer.pause("svc", "", Duration::from_secs(3));
        pacer.acquire("svc", "").await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    fn team_budget() -> Budget {
        Budget {
            family: "team".into(),
            per_second: 1.0,
            burst: 1,
            window: Some(Window {
                calls: 60,
                seconds: 60,
            }),
            per_key: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_the_server_reports_as_spent_waits_for_its_reset() {
        let pacer = Pacer::new(&[team_budget()], None);
        pacer.acquire("team", "1").await;
        // Another client spent the rest of this minute.
        pacer.follow(
            "team",
            "1",
            Reported {
                remaining: Some(0),
                reset_in: Some(Duration::from_secs(20)),
            },
        );
        let start = Instant::now();
        pacer.acquire("team", "1").await;
        let waited = start.elapsed();
        // (A whole 20 s just past the UTC-aligned minute's end is taken as that end.)
        assert!(
            waited >= Duration::from_secs(19) && waited < Duration::from_secs(21),
            "{waited:?}"
        );
        // Another team's budget is its own.
        let start = Instant::now();
        pacer.acquire("team", "2").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn a_reset_in_whole_seconds_is_the_aligned_windows_end_rounded_up() {
        let ms = Duration::from_millis;
        assert_eq!(
            refine(ms(1000), ms(350)),
            ms(350),
            "1 s rounded up from 0.35 s"
        );
        assert_eq!(refine(ms(20_000), ms(19_400)), ms(19_400));
        assert_eq!(
            refine(ms(20_000), ms(15_000)),
            ms(20_000),
            "the server's window"
        );
        assert_eq!(
            refine(ms(1500), ms(350)),
            ms(1500),
            "not whole seconds: as said"
        );
        assert_eq!(
            refine(ms(1000), ms(1200)),
            ms(1000),
            "sooner than ours: as said"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn what_is_left_of_a_window_is_spent_evenly_over_what_is_left_of_it() {
        let pacer = Pacer::new(&[team_budget()], None);
        pacer.acquire("team", "1").await;
        // Others spent most of the minute: 3 calls left for 40 s, so one every 10 s.
        pacer.follow(
            "team",
            "1",
            Reported {
                remaining: Some(3),
                reset_in: Some(Duration::from_secs(40)),
            },
        );
        let start = Instant::now();
        pacer.acquire("team", "1").await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
            "{waited:?}"
        );
        // A window with room to spare keeps the budget's own pace (one a second).
        pacer.follow(
            "team",
            "1",
            Reported {
                remaining: Some(50),
                reset_in: Some(Duration::from_secs(30)),
            },
        );
        let start = Instant::now();
        pacer.acquire("team", "1").await;
        assert!(
            start.elapsed() <= Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_allows_its_calls_and_no_more() {
        let mut budget = team_budget();
        budget.per_second = 100.0;
        budget.burst = 100;
        budget.window = Some(Window {
            calls: 5,
            seconds: 60,
        });
        // 10 s into a UTC minute: this window ends in 50 s.
        let anchor = Anchor {
            instant: Instant::now(),
            unix: Duration::from_secs(1_700_000_040 + 10),
        };
        let pacer = Pacer::anchored(&[budget], None, anchor);
        let times = times(&pacer, "team", "1", 6).await;
        assert!(times[4] < Duration::from_secs(1), "{times:?}");
        // The sixth waits for the next minute.
        assert_eq!(times[5], Duration::from_secs(50), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_rate_caps_every_family() {
        let pacer = Pacer::new(&[], Some(5.0));
        let times = times(&pacer, "anything", "", 6).await;
        assert!(times[5] >= Duration::from_millis(999), "{times:?}");
    }

    #[test]
    fn windows_are_aligned_to_the_utc_clock() {
        let instant = Instant::now();
        let anchor = Anchor {
            instant,
            unix: Duration::from_secs(1_700_000_000 + 42),
        };
        // 1_700_000_000 is a multiple of 20 but not 60: minute windows start at :20 past it.
        let end = anchor.window_end(instant, 60);
        let unix_end = 1_700_000_042 + (end - instant).as_secs();
        assert_eq!(unix_end % 60, 0);
        assert!(end - instant <= Duration::from_secs(60));
    }
}
