//! Where every node of the merged configuration came from.
//!
//! The loader records, for each YAML node, the file and `line:column` it was read
//! from, keyed by the node's JSON pointer in the *merged* configuration (so
//! `/members/30/email` finds the right file even when members are split over
//! several files). Schema errors and rule diagnostics turn pointers into
//! [`Location`]s through this map.
//!
//! A configuration of 50,000 members has a few million nodes, so the map is kept
//! compact: each file holds 24-byte entries (a 64-bit hash of the node's
//! *file-local* pointer, the node's position and the position of the key naming
//! it), and a small table per list section says which file holds which run of
//! merged indices. A merged pointer such as `/members/730/email` is first turned
//! into a file and a local pointer (`/members/230/email` in the second file), then
//! hashed and looked up.
//!
//! The entries of each item of a top-level list section (a member, a project) are
//! kept together, sorted by hash as soon as the item is read ([`EntryCollector`]);
//! the few others (the root, section keys, `account`, `settings`) are sorted when
//! the file is done. A lookup goes straight to its item's entries (by section and
//! index) and searches a few dozen or hundred of them. There is no index to build
//! once the file is read, which would delay the rules by a large file's worth of
//! sorting; and the rules, which look up a position for every declaration they
//! record as provenance (hundreds of thousands on a large configuration), walk the
//! items in order, so their lookups stay in the cache.

use std::borrow::Cow;
use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use crate::diagnostic::Location;

/// Positions of the nodes of a loaded configuration.
#[derive(Clone, Default)]
pub struct SourceMap {
    /// Every file read, in merge order, with the positions of its nodes.
    files: Vec<FileSource>,
    /// For each top-level key of the merged configuration, which file(s) it came from.
    sections: FxHashMap<String, SectionOrigin>,
    /// The file whose top-level mapping stands for the merged root.
    root_file: Option<usize>,
}

impl SourceMap {
    /// Where the node at `pointer` starts; for a pointer that names no node (a
    /// missing field), the nearest ancestor that exists.
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Option<Location> {
        let (file, entry) = self.resolve(pointer, None)?;
        Some(self.location(file, entry.node))
    }

    /// Where item `index` of the list at `list` starts: `locate` of
    /// `{list}/{index}`, without writing that pointer (for walking the items of
    /// a long list).
    #[must_use]
    pub fn locate_item(&self, list: &str, index: usize) -> Option<Location> {
        let (file, entry) = self.resolve(list, Some(index))?;
        Some(self.location(file, entry.node))
    }

