//! Reading the rows the rules need, inside the batch's transaction.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};

use super::{AgreementRow, MemberRow, Sql, Writer, bad_text, parse_access};
use crate::backend::sqlite::codec;
use crate::state::{AccessLevel, Email};

impl Writer<'_, '_> {
    pub(super) fn member(&self, email: &Email) -> Sql<Option<MemberRow>> {
        let row: Option<(i64, String, Option<i64>)> = self
            .tx
            .prepare_cached("SELECT id, status, invited_at FROM members WHERE email = ?1")?
            .query_row([email.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        row.map(|(id, status, invited_at)| {
            let status = codec::status_from_str(&status)
                .ok_or_else(|| bad_text("member status", &status))?;
            Ok(MemberRow {
                id,
                status,
                invited_at,
            })
        })
        .transpose()
    }

    pub(super) fn company(&self, name: &str) -> Sql<Option<(i64, Option<String>)>> {
        self.tx
            .prepare_cached("SELECT id, trade FROM companies WHERE name = ?1")?
            .query_row([name], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
    }

    pub(super) fn role_id(&self, name: &str) -> Sql<Option<i64>> {
        self.id_by_name("SELECT id FROM roles WHERE name = ?1", name)
    }

    pub(super) fn role_access(&self, id: i64) -> Sql<BTreeSet<AccessLevel>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT level FROM role_access WHERE role_id = ?1")?;
        let mut rows = stmt.query([id])?;
        let mut access = BTreeSet::new();
        while let Some(row) = rows.next()? {
            access.insert(parse_access(&row.get::<_, String>(0)?)?);
        }
        Ok(access)
    }

    pub(super) fn agreement(&self, number: &str) -> Sql<Option<AgreementRow>> {
        self.tx
            .prepare_cached(
                "SELECT id, contract_manager_id, software_coordinator_id FROM agreements WHERE number = ?1",
            )?
            .query_row([number], |row| {
                Ok(AgreementRow {
                    id: row.get(0)?,
                    contract_manager: row.get(1)?,
                    software_coordinator: row.get(2)?,
                })
            })
            .optional()
    }

    pub(super) fn product(&self, agreement_id: i64, name: &str) -> Sql<Option<(i64, u32)>> {
        self.tx
            .prepare_cached("SELECT id, seats FROM products WHERE agreement_id = ?1 AND name = ?2")?
            .query_row(params![agreement_id, name], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
    }

    /// The agreement's licences: the sum of its products' seats (R06).
    pub(super) fn licences(&self, agreement_id: i64) -> Sql<i64> {
        self.count(
            "SELECT coalesce(sum(seats), 0) FROM products WHERE agreement_id = ?1",
            agreement_id,
        )
    }

    pub(super) fn is_admin(&self, member_id: i64) -> Sql<bool> {
        Ok(self.count(
            "SELECT count(*) FROM member_access WHERE member_id = ?1 AND level = 'account_admin'",
            member_id,
        )? > 0)
    }

    pub(super) fn id_by_name(&self, sql: &str, name: &str) -> Sql<Option<i64>> {
        self.tx
            .prepare_cached(sql)?
            .query_row([name], |row| row.get(0))
            .optional()
    }

    pub(super) fn exists(&self, sql: &str, first: i64, second: i64) -> Sql<bool> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row([first, second], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub(super) fn count(&self, sql: &str, id: i64) -> Sql<i64> {
        self.tx
            .prepare_cached(sql)?
            .query_row([id], |row| row.get(0))
    }
}
