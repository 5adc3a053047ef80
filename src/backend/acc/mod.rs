//! The `acc` backend: `--backend acc://ACCOUNT_ID?region=EMEA`, the vendor's own
//! account through its public API (`hq/v1` and `construction/admin`).
//!
//! It manages only what that API can do, and says so in [`Capabilities`]:
//! companies (create in bulk, change the trade), members (invite in bulk, change the
//! company, activate, deactivate), projects (create) and project members (add in
//! bulk, change products, remove). Agreements, contract managers, coordinators, seat,
//! cloud-service and support assignments, roles and account access levels have no
//! public API: `plan` reports them as "not managed by this backend".
//!
//! - **Credentials** come from `APS_CLIENT_ID` / `APS_CLIENT_SECRET` (a client-
//!   credentials token, see [`client`]) and `ACCORD_ACC_USER_ID` (an account admin's
//!   id, needed for `construction/admin` writes).
//! - **Reading** lists every family in pages (bare arrays of 100 under `hq`,
//!   envelopes of 200 under `construction/admin`) and keeps the vendor's ids by name
//!   and email, since accord's operations name things and the API wants ids.
//! - **Writing**: a batch's company creations are one import call, its invitations
//!   one import call, its project additions one import call per project (then the
//!   project's list is polled until the new users show, since the import job has no
//!   status endpoint); every other operation is one call.
//! - The vendor keeps no revision: the snapshot's revision is a digest of the state
//!   read, so it changes whenever the account does.
//! - The vendor has no lock: the backend offers none, so `apply` takes a lock local
//!   to this process and says so (two `apply` runs on different machines are not
//!   kept apart; run them from one CI job).
//! - Every request goes through the call policy ([`crate::call::Caller`]) with the
//!   budgets of [`client::RateLimits`]. A write that cannot be sent twice safely (an
//!   import) and whose answer was lost is answered `failed, retryable` for the
//!   operations it carried, and the ids are read again: the executor sends those
//!   operations again, and what the vendor already has answers `already_so`.

pub mod client;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use client::{AccClient, Credentials, RateLimits};
use url::Url;
use wire::{ADMIN_PAGE, Company, Envelope, HQ_PAGE, Import, Project, ProjectUser, User};

use crate::call::{CallOptions, Caller, Repeat, Retry};
use crate::contract::{
    Backend, BackendError, Capabilities, Limits, ManualAction, MemberField, MemberRecord, Op,
    OpKind, Outcome, Snapshot,
};
use crate::state::{
    AccountInfo, CompanyState, Email, MemberState, MemberStatus, ProjectMemberState, ProjectState,
    State,
};
use crate::time::{Clock, SystemClock};

/// The vendor's API.
pub const DEFAULT_BASE_URL: &str = "https://developer.api.autodesk.com";

/// Test only: another base URL for the vendor's API (a local fake).
pub const BASE_URL_VARIABLE: &str = "ACCORD_ACC_BASE_URL";

/// The app's client id.
pub const CLIENT_ID_VARIABLE: &str = "APS_CLIENT_ID";

/// The app's client secret.
pub const CLIENT_SECRET_VARIABLE: &str = "APS_CLIENT_SECRET";

/// The account admin's user id sent as `User-Id` on `construction/admin` writes.
pub const USER_ID_VARIABLE: &str = "ACCORD_ACC_USER_ID";

/// The regions the vendor stores accounts in.
pub const REGIONS: [&str; 8] = ["US", "EMEA", "AUS", "CAN", "DEU", "IND", "JPN", "GBR"];

/// Most items in one `hq/v1` import (companies, users).
pub const HQ_IMPORT_LIMIT: usize = 50;

/// Most users in one project import.
pub const PROJECT_IMPORT_LIMIT: usize = 200;

/// The project type sent when creating a project (the API requires one; accord's
/// configuration has none).
pub const PROJECT_TYPE: &str = "Office";

/// The kinds of operation this backend carries out.
pub const KINDS: [OpKind; 10] = [
    OpKind::CompanyCreate,
    OpKind::CompanyUpdate,
    OpKind::MemberInvite,
    OpKind::MemberUpdate,
    OpKind::MemberActivate,
    OpKind::MemberDeactivate,
    OpKind::ProjectCreate,
    OpKind::ProjectMemberAdd,
    OpKind::ProjectMemberUpdate,
    OpKind::ProjectMemberRemove,
];