    /// The items of the list at `list`, to be located one after the other:
    /// `list_items(list).locate(i)` is `locate_item(list, i)`. What leads to the
    /// items is found once, rather than again for each of a list's (up to tens of
    /// thousands of) items: for a list section (`/members`), its pieces; for a list
    /// inside an item of one (`/projects/12/members`, an agreement's `assigned`
    /// list), the list's file, its hash and its item's entries.
    #[must_use]
    pub fn list_items<'p>(&self, list: &'p str) -> ListItems<'_, 'p> {
        ListItems {
            map: self,
            list,
            shortcut: self.shortcut(list),
        }
    }

    /// What [`ListItems`] needs to locate the items of `list` without resolving
    /// `list` again; `None` when `list` names nothing, or nothing that holds list
    /// items this way, where each item is resolved in full.
    fn shortcut<'m, 'p>(&'m self, list: &'p str) -> Option<Shortcut<'m, 'p>> {
        let mut segments = segments_of(list, None)?;
        let section = segments.next()?;
        // As in `resolve`: an item of a merged list section is in one file, under
        // its index in that file.
        let (file, local_item) = match self.sections.get(section.text().as_ref())? {
            SectionOrigin::Whole(file) => (*file, None),
            SectionOrigin::Pieces(pieces) => match segments.next() {
                None => {
                    return Some(Shortcut::Section {
                        hash: section.hash(ROOT_HASH),
                        name: section,
                        pieces,
                    });
                }
                Some(segment) => {
                    let (piece, local) = Piece::holding(pieces, segment.index()?)?;
                    (piece.file, Some(Segment::Index(local)))
                }
            },
        };
        let path: Vec<Segment<'_>> = std::iter::once(section)
            .chain(local_item)
            .chain(segments)
            .collect();
        let positions = &self.files.get(file)?.positions;
        let item = positions.item_entries(path.iter().cloned());
        if path.len() < 2 || item.is_empty() {
            return None;
        }
        Some(Shortcut::Nested {
            file,
            hash: path
                .iter()
                .fold(ROOT_HASH, |parent, segment| segment.hash(parent)),
            item_depth: path.len() + 1,
            positions,
            item,
        })
    }

    /// Where the key naming the node at `pointer` is (`email:` rather than the
    /// address after it); for list items and the root, the node itself.
    #[must_use]
    pub fn locate_key(&self, pointer: &str) -> Option<Location> {
        let (file, entry) = self.resolve(pointer, None)?;
        Some(self.location(file, entry.key))
    }

    /// The files that were read, in the order they were merged.
    #[must_use]
    pub fn files(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.to_string()).collect()
    }

    /// The number of node positions recorded (for tests and benchmarks).
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.iter().map(|f| f.positions.len()).sum()
    }

    /// Whether no position is recorded (nothing was loaded).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a file read by the loader; returns its index.
    pub(crate) fn push_file(&mut self, name: Arc<str>, positions: FilePositions) -> usize {
        self.files.push(FileSource { name, positions });
        self.files.len() - 1
    }

    /// Records that the merged root is represented by `file`'s top-level mapping
    /// (the first non-empty file).
    pub(crate) fn set_root_file(&mut self, file: usize) {
        self.root_file.get_or_insert(file);
    }

    /// Records that top-level key `section` of the merged configuration is the
    /// whole value read from `file`.
    pub(crate) fn set_whole_section(&mut self, section: &str, file: usize) {
        self.sections
            .insert(section.to_owned(), SectionOrigin::Whole(file));
    }

    /// Records that merged items `start..start + len` of list section `section`
    /// are items `0..len` of that section in `file`.
    pub(crate) fn add_list_piece(&mut self, section: &str, file: usize, start: usize, len: usize) {
        let piece = Piece { start, len, file };
        match self.sections.get_mut(section) {
            Some(SectionOrigin::Pieces(pieces)) => pieces.push(piece),
            _ => {
                self.sections
                    .insert(section.to_owned(), SectionOrigin::Pieces(vec![piece]));
            }
        }
    }

    /// The location of the node at the *file-local* `pointer` of file `file`
    /// (`key` selects the naming key rather than the node).
    pub(crate) fn locate_local(&self, file: usize, pointer: &str, key: bool) -> Option<Location> {
        let segments = segments_of(pointer, None)?;
        let entry = self.files.get(file)?.positions.nearest(segments)?;
        Some(self.location(file, if key { entry.key } else { entry.node }))
    }

    /// Where the items of list section `section` read from `file` start in the
    /// merged list; `None` when they are not part of it.
    pub(crate) fn list_piece_start(&self, section: &str, file: usize) -> Option<usize> {
        match self.sections.get(section)? {
            SectionOrigin::Pieces(pieces) => pieces
                .iter()
                .find(|piece| piece.file == file)
                .map(|piece| piece.start),
            SectionOrigin::Whole(_) => None,
        }
    }

    /// Rewrites a file-local pointer of file `file` into the merged configuration's
    /// terms (list indices shifted by the items of earlier files). `None` when the
    /// node did not make it into the merged configuration.
    pub(crate) fn merged_pointer(&self, file: usize, local: &str) -> Option<String> {
        let segments = split_pointer(local)?;
        let Some(section) = segments.first() else {
            return Some(String::new());
        };
        match self.sections.get(section.as_ref())? {
            SectionOrigin::Whole(owner) => (*owner == file).then(|| local.to_owned()),
            SectionOrigin::Pieces(pieces) => {
                let piece = pieces.iter().find(|p| p.file == file)?;
                let Some(index) = segments.get(1) else {
                    return Some(local.to_owned());
                };
                let merged_index = piece.start + index.parse::<usize>().ok()?;
                let mut pointer = String::with_capacity(local.len() + 4);
                push_segment(&mut pointer, section);
                pointer.push('/');
                pointer.push_str(&merged_index.to_string());
                for segment in &segments[2..] {
                    push_segment(&mut pointer, segment);
                }
                Some(pointer)
            }
        }
    }

    fn location(&self, file: usize, position: Position) -> Location {
        let (line, column) = position.unpack();
        Location {
            file: Arc::clone(&self.files[file].name),
            line,
            column,
        }
    }

    /// The file and the entry of the nearest existing node at or above the
    /// merged `pointer`, or above its item `item` when given.
    fn resolve(&self, pointer: &str, item: Option<usize>) -> Option<(usize, Entry)> {
        let root = || match self.root_file {
            Some(file) => Some((
                file,
                self.files[file].positions.nearest(std::iter::empty())?,
            )),
            // Every file is empty: what is missing is missing from the first one.
            None if !self.files.is_empty() => {
                let start = Position::new(1, 1);
                let entry = Entry {
                    hash: ROOT_HASH,
                    node: start,
                    key: start,
                };
                Some((0, entry))
            }
            None => None,
        };
        let Some(mut segments) = segments_of(pointer, item) else {
            return root();
        };
        let Some(section) = segments.next() else {
            return root();
        };
        // The item index of a list section, rewritten to the index in its file.
        let mut local_item = None;
        let mut depth = usize::MAX;
        let file = match self.sections.get(section.text().as_ref()) {
            None => return root(),
            Some(SectionOrigin::Whole(file)) => *file,
            Some(SectionOrigin::Pieces(pieces)) => {
                let piece = segments
                    .clone()
                    .next()
                    .and_then(|segment| segment.index())
                    .and_then(|index| Piece::holding(pieces, index));
                match piece {
                    Some((piece, local)) => {
                        segments.next();
                        local_item = Some(Segment::Index(local));
                        piece.file
                    }
                    None => {
                        // No such item: the nearest ancestor is the section itself.
                        depth = 1;
                        pieces[0].file
                    }
                }
            }
        };
        let path = std::iter::once(section)
            .chain(local_item)
            .chain(segments)
            .take(depth);
        let entry = self.files[file].positions.nearest(path)?;
        Some((file, entry))
    }
}

