//! `accord offboard`: taking a person off the configuration in one step, by
//! editing its files in place.
//!
//! This module owns what offboarding means and how the files change:
//!
//! - what the person holds, found in the typed configuration: seats, cloud
//!   services and support on agreements, team seats and team memberships,
//!   project memberships, groups, and the roles someone must always hold
//!   (contract manager and software coordinator of an agreement, R02/R03; the
//!   last account admin, R10), which go to the successor (`--transfer-to`) or,
//!   without one, refuse the whole offboarding, naming them;
//! - where each of those is written: the loader's [`SourceMap`] gives the file and
//!   `line:column` of every node, and [`yaml`] re-parses just the files concerned
//!   to edit their text by byte ranges, so comments, order and formatting stay;
//! - that the result is valid: the edited texts are validated
//!   ([`crate::validate::check_with`]) before anything is written, and nothing
//!   is written when they would not be;
//! - how files are written: each through a temporary file renamed over it, with the
//!   original's permissions ([`Offboarding::write`]).
//!
//! The member is deactivated by default (`status: inactive`: the account keeps
//! their history and the plan frees everything they held), or removed from
//! `members` when asked.

pub mod yaml;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use self::yaml::{Edits, Kind, NodeId, Tree};
use crate::config::loader::Replacements;
use crate::config::model::DesiredStatus;
use crate::config::schema::{self, Checked};
use crate::config::{ConfigFile, LoadOptions, SourceMap};
use crate::diagnostic::Location;
use crate::error::{Error, Result};
use crate::state::AccessLevel;

/// What happens to the member's own entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Leaving {
    /// `status: inactive`: kept in the account with their history, holding nothing.
    #[default]
    Deactivate,
    /// Their entry is taken out of `members`.
    Remove,
}

/// An offboarding to prepare.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who leaves.
    pub email: String,
    /// Who takes over the roles they hold.
    pub successor: Option<String>,
    /// Deactivate or remove them.
    pub leaving: Leaving,
}

/// One file's text before and after.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The file, as diagnostics name it.
    pub name: String,
    /// Its text now.
    pub before: String,
    /// Its text after the offboarding.
    pub after: String,
}

/// An offboarding prepared and checked: the edits, not yet written.
#[derive(Debug, Clone)]
pub struct Offboarding {
    /// The person, as the configuration writes their email.
    pub email: String,
    /// The files that change, in the order they are read.
    pub files: Vec<FileChange>,
    /// What changes, each with the `file:line` it changes at.
    pub changes: Vec<String>,
    /// Things to know (a removal the live account will not see).
    pub notes: Vec<String>,
}

