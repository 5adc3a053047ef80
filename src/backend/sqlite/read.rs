//! Reading the whole account back as a [`State`], fast enough for 50,000 members.
//!
//! Each table is read once, in key order, with rows joined in memory through an
//! id -> index map rather than one query per member: a fetch is a handful of table
//! scans whatever the account's size.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Transaction;
use rustc_hash::FxHashMap;

use super::codec;
use crate::contract::BackendError;
use crate::state::{
    AccountInfo, AgreementState, CompanyState, Email, MemberState, PoolState, ProductState,
    ProjectMemberState, ProjectProduct, ProjectState, RoleState, State, TeamState,
};

/// Reads the state and its revision inside `tx` (so both belong to the same moment).
pub(super) fn load(
    tx: &Transaction<'_>,
    path: &Path,
) -> std::result::Result<(State, u64), BackendError> {
    let reader = Reader { tx };
    reader.read().map_err(|e| match e {
        ReadError::Sql(e) => super::storage_error(path, &e),
        ReadError::Bad(detail) => BackendError::Corrupt {
            path: path.to_owned(),
            detail,
        },
    })
}

/// A failure while reading: the engine's, or a row accord cannot make sense of.
enum ReadError {
    Sql(rusqlite::Error),
    Bad(String),
}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

type Result<T> = std::result::Result<T, ReadError>;

/// Reads one table after the other.
struct Reader<'a, 'c> {
    tx: &'a Transaction<'c>,
}

/// Members being assembled, by row id.
struct Members {
    rows: Vec<(Email, MemberState)>,
    index: FxHashMap<i64, usize>,
}

impl Members {
    fn email(&self, id: i64) -> Result<&Email> {
        self.index
            .get(&id)
            .map(|&i| &self.rows[i].0)
            .ok_or_else(|| {
                ReadError::Bad(format!(
                    "a row refers to member #{id}, which does not exist"
                ))
            })
    }
}

impl Reader<'_, '_> {
    fn read(&self) -> Result<(State, u64)> {
        let (account, revision) = self.account()?;
        let companies = self.names("SELECT id, name FROM companies")?;
        let roles = self.names("SELECT id, name FROM roles")?;
        let mut members = self.members(&companies, &roles)?;
        self.member_sets(&mut members)?;
        let agreements = self.agreements(&members)?;
        let projects = self.projects(&members)?;
        let teams = self.teams(&members)?;
        let state = State {
            account,
            companies: self.companies()?,
            roles: self.roles(&roles)?,
            members: members.rows.into_iter().collect(),
            agreements,
            projects,
            teams,
        };
        Ok((state, revision))
    }

    fn account(&self) -> Result<(AccountInfo, u64)> {
        let (id, name, revision): (String, String, i64) = self.tx.query_row(
            "SELECT account_id, name, revision FROM account WHERE singleton = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        let revision = u64::try_from(revision)
            .map_err(|_| ReadError::Bad(format!("negative revision {revision}")))?;
        Ok((AccountInfo { id, name }, revision))
    }

    /// An id -> name map of a table with `id` and `name`.
    fn names(&self, sql: &str) -> Result<FxHashMap<i64, String>> {
        let mut stmt = self.tx.prepare(sql)?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn companies(&self) -> Result<BTreeMap<String, CompanyState>> {
        let mut stmt = self.tx.prepare("SELECT name, trade FROM companies")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get(0)?, CompanyState { trade: row.get(1)? }))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn roles(&self, names: &FxHashMap<i64, String>) -> Result<BTreeMap<String, RoleState>> {
        let mut roles: BTreeMap<String, RoleState> = names
            .values()
            .map(|name| (name.clone(), RoleState::default()))
            .collect();
        let mut stmt = self.tx.prepare("SELECT role_id, level FROM role_access")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let role_id: i64 = row.get(0)?;
            let level: String = row.get(1)?;
            let name = names
                .get(&role_id)
                .ok_or_else(|| ReadError::Bad(format!("access for unknown role #{role_id}")))?;
            let level = codec::access_from_str(&level)
                .ok_or_else(|| ReadError::Bad(format!("unknown access level `{level}`")))?;
            if let Some(role) = roles.get_mut(name) {
                role.default_access.insert(level);
            }
        }
        Ok(roles)
    }

