//! One YAML file to a JSON value and the positions of its nodes.
//!
//! The value is built straight from saphyr-parser's spanned events, never from
//! saphyr's own node tree: that tree would cost as much memory again as the
//! value and about as much time as the parse (see `shared/PERFORMANCE.md`).
//! While building, each node's position is recorded under the hash of its
//! file-local JSON pointer ([`crate::config::source_map`]).
//!
//! This is also where YAML-level problems are found: syntax errors, tab
//! indentation, duplicate and non-string keys, unsupported tags, several
//! documents in one file, a top level that is not a mapping, and alias bombs.
//! Anchors and aliases are supported by cloning the anchored value, within an
//! expansion budget; the `<<` merge key is supported as YAML 1.1 defines it.
//!
//! Given an [`ItemSink`], the builder streams: each item of a top-level list
//! section (a member, a project...) goes to the sink as soon as it is complete
//! instead of into the tree, so the whole configuration never exists as one
//! value. Positions and YAML checks are the same either way. Events come from
//! saphyr-parser on the same thread ([`parse`]) or from a parser thread
//! ([`parse_pipelined`]), which lets one large file use two cores.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::mpsc;

use rustc_hash::FxHashMap;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Tag};
use serde_json::map::Entry as MapEntry;
use serde_json::{Map, Value};

use super::LIST_SECTIONS;
use super::scalar::{Resolved, resolve_plain, resolve_tagged};
use crate::config::source_map::{
    Entry, EntryCollector, FilePositions, Position, ROOT_HASH, child_hash, index_hash, push_segment,
};
use crate::diagnostic::{Code, Diagnostic, Location};

/// Aliases may expand to at most this many nodes, or to ten times the nodes
/// written in the file if that is more.
const MIN_EXPANSION_BUDGET: u64 = 1_000_000;
/// See [`MIN_EXPANSION_BUDGET`].
const EXPANSION_FACTOR: u64 = 10;

/// Lists and mappings may nest at most this deep, block or flow. Deeper input
/// is an `error[yaml]`: the built value would be dropped (and later walked)
/// recursively, and 70,000 levels overflow the stack.
pub const MAX_NESTING_DEPTH: usize = 128;

/// The outcome of one event: `Err` is a problem that stops the parse of the file
/// (boxed: it is rare, and the happy path stays small).
type Step = Result<(), Box<Diagnostic>>;