/// The email as the configuration compares it: trimmed, lower-case.
fn normalised(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One edit to make, found in the typed configuration.
#[derive(Debug)]
enum Change {
    /// Take item `index` off the list at `list`.
    RemoveItem { list: String, index: usize },
    /// Set the scalar at `pointer` to `value`.
    Set { pointer: String, value: String },
    /// Add `key: value` to the mapping at `mapping`.
    AddEntry {
        mapping: String,
        key: &'static str,
        value: String,
    },
    /// Append `value` to the list at `list`.
    Append { list: String, value: String },
}

impl Change {
    /// The node the edit is located by.
    fn pointer(&self) -> &str {
        match self {
            Self::RemoveItem { list, .. } | Self::Append { list, .. } => list,
            Self::Set { pointer, .. } => pointer,
            Self::AddEntry { mapping, .. } => mapping,
        }
    }

    /// The node a person reading the summary looks at: the item itself for a
    /// removal (the list may start many lines earlier), else the edited node.
    fn cited(&self) -> String {
        match self {
            Self::RemoveItem { list, index } => format!("{list}/{index}"),
            _ => self.pointer().to_owned(),
        }
    }
}

/// Prepares the offboarding `request` asks for on the configuration at `path`:
/// every edit made and validated in memory; nothing is written.
///
/// # Errors
/// [`Error::Invalid`] when the configuration does not load or fails the schema;
/// [`Error::Offboard`] for an unknown person or successor, roles without a
/// successor, a protected person, text that cannot be edited in place, or edits
/// that would leave an invalid configuration.
pub fn prepare(path: &Path, options: &LoadOptions, request: &Request) -> Result<Offboarding> {
    let Checked { config, sources } =
        schema::load_and_check(path, options).map_err(Error::Invalid)?;
    let found = Found::new(&config, request)?;
    let mut changes = Vec::new();
    let mut described = Vec::new();
    found.lists(&config, &mut changes, &mut described);
    found.roles(&config, &mut changes, &mut described)?;
    found.member(&config, request.leaving, &mut changes, &mut described);
    let mut notes = Vec::new();
    if request.leaving == Leaving::Remove && !config.settings.as_ref().is_some_and(|s| s.prune) {
        notes.push(format!(
            "`settings.prune` is not true: the plan frees what {} held but leaves them in the live account; set `prune: true`, or deactivate them instead (the default)",
            found.email
        ));
    }
    let files = edit_files(&sources, &changes)?;
    let changes = changes
        .iter()
        .zip(described)
        .map(|(change, what)| match sources.locate(&change.cited()) {
            Some(location) => format!("{}: {what}", location.file_line()),
            None => what,
        })
        .collect();
    let email = found.email;
    let replacements: Replacements = files
        .iter()
        .map(|file| (PathBuf::from(&file.name), file.after.clone()))
        .collect();
    let checked = std::thread::scope(|scope| {
        // The first reading is not needed any more: freeing it (millions of small
        // pieces on 50,000 members) overlaps the check of the edited files.
        scope.spawn(move || drop((config, sources)));
        crate::validate::check_with(path, options, &replacements)
    });
    if let Err(diagnostics) = checked {
        let mut message =
            format!("offboarding {email} would leave a configuration that does not validate:");
        for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
            let _ = write!(message, "\n  {diagnostic}");
        }
        return Err(Error::Offboard(message));
    }
    Ok(Offboarding {
        email,
        files,
        changes,
        notes,
    })
}

/// The person and their successor, checked.
struct Found {
    /// The person's email, normalised.
    key: String,
    /// As the configuration writes it.
    email: String,
    /// Their index in `members`.
    index: usize,
    /// The successor's email (as written) and index in `members`.
    successor: Option<(String, usize)>,
}

impl Found {
    fn new(config: &ConfigFile, request: &Request) -> Result<Self> {
        let key = normalised(&request.email);
        let index = member_index(config, &key)
            .ok_or_else(|| Error::Offboard(unknown(config, &request.email, "member")))?;
        let email = config.members[index].email.trim().to_owned();
        if let Some(settings) = &config.settings {
            if settings.protected.iter().any(|p| normalised(p) == key) {
                return Err(Error::Offboard(format!(
                    "{email} is listed in `settings.protected` (R12): a protected member is never deactivated or removed; take them off that list first if they really leave"
                )));
            }
        }
        let successor = match &request.successor {
            None => None,
            Some(raw) => {
                let successor_key = normalised(raw);
                let successor = member_index(config, &successor_key).ok_or_else(|| {
                    Error::Offboard(format!(
                        "--transfer-to: {}",
                        unknown(config, raw, "successor")
                    ))
                })?;
                let member = &config.members[successor];
                if successor_key == key {
                    return Err(Error::Offboard(format!(
                        "--transfer-to names {email}, the person who leaves: name someone else"
                    )));
                }
                if member.status == Some(DesiredStatus::Inactive) {
                    return Err(Error::Offboard(format!(
                        "--transfer-to: {} is inactive and cannot take over roles (R07): name an active member",
                        member.email.trim()
                    )));
                }
                Some((member.email.trim().to_owned(), successor))
            }
        };
        Ok(Self {
            key,
            email,
            index,
            successor,
        })
    }

    fn is(&self, email: &str) -> bool {
        normalised(email) == self.key
    }

