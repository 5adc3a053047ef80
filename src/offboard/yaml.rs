//! One YAML file as a tree of nodes with their byte ranges, and edits of its text
//! that touch only the bytes concerned.
//!
//! The loader keeps the start of every node ([`crate::config::SourceMap`]) but not
//! where it ends, and no more than that: it never needs to. Editing needs both, so
//! the files to edit (a few, found through the source map) are parsed again here
//! with saphyr-parser's spanned events. [`Tree::at`] finds a node by the
//! `line:column` the source map gives; [`Edits`] turns "remove this list item",
//! "replace this scalar", "add this key" into byte-range replacements, written the
//! way the surrounding text is written (block or flow, quoted or plain), so
//! comments, order and formatting outside them are kept.

use rustc_hash::FxHashMap;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle};

/// A node's index in its [`Tree`].
pub type NodeId = usize;

/// One node of the file.
#[derive(Debug)]
pub struct Node {
    /// The byte where it starts (a quoted scalar's opening quote, a flow
    /// collection's bracket, a block collection's first key or item).
    pub start: usize,
    /// The byte after its last character (for block collections: after the last
    /// character of their last child).
    pub end: usize,
    /// What it is.
    pub kind: Kind,
}

/// What a node is.
#[derive(Debug)]
pub enum Kind {
    /// A scalar, in its style.
    Scalar(ScalarStyle),
    /// A sequence and its items.
    Sequence {
        /// `[a, b]` rather than `- a` lines.
        flow: bool,
        items: Vec<NodeId>,
    },
    /// A mapping and its `(key, value)` pairs.
    Mapping {
        /// `{ a: 1 }` rather than `a: 1` lines.
        flow: bool,
        entries: Vec<(NodeId, NodeId)>,
    },
}

/// A parsed file.
#[derive(Debug)]
pub struct Tree<'t> {
    text: &'t str,
    nodes: Vec<Node>,
    /// The outermost node starting at each `(line, column)` (both from 1, the column
    /// in characters: as [`crate::diagnostic::Location`] counts them).
    by_position: FxHashMap<(u32, u32), NodeId>,
    /// The byte where each line starts (for files that are not ASCII).
    line_starts: Vec<usize>,
    /// Whether the text is ASCII, where saphyr's character index is the byte
    /// offset (found once: asking per event made parsing quadratic in the file).
    ascii: bool,
    /// The key naming each value of a mapping.
    key_of: FxHashMap<NodeId, NodeId>,
}

/// A collection being built.
struct Open {
    node: NodeId,
    /// A mapping's key waiting for its value.
    key: Option<NodeId>,
}