/// Takes the items of top-level list sections as they are completed.
pub trait ItemSink {
    /// Takes item `index` (counted in this file) of list section `section`.
    fn item(&mut self, section: &'static str, index: usize, item: Value);
}

/// What one file holds.
#[derive(Debug, Default)]
pub(super) struct ParsedFile {
    /// The top-level mapping; `None` for an empty file or one that could not be read.
    /// A list section whose items went to an [`ItemSink`] holds an empty list.
    pub(super) sections: Option<Map<String, Value>>,
    /// How many items of each list section went to the sink.
    pub(super) streamed: Vec<(&'static str, usize)>,
    /// Where each node is, by file-local pointer.
    pub(super) positions: FilePositions,
    /// Problems found, with file-local pointers.
    pub(super) diagnostics: Vec<Diagnostic>,
}

/// Parses `text`, the contents of `file` (named as diagnostics print it); with
/// a `sink`, the items of list sections go to it (see the module docs).
#[must_use]
pub(super) fn parse(text: &str, file: &Arc<str>, sink: Option<&mut dyn ItemSink>) -> ParsedFile {
    let mut builder = Builder::new(text, file, sink);
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        if !builder.feed(next.map(|(event, span)| (event, position_of(span.start)))) {
            break;
        }
    }
    builder.finish()
}

/// Events per batch sent from the parser thread: large enough that sending
/// costs little per event (waking the builder up is a system call), small
/// enough that batches in flight stay small (a few hundred KiB each).
const BATCH: usize = 8192;

/// Batches in flight between the parser thread and the builder.
const BATCHES_IN_FLIGHT: usize = 4;

/// What the parser thread sends: a batch of events, or the error that ended the parse.
type Sent = Result<EventBatch, ScanError>;

/// Events parsed on the parser thread.
///
/// The text of each scalar is copied into `texts` and saphyr's own string freed
/// on the parser thread: every string is then allocated and freed by the thread
/// that uses it. (Strings freed by another thread than the one that allocated them
/// are slow to reuse with the system allocator, which made the parser thread spend
/// more time in the allocator than in parsing.)
#[derive(Default)]
struct EventBatch {
    events: Vec<SentEvent>,
    /// The text of the batch's scalars, one after the other.
    texts: String,
}

/// An event as the parser thread sends it: a quarter of the size of saphyr's
/// event and span, which counts at millions of events crossing between cores.
struct SentEvent {
    kind: EventKind,
    /// Where the event starts.
    position: Position,
    /// The anchor id of a scalar or collection (0: none), or an alias's id.
    anchor: usize,
    /// The length of a scalar's text in [`EventBatch::texts`].
    len: usize,
    /// A scalar's or collection's tag (rare, so boxed).
    tag: Option<Box<Tag>>,
}

/// What a [`SentEvent`] is.
#[derive(Clone, Copy)]
enum EventKind {
    Scalar(ScalarStyle),
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
    Alias,
    DocumentStart(bool),
    Other,
}

impl SentEvent {
    /// `event`, starting at `start`; a scalar's text is appended to `texts`.
    fn new(event: Event<'_>, start: Marker, texts: &mut String) -> Self {
        let owned = |tag: Option<Cow<'_, Tag>>| tag.map(|tag| Box::new(tag.into_owned()));
        let (kind, anchor, len, tag) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                texts.push_str(&text);
                (EventKind::Scalar(style), anchor, text.len(), owned(tag))
            }
            Event::SequenceStart(anchor, tag) => (EventKind::SequenceStart, anchor, 0, owned(tag)),
            Event::MappingStart(anchor, tag) => (EventKind::MappingStart, anchor, 0, owned(tag)),
            Event::SequenceEnd => (EventKind::SequenceEnd, 0, 0, None),
            Event::MappingEnd => (EventKind::MappingEnd, 0, 0, None),
            Event::Alias(id) => (EventKind::Alias, id, 0, None),
            Event::DocumentStart(explicit) => (EventKind::DocumentStart(explicit), 0, 0, None),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                (EventKind::Other, 0, 0, None)
            }
        };
        Self {
            kind,
            position: position_of(start),
            anchor,
            len,
            tag,
        }
    }

    /// The event again, a scalar's text being `text`.
    fn event(self, text: &str) -> Event<'_> {
        let tag = self.tag.map(|tag| Cow::Owned(*tag));
        match self.kind {
            EventKind::Scalar(style) => Event::Scalar(Cow::Borrowed(text), style, self.anchor, tag),
            EventKind::SequenceStart => Event::SequenceStart(self.anchor, tag),
            EventKind::SequenceEnd => Event::SequenceEnd,
            EventKind::MappingStart => Event::MappingStart(self.anchor, tag),
            EventKind::MappingEnd => Event::MappingEnd,
            EventKind::Alias => Event::Alias(self.anchor),
            EventKind::DocumentStart(explicit) => Event::DocumentStart(explicit),
            EventKind::Other => Event::Nothing,
        }
    }
}

/// [`parse`] on two threads: saphyr-parser on a new thread, the builder (and the
/// sink) on this one. Same result; for a large file, about the time of the
/// parser alone.
#[must_use]
pub(super) fn parse_pipelined(
    text: &str,
    file: &Arc<str>,
    sink: Option<&mut dyn ItemSink>,
) -> ParsedFile {
    let mut builder = Builder::new(text, file, sink);
    let (sender, batches) = mpsc::sync_channel::<Sent>(BATCHES_IN_FLIGHT);
    // Emptied batches go back to the parser thread, which would otherwise
    // allocate (and this thread free) their buffers.
    let (recycle, recycled) = mpsc::sync_channel(BATCHES_IN_FLIGHT + 2);
    std::thread::scope(|scope| {
        scope.spawn(move || produce_batches(text, &sender, &recycled));
        for batch in &batches {
            let fed = match batch {
                Ok(mut batch) => {
                    let fed = feed_batch(&mut builder, &mut batch);
                    let _ = recycle.try_send(batch);
                    fed
                }
                Err(error) => builder.feed(Err(error)),
            };
            if !fed {
                break;
            }
        }
        // Dropping the receiver stops the parser thread at its next send, when
        // the builder stopped early on a problem.
        drop(batches);
    });
    builder.finish()
}

