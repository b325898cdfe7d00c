//! YAML documents with source positions.
//!
//! `analyze` must point at `file:line` for every finding, name both lines of a duplicate key and
//! refuse hostile input (alias bombs, deep nesting, huge documents) in bounded time and memory. No
//! serde YAML crate gives all of that, so we drive `saphyr-parser`'s event stream ourselves and
//! build a small tree where every node and every mapping key remembers its line and column.
//!
//! Plain scalars resolve the way Kubernetes reads YAML (sigs.k8s.io/yaml, i.e. YAML 1.1 on top of
//! go-yaml): `yes`/`on` are booleans, `0755` is octal, `~` is null.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A position in a source text: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Mark {
    pub line: u32,
    pub col: u32,
}

impl Mark {
    fn from_span(span: &Span) -> Mark {
        Mark {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// A mapping entry; the key keeps its own position because Istio reports field lines at the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One document of a YAML stream.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// Line of the first content of the document (after any `---`).
    pub start_line: u32,
}

/// Bounds that keep hostile input cheap to refuse.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings, aliases included: every recursion over a
    /// [`Node`] is bounded by it.
    pub max_depth: usize,
    /// Largest document, in bytes of source text.
    pub max_document_bytes: usize,
    /// Nodes that copying may add to one stream, on top of the nodes written out: each alias
    /// costs its anchor's full expanded size, and an anchor nested in another its size again.
    /// A scalar counts one node per 64 bytes.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 200,
            max_document_bytes: 10 * 1024 * 1024,
            max_alias_nodes: 100_000,
        }
    }
}

/// What went wrong in one document. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("{line}:{col}: {message}")]
    Syntax {
        line: u32,
        col: u32,
        message: String,
    },
    #[error(
        "{line}:{col}: duplicate key {key:?} in a mapping (first defined at line {first_line}); remove one of them"
    )]
    DuplicateKey {
        key: String,
        line: u32,
        col: u32,
        first_line: u32,
    },
    #[error("{line}:{col}: nesting deeper than {limit} levels is refused")]
    TooDeep { line: u32, col: u32, limit: usize },
    #[error(
        "{line}:{col}: aliases expand to more than {limit} nodes; refusing a possible alias bomb"
    )]
    AliasBomb { line: u32, col: u32, limit: usize },
    #[error("{line}:{col}: alias refers to an unknown anchor")]
    UnknownAnchor { line: u32, col: u32 },
    #[error("{line}:{col}: mapping keys must be scalars")]
    ComplexKey { line: u32, col: u32 },
    #[error(
        "{line}:1: document is larger than {limit_mib} MiB ({size} bytes); split it or remove unrelated content"
    )]
    TooLarge {
        line: u32,
        size: usize,
        limit_mib: usize,
    },
}

impl YamlError {
    /// Line the error is reported at.
    pub fn line(&self) -> u32 {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::DuplicateKey { line, .. }
            | YamlError::TooDeep { line, .. }
            | YamlError::AliasBomb { line, .. }
            | YamlError::UnknownAnchor { line, .. }
            | YamlError::ComplexKey { line, .. }
            | YamlError::TooLarge { line, .. } => *line,
        }
    }
}

/// The documents of one stream. A broken document does not hide the ones before it; a syntax
/// error ends the stream (the scanner cannot resynchronise), other errors skip one document.
#[derive(Debug, Default)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub errors: Vec<YamlError>,
}

/// A sequence or mapping whose end event has not come yet.
struct Frame {
    mark: Mark,
    anchor: usize,
    /// Running totals over the children written so far; see [`Built`].
    weight: usize,
    height: usize,
    anchored: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map(MapBody),
}

struct MapBody {
    entries: Vec<Entry>,
    /// The key waiting for its value, and the index of the merged entry it will replace.
    pending_key: Option<(String, Mark, Option<usize>)>,
    index: Option<HashMap<String, usize>>,
    /// `merged[i]` says `entries[i]` came from a `<<` merge, so a written key may replace it
    /// instead of being a duplicate. Empty until the first merge; missing entries are written.
    merged: Vec<bool>,
}

/// A finished node and what the limits need to know about it, so that nothing walks the tree
/// again to find out.
struct Built {
    node: Node,
    /// Cost of one copy: nodes (and keys) in the subtree, with a scalar counting one more node
    /// per [`BYTES_PER_NODE`] bytes so that copying a long string is not nearly free.
    weight: usize,
    /// Levels of sequences and mappings in the subtree (0 for a scalar).
    height: usize,
    /// Part of `weight` that an anchor already keeps a copy of; copying the subtree again for an
    /// enclosing anchor duplicates that part.
    anchored: usize,
}

/// What an alias copies.
struct Anchor {
    node: Node,
    weight: usize,
    height: usize,
}

