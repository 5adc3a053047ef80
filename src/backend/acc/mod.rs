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
//! - **The account** is named by its hub id (`b.1234abcd`) or by the account id the
//!   API wants (the hub id without `b.`): both are accepted, the API is sent the
//!   account id, and the account keeps the name the URL gives it.
//! - **Credentials** come from `APS_CLIENT_ID` / `APS_CLIENT_SECRET` (a client-
//!   credentials token, see [`client`]) and `ACCORD_ACC_USER_ID` (an account admin's
//!   id, needed for `construction/admin` writes).
//! - **Before the first write** ([`Backend::preflight`], see [`preflight`]) every
//!   operation of the plan is checked against what the vendor will take: the
//!   credentials it needs, the fields the vendor requires, the project members the
//!   vendor keeps as asked, the statuses it can change.
//! - **Reading** ([`read`]) lists every family in pages (bare arrays of 100 under
//!   `hq`, envelopes of 200 under `construction/admin`), the projects' members
//!   concurrently, and keeps the vendor's ids by name and email, since accord's
//!   operations name things and the API wants ids. It waits (polling with backoff,
//!   within a bound) until what this process wrote and the vendor accepted but does
//!   not show yet is shown: a project being set up, users of a project import.
//! - **Writing** ([`write`]): a batch's company creations are one import call, its
//!   invitations one import call, its project additions one import per project (of
//!   at most 200 users), the projects' imports concurrently; a new project is waited
//!   for until the vendor has set it up before its members are imported; every
//!   other operation is one call, the batch's calls concurrently. Everything is
//!   paced by the call policy.
//! - The vendor keeps no revision: the snapshot's revision is a digest of the state
//!   read, so it changes whenever the account does.
//! - The vendor has no lock: the backend offers none, so `apply` takes a lock local
//!   to this process and says so (two `apply` runs on different machines are not
//!   kept apart; run them from one CI job).
//! - Every request goes through the call policy ([`crate::call::Caller`]) with the
//!   budgets of [`client::RateLimits`]. A write the vendor refuses to carry out twice
//!   (a project whose name exists: 409) is sent again when its answer is lost, and
//!   the refusal of the resend is the sign it was done (`already_so`). A project
//!   import whose answer was lost reads the project's users first and sends again
//!   only the rows it does not show. An `hq` import
//!   whose answer was lost is answered `failed, retryable` for the operations it
//!   carried, and the ids are read again: the executor sends those operations again,
//!   and what the vendor already has answers `already_so`.

pub mod client;
pub mod preflight;
mod read;
pub mod wire;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;

use client::{AccClient, Credentials, RateLimits};
use url::Url;
use wire::{ADMIN_PAGE, Envelope, HQ_PAGE, ProjectUser, User};

use crate::call::{Backoff, CallOptions, Caller, RetryPolicy};
use crate::contract::backend::Unfit;
use crate::contract::{
    Backend, BackendError, Capabilities, Limits, ManualAction, MemberField, Op, OpKind, Outcome,
    Snapshot,
};
use crate::state::{AccountInfo, Email, State};
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

/// The prefix of a hub id (`b.1234abcd`): the account id is the rest.
pub const HUB_PREFIX: &str = "b.";

/// Most items in one `hq/v1` import (companies, users).
pub const HQ_IMPORT_LIMIT: usize = 50;

/// Most users in one project import.
pub const PROJECT_IMPORT_LIMIT: usize = 200;

/// Most project additions one batch carries: they are sent as one import per project
/// (of at most [`PROJECT_IMPORT_LIMIT`] users), the projects' imports concurrently,
/// so a plan's additions for many projects cost one import per project, not one per
/// project per batch.
pub const PROJECT_ADD_BATCH: usize = 1_000;

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
fn manual_actions() -> BTreeMap<OpKind, ManualAction> {
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
    /// The account as the URL names it (`b.1234abcd` or `1234abcd`): the account id
    /// of the snapshot, so it is what `account.id` says.
    pub account_id: String,
    /// The region (`EMEA`).
    pub region: String,
    /// The API's base URL.
    pub base_url: String,
    /// The app's credentials.
    pub credentials: Credentials,
    /// Client-side limits per endpoint family.
    pub limits: RateLimits,
    /// How to wait for what the vendor accepted but does not show yet (a project
    /// being set up, a project import): the delays between looks (backing off from
    /// `initial_delay` to `max_delay`, with jitter) and the bound (`max_attempts`
    /// looks, `max_elapsed` in all). Past the bound accord carries on: a project
    /// still being set up fails its imports (retryably), an import still not shown
    /// is left to the verification.
    pub poll: RetryPolicy,
}

/// How long accord waits, by default, for the vendor to show what it accepted: looks
/// from a quarter of a second apart, backing off to two seconds (plus jitter), for at
/// most two minutes.
#[must_use]
pub fn default_poll() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 80,
        initial_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(120),
    }
}

/// Parses `acc://ACCOUNT_ID?region=REGION` into the account id (as given: with or
/// without the hub's `b.` prefix) and the region.
///
/// # Errors
/// [`BackendError::UnknownScheme`] for another scheme or no account id;
/// [`BackendError::Rejected`] for a missing or unknown region.
pub fn parse(url: &Url) -> Result<(String, String), BackendError> {
    let unknown = || BackendError::UnknownScheme {
        url: crate::backend::http::shown_url(url.as_str()),
    };
    if url.scheme() != "acc" {
        return Err(unknown());
    }
    let account = url.host_str().unwrap_or_default().to_owned();
    let path = url.path().trim_matches('/');
    if api_account_id(&account).is_empty() || !path.is_empty() {
        return Err(unknown());
    }
    let region = url
        .query_pairs()
        .find_map(|(key, value)| (key == "region").then(|| value.to_ascii_uppercase()));
    match region {
        Some(region) if REGIONS.contains(&region.as_str()) => Ok((account, region)),
        _ => Err(BackendError::Rejected {
            detail: format!(
                "`{}` needs the account's region: acc://{account}?region=REGION, one of {}",
                crate::backend::http::shown_url(url.as_str()),
                REGIONS.join(", ")
            ),
        }),
    }
}