/// Feeds the events of `batch` to `builder`, leaving the batch empty; `false`
/// when the parse stops.
fn feed_batch(builder: &mut Builder<'_, '_>, batch: &mut EventBatch) -> bool {
    let mut fed = true;
    let mut offset = 0;
    for sent in batch.events.drain(..) {
        let text = batch
            .texts
            .get(offset..offset + sent.len)
            .unwrap_or_default();
        offset += sent.len;
        let position = sent.position;
        if !builder.feed(Ok((sent.event(text), position))) {
            fed = false;
            break;
        }
    }
    batch.events.clear();
    batch.texts.clear();
    fed
}

/// Runs saphyr-parser over `text`, sending its events in batches until the end,
/// an error, or the builder hangs up; batch buffers are reused from `recycled`.
fn produce_batches(
    text: &str,
    sender: &mpsc::SyncSender<Sent>,
    recycled: &mpsc::Receiver<EventBatch>,
) {
    let new_batch = || {
        recycled.try_recv().unwrap_or_else(|_| EventBatch {
            events: Vec::with_capacity(BATCH),
            texts: String::new(),
        })
    };
    let mut parser = Parser::new_from_str(text);
    let mut batch = new_batch();
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => {
                let sent = SentEvent::new(event, span.start, &mut batch.texts);
                batch.events.push(sent);
            }
            Err(error) => {
                if !batch.events.is_empty() && sender.send(Ok(batch)).is_err() {
                    return;
                }
                let _ = sender.send(Err(error));
                return;
            }
        }
        if batch.events.len() == BATCH {
            let full = std::mem::replace(&mut batch, new_batch());
            if sender.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !batch.events.is_empty() {
        let _ = sender.send(Ok(batch));
    }
}

/// A node being built: a list or a mapping whose end has not been seen yet.
struct Frame {
    body: Body,
    /// Hash of the node's file-local pointer; `None` when its positions are
    /// not recorded (inside a mapping key or a merged mapping).
    hash: Option<u64>,
    /// Anchor id (0: none).
    anchor: usize,
    /// Nodes in this subtree so far, itself included (for alias expansion).
    nodes: u64,
    position: Position,
}

enum Body {
    List {
        /// The items kept in the tree.
        items: Vec<Value>,
        /// Items read so far, kept or streamed: the index of the next one.
        len: usize,
        /// The list section this list is the value of, if it is one: its items'
        /// positions are grouped (see [`EntryCollector`]).
        section: Option<&'static str>,
        /// Whether its items go to the sink instead of `items`.
        streamed: bool,
    },
    Mapping {
        map: Map<String, Value>,
        key: KeySlot,
        /// Values of `<<` keys, merged in when the mapping ends.
        merges: Vec<(Value, Position)>,
    },
}

/// The state of the mapping entry being read.
enum KeySlot {
    /// The next node is a key.
    Empty,
    /// The key was read; the next node is its value.
    Key {
        name: String,
        position: Position,
        /// The plain `<<` merge key.
        merge: bool,
    },
    /// The key was refused; its value is read and dropped.
    Refused,
}

/// A completed node, on its way into its parent.
struct Node {
    value: Value,
    nodes: u64,
    position: Position,
    anchor: usize,
    /// A plain `<<` scalar (the merge key, when in key position).
    merge_key: bool,
}

/// A value seen under an anchor, for its aliases.
struct Anchored {
    value: Value,
    nodes: u64,
}

/// A repeated key, located once every position of the file is known.
struct DuplicateKey {
    name: String,
    position: Position,
    pointer: String,
}

/// A line whose indentation holds a tab.
#[derive(Clone, Copy)]
struct TabLine {
    /// Byte offset of the line in the text.
    start: usize,
    /// Column of the first tab (from 1).
    tab: u32,
    /// Column of the first character after the indentation (from 1).
    content: u32,
}

