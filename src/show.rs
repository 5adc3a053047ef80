//! `accord show`: who has what. One member, product, agreement or team, from the
//! configuration (each fact citing the `file:line` that declares it) and, when a
//! live account is at hand, what that account says where it differs.
//!
//! It works on the typed configuration and its source map as the schema check gives
//! them (the rules are not run: a question about one person should not wait for a
//! check of 50,000, and `validate` is there for that). Groups are expanded here, so a
//! fact held through a group says which group and cites the line naming it. Facts
//! are gathered by walking the configuration once; only the facts found are located
//! in the source map.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::SourceMap;
use crate::config::model::{ConfigFile, ProjectProduct};
use crate::state::{Email, MemberStatus, State};

/// The version of the JSON form.
pub const VERSION: u32 = 1;

/// What to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A member, by email.
    Member,
    /// A product, by name.
    Product,
    /// An agreement, by contract number.
    Agreement,
    /// A team, by id.
    Team,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Product => "product",
            Self::Agreement => "agreement",
            Self::Team => "team",
        }
    }
}

/// One thing the configuration declares about the object shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// What kind of fact (`company`, `seat`, `project`, `holder`, ...).
    pub topic: &'static str,
    /// The fact in words.
    pub text: String,
    /// The `file:line` that declares it.
    pub at: Option<String>,
    /// The group it comes through, when it does.
    pub via: Option<String>,
    /// What the live account says instead, when it differs.
    pub live: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// The JSON form's version.
    pub version: u32,
    /// What was asked for.
    pub kind: Kind,
    /// The email, name, number or id, as the configuration writes it.
    pub name: String,
    /// Where it is declared.
    pub at: Option<String>,
    /// Whether a live account was compared.
    pub live: bool,
    /// The backend compared, or why none was.
    pub source: String,
    /// The facts, in the order of the configuration.
    pub facts: Vec<Fact>,
    /// What the live account holds that the configuration does not say.
    pub live_only: Vec<String>,
}

/// Why there is nothing to show: the name is unknown; `suggestion` is the closest
/// declared name, if one is close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// What was asked for.
    pub kind: Kind,
    /// The name asked for.
    pub name: String,
    /// The closest declared name.
    pub suggestion: Option<String>,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the configuration declares no {} `{}`",
            self.kind.word(),
            self.name
        )?;
        match &self.suggestion {
            Some(close) => write!(f, ": did you mean `{close}`?"),
            None => Ok(()),
        }
    }
}

/// The live account to compare with, and how to name it.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// The account as the backend holds it.
    pub state: &'a State,
    /// The backend, as messages show it.
    pub backend: &'a str,
}

/// Shows `name` of `kind`.
///
/// # Errors
/// [`Unknown`] when the configuration does not declare it.
pub fn show(
    config: &ConfigFile,
    sources: &SourceMap,
    kind: Kind,
    name: &str,
    live: Option<Live<'_>>,
    offline_reason: &str,
) -> Result<Shown, Unknown> {
    let finder = Finder {
        config,
        sources,
        groups: groups(config),
    };
    let mut shown = match kind {
        Kind::Member => finder.member(name, live.map(|l| l.state)),
        Kind::Product => finder.product(name, live.map(|l| l.state)),
        Kind::Agreement => finder.agreement(name, live.map(|l| l.state)),
        Kind::Team => finder.team(name, live.map(|l| l.state)),
    }?;
    match live {
        Some(live) => {
            shown.live = true;
            live.backend.clone_into(&mut shown.source);
        }
        None => offline_reason.clone_into(&mut shown.source),
    }
    Ok(shown)
}

/// Each group's members, expanded (nested groups included, a cycle stopped).
type Groups = BTreeMap<String, BTreeSet<Email>>;

fn groups(config: &ConfigFile) -> Groups {
    let direct: BTreeMap<&str, &[String]> = config
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.members.as_slice()))
        .collect();
    direct
        .keys()
        .map(|name| {
            let mut seen = BTreeSet::new();
            let mut out = BTreeSet::new();
            expand(name, &direct, &mut seen, &mut out);
            ((*name).to_owned(), out)
        })
        .collect()
}