impl<'t> Tree<'t> {
    /// Parses `text`.
    ///
    /// # Errors
    /// The parser's message when the text is not YAML (the loader accepted it
    /// before, so this happens only when the file changed since).
    pub fn parse(text: &'t str) -> Result<Self, String> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut tree = Self {
            text,
            nodes: Vec::new(),
            by_position: FxHashMap::default(),
            line_starts,
            ascii: text.is_ascii(),
            key_of: FxHashMap::default(),
        };
        let mut open: Vec<Open> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|error| error.to_string())?;
            let start = tree.byte(span.start);
            let node = match event {
                Event::Scalar(_, style, _, _) => {
                    let end = tree.byte(span.end);
                    tree.push(span.start, start, end, Kind::Scalar(style))
                }
                Event::SequenceStart(..) => {
                    let flow = text[start..].starts_with('[');
                    let kind = Kind::Sequence {
                        flow,
                        items: Vec::new(),
                    };
                    let node = tree.push(span.start, start, start, kind);
                    open.push(Open { node, key: None });
                    continue;
                }
                Event::MappingStart(..) => {
                    let flow = text[start..].starts_with('{');
                    let kind = Kind::Mapping {
                        flow,
                        entries: Vec::new(),
                    };
                    let node = tree.push(span.start, start, start, kind);
                    open.push(Open { node, key: None });
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(done) = open.pop() else { continue };
                    tree.close(done.node);
                    done.node
                }
                // Aliases repeat a node written elsewhere: nothing to edit here.
                _ => continue,
            };
            if let Some(parent) = open.last_mut() {
                tree.attach(parent, node);
            }
        }
        Ok(tree)
    }

    /// The node starting at `line:column`, the outermost when several do (a block
    /// mapping and its first key).
    #[must_use]
    pub fn at(&self, line: u32, column: u32) -> Option<NodeId> {
        self.by_position.get(&(line, column)).copied()
    }

    /// The node `id`.
    #[must_use]
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The source text of node `id`.
    #[must_use]
    pub fn source(&self, id: NodeId) -> &'t str {
        let node = &self.nodes[id];
        &self.text[node.start..node.end]
    }

    /// The value under `key` of mapping `mapping`, with the key's node.
    #[must_use]
    pub fn entry(&self, mapping: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
        match &self.nodes[mapping].kind {
            Kind::Mapping { entries, .. } => entries
                .iter()
                .copied()
                .find(|&(k, _)| self.scalar_text(k) == key),
            _ => None,
        }
    }

    /// The text a scalar stands for, quotes taken off (what offboarding compares:
    /// emails and keys, which need no escapes).
    #[must_use]
    pub fn scalar_text(&self, id: NodeId) -> &'t str {
        let source = self.source(id);
        match self.nodes[id].kind {
            Kind::Scalar(ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) => {
                source.get(1..source.len().saturating_sub(1)).unwrap_or("")
            }
            _ => source,
        }
    }

    fn push(&mut self, marker: Marker, start: usize, end: usize, kind: Kind) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node { start, end, kind });
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.by_position
            .entry((clamp(marker.line()), clamp(marker.col()).saturating_add(1)))
            .or_insert(id);
        id
    }

    /// Sets the end of a finished collection: after its closing bracket when it is
    /// a flow one, after its last child otherwise.
    fn close(&mut self, id: NodeId) {
        let (flow, last) = match &self.nodes[id].kind {
            Kind::Sequence { flow, items } => (*flow, items.last().copied()),
            Kind::Mapping { flow, entries } => (*flow, entries.last().map(|&(_, v)| v)),
            Kind::Scalar(_) => return,
        };
        let after_last = last.map_or(self.nodes[id].start + 1, |child| self.nodes[child].end);
        self.nodes[id].end = if flow {
            let closing = if matches!(self.nodes[id].kind, Kind::Sequence { .. }) {
                ']'
            } else {
                '}'
            };
            self.text[after_last..]
                .find(closing)
                .map_or(after_last, |offset| after_last + offset + 1)
        } else {
            after_last
        };
    }

    fn attach(&mut self, parent: &mut Open, child: NodeId) {
        match &mut self.nodes[parent.node].kind {
            Kind::Sequence { items, .. } => items.push(child),
            Kind::Mapping { entries, .. } => match parent.key.take() {
                Some(key) => {
                    entries.push((key, child));
                    self.key_of.insert(child, key);
                }
                None => parent.key = Some(child),
            },
            Kind::Scalar(_) => {}
        }
    }

    /// The byte offset of `marker` (saphyr counts characters).
    fn byte(&self, marker: Marker) -> usize {
        if self.ascii {
            return marker.index();
        }
        let line_start = self
            .line_starts
            .get(marker.line().saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        self.text[line_start..]
            .char_indices()
            .nth(marker.col())
            .map_or(self.text.len(), |(offset, _)| line_start + offset)
    }

    /// The byte where the line holding byte `at` starts.
    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The byte after the line holding byte `at` (after its newline).
    fn line_end(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i + 1)
    }

    /// The indentation of a block collection's children: the column its first
    /// child starts at, as spaces.
    fn indent_of(&self, id: NodeId) -> String {
        let start = self.nodes[id].start;
        let column = self.text[self.line_start(start)..start].chars().count();
        " ".repeat(column)
    }
}

/// Replacements of byte ranges of one file's text, applied together.
#[derive(Debug, Default)]
pub struct Edits {
    /// `(start, end, replacement)`.
    replacements: Vec<(usize, usize, String)>,
}