/// What a person does for the kinds the public API cannot carry out in the sections
/// this backend manages.
fn manual_actions() -> std::collections::BTreeMap<OpKind, ManualAction> {
    [
        (
            OpKind::MemberRemove,
            ManualAction {
                action: "remove the member from the account in ACC's Account Admin (Members, then Remove from account)".into(),
                why: "the vendor's public API cannot remove a member from an account".into(),
            },
        ),
        (
            OpKind::MemberResendInvite,
            ManualAction {
                action: "resend the invitation from ACC's Account Admin (Members, then Resend invite)".into(),
                why: "the vendor's public API cannot resend an invitation".into(),
            },
        ),
    ]
    .into()
}

/// How to reach one account.
#[derive(Debug, Clone)]
pub struct AccSettings {
    /// The account id.
    pub account_id: String,
    /// The region (`EMEA`).
    pub region: String,
    /// The API's base URL.
    pub base_url: String,
    /// The app's credentials.
    pub credentials: Credentials,
    /// Client-side limits per endpoint family.
    pub limits: RateLimits,
    /// How long to wait between looks at a project's users after an import, and how
    /// many looks before giving up (the operations then fail, retryably).
    pub poll_interval: Duration,
    /// See `poll_interval`.
    pub poll_attempts: u32,
}

