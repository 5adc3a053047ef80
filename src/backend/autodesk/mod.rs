//! The vendor backend: `--backend autodesk://ACCOUNT_ID?region=REGION`, the vendor as
//! a whole, in one plan and one apply: the ACC account through its account-admin API
//! ([`crate::backend::acc`]) and the configuration's `teams` through the Team Admin
//! API ([`team_admin`]). `acc://ACCOUNT_ID?region=REGION` is the same backend (the
//! name it had before teams). `autodesk://?region=REGION`, with no account id,
//! manages teams alone, for a firm without ACC: the ACC sections are then "not
//! managed by this backend".
//!
//! - **Two logins.** ACC takes the app's own (two-legged) token; the Team Admin API
//!   takes only a user's (three-legged) token, from `accord login` or, in CI,
//!   `APS_REFRESH_TOKEN` ([`user_token`]). Without a login, `acc://` and
//!   `autodesk://ACCOUNT` manage the ACC account alone and say why teams are not
//!   managed; `autodesk://?region=` needs one.
//! - **One call policy.** Both halves go through one [`Caller`] with both APIs'
//!   budgets (ACC's per endpoint family, Team Admin's 60 a UTC minute per team), so
//!   the counts and the pacing are the vendor's as a whole.
//! - **What is a manual step.** The Team Admin API cannot remove a user from a team,
//!   change a pool's size, rename or create a team, or change an inherited seat:
//!   those are manual steps of the plan (a declared team the login does not
//!   administer is refused by R14 before anything is written).
//! - `ACCORD_ACC_BASE_URL` points the whole vendor (authentication, ACC, Team Admin)
//!   at another base URL, for tests.

pub mod login;
pub mod team_admin;
pub mod user_token;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use self::team_admin::TeamAdmin;
use self::team_admin::client::{self as ta_client, TeamAdminClient};
use self::user_token::UserTokens;
use super::acc::{self, AccBackend, AccSettings};
use crate::call::{CallOptions, Caller};
use crate::contract::backend::Unfit;
use crate::contract::{
    Backend, BackendError, Capabilities, Limits, ManualAction, Op, OpKind, Outcome, Section,
    Snapshot,
};
use crate::state::{AccessLevel, AccountInfo, MemberState, State};
use crate::time::{Clock, SystemClock};

/// The team operations the Team Admin API carries out.
pub const TEAM_KINDS: [OpKind; 3] = [
    OpKind::TeamMemberAdd,
    OpKind::TeamSeatAssign,
    OpKind::TeamSeatUnassign,
];

/// Most team operations one call of the plan carries: a minute of one team's budget,
/// so the journal and the progress move every minute.
pub const TEAM_BATCH: usize = 60;

/// What a person does for the team changes the API cannot make.
fn team_manual_actions() -> BTreeMap<OpKind, ManualAction> {
    [
        (
            OpKind::TeamMemberRemove,
            ManualAction {
                action: "remove the user from the team in Autodesk Account (User Management, then By user, then Remove)".into(),
                why: "the vendor's Team Admin API cannot remove a user from a team".into(),
            },
        ),
        (
            OpKind::TeamUpdate,
            ManualAction {
                action: "buy or cancel seats of the pool, or rename the team, in Autodesk Account (Billing and orders; Settings)".into(),
                why: "the vendor's Team Admin API cannot change a pool's size or a team's name".into(),
            },
        ),
        (
            OpKind::TeamCreate,
            ManualAction {
                action: "create the team in Autodesk Account, then declare its id (`accord teams` lists it)".into(),
                why: "the vendor's Team Admin API cannot create a team".into(),
            },
        ),
    ]
    .into()
}

/// A vendor URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorUrl {
    /// The scheme as given (`autodesk` or `acc`).
    pub scheme: String,
    /// The ACC account (as given: with or without the hub's `b.`), if any.
    pub account: Option<String>,
    /// The region, if given (required with an account).
    pub region: Option<String>,
}

