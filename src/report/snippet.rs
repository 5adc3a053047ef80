//! The lines diagnostics point at: planned from the diagnostics' locations, read
//! in one pass over each file, shortened around the error, and handed to miette
//! as a small [`SourceCode`] of their own.
//!
//! Why not the whole file: miette finds a span's line by scanning its source from
//! the start, so N diagnostics in a file of N lines cost N^2 (issue 14: 100,000
//! errors did not finish in 120 s); and a file refused as too large must not be
//! read whole to draw the snippet of its first line. Here each file is read once,
//! only up to a few kilobytes past its last needed line, keeping only the
//! characters that will be shown; each diagnostic gets a snippet of a few short
//! lines, so rendering it costs the same whatever the size of its file.
//!
//! A long line is shown as a window of [`WIDTH`] characters around the column at
//! fault, with `…` where it was cut (a column past 65,535 panicked in the
//! renderer). Control characters are shown as `�`, so a file cannot move the
//! cursor of the terminal reading the report.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use rustc_hash::FxHashMap;

/// Characters of a line shown; a longer line is cut around the column at fault.
pub(super) const WIDTH: usize = 100;

/// Characters shown left of the column at fault in a line that is cut.
const LEFT: usize = 40;

/// Lines kept on each side of a place (miette shows one; two more let it join
/// the snippets of places a few lines apart, as it does with the whole file).
const CONTEXT: u32 = 2;

/// Bytes read past the last place needed in a file, for the lines after it.
const TAIL_BUDGET: usize = 4096;

/// A place a snippet shows: line and column from 1 (column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Target {
    pub line: u32,
    pub column: u32,
}

/// Lines `first..=last` shown from character `start` on.
#[derive(Debug, Clone, Copy)]
struct Group {
    first: u32,
    last: u32,
    start: usize,
}

/// Which lines one snippet shows, and in which of them each target is.
#[derive(Debug)]
pub(super) struct Plan {
    groups: Vec<Group>,
    /// For each target, its group; `None` when it does not fit the window of
    /// the group its line falls in (it gets a snippet of its own).
    pub placed: Vec<Option<usize>>,
}

/// The first character shown of a line with a place at `column`.
fn window_start(column: u32) -> usize {
    let column = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    if column + 10 < WIDTH {
        0
    } else {
        column - LEFT
    }
}

impl Plan {
    /// Plans one snippet of `targets`, the first being the primary place.
    pub(super) fn new(targets: &[Target]) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut placed = Vec::with_capacity(targets.len());
        for target in targets {
            let first = target.line.saturating_sub(CONTEXT).max(1);
            let last = target.line.saturating_add(CONTEXT);
            let column = usize::try_from(target.column.saturating_sub(1)).unwrap_or(usize::MAX);
            let near = groups.iter().position(|g| {
                g.first <= last.saturating_add(1) && first <= g.last.saturating_add(1)
            });
            match near {
                Some(index) => {
                    let group = &mut groups[index];
                    if (group.start..group.start + WIDTH).contains(&column) {
                        group.first = group.first.min(first);
                        group.last = group.last.max(last);
                        placed.push(Some(index));
                    } else {
                        placed.push(None);
                    }
                }
                None => {
                    groups.push(Group {
                        first,
                        last,
                        start: window_start(target.column),
                    });
                    placed.push(Some(groups.len() - 1));
                }
            }
        }
        Self { groups, placed }
    }
}

/// The characters to keep of each line of one file.
#[derive(Debug, Default)]
pub(super) struct Needs {
    /// Line -> character ranges (sorted, disjoint once [`Needs::merge`]d).
    lines: BTreeMap<u32, Vec<(usize, usize)>>,
    /// The last line with a place, and the end of its window.
    last_target: (u32, usize),
}

