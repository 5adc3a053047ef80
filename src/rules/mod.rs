//! The domain rules R01-R10, checked before any backend is contacted, and the
//! compilation of a valid configuration into a [`Desired`] state.
//!
//! Each rule is one function, `rNN::check`, over a shared [`Context`] built once
//! (members by normalised email, groups expanded, names indexed), so that every rule
//! is a single near-linear pass even on 50,000 members. Each diagnostic carries the
//! rule's [`Code`](crate::diagnostic::Code), the JSON pointer of the node at fault in
//! the merged configuration and that node's location.
//!
//! When two rules fit one defect, the more specific one reports it (DOMAIN.md):
//! R02/R03 for contract managers and coordinators who are not declared, R04-R06 for
//! counts, R08 for docs, R07 for the rest; a name declared twice is R01 for member
//! emails and R09 for everything else. Each rule's module says which cases it
//! leaves to another.

pub mod compile;
pub mod context;
pub mod r01;
pub mod r02;
pub mod r03;
pub mod r04;
pub mod r05;
pub mod r06;
pub mod r07;
pub mod r08;
pub mod r09;
pub mod r10;
mod shape;

pub use context::Context;

use crate::config::{ConfigFile, SourceMap};
use crate::desired::Desired;
use crate::diagnostic::Diagnostic;

/// A rule: every violation it finds in a configuration.
pub type Rule = fn(&Context) -> Vec<Diagnostic>;

/// The rules `validate` checks, in order.
pub const RULES: [Rule; 10] = [
    r01::check,
    r02::check,
    r03::check,
    r04::check,
    r05::check,
    r06::check,
    r07::check,
    r08::check,
    r09::check,
    r10::check,
];

/// Every problem R01-R10 (and the shape checks the schema cannot express) find.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut diagnostics = shape::check(ctx);
    for rule in RULES {
        diagnostics.extend(rule(ctx));
    }
    diagnostics
}

/// Checks every rule and, when none fails, compiles the desired state.
///
/// # Errors
/// Every rule violation, each located.
pub fn compile(config: &ConfigFile, sources: &SourceMap) -> Result<Desired, Vec<Diagnostic>> {
    let ctx = Context::new(config, sources);
    let diagnostics = check(&ctx);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    compile::desired(&ctx)
}

#[cfg(test)]
mod tests;