/// The items of one list of a [`SourceMap`], located one after the other (see
/// [`SourceMap::list_items`]).
pub struct ListItems<'m, 'p> {
    map: &'m SourceMap,
    list: &'p str,
    shortcut: Option<Shortcut<'m, 'p>>,
}

/// The way to a list's items, found once.
enum Shortcut<'m, 'p> {
    /// A list section, merged from the pieces of several files.
    Section {
        name: Segment<'p>,
        /// The hash of its pointer (the same in every file).
        hash: u64,
        pieces: &'m [Piece],
    },
    /// A list inside an item of a list section, in one file.
    Nested {
        file: usize,
        /// The hash of its file-local pointer.
        hash: u64,
        /// The number of segments of its items' pointers.
        item_depth: usize,
        positions: &'m FilePositions,
        /// The entries of the item it is in.
        item: &'m [Entry],
    },
}

impl ListItems<'_, '_> {
    /// Whether the way to the list's items was found once (tests).
    #[cfg(test)]
    fn has_shortcut(&self) -> bool {
        self.shortcut.is_some()
    }

    /// Where item `index` of the list starts: [`SourceMap::locate_item`].
    #[must_use]
    pub fn locate(&self, index: usize) -> Option<Location> {
        self.shortcut
            .as_ref()
            .and_then(|shortcut| self.locate_by(shortcut, index))
            // No such item (or no shortcut): the nearest ancestor, found in full.
            .or_else(|| self.map.locate_item(self.list, index))
    }

    /// Item `index` found by `shortcut`, when it exists.
    fn locate_by(&self, shortcut: &Shortcut<'_, '_>, index: usize) -> Option<Location> {
        match shortcut {
            Shortcut::Section { name, hash, pieces } => {
                let (piece, local) = Piece::holding(pieces, index)?;
                let positions = &self.map.files.get(piece.file)?.positions;
                let item =
                    positions.item_entries([name.clone(), Segment::Index(local)].into_iter());
                let entry = positions.first(index_hash(*hash, local), 2, item)?;
                Some(self.map.location(piece.file, entry.node))
            }
            Shortcut::Nested {
                file,
                hash,
                item_depth,
                positions,
                item,
            } => {
                let entry = positions.first(index_hash(*hash, index), *item_depth, item)?;
                Some(self.map.location(*file, entry.node))
            }
        }
    }
}

impl fmt::Debug for SourceMap {
    /// A summary: the map can hold millions of positions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceMap")
            .field("files", &self.files())
            .field("positions", &self.len())
            .finish_non_exhaustive()
    }
}

/// One file that was read.
#[derive(Clone)]
struct FileSource {
    /// As printed in diagnostics: the path the user gave joined with the file name.
    name: Arc<str>,
    positions: FilePositions,
}

