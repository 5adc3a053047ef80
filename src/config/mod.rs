//! The configuration: the YAML model, the loader and the schema check.
//!
//! Data flows one way: files -> [`loader`] (a `serde_json::Value` plus the position
//! of every node) -> [`schema`] check -> typed [`model::ConfigFile`]. The rules
//! ([`crate::rules`]) then compile the typed configuration into a desired state.

pub mod emit;
pub mod loader;
pub mod model;
pub mod schema;
mod source_map;

pub use loader::{LoadOptions, Loaded, load};
pub use model::ConfigFile;
pub use source_map::{ListItems, SourceMap};
