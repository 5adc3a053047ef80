//! Reading the whole account back as a [`State`], fast enough for 50,000 members.
//!
//! Each table is read once, in key order, with rows joined in memory through an
//! id -> index map rather than one query per member: a fetch is a handful of table
//! scans whatever the account's size.
//!
//! Project memberships are most of a large account's rows (150,000 of about
//! 250,000 on the 50,000-member benchmark). Once the members are read, the upper
//! part of them by project is read on a second, read-only connection while this
//! one reads the rest ([`Reader::read`]). That connection reads its own snapshot,
//! so it is used only when it sees the revision this transaction read: every
//! change to the store raises the revision in the transaction that makes it, so
//! the same revision is the same account. When it is not (a write came in
//! between) or the connection fails in any way, this transaction reads those
//! projects too: the state is always the one a single transaction reads.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
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
    reader.read(path).map_err(|e| match e {
        ReadError::Sql(e) => super::storage_error(path, &e),
        ReadError::Bad(detail) => BackendError::Corrupt {
            path: path.to_owned(),
            detail,
        },
    })
}

/// A failure while reading: the engine's, or a row accord cannot make sense of.
#[derive(Debug)]
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
    /// The state and its revision; the upper part of the project memberships is
    /// read beside this transaction when it can be (see the module docs).
    fn read(&self, path: &Path) -> Result<(State, u64)> {
        let (account, revision) = self.account()?;
        let companies = self.names("SELECT id, name FROM companies")?;
        let roles = self.names("SELECT id, name FROM roles")?;
        let mut members = self.members(&companies, &roles)?;
        self.member_sets(&mut members)?;
        let project_names = self.names("SELECT id, name FROM projects")?;
        let (lower, upper) = split_projects(&project_names);
        let (agreements, teams, mut projects, beside) = std::thread::scope(|scope| {
            let beside = upper.clone().map(|upper| {
                let members = &members;
                scope.spawn(move || read_beside(path, revision, members, upper))
            });
            let read_here = || -> Result<_> {
                let agreements = self.agreements(&members)?;
                let teams = self.teams(&members)?;
                let projects = self.project_members(&members, lower)?;
                Ok((agreements, teams, projects))
            };
            let here = read_here();
            // A panic on the helper is a bug: passed on, not hidden by a retry.
            let beside = beside.map(|helper| {
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            here.map(|(agreements, teams, projects)| (agreements, teams, projects, beside))
        })?;
        match (beside.flatten(), upper) {
            (Some(read), _) => projects.extend(read),
            (None, Some(upper)) => projects.extend(self.project_members(&members, upper)?),
            (None, None) => {}
        }
        let state = State {
            account,
            companies: self.companies()?,
            roles: self.roles(&roles)?,
            members: members.rows.into_iter().collect(),
            agreements,
            projects: named_projects(&project_names, projects)?,
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

    /// The members of the projects whose row ids are in `ids`, by project row id.
    fn project_members(
        &self,
        members: &Members,
        ids: RangeInclusive<i64>,
    ) -> Result<FxHashMap<i64, ProjectState>> {
        project_members(self.tx, members, ids)
    }
}

/// The members of the projects whose row ids are in `ids`, by project row id (a
/// project without members is not in the answer).
///
/// Both tables are clustered on (project_id, member_id): two range scans in key
/// order, merged here. (A join in SQL is planned as one index search per project
/// member plus a sort for the grouping: four times slower on 150,000 memberships.)
fn project_members(
    conn: &Connection,
    members: &Members,
    ids: RangeInclusive<i64>,
) -> Result<FxHashMap<i64, ProjectState>> {
    let (first, last) = (*ids.start(), *ids.end());
    let mut by_id: FxHashMap<i64, ProjectState> = FxHashMap::default();
    let mut products_stmt = conn.prepare(
        "SELECT project_id, member_id, product FROM project_member_products
         WHERE project_id BETWEEN ?1 AND ?2 ORDER BY project_id, member_id",
    )?;
    let mut products = Products::new(products_stmt.query([first, last])?)?;
    let mut stmt = conn.prepare(
        "SELECT project_id, member_id, access FROM project_members
         WHERE project_id BETWEEN ?1 AND ?2 ORDER BY project_id, member_id",
    )?;
    let mut rows = stmt.query([first, last])?;
    while let Some(row) = rows.next()? {
        let key: (i64, i64) = (row.get(0)?, row.get(1)?);
        let access: String = row.get(2)?;
        let email = members.email(key.1)?.clone();
        let access = codec::project_access_from_str(&access)
            .ok_or_else(|| ReadError::Bad(format!("unknown project access `{access}`")))?;
        let products = products.take(key)?;
        by_id
            .entry(key.0)
            .or_default()
            .members
            .insert(email, ProjectMemberState { access, products });
    }
    Ok(by_id)
}

/// Every project by name, with the members read for it (`names`: row id -> name).
fn named_projects(
    names: &FxHashMap<i64, String>,
    mut members: FxHashMap<i64, ProjectState>,
) -> Result<BTreeMap<String, ProjectState>> {
    if let Some(id) = members.keys().find(|id| !names.contains_key(id)) {
        return Err(ReadError::Bad(format!("a member of unknown project #{id}")));
    }
    Ok(names
        .iter()
        .map(|(id, name)| (name.clone(), members.remove(id).unwrap_or_default()))
        .collect())
}

/// The projects read here and, when there are enough to share, the ones read
/// beside: those with the upper 60% of row ids (this transaction also reads the
/// agreements and the teams meanwhile). The ranges cover every row id, so a
/// membership of a project that does not exist is still read, and refused.
fn split_projects(
    names: &FxHashMap<i64, String>,
) -> (RangeInclusive<i64>, Option<RangeInclusive<i64>>) {
    /// Fewer projects than this are read in one go: a second connection costs
    /// more than it saves.
    const SHARED_FROM: usize = 64;
    if names.len() < SHARED_FROM {
        return (i64::MIN..=i64::MAX, None);
    }
    let mut ids: Vec<i64> = names.keys().copied().collect();
    // The highest id of the lower 40%.
    let last_lower = ids.len() * 2 / 5 - 1;
    let (_, &mut split, _) = ids.select_nth_unstable(last_lower);
    (i64::MIN..=split, Some(split + 1..=i64::MAX))
}

/// The members of the projects `ids`, read on a read-only connection of its own,
/// when that connection sees the account at `revision`; `None` when it does not,
/// or fails in any way (the caller then reads them itself).
fn read_beside(
    path: &Path,
    revision: u64,
    members: &Members,
    ids: RangeInclusive<i64>,
) -> Option<FxHashMap<i64, ProjectState>> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(super::schema::BUSY_TIMEOUT).ok()?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .ok()?;
    // The first read fixes the snapshot this transaction sees.
    let seen = super::current_revision(&tx).ok()?;
    if seen != revision {
        tracing::debug!(
            revision,
            seen,
            "the store changed between two reads; its projects are read again in one transaction"
        );
        return None;
    }
    project_members(&tx, members, ids).ok()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::sqlite::SqliteStore;
    use crate::state::ProjectAccess;
    use crate::time::ManualClock;

    /// A store holding one member on `projects` projects, and its file.
    fn store_with_projects(projects: usize) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        let mut store =
            SqliteStore::open(&path, Arc::new(ManualClock::new(1_800_000_000))).expect("open");
        let dana = Email::new("dana@firm.example");
        let mut state = State {
            account: AccountInfo {
                id: "firm".into(),
                name: "The Firm".into(),
            },
            ..State::default()
        };
        state.members.insert(dana.clone(), MemberState::default());
        state.members.insert(erik(), MemberState::default());
        for p in 0..projects {
            let mut project = ProjectState::default();
            project.members.insert(
                dana.clone(),
                ProjectMemberState {
                    access: ProjectAccess::Member,
                    products: BTreeSet::from([ProjectProduct::Docs]),
                },
            );
            state.projects.insert(format!("Project {p:03}"), project);
        }
        store.import_state(&state).expect("import");
        (dir, path)
    }

    /// A member on no project of [`store_with_projects`].
    fn erik() -> Email {
        Email::new("erik@firm.example")
    }

    /// A fetch is one moment of the account, though two connections read it: with
    /// a writer moving Erik between the first project (read here) and the last (read
    /// beside) in one transaction after the other, every fetch finds him on exactly
    /// one of them.
    #[test]
    fn a_fetch_never_mixes_two_moments_of_the_account() {
        use crate::contract::Op;
        use std::sync::atomic::{AtomicBool, Ordering};

        let (_dir, path) = store_with_projects(100);
        let clock = || Arc::new(ManualClock::new(1_800_000_000));
        let (first, last) = ("Project 000", "Project 099");
        let add = |project: &str| Op::ProjectMemberAdd {
            project: project.into(),
            email: erik(),
            access: ProjectAccess::Member,
            products: BTreeSet::from([ProjectProduct::Docs]),
        };
        let remove = |project: &str| Op::ProjectMemberRemove {
            project: project.into(),
            email: erik(),
        };
        let mut writer = SqliteStore::open(&path, clock()).expect("writer");
        writer
            .execute(&[add(first)])
            .expect("erik joins the first project");
        let mut reader = SqliteStore::open(&path, clock()).expect("reader");
        /// Stops the writer however the reading ends (a failed assertion included,
        /// which would otherwise wait for it forever).
        struct StopOnDrop<'s>(&'s AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = AtomicBool::new(false);
        let (moves, fetches) = std::thread::scope(|scope| {
            let moving = scope.spawn(|| {
                let mut moves = 0;
                let mut on_first = true;
                while !stop.load(Ordering::Relaxed) {
                    let (from, to) = if on_first {
                        (first, last)
                    } else {
                        (last, first)
                    };
                    writer.execute(&[remove(from), add(to)]).expect("a move");
                    on_first = !on_first;
                    moves += 1;
                }
                moves
            });
            let stopping = StopOnDrop(&stop);
            let mut fetches = 0;
            for _ in 0..300 {
                let state = reader.fetch().expect("fetch").state;
                let on = |project: &str| state.projects[project].members.contains_key(&erik());
                assert!(
                    on(first) != on(last),
                    "erik on the first project: {}, on the last: {}",
                    on(first),
                    on(last)
                );
                fetches += 1;
            }
            drop(stopping);
            (moving.join().expect("writer"), fetches)
        });
        assert_eq!(fetches, 300);
        assert!(
            moves > 10,
            "the writer moved Erik {moves} times during the fetches"
        );
    }

    /// The connection beside reads the projects only at the revision this one read:
    /// at another (a write came in between) it answers nothing, and the caller reads
    /// them itself.
    #[test]
    fn projects_are_read_beside_only_at_the_same_revision() {
        let (_dir, path) = store_with_projects(100);
        let mut conn = Connection::open(&path).expect("connection");
        let tx = conn.transaction().expect("transaction");
        let reader = Reader { tx: &tx };
        let (_, revision) = reader.account().expect("account");
        let members = reader
            .members(&FxHashMap::default(), &FxHashMap::default())
            .expect("members");
        let names = reader
            .names("SELECT id, name FROM projects")
            .expect("names");
        let (lower, upper) = split_projects(&names);
        let upper = upper.expect("100 projects are shared between two connections");

        let here = reader
            .project_members(&members, upper.clone())
            .expect("read here");
        let beside = read_beside(&path, revision, &members, upper.clone())
            .expect("read beside at the same revision");
        assert_eq!(beside, here);
        assert_eq!(beside.len(), 60, "the upper 60% of 100 projects");
        assert_eq!(
            reader
                .project_members(&members, lower)
                .expect("lower")
                .len(),
            40
        );
        assert_eq!(read_beside(&path, revision + 1, &members, upper), None);
    }

    /// When the connection beside cannot be had (here: its file is not there), this
    /// transaction reads every project itself.
    #[test]
    fn without_the_connection_beside_every_project_is_read_here() {
        let (dir, path) = store_with_projects(100);
        let conn = Connection::open(&path).expect("connection");
        let tx = conn.unchecked_transaction().expect("transaction");
        let reader = Reader { tx: &tx };
        let (whole, _) = reader.read(&path).expect("read on two connections");
        let (alone, _) = reader
            .read(&dir.path().join("missing.db"))
            .expect("read on one");
        assert_eq!(alone.projects.len(), 100);
        assert_eq!(alone, whole);
    }

    /// A handful of projects are read in one go, over every row id.
    #[test]
    fn few_projects_are_read_by_one_connection() {
        let (_dir, path) = store_with_projects(3);
        let conn = Connection::open(&path).expect("connection");
        let names = FxHashMap::from_iter([(1, "a".to_owned()), (2, "b".to_owned())]);
        assert_eq!(split_projects(&names), (i64::MIN..=i64::MAX, None));
        let tx = conn.unchecked_transaction().expect("transaction");
        let (state, _) = Reader { tx: &tx }.read(&path).expect("read");
        assert_eq!(state.projects.len(), 3);
    }
}
