//! Plans: the diff of a current and a desired state, ordered and batched, and its
//! renderings.
//!
//! - [`diff()`] compares the backend's [`crate::state::State`] with the configuration's
//!   [`crate::desired::Desired`] and returns a [`Plan`] (or a [`Refusal`]);
//! - [`restrict`] narrows a configuration to what a backend manages, listing the rest;
//! - [`order`] places each operation in DOMAIN.md's eight steps and cuts batches;
//! - [`scope`] narrows a plan to some objects (`--target`), safely;
//! - [`safety`] holds the checks R10-R13 (and R04 on the result);
//! - [`model`] is the plan as a document (JSON, saved plans, fingerprint, digest);
//! - [`render`] prints it as text, JSON or markdown.

pub mod diff;
pub mod drift;
pub mod model;
pub mod operation;
pub mod order;
pub mod render;
pub mod restrict;
pub mod safety;
pub mod scope;

pub use diff::{DEFAULT_BULK_LIMIT, DiffOptions, Refusal, diff};
pub use model::{
    PLAN_FORMAT_VERSION, Plan, SavedPlan, SeatCount, SeatLine, Summary, config_digest, fingerprint,
};
pub use operation::{
    Action, FieldChange, Invitation, MemberRecord, ObjectKind, Op, Operation, Provenance,
};
