//! `accord import`: the vendor portal's CSV exports turned into configuration files
//! that validate, and the same formats written from a state (`accord export
//! --format users-csv|members-csv|usage-csv`), so an import can be checked against
//! the account it came from.
//!
//! Three exports are read ([`columns::Kind`]); the vendor documents none of their
//! columns, so these are accord's choice (README, "accord import"):
//!
//! - the classic **user list**: `First Name, Last Name, Email`;
//! - the ACC **members export**: `Email, First Name, Last Name, Company, Role,
//!   Access Level` (`Account Admin; Executive; Standards Admin`), `Status` (`Active`,
//!   `Pending`, `Not invited`, `Inactive`), `External Subscriptions`;
//! - the **usage export**: `Email, Product, Team` (the team id), `Team Name`, `Seat
//!   Assignment` (`Direct` or `Inherited`), `Last Accessed` (read, not configuration).
//!
//! Files are merged by email ([`read`]). The result is split into the files `export`
//! writes (`account.yaml`, `companies.yaml`, `roles.yaml`, `members.yaml`,
//! `teams.yaml`), written with the same emitter, and only what the target directory
//! does not declare already ([`Declared`]): importing the members export into a
//! configuration that has its account, companies and roles writes `members.yaml`
//! alone. Sections a configuration does not declare are not managed (DOMAIN.md,
//! "Ownership"), so such an import plans no change against the account it came from.
//!
//! What the exports cannot say is left out rather than guessed: a role's default
//! access (imported roles declare none; every imported member carries `access`
//! explicitly when the export has the column), agreements (classic seats, cloud
//! services and support are in no export), and inherited team seats (a comment).

pub mod columns;
mod read;
pub mod vendor;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use self::read::{Imported, Source, read};
use crate::config::LoadOptions;
use crate::config::model::{
    AccessLevel, Account, Company, ConfigFile, DesiredStatus, Member, Role, Team, TeamProduct,
};
use crate::state::Email;

/// The files an import may write, in the order they are written.
pub const FILES: [&str; 5] = [
    "account.yaml",
    "companies.yaml",
    "roles.yaml",
    "members.yaml",
    "teams.yaml",
];

/// What the configuration already in the target directory declares (names, and
/// where), so the import adds only what is missing.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// Where `account` is declared.
    pub account: Option<String>,
    /// Company names.
    pub companies: BTreeSet<String>,
    /// Role names.
    pub roles: BTreeSet<String>,
    /// Member emails, with where each is declared.
    pub members: BTreeMap<Email, String>,
    /// Team ids, with where each is declared.
    pub teams: BTreeMap<String, String>,
}

impl Declared {
    /// Reads the `*.yaml`/`*.yml` files of `dir` (not those named in `skip`: the
    /// import replaces them). A directory that does not exist declares nothing.
    ///
    /// # Errors
    /// A file that cannot be read as YAML, with the loader's message.
    pub fn read(dir: &Path, skip: &BTreeSet<&str>) -> Result<Self, Vec<String>> {
        let mut declared = Self::default();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(declared);
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| !skip.contains(n))
            })
            .collect();
        paths.sort();
        let mut problems = Vec::new();
        for path in paths {
            match crate::config::load(&path, &LoadOptions::default()) {
                Ok(loaded) => declared.add(&loaded),
                Err(diagnostics) => problems.extend(diagnostics.iter().map(|d| {
                    format!(
                        "cannot read {} to see what it declares: {d}",
                        path.display()
                    )
                })),
            }
        }
        if problems.is_empty() {
            Ok(declared)
        } else {
            Err(problems)
        }
    }

    fn add(&mut self, loaded: &crate::config::Loaded) {
        let value = &loaded.value;
        let at = |pointer: &str| {
            loaded
                .sources
                .locate(pointer)
                .map_or_else(String::new, |l| l.file_line())
        };
        if value.get("account").is_some() {
            self.account.get_or_insert_with(|| at("/account"));
        }
        let items = |section: &str| {
            value
                .get(section)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let text = |item: &serde_json::Value, key: &str| {
            item.get(key)
                .and_then(|v| v.as_str())
                .map(|s| s.trim().to_owned())
        };
        for item in items("companies") {
            self.companies.extend(text(&item, "name"));
        }
        for item in items("roles") {
            self.roles.extend(text(&item, "name"));
        }
        for (i, item) in items("members").iter().enumerate() {
            if let Some(email) = text(item, "email") {
                self.members
                    .entry(Email::new(&email))
                    .or_insert_with(|| at(&format!("/members/{i}")));
            }
        }
        for (i, item) in items("teams").iter().enumerate() {
            if let Some(id) = text(item, "id") {
                self.teams
                    .entry(id)
                    .or_insert_with(|| at(&format!("/teams/{i}")));
            }
        }
    }
}

