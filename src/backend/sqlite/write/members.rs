//! Members: invitations (`not_invited` until there is something to invite them to),
//! updates, activation, deactivation and removal with their cascades (R07, R09-R11).

use rusqlite::params;

use super::{
    Checked, MemberRow, RecordRefs, Sql, Writer, parse_access, unknown_company, unknown_member,
    unknown_role,
};
use crate::backend::sqlite::codec;
use crate::contract::MemberRecord;
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::invitation_expired;
use crate::state::{AccessLevel, Email, MemberStatus};

impl Writer<'_, '_> {
    /// Adds a member: `inactive` adds them inactive from the start (no invitation,
    /// nothing held); otherwise pending (invited) when they have an access level, and
    /// `not_invited` until they get one or a project.
    pub(super) fn member_invite(
        &self,
        email: &Email,
        record: &MemberRecord,
        inactive: bool,
    ) -> Sql<Outcome> {
        if let Some(existing) = self.member(email)? {
            let same = &self.member_record(existing.id)? == record
                && existing.status.is_inactive() == inactive;
            return Ok(if same {
                Outcome::AlreadySo
            } else {
                Outcome::refused_plain(format!(
                    "{email} is already a member of the account ({}), with another record; run `accord plan` again to update it",
                    codec::status_to_str(existing.status)
                ))
            });
        }
        let (company_id, role_id) = match self.record_references(record)? {
            Ok(ids) => ids,
            Err(refusal) => return Ok(refusal),
        };
        // Inactive from the start: no invitation. No access level and no project
        // yet: in the account, but not invited.
        let (status, invited_at) = if inactive {
            (MemberStatus::Inactive, None)
        } else if record.access.is_empty() {
            (MemberStatus::NotInvited, None)
        } else {
            (MemberStatus::Pending, Some(self.now))
        };
        self.tx
            .prepare_cached(
                "INSERT INTO members (email, first_name, last_name, company_id, role_id, status, invited_at, signed_in)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            )?
            .execute(params![
                email.as_str(),
                record.first_name,
                record.last_name,
                company_id,
                role_id,
                codec::status_to_str(status),
                invited_at
            ])?;
        let id = self.tx.last_insert_rowid();
        self.set_member_sets(id, record)?;
        Ok(Outcome::Done)
    }

    pub(super) fn member_update(&self, email: &Email, record: &MemberRecord) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(unknown_member(email));
        };
        if &self.member_record(member.id)? == record {
            return Ok(Outcome::AlreadySo);
        }
        let (company_id, role_id) = match self.record_references(record)? {
            Ok(ids) => ids,
            Err(refusal) => return Ok(refusal),
        };
        if !record.access.contains(&AccessLevel::AccountAdmin) {
            if let Some(refusal) =
                self.last_admin_check(member, email, "take account_admin from")?
            {
                return Ok(refusal);
            }
        }
        self.tx
            .prepare_cached(
                "UPDATE members SET first_name = ?2, last_name = ?3, company_id = ?4, role_id = ?5 WHERE id = ?1",
            )?
            .execute(params![member.id, record.first_name, record.last_name, company_id, role_id])?;
        self.tx
            .prepare_cached("DELETE FROM member_access WHERE member_id = ?1")?
            .execute([member.id])?;
        self.tx
            .prepare_cached("DELETE FROM external_subscriptions WHERE member_id = ?1")?
            .execute([member.id])?;
        self.set_member_sets(member.id, record)?;
        if member.status == MemberStatus::NotInvited && !record.access.is_empty() {
            self.send_invitation(member.id)?;
        }
        Ok(Outcome::Done)
    }

    pub(super) fn member_activate(&self, email: &Email) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(unknown_member(email));
        };
        if member.status != MemberStatus::Inactive {
            return Ok(Outcome::AlreadySo);
        }
        let signed_in: bool = self
            .tx
            .prepare_cached("SELECT signed_in FROM members WHERE id = ?1")?
            .query_row([member.id], |row| row.get(0))?;
        let has_access = self.count(
            "SELECT count(*) FROM member_access WHERE member_id = ?1",
            member.id,
        )? > 0;
        // Someone who signed in before comes straight back; anyone else is invited
        // (again) if they have something to be invited to.
        if signed_in {
            self.set_status(member.id, MemberStatus::Active)?;
        } else if has_access {
            self.send_invitation(member.id)?;
        } else {
            self.set_status(member.id, MemberStatus::NotInvited)?;
        }
        Ok(Outcome::Done)
    }

    pub(super) fn member_deactivate(&self, email: &Email) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(unknown_member(email));
        };
        if member.status.is_inactive() {
            return Ok(Outcome::AlreadySo);
        }
        if let Some(refusal) = self.exit_checks(member, email, "deactivate")? {
            return Ok(refusal);
        }
        self.free_everything(member.id)?;
        self.set_status(member.id, MemberStatus::Inactive)?;
        Ok(Outcome::Done)
    }

    pub(super) fn member_remove(&self, email: &Email) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(Outcome::AlreadySo);
        };
        if let Some(refusal) = self.exit_checks(member, email, "remove")? {
            return Ok(refusal);
        }
        // Seats, services, support, projects, access and external subscriptions go
        // with the member (ON DELETE CASCADE); the person's own login is not ours.
        self.tx
            .prepare_cached("DELETE FROM members WHERE id = ?1")?
            .execute([member.id])?;
        Ok(Outcome::Done)
    }

    pub(super) fn member_resend_invite(&self, email: &Email) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(unknown_member(email));
        };
        match member.status {
            MemberStatus::Active => Ok(Outcome::AlreadySo),
            MemberStatus::Inactive => Ok(Outcome::refused(
                Code::R07,
                format!("{email} is inactive; activate them before inviting them again"),
            )),
            MemberStatus::NotInvited => Ok(Outcome::refused_plain(format!(
                "no invitation has been sent to {email} yet: it goes out when they get an access level or join a project"
            ))),
            MemberStatus::Pending => {
                self.send_invitation(member.id)?;
                Ok(Outcome::Done)
            }
        }
    }

    /// Marks an invited member as having accepted (signed in): active, never expires.
    pub(in crate::backend::sqlite) fn accept_invitation(&self, email: &Email) -> Sql<Outcome> {
        let Some(member) = self.member(email)? else {
            return Ok(unknown_member(email));
        };
        match member.status {
            MemberStatus::Active => Ok(Outcome::AlreadySo),
            MemberStatus::Inactive => Ok(Outcome::refused(
                Code::R07,
                format!("{email} is inactive; activate them before they can sign in"),
            )),
            MemberStatus::NotInvited => Ok(Outcome::refused_plain(format!(
                "{email} has not been invited yet: give them an access level or add them to a project"
            ))),
            MemberStatus::Pending if invitation_expired(member.invited_at, self.now) => {
                Ok(Outcome::refused_plain(format!(
                    "the invitation sent to {email} at {} (Unix time) has expired; re-send it (member.resend_invite)",
                    member.invited_at.unwrap_or_default()
                )))
            }
            MemberStatus::Pending => {
                self.tx
                    .prepare_cached(
                        "UPDATE members SET status = 'active', signed_in = 1 WHERE id = ?1",
                    )?
                    .execute([member.id])?;
                Ok(Outcome::Done)
            }
        }
    }

    /// R11 then R10, for a removal or a deactivation.
    pub(super) fn exit_checks(
        &self,
        member: MemberRow,
        email: &Email,
        verb: &str,
    ) -> Sql<Option<Outcome>> {
        let mut held = Vec::new();
        let mut stmt = self.tx.prepare_cached(
            "SELECT number, contract_manager_id = ?1, software_coordinator_id = ?1 FROM agreements
             WHERE contract_manager_id = ?1 OR software_coordinator_id = ?1 ORDER BY number",
        )?;
        let mut rows = stmt.query([member.id])?;
        while let Some(row) = rows.next()? {
            let number: String = row.get(0)?;
            if row.get::<_, bool>(1)? {
                held.push(format!("contract manager of agreement {number}"));
            }
            if row.get::<_, bool>(2)? {
                held.push(format!("software coordinator of agreement {number}"));
            }
        }
        if !held.is_empty() {
            return Ok(Some(Outcome::refused(
                Code::R11,
                format!(
                    "cannot {verb} {email}: they are the {}; transfer the role first",
                    held.join(" and the ")
                ),
            )));
        }
        self.last_admin_check(member, email, verb)
    }

    /// R10: refuses to leave the account without a non-inactive admin.
    pub(super) fn last_admin_check(
        &self,
        member: MemberRow,
        email: &Email,
        verb: &str,
    ) -> Sql<Option<Outcome>> {
        if member.status.is_inactive() || !self.is_admin(member.id)? {
            return Ok(None);
        }
        let others = self.count(
            "SELECT count(*) FROM member_access a JOIN members m ON m.id = a.member_id
             WHERE a.level = 'account_admin' AND m.status <> 'inactive' AND m.id <> ?1",
            member.id,
        )?;
        Ok((others == 0).then(|| {
            Outcome::refused(
                Code::R10,
                format!(
                    "cannot {verb} {email}: they are the account's last admin who is not inactive; give account_admin to someone else first"
                ),
            )
        }))
    }

    /// What a deactivation frees (a removal frees it by cascade).
    pub(super) fn free_everything(&self, member_id: i64) -> Sql<()> {
        for sql in [
            "DELETE FROM seats WHERE member_id = ?1",
            "DELETE FROM cloud_service_users WHERE member_id = ?1",
            "DELETE FROM support WHERE member_id = ?1",
            "DELETE FROM project_members WHERE member_id = ?1",
            // An inactive member holds no team seat and is on no team (R07).
            "DELETE FROM team_seats WHERE member_id = ?1",
            "DELETE FROM team_users WHERE member_id = ?1",
        ] {
            self.tx.prepare_cached(sql)?.execute([member_id])?;
        }
        Ok(())
    }

    pub(super) fn send_invitation(&self, member_id: i64) -> Sql<()> {
        self.tx
            .prepare_cached("UPDATE members SET status = 'pending', invited_at = ?2 WHERE id = ?1")?
            .execute(params![member_id, self.now])?;
        Ok(())
    }

    pub(super) fn set_status(&self, member_id: i64, status: MemberStatus) -> Sql<()> {
        self.tx
            .prepare_cached("UPDATE members SET status = ?2 WHERE id = ?1")?
            .execute(params![member_id, codec::status_to_str(status)])?;
        Ok(())
    }

    /// The ids of the record's company and role, or the R09 refusal naming the missing one.
    pub(super) fn record_references(&self, record: &MemberRecord) -> Checked<RecordRefs> {
        let company = match &record.company {
            None => None,
            Some(name) => match self.company(name)? {
                Some((id, _)) => Some(id),
                None => return Ok(Err(unknown_company(name))),
            },
        };
        let role = match &record.role {
            None => None,
            Some(name) => match self.role_id(name)? {
                Some(id) => Some(id),
                None => return Ok(Err(unknown_role(name))),
            },
        };
        Ok(Ok((company, role)))
    }

    pub(super) fn set_member_sets(&self, id: i64, record: &MemberRecord) -> Sql<()> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT INTO member_access (member_id, level) VALUES (?1, ?2)")?;
        for &level in &record.access {
            insert.execute(params![id, codec::access_to_str(level)])?;
        }
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO external_subscriptions (member_id, product) VALUES (?1, ?2)",
        )?;
        for product in &record.external_subscriptions {
            insert.execute(params![id, product])?;
        }
        Ok(())
    }

    /// The member's record as an invite or update would set it.
    pub(super) fn member_record(&self, id: i64) -> Sql<MemberRecord> {
        let mut record = self
            .tx
            .prepare_cached(
                "SELECT m.first_name, m.last_name, c.name, r.name FROM members m
                 LEFT JOIN companies c ON c.id = m.company_id
                 LEFT JOIN roles r ON r.id = m.role_id
                 WHERE m.id = ?1",
            )?
            .query_row([id], |row| {
                Ok(MemberRecord {
                    first_name: row.get(0)?,
                    last_name: row.get(1)?,
                    company: row.get(2)?,
                    role: row.get(3)?,
                    ..MemberRecord::default()
                })
            })?;
        let mut stmt = self
            .tx
            .prepare_cached("SELECT level FROM member_access WHERE member_id = ?1")?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            record
                .access
                .insert(parse_access(&row.get::<_, String>(0)?)?);
        }
        let mut stmt = self
            .tx
            .prepare_cached("SELECT product FROM external_subscriptions WHERE member_id = ?1")?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            record.external_subscriptions.insert(row.get(0)?);
        }
        Ok(record)
    }
}
