//! Rendering diagnostics for people (a snippet of the offending line with a caret,
//! via miette) and for CI tools (a JSON array).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity};

/// Renders diagnostics for a person: each with its code, message, a snippet of the
/// line at fault with a caret under the node, and the help line.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], color: bool) -> String {
    let mut sources = Sources::default();
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
        let report = Report::new(diagnostic, &mut sources);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail; fall back to the plain form anyway.
            out.push_str(&diagnostic.to_string());
        }
        out.push('\n');
    }
    out.push_str(&summary(diagnostics));
    out.push('\n');
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

/// The text of the files diagnostics point into, read once each, with line starts.
#[derive(Default)]
struct Sources {
    files: HashMap<Arc<str>, Option<Source>>,
}

struct Source {
    text: Arc<str>,
    line_starts: Vec<usize>,
}

impl Sources {
    fn get(&mut self, file: &Arc<str>) -> Option<&Source> {
        self.files
            .entry(Arc::clone(file))
            .or_insert_with(|| {
                // A file that cannot be read again (or is not UTF-8) is shown without a snippet.
                let text: Arc<str> = std::fs::read_to_string(&**file).ok()?.into();
                let line_starts = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect();
                Some(Source { text, line_starts })
            })
            .as_ref()
    }
}

impl Source {
    /// The byte span of the token starting at `line:column` (both from 1; column in characters).
    fn span(&self, line: u32, column: u32) -> Option<SourceSpan> {
        let start_of_line = *self
            .line_starts
            .get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let rest = &self.text[start_of_line..];
        let rest = rest.split('\n').next().unwrap_or("");
        let skip = usize::try_from(column.saturating_sub(1)).ok()?;
        let offset_in_line = rest.char_indices().nth(skip).map_or(rest.len(), |(i, _)| i);
        let token = token_len(&rest[offset_in_line..]);
        Some(SourceSpan::new(
            (start_of_line + offset_in_line).into(),
            token,
        ))
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
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
    severity: miette::Severity,
}

impl Report {
    fn new(diagnostic: &Diagnostic, sources: &mut Sources) -> Self {
        let kind = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let header = format!("{kind}[{}]: {}", diagnostic.code, diagnostic.message);
        let mut report = Self::located(header, diagnostic.location.as_ref(), sources);
        report.help.clone_from(&diagnostic.help);
        report.severity = match diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        for related in &diagnostic.related {
            // A place in the same file is one more label on the same snippet; a place
            // in another file gets a snippet of its own, nested under this one.
            let same_file = diagnostic
                .location
                .as_ref()
                .is_some_and(|l| l.file == related.location.file);
            let span = same_file
                .then(|| sources.get(&related.location.file))
                .flatten()
                .and_then(|s| s.span(related.location.line, related.location.column));
            match span {
                Some(span) if report.source.is_some() => report.labels.push(
                    LabeledSpan::new_with_span(Some(related.message.clone()), span),
                ),
                _ => {
                    let mut note = Self::located(
                        format!("note: {}", related.message),
                        Some(&related.location),
                        sources,
                    );
                    note.severity = miette::Severity::Advice;
                    report.related.push(note);
                }
            }
        }
        report
    }

    fn located(
        header: String,
        location: Option<&crate::diagnostic::Location>,
        sources: &mut Sources,
    ) -> Self {
        let mut report = Self {
            header,
            help: None,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
            severity: miette::Severity::Error,
        };
        let Some(location) = location else {
            return report;
        };
        match sources.get(&location.file).and_then(|s| {
            s.span(location.line, location.column)
                .map(|span| (Arc::clone(&s.text), span))
        }) {
            Some((text, span)) => {
                report.source = Some(NamedSource::new(&*location.file, text));
                report
                    .labels
                    .push(LabeledSpan::new_primary_with_span(None, span));
            }
            None => report.header.push_str(&format!("\n  at {location}")),
        }
        report
    }
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