impl Edits {
    /// Whether there is nothing to change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.replacements.is_empty()
    }

    /// Replaces scalar `id` by `value`, keeping its quotes (`value` needs none:
    /// an email or a keyword).
    pub fn replace_scalar(&mut self, tree: &Tree<'_>, id: NodeId, value: &str) {
        let node = tree.node(id);
        let (start, end) = match node.kind {
            Kind::Scalar(ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) => {
                (node.start + 1, node.end - 1)
            }
            _ => (node.start, node.end),
        };
        self.replacements.push((start, end, value.to_owned()));
    }

    /// Removes the items at `removed` (indices, ascending) from sequence `list`;
    /// a list left empty becomes `[]`.
    ///
    /// # Errors
    /// When `list` is not a sequence, or a block item does not start its line.
    pub fn remove_items(
        &mut self,
        tree: &Tree<'_>,
        list: NodeId,
        removed: &[usize],
    ) -> Result<(), String> {
        let (flow, items) = match &tree.node(list).kind {
            Kind::Sequence { flow, items } => (*flow, items),
            _ => return Err("not a list".to_owned()),
        };
        if removed.is_empty() {
            return Ok(());
        }
        if removed.len() == items.len() {
            return self.empty(tree, list, flow, items);
        }
        if flow {
            for run in runs(removed) {
                let (first, last) = (run[0], run[run.len() - 1]);
                let range = if let Some(&next) = items.get(last + 1) {
                    // `a, ` of `[a, b]`: up to the next item.
                    (tree.node(items[first]).start, tree.node(next).start)
                } else {
                    // `, b` of `[a, b]`: from the end of the item before.
                    (tree.node(items[first - 1]).end, tree.node(items[last]).end)
                };
                self.replacements.push((range.0, range.1, String::new()));
            }
            return Ok(());
        }
        for &index in removed {
            let (start, end) = block_item_lines(tree, items[index])?;
            self.replacements.push((start, end, String::new()));
        }
        Ok(())
    }

    /// Makes list `list` empty: `[]` in place of a flow list's items, or `key: []`
    /// for a block list, whose item lines go.
    fn empty(
        &mut self,
        tree: &Tree<'_>,
        list: NodeId,
        flow: bool,
        items: &[NodeId],
    ) -> Result<(), String> {
        let node = tree.node(list);
        if flow {
            self.replacements
                .push((node.start, node.end, "[]".to_owned()));
            return Ok(());
        }
        let (_, last) = block_item_lines(tree, items[items.len() - 1])?;
        let key = tree
            .key_of
            .get(&list)
            .ok_or("a block list that is not the value of a key")?;
        let after_key = tree.node(*key).end;
        let colon = tree.text[after_key..]
            .find(':')
            .map(|offset| after_key + offset)
            .ok_or("a key without its colon")?;
        let key_line_end = tree.line_end(colon);
        // Anything after the colon on the key's line (a comment) stays.
        self.replacements
            .push((colon + 1, colon + 1, " []".to_owned()));
        self.replacements.push((key_line_end, last, String::new()));
        Ok(())
    }

    /// Removes item `index` of sequence `list` (a member's whole entry).
    ///
    /// # Errors
    /// As [`Self::remove_items`].
    pub fn remove_item(
        &mut self,
        tree: &Tree<'_>,
        list: NodeId,
        index: usize,
    ) -> Result<(), String> {
        self.remove_items(tree, list, &[index])
    }

    /// Adds `key: value` at the end of mapping `mapping` (block: a line of its
    /// own, at the mapping's indentation; flow: `, key: value` before `}`).
    pub fn add_entry(&mut self, tree: &Tree<'_>, mapping: NodeId, key: &str, value: &str) {
        let node = tree.node(mapping);
        let flow = matches!(node.kind, Kind::Mapping { flow: true, .. });
        let last_value = match &node.kind {
            Kind::Mapping { entries, .. } => entries.last().map(|&(_, v)| v),
            _ => None,
        };
        match (flow, last_value) {
            (true, Some(last)) => {
                let at = tree.node(last).end;
                self.replacements
                    .push((at, at, format!(", {key}: {value}")));
            }
            (true, None) => {
                self.replacements
                    .push((node.start, node.end, format!("{{ {key}: {value} }}")));
            }
            (false, _) => {
                // After the line of the mapping's last character (and its comment).
                let at = tree.line_end(node.end.saturating_sub(1).max(node.start));
                let newline = if tree.text[..at].ends_with('\n') {
                    ""
                } else {
                    "\n"
                };
                let indent = tree.indent_of(mapping);
                self.replacements
                    .push((at, at, format!("{newline}{indent}{key}: {value}\n")));
            }
        }
    }

    /// Appends scalar `value` to sequence `list`.
    pub fn append_item(&mut self, tree: &Tree<'_>, list: NodeId, value: &str) {
        let node = tree.node(list);
        match &node.kind {
            Kind::Sequence {
                flow: true, items, ..
            } => match items.last() {
                Some(&last) => {
                    let at = tree.node(last).end;
                    self.replacements.push((at, at, format!(", {value}")));
                }
                None => self
                    .replacements
                    .push((node.start, node.end, format!("[{value}]"))),
            },
            Kind::Sequence { items, .. } => {
                let Some(&first) = items.first() else { return };
                let dash = dash_before(tree, tree.node(first).start).unwrap_or(node.start);
                let indent = " ".repeat(tree.text[tree.line_start(dash)..dash].chars().count());
                let at = tree.line_end(node.end.saturating_sub(1).max(node.start));
                let newline = if tree.text[..at].ends_with('\n') {
                    ""
                } else {
                    "\n"
                };
                self.replacements
                    .push((at, at, format!("{newline}{indent}- {value}\n")));
            }
            _ => {}
        }
    }

    /// The text with every edit applied.
    ///
    /// # Errors
    /// When two edits overlap (a bug: each node is edited once).
    pub fn apply(mut self, text: &str) -> Result<String, String> {
        self.replacements
            .sort_by_key(|&(start, end, _)| (start, end));
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        for (start, end, replacement) in &self.replacements {
            if *start < done {
                return Err(format!("overlapping edits at byte {start}"));
            }
            out.push_str(&text[done..*start]);
            out.push_str(replacement);
            done = *end;
        }
        out.push_str(&text[done..]);
        Ok(out)
    }
}