    fn members(
        &self,
        companies: &FxHashMap<i64, String>,
        roles: &FxHashMap<i64, String>,
    ) -> Result<Members> {
        let mut stmt = self.tx.prepare(
            "SELECT id, email, first_name, last_name, company_id, role_id, status, invited_at, signed_in
             FROM members ORDER BY email",
        )?;
        let mut rows = stmt.query([])?;
        let mut members = Members {
            rows: Vec::new(),
            index: FxHashMap::default(),
        };
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let email: String = row.get(1)?;
            let lookup = |column: usize,
                          table: &FxHashMap<i64, String>,
                          what: &str|
             -> Result<Option<String>> {
                let Some(key) = row.get::<_, Option<i64>>(column)? else {
                    return Ok(None);
                };
                table.get(&key).cloned().map(Some).ok_or_else(|| {
                    ReadError::Bad(format!("member {email} has unknown {what} #{key}"))
                })
            };
            let status: String = row.get(6)?;
            let member = MemberState {
                first_name: row.get(2)?,
                last_name: row.get(3)?,
                company: lookup(4, companies, "company")?,
                role: lookup(5, roles, "role")?,
                access: BTreeSet::new(),
                status: codec::status_from_str(&status).ok_or_else(|| {
                    ReadError::Bad(format!("member {email} has unknown status `{status}`"))
                })?,
                external_subscriptions: BTreeSet::new(),
                invited_at: row.get(7)?,
                signed_in: row.get(8)?,
            };
            members.index.insert(id, members.rows.len());
            members.rows.push((Email::new(&email), member));
        }
        Ok(members)
    }

    /// Access levels and external subscriptions.
    fn member_sets(&self, members: &mut Members) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare("SELECT member_id, level FROM member_access")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, level): (i64, String) = (row.get(0)?, row.get(1)?);
            let level = codec::access_from_str(&level)
                .ok_or_else(|| ReadError::Bad(format!("unknown access level `{level}`")))?;
            let index = member_index(members, id)?;
            members.rows[index].1.access.insert(level);
        }
        let mut stmt = self
            .tx
            .prepare("SELECT member_id, product FROM external_subscriptions")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, product): (i64, String) = (row.get(0)?, row.get(1)?);
            let index = member_index(members, id)?;
            members.rows[index].1.external_subscriptions.insert(product);
        }
        Ok(())
    }

    fn agreements(&self, members: &Members) -> Result<BTreeMap<String, AgreementState>> {
        let mut by_id: FxHashMap<i64, (String, AgreementState)> = FxHashMap::default();
        let mut stmt = self.tx.prepare(
            "SELECT id, number, name, contract_manager_id, software_coordinator_id FROM agreements",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let agreement = AgreementState {
                name: row.get(2)?,
                contract_manager: members.email(row.get(3)?)?.clone(),
                software_coordinator: members.email(row.get(4)?)?.clone(),
                ..AgreementState::default()
            };
            by_id.insert(row.get(0)?, (row.get(1)?, agreement));
        }
        // Products, then seats through a product id -> (agreement, product) map.
        let mut products: FxHashMap<i64, (i64, String)> = FxHashMap::default();
        let mut stmt = self
            .tx
            .prepare("SELECT id, agreement_id, name, seats FROM products")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, agreement_id, name, seats): (i64, i64, String, u32) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            with_agreement(&mut by_id, agreement_id)?.products.insert(
                name.clone(),
                ProductState {
                    seats: Some(seats),
                    assigned: BTreeSet::new(),
                },
            );
            products.insert(id, (agreement_id, name));
        }
        let mut stmt = self.tx.prepare("SELECT product_id, member_id FROM seats")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (product_id, member_id): (i64, i64) = (row.get(0)?, row.get(1)?);
            let (agreement_id, name) = products.get(&product_id).ok_or_else(|| {
                ReadError::Bad(format!("a seat of unknown product #{product_id}"))
            })?;
            let email = members.email(member_id)?.clone();
            if let Some(product) = with_agreement(&mut by_id, *agreement_id)?
                .products
                .get_mut(name)
            {
                product.assigned.insert(email);
            }
        }
        self.cloud_services(&mut by_id, members)?;
        let mut stmt = self
            .tx
            .prepare("SELECT agreement_id, member_id FROM support")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (agreement_id, member_id): (i64, i64) = (row.get(0)?, row.get(1)?);
            let email = members.email(member_id)?.clone();
            with_agreement(&mut by_id, agreement_id)?
                .support
                .insert(email);
        }
        Ok(by_id.into_values().collect())
    }

    fn cloud_services(
        &self,
        by_id: &mut FxHashMap<i64, (String, AgreementState)>,
        members: &Members,
    ) -> Result<()> {
        let mut services: FxHashMap<i64, (i64, String)> = FxHashMap::default();
        let mut stmt = self
            .tx
            .prepare("SELECT id, agreement_id, name FROM cloud_services")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, agreement_id, name): (i64, i64, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            with_agreement(by_id, agreement_id)?
                .cloud_services
                .insert(name.clone(), BTreeSet::new());
            services.insert(id, (agreement_id, name));
        }
        let mut stmt = self
            .tx
            .prepare("SELECT service_id, member_id FROM cloud_service_users")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (service_id, member_id): (i64, i64) = (row.get(0)?, row.get(1)?);
            let (agreement_id, name) = services.get(&service_id).ok_or_else(|| {
                ReadError::Bad(format!("a user of unknown cloud service #{service_id}"))
            })?;
            let email = members.email(member_id)?.clone();
            if let Some(users) = with_agreement(by_id, *agreement_id)?
                .cloud_services
                .get_mut(name)
            {
                users.insert(email);
            }
        }
        Ok(())
    }

    fn projects(&self, members: &Members) -> Result<BTreeMap<String, ProjectState>> {
        let names = self.names("SELECT id, name FROM projects")?;
        let mut by_id: FxHashMap<i64, ProjectState> = names
            .keys()
            .map(|&id| (id, ProjectState::default()))
            .collect();
        // Both tables are clustered on (project_id, member_id): two scans in key order,
        // merged here. (A join in SQL is planned as one index search per project member
        // plus a sort for the grouping: four times slower on 150,000 memberships.)
        let mut products_stmt = self.tx.prepare(
            "SELECT project_id, member_id, product FROM project_member_products
             ORDER BY project_id, member_id",
        )?;
        let mut products = Products::new(products_stmt.query([])?)?;
        let mut stmt = self.tx.prepare(
            "SELECT project_id, member_id, access FROM project_members
             ORDER BY project_id, member_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let key: (i64, i64) = (row.get(0)?, row.get(1)?);
            let access: String = row.get(2)?;
            let email = members.email(key.1)?.clone();
            let access = codec::project_access_from_str(&access)
                .ok_or_else(|| ReadError::Bad(format!("unknown project access `{access}`")))?;
            let products = products.take(key)?;
            by_id
                .get_mut(&key.0)
                .ok_or_else(|| ReadError::Bad(format!("a member of unknown project #{}", key.0)))?
                .members
                .insert(email, ProjectMemberState { access, products });
        }
        Ok(by_id
            .into_iter()
            .map(|(id, project)| (names[&id].clone(), project))
            .collect())
    }
}

