//! Companies and roles: created, updated and renamed, never deleted; and the rename
//! of a row by name, which projects share.

use std::collections::BTreeSet;

use rusqlite::params;

use super::{Sql, Writer, shown, unknown_company, unknown_role};
use crate::backend::sqlite::codec;
use crate::contract::Outcome;
use crate::state::AccessLevel;

impl Writer<'_, '_> {
    pub(super) fn company_create(&self, name: &str, trade: Option<&str>) -> Sql<Outcome> {
        if let Some((_, existing)) = self.company(name)? {
            return Ok(if existing.as_deref() == trade {
                Outcome::AlreadySo
            } else {
                Outcome::refused_plain(format!(
                    "company `{name}` already exists with trade {}; change it with company.update (run `accord plan` again)",
                    shown(existing.as_deref())
                ))
            });
        }
        self.tx
            .prepare_cached("INSERT INTO companies (name, trade) VALUES (?1, ?2)")?
            .execute(params![name, trade])?;
        Ok(Outcome::Done)
    }

    pub(super) fn company_update(
        &self,
        name: &str,
        trade: Option<&str>,
        from: Option<&str>,
    ) -> Sql<Outcome> {
        let renamed = match from.map(|from| self.rename(Table::Companies, from, name)) {
            Some(Err(e)) => return Err(e),
            Some(Ok(Err(refusal))) => return Ok(refusal),
            Some(Ok(Ok(renamed))) => renamed,
            None => false,
        };
        let Some((id, existing)) = self.company(name)? else {
            return Ok(unknown_company(name));
        };
        if existing.as_deref() == trade {
            return Ok(if renamed {
                Outcome::Done
            } else {
                Outcome::AlreadySo
            });
        }
        self.tx
            .prepare_cached("UPDATE companies SET trade = ?2 WHERE id = ?1")?
            .execute(params![id, trade])?;
        Ok(Outcome::Done)
    }

    pub(super) fn role_create(&self, name: &str, access: &BTreeSet<AccessLevel>) -> Sql<Outcome> {
        if let Some(id) = self.role_id(name)? {
            return Ok(if &self.role_access(id)? == access {
                Outcome::AlreadySo
            } else {
                Outcome::refused_plain(format!(
                    "role `{name}` already exists with other default access; change it with role.update (run `accord plan` again)"
                ))
            });
        }
        self.tx
            .prepare_cached("INSERT INTO roles (name) VALUES (?1)")?
            .execute([name])?;
        let id = self.tx.last_insert_rowid();
        self.set_role_access(id, access)?;
        Ok(Outcome::Done)
    }

    pub(super) fn role_update(
        &self,
        name: &str,
        access: &BTreeSet<AccessLevel>,
        from: Option<&str>,
    ) -> Sql<Outcome> {
        let renamed = match from.map(|from| self.rename(Table::Roles, from, name)) {
            Some(Err(e)) => return Err(e),
            Some(Ok(Err(refusal))) => return Ok(refusal),
            Some(Ok(Ok(renamed))) => renamed,
            None => false,
        };
        let Some(id) = self.role_id(name)? else {
            return Ok(unknown_role(name));
        };
        if &self.role_access(id)? == access {
            return Ok(if renamed {
                Outcome::Done
            } else {
                Outcome::AlreadySo
            });
        }
        // Members keep the access they were given: the backend copies a role's default
        // when the role is given, so each affected member gets its own member.update.
        self.tx
            .prepare_cached("DELETE FROM role_access WHERE role_id = ?1")?
            .execute([id])?;
        self.set_role_access(id, access)?;
        Ok(Outcome::Done)
    }

    pub(super) fn set_role_access(&self, id: i64, access: &BTreeSet<AccessLevel>) -> Sql<()> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT INTO role_access (role_id, level) VALUES (?1, ?2)")?;
        for &level in access {
            insert.execute(params![id, codec::access_to_str(level)])?;
        }
        Ok(())
    }
}

/// A table whose rows are named uniquely and may be renamed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Companies,
    Roles,
    Projects,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Roles => "roles",
            Self::Projects => "projects",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Companies => "company",
            Self::Roles => "role",
            Self::Projects => "project",
        }
    }
}

impl Writer<'_, '_> {
    /// Renames the row named `from` to `to` (`renamed_from`): `Ok(true)` when renamed,
    /// `Ok(false)` when it already was (only `to` exists), a refusal when neither or
    /// both exist.
    pub(super) fn rename(&self, table: Table, from: &str, to: &str) -> Sql<Result<bool, Outcome>> {
        let exists = |name: &str| -> Sql<bool> {
            let sql = format!("SELECT count(*) FROM {} WHERE name = ?1", table.name());
            let n: i64 = self
                .tx
                .prepare_cached(&sql)?
                .query_row([name], |row| row.get(0))?;
            Ok(n > 0)
        };
        let word = table.word();
        match (exists(from)?, exists(to)?) {
            (true, false) => {
                let sql = format!("UPDATE {} SET name = ?2 WHERE name = ?1", table.name());
                self.tx.prepare_cached(&sql)?.execute([from, to])?;
                Ok(Ok(true))
            }
            (false, true) => Ok(Ok(false)),
            (true, true) => Ok(Err(Outcome::refused_plain(format!(
                "both {word} `{from}` and {word} `{to}` exist, so `{from}` cannot be renamed `{to}`; remove `renamed_from` (and declare `{from}` if it is to stay)"
            )))),
            (false, false) => Ok(Err(Outcome::refused_plain(format!(
                "there is no {word} `{from}` to rename `{to}`; run `accord plan` again"
            )))),
        }
    }
}