struct Builder<'a, 's> {
    text: &'a str,
    file: &'a Arc<str>,
    /// Where items of list sections go; `None` builds the whole tree.
    sink: Option<&'s mut dyn ItemSink>,
    /// Items streamed per list section.
    streamed: Vec<(&'static str, usize)>,
    /// Lines indented with tabs; `None` when the file has no tab at all.
    tab_lines: Option<FxHashMap<u32, TabLine>>,
    stack: Vec<Frame>,
    entries: EntryCollector,
    anchors: FxHashMap<usize, Anchored>,
    parsed_nodes: u64,
    expanded_nodes: u64,
    documents: u32,
    root: Option<(Value, Position)>,
    duplicates: Vec<DuplicateKey>,
    diagnostics: Vec<Diagnostic>,
    /// A fatal problem stopped the parse: the value is incomplete.
    failed: bool,
}

impl<'a, 's> Builder<'a, 's> {
    fn new(text: &'a str, file: &'a Arc<str>, sink: Option<&'s mut dyn ItemSink>) -> Self {
        Self {
            text,
            file,
            sink,
            streamed: Vec::new(),
            tab_lines: tab_indented_lines(text),
            stack: Vec::new(),
            entries: EntryCollector::default(),
            anchors: FxHashMap::default(),
            parsed_nodes: 0,
            expanded_nodes: 0,
            documents: 0,
            root: None,
            duplicates: Vec::new(),
            diagnostics: Vec::new(),
            failed: false,
        }
    }

    /// Handles what the parser produced next; `false` when the parse of this
    /// file stops (a syntax error or a problem found by [`Self::on_event`]).
    fn feed(&mut self, next: Result<(Event<'_>, Position), ScanError>) -> bool {
        let outcome = match next {
            Ok((event, position)) => self.on_event(event, position),
            Err(error) => Err(Box::new(self.scan_error(&error))),
        };
        match outcome {
            Ok(()) => true,
            Err(fatal) => {
                self.diagnostics.push(*fatal);
                self.failed = true;
                false
            }
        }
    }

    /// Handles one event; `Err` is a problem that stops the parse of this file.
    fn on_event(&mut self, event: Event<'_>, position: Position) -> Step {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(self.second_document(position)));
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.check_indentation(position)?;
                self.scalar(text, style, anchor, tag.as_deref(), position);
                Ok(())
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_indentation(position)?;
                self.check_collection_tag(tag.as_deref(), "seq", position);
                let section = self.list_section();
                let body = Body::List {
                    items: Vec::new(),
                    len: 0,
                    section,
                    // An alias of an anchored list would need its items.
                    streamed: section.is_some() && self.sink.is_some() && anchor == 0,
                };
                self.open(body, anchor, position)
            }
            Event::MappingStart(anchor, tag) => {
                self.check_indentation(position)?;
                self.check_collection_tag(tag.as_deref(), "map", position);
                let body = Body::Mapping {
                    map: Map::new(),
                    key: KeySlot::Empty,
                    merges: Vec::new(),
                };
                self.open(body, anchor, position)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.close();
                Ok(())
            }
            Event::Alias(id) => {
                self.check_indentation(position)?;
                self.alias(id, position)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(()),
        }
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        position: Position,
    ) {
        self.parsed_nodes += 1;
        self.record(position);
        let merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
        let value = self.scalar_value(text, style, tag, position);
        self.place(Node {
            value,
            nodes: 1,
            position,
            anchor,
            merge_key,
        });
    }

    /// The JSON value of a scalar, typed by the core schema and its tag.
    fn scalar_value(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        position: Position,
    ) -> Value {
        let resolved = match tag {
            None if style == ScalarStyle::Plain => resolve_plain(&text),
            None => None,
            // `!` alone (the non-specific tag) and `!!str` both mean text.
            Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => None,
            Some(tag) if tag.is_yaml_core_schema() && tag.suffix == "str" => None,
            Some(tag) if tag.is_yaml_core_schema() => {
                let resolved = resolve_tagged(&tag.suffix, &text);
                if resolved.is_none() {
                    let problem =
                        if matches!(tag.suffix.as_str(), "null" | "bool" | "int" | "float") {
                            format!("`{text}` is not a valid `{}` value", tag_name(tag))
                        } else {
                            format!("the tag `{}` is not supported", tag_name(tag))
                        };
                    self.non_fatal(
                        problem,
                        "remove the tag, or quote the value to make it text",
                        position,
                    );
                }
                resolved
            }
            Some(tag) => {
                self.non_fatal(
                    format!("the tag `{}` is not supported", tag_name(tag)),
                    "accord configurations hold plain values; remove the tag",
                    position,
                );
                None
            }
        };
        match resolved {
            None => {
                // The rule the account service applies to what it stores (issue 14).
                if let Some(why) = crate::text::name_problem(&text) {
                    self.non_fatal(
                        format!("this text {why}"),
                        "write it without them (in a double-quoted string, escapes such as `\\e`, `\\r`, `\\t` or `\\0` make them)",
                        position,
                    );
                }
                Value::String(exact(text))
            }
            Some(Resolved::Value(value)) => value,
            Some(Resolved::NotFinite) => {
                self.non_fatal(
                    format!("`{text}` is an infinite or not-a-number value, which a configuration cannot hold"),
                    "use a finite number, or quote the value to make it text",
                    position,
                );
                Value::String(exact(text))
            }
        }
    }