impl Reader<'_, '_> {
    /// Teams, their users, pools and seats: four table scans.
    fn teams(&self, members: &Members) -> Result<BTreeMap<String, TeamState>> {
        let mut stmt = self.tx.prepare("SELECT id, team_id, name FROM teams")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        let mut by_row: FxHashMap<i64, (String, TeamState)> = FxHashMap::default();
        for row in rows {
            let (row, id, name): (i64, String, String) = row?;
            let team = TeamState {
                name,
                ..TeamState::default()
            };
            by_row.insert(row, (id, team));
        }
        let mut stmt = self
            .tx
            .prepare("SELECT team_id, member_id FROM team_users")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let email = members.email(row.get(1)?)?.clone();
            team(&mut by_row, row.get(0)?)?.users.insert(email);
        }
        let mut pools: FxHashMap<i64, (i64, String)> = FxHashMap::default();
        let mut stmt = self
            .tx
            .prepare("SELECT id, team_id, product, seats FROM team_pools")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (pool, team_row, product): (i64, i64, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let seats: u32 = row.get(3)?;
            let pool_state = PoolState {
                seats: Some(seats),
                ..PoolState::default()
            };
            team(&mut by_row, team_row)?
                .pools
                .insert(product.clone(), pool_state);
            pools.insert(pool, (team_row, product));
        }
        let mut stmt = self
            .tx
            .prepare("SELECT pool_id, member_id, inherited FROM team_seats")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let pool: i64 = row.get(0)?;
            let (team_row, product) = pools
                .get(&pool)
                .ok_or_else(|| ReadError::Bad(format!("a seat of unknown team pool #{pool}")))?;
            let email = members.email(row.get(1)?)?.clone();
            let inherited: bool = row.get(2)?;
            let pool_state = team(&mut by_row, *team_row)?
                .pools
                .get_mut(product)
                .ok_or_else(|| ReadError::Bad(format!("a seat of unknown team pool #{pool}")))?;
            if inherited {
                pool_state.inherited.insert(email);
            } else {
                pool_state.direct.insert(email);
            }
        }
        Ok(by_row.into_values().collect())
    }
}

