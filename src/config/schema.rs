//! The JSON Schema of the configuration, and the schema check of a loaded configuration.
//!
//! The schema is generated from the types in [`super::model`] (schemars, draft 2020-12),
//! so the types stay the single source of truth. It is then refined to say exactly what
//! the types accept, in the plainest JSON Schema, because the same file serves three
//! readers: [`check`] here, editors (yaml-language-server reads the committed
//! `schemas/accord.schema.json` through a `# yaml-language-server: $schema=...` line),
//! and other validators (check-jsonschema, ajv) in CI scripts and benchmarks:
//! - an optional field may be left out but not left empty (`null` is refused), which
//!   also removes the `anyOf: [T, null]` wrappers that make validators report a defect twice;
//! - an enum is an `enum` list of strings (described in its `description`), not a
//!   `oneOf` of constants, so a bad value is one error that lists the allowed ones;
//! - integer formats such as `uint32`, unknown to most validators, become `minimum`/`maximum`.
//!
//! [`check`] validates the merged configuration with the `jsonschema` crate and turns each
//! violation into a [`Diagnostic`] written for an administrator (what is wrong, where, what
//! to write instead), keeping one diagnostic per defect. Only a configuration without
//! schema errors is deserialised into the typed [`ConfigFile`].
//!
//! [`load_and_check`] gives the same result as [`super::load`] then [`check`], with a
//! fraction of the memory: each item of a list section (a member, a project...) is checked
//! against its own part of the schema and deserialised as soon as the loader has read it,
//! and its `serde_json::Value` dropped (see [`ItemChecker`]). What is left of the merged
//! value (`account`, `settings`, unknown keys, sections of the wrong type) is checked as a
//! whole, then the typed items of every file are appended in file order.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::loader::{self, ItemSink, LIST_SECTIONS};
use super::{ConfigFile, LoadOptions, Loaded, SourceMap};
use crate::diagnostic::{Code, Diagnostic, Location};

/// The schema's `$id`, and where it is published: the file on the main branch of the
/// repository (the repository URL is the one in `Cargo.toml`).
pub const SCHEMA_ID: &str =
    "https://raw.githubusercontent.com/accord-rs/accord/main/schemas/accord.schema.json";

/// The command that rewrites the committed schema file.
pub const REGENERATE_COMMAND: &str = "cargo run -- schema > schemas/accord.schema.json";

/// The JSON Schema of one configuration file, as `accord schema` prints it.
///
/// # Panics
/// Never: a schemars schema is always JSON.
#[must_use]
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = serde_json::to_value(generator.into_root_schema_for::<ConfigFile>())
        .expect("a schemars schema is JSON");
    refine(&mut schema);
    if let Some(root) = schema.as_object_mut() {
        root.insert("$id".to_owned(), SCHEMA_ID.into());
    }
    schema
}

/// The schema as `accord schema` prints it and `schemas/accord.schema.json` holds it:
/// pretty JSON ending with a newline.
///
/// # Panics
/// Never: a JSON value always prints.
#[must_use]
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a schema is JSON");
    text.push('\n');
    text
}

/// Checks a loaded configuration against the schema and deserialises it.
///
/// # Errors
/// Every schema violation, each located and explained; a merged configuration
/// without `account` is one of them.
pub fn check(loaded: &Loaded) -> Result<ConfigFile, Vec<Diagnostic>> {
    let mut diagnostics = whole_value_defects(loaded);
    diagnostics.extend(missing_account(loaded));
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    // From a reference: cloning a configuration of 50,000 members would double its memory.
    ConfigFile::deserialize(&loaded.value).map_err(|error| {
        let fractional = whole_numbers_written_as_fractions(&loaded.value, "");
        if !fractional.is_empty() {
            return fractional
                .iter()
                .map(|defect| to_diagnostic(defect, &loaded.sources))
                .collect();
        }
        vec![misfit_diagnostic(&error.to_string(), &loaded.sources)]
    })
}

/// The schema violations of the merged value, explained and located.
fn whole_value_defects(loaded: &Loaded) -> Vec<Diagnostic> {
    // `is_valid` stops at the first error and builds no error values: the common,
    // valid case stays cheap, and only an invalid configuration pays for explanations.
    if VALIDATOR.is_valid(&loaded.value) {
        return Vec::new();
    }
    let errors: Vec<_> = VALIDATOR.iter_errors(&loaded.value).collect();
    explain_all(&errors, "")
        .iter()
        .map(|defect| to_diagnostic(defect, &loaded.sources))
        .collect()
}

/// A configuration that passed the schema check, typed.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The typed, merged configuration.
    pub config: ConfigFile,
    /// Where each node came from.
    pub sources: SourceMap,
}

/// Reads the configuration at `path` and checks it against the schema while it is
/// read (see the module docs): the same outcome as [`super::load`] then [`check`].
///
/// # Errors
/// The loader's problems when there are any (as [`super::load`]), else every schema
/// violation, each located and explained.
pub fn load_and_check(path: &Path, options: &LoadOptions) -> Result<Checked, Vec<Diagnostic>> {
    load_and_check_with(path, options, &loader::Replacements::default())
}

