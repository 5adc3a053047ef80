//! The domain rules R01-R10, checked before any backend is contacted, and the
//! compilation of a valid configuration into a [`Desired`] state.
//! (Implementation pending: see issue 2.)

use crate::config::{ConfigFile, SourceMap};
use crate::desired::Desired;
use crate::diagnostic::Diagnostic;

/// Checks every rule and, when none fails, compiles the desired state.
///
/// # Errors
/// Every rule violation, each located.
pub fn compile(_config: &ConfigFile, _sources: &SourceMap) -> Result<Desired, Vec<Diagnostic>> {
    Ok(Desired::default())
}