/// Where a top-level key of the merged configuration came from.
#[derive(Debug, Clone)]
enum SectionOrigin {
    /// The whole value came from one file (`account`, a section that is not a
    /// list, an unknown key).
    Whole(usize),
    /// A list section, concatenated from several files in order.
    Pieces(Vec<Piece>),
}

/// A run of items of a merged list section that came from one file.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Index of the first item in the merged list.
    start: usize,
    /// Number of items.
    len: usize,
    /// The file they came from.
    file: usize,
}

impl Piece {
    /// The piece of `pieces` holding merged item `index`, and the item's index in
    /// its file.
    fn holding(pieces: &[Piece], index: usize) -> Option<(&Piece, usize)> {
        pieces
            .iter()
            .find(|p| p.start <= index && index < p.start + p.len)
            .map(|p| (p, index - p.start))
    }
}

/// A line and a column (both from 1), packed into 64 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position(u64);

impl Position {
    /// Packs `line` and `column` (both from 1).
    #[must_use]
    pub(crate) fn new(line: u32, column: u32) -> Self {
        Self((u64::from(line) << 32) | u64::from(column))
    }

    /// `(line, column)`.
    #[must_use]
    pub(crate) fn unpack(self) -> (u32, u32) {
        // Truncation is the point: the two halves were packed by `new`.
        #[allow(clippy::cast_possible_truncation)]
        ((self.0 >> 32) as u32, self.0 as u32)
    }
}

/// The position of one node.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Entry {
    /// Hash of the node's file-local JSON pointer (see [`child_hash`]).
    pub(crate) hash: u64,
    /// Where the node starts.
    pub(crate) node: Position,
    /// Where the mapping key naming the node starts (the node itself for list
    /// items and the root).
    pub(crate) key: Position,
}

/// Collects the entries of one file while it is parsed.
///
/// The entries of an item of a top-level list section are recorded between
/// [`Self::start_item`] and [`Self::end_item`], which sorts them. They go into
/// chunks of about [`Self::CHUNK`] entries rather than one growing vector (a
/// vector that doubles holds up to three times the entries at the moment it
/// grows, and there are millions); an item is never split between chunks.
#[derive(Debug, Default)]
pub(crate) struct EntryCollector {
    positions: FilePositions,
    /// The chunk being filled.
    current: Vec<Entry>,
    /// The item being recorded: its section and where its entries start in `current`.
    open: Option<(&'static str, usize)>,
}

impl EntryCollector {
    /// Entries per chunk (1.5 MiB).
    const CHUNK: usize = 1 << 16;

    /// Adds an entry (to the item being recorded, if any).
    pub(crate) fn push(&mut self, entry: Entry) {
        if self.open.is_some() {
            self.current.push(entry);
        } else {
            self.positions.rest.push(entry);
        }
    }

    /// Starts recording the next item of list section `section` (whose items are
    /// numbered in the order they are started).
    pub(crate) fn start_item(&mut self, section: &'static str) {
        if self.current.len() >= Self::CHUNK {
            self.seal();
        }
        self.open = Some((section, self.current.len()));
    }

    /// Ends the item being recorded, sorting its entries for lookups.
    pub(crate) fn end_item(&mut self) {
        let Some((section, start)) = self.open.take() else {
            return;
        };
        self.current[start..].sort_unstable_by_key(|e| (e.hash, e.key));
        let group = Group {
            chunk: self.positions.chunks.len(),
            start,
            end: self.current.len(),
        };
        let sections = &mut self.positions.sections;
        match sections.iter_mut().find(|(name, _)| *name == section) {
            Some((_, groups)) => groups.push(group),
            None => sections.push((section, vec![group])),
        }
    }

    /// Moves the chunk being filled to the full ones.
    fn seal(&mut self) {
        let mut full = std::mem::take(&mut self.current);
        // A large item may have doubled the chunk's capacity.
        full.shrink_to_fit();
        self.positions.chunks.push(full);
    }

