//! Reading the whole account from the service: the account's revision first, then
//! every collection page by page, all pinned to that revision (`?revision=R`) and
//! fetched concurrently (first pages of every collection together, then the
//! remaining pages, at most `concurrency` requests in flight). If the service no
//! longer keeps that revision (many writes landed meanwhile), the fetch starts over.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::{Call, Client};
use crate::contract::{BackendError, Snapshot};
use crate::state::{
    AccountInfo, AgreementState, CompanyState, PoolState, ProductState, ProjectMemberState,
    ProjectState, RoleState, State, TeamState,
};
use crate::wire::{
    AccountView, AgreementItem, CloudServiceItem, CompanyItem, MAX_PAGE_SIZE, MemberItem, Page,
    ProjectItem, ProjectMemberItem, RoleItem, SeatItem, SupportItem, TeamItem,
};

/// How many times a fetch starts over when its revision is no longer served.
const RESTARTS: usize = 3;

/// Every collection of one revision.
struct Collections {
    companies: Vec<CompanyItem>,
    roles: Vec<RoleItem>,
    members: Vec<MemberItem>,
    agreements: Vec<AgreementItem>,
    seats: Vec<SeatItem>,
    cloud_services: Vec<CloudServiceItem>,
    support: Vec<SupportItem>,
    projects: Vec<ProjectItem>,
    project_members: Vec<ProjectMemberItem>,
    teams: Vec<TeamItem>,
}

/// What a fetch did, for benchmarks: requests sent and the page size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Page requests (the account request not counted).
    pub pages: usize,
}

/// Reads the account at one revision, `concurrency` requests at a time.
///
/// # Errors
/// The service's or the transport's errors; [`BackendError::Internal`] when the
/// collections do not fit together.
pub async fn fetch(
    client: &Arc<Client>,
    concurrency: usize,
) -> Result<(Snapshot, FetchStats), BackendError> {
    let mut restarts = 0;
    loop {
        let account: AccountView = client.json(&Call::get("/v1/account")).await?;
        match collections(client, account.revision, concurrency).await {
            Ok((rows, stats)) => {
                let snapshot = Snapshot {
                    state: assemble(&account, rows)?,
                    revision: account.revision,
                    now: account.now,
                };
                return Ok((snapshot, stats));
            }
            Err(BackendError::Stale { .. }) if restarts < RESTARTS => restarts += 1,
            Err(error) => return Err(error),
        }
    }
}

async fn collections(
    client: &Arc<Client>,
    revision: u64,
    concurrency: usize,
) -> Result<(Collections, FetchStats), BackendError> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let reader = Reader {
        client: Arc::clone(client),
        permits,
        revision,
    };
    let (
        companies,
        roles,
        members,
        agreements,
        seats,
        cloud_services,
        support,
        projects,
        project_members,
        teams,
    ) = tokio::try_join!(
        reader.all::<CompanyItem>("/v1/companies"),
        reader.all::<RoleItem>("/v1/roles"),
        reader.all::<MemberItem>("/v1/members"),
        reader.all::<AgreementItem>("/v1/agreements"),
        reader.all::<SeatItem>("/v1/seats"),
        reader.all::<CloudServiceItem>("/v1/cloud-services"),
        reader.all::<SupportItem>("/v1/support"),
        reader.all::<ProjectItem>("/v1/projects"),
        reader.all::<ProjectMemberItem>("/v1/project-members"),
        reader.all::<TeamItem>("/v1/teams"),
    )?;
    let pages = [
        companies.1,
        roles.1,
        members.1,
        agreements.1,
        seats.1,
        cloud_services.1,
        support.1,
        projects.1,
        project_members.1,
        teams.1,
    ]
    .iter()
    .sum();
    Ok((
        Collections {
            companies: companies.0,
            roles: roles.0,
            members: members.0,
            agreements: agreements.0,
            seats: seats.0,
            cloud_services: cloud_services.0,
            support: support.0,
            projects: projects.0,
            project_members: project_members.0,
            teams: teams.0,
        },
        FetchStats { pages },
    ))
}

/// Reads collections at one revision, sharing the permits.
struct Reader {
    client: Arc<Client>,
    permits: Arc<Semaphore>,
    revision: u64,
}

