//! Diagnostics: every problem accord finds in a configuration, with where it is.
//!
//! A diagnostic carries a stable [`Code`] (the rule ID for R01-R13, so users can
//! search for it and tests can assert it), the [`Location`] of the node at fault
//! (`file:line:column`), the JSON pointer of that node in the merged configuration,
//! a message saying what is wrong and a help line saying what to do about it.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A position in a configuration file. Lines and columns count from 1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, as the user named it (relative paths stay relative).
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl Location {
    /// A location in `file` at `line:column`.
    #[must_use]
    pub fn new(file: impl Into<Arc<str>>, line: u32, column: u32) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }

    /// `file:line`, the form plan provenance uses.
    #[must_use]
    pub fn file_line(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What kind of problem a diagnostic reports. The string form is the error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A file cannot be read: missing, too large, binary, not UTF-8.
    File,
    /// The YAML itself is malformed: syntax, duplicate keys, tabs, aliases.
    Yaml,
    /// The configuration does not match the JSON Schema (types, unknown keys, required fields).
    Schema,
    /// Email syntax and member uniqueness.
    R01,
    /// Contract manager named and declared.
    R02,
    /// Software coordinator declared.
    R03,
    /// Seats assigned within seats purchased.
    R04,
    /// At most 3 members per cloud service.
    R05,
    /// At most 6 support members per licence.
    R06,
    /// Members referenced are declared; inactive members hold nothing.
    R07,
    /// Project members have `docs`.
    R08,
    /// References exist; names are unique.
    R09,
    /// The account keeps an admin.
    R10,
    /// Role holders are transferred before they are removed.
    R11,
    /// Protected members are never changed.
    R12,
    /// Too many removals.
    R13,
    /// Declared teams exist, their products are current pools, and no pool ends
    /// up holding more seats than it has.
    R14,
}

impl Code {
    /// The code as printed (`R04`, `schema`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Yaml => "yaml",
            Self::Schema => "schema",
            Self::R01 => "R01",
            Self::R02 => "R02",
            Self::R03 => "R03",
            Self::R04 => "R04",
            Self::R05 => "R05",
            Self::R06 => "R06",
            Self::R07 => "R07",
            Self::R08 => "R08",
            Self::R09 => "R09",
            Self::R10 => "R10",
            Self::R11 => "R11",
            Self::R12 => "R12",
            Self::R14 => "R14",
            Self::R13 => "R13",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is refused.
    Error,
    /// Worth knowing; the configuration is still accepted.
    Warning,
}

/// Another place that explains a diagnostic ("first declared here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What is there.
    pub message: String,
}

/// One problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The error code: a rule ID or `file` / `yaml` / `schema`.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// The node at fault, or the nearest declaration that explains the problem.
    pub location: Option<Location>,
    /// JSON pointer of that node in the merged configuration (`""` when none applies).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places involved, such as the first declaration of a duplicate.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// An error with `code` and `message`, located nowhere yet.
    #[must_use]
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            location: None,
            pointer: String::new(),
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Sets the JSON pointer.
    #[must_use]
    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = pointer.into();
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a related place.
    #[must_use]
    pub fn related(mut self, location: Option<Location>, message: impl Into<String>) -> Self {
        if let Some(location) = location {
            self.related.push(Related {
                location,
                message: message.into(),
            });
        }
        self
    }

    /// Whether this diagnostic refuses the configuration.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: {}", self.code, self.message)?;
        if let Some(location) = &self.location {
            write!(f, " ({location})")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by file, line, column and code, so output is deterministic.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.location
            .cmp(&b.location)
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
}
