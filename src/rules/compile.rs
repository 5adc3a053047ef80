//! Compiling a configuration that passed R01-R10 into the normalised [`Desired`] state.
//!
//! Every default is resolved here, so the diff never needs the configuration:
//! - emails are trimmed and lower-cased; groups are expanded (groups exist only in
//!   the configuration and never reach a backend);
//! - a member's access is their `access` when given (`[]` meaning none), else their
//!   role's `default_access`. An inactive member keeps the access levels listed for
//!   their return (they count for nothing while inactive; R10 ignores them);
//! - an agreement without a software coordinator gets its contract manager;
//! - a project entry without `products` gets `[docs]`;
//! - a person on a project both directly and through groups: the direct entry wins,
//!   because it is a deliberate statement about that one person (such as "Dana is
//!   the admin" or "Erik only needs docs here"), while a group entry is a default
//!   for many. Several group entries naming the same person merge: the highest
//!   access (`admin` over `member`) and every product any of them grants, since
//!   each group entry means "these people get at least this";
//! - a team's users are everyone on its `members` list and on any of its `assigned`
//!   lists (groups expanded, each person once); a pool's `direct` seats are its
//!   `assigned` list, and its `seats` stay `None` when not declared (keep the live
//!   size).
//!
//! Provenance records where each declaration is (`Declared` kind plus the target
//! string of DOMAIN.md's Operations table), so a plan can cite `file:line`. A seat,
//! service, support benefit or project membership given through a group points at
//! the `group:` entry; when a person is on a list both directly and through a group,
//! the direct entry is cited. A team user (`Declared::TeamMember`) cites the first
//! direct entry naming them on the team's `members` list, else on an `assigned` list,
//! else the first group entry that brings them in.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use super::context::{Context, Entry, is_inactive};
use crate::config::model::{self, AccessLevel, ProjectProduct};
use crate::desired::{Declared, Desired, LimitSource, MaxRemovals, Provenance};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::state::{
    AccountInfo, AgreementState, CompanyState, Email, MemberState, MemberStatus, PoolState,
    ProductState, ProjectMemberState, ProjectState, RoleState, State, TeamState,
};

