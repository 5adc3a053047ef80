//! A small builder for test configurations and helpers to run accord.

#![allow(dead_code)] // each test module uses a different subset of the helpers

use std::path::{Path, PathBuf};

use accord::config::LoadOptions;
use accord::diagnostic::Diagnostic;
use accord::validate::{Validated, validate};

/// A configuration directory in a temporary place, built file by file.
pub struct TestConfig {
    dir: tempfile::TempDir,
}

impl TestConfig {
    /// An empty configuration directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A directory with one file, `accord.yaml`, holding `yaml`.
    pub fn with(yaml: &str) -> Self {
        Self::new().file("accord.yaml", yaml)
    }

    /// Adds (or replaces) the file `name` with `contents`.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, contents).expect("write");
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of the file `name` in it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Validates the directory with default options.
    pub fn validate(&self) -> Result<Validated, Vec<Diagnostic>> {
        validate(self.path(), &LoadOptions::default())
    }

    /// Validates, expecting failure, and returns the diagnostics.
    pub fn errors(&self) -> Vec<Diagnostic> {
        match self.validate() {
            Ok(_) => panic!("expected the configuration to be invalid"),
            Err(diagnostics) => diagnostics,
        }
    }

    /// Validates, expecting success.
    pub fn valid(&self) -> Validated {
        match self.validate() {
            Ok(validated) => validated,
            Err(diagnostics) => panic!(
                "expected a valid configuration, got:\n{}",
                diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

/// The diagnostics with `code` (such as "R04"), as (line, message) pairs.
pub fn with_code(diagnostics: &[Diagnostic], code: &str) -> Vec<(u32, String)> {
    diagnostics
        .iter()
        .filter(|d| d.code.as_str() == code)
        .map(|d| (d.location.as_ref().map_or(0, |l| l.line), d.message.clone()))
        .collect()
}

/// The lines of the diagnostics with `code`.
pub fn lines_of(diagnostics: &[Diagnostic], code: &str) -> Vec<u32> {
    with_code(diagnostics, code)
        .into_iter()
        .map(|(line, _)| line)
        .collect()
}

/// The `accord` binary, with colour off and a clean environment for backends.
/// The errors of `json` against the published schema `schemas/NAME` (none: it matches).
pub fn schema_errors(name: &str, json: &serde_json::Value) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator.iter_errors(json).map(|e| e.to_string()).collect()
}

pub fn accord() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("accord").expect("binary");
    cmd.env("NO_COLOR", "1")
        .env_remove("ACCORD_BACKEND")
        .env_remove("ACCORD_TOKEN");
    cmd
}

/// A small valid configuration used as a base by many tests (one file).
pub const MINIMAL: &str = "\
account: { id: acme-eu, name: ACME Architects }
companies:
  - { name: ACME Architects, trade: Architecture }
roles:
  - { name: BIM Manager, default_access: [account_admin] }
  - { name: Architect }
members:
  - { email: alice@acme.example, company: ACME Architects, role: BIM Manager }
  - { email: bob@acme.example, company: ACME Architects, role: Architect }
";
