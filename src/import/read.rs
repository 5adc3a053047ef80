//! Reading the portal's CSV exports into one set of records, by email.
//!
//! Every file's kind is taken from its header ([`Kind::of`]); its required columns
//! must be there (an error naming the file and the columns), columns accord does not
//! read are reported as warnings and ignored, and every row that cannot be used (no
//! email, a bad email, a duplicate, an unknown access level or status, a wrong
//! number of fields) is an error citing `file:line`. All problems of all files are
//! collected, so one run reports them all.

use std::collections::{BTreeMap, BTreeSet};

use super::columns::{Column, Kind};
use crate::config::model::AccessLevel;
use crate::rules::r01::is_valid_email;
use crate::state::Email;

/// One file to import: its name as messages show it, and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it.
    pub name: String,
    /// The file's contents.
    pub text: String,
}

/// A person as the exports describe them (the first file to give a field wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Role name.
    pub role: Option<String>,
    /// Access levels, when an export said (an empty cell is none at all).
    pub access: Option<BTreeSet<AccessLevel>>,
    /// Whether the export says the person is inactive.
    pub inactive: bool,
    /// Products held through another firm's subscription.
    pub external_subscriptions: BTreeSet<String>,
    /// Where the person was first read (`file:line`).
    pub from: String,
}

/// The seats of one product pool of a team, as the usage export lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSeats {
    /// Direct assignments: configuration.
    pub direct: BTreeSet<Email>,
    /// Assignments inherited through a group or the whole team: the portal's, not
    /// configuration (reported in a comment).
    pub inherited: BTreeSet<Email>,
}

/// One team's seats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamSeats {
    /// Its display name, when the export gives it.
    pub name: Option<String>,
    /// Pools by product.
    pub pools: BTreeMap<String, PoolSeats>,
}

/// Everything read from the files.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// People by email.
    pub people: BTreeMap<Email, Person>,
    /// Teams by id.
    pub teams: BTreeMap<String, TeamSeats>,
    /// Each file with its kind and data rows read.
    pub files: Vec<(String, Kind, usize)>,
    /// Columns accord does not read, and other things worth saying.
    pub warnings: Vec<String>,
}

/// Reads every source. `team` is the team of a usage export without a `Team` column.
///
/// # Errors
/// Every problem of every file: a header that names no known export, missing
/// required columns, unusable rows (each with `file:line` and why).
pub fn read(sources: &[Source], team: Option<&str>) -> Result<Imported, Vec<String>> {
    let mut imported = Imported::default();
    let mut problems = Vec::new();
    for source in sources {
        read_file(source, team, &mut imported, &mut problems);
    }
    if problems.is_empty() {
        Ok(imported)
    } else {
        Err(problems)
    }
}

/// A file's header: which column each field is (None: not read).
struct Header {
    kind: Kind,
    fields: Vec<Option<Column>>,
}

impl Header {
    fn index(&self, column: Column) -> Option<usize> {
        self.fields.iter().position(|f| *f == Some(column))
    }
}

fn read_file(source: &Source, team: Option<&str>, out: &mut Imported, problems: &mut Vec<String>) {
    let name = &source.name;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(source.text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            problems.push(format!("{name}: the file is empty: expected a header line"));
            return;
        }
        Some(Err(error)) => {
            problems.push(format!("{name}:1: {}", csv_reason(&error)));
            return;
        }
        Some(Ok(record)) => match header(name, &record, team, out, problems) {
            Some(header) => header,
            None => return,
        },
    };
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = 0;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                problems.push(format!("{name}:{line}: {}", csv_reason(&error)));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let at = format!("{name}:{line}");
        let row = Row {
            record: &record,
            header: &header,
        };
        match row.check(header.fields.len()) {
            Err(reason) => problems.push(format!("{at}: {reason}")),
            Ok(email) => {
                let key = row.key(&email, team);
                if let Some(first) = seen.get(&key) {
                    problems.push(format!(
                        "{at}: duplicate: {email} is already on line {first}{}",
                        if header.kind == Kind::Usage {
                            " for this product and team"
                        } else {
                            ""
                        }
                    ));
                    continue;
                }
                seen.insert(key, line);
                rows += 1;
                if let Err(reason) = row.take(email, team, &at, out) {
                    problems.push(format!("{at}: {reason}"));
                }
            }
        }
    }
    out.files.push((name.clone(), header.kind, rows));
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text: save the export as CSV UTF-8".to_owned(),
        _ => format!("cannot read this line as CSV: {error}"),
    }
}

