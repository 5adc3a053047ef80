//! The whole of `accord validate`: load, schema check, rules, compile.
//!
//! The configuration is checked against the schema while it is read
//! ([`config::schema::load_and_check`]), so it never exists as one JSON value. The
//! rules are then checked on one thread while the desired state is compiled on
//! another; the compiled state is dropped when a rule fails. The outcome is that of
//! running the stages one after the other ([`rules::compile`]), in about the time
//! of the longer of the two.

use std::path::Path;

use crate::config::loader::Replacements;
use crate::config::schema::{self, Checked};
use crate::config::{ConfigFile, LoadOptions, SourceMap};
use crate::desired::Desired;
use crate::diagnostic::{self, Diagnostic};
use crate::rules::{self, Context};

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
    let Checked { config, sources } = schema::load_and_check(path, options).map_err(sorted)?;
    let (desired, warnings) = check_and_compile(&config, &sources).map_err(sorted)?;
    Ok(Validated {
        config,
        sources,
        desired,
        warnings: sorted(warnings),
    })
}

/// [`validate`] without the compilation: the verdict on the configuration at
/// `path`, reading the files named in `replacements` from there instead of from
/// disk. How `accord offboard` checks its edits before writing them; it needs to
/// know whether the result is valid, not the account it compiles to (compiling
/// finds nothing the schema and the rules have not).
///
/// # Errors
/// As [`validate`].
pub fn check_with(
    path: &Path,
    options: &LoadOptions,
    replacements: &Replacements,
) -> Result<(), Vec<Diagnostic>> {
    let Checked { config, sources } =
        schema::load_and_check_with(path, options, replacements).map_err(sorted)?;
    let diagnostics = rules::check(&Context::new(&config, &sources));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(sorted(diagnostics));
    }
    Ok(())
}

fn sorted(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

/// [`rules::compile`], with the rule checks and the compilation on two threads; a
/// valid configuration comes with its warnings.
fn check_and_compile(
    config: &ConfigFile,
    sources: &SourceMap,
) -> Result<(Desired, Vec<Diagnostic>), Vec<Diagnostic>> {
    let ctx = Context::new(config, sources);
    let (diagnostics, desired) = std::thread::scope(|scope| {
        let checks = scope.spawn(|| rules::check(&ctx));
        let desired = rules::compile::desired(&ctx);
        match checks.join() {
            Ok(diagnostics) => (diagnostics, desired),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    desired.map(|desired| (desired, diagnostics))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn acme() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme")
    }

    /// The replacement text for `people.yaml`, with `role: BIM Manager` changed.
    fn people_with_role(role: &str) -> Replacements {
        let path = acme().join("people.yaml");
        let text = std::fs::read_to_string(&path).expect("examples/acme/people.yaml");
        assert!(
            text.contains("role: BIM Manager "),
            "the example still gives Alice her role"
        );
        let edited = text.replacen("role: BIM Manager ", &format!("role: {role} "), 1);
        let mut replacements = Replacements::default();
        replacements.insert(path, edited);
        replacements
    }

    #[test]
    fn check_with_judges_the_replaced_text_not_the_file_on_disk() {
        let options = LoadOptions::default();
        assert!(validate(&acme(), &options).is_ok(), "the example is valid");
        assert!(check_with(&acme(), &options, &Replacements::default()).is_ok());
        assert!(check_with(&acme(), &options, &people_with_role("BIM Manager")).is_ok());

        let problems = check_with(&acme(), &options, &people_with_role("Astronaut"))
            .expect_err("an unknown role is refused");
        let unknown_role = problems
            .iter()
            .find(|d| d.is_error() && d.to_string().contains("Astronaut"))
            .unwrap_or_else(|| panic!("no error names the role: {problems:?}"));
        assert!(
            unknown_role.to_string().contains("people.yaml"),
            "the error names the replaced file: {unknown_role}"
        );
    }
}