/// Parses `acc://ACCOUNT_ID?region=REGION` into the account id and the region.
///
/// # Errors
/// [`BackendError::UnknownScheme`] for another scheme or no account id;
/// [`BackendError::Rejected`] for a missing or unknown region.
pub fn parse(url: &Url) -> Result<(String, String), BackendError> {
    let unknown = || BackendError::UnknownScheme {
        url: url.to_string(),
    };
    if url.scheme() != "acc" {
        return Err(unknown());
    }
    let account = url.host_str().unwrap_or_default().to_owned();
    let path = url.path().trim_matches('/');
    if account.is_empty() || !path.is_empty() {
        return Err(unknown());
    }
    let region = url
        .query_pairs()
        .find_map(|(key, value)| (key == "region").then(|| value.to_ascii_uppercase()));
    match region {
        Some(region) if REGIONS.contains(&region.as_str()) => Ok((account, region)),
        _ => Err(BackendError::Rejected {
            detail: format!(
                "`{url}` needs the account's region: acc://{account}?region=REGION, one of {}",
                REGIONS.join(", ")
            ),
        }),
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl AccSettings {
    /// Settings for `url` from the environment.
    ///
    /// # Errors
    /// As [`parse`]; [`BackendError::Unauthorized`] when a credential is not set.
    pub fn from_env(url: &Url) -> Result<Self, BackendError> {
        let (account_id, region) = parse(url)?;
        let missing = |name: &str| BackendError::Unauthorized {
            detail: format!(
                "{name} is not set: create an app for the vendor's API, add it to the account as a custom integration, and set APS_CLIENT_ID and APS_CLIENT_SECRET"
            ),
        };
        let client_id = variable(CLIENT_ID_VARIABLE).ok_or_else(|| missing(CLIENT_ID_VARIABLE))?;
        let client_secret =
            variable(CLIENT_SECRET_VARIABLE).ok_or_else(|| missing(CLIENT_SECRET_VARIABLE))?;
        Ok(Self {
            account_id,
            region,
            base_url: variable(BASE_URL_VARIABLE).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            credentials: Credentials {
                client_id,
                client_secret,
                user_id: variable(USER_ID_VARIABLE),
            },
            limits: RateLimits::default(),
            poll_interval: Duration::from_millis(500),
            poll_attempts: 20,
        })
    }
}

/// The vendor's ids of what accord names, as last read.
#[derive(Debug, Default)]
struct Ids {
    loaded: bool,
    /// Company name -> id.
    companies: BTreeMap<String, String>,
    /// Email -> user.
    users: BTreeMap<Email, User>,
    /// Project name -> id.
    projects: BTreeMap<String, String>,
    /// (project id, email) -> the user's id in the project.
    project_users: BTreeMap<(String, Email), String>,
}

/// The vendor's account over its public API.
#[derive(Debug)]
pub struct AccBackend {
    client: AccClient,
    settings: AccSettings,
    ids: Mutex<Ids>,
    clock: Arc<dyn Clock>,
}

impl AccBackend {
    /// Opens the account `url` names with the credentials in the environment.
    ///
    /// # Errors
    /// As [`AccSettings::from_env`] and [`Self::connect`].
    pub fn open(url: &Url, calls: CallOptions) -> Result<Self, BackendError> {
        Self::connect_with(AccSettings::from_env(url)?, calls)
    }

    /// A backend with `settings`. Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`BackendError::Internal`] when the HTTP client cannot be set up.
    pub fn connect(settings: AccSettings) -> Result<Self, BackendError> {
        Self::connect_with(settings, CallOptions::default())
    }

    /// As [`Self::connect`], with `calls` for the call policy.
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub fn connect_with(settings: AccSettings, calls: CallOptions) -> Result<Self, BackendError> {
        let caller = Arc::new(Caller::new(&settings.limits.budgets(), calls));
        let client = AccClient::new(
            &settings.base_url,
            &settings.region,
            settings.credentials.clone(),
            caller,
        )?;
        Ok(Self {
            client,
            settings,
            ids: Mutex::new(Ids::default()),
            clock: Arc::new(SystemClock),
        })
    }

    fn account_path(&self, what: &str) -> String {
        format!("/hq/v1/accounts/{}/{what}", self.settings.account_id)
    }

    fn projects_path(&self) -> String {
        format!(
            "/construction/admin/v1/accounts/{}/projects",
            self.settings.account_id
        )
    }

    /// Every item of an `hq/v1` list (bare arrays, 100 a page).
    async fn list_hq<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, BackendError> {
        let mut all = Vec::new();
        loop {
            let page: Vec<T> = self
                .client
                .get(
                    path,
                    &[
                        ("limit", HQ_PAGE.to_string()),
                        ("offset", all.len().to_string()),
                    ],
                )
                .await?;
            let full = page.len() == HQ_PAGE;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// Every item of a `construction/admin` list (envelopes, 200 a page).
    async fn list_admin<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, BackendError> {
        let mut all = Vec::new();
        loop {
            let page: Envelope<T> = self
                .client
                .get(
                    path,
                    &[
                        ("limit", ADMIN_PAGE.to_string()),
                        ("offset", all.len().to_string()),
                    ],
                )
                .await?;
            let empty = page.results.is_empty();
            all.extend(page.results);
            if empty || all.len() >= page.pagination.total_results {
                return Ok(all);
            }
        }
    }

    async fn project_users(&self, project_id: &str) -> Result<Vec<ProjectUser>, BackendError> {
        self.list_admin(&format!(
            "/construction/admin/v1/projects/{project_id}/users"
        ))
        .await
    }

    /// Reads the account and refreshes the ids.
    async fn read(&self) -> Result<State, BackendError> {
        let companies: Vec<Company> = self.list_hq(&self.account_path("companies")).await?;
        let users: Vec<User> = self.list_hq(&self.account_path("users")).await?;
        let projects: Vec<Project> = self.list_admin(&self.projects_path()).await?;
        let mut ids = Ids {
            loaded: true,
            ..Ids::default()
        };
        let mut state = State {
            account: AccountInfo {
                id: self.settings.account_id.clone(),
                name: self.settings.account_id.clone(),
            },
            ..State::default()
        };
        let mut company_names = BTreeMap::new();
        for company in companies {
            company_names.insert(company.id.clone(), company.name.clone());
            ids.companies.insert(company.name.clone(), company.id);
            state.companies.insert(
                company.name,
                CompanyState {
                    trade: company.trade.filter(|t| !t.is_empty()),
                },
            );
        }
        for user in users {
            let email = Email::new(&user.email);
            let member = MemberState {
                first_name: user.first_name.clone().filter(|n| !n.is_empty()),
                last_name: user.last_name.clone().filter(|n| !n.is_empty()),
                company: user
                    .company_id
                    .as_ref()
                    .and_then(|id| company_names.get(id).cloned()),
                status: wire::status(user.status.as_deref()),
                access: wire::access(user.role.as_deref()),
                signed_in: user.last_sign_in.is_some(),
                ..MemberState::default()
            };
            state.members.insert(email.clone(), member);
            ids.users.insert(email, user);
        }
        for project in projects {
            let mut members = BTreeMap::new();
            for user in self.project_users(&project.id).await? {
                let email = Email::new(&user.email);
                let (access, products) = wire::membership(&user.products);
                ids.project_users
                    .insert((project.id.clone(), email.clone()), user.id);
                members.insert(email, ProjectMemberState { access, products });
            }
            ids.projects.insert(project.name.clone(), project.id);
            state
                .projects
                .insert(project.name, ProjectState { members });
        }
        *self.ids.lock().await = ids;
        Ok(state)
    }

    async fn ensure_ids(&self) -> Result<(), BackendError> {
        if !self.ids.lock().await.loaded {
            self.read().await?;
        }
        Ok(())
    }
}

/// A digest of the state: the vendor keeps no revision, so this stands for one.
fn revision_of(state: &State) -> u64 {
    let bytes = serde_json::to_vec(state).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The refusal for an operation the public API cannot carry out.
fn not_in_api(op: &Op) -> Outcome {
    Outcome::refused_plain(format!(
        "{} is not possible through the vendor's public API: change it in the vendor's web console",
        op.name()
    ))
}

/// The email and reason of one failed import item.
fn failure(item: &Value) -> (Option<Email>, String) {
    let email = item
        .get("email")
        .or_else(|| item.get("item").and_then(|i| i.get("email")))
        .and_then(Value::as_str)
        .map(Email::new);
    let reason = ["error", "errors", "message"]
        .iter()
        .find_map(|k| item.get(*k))
        .map_or_else(
            || "the vendor did not import it".to_owned(),
            |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        );
    (email, reason)
}

impl AccBackend {
    /// Carries out the batch's company creations as one import.
    async fn create_companies(
        &self,
        batch: &[Op],
        indices: &[usize],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let mut items = Vec::new();
        let mut sent = BTreeMap::new();
        {
            let ids = self.ids.lock().await;
            for &i in indices {
                let Op::CompanyCreate { name, trade } = &batch[i] else {
                    continue;
                };
                if ids.companies.contains_key(name) {
                    outcomes[i] = Some(Outcome::AlreadySo);
                    continue;
                }
                let mut item = json!({ "name": name });
                if let Some(trade) = trade {
                    item["trade"] = json!(trade);
                }
                items.push(item);
                sent.insert(name.clone(), i);
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let import: Import<Company> = self.import("companies/import", items).await?;
        let mut ids = self.ids.lock().await;
        for company in import.success_items {
            if let Some(&i) = sent.get(&company.name) {
                outcomes[i] = Some(Outcome::Done);
            }
            ids.companies.insert(company.name, company.id);
        }
        for item in &import.failure_items {
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            if let Some(&i) = sent.get(name) {
                outcomes[i] = Some(Outcome::Failed {
                    reason: failure(item).1,
                    retryable: false,
                });
            }
        }
        Ok(())
    }

    /// Sends one `hq/v1` bulk import (`companies/import`, `users/import`) and reads
    /// its answer: partial success arrives inside a 2xx, so only a failed call as a
    /// whole is an error here.
    async fn import<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        items: Vec<Value>,
    ) -> Result<Import<T>, BackendError> {
        let answer = self
            .client
            .send(
                Method::POST,
                &self.account_path(what),
                &[],
                Some(&Value::Array(items)),
                Repeat::Once,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.client.error(&answer));
        }
        self.client.decode(&answer)
    }

    /// Carries out the batch's invitations as one import.
    async fn invite_members(
        &self,
        batch: &[Op],
        indices: &[usize],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let mut items = Vec::new();
        let mut sent = BTreeMap::new();
        {
            let ids = self.ids.lock().await;
            for &i in indices {
                let Op::MemberInvite { email, record } = &batch[i] else {
                    continue;
                };
                if ids.users.contains_key(email) {
                    outcomes[i] = Some(Outcome::AlreadySo);
                    continue;
                }
                if let Some(refusal) = unmanaged_fields(record) {
                    outcomes[i] = Some(refusal);
                    continue;
                }
                let mut item = json!({ "email": email.as_str() });
                if let Some(first) = &record.first_name {
                    item["first_name"] = json!(first);
                }
                if let Some(last) = &record.last_name {
                    item["last_name"] = json!(last);
                }
                if let Some(company) = &record.company {
                    let Some(id) = ids.companies.get(company) else {
                        outcomes[i] = Some(Outcome::refused_plain(format!(
                            "the company {company} is not in the account"
                        )));
                        continue;
                    };
                    item["company_id"] = json!(id);
                }
                items.push(item);
                sent.insert(email.clone(), i);
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let import: Import<User> = self.import("users/import", items).await?;
        let mut ids = self.ids.lock().await;
        for user in import.success_items {
            let email = Email::new(&user.email);
            if let Some(&i) = sent.get(&email) {
                outcomes[i] = Some(Outcome::Done);
            }
            ids.users.insert(email, user);
        }
        for item in &import.failure_items {
            let (email, reason) = failure(item);
            if let Some(&i) = email.as_ref().and_then(|e| sent.get(e)) {
                outcomes[i] = Some(Outcome::Failed {
                    reason,
                    retryable: false,
                });
            }
        }
        Ok(())
    }

    /// Carries out one project's additions as one import, then waits until the new
    /// users show in the project's list.
    async fn add_project_members(
        &self,
        batch: &[Op],
        project: &str,
        indices: &[usize],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let Some(project_id) = self.project_id(project).await? else {
            for &i in indices {
                outcomes[i] = Some(Outcome::refused_plain(format!(
                    "the project {project} is not in the account"
                )));
            }
            return Ok(());
        };
        let mut users = Vec::new();
        let mut sent = BTreeMap::new();
        {
            let ids = self.ids.lock().await;
            for &i in indices {
                let Op::ProjectMemberAdd {
                    email,
                    access,
                    products,
                    ..
                } = &batch[i]
                else {
                    continue;
                };
                if ids
                    .project_users
                    .contains_key(&(project_id.clone(), email.clone()))
                {
                    outcomes[i] = Some(Outcome::AlreadySo);
                    continue;
                }
                users.push(json!({
                    "email": email.as_str(),
                    "products": wire::products_json(*access, products, false),
                }));
                sent.insert(email.clone(), i);
            }
        }
        if users.is_empty() {
            return Ok(());
        }
        let path = format!("/construction/admin/v2/projects/{project_id}/users:import");
        let answer = self
            .client
            .send(
                Method::POST,
                &path,
                &[],
                Some(&json!({ "users": users })),
                Repeat::Once,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.client.error(&answer));
        }
        self.await_project_users(&project_id, &sent, outcomes).await
    }

    /// Looks at the project's users until every one in `sent` shows, within the bound.
    async fn await_project_users(
        &self,
        project_id: &str,
        sent: &BTreeMap<Email, usize>,
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let mut waiting: BTreeSet<&Email> = sent.keys().collect();
        for _ in 0..self.settings.poll_attempts {
            tokio::time::sleep(self.settings.poll_interval).await;
            let listed = self.project_users(project_id).await?;
            let mut ids = self.ids.lock().await;
            for user in listed {
                let email = Email::new(&user.email);
                if waiting.remove(&email) {
                    outcomes[sent[&email]] = Some(Outcome::Done);
                }
                ids.project_users
                    .insert((project_id.to_owned(), email), user.id);
            }
            if waiting.is_empty() {
                return Ok(());
            }
        }
        for email in waiting {
            outcomes[sent[email]] = Some(Outcome::Failed {
                reason: format!(
                    "the vendor accepted the import but {email} did not show in the project within {} looks; run `accord plan` later to check",
                    self.settings.poll_attempts
                ),
                retryable: true,
            });
        }
        Ok(())
    }

    /// The id of `project`, reading the projects again when it is not known yet.
    async fn project_id(&self, project: &str) -> Result<Option<String>, BackendError> {
        if let Some(id) = self.ids.lock().await.projects.get(project) {
            return Ok(Some(id.clone()));
        }
        let projects: Vec<Project> = self.list_admin(&self.projects_path()).await?;
        let mut ids = self.ids.lock().await;
        for p in projects {
            ids.projects.insert(p.name, p.id);
        }
        Ok(ids.projects.get(project).cloned())
    }

    /// Sends one write; `missing` is the outcome when the target is gone (404).
    async fn write_one(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        missing: Outcome,
    ) -> Result<Outcome, BackendError> {
        let answer = self
            .client
            .send(method, path, &[], body.as_ref(), Repeat::Safe)
            .await?;
        if answer.status.is_success() {
            return Ok(Outcome::Done);
        }
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(missing);
        }
        if matches!(
            answer.status,
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST
        ) {
            let text: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect();
            return Ok(Outcome::refused_plain(format!(
                "the vendor refused it (HTTP {}): {text}",
                answer.status.as_u16()
            )));
        }
        Err(self.client.error(&answer))
    }

    /// Carries out one operation that is one call.
    async fn one(&self, op: &Op) -> Result<Outcome, BackendError> {
        match op {
            Op::CompanyUpdate { name, trade } => {
                let id = self.ids.lock().await.companies.get(name).cloned();
                let Some(id) = id else {
                    return Ok(Outcome::refused_plain(format!(
                        "the company {name} is not in the account"
                    )));
                };
                let path = self.account_path(&format!("companies/{id}"));
                self.write_one(
                    Method::PATCH,
                    &path,
                    Some(json!({ "trade": trade })),
                    gone(name),
                )
                .await
            }
            Op::MemberUpdate { email, record } => self.update_member(email, record).await,
            Op::MemberActivate { email } => self.set_status(email, "active").await,
            Op::MemberDeactivate { email } => self.set_status(email, "inactive").await,
            Op::ProjectMemberUpdate {
                project,
                email,
                access,
                products,
            } => {
                let Some((project_id, user_id)) = self.project_user(project, email).await? else {
                    return Ok(Outcome::refused_plain(format!(
                        "{email} is not a member of the project {project}"
                    )));
                };
                let path = format!("/construction/admin/v1/projects/{project_id}/users/{user_id}");
                let body = json!({ "products": wire::products_json(*access, products, true) });
                self.write_one(Method::PATCH, &path, Some(body), gone(email.as_str()))
                    .await
            }
            Op::ProjectMemberRemove { project, email } => {
                let Some((project_id, user_id)) = self.project_user(project, email).await? else {
                    return Ok(Outcome::AlreadySo);
                };
                let path = format!("/construction/admin/v1/projects/{project_id}/users/{user_id}");
                let outcome = self
                    .write_one(Method::DELETE, &path, None, Outcome::AlreadySo)
                    .await?;
                if outcome.is_success() {
                    self.ids
                        .lock()
                        .await
                        .project_users
                        .remove(&(project_id, email.clone()));
                }
                Ok(outcome)
            }
            other => Ok(not_in_api(other)),
        }
    }

    async fn project_user(
        &self,
        project: &str,
        email: &Email,
    ) -> Result<Option<(String, String)>, BackendError> {
        let Some(project_id) = self.project_id(project).await? else {
            return Ok(None);
        };
        let key = (project_id.clone(), email.clone());
        Ok(self
            .ids
            .lock()
            .await
            .project_users
            .get(&key)
            .map(|user| (project_id, user.clone())))
    }

    async fn update_member(
        &self,
        email: &Email,
        record: &MemberRecord,
    ) -> Result<Outcome, BackendError> {
        if let Some(refusal) = unmanaged_fields(record) {
            return Ok(refusal);
        }
        let (user, company_id) = {
            let ids = self.ids.lock().await;
            let company_id = match &record.company {
                Some(company) => match ids.companies.get(company) {
                    Some(id) => Some(id.clone()),
                    None => {
                        return Ok(Outcome::refused_plain(format!(
                            "the company {company} is not in the account"
                        )));
                    }
                },
                None => None,
            };
            (ids.users.get(email).cloned(), company_id)
        };
        let Some(user) = user else {
            return Ok(Outcome::refused_plain(format!(
                "{email} is not in the account"
            )));
        };
        let names_differ = (record.first_name.is_some() && record.first_name != user.first_name)
            || (record.last_name.is_some() && record.last_name != user.last_name);
        if names_differ {
            return Ok(Outcome::refused_plain(format!(
                "{email}'s names cannot be changed through the vendor's public API (the member changes them in their own profile)"
            )));
        }
        if company_id.is_none() || company_id == user.company_id {
            return Ok(Outcome::AlreadySo);
        }
        let path = self.account_path(&format!("users/{}", user.id));
        let outcome = self
            .write_one(
                Method::PATCH,
                &path,
                Some(json!({ "company_id": company_id })),
                gone(email.as_str()),
            )
            .await?;
        if outcome == Outcome::Done {
            if let Some(user) = self.ids.lock().await.users.get_mut(email) {
                user.company_id = company_id;
            }
        }
        Ok(outcome)
    }

    async fn set_status(&self, email: &Email, status: &str) -> Result<Outcome, BackendError> {
        let user = self.ids.lock().await.users.get(email).cloned();
        let Some(user) = user else {
            return Ok(Outcome::refused_plain(format!(
                "{email} is not in the account"
            )));
        };
        let current = wire::status(user.status.as_deref());
        if matches!(current, MemberStatus::Pending | MemberStatus::NotInvited) {
            return Ok(Outcome::refused_plain(format!(
                "{email} has not accepted the invitation yet; the vendor changes the status only of members who have"
            )));
        }
        if user.status.as_deref() == Some(status) {
            return Ok(Outcome::AlreadySo);
        }
        let path = self.account_path(&format!("users/{}", user.id));
        let outcome = self
            .write_one(
                Method::PATCH,
                &path,
                Some(json!({ "status": status })),
                gone(email.as_str()),
            )
            .await?;
        if outcome == Outcome::Done {
            if let Some(user) = self.ids.lock().await.users.get_mut(email) {
                user.status = Some(status.to_owned());
            }
        }
        Ok(outcome)
    }

    async fn create_project(&self, name: &str) -> Result<Outcome, BackendError> {
        if self.project_id(name).await?.is_some() {
            return Ok(Outcome::AlreadySo);
        }
        let body = json!({ "name": name, "type": PROJECT_TYPE });
        let answer = self
            .client
            .send(
                Method::POST,
                &self.projects_path(),
                &[],
                Some(&body),
                Repeat::Once,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.client.error(&answer));
        }
        if let Ok(project) = self.client.decode::<Project>(&answer) {
            self.ids
                .lock()
                .await
                .projects
                .insert(project.name, project.id);
        }
        Ok(Outcome::Done)
    }
}

impl AccBackend {
    /// After a write the vendor may have carried out without our hearing of it (a 5xx
    /// or a dropped connection on a request that is not safe to send twice as it is):
    /// its operations not answered yet are `failed, retryable`, and the ids are read
    /// again before the next call, so the executor's resend finds what exists and
    /// answers `already_so`. Any other failure fails the call.
    async fn settle(
        &self,
        sent: Result<(), BackendError>,
        group: &[usize],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let Err(error) = sent else {
            return Ok(());
        };
        if error.retry() != Retry::IfRepeatable {
            return Err(error);
        }
        self.ids.lock().await.loaded = false;
        for &i in group {
            if outcomes[i].is_none() {
                outcomes[i] = Some(Outcome::Failed {
                    reason: format!(
                        "the vendor's answer was lost ({error}); the account is read again before it is sent again"
                    ),
                    retryable: true,
                });
            }
        }
        Ok(())
    }

    /// Carries out a batch whose size was checked: bulk kinds as one import each (one
    /// per project for project additions), every other operation as one call.
    async fn carry_out(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let of_kind = |name: &str| -> Vec<usize> {
            (0..batch.len())
                .filter(|&i| batch[i].name() == name)
                .collect()
        };
        let mut done_kinds = BTreeSet::new();
        for (i, op) in batch.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            match op {
                Op::CompanyCreate { .. } if done_kinds.insert(op.name()) => {
                    let group = of_kind(op.name());
                    let sent = self.create_companies(batch, &group, &mut outcomes).await;
                    self.settle(sent, &group, &mut outcomes).await?;
                }
                Op::MemberInvite { .. } if done_kinds.insert(op.name()) => {
                    let group = of_kind(op.name());
                    let sent = self.invite_members(batch, &group, &mut outcomes).await;
                    self.settle(sent, &group, &mut outcomes).await?;
                }
                Op::ProjectMemberAdd { project, .. } => {
                    let group: Vec<usize> = (0..batch.len())
                        .filter(|&j| {
                            matches!(&batch[j], Op::ProjectMemberAdd { project: p, .. } if p == project)
                        })
                        .collect();
                    let sent = self
                        .add_project_members(batch, project, &group, &mut outcomes)
                        .await;
                    self.settle(sent, &group, &mut outcomes).await?;
                }
                Op::ProjectCreate { name } => {
                    let sent = self
                        .create_project(name)
                        .await
                        .map(|o| outcomes[i] = Some(o));
                    self.settle(sent, &[i], &mut outcomes).await?;
                }
                Op::CompanyCreate { .. } | Op::MemberInvite { .. } => {}
                other => outcomes[i] = Some(self.one(other).await?),
            }
        }
        // An import answer that names neither success nor failure for an item.
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or(Outcome::Failed {
                    reason: "the vendor's answer did not mention this item".into(),
                    retryable: true,
                })
            })
            .collect())
    }
}

