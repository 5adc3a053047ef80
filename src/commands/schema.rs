//! `accord schema`: print the JSON Schema of the configuration.

use std::io::Write;

use crate::config::schema;
use crate::error::{Result, exit};

/// Prints the schema generated from the configuration types.
pub fn run() -> Result<u8> {
    let text = serde_json::to_string_pretty(&schema::schema()).expect("a schema is JSON") + "\n";
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(exit::OK)
}
