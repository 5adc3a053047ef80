//! The whole of `accord validate`: load, schema check, rules, compile.

use std::path::Path;

use crate::config::{self, ConfigFile, LoadOptions, SourceMap};
use crate::desired::Desired;
use crate::diagnostic::{self, Diagnostic};
use crate::rules;

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The typed, merged configuration.
    pub config: ConfigFile,
    /// Where each node came from.
    pub sources: SourceMap,
    /// The desired account it compiles to.
    pub desired: Desired,
    /// Warnings (the configuration is still valid).
    pub warnings: Vec<Diagnostic>,
}

/// Loads the configuration at `path`, checks it against the schema and the rules
/// R01-R10, and compiles it. No backend is contacted.
///
/// # Errors
/// Every problem found, sorted by file, line and column. Loader problems stop
/// before the schema check, and schema problems before the rules, because each
/// stage needs the previous one's output to be meaningful.
pub fn validate(path: &Path, options: &LoadOptions) -> Result<Validated, Vec<Diagnostic>> {
    let sorted = |mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        diagnostics
    };
    let loaded = config::load(path, options).map_err(sorted)?;
    let config = config::schema::check(&loaded).map_err(sorted)?;
    let sources = loaded.sources;
    let desired = rules::compile(&config, &sources).map_err(sorted)?;
    Ok(Validated {
        config,
        sources,
        desired,
        warnings: Vec::new(),
    })
}