/// The refusal when the target of an update disappeared.
fn gone(what: &str) -> Outcome {
    Outcome::refused_plain(format!("{what} is no longer in the account"))
}

/// A refusal when a member record asks for what the API cannot set (role, access
/// levels, external subscriptions). `plan` reports those as not managed, so a record
/// from a plan made against this backend never has them.
fn unmanaged_fields(record: &MemberRecord) -> Option<Outcome> {
    (record.role.is_some()
        || !record.access.is_empty()
        || !record.external_subscriptions.is_empty())
    .then(|| {
        Outcome::refused_plain(
            "roles, account access levels and external subscriptions cannot be set through the vendor's public API",
        )
    })
}

#[async_trait]
impl Backend for AccBackend {
    fn url(&self) -> String {
        format!(
            "acc://{}?region={}",
            self.settings.account_id, self.settings.region
        )
    }

    fn capabilities(&self) -> Capabilities {
        let mut limits = Limits::uniform(HQ_IMPORT_LIMIT);
        limits
            .batch_by_kind
            .insert(OpKind::ProjectMemberAdd, PROJECT_IMPORT_LIMIT);
        Capabilities {
            kinds: KINDS.into_iter().collect(),
            unwritable: [
                MemberField::Names,
                MemberField::Role,
                MemberField::Access,
                MemberField::ExternalSubscriptions,
            ]
            .into(),
            limits,
            budgets: self.settings.limits.budgets(),
            manual: manual_actions(),
        }
    }

