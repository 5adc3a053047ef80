//! Agreements: creation with their holders and licence counts, renames and licence
//! changes (R04, R06), and contract-manager and coordinator transfers (R02, R03, R07).

use std::collections::BTreeMap;

use rusqlite::params;

use super::{AgreementRow, Checked, Holder, SUPPORT_PER_LICENCE, Sql, Writer, unknown_agreement};
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::Email;

impl Writer<'_, '_> {
    pub(super) fn agreement_create(
        &self,
        number: &str,
        name: &str,
        manager: &Email,
        coordinator: &Email,
        seats: &BTreeMap<String, u32>,
    ) -> Sql<Outcome> {
        if let Some(existing) = self.agreement(number)? {
            return self.agreement_create_again(
                number,
                name,
                manager,
                coordinator,
                seats,
                existing,
            );
        }
        let manager_id = match self.holder_candidate(manager, Holder::Manager, number)? {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        let coordinator_id =
            match self.holder_candidate(coordinator, Holder::Coordinator, number)? {
                Ok(id) => id,
                Err(refusal) => return Ok(refusal),
            };
        self.tx
            .prepare_cached(
                "INSERT INTO agreements (number, name, contract_manager_id, software_coordinator_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![number, name, manager_id, coordinator_id])?;
        let id = self.tx.last_insert_rowid();
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO products (agreement_id, name, seats) VALUES (?1, ?2, ?3)",
        )?;
        for (product, count) in seats {
            insert.execute(params![id, product, count])?;
        }
        Ok(Outcome::Done)
    }

    /// `agreement.create` of an agreement that exists: already so when it matches.
    pub(super) fn agreement_create_again(
        &self,
        number: &str,
        name: &str,
        manager: &Email,
        coordinator: &Email,
        seats: &BTreeMap<String, u32>,
        existing: AgreementRow,
    ) -> Sql<Outcome> {
        let stored_name: String = self
            .tx
            .prepare_cached("SELECT name FROM agreements WHERE id = ?1")?
            .query_row([existing.id], |row| row.get(0))?;
        let same_holders = self.member(manager)?.map(|m| m.id) == Some(existing.contract_manager)
            && self.member(coordinator)?.map(|m| m.id) == Some(existing.software_coordinator);
        let mut same_seats = true;
        for (product, &count) in seats {
            same_seats &= self.product(existing.id, product)?.map(|(_, s)| s) == Some(count);
        }
        Ok(if stored_name == name && same_holders && same_seats {
            Outcome::AlreadySo
        } else {
            Outcome::refused_plain(format!(
                "agreement {number} already exists with other details; run `accord plan` again to update it"
            ))
        })
    }

    pub(super) fn agreement_update(
        &self,
        number: &str,
        name: Option<&str>,
        seats: &BTreeMap<String, u32>,
    ) -> Sql<Outcome> {
        let Some(agreement) = self.agreement(number)? else {
            return Ok(unknown_agreement(number));
        };
        let mut changed = false;
        if let Some(name) = name {
            changed |= self
                .tx
                .prepare_cached("UPDATE agreements SET name = ?2 WHERE id = ?1 AND name <> ?2")?
                .execute(params![agreement.id, name])?
                > 0;
        }
        for (product, &count) in seats {
            match self.product(agreement.id, product)? {
                Some((_, current)) if current == count => {}
                Some((product_id, _)) => {
                    let held = self.count(
                        "SELECT count(*) FROM seats WHERE product_id = ?1",
                        product_id,
                    )?;
                    if held > i64::from(count) {
                        return Ok(Outcome::refused(
                            Code::R04,
                            format!(
                                "cannot reduce {product} on agreement {number} to {count} seats: {held} members hold one; unassign seats first"
                            ),
                        ));
                    }
                    self.tx
                        .prepare_cached("UPDATE products SET seats = ?2 WHERE id = ?1")?
                        .execute(params![product_id, count])?;
                    changed = true;
                }
                None => {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO products (agreement_id, name, seats) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![agreement.id, product, count])?;
                    changed = true;
                }
            }
        }
        let licences = self.licences(agreement.id)?;
        let support = self.count(
            "SELECT count(*) FROM support WHERE agreement_id = ?1",
            agreement.id,
        )?;
        if support > SUPPORT_PER_LICENCE * licences {
            return Ok(Outcome::refused(
                Code::R06,
                format!(
                    "agreement {number} would have {licences} licences for {support} members with support (at most {SUPPORT_PER_LICENCE} per licence); unassign support first"
                ),
            ));
        }
        Ok(if changed {
            Outcome::Done
        } else {
            Outcome::AlreadySo
        })
    }

    pub(super) fn set_holder(&self, number: &str, to: &Email, holder: Holder) -> Sql<Outcome> {
        let Some(agreement) = self.agreement(number)? else {
            return Ok(unknown_agreement(number));
        };
        let id = match self.holder_candidate(to, holder, number)? {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        let current = match holder {
            Holder::Manager => agreement.contract_manager,
            Holder::Coordinator => agreement.software_coordinator,
        };
        if current == id {
            return Ok(Outcome::AlreadySo);
        }
        let sql = match holder {
            Holder::Manager => "UPDATE agreements SET contract_manager_id = ?2 WHERE id = ?1",
            Holder::Coordinator => {
                "UPDATE agreements SET software_coordinator_id = ?2 WHERE id = ?1"
            }
        };
        self.tx
            .prepare_cached(sql)?
            .execute(params![agreement.id, id])?;
        Ok(Outcome::Done)
    }

    /// The member who may take a holder role: declared (R02/R03) and not inactive (R07).
    pub(super) fn holder_candidate(
        &self,
        email: &Email,
        holder: Holder,
        number: &str,
    ) -> Checked<i64> {
        let role = holder.title();
        Ok(match self.member(email)? {
            None => Err(Outcome::refused(
                holder.rule(),
                format!(
                    "the {role} of agreement {number}, {email}, is not a member of the account; invite them first"
                ),
            )),
            Some(m) if m.status.is_inactive() => Err(Outcome::refused(
                Code::R07,
                format!(
                    "{email} is inactive and cannot be the {role} of agreement {number}; activate them first"
                ),
            )),
            Some(m) => Ok(m.id),
        })
    }
}