/// Maps above this many keys get a hash index for key lookups; below it a scan is cheaper.
const INDEX_THRESHOLD: usize = 16;

/// Scalar bytes that count as one node in the alias budget.
const BYTES_PER_NODE: usize = 64;

struct Builder {
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchor>,
    /// Copying charged to the alias budget so far. Kept across documents: the budget bounds what
    /// one stream can make us hold, and a stream may hold many documents.
    alias_nodes: usize,
    /// Set when the current document is being skipped after an error.
    skipping: bool,
    root: Option<Node>,
    doc_start_line: u32,
}

/// Parses every document of `text`.
pub fn parse_stream(text: &str, limits: Limits) -> Stream {
    let mut out = Stream::default();
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        skipping: false,
        root: None,
        doc_start_line: 1,
    };
    let mut offsets = ByteOffsets {
        text,
        chars: 0,
        bytes: 0,
    };
    let mut size = DocumentSize {
        limit: limits.max_document_bytes,
        start_char: 0,
        start_byte: None,
    };
    // A document can only be too large when the whole text is, so small inputs skip the check.
    let check_size = text.len() > limits.max_document_bytes;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(err) => {
                let marker = err.marker();
                out.errors.push(YamlError::Syntax {
                    line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
                    col: u32::try_from(marker.col() + 1).unwrap_or(u32::MAX),
                    message: err.info().to_string(),
                });
                return out;
            }
        };
        match event {
            Event::DocumentStart(_) => {
                builder.start_document(&span);
                size.start_char = span.start.index();
                size.start_byte = None;
            }
            Event::DocumentEnd => {
                if !builder.skipping {
                    let too_large = if check_size {
                        size.exceeded(&mut offsets, span.end.index())
                    } else {
                        None
                    };
                    if let Some(size) = too_large {
                        out.errors.push(YamlError::TooLarge {
                            line: builder.doc_start_line,
                            size,
                            limit_mib: limits.max_document_bytes / (1024 * 1024),
                        });
                    } else if let Some(root) = builder.root.take() {
                        out.documents.push(Document {
                            start_line: root.mark.line,
                            root,
                        });
                    }
                }
                builder.end_document();
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            other => {
                if builder.skipping {
                    continue;
                }
                if check_size && let Some(size) = size.exceeded(&mut offsets, span.start.index()) {
                    out.errors.push(YamlError::TooLarge {
                        line: builder.doc_start_line,
                        size,
                        limit_mib: limits.max_document_bytes / (1024 * 1024),
                    });
                    builder.skip();
                    continue;
                }
                let mut mark = Mark::from_span(&span);
                if let Event::Scalar(value, ScalarStyle::Literal | ScalarStyle::Folded, 0, None) =
                    &other
                {
                    mark = block_scalar_mark(&mut offsets, &span, value);
                }
                if let Err(err) = builder.event(other, mark) {
                    out.errors.push(err);
                    builder.skip();
                }
            }
        }
    }
    out
}

/// Converts saphyr's character offsets into byte offsets of the text. Offsets are asked for
/// roughly in source order, so walking from the previous answer keeps the total work linear.
struct ByteOffsets<'a> {
    text: &'a str,
    chars: usize,
    bytes: usize,
}

impl ByteOffsets<'_> {
    fn byte_of(&mut self, char_index: usize) -> usize {
        if char_index > self.chars {
            let rest = self.text.get(self.bytes..).unwrap_or_default();
            match rest.char_indices().nth(char_index - self.chars) {
                Some((offset, _)) => {
                    self.bytes += offset;
                    self.chars = char_index;
                }
                // Past the last character (an end mark): the end of the text.
                None => {
                    self.chars += rest.chars().count();
                    self.bytes = self.text.len();
                }
            }
        }
        while self.chars > char_index {
            let before = self.text.get(..self.bytes).unwrap_or_default();
            let Some(c) = before.chars().next_back() else {
                break;
            };
            self.bytes -= c.len_utf8();
            self.chars -= 1;
        }
        self.bytes
    }
}

/// Measures the current document in bytes: saphyr counts characters, and multi-byte text would
/// otherwise pass the limit at up to four times its size.
struct DocumentSize {
    limit: usize,
    start_char: usize,
    /// Byte offset of `start_char`, found on the first check that needs it.
    start_byte: Option<usize>,
}

impl DocumentSize {
    /// The document's size up to `end_char` when that is over the limit.
    fn exceeded(&mut self, offsets: &mut ByteOffsets<'_>, end_char: usize) -> Option<usize> {
        // A character is at most 4 bytes, so short documents need no counting.
        let chars = end_char.saturating_sub(self.start_char);
        if chars.saturating_mul(4) <= self.limit {
            return None;
        }
        let start = match self.start_byte {
            Some(start) => start,
            None => {
                let start = offsets.byte_of(self.start_char);
                self.start_byte = Some(start);
                start
            }
        };
        let size = offsets.byte_of(end_char).saturating_sub(start);
        (size > self.limit).then_some(size)
    }
}