/// [`load_and_check`], reading the files named in `replacements` from there instead
/// of from disk (a command that edits files checks the edited text first).
///
/// # Errors
/// As [`load_and_check`].
pub fn load_and_check_with(
    path: &Path,
    options: &LoadOptions,
    replacements: &loader::Replacements,
) -> Result<Checked, Vec<Diagnostic>> {
    let (loaded, mut checkers) =
        loader::load_streamed(path, options, replacements, ItemChecker::default)?;
    let sources = &loaded.sources;
    // Items of a file whose section was not merged (a later file's list where the
    // first occurrence is not a list) are not part of the configuration.
    let merged_defects = checkers.iter().enumerate().flat_map(|(file, checker)| {
        checker.defects.iter().filter_map(move |defect| {
            let pointer = sources.merged_pointer(file, &defect.pointer)?;
            Some(to_diagnostic(
                &Defect {
                    pointer,
                    ..defect.clone()
                },
                sources,
            ))
        })
    });
    let mut diagnostics: Vec<Diagnostic> = merged_defects.collect();
    diagnostics.extend(whole_value_defects(&loaded));
    diagnostics.extend(missing_account(&loaded));
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let mut config = type_whole_value(&loaded, &checkers)?;
    for section in LIST_SECTIONS {
        for (file, checker) in checkers.iter_mut().enumerate() {
            if sources.list_piece_start(section, file).is_some() {
                checker.typed.move_section_into(section, &mut config);
            }
        }
    }
    Ok(Checked {
        config,
        sources: loaded.sources,
    })
}

/// Deserialises what the merged value holds besides the streamed items (`account`
/// and `settings`), refusing the configuration when it or a streamed item does not
/// fit the model although the schema holds: numbers such as `10.0` where a whole
/// number belongs (each located), else the first misfit, as [`check`] reports it.
fn type_whole_value(
    loaded: &Loaded,
    checkers: &[ItemChecker],
) -> Result<ConfigFile, Vec<Diagnostic>> {
    let sources = &loaded.sources;
    let item_misfits = || {
        checkers
            .iter()
            .enumerate()
            .flat_map(move |(file, checker)| {
                checker.misfits.iter().filter_map(move |misfit| {
                    let pointer = sources.merged_pointer(file, &misfit.pointer)?;
                    Some((pointer, misfit))
                })
            })
    };
    let whole_misfit = match ConfigFile::deserialize(&loaded.value) {
        Ok(config) if item_misfits().next().is_none() => return Ok(config),
        Ok(_) => None,
        Err(error) => Some(error.to_string()),
    };
    let mut fractions: Vec<Defect> = whole_numbers_written_as_fractions(&loaded.value, "");
    for (pointer, misfit) in item_misfits() {
        for defect in &misfit.fractions {
            let Some(rest) = defect.pointer.strip_prefix(misfit.pointer.as_str()) else {
                continue;
            };
            fractions.push(Defect {
                pointer: format!("{pointer}{rest}"),
                ..defect.clone()
            });
        }
    }
    if !fractions.is_empty() {
        return Err(fractions
            .iter()
            .map(|d| to_diagnostic(d, sources))
            .collect());
    }
    // serde stops at the first misfit, reading sections in the merged value's
    // (alphabetical) key order.
    let account_misfit = loaded
        .value
        .get("account")
        .and_then(|account| super::model::Account::deserialize(account).err())
        .map(|error| error.to_string());
    let mut items: Vec<(String, &Misfit)> = item_misfits().collect();
    items.sort_by_key(|(pointer, _)| section_order(pointer));
    let message = account_misfit
        .or_else(|| items.first().map(|(_, misfit)| misfit.message.clone()))
        .or(whole_misfit)
        .unwrap_or_default();
    Err(vec![misfit_diagnostic(&message, sources)])
}

/// The place of a merged item pointer in serde's reading order: section name, then index.
fn section_order(pointer: &str) -> (String, usize) {
    let mut segments = pointer.split('/').skip(1);
    let section = segments.next().unwrap_or_default().to_owned();
    let index = segments.next().and_then(|i| i.parse().ok()).unwrap_or(0);
    (section, index)
}

/// The configuration passed the schema but not the typed model (a gap between the two).
fn misfit_diagnostic(error: &str, sources: &SourceMap) -> Diagnostic {
    Diagnostic::error(
        Code::Schema,
        format!("the configuration does not fit accord's model: {error}"),
    )
    .at(sources.locate(""))
    .pointer("")
}

/// Checks and types the items of list sections of one file as the loader reads them.
///
/// An item that passes the schema is deserialised from its owned value (its strings
/// move into the typed item; nothing is copied) and the value is gone. Once an item of
/// the file fails, the rest are only checked: the configuration is refused anyway.
#[derive(Default)]
struct ItemChecker {
    /// This file's items that passed, typed (list sections only).
    typed: ConfigFile,
    /// Schema violations, with file-local pointers.
    defects: Vec<Defect>,
    /// Items that passed the schema but not the typed model.
    misfits: Vec<Misfit>,
}

/// An item that passed the schema but does not deserialise.
struct Misfit {
    /// The item's file-local pointer.
    pointer: String,
    /// serde's error.
    message: String,
    /// Whole numbers written as fractions in it, with file-local pointers.
    fractions: Vec<Defect>,
}

impl ItemSink for ItemChecker {
    fn item(&mut self, section: &'static str, index: usize, item: Value) {
        let Some(validator) = item_validator(section) else {
            return;
        };
        if !validator.is_valid(&item) {
            let errors: Vec<_> = validator.iter_errors(&item).collect();
            self.defects
                .extend(explain_all(&errors, &format!("/{section}/{index}")));
            return;
        }
        if !self.defects.is_empty() {
            return;
        }
        let typed = &mut self.typed;
        let outcome = match section {
            "companies" => typed_item(item).map(|item| typed.companies.push(item)),
            "roles" => typed_item(item).map(|item| typed.roles.push(item)),
            "groups" => typed_item(item).map(|item| typed.groups.push(item)),
            "members" => typed_item(item).map(|item| typed.members.push(item)),
            "agreements" => typed_item(item).map(|item| typed.agreements.push(item)),
            "teams" => typed_item(item).map(|item| typed.teams.push(item)),
            "projects" => typed_item(item).map(|item| typed.projects.push(item)),
            _ => Ok(()),
        };
        if let Err((message, item)) = outcome {
            let pointer = format!("/{section}/{index}");
            let fractions = item.map_or_else(Vec::new, |item| {
                whole_numbers_written_as_fractions(&item, &pointer)
            });
            self.misfits.push(Misfit {
                pointer,
                message,
                fractions,
            });
        }
    }
}

