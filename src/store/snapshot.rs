//! The records table laid end to end, each distinct string written once and
//! named by its number: what a start decodes instead of the table, one
//! B-tree entry at a time, with every string of every record looked up by
//! its hash to be shared (at a million files, 0.9 s instead of 1.8 s). Saved
//! with the settlement, at a stop, and used only as long as the settlement
//! is (for the same generation of records).
//!
//! It is kept in chunks of about [`CHUNK`] bytes (a string or a record never
//! straddles two), read one at a time: whole, the snapshot of a million
//! files (222 MB) was half a GB more memory at the start's peak.
//! Chunk 0 is the header ([`Header`]). The records come in parts, runs of
//! them in path order made at once on every core, each with strings of its
//! own: a part's strings' chunks, then its records' (each record its path,
//! none where the event's key says it, and [`RecordRef`] with `u32` strings).

use super::{Doc, DocRef, RecordRef};
use crate::index::{FileKey, Filed};
use crate::model::{ArcStr, Interner};
use crate::stamps::Stamps;
use anyhow::{Context as _, Result};
use redb::TableDefinition;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub(super) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshot");

const CHUNK: usize = 4 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    /// The generation of the records (see [`super::Store::settled`]).
    generation: u64,
    parts: Vec<PartHeader>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
struct PartHeader {
    strings: u64,
    string_chunks: u64,
    records: u64,
}

/// Values serialized one after another into chunks of about `.1` bytes.
struct Chunks(Vec<Vec<u8>>, usize);

impl Chunks {
    fn push(&mut self, value: &impl Serialize) -> Result<()> {
        match self.0.last_mut() {
            Some(last) if last.len() < self.1 => {
                let grown = postcard::to_extend(value, std::mem::take(last))?;
                *last = grown;
            }
            _ => self.0.push(postcard::to_stdvec(value)?),
        }
        Ok(())
    }
}

/// Bytes written as postcard writes a string (serde writes a `&[u8]` as a
/// sequence, a call per byte, to the same effect).
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Makes a snapshot of the records table from its parts.
pub(super) struct Writer {
    generation: u64,
    parts: Vec<Part>,
}

impl Writer {
    /// A snapshot of the records of `generation`, the `parts` in path order.
    pub(super) fn new(generation: u64, parts: Vec<Part>) -> Self {
        Self { generation, parts }
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Writes the snapshot to `table`, whose entries it replaces.
    pub(super) fn save(self, table: &mut redb::Table<u64, &[u8]>) -> Result<()> {
        table.retain(|_, _| false)?;
        let header = Header {
            generation: self.generation,
            parts: (self.parts.iter()).map(Part::header).collect(),
        };
        let records: u64 = header.parts.iter().map(|p| p.records).sum();
        let chunks =
            (self.parts.into_iter()).flat_map(|p| p.strings.0.into_iter().chain(p.records.0));
        let mut bytes = 0;
        for (n, chunk) in (1..).zip(chunks) {
            table.insert(n, &chunk[..])?;
            bytes += chunk.len();
        }
        tracing::debug!(
            bytes,
            records,
            parts = header.parts.len(),
            "snapshot of the records"
        );
        table.insert(0, &postcard::to_stdvec(&header)?[..])?;
        Ok(())
    }
}

/// A run of records of a snapshot, given in path order, with its strings.
pub(super) struct Part {
    numbers: FxHashMap<Box<[u8]>, u32>,
    /// The strings, in the order of their numbers.
    strings: Chunks,
    records: Chunks,
    count: u64,
}

impl Part {
    /// A part of about `count` records.
    pub(super) fn new(count: usize) -> Self {
        let mut part = Self::chunked(CHUNK);
        // A string per record at least (its key).
        part.numbers.reserve(count);
        part
    }

    /// A part in chunks of about `bytes` bytes.
    pub(super) fn chunked(bytes: usize) -> Self {
        Self {
            numbers: FxHashMap::default(),
            strings: Chunks(Vec::new(), bytes),
            records: Chunks(Vec::new(), bytes),
            count: 0,
        }
    }

    fn header(&self) -> PartHeader {
        PartHeader {
            strings: self.numbers.len() as u64,
            string_chunks: self.strings.0.len() as u64,
            records: self.count,
        }
    }

    /// Adds the record of `path` (its bytes as the table holds them).
    pub(super) fn add(&mut self, path: &[u8], bytes: &[u8]) -> Result<()> {
        let record: RecordRef<&[u8]> = postcard::from_bytes(bytes)?;
        // Most paths are the ones their events' keys say: not written again.
        let said = key_path(&record.doc, |k| std::str::from_utf8(k).ok());
        let path = (said.as_deref().map(str::as_bytes) != Some(path)).then_some(Bytes(path));
        let (numbers, strings) = (&mut self.numbers, &mut self.strings);
        let doc = record.doc.map(&mut |s: &[u8]| {
            if let Some(&n) = numbers.get(s) {
                return anyhow::Ok(n);
            }
            let n = u32::try_from(numbers.len()).context("too many strings")?;
            numbers.insert(s.into(), n);
            strings.push(&Bytes(s))?;
            Ok(n)
        })?;
        let record = RecordRef {
            stamp: record.stamp,
            doc,
        };
        self.records.push(&(path, record))?;
        self.count += 1;
        Ok(())
    }
}

/// A snapshot being read, a chunk at a time.
pub(super) struct Reader {
    cursor: Cursor,
    /// The parts not begun yet, the next one last.
    parts: Vec<PartHeader>,
    /// The strings of the part being read, and how many of its records are left.
    strings: Vec<ArcStr>,
    part_left: usize,
    pub(super) left: usize,
}

struct Cursor {
    chunks: redb::Range<'static, u64, &'static [u8]>,
    /// The chunk being read, and where its next value starts.
    chunk: Option<(redb::AccessGuard<'static, &'static [u8]>, usize)>,
}

impl Cursor {
    fn next_chunk(&mut self) -> Result<()> {
        let (_, chunk) = self.chunks.next().context("damaged snapshot")??;
        self.chunk = Some((chunk, 0));
        Ok(())
    }