/// Where a `|` or `>` block scalar starts. saphyr's span starts at the first content line, but
/// go-yaml (and so Istio) puts the node at its indicator: on the header line, the nearest line
/// before the content that is not blank. Only used without an anchor or tag, whose span already
/// starts on the header line.
fn block_scalar_mark(offsets: &mut ByteOffsets<'_>, span: &Span, value: &str) -> Mark {
    let mark = Mark::from_span(span);
    let text = offsets.text;
    let start = offsets.byte_of(span.start.index());
    let before = text.get(..start).unwrap_or_default();
    // An empty block scalar at the end of the stream has its span at the indicator already.
    let at_indicator = matches!(
        text.get(start..).and_then(|t| t.chars().next()),
        Some('|' | '>')
    );
    if at_indicator && value.chars().all(|c| c == '\n') {
        return mark;
    }
    // Back over the indentation and any blank lines, counting line breaks (`\r\n` is one).
    let mut breaks: u32 = 0;
    let mut header_end = 0;
    let mut after = None;
    for (i, c) in before.char_indices().rev() {
        match c {
            ' ' | '\t' => {}
            '\n' => breaks = breaks.saturating_add(1),
            '\r' if after != Some('\n') => breaks = breaks.saturating_add(1),
            '\r' => {}
            _ => {
                header_end = i + c.len_utf8();
                break;
            }
        }
        after = Some(c);
    }
    if breaks == 0 {
        return mark;
    }
    let header_start = before
        .get(..header_end)
        .and_then(|h| h.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1);
    let header = text.get(header_start..header_end).unwrap_or_default();
    Mark {
        line: mark.line.saturating_sub(breaks).max(1),
        col: indicator_col(header),
    }
}

/// 1-based column (in characters) of the block scalar indicator in its header line: the first
/// `|` or `>` that starts a word and is followed only by chomping or indentation indicators, then
/// a comment or nothing.
fn indicator_col(header: &str) -> u32 {
    let mut prev = ' ';
    for (col, (i, c)) in header.char_indices().enumerate() {
        if matches!(c, '|' | '>') && matches!(prev, ' ' | '\t') {
            let rest = header.get(i + 1..).unwrap_or_default();
            let rest =
                rest.trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len()) {
                return u32::try_from(col + 1).unwrap_or(u32::MAX);
            }
        }
        prev = c;
    }
    // Not recognisable (a quoted key playing tricks): the start of the line's content.
    let indent = header
        .chars()
        .take_while(|c| matches!(c, ' ' | '\t'))
        .count();
    u32::try_from(indent + 1).unwrap_or(u32::MAX)
}

/// Cost of a scalar for the alias budget; see [`Built::weight`].
fn scalar_weight(value: &Value) -> usize {
    match value {
        Value::String(s) => 1 + s.len() / BYTES_PER_NODE,
        _ => 1,
    }
}

impl Builder {
    fn start_document(&mut self, span: &Span) {
        self.stack.clear();
        self.anchors.clear();
        self.skipping = false;
        self.root = None;
        self.doc_start_line = Mark::from_span(span).line;
    }

    /// Anchors do not outlive their document; their copies are freed here rather than when the
    /// next document starts.
    fn end_document(&mut self) {
        self.stack.clear();
        self.anchors.clear();
        self.root = None;
    }

    fn skip(&mut self) {
        self.skipping = true;
        self.stack.clear();
        self.anchors.clear();
        self.root = None;
    }