impl ConfigFile {
    /// Moves the items of list section `section` to the end of `into`'s.
    fn move_section_into(&mut self, section: &str, into: &mut Self) {
        match section {
            "companies" => into.companies.append(&mut self.companies),
            "roles" => into.roles.append(&mut self.roles),
            "groups" => into.groups.append(&mut self.groups),
            "members" => into.members.append(&mut self.members),
            "agreements" => into.agreements.append(&mut self.agreements),
            "teams" => into.teams.append(&mut self.teams),
            "projects" => into.projects.append(&mut self.projects),
            _ => {}
        }
    }
}

/// Deserialises an item that passed the schema; on failure, serde's message and
/// (when it holds fractions, the one gap between schema and model) the item.
fn typed_item<T: DeserializeOwned>(item: Value) -> Result<T, (String, Option<Value>)> {
    if holds_fraction(&item) {
        return T::deserialize(&item).map_err(|error| (error.to_string(), Some(item)));
    }
    serde_json::from_value(item).map_err(|error| (error.to_string(), None))
}

/// Whether `value` holds a number written with a fraction or an exponent.
fn holds_fraction(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.is_f64(),
        Value::Array(items) => items.iter().any(holds_fraction),
        Value::Object(fields) => fields.values().any(holds_fraction),
        _ => false,
    }
}

