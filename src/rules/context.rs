//! The shared, read-only view of a configuration that every rule works from.
//!
//! It is built once per validation: members indexed by normalised email, companies,
//! roles and groups indexed by name, every group expanded to the people it stands
//! for (through nested groups, with cycles found on the way), and the list of every
//! place where members are listed (seats, cloud services, support, groups, team
//! members and team seats). With it
//! each rule is a single pass over the configuration, so validating 50,000 members
//! and 150,000 project memberships stays near-linear.
//!
//! Lookups borrow from the configuration; an email is only copied when it needs
//! normalising (upper case or surrounding whitespace), which is rare.

use std::borrow::Cow;
use std::fmt::Write as _;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use crate::config::model::{DesiredStatus, Member};
use crate::config::{ConfigFile, SourceMap};
use crate::diagnostic::{Code, Diagnostic, Location};

/// The prefix that turns an entry of a member list into a group reference.
pub const GROUP_PREFIX: &str = "group:";

/// An email trimmed and lower-cased, as [`crate::state::Email::new`] does, borrowing
/// when the address is already normalised.
#[must_use]
pub fn normalise(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim();
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// One entry of a member list: a person or `group:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A person, by normalised email.
    Person(Cow<'a, str>),
    /// A group, by name.
    Group(&'a str),
}

impl<'a> Entry<'a> {
    /// Reads one entry of a member list.
    #[must_use]
    pub fn parse(raw: &'a str) -> Self {
        match raw.trim_start().strip_prefix(GROUP_PREFIX) {
            Some(name) => Self::Group(name.trim()),
            None => Self::Person(normalise(raw)),
        }
    }
}

/// What the members of a list hold, for messages and for R07 (inactive members may
/// be in a group, but may hold nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding<'a> {
    /// A seat of a product of an agreement.
    Seat {
        /// Agreement number.
        agreement: &'a str,
        /// Product name.
        product: &'a str,
    },
    /// A cloud service of an agreement.
    CloudService {
        /// Agreement number.
        agreement: &'a str,
        /// Service name.
        service: &'a str,
    },
    /// Support benefits of an agreement.
    Support {
        /// Agreement number.
        agreement: &'a str,
    },
    /// Membership of a group (holds nothing by itself).
    Group {
        /// Group name.
        group: &'a str,
    },
    /// A place on a team (its `members` list: a user with no seat).
    TeamMember {
        /// The team's id.
        team: &'a str,
        /// The team's name.
        name: &'a str,
    },
    /// A direct seat of a team's product pool.
    TeamSeat {
        /// The team's id.
        team: &'a str,
        /// The team's name.
        name: &'a str,
        /// Product name.
        product: &'a str,
    },
}

impl Holding<'_> {
    /// Whether being on the list holds something an inactive member may not hold.
    #[must_use]
    pub fn is_benefit(self) -> bool {
        !matches!(self, Self::Group { .. })
    }

    /// The list, in words: "the seats of `AutoCAD` on agreement 110001234567".
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::Seat { agreement, product } => {
                format!("the seats of `{product}` on agreement {agreement}")
            }
            Self::CloudService { agreement, service } => {
                format!("cloud service `{service}` on agreement {agreement}")
            }
            Self::Support { agreement } => format!("the support list of agreement {agreement}"),
            Self::Group { group } => format!("group `{group}`"),
            Self::TeamMember { team, name } => {
                format!("the `members` list of team {team} ({name})")
            }
            Self::TeamSeat {
                team,
                name,
                product,
            } => format!("the seats of `{product}` on team {team} ({name})"),
        }
    }

    /// Whether the list is one of a team's.
    #[must_use]
    pub fn is_team(self) -> bool {
        matches!(self, Self::TeamMember { .. } | Self::TeamSeat { .. })
    }
}

/// A place where members are listed by email or `group:NAME`.
#[derive(Debug, Clone)]
pub struct MemberList<'a> {
    /// JSON pointer of the list; entry `k` is at `{pointer}/{k}`.
    pub pointer: String,
    /// The entries as written.
    pub items: &'a [String],
    /// What being on the list holds.
    pub holding: Holding<'a>,
}

