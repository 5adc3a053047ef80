//! The backend contract: the vocabulary below both `plan` and `backend`.
//!
//! - [`op`]: the operations a plan is made of ([`Op`], [`OpKind`]), one table;
//! - [`capabilities`]: what a backend declares about itself, as data;
//! - [`backend`]: the [`Backend`] and [`Lock`] traits and what they exchange
//!   ([`Snapshot`], [`Outcome`], [`Lease`], [`LastChange`]);
//! - [`error`]: how a call fails ([`BackendError`], [`LockError`]) and whether
//!   trying again can help ([`Retry`]).
//!
//! It depends only on the state types ([`crate::state`]) and the call policy's
//! handle ([`crate::call::Caller`]); `plan`, `backend` and `apply` depend on it.

pub mod backend;
pub mod capabilities;
pub mod error;
pub mod op;

pub use backend::{
    APPLIED, Applied, Backend, LastChange, Lease, Lock, LockScope, Outcome, PoolKind, SeatCount,
    SeatSample, Snapshot, applied_from_history,
};
pub use capabilities::{
    Budget, Capabilities, DEFAULT_BULK_LIMIT, Limits, ManualAction, MemberField, Window,
};
pub use error::{BackendError, LockError, Retry};
pub use op::{Action, MemberRecord, ObjectKind, Op, OpKind, Section};