/// What the command line adds to the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The account to declare (id, name) when the directory declares none.
    pub account: Option<(String, String)>,
    /// Members to make account admins (the user list says nothing about access).
    pub admins: Vec<String>,
}

/// The configuration an import writes: `(file name, part)` for each file with
/// something in it, the comments that go with them, and notes for the user.
#[derive(Debug, Clone, Default)]
pub struct Built {
    /// Each file's part of the configuration.
    pub files: Vec<(&'static str, ConfigFile)>,
    /// Comment lines appended to a file (inherited seats in `teams.yaml`).
    pub comments: BTreeMap<&'static str, Vec<String>>,
    /// What the user should know (people or teams already declared, and kept).
    pub notes: Vec<String>,
}

impl Built {
    /// The names of the files it writes.
    #[must_use]
    pub fn names(&self) -> BTreeSet<&'static str> {
        self.files.iter().map(|(name, _)| *name).collect()
    }
}

/// Builds the configuration of `imported`, leaving out what `declared` has.
///
/// # Errors
/// No account anywhere, or an `--admin` who is not imported.
pub fn build(
    imported: &Imported,
    declared: &Declared,
    options: &Options,
) -> Result<Built, Vec<String>> {
    let mut built = Built::default();
    let mut problems = Vec::new();
    let account = match (&declared.account, &options.account) {
        (Some(at), Some((id, _))) => {
            built.notes.push(format!(
                "the account is already declared at {at}: --account-id {id} is not written"
            ));
            None
        }
        (Some(_), None) => None,
        (None, Some((id, name))) => Some(Account {
            id: id.clone(),
            name: name.clone(),
        }),
        (None, None) => {
            problems.push("the configuration needs an account: give --account-id ID (and --account-name NAME), or import into a directory that declares one (--out DIR)".to_owned());
            None
        }
    };
    let admins: BTreeSet<Email> = options.admins.iter().map(|a| Email::new(a)).collect();
    for admin in &admins {
        if !imported.people.contains_key(admin) {
            problems.push(format!(
                "--admin {admin}: no file imported lists this person"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let members = members(imported, declared, &admins, &mut built.notes);
    let companies = names(&members, |m| m.company.as_ref(), &declared.companies)
        .map(|name| Company {
            name,
            trade: None,
            renamed_from: None,
        })
        .collect();
    let roles = names(&members, |m| m.role.as_ref(), &declared.roles)
        .map(|name| Role {
            name,
            default_access: Vec::new(),
            renamed_from: None,
        })
        .collect();
    let (teams, inherited) = teams(imported, declared, &mut built.notes);
    let parts = [
        (
            FILES[0],
            ConfigFile {
                account,
                ..ConfigFile::default()
            },
        ),
        (
            FILES[1],
            ConfigFile {
                companies,
                ..ConfigFile::default()
            },
        ),
        (
            FILES[2],
            ConfigFile {
                roles,
                ..ConfigFile::default()
            },
        ),
        (
            FILES[3],
            ConfigFile {
                members,
                ..ConfigFile::default()
            },
        ),
        (
            FILES[4],
            ConfigFile {
                teams,
                ..ConfigFile::default()
            },
        ),
    ];
    built.files = parts
        .into_iter()
        .filter(|(_, part)| *part != ConfigFile::default())
        .collect();
    if !inherited.is_empty() {
        built.comments.insert(FILES[4], inherited);
    }
    Ok(built)
}

/// The imported people the directory does not declare, as members.
fn members(
    imported: &Imported,
    declared: &Declared,
    admins: &BTreeSet<Email>,
    notes: &mut Vec<String>,
) -> Vec<Member> {
    let mut kept = 0;
    let members = imported
        .people
        .iter()
        .filter(|(email, _)| {
            let known = declared.members.contains_key(*email);
            kept += usize::from(known);
            !known
        })
        .map(|(email, person)| {
            let mut access = person.access.clone();
            if admins.contains(email) {
                access
                    .get_or_insert_with(BTreeSet::new)
                    .insert(AccessLevel::AccountAdmin);
            }
            Member {
                email: email.to_string(),
                first_name: person.first_name.clone(),
                last_name: person.last_name.clone(),
                company: person.company.clone(),
                role: person.role.clone(),
                access: access.map(|a| a.into_iter().collect()),
                status: person.inactive.then_some(DesiredStatus::Inactive),
                external_subscriptions: person.external_subscriptions.iter().cloned().collect(),
            }
        })
        .collect();
    if kept > 0 {
        notes.push(format!(
            "{kept} imported {} already declared in the directory: kept as declared, not imported again",
            if kept == 1 { "person is" } else { "people are" }
        ));
    }
    members
}

/// The distinct names `field` gives the members, less those declared.
fn names<'m>(
    members: &'m [Member],
    field: impl Fn(&'m Member) -> Option<&'m String>,
    declared: &BTreeSet<String>,
) -> impl Iterator<Item = String> {
    members
        .iter()
        .filter_map(field)
        .filter(|name| !declared.contains(*name))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
}

/// The imported teams the directory does not declare, and the comments naming
/// their inherited seats.
fn teams(
    imported: &Imported,
    declared: &Declared,
    notes: &mut Vec<String>,
) -> (Vec<Team>, Vec<String>) {
    let mut teams = Vec::new();
    let mut comments = Vec::new();
    for (id, seats) in &imported.teams {
        if let Some(at) = declared.teams.get(id) {
            notes.push(format!(
                "team {id} is already declared at {at}: its seats in the usage export are not imported"
            ));
            continue;
        }
        for (product, pool) in &seats.pools {
            let inherited: Vec<String> = pool
                .inherited
                .difference(&pool.direct)
                .map(ToString::to_string)
                .collect();
            if !inherited.is_empty() {
                comments.push(format!(
                    "# team {id}: {product} is inherited (a group or the whole team, set in the portal; accord does not change it) by: {}",
                    inherited.join(", ")
                ));
            }
        }
        teams.push(Team {
            id: id.clone(),
            name: seats.name.clone().unwrap_or_else(|| id.clone()),
            members: Vec::new(),
            products: seats
                .pools
                .iter()
                .filter(|(_, pool)| !pool.direct.is_empty())
                .map(|(product, pool)| TeamProduct {
                    name: product.clone(),
                    seats: None,
                    assigned: pool.direct.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        });
    }
    (teams, comments)
}

/// The files to write in `dir`: built against what the directory's other files
/// declare. A file the import writes replaces the one of that name, so what that one
/// declares does not count; building again without it can only add files, so this
/// settles within [`FILES`]' length.
///
/// # Errors
/// As [`Declared::read`] and [`build`].
pub fn build_in(
    imported: &Imported,
    dir: Option<&Path>,
    options: &Options,
) -> Result<Built, Vec<String>> {
    let Some(dir) = dir else {
        return build(imported, &Declared::default(), options);
    };
    let mut skip = BTreeSet::new();
    loop {
        let declared = Declared::read(dir, &skip)?;
        let built = build(imported, &declared, options)?;
        let names = built.names();
        if names.is_subset(&skip) {
            return Ok(built);
        }
        skip.extend(names);
    }
}

/// `built` as `(file name, YAML text)`, each with `header` first.
#[must_use]
pub fn render(built: &Built, header: &str) -> Vec<(&'static str, String)> {
    built
        .files
        .iter()
        .map(|(name, part)| {
            let mut text = format!("{header}{}", crate::config::emit::to_yaml(part));
            if part.account.is_some() {
                text.push_str(crate::export::SETTINGS);
            }
            if let Some(lines) = built.comments.get(name) {
                text.push_str(&lines.join("\n"));
                text.push('\n');
            }
            (*name, text)
        })
        .collect()
}