/// A group entry that closes a cycle of groups (R09).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCycle {
    /// Index of the group (in `config.groups`) holding the entry.
    pub group: usize,
    /// Index of the entry in that group's `members`.
    pub entry: usize,
}

/// Everything the rules look up, built once from the configuration.
pub struct Context<'a> {
    /// The merged configuration.
    pub config: &'a ConfigFile,
    /// Where each node came from.
    pub sources: &'a SourceMap,
    /// Normalised email of each member declaration, by index in `config.members`.
    pub member_emails: Vec<Cow<'a, str>>,
    /// Index of the first declaration of each normalised email.
    members: FxHashMap<Cow<'a, str>, usize>,
    /// Index of the first declaration of each company name.
    pub companies: FxHashMap<&'a str, usize>,
    /// Index of the first declaration of each role name.
    pub roles: FxHashMap<&'a str, usize>,
    /// Index of the first declaration of each group name.
    pub groups: FxHashMap<&'a str, usize>,
    /// The people each group stands for (distinct normalised emails, through nested
    /// groups), by group index. Duplicate declarations expand to nobody.
    expansions: Vec<Vec<Cow<'a, str>>>,
    /// Group entries that close a cycle.
    pub group_cycles: Vec<GroupCycle>,
    /// Every seat, cloud-service, support, group and team list.
    pub member_lists: Vec<MemberList<'a>>,
}

impl<'a> Context<'a> {
    /// Indexes `config`.
    #[must_use]
    pub fn new(config: &'a ConfigFile, sources: &'a SourceMap) -> Self {
        let member_emails: Vec<Cow<'a, str>> =
            config.members.iter().map(|m| normalise(&m.email)).collect();
        let mut members = FxHashMap::with_capacity_and_hasher(member_emails.len(), FxBuildHasher);
        for (index, email) in member_emails.iter().enumerate() {
            members.entry(email.clone()).or_insert(index);
        }
        let groups = first_index(config.groups.iter().map(|g| g.name.as_str()));
        let (expansions, group_cycles) = expand_groups(config, &groups);
        Self {
            config,
            sources,
            member_emails,
            members,
            companies: first_index(config.companies.iter().map(|c| c.name.as_str())),
            roles: first_index(config.roles.iter().map(|r| r.name.as_str())),
            groups,
            expansions,
            group_cycles,
            member_lists: member_lists(config),
        }
    }

    /// Index of the first declaration of the member with this normalised email.
    #[must_use]
    pub fn member_index(&self, email: &str) -> Option<usize> {
        self.members.get(email).copied()
    }