    /// The positions collected, ready for lookups.
    #[must_use]
    pub(crate) fn finish(mut self) -> FilePositions {
        self.end_item();
        if !self.current.is_empty() {
            self.seal();
        }
        let mut positions = self.positions;
        positions.rest.sort_unstable_by_key(|e| (e.hash, e.key));
        positions.rest.shrink_to_fit();
        positions
    }
}

/// The positions of the nodes of one file, keyed by file-local pointer hash.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilePositions {
    /// The entries of the items of list sections, each item's sorted by (hash, key).
    chunks: Vec<Vec<Entry>>,
    /// Where the entries of each item are, by list section and item index.
    sections: Vec<(&'static str, Vec<Group>)>,
    /// The other entries, sorted by (hash, key).
    rest: Vec<Entry>,
}

/// Where the entries of one item are.
#[derive(Debug, Clone, Copy)]
struct Group {
    chunk: usize,
    start: usize,
    end: usize,
}

impl FilePositions {
    /// Positions from `entries`, in any order, as if none were in an item.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn from_entries(mut entries: Vec<Entry>) -> Self {
        entries.sort_unstable_by_key(|e| (e.hash, e.key));
        Self {
            rest: entries,
            ..Self::default()
        }
    }

    /// The number of positions recorded.
    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum::<usize>() + self.rest.len()
    }

    /// The entries of the item the file-local pointer made of `segments` is in
    /// (or is), if it is in an item of a list section.
    fn item_entries<'p>(&self, mut segments: impl Iterator<Item = Segment<'p>>) -> &[Entry] {
        let Some(section) = segments.next() else {
            return &[];
        };
        let section = section.text();
        let group = self
            .sections
            .iter()
            .find(|(name, _)| *name == section)
            .zip(segments.next().and_then(|segment| segment.index()))
            .and_then(|((_, groups), index)| groups.get(index));
        match group {
            Some(group) => &self.chunks[group.chunk][group.start..group.end],
            None => &[],
        }
    }

    /// The first declared entry for the pointer hashing to `hash`, `depth`
    /// segments deep, whose item's entries are `item` (depth 2 is an item itself).
    fn first(&self, hash: u64, depth: usize, item: &[Entry]) -> Option<Entry> {
        let in_item = if depth >= 2 {
            first_in(item, hash)
        } else {
            None
        };
        // A repeated section's items are among the rest: the earlier key wins.
        match (in_item, first_in(&self.rest, hash)) {
            (Some(a), Some(b)) => Some(if b.key < a.key { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// Every entry recorded for the node at the file-local `pointer` (more than
    /// one only when a mapping repeats a key), in the order they are declared.
    pub(crate) fn all_at(&self, pointer: &str) -> Vec<Entry> {
        let Some(segments) = segments_of(pointer, None) else {
            return Vec::new();
        };
        let hash = segments
            .clone()
            .fold(ROOT_HASH, |parent, segment| segment.hash(parent));
        let depth = segments.clone().count();
        let item = if depth >= 2 {
            self.item_entries(segments)
        } else {
            &[]
        };
        let mut found: Vec<Entry> = [item, &self.rest]
            .into_iter()
            .flat_map(|entries| all_in(entries, hash))
            .copied()
            .collect();
        found.sort_unstable_by_key(|e| e.key);
        found
    }

    /// The entry of the node at the file-local pointer made of `segments`, or of
    /// its nearest recorded ancestor (the first declared one, if several).
    fn nearest<'p>(&self, segments: impl Iterator<Item = Segment<'p>> + Clone) -> Option<Entry> {
        let item = self.item_entries(segments.clone());
        // The node itself nearly always exists: looked up without allocating.
        let (hash, depth) = segments
            .clone()
            .fold((ROOT_HASH, 0), |(parent, depth), segment| {
                (segment.hash(parent), depth + 1)
            });
        if let Some(entry) = self.first(hash, depth, item) {
            return Some(entry);
        }
        let ancestors: Vec<u64> = std::iter::once(ROOT_HASH)
            .chain(segments.scan(ROOT_HASH, |parent, segment| {
                *parent = segment.hash(*parent);
                Some(*parent)
            }))
            .collect();
        ancestors
            .iter()
            .enumerate()
            .rev()
            .skip(1)
            .find_map(|(depth, &hash)| self.first(hash, depth, item))
    }
}

/// The entries of `sorted` (by hash) whose hash is `hash`.
fn all_in(sorted: &[Entry], hash: u64) -> &[Entry] {
    let start = sorted.partition_point(|e| e.hash < hash);
    let run = sorted[start..]
        .iter()
        .take_while(|e| e.hash == hash)
        .count();
    &sorted[start..start + run]
}

/// The first declared of the entries of `sorted` (by hash, then key) whose hash is `hash`.
fn first_in(sorted: &[Entry], hash: u64) -> Option<Entry> {
    all_in(sorted, hash).first().copied()
}

/// One segment of a pointer being resolved.
#[derive(Clone)]
enum Segment<'p> {
    /// As the pointer writes it, unescaped.
    Text(Cow<'p, str>),
    /// A list index, given as a number.
    Index(usize),
}

impl Segment<'_> {
    /// The list index the segment stands for, if any.
    fn index(&self) -> Option<usize> {
        match self {
            Self::Text(text) => parse_index(text),
            Self::Index(index) => Some(*index),
        }
    }

    /// The segment as a pointer writes it (unescaped).
    fn text(&self) -> Cow<'_, str> {
        match self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Index(index) => Cow::Owned(index.to_string()),
        }
    }

    /// The hash of the pointer `parent + "/" + self` (see [`child_hash`]).
    fn hash(&self, parent: u64) -> u64 {
        match self {
            Self::Text(text) => child_hash(parent, text.as_bytes()),
            Self::Index(index) => index_hash(parent, *index),
        }
    }
}

