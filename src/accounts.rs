//! Many accounts in one repository: `plan --accounts DIR` and `apply --accounts DIR`
//! plan (or apply) every account of DIR in one command and report them together.
//!
//! - Each subdirectory of DIR (not hidden, sorted by name) is one account's
//!   configuration ([`discover`]).
//! - Its backend: the environment variable `ACCORD_BACKEND_<NAME>` (the directory's
//!   name uppercased, every character but letters and digits turned into `_`), else
//!   `--backend` / `ACCORD_BACKEND` with `{account}` replaced by the directory's name
//!   (`sqlite:stores/{account}.db`). A `--backend` without `{account}` names no
//!   account's backend: such an account fails, never shares another's backend
//!   ([`backend_url`]). The configuration format has no key for the backend (unknown
//!   keys are errors), so the configuration never names it.
//! - Accounts run concurrently (at most `jobs` at once). Accounts on one service
//!   (one account service `http://HOST:PORT`, the vendor's APIs) share one call
//!   budget ([`crate::call::CallOptions::shared`], keyed by [`service_key`]): together
//!   they never send faster than one account alone would.
//! - One account's failure never stops the others. The [`Report`] holds each
//!   account's plan or apply summary under its name, and the command's exit code is
//!   the worst of the accounts' by [`Outcome::rank`]: 1 (a failure: invalid
//!   configuration, unreachable backend, an apply that did not converge) before 3
//!   (refused by a safety rule) before 2 (changes, with `--detailed-exitcode`)
//!   before 0.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio::time::Instant;

use crate::apply::lock::{self, LockOptions, Stop};
use crate::apply::progress::Silent;
use crate::apply::{ExecuteOptions, Summary};
use crate::backend::OpenOptions;
use crate::call::CallOptions;
use crate::config::LoadOptions;
use crate::error::{Error, exit};
use crate::pipeline::{self, CarryOut, PlanOptions};
use crate::plan::render::{self, Format};
use crate::plan::scope::Target;
use crate::plan::{Plan, render::summary_line};
use crate::validate::validate;

/// The placeholder `--backend` gives each account's name in.
pub const ACCOUNT_PLACEHOLDER: &str = "{account}";

/// One account of the repository: a configuration directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The directory's name: the account's name in reports and its variable.
    pub name: String,
    /// The configuration.
    pub path: PathBuf,
}

/// The accounts of `dir`: its subdirectories, hidden ones (`.git`, `.accord`) left
/// out, sorted by name.
///
/// # Errors
/// [`Error::Io`] when `dir` cannot be read, [`Error::Refusal`] when it holds no
/// subdirectory.
pub fn discover(dir: &Path) -> Result<Vec<Account>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        action: "cannot read the accounts directory",
        path: dir.to_owned(),
        source,
    })?;
    let mut accounts: Vec<Account> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            (!name.starts_with('.')).then(|| Account {
                name,
                path: entry.path(),
            })
        })
        .collect();
    accounts.sort_by(|a, b| a.name.cmp(&b.name));
    if accounts.is_empty() {
        return Err(Error::Refusal(format!(
            "{} holds no account: with --accounts, each subdirectory is one account's configuration",
            dir.display()
        )));
    }
    Ok(accounts)
}

/// `ACCORD_BACKEND_<NAME>`: the variable naming `account`'s backend.
#[must_use]
pub fn variable(account: &str) -> String {
    let name: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ACCORD_BACKEND_{name}")
}

/// The backend of `account`: its variable (read with `env`), else `template` with
/// [`ACCOUNT_PLACEHOLDER`] replaced by its name.
///
/// # Errors
/// A message saying how to name one, when neither does.
pub fn backend_url(
    account: &str,
    template: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let variable = variable(account);
    if let Some(url) = env(&variable).filter(|url| !url.trim().is_empty()) {
        return Ok(url);
    }
    if template.contains(ACCOUNT_PLACEHOLDER) {
        return Ok(template.replace(ACCOUNT_PLACEHOLDER, account));
    }
    Err(format!(
        "no backend for account {account}: set {variable}, or give --backend with `{ACCOUNT_PLACEHOLDER}` in it (sqlite:stores/{ACCOUNT_PLACEHOLDER}.db)"
    ))
}