/// Whole numbers written as `10.0`: JSON Schema counts them as integers, serde does
/// not. serde's error has no position, so they are found here, on the failure path only.
fn whole_numbers_written_as_fractions(value: &Value, pointer: &str) -> Vec<Defect> {
    match value {
        Value::Number(number) if number.is_f64() => {
            let wants_integer = Place::of(pointer)
                .is_some_and(|place| place.schema.get("type") == Some(&"integer".into()));
            if !wants_integer {
                return Vec::new();
            }
            vec![Defect {
                pointer: pointer.to_owned(),
                at_key: false,
                message: format!("expected a whole number, found {number}"),
                help: number
                    .as_f64()
                    .map(|n| format!("write it without a fraction: {}", n.round())),
                cause: Cause::WrongType,
            }]
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| {
                whole_numbers_written_as_fractions(item, &format!("{pointer}/{index}"))
            })
            .collect(),
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(key, field)| {
                whole_numbers_written_as_fractions(field, &format!("{pointer}/{}", escape(key)))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The schema, generated once per process.
static SCHEMA: LazyLock<Value> = LazyLock::new(schema);

/// The compiled validator: compiling is far slower than validating a small file.
///
/// Format checks are on, so a `format` added to the model is enforced, not just
/// shown in editors. Member emails carry none on purpose: their syntax is rule R01,
/// checked with the rules so that one bad address does not hide every other problem.
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| compile(&SCHEMA));

/// A validator for the items of each list section, in the order of [`LIST_SECTIONS`]:
/// the section's `items` schema with the schema's `$defs`, so `$ref`s resolve as in
/// the whole schema and an item gets the errors it would get inside the configuration.
static ITEM_VALIDATORS: LazyLock<Vec<Validator>> = LazyLock::new(|| {
    LIST_SECTIONS
        .iter()
        .map(|section| compile(&item_schema(section)))
        .collect()
});

/// The validator of the items of list section `section`.
fn item_validator(section: &str) -> Option<&'static Validator> {
    let index = LIST_SECTIONS.iter().position(|s| *s == section)?;
    ITEM_VALIDATORS.get(index)
}

/// The schema of one item of list section `section`, standing on its own.
fn item_schema(section: &str) -> Value {
    let mut schema = SCHEMA["properties"][section]["items"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in ["$schema", "$defs"] {
        if let Some(value) = SCHEMA.get(key) {
            schema.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(schema)
}

fn compile(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("the generated schema is a valid draft 2020-12 schema")
}

// ---------------------------------------------------------------------------------------
// Refining the generated schema
// ---------------------------------------------------------------------------------------

/// Applies the refinements listed in the module docs to `schema` and every subschema.
fn refine(schema: &mut Value) {
    let Some(node) = schema.as_object_mut() else {
        return;
    };
    refuse_null(node);
    enum_from_constants(node);
    range_from_integer_format(node);
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = node.get_mut(key) {
            children.values_mut().for_each(refine);
        }
    }
    if let Some(items) = node.get_mut("items") {
        refine(items);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(options)) = node.get_mut(key) {
            options.iter_mut().for_each(refine);
        }
    }
}

/// `type: [T, "null"]` becomes `type: T`; `anyOf: [S, {type: null}]` becomes S itself.
fn refuse_null(node: &mut Map<String, Value>) {
    let is_null = |value: &Value| value == "null";
    if let Some(Value::Array(types)) = node.get_mut("type") {
        types.retain(|t| !is_null(t));
        if types.len() == 1 {
            let single = types.remove(0);
            node.insert("type".to_owned(), single);
        }
    }
    let is_null_schema = |value: &Value| value.get("type").is_some_and(is_null);
    let Some(Value::Array(options)) = node.get("anyOf") else {
        return;
    };
    if options.len() != 2 || !options.iter().any(is_null_schema) {
        return;
    }
    let Some(Value::Array(options)) = node.remove("anyOf") else {
        return;
    };
    for option in options.into_iter().filter(|option| !is_null_schema(option)) {
        if let Value::Object(fields) = option {
            for (key, value) in fields {
                // The field's own annotations (its description) win over the target's.
                node.entry(key).or_insert(value);
            }
        }
    }
}

/// A `oneOf` of string constants (what schemars makes of a documented enum) becomes an
/// `enum`, with the constants' descriptions folded into the enum's description.
fn enum_from_constants(node: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = node.get("oneOf") else {
        return;
    };
    let Some(values) = variants
        .iter()
        .map(|variant| variant.get("const")?.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    let explained: Vec<String> = variants
        .iter()
        .zip(&values)
        .filter_map(|(variant, value)| {
            let text = variant.get("description")?.as_str()?.trim_end_matches('.');
            // "Build." says nothing `build` does not.
            (text.to_lowercase() != value.replace('_', " ")).then(|| {
                let mut chars = text.chars();
                let first = chars.next().map(|c| c.to_lowercase().to_string());
                format!("`{value}`: {}{}", first.unwrap_or_default(), chars.as_str())
            })
        })
        .collect();
    if !explained.is_empty() {
        let intro = node
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end();
        let text = format!("{intro} {}.", explained.join("; "));
        node.insert("description".to_owned(), text.trim_start().into());
    }
    node.remove("oneOf");
    node.insert("type".to_owned(), "string".into());
    node.insert("enum".to_owned(), values.into());
}

/// Integer formats (`uint32`, ...) become the range they stand for.
fn range_from_integer_format(node: &mut Map<String, Value>) {
    let Some(format) = node.get("format").and_then(Value::as_str) else {
        return;
    };
    let (minimum, maximum) = match format {
        "uint8" => (0, i64::from(u8::MAX)),
        "uint16" => (0, i64::from(u16::MAX)),
        "uint32" => (0, i64::from(u32::MAX)),
        "int8" => (i64::from(i8::MIN), i64::from(i8::MAX)),
        "int16" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "int32" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => return,
    };
    node.remove("format");
    // A tighter range given on the field (`#[schemars(range(...))]`) stays.
    node.entry("minimum").or_insert(minimum.into());
    node.entry("maximum").or_insert(maximum.into());
}

// ---------------------------------------------------------------------------------------
// Explaining validation errors
// ---------------------------------------------------------------------------------------

/// One defect found by the validator, explained, before it is located.
#[derive(Clone)]
struct Defect {
    /// The node at fault.
    pointer: String,
    /// Whether the caret belongs on the key (`frist_name:`) rather than on the value.
    at_key: bool,
    message: String,
    help: Option<String>,
    cause: Cause,
}

/// Why a defect was found, as far as de-duplication needs to know.
#[derive(Clone)]
enum Cause {
    WrongType,
    /// An unknown key in the mapping at `object`, and the allowed key it resembles.
    UnknownKey {
        object: String,
        suggestion: Option<String>,
    },
    /// A missing required key (or one of `email` / `group`) of the mapping at the pointer.
    Missing {
        keys: Vec<&'static str>,
    },
    Other,
}

/// Explains every error, dropping the ones that only repeat another defect. The
/// errors are those of the node at pointer `prefix` (`""`: the configuration).
fn explain_all(errors: &[ValidationError<'_>], prefix: &str) -> Vec<Defect> {
    let defects: Vec<Defect> = errors.iter().flat_map(|e| explain(e, prefix)).collect();
    let wrong_types: HashSet<&str> = defects
        .iter()
        .filter(|d| matches!(d.cause, Cause::WrongType))
        .map(|d| d.pointer.as_str())
        .collect();
    let suggested: HashSet<(&str, &str)> = defects
        .iter()
        .filter_map(|d| match &d.cause {
            Cause::UnknownKey {
                object,
                suggestion: Some(key),
            } => Some((object.as_str(), key.as_str())),
            _ => None,
        })
        .collect();
    let repeats_another = |defect: &Defect| match &defect.cause {
        Cause::WrongType => false,
        // An enum, length or `oneOf` error on a value of the wrong type says nothing more.
        _ if wrong_types.contains(defect.pointer.as_str()) => true,
        // `emial: ...` already says "did you mean `email`?": "needs `email`" is the same defect.
        Cause::Missing { keys } => keys
            .iter()
            .any(|key| suggested.contains(&(defect.pointer.as_str(), key))),
        Cause::UnknownKey { .. } | Cause::Other => false,
    };
    let mut seen = HashSet::new();
    let keep: Vec<bool> = defects
        .iter()
        .map(|defect| {
            !repeats_another(defect)
                && seen.insert((defect.pointer.as_str(), defect.message.as_str()))
        })
        .collect();
    // The sets above borrow from `defects`; the kept ones are moved out after.
    defects
        .into_iter()
        .zip(keep)
        .filter(|(_, keep)| *keep)
        .map(|(defect, _)| defect)
        .collect()
}

fn to_diagnostic(defect: &Defect, sources: &SourceMap) -> Diagnostic {
    let location = if defect.at_key {
        sources.locate_key(&defect.pointer)
    } else {
        sources.locate(&defect.pointer)
    };
    let diagnostic = Diagnostic::error(Code::Schema, defect.message.clone())
        .at(location)
        .pointer(defect.pointer.clone());
    match &defect.help {
        Some(help) => diagnostic.help(help.clone()),
        None => diagnostic,
    }
}

/// The defects one validation error stands for (an unknown-keys error names several keys).
fn explain(error: &ValidationError<'_>, prefix: &str) -> Vec<Defect> {
    let pointer = format!("{prefix}{}", error.instance_path().as_str());
    let instance: &Value = error.instance();
    let place = Place::of(&pointer);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|key| unknown_key(&pointer, key, place.as_ref()))
            .collect(),
        ValidationErrorKind::Type { kind } => {
            vec![wrong_type(pointer, kind, instance, place.as_ref())]
        }
        ValidationErrorKind::Enum { options } => {
            vec![not_allowed(pointer, instance, options, place.as_ref())]
        }
        ValidationErrorKind::Required { property } => {
            vec![missing(pointer, property, place.as_ref())]
        }
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. }
            if place.as_ref().and_then(|p| p.definition) == Some("ProjectMember") =>
        {
            vec![email_or_group(pointer, error.kind())]
        }
        kind => vec![other(pointer, kind, instance, error)],
    }
}

fn unknown_key(object: &str, key: &str, place: Option<&Place>) -> Defect {
    let allowed = place.map(Place::keys).unwrap_or_default();
    let suggestion = nearest(key, allowed.iter().copied()).map(str::to_owned);
    let whereabouts = match place.map(Place::noun) {
        Some(noun) if !object.is_empty() => format!("in {noun}"),
        _ => "at the top level".to_owned(),
    };
    let help = (!allowed.is_empty()).then(|| {
        let mut help = format!("allowed keys: {}", allowed.join(", "));
        if let Some(suggestion) = &suggestion {
            let _ = write!(help, "; did you mean `{suggestion}`?");
        }
        help
    });
    Defect {
        pointer: format!("{object}/{}", escape(key)),
        at_key: true,
        message: format!("unknown key `{key}` {whereabouts}"),
        help,
        cause: Cause::UnknownKey {
            object: object.to_owned(),
            suggestion,
        },
    }
}

fn wrong_type(pointer: String, kind: &TypeKind, found: &Value, place: Option<&Place>) -> Defect {
    let expected: Vec<JsonType> = match kind {
        TypeKind::Single(single) => vec![*single],
        TypeKind::Multiple(set) => set.iter().collect(),
    };
    let names: Vec<&str> = expected.iter().map(|t| type_name(*t)).collect();
    let help = expected
        .first()
        .and_then(|first| type_help(*first, found, place, &pointer));
    Defect {
        message: format!(
            "expected {}, found {}",
            names.join(" or "),
            found_name(found)
        ),
        pointer,
        at_key: false,
        help,
        cause: Cause::WrongType,
    }
}

fn not_allowed(pointer: String, found: &Value, options: &Value, place: Option<&Place>) -> Defect {
    let allowed: Vec<&str> = options
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let what = place.map_or("an allowed value", Place::value_noun);
    let shown = found
        .as_str()
        .map_or_else(|| found.to_string(), str::to_owned);
    let mut help = format!("allowed values: {}", allowed.join(", "));
    if let Some(suggestion) = found
        .as_str()
        .and_then(|text| nearest(text, allowed.iter().copied()))
    {
        let _ = write!(help, "; did you mean `{suggestion}`?");
    }
    Defect {
        pointer,
        at_key: false,
        message: format!("`{shown}` is not {what}"),
        help: Some(help),
        cause: Cause::Other,
    }
}

fn missing(pointer: String, property: &Value, place: Option<&Place>) -> Defect {
    let key = property
        .as_str()
        .map_or_else(|| property.to_string(), str::to_owned);
    let noun = place.map_or("this mapping", |p| p.noun());
    let keys = place
        .map(Place::keys)
        .unwrap_or_default()
        .into_iter()
        .filter(|k| *k == key)
        .collect();
    Defect {
        pointer,
        at_key: false,
        message: format!("{noun} needs `{key}`"),
        help: Some(format!("add `{key}: ...` to it")),
        cause: Cause::Missing { keys },
    }
}

fn email_or_group(pointer: String, kind: &ValidationErrorKind) -> Defect {
    let (message, help) = if matches!(kind, ValidationErrorKind::OneOfMultipleValid { .. }) {
        (
            "a project member entry has both `email` and `group`",
            "keep one: an entry is one person (`email`) or every member of a group (`group`); write two entries for both",
        )
    } else {
        (
            "a project member entry needs `email` or `group`",
            "give `email` for one person, or `group` for every member of a group",
        )
    };
    Defect {
        pointer,
        at_key: false,
        message: message.to_owned(),
        help: Some(help.to_owned()),
        cause: Cause::Missing {
            keys: vec!["email", "group"],
        },
    }
}

fn other(
    pointer: String,
    kind: &ValidationErrorKind,
    found: &Value,
    error: &ValidationError<'_>,
) -> Defect {
    let field = field_name(&pointer);
    let (message, help) = match kind {
        ValidationErrorKind::MinLength { .. } if found.as_str() == Some("") => (
            format!("{field} must not be empty"),
            Some("write a value, or remove the key if it is optional".to_owned()),
        ),
        ValidationErrorKind::Minimum { limit } => (
            format!("`{found}` is too small for {field}"),
            Some(format!("the smallest allowed value is {limit}")),
        ),
        ValidationErrorKind::Maximum { limit } => (
            format!("`{found}` is too large for {field}"),
            Some(format!("the largest allowed value is {limit}")),
        ),
        ValidationErrorKind::Format { format } => {
            (format!("`{found}` is not a valid {format} ({field})"), None)
        }
        _ => (error.to_string(), None),
    };
    Defect {
        pointer,
        at_key: false,
        message,
        help,
        cause: Cause::Other,
    }
}

/// How a message names the node at `pointer`: "`name` of a company", "an entry of `support`".
fn field_name(pointer: &str) -> String {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", ""));
    let last = unescape(last);
    if last.is_empty() {
        return "the configuration".to_owned();
    }
    if last.parse::<usize>().is_ok() {
        let list_key = parent.rsplit('/').next().map(unescape).unwrap_or_default();
        return format!("an entry of `{list_key}`");
    }
    match Place::of(parent) {
        Some(place) if !place.root => format!("`{last}` of {}", place.noun()),
        _ => format!("`{last}`"),
    }
}

/// What a type is called in a message ("expected text").
fn type_name(kind: JsonType) -> &'static str {
    match kind {
        JsonType::String => "text",
        JsonType::Integer => "a whole number",
        JsonType::Number => "a number",
        JsonType::Boolean => "true or false",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
        JsonType::Null => "nothing",
    }
}

