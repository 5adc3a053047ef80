//! Projects and their members (R07-R09).

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};

use super::{Checked, MemberRow, Sql, Writer, bad_text, done_if};
use crate::backend::sqlite::codec;
use crate::contract::Outcome;
use crate::diagnostic::Code;
use crate::state::{Email, MemberStatus, ProjectAccess, ProjectProduct};

impl Writer<'_, '_> {
    pub(super) fn project_create(&self, name: &str) -> Sql<Outcome> {
        let inserted = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO projects (name) VALUES (?1)")?
            .execute([name])?;
        Ok(done_if(inserted > 0))
    }

    pub(super) fn project_member_add(
        &self,
        project: &str,
        email: &Email,
        access: ProjectAccess,
        products: &BTreeSet<ProjectProduct>,
    ) -> Sql<Outcome> {
        let (project_id, member) = match self.project_member_target(project, email, products)? {
            Ok(found) => found,
            Err(refusal) => return Ok(refusal),
        };
        if let Some(current) = self.project_membership(project_id, member.id)? {
            return Ok(if current == (access, products.clone()) {
                Outcome::AlreadySo
            } else {
                Outcome::refused_plain(format!(
                    "{email} is already on project {project} with other access or products; run `accord plan` again to update them"
                ))
            });
        }
        self.tx
            .prepare_cached(
                "INSERT INTO project_members (project_id, member_id, access) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                project_id,
                member.id,
                codec::project_access_to_str(access)
            ])?;
        self.set_project_products(project_id, member.id, products)?;
        if member.status == MemberStatus::NotInvited {
            self.send_invitation(member.id)?;
        }
        Ok(Outcome::Done)
    }

    pub(super) fn project_member_update(
        &self,
        project: &str,
        email: &Email,
        access: ProjectAccess,
        products: &BTreeSet<ProjectProduct>,
    ) -> Sql<Outcome> {
        let (project_id, member) = match self.project_member_target(project, email, products)? {
            Ok(found) => found,
            Err(refusal) => return Ok(refusal),
        };
        let Some(current) = self.project_membership(project_id, member.id)? else {
            return Ok(Outcome::refused(
                Code::R07,
                format!("{email} is not on project {project}; add them (project_member.add)"),
            ));
        };
        if current == (access, products.clone()) {
            return Ok(Outcome::AlreadySo);
        }
        self.tx
            .prepare_cached(
                "UPDATE project_members SET access = ?3 WHERE project_id = ?1 AND member_id = ?2",
            )?
            .execute(params![
                project_id,
                member.id,
                codec::project_access_to_str(access)
            ])?;
        self.tx
            .prepare_cached(
                "DELETE FROM project_member_products WHERE project_id = ?1 AND member_id = ?2",
            )?
            .execute([project_id, member.id])?;
        self.set_project_products(project_id, member.id, products)?;
        Ok(Outcome::Done)
    }

    pub(super) fn project_member_remove(&self, project: &str, email: &Email) -> Sql<Outcome> {
        let removed = self
            .tx
            .prepare_cached(
                "DELETE FROM project_members WHERE
                   project_id = (SELECT id FROM projects WHERE name = ?1)
                   AND member_id = (SELECT id FROM members WHERE email = ?2)",
            )?
            .execute(params![project, email.as_str()])?;
        Ok(done_if(removed > 0))
    }

    /// The project and member of a project-member add or update, checked (R09, R07, R08).
    pub(super) fn project_member_target(
        &self,
        project: &str,
        email: &Email,
        products: &BTreeSet<ProjectProduct>,
    ) -> Checked<(i64, MemberRow)> {
        let Some(project_id) =
            self.id_by_name("SELECT id FROM projects WHERE name = ?1", project)?
        else {
            return Ok(Err(Outcome::refused(
                Code::R09,
                format!("project {project} does not exist; create it first (project.create)"),
            )));
        };
        let member = match self.assignable(email, &format!("a place on project {project}"))? {
            Ok(member) => member,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if !products.contains(&ProjectProduct::Docs) {
            return Ok(Err(Outcome::refused(
                Code::R08,
                format!(
                    "{email} on project {project} would not have docs: a project member always has docs; turning docs off removes the person from the project (project_member.remove)"
                ),
            )));
        }
        Ok(Ok((project_id, member)))
    }

    pub(super) fn project_membership(
        &self,
        project_id: i64,
        member_id: i64,
    ) -> Sql<Option<(ProjectAccess, BTreeSet<ProjectProduct>)>> {
        let access: Option<String> = self
            .tx
            .prepare_cached(
                "SELECT access FROM project_members WHERE project_id = ?1 AND member_id = ?2",
            )?
            .query_row([project_id, member_id], |row| row.get(0))
            .optional()?;
        let Some(access) = access else {
            return Ok(None);
        };
        let access = codec::project_access_from_str(&access)
            .ok_or_else(|| bad_text("project access", &access))?;
        let mut products = BTreeSet::new();
        let mut stmt = self.tx.prepare_cached(
            "SELECT product FROM project_member_products WHERE project_id = ?1 AND member_id = ?2",
        )?;
        let mut rows = stmt.query([project_id, member_id])?;
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            products.insert(
                codec::product_from_str(&text).ok_or_else(|| bad_text("project product", &text))?,
            );
        }
        Ok(Some((access, products)))
    }

    pub(super) fn set_project_products(
        &self,
        project_id: i64,
        member_id: i64,
        products: &BTreeSet<ProjectProduct>,
    ) -> Sql<()> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO project_member_products (project_id, member_id, product) VALUES (?1, ?2, ?3)",
        )?;
        for &product in products {
            insert.execute(params![
                project_id,
                member_id,
                codec::product_to_str(product)
            ])?;
        }
        Ok(())
    }
}
