//! Reading the account, and waiting for what the vendor accepted but does not show
//! yet.
//!
//! The vendor answers a project creation and a project import with 202 and carries
//! them out in the background: a new project is `pending` (it takes no writes) and
//! is not listed for a while; imported users show in the project's list only later.
//! What this process wrote is remembered ([`super::Pending`]) until it shows, and a
//! read waits for it (looking again with the backoff of [`super::AccSettings::poll`],
//! within its bound), so the state an apply verifies holds its own writes. Only what
//! is missing is looked at again, and as few times as possible:
//!
//! - new projects, by the projects' list: every project waiting to be set up uses
//!   the same look ([`super::Looks`]), so many new projects cost one read a round;
//! - imported users, by their project's list, one project after another in the
//!   order they were imported: the vendor takes about as long for each, so once the
//!   first shows the others mostly have too, and each costs one more read.
//!
//! Past the bound a read answers what the vendor shows, and forgets the wait.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::wire::{self, Company, Project, ProjectUser, User};
use super::{AccBackend, Ids};
use crate::contract::BackendError;
use crate::state::{
    AccountInfo, CompanyState, Email, MemberState, ProjectMemberState, ProjectState, State,
};

impl AccBackend {
    /// Reads the account and refreshes the ids.
    pub(super) async fn read(&self) -> Result<State, BackendError> {
        let (companies_path, users_path) =
            (self.account_path("companies"), self.account_path("users"));
        let (companies, users, projects) = tokio::try_join!(
            self.list_hq::<Company>(&companies_path),
            self.list_hq::<User>(&users_path),
            self.projects_shown(),
        )?;
        let mut members = Vec::with_capacity(projects.len());
        for listed in join_all(projects.iter().map(|p| self.project_users(&p.id))).await {
            members.push(listed?);
        }
        self.wait_for_imports(&projects, &mut members).await?;
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
        for (project, users) in projects.into_iter().zip(members) {
            let mut members = BTreeMap::new();
            for user in users {
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

    /// The account's projects, with those created here that the vendor does not
    /// list yet once it has set them up (or the wait's bound passed).
    async fn projects_shown(&self) -> Result<Vec<Project>, BackendError> {
        let mut listed: Vec<Project> = self.list_admin(&self.projects_path()).await?;
        let awaited: Vec<String> = {
            let pending = self.pending.lock().await;
            pending
                .projects
                .keys()
                .filter(|id| !listed.iter().any(|p| &p.id == *id && p.is_set_up()))
                .cloned()
                .collect()
        };
        for project in join_all(awaited.iter().map(|id| self.wait_set_up(id))).await {
            if let Some(project) = project? {
                listed.retain(|p| p.id != project.id);
                listed.push(project);
            }
        }
        let named: Vec<String> = {
            let pending = self.pending.lock().await;
            pending
                .named
                .iter()
                .filter(|n| !listed.iter().any(|p| &p.name == *n))
                .cloned()
                .collect()
        };
        if !named.is_empty() {
            listed = self.wait_listed(&named).await?;
        }
        Ok(listed)
    }

    /// Replaces the lists of `projects` (in `members`, in the same order) whose users
    /// imported here do not all show, looking again at one project after another in
    /// the order they were imported, each until its users show (or the bound).
    async fn wait_for_imports(
        &self,
        projects: &[Project],
        members: &mut [Vec<ProjectUser>],
    ) -> Result<(), BackendError> {
        let mut waiting: Vec<(Instant, usize)> = Vec::new();
        for (at, (project, users)) in projects.iter().zip(members.iter()).enumerate() {
            if let Some(since) = self.still_awaited(&project.id, users).await {
                waiting.push((since, at));
            }
        }
        waiting.sort();
        let mut delay = ShowDelay::default();
        for (since, at) in waiting {
            members[at] = self.wait_shown(&projects[at].id, since, &mut delay).await?;
        }
        Ok(())
    }

    /// Crosses off the users of `project_id` that `users` shows; answers when the
    /// first import of those still missing was accepted, if any are.
    async fn still_awaited(&self, project_id: &str, users: &[ProjectUser]) -> Option<Instant> {
        let mut pending = self.pending.lock().await;
        let awaited = pending.members.get_mut(project_id)?;
        for user in users {
            awaited.emails.remove(&Email::new(&user.email));
        }
        if awaited.emails.is_empty() {
            pending.members.remove(project_id);
            return None;
        }
        Some(awaited.since)
    }

    /// Looks at a project's users again until the users imported into it here (the
    /// first import accepted at `since`) show; answers the last list. When `delay`
    /// knows how long the vendor took to show an earlier project's import, it looks
    /// where that delay will have passed (twice at most); otherwise, or when those
    /// looks miss, with backoff within the bound. Either way `delay` learns.
    async fn wait_shown(
        &self,
        project_id: &str,
        since: Instant,
        delay: &mut ShowDelay,
    ) -> Result<Vec<ProjectUser>, BackendError> {
        for guess in delay.guesses() {
            tokio::time::sleep_until(since + guess).await;
            let (users, shown) = self.look_for_imports(project_id, since, delay).await?;
            if shown {
                return Ok(users);
            }
        }
        let mut backoff = None;
        loop {
            let (users, shown) = self.look_for_imports(project_id, since, delay).await?;
            if shown {
                return Ok(users);
            }
            let Some(delay) = backoff.get_or_insert_with(|| self.poll()).next_delay(None) else {
                tracing::warn!(
                    project = project_id,
                    "imported users did not show in the project within the wait's bound"
                );
                self.pending.lock().await.members.remove(project_id);
                return Ok(users);
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// One look at a project's users: whether those imported here (since `since`)
    /// all show, which `delay` learns from.
    async fn look_for_imports(
        &self,
        project_id: &str,
        since: Instant,
        delay: &mut ShowDelay,
    ) -> Result<(Vec<ProjectUser>, bool), BackendError> {
        let sent = Instant::now();
        let users = self.project_users(project_id).await?;
        let shown = self.still_awaited(project_id, &users).await.is_none();
        if shown {
            delay.shown_within(since.elapsed());
        } else {
            delay.not_shown_after(sent.saturating_duration_since(since));
        }
        Ok((users, shown))
    }

    /// A project's users, waiting for those imported here to show.
    pub(super) async fn project_users_shown(
        &self,
        project_id: &str,
    ) -> Result<Vec<ProjectUser>, BackendError> {
        let users = self.project_users(project_id).await?;
        let Some(since) = self.still_awaited(project_id, &users).await else {
            return Ok(users);
        };
        self.wait_shown(project_id, since, &mut ShowDelay::default())
            .await
    }

    /// A look at the projects' list taken after `after`: the last one if it is, else
    /// a new one. One look is taken at a time, so projects waiting together share it.
    async fn look_at_projects(
        &self,
        after: Instant,
    ) -> Result<(Instant, Vec<Project>), BackendError> {
        let mut looks = self.looks.lock().await;
        if let Some(at) = looks.at.filter(|at| *at > after) {
            return Ok((at, looks.projects.clone()));
        }
        let at = Instant::now();
        let listed: Vec<Project> = self.list_admin(&self.projects_path()).await?;
        looks.at = Some(at);
        looks.projects.clone_from(&listed);
        Ok((at, listed))
    }

    /// Waits until the project `id` (created here) is set up: looks at the projects'
    /// list, with backoff, within the bound. Answers the project once set up, or
    /// `None` if the vendor did not show it set up in time; forgets the wait either way.
    pub(super) async fn wait_set_up(&self, id: &str) -> Result<Option<Project>, BackendError> {
        let Some(mut last) = self
            .pending
            .lock()
            .await
            .projects
            .get(id)
            .map(|(_, at)| *at)
        else {
            return Ok(None);
        };
        let mut backoff = None;
        loop {
            let (at, listed) = self.look_at_projects(last).await?;
            last = at;
            if let Some(project) = listed.into_iter().find(|p| p.id == id && p.is_set_up()) {
                self.pending.lock().await.projects.remove(id);
                return Ok(Some(project));
            }
            let Some(delay) = backoff.get_or_insert_with(|| self.poll()).next_delay(None) else {
                tracing::warn!(
                    project = id,
                    "the project was not set up within the wait's bound"
                );
                self.pending.lock().await.projects.remove(id);
                return Ok(None);
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// Lists the projects until every one of `names` (projects the vendor said exist)
    /// shows, with backoff, within the bound; answers the last list.
    async fn wait_listed(&self, names: &[String]) -> Result<Vec<Project>, BackendError> {
        let mut backoff = None;
        loop {
            let listed: Vec<Project> = self.list_admin(&self.projects_path()).await?;
            let all = names.iter().all(|n| listed.iter().any(|p| &p.name == n));
            let delay = if all {
                None
            } else {
                backoff.get_or_insert_with(|| self.poll()).next_delay(None)
            };
            let Some(delay) = delay else {
                let mut pending = self.pending.lock().await;
                for project in &listed {
                    if pending.named.remove(&project.name) && !project.is_set_up() {
                        pending
                            .projects
                            .insert(project.id.clone(), (project.name.clone(), Instant::now()));
                    }
                }
                if !all {
                    tracing::warn!(
                        ?names,
                        "projects the vendor said exist were not listed within the wait's bound"
                    );
                    for name in names {
                        pending.named.remove(name);
                    }
                }
                return Ok(listed);
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// The id of `project` for a write: known, or read again (waiting for it when the
    /// vendor said it exists but does not list it yet).
    pub(super) async fn project_id(&self, project: &str) -> Result<Option<String>, BackendError> {
        if let Some(id) = self.ids.lock().await.projects.get(project) {
            return Ok(Some(id.clone()));
        }
        let named = self.pending.lock().await.named.contains(project);
        let projects = if named {
            self.wait_listed(&[project.to_owned()]).await?
        } else {
            self.list_admin(&self.projects_path()).await?
        };
        let mut ids = self.ids.lock().await;
        for p in projects {
            ids.projects.insert(p.name, p.id);
        }
        Ok(ids.projects.get(project).cloned())
    }

    /// Whether the project `id` takes writes: waits for one this process created
    /// until the vendor has set it up (within the bound).
    pub(super) async fn set_up(&self, id: &str) -> Result<bool, BackendError> {
        if !self.pending.lock().await.projects.contains_key(id) {
            return Ok(true);
        }
        Ok(self.wait_set_up(id).await?.is_some())
    }
}

/// What the looks so far tell of the vendor's delay between accepting a project
/// import and showing its users: more than `shorter`, at most `longer` (once an
/// import was seen to show). The vendor sets one account's imports up alike, so
/// the first project waited for with backoff tells when to look at the next ones:
/// once where the delay has likely passed, instead of backing off from a quarter
/// of a second again for each (issue 13: 36 extra looks for 15 projects shown
/// after 20 s).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowDelay {
    shorter: Duration,
    longer: Option<Duration>,
}

impl ShowDelay {
    /// When to look, counted from an import's acceptance, before backing off: the
    /// middle of what is known, then its upper end; none before anything showed.
    fn guesses(self) -> Vec<Duration> {
        let Some(longer) = self.longer else {
            return Vec::new();
        };
        let middle = self.shorter + longer.saturating_sub(self.shorter) / 2;
        if middle >= longer {
            vec![longer]
        } else {
            vec![middle, longer]
        }
    }

    /// A look sent `after` the acceptance did not show the users yet.
    fn not_shown_after(&mut self, after: Duration) {
        self.shorter = self.shorter.max(after);
    }

    /// A look answered `within` the acceptance showed them. A delay longer than the
    /// known upper end (the vendor is slower now) raises it: later guesses would
    /// otherwise come too early every time.
    fn shown_within(&mut self, within: Duration) {
        let longer = match self.longer {
            Some(longer) if self.shorter < longer => longer.min(within),
            _ => within,
        };
        self.longer = Some(longer);
        self.shorter = self.shorter.min(longer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_delay_is_guessed_only_once_an_import_showed() {
        assert!(ShowDelay::default().guesses().is_empty());
    }

    #[test]
    fn looks_narrow_the_delay_and_guess_its_middle_then_its_end() {
        let mut delay = ShowDelay::default();
        delay.not_shown_after(secs(18));
        delay.shown_within(secs(20));
        assert_eq!(delay.guesses(), vec![secs(19), secs(20)]);
        delay.not_shown_after(secs(19));
        delay.shown_within(secs(20));
        assert_eq!(
            delay.guesses(),
            vec![Duration::from_millis(19_500), secs(20)]
        );
        delay.shown_within(Duration::from_millis(19_600));
        assert_eq!(
            delay.guesses(),
            vec![Duration::from_millis(19_300), Duration::from_millis(19_600)]
        );
    }

    #[test]
    fn a_slower_vendor_raises_the_known_delay() {
        let mut delay = ShowDelay::default();
        delay.shown_within(secs(5));
        // Both guesses missed: the vendor now takes longer than 5 s.
        delay.not_shown_after(secs(5));
        delay.shown_within(secs(9));
        assert_eq!(delay.guesses(), vec![secs(7), secs(9)]);
    }
}