    /// Adds `weight` to the copying done for this stream, refusing it (before anything is
    /// copied) when that passes the alias budget.
    fn charge(&mut self, weight: usize, mark: Mark) -> Result<(), YamlError> {
        self.alias_nodes = self.alias_nodes.saturating_add(weight);
        if self.alias_nodes > self.limits.max_alias_nodes {
            return Err(YamlError::AliasBomb {
                line: mark.line,
                col: mark.col,
                limit: self.limits.max_alias_nodes,
            });
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, mark: Mark) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag_suffix = tag.as_ref().map(|t| t.suffix.as_str());
                // Mapping keys keep their text: Kubernetes keys are strings, and `y:` or `on:`
                // must not turn into "true".
                let is_key = matches!(
                    self.stack.last(),
                    Some(Frame {
                        body: Body::Map(MapBody {
                            pending_key: None,
                            ..
                        }),
                        ..
                    })
                );
                let value = if is_key {
                    Value::String(text.into_owned())
                } else if style == ScalarStyle::Plain {
                    match tag_suffix {
                        Some("str") => Value::String(text.into_owned()),
                        _ => resolve_plain(&text),
                    }
                } else {
                    match tag_suffix {
                        Some("int") | Some("float") | Some("bool") | Some("null") => {
                            resolve_plain(&text)
                        }
                        _ => Value::String(text.into_owned()),
                    }
                };
                let weight = scalar_weight(&value);
                let node = Node { value, mark };
                let mut anchored = 0;
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        Anchor {
                            node: node.clone(),
                            weight,
                            height: 0,
                        },
                    );
                    anchored = weight;
                }
                self.push(Built {
                    node,
                    weight,
                    height: 0,
                    anchored,
                })
            }
            Event::Alias(id) => {
                let Some(&Anchor { weight, height, .. }) = self.anchors.get(&id) else {
                    return Err(YamlError::UnknownAnchor {
                        line: mark.line,
                        col: mark.col,
                    });
                };
                // The copy lands below every open collection; were it allowed past the depth
                // limit, recursive code over the tree (to_json, deserialization, even drop)
                // could overflow the stack.
                if self.stack.len().saturating_add(height) > self.limits.max_depth {
                    return Err(YamlError::TooDeep {
                        line: mark.line,
                        col: mark.col,
                        limit: self.limits.max_depth,
                    });
                }
                self.charge(weight, mark)?;
                let Some(anchor) = self.anchors.get(&id) else {
                    return Err(YamlError::UnknownAnchor {
                        line: mark.line,
                        col: mark.col,
                    });
                };
                // The alias is the node at this place: findings point at the alias line.
                let node = Node {
                    value: anchor.node.value.clone(),
                    mark,
                };
                self.push(Built {
                    node,
                    weight,
                    height,
                    anchored: 0,
                })
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(mark)?;
                self.stack
                    .push(Frame::new(mark, anchor, Body::Seq(Vec::new())));
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(mark)?;
                let body = Body::Map(MapBody {
                    entries: Vec::new(),
                    pending_key: None,
                    index: None,
                    merged: Vec::new(),
                });
                self.stack.push(Frame::new(mark, anchor, body));
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let value = match frame.body {
                    Body::Seq(items) => Value::Seq(items),
                    Body::Map(map) => Value::Map(map.entries),
                };
                let node = Node {
                    value,
                    mark: frame.mark,
                };
                let weight = frame.weight.saturating_add(1);
                let height = frame.height.saturating_add(1);
                let mut anchored = frame.anchored;
                if frame.anchor != 0 {
                    // Keeping this copy duplicates what anchors inside already keep; anchors
                    // nested a few hundred deep around a big subtree would otherwise copy it a
                    // few hundred times, with no alias at all.
                    self.charge(anchored, frame.mark)?;
                    self.anchors.insert(
                        frame.anchor,
                        Anchor {
                            node: node.clone(),
                            weight,
                            height,
                        },
                    );
                    anchored = weight;
                }
                self.push(Built {
                    node,
                    weight,
                    height,
                    anchored,
                })
            }
            _ => Ok(()),
        }
    }

    fn check_depth(&self, mark: Mark) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::TooDeep {
                line: mark.line,
                col: mark.col,
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    /// Attaches a finished node to its parent (or makes it the document root).
    fn push(&mut self, built: Built) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(built.node);
            return Ok(());
        };
        frame.weight = frame.weight.saturating_add(built.weight);
        frame.anchored = frame.anchored.saturating_add(built.anchored);
        let node = built.node;
        let map = match &mut frame.body {
            Body::Seq(items) => {
                frame.height = frame.height.max(built.height);
                items.push(node);
                return Ok(());
            }
            Body::Map(map) => map,
        };
        match map.pending_key.take() {
            None => {
                let key = match node.value {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(YamlError::ComplexKey {
                            line: node.mark.line,
                            col: node.mark.col,
                        });
                    }
                };
                // `<<` may repeat (each merge adds what is still missing) and is never an entry.
                let mut replaces = None;
                if key != "<<"
                    && let Some(i) = map.find(&key)
                {
                    // A written key overrides a merged one whatever their order; two written keys
                    // are a mistake.
                    if !map.is_merged(i) {
                        return Err(YamlError::DuplicateKey {
                            key,
                            line: node.mark.line,
                            col: node.mark.col,
                            first_line: map.entries.get(i).map_or(0, |e| e.key_mark.line),
                        });
                    }
                    replaces = Some(i);
                }
                map.pending_key = Some((key, node.mark, replaces));
            }
            Some((key, key_mark, replaces)) => {
                if key == "<<" {
                    // Merged entries sit one level up from the mapping (or list of mappings)
                    // they came from.
                    let lift = match node.value {
                        Value::Map(_) => 1,
                        Value::Seq(_) => 2,
                        _ => built.height,
                    };
                    frame.height = frame.height.max(built.height.saturating_sub(lift));
                    map.merge(node);
                    return Ok(());
                }
                frame.height = frame.height.max(built.height);
                let entry = Entry {
                    key,
                    key_mark,
                    value: node,
                };
                match replaces.and_then(|i| map.entries.get_mut(i).map(|slot| (i, slot))) {
                    Some((i, slot)) => {
                        *slot = entry;
                        if let Some(merged) = map.merged.get_mut(i) {
                            *merged = false;
                        }
                    }
                    None => map.append(entry, false),
                }
            }
        }
        Ok(())
    }
}

