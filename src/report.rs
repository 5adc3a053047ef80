//! Rendering diagnostics for people (a snippet of the offending line with a caret,
//! via miette) and for CI tools (a JSON array).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

mod snippet;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};
use serde::Serialize;

use self::snippet::{FileLines, Needs, Plan, Snippet, Target};
use crate::diagnostic::{Diagnostic, Severity};

/// Renders diagnostics for a person: each with its code, message, a snippet of the
/// line at fault with a caret under the node, and the help line.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], color: bool) -> String {
    let sources = Sources::read(diagnostics);
    // Each diagnostic renders on its own: many are shared out among the cores
    // (100,000 errors, issue 14), a few are not worth a thread.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut out = if cores < 2 || diagnostics.len() < PARALLEL_FROM {
        render(diagnostics, &sources, color)
    } else {
        let chunk = diagnostics.len().div_ceil(cores);
        std::thread::scope(|scope| {
            let parts: Vec<_> = diagnostics
                .chunks(chunk)
                .map(|part| scope.spawn(|| render(part, &sources, color)))
                .collect();
            parts
                .into_iter()
                .map(|part| {
                    part.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    out.push_str(&summary(diagnostics));
    out.push('\n');
    out
}

/// Diagnostics from which [`human`] renders on several threads.
const PARALLEL_FROM: usize = 512;

/// `diagnostics` rendered one after the other, each followed by a blank line.
fn render(diagnostics: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(110)
        .with_show_related_as_nested(true);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = Report::new(diagnostic, sources);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail; fall back to the plain form anyway.
            out.push_str(&diagnostic.to_string());
        }
        out.push('\n');
    }
    out
}

/// `2 errors, 1 warning` style closing line.
#[must_use]
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if warnings == 0 {
        format!("{} found", plural(errors, "error"))
    } else {
        format!(
            "{} and {} found",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// The version of the diagnostics' JSON shape (`schemas/validate.schema.json`).
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

/// One diagnostic as CI tools read it.
#[derive(Debug, Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    pointer: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonRelated<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

/// Renders diagnostics as a JSON array of
/// `{code, severity, file, line, column, pointer, message, help, related}`.
#[must_use]
pub fn json(diagnostics: &[Diagnostic]) -> String {
    let items: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity,
            file: d.location.as_ref().map(|l| &*l.file),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            pointer: &d.pointer,
            message: &d.message,
            help: d.help.as_deref(),
            related: d
                .related
                .iter()
                .map(|r| JsonRelated {
                    file: &r.location.file,
                    line: r.location.line,
                    column: r.location.column,
                    message: &r.message,
                })
                .collect(),
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let document = serde_json::json!({
        "version": DIAGNOSTICS_FORMAT_VERSION,
        "valid": errors == 0,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
        "diagnostics": items,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("diagnostics serialise");
    text.push('\n');
    text
}

/// What the report shows of each file diagnostics point into: planned for all
/// diagnostics first, then each file read once ([`snippet::read`]).
struct Sources {
    files: HashMap<Arc<str>, Option<FileLines>>,
}

impl Sources {
    fn read(diagnostics: &[Diagnostic]) -> Self {
        let mut needs: HashMap<Arc<str>, Needs> = HashMap::new();
        for diagnostic in diagnostics {
            for (file, plan, targets) in Snippets::of(diagnostic).all() {
                needs
                    .entry(Arc::clone(file))
                    .or_default()
                    .add(&plan, &targets);
            }
        }
        let files = needs
            .into_iter()
            .map(|(file, needs)| {
                let lines = snippet::read(&file, needs);
                (file, lines)
            })
            .collect();
        Self { files }
    }

    fn get(&self, file: &Arc<str>) -> Option<&FileLines> {
        self.files.get(file).and_then(Option::as_ref)
    }
}

/// The snippets of one diagnostic: the primary place with the related places
/// in the same file, and a snippet of its own for each other related place.
struct Snippets<'d> {
    diagnostic: &'d Diagnostic,
    /// The primary snippet's plan, its targets, and for each target after the
    /// first the index of its related place.
    main: Option<(Plan, Vec<Target>, Vec<usize>)>,
}

fn target(location: &crate::diagnostic::Location) -> Target {
    Target {
        line: location.line,
        column: location.column,
    }
}

impl<'d> Snippets<'d> {
    fn of(diagnostic: &'d Diagnostic) -> Self {
        let main = diagnostic.location.as_ref().map(|location| {
            let mut targets = vec![target(location)];
            let mut related = Vec::new();
            for (index, r) in diagnostic.related.iter().enumerate() {
                if r.location.file == location.file {
                    targets.push(target(&r.location));
                    related.push(index);
                }
            }
            (Plan::new(&targets), targets, related)
        });
        Self { diagnostic, main }
    }

    /// Every snippet that may be drawn: (file, plan, targets).
    fn all(self) -> Vec<(&'d Arc<str>, Plan, Vec<Target>)> {
        let mut all = Vec::new();
        for related in &self.diagnostic.related {
            // Planned on its own too: it gets a snippet of its own when it does
            // not fit the primary one.
            let targets = vec![target(&related.location)];
            all.push((&related.location.file, Plan::new(&targets), targets));
        }
        if let (Some(location), Some((plan, targets, _))) =
            (self.diagnostic.location.as_ref(), self.main)
        {
            all.push((&location.file, plan, targets));
        }
        all
    }
}

/// The length of the YAML token at the start of `text`: a quoted string, or a plain
/// scalar up to the next separator. At least 1 so a caret always shows.
fn token_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    let len = match chars.next() {
        Some((_, quote @ ('"' | '\''))) => chars
            .find(|&(_, c)| c == quote)
            .map_or(text.len(), |(i, c)| i + c.len_utf8()),
        Some(_) => text
            .char_indices()
            .find(|&(i, c)| {
                matches!(c, ',' | ']' | '}' | '#')
                    || (c == ':' && text[i + 1..].starts_with([' ', '\t']))
                    || (c == ':' && i + 1 == text.len())
            })
            .map_or(text.trim_end().len(), |(i, _)| text[..i].trim_end().len()),
        None => 0,
    };
    len.max(1)
}

/// A diagnostic dressed for miette.
struct Report {
    header: String,
    help: Option<String>,
    source: Option<Snippet>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
    severity: miette::Severity,
}

impl Report {
    fn new(diagnostic: &Diagnostic, sources: &Sources) -> Self {
        let kind = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let header = format!("{kind}[{}]: {}", diagnostic.code, diagnostic.message);
        let mut report = Self::bare(header);
        report.help = diagnostic.help.as_deref().map(displayable_text);
        report.severity = match diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        // The related places in the same file are more labels on the primary
        // snippet (when they fit it); the others get a snippet of their own,
        // nested under this one.
        let mut labelled = vec![false; diagnostic.related.len()];
        let snippets = Snippets::of(diagnostic);
        if let (Some(location), Some((plan, targets, related))) =
            (diagnostic.location.as_ref(), snippets.main.as_ref())
        {
            let built = sources
                .get(&location.file)
                .and_then(|file| Snippet::build(&location.file, file, plan, targets));
            match built {
                Some((snippet, spans)) => {
                    if let Some(span) = spans[0] {
                        report
                            .labels
                            .push(LabeledSpan::new_primary_with_span(None, span));
                    }
                    for (&index, span) in related.iter().zip(&spans[1..]) {
                        if let Some(span) = *span {
                            report.labels.push(LabeledSpan::new_with_span(
                                Some(displayable_text(&diagnostic.related[index].message)),
                                span,
                            ));
                            labelled[index] = true;
                        }
                    }
                    report.source = Some(snippet);
                }
                None => report.header.push_str(&format!("\n  at {location}")),
            }
        }
        for (related, _) in diagnostic.related.iter().zip(labelled).filter(|(_, l)| !l) {
            let mut note = Self::located(
                format!("note: {}", related.message),
                &related.location,
                sources,
            );
            note.severity = miette::Severity::Advice;
            report.related.push(note);
        }
        report.header = displayable_text(&report.header);
        report
    }

    fn bare(header: String) -> Self {
        Self {
            header,
            help: None,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
            severity: miette::Severity::Error,
        }
    }

    /// A note with a snippet of `location` alone.
    fn located(header: String, location: &crate::diagnostic::Location, sources: &Sources) -> Self {
        let mut report = Self::bare(displayable_text(&header));
        let targets = [target(location)];
        let plan = Plan::new(&targets);
        match sources
            .get(&location.file)
            .and_then(|file| Snippet::build(&location.file, file, &plan, &targets))
        {
            Some((snippet, spans)) => {
                if let Some(span) = spans[0] {
                    report
                        .labels
                        .push(LabeledSpan::new_primary_with_span(None, span));
                }
                report.source = Some(snippet);
            }
            None => report.header.push_str(&format!("\n  at {location}")),
        }
        report
    }
}

/// `text` with control characters (other than newlines and tabs) replaced, so a
/// value quoted in a message cannot move the cursor of the terminal.
fn displayable_text(text: &str) -> String {
    crate::text::shown(text).into_owned()
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}