impl Needs {
    /// Adds what `plan` of `targets` shows.
    pub(super) fn add(&mut self, plan: &Plan, targets: &[Target]) {
        for group in &plan.groups {
            for line in group.first..=group.last {
                self.lines
                    .entry(line)
                    .or_default()
                    .push((group.start, group.start + WIDTH));
            }
        }
        for (target, group) in targets.iter().zip(&plan.placed) {
            if let Some(group) = group {
                let end = plan.groups[*group].start + WIDTH;
                self.last_target = self.last_target.max((target.line, end));
            }
        }
    }

    fn merge(&mut self) {
        for ranges in self.lines.values_mut() {
            ranges.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
            for &(start, end) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            *ranges = merged;
        }
    }
}

/// What was read of one line.
#[derive(Debug)]
struct Line {
    /// Characters counted (the whole line unless `more`).
    chars: usize,
    /// Reading stopped inside the line: it goes on past `chars`.
    more: bool,
    /// The kept character ranges: (first character, text).
    kept: Vec<(usize, String)>,
}

impl Line {
    /// The line as shown from character `start`: cut to [`WIDTH`] characters with
    /// `…` where it was cut, control characters replaced. Returns the text and
    /// the number of characters put before character `start` (the `…`).
    fn shown(&self, start: usize) -> (String, usize) {
        let mut text = String::new();
        let prefix = usize::from(start > 0 && self.chars > 0);
        if prefix == 1 {
            text.push('…');
        }
        let end = (start + WIDTH).min(self.chars);
        if start < end {
            if let Some((from, kept)) = self
                .kept
                .iter()
                .find(|(from, kept)| *from <= start && start < from + kept.chars().count())
            {
                text.extend(
                    kept.chars()
                        .skip(start - from)
                        .take(end - start)
                        .map(displayable),
                );
            }
        }
        if self.more || self.chars > start + WIDTH {
            text.push('…');
        }
        (text, prefix)
    }
}

/// `c`, or `�` for a control character (other than a tab) or a bidirectional
/// override, which could rewrite what the terminal shows.
pub(super) fn displayable(c: char) -> char {
    if crate::text::hostile(c) && c != '\t' {
        crate::text::REPLACEMENT
    } else {
        c
    }
}

/// What was read of one file.
#[derive(Debug, Default)]
pub(super) struct FileLines {
    lines: FxHashMap<u32, Line>,
}

/// A line being read.
struct Reading<'n> {
    ranges: &'n [(usize, usize)],
    kept: Vec<Vec<u8>>,
    chars: usize,
    /// The range of the character being read.
    range: Option<usize>,
    last_byte: u8,
    /// A byte of the line was read (a file's end right after a newline has no
    /// line after it).
    any: bool,
}

impl<'n> Reading<'n> {
    fn new(ranges: &'n [(usize, usize)]) -> Self {
        Self {
            ranges,
            kept: vec![Vec::new(); ranges.len()],
            chars: 0,
            range: None,
            last_byte: 0,
            any: false,
        }
    }

    fn byte(&mut self, byte: u8) {
        if byte & 0xC0 != 0x80 {
            let index = self.chars;
            self.chars += 1;
            self.range = self
                .ranges
                .iter()
                .position(|&(start, end)| start <= index && index < end);
        }
        if let Some(range) = self.range {
            self.kept[range].push(byte);
        }
        self.last_byte = byte;
        self.any = true;
    }

    fn finish(mut self, more: bool) -> Line {
        if !more && self.last_byte == b'\r' {
            // A CRLF line ending is not part of the line.
            self.chars -= 1;
            if let Some(range) = self.range {
                self.kept[range].pop();
            }
        }
        Line {
            chars: self.chars,
            more,
            kept: self
                .ranges
                .iter()
                .zip(self.kept)
                .map(|(&(start, _), bytes)| (start, String::from_utf8_lossy(&bytes).into_owned()))
                .collect(),
        }
    }
}

