//! Sets up the plan benchmark (BENCHMARKS.md, "## plan"): an embedded store holding
//! a deterministic, slightly changed version of a configuration's desired state, so
//! that `accord plan CONFIG --backend sqlite:STORE` has a realistic amount of drift
//! to find.
//!
//! ```text
//! cargo run --release --example plan_setup -- CONFIG_DIR STORE_PATH [--change-percent 5] [--seed 1]
//! ```
//!
//! It validates `CONFIG_DIR`, takes the desired state it compiles to, and makes about
//! `P% x members` changes to it, spread over five kinds (each a share of the budget):
//!
//! - 20% member records changed (company, first name, role, an extra access level);
//! - 15% declared members missing from the store (the plan invites them again);
//! - 15% extra members the configuration does not declare (left alone: prune is off);
//! - 25% seat moves (a seat holder replaced by someone else, so the count stays);
//! - 25% project membership changes (a member dropped, added, or their access flipped).
//!
//! The changed state still keeps the store's rules (R02-R10): contract managers and
//! coordinators are never the missing ones, seat counts stay, inactive members hold
//! nothing, admins are only ever added. Backend-owned facts are set as a live account
//! has them: most members active and signed in, one in 50 pending on a recent
//! invitation (not expired: no resend), those with no access and no project not
//! invited yet. The store at `STORE_PATH` is replaced (its `-wal`/`-shm` files too).
//!
//! The output is deterministic for a given configuration, percentage and seed.

#[path = "tool.rs"]
mod tool;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use accord::backend::sqlite::SqliteStore;
use accord::backend::{Clock, SystemClock};
use accord::config::LoadOptions;
use accord::state::{
    AccessLevel, Email, MemberState, MemberStatus, ProjectAccess, ProjectMemberState,
    ProjectProduct, State,
};
use tool::Rng;

const USAGE: &str = "usage: plan_setup CONFIG_DIR STORE_PATH [--change-percent P] [--seed S]";

/// Shares of the change budget, in percent, by kind (see the module docs).
const RECORD_SHARE: usize = 20;
const MISSING_SHARE: usize = 15;
const EXTRA_SHARE: usize = 15;
const SEAT_SHARE: usize = 25;
const PROJECT_SHARE: usize = 25;

fn main() -> ExitCode {
    match Args::parse(std::env::args().skip(1)) {
        Ok(args) => tool::finish(run(&args)),
        Err(message) => tool::usage_error(&message, USAGE),
    }
}

struct Args {
    config: PathBuf,
    store: PathBuf,
    percent: f64,
    seed: u64,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut percent = 5.0;
        let mut seed = 1;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--change-percent" => {
                    let value = args.next().ok_or("--change-percent needs a number")?;
                    percent = value
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=100.0).contains(p))
                        .ok_or_else(|| format!("--change-percent {value}: not in 0..=100"))?;
                }
                "--seed" => {
                    let value = args.next().ok_or("--seed needs a number")?;
                    seed = value
                        .parse()
                        .map_err(|_| format!("--seed {value}: not a number"))?;
                }
                flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
                _ => positional.push(PathBuf::from(arg)),
            }
        }
        let [config, store]: [PathBuf; 2] = positional
            .try_into()
            .map_err(|_| "expected CONFIG_DIR and STORE_PATH".to_owned())?;
        Ok(Self {
            config,
            store,
            percent,
            seed,
        })
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let validated =
        accord::validate::validate(&args.config, &LoadOptions::default()).map_err(|problems| {
            format!(
                "{} is invalid ({} problems): run `accord validate` on it",
                args.config.display(),
                problems.len()
            )
        })?;
    let mut state = validated.desired.state;
    let members = state.members.len();
    // Rounded to the nearest change: 5% of 50,000 members is 2,500 changes. The casts
    // are exact: a member count is far below 2^52, and the percentage is in 0..=100.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let budget = (members as f64 * args.percent / 100.0).round() as usize;
    let mut changer = Changer {
        state: &mut state,
        rng: Rng::new(args.seed),
        counts: Counts::default(),
    };
    changer.apply(budget);
    let counts = changer.counts;
    let now = SystemClock.now();
    set_backend_facts(&mut state, now);
    remove_store(&args.store)?;
    let mut store =
        SqliteStore::open(&args.store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    store.import_state(&state).map_err(|e| e.to_string())?;
    println!(
        "{}: {members} members declared; store {} holds {} members after {} changes ({}%):\n  \
         {} records changed, {} members missing, {} extra members, {} seat moves, {} project changes\n  \
         ({:.1} s)",
        args.config.display(),
        args.store.display(),
        state.members.len(),
        counts.total(),
        args.percent,
        counts.records,
        counts.missing,
        counts.extra,
        counts.seats,
        counts.projects,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Deletes the store and its WAL files, so the import starts from a fresh store.
fn remove_store(path: &std::path::Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", file.display())),
        }
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    records: usize,
    missing: usize,
    extra: usize,
    seats: usize,
    projects: usize,
}

impl Counts {
    fn total(&self) -> usize {
        self.records + self.missing + self.extra + self.seats + self.projects
    }
}

/// Makes the changes, counting those actually made.
struct Changer<'s> {
    state: &'s mut State,
    rng: Rng,
    counts: Counts,
}