    /// Whether the chunk being read is done with (or none is).
    fn at_end(&self) -> bool {
        self.chunk
            .as_ref()
            .is_none_or(|(chunk, at)| *at >= chunk.value().len())
    }

    /// The next value of the chunk, none at its end.
    fn take<'s, T: Deserialize<'s>>(&'s mut self) -> Result<Option<T>> {
        let Some((chunk, at)) = &mut self.chunk else {
            return Ok(None);
        };
        let bytes = chunk.value();
        let Some(rest) = bytes.get(*at..).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let (value, rest) = postcard::take_from_bytes(rest)?;
        *at = bytes.len() - rest.len();
        Ok(Some(value))
    }
}

impl Reader {
    /// Starts reading the snapshot in `table`, if there is one of the
    /// records of `generation`: its strings, shared through `interner`.
    pub(super) fn new(
        table: &redb::ReadOnlyTable<u64, &'static [u8]>,
        generation: u64,
        interner: &mut Interner,
    ) -> Result<Option<Self>> {
        let Some(header) = table.get(0)? else {
            return Ok(None);
        };
        let header: Header = postcard::from_bytes(header.value())?;
        if header.generation != generation {
            return Ok(None);
        }
        let records: u64 = header.parts.iter().map(|p| p.records).sum();
        // Room for every part's strings at once: growing the interner part
        // by part would move its strings each time.
        let strings: u64 = header.parts.iter().map(|p| p.strings).sum();
        interner.reserve(usize::try_from(strings)?);
        let mut parts = header.parts;
        parts.reverse();
        let mut reader = Self {
            cursor: Cursor {
                chunks: table.range(1..)?,
                chunk: None,
            },
            parts,
            strings: Vec::new(),
            part_left: 0,
            left: usize::try_from(records)?,
        };
        if reader.left > 0 {
            reader.begin_part(interner)?;
        }
        Ok(Some(reader))
    }

    /// Reads the strings of the next part with records, shared through
    /// `interner`.
    fn begin_part(&mut self, interner: &mut Interner) -> Result<()> {
        while self.part_left == 0 {
            let part = self.parts.pop().context("damaged snapshot")?;
            let count = usize::try_from(part.strings)?;
            self.strings.clear();
            self.strings.reserve(count);
            for _ in 0..part.string_chunks {
                self.cursor.next_chunk()?;
                while let Some(s) = self.cursor.take::<&[u8]>()? {
                    self.strings.push(interner.intern_utf8(s)?);
                }
            }
            anyhow::ensure!(self.strings.len() == count, "damaged snapshot");
            self.part_left = usize::try_from(part.records)?;
        }
        Ok(())
    }

    /// The next record, its stamp added to `stamps`, its strings shared
    /// through `interner`.
    pub(super) fn next(&mut self, stamps: &mut Stamps, interner: &mut Interner) -> Result<Filed> {
        if self.part_left == 0 {
            self.begin_part(interner)?;
        }
        if self.cursor.at_end() {
            self.cursor.next_chunk()?;
        }
        self.left -= 1;
        self.part_left -= 1;
        let (path, record) =
            (self.cursor.take::<(Option<&[u8]>, RecordRef<u32>)>()?).context("damaged snapshot")?;
        let strings = &self.strings;
        let doc = record.doc.map(&mut |n| {
            let s = strings.get(n as usize).context("damaged snapshot")?;
            anyhow::Ok(s.clone())
        })?;
        let doc = doc.into_doc();
        if let Some(path) = path {
            stamps.push(path, record.stamp);
            return Ok(super::filed(path, doc));
        }
        // The path the event's key says (the writer checked): keyed as such,
        // without making the path to key it again.
        let Doc::Event(event) = doc else {
            anyhow::bail!("damaged snapshot");
        };
        let key = match FileKey::layout(&event) {
            Some(key) => key,
            None => {
                let path = event.path();
                FileKey::other(
                    path.strip_prefix('/')
                        .context("damaged snapshot")?
                        .as_bytes(),
                )
            }
        };
        stamps.push_parts(key.parts(), record.stamp);
        Ok(Filed::Event(key, event))
    }
}

/// The path an event's key and padding say, without its leading `/` (see
/// [`crate::index::FileKey`]): where most event files are. `key` reads
/// a string of the record.
fn key_path<'k, S>(doc: &DocRef<'_, S>, key: impl FnOnce(&S) -> Option<&'k str>) -> Option<String> {
    let DocRef::Event(e) = doc else {
        return None;
    };
    if e.rare.as_ref().is_some_and(|r| r.custom_path.is_some()) {
        return None;
    }
    let path = crate::model::padded_path(key(&e.key)?, e.pad);
    path.strip_prefix('/').map(str::to_owned)
}
