//! The test-only fault switch (`--inject-faults FRACTION --fault-seed SEED`, off by
//! default): that fraction of authenticated requests fails with a 500, a 503 or a
//! dropped connection, half of them BEFORE the request is carried out and half AFTER
//! (the write committed, its answer lost). It exists to prove that clients converge
//! and never do a write twice; a real deployment never turns it on.
//!
//! A dropped connection is a response whose body fails at once: the server closes the
//! connection without a complete answer, as a crash or a network cut would.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::ApiError;

/// Which failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 500 Internal Server Error.
    ServerError,
    /// 503 Service Unavailable.
    Unavailable,
    /// The connection closes without an answer.
    Drop,
}

/// When, relative to carrying the request out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTime {
    /// Nothing was done.
    Before,
    /// The request was carried out (a write committed); only the answer is lost.
    After,
}

/// A seeded source of faults.
#[derive(Debug)]
pub struct Faults {
    fraction: f64,
    rng: Mutex<fastrand::Rng>,
    injected: AtomicU64,
}

impl Faults {
    /// Fails `fraction` (0 to 1) of requests, drawing from `seed`.
    #[must_use]
    pub fn new(fraction: f64, seed: u64) -> Self {
        Self {
            fraction: fraction.clamp(0.0, 1.0),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            injected: AtomicU64::new(0),
        }
    }

    /// The fault for the next request, if it gets one.
    pub fn draw(&self) -> Option<(FaultKind, FaultTime)> {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if rng.f64() >= self.fraction {
            return None;
        }
        let kind = match rng.u8(0..3) {
            0 => FaultKind::ServerError,
            1 => FaultKind::Unavailable,
            _ => FaultKind::Drop,
        };
        let time = if rng.bool() {
            FaultTime::Before
        } else {
            FaultTime::After
        };
        self.injected.fetch_add(1, Ordering::Relaxed);
        Some((kind, time))
    }

    /// How many faults were injected so far.
    #[must_use]
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }
}

/// Injects the drawn fault before or after the rest of the stack runs.
pub async fn inject(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(faults) = &app.faults else {
        return next.run(request).await;
    };
    let Some((kind, time)) = faults.draw() else {
        return next.run(request).await;
    };
    tracing::info!(
        fault = ?kind,
        when = ?time,
        method = %request.method(),
        path = request.uri().path(),
        "injected fault (--inject-faults)"
    );
    if time == FaultTime::After {
        // Carry the request out (and, for a write, commit it); then lose the answer.
        drop(next.run(request).await);
    }
    failure(kind, time)
}

fn failure(kind: FaultKind, time: FaultTime) -> Response {
    let when = match time {
        FaultTime::Before => "before",
        FaultTime::After => "after",
    };
    match kind {
        FaultKind::ServerError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected_fault",
            format!("fault injected by --inject-faults ({when} the request was carried out)"),
        )
        .into_response(),
        FaultKind::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected_fault",
            format!("fault injected by --inject-faults ({when} the request was carried out)"),
        )
        .into_response(),
        FaultKind::Drop => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "connection dropped by --inject-faults",
                ))
            });
            Response::new(Body::from_stream(broken))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_holds_and_a_seed_replays_the_same_faults() {
        let faults = Faults::new(0.2, 7);
        let drawn: Vec<_> = (0..10_000).map(|_| faults.draw()).collect();
        let failed = drawn.iter().filter(|f| f.is_some()).count();
        assert!((1_800..2_200).contains(&failed), "{failed}");
        assert_eq!(faults.injected(), failed as u64);
        for kind in [
            FaultKind::ServerError,
            FaultKind::Unavailable,
            FaultKind::Drop,
        ] {
            for time in [FaultTime::Before, FaultTime::After] {
                assert!(drawn.contains(&Some((kind, time))), "{kind:?} {time:?}");
            }
        }
        let again = Faults::new(0.2, 7);
        assert!(drawn.iter().all(|f| *f == again.draw()));
        let off = Faults::new(0.0, 7);
        assert!((0..1_000).all(|_| off.draw().is_none()));
    }
}
