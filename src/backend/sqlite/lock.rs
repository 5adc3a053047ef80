//! The apply lock: one row in `locks`, a lease with a holder, a token and an expiry.
//!
//! Time is the store's clock, so tests move it instead of sleeping. Each change runs
//! in an IMMEDIATE transaction, so two processes racing for the lock serialise on
//! `SQLite`'s write lock and exactly one wins.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::contract::{Lease, LockError};

/// The lock's name: there is one lock per account, for `apply`.
const APPLY_LOCK: &str = "apply";

/// The lock row as stored.
struct Row {
    holder: String,
    token: String,
    since: i64,
    expires: i64,
}

/// Takes the lock for `holder` unless an unexpired lease is held by anyone.
pub(super) fn acquire(
    conn: &mut Connection,
    holder: &str,
    ttl: Duration,
    now: i64,
) -> rusqlite::Result<Result<Lease, LockError>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(current) = current(&tx)? {
        if now < current.expires {
            return Ok(Err(LockError::Held {
                holder: current.holder,
                since: current.since,
                expires: current.expires,
            }));
        }
    }
    let ttl_secs = ttl_secs(ttl);
    let lease = Lease {
        holder: holder.to_owned(),
        token: new_token(holder, now),
        since: now,
        expires: now.saturating_add_unsigned(ttl_secs),
        ttl_secs,
    };
    tx.execute(
        "INSERT OR REPLACE INTO locks (name, holder, token, acquired_at, expires_at, ttl_secs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            APPLY_LOCK,
            lease.holder,
            lease.token,
            lease.since,
            lease.expires,
            i64::try_from(ttl_secs).unwrap_or(i64::MAX)
        ],
    )?;
    tx.commit()?;
    Ok(Ok(lease))
}

/// Extends `lease` by its ttl from `now`, if the lock is still this lease's.
pub(super) fn renew(
    conn: &mut Connection,
    lease: &Lease,
    now: i64,
) -> rusqlite::Result<Result<Lease, LockError>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    match current(&tx)? {
        Some(row) if row.token == lease.token => {
            let expires = now.saturating_add_unsigned(lease.ttl_secs);
            tx.execute(
                "UPDATE locks SET expires_at = ?2 WHERE name = ?1",
                params![APPLY_LOCK, expires],
            )?;
            tx.commit()?;
            Ok(Ok(Lease {
                expires,
                ..lease.clone()
            }))
        }
        Some(row) => Ok(Err(LockError::Lost {
            holder: lease.holder.clone(),
            reason: format!(
                "it expired and {} took the lock at {} (Unix time)",
                row.holder, row.since
            ),
        })),
        None => Ok(Err(LockError::Lost {
            holder: lease.holder.clone(),
            reason: "the lock was released".into(),
        })),
    }
}

/// Gives the lock up if it is still this lease's; otherwise there is nothing to do.
pub(super) fn release(conn: &Connection, lease: &Lease) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM locks WHERE name = ?1 AND token = ?2",
        params![APPLY_LOCK, lease.token],
    )?;
    Ok(())
}

fn current(conn: &Connection) -> rusqlite::Result<Option<Row>> {
    conn.query_row(
        "SELECT holder, token, acquired_at, expires_at FROM locks WHERE name = ?1",
        [APPLY_LOCK],
        |row| {
            Ok(Row {
                holder: row.get(0)?,
                token: row.get(1)?,
                since: row.get(2)?,
                expires: row.get(3)?,
            })
        },
    )
    .optional()
}

/// Whole seconds, rounded up, at least one: a lease never expires as it is made.
fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0))
        .max(1)
}

/// A token no other lease has: the process id, a per-process counter and a random
/// hash (two processes of the same holder at the same second still differ).
fn new_token(holder: &str, now: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one((holder, now, count, std::process::id()));
    format!("{:x}-{count:x}-{random:016x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_secs(Duration::from_millis(1)), 1);
        assert_eq!(ttl_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(30)), 30);
        assert_eq!(ttl_secs(Duration::ZERO), 1);
    }

    #[test]
    fn tokens_differ_for_the_same_holder_and_time() {
        assert_ne!(new_token("a", 1), new_token("a", 1));
    }
}
