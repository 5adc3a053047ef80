//! Carrying a batch out: imports where the vendor has them, one call per operation
//! elsewhere, the batch's calls concurrently (the call policy paces them to the
//! write budgets).
//!
//! How a lost answer is recognised: a request the vendor carries out at most once
//! whatever is sent (a project creation: a second one is refused with 409 "name
//! exists"; a change of a field to a value; a project import, which names each user
//! with their products) is sent again by the call policy when its answer is lost,
//! and a 409 to a creation is the sign it was made (`already_so`). An `hq` import
//! (companies, users), whose resend would answer every item "exists" as a failure,
//! is not sent again as it is: its operations are answered `failed, retryable`, the
//! account is read again, and the executor's resend finds what the vendor made
//! (`already_so`).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::preflight::TRADE_NEEDED;
use super::wire::{self, Company, Import, Project, User};
use super::{AccBackend, Awaited, PROJECT_IMPORT_LIMIT, PROJECT_TYPE};
use crate::call::{Repeat, Retry};
use crate::contract::{BackendError, MemberRecord, Op, Outcome};
use crate::state::{Email, MemberStatus};

/// The outcomes one part of a batch found, by index in the batch.
type Found = Vec<(usize, Outcome)>;

impl AccBackend {
    /// Carries out a batch whose size was checked: bulk kinds as one import each (one
    /// per project for project additions, the projects concurrently), every other
    /// operation as one call, concurrently.
    pub(super) async fn carry_out(&self, batch: &[Op]) -> Result<Vec<Outcome>, BackendError> {
        let mut parts: Vec<(Vec<usize>, Part)> = Vec::new();
        let mut projects: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, op) in batch.iter().enumerate() {
            let part = match op {
                Op::CompanyCreate { .. } => Part::Companies,
                Op::MemberInvite { .. } => Part::Invites,
                Op::ProjectMemberAdd { project, .. } => {
                    if let Some(&at) = projects.get(project.as_str()) {
                        parts[at].0.push(i);
                        continue;
                    }
                    projects.insert(project, parts.len());
                    Part::Additions
                }
                _ => Part::One,
            };
            match parts.iter_mut().find(|(_, p)| *p == part && part.shared()) {
                Some((indices, _)) => indices.push(i),
                None => parts.push((vec![i], part)),
            }
        }
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        // Companies before invitations (an invitation names its company), then the rest
        // concurrently: a batch holds one kind in plan order, so this is only a guard.
        let (first, rest): (Vec<_>, Vec<_>) = parts
            .into_iter()
            .partition(|(_, part)| *part == Part::Companies);
        for group in [first, rest] {
            let results = join_all(
                group
                    .iter()
                    .map(|(indices, part)| self.carry_part(batch, indices, *part)),
            )
            .await;
            let answered: Vec<(Vec<usize>, Result<Found, BackendError>)> = group
                .into_iter()
                .map(|(indices, _)| indices)
                .zip(results)
                .collect();
            self.gather(answered, &mut outcomes)?;
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

    async fn carry_part(
        &self,
        batch: &[Op],
        indices: &[usize],
        part: Part,
    ) -> Result<Found, BackendError> {
        match part {
            Part::Companies => {
                self.settle(self.create_companies(batch, indices).await, indices)
                    .await
            }
            Part::Invites => {
                self.settle(self.invite_members(batch, indices).await, indices)
                    .await
            }
            Part::Additions => self.add_project_members(batch, indices).await,
            Part::One => {
                let i = indices[0];
                Ok(vec![(i, self.one(&batch[i]).await?)])
            }
        }
    }

    /// Puts the parts' outcomes in place. A part that failed as a whole fails the
    /// batch when nothing else in it went through (the executor then stops, as for
    /// any call that failed); when other parts went through, their outcomes stand and
    /// the failed part's operations fail alone, so nothing done is reported undone.
    fn gather(
        &self,
        answered: Vec<(Vec<usize>, Result<Found, BackendError>)>,
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), BackendError> {
        let mut failed: Vec<(Vec<usize>, BackendError)> = Vec::new();
        for (indices, result) in answered {
            match result {
                Ok(found) => {
                    for (i, outcome) in found {
                        outcomes[i] = Some(outcome);
                    }
                }
                Err(error) => failed.push((indices, error)),
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        if outcomes.iter().all(Option::is_none) {
            let (_, error) = failed.swap_remove(0);
            return Err(error);
        }
        for (indices, error) in failed {
            for i in indices {
                outcomes[i] = Some(Outcome::Failed {
                    reason: error.to_string(),
                    retryable: false,
                });
            }
        }
        Ok(())
    }

    /// After an `hq` import the vendor may have carried out without our hearing of it
    /// (a 5xx or a dropped connection on a request that is not sent twice): its
    /// operations not answered yet are `failed, retryable`, and the ids are read
    /// again before the next call, so the executor's resend finds what exists and
    /// answers `already_so`. Any other failure fails the part.
    async fn settle(
        &self,
        sent: Result<Found, BackendError>,
        indices: &[usize],
    ) -> Result<Found, BackendError> {
        let error = match sent {
            Ok(found) => return Ok(found),
            Err(error) => error,
        };
        if error.retry() != Retry::IfRepeatable {
            return Err(error);
        }
        self.ids.lock().await.loaded = false;
        Ok(indices
            .iter()
            .map(|&i| {
                (
                    i,
                    Outcome::Failed {
                        reason: format!(
                            "the vendor's answer was lost ({error}); the account is read again before it is sent again"
                        ),
                        retryable: true,
                    },
                )
            })
            .collect())
    }

    /// Sends one `hq/v1` bulk import (`companies/import`, `users/import`) and reads
    /// its answer: partial success arrives inside a 2xx, so only a failed call as a
    /// whole is an error here.
    async fn import<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        items: Vec<Value>,
    ) -> Result<Import<T>, BackendError> {
        let path = self.account_path(what);
        let answer = self
            .client
            .send(
                Method::POST,
                &path,
                &[],
                Some(&Value::Array(items)),
                Repeat::Once,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.client.error(&answer, &Method::POST, &path));
        }
        self.client.decode(&answer)
    }

    /// Carries out the batch's company creations as one import.
    async fn create_companies(
        &self,
        batch: &[Op],
        indices: &[usize],
    ) -> Result<Found, BackendError> {
        let mut found = Vec::new();
        let mut items = Vec::new();
        let mut sent = BTreeMap::new();
        {
            let ids = self.ids.lock().await;
            for &i in indices {
                let Op::CompanyCreate { name, trade } = &batch[i] else {
                    continue;
                };
                if ids.companies.contains_key(name) {
                    found.push((i, Outcome::AlreadySo));
                    continue;
                }
                // The plan's preflight refuses this before any write; a plan made
                // elsewhere is refused here, before the import.
                let Some(trade) = trade.as_deref().filter(|t| !t.trim().is_empty()) else {
                    found.push((i, Outcome::refused_plain(TRADE_NEEDED)));
                    continue;
                };
                items.push(json!({ "name": name, "trade": trade }));
                sent.insert(name.clone(), i);
            }
        }
        if items.is_empty() {
            return Ok(found);
        }
        let import: Import<Company> = self.import("companies/import", items).await?;
        let mut ids = self.ids.lock().await;
        for company in import.success_items {
            if let Some(&i) = sent.get(&company.name) {
                found.push((i, Outcome::Done));
            }
            ids.companies.insert(company.name, company.id);
        }
        for item in &import.failure_items {
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            if let Some(&i) = sent.get(name) {
                found.push((
                    i,
                    Outcome::Failed {
                        reason: failure(item).1,
                        retryable: false,
                    },
                ));
            }
        }
        Ok(found)
    }

    /// Carries out the batch's invitations as one import.
    async fn invite_members(&self, batch: &[Op], indices: &[usize]) -> Result<Found, BackendError> {
        let mut found = Vec::new();
        let mut items = Vec::new();
        let mut sent = BTreeMap::new();
        {
            let ids = self.ids.lock().await;
            for &i in indices {
                let Op::MemberInvite {
                    email,
                    record,
                    inactive,
                } = &batch[i]
                else {
                    continue;
                };
                if ids.users.contains_key(email) {
                    found.push((i, Outcome::AlreadySo));
                    continue;
                }
                // The vendor adds every user `not_invited` and changes the status only
                // of users who accepted an invitation (preflight refuses this first).
                if *inactive {
                    found.push((
                        i,
                        Outcome::refused_plain(super::preflight::NEW_INACTIVE.to_owned()),
                    ));
                    continue;
                }
                if let Some(refusal) = unmanaged_fields(record) {
                    found.push((i, refusal));
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
                        found.push((
                            i,
                            Outcome::refused_plain(format!(
                                "the company {company} is not in the account"
                            )),
                        ));
                        continue;
                    };
                    item["company_id"] = json!(id);
                }
                items.push(item);
                sent.insert(email.clone(), i);
            }
        }
        if items.is_empty() {
            return Ok(found);
        }
        let import: Import<User> = self.import("users/import", items).await?;
        let mut ids = self.ids.lock().await;
        for user in import.success_items {
            let email = Email::new(&user.email);
            if let Some(&i) = sent.get(&email) {
                found.push((i, Outcome::Done));
            }
            ids.users.insert(email, user);
        }
        for item in &import.failure_items {
            let (email, reason) = failure(item);
            if let Some(&i) = email.as_ref().and_then(|e| sent.get(e)) {
                found.push((
                    i,
                    Outcome::Failed {
                        reason,
                        retryable: false,
                    },
                ));
            }
        }
        Ok(found)
    }