impl VendorUrl {
    /// Parses `autodesk://[ACCOUNT_ID]?region=REGION` or `acc://ACCOUNT_ID?region=REGION`.
    ///
    /// # Errors
    /// [`BackendError::UnknownScheme`] for another scheme, a path, or `acc://` without
    /// an account; [`BackendError::Rejected`] for a missing or unknown region where one
    /// is needed.
    pub fn parse(url: &Url) -> Result<Self, BackendError> {
        let unknown = || BackendError::UnknownScheme { url: shown(url) };
        let scheme = url.scheme().to_owned();
        if scheme != "autodesk" && scheme != "acc" {
            return Err(unknown());
        }
        let account = url.host_str().unwrap_or_default().to_owned();
        if !url.path().trim_matches('/').is_empty() {
            return Err(unknown());
        }
        if account.is_empty() {
            if scheme == "acc" {
                return Err(unknown());
            }
            let region = url
                .query_pairs()
                .find_map(|(k, v)| (k == "region").then(|| v.to_ascii_uppercase()));
            if let Some(region) = &region {
                if !acc::REGIONS.contains(&region.as_str()) {
                    return Err(region_needed(url, ""));
                }
            }
            return Ok(Self {
                scheme,
                account: None,
                region,
            });
        }
        let acc_url = Url::parse(&format!(
            "acc://{account}?{}",
            url.query().unwrap_or_default()
        ))
        .map_err(|_| unknown())?;
        let (account, region) = acc::parse(&acc_url).map_err(|e| match e {
            BackendError::Rejected { .. } => region_needed(url, &account),
            other => other,
        })?;
        Ok(Self {
            scheme,
            account: Some(account),
            region: Some(region),
        })
    }

    /// The URL, for messages and plans.
    #[must_use]
    pub fn shown(&self) -> String {
        let region = self
            .region
            .as_deref()
            .map(|r| format!("?region={r}"))
            .unwrap_or_default();
        format!(
            "{}://{}{region}",
            self.scheme,
            self.account.as_deref().unwrap_or_default()
        )
    }
}

/// `url` for a message: credentials in it are never echoed.
fn shown(url: &Url) -> String {
    crate::backend::http::shown_url(url.as_str())
}

fn region_needed(url: &Url, account: &str) -> BackendError {
    BackendError::Rejected {
        detail: format!(
            "`{}` needs the account's region: {}://{account}?region=REGION, one of {}",
            shown(url),
            url.scheme(),
            acc::REGIONS.join(", ")
        ),
    }
}

/// The Team Admin window's length: the vendor's minute, or a test's scaled one.
fn window_secs() -> u64 {
    std::env::var(ta_client::WINDOW_VARIABLE)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(ta_client::WINDOW_SECS)
}

/// The vendor: its ACC account, its teams, or both.
#[derive(Debug)]
pub struct VendorBackend {
    url: VendorUrl,
    acc: Option<AccBackend>,
    teams: Option<TeamAdmin>,
    /// Why teams are not managed, when they are not.
    no_teams: Option<String>,
    /// Both APIs' budgets, as the caller paces them.
    budgets: Vec<crate::call::Budget>,
    caller: Arc<Caller>,
    clock: Arc<dyn Clock>,
}