/// Reads what `needs` asks of the file at `path`, in one pass that stops a few
/// kilobytes past the last place. `None` when the file cannot be opened.
pub(super) fn read(path: &str, mut needs: Needs) -> Option<FileLines> {
    needs.merge();
    let file = File::open(path).ok()?;
    let mut reader = BufReader::with_capacity(8 * 1024, file);
    let mut lines = FxHashMap::default();
    let Some(&max_line) = needs.lines.keys().next_back() else {
        return Some(FileLines { lines });
    };
    let (last_line, last_end) = needs.last_target;
    let mut line: u32 = 1;
    let mut reading = needs.lines.get(&1).map(|r| Reading::new(r));
    let mut tail = 0usize;
    let mut stopped = false;
    'file: while let Ok(buffer) = reader.fill_buf() {
        if buffer.is_empty() {
            break;
        }
        let mut used = 0;
        while used < buffer.len() {
            if line > max_line || tail > TAIL_BUDGET {
                stopped = true;
                break 'file;
            }
            let rest = &buffer[used..];
            if let Some(current) = reading.as_mut() {
                for &byte in rest {
                    used += 1;
                    if byte == b'\n' {
                        break;
                    }
                    current.byte(byte);
                    if line > last_line || (line == last_line && current.chars > last_end) {
                        tail += 1;
                    }
                }
                if buffer[used - 1] != b'\n' {
                    continue;
                }
                if let Some(done) = reading.take() {
                    lines.insert(line, done.finish(false));
                }
            } else {
                let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                    if line > last_line {
                        tail += rest.len();
                    }
                    used = buffer.len();
                    continue;
                };
                if line > last_line {
                    tail += newline + 1;
                }
                used += newline + 1;
            }
            line += 1;
            reading = needs.lines.get(&line).map(|r| Reading::new(r));
        }
        reader.consume(used);
    }
    if let Some(current) = reading.filter(|r| r.any) {
        lines.insert(line, current.finish(stopped));
    }
    Some(FileLines { lines })
}

/// One line of a snippet's text.
#[derive(Debug)]
struct Shown {
    /// Its first byte in the snippet's text.
    offset: usize,
    /// Its line number in the file, from 0.
    number: usize,
    /// The first character of the file's line shown, and the characters put
    /// before it (`…`).
    start: usize,
    prefix: usize,
}

/// A few lines of one file, shortened, as miette reads them.
#[derive(Debug)]
pub(super) struct Snippet {
    name: String,
    text: String,
    lines: Vec<Shown>,
    /// The byte range of each group's lines in `text`.
    groups: Vec<(usize, usize)>,
}

impl Snippet {
    /// The snippet `plan` of `targets` in `file`, and the span of each target
    /// (`None` for one not placed, or whose line the file does not have). `None`
    /// when the primary target's line is not there.
    pub(super) fn build(
        name: &Arc<str>,
        file: &FileLines,
        plan: &Plan,
        targets: &[Target],
    ) -> Option<(Self, Vec<Option<SourceSpan>>)> {
        let mut snippet = Self {
            name: name.to_string(),
            text: String::new(),
            lines: Vec::new(),
            groups: Vec::new(),
        };
        let mut order: Vec<usize> = (0..plan.groups.len()).collect();
        order.sort_by_key(|&g| plan.groups[g].first);
        let mut group_ranges = vec![(0, 0); plan.groups.len()];
        for g in order {
            let group = plan.groups[g];
            let begin = snippet.text.len();
            for number in group.first..=group.last {
                let Some(line) = file.lines.get(&number) else {
                    continue;
                };
                let (text, prefix) = line.shown(group.start);
                snippet.lines.push(Shown {
                    offset: snippet.text.len(),
                    number: usize::try_from(number - 1).unwrap_or(usize::MAX),
                    start: group.start,
                    prefix,
                });
                snippet.text.push_str(&text);
                snippet.text.push('\n');
            }
            group_ranges[g] = (begin, snippet.text.len());
        }
        snippet.groups = group_ranges.clone();
        snippet.groups.sort_unstable();
        let spans: Vec<Option<SourceSpan>> = targets
            .iter()
            .zip(&plan.placed)
            .map(|(target, group)| {
                let group = plan.groups[(*group)?];
                snippet.span(target, group.start)
            })
            .collect();
        spans.first().copied().flatten()?;
        Some((snippet, spans))
    }