/// Compiles a configuration whose rules all hold.
///
/// # Errors
/// Only when the configuration has no `account` (the loader refuses that first in
/// normal use; a configuration built in code may lack it).
pub fn desired(ctx: &Context) -> Result<Desired, Vec<Diagnostic>> {
    let Some(account) = &ctx.config.account else {
        return Err(vec![
            Diagnostic::error(Code::Schema, "the configuration has no `account`")
                .help("declare the account once, in any file: `account: { id: ..., name: ... }`"),
        ]);
    };
    // Projects hold most declarations of a large configuration (a few per
    // member): they are compiled on a second thread, with a provenance of their
    // own joined at the end. No declaration is recorded by both halves.
    let (mut compiler, state, (projects, project_provenance)) = std::thread::scope(|scope| {
        let projects = scope.spawn(|| {
            let mut compiler = Compiler::new(ctx);
            let projects = compiler.projects();
            (projects, compiler.provenance)
        });
        let mut compiler = Compiler::new(ctx);
        compiler.record(Declared::Account, account.id.clone(), "/account");
        let state = State {
            account: AccountInfo {
                id: account.id.clone(),
                name: account.name.clone(),
            },
            companies: compiler.companies(),
            roles: compiler.roles(),
            members: compiler.members(),
            agreements: compiler.agreements(),
            projects: BTreeMap::new(),
            teams: compiler.teams(),
        };
        match projects.join() {
            Ok(projects) => (compiler, state, projects),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    compiler.provenance.merge(project_provenance);
    let settings = ctx.config.settings.clone().unwrap_or_default();
    let protected = compiler.protected(&settings.protected);
    Ok(Desired {
        state: State { projects, ..state },
        prune: settings.prune,
        max_removals: max_removals(ctx, settings.max_removals),
        protected,
        provenance: compiler.provenance,
        renames: renames(ctx.config),
    })
}

/// `renamed_from` of companies, roles and projects (one that names the entry's own
/// name renames nothing).
fn renames(config: &crate::config::ConfigFile) -> crate::desired::Renames {
    fn pairs<'a>(
        entries: impl Iterator<Item = (&'a String, &'a Option<String>)>,
    ) -> BTreeMap<String, String> {
        entries
            .filter_map(|(name, from)| {
                let from = from.as_ref().filter(|from| *from != name)?;
                Some((name.clone(), from.clone()))
            })
            .collect()
    }
    crate::desired::Renames {
        companies: pairs(config.companies.iter().map(|c| (&c.name, &c.renamed_from))),
        roles: pairs(config.roles.iter().map(|r| (&r.name, &r.renamed_from))),
        projects: pairs(config.projects.iter().map(|p| (&p.name, &p.renamed_from))),
    }
}

/// The removal limit, citing `settings.max_removals` when the configuration sets it.
fn max_removals(ctx: &Context, configured: Option<u32>) -> MaxRemovals {
    let Some(limit) = configured else {
        return MaxRemovals::default();
    };
    // A configuration built in code (not read from files) has no positions; the
    // limit still came from the configuration, so say so without a real place.
    let location = ctx
        .locate("/settings/max_removals")
        .unwrap_or_else(|| Location::new("<configuration>", 0, 0));
    MaxRemovals {
        limit,
        source: LimitSource::Config(location),
    }
}

struct Compiler<'c, 'a> {
    ctx: &'c Context<'a>,
    provenance: Provenance,
}

impl<'c, 'a> Compiler<'c, 'a> {
    fn new(ctx: &'c Context<'a>) -> Self {
        Self {
            ctx,
            provenance: Provenance::default(),
        }
    }

    fn record(&mut self, kind: Declared, target: String, pointer: &str) {
        self.provenance
            .record(kind, target, self.ctx.locate(pointer));
    }

    /// Records item `index` of the list at `list` (see [`SourceMap::locate_item`]).
    ///
    /// [`SourceMap::locate_item`]: crate::config::SourceMap::locate_item
    fn record_item(&mut self, kind: Declared, target: String, list: &str, index: usize) {
        let location = self.ctx.sources.locate_item(list, index);
        self.provenance.record(kind, target, location);
    }

    /// Records at a location already looked up: a group entry stands for many
    /// people, and looking its position up once per person would dominate the
    /// cost of compiling a large configuration.
    fn record_at(&mut self, kind: Declared, target: String, location: Option<&Location>) {
        self.provenance.record(kind, target, location.cloned());
    }

    fn companies(&mut self) -> BTreeMap<String, CompanyState> {
        let mut companies = BTreeMap::new();
        for (i, company) in self.ctx.config.companies.iter().enumerate() {
            self.record_item(Declared::Company, company.name.clone(), "/companies", i);
            companies.insert(
                company.name.clone(),
                CompanyState {
                    trade: company.trade.clone(),
                },
            );
        }
        companies
    }

    fn roles(&mut self) -> BTreeMap<String, RoleState> {
        let mut roles = BTreeMap::new();
        for (i, role) in self.ctx.config.roles.iter().enumerate() {
            self.record_item(Declared::Role, role.name.clone(), "/roles", i);
            roles.insert(
                role.name.clone(),
                RoleState {
                    default_access: role.default_access.iter().copied().collect(),
                },
            );
        }
        roles
    }

    fn members(&mut self) -> BTreeMap<Email, MemberState> {
        self.provenance.record(
            Declared::MembersSection,
            "",
            self.ctx.sources.locate_key("/members"),
        );
        let declared = &self.ctx.config.members;
        let positions = self.ctx.sources.list_items("/members");
        self.provenance.reserve(Declared::Member, declared.len());
        let mut members = Vec::with_capacity(declared.len());
        for (i, member) in declared.iter().enumerate() {
            let email = Email::new(&member.email);
            self.provenance.record(
                Declared::Member,
                email.as_str().to_owned(),
                positions.locate(i),
            );
            members.push((email, self.member(member)));
        }
        // Built from the list sorted at once, not by tens of thousands of inserts at
        // random places. (An email declared twice, which R09 refuses, would keep its
        // last declaration, as repeated inserts would.)
        members.into_iter().collect()
    }

    fn member(&self, member: &model::Member) -> MemberState {
        MemberState {
            first_name: member.first_name.clone(),
            last_name: member.last_name.clone(),
            company: member.company.clone(),
            role: member.role.clone(),
            access: self.effective_access(member),
            status: if is_inactive(member) {
                MemberStatus::Inactive
            } else {
                MemberStatus::Active
            },
            external_subscriptions: member
                .external_subscriptions
                .iter()
                .map(|s| s.trim().to_owned())
                .collect(),
            invited_at: None,
            signed_in: false,
        }
    }

    /// `access` when given (`[]` is none at all), else the role's default.
    fn effective_access(&self, member: &model::Member) -> BTreeSet<AccessLevel> {
        if let Some(access) = &member.access {
            return access.iter().copied().collect();
        }
        member
            .role
            .as_deref()
            .and_then(|role| self.ctx.roles.get(role))
            .map(|&i| {
                self.ctx.config.roles[i]
                    .default_access
                    .iter()
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn agreements(&mut self) -> BTreeMap<String, AgreementState> {
        let mut agreements = BTreeMap::new();
        for (a, agreement) in self.ctx.config.agreements.iter().enumerate() {
            let state = self.agreement(a, agreement);
            agreements.insert(agreement.number.clone(), state);
        }
        agreements
    }

    fn agreement(&mut self, a: usize, agreement: &'a model::Agreement) -> AgreementState {
        let number = &agreement.number;
        let base = format!("/agreements/{a}");
        self.record(Declared::Agreement, number.clone(), &base);
        let contract_manager = Email::new(&agreement.contract_manager);
        self.record(
            Declared::ContractManager,
            number.clone(),
            &format!("{base}/contract_manager"),
        );
        // No coordinator named: the contract manager is the coordinator (R03), and
        // the contract manager's line is what explains it.
        let (software_coordinator, coordinator_pointer) = match &agreement.software_coordinator {
            Some(raw) => (Email::new(raw), format!("{base}/software_coordinator")),
            None => (contract_manager.clone(), format!("{base}/contract_manager")),
        };
        self.record(
            Declared::SoftwareCoordinator,
            number.clone(),
            &coordinator_pointer,
        );

        let mut products = BTreeMap::new();
        for (p, product) in agreement.products.iter().enumerate() {
            let pointer = format!("{base}/products/{p}");
            self.record(
                Declared::Product,
                format!("{number}/{}", product.name),
                &pointer,
            );
            let prefix = format!("{number}/{}/", product.name);
            let assigned = self.assignees(
                &product.assigned,
                &format!("{pointer}/assigned"),
                Declared::Seat,
                &prefix,
            );
            products.insert(
                product.name.clone(),
                ProductState {
                    seats: product.seats,
                    assigned,
                },
            );
        }
        let mut cloud_services = BTreeMap::new();
        for (s, service) in agreement.cloud_services.iter().enumerate() {
            let prefix = format!("{number}/{}/", service.name);
            let pointer = format!("{base}/cloud_services/{s}/assigned");
            let assigned =
                self.assignees(&service.assigned, &pointer, Declared::CloudService, &prefix);
            cloud_services.insert(service.name.clone(), assigned);
        }
        let support = self.assignees(
            &agreement.support,
            &format!("{base}/support"),
            Declared::Support,
            &format!("{number}/"),
        );
        AgreementState {
            name: agreement.name.clone(),
            contract_manager,
            software_coordinator,
            products,
            cloud_services,
            support,
        }
    }

    /// The people of a member list, recording each one's provenance as `kind` with
    /// target `{prefix}{email}`. Direct entries are recorded before group entries,
    /// so a person named both ways cites the direct entry.
    fn assignees(
        &mut self,
        items: &'a [String],
        pointer: &str,
        kind: Declared,
        prefix: &str,
    ) -> BTreeSet<Email> {
        let positions = self.ctx.sources.list_items(pointer);
        let mut people = BTreeSet::new();
        for groups_pass in [false, true] {
            for (index, raw) in items.iter().enumerate() {
                let entry = Entry::parse(raw);
                let named: &[_] = match &entry {
                    Entry::Person(email) if !groups_pass => std::slice::from_ref(email),
                    Entry::Group(name) if groups_pass => {
                        self.ctx.group_members(name).unwrap_or_default()
                    }
                    _ => continue,
                };
                // The entry's position: looked up once, and only if it names someone new.
                let location = OnceCell::new();
                for email in named {
                    self.add_assignee(&mut people, email, kind, prefix, || {
                        location.get_or_init(|| positions.locate(index)).clone()
                    });
                }
            }
        }
        people
    }

    /// Adds `email` to `people`; someone new is recorded at the location `locate`
    /// answers (only then looked up: most people on a team's `assigned` lists are
    /// already among its users).
    fn add_assignee(
        &mut self,
        people: &mut BTreeSet<Email>,
        email: &str,
        kind: Declared,
        prefix: &str,
        locate: impl FnOnce() -> Option<Location>,
    ) {
        let email = Email::new(email);
        if !people.contains(&email) {
            self.provenance
                .record(kind, joined(prefix, "", &email), locate());
            people.insert(email);
        }
    }

    fn teams(&mut self) -> BTreeMap<String, TeamState> {
        let declared = &self.ctx.config.teams;
        let seats = declared
            .iter()
            .flat_map(|team| &team.products)
            .map(|product| product.assigned.len())
            .sum();
        let users = declared.iter().map(|team| team.members.len()).sum();
        self.provenance.reserve(Declared::TeamSeat, seats);
        self.provenance.reserve(Declared::TeamMember, users);
        let mut teams = BTreeMap::new();
        for (t, team) in declared.iter().enumerate() {
            let state = self.team(t, team);
            teams.insert(team.id.clone(), state);
        }
        teams
    }

    fn team(&mut self, t: usize, team: &'a model::Team) -> TeamState {
        let id = &team.id;
        self.record_item(Declared::Team, id.clone(), "/teams", t);
        let mut pools = BTreeMap::new();
        for (p, product) in team.products.iter().enumerate() {
            let pointer = format!("/teams/{t}/products/{p}");
            let target = format!("{id}/{}", product.name);
            self.record(Declared::TeamPool, target.clone(), &pointer);
            let direct = self.assignees(
                &product.assigned,
                &format!("{pointer}/assigned"),
                Declared::TeamSeat,
                &format!("{target}/"),
            );
            pools.insert(
                product.name.clone(),
                PoolState {
                    seats: product.seats,
                    direct,
                    ..PoolState::default()
                },
            );
        }
        TeamState {
            name: team.name.clone(),
            users: self.team_users(t, team),
            pools,
        }
    }

    /// Everyone on a team's lists, each recorded once as `Declared::TeamMember`:
    /// direct entries of every list first (`members`, then each `assigned` list),
    /// then group entries, so a person named directly cites that entry.
    fn team_users(&mut self, t: usize, team: &'a model::Team) -> BTreeSet<Email> {
        let mut lists: Vec<(String, &'a [String])> =
            vec![(format!("/teams/{t}/members"), &team.members)];
        for (p, product) in team.products.iter().enumerate() {
            lists.push((
                format!("/teams/{t}/products/{p}/assigned"),
                &product.assigned,
            ));
        }
        let prefix = format!("{}/", team.id);
        let mut users = BTreeSet::new();
        for groups_pass in [false, true] {
            for (pointer, items) in &lists {
                let positions = self.ctx.sources.list_items(pointer);
                for (index, raw) in items.iter().enumerate() {
                    let entry = Entry::parse(raw);
                    let people: &[_] = match &entry {
                        Entry::Person(email) if !groups_pass => std::slice::from_ref(email),
                        Entry::Group(name) if groups_pass => {
                            self.ctx.group_members(name).unwrap_or_default()
                        }
                        _ => continue,
                    };
                    let location = OnceCell::new();
                    for email in people {
                        self.add_assignee(&mut users, email, Declared::TeamMember, &prefix, || {
                            location.get_or_init(|| positions.locate(index)).clone()
                        });
                    }
                }
            }
        }
        users
    }

    fn projects(&mut self) -> BTreeMap<String, ProjectState> {
        let mut projects = BTreeMap::new();
        let declared = &self.ctx.config.projects;
        let positions = self.ctx.sources.list_items("/projects");
        self.provenance.reserve(
            Declared::ProjectMember,
            declared.iter().map(|project| project.members.len()).sum(),
        );
        for (p, project) in declared.iter().enumerate() {
            self.provenance
                .record(Declared::Project, project.name.clone(), positions.locate(p));
            let members = self.project_members(p, project);
            projects.insert(project.name.clone(), ProjectState { members });
        }
        projects
    }

    /// A project's members: direct entries first (they win), then group entries
    /// merged into each other (highest access, union of products).
    fn project_members(
        &mut self,
        p: usize,
        project: &'a model::Project,
    ) -> BTreeMap<Email, ProjectMemberState> {
        // Direct entries; the people groups add are kept apart until the end, so
        // that a person is known to be named directly by being in `members`.
        let mut members: BTreeMap<Email, ProjectMemberState> = BTreeMap::new();
        let mut through_groups: BTreeMap<Email, ProjectMemberState> = BTreeMap::new();
        let list = format!("/projects/{p}/members");
        let positions = self.ctx.sources.list_items(&list);
        for (m, entry) in project.members.iter().enumerate() {
            let Some(raw) = &entry.email else { continue };
            let email = Email::new(raw);
            self.provenance.record(
                Declared::ProjectMember,
                joined(&project.name, "/", &email),
                positions.locate(m),
            );
            members.insert(email, project_member(entry));
        }
        for (m, entry) in project.members.iter().enumerate() {
            let (None, Some(group)) = (&entry.email, &entry.group) else {
                continue;
            };
            let granted = project_member(entry);
            let location = positions.locate(m);
            for email in self.ctx.group_members(group.trim()).unwrap_or_default() {
                let email = Email::new(email);
                if members.contains_key(&email) {
                    continue;
                }
                self.record_at(
                    Declared::ProjectMember,
                    joined(&project.name, "/", &email),
                    location.as_ref(),
                );
                through_groups
                    .entry(email)
                    .and_modify(|held| {
                        held.access = held.access.max(granted.access);
                        held.products.extend(granted.products.iter().copied());
                    })
                    .or_insert_with(|| granted.clone());
            }
        }
        members.append(&mut through_groups);
        members
    }

    fn protected(&mut self, protected: &[String]) -> BTreeSet<Email> {
        let mut emails = BTreeSet::new();
        for (i, raw) in protected.iter().enumerate() {
            let email = Email::new(raw);
            self.record(
                Declared::Protected,
                email.to_string(),
                &format!("/settings/protected/{i}"),
            );
            emails.insert(email);
        }
        emails
    }
}

/// `{prefix}{separator}{email}`: a provenance target (written without `format!`,
/// which costs more than the rest of recording one of a few hundred thousand).
fn joined(prefix: &str, separator: &str, email: &Email) -> String {
    let email = email.as_str();
    let mut target = String::with_capacity(prefix.len() + separator.len() + email.len());
    target.push_str(prefix);
    target.push_str(separator);
    target.push_str(email);
    target
}

/// A project entry's access and products (`[docs]` when `products` is left out).
fn project_member(entry: &model::ProjectMember) -> ProjectMemberState {
    let products = match &entry.products {
        Some(products) => products.iter().copied().collect(),
        None => BTreeSet::from([ProjectProduct::Docs]),
    };
    ProjectMemberState {
        access: entry.access,
        products,
    }
}
