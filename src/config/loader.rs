//! Reading configuration files: YAML text to one merged `serde_json::Value` plus
//! the position of every node.
//!
//! This module owns everything between a path on the command line and a value
//! the schema check can judge: finding the files (one file, or the `*.yaml` /
//! `*.yml` files of a directory, sorted so output is deterministic), refusing
//! files that are not YAML text (too large, binary, not UTF-8), parsing them in
//! parallel ([`parse`]), and merging their sections in file order. Problems of
//! every file are reported together: one bad file does not hide another's.
//!
//! [`load`] builds the whole merged value. [`load_streamed`] hands each item of
//! a list section to a per-file [`ItemSink`] instead (the schema check uses it
//! to check and type items while the file is read, so a large configuration
//! never exists as one `serde_json::Value`); the merged value then holds empty
//! lists in their place, and the source map is the same.
//!
//! Files are parsed on all cores: several files at a time when there are enough
//! of similar sizes, otherwise one at a time with the YAML parser and the
//! value builder on two threads.
//!
//! What the loader does not judge is left to the schema check on purpose: the
//! type of a section's first occurrence, unknown sections, a missing `account`.

mod parse;
mod scalar;

pub(crate) use self::parse::ItemSink;

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};

use self::parse::ParsedFile;
use super::SourceMap;
use crate::diagnostic::{Code, Diagnostic, Location};

/// The default size limit of one configuration file (64 MiB, DOMAIN.md).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * MIB;

/// Bytes in a mebibyte.
const MIB: u64 = 1024 * 1024;

/// Top-level sections that are lists: concatenated across files, in file order.
pub const LIST_SECTIONS: [&str; 7] = [
    "companies",
    "roles",
    "groups",
    "members",
    "agreements",
    "teams",
    "projects",
];

/// Top-level sections that may appear once in all files.
pub const SINGLE_SECTIONS: [&str; 2] = ["account", "settings"];

/// How to find and read configuration files.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Read `*.yaml` / `*.yml` files of subdirectories too.
    pub recursive: bool,
    /// Refuse files larger than this many bytes.
    pub max_file_size: u64,
    /// Read files and directories that symbolic links point to outside the
    /// configuration directory (refused by default: a pull request could link
    /// `/etc/shadow` into it).
    pub follow_symlinks: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            recursive: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            follow_symlinks: false,
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

/// Reads the configuration at `path` (a file, or a directory of `*.yaml` / `*.yml`).
///
/// # Errors
/// Every problem found in every file, each located: files that cannot be read
/// or are not YAML text ([`Code::File`]), malformed YAML ([`Code::Yaml`]), and
/// sections that cannot be merged ([`Code::Schema`]).
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let files = discover(path, options)?;
    let parsed = parse_all(&files, |file, pipelined| {
        read_and_parse(file, options.max_file_size, pipelined, None)
    });
    merge(&files, parsed)
}

/// Texts to read instead of some files' contents, keyed by the file's path as
/// diagnostics print it (`Location::file`): what a command that edits files in
/// place (`accord offboard`) checks before it writes them.
pub type Replacements = FxHashMap<PathBuf, String>;

/// Reads the configuration at `path` like [`load`], but hands the items of list
/// sections to a sink made by `new_sink` for each file, instead of putting them
/// in the merged value (which holds an empty list for each list section).
///
/// Returns the sinks in file order, the order of [`SourceMap`]'s file indices;
/// the source map says which files' items made it into the merged lists and at
/// which index ([`SourceMap::merged_pointer`]).
///
/// The files named in `replacements` are read from there instead of from disk.
///
/// # Errors
/// As [`load`]. When there are errors, what the sinks found is dropped.
pub(crate) fn load_streamed<S, F>(
    path: &Path,
    options: &LoadOptions,
    replacements: &Replacements,
    new_sink: F,
) -> Result<(Loaded, Vec<S>), Vec<Diagnostic>>
where
    S: ItemSink + Send,
    F: Fn() -> S + Sync,
{
    let files = discover(path, options)?;
    let (parsed, sinks): (Vec<ParsedFile>, Vec<S>) = parse_all(&files, |file, pipelined| {
        let mut sink = new_sink();
        let parsed = match replacements.get(Path::new(&*file.name)) {
            Some(text) => parse_text(text, file, pipelined, Some(&mut sink)),
            None => read_and_parse(file, options.max_file_size, pipelined, Some(&mut sink)),
        };
        (parsed, sink)
    })
    .into_iter()
    .unzip();
    Ok((merge(&files, parsed)?, sinks))
}

