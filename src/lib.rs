//! accord keeps a firm's software account (subscription agreements, admin roles,
//! members, companies, projects and seat assignments) in git as YAML, and makes
//! the live account match it.
//!
//! The data flows one way:
//! files -> [`config::loader`] -> [`config::schema`] check -> typed
//! [`config::ConfigFile`] -> [`rules`] -> [`desired::Desired`] state, and
//! [`backend`] -> current [`state::State`]; then [`plan::diff`] -> [`plan::Plan`]
//! -> rendered, or carried out by [`apply`] -> verified. [`pipeline`] assembles
//! those steps for the commands.
//!
//! Imports go down only, through these layers (a test enforces it):
//!
//! 1. [`diagnostic`], [`time`], [`call`]: positions and rule codes, clocks and dates,
//!    the call policy (pacing, retries, counts);
//! 2. [`state`]: the normalised account;
//! 3. [`contract`]: the operation vocabulary and the backend contract;
//! 4. [`config`], [`desired`], [`wire`]: the configuration files, the desired state,
//!    the account service's JSON;
//! 5. [`rules`], [`report`], [`annotate`], [`export`]: R01-R10, diagnostics rendered
//!    for people, tools and CI systems, state to files;
//! 6. [`validate`], [`plan`], [`backend`], [`import`], [`show`]: a checked configuration,
//!    plans, backends, the portal's CSV exports, who has what;
//! 7. [`apply`], [`service`]: carrying a plan out, the account service;
//! 8. [`error`], then [`pipeline`], [`offboard`]: the commands' errors, the steps
//!    they call, and the edits of `accord offboard`;
//! 9. [`cli`], then [`commands`]: the command line, parsed, then carried out.

pub mod accounts;
pub mod annotate;
pub mod apply;
pub mod backend;
pub mod call;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contract;
pub mod desired;
pub mod diagnostic;
pub mod error;
pub mod export;
pub mod import;
pub mod memory;
pub mod offboard;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod rules;
pub mod seat_report;
pub mod service;
pub mod show;
pub mod state;
pub mod teams;
pub mod text;
pub mod time;
pub mod validate;
pub mod wire;