/// What backends share a call budget: one account service (`http://HOST:PORT`), the
/// vendor's APIs (every `autodesk://` and `acc://` account: one app's budget), or,
/// for the embedded store, the file itself (no budget to share).
#[must_use]
pub fn service_key(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        return match scheme {
            "autodesk" | "acc" => "autodesk".to_owned(),
            _ => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                // Credentials, if any, are not part of the service.
                let host = authority.rsplit('@').next().unwrap_or_default();
                format!("{scheme}://{}", host.to_ascii_lowercase())
            }
        };
    }
    url.to_owned()
}

fn shared_budget(url: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    service_key(url).hash(&mut hasher);
    hasher.finish()
}

/// How one account ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The account matches its configuration (an apply: converged).
    NoChanges,
    /// `plan`: there are changes to make.
    Changes,
    /// `apply`: carried out and verified.
    Converged,
    /// A safety rule (R11-R14) refused the plan; nothing was changed.
    Refused,
    /// Anything else: an invalid configuration, no backend, an unreachable backend,
    /// an apply that did not converge.
    Failed,
}

impl Outcome {
    /// Worse outcomes rank higher: failed, refused, changes, then the rest.
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            Self::Failed => 3,
            Self::Refused => 2,
            Self::Changes => 1,
            Self::NoChanges | Self::Converged => 0,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::NoChanges => "without changes",
            Self::Changes => "with changes",
            Self::Converged => "converged",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// Why an account failed or was refused, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The error's stable kind (`invalid_configuration`, `backend.unreachable`, ...).
    pub kind: String,
    /// The error's message.
    pub message: String,
    /// More lines to show (an invalid configuration's diagnostics).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl Problem {
    fn of(error: &Error) -> Self {
        let details = match error {
            Error::Invalid(diagnostics) => crate::report::human(diagnostics, false),
            _ => String::new(),
        };
        Self {
            kind: error.kind(),
            message: error.to_string(),
            details,
        }
    }
}

/// One account in the combined report.
#[derive(Debug, Clone, Serialize)]
pub struct AccountReport {
    /// The account's name (its directory's).
    pub name: String,
    /// Its configuration directory.
    pub path: String,
    /// Its backend, as messages show it; absent when none could be named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Its own exit code, as the single-account command would have exited.
    pub exit_code: u8,
    /// Its plan (a refused plan too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// `apply`: what the apply did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Why it failed or was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

impl AccountReport {
    fn new(account: &Account) -> Self {
        Self {
            name: account.name.clone(),
            path: account.path.display().to_string(),
            backend: None,
            outcome: Outcome::Failed,
            exit_code: exit::FAILURE,
            plan: None,
            summary: None,
            error: None,
        }
    }

    fn failed(mut self, error: &Error) -> Self {
        self.outcome = if error.exit_code() == exit::REFUSED {
            Outcome::Refused
        } else {
            Outcome::Failed
        };
        self.exit_code = error.exit_code();
        self.plan = self.plan.or_else(|| error.plan().cloned());
        self.error = Some(Problem::of(error));
        self
    }
}

/// The combined report of every account.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The report's format version.
    pub version: u32,
    /// `plan` or `apply`.
    pub command: &'static str,
    /// The command's exit code: the worst account's.
    pub exit_code: u8,
    /// Each account, by name.
    pub accounts: Vec<AccountReport>,
}

impl Report {
    fn of(command: &'static str, mut accounts: Vec<AccountReport>) -> Self {
        accounts.sort_by(|a, b| a.name.cmp(&b.name));
        let exit_code = accounts
            .iter()
            .max_by_key(|a| a.outcome.rank())
            .map_or(exit::OK, |a| a.exit_code);
        Self {
            version: 1,
            command,
            exit_code,
            accounts,
        }
    }

