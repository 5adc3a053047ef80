//! accord's integration tests: one binary, a module per area.

mod common;
mod loader;
mod rules;
mod schema;
mod cli;
mod store;
mod plan;
