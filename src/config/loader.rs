//! Reading configuration files: YAML text to a `serde_json::Value` plus positions.
//! (Implementation pending: see issue 2.)

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Location};

use super::SourceMap;

/// The default size limit of one configuration file (64 MiB, DOMAIN.md).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// How to find and read configuration files.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Read `*.yaml` / `*.yml` files of subdirectories too.
    pub recursive: bool,
    /// Refuse files larger than this many bytes.
    pub max_file_size: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            recursive: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// A configuration read from disk, before the schema check.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged configuration (sections merged across files).
    pub value: serde_json::Value,
    /// Where each node came from.
    pub sources: SourceMap,
}

/// Positions of nodes, keyed by merged JSON pointer.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    files: Vec<PathBuf>,
}

impl Positions {
    pub(crate) fn locate(&self, _pointer: &str) -> Option<Location> {
        None
    }

    pub(crate) fn locate_key(&self, _pointer: &str) -> Option<Location> {
        None
    }

    pub(crate) fn files(&self) -> Vec<String> {
        self.files.iter().map(|f| f.display().to_string()).collect()
    }
}

/// Reads the configuration at `path` (a file, or a directory of `*.yaml` / `*.yml`).
///
/// # Errors
/// Every problem found in every file, each located.
pub fn load(_path: &Path, _options: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    Err(vec![Diagnostic::error(
        crate::diagnostic::Code::File,
        "loader not implemented",
    )])
}