/// What a value is called in a message ("found a number").
fn found_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "text",
        Value::Number(_) => "a number",
        Value::Bool(_) => "true/false",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
        Value::Null => "nothing",
    }
}

/// What to write instead of `found` where `expected` belongs.
fn type_help(
    expected: JsonType,
    found: &Value,
    place: Option<&Place>,
    pointer: &str,
) -> Option<String> {
    match (expected, found) {
        (_, Value::Null) => Some(if pointer.ends_with(|c: char| c.is_ascii_digit()) {
            "remove the empty entry, or write a value".to_owned()
        } else {
            "write a value, or remove the key if it is optional".to_owned()
        }),
        (JsonType::String, Value::Number(_) | Value::Bool(_)) => {
            Some(format!("quote it: \"{found}\""))
        }
        (JsonType::Array, Value::Object(_)) => {
            Some("write a list: one entry per line, each starting with `- `".to_owned())
        }
        (JsonType::Array, Value::String(text)) => Some(format!("write a list, such as [{text}]")),
        (JsonType::Array, _) => Some(format!("write a list, such as [{found}]")),
        (JsonType::Integer | JsonType::Number, Value::String(text))
            if text.trim().parse::<f64>().is_ok() =>
        {
            Some(format!("remove the quotes: {}", text.trim()))
        }
        (JsonType::Integer, Value::Number(number)) => number
            .as_f64()
            .map(|n| format!("use a whole number, such as {}", n.round())),
        (JsonType::Boolean, _) => Some("write true or false".to_owned()),
        (JsonType::Object, _) => Some(format!(
            "write a mapping, such as {}",
            place.map_or_else(|| "{ key: value }".to_owned(), |place| place.example(found),)
        )),
        _ => None,
    }
}

