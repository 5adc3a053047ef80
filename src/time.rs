//! Time: the injectable clock backends read (so tests can move time for invitation
//! expiry and lock leases), and the few ways accord writes a moment down. Dates are
//! `jiff`'s; nothing here computes a calendar by hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::Timestamp;

/// A clock, injectable so tests can move time (invitation expiry, lock leases).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in Unix seconds.
    fn now(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        Timestamp::now().as_second()
    }
}

/// A clock that only moves when told to (tests, demos). Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now` (Unix seconds).
    #[must_use]
    pub fn new(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Now, in Unix milliseconds.
#[must_use]
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// `2026-11-21 11:44:00 UTC`.
#[must_use]
pub fn format_utc(secs: i64) -> String {
    timestamp(secs)
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// `20261121T114400Z`, for file names.
#[must_use]
pub fn compact_utc(secs: i64) -> String {
    timestamp(secs).strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// `2026-11-21`.
#[must_use]
pub fn format_date(secs: i64) -> String {
    timestamp(secs).strftime("%Y-%m-%d").to_string()
}

/// Unix seconds of an RFC 3339 / ISO 8601 instant (`2026-01-01T00:00:00.000Z`), or of
/// a plain date (`2026-01-01`, taken as midnight UTC).
///
/// # Errors
/// A text that is neither.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at.as_second());
    }
    let date = text
        .parse::<jiff::civil::Date>()
        .map_err(|e| format!("`{text}` is not a date or time ({e})"))?;
    format!("{date}T00:00:00Z")
        .parse::<Timestamp>()
        .map(Timestamp::as_second)
        .map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_written_as_utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_763_725_440), "2025-11-21 11:44:00 UTC");
        assert_eq!(compact_utc(1_763_725_440), "20251121T114400Z");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_utc(-86_400), "1969-12-31 00:00:00 UTC");
    }

    #[test]
    fn instants_and_dates_parse() {
        assert_eq!(parse_instant("2026-01-01T00:00:00.000Z"), Ok(1_767_225_600));
        assert_eq!(parse_instant("2026-01-01"), Ok(1_767_225_600));
        assert_eq!(
            parse_instant("2026-01-01T01:00:00+01:00"),
            Ok(1_767_225_600)
        );
        assert!(parse_instant("soon").is_err());
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(10);
        let other = clock.clone();
        other.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), 15);
        clock.set(3);
        assert_eq!(other.now(), 3);
    }
}