    /// Every list the person is on, item by item.
    fn lists(&self, config: &ConfigFile, changes: &mut Vec<Change>, described: &mut Vec<String>) {
        let mut take_off = |list: String, emails: &[String], what: &dyn Fn() -> String| {
            for (index, email) in emails.iter().enumerate() {
                if self.is(email) {
                    changes.push(Change::RemoveItem {
                        list: list.clone(),
                        index,
                    });
                    described.push(format!("off {}", what()));
                }
            }
        };
        for (g, group) in config.groups.iter().enumerate() {
            take_off(format!("/groups/{g}/members"), &group.members, &|| {
                format!("group {}", group.name)
            });
        }
        for (a, agreement) in config.agreements.iter().enumerate() {
            let number = &agreement.number;
            for (p, product) in agreement.products.iter().enumerate() {
                take_off(
                    format!("/agreements/{a}/products/{p}/assigned"),
                    &product.assigned,
                    &|| format!("the {} seats of agreement {number}", product.name),
                );
            }
            for (s, service) in agreement.cloud_services.iter().enumerate() {
                take_off(
                    format!("/agreements/{a}/cloud_services/{s}/assigned"),
                    &service.assigned,
                    &|| format!("cloud service {} of agreement {number}", service.name),
                );
            }
            take_off(
                format!("/agreements/{a}/support"),
                &agreement.support,
                &|| format!("the support benefits of agreement {number}"),
            );
        }
        for (t, team) in config.teams.iter().enumerate() {
            take_off(format!("/teams/{t}/members"), &team.members, &|| {
                format!("team {}", team.id)
            });
            for (p, product) in team.products.iter().enumerate() {
                take_off(
                    format!("/teams/{t}/products/{p}/assigned"),
                    &product.assigned,
                    &|| format!("the {} seats of team {}", product.name, team.id),
                );
            }
        }
        for (p, project) in config.projects.iter().enumerate() {
            for (m, member) in project.members.iter().enumerate() {
                if member.email.as_deref().is_some_and(|e| self.is(e)) {
                    changes.push(Change::RemoveItem {
                        list: format!("/projects/{p}/members"),
                        index: m,
                    });
                    described.push(format!("off project {}", project.name));
                }
            }
        }
    }

    /// The roles someone must hold, handed to the successor; without one, the
    /// refusal that names them.
    fn roles(
        &self,
        config: &ConfigFile,
        changes: &mut Vec<Change>,
        described: &mut Vec<String>,
    ) -> Result<()> {
        let mut held = Vec::new();
        for (a, agreement) in config.agreements.iter().enumerate() {
            let name = format!("agreement {} ({})", agreement.number, agreement.name);
            if self.is(&agreement.contract_manager) {
                held.push((
                    format!("/agreements/{a}/contract_manager"),
                    "contract manager",
                    name.clone(),
                ));
            }
            if agreement
                .software_coordinator
                .as_deref()
                .is_some_and(|c| self.is(c))
            {
                held.push((
                    format!("/agreements/{a}/software_coordinator"),
                    "software coordinator",
                    name,
                ));
            }
        }
        let last_admin = self.is_last_admin(config);
        let Some((successor, successor_index)) = &self.successor else {
            if held.is_empty() && !last_admin {
                return Ok(());
            }
            let mut roles: Vec<String> = held
                .iter()
                .map(|(_, role, agreement)| format!("{role} of {agreement}"))
                .collect();
            if last_admin {
                roles.push("the last account admin (R10)".to_owned());
            }
            return Err(Error::Offboard(format!(
                "{} holds roles someone must always hold: {}; name who takes them over with --transfer-to EMAIL",
                self.email,
                roles.join(", ")
            )));
        };
        for (pointer, role, agreement) in held {
            changes.push(Change::Set {
                pointer,
                value: successor.clone(),
            });
            described.push(format!(
                "{role} of {agreement}: {} -> {successor}",
                self.email
            ));
        }
        if last_admin {
            let member = &config.members[*successor_index];
            let (change, what) = match &member.access {
                Some(_) => (
                    Change::Append {
                        list: format!("/members/{successor_index}/access"),
                        value: "account_admin".to_owned(),
                    },
                    format!(
                        "{successor} becomes account admin (R10: {} was the last)",
                        self.email
                    ),
                ),
                None => {
                    let mut levels: Vec<String> = role_default(config, member.role.as_deref())
                        .iter()
                        .map(|level| level_name(*level))
                        .collect();
                    levels.push("account_admin".to_owned());
                    (
                        Change::AddEntry {
                            mapping: format!("/members/{successor_index}"),
                            key: "access",
                            value: format!("[{}]", levels.join(", ")),
                        },
                        format!(
                            "{successor} becomes account admin (R10: {} was the last), keeping the role's access",
                            self.email
                        ),
                    )
                }
            };
            changes.push(change);
            described.push(what);
        }
        Ok(())
    }