impl Frame {
    fn new(mark: Mark, anchor: usize, body: Body) -> Frame {
        Frame {
            mark,
            anchor,
            weight: 0,
            height: 0,
            anchored: 0,
            body,
        }
    }
}

impl MapBody {
    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|e| e.key == key),
        }
    }

    fn is_merged(&self, i: usize) -> bool {
        self.merged.get(i).copied().unwrap_or(false)
    }

    /// Adds an entry whose key is not there yet, indexing the map once it is big enough for
    /// scans to cost more than hashing.
    fn append(&mut self, entry: Entry, merged: bool) {
        let i = self.entries.len();
        if let Some(index) = &mut self.index {
            index.insert(entry.key.clone(), i);
        } else if i >= INDEX_THRESHOLD {
            let mut index: HashMap<String, usize> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), i))
                .collect();
            index.insert(entry.key.clone(), i);
            self.index = Some(index);
        }
        if merged {
            self.merged.resize(i, false);
            self.merged.push(true);
        }
        self.entries.push(entry);
    }

    /// YAML 1.1 merge (`<<: *base` or `<<: [*a, *b]`): only keys not there yet are added, so
    /// written keys win and earlier sources win over later ones. Each key costs one lookup.
    /// The alias budget already paid for these entries when the aliases were copied.
    fn merge(&mut self, node: Node) {
        let sources = match node.value {
            Value::Map(map) => vec![map],
            Value::Seq(items) => items
                .into_iter()
                .filter_map(|n| match n.value {
                    Value::Map(map) => Some(map),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for source in sources {
            for entry in source {
                if self.find(&entry.key).is_none() {
                    self.append(entry, true);
                }
            }
        }
    }
}

/// Resolves an untagged plain scalar the way go-yaml v2 (YAML 1.1) does.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(s.to_string());
    }
    if let Some(i) = parse_int(s) {
        return Value::Int(i);
    }
    if is_float(s) {
        let cleaned: String = s.chars().filter(|c| *c != '_').collect();
        if let Ok(f) = cleaned.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::String(s.to_string())
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let (radix, digits) = if let Some(rest) = digits.strip_prefix("0x") {
        (16, rest.to_string())
    } else if let Some(rest) = digits.strip_prefix("0b") {
        (2, rest.to_string())
    } else if let Some(rest) = digits.strip_prefix("0o") {
        (8, rest.to_string())
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, digits[1..].to_string())
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -magnitude } else { magnitude })
}

fn is_float(s: &str) -> bool {
    // [-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let mut digits = 0;
    while i < b.len() && (b[i].is_ascii_digit() || (b[i] == b'_' && digits > 0)) {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// One step of a field path such as `spec.http[0].route[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits an Istio-style field path (`{.spec.http[0].route[1].destination.host}`) into steps.
pub fn split_path(path: &str) -> Vec<PathSeg<'_>> {
    let trimmed = path
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('.');
    let mut out = Vec::new();
    for part in trimmed.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            let key = &rest[..open];
            if !key.is_empty() {
                out.push(PathSeg::Key(key));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                if let Ok(i) = stripped[..close].parse() {
                    out.push(PathSeg::Index(i));
                }
                rest = &stripped[close + 1..];
            }
        } else if !rest.is_empty() {
            out.push(PathSeg::Key(rest));
        }
    }
    out
}

