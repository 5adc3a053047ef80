//! Where every node of the merged configuration came from.
//!
//! The loader records, for each YAML node, the file and `line:column` it was read
//! from, keyed by the node's JSON pointer in the *merged* configuration (so
//! `/members/30/email` finds the right file even when members are split over
//! several files). Schema errors and rule diagnostics turn pointers into
//! [`Location`]s through this map.

use crate::diagnostic::Location;

/// Positions of the nodes of a loaded configuration.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    // Filled in by the loader; see `loader.rs`.
    pub(crate) inner: crate::config::loader::Positions,
}

impl SourceMap {
    /// Where the node at `pointer` starts; for a pointer that names no node (a
    /// missing field), the nearest ancestor that exists.
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Option<Location> {
        self.inner.locate(pointer)
    }

    /// Where the key naming the node at `pointer` is (`email:` rather than the
    /// address after it); for list items and the root, the node itself.
    #[must_use]
    pub fn locate_key(&self, pointer: &str) -> Option<Location> {
        self.inner.locate_key(pointer)
    }

    /// The files that were read, in the order they were merged.
    #[must_use]
    pub fn files(&self) -> Vec<String> {
        self.inner.files()
    }
}