fn expand<'a>(
    name: &'a str,
    direct: &BTreeMap<&'a str, &'a [String]>,
    seen: &mut BTreeSet<&'a str>,
    out: &mut BTreeSet<Email>,
) {
    if !seen.insert(name) {
        return;
    }
    for entry in direct.get(name).copied().unwrap_or_default() {
        match entry.trim().strip_prefix("group:") {
            Some(inner) => expand(inner.trim(), direct, seen, out),
            None => {
                out.insert(Email::new(entry));
            }
        }
    }
}

struct Finder<'a> {
    config: &'a ConfigFile,
    sources: &'a SourceMap,
    groups: Groups,
}

/// How a list entry names someone: directly, or through a group.
enum Holder<'a> {
    Person(Email),
    Group(&'a str),
}

fn holder(entry: &str) -> Holder<'_> {
    match entry.trim().strip_prefix("group:") {
        Some(group) => Holder::Group(group.trim()),
        None => Holder::Person(Email::new(entry)),
    }
}

impl Finder<'_> {
    fn at(&self, pointer: &str) -> Option<String> {
        self.sources.locate(pointer).map(|l| l.file_line())
    }

    fn fact(&self, topic: &'static str, text: String, pointer: &str) -> Fact {
        Fact {
            topic,
            text,
            at: self.at(pointer),
            via: None,
            live: None,
        }
    }

    /// Whether `entry` of a list names `email`; `Some(group)` when through a group.
    fn names(&self, entry: &str, email: &Email) -> Option<Option<String>> {
        match holder(entry) {
            Holder::Person(person) => (person == *email).then_some(None),
            Holder::Group(group) => self
                .groups
                .get(group)
                .is_some_and(|members| members.contains(email))
                .then(|| Some(group.to_owned())),
        }
    }

    /// Everyone a list names, each once, with the index of the first entry naming
    /// them and the group it names them through.
    fn holders(&self, list: &[String]) -> Vec<(Email, usize, Option<String>)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            match holder(entry) {
                Holder::Person(email) => {
                    if seen.insert(email.clone()) {
                        out.push((email, i, None));
                    }
                }
                Holder::Group(group) => {
                    for email in self.groups.get(group).into_iter().flatten() {
                        if seen.insert(email.clone()) {
                            out.push((email.clone(), i, Some(group.to_owned())));
                        }
                    }
                }
            }
        }
        out
    }

    fn unknown(&self, kind: Kind, name: &str, candidates: Vec<String>) -> Unknown {
        Unknown {
            kind,
            name: name.to_owned(),
            suggestion: closest(name, candidates),
        }
    }

    // ----- member -----

    fn member(&self, raw: &str, live: Option<&State>) -> Result<Shown, Unknown> {
        let email = Email::new(raw);
        let Some(index) = self
            .config
            .members
            .iter()
            .position(|m| Email::new(&m.email) == email)
        else {
            let candidates = self
                .config
                .members
                .iter()
                .map(|m| m.email.clone())
                .collect();
            return Err(self.unknown(Kind::Member, raw, candidates));
        };
        let member = &self.config.members[index];
        let base = format!("/members/{index}");
        let have = live.and_then(|s| s.members.get(&email));
        let mut facts = Vec::new();
        let mut live_only = Vec::new();
        if live.is_some() && have.is_none() {
            live_only.push("live: not in the account (the plan invites them)".to_owned());
        }
        let name = [member.first_name.as_deref(), member.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            facts.push(self.fact("name", name, &base));
        }
        let differs = |want: Option<&String>, got: Option<&String>| {
            (have.is_some() && want.is_some() && want != got)
                .then(|| format!("live: {}", got.map_or("none", String::as_str)))
        };
        if let Some(company) = &member.company {
            let mut fact = self.fact("company", company.clone(), &format!("{base}/company"));
            fact.live = differs(Some(company), have.and_then(|h| h.company.as_ref()));
            facts.push(fact);
        }
        if let Some(role) = &member.role {
            let mut fact = self.fact("role", role.clone(), &format!("{base}/role"));
            fact.live = differs(Some(role), have.and_then(|h| h.role.as_ref()));
            facts.push(fact);
        }
        facts.push(self.access(member, &base, have.map(|h| &h.access)));
        let inactive = member.status == Some(crate::config::model::DesiredStatus::Inactive);
        let mut status = self.fact(
            "status",
            if inactive { "inactive" } else { "active" }.to_owned(),
            &format!("{base}/status"),
        );
        if let Some(have) = have {
            let live_inactive = have.status == MemberStatus::Inactive;
            if live_inactive != inactive {
                status.live = Some(format!("live: {}", word(&have.status)));
            }
        }
        facts.push(status);
        for (k, product) in member.external_subscriptions.iter().enumerate() {
            facts.push(self.fact(
                "external",
                format!("{product} through another firm's subscription (no seat)"),
                &format!("{base}/external_subscriptions/{k}"),
            ));
        }
        self.member_agreements(&email, live, &mut facts, &mut live_only);
        self.member_teams(&email, live, &mut facts, &mut live_only);
        self.member_projects(&email, live, &mut facts, &mut live_only);
        for (g, group) in self.config.groups.iter().enumerate() {
            if let Some(k) = group
                .members
                .iter()
                .position(|entry| self.names(entry, &email).is_some())
            {
                facts.push(self.fact(
                    "group",
                    group.name.clone(),
                    &format!("/groups/{g}/members/{k}"),
                ));
            }
        }
        Ok(Shown {
            version: VERSION,
            kind: Kind::Member,
            name: member.email.trim().to_owned(),
            at: self.at(&base),
            live: false,
            source: String::new(),
            facts,
            live_only,
        })
    }

    fn access(
        &self,
        member: &crate::config::model::Member,
        base: &str,
        live: Option<&BTreeSet<crate::state::AccessLevel>>,
    ) -> Fact {
        let (levels, text, pointer): (BTreeSet<_>, String, String) = match &member.access {
            Some(access) => {
                let levels: BTreeSet<_> = access.iter().copied().collect();
                (levels.clone(), words(&levels), format!("{base}/access"))
            }
            None => {
                let role = member.role.as_deref().and_then(|name| {
                    self.config
                        .roles
                        .iter()
                        .position(|r| r.name == name.trim())
                        .map(|i| (i, &self.config.roles[i]))
                });
                match role {
                    Some((i, role)) => {
                        let levels: BTreeSet<_> = role.default_access.iter().copied().collect();
                        (
                            levels.clone(),
                            format!("{} (the default of role {})", words(&levels), role.name),
                            format!("/roles/{i}"),
                        )
                    }
                    None => (BTreeSet::new(), "none".to_owned(), base.to_owned()),
                }
            }
        };
        let mut fact = self.fact("access", text, &pointer);
        if let Some(live) = live {
            if *live != levels {
                fact.live = Some(format!("live: {}", words(live)));
            }
        }
        fact
    }

    fn member_agreements(
        &self,
        email: &Email,
        live: Option<&State>,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
    ) {
        for (a, agreement) in self.config.agreements.iter().enumerate() {
            let number = &agreement.number;
            let base = format!("/agreements/{a}");
            let have = live.and_then(|s| s.agreements.get(number));
            if Email::new(&agreement.contract_manager) == *email {
                let mut fact = self.fact(
                    "contract_manager",
                    format!("agreement {number} ({})", agreement.name),
                    &format!("{base}/contract_manager"),
                );
                if let Some(have) = have.filter(|h| h.contract_manager != *email) {
                    fact.live = Some(format!(
                        "live: {} is the contract manager",
                        have.contract_manager
                    ));
                }
                facts.push(fact);
            }
            let coordinator = agreement
                .software_coordinator
                .as_deref()
                .unwrap_or(&agreement.contract_manager);
            if Email::new(coordinator) == *email {
                let (pointer, implied) = match agreement.software_coordinator {
                    Some(_) => (format!("{base}/software_coordinator"), ""),
                    None => (
                        format!("{base}/contract_manager"),
                        " (as contract manager: none named, R03)",
                    ),
                };
                let mut fact = self.fact(
                    "software_coordinator",
                    format!("agreement {number} ({}){implied}", agreement.name),
                    &pointer,
                );
                if let Some(have) = have.filter(|h| h.software_coordinator != *email) {
                    fact.live = Some(format!(
                        "live: {} is the software coordinator",
                        have.software_coordinator
                    ));
                }
                facts.push(fact);
            }
            for (p, product) in agreement.products.iter().enumerate() {
                let holds_live = have
                    .and_then(|h| h.products.get(&product.name))
                    .map(|p| p.assigned.contains(email));
                let found = self.held(&product.assigned, email);
                self.push_held(
                    facts,
                    live_only,
                    "seat",
                    format!("{} on agreement {number}", product.name),
                    found,
                    &format!("{base}/products/{p}/assigned"),
                    holds_live,
                );
            }
            for (c, service) in agreement.cloud_services.iter().enumerate() {
                let holds_live = have
                    .and_then(|h| h.cloud_services.get(&service.name))
                    .map(|s| s.contains(email));
                let found = self.held(&service.assigned, email);
                self.push_held(
                    facts,
                    live_only,
                    "cloud_service",
                    format!("{} on agreement {number}", service.name),
                    found,
                    &format!("{base}/cloud_services/{c}/assigned"),
                    holds_live,
                );
            }
            let holds_live = have.map(|h| h.support.contains(email));
            let found = self.held(&agreement.support, email);
            self.push_held(
                facts,
                live_only,
                "support",
                format!("agreement {number}"),
                found,
                &format!("{base}/support"),
                holds_live,
            );
        }
        // Seats live on agreements the configuration does not declare.
        if let Some(state) = live {
            for (number, agreement) in &state.agreements {
                if self.config.agreements.iter().any(|a| &a.number == number) {
                    continue;
                }
                for (product, seats) in &agreement.products {
                    if seats.assigned.contains(email) {
                        live_only.push(format!(
                            "live: holds a {product} seat on agreement {number}, which the configuration does not declare"
                        ));
                    }
                }
            }
        }
    }

    /// The entry of `list` naming `email` (its index and group), if any.
    fn held(&self, list: &[String], email: &Email) -> Option<(usize, Option<String>)> {
        list.iter()
            .enumerate()
            .find_map(|(k, entry)| self.names(entry, email).map(|via| (k, via)))
    }

    /// Records a seat-like fact the configuration gives (with the live account's
    /// disagreement), or one the live account alone has.
    #[allow(clippy::too_many_arguments)]
    fn push_held(
        &self,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
        topic: &'static str,
        text: String,
        found: Option<(usize, Option<String>)>,
        list: &str,
        holds_live: Option<bool>,
    ) {
        match found {
            Some((k, via)) => {
                let mut fact = self.fact(topic, text, &format!("{list}/{k}"));
                fact.via = via;
                if holds_live == Some(false) {
                    fact.live = Some("live: not held".to_owned());
                }
                facts.push(fact);
            }
            None if holds_live == Some(true) => {
                live_only.push(format!(
                    "live: holds {} {text} (the configuration does not list them: the plan takes it away)",
                    topic.replace('_', " ")
                ));
            }
            None => {}
        }
    }

    fn member_teams(
        &self,
        email: &Email,
        live: Option<&State>,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
    ) {
        for (t, team) in self.config.teams.iter().enumerate() {
            let base = format!("/teams/{t}");
            let have = live.and_then(|s| s.teams.get(&team.id));
            let mut on_team = false;
            for (p, product) in team.products.iter().enumerate() {
                let pool = have.and_then(|h| h.pools.get(&product.name));
                let holds_live =
                    pool.map(|p| p.direct.contains(email) || p.inherited.contains(email));
                let found = self.held(&product.assigned, email);
                on_team |= found.is_some();
                self.push_held(
                    facts,
                    live_only,
                    "team_seat",
                    format!("{} on team {} ({})", product.name, team.id, team.name),
                    found,
                    &format!("{base}/products/{p}/assigned"),
                    holds_live,
                );
            }
            if !on_team {
                if let Some((k, via)) = self.held(&team.members, email) {
                    let mut fact = self.fact(
                        "team",
                        format!("on team {} ({}), no seat", team.id, team.name),
                        &format!("{base}/members/{k}"),
                    );
                    fact.via = via;
                    if have.is_some_and(|h| !h.users.contains(email)) {
                        fact.live = Some("live: not on the team".to_owned());
                    }
                    facts.push(fact);
                }
            }
        }
    }

    fn member_projects(
        &self,
        email: &Email,
        live: Option<&State>,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
    ) {
        for (p, project) in self.config.projects.iter().enumerate() {
            let have = live.and_then(|s| s.projects.get(&project.name));
            let entry = project.members.iter().enumerate().find_map(|(k, m)| {
                let via = match (&m.email, &m.group) {
                    (Some(e), _) => (Email::new(e) == *email).then_some(None),
                    (None, Some(g)) => self
                        .groups
                        .get(g.trim())
                        .is_some_and(|ms| ms.contains(email))
                        .then(|| Some(g.trim().to_owned())),
                    (None, None) => None,
                }?;
                Some((k, m, via))
            });
            let live_member = have.and_then(|h| h.members.get(email));
            match entry {
                Some((k, m, via)) => {
                    let products: BTreeSet<ProjectProduct> = m
                        .products
                        .clone()
                        .unwrap_or_else(|| vec![ProjectProduct::Docs])
                        .into_iter()
                        .collect();
                    let mut fact = self.fact(
                        "project",
                        format!("{} as {}: {}", project.name, word(&m.access), words(&products)),
                        &format!("/projects/{p}/members/{k}"),
                    );
                    fact.via = via;
                    fact.live = match (have, live_member) {
                        (Some(_), None) => Some(format!("live: not on project {}", project.name)),
                        (_, Some(got)) if got.access != m.access || got.products != products => {
                            Some(format!("live: {}: {}", word(&got.access), words(&got.products)))
                        }
                        _ => None,
                    };
                    facts.push(fact);
                }
                None if live_member.is_some() => live_only.push(format!(
                    "live: on project {} (the configuration does not list them: the plan removes them)",
                    project.name
                )),
                None => {}
            }
        }
        if let Some(state) = live {
            for (name, project) in &state.projects {
                let declared = self.config.projects.iter().any(|p| &p.name == name);
                if !declared && project.members.contains_key(email) {
                    live_only.push(format!(
                        "live: on project {name}, which the configuration does not declare"
                    ));
                }
            }
        }
    }

    // ----- product -----

    fn product(&self, raw: &str, live: Option<&State>) -> Result<Shown, Unknown> {
        let wanted = raw.trim().to_lowercase();
        let mut facts = Vec::new();
        let mut live_only = Vec::new();
        let mut found_name = None;
        let mut first_at = None;
        for (a, agreement) in self.config.agreements.iter().enumerate() {
            for (p, product) in agreement.products.iter().enumerate() {
                if product.name.to_lowercase() != wanted {
                    continue;
                }
                found_name.get_or_insert_with(|| product.name.clone());
                let base = format!("/agreements/{a}/products/{p}");
                first_at.get_or_insert_with(|| self.at(&base));
                let have = live
                    .and_then(|s| s.agreements.get(&agreement.number))
                    .and_then(|h| h.products.get(&product.name));
                let where_ = format!("agreement {} ({})", agreement.number, agreement.name);
                self.pool(
                    &mut facts,
                    &mut live_only,
                    &where_,
                    &base,
                    product.seats,
                    &product.assigned,
                    have.map(|h| (h.seats, &h.assigned)),
                );
            }
        }
        for (t, team) in self.config.teams.iter().enumerate() {
            for (p, product) in team.products.iter().enumerate() {
                if product.name.to_lowercase() != wanted {
                    continue;
                }
                found_name.get_or_insert_with(|| product.name.clone());
                let base = format!("/teams/{t}/products/{p}");
                first_at.get_or_insert_with(|| self.at(&base));
                let have = live
                    .and_then(|s| s.teams.get(&team.id))
                    .and_then(|h| h.pools.get(&product.name));
                let holders_live = have.map(|h| {
                    h.direct
                        .union(&h.inherited)
                        .cloned()
                        .collect::<BTreeSet<_>>()
                });
                let where_ = format!("team {} ({})", team.id, team.name);
                self.pool(
                    &mut facts,
                    &mut live_only,
                    &where_,
                    &base,
                    product.seats.or(have.and_then(|h| h.seats)),
                    &product.assigned,
                    have.zip(holders_live.as_ref())
                        .map(|(h, holders)| (h.seats, holders)),
                );
            }
        }
        for (i, member) in self.config.members.iter().enumerate() {
            for (k, product) in member.external_subscriptions.iter().enumerate() {
                if product.trim().to_lowercase() == wanted {
                    found_name.get_or_insert_with(|| product.trim().to_owned());
                    facts.push(self.fact(
                        "external",
                        format!(
                            "{} through another firm's subscription (no seat)",
                            member.email.trim()
                        ),
                        &format!("/members/{i}/external_subscriptions/{k}"),
                    ));
                }
            }
        }
        let Some(name) = found_name else {
            let candidates = self
                .config
                .agreements
                .iter()
                .flat_map(|a| a.products.iter().map(|p| p.name.clone()))
                .chain(
                    self.config
                        .teams
                        .iter()
                        .flat_map(|t| t.products.iter().map(|p| p.name.clone())),
                )
                .collect();
            return Err(self.unknown(Kind::Product, raw, candidates));
        };
        Ok(Shown {
            version: VERSION,
            kind: Kind::Product,
            name,
            at: first_at.flatten(),
            live: false,
            source: String::new(),
            facts,
            live_only,
        })
    }

    /// One pool (an agreement's product or a team's): seats used and free, then each
    /// holder; with the live account, its count and holders where they differ.
    #[allow(clippy::too_many_arguments)]
    fn pool(
        &self,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
        where_: &str,
        base: &str,
        seats: Option<u32>,
        assigned: &[String],
        live: Option<(Option<u32>, &BTreeSet<Email>)>,
    ) {
        let holders = self.holders(assigned);
        let used = holders.len();
        let text = match seats {
            Some(total) => format!(
                "{where_}: {used} of {total} seats used, {} free",
                usize::try_from(total)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(used)
            ),
            None => format!("{where_}: {used} seats used (the pool's size is the backend's)"),
        };
        let mut fact = self.fact("seats", text, base);
        if let Some((live_seats, live_holders)) = live {
            let live_total = live_seats.map_or_else(|| "unlimited".to_owned(), |s| s.to_string());
            if live_holders.len() != used || (seats.is_some() && live_seats != seats) {
                fact.live = Some(format!("live: {} of {live_total} used", live_holders.len()));
            }
        }
        facts.push(fact);
        let declared: BTreeSet<&Email> = holders.iter().map(|(e, _, _)| e).collect();
        for (email, k, via) in &holders {
            let mut fact = self.fact("holder", email.to_string(), &format!("{base}/assigned/{k}"));
            fact.via.clone_from(via);
            if live.is_some_and(|(_, h)| !h.contains(email)) {
                fact.live = Some("live: no seat".to_owned());
            }
            facts.push(fact);
        }
        if let Some((_, live_holders)) = live {
            for email in live_holders.iter().filter(|e| !declared.contains(e)) {
                live_only.push(format!("live: {email} holds a seat on {where_}"));
            }
        }
    }

    // ----- agreement -----

    fn agreement(&self, raw: &str, live: Option<&State>) -> Result<Shown, Unknown> {
        let number = raw.trim();
        let Some(a) = self
            .config
            .agreements
            .iter()
            .position(|a| a.number == number)
        else {
            let candidates = self
                .config
                .agreements
                .iter()
                .map(|a| a.number.clone())
                .collect();
            return Err(self.unknown(Kind::Agreement, raw, candidates));
        };
        let agreement = &self.config.agreements[a];
        let base = format!("/agreements/{a}");
        let have = live.and_then(|s| s.agreements.get(number));
        let mut facts = Vec::new();
        let mut live_only = Vec::new();
        if live.is_some() && have.is_none() {
            live_only.push("live: no such agreement (the plan creates it)".to_owned());
        }
        let mut name = self.fact("name", agreement.name.clone(), &format!("{base}/name"));
        if let Some(have) = have.filter(|h| h.name != agreement.name) {
            name.live = Some(format!("live: {}", have.name));
        }
        facts.push(name);
        let manager = Email::new(&agreement.contract_manager);
        let mut fact = self.fact(
            "contract_manager",
            manager.to_string(),
            &format!("{base}/contract_manager"),
        );
        if let Some(have) = have.filter(|h| h.contract_manager != manager) {
            fact.live = Some(format!("live: {}", have.contract_manager));
        }
        facts.push(fact);
        let (coordinator, pointer, implied) = match &agreement.software_coordinator {
            Some(c) => (Email::new(c), format!("{base}/software_coordinator"), ""),
            None => (
                manager,
                format!("{base}/contract_manager"),
                " (the contract manager: none named, R03)",
            ),
        };
        let mut fact = self.fact(
            "software_coordinator",
            format!("{coordinator}{implied}"),
            &pointer,
        );
        if let Some(have) = have.filter(|h| h.software_coordinator != coordinator) {
            fact.live = Some(format!("live: {}", have.software_coordinator));
        }
        facts.push(fact);
        for (p, product) in agreement.products.iter().enumerate() {
            let live_pool = have
                .and_then(|h| h.products.get(&product.name))
                .map(|h| (h.seats, &h.assigned));
            self.pool(
                &mut facts,
                &mut live_only,
                &product.name,
                &format!("{base}/products/{p}"),
                product.seats,
                &product.assigned,
                live_pool,
            );
        }
        for (c, service) in agreement.cloud_services.iter().enumerate() {
            let live_holders = have.and_then(|h| h.cloud_services.get(&service.name));
            self.list(
                &mut facts,
                &mut live_only,
                &format!("cloud service {}", service.name),
                &format!("{base}/cloud_services/{c}/assigned"),
                &service.assigned,
                3,
                live_holders,
            );
        }
        let licences: u64 = agreement
            .products
            .iter()
            .map(|p| u64::from(p.seats.unwrap_or(0)))
            .sum();
        self.list(
            &mut facts,
            &mut live_only,
            "support",
            &format!("{base}/support"),
            &agreement.support,
            usize::try_from(licences * 6).unwrap_or(usize::MAX),
            have.map(|h| &h.support),
        );
        Ok(Shown {
            version: VERSION,
            kind: Kind::Agreement,
            name: agreement.number.clone(),
            at: self.at(&base),
            live: false,
            source: String::new(),
            facts,
            live_only,
        })
    }

    /// A list of holders with its limit (cloud services: 3, R05; support: 6 a
    /// licence, R06).
    #[allow(clippy::too_many_arguments)]
    fn list(
        &self,
        facts: &mut Vec<Fact>,
        live_only: &mut Vec<String>,
        what: &str,
        pointer: &str,
        entries: &[String],
        limit: usize,
        live: Option<&BTreeSet<Email>>,
    ) {
        let holders = self.holders(entries);
        facts.push(self.fact(
            "holders",
            format!("{what}: {} of at most {limit}", holders.len()),
            pointer,
        ));
        for (email, k, via) in &holders {
            let mut fact = self.fact("holder", email.to_string(), &format!("{pointer}/{k}"));
            fact.via.clone_from(via);
            if live.is_some_and(|h| !h.contains(email)) {
                fact.live = Some("live: not held".to_owned());
            }
            facts.push(fact);
        }
        if let Some(live) = live {
            let declared: BTreeSet<&Email> = holders.iter().map(|(e, _, _)| e).collect();
            for email in live.iter().filter(|e| !declared.contains(e)) {
                live_only.push(format!("live: {email} holds {what}"));
            }
        }
    }

    // ----- team -----

    fn team(&self, raw: &str, live: Option<&State>) -> Result<Shown, Unknown> {
        let id = raw.trim();
        let Some(t) = self.config.teams.iter().position(|t| t.id.trim() == id) else {
            let candidates = self.config.teams.iter().map(|t| t.id.clone()).collect();
            return Err(self.unknown(Kind::Team, raw, candidates));
        };
        let team = &self.config.teams[t];
        let base = format!("/teams/{t}");
        let have = live.and_then(|s| s.teams.get(&team.id));
        let mut facts = Vec::new();
        let mut live_only = Vec::new();
        if live.is_some() && have.is_none() {
            live_only.push("live: no such team".to_owned());
        }
        let mut name = self.fact("name", team.name.clone(), &format!("{base}/name"));
        if let Some(have) = have.filter(|h| h.name != team.name) {
            name.live = Some(format!("live: {}", have.name));
        }
        facts.push(name);
        for (email, k, via) in self.holders(&team.members) {
            let mut fact = self.fact(
                "team_member",
                format!("{email} (no seat)"),
                &format!("{base}/members/{k}"),
            );
            fact.via = via;
            if have.is_some_and(|h| !h.users.contains(&email)) {
                fact.live = Some("live: not on the team".to_owned());
            }
            facts.push(fact);
        }
        for (p, product) in team.products.iter().enumerate() {
            let pool = have.and_then(|h| h.pools.get(&product.name));
            let holders_live = pool.map(|h| {
                h.direct
                    .union(&h.inherited)
                    .cloned()
                    .collect::<BTreeSet<_>>()
            });
            self.pool(
                &mut facts,
                &mut live_only,
                &product.name,
                &format!("{base}/products/{p}"),
                product.seats.or(pool.and_then(|h| h.seats)),
                &product.assigned,
                pool.zip(holders_live.as_ref())
                    .map(|(h, holders)| (h.seats, holders)),
            );
        }
        Ok(Shown {
            version: VERSION,
            kind: Kind::Team,
            name: team.id.clone(),
            at: self.at(&base),
            live: false,
            source: String::new(),
            facts,
            live_only,
        })
    }
}