    fn check_collection_tag(&mut self, tag: Option<&Tag>, expected: &str, position: Position) {
        let Some(tag) = tag else { return };
        if tag.is_yaml_core_schema() && tag.suffix == expected {
            return;
        }
        self.non_fatal(
            format!("the tag `{}` is not supported here", tag_name(tag)),
            "accord configurations hold plain lists and mappings; remove the tag",
            position,
        );
    }

    fn open(&mut self, body: Body, anchor: usize, position: Position) -> Step {
        if self.stack.len() >= MAX_NESTING_DEPTH {
            return Err(Box::new(self.too_deep(position)));
        }
        self.parsed_nodes += 1;
        let hash = self.record(position);
        self.stack.push(Frame {
            body,
            hash,
            anchor,
            nodes: 1,
            position,
        });
        Ok(())
    }

    fn too_deep(&self, position: Position) -> Diagnostic {
        self.error(
            Code::Yaml,
            format!("lists and mappings are nested more than {MAX_NESTING_DEPTH} levels deep"),
            position,
        )
        .help("flatten the structure; no accord setting needs this much nesting")
    }

    /// The list section a list starting here is the value of: a list section
    /// of the top-level mapping, not a repeated key (whose value is dropped).
    fn list_section(&self) -> Option<&'static str> {
        if self.stack.len() != 1 {
            return None;
        }
        let Body::Mapping {
            map,
            key: KeySlot::Key {
                name, merge: false, ..
            },
            ..
        } = &self.stack[0].body
        else {
            return None;
        };
        let section = LIST_SECTIONS.iter().find(|section| **section == name)?;
        (!map.contains_key(name)).then_some(*section)
    }

    /// Sends the items of list sections still in the top-level mapping (given
    /// through an alias or a `<<` merge key) to the sink, as if streamed.
    fn stream_remaining(&mut self, sections: &mut Map<String, Value>) {
        let Some(sink) = self.sink.as_deref_mut() else {
            return;
        };
        for section in LIST_SECTIONS {
            let Some(Value::Array(items)) = sections.get_mut(section) else {
                continue;
            };
            let items = std::mem::take(items);
            if items.is_empty() {
                continue;
            }
            let count = items.len();
            for (index, item) in items.into_iter().enumerate() {
                sink.item(section, index, item);
            }
            self.streamed.push((section, count));
        }
    }

    fn close(&mut self) {
        // saphyr balances starts and ends; an unmatched end is ignored.
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let value = match frame.body {
            Body::List {
                mut items,
                len,
                section,
                streamed,
            } => {
                if let (Some(section), true) = (section, streamed) {
                    self.streamed.push((section, len));
                }
                // A list grown by pushes holds up to twice its items.
                items.shrink_to_fit();
                Value::Array(items)
            }
            Body::Mapping {
                mut map, merges, ..
            } => {
                for (source, position) in merges {
                    self.merge_into(&mut map, source, frame.hash, position);
                }
                Value::Object(map)
            }
        };
        self.place(Node {
            value,
            nodes: frame.nodes,
            position: frame.position,
            anchor: frame.anchor,
            merge_key: false,
        });
    }

