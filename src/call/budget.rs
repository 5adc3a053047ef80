//! Request budgets a backend declares: what its server allows, as data.

use serde::{Deserialize, Serialize};

/// A fixed window a server counts requests in (the vendor's "60 per UTC minute").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Requests allowed per window.
    pub calls: u32,
    /// The window's length in seconds; windows start at multiples of it on the UTC
    /// clock (a minute window runs hh:mm:00 to hh:mm:59).
    pub seconds: u64,
}

/// A request budget: how fast one family of requests may be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The family's name (`hq`, `admin-write`, `team`); every request names its family.
    pub family: String,
    /// The steady pace, in requests per second: requests leave evenly spaced.
    pub per_second: f64,
    /// How many requests may leave at once after a quiet spell (at least one).
    pub burst: u32,
    /// The server's fixed window, if it counts in one: at most `calls` per window,
    /// and the server's `X-RateLimit-Remaining` / `X-RateLimit-Reset` are followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Whether each key of the family (a team id) has a budget of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_key: bool,
}

impl Budget {
    /// `per_minute` requests a minute for `family`, evenly spaced, with a burst of a
    /// sixth of the minute's allowance.
    #[must_use]
    pub fn per_minute(family: &str, per_minute: f64) -> Self {
        Self {
            family: family.to_owned(),
            per_second: per_minute / 60.0,
            burst: burst_of(per_minute / 6.0),
            window: None,
            per_key: false,
        }
    }

    /// `per_second` requests a second for `family`, one at a time.
    #[must_use]
    pub fn per_second(family: &str, per_second: f64) -> Self {
        Self {
            family: family.to_owned(),
            per_second,
            burst: 1,
            window: None,
            per_key: false,
        }
    }
}

/// A burst size: at least one request.
fn burst_of(calls: f64) -> u32 {
    if calls.is_finite() && calls >= 1.0 {
        // Saturating: a budget of more than u32::MAX requests is no budget at all.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let calls = calls.floor().min(f64::from(u32::MAX)) as u32;
        calls
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_budget_paces_per_second_with_a_sixth_as_burst() {
        let budget = Budget::per_minute("hq", 100.0);
        assert!((budget.per_second - 100.0 / 60.0).abs() < 1e-9);
        assert_eq!(budget.burst, 16);
        assert_eq!(Budget::per_minute("slow", 3.0).burst, 1);
    }
}