impl Node {
    /// Number of nodes in this subtree, a mapping entry's key counting as one.
    pub fn size(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>(),
            _ => 1,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Line of the scalar at `path`, as Istio's field map records it (only scalars have lines
    /// there, so a path to a mapping or list is `None` and callers fall back to the document).
    pub fn line_of(&self, path: &[PathSeg<'_>]) -> Option<u32> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(entries)) => {
                    &entries.iter().find(|e| e.key == *k)?.value
                }
                (PathSeg::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        match node.value {
            Value::Seq(_) | Value::Map(_) => None,
            _ => Some(node.mark.line),
        }
    }

    /// Converts the tree into JSON, the shape typed deserialization reads.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Stream {
        parse_stream(text, Limits::default())
    }

    #[test]
    fn documents_keep_their_lines() {
        let s = parse("a: 1\n---\nkind: Service\nmetadata:\n  name: x\n");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.documents.len(), 2);
        assert_eq!(s.documents[1].start_line, 3);
        let root = &s.documents[1].root;
        assert_eq!(
            root.line_of(&split_path("{.metadata.name}")),
            Some(5),
            "key line"
        );
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        assert_eq!(resolve_plain("yes"), Value::Bool(true));
        assert_eq!(resolve_plain("0755"), Value::Int(0o755));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("10s"), Value::String("10s".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("-"), Value::String("-".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::String("1.2.3".into()));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let s = parse("a: \"true\"\nb: '80'\n");
        let root = &s.documents[0].root;
        assert_eq!(root.get("a").and_then(Node::as_str), Some("true"));
        assert_eq!(root.get("b").and_then(Node::as_str), Some("80"));
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let s = parse("metadata:\n  name: a\n  labels: {}\n  name: b\n");
        assert_eq!(
            s.errors,
            vec![YamlError::DuplicateKey {
                key: "name".into(),
                line: 4,
                col: 3,
                first_line: 2
            }]
        );
        assert!(s.documents.is_empty());
    }

    #[test]
    fn duplicate_keys_are_found_in_big_maps() {
        let mut text: String = (0..40).map(|i| format!("k{i}: v\n")).collect();
        text.push_str("k7: again\n");
        let s = parse(&text);
        assert!(matches!(
            s.errors.as_slice(),
            [YamlError::DuplicateKey {
                first_line: 8,
                line: 41,
                ..
            }]
        ));
    }

    #[test]
    fn a_bad_document_does_not_hide_the_next() {
        let s = parse("a: 1\na: 2\n---\nb: 1\n");
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.documents.len(), 1);
        assert_eq!(s.documents[0].start_line, 4);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let s = parse("a: 1\nb: [1, 2\n");
        assert_eq!(s.errors.len(), 1);
        assert!(
            matches!(s.errors[0], YamlError::Syntax { .. }),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
        }
        let s = parse(&text);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::AliasBomb { .. }]),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Flow style: saphyr's scanner stops it; block style: our depth limit does.
        let flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let s = parse(&flow);
        assert!(
            !s.errors.is_empty() && s.documents.is_empty(),
            "{:?}",
            s.errors
        );
        let block: String = (0..300)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let s = parse(&block);
        assert!(
            matches!(
                s.errors.first(),
                Some(YamlError::TooDeep { limit: 200, .. })
            ),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let s = parse("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let json = s.documents[0].root.to_json();
        assert_eq!(json["derived"]["x"], 1);
        assert_eq!(json["derived"]["y"], 2);
    }

    #[test]
    fn oversized_documents_are_refused() {
        let limits = Limits {
            max_document_bytes: 64,
            ..Limits::default()
        };
        let big = format!("a: {}\n---\nb: 1\n", "x".repeat(100));
        let s = parse_stream(&big, limits);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::TooLarge { .. }]),
            "{:?}",
            s.errors
        );
        assert_eq!(s.documents.len(), 1);
    }

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            split_path("{.spec.http[0].route[12].destination.host}"),
            vec![
                PathSeg::Key("spec"),
                PathSeg::Key("http"),
                PathSeg::Index(0),
                PathSeg::Key("route"),
                PathSeg::Index(12),
                PathSeg::Key("destination"),
                PathSeg::Key("host"),
            ]
        );
    }

    /// Deepest nesting of sequences and mappings, counted without recursion so that the test
    /// itself survives a tree that is too deep.
    fn max_nesting(root: &Node) -> usize {
        let mut deepest = 0;
        let mut todo = vec![(root, 0usize)];
        while let Some((node, depth)) = todo.pop() {
            match &node.value {
                Value::Seq(items) => todo.extend(items.iter().map(|n| (n, depth + 1))),
                Value::Map(entries) => todo.extend(entries.iter().map(|e| (&e.value, depth + 1))),
                _ => deepest = deepest.max(depth),
            }
        }
        deepest
    }

    #[test]
    fn alias_chains_cannot_nest_deeper_than_the_limit() {
        // Each anchor wraps the previous alias in one more sequence: 6000 levels, written in a
        // few kilobytes, and within the alias budget long enough to pass the depth limit.
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..6000 {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let s = parse(&text);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::TooDeep { limit: 200, .. }]),
            "{:?}",
            s.errors
        );
        assert!(s.documents.is_empty());
        // Fewer anchors, 150 written levels each: far past the limit on a small alias budget.
        let mut text = String::from("a0: &a0 x\n");
        for i in 1..36 {
            let (open, close) = ("[".repeat(150), "]".repeat(150));
            text.push_str(&format!("a{i}: &a{i} {open}*a{}{close}\n", i - 1));
        }
        let s = parse(&text);
        assert!(
            matches!(
                s.errors.as_slice(),
                [YamlError::TooDeep {
                    line: 3,
                    limit: 200,
                    ..
                }]
            ),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn aliases_may_reach_the_depth_limit_and_no_further() {
        // `a` is 198 levels under the root mapping; one more sequence around the alias makes
        // exactly 200 levels, two make 201.
        let anchor = format!("a: &a {}x{}\n", "[".repeat(198), "]".repeat(198));
        let s = parse(&format!("{anchor}b: [*a]\n---\n{anchor}b: [[*a]]\n"));
        assert!(
            matches!(
                s.errors.as_slice(),
                [YamlError::TooDeep {
                    line: 5,
                    limit: 200,
                    ..
                }]
            ),
            "{:?}",
            s.errors
        );
        assert_eq!(s.documents.len(), 1);
        let root = s.documents.into_iter().next().map(|d| d.root);
        let Some(root) = root else { return };
        assert_eq!(max_nesting(&root), 200);
        // Recursive code over the deepest accepted tree (and dropping it) fits the 2 MiB stack
        // of the loader's worker threads.
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let json = root.to_json();
                let size = root.size();
                drop(root);
                (json.is_object(), size)
            });
        let result = worker.ok().map(|handle| handle.join());
        // The root, `a` with its 199 nodes, `b` with its list and the 199 copied nodes.
        assert!(matches!(result, Some(Ok((true, 402)))), "{result:?}");
    }

    #[test]
    fn nested_anchors_are_charged_before_copying() {
        // Every anchor keeps a copy of its subtree, so 60 anchors nested around 5000 items would
        // copy 300k nodes with no alias in sight.
        let items = vec!["1"; 5000].join(",");
        let opens: String = (0..60).map(|i| format!("&n{i} [")).collect();
        let text = format!("a: {opens}{items}{}\n", "]".repeat(60));
        let s = parse(&text);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::AliasBomb { .. }]),
            "{:?}",
            s.errors
        );
        // A billion laughs whose levels are defined inside each other: each level is the
        // previous one written out once and aliased nine times.
        let mut level = String::from("&l0 [x,x,x,x,x,x,x,x,x,x]");
        for i in 1..12 {
            level = format!("&l{i} [{level}{}]", format!(", *l{}", i - 1).repeat(9));
        }
        let s = parse(&format!("a: {level}\n"));
        assert!(
            matches!(s.errors.as_slice(), [YamlError::AliasBomb { .. }]),
            "{:?}",
            s.errors
        );
        // Wide rather than deep: two copies of a 60k-item sequence.
        let wide = format!("a: &a [{}]\nb: [*a, *a]\n", vec!["x"; 60_000].join(","));
        let s = parse(&wide);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::AliasBomb { line: 2, .. }]),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn the_alias_budget_covers_the_whole_stream() {
        // 59k alias nodes per document stay under a per-document budget, but a few hundred
        // such documents in one small file would hold millions of nodes.
        let doc = "a: &a [x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x]\n\
                   b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n\
                   c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
                   d: [*c,*c,*c,*c,*c,*c]\n";
        let s = parse(&[doc; 3].join("---\n"));
        assert_eq!(s.documents.len(), 1, "{:?}", s.errors);
        assert!(
            matches!(
                s.errors.as_slice(),
                [YamlError::AliasBomb { .. }, YamlError::AliasBomb { .. }]
            ),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn aliases_of_long_scalars_are_charged_by_size() {
        // 2000 copies of a 100 KB string are 200 MB, though only 2000 nodes.
        let text = format!(
            "a: &a {}\nb: [{}]\n",
            "x".repeat(100_000),
            vec!["*a"; 2000].join(",")
        );
        let s = parse(&text);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::AliasBomb { line: 2, .. }]),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn explicit_keys_override_merged_keys() {
        let s = parse(
            "base: &b {a: 1, b: 1}\n\
             after: {<<: *b, a: 2}\n\
             before: {a: 3, <<: *b}\n\
             block:\n  a: 4\n  <<: *b\n  c: 4\n",
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let json = s.documents[0].root.to_json();
        assert_eq!(json["after"], serde_json::json!({"a": 2, "b": 1}));
        assert_eq!(json["before"], serde_json::json!({"a": 3, "b": 1}));
        assert_eq!(json["block"], serde_json::json!({"a": 4, "b": 1, "c": 4}));
        // The overriding key's line is the one reported.
        let root = &s.documents[0].root;
        assert_eq!(root.line_of(&split_path("{.after.a}")), Some(2));
        // Two written keys are still a duplicate, even with a merge in between.
        let s = parse("base: &b {a: 1}\nx:\n  a: 2\n  <<: *b\n  a: 3\n");
        assert_eq!(
            s.errors,
            vec![YamlError::DuplicateKey {
                key: "a".into(),
                line: 5,
                col: 3,
                first_line: 3
            }]
        );
    }

    #[test]
    fn earlier_merge_sources_win() {
        let s = parse(
            "a: &a {k: a, x: a}\n\
             b: &b {k: b, y: b}\n\
             list: {<<: [*a, *b]}\n\
             twice:\n  <<: *b\n  <<: *a\n  k: own\n",
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let json = s.documents[0].root.to_json();
        assert_eq!(
            json["list"],
            serde_json::json!({"k": "a", "x": "a", "y": "b"})
        );
        assert_eq!(
            json["twice"],
            serde_json::json!({"k": "own", "y": "b", "x": "a"})
        );
    }

    #[test]
    fn big_merges_stay_linear() {
        // 40k keys merged into a mapping that already has 40k keys: a scan per merged key is
        // 1.6 billion comparisons; the index makes it 40k lookups.
        let keys = |prefix: &str| -> String {
            (0..40_000)
                .map(|i| format!("{prefix}{i}: {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = format!(
            "base: &b {{{}}}\nx: {{{}, <<: *b, k0: over}}\n",
            keys("k"),
            keys("own")
        );
        let start = std::time::Instant::now();
        let s = parse(&text);
        let elapsed = start.elapsed();
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let x = s.documents[0].root.get("x");
        let len = x.map(|x| match &x.value {
            Value::Map(entries) => entries.len(),
            _ => 0,
        });
        assert_eq!(len, Some(80_000));
        assert_eq!(
            x.and_then(|x| x.get("k0")).and_then(Node::as_str),
            Some("over")
        );
        // Generous: well under a second in a debug build, where the quadratic merge took 17 s.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }

    #[test]
    fn document_size_counts_bytes_not_characters() {
        // 6M two-byte characters: 12 MB, though only 6M characters.
        let text = format!("a: {}\n---\nb: 1\n", "é".repeat(6_000_000));
        let s = parse(&text);
        assert!(
            matches!(
                s.errors.as_slice(),
                [YamlError::TooLarge {
                    line: 1,
                    size: 12_000_000..=12_000_010,
                    limit_mib: 10,
                }]
            ),
            "{:?}",
            s.errors
        );
        assert_eq!(s.documents.len(), 1);
        // The same with a small limit, and a document just under it.
        let limits = Limits {
            max_document_bytes: 64,
            ..Limits::default()
        };
        let text = format!("a: {}\n---\nb: {}\n", "é".repeat(40), "é".repeat(28));
        let s = parse_stream(&text, limits);
        assert!(
            matches!(s.errors.as_slice(), [YamlError::TooLarge { line: 1, .. }]),
            "{:?}",
            s.errors
        );
        assert_eq!(s.documents.len(), 1);
        assert_eq!(s.documents[0].start_line, 3);
    }

    #[test]
    fn block_scalars_and_aliases_report_their_own_lines() {
        let s = parse(
            "anchor: &x 1\n\
             literal: |\n  one\n  two\n\
             folded: >-\n  three\n\
             list:\n- |\n  four\n\
             alias:\n  here: *x\n",
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let root = &s.documents[0].root;
        let line = |path: &str| root.line_of(&split_path(path));
        // go-yaml puts a block scalar at its `|` or `>` indicator.
        assert_eq!(line("{.literal}"), Some(2));
        assert_eq!(line("{.folded}"), Some(5));
        assert_eq!(line("{.list[0]}"), Some(8));
        // An alias is where it is used, not where its anchor is.
        assert_eq!(line("{.alias.here}"), Some(11));
        assert_eq!(line("{.anchor}"), Some(1));
        // Headers with comments and indicators, blank lines before the content, CRLF, an
        // indicator on a line of its own, no content at all, content that starts with `|`.
        for (text, mark) in [
            ("a: |-2 # c | > x\n\n  \n   x\n", (1, 4)),
            ("a: |\r\n\r\n  x\r\n", (1, 4)),
            ("a:\n  >\n  x\n", (2, 3)),
            ("a: |\n\nb: 1\n", (1, 4)),
            ("a:\n  |", (2, 3)),
            ("a: |\n  |x\n", (1, 4)),
            ("é: |\n  é\n", (1, 4)),
        ] {
            let s = parse(text);
            let root = s.documents.first().map(|d| &d.root);
            let got = root.and_then(|r| r.get("a").or(r.get("é"))).map(|n| n.mark);
            assert_eq!(
                got,
                Some(Mark {
                    line: mark.0,
                    col: mark.1
                }),
                "{text:?} {:?}",
                s.errors
            );
        }
    }
}
