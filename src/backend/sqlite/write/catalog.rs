//! Companies and roles: created and updated, never deleted.

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

    pub(super) fn company_update(&self, name: &str, trade: Option<&str>) -> Sql<Outcome> {
        let Some((id, existing)) = self.company(name)? else {
            return Ok(unknown_company(name));
        };
        if existing.as_deref() == trade {
            return Ok(Outcome::AlreadySo);
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

    pub(super) fn role_update(&self, name: &str, access: &BTreeSet<AccessLevel>) -> Sql<Outcome> {
        let Some(id) = self.role_id(name)? else {
            return Ok(unknown_role(name));
        };
        if &self.role_access(id)? == access {
            return Ok(Outcome::AlreadySo);
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