/// Recognises the header, reporting unknown columns (warnings) and missing required
/// ones (a problem: the file is then not read).
fn header(
    name: &str,
    record: &csv::StringRecord,
    team: Option<&str>,
    out: &mut Imported,
    problems: &mut Vec<String>,
) -> Option<Header> {
    let fields: Vec<Option<Column>> = record.iter().map(Column::recognise).collect();
    let found: Vec<Column> = fields.iter().flatten().copied().collect();
    let Some(kind) = Kind::of(&found) else {
        problems.push(format!(
            "{name}: cannot tell which export this is from its header ({}): expected a user list (First Name, Last Name, Email), a members export (Email, Company, Role, Access Level, Status) or a usage export (Email, Product, Team, Seat Assignment, Last Accessed)",
            record.iter().collect::<Vec<_>>().join(", ")
        ));
        return None;
    };
    let missing: Vec<&str> = kind
        .required()
        .iter()
        .filter(|c| !found.contains(c))
        .map(|c| c.title())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{name}: this {} has no {} column{} (its header: {})",
            kind.title(),
            missing.join(", "),
            if missing.len() == 1 { "" } else { "s" },
            record.iter().collect::<Vec<_>>().join(", ")
        ));
        return None;
    }
    if kind == Kind::Usage && !found.contains(&Column::Team) && team.is_none() {
        problems.push(format!(
            "{name}: this usage export has no Team column: give --team ID to say which team its seats belong to"
        ));
        return None;
    }
    let mut fields = fields;
    for (i, cell) in record.iter().enumerate() {
        let column = fields[i];
        let read_here = column.is_some_and(|c| kind.columns().contains(&c));
        let repeated = column.is_some() && fields[..i].contains(&column);
        if !read_here || repeated {
            fields[i] = None;
            out.warnings.push(format!(
                "{name}:1: column `{cell}` is not one accord reads from a {}: ignored",
                kind.title()
            ));
        }
    }
    Some(Header { kind, fields })
}

/// One data row, read through its file's header.
struct Row<'a> {
    record: &'a csv::StringRecord,
    header: &'a Header,
}

impl Row<'_> {
    /// The trimmed text of `column`, `None` when the column is absent or the cell empty.
    fn get(&self, column: Column) -> Option<&str> {
        let text = self.record.get(self.header.index(column)?)?.trim();
        (!text.is_empty()).then_some(text)
    }

    /// Whether the row can be used at all; its normalised email.
    fn check(&self, fields: usize) -> Result<Email, String> {
        if self.record.iter().all(|cell| cell.trim().is_empty()) {
            return Err("empty row".to_owned());
        }
        if self.record.len() != fields {
            return Err(format!(
                "{} field{} but the header has {fields}",
                self.record.len(),
                if self.record.len() == 1 { "" } else { "s" }
            ));
        }
        let Some(raw) = self.get(Column::Email) else {
            return Err("no email".to_owned());
        };
        let email = Email::new(raw);
        if !is_valid_email(email.as_str()) {
            return Err(format!("`{raw}` is not a valid email address"));
        }
        Ok(email)
    }

    /// What makes a row a duplicate of another in the same file.
    fn key(&self, email: &Email, team: Option<&str>) -> String {
        match self.header.kind {
            Kind::Usage => format!(
                "{email}\n{}\n{}",
                self.get(Column::Product).unwrap_or_default(),
                self.get(Column::Team).or(team).unwrap_or_default()
            ),
            _ => email.to_string(),
        }
    }

    /// Adds the row's facts to `out`.
    fn take(
        &self,
        email: Email,
        team: Option<&str>,
        at: &str,
        out: &mut Imported,
    ) -> Result<(), String> {
        match self.header.kind {
            Kind::Users | Kind::Members => {
                let fresh = self.person(at)?;
                let person = out.people.entry(email).or_insert_with(|| Person {
                    from: at.to_owned(),
                    ..Person::default()
                });
                merge(person, fresh);
                Ok(())
            }
            Kind::Usage => self.seat(email, team, at, out),
        }
    }

    fn person(&self, at: &str) -> Result<Person, String> {
        let text = |c| self.get(c).map(str::to_owned);
        let access = match self.header.index(Column::AccessLevel) {
            None => None,
            Some(_) => Some(access_levels(self.get(Column::AccessLevel).unwrap_or(""))?),
        };
        let inactive = match self.get(Column::Status) {
            None => false,
            Some(status) => inactive(status)?,
        };
        Ok(Person {
            first_name: text(Column::FirstName),
            last_name: text(Column::LastName),
            company: text(Column::Company),
            role: text(Column::Role),
            access,
            inactive,
            external_subscriptions: list(self.get(Column::ExternalSubscriptions).unwrap_or(""))
                .map(str::to_owned)
                .collect(),
            from: at.to_owned(),
        })
    }

    fn seat(
        &self,
        email: Email,
        team: Option<&str>,
        at: &str,
        out: &mut Imported,
    ) -> Result<(), String> {
        let Some(product) = self.get(Column::Product) else {
            return Err("no product".to_owned());
        };
        let Some(team_id) = self.get(Column::Team).or(team) else {
            return Err("no team (the Team cell is empty; --team ID gives a default)".to_owned());
        };
        let inherited = match self.get(Column::SeatAssignment) {
            None => false,
            Some(kind) => inherited(kind)?,
        };
        let seats = out.teams.entry(team_id.to_owned()).or_default();
        if seats.name.is_none() {
            seats.name = self.get(Column::TeamName).map(str::to_owned);
        }
        let pool = seats.pools.entry(product.to_owned()).or_default();
        if inherited {
            pool.inherited.insert(email.clone());
        } else {
            pool.direct.insert(email.clone());
        }
        out.people.entry(email).or_insert_with(|| Person {
            from: at.to_owned(),
            ..Person::default()
        });
        Ok(())
    }
}