/// The hash of the root pointer `""`.
pub(crate) const ROOT_HASH: u64 = 0x243F_6A88_85A3_08D3;

/// The hash of the pointer `parent + "/" + segment`, where `segment` is the raw
/// (unescaped) key, or the decimal index of a list item.
///
/// A segment written as a list index (`0`, `17`; no leading zero) hashes as
/// [`index_hash`] says, whether it names a list item or a mapping key: the hash
/// depends on the pointer's text only, as a lookup knows nothing else.
#[must_use]
pub(crate) fn child_hash(parent: u64, segment: &[u8]) -> u64 {
    if let Some(index) = decimal_index(segment) {
        return index_hash(parent, index);
    }
    let mut hasher = FxHasher::default();
    hasher.write(segment);
    // FxHash is a fast multiply-add; chaining it directly would keep its
    // linearity from level to level, so the chain goes through a finaliser
    // that mixes every bit.
    mix(parent.rotate_left(23) ^ hasher.finish())
}

/// The hash of list item `index` under `parent`.
///
/// Runs of [`RUN`] consecutive items share the high bits of their hashes, so
/// among entries sorted by hash they are side by side: the rules walk lists in
/// order, and a run of items then costs a cache miss or two instead of one per
/// item. The lowest bits are the item's place in its run, so the items of a run
/// never collide with each other.
#[must_use]
pub(crate) fn index_hash(parent: u64, index: usize) -> u64 {
    const RUN_BITS: u32 = RUN.trailing_zeros();
    // usize is at most 64 bits on every platform Rust supports.
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    let run = mix(parent.rotate_left(17) ^ (index >> RUN_BITS) ^ 0x9E37_79B9_7F4A_7C15);
    let item = mix(parent ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    (run & !ITEM_BITS) | (item & ITEM_BITS & !(RUN - 1)) | (index & (RUN - 1))
}

/// Consecutive list items whose hashes share their high bits (a power of two).
const RUN: u64 = 16;

/// The low bits of an item hash that differ within a run; the other 40 are the run's.
const ITEM_BITS: u64 = (1 << 24) - 1;

/// splitmix64's finaliser: every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The list index a pointer segment writes, if it is written as one: decimal
/// digits without a leading zero (RFC 6901), small enough for a `usize`.
fn decimal_index(segment: &[u8]) -> Option<usize> {
    match segment {
        [b'0'] => Some(0),
        [b'1'..=b'9', rest @ ..] if rest.len() < 18 && rest.iter().all(u8::is_ascii_digit) => Some(
            segment
                .iter()
                .fold(0, |n, digit| n * 10 + usize::from(digit - b'0')),
        ),
        _ => None,
    }
}

/// Appends `/segment` to `pointer`, escaping `~` and `/` (RFC 6901).
pub(crate) fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    if segment.contains(['~', '/']) {
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(segment);
    }
}

/// The unescaped segments of a JSON pointer; `None` for a malformed one.
fn split_pointer(pointer: &str) -> Option<Vec<Cow<'_, str>>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|segment| {
                if segment.contains('~') {
                    Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
                } else {
                    Cow::Borrowed(segment)
                }
            })
            .collect(),
    )
}

/// The segments of `pointer` followed by list index `item`, if given; `None` for
/// a malformed pointer. Nothing is allocated unless a segment holds an escape.
fn segments_of(
    pointer: &str,
    item: Option<usize>,
) -> Option<impl Iterator<Item = Segment<'_>> + Clone> {
    let written = if pointer.is_empty() {
        None
    } else {
        Some(pointer.strip_prefix('/')?.split('/'))
    };
    let written = written.into_iter().flatten().map(|segment| {
        Segment::Text(if segment.contains('~') {
            Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(segment)
        })
    });
    Some(written.chain(item.map(Segment::Index)))
}

