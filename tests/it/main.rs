//! accord's integration tests: one binary, a module per area.

mod apply;
mod cli;
mod commands;
mod common;
mod loader;
mod plan;
mod roundtrip;
mod rules;
mod schema;
mod service;
mod store;
mod streaming;