    fn caller(&self) -> &Caller {
        self.client.caller()
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        let state = self.read().await?;
        Ok(Snapshot {
            revision: revision_of(&state),
            state,
            now: self.clock.now(),
        })
    }

    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        self.ensure_ids().await?;
        let result = self.carry_out(batch).await;
        if result.is_err() {
            // The call may have been carried out in part: read the account again
            // before the next one, so what exists now answers `already_so`.
            self.ids.lock().await.loaded = false;
        }
        result
    }

    /// The account is the one the URL names: nothing to create, only ids to compare.
    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        if account.id == self.settings.account_id {
            Ok(Outcome::AlreadySo)
        } else {
            Err(BackendError::AccountMismatch {
                expected: account.id.clone(),
                found: self.settings.account_id.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn urls_name_the_account_and_a_known_region() {
        assert_eq!(
            parse(&url("acc://b.1234?region=emea")).unwrap(),
            ("b.1234".to_owned(), "EMEA".to_owned())
        );
        let e = parse(&url("acc://b.1234")).unwrap_err();
        assert!(e.to_string().contains("needs the account's region"), "{e}");
        assert!(parse(&url("acc://x?region=MARS")).is_err());
        assert!(matches!(
            parse(&url("acc://?region=US")),
            Err(BackendError::UnknownScheme { .. })
        ));
    }

    #[test]
    fn credentials_never_show_the_secret() {
        let c = Credentials {
            client_id: "id".into(),
            client_secret: "s3cret".into(),
            user_id: None,
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
