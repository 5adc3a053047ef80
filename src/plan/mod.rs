//! Plans: the diff of a current and a desired state, ordered and batched.

pub mod operation;

pub use operation::{FieldChange, Op, Operation, Provenance};
