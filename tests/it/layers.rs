//! The rule "imports go down only" (README, "Architecture"), enforced: every
//! `crate::MODULE` a file of `src/` names, in a `use` line or a path, must belong to a
//! lower layer than the file's own module. A backend that imported `apply`, or `plan`
//! reaching into `backend`, fails this test with the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first; modules in one layer may not import each other.
const LAYERS: &[&[&str]] = &[
    &["diagnostic", "time", "call", "text", "memory"],
    &["state"],
    &["contract"],
    &["config", "desired", "wire"],
    &[
        "rules",
        "report",
        "annotate",
        "export",
        "teams",
        "seat_report",
    ],
    &["validate", "plan", "backend", "import", "show"],
    &["apply", "service"],
    &["error"],
    &["pipeline", "offboard"],
    &["accounts"],
    &["cli"],
    &["commands"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/plan/diff.rs` -> `plan`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The modules a line of code names as `crate::MODULE` (comments skipped).
fn named_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn imports_go_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    let mut unknown = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(own) = rank(&module) else {
            unknown.insert(module.clone(), file.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            for named in named_modules(line) {
                if named == module {
                    continue;
                }
                match rank(&named) {
                    Some(theirs) if theirs < own => {}
                    Some(_) => upward.push(format!(
                        "{}:{}: `{module}` imports `{named}`, which is not below it",
                        file.strip_prefix(&src).unwrap_or(file).display(),
                        n + 1
                    )),
                    None => {
                        unknown.insert(named, file.display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS (add them where they belong): {unknown:?}"
    );
    assert!(
        upward.is_empty(),
        "imports that go up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_import_that_goes_up() {
    assert_eq!(named_modules("use crate::apply::retry::Jitter;"), ["apply"]);
    assert_eq!(
        named_modules("let x = crate::plan::drift::classify(); // crate::commands"),
        ["plan"]
    );
    assert!(rank("apply") > rank("backend"));
    assert!(rank("contract") < rank("plan") && rank("contract") < rank("backend"));
}