    /// Each account's plan or summary under a `== account NAME (BACKEND)` heading,
    /// then one line per account with its outcome and exit code.
    #[must_use]
    pub fn text(&self, colour: bool) -> String {
        let mut out = String::new();
        for account in &self.accounts {
            let backend = account
                .backend
                .as_ref()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default();
            let _ = writeln!(out, "== account {}{backend}\n", account.name);
            if let Some(plan) = &account.plan {
                out.push_str(&render::render(plan, Format::Text, colour));
            }
            if let Some(summary) = &account.summary {
                out.push('\n');
                out.push_str(&summary.text());
            }
            if let Some(error) = &account.error {
                out.push_str(&error.details);
                let _ = writeln!(out, "error: {}", error.message);
            }
            out.push('\n');
        }
        out.push_str(&self.summary_text());
        out
    }

    fn summary_text(&self) -> String {
        let width = self
            .accounts
            .iter()
            .map(|a| a.name.len())
            .max()
            .unwrap_or(0);
        let mut out = format!("Accounts: {} ({}):\n", self.accounts.len(), self.counts());
        for account in &self.accounts {
            let _ = writeln!(
                out,
                "  {:width$}  exit {}  {}",
                account.name,
                account.exit_code,
                self.detail(account)
            );
        }
        let _ = writeln!(out, "Exit code: {} (the worst account's).", self.exit_code);
        out
    }

    fn counts(&self) -> String {
        let mut counts: Vec<(Outcome, usize)> = Vec::new();
        for account in &self.accounts {
            match counts.iter_mut().find(|(o, _)| *o == account.outcome) {
                Some((_, n)) => *n += 1,
                None => counts.push((account.outcome, 1)),
            }
        }
        counts.sort_by_key(|(o, _)| std::cmp::Reverse(o.rank()));
        counts
            .iter()
            .map(|(o, n)| format!("{n} {}", o.words()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn detail(&self, account: &AccountReport) -> String {
        let words = account.outcome.words();
        match (&account.error, &account.plan, &account.summary) {
            (Some(error), _, _) => format!("{words}: {}", first_line(&error.message)),
            (None, _, Some(summary)) => {
                format!(
                    "{words}: {}",
                    crate::apply::report::operations(summary.operations)
                )
            }
            (None, Some(plan), None) if !plan.is_empty() => summary_line(&plan.summary),
            (None, Some(plan), None) if !plan.manual.is_empty() => {
                format!("{} manual steps", plan.manual.len())
            }
            (None, Some(plan), None) => summary_line(&plan.summary),
            _ => words.to_owned(),
        }
    }

    /// The report as markdown: a table of the accounts, then each account's plan.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "## accord {} of {} accounts\n\n| account | outcome | exit |\n|---|---|---:|\n",
            self.command,
            self.accounts.len()
        );
        for account in &self.accounts {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                account.name,
                self.detail(account).replace('|', "\\|"),
                account.exit_code
            );
        }
        let _ = writeln!(
            out,
            "\nExit code: {} (the worst account's).\n",
            self.exit_code
        );
        for account in &self.accounts {
            let _ = writeln!(out, "## account `{}`\n", account.name);
            if let Some(plan) = &account.plan {
                out.push_str(&render::render(plan, Format::Markdown, false));
                out.push('\n');
            }
            if let Some(error) = &account.error {
                let _ = writeln!(out, "**error:** {}\n", error.message);
                if !error.details.is_empty() {
                    let _ = writeln!(out, "```\n{}```\n", error.details);
                }
            }
        }
        out
    }

    /// The report as pretty JSON (each plan as `plan --format json` prints it).
    ///
    /// # Panics
    /// Never: a report is plain data.
    #[must_use]
    pub fn json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a report is plain data");
        json.push('\n');
        json
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// What planning or applying every account needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--backend`: the template for accounts without their own variable.
    pub backend: String,
    /// How configurations are read.
    pub load: LoadOptions,
    /// `--max-removals`, `--skip-unsupported`.
    pub plan: PlanOptions,
    /// `--target`, for every account (a target an account lacks fails it).
    pub targets: Vec<Target>,
    /// At most this many accounts at once.
    pub jobs: usize,
    /// `plan --detailed-exitcode`: an account with changes exits 2.
    pub detailed_exitcode: bool,
    /// `apply`: `--max-rate`, `--parallelism`, the lock's times, where journals go
    /// (one subdirectory per account).
    pub apply: ApplySettings,
}