impl VendorBackend {
    /// Opens the vendor `url` names, with the credentials in the environment.
    ///
    /// # Errors
    /// As [`VendorUrl::parse`]; missing credentials for ACC; for a teams-only URL, no
    /// login for the Team Admin API.
    pub fn open(url: &Url, calls: CallOptions) -> Result<Self, BackendError> {
        let parsed = VendorUrl::parse(url)?;
        let base = std::env::var(acc::BASE_URL_VARIABLE)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| acc::DEFAULT_BASE_URL.to_owned());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let acc_settings = match &parsed.account {
            Some(account) => Some(AccSettings::from_env(
                &Url::parse(&format!(
                    "acc://{account}?region={}",
                    parsed.region.as_deref().unwrap_or_default()
                ))
                .map_err(|_| BackendError::UnknownScheme { url: shown(url) })?,
            )?),
            None => None,
        };
        let mut budgets = acc_settings
            .as_ref()
            .map(|s| s.limits.budgets())
            .unwrap_or_default();
        budgets.extend(ta_client::budgets(window_secs()));
        if acc_settings.is_none() {
            budgets.push(crate::call::Budget::per_minute(
                acc::client::TOKEN_FAMILY,
                acc::client::TOKEN_PER_MINUTE,
            ));
        }
        let caller = Arc::new(Caller::new(&budgets, calls));
        let acc = acc_settings
            .map(|settings| AccBackend::connect_sharing(settings, Arc::clone(&caller)))
            .transpose()?;
        let (teams, no_teams) = match UserTokens::from_env(&base, Arc::clone(&caller)) {
            Ok(tokens) => {
                let client = TeamAdminClient::new(&base, Arc::new(tokens), Arc::clone(&caller))?;
                (
                    Some(TeamAdmin::new(
                        client,
                        Arc::clone(&clock),
                        acc::default_poll(),
                    )),
                    None,
                )
            }
            Err(e) if acc.is_some() => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        Ok(Self {
            url: parsed,
            acc,
            teams,
            no_teams,
            budgets,
            caller,
            clock,
        })
    }

    /// The answers of the half that owns `ops` (`teams` says which half).
    async fn execute_half(&self, ops: &[Op], teams: bool) -> Result<Vec<Outcome>, BackendError> {
        let refuse = |why: String| {
            ops.iter()
                .map(|_| Outcome::refused_plain(why.clone()))
                .collect()
        };
        match (teams, &self.acc, &self.teams) {
            (false, Some(acc), _) => acc.execute(ops).await,
            (true, _, Some(half)) => half.execute(ops).await,
            (false, None, _) => Ok(refuse(format!(
                "{} manages teams only: this change needs an ACC account (autodesk://ACCOUNT_ID?region=REGION)",
                self.url()
            ))),
            (true, _, None) => Ok(refuse(self.no_teams.clone().unwrap_or_default())),
        }
    }
}

/// The people of the teams as the account's members, for a vendor of teams alone
/// (which has no account of members): every team user, with the names the team
/// lists, and the teams' admins (primary, secondary, SSO) as account admins. The
/// members are not this backend's to change; they are what a configuration of its
/// teams declares (R07: team users are declared members; R10: someone administers).
fn members_of(teams: &[team_admin::TeamRead]) -> BTreeMap<crate::state::Email, MemberState> {
    let mut members: BTreeMap<crate::state::Email, MemberState> = BTreeMap::new();
    for user in teams.iter().flat_map(|t| &t.users) {
        let member = members
            .entry(crate::state::Email::new(&user.email))
            .or_default();
        if member.first_name.is_none() {
            member.first_name.clone_from(&user.first_name);
        }
        if member.last_name.is_none() {
            member.last_name.clone_from(&user.last_name);
        }
        if user.is_admin() {
            member.access.insert(AccessLevel::AccountAdmin);
        }
        member.signed_in = true;
    }
    members
}