/// The allowed word nearest to `word`, when it is near enough to be a likely typo.
fn nearest<'a>(word: &str, allowed: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.trim().to_lowercase();
    let allowed: Vec<&str> = allowed.into_iter().collect();
    let by_edits = allowed
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(&word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    // `coordinator` for `software_coordinator`, `first` for `first_name`.
    by_edits.or_else(|| {
        let mut containing = allowed
            .iter()
            .filter(|candidate| word.chars().count() >= 4 && candidate.contains(word.as_str()));
        match (containing.next(), containing.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    })
}

// ---------------------------------------------------------------------------------------
// Finding the schema of an instance node
// ---------------------------------------------------------------------------------------

/// The schema of one node of the configuration, found by walking the schema along the
/// node's pointer (through `properties`, `items` and `$ref`).
struct Place {
    schema: &'static Map<String, Value>,
    /// The `$defs` name of the node's type (`Member`), when the node is one.
    definition: Option<&'static str>,
    /// Whether the node is the configuration itself.
    root: bool,
}

impl Place {
    fn of(pointer: &str) -> Option<Self> {
        let root = SCHEMA.as_object()?;
        let mut place = Self {
            schema: root,
            definition: None,
            root: true,
        };
        for segment in pointer.split('/').skip(1).map(unescape) {
            let child = place
                .schema
                .get("properties")
                .and_then(|properties| properties.get(&segment))
                .or_else(|| segment.parse::<usize>().ok().and(place.schema.get("items")))?;
            place = Self::resolve(child.as_object()?)?;
        }
        Some(place)
    }

    fn resolve(schema: &'static Map<String, Value>) -> Option<Self> {
        let definition = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| reference.strip_prefix("#/$defs/"));
        let schema = match definition {
            Some(name) => SCHEMA.get("$defs")?.get(name)?.as_object()?,
            None => schema,
        };
        Some(Self {
            schema,
            definition,
            root: false,
        })
    }

    /// The keys a mapping here may have.
    fn keys(&self) -> Vec<&'static str> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| properties.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// How a message names a mapping here ("a member").
    fn noun(&self) -> &'static str {
        if self.root {
            return "the configuration";
        }
        match self.definition {
            Some("Account") => "the account",
            Some("Settings") => "the settings",
            Some("Company") => "a company",
            Some("Role") => "a role",
            Some("Group") => "a group",
            Some("Member") => "a member",
            Some("Agreement") => "an agreement",
            Some("Product") => "a product of an agreement",
            Some("CloudService") => "a cloud service of an agreement",
            Some("Team") => "a team",
            Some("TeamProduct") => "a product of a team",
            Some("Project") => "a project",
            Some("ProjectMember") => "a project member entry",
            _ => "this mapping",
        }
    }

    /// How a message names a value of an enum here ("a project access level").
    fn value_noun(&self) -> &'static str {
        match self.definition {
            Some("AccessLevel") => "an access level",
            Some("ProjectAccess") => "a project access level",
            Some("ProjectProduct") => "a project product",
            Some("DesiredStatus") => "a member status",
            _ => "an allowed value",
        }
    }

    /// A mapping to write here instead of `found`, built from the required keys.
    fn example(&self, found: &Value) -> String {
        if self.root {
            return "`account: ...` and `members: ...`, each on a line of its own".to_owned();
        }
        let text = found.as_str();
        if self.definition == Some("ProjectMember") {
            return match text.and_then(|t| t.strip_prefix("group:")) {
                Some(group) => format!("{{ group: {group} }}"),
                None => format!("{{ email: {} }}", text.unwrap_or("...")),
            };
        }
        let required: Vec<&str> = self
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match (required.as_slice(), text) {
            ([], _) => "{ key: value }".to_owned(),
            ([only], Some(text)) => format!("{{ {only}: {text} }}"),
            (keys, _) => {
                let pairs: Vec<String> = keys.iter().map(|key| format!("{key}: ...")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }
        }
    }
}