impl Changer<'_> {
    fn apply(&mut self, budget: usize) {
        let share = |percent: usize| budget * percent / 100;
        // Missing members first: the other changes then only touch members the store holds.
        self.remove_members(share(MISSING_SHARE));
        self.change_records(share(RECORD_SHARE));
        self.move_seats(share(SEAT_SHARE));
        self.change_projects(share(PROJECT_SHARE));
        // Whatever rounding left over goes to the extra members.
        let used = self.counts.total();
        self.add_extra_members(budget.saturating_sub(used).max(share(EXTRA_SHARE)));
    }

    /// Members who may hold seats and project memberships: declared and not inactive.
    fn eligible(&self) -> Vec<Email> {
        self.state
            .members
            .iter()
            .filter(|(_, m)| !m.status.is_inactive())
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// Declared members the store does not hold: never a contract manager or
    /// coordinator (the store keeps R02/R03), never an admin (R10 stays easy to keep).
    fn remove_members(&mut self, count: usize) {
        let holders: BTreeSet<Email> = self
            .state
            .agreements
            .values()
            .flat_map(|a| [a.contract_manager.clone(), a.software_coordinator.clone()])
            .collect();
        let candidates: Vec<Email> = self
            .state
            .members
            .iter()
            .filter(|(e, m)| {
                !holders.contains(*e) && !m.access.contains(&AccessLevel::AccountAdmin)
            })
            .map(|(e, _)| e.clone())
            .collect();
        let mut gone = BTreeSet::new();
        while gone.len() < count.min(candidates.len()) {
            gone.insert(candidates[self.rng.below(candidates.len())].clone());
        }
        for email in &gone {
            self.state.members.remove(email);
        }
        for agreement in self.state.agreements.values_mut() {
            for product in agreement.products.values_mut() {
                product.assigned.retain(|e| !gone.contains(e));
            }
            for users in agreement.cloud_services.values_mut() {
                users.retain(|e| !gone.contains(e));
            }
            agreement.support.retain(|e| !gone.contains(e));
        }
        for project in self.state.projects.values_mut() {
            project.members.retain(|e, _| !gone.contains(e));
        }
        // A member missing from the account is on no team either (the store refuses
        // a team user who is not a member).
        for team in self.state.teams.values_mut() {
            team.users.retain(|e| !gone.contains(e));
            for pool in team.pools.values_mut() {
                pool.direct.retain(|e| !gone.contains(e));
            }
        }
        self.counts.missing = gone.len();
    }

    /// Changes one field of `count` members' records, as someone in the web console would.
    fn change_records(&mut self, count: usize) {
        let emails: Vec<Email> = self.state.members.keys().cloned().collect();
        let companies: Vec<String> = self.state.companies.keys().cloned().collect();
        let roles: Vec<String> = self.state.roles.keys().cloned().collect();
        for _ in 0..count {
            let Some(email) = self.rng.pick_any(&emails).cloned() else {
                return;
            };
            let kind = self.rng.below(4);
            let company = self.rng.pick_any(&companies).cloned();
            let role = self.rng.pick_any(&roles).cloned();
            let member = self.state.members.get_mut(&email).expect("declared");
            match kind {
                0 => member.company = company,
                1 => member.first_name = Some(format!("Changed{}", self.counts.records)),
                // A role changed in the console keeps the member's stored access.
                2 => member.role = role,
                _ => {
                    member.access.insert(AccessLevel::Executive);
                }
            }
            self.counts.records += 1;
        }
    }

    /// Gives `count` seats to someone else (the seat count stays: R04 holds).
    fn move_seats(&mut self, count: usize) {
        let eligible = self.eligible();
        let products: Vec<(String, String)> = self
            .state
            .agreements
            .iter()
            .flat_map(|(number, a)| {
                a.products
                    .iter()
                    .filter(|(_, p)| !p.assigned.is_empty())
                    .map(move |(name, _)| (number.clone(), name.clone()))
            })
            .collect();
        for _ in 0..count {
            let Some((number, name)) = self.rng.pick_any(&products).cloned() else {
                return;
            };
            let Some(newcomer) = self.rng.pick_any(&eligible).cloned() else {
                return;
            };
            let product = self
                .state
                .agreements
                .get_mut(&number)
                .and_then(|a| a.products.get_mut(&name))
                .expect("listed");
            let holders: Vec<Email> = product.assigned.iter().cloned().collect();
            if product.assigned.contains(&newcomer) || holders.is_empty() {
                continue;
            }
            let leaving = &holders[self.rng.below(holders.len())];
            product.assigned.remove(leaving);
            product.assigned.insert(newcomer);
            self.counts.seats += 1;
        }
    }

    /// Drops, adds or flips the access of `count` project members.
    fn change_projects(&mut self, count: usize) {
        let eligible = self.eligible();
        let names: Vec<String> = self.state.projects.keys().cloned().collect();
        for _ in 0..count {
            let Some(name) = self.rng.pick_any(&names).cloned() else {
                return;
            };
            let kind = self.rng.below(3);
            let newcomer = self.rng.pick_any(&eligible).cloned();
            let project = self.state.projects.get_mut(&name).expect("listed");
            let members: Vec<Email> = project.members.keys().cloned().collect();
            let someone =
                (!members.is_empty()).then(|| members[self.rng.below(members.len())].clone());
            let changed = match (kind, someone, newcomer) {
                (0, Some(email), _) => project.members.remove(&email).is_some(),
                (1, Some(email), _) => {
                    let member = project.members.get_mut(&email).expect("listed");
                    member.access = match member.access {
                        ProjectAccess::Admin => ProjectAccess::Member,
                        ProjectAccess::Member => ProjectAccess::Admin,
                    };
                    true
                }
                (_, _, Some(email)) if !project.members.contains_key(&email) => {
                    project.members.insert(
                        email,
                        ProjectMemberState {
                            access: ProjectAccess::Member,
                            products: [ProjectProduct::Docs].into(),
                        },
                    );
                    true
                }
                _ => false,
            };
            self.counts.projects += usize::from(changed);
        }
    }

    /// Adds `count` members the configuration does not declare (someone invited in the
    /// web console); prune is off in the generated configurations, so they stay.
    fn add_extra_members(&mut self, count: usize) {
        let companies: Vec<String> = self.state.companies.keys().cloned().collect();
        let roles: Vec<String> = self.state.roles.keys().cloned().collect();
        for i in 0..count {
            let member = MemberState {
                first_name: Some(format!("Extra{i}")),
                company: self.rng.pick_any(&companies).cloned(),
                role: self.rng.pick_any(&roles).cloned(),
                access: [AccessLevel::Executive].into(),
                ..MemberState::default()
            };
            self.state
                .members
                .insert(Email::new(&format!("extra{i}@console.example")), member);
            self.counts.extra += 1;
        }
    }
}

/// Statuses and invitation facts as a live account has them (see the module docs).
fn set_backend_facts(state: &mut State, now: i64) {
    let in_a_project: BTreeSet<&Email> = state
        .projects
        .values()
        .flat_map(|p| p.members.keys())
        .collect();
    for (index, (email, member)) in state.members.iter_mut().enumerate() {
        if member.status.is_inactive() {
            member.signed_in = true;
            continue;
        }
        if member.access.is_empty() && !in_a_project.contains(email) {
            member.status = MemberStatus::NotInvited;
        } else if index % 50 == 0 {
            member.status = MemberStatus::Pending;
            member.invited_at = Some(now - 24 * 60 * 60);
        } else {
            member.status = MemberStatus::Active;
            member.signed_in = true;
            member.invited_at = Some(now - 30 * 24 * 60 * 60);
        }
    }
}
