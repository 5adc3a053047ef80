//! The columns of the portal's exports, and which export a header is.
//!
//! A header cell is recognised whatever its case and spelling: `First Name`,
//! `first_name`, `FirstName` and `first-name` are one column (everything but letters
//! and digits is dropped before comparing), and a few synonyms the portal and
//! spreadsheets use (`E-mail`, `Surname`, `Access Level`) are accepted too.

use std::fmt;

/// A column accord reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// The member's email (every export has it).
    Email,
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// The member's company (members export).
    Company,
    /// The member's job role (members export).
    Role,
    /// Account access levels, `;`- or `,`-separated (members export).
    AccessLevel,
    /// `Active`, `Pending`, `Inactive`, `Not invited` (members export).
    Status,
    /// Products held through another firm's subscription (members export).
    ExternalSubscriptions,
    /// The product a seat is of (usage export).
    Product,
    /// The team (its id) the seat belongs to (usage export).
    Team,
    /// The team's display name (usage export).
    TeamName,
    /// `Direct` or `Inherited` (usage export).
    SeatAssignment,
    /// When the person last used the product (usage export; read, not configuration).
    LastAccessed,
}

impl Column {
    /// Every column, in the order the exports write them.
    pub const ALL: [Self; 13] = [
        Self::Email,
        Self::FirstName,
        Self::LastName,
        Self::Company,
        Self::Role,
        Self::AccessLevel,
        Self::Status,
        Self::ExternalSubscriptions,
        Self::Product,
        Self::Team,
        Self::TeamName,
        Self::SeatAssignment,
        Self::LastAccessed,
    ];

    /// The column's name as the exports write it.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Email => "Email",
            Self::FirstName => "First Name",
            Self::LastName => "Last Name",
            Self::Company => "Company",
            Self::Role => "Role",
            Self::AccessLevel => "Access Level",
            Self::Status => "Status",
            Self::ExternalSubscriptions => "External Subscriptions",
            Self::Product => "Product",
            Self::Team => "Team",
            Self::TeamName => "Team Name",
            Self::SeatAssignment => "Seat Assignment",
            Self::LastAccessed => "Last Accessed",
        }
    }

    /// The normalised spellings that name this column.
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Self::Email => &["email", "emailaddress", "mail", "useremail"],
            Self::FirstName => &["firstname", "givenname", "first"],
            Self::LastName => &["lastname", "surname", "familyname", "last"],
            Self::Company => &["company", "companyname"],
            Self::Role => &["role", "jobrole", "rolename"],
            Self::AccessLevel => &["accesslevel", "accesslevels", "access", "accountaccess"],
            Self::Status => &["status", "memberstatus", "userstatus"],
            Self::ExternalSubscriptions => &["externalsubscriptions", "externalsubscription"],
            Self::Product => &["product", "productname"],
            Self::Team => &["team", "teamid"],
            Self::TeamName => &["teamname"],
            Self::SeatAssignment => &["seatassignment", "assignment", "assignmenttype"],
            Self::LastAccessed => &["lastaccessed", "lastaccess", "lastused"],
        }
    }

    /// The column a header cell names, if accord reads it.
    #[must_use]
    pub fn recognise(cell: &str) -> Option<Self> {
        let key = normalise(cell);
        Self::ALL
            .into_iter()
            .find(|column| column.spellings().contains(&key.as_str()))
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// A header cell without case, spaces, underscores and punctuation (a byte order
/// mark a spreadsheet left on the first cell included).
fn normalise(cell: &str) -> String {
    cell.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Which of the portal's exports a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The classic user list: first name, last name, email.
    Users,
    /// The ACC members export: email, names, company, role, access level, status.
    Members,
    /// The usage export: email, product, team, seat assignment, last accessed.
    Usage,
}

impl Kind {
    /// What the export is called in messages.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Users => "user list",
            Self::Members => "members export",
            Self::Usage => "usage export",
        }
    }

    /// The columns a file of this kind cannot do without.
    #[must_use]
    pub fn required(self) -> &'static [Column] {
        match self {
            Self::Users => &[Column::FirstName, Column::LastName, Column::Email],
            Self::Members => &[Column::Email],
            Self::Usage => &[Column::Email, Column::Product],
        }
    }

    /// The columns accord reads from a file of this kind.
    #[must_use]
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Users => &[Column::FirstName, Column::LastName, Column::Email],
            Self::Members => &[
                Column::Email,
                Column::FirstName,
                Column::LastName,
                Column::Company,
                Column::Role,
                Column::AccessLevel,
                Column::Status,
                Column::ExternalSubscriptions,
            ],
            Self::Usage => &[
                Column::Email,
                Column::Product,
                Column::Team,
                Column::TeamName,
                Column::SeatAssignment,
                Column::LastAccessed,
            ],
        }
    }

    /// The kind a header's recognised columns say: a product column makes a usage
    /// export, any member field beyond the names a members export, else a user list.
    #[must_use]
    pub fn of(columns: &[Column]) -> Option<Self> {
        let has = |c: &Column| columns.contains(c);
        if [
            Column::Product,
            Column::SeatAssignment,
            Column::LastAccessed,
        ]
        .iter()
        .any(has)
        {
            Some(Self::Usage)
        } else if Self::Members.columns()[3..].iter().any(has) {
            Some(Self::Members)
        } else if [Column::Email, Column::FirstName, Column::LastName]
            .iter()
            .any(has)
        {
            Some(Self::Users)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_recognised_whatever_its_spelling() {
        for cell in [
            "First Name",
            "first_name",
            "FIRSTNAME",
            " first-name ",
            "\u{feff}First Name",
        ] {
            assert_eq!(Column::recognise(cell), Some(Column::FirstName), "{cell:?}");
        }
        assert_eq!(Column::recognise("E-mail"), Some(Column::Email));
        assert_eq!(
            Column::recognise("Access Levels"),
            Some(Column::AccessLevel)
        );
        assert_eq!(Column::recognise("Phone"), None);
    }

    #[test]
    fn the_kind_follows_from_the_header() {
        use Column::*;
        assert_eq!(Kind::of(&[FirstName, LastName, Email]), Some(Kind::Users));
        assert_eq!(Kind::of(&[Email, Company, Role]), Some(Kind::Members));
        assert_eq!(Kind::of(&[Email, Product, LastAccessed]), Some(Kind::Usage));
        assert_eq!(Kind::of(&[]), None);
    }
}