/// What `apply --accounts` adds.
#[derive(Debug, Clone, Default)]
pub struct ApplySettings {
    /// `--max-rate`.
    pub max_rate: Option<f64>,
    /// `--parallelism`, per account.
    pub parallelism: usize,
    /// The lock's options.
    pub lock: LockOptions,
    /// Journals go to `runs_dir/NAME`.
    pub runs_dir: PathBuf,
}

/// Plans every account; see the module docs.
pub async fn plan(accounts: Vec<Account>, settings: Settings) -> Report {
    Report::of("plan", run_all(accounts, settings, false).await)
}

/// Applies every account (approved beforehand: `--auto-approve`); see the module docs.
pub async fn apply(accounts: Vec<Account>, settings: Settings) -> Report {
    Report::of("apply", run_all(accounts, settings, true).await)
}

async fn run_all(accounts: Vec<Account>, settings: Settings, apply: bool) -> Vec<AccountReport> {
    let settings = Arc::new(settings);
    let slots = Arc::new(tokio::sync::Semaphore::new(settings.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for account in accounts {
        let settings = Arc::clone(&settings);
        let slots = Arc::clone(&slots);
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let report = AccountReport::new(&account);
            if apply {
                apply_one(&account, &settings, report).await
            } else {
                plan_one(&account, &settings, report).await
            }
        });
    }
    let mut reports = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(report) = done {
            reports.push(report);
        }
    }
    reports
}

/// Opens the account's backend, with the budget its service shares.
async fn open(
    account: &Account,
    settings: &Settings,
    report: &mut AccountReport,
) -> Result<Arc<dyn crate::contract::Backend>, Error> {
    let url = backend_url(&account.name, &settings.backend, |name| {
        std::env::var(name).ok()
    })
    .map_err(Error::Refusal)?;
    report.backend = Some(crate::backend::http::shown_url(&url));
    let options = OpenOptions {
        calls: CallOptions {
            max_rate: settings.apply.max_rate,
            shared: Some(shared_budget(&url)),
            ..CallOptions::default()
        },
        ..OpenOptions::default()
    };
    pipeline::open(&url, &options).await
}

async fn plan_one(
    account: &Account,
    settings: &Settings,
    mut report: AccountReport,
) -> AccountReport {
    let validated = match validate(&account.path, &settings.load) {
        Ok(validated) => validated,
        Err(diagnostics) => return report.failed(&Error::Invalid(diagnostics)),
    };
    let backend = match open(account, settings, &mut report).await {
        Ok(backend) => backend,
        Err(error) => return report.failed(&error),
    };
    let checked = pipeline::check_targeted(
        backend.as_ref(),
        &validated.desired,
        PlanOptions {
            drift: true,
            ..settings.plan
        },
        &settings.targets,
    )
    .await;
    match checked {
        Ok(checked) => {
            let changes = !checked.plan.is_empty() || !checked.plan.manual.is_empty();
            report.outcome = if changes {
                Outcome::Changes
            } else {
                Outcome::NoChanges
            };
            report.exit_code = if changes && settings.detailed_exitcode {
                exit::CHANGES
            } else {
                exit::OK
            };
            report.plan = Some(checked.plan);
            report
        }
        Err(error) => report.failed(&error),
    }
}