/// A list index as JSON pointers write it (decimal, no leading zeros).
fn parse_index(segment: &str) -> Option<usize> {
    if segment.len() > 1 && segment.starts_with('0') {
        return None;
    }
    if !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(segments: &[&str]) -> u64 {
        segments
            .iter()
            .fold(ROOT_HASH, |h, s| child_hash(h, s.as_bytes()))
    }

    #[test]
    fn index_hash_is_the_hash_of_the_decimal_segment() {
        for index in [0, 7, 10, 730, 123_456_789] {
            assert_eq!(
                index_hash(ROOT_HASH, index),
                child_hash(ROOT_HASH, index.to_string().as_bytes())
            );
        }
        // Not written as an index: a key like any other.
        assert_ne!(child_hash(ROOT_HASH, b"07"), index_hash(ROOT_HASH, 7));
        assert_ne!(child_hash(ROOT_HASH, b"07"), child_hash(ROOT_HASH, b"7 "));
    }

    #[test]
    fn runs_of_items_are_side_by_side_and_never_collide() {
        let parent = child_hash(ROOT_HASH, b"members");
        let hashes: Vec<u64> = (0..64).map(|i| index_hash(parent, i)).collect();
        for run in hashes.chunks(16) {
            assert!(run.iter().all(|h| h >> 24 == run[0] >> 24));
        }
        assert_ne!(hashes[0] >> 24, hashes[16] >> 24);
        let mut distinct = hashes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), hashes.len());
        // Another list's items are elsewhere.
        let other = child_hash(ROOT_HASH, b"projects");
        assert_ne!(index_hash(other, 0) >> 24, hashes[0] >> 24);
    }

    #[test]
    fn pointers_split_and_unescape() {
        let segments = split_pointer("/a~1b/c~0d/~01").expect("valid");
        assert_eq!(segments, vec!["a/b", "c~d", "~1"]);
        assert_eq!(split_pointer(""), Some(vec![]));
        assert_eq!(split_pointer("no-slash"), None);
        let mut pointer = String::new();
        push_segment(&mut pointer, "a/b~c");
        assert_eq!(pointer, "/a~1b~0c");
    }

    #[test]
    fn items_are_looked_up_among_their_own_entries() {
        let entry = |segments: &[&str], line| Entry {
            hash: hash_of(segments),
            node: Position::new(line, 5),
            key: Position::new(line, 3),
        };
        let mut collector = EntryCollector::default();
        collector.push(entry(&[], 1));
        collector.push(entry(&["members"], 1));
        for (index, line) in [(0, 2), (1, 4)] {
            let i = index.to_string();
            collector.start_item("members");
            collector.push(entry(&["members", &i], line));
            collector.push(entry(&["members", &i, "email"], line));
            collector.push(entry(&["members", &i, "role"], line + 1));
            collector.end_item();
        }
        // A repeated `members` key: its items are recorded outside any item.
        collector.push(entry(&["members"], 6));
        collector.push(entry(&["members", "0"], 7));
        collector.push(entry(&["members", "0", "company"], 7));
        let positions = collector.finish();
        assert_eq!(positions.len(), 11);
        let mut map = SourceMap::default();
        let file = map.push_file("a.yaml".into(), positions);
        map.set_root_file(file);
        map.add_list_piece("members", file, 0, 2);

        let line = |pointer| map.locate(pointer).map(|l| l.line);
        assert_eq!(line("/members/1/role"), Some(5));
        assert_eq!(line("/members/1"), Some(4));
        // Missing: the item, then the section.
        assert_eq!(line("/members/1/company"), Some(4));
        assert_eq!(line("/members/5/email"), Some(1));
        // The first declaration wins; what only the repeat holds is found there.
        assert_eq!(line("/members/0/email"), Some(2));
        assert_eq!(line("/members/0/company"), Some(7));
        assert_eq!(map.locate_item("/members", 1).map(|l| l.line), Some(4));
        let file_positions = &map.files[file].positions;
        let repeats: Vec<u32> = file_positions
            .all_at("/members")
            .iter()
            .map(|e| e.node.unpack().0)
            .collect();
        assert_eq!(repeats, [1, 6]);
        assert_eq!(file_positions.all_at("/members/0").len(), 2);
    }

    #[test]
    fn list_indices_map_to_the_file_that_holds_them() {
        let entry = |segments: &[&str], line| Entry {
            hash: hash_of(segments),
            node: Position::new(line, 5),
            key: Position::new(line, 3),
        };
        let mut map = SourceMap::default();
        let first = map.push_file(
            "a.yaml".into(),
            FilePositions::from_entries(vec![
                entry(&[], 1),
                entry(&["members"], 1),
                entry(&["members", "0"], 2),
                entry(&["members", "1"], 3),
            ]),
        );
        let second = map.push_file(
            "b.yaml".into(),
            FilePositions::from_entries(vec![
                entry(&[], 1),
                entry(&["members"], 1),
                entry(&["members", "0"], 2),
                entry(&["members", "0", "email"], 4),
            ]),
        );
        map.set_root_file(first);
        map.add_list_piece("members", first, 0, 2);
        map.add_list_piece("members", second, 2, 1);

        let at = |pointer| map.locate(pointer).map(|l| (l.file.to_string(), l.line));
        assert_eq!(at("/members/1"), Some(("a.yaml".into(), 3)));
        assert_eq!(at("/members/2/email"), Some(("b.yaml".into(), 4)));
        // A missing field locates its nearest ancestor.
        assert_eq!(at("/members/2/role"), Some(("b.yaml".into(), 2)));
        // A missing item locates the section.
        assert_eq!(at("/members/9"), Some(("a.yaml".into(), 1)));
        assert_eq!(at("/nothing"), Some(("a.yaml".into(), 1)));
        assert_eq!(
            map.locate_key("/members/2/email").map(|l| l.column),
            Some(3)
        );
        assert_eq!(
            map.merged_pointer(second, "/members/0/email").as_deref(),
            Some("/members/2/email")
        );
        for index in 0..4 {
            assert_eq!(
                map.locate_item("/members", index),
                map.locate(&format!("/members/{index}"))
            );
        }
    }

    /// `list_items(list).locate(i)` is `locate_item(list, i)` for every list and
    /// index, present or not, in either file of a merged list section; a list inside
    /// an item is resolved once.
    #[test]
    fn the_items_of_a_list_are_located_as_one_by_one() {
        let entry = |segments: &[&str], line| Entry {
            hash: hash_of(segments),
            node: Position::new(line, 5),
            key: Position::new(line, 3),
        };
        let project = |collector: &mut EntryCollector, p: &str, line: u32, members: u32| {
            collector.start_item("projects");
            collector.push(entry(&["projects", p], line));
            collector.push(entry(&["projects", p, "members"], line + 1));
            for m in 0..members {
                let m_text = m.to_string();
                collector.push(entry(&["projects", p, "members", &m_text], line + 2 + m));
            }
            collector.end_item();
        };
        let mut map = SourceMap::default();
        let mut a = EntryCollector::default();
        a.push(entry(&[], 1));
        a.push(entry(&["projects"], 1));
        project(&mut a, "0", 2, 2);
        project(&mut a, "1", 6, 1);
        let first = map.push_file("a.yaml".into(), a.finish());
        let mut b = EntryCollector::default();
        b.push(entry(&[], 1));
        b.push(entry(&["projects"], 1));
        project(&mut b, "0", 2, 3);
        let second = map.push_file("b.yaml".into(), b.finish());
        map.set_root_file(first);
        map.add_list_piece("projects", first, 0, 2);
        map.add_list_piece("projects", second, 2, 1);

        for p in 0..4 {
            let list = format!("/projects/{p}/members");
            let items = map.list_items(&list);
            assert_eq!(items.has_shortcut(), p < 3, "{list}");
            for m in 0..5 {
                assert_eq!(items.locate(m), map.locate_item(&list, m), "{list}/{m}");
            }
        }
        let third = map.list_items("/projects/2/members").locate(2);
        assert_eq!(
            third.map(|l| (l.file.to_string(), l.line)),
            Some(("b.yaml".into(), 6))
        );
        let top = map.list_items("/projects");
        assert!(top.has_shortcut());
        for p in 0..4 {
            assert_eq!(
                top.locate(p),
                map.locate_item("/projects", p),
                "/projects/{p}"
            );
        }
        assert_eq!(
            top.locate(2).map(|l| (l.file.to_string(), l.line)),
            Some(("b.yaml".into(), 2))
        );
    }
}