/// A configuration file to read.
struct SourceFile {
    path: PathBuf,
    /// As diagnostics print it: the path the user gave, joined with the file's
    /// path below it.
    name: Arc<str>,
}

/// The files named by `path`, sorted by path.
fn discover(path: &Path, options: &LoadOptions) -> Result<Vec<SourceFile>, Vec<Diagnostic>> {
    let metadata = fs::metadata(path).map_err(|error| {
        let message = if error.kind() == io::ErrorKind::NotFound {
            format!("`{}` does not exist", path.display())
        } else {
            format!("cannot read `{}`: {error}", path.display())
        };
        vec![
            Diagnostic::error(Code::File, message)
                .help("give a configuration file, or a directory of `*.yaml` files"),
        ]
    })?;
    if metadata.is_file() {
        // A file named on the command line may be a link, but not to a file
        // outside its own directory.
        if !options.follow_symlinks {
            let directory = path.parent().filter(|p| !p.as_os_str().is_empty());
            if let Ok(root) = fs::canonicalize(directory.unwrap_or(Path::new("."))) {
                if let Some(diagnostic) = outside(path, &root) {
                    return Err(vec![diagnostic]);
                }
            }
        }
        let name = path.display().to_string();
        return Ok(vec![SourceFile {
            path: path.to_path_buf(),
            name: name.into(),
        }]);
    }
    if !metadata.is_dir() {
        return Err(vec![
            Diagnostic::error(
                Code::File,
                format!("`{}` is neither a file nor a directory", path.display()),
            )
            .help("give a configuration file, or a directory of `*.yaml` files"),
        ]);
    }
    let mut walk = Walk {
        recursive: options.recursive,
        root: (!options.follow_symlinks)
            .then(|| fs::canonicalize(path).ok())
            .flatten(),
        found: Vec::new(),
        skipped_directories: false,
        visited: FxHashSet::default(),
        errors: Vec::new(),
    };
    walk.directory(path, Path::new(""));
    if !walk.errors.is_empty() {
        return Err(walk.errors);
    }
    if walk.found.is_empty() {
        let mut diagnostic = Diagnostic::error(
            Code::File,
            format!("no `*.yaml` or `*.yml` files in `{}`", path.display()),
        );
        diagnostic = if walk.skipped_directories {
            diagnostic.help("files in subdirectories are read only with `--recursive`")
        } else {
            diagnostic.help("point accord at the directory that holds the configuration files")
        };
        return Err(vec![diagnostic]);
    }
    walk.found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(walk
        .found
        .into_iter()
        .map(|(relative, full)| SourceFile {
            name: path.join(relative).display().to_string().into(),
            path: full,
        })
        .collect())
}

/// A walk through a configuration directory.
struct Walk {
    recursive: bool,
    /// The configuration directory, resolved, when links out of it are refused.
    root: Option<PathBuf>,
    /// (path relative to the root, full path) of each YAML file.
    found: Vec<(PathBuf, PathBuf)>,
    /// Subdirectories were passed by because the walk is not recursive.
    skipped_directories: bool,
    /// Canonical paths of the directories read, against symlink loops.
    visited: FxHashSet<PathBuf>,
    errors: Vec<Diagnostic>,
}