    /// The member declared with this normalised email (its first declaration).
    #[must_use]
    pub fn member(&self, email: &str) -> Option<&'a Member> {
        self.member_index(email).map(|i| &self.config.members[i])
    }

    /// Whether the member with this normalised email is declared and inactive.
    #[must_use]
    pub fn is_inactive(&self, email: &str) -> bool {
        self.member(email).is_some_and(is_inactive)
    }

    /// The people group `name` stands for, or `None` when no such group is declared.
    #[must_use]
    pub fn group_members(&self, name: &str) -> Option<&[Cow<'a, str>]> {
        self.groups
            .get(name)
            .map(|&index| self.expansions[index].as_slice())
    }

    /// Every person a member list names, with the index of the entry naming them:
    /// entries in order, groups expanded, unknown groups skipped (R09 reports them).
    /// A person may come more than once; callers that count deduplicate.
    pub fn people<'s>(
        &'s self,
        items: &'a [String],
    ) -> impl Iterator<Item = (usize, Cow<'a, str>)> + 's {
        items
            .iter()
            .enumerate()
            .flat_map(move |(index, raw)| -> Box<dyn Iterator<Item = _> + 's> {
                match Entry::parse(raw) {
                    Entry::Person(email) => Box::new(std::iter::once((index, email))),
                    Entry::Group(name) => Box::new(
                        self.group_members(name)
                            .unwrap_or_default()
                            .iter()
                            .map(move |email| (index, email.clone())),
                    ),
                }
            })
    }

    /// The number of distinct people a list names and the index of the entry that
    /// brings the count above `limit` (if it does).
    #[must_use]
    pub fn count_over(&self, items: &'a [String], limit: u64) -> (u64, Option<usize>) {
        let mut seen: FxHashSet<Cow<'a, str>> = FxHashSet::default();
        let mut first_over = None;
        for (index, email) in self.people(items) {
            if seen.insert(email) && first_over.is_none() && seen.len() as u64 > limit {
                first_over = Some(index);
            }
        }
        (seen.len() as u64, first_over)
    }

    /// Where the node at `pointer` is.
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Option<Location> {
        self.sources.locate(pointer)
    }

    /// An error of `code` at the node `pointer`.
    #[must_use]
    pub fn error(&self, code: Code, pointer: String, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, message)
            .at(self.sources.locate(&pointer))
            .pointer(pointer)
    }

    /// An error of `code` at the key naming the node `pointer` (`members:` rather
    /// than the list under it).
    #[must_use]
    pub fn error_at_key(
        &self,
        code: Code,
        pointer: String,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(code, message)
            .at(self.sources.locate_key(&pointer))
            .pointer(pointer)
    }
}

/// ` (first declared at FILE:LINE)` for a name declared twice, so every format (the
/// message itself, CI annotations, a log) names both places; empty when the first
/// place is not known.
#[must_use]
pub fn first_at(first: Option<&crate::diagnostic::Location>) -> String {
    first.map_or_else(String::new, |l| {
        format!(" (first declared at {})", l.file_line())
    })
}

/// Whether a member declaration asks for `inactive`.
#[must_use]
pub fn is_inactive(member: &Member) -> bool {
    member.status == Some(DesiredStatus::Inactive)
}

/// Index of the first occurrence of each name.
fn first_index<'a>(names: impl Iterator<Item = &'a str>) -> FxHashMap<&'a str, usize> {
    let mut map = FxHashMap::default();
    for (index, name) in names.enumerate() {
        map.entry(name).or_insert(index);
    }
    map
}

/// Every list of members in the configuration except project member lists (whose
/// entries are mappings, not strings).
fn member_lists(config: &ConfigFile) -> Vec<MemberList<'_>> {
    let mut lists = Vec::new();
    for (g, group) in config.groups.iter().enumerate() {
        lists.push(MemberList {
            pointer: format!("/groups/{g}/members"),
            items: &group.members,
            holding: Holding::Group { group: &group.name },
        });
    }
    for (a, agreement) in config.agreements.iter().enumerate() {
        let number = agreement.number.as_str();
        for (p, product) in agreement.products.iter().enumerate() {
            lists.push(MemberList {
                pointer: format!("/agreements/{a}/products/{p}/assigned"),
                items: &product.assigned,
                holding: Holding::Seat {
                    agreement: number,
                    product: &product.name,
                },
            });
        }
        for (s, service) in agreement.cloud_services.iter().enumerate() {
            lists.push(MemberList {
                pointer: format!("/agreements/{a}/cloud_services/{s}/assigned"),
                items: &service.assigned,
                holding: Holding::CloudService {
                    agreement: number,
                    service: &service.name,
                },
            });
        }
        lists.push(MemberList {
            pointer: format!("/agreements/{a}/support"),
            items: &agreement.support,
            holding: Holding::Support { agreement: number },
        });
    }
    for (t, team) in config.teams.iter().enumerate() {
        let (id, name) = (team.id.as_str(), team.name.as_str());
        lists.push(MemberList {
            pointer: format!("/teams/{t}/members"),
            items: &team.members,
            holding: Holding::TeamMember { team: id, name },
        });
        for (p, product) in team.products.iter().enumerate() {
            lists.push(MemberList {
                pointer: format!("/teams/{t}/products/{p}/assigned"),
                items: &product.assigned,
                holding: Holding::TeamSeat {
                    team: id,
                    name,
                    product: &product.name,
                },
            });
        }
    }
    lists
}