/// Adds what `fresh` says and `person` does not yet.
fn merge(person: &mut Person, fresh: Person) {
    let fill = |have: &mut Option<String>, new: Option<String>| {
        if have.is_none() {
            *have = new;
        }
    };
    fill(&mut person.first_name, fresh.first_name);
    fill(&mut person.last_name, fresh.last_name);
    fill(&mut person.company, fresh.company);
    fill(&mut person.role, fresh.role);
    if person.access.is_none() {
        person.access = fresh.access;
    }
    person.inactive |= fresh.inactive;
    person
        .external_subscriptions
        .extend(fresh.external_subscriptions);
}

/// The items of a `;`- or `,`-separated cell.
fn list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', ','])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// `Account Admin; Executive` as access levels (an empty cell is none at all).
fn access_levels(cell: &str) -> Result<BTreeSet<AccessLevel>, String> {
    list(cell)
        .map(|item| {
            let key: String = item
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            match key.as_str() {
                "accountadmin" | "admin" => Ok(AccessLevel::AccountAdmin),
                "executive" => Ok(AccessLevel::Executive),
                "standardsadmin" | "standardsadministrator" => Ok(AccessLevel::StandardsAdmin),
                "none" | "member" | "accountmember" => Err(String::new()),
                _ => Err(format!(
                    "unknown access level `{item}`: expected Account Admin, Executive or Standards Admin"
                )),
            }
        })
        // "None"/"Member" cells say "no access level": skipped, not an error.
        .filter(|level| !matches!(level, Err(reason) if reason.is_empty()))
        .collect()
}

/// Whether a status cell says inactive (`Pending` and `Not invited` are the
/// backend's own states: the configuration asks for active).
fn inactive(cell: &str) -> Result<bool, String> {
    match cell.to_ascii_lowercase().replace(['_', '-'], " ").trim() {
        "active" | "pending" | "not invited" | "invited" => Ok(false),
        "inactive" | "deactivated" => Ok(true),
        _ => Err(format!(
            "unknown status `{cell}`: expected Active, Pending, Not invited or Inactive"
        )),
    }
}

/// Whether a seat-assignment cell says inherited (through a group or the team).
fn inherited(cell: &str) -> Result<bool, String> {
    let lower = cell.to_ascii_lowercase();
    match lower.trim() {
        "direct" | "assigned" | "user" => Ok(false),
        text if text.starts_with("inherited") || text == "group" || text == "team" => Ok(true),
        _ => Err(format!(
            "unknown seat assignment `{cell}`: expected Direct or Inherited"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn access_levels_read_in_the_portal_s_words() {
        let levels = access_levels("Account Admin; executive, Standards_Admin").unwrap();
        assert_eq!(levels.len(), 3);
        assert!(access_levels("").unwrap().is_empty());
        assert!(access_levels("None").unwrap().is_empty());
        assert!(access_levels("Owner").unwrap_err().contains("`Owner`"));
    }

    #[test]
    fn every_unusable_row_is_reported_with_its_line() {
        let text = "First Name,Last Name,Email\nAda,Lovelace,ada@x.example\n,,\nBob,B,bob@x\nAda,L,ADA@x.example\nEve,E\n";
        let problems = read(&[source("u.csv", text)], None).unwrap_err();
        assert_eq!(
            problems,
            [
                "u.csv:3: empty row",
                "u.csv:4: `bob@x` is not a valid email address",
                "u.csv:5: duplicate: ada@x.example is already on line 2",
                "u.csv:6: 2 fields but the header has 3",
            ]
        );
    }
}