    /// Whether the person is the only member who is not inactive and holds
    /// `account_admin`.
    fn is_last_admin(&self, config: &ConfigFile) -> bool {
        let is_admin = |member: &crate::config::model::Member| {
            member.status != Some(DesiredStatus::Inactive)
                && member
                    .access
                    .as_deref()
                    .unwrap_or_else(|| role_default(config, member.role.as_deref()))
                    .contains(&AccessLevel::AccountAdmin)
        };
        is_admin(&config.members[self.index])
            && !config
                .members
                .iter()
                .enumerate()
                .any(|(i, member)| i != self.index && is_admin(member))
    }

    /// The member's own entry: `status: inactive`, or taken out.
    fn member(
        &self,
        config: &ConfigFile,
        leaving: Leaving,
        changes: &mut Vec<Change>,
        described: &mut Vec<String>,
    ) {
        let member = &config.members[self.index];
        match leaving {
            Leaving::Remove => {
                changes.push(Change::RemoveItem {
                    list: "/members".to_owned(),
                    index: self.index,
                });
                described.push(format!("{} removed from `members`", self.email));
            }
            Leaving::Deactivate if member.status == Some(DesiredStatus::Inactive) => {}
            Leaving::Deactivate => {
                let change = if member.status.is_some() {
                    Change::Set {
                        pointer: format!("/members/{}/status", self.index),
                        value: "inactive".to_owned(),
                    }
                } else {
                    Change::AddEntry {
                        mapping: format!("/members/{}", self.index),
                        key: "status",
                        value: "inactive".to_owned(),
                    }
                };
                changes.push(change);
                described.push(format!("{} deactivated (status: inactive)", self.email));
            }
        }
    }
}

fn member_index(config: &ConfigFile, key: &str) -> Option<usize> {
    config
        .members
        .iter()
        .position(|m| normalised(&m.email) == key)
}

fn role_default<'c>(config: &'c ConfigFile, role: Option<&str>) -> &'c [AccessLevel] {
    role.and_then(|name| config.roles.iter().find(|r| r.name == name))
        .map_or(&[], |r| r.default_access.as_slice())
}

