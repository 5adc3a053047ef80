//! accord's integration tests: one binary, a module per area.

mod acc;
mod apply;
mod ci;
mod cli;
mod commands;
mod common;
mod errors;
mod hostile;
mod layers;
mod loader;
mod offboard;
mod login;
mod plan;
mod process;
mod roundtrip;
mod rules;
mod schema;
mod service;
mod store;
mod streaming;
mod teams;
mod teams_store;