/// Consecutive indices of `sorted` grouped in runs.
fn runs(sorted: &[usize]) -> Vec<&[usize]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] != sorted[i - 1] + 1 {
            runs.push(&sorted[start..i]);
            start = i;
        }
    }
    runs
}

/// The byte of the `-` introducing the block item starting at `item`.
fn dash_before(tree: &Tree<'_>, item: usize) -> Option<usize> {
    let before = tree.text[..item].trim_end_matches([' ', '\t']);
    before.ends_with('-').then(|| before.len() - 1)
}

/// The lines of block item `item`: from the start of its `- ` line to the end of
/// the line of its last character (its comment included).
fn block_item_lines(tree: &Tree<'_>, item: NodeId) -> Result<(usize, usize), String> {
    let node = tree.node(item);
    let dash = dash_before(tree, node.start).ok_or("a list item without its `-`")?;
    let line_start = tree.line_start(dash);
    if !tree.text[line_start..dash].trim().is_empty() {
        return Err("a list item that does not start its line".to_owned());
    }
    let end = tree.line_end(node.end.saturating_sub(1).max(node.start));
    Ok((line_start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the items of `key` at `removed` from the top-level mapping's value.
    fn remove(text: &str, key: &str, removed: &[usize]) -> String {
        let tree = Tree::parse(text).expect("yaml");
        let (_, list) = tree.entry(0, key).expect("key");
        let mut edits = Edits::default();
        edits.remove_items(&tree, list, removed).expect("edit");
        edits.apply(text).expect("apply")
    }

    #[test]
    fn block_items_go_with_their_line_and_comment() {
        let text = "a:\n  - x   # first\n  - y\n  - z\nb: 1\n";
        assert_eq!(remove(text, "a", &[0]), "a:\n  - y\n  - z\nb: 1\n");
        assert_eq!(
            remove(text, "a", &[2]),
            "a:\n  - x   # first\n  - y\nb: 1\n"
        );
        assert_eq!(remove(text, "a", &[0, 1, 2]), "a: []\nb: 1\n");
    }

    #[test]
    fn an_emptied_block_list_keeps_the_comment_of_its_key() {
        let text = "a:   # why\n  # about x\n  - x\nb: 1";
        assert_eq!(remove(text, "a", &[0]), "a: []   # why\nb: 1");
        let last = "a:\n  - x\n  - y";
        assert_eq!(remove(last, "a", &[1]), "a:\n  - x\n");
    }

    #[test]
    fn flow_items_go_with_their_comma() {
        let text = "a: [x, 'y', z]  # c\n";
        assert_eq!(remove(text, "a", &[0]), "a: ['y', z]  # c\n");
        assert_eq!(remove(text, "a", &[1]), "a: [x, z]  # c\n");
        assert_eq!(remove(text, "a", &[2]), "a: [x, 'y']  # c\n");
        assert_eq!(remove(text, "a", &[1, 2]), "a: [x]  # c\n");
        assert_eq!(remove(text, "a", &[0, 1, 2]), "a: []  # c\n");
    }

    #[test]
    fn block_mapping_items_go_whole() {
        let text = "m:\n  - email: a\n    role: R  # r\n\n  # next\n  - email: b\n";
        assert_eq!(remove(text, "m", &[0]), "m:\n\n  # next\n  - email: b\n");
    }

    #[test]
    fn scalars_keep_their_quotes_and_entries_their_style() {
        let text = "a: \"x\"\nm:\n  - { email: b, role: R }\n  - email: c\n    role: R # c\n";
        let tree = Tree::parse(text).expect("yaml");
        let (_, a) = tree.entry(0, "a").expect("a");
        let (_, m) = tree.entry(0, "m").expect("m");
        let Kind::Sequence { items, .. } = &tree.node(m).kind else {
            panic!("list")
        };
        let mut edits = Edits::default();
        edits.replace_scalar(&tree, a, "y");
        edits.add_entry(&tree, items[0], "status", "inactive");
        edits.add_entry(&tree, items[1], "status", "inactive");
        assert_eq!(
            edits.apply(text).expect("apply"),
            "a: \"y\"\nm:\n  - { email: b, role: R, status: inactive }\n  - email: c\n    role: R # c\n    status: inactive\n"
        );
    }

    #[test]
    fn positions_count_characters() {
        let text = "a: é\nb: [x]\n";
        let tree = Tree::parse(text).expect("yaml");
        let id = tree.at(2, 5).expect("x at 2:5");
        assert_eq!(tree.source(id), "x");
        let mut edits = Edits::default();
        let (_, b) = tree.entry(0, "b").expect("b");
        edits.append_item(&tree, b, "y");
        assert_eq!(edits.apply(text).expect("apply"), "a: é\nb: [x, y]\n");
    }
}