    /// The span of the token at `target`, in a line shown from character `start`.
    fn span(&self, target: &Target, start: usize) -> Option<SourceSpan> {
        let number = usize::try_from(target.line.checked_sub(1)?).ok()?;
        let index = self
            .lines
            .iter()
            .position(|l| l.number == number && l.start == start)?;
        let line = &self.lines[index];
        let end = self
            .lines
            .get(index + 1)
            .map_or(self.text.len(), |next| next.offset)
            - 1;
        let text = &self.text[line.offset..end];
        let column = usize::try_from(target.column.saturating_sub(1)).ok()?;
        let skip = (column + line.prefix).saturating_sub(start);
        let in_line = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
        let token = super::token_len(&text[in_line..]);
        Some(SourceSpan::new((line.offset + in_line).into(), token))
    }

    /// The line of the text holding byte `offset`.
    fn line_at(&self, offset: usize) -> Option<&Shown> {
        let index = self.lines.partition_point(|l| l.offset <= offset);
        self.lines.get(index.checked_sub(1)?)
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // miette reads within one group of lines: the groups are not adjacent in
        // the file, so a span across two is not something to show.
        let &(begin, end) = self
            .groups
            .iter()
            .find(|&&(begin, end)| begin <= span.offset() && span.offset() + span.len() <= end)
            .ok_or(MietteError::OutOfBounds)?;
        let group = &self.text[begin..end];
        let inner = group.read_span(
            &SourceSpan::new((span.offset() - begin).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let data_start = begin + inner.span().offset();
        let first = self.line_at(data_start).ok_or(MietteError::OutOfBounds)?;
        let column = if context_lines_before == 0 && context_lines_after == 0 {
            // The primary span's own read: its column is the file's.
            let at = self
                .line_at(span.offset())
                .ok_or(MietteError::OutOfBounds)?;
            let shown = self.text[at.offset..span.offset()].chars().count();
            (shown + at.start).saturating_sub(at.prefix)
        } else {
            inner.column()
        };
        // miette's own reading counts lines from the start of the text, and joins
        // two places' snippets when the first's count reaches the second's line:
        // counted from the file's start here too, places of one group are shown
        // joined as with the whole file (a join across groups fails, and they are
        // shown apart).
        let group_start = self.line_at(begin).map_or(0, |l| l.number);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(data_start.into(), inner.span().len()),
            first.number,
            column,
            group_start + inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            chars: text.chars().count(),
            more: false,
            kept: vec![(0, text.to_owned())],
        }
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        assert_eq!(line("a: 1").shown(0), ("a: 1".to_owned(), 0));
    }

    #[test]
    fn a_long_line_is_cut_around_the_window_with_marks() {
        let text = "x".repeat(300);
        let (shown, prefix) = line(&text).shown(100);
        assert_eq!(prefix, 1);
        assert_eq!(shown.chars().count(), WIDTH + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(
            line("a\u{1b}[2Jb\rc\td").shown(0).0,
            "a\u{FFFD}[2Jb\u{FFFD}c\td"
        );
    }

    #[test]
    fn places_a_few_lines_apart_share_a_group_and_far_ones_do_not() {
        let near = Plan::new(&[
            Target {
                line: 20,
                column: 3,
            },
            Target {
                line: 24,
                column: 5,
            },
        ]);
        assert_eq!(near.groups.len(), 1);
        let far = Plan::new(&[
            Target {
                line: 20,
                column: 3,
            },
            Target {
                line: 90,
                column: 5,
            },
        ]);
        assert_eq!(far.groups.len(), 2);
        let apart = Plan::new(&[
            Target {
                line: 1,
                column: 70_000,
            },
            Target { line: 1, column: 3 },
        ]);
        assert_eq!(apart.placed, vec![Some(0), None]);
    }
}
