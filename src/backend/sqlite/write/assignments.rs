//! Seats, cloud services and support benefits of an agreement (R04-R07).

use rusqlite::{OptionalExtension, params};

use super::{
    Checked, MAX_CLOUD_SERVICE_USERS, MemberRow, SUPPORT_PER_LICENCE, Sql, Writer, done_if,
    unknown_agreement,
};
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::Email;

impl Writer<'_, '_> {
    pub(super) fn seat_assign(&self, number: &str, product: &str, email: &Email) -> Sql<Outcome> {
        let Some(agreement) = self.agreement(number)? else {
            return Ok(unknown_agreement(number));
        };
        let Some((product_id, seats)) = self.product(agreement.id, product)? else {
            return Ok(Outcome::refused(
                Code::R04,
                format!(
                    "agreement {number} has no seats of {product}; buy seats first (agreement.update)"
                ),
            ));
        };
        let member = match self.assignable(email, &format!("a seat of {product}"))? {
            Ok(member) => member,
            Err(refusal) => return Ok(refusal),
        };
        if self.exists(
            "SELECT 1 FROM seats WHERE product_id = ?1 AND member_id = ?2",
            product_id,
            member.id,
        )? {
            return Ok(Outcome::AlreadySo);
        }
        let held = self.count(
            "SELECT count(*) FROM seats WHERE product_id = ?1",
            product_id,
        )?;
        if held >= i64::from(seats) {
            return Ok(Outcome::refused(
                Code::R04,
                format!(
                    "all {seats} seats of {product} on agreement {number} are taken; unassign one before giving one to {email}"
                ),
            ));
        }
        self.tx
            .prepare_cached("INSERT INTO seats (product_id, member_id) VALUES (?1, ?2)")?
            .execute([product_id, member.id])?;
        Ok(Outcome::Done)
    }

    pub(super) fn seat_unassign(&self, number: &str, product: &str, email: &Email) -> Sql<Outcome> {
        let removed = self
            .tx
            .prepare_cached(
                "DELETE FROM seats WHERE
                   product_id = (SELECT p.id FROM products p JOIN agreements a ON a.id = p.agreement_id
                                 WHERE a.number = ?1 AND p.name = ?2)
                   AND member_id = (SELECT id FROM members WHERE email = ?3)",
            )?
            .execute(params![number, product, email.as_str()])?;
        Ok(done_if(removed > 0))
    }

    pub(super) fn cloud_service_assign(
        &self,
        number: &str,
        service: &str,
        email: &Email,
    ) -> Sql<Outcome> {
        let Some(agreement) = self.agreement(number)? else {
            return Ok(unknown_agreement(number));
        };
        let member = match self.assignable(email, &format!("cloud service {service}"))? {
            Ok(member) => member,
            Err(refusal) => return Ok(refusal),
        };
        let service_id: Option<i64> = self
            .tx
            .prepare_cached("SELECT id FROM cloud_services WHERE agreement_id = ?1 AND name = ?2")?
            .query_row(params![agreement.id, service], |row| row.get(0))
            .optional()?;
        let service_id = if let Some(id) = service_id {
            if let Err(answer) = self.cloud_service_room(id, number, service, email, member.id)? {
                return Ok(answer);
            }
            id
        } else {
            // A service is recorded on the agreement from its first user on.
            self.tx
                .prepare_cached("INSERT INTO cloud_services (agreement_id, name) VALUES (?1, ?2)")?
                .execute(params![agreement.id, service])?;
            self.tx.last_insert_rowid()
        };
        self.tx
            .prepare_cached(
                "INSERT INTO cloud_service_users (service_id, member_id) VALUES (?1, ?2)",
            )?
            .execute([service_id, member.id])?;
        Ok(Outcome::Done)
    }

    /// Whether `member_id` can join the existing service `id`: `Err` holds the answer
    /// when not (already there, or R05: three users already).
    pub(super) fn cloud_service_room(
        &self,
        id: i64,
        number: &str,
        service: &str,
        email: &Email,
        member_id: i64,
    ) -> Checked<()> {
        if self.exists(
            "SELECT 1 FROM cloud_service_users WHERE service_id = ?1 AND member_id = ?2",
            id,
            member_id,
        )? {
            return Ok(Err(Outcome::AlreadySo));
        }
        let users = self.count(
            "SELECT count(*) FROM cloud_service_users WHERE service_id = ?1",
            id,
        )?;
        if users >= MAX_CLOUD_SERVICE_USERS {
            return Ok(Err(Outcome::refused(
                Code::R05,
                format!(
                    "cloud service {service} on agreement {number} already has {MAX_CLOUD_SERVICE_USERS} members (the most allowed); unassign one before adding {email}"
                ),
            )));
        }
        Ok(Ok(()))
    }

    pub(super) fn cloud_service_unassign(
        &self,
        number: &str,
        service: &str,
        email: &Email,
    ) -> Sql<Outcome> {
        let removed = self
            .tx
            .prepare_cached(
                "DELETE FROM cloud_service_users WHERE
                   service_id = (SELECT s.id FROM cloud_services s JOIN agreements a ON a.id = s.agreement_id
                                 WHERE a.number = ?1 AND s.name = ?2)
                   AND member_id = (SELECT id FROM members WHERE email = ?3)",
            )?
            .execute(params![number, service, email.as_str()])?;
        Ok(done_if(removed > 0))
    }

    pub(super) fn support_assign(&self, number: &str, email: &Email) -> Sql<Outcome> {
        let Some(agreement) = self.agreement(number)? else {
            return Ok(unknown_agreement(number));
        };
        let member = match self.assignable(email, "support benefits")? {
            Ok(member) => member,
            Err(refusal) => return Ok(refusal),
        };
        if self.exists(
            "SELECT 1 FROM support WHERE agreement_id = ?1 AND member_id = ?2",
            agreement.id,
            member.id,
        )? {
            return Ok(Outcome::AlreadySo);
        }
        let licences = self.licences(agreement.id)?;
        let members = self.count(
            "SELECT count(*) FROM support WHERE agreement_id = ?1",
            agreement.id,
        )?;
        if members >= SUPPORT_PER_LICENCE * licences {
            return Ok(Outcome::refused(
                Code::R06,
                format!(
                    "agreement {number} has {licences} licences, so at most {} members may have support; cannot add {email}",
                    SUPPORT_PER_LICENCE * licences
                ),
            ));
        }
        self.tx
            .prepare_cached("INSERT INTO support (agreement_id, member_id) VALUES (?1, ?2)")?
            .execute([agreement.id, member.id])?;
        Ok(Outcome::Done)
    }

    pub(super) fn support_unassign(&self, number: &str, email: &Email) -> Sql<Outcome> {
        let removed = self
            .tx
            .prepare_cached(
                "DELETE FROM support WHERE
                   agreement_id = (SELECT id FROM agreements WHERE number = ?1)
                   AND member_id = (SELECT id FROM members WHERE email = ?2)",
            )?
            .execute(params![number, email.as_str()])?;
        Ok(done_if(removed > 0))
    }

    /// A member who may be given something: in the account and not inactive (R07).
    pub(super) fn assignable(&self, email: &Email, what: &str) -> Checked<MemberRow> {
        Ok(match self.member(email)? {
            None => Err(Outcome::refused(
                Code::R07,
                format!(
                    "cannot give {what} to {email}: not a member of the account; invite them first"
                ),
            )),
            Some(m) if m.status.is_inactive() => Err(Outcome::refused(
                Code::R07,
                format!("cannot give {what} to {email}: the member is inactive"),
            )),
            Some(m) => Ok(m),
        })
    }
}
