//! Seeding the store with a whole [`State`] at once (tests, benchmarks, demos).
//!
//! This is raw seeding, not the vendor's behaviour: it writes what it is given,
//! backend-owned facts included (status, invitation dates, sign-ins), and checks only
//! that every name refers to something in the state. Rules R02-R11 are not checked,
//! so a test can set up drift or a broken account on purpose. One transaction with
//! prepared statements: 50,000 members take well under a second in a release build.

use rusqlite::{Transaction, params};
use rustc_hash::FxHashMap;

use super::codec;
use crate::state::{Email, State};

/// A failure while importing: the engine's, or a state that refers to unknown names.
pub(super) enum ImportError {
    Sql(rusqlite::Error),
    Invalid(String),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

type Result<T> = std::result::Result<T, ImportError>;

/// Tables holding the account, children before parents.
const ACCOUNT_TABLES: [&str; 19] = [
    "team_seats",
    "team_pools",
    "team_users",
    "teams",
    "project_member_products",
    "project_members",
    "projects",
    "support",
    "cloud_service_users",
    "cloud_services",
    "seats",
    "products",
    "agreements",
    "external_subscriptions",
    "member_access",
    "members",
    "role_access",
    "roles",
    "companies",
];

/// Replaces the account's content (not its history or lock) with `state`.
pub(super) fn replace(tx: &Transaction<'_>, state: &State) -> Result<()> {
    for table in ACCOUNT_TABLES {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    tx.execute(
        "UPDATE account SET account_id = ?1, name = ?2 WHERE singleton = 1",
        params![state.account.id, state.account.name],
    )?;
    let companies = companies(tx, state)?;
    let roles = roles(tx, state)?;
    let members = members(tx, state, &companies, &roles)?;
    agreements(tx, state, &members)?;
    projects(tx, state, &members)?;
    teams(tx, state, &members)?;
    Ok(())
}

fn companies<'s>(tx: &Transaction<'_>, state: &'s State) -> Result<FxHashMap<&'s str, i64>> {
    let mut insert = tx.prepare("INSERT INTO companies (name, trade) VALUES (?1, ?2)")?;
    let mut ids = FxHashMap::default();
    for (name, company) in &state.companies {
        insert.execute(params![name, company.trade])?;
        ids.insert(name.as_str(), tx.last_insert_rowid());
    }
    Ok(ids)
}

fn roles<'s>(tx: &Transaction<'_>, state: &'s State) -> Result<FxHashMap<&'s str, i64>> {
    let mut insert = tx.prepare("INSERT INTO roles (name) VALUES (?1)")?;
    let mut access = tx.prepare("INSERT INTO role_access (role_id, level) VALUES (?1, ?2)")?;
    let mut ids = FxHashMap::default();
    for (name, role) in &state.roles {
        insert.execute([name])?;
        let id = tx.last_insert_rowid();
        for &level in &role.default_access {
            access.execute(params![id, codec::access_to_str(level)])?;
        }
        ids.insert(name.as_str(), id);
    }
    Ok(ids)
}

fn members<'s>(
    tx: &Transaction<'_>,
    state: &'s State,
    companies: &FxHashMap<&str, i64>,
    roles: &FxHashMap<&str, i64>,
) -> Result<FxHashMap<&'s Email, i64>> {
    let mut insert = tx.prepare(
        "INSERT INTO members (email, first_name, last_name, company_id, role_id, status, invited_at, signed_in)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut access = tx.prepare("INSERT INTO member_access (member_id, level) VALUES (?1, ?2)")?;
    let mut external =
        tx.prepare("INSERT INTO external_subscriptions (member_id, product) VALUES (?1, ?2)")?;
    let mut ids = FxHashMap::default();
    for (email, member) in &state.members {
        let company = reference(companies, member.company.as_deref(), "company", email)?;
        let role = reference(roles, member.role.as_deref(), "role", email)?;
        insert.execute(params![
            email.as_str(),
            member.first_name,
            member.last_name,
            company,
            role,
            codec::status_to_str(member.status),
            member.invited_at,
            member.signed_in
        ])?;
        let id = tx.last_insert_rowid();
        for &level in &member.access {
            access.execute(params![id, codec::access_to_str(level)])?;
        }
        for product in &member.external_subscriptions {
            external.execute(params![id, product])?;
        }
        ids.insert(email, id);
    }
    Ok(ids)
}

/// The id of the company or role `name`, which must be in the state.
fn reference(
    ids: &FxHashMap<&str, i64>,
    name: Option<&str>,
    what: &str,
    email: &Email,
) -> Result<Option<i64>> {
    name.map(|name| {
        ids.get(name).copied().ok_or_else(|| {
            ImportError::Invalid(format!(
                "member {email} has {what} `{name}`, which the state does not hold"
            ))
        })
    })
    .transpose()
}

fn member_id(members: &FxHashMap<&Email, i64>, email: &Email, place: &str) -> Result<i64> {
    members.get(email).copied().ok_or_else(|| {
        ImportError::Invalid(format!(
            "{place} names {email}, who is not a member in the state"
        ))
    })
}

fn agreements(tx: &Transaction<'_>, state: &State, members: &FxHashMap<&Email, i64>) -> Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO agreements (number, name, contract_manager_id, software_coordinator_id)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut product_insert =
        tx.prepare("INSERT INTO products (agreement_id, name, seats) VALUES (?1, ?2, ?3)")?;
    let mut seat = tx.prepare("INSERT INTO seats (product_id, member_id) VALUES (?1, ?2)")?;
    let mut service_insert =
        tx.prepare("INSERT INTO cloud_services (agreement_id, name) VALUES (?1, ?2)")?;
    let mut service_user =
        tx.prepare("INSERT INTO cloud_service_users (service_id, member_id) VALUES (?1, ?2)")?;
    let mut support =
        tx.prepare("INSERT INTO support (agreement_id, member_id) VALUES (?1, ?2)")?;
    for (number, agreement) in &state.agreements {
        let place = format!("agreement {number}");
        let manager = member_id(members, &agreement.contract_manager, &place)?;
        let coordinator = member_id(members, &agreement.software_coordinator, &place)?;
        insert.execute(params![number, agreement.name, manager, coordinator])?;
        let agreement_id = tx.last_insert_rowid();
        for (name, product) in &agreement.products {
            // A state made from a configuration may leave a count undeclared: the
            // smallest count that state is consistent with is the number assigned.
            let seats = product
                .seats
                .unwrap_or_else(|| u32::try_from(product.assigned.len()).unwrap_or(u32::MAX));
            product_insert.execute(params![agreement_id, name, seats])?;
            let product_id = tx.last_insert_rowid();
            for email in &product.assigned {
                seat.execute([product_id, member_id(members, email, &place)?])?;
            }
        }
        for (name, users) in &agreement.cloud_services {
            service_insert.execute(params![agreement_id, name])?;
            let service_id = tx.last_insert_rowid();
            for email in users {
                service_user.execute([service_id, member_id(members, email, &place)?])?;
            }
        }
        for email in &agreement.support {
            support.execute([agreement_id, member_id(members, email, &place)?])?;
        }
    }
    Ok(())
}

fn projects(tx: &Transaction<'_>, state: &State, members: &FxHashMap<&Email, i64>) -> Result<()> {
    let mut insert = tx.prepare("INSERT INTO projects (name) VALUES (?1)")?;
    let mut member_insert = tx.prepare(
        "INSERT INTO project_members (project_id, member_id, access) VALUES (?1, ?2, ?3)",
    )?;
    let mut product = tx.prepare(
        "INSERT INTO project_member_products (project_id, member_id, product) VALUES (?1, ?2, ?3)",
    )?;
    for (name, project) in &state.projects {
        insert.execute([name])?;
        let project_id = tx.last_insert_rowid();
        let place = format!("project {name}");
        for (email, membership) in &project.members {
            let id = member_id(members, email, &place)?;
            member_insert.execute(params![
                project_id,
                id,
                codec::project_access_to_str(membership.access)
            ])?;
            for &p in &membership.products {
                product.execute(params![project_id, id, codec::product_to_str(p)])?;
            }
        }
    }
    Ok(())
}

fn teams(tx: &Transaction<'_>, state: &State, members: &FxHashMap<&Email, i64>) -> Result<()> {
    let mut insert = tx.prepare("INSERT INTO teams (team_id, name) VALUES (?1, ?2)")?;
    let mut user = tx.prepare("INSERT INTO team_users (team_id, member_id) VALUES (?1, ?2)")?;
    let mut pool =
        tx.prepare("INSERT INTO team_pools (team_id, product, seats) VALUES (?1, ?2, ?3)")?;
    let mut seat = tx.prepare(
        "INSERT OR REPLACE INTO team_seats (pool_id, member_id, inherited) VALUES (?1, ?2, ?3)",
    )?;
    for (id, team) in &state.teams {
        insert.execute(params![id, team.name])?;
        let team_row = tx.last_insert_rowid();
        let place = format!("team {id}");
        for email in &team.users {
            user.execute(params![team_row, member_id(members, email, &place)?])?;
        }
        for (product, state) in &team.pools {
            // The store's pools are always limited and current.
            pool.execute(params![team_row, product, state.seats.unwrap_or(0)])?;
            let pool_row = tx.last_insert_rowid();
            let place = format!("team {id} pool {product}");
            for (emails, inherited) in [(&state.direct, false), (&state.inherited, true)] {
                for email in emails {
                    seat.execute(params![
                        pool_row,
                        member_id(members, email, &place)?,
                        inherited
                    ])?;
                }
            }
        }
    }
    Ok(())
}