/// The merged configuration has no `account`: located at the first file's start.
fn missing_account(loaded: &Loaded) -> Option<Diagnostic> {
    // A root that is not a mapping is already reported as a type error.
    let root = loaded.value.as_object()?;
    if root.contains_key("account") {
        return None;
    }
    let first_file = loaded.sources.files().into_iter().next();
    Some(
        Diagnostic::error(Code::Schema, "the configuration has no `account`")
            .at(first_file.map(|file| Location::new(file, 1, 1)))
            .pointer("")
            .help("declare it once, in any one file: `account: { id: ..., name: ... }`"),
    )
}

/// A JSON pointer segment for `key` (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The key a JSON pointer segment stands for (RFC 6901).
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::SourceMap;

    /// A loaded configuration without positions: enough to check messages and pointers.
    fn loaded(value: Value) -> Loaded {
        Loaded {
            value,
            sources: SourceMap::default(),
        }
    }

    /// The diagnostics of `value`, as (pointer, message, help).
    fn problems(value: Value) -> Vec<(String, String, String)> {
        let diagnostics = check(&loaded(value)).expect_err("expected schema errors");
        assert!(diagnostics.iter().all(|d| d.code == Code::Schema));
        diagnostics
            .into_iter()
            .map(|d| (d.pointer, d.message, d.help.unwrap_or_default()))
            .collect()
    }

    /// The only diagnostic of `value`, as (pointer, message, help).
    fn problem(value: Value) -> (String, String, String) {
        let mut found = problems(value);
        assert_eq!(found.len(), 1, "{found:#?}");
        found.remove(0)
    }

    fn with_account(mut sections: Value) -> Value {
        sections["account"] = json!({ "id": "acme-eu", "name": "ACME Architects" });
        sections
    }

    /// Every subschema of `schema` that describes a mapping.
    fn object_schemas(schema: &Value, found: &mut Vec<Value>) {
        match schema {
            Value::Object(node) => {
                if node.get("type") == Some(&json!("object")) {
                    found.push(schema.clone());
                }
                node.values().for_each(|child| object_schemas(child, found));
            }
            Value::Array(items) => items.iter().for_each(|child| object_schemas(child, found)),
            _ => {}
        }
    }

    #[test]
    fn the_schema_is_draft_2020_12_with_id_title_and_description() {
        let schema = schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["$id"], SCHEMA_ID);
        assert_eq!(schema["title"], "accord configuration");
        assert!(
            schema["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert!(
            jsonschema::meta::is_valid(&schema),
            "the schema must be valid against its meta-schema"
        );
        LazyLock::force(&VALIDATOR);
    }

    #[test]
    fn every_mapping_refuses_unknown_keys() {
        let mut objects = Vec::new();
        object_schemas(&schema(), &mut objects);
        // The root and the thirteen structs of the model.
        assert_eq!(objects.len(), 14);
        for object in objects {
            assert_eq!(object["additionalProperties"], json!(false), "{object:#}");
        }
    }

    #[test]
    fn enums_are_plain_enum_lists_and_nothing_is_nullable() {
        let schema = schema();
        let defs = &schema["$defs"];
        assert_eq!(
            defs["AccessLevel"]["enum"],
            json!(["account_admin", "executive", "standards_admin"])
        );
        assert_eq!(defs["ProjectAccess"]["enum"], json!(["member", "admin"]));
        assert_eq!(
            defs["ProjectProduct"]["enum"].as_array().map(Vec::len),
            Some(7)
        );
        assert_eq!(defs["DesiredStatus"]["enum"], json!(["active", "inactive"]));
        let text = schema.to_string();
        assert!(!text.contains("\"null\""), "no type allows null");
        assert!(!text.contains("\"const\""), "no oneOf of constants is left");
        assert!(!text.contains("uint32"), "integer formats became ranges");
        assert_eq!(
            defs["Product"]["properties"]["seats"],
            json!({
                "description": "Seats purchased; left out, the backend's count is kept.",
                "type": "integer",
                "minimum": 0,
                "maximum": u32::MAX,
            })
        );
    }

    #[test]
    fn schema_text_is_pretty_json_with_a_final_newline() {
        let text = schema_text();
        assert!(text.ends_with("}\n"));
        assert!(text.contains("\n  \"$defs\": {"));
        let parsed: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed, schema());
    }

    #[test]
    fn a_valid_configuration_deserialises() {
        let config = check(&loaded(with_account(json!({
            "members": [{ "email": "alice@acme.example", "access": ["account_admin"] }],
            "projects": [{ "name": "Tower A", "members": [{ "group": "structural", "access": "admin" }] }],
        }))))
        .expect("valid");
        assert_eq!(config.members[0].email, "alice@acme.example");
        assert_eq!(
            config.projects[0].members[0].group.as_deref(),
            Some("structural")
        );
    }

    #[test]
    fn an_unknown_key_lists_the_allowed_ones_and_suggests_the_nearest() {
        let (pointer, message, help) = problem(with_account(json!({
            "members": [{ "email": "alice@acme.example", "frist_name": "Alice" }],
        })));
        assert_eq!(pointer, "/members/0/frist_name");
        assert_eq!(message, "unknown key `frist_name` in a member");
        assert_eq!(
            help,
            "allowed keys: access, company, email, external_subscriptions, first_name, \
             last_name, role, status; did you mean `first_name`?"
        );
    }

    #[test]
    fn an_unknown_key_far_from_every_allowed_one_gets_no_suggestion() {
        let (_, message, help) = problem(with_account(json!({ "colour": "blue" })));
        assert_eq!(message, "unknown key `colour` at the top level");
        assert!(
            help.starts_with("allowed keys: account, agreements,"),
            "{help}"
        );
        assert!(!help.contains("did you mean"), "{help}");
    }

    #[test]
    fn a_misspelt_required_key_is_one_defect_not_two() {
        let (pointer, message, _) = problem(with_account(json!({
            "members": [{ "emial": "alice@acme.example" }],
        })));
        assert_eq!(pointer, "/members/0/emial");
        assert_eq!(message, "unknown key `emial` in a member");
    }

    #[test]
    fn a_number_where_text_belongs_says_to_quote_it() {
        let (pointer, message, help) = problem(with_account(json!({
            "agreements": [{ "number": 110_001_234_567_u64, "name": "AEC", "contract_manager": "a@acme.example" }],
        })));
        assert_eq!(pointer, "/agreements/0/number");
        assert_eq!(message, "expected text, found a number");
        assert_eq!(help, "quote it: \"110001234567\"");
    }

    #[test]
    fn text_where_a_list_belongs_shows_the_list() {
        let (pointer, message, help) = problem(with_account(json!({
            "groups": [{ "name": "structural", "members": "dana@acme.example" }],
        })));
        assert_eq!(pointer, "/groups/0/members");
        assert_eq!(message, "expected a list, found text");
        assert_eq!(help, "write a list, such as [dana@acme.example]");
    }

    #[test]
    fn an_empty_value_is_refused_with_a_way_out() {
        let (pointer, message, help) = problem(with_account(json!({ "members": null })));
        assert_eq!(pointer, "/members");
        assert_eq!(message, "expected a list, found nothing");
        assert_eq!(help, "write a value, or remove the key if it is optional");
    }

    #[test]
    fn a_bad_enum_value_lists_the_allowed_ones_and_suggests_the_nearest() {
        let (pointer, message, help) = problem(with_account(json!({
            "projects": [{ "name": "Tower A", "members": [{ "email": "a@acme.example", "access": "Admin" }] }],
        })));
        assert_eq!(pointer, "/projects/0/members/0/access");
        assert_eq!(message, "`Admin` is not a project access level");
        assert_eq!(help, "allowed values: member, admin; did you mean `admin`?");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_not_also_a_bad_enum_value() {
        let (pointer, message, _) = problem(with_account(json!({
            "members": [{ "email": "a@acme.example", "status": 1 }],
        })));
        assert_eq!(pointer, "/members/0/status");
        assert_eq!(message, "expected text, found a number");
    }

    #[test]
    fn a_missing_required_key_names_the_mapping() {
        let (pointer, message, help) = problem(with_account(json!({
            "agreements": [{ "number": "1", "name": "AEC" }],
        })));
        assert_eq!(pointer, "/agreements/0");
        assert_eq!(message, "an agreement needs `contract_manager`");
        assert_eq!(help, "add `contract_manager: ...` to it");
    }

    #[test]
    fn a_project_member_entry_has_exactly_one_of_email_and_group() {
        let found = problems(with_account(json!({
            "projects": [{ "name": "Tower A", "members": [
                { "email": "a@acme.example", "group": "structural" },
                { "access": "admin" },
                "group:structural",
            ] }],
        })));
        let found: Vec<(&str, &str)> = found
            .iter()
            .map(|(pointer, message, _)| (pointer.as_str(), message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "/projects/0/members/0",
                    "a project member entry has both `email` and `group`"
                ),
                (
                    "/projects/0/members/1",
                    "a project member entry needs `email` or `group`"
                ),
                ("/projects/0/members/2", "expected a mapping, found text"),
            ]
        );
    }

    #[test]
    fn numbers_out_of_range_and_empty_names_are_explained() {
        let found = problems(with_account(json!({
            "companies": [{ "name": "" }],
            "settings": { "max_removals": -1 },
        })));
        let messages: Vec<&str> = found.iter().map(|(_, m, _)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`name` of a company must not be empty",
                "`-1` is too small for `max_removals` of the settings",
            ]
        );
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_located() {
        let (pointer, message, help) = problem(with_account(json!({
            "agreements": [{
                "number": "1", "name": "AEC", "contract_manager": "a@acme.example",
                "products": [{ "name": "AutoCAD", "seats": 10.0 }],
            }],
        })));
        assert_eq!(pointer, "/agreements/0/products/0/seats");
        assert_eq!(message, "expected a whole number, found 10.0");
        assert_eq!(help, "write it without a fraction: 10");
    }

    #[test]
    fn a_configuration_without_account_is_refused() {
        let (pointer, message, help) = problem(json!({ "members": [] }));
        assert_eq!(pointer, "");
        assert_eq!(message, "the configuration has no `account`");
        assert!(help.contains("account: { id: ..., name: ... }"), "{help}");
    }

    #[test]
    fn the_nearest_word_is_suggested_only_when_near_enough() {
        let keys = ["email", "first_name", "software_coordinator", "status"];
        assert_eq!(nearest("frist_name", keys), Some("first_name"));
        assert_eq!(nearest("Email", keys), Some("email"));
        assert_eq!(nearest("firstname", keys), Some("first_name"));
        assert_eq!(nearest("coordinator", keys), Some("software_coordinator"));
        assert_eq!(nearest("colour", keys), None);
        assert_eq!(nearest("e", keys), None);
    }
}