/// The team of row id `row`, being assembled.
fn team(by_row: &mut FxHashMap<i64, (String, TeamState)>, row: i64) -> Result<&mut TeamState> {
    by_row
        .get_mut(&row)
        .map(|(_, team)| team)
        .ok_or_else(|| ReadError::Bad(format!("a row refers to team #{row}, which does not exist")))
}

fn member_index(members: &Members, id: i64) -> Result<usize> {
    members.index.get(&id).copied().ok_or_else(|| {
        ReadError::Bad(format!(
            "a row refers to member #{id}, which does not exist"
        ))
    })
}

fn with_agreement(
    by_id: &mut FxHashMap<i64, (String, AgreementState)>,
    id: i64,
) -> Result<&mut AgreementState> {
    by_id
        .get_mut(&id)
        .map(|(_, agreement)| agreement)
        .ok_or_else(|| {
            ReadError::Bad(format!(
                "a row refers to agreement #{id}, which does not exist"
            ))
        })
}

/// The project members' products, read in (project, member) order alongside the
/// project members themselves (see [`Reader::projects`]).
struct Products<'s> {
    rows: rusqlite::Rows<'s>,
    /// The next row not taken yet: its (project, member) key and the product.
    next: Option<((i64, i64), String)>,
}

impl<'s> Products<'s> {
    fn new(rows: rusqlite::Rows<'s>) -> Result<Self> {
        let mut products = Self { rows, next: None };
        products.advance()?;
        Ok(products)
    }

    fn advance(&mut self) -> Result<()> {
        self.next = match self.rows.next()? {
            Some(row) => Some(((row.get(0)?, row.get(1)?), row.get(2)?)),
            None => None,
        };
        Ok(())
    }

    /// The products of the project member `key`. Rows before it belong to no project
    /// member (the foreign key prevents them) and are passed over, as a join would.
    fn take(&mut self, key: (i64, i64)) -> Result<BTreeSet<ProjectProduct>> {
        let mut products = BTreeSet::new();
        while let Some((row_key, product)) = &self.next {
            if *row_key > key {
                break;
            }
            if *row_key == key {
                products.insert(codec::product_from_str(product).ok_or_else(|| {
                    ReadError::Bad(format!("unknown project product `{product}`"))
                })?);
            }
            self.advance()?;
        }
        Ok(products)
    }
}