    fn alias(&mut self, id: usize, position: Position) -> Step {
        self.parsed_nodes += 1;
        self.record(position);
        let Some(anchored) = self.anchors.get(&id) else {
            // saphyr refuses unknown anchors before we see them.
            return Err(Box::new(self.error(
                Code::Yaml,
                "an alias names an unknown anchor",
                position,
            )));
        };
        self.expanded_nodes += anchored.nodes;
        let budget = MIN_EXPANSION_BUDGET.max(EXPANSION_FACTOR * self.parsed_nodes);
        if self.expanded_nodes > budget {
            let message = format!(
                "alias expansion too large (possible alias bomb): aliases would expand to more than {budget} nodes"
            );
            return Err(Box::new(
                self.error(Code::Yaml, message, position)
                    .help("write the repeated parts out, or use fewer nested aliases"),
            ));
        }
        let node = Node {
            value: anchored.value.clone(),
            nodes: anchored.nodes,
            position,
            anchor: 0,
            merge_key: false,
        };
        self.place(node);
        Ok(())
    }

    /// Records the position of the node starting at `position`, if its place
    /// in the file has a pointer; returns the hash of that pointer.
    fn record(&mut self, position: Position) -> Option<u64> {
        let (hash, key) = match self.stack.last() {
            None => (Some(ROOT_HASH), position),
            Some(frame) => match &frame.body {
                Body::List { len, section, .. } => {
                    if let Some(section) = section {
                        // An item starts: its positions are grouped until `place`.
                        self.entries.start_item(section);
                    }
                    (frame.hash.map(|h| index_hash(h, *len)), position)
                }
                Body::Mapping {
                    key:
                        KeySlot::Key {
                            name,
                            position: key,
                            merge: false,
                        },
                    ..
                } => (frame.hash.map(|h| child_hash(h, name.as_bytes())), *key),
                // A key, a `<<` value or the value of a refused key.
                Body::Mapping { .. } => (None, position),
            },
        };
        if let Some(hash) = hash {
            self.entries.push(Entry {
                hash,
                node: position,
                key,
            });
        }
        hash
    }

    /// Puts a completed node into its parent (or makes it the root).
    fn place(&mut self, node: Node) {
        if node.anchor > 0 {
            let anchored = Anchored {
                value: node.value.clone(),
                nodes: node.nodes,
            };
            self.anchors.insert(node.anchor, anchored);
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some((node.value, node.position));
            return;
        };
        frame.nodes += node.nodes;
        let parent_hash = frame.hash;
        let (map, slot, merges) = match &mut frame.body {
            Body::List {
                items,
                len,
                section,
                streamed,
            } => {
                let index = *len;
                *len += 1;
                match (*section, *streamed, self.sink.as_deref_mut()) {
                    (Some(section), true, Some(sink)) => sink.item(section, index, node.value),
                    _ => items.push(node.value),
                }
                if section.is_some() {
                    self.entries.end_item();
                }
                return;
            }
            Body::Mapping { map, key, merges } => (map, key, merges),
        };
        match std::mem::replace(slot, KeySlot::Empty) {
            KeySlot::Empty => match node.value {
                Value::String(name) => {
                    *slot = KeySlot::Key {
                        name,
                        position: node.position,
                        merge: node.merge_key,
                    };
                }
                other => {
                    *slot = KeySlot::Refused;
                    self.refuse_key(&other, node.position);
                }
            },
            KeySlot::Key { merge: true, .. } => merges.push((node.value, node.position)),
            KeySlot::Key { name, position, .. } => match map.entry(name) {
                MapEntry::Vacant(vacant) => {
                    vacant.insert(node.value);
                }
                MapEntry::Occupied(occupied) => {
                    let name = occupied.key().clone();
                    self.duplicate_key(parent_hash, name, position);
                }
            },
            KeySlot::Refused => {}
        }
    }

    /// Merges the value of a `<<` key into `map`: keys already there win.
    fn merge_into(
        &mut self,
        map: &mut Map<String, Value>,
        source: Value,
        hash: Option<u64>,
        position: Position,
    ) {
        match source {
            Value::Object(source) => {
                for (name, value) in source {
                    if let MapEntry::Vacant(vacant) = map.entry(name) {
                        if let Some(parent) = hash {
                            let hash = child_hash(parent, vacant.key().as_bytes());
                            self.entries.push(Entry {
                                hash,
                                node: position,
                                key: position,
                            });
                        }
                        vacant.insert(value);
                    }
                }
            }
            Value::Array(sources) if sources.iter().all(Value::is_object) => {
                for source in sources {
                    self.merge_into(map, source, hash, position);
                }
            }
            _ => self.non_fatal(
                "the merge key `<<` takes a mapping or a list of mappings",
                "write `<<: *name` where `&name` marks a mapping, or quote the key (\"<<\") if it is a name",
                position,
            ),
        }
    }