fn level_name(level: AccessLevel) -> String {
    serde_json::to_value(level)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// "`x` is not a declared member (did you mean `y`?)".
fn unknown(config: &ConfigFile, email: &str, who: &str) -> String {
    let key = normalised(email);
    let closest = config
        .members
        .iter()
        .map(|m| {
            (
                strsim::levenshtein(&normalised(&m.email), &key),
                m.email.trim(),
            )
        })
        .min_by_key(|&(distance, _)| distance)
        .filter(|&(distance, _)| distance <= 3.max(key.len() / 5));
    let mut message = format!(
        "`{}` is not a member declared in the configuration",
        email.trim()
    );
    if let Some((_, suggestion)) = closest {
        let _ = write!(message, " (did you mean `{suggestion}`?)");
    } else {
        let _ = write!(message, "; the {who} must be declared under `members`");
    }
    message
}

/// The edits located and made, file by file, in the order the files were read.
fn edit_files(sources: &SourceMap, changes: &[Change]) -> Result<Vec<FileChange>> {
    let mut by_file: FxHashMap<String, Vec<(Location, &Change)>> = FxHashMap::default();
    for change in changes {
        let location = sources.locate(change.pointer()).ok_or_else(|| {
            Error::Offboard(format!("cannot find `{}` in the files", change.pointer()))
        })?;
        by_file
            .entry(location.file.to_string())
            .or_default()
            .push((location, change));
    }
    let mut files = Vec::new();
    for name in sources.files() {
        let Some(located) = by_file.remove(&name) else {
            continue;
        };
        let before = fs::read_to_string(&name).map_err(|source| Error::Io {
            action: "cannot read",
            path: PathBuf::from(&name),
            source,
        })?;
        let after = edit_text(&before, &located)
            .map_err(|why| Error::Offboard(format!("cannot edit {name} in place: {why}")))?;
        if after != before {
            files.push(FileChange {
                name,
                before,
                after,
            });
        }
    }
    Ok(files)
}

/// `text` with the `located` changes made.
fn edit_text(text: &str, located: &[(Location, &Change)]) -> std::result::Result<String, String> {
    let tree = Tree::parse(text)?;
    let node_at = |location: &Location| {
        tree.at(location.line, location.column).ok_or_else(|| {
            format!(
                "nothing starts at line {}, column {}",
                location.line, location.column
            )
        })
    };
    let mut edits = Edits::default();
    // Items of one list are taken off together (the last one leaves `[]`).
    let mut removals: FxHashMap<NodeId, Vec<usize>> = FxHashMap::default();
    let mut lists_in_order = Vec::new();
    for (location, change) in located {
        let node = node_at(location)?;
        let at = || format!("line {}", location.line);
        match change {
            Change::RemoveItem { index, .. } => {
                let Kind::Sequence { items, .. } = &tree.node(node).kind else {
                    return Err(format!("{}: expected a list", at()));
                };
                if *index >= items.len() {
                    return Err(format!("{}: the list is written through an alias", at()));
                }
                let indices = removals.entry(node).or_default();
                if indices.is_empty() {
                    lists_in_order.push(node);
                }
                indices.push(*index);
            }
            Change::Set { value, .. } => {
                if !matches!(tree.node(node).kind, Kind::Scalar(_)) {
                    return Err(format!("{}: expected a single value", at()));
                }
                edits.replace_scalar(&tree, node, value);
            }
            Change::AddEntry { key, value, .. } => {
                if !matches!(tree.node(node).kind, Kind::Mapping { .. }) {
                    return Err(format!("{}: expected a mapping", at()));
                }
                edits.add_entry(&tree, node, key, value);
            }
            Change::Append { value, .. } => {
                if !matches!(tree.node(node).kind, Kind::Sequence { .. }) {
                    return Err(format!("{}: expected a list", at()));
                }
                edits.append_item(&tree, node, value);
            }
        }
    }
    for list in lists_in_order {
        let mut indices = removals.remove(&list).unwrap_or_default();
        indices.sort_unstable();
        indices.dedup();
        edits.remove_items(&tree, list, &indices)?;
    }
    edits.apply(text)
}

impl Offboarding {
    /// The unified diff of every file that changes (`--- a/FILE`, `+++ b/FILE`).
    #[must_use]
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            let diff = similar::TextDiff::from_lines(&file.before, &file.after);
            // Headers as `git diff` writes them (`a/tmp/cfg/x.yaml`, `a/x.yaml`), so
            // the output applies with `git apply` from where the command ran.
            let path = file.name.trim_start_matches("./").trim_start_matches('/');
            let _ = write!(
                out,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
            );
        }
        out
    }

    /// Writes every changed file: all to temporary files next to them first, then
    /// each renamed over its original (keeping its permissions), so a file is never
    /// half written and a failure leaves the others as they were.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written; temporary files are cleaned up.
    pub fn write(&self) -> Result<()> {
        let mut staged = Vec::new();
        for file in &self.files {
            match stage(file) {
                Ok(temporary) => staged.push((temporary, PathBuf::from(&file.name))),
                Err(error) => {
                    for (temporary, _) in &staged {
                        let _ = fs::remove_file(temporary);
                    }
                    return Err(error);
                }
            }
        }
        for (temporary, path) in &staged {
            fs::rename(temporary, path).map_err(|source| Error::Io {
                action: "cannot replace",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Writes `file`'s new text to a hidden temporary file beside it (the loader
/// skips hidden files), with the original's permissions; returns its path.
fn stage(file: &FileChange) -> Result<PathBuf> {
    use std::io::Write as _;
    let path = Path::new(&file.name);
    let io = |action, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let permissions = fs::metadata(path)
        .map_err(|source| io("cannot read", source))?
        .permissions();
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{base}.offboard-{}.tmp", std::process::id()));
    let written = (|| {
        let mut out = fs::File::create(&temporary)?;
        out.write_all(file.after.as_bytes())?;
        out.set_permissions(permissions)?;
        out.sync_all()
    })();
    written.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        io("cannot write", source)
    })?;
    Ok(temporary)
}
