//! accord keeps a firm's software account (subscription agreements, admin roles,
//! members, companies, projects and seat assignments) in git as YAML, and makes
//! the live account match it.
//!
//! The data flows one way:
//! files -> [`config::loader`] -> [`config::schema`] check -> typed
//! [`config::ConfigFile`] -> [`rules`] -> [`desired::Desired`] state, and
//! [`backend`] -> current [`state::State`]; then [`plan::diff`] -> [`plan::Plan`]
//! -> rendered, or carried out by [`apply`] -> verified.

pub mod apply;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod desired;
pub mod diagnostic;
pub mod error;
pub mod export;
pub mod plan;
pub mod report;
pub mod rules;
pub mod service;
pub mod state;
pub mod validate;