    fn refuse_key(&mut self, key: &Value, position: Position) {
        let (problem, help) = match key {
            Value::Null => (
                "a mapping entry has an empty key".to_owned(),
                "write the key before the `:`",
            ),
            Value::Array(_) | Value::Object(_) => (
                "a list or a mapping cannot be a key".to_owned(),
                "keys are names: write `name: value`",
            ),
            scalar => (
                format!("the key `{scalar}` is not text (keys must be strings)"),
                "quote the key to make it text",
            ),
        };
        self.non_fatal(problem, help, position);
    }

    fn duplicate_key(&mut self, parent: Option<u64>, name: String, position: Position) {
        let mut pointer = self.pointer_of_innermost();
        push_segment(&mut pointer, &name);
        match parent {
            Some(_) => self.duplicates.push(DuplicateKey {
                name,
                position,
                pointer,
            }),
            None => self.non_fatal(
                format!("the key `{name}` appears twice in this mapping"),
                "keep one of them",
                position,
            ),
        }
    }

    /// A problem that does not stop the parse, at the node being read.
    fn non_fatal(&mut self, message: impl Into<String>, help: &str, position: Position) {
        let pointer = self.pointer_through(self.stack.len());
        let diagnostic = self
            .error(Code::Yaml, message, position)
            .help(help)
            .pointer(pointer);
        self.diagnostics.push(diagnostic);
    }

    /// The file-local pointer of the innermost list or mapping being read.
    fn pointer_of_innermost(&self) -> String {
        self.pointer_through(self.stack.len().saturating_sub(1))
    }

    /// The file-local pointer made of the slots of the outermost `frames`
    /// frames: with all of them, the pointer of the node about to be placed.
    fn pointer_through(&self, frames: usize) -> String {
        let mut pointer = String::new();
        for parent in self.stack.iter().take(frames) {
            match &parent.body {
                Body::List { len, .. } => push_segment(&mut pointer, &len.to_string()),
                Body::Mapping {
                    key:
                        KeySlot::Key {
                            name, merge: false, ..
                        },
                    ..
                } => push_segment(&mut pointer, name),
                Body::Mapping { .. } => break,
            }
        }
        pointer
    }

    fn error(&self, code: Code, message: impl Into<String>, position: Position) -> Diagnostic {
        Diagnostic::error(code, message).at(Some(self.location(position)))
    }

    fn location(&self, position: Position) -> Location {
        let (line, column) = position.unpack();
        Location {
            file: Arc::clone(self.file),
            line,
            column,
        }
    }

    fn second_document(&self, position: Position) -> Diagnostic {
        self.error(
            Code::Yaml,
            "a second YAML document starts here; a configuration file holds one document",
            position,
        )
        .help("move what follows this `---` to a file of its own, or remove the `---`")
    }

    /// Refuses a node that starts a line indented with a tab (saphyr accepts
    /// some of these, and YAML never allows them).
    fn check_indentation(&self, position: Position) -> Step {
        let Some(tab_lines) = &self.tab_lines else {
            return Ok(());
        };
        let (line, column) = position.unpack();
        let Some(tab_line) = tab_lines.get(&line) else {
            return Ok(());
        };
        if column < tab_line.content {
            return Ok(());
        }
        // Between the indentation and the node, only block indicators (`- `,
        // `? `, `: `): the node is the first thing on its line.
        let mut before_node = self.text[tab_line.start..]
            .chars()
            .skip(tab_line.content as usize - 1)
            .take((column - tab_line.content) as usize);
        let starts_line = before_node.all(|c| matches!(c, '-' | '?' | ':' | ' ' | '\t'));
        if starts_line {
            return Err(Box::new(self.tab_error(line, tab_line.tab)));
        }
        Ok(())
    }

    fn tab_error(&self, line: u32, column: u32) -> Diagnostic {
        self.error(
            Code::Yaml,
            "tabs are not allowed for indentation; use spaces",
            Position::new(line, column),
        )
        .help("replace the tabs at the start of this line with spaces (most editors can convert them)")
    }