    /// Carries out one project's additions: waits until the vendor has set the
    /// project up (a new one), then imports the users (at most 200 an import). An
    /// import answered 202 is done: the vendor accepted it; the users show in the
    /// project's list later, and the next read waits for them.
    async fn add_project_members(
        &self,
        batch: &[Op],
        indices: &[usize],
    ) -> Result<Found, BackendError> {
        let Op::ProjectMemberAdd { project, .. } = &batch[indices[0]] else {
            return Ok(Vec::new());
        };
        let all = |outcome: &Outcome| -> Found {
            indices.iter().map(|&i| (i, outcome.clone())).collect()
        };
        let Some(project_id) = self.project_id(project).await? else {
            return Ok(all(&Outcome::refused_plain(format!(
                "the project {project} is not in the account"
            ))));
        };
        if !self.set_up(&project_id).await? {
            return Ok(all(&still_setting_up(project)));
        }
        let mut found = Vec::new();
        let mut users = Vec::new();
        {
            let ids = self.ids.lock().await;
            let pending = self.pending.lock().await;
            let imported = pending.members.get(&project_id).map(|a| &a.emails);
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
                let key = (project_id.clone(), email.clone());
                // In the project, or imported by this process and not shown yet.
                if ids.project_users.contains_key(&key)
                    || imported.is_some_and(|m| m.contains(email))
                {
                    found.push((i, Outcome::AlreadySo));
                    continue;
                }
                let user = json!({
                    "email": email.as_str(),
                    "products": wire::products_json(*access, products, false),
                });
                users.push((i, email.clone(), user));
            }
        }
        for chunk in users.chunks(PROJECT_IMPORT_LIMIT) {
            found.extend(
                self.import_project_users(project, &project_id, chunk)
                    .await?,
            );
        }
        Ok(found)
    }

    /// Sends one project import (at most [`PROJECT_IMPORT_LIMIT`] users). When its
    /// answer is lost (a 5xx or a dropped connection after it was sent), the vendor
    /// may have carried it out: the project's users are read once, those it shows
    /// are done, and only the others are sent again (a row sent twice would leave
    /// the same member, but the vendor would import it twice).
    async fn import_project_users(
        &self,
        project: &str,
        project_id: &str,
        chunk: &[(usize, Email, Value)],
    ) -> Result<Found, BackendError> {
        let path = format!("/construction/admin/v2/projects/{project_id}/users:import");
        let body = |rows: &[&(usize, Email, Value)]| json!({ "users": rows.iter().map(|(_, _, u)| u.clone()).collect::<Vec<_>>() });
        let all: Vec<&(usize, Email, Value)> = chunk.iter().collect();
        let (answer, rows, mut found) = match self
            .client
            .send(Method::POST, &path, &[], Some(&body(&all)), Repeat::Once)
            .await
        {
            Ok(answer) => (answer, all, Vec::new()),
            Err(error) if error.retry() == Retry::IfRepeatable => {
                let shown: BTreeSet<Email> = self
                    .project_users(project_id)
                    .await?
                    .iter()
                    .map(|user| Email::new(&user.email))
                    .collect();
                let (done, rest): (Vec<_>, Vec<_>) = all
                    .into_iter()
                    .partition(|(_, email, _)| shown.contains(email));
                let found: Found = done.iter().map(|(i, _, _)| (*i, Outcome::Done)).collect();
                if rest.is_empty() {
                    return Ok(found);
                }
                let answer = self
                    .client
                    .send(Method::POST, &path, &[], Some(&body(&rest)), Repeat::Safe)
                    .await?;
                (answer, rest, found)
            }
            Err(error) => return Err(error),
        };
        let outcome = if answer.status.is_success() {
            let emails = rows.iter().map(|(_, e, _)| e.clone());
            self.pending
                .lock()
                .await
                .members
                .entry(project_id.to_owned())
                .or_insert_with(|| Awaited {
                    since: Instant::now(),
                    emails: BTreeSet::new(),
                })
                .emails
                .extend(emails);
            Outcome::Done
        } else if answer.status == StatusCode::CONFLICT {
            // The vendor is still setting the project up (not ours to wait for).
            still_setting_up(project)
        } else if answer.status.is_client_error() && answer.status != StatusCode::FORBIDDEN {
            refused_by_vendor(&answer)
        } else {
            return Err(self.client.error(&answer, &Method::POST, &path));
        };
        found.extend(rows.iter().map(|(i, _, _)| (*i, outcome.clone())));
        Ok(found)
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
            .send(method.clone(), path, &[], body.as_ref(), Repeat::Safe)
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
            return Ok(refused_by_vendor(&answer));
        }
        Err(self.client.error(&answer, &method, path))
    }

    /// Carries out one operation that is one call (a deactivation: one, and one per
    /// project the member is on).
    async fn one(&self, op: &Op) -> Result<Outcome, BackendError> {
        match op {
            Op::CompanyUpdate { name, trade, from } => {
                let (id, live_name) = {
                    let ids = self.ids.lock().await;
                    match (ids.companies.get(name), from) {
                        (Some(id), _) => (Some(id.clone()), name),
                        // A rename (`renamed_from`): the live company has the old name.
                        (None, Some(from)) => (ids.companies.get(from).cloned(), from),
                        (None, None) => (None, name),
                    }
                };
                let Some(id) = id else {
                    return Ok(Outcome::refused_plain(format!(
                        "the company {live_name} is not in the account"
                    )));
                };
                let path = self.account_path(&format!("companies/{id}"));
                let body = if live_name == name {
                    json!({ "trade": trade })
                } else {
                    json!({ "name": name, "trade": trade })
                };
                let outcome = self
                    .write_one(Method::PATCH, &path, Some(body), gone(live_name))
                    .await?;
                if live_name != name && outcome == Outcome::Done {
                    let mut ids = self.ids.lock().await;
                    ids.companies.remove(live_name);
                    ids.companies.insert(name.clone(), id);
                }
                Ok(outcome)
            }
            Op::MemberUpdate { email, record } => self.update_member(email, record).await,
            Op::MemberActivate { email } => self.set_status(email, "active").await,
            Op::MemberDeactivate { email } => self.deactivate(email).await,
            Op::ProjectCreate { name } => self.create_project(name).await,
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
                self.remove_from_project(&project_id, &user_id, email).await
            }
            other => Ok(not_in_api(other)),
        }
    }

    async fn remove_from_project(
        &self,
        project_id: &str,
        user_id: &str,
        email: &Email,
    ) -> Result<Outcome, BackendError> {
        let path = format!("/construction/admin/v1/projects/{project_id}/users/{user_id}");
        let outcome = self
            .write_one(Method::DELETE, &path, None, Outcome::AlreadySo)
            .await?;
        if outcome.is_success() {
            self.ids
                .lock()
                .await
                .project_users
                .remove(&(project_id.to_owned(), email.clone()));
        }
        Ok(outcome)
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
        let imported = self
            .pending
            .lock()
            .await
            .members
            .get(&project_id)
            .is_some_and(|m| m.emails.contains(email));
        if imported && !self.ids.lock().await.project_users.contains_key(&key) {
            // Imported here, not shown yet: wait for the project's list to show it.
            let users = self.project_users_shown(&project_id).await?;
            let mut ids = self.ids.lock().await;
            for user in users {
                ids.project_users
                    .insert((project_id.clone(), Email::new(&user.email)), user.id);
            }
        }
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
        self.patch_user(
            email,
            &user.id,
            json!({ "company_id": company_id }),
            |user| {
                user.company_id = company_id;
            },
        )
        .await
    }

    /// `PATCH users/{id}` with `body`; when done, `remember` brings the cached user
    /// up to date, so later operations of the run see the change.
    async fn patch_user(
        &self,
        email: &Email,
        user_id: &str,
        body: serde_json::Value,
        remember: impl FnOnce(&mut wire::User),
    ) -> Result<Outcome, BackendError> {
        let path = self.account_path(&format!("users/{user_id}"));
        let outcome = self
            .write_one(Method::PATCH, &path, Some(body), gone(email.as_str()))
            .await?;
        if outcome == Outcome::Done {
            if let Some(user) = self.ids.lock().await.users.get_mut(email) {
                remember(user);
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
        self.patch_user(email, &user.id, json!({ "status": status }), |user| {
            user.status = Some(status.to_owned());
        })
        .await
    }

    /// Deactivates a member and, because the vendor keeps a deactivated member's
    /// project memberships while accord's deactivation frees them (DOMAIN.md), takes
    /// them off every project, so one apply converges.
    async fn deactivate(&self, email: &Email) -> Result<Outcome, BackendError> {
        let outcome = self.set_status(email, "inactive").await?;
        if !outcome.is_success() {
            return Ok(outcome);
        }
        let memberships = self.ids.lock().await.memberships(email);
        for (project_id, user_id) in memberships {
            let removed = self
                .remove_from_project(&project_id, &user_id, email)
                .await?;
            if !removed.is_success() {
                return Ok(removed);
            }
        }
        Ok(outcome)
    }

    /// Creates a project. The creation is sent again when its answer is lost: the
    /// vendor refuses a second project of the same name (409), and that refusal of a
    /// resend (or of a creation racing another) means the project exists: `already_so`.
    async fn create_project(&self, name: &str) -> Result<Outcome, BackendError> {
        if self.ids.lock().await.projects.contains_key(name) {
            return Ok(Outcome::AlreadySo);
        }
        let body = json!({ "name": name, "type": PROJECT_TYPE });
        let path = self.projects_path();
        let answer = self
            .client
            .send(Method::POST, &path, &[], Some(&body), Repeat::Safe)
            .await?;
        if answer.status == StatusCode::CONFLICT {
            self.pending.lock().await.named.insert(name.to_owned());
            return Ok(Outcome::AlreadySo);
        }
        if matches!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST
        ) {
            return Ok(refused_by_vendor(&answer));
        }
        if !answer.status.is_success() {
            return Err(self.client.error(&answer, &Method::POST, &path));
        }
        match self.client.decode::<Project>(&answer) {
            Ok(project) => {
                if !project.is_set_up() {
                    self.pending
                        .lock()
                        .await
                        .projects
                        .insert(project.id.clone(), (project.name.clone(), Instant::now()));
                }
                self.ids
                    .lock()
                    .await
                    .projects
                    .insert(project.name, project.id);
            }
            // Accepted, but its id is not in the answer: look for it by name.
            Err(_) => {
                self.pending.lock().await.named.insert(name.to_owned());
            }
        }
        Ok(Outcome::Done)
    }
}

/// How a batch is cut into parts carried out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The company creations: one import.
    Companies,
    /// The invitations: one import.
    Invites,
    /// One project's additions: its imports.
    Additions,
    /// One operation, one call.
    One,
}

impl Part {
    /// Whether all the batch's operations of the part share it (one import).
    fn shared(self) -> bool {
        matches!(self, Self::Companies | Self::Invites)
    }
}

/// The outcome of an addition to a project the vendor is still setting up.
fn still_setting_up(project: &str) -> Outcome {
    Outcome::Failed {
        reason: format!(
            "the vendor is still setting the project {project} up and takes no members yet; it is tried again"
        ),
        retryable: true,
    }
}

/// The refusal of an answer the vendor refused (4xx), with its words.
fn refused_by_vendor(answer: &super::client::Answer) -> Outcome {
    let text: String = String::from_utf8_lossy(&answer.body)
        .chars()
        .take(300)
        .collect();
    Outcome::refused_plain(format!(
        "the vendor refused it (HTTP {}): {text}",
        answer.status.as_u16()
    ))
}

/// The refusal when the target of an update disappeared.
fn gone(what: &str) -> Outcome {
    Outcome::refused_plain(format!("{what} is no longer in the account"))
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