#[async_trait]
impl Backend for VendorBackend {
    fn url(&self) -> String {
        self.url.shown()
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = match &self.acc {
            Some(acc) => acc.capabilities(),
            None => Capabilities {
                kinds: BTreeSet::new(),
                unwritable: BTreeSet::new(),
                limits: Limits::uniform(TEAM_BATCH),
                budgets: Vec::new(),
                manual: BTreeMap::new(),
                unmanaged_because: BTreeMap::new(),
            },
        };
        capabilities.budgets.clone_from(&self.budgets);
        if self.teams.is_some() {
            capabilities.kinds.extend(TEAM_KINDS);
            for kind in TEAM_KINDS {
                capabilities.limits.batch_by_kind.insert(kind, TEAM_BATCH);
            }
            capabilities.manual.extend(team_manual_actions());
        } else if let Some(why) = &self.no_teams {
            capabilities
                .unmanaged_because
                .insert(Section::Teams, why.clone());
        }
        capabilities
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    fn focus_teams(&self, teams: &BTreeSet<String>) {
        if let Some(half) = &self.teams {
            half.focus(teams);
        }
    }

    async fn fetch(&self) -> Result<Snapshot, BackendError> {
        let acc = async {
            match &self.acc {
                Some(acc) => acc.fetch().await.map(|s| s.state),
                None => Ok(State::default()),
            }
        };
        let teams = async {
            match &self.teams {
                Some(half) => half.read().await,
                None => Ok(Vec::new()),
            }
        };
        let (acc, teams) = tokio::join!(acc, teams);
        let mut state = acc?;
        let teams = teams?;
        if self.acc.is_none() {
            state.members = members_of(&teams);
        }
        state.teams = teams
            .into_iter()
            .map(|read| (read.team.id, read.state))
            .collect();
        Ok(Snapshot {
            revision: acc::revision_of(&state),
            state,
            now: self.clock.now(),
        })
    }

    async fn preflight(&self, operations: &[Op]) -> Vec<Unfit> {
        match &self.acc {
            Some(acc) => acc.preflight(operations).await,
            None => Vec::new(),
        }
    }

    /// A batch holds one kind of operation (the plan batches by kind), so it goes to
    /// one half; a batch mixing both is split and its answers put back in order.
    async fn execute(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        for teams in [false, true] {
            let (positions, ops): (Vec<usize>, Vec<Op>) = batch
                .iter()
                .enumerate()
                .filter(|(_, op)| op.kind().section().is_team() == teams)
                .map(|(i, op)| (i, op.clone()))
                .unzip();
            if ops.is_empty() {
                continue;
            }
            let answers = self.execute_half(&ops, teams).await?;
            for (position, outcome) in positions.into_iter().zip(answers) {
                outcomes[position] = Some(outcome);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::refused_plain("the backend gave no answer")))
            .collect())
    }

    /// The ACC account is the one the URL names; teams alone hold no account.
    async fn ensure_account(&self, account: &AccountInfo) -> Result<Outcome, BackendError> {
        match &self.acc {
            Some(acc) => acc.ensure_account(account).await,
            None => Ok(Outcome::AlreadySo),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<VendorUrl, BackendError> {
        VendorUrl::parse(&Url::parse(text).unwrap())
    }

    #[test]
    fn the_vendor_is_named_with_or_without_an_acc_account() {
        let both = parse("autodesk://b.1234?region=emea").unwrap();
        assert_eq!(both.account.as_deref(), Some("b.1234"));
        assert_eq!(both.region.as_deref(), Some("EMEA"));
        assert_eq!(both.shown(), "autodesk://b.1234?region=EMEA");
        let old = parse("acc://1234?region=US").unwrap();
        assert_eq!(old.account.as_deref(), Some("1234"));
        let teams = parse("autodesk://?region=US").unwrap();
        assert_eq!(teams.account, None);
        assert_eq!(teams.shown(), "autodesk://?region=US");
        assert_eq!(parse("autodesk://").unwrap().account, None);
        assert!(parse("autodesk://?region=MARS").is_err());
        let e = parse("autodesk://b.1234").unwrap_err().to_string();
        assert!(e.contains("needs the account's region"), "{e}");
        assert!(matches!(
            parse("acc://?region=US"),
            Err(BackendError::UnknownScheme { .. })
        ));
        assert!(matches!(
            parse("autodesk://x/y?region=US"),
            Err(BackendError::UnknownScheme { .. })
        ));
    }
}
