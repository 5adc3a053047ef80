//! Seat usage over time, the store's part of `accord report seats`: after a batch
//! (or an import) that can move seats, the seats used and total of every product
//! whose numbers moved are written to `seat_usage` with the batch's revision.
//!
//! Only products whose numbers differ from their newest row are written, so an
//! apply of 50,000 invitations writes nothing here. A batch of seat assignments
//! costs one lookup per product it touched, not a count of every seat: an
//! assignment done adds one to the product's newest count, an unassignment takes
//! one off (a done operation changed exactly that). Counting from the tables is
//! kept for what cannot be known from the operations (the cascades of member and
//! team-user removals, an import) and for the products of an agreement or team
//! created or resized.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rustc_hash::FxHashMap;

use crate::contract::{Op, PoolKind, SeatCount, SeatSample};

/// The operations that can move a product's seats used or total (the cascades of
/// member removals and deactivations and team removals included).
const MOVES_SEATS: &[&str] = &[
    "seat.assign",
    "seat.unassign",
    "agreement.create",
    "agreement.update",
    "team.create",
    "team.update",
    "team_seat.assign",
    "team_seat.unassign",
    "team_member.remove",
    "member.remove",
    "member.deactivate",
];

/// The operations whose effect on seat counts only a count of the tables tells.
const CASCADES: &[&str] = &["team_member.remove", "member.remove", "member.deactivate"];

/// Whether any of `done` can have moved a seat count.
pub(super) fn moves_seats(done: &[&Op]) -> bool {
    done.iter().any(|op| MOVES_SEATS.contains(&op.name()))
}

/// Records the counts a batch's done operations left (see the module docs).
pub(super) fn record_batch(
    tx: &Transaction<'_>,
    revision: i64,
    at: i64,
    done: &[&Op],
) -> rusqlite::Result<()> {
    if done.iter().any(|op| CASCADES.contains(&op.name())) {
        return record(tx, revision, at);
    }
    let mut deltas: BTreeMap<Key, i64> = BTreeMap::new();
    let mut resized: BTreeSet<(&str, &str)> = BTreeSet::new();
    for op in done {
        let (kind, owner, product, by) = match op {
            Op::SeatAssign {
                number, product, ..
            } => ("agreement", number, product, 1),
            Op::SeatUnassign {
                number, product, ..
            } => ("agreement", number, product, -1),
            Op::TeamSeatAssign { team, product, .. } => ("team", team, product, 1),
            Op::TeamSeatUnassign { team, product, .. } => ("team", team, product, -1),
            Op::AgreementCreate { number, .. } | Op::AgreementUpdate { number, .. } => {
                resized.insert(("agreement", number));
                continue;
            }
            Op::TeamCreate { team, .. } | Op::TeamUpdate { team, .. } => {
                resized.insert(("team", team));
                continue;
            }
            _ => continue,
        };
        *deltas
            .entry((kind.to_owned(), owner.clone(), product.clone()))
            .or_insert(0) += by;
    }
    let mut counts: BTreeMap<Key, (u32, Option<u32>)> = BTreeMap::new();
    for (kind, owner) in resized {
        let sql = if kind == "team" {
            TEAM_COUNTS
        } else {
            AGREEMENT_COUNTS
        };
        let mut stmt = tx.prepare_cached(sql)?;
        let mut rows = stmt.query([owner])?;
        while let Some(row) = rows.next()? {
            counts.insert(
                (kind.to_owned(), owner.to_owned(), row.get(0)?),
                (row.get(1)?, row.get(2)?),
            );
        }
    }
    for (key, delta) in deltas {
        if counts.contains_key(&key) {
            continue; // counted from the tables already
        }
        let seats = seats_of(tx, &key)?;
        let used = match newest(tx, &key)? {
            Some((used, _)) => u32::try_from(i64::from(used) + delta).unwrap_or(0),
            None => count_of(tx, &key)?,
        };
        counts.insert(key, (used, seats));
    }
    let mut insert = tx.prepare_cached(INSERT)?;
    for (key, now) in counts {
        if newest(tx, &key)? != Some(now) {
            insert.execute(params![key.0, key.1, key.2, revision, at, now.0, now.1])?;
        }
    }
    Ok(())
}

/// An agreement's products, with their seats used and total.
const AGREEMENT_COUNTS: &str = "
SELECT p.name, (SELECT count(*) FROM seats s WHERE s.product_id = p.id), p.seats
FROM products p JOIN agreements a ON a.id = p.agreement_id WHERE a.number = ?1";

/// A team's pools, with their seats used and total.
const TEAM_COUNTS: &str = "
SELECT tp.product, (SELECT count(*) FROM team_seats s WHERE s.pool_id = tp.id), tp.seats
FROM team_pools tp JOIN teams t ON t.id = tp.team_id WHERE t.team_id = ?1";

