//! accord's integration tests: one binary, a module per area.

mod acc;
mod accounts;
mod apply;
mod ci;
mod cli;
mod commands;
mod common;
mod errors;
mod hostile;
mod import;
mod layers;
mod loader;
mod login;
mod plan;
mod process;
mod roundtrip;
mod rules;
mod schema;
mod seats;
mod service;
mod show;
mod store;
mod streaming;
mod target;
mod teams;
mod teams_store;
