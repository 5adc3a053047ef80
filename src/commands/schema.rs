//! `accord schema`: print the JSON Schema of the configuration.

use std::io::Write;

use super::Finished;
use crate::config::schema;
use crate::error::{Result, exit};

/// Prints the schema generated from the configuration types.
pub fn run() -> Result<Finished> {
    let _ = std::io::stdout()
        .lock()
        .write_all(schema::schema_text().as_bytes());
    Ok(Finished::with(exit::OK))
}
