//! Seat usage over time, the store's part of `accord report seats`: after a batch
//! (or an import) that can move seats, the seats used and total of every product
//! whose numbers moved are written to `seat_usage` with the batch's revision.
//!
//! Only products whose numbers differ from their newest row are written, so an
//! apply of 50,000 invitations writes nothing here, and a batch of 100 seat
//! assignments one row per product it touched. Recording compares with the newest
//! row rather than guessing from the operations, so cascades (a removed member's
//! seats) are counted like any other change.

use rusqlite::{Connection, Transaction, params};
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

/// Whether any of `done` can have moved a seat count.
pub(super) fn moves_seats(done: &[&Op]) -> bool {
    done.iter().any(|op| MOVES_SEATS.contains(&op.name()))
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
    let mut insert = tx.prepare_cached(
        "INSERT INTO seat_usage (kind, owner, product, revision, at, used, seats) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
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