/// The account id the API wants: the hub id (`b.1234abcd`) without its `b.` prefix.
#[must_use]
pub fn api_account_id(account: &str) -> &str {
    account.strip_prefix(HUB_PREFIX).unwrap_or(account)
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
            poll: default_poll(),
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

impl Ids {
    /// The projects `email` is a member of, with the user's id in each.
    fn memberships(&self, email: &Email) -> Vec<(String, String)> {
        self.project_users
            .iter()
            .filter(|((_, e), _)| e == email)
            .map(|((project, _), user)| (project.clone(), user.clone()))
            .collect()
    }
}

/// What this process wrote that the vendor accepted but may not show yet: it answers
/// a project creation and a project import with 202 and sets them up in the
/// background. Reads wait for these to show ([`read`]), so the apply's verification
/// sees its own writes; writes to a project wait until it is set up.
#[derive(Debug, Default)]
struct Pending {
    /// Projects created here, not yet seen set up: id -> (name, when created).
    projects: BTreeMap<String, (String, Instant)>,
    /// Names of projects the vendor said exist (409 to a creation) whose id is not
    /// known yet: the project a lost answer created, not listed yet.
    named: BTreeSet<String>,
    /// Users project imports carried, not yet seen in the project's list, by project id.
    members: BTreeMap<String, Awaited>,
}

/// Users imported into one project, not shown yet.
#[derive(Debug)]
struct Awaited {
    /// When the first of these imports was accepted.
    since: Instant,
    /// The users.
    emails: BTreeSet<Email>,
}

/// The last look at the projects' list taken while waiting for new projects to be
/// set up: every waiting project uses the same look, so the looks of many new
/// projects cost one list read a round, not one read per project.
#[derive(Debug, Default)]
struct Looks {
    /// When the look was taken.
    at: Option<Instant>,
    /// What it showed.
    projects: Vec<wire::Project>,
}

/// The vendor's account over its public API.
#[derive(Debug)]
pub struct AccBackend {
    client: AccClient,
    settings: AccSettings,
    ids: Mutex<Ids>,
    pending: Mutex<Pending>,
    looks: Mutex<Looks>,
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
        Self::connect_sharing(settings, caller)
    }

    /// As [`Self::connect`], its calls going through `caller` (one call policy for
    /// the whole vendor: its budgets must include [`RateLimits::budgets`]).
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub fn connect_sharing(
        settings: AccSettings,
        caller: Arc<Caller>,
    ) -> Result<Self, BackendError> {
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
            pending: Mutex::new(Pending::default()),
            looks: Mutex::new(Looks::default()),
            clock: Arc::new(SystemClock),
        })
    }

    /// The account id the API is sent (without the hub's `b.`).
    fn api_account(&self) -> &str {
        api_account_id(&self.settings.account_id)
    }

    fn account_path(&self, what: &str) -> String {
        format!("/hq/v1/accounts/{}/{what}", self.api_account())
    }

    fn projects_path(&self) -> String {
        format!(
            "/construction/admin/v1/accounts/{}/projects",
            self.api_account()
        )
    }

    /// The delays of one wait for the vendor to show something ([`AccSettings::poll`]).
    fn poll(&self) -> Backoff {
        self.settings.poll.backoff(fastrand::u64(..))
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

    async fn ensure_ids(&self) -> Result<(), BackendError> {
        if !self.ids.lock().await.loaded {
            self.read().await?;
        }
        Ok(())
    }
}

/// A digest of the state: the vendor keeps no revision, so this stands for one.
#[must_use]
pub fn revision_of(state: &State) -> u64 {
    let bytes = serde_json::to_vec(state).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
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
            .insert(OpKind::ProjectMemberAdd, PROJECT_ADD_BATCH);
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
            unmanaged_because: BTreeMap::new(),
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

    async fn preflight(&self, operations: &[Op]) -> Vec<Unfit> {
        // The ids are those of the fetch the plan was made from; read them if a
        // caller planned without one (a failed read leaves the live checks out:
        // the writes then answer for themselves).
        let _ = self.ensure_ids().await;
        let ids = self.ids.lock().await;
        let in_projects: BTreeSet<Email> =
            ids.project_users.keys().map(|(_, e)| e.clone()).collect();
        let live = preflight::Live {
            loaded: ids.loaded,
            users: &ids.users,
            in_projects: &in_projects,
        };
        preflight::unfit(
            operations,
            &live,
            self.settings.credentials.user_id.as_deref(),
        )
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
        assert!(matches!(
            parse(&url("acc://b.?region=US")),
            Err(BackendError::UnknownScheme { .. })
        ));
    }

    #[test]
    fn the_api_is_sent_the_hub_id_without_its_prefix() {
        assert_eq!(api_account_id("b.1234abcd"), "1234abcd");
        assert_eq!(api_account_id("1234abcd"), "1234abcd");
        assert_eq!(api_account_id("bx.12"), "bx.12");
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