impl Walk {
    fn directory(&mut self, directory: &Path, relative: &Path) {
        if let Ok(canonical) = fs::canonicalize(directory) {
            if !self.visited.insert(canonical) {
                return;
            }
        }
        let entries = match fs::read_dir(directory) {
            Ok(entries) => entries,
            Err(error) => {
                self.errors.push(Diagnostic::error(
                    Code::File,
                    format!(
                        "cannot read the directory `{}`: {error}",
                        directory.display()
                    ),
                ));
                return;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            // Hidden entries (`.git`, `.github/workflows/*.yml`) are not configuration.
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let full = entry.path();
            let relative = relative.join(&name);
            // `fs::metadata` follows symbolic links, so a linked file or directory
            // counts, if it is inside the configuration directory.
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if let (true, Some(root)) = (is_link, &self.root) {
                let metadata = fs::metadata(&full);
                let counts =
                    metadata.is_ok_and(|m| (m.is_dir() && self.recursive) || is_yaml(&full));
                if counts {
                    if let Some(diagnostic) = outside(&full, root) {
                        self.errors.push(diagnostic);
                        continue;
                    }
                }
            }
            match fs::metadata(&full) {
                Ok(metadata) if metadata.is_file() => {
                    if is_yaml(&full) {
                        self.found.push((relative, full));
                    }
                }
                Ok(metadata) if metadata.is_dir() => {
                    if self.recursive {
                        self.directory(&full, &relative);
                    } else {
                        self.skipped_directories = true;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    if is_yaml(&full) {
                        self.errors.push(Diagnostic::error(
                            Code::File,
                            format!("cannot read `{}`: {error}", full.display()),
                        ));
                    }
                }
            }
        }
    }
}

/// The error for `link` when it resolves outside `root` (a resolved directory);
/// `None` when it resolves inside, or does not resolve.
///
/// The error has no location: a snippet would show the content of the file it
/// points to.
fn outside(link: &Path, root: &Path) -> Option<Diagnostic> {
    let resolved = fs::canonicalize(link).ok()?;
    if resolved.starts_with(root) {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::File,
            format!(
                "`{}` is a symbolic link to `{}`, outside the configuration directory `{}`; it is not read",
                link.display(),
                resolved.display(),
                root.display()
            ),
        )
        .help("copy the file into the configuration directory, or pass `--follow-symlinks` to read files that links point to outside it"),
    )
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"))
}

/// Runs `job` on every file, several at a time, and returns the results in the
/// order of `files`. `job` is told whether to parse its file on two threads
/// ([`pipelined`]).
fn parse_all<T, J>(files: &[SourceFile], job: J) -> Vec<T>
where
    T: Send,
    J: Fn(&SourceFile, bool) -> T + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let sizes: Vec<u64> = files
        .iter()
        .map(|file| fs::metadata(&file.path).map_or(0, |m| m.len()))
        .collect();
    let pipelined = pipelined(&sizes, cores);
    let workers = if pipelined { cores / 2 } else { cores }.clamp(1, files.len().max(1));
    if workers <= 1 {
        return files.iter().map(|file| job(file, pipelined)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<Option<T>> = files.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut finished = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(index) else {
                            break finished;
                        };
                        finished.push((index, job(file, pipelined)));
                    }
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(finished) => {
                    for (index, result) in finished {
                        done[index] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    // Every index below `files.len()` was taken by exactly one worker.
    done.into_iter().flatten().collect()
}

/// Whether files of these sizes are read faster with each file parsed on two
/// threads (the YAML parser and the value builder), half as many files at a
/// time, than with one thread per file.
///
/// The parser alone takes about two thirds of the time of a file read on one
/// thread, so a pipelined file takes about 2/3 of the time; the wall time is
/// that of the busiest worker, at best the total shared out, at worst the
/// largest file. One large file, or fewer files than cores, is pipelined; many
/// files of similar sizes are not.
fn pipelined(sizes: &[u64], cores: usize) -> bool {
    if cores < 2 {
        return false;
    }
    let total: u64 = sizes.iter().sum();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let cores = u64::try_from(cores).unwrap_or(u64::MAX);
    // In thirds of the time one thread takes to read a byte.
    let one_per_core = 3 * largest.max(total / cores);
    let two_per_file = 2 * largest.max(total / (cores / 2));
    two_per_file < one_per_core
}

fn read_and_parse(
    file: &SourceFile,
    max_file_size: u64,
    pipelined: bool,
    sink: Option<&mut dyn ItemSink>,
) -> ParsedFile {
    match read_text(file, max_file_size) {
        Ok(text) => parse_text(&text, file, pipelined, sink),
        Err(diagnostic) => ParsedFile {
            diagnostics: vec![*diagnostic],
            ..ParsedFile::default()
        },
    }
}

fn parse_text(
    text: &str,
    file: &SourceFile,
    pipelined: bool,
    sink: Option<&mut dyn ItemSink>,
) -> ParsedFile {
    if pipelined {
        parse::parse_pipelined(text, &file.name, sink)
    } else {
        parse::parse(text, &file.name, sink)
    }
}

/// The text of `file`, refused when it is too large, binary or not UTF-8.
fn read_text(file: &SourceFile, max_file_size: u64) -> Result<String, Box<Diagnostic>> {
    let cannot_read = |error: io::Error| {
        Box::new(
            Diagnostic::error(Code::File, format!("cannot read `{}`: {error}", file.name))
                .at(Some(Location::new(Arc::clone(&file.name), 1, 1))),
        )
    };
    // The size is checked before reading, so a huge file costs nothing.
    let size = fs::metadata(&file.path).map_err(cannot_read)?.len();
    if size > max_file_size {
        return Err(Box::new(too_large(file, size, max_file_size)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    File::open(&file.path)
        .and_then(|f| {
            f.take(max_file_size.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .map_err(cannot_read)?;
    // The file may have grown since its size was read.
    let read = bytes.len() as u64;
    if read > max_file_size {
        return Err(Box::new(too_large(file, read, max_file_size)));
    }
    text_of(bytes, &file.name)
}

fn too_large(file: &SourceFile, size: u64, limit: u64) -> Diagnostic {
    Diagnostic::error(
        Code::File,
        format!(
            "`{}` is {} MiB ({size} bytes), over the limit of {} MiB for one configuration file",
            file.name,
            mebibytes(size),
            mebibytes(limit)
        ),
    )
    .at(Some(Location::new(Arc::clone(&file.name), 1, 1)))
    .help("split it into several files, or raise the limit with `--max-file-size`")
}

/// `bytes` in MiB, as short as exact: `64`, `0.5`, `64.01`.
fn mebibytes(bytes: u64) -> String {
    if bytes % MIB == 0 {
        return (bytes / MIB).to_string();
    }
    // Display only: two decimals of a file size need no more precision.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / MIB as f64;
    // Enough decimals that a small limit does not print as 0.
    let text = if mib >= 0.01 {
        format!("{mib:.2}")
    } else {
        format!("{mib:.6}")
    };
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The bytes of a file as text: refused when binary (a NUL byte), UTF-16 or
/// not valid UTF-8, at the position of the first offending byte.
fn text_of(bytes: Vec<u8>, name: &Arc<str>) -> Result<String, Box<Diagnostic>> {
    let at = |offset: usize| Some(byte_location(&bytes, offset, name));
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Box::new(
            Diagnostic::error(
                Code::File,
                format!("`{name}` is encoded as UTF-16; configuration files must be UTF-8"),
            )
            .at(at(0))
            .help("save the file as UTF-8"),
        ));
    }
    // `contains` searches with memchr, many times faster than a loop over 28 MB;
    // the position is looked for only in a file that has one.
    if let Some(nul) = bytes
        .contains(&0)
        .then(|| bytes.iter().position(|&b| b == 0))
        .flatten()
    {
        return Err(Box::new(
            Diagnostic::error(
                Code::File,
                format!("`{name}` looks like a binary file (it holds a NUL byte), not YAML text"),
            )
            .at(at(nul))
            .help("only YAML text files belong among the configuration files"),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        Diagnostic::error(
            Code::File,
            format!(
                "`{name}` is not valid UTF-8 (byte 0x{:02X} cannot start or continue a character)",
                bytes[offset]
            ),
        )
        .at(Some(byte_location(bytes, offset, name)))
        .help("save the file as UTF-8 (it may be in Latin-1 or Windows-1252)")
        .into()
    })
}

/// The line and column (in characters, both from 1) of byte `offset`.
fn byte_location(bytes: &[u8], offset: usize, name: &Arc<str>) -> Location {
    let before = &bytes[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Location::new(Arc::clone(name), clamp(line), clamp(column))
}

/// Merges the files' sections in file order.
fn merge(files: &[SourceFile], parsed: Vec<ParsedFile>) -> Result<Loaded, Vec<Diagnostic>> {
    let mut merger = Merger::default();
    let mut local_diagnostics = Vec::new();
    for (file, parsed) in files.iter().zip(parsed) {
        let index = merger
            .sources
            .push_file(Arc::clone(&file.name), parsed.positions);
        local_diagnostics.push((index, parsed.diagnostics));
        let Some(sections) = parsed.sections.filter(|s| !s.is_empty()) else {
            // An empty file (or one of comments only) is allowed and ignored.
            continue;
        };
        merger.sources.set_root_file(index);
        for (name, value) in sections {
            let streamed = parsed
                .streamed
                .iter()
                .find(|(section, _)| *section == name)
                .map_or(0, |(_, count)| *count);
            merger.section(index, name, value, streamed);
        }
    }
    let Merger {
        merged,
        sources,
        mut diagnostics,
        ..
    } = merger;
    for (index, found) in local_diagnostics {
        for mut diagnostic in found {
            diagnostic.pointer = sources
                .merged_pointer(index, &diagnostic.pointer)
                .unwrap_or_default();
            diagnostics.push(diagnostic);
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Loaded {
        value: Value::Object(merged),
        sources,
    })
}

#[derive(Default)]
struct Merger {
    merged: Map<String, Value>,
    sources: SourceMap,
    /// For each top-level key: the file of its first occurrence, and whether
    /// that occurrence was merged as a list.
    first: FxHashMap<String, (usize, bool)>,
    /// Items merged so far into each list section, streamed ones included.
    list_lengths: FxHashMap<String, usize>,
    diagnostics: Vec<Diagnostic>,
}

impl Merger {
    /// Merges top-level key `name` of `file`, whose value is `value` plus
    /// `streamed` items that went to a sink.
    fn section(&mut self, file: usize, name: String, value: Value, streamed: usize) {
        let is_list_section = LIST_SECTIONS.contains(&name.as_str());
        let Some(&(first_file, first_is_list)) = self.first.get(&name) else {
            // First occurrence: kept as is, even if of the wrong type (the
            // schema check says what it should be).
            let is_list = is_list_section && value.is_array();
            if let Value::Array(items) = &value {
                if is_list {
                    let len = items.len() + streamed;
                    self.sources.add_list_piece(&name, file, 0, len);
                    self.list_lengths.insert(name.clone(), len);
                }
            }
            if !is_list {
                self.sources.set_whole_section(&name, file);
            }
            self.first.insert(name.clone(), (file, is_list));
            self.merged.insert(name, value);
            return;
        };
        let pointer = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
        if SINGLE_SECTIONS.contains(&name.as_str()) {
            let diagnostic = Diagnostic::error(
                Code::Schema,
                format!("`{name}` is declared a second time; it may appear once in all files"),
            )
            .at(self.sources.locate_local(file, &pointer, true))
            .pointer(&pointer)
            .help(format!("keep one `{name}` section and remove the other"))
            .related(
                self.sources.locate_local(first_file, &pointer, true),
                format!("`{name}` is first declared here"),
            );
            self.diagnostics.push(diagnostic);
            return;
        }
        if !is_list_section {
            // An unknown key repeated: the first one is kept and the schema
            // check reports it.
            return;
        }
        match value {
            Value::Array(items) if first_is_list => {
                if let Some(Value::Array(list)) = self.merged.get_mut(&name) {
                    let merged_len = self.list_lengths.entry(name.clone()).or_default();
                    let len = items.len() + streamed;
                    self.sources.add_list_piece(&name, file, *merged_len, len);
                    *merged_len += len;
                    list.extend(items);
                }
            }
            // The first occurrence is not a list: the schema check reports it,
            // and this one can be merged once it is fixed.
            Value::Array(_) => {}
            other => {
                let diagnostic = Diagnostic::error(
                    Code::Schema,
                    format!("`{name}` must be a list, not {}", kind_of(&other)),
                )
                .at(self.sources.locate_local(file, &pointer, false))
                .help(format!(
                    "write each entry of `{name}` on its own line starting with `- `"
                ))
                .related(
                    self.sources.locate_local(first_file, &pointer, true),
                    format!("`{name}` is first declared here"),
                );
                self.diagnostics.push(diagnostic);
            }
        }
    }
}

/// "a mapping", "a string", ... for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "an empty value",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_mebibytes() {
        assert_eq!(mebibytes(64 * MIB), "64");
        assert_eq!(mebibytes(MIB / 2), "0.5");
        assert_eq!(mebibytes(64 * MIB + MIB / 100 + 1), "64.01");
        assert_eq!(mebibytes(1024), "0.000977");
    }

    #[test]
    fn one_large_file_is_pipelined_and_many_similar_ones_are_not() {
        assert!(pipelined(&[28_000_000], 2));
        assert!(pipelined(&[20_000_000, 1_000, 2_000], 2));
        assert!(!pipelined(&[1_400_000; 20], 2));
        assert!(!pipelined(&[5_000_000, 5_100_000], 2));
        assert!(!pipelined(&[28_000_000], 1));
        assert!(pipelined(&[10, 12, 11], 8));
    }

    #[test]
    fn byte_locations_count_lines_and_characters() {
        let name: Arc<str> = "f.yaml".into();
        let bytes = "a: 1\nb: é\u{0}".as_bytes();
        let location = byte_location(bytes, bytes.len() - 1, &name);
        assert_eq!((location.line, location.column), (2, 5));
    }
}