    /// A syntax error from saphyr, made clear.
    fn scan_error(&self, error: &ScanError) -> Diagnostic {
        let position = position_of(*error.marker());
        let (line, _) = position.unpack();
        // saphyr often reports a tab one line early, or as some other error.
        if let Some(tab_lines) = &self.tab_lines {
            for candidate in [line, line + 1] {
                if let Some(tab_line) = tab_lines.get(&candidate) {
                    return self.tab_error(candidate, tab_line.tab);
                }
            }
        }
        let info = error.info();
        if info.contains("tab") {
            let (line, column) = position.unpack();
            return self.tab_error(line, column);
        }
        let help = if info.contains("unknown anchor") {
            "define the anchor (`&name`) before the alias that uses it (`*name`)"
        } else if info.contains("recursion limit") {
            "the nesting of lists and mappings is too deep"
        } else {
            "check the indentation, quotes and brackets at and just before this position"
        };
        self.error(Code::Yaml, format!("invalid YAML: {info}"), position)
            .help(help)
    }

    fn finish(mut self) -> ParsedFile {
        let positions = std::mem::take(&mut self.entries).finish();
        for duplicate in std::mem::take(&mut self.duplicates) {
            let diagnostic = self.duplicate_diagnostic(&positions, duplicate);
            self.diagnostics.push(diagnostic);
        }
        let sections = match self.root.take() {
            _ if self.failed => None,
            None | Some((Value::Null, _)) => None,
            Some((Value::Object(mut map), _)) => {
                self.stream_remaining(&mut map);
                Some(map)
            }
            Some((other, position)) => {
                let found = match other {
                    Value::Array(_) => "a list",
                    _ => "a single value",
                };
                let diagnostic = self
                    .error(
                        Code::Yaml,
                        format!("the top level of a configuration file must be a mapping of sections, not {found}"),
                        position,
                    )
                    .help("start the file with sections such as `account:`, `members:` or `projects:`");
                self.diagnostics.push(diagnostic);
                None
            }
        };
        ParsedFile {
            sections,
            streamed: self.streamed,
            positions,
            diagnostics: self.diagnostics,
        }
    }

    fn duplicate_diagnostic(
        &self,
        positions: &FilePositions,
        duplicate: DuplicateKey,
    ) -> Diagnostic {
        let first = positions
            .all_at(&duplicate.pointer)
            .iter()
            .map(|entry| entry.key)
            .filter(|key| *key < duplicate.position)
            .min();
        let mut message = format!("duplicate key `{}`", duplicate.name);
        if let Some(first) = first {
            let (line, column) = first.unpack();
            let _ = write!(message, " (first at line {line}, column {column})");
        }
        self.error(Code::Yaml, message, duplicate.position)
            .pointer(duplicate.pointer)
            .help("a key may appear once in a mapping; keep one of them")
            .related(
                first.map(|first| self.location(first)),
                "first declared here",
            )
    }
}

/// A saphyr marker (line from 1, column from 0) as a position (both from 1).
fn position_of(marker: Marker) -> Position {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Position::new(clamp(marker.line()), clamp(marker.col()).saturating_add(1))
}

/// The text of a scalar in a string of exactly its length: saphyr's scanner
/// gives every plain scalar a buffer of at least 32 bytes, and a configuration
/// keeps millions of short strings.
fn exact(text: Cow<'_, str>) -> String {
    match text {
        Cow::Owned(text) if text.capacity() == text.len() => text,
        text => String::from(&*text),
    }
}

/// A tag as written in the file.
fn tag_name(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// The lines whose indentation holds a tab, by line number; `None` when the
/// text has no tab at all (the common case, checked in one fast pass).
fn tab_indented_lines(text: &str) -> Option<FxHashMap<u32, TabLine>> {
    if !text.as_bytes().contains(&b'\t') {
        return None;
    }
    let mut lines = FxHashMap::default();
    let mut start = 0;
    for (index, line) in text.split('\n').enumerate() {
        let indentation = line
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let rest = &line[indentation..];
        let has_content = !rest.trim_end_matches('\r').is_empty() && !rest.starts_with('#');
        if has_content {
            if let Some(tab) = line[..indentation].find('\t') {
                let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                let tab_line = TabLine {
                    start,
                    tab: clamp(tab + 1),
                    content: clamp(indentation + 1),
                };
                lines.insert(clamp(index + 1), tab_line);
            }
        }
        start += line.len() + 1;
    }
    Some(lines)
}