/// The closest of `candidates` to `name`, when it is close enough to be a typo.
fn closest(name: &str, candidates: Vec<String>) -> Option<String> {
    let wanted = name.trim().to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wanted, &c.trim().to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.trim().to_owned())
}

/// An enum value as its snake_case name.
fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A set of enum values, `a, b` (or `none`).
fn words<T: Serialize>(values: &BTreeSet<T>) -> String {
    if values.is_empty() {
        return "none".to_owned();
    }
    values.iter().map(word).collect::<Vec<_>>().join(", ")
}

impl Shown {
    /// The answer for people: a title line, one line a fact (`file:line` on the
    /// right, the live account's word below it), then what only the live account says.
    #[must_use]
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {}{}",
            self.kind.word(),
            self.name,
            self.at
                .as_ref()
                .map(|a| format!("  ({a})"))
                .unwrap_or_default()
        );
        let width = self
            .facts
            .iter()
            .map(|f| f.text.len() + f.via.as_ref().map_or(0, |v| v.len() + 14))
            .max()
            .unwrap_or(0);
        for fact in &self.facts {
            let mut text = fact.text.clone();
            if let Some(via) = &fact.via {
                let _ = write!(text, " (via group {via})");
            }
            let _ = writeln!(
                out,
                "  {:<20} {:<width$}  {}",
                fact.topic.replace('_', " "),
                text,
                fact.at.as_deref().unwrap_or("-")
            );
            if let Some(live) = &fact.live {
                let _ = writeln!(out, "  {:<20} {live}", "");
            }
        }
        for line in &self.live_only {
            let _ = writeln!(out, "  {line}");
        }
        if self.live {
            let differences =
                self.facts.iter().filter(|f| f.live.is_some()).count() + self.live_only.len();
            let _ = writeln!(
                out,
                "compared with {}: {}",
                self.source,
                match differences {
                    0 => "no differences".to_owned(),
                    1 => "1 difference".to_owned(),
                    n => format!("{n} differences"),
                }
            );
        } else {
            let _ = writeln!(out, "{}", self.source);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Group;

    #[test]
    fn nested_groups_expand_and_a_cycle_stops() {
        let group = |name: &str, members: &[&str]| Group {
            name: name.to_owned(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        };
        let config = ConfigFile {
            groups: vec![
                group("a", &["group:b", "X@example.com"]),
                group("b", &["group:a", "y@example.com"]),
            ],
            ..ConfigFile::default()
        };
        let groups = groups(&config);
        let both: BTreeSet<Email> =
            [Email::new("x@example.com"), Email::new("y@example.com")].into();
        assert_eq!(groups["a"], both);
        assert_eq!(groups["b"], both);
    }

    #[test]
    fn a_suggestion_is_made_only_when_close() {
        let names = || vec!["Revit".to_owned(), "AutoCAD".to_owned()];
        assert_eq!(closest("revitt", names()).as_deref(), Some("Revit"));
        assert_eq!(closest("Navisworks", names()), None);
    }
}