const INSERT: &str = "INSERT INTO seat_usage (kind, owner, product, revision, at, used, seats) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// A product's newest recorded counts.
fn newest(tx: &Transaction<'_>, key: &Key) -> rusqlite::Result<Option<(u32, Option<u32>)>> {
    tx.prepare_cached(
        "SELECT used, seats FROM seat_usage WHERE kind = ?1 AND owner = ?2 AND product = ?3
         ORDER BY revision DESC LIMIT 1",
    )?
    .query_row(params![key.0, key.1, key.2], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })
    .optional()
}

/// A product's seats in total now.
fn seats_of(tx: &Transaction<'_>, key: &Key) -> rusqlite::Result<Option<u32>> {
    let sql = if key.0 == "team" {
        "SELECT tp.seats FROM team_pools tp JOIN teams t ON t.id = tp.team_id
         WHERE t.team_id = ?1 AND tp.product = ?2"
    } else {
        "SELECT p.seats FROM products p JOIN agreements a ON a.id = p.agreement_id
         WHERE a.number = ?1 AND p.name = ?2"
    };
    Ok(tx
        .prepare_cached(sql)?
        .query_row(params![key.1, key.2], |row| row.get(0))
        .optional()?
        .flatten())
}

/// A product's seats used now, counted.
fn count_of(tx: &Transaction<'_>, key: &Key) -> rusqlite::Result<u32> {
    let sql = if key.0 == "team" {
        "SELECT count(*) FROM team_seats s JOIN team_pools tp ON tp.id = s.pool_id
         JOIN teams t ON t.id = tp.team_id WHERE t.team_id = ?1 AND tp.product = ?2"
    } else {
        "SELECT count(*) FROM seats s JOIN products p ON p.id = s.product_id
         JOIN agreements a ON a.id = p.agreement_id WHERE a.number = ?1 AND p.name = ?2"
    };
    tx.prepare_cached(sql)?
        .query_row(params![key.1, key.2], |row| row.get(0))
}

/// Every product's counts now: agreements' then teams'.
const COUNTS: &str = "
SELECT 'agreement', a.number, p.name,
       (SELECT count(*) FROM seats s WHERE s.product_id = p.id), p.seats
FROM products p JOIN agreements a ON a.id = p.agreement_id
UNION ALL
SELECT 'team', t.team_id, tp.product,
       (SELECT count(*) FROM team_seats s WHERE s.pool_id = tp.id), tp.seats
FROM team_pools tp JOIN teams t ON t.id = tp.team_id";

/// Each product's newest recorded counts.
const NEWEST: &str = "
SELECT u.kind, u.owner, u.product, u.used, u.seats FROM seat_usage u
WHERE u.revision = (SELECT max(v.revision) FROM seat_usage v
                    WHERE v.kind = u.kind AND v.owner = u.owner AND v.product = u.product)";

type Key = (String, String, String);

/// Writes the counts of every product whose numbers moved since its newest row.
pub(super) fn record(tx: &Transaction<'_>, revision: i64, at: i64) -> rusqlite::Result<()> {
    let mut newest: FxHashMap<Key, (u32, Option<u32>)> = FxHashMap::default();
    {
        let mut stmt = tx.prepare_cached(NEWEST)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            newest.insert(
                (row.get(0)?, row.get(1)?, row.get(2)?),
                (row.get(3)?, row.get(4)?),
            );
        }
    }
    let mut stmt = tx.prepare_cached(COUNTS)?;
    let mut rows = stmt.query([])?;
    let mut insert = tx.prepare_cached(INSERT)?;
    while let Some(row) = rows.next()? {
        let key: Key = (row.get(0)?, row.get(1)?, row.get(2)?);
        let now: (u32, Option<u32>) = (row.get(3)?, row.get(4)?);
        if newest.get(&key) != Some(&now) {
            insert.execute(params![key.0, key.1, key.2, revision, at, now.0, now.1])?;
        }
    }
    Ok(())
}

/// Every recorded count, oldest first (then by kind, owner and product).
pub(super) fn read(conn: &Connection) -> rusqlite::Result<Vec<SeatSample>> {
    let mut stmt = conn.prepare(
        "SELECT revision, at, kind, owner, product, used, seats FROM seat_usage
         ORDER BY revision, kind, owner, product",
    )?;
    let rows = stmt.query_map([], |row| {
        let kind: String = row.get(2)?;
        Ok(SeatSample {
            revision: row.get::<_, i64>(0)?.try_into().unwrap_or_default(),
            at: row.get(1)?,
            count: SeatCount {
                kind: if kind == "team" {
                    PoolKind::Team
                } else {
                    PoolKind::Agreement
                },
                owner: row.get(3)?,
                product: row.get(4)?,
                used: row.get(5)?,
                seats: row.get(6)?,
            },
        })
    })?;
    rows.collect()
}