impl Reader {
    /// Every row of the collection at `path`, in order, and the pages it took.
    async fn all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &'static str,
    ) -> Result<(Vec<T>, usize), BackendError> {
        let first: Page<T> = page(&self.client, &self.permits, path, self.revision, 0).await?;
        let total = first.total;
        let mut rows = first.items;
        if rows.len() >= total {
            return Ok((rows, 1));
        }
        let mut tasks = JoinSet::new();
        let offsets: Vec<usize> = (MAX_PAGE_SIZE..total).step_by(MAX_PAGE_SIZE).collect();
        let pages = offsets.len() + 1;
        for (index, offset) in offsets.into_iter().enumerate() {
            let client = Arc::clone(&self.client);
            let permits = Arc::clone(&self.permits);
            let revision = self.revision;
            tasks.spawn(async move {
                let page: Page<T> = page(&client, &permits, path, revision, offset).await?;
                Ok::<_, BackendError>((index, page.items))
            });
        }
        let mut rest: Vec<Option<Vec<T>>> = (1..pages).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            let (index, items) = joined.map_err(|e| BackendError::Internal {
                detail: format!("a page fetch failed: {e}"),
            })??;
            rest[index] = Some(items);
        }
        for items in rest.into_iter().flatten() {
            rows.extend(items);
        }
        if rows.len() != total {
            return Err(BackendError::Internal {
                detail: format!(
                    "{path} at revision {} announced {total} rows but served {}",
                    self.revision,
                    rows.len()
                ),
            });
        }
        Ok((rows, pages))
    }
}

async fn page<T: DeserializeOwned>(
    client: &Client,
    permits: &Semaphore,
    path: &str,
    revision: u64,
    offset: usize,
) -> Result<Page<T>, BackendError> {
    let _permit = permits
        .acquire()
        .await
        .map_err(|e| BackendError::Internal {
            detail: format!("the fetch was cancelled: {e}"),
        })?;
    let call = Call::get(path)
        .param("limit", MAX_PAGE_SIZE.to_string())
        .param("offset", offset.to_string())
        .param("revision", revision.to_string());
    let page: Page<T> = client.json(&call).await?;
    if page.revision == revision {
        Ok(page)
    } else {
        Err(BackendError::Stale {
            expected: revision,
            found: page.revision,
        })
    }
}

/// Puts the collections back together as one [`State`].
fn assemble(account: &AccountView, c: Collections) -> Result<State, BackendError> {
    let mut state = State {
        account: AccountInfo {
            id: account.id.clone(),
            name: account.name.clone(),
        },
        companies: c
            .companies
            .into_iter()
            .map(|i| (i.name, CompanyState { trade: i.trade }))
            .collect(),
        roles: c
            .roles
            .into_iter()
            .map(|i| {
                let role = RoleState {
                    default_access: i.default_access,
                };
                (i.name, role)
            })
            .collect(),
        members: c.members.into_iter().map(MemberItem::into_parts).collect(),
        agreements: c.agreements.into_iter().map(agreement).collect(),
        ..State::default()
    };
    for seat in c.seats {
        state
            .agreements
            .get_mut(&seat.agreement)
            .and_then(|a| a.products.get_mut(&seat.product))
            .ok_or_else(|| inconsistent(&format!("a seat of {}/{}", seat.agreement, seat.product)))?
            .assigned
            .insert(seat.email);
    }
    for user in c.cloud_services {
        state
            .agreements
            .get_mut(&user.agreement)
            .ok_or_else(|| {
                inconsistent(&format!("a cloud service of agreement {}", user.agreement))
            })?
            .cloud_services
            .entry(user.service)
            .or_default()
            .insert(user.email);
    }
    for holder in c.support {
        state
            .agreements
            .get_mut(&holder.agreement)
            .ok_or_else(|| inconsistent(&format!("support on agreement {}", holder.agreement)))?
            .support
            .insert(holder.email);
    }
    for project in c.projects {
        state.projects.insert(project.name, ProjectState::default());
    }
    for m in c.project_members {
        let member = ProjectMemberState {
            access: m.access,
            products: m.products,
        };
        state
            .projects
            .get_mut(&m.project)
            .ok_or_else(|| inconsistent(&format!("a member of project {}", m.project)))?
            .members
            .insert(m.email, member);
    }
    for team in c.teams {
        let pools = team
            .pools
            .into_iter()
            .map(|p| {
                let pool = PoolState {
                    seats: Some(p.seats),
                    direct: p.direct,
                    inherited: p.inherited,
                    ..PoolState::default()
                };
                (p.product, pool)
            })
            .collect();
        let state_team = TeamState {
            name: team.name,
            users: team.users,
            pools,
        };
        state.teams.insert(team.id, state_team);
    }
    Ok(state)
}

/// An agreement row, with empty assignments (filled from the other collections).
fn agreement(a: AgreementItem) -> (String, AgreementState) {
    let products = a
        .products
        .into_iter()
        .map(|p| {
            let product = ProductState {
                seats: Some(p.seats),
                assigned: BTreeSet::new(),
            };
            (p.name, product)
        })
        .collect();
    let agreement = AgreementState {
        name: a.name,
        contract_manager: a.contract_manager,
        software_coordinator: a.software_coordinator,
        products,
        cloud_services: a
            .cloud_services
            .into_iter()
            .map(|s| (s, BTreeSet::new()))
            .collect(),
        support: BTreeSet::new(),
    };
    (a.number, agreement)
}

/// A row that names an agreement, product or project the service did not list.
fn inconsistent(what: &str) -> BackendError {
    BackendError::Internal {
        detail: format!(
            "the service answered an inconsistent account: {what}, which it does not list"
        ),
    }
}
