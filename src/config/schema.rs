//! The JSON Schema of the configuration, generated from [`super::model`], and the
//! schema check of a loaded configuration. (Implementation pending: see issue 2.)

use crate::diagnostic::Diagnostic;

use super::{ConfigFile, Loaded};

/// The JSON Schema of one configuration file, as `accord schema` prints it.
#[must_use]
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).expect("a schema is JSON")
}

/// Checks a loaded configuration against the schema and deserialises it.
///
/// # Errors
/// Every schema violation, each located.
pub fn check(loaded: &Loaded) -> Result<ConfigFile, Vec<Diagnostic>> {
    serde_json::from_value(loaded.value.clone()).map_err(|e| {
        vec![Diagnostic::error(
            crate::diagnostic::Code::Schema,
            e.to_string(),
        )]
    })
}

#[cfg(test)]
mod scratch {
    #[test]
    fn print_raw_schema() {
        println!("{}", serde_json::to_string_pretty(&super::schema()).unwrap());
    }
}