/// Progress of a group through the depth-first expansion.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    NotStarted,
    InProgress,
    Done,
}

/// Expands every (first-declared) group to the distinct people it stands for.
///
/// Depth-first with an explicit stack, so a long chain of nested groups cannot
/// overflow the call stack; each group is expanded once and reused. An entry naming
/// a group that is still being expanded closes a cycle: it is recorded and skipped.
fn expand_groups<'a>(
    config: &'a ConfigFile,
    groups: &FxHashMap<&'a str, usize>,
) -> (Vec<Vec<Cow<'a, str>>>, Vec<GroupCycle>) {
    let count = config.groups.len();
    let mut expansions: Vec<Vec<Cow<'a, str>>> = vec![Vec::new(); count];
    let mut visit = vec![Visit::NotStarted; count];
    let mut cycles = Vec::new();
    for root in 0..count {
        if visit[root] != Visit::NotStarted
            || groups.get(config.groups[root].name.as_str()) != Some(&root)
        {
            continue;
        }
        // Each frame: (group index, next entry to look at).
        let mut stack = vec![(root, 0usize)];
        visit[root] = Visit::InProgress;
        while let Some(frame) = stack.last_mut() {
            let (group, entry) = *frame;
            let Some(raw) = config.groups[group].members.get(entry) else {
                expansions[group] = collect_group(config, group, groups, &expansions);
                visit[group] = Visit::Done;
                stack.pop();
                continue;
            };
            frame.1 += 1;
            let Entry::Group(name) = Entry::parse(raw) else {
                continue;
            };
            let Some(&child) = groups.get(name) else {
                continue;
            };
            match visit[child] {
                Visit::NotStarted => {
                    visit[child] = Visit::InProgress;
                    stack.push((child, 0));
                }
                Visit::InProgress => cycles.push(GroupCycle { group, entry }),
                Visit::Done => {}
            }
        }
    }
    (expansions, cycles)
}

/// The distinct people of `group`, once its nested groups are expanded (a nested
/// group still in progress, that is in a cycle, contributes nobody).
fn collect_group<'a>(
    config: &'a ConfigFile,
    group: usize,
    groups: &FxHashMap<&'a str, usize>,
    expansions: &[Vec<Cow<'a, str>>],
) -> Vec<Cow<'a, str>> {
    let mut seen: FxHashSet<Cow<'a, str>> = FxHashSet::default();
    let mut people = Vec::new();
    let mut add = |email: Cow<'a, str>| {
        if seen.insert(email.clone()) {
            people.push(email);
        }
    };
    for raw in &config.groups[group].members {
        match Entry::parse(raw) {
            Entry::Person(email) => add(email),
            Entry::Group(name) => {
                if let Some(&child) = groups.get(name) {
                    for email in &expansions[child] {
                        add(email.clone());
                    }
                }
            }
        }
    }
    people
}

/// The candidate closest to `name`, for "did you mean" hints: an exact match but for
/// case or surrounding space first, then the most similar name if it is close.
#[must_use]
pub fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let wanted = name.trim().to_lowercase();
    let mut best: Option<(f64, &'c str)> = None;
    for candidate in candidates {
        let lowered = candidate.trim().to_lowercase();
        if lowered == wanted {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&wanted, &lowered);
        if score >= 0.85 && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `a`, `b` and 3 more: a short list of names for a message.
#[must_use]
pub fn short_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 5;
    let mut out = String::new();
    for (i, name) in names.iter().take(SHOWN).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", name.as_ref());
    }
    if names.len() > SHOWN {
        let _ = write!(out, " and {} more", names.len() - SHOWN);
    }
    out
}

/// "1 member" / "3 members".
#[must_use]
pub fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}