async fn apply_one(
    account: &Account,
    settings: &Settings,
    mut report: AccountReport,
) -> AccountReport {
    let started = Instant::now();
    let validated = match validate(&account.path, &settings.load) {
        Ok(validated) => validated,
        Err(diagnostics) => return report.failed(&Error::Invalid(diagnostics)),
    };
    let backend = match open(account, settings, &mut report).await {
        Ok(backend) => backend,
        Err(error) => return report.failed(&error),
    };
    let holder = lock::holder();
    let stop = Stop::default();
    let held = match pipeline::lock(
        backend.as_ref(),
        &holder,
        &settings.apply.lock,
        &stop,
        |_, _| {},
    )
    .await
    {
        Ok(held) => held,
        Err(error) => return report.failed(&error),
    };
    let result = async {
        let checked = pipeline::check_targeted(
            backend.as_ref(),
            &validated.desired,
            PlanOptions {
                drift: false,
                ..settings.plan
            },
            &settings.targets,
        )
        .await?;
        report.plan = Some(checked.plan.clone());
        let carry = CarryOut {
            holder: holder.clone(),
            runs_dir: settings.apply.runs_dir.join(&account.name),
            execute: ExecuteOptions {
                parallelism: settings.apply.parallelism,
            },
            progress: Arc::new(Silent),
            stop: stop.clone(),
            started,
        };
        pipeline::carry_out(Arc::clone(&backend), checked.plan.clone(), &checked, carry).await
    }
    .await;
    let _ = held.release().await;
    match result {
        Ok(summary) => {
            let converged = pipeline::converged(&summary);
            report.summary = Some(summary);
            match converged {
                Ok(()) => {
                    report.outcome = Outcome::Converged;
                    report.exit_code = exit::OK;
                    report
                }
                Err(error) => report.failed(&error),
            }
        }
        Err(error) => report.failed(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_names_its_backend_by_its_variable_or_the_template() {
        assert_eq!(variable("acme-eu"), "ACCORD_BACKEND_ACME_EU");
        assert_eq!(variable("nord.bau 2"), "ACCORD_BACKEND_NORD_BAU_2");
        let env = |name: &str| (name == "ACCORD_BACKEND_ACME_EU").then(|| "http://x:1".to_owned());
        assert_eq!(
            backend_url("acme-eu", "sqlite:{account}.db", env),
            Ok("http://x:1".into())
        );
        assert_eq!(
            backend_url("nordbau", "sqlite:s/{account}.db", env),
            Ok("sqlite:s/nordbau.db".into())
        );
        assert_eq!(
            backend_url("nordbau", "sqlite:.accord/state.db", env).unwrap_err(),
            "no backend for account nordbau: set ACCORD_BACKEND_NORDBAU, or give --backend with `{account}` in it (sqlite:stores/{account}.db)"
        );
    }

    #[test]
    fn accounts_on_one_service_share_its_budget() {
        assert_eq!(service_key("http://Svc:8080/v1"), "http://svc:8080");
        assert_eq!(service_key("https://u:p@svc"), "https://svc");
        assert_eq!(service_key("autodesk://A1?region=US"), "autodesk");
        assert_eq!(service_key("acc://B2"), "autodesk");
        assert_eq!(service_key("sqlite:a.db"), "sqlite:a.db");
        assert_eq!(
            shared_budget("http://svc:1/a"),
            shared_budget("http://svc:1/b")
        );
        assert_ne!(shared_budget("sqlite:a.db"), shared_budget("sqlite:b.db"));
    }

    #[test]
    fn the_worst_outcome_gives_the_exit_code() {
        let account = |name: &str, outcome, exit_code| AccountReport {
            outcome,
            exit_code,
            ..AccountReport::new(&Account {
                name: name.into(),
                path: name.into(),
            })
        };
        let report = Report::of(
            "plan",
            vec![
                account("b", Outcome::Refused, 3),
                account("a", Outcome::Changes, 2),
                account("c", Outcome::NoChanges, 0),
            ],
        );
        assert_eq!(report.exit_code, 3);
        let names: Vec<&str> = report.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let report = Report::of(
            "plan",
            vec![
                account("a", Outcome::Refused, 3),
                account("b", Outcome::Failed, 1),
            ],
        );
        assert_eq!(report.exit_code, 1);
        assert_eq!(
            Report::of("plan", vec![account("a", Outcome::Changes, 0)]).exit_code,
            0
        );
    }
}
