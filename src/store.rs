//! What eventfeed remembers between runs, in an embedded database (redb, one file
//! in the state directory): every input file's stamp and what the index needs of
//! it, every event's [`Body`] (what only the feeds show), and the stamp of every
//! output file as it was written; and for the records as they are, what
//! settling their index worked out ([`Settled`]) and what a build says of it
//! ([`Recap`]).
//!
//! The index holds no body: the renderer reads the bodies of the items a feed
//! shows from here ([`Bodies`]). A restart rebuilds the index from the small
//! records, checks the output against its stamps and is ready; bodies are read
//! when a feed that shows them is rendered.
//!
//! The store is only ever a shortcut. A file whose stamp differs is read again;
//! an output file that differs from its stamp triggers a full render; a store
//! from another version or configuration, or an unreadable one, is started
//! afresh. redb commits are copy-on-write and checksummed, so a `kill -9` at any
//! point leaves the last durable commit: the records of a batch are committed
//! without an fsync before it renders (they are cheap to redo), and made durable
//! with the output stamps once the output they describe is written. Durable
//! commits save what a quick recovery needs (redb's quick repair), so that the
//! start after a crash does not walk the whole store.

use crate::index::{Change, FileKey, Filed, Settled};
use crate::model::{ArcStr, Body, Content, DayPage, Event, Interner};
use crate::render::Bodies;
use crate::stamps::{Digest, Stamp, Stamps};
use anyhow::{Context as _, Result};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::str::Utf8Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod snapshot;

/// What a build says of the whole index, kept for the records it was made
/// of: a build that finds nothing changed says it without loading the index.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recap {
    pub events: u64,
    /// The keys that more than one file claims, and those files' paths (as
    /// [`crate::index::Index::duplicates`] gives them), as bytes.
    pub duplicates: Vec<(String, Vec<Vec<u8>>)>,
}

/// Output files and their stamps, sorted by path.
pub type Manifest = Vec<(String, Stamp)>;

/// `fingerprint` -> [`fingerprint`]; `generation` -> how many writes changed
/// the records (see [`Store::settled`]); `settled` and `recapped` -> the
/// generation the settlement and the recap are for; `inputs` -> the
/// [`Digest`] of the records' paths and stamps, kept up to date with them.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Input path (relative, raw bytes) -> postcard [`Record`].
const FILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("files");
/// Input path -> postcard [`Body`], for event files.
const BODIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bodies");
/// Output path (relative) -> postcard [`Stamp`].
const OUTPUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("outputs");
/// `index` -> postcard [`Settled`]: the settled index of the records of one
/// generation, whose records [`snapshot`] keeps too.
const SETTLED: TableDefinition<&str, &[u8]> = TableDefinition::new("settled");

/// `index` -> postcard [`Recap`] of the records of one generation.
const RECAP: TableDefinition<&str, &[u8]> = TableDefinition::new("recap");

/// The layout of the records. postcard is not self-describing, so bump this
/// whenever `Event`, `DayPage`, `Body`, `Settled` or a record changes shape,
/// or `META` keeps something new of the records (11: `inputs`).
const FORMAT: u32 = 11;

/// What the store's page cache may hold: lookups of bodies are served from the
/// operating system's page cache anyway, and the daemon's memory is the point.
const CACHE_BYTES: usize = 4 << 20;

/// What to record of the output's stamps.
pub enum Outputs {
    /// The files written or removed since the last save (the rest is as the
    /// store has it).
    Delta(Vec<(String, Option<Stamp>)>),
    /// Every output file.
    Whole(Manifest),
    /// Writes failed and are still to be redone: the next start renders every
    /// feed.
    Unknown,
}

/// One input file as the index needs it.
#[derive(Serialize, Deserialize)]
struct Record {
    stamp: Stamp,
    doc: Doc,
}

/// What a file held; an event without its body.
#[derive(Clone, Serialize, Deserialize)]
pub enum Doc {
    Event(Arc<Event>),
    Page(Arc<DayPage>),
}

/// A [`Record`] as its bytes hold it, each string an `S`: borrowed from the
/// bytes (`&[u8]`) in the records table, numbered (`u32`) in a
/// [snapshot](snapshot). A start decodes every record, and most strings in
/// them (context names, the keys that Related entries and versions name) are
/// shared with other events, so they are interned straight from the bytes
/// instead of allocated, then dropped for the shared copy. The layout must
/// be `Record`'s exactly (postcard is not self-describing): the test below
/// round-trips one.
#[derive(Serialize, Deserialize)]
struct RecordRef<'a, S> {
    stamp: Stamp,
    #[serde(borrow)]
    doc: DocRef<'a, S>,
}

#[derive(Serialize, Deserialize)]
enum DocRef<'a, S> {
    Event(#[serde(borrow)] EventRef<'a, S>),
    Page(PageRef<S>),
}

/// [`Event`], field for field (postcard writes a string and bytes alike).
#[derive(Serialize, Deserialize)]
struct EventRef<'a, S> {
    key: S,
    pad: crate::model::Padding,
    #[serde(with = "crate::model::numeric::date")]
    date: chrono::NaiveDate,
    contexts_pinned: bool,
    contexts: Vec<S>,
    links: Vec<S>,
    #[serde(borrow)]
    rare: Option<RareRef<'a, S>>,
    /// The body's hash ([`Content`] writes only that).
    body: u64,
}

/// [`crate::model::Rare`], field for field.
#[derive(Serialize, Deserialize)]
struct RareRef<'a, S> {
    custom_path: Option<S>,
    #[serde(with = "crate::model::numeric::time")]
    time: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(borrow)]
    id: Option<&'a str>,
    versions: Vec<VersionRef<S>>,
}

/// [`crate::model::Version`], field for field.
#[derive(Serialize, Deserialize)]
struct VersionRef<S> {
    key: S,
    path: S,
    time: Option<i64>,
    first: bool,
}

/// [`DayPage`], field for field.
#[derive(Serialize, Deserialize)]
struct PageRef<S> {
    entries: Vec<PageEntryRef<S>>,
}

#[derive(Serialize, Deserialize)]
struct PageEntryRef<S> {
    key: S,
    contexts: Vec<S>,
}

impl<'a, S> DocRef<'a, S> {
    /// The same document, each string `f` of it.
    fn map<T, E>(self, f: &mut impl FnMut(S) -> Result<T, E>) -> Result<DocRef<'a, T>, E> {
        Ok(match self {
            DocRef::Event(e) => DocRef::Event(EventRef {
                key: f(e.key)?,
                pad: e.pad,
                date: e.date,
                contexts_pinned: e.contexts_pinned,
                contexts: exact(e.contexts.into_iter().map(&mut *f))?,
                links: exact(e.links.into_iter().map(&mut *f))?,
                rare: match e.rare {
                    None => None,
                    Some(r) => Some(RareRef {
                        custom_path: r.custom_path.map(&mut *f).transpose()?,
                        time: r.time,
                        id: r.id,
                        versions: exact(r.versions.into_iter().map(|v| {
                            Ok(VersionRef {
                                key: f(v.key)?,
                                path: f(v.path)?,
                                time: v.time,
                                first: v.first,
                            })
                        }))?,
                    }),
                },
                body: e.body,
            }),
            DocRef::Page(p) => DocRef::Page(PageRef {
                entries: exact(p.entries.into_iter().map(|e| {
                    Ok(PageEntryRef {
                        key: f(e.key)?,
                        contexts: exact(e.contexts.into_iter().map(&mut *f))?,
                    })
                }))?,
            }),
        })
    }
}

impl DocRef<'_, &[u8]> {
    /// The document, its strings shared through `interner` (as
    /// [`Interner::event`] and [`Interner::page`] share them).
    fn own(self, interner: &mut Interner) -> Result<Doc, Utf8Error> {
        Ok(self.map(&mut |s| interner.intern_utf8(s))?.into_doc())
    }
}

impl DocRef<'_, ArcStr> {
    fn into_doc(self) -> Doc {
        match self {
            DocRef::Event(e) => Doc::Event(Arc::new(Event {
                key: e.key,
                pad: e.pad,
                date: e.date,
                contexts_pinned: e.contexts_pinned,
                contexts: e.contexts.into(),
                links: e.links.into(),
                rare: e.rare.map(|r| {
                    Box::new(crate::model::Rare {
                        custom_path: r.custom_path,
                        time: r.time,
                        id: r.id.map(Box::from),
                        versions: (r.versions.into_iter())
                            .map(|v| crate::model::Version {
                                key: v.key,
                                path: v.path,
                                time: v.time,
                                first: v.first,
                            })
                            .collect(),
                    })
                }),
                body: Content::Stored(e.body),
            })),
            DocRef::Page(p) => Doc::Page(Arc::new(DayPage {
                entries: (p.entries.into_iter())
                    .map(|e| crate::model::PageEntry {
                        key: e.key,
                        contexts: e.contexts.into(),
                    })
                    .collect(),
            })),
        }
    }
}

/// The items, or the first error: collected into a vector of exactly their
/// number, which becomes a slice without a copy (collecting `Result`s does
/// not know the number, and would leave every slice of the index with room
/// to spare: 7 MB at 100k).
fn exact<T, E>(items: impl ExactSizeIterator<Item = Result<T, E>>) -> Result<Vec<T>, E> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(item?);
    }
    Ok(out)
}

/// The store's files as changes, one record at a time: see [`Store::files`].
pub struct Files<'i> {
    rows: Rows,
    interner: &'i mut Interner,
    /// How many records are still to come (what a load reserves room for).
    left: usize,
    /// The stamps of the records given so far.
    stamps: Stamps,
}

/// Where the records are read from (one per load: its size is no matter).
#[allow(clippy::large_enum_variant)]
enum Rows {
    Table {
        records: redb::Range<'static, &'static [u8], &'static [u8]>,
        /// Keeps the read transaction's snapshot for `records`.
        _table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    },
    Snapshot(snapshot::Reader),
}

impl Files<'_> {
    /// The stamps of the records given: after a whole pass, every file's
    /// (what a start compares its scan with, without a second pass over the
    /// records).
    pub fn into_stamps(self) -> Stamps {
        self.stamps
    }

    /// Whether the records come from a snapshot of them.
    pub fn from_snapshot(&self) -> bool {
        matches!(self.rows, Rows::Snapshot(_))
    }
}

impl Iterator for Files<'_> {
    type Item = Result<Filed>;

    fn next(&mut self) -> Option<Result<Filed>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(match &mut self.rows {
            Rows::Table { records, .. } => {
                let (path, record) = match records.next()? {
                    Ok(row) => row,
                    Err(e) => return Some(Err(e.into())),
                };
                postcard::from_bytes(record.value())
                    .map_err(anyhow::Error::from)
                    .and_then(|record: RecordRef<&[u8]>| {
                        self.stamps.push(path.value(), record.stamp);
                        Ok(filed(path.value(), record.doc.own(self.interner)?))
                    })
            }
            Rows::Snapshot(reader) => reader.next(&mut self.stamps, self.interner),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// The file at `path` holding `doc`, keyed for the index.
fn filed(path: &[u8], doc: Doc) -> Filed {
    match doc {
        Doc::Event(event) => {
            let key = FileKey::of_event(Path::new(std::ffi::OsStr::from_bytes(path)), &event);
            Filed::Event(key, event)
        }
        Doc::Page(page) => Filed::Page(FileKey::other(path), page),
    }
}

/// The store's records in one piece: see [`Store::records_snapshot`].
pub struct RecordsSnapshot(snapshot::Writer);

/// A run that ends cleanly (every write complete) leaves this file in the state
/// directory; the next start takes it. Without it, the last run was killed, and
/// the output may hold temp files of writes it cut short.
const CLEAN_MARK: &str = "clean-exit";

/// Whether the last run ended cleanly; the mark is gone after this.
pub fn take_clean_mark(state_dir: &Path) -> bool {
    fs::remove_file(state_dir.join(CLEAN_MARK)).is_ok()
}

/// Says that this run ends with every write complete.
pub fn leave_clean_mark(state_dir: &Path) {
    if let Err(e) = fs::write(state_dir.join(CLEAN_MARK), b"") {
        tracing::debug!("cannot leave the clean-exit mark: {e}");
    }
}

pub struct Store {
    db: Database,
    /// Set when a body the index refers to cannot be read: the next durable
    /// commit then marks the store unusable, so that the next start reads every
    /// file again.
    damaged: AtomicBool,
    /// Set when the records stopped being the files the index holds (a write
    /// failed, or a file was read without a stamp): the index is then no
    /// settlement of them.
    diverged: AtomicBool,
}

/// Ties a store to the program (its version and the binary itself, so that a
/// rebuilt renderer never trusts output an older one wrote), the record layout and
/// every setting that shapes output.
pub fn fingerprint(settings: &crate::config::Settings) -> u64 {
    let binary = std::env::current_exe()
        .and_then(fs::metadata)
        .map(|m| (m.len(), m.mtime(), m.mtime_nsec()))
        .unwrap_or_default();
    let key = format!(
        "{} {binary:?} {FORMAT} {:?} {} {:?} {:?} {:?}",
        env!("CARGO_PKG_VERSION"),
        settings.site,
        settings.max_file_bytes,
        settings.input,
        settings.extensions,
        settings.day_pages
    );
    crate::slug::stable_hash(key.as_bytes())
}

fn file(state_dir: &Path) -> PathBuf {
    state_dir.join("store.redb")
}

impl Store {
    /// Opens the store in `state_dir`. It is emptied when `fresh`, when it was
    /// written for another fingerprint, or when it cannot be read (then with a
    /// warning): the second value says whether it holds a previous run's state.
    pub fn open(state_dir: &Path, fingerprint: u64, fresh: bool) -> Result<(Self, bool)> {
        fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
        // The single-file cache of earlier versions.
        let _ = fs::remove_file(state_dir.join("cache.bin"));
        let path = file(state_dir);
        let db = match Self::create(&path) {
            Ok(db) => db,
            // Only a store that cannot be read is replaced: not one that is
            // busy or on a disk that fails (then there is no store this run).
            Err(e) if damaged(&e) => {
                tracing::warn!(
                    "cannot read the store {} ({e}); starting afresh",
                    path.display()
                );
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                Self::create(&path)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?
            }
            Err(e) => anyhow::bail!("cannot open {}: {e}", path.display()),
        };
        let store = Self {
            db,
            damaged: AtomicBool::new(false),
            diverged: AtomicBool::new(false),
        };
        let kept = match store.fingerprint() {
            Ok(Some(f)) if f == fingerprint && !fresh => true,
            found => {
                if matches!(found, Ok(Some(_))) && !fresh {
                    tracing::info!(
                        "the store is from another version or configuration; starting fresh"
                    );
                }
                store.clear(fingerprint)?;
                false
            }
        };
        Ok((store, kept))
    }

    fn create(path: &Path) -> Result<Database, redb::DatabaseError> {
        let told = AtomicBool::new(false);
        Database::builder()
            .set_cache_size(CACHE_BYTES)
            .set_repair_callback(move |_| {
                if !told.swap(true, Ordering::Relaxed) {
                    tracing::info!("the store was not closed (a crash?): checking it");
                }
            })
            .create(path)
    }

    fn fingerprint(&self) -> Result<Option<u64>> {
        let txn = self.db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(meta.get("fingerprint")?.map(|v| v.value()))
    }

    /// Drops every record and starts over for `fingerprint`.
    fn clear(&self, fingerprint: u64) -> Result<()> {
        let txn = self.durable_write()?;
        for table in [FILES, BODIES] {
            txn.delete_table(table)?;
            txn.open_table(table)?;
        }
        txn.delete_table(OUTPUTS)?;
        txn.open_table(OUTPUTS)?;
        txn.delete_table(SETTLED)?;
        txn.delete_table(snapshot::TABLE)?;
        txn.delete_table(RECAP)?;
        let mut meta = txn.open_table(META)?;
        meta.insert("fingerprint", fingerprint)?;
        meta.remove("settled")?;
        meta.remove("recapped")?;
        meta.remove("inputs")?;
        next_generation(&mut meta)?;
        drop(meta);
        txn.commit()?;
        Ok(())
    }

    /// Every input file the store knows, as the change that adds it to an
    /// index, decoded one record at a time with its strings shared through
    /// `interner` (so that a start holds no second copy of the archive on the
    /// way to the index). Bodies stay where they are.
    pub fn files<'i>(&self, interner: &'i mut Interner) -> Result<Files<'i>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(FILES)?;
        let count = table.len()? as usize;
        let meta = txn.open_table(META)?;
        let snapshot = match is_current(&meta, "settled")? {
            true => match txn.open_table(snapshot::TABLE) {
                Ok(table) => snapshot::Reader::new(&table, generation(&meta)?, interner)?,
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(e.into()),
            },
            false => None,
        };
        let rows = match snapshot {
            Some(reader) => {
                anyhow::ensure!(reader.left == count, "a snapshot of other records");
                Rows::Snapshot(reader)
            }
            None => {
                // A string per file at least (its key), and most others are
                // shared: room for them at once, not a table grown and
                // rehashed a dozen times.
                interner.reserve(count);
                Rows::Table {
                    records: table.range::<&[u8]>(..)?,
                    _table: table,
                }
            }
        };
        Ok(Files {
            rows,
            interner,
            left: count,
            stamps: Stamps::with_capacity(count),
        })
    }

    /// How many input files the store has a record of.
    pub fn file_count(&self) -> Result<u64> {
        Ok(self.db.begin_read()?.open_table(FILES)?.len()?)
    }

    /// The output manifest as last recorded.
    pub fn outputs(&self) -> Result<Manifest> {
        let txn = self.db.begin_read()?;
        let mut outputs = Vec::new();
        for entry in txn.open_table(OUTPUTS)?.iter()? {
            let (path, stamp) = entry?;
            outputs.push((
                path.value().to_owned(),
                postcard::from_bytes(stamp.value())?,
            ));
        }
        Ok(outputs)
    }

    /// The stamp of every file the store has a record of, in path order.
    pub fn stamps(&self) -> Result<Stamps> {
        let txn = self.db.begin_read()?;
        let mut stamps = Stamps::default();
        for entry in txn.open_table(FILES)?.iter()? {
            let (path, record) = entry?;
            stamps.push(path.value(), postcard::take_from_bytes(record.value())?.0);
        }
        Ok(stamps)
    }

    /// [`Stamps::diff`] with the store's stamps.
    pub fn diff<'a>(
        &self,
        scanned: impl IntoIterator<Item = (&'a Path, Stamp)>,
    ) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
        Ok(self.stamps()?.diff(scanned))
    }

    /// Records what a batch read: each file's stamp and event or day page (the
    /// body of an event to its own table), and the files that are gone. The
    /// events in `changes` come back without their bodies, which are stored now;
    /// if the store cannot take them, they keep them (and the error is logged).
    /// Not durable on its own (see the module doc).
    pub fn record(&self, changes: &mut [Change], stamps: &[(PathBuf, Stamp)]) {
        match self.try_record(changes, stamps) {
            Ok(()) => {
                for change in changes.iter_mut() {
                    if let Change::Upsert(_, event) = change {
                        if let Content::Here(_, hash) = event.body {
                            Arc::make_mut(event).body = Content::Stored(hash);
                        }
                    }
                }
            }
            Err(e) => {
                self.diverged.store(true, Ordering::Relaxed);
                tracing::warn!("cannot write to the store (bodies stay in memory): {e:#}");
            }
        }
    }

    fn try_record(&self, changes: &[Change], stamps: &[(PathBuf, Stamp)]) -> Result<()> {
        // Not a write: the settlement stays current.
        if changes.is_empty() {
            return Ok(());
        }
        let stamp_of: rustc_hash::FxHashMap<&Path, Stamp> =
            stamps.iter().map(|(p, s)| (p.as_path(), *s)).collect();
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        {
            let mut files = txn.open_table(FILES)?;
            let mut bodies = txn.open_table(BODIES)?;
            let mut meta = txn.open_table(META)?;
            let mut digest = inputs(&meta)?;
            let mut buf = Vec::new();
            for change in changes {
                let (path, doc) = match change {
                    Change::Upsert(path, event) => {
                        if let Some(body) = event.body.encoded() {
                            bodies.insert(raw(path), body)?;
                        }
                        (path, Doc::Event(event.clone()))
                    }
                    Change::Page(path, page) => {
                        bodies.remove(raw(path))?;
                        (path, Doc::Page(page.clone()))
                    }
                    Change::Remove(path) => {
                        forget(&mut digest, raw(path), files.remove(raw(path))?)?;
                        bodies.remove(raw(path))?;
                        continue;
                    }
                };
                // A file read without a stamp is not one to remember (it is
                // read again next time).
                let Some(&stamp) = stamp_of.get(path.as_path()) else {
                    self.diverged.store(true, Ordering::Relaxed);
                    forget(&mut digest, raw(path), files.remove(raw(path))?)?;
                    continue;
                };
                buf = postcard::to_extend(&Record { stamp, doc }, std::mem::take(&mut buf))?;
                forget(&mut digest, raw(path), files.insert(raw(path), &buf[..])?)?;
                digest.add(raw(path), stamp);
                buf.clear();
            }
            meta.insert("inputs", digest.0)?;
            next_generation(&mut meta)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The settlement saved for the records as they are, if any: one made
    /// before a write changed them is not.
    pub fn settled(&self) -> Result<Option<Settled>> {
        self.current(SETTLED, "settled")
    }

    /// What `table` keeps under `index` if it is for the records as they
    /// are (`made_for` in `META` names the generation it was made for).
    fn current<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        made_for: &str,
    ) -> Result<Option<T>> {
        let txn = self.db.begin_read()?;
        if !is_current(&txn.open_table(META)?, made_for)? {
            return Ok(None);
        }
        let Some(bytes) = txn.open_table(table)?.get("index")? else {
            return Ok(None);
        };
        Ok(Some(postcard::from_bytes(bytes.value())?))
    }

    /// Whether the settlement saved is for the records as they are.
    pub fn settled_is_current(&self) -> Result<bool> {
        is_current(&self.db.begin_read()?.open_table(META)?, "settled")
    }

    /// A snapshot of the records as they are (see the `snapshot` module), to save
    /// with the settlement of them: made apart from it, so that both can be
    /// made at once at a stop. It is made in parts, cut at the paths `cuts`
    /// (best of about equal length), on every core.
    pub fn records_snapshot(&self, cuts: &[PathBuf]) -> Result<RecordsSnapshot> {
        use rayon::prelude::*;
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let txn = self.db.begin_read()?;
        let generation = generation(&txn.open_table(META)?)?;
        let table = txn.open_table(FILES)?;
        let mut cuts: Vec<&[u8]> = cuts.iter().map(|p| raw(p)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let starts = std::iter::once(Unbounded).chain(cuts.iter().map(|c| Included(*c)));
        let ends = (cuts.iter().map(|c| Excluded(*c))).chain(std::iter::once(Unbounded));
        let ranges: Vec<_> = starts.zip(ends).collect();
        let count = table.len()? as usize / ranges.len();
        let parts = (ranges.into_par_iter())
            .map(|range| {
                let mut part = snapshot::Part::new(count);
                for row in table.range::<&[u8]>(range)? {
                    let (path, record) = row?;
                    part.add(path.value(), record.value())?;
                }
                Ok(part)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordsSnapshot(snapshot::Writer::new(generation, parts)))
    }

    /// Saves `settled`, the index's settlement of the records as they are,
    /// and `snapshot` if it is of them too (durably: it is saved at a stop),
    /// unless the records stopped being the index's files during this run.
    pub fn save_settled(&self, settled: &Settled, snapshot: Option<RecordsSnapshot>) -> Result<()> {
        self.save_current(SETTLED, "settled", settled, |txn, generation| {
            let mut table = txn.open_table(snapshot::TABLE)?;
            match snapshot.filter(|s| s.0.generation() == generation) {
                Some(snapshot) => snapshot.0.save(&mut table)?,
                // An older one is of no use (and never used: see `files`).
                None => table.retain(|_, _| false)?,
            }
            Ok(())
        })
    }

    /// Saves `value` under `index` in `table`, for the records as they are
    /// (`made_for` in `META` says their generation), durably and with what
    /// `more` writes, unless the records stopped being the index's files
    /// during this run (see [`Store::current`]).
    fn save_current(
        &self,
        table: TableDefinition<&str, &[u8]>,
        made_for: &str,
        value: &impl Serialize,
        more: impl FnOnce(&redb::WriteTransaction, u64) -> Result<()>,
    ) -> Result<()> {
        if self.diverged.load(Ordering::Relaxed) {
            return Ok(());
        }
        let bytes = postcard::to_stdvec(value)?;
        let txn = self.durable_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let generation = generation(&meta)?;
            meta.insert(made_for, generation)?;
            txn.open_table(table)?.insert("index", &bytes[..])?;
            more(&txn, generation)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The [`Digest`] of every file the store has a record of, with its
    /// stamp: what a scan that found the same files finds.
    pub fn inputs(&self) -> Result<Digest> {
        inputs(&self.db.begin_read()?.open_table(META)?)
    }

    /// The recap saved for the records as they are, if any.
    pub fn recap(&self) -> Result<Option<Recap>> {
        self.current(RECAP, "recapped")
    }

    /// Whether the recap saved is for the records as they are.
    pub fn recap_is_current(&self) -> Result<bool> {
        is_current(&self.db.begin_read()?.open_table(META)?, "recapped")
    }

    /// Saves `recap`, of the index of the records as they are (durably: it is
    /// saved once a run is done), unless the records stopped being the
    /// index's files during this run.
    pub fn save_recap(&self, recap: &Recap) -> Result<()> {
        self.save_current(RECAP, "recapped", recap, |_, _| Ok(()))
    }

    /// Makes what was recorded so far durable, before a full render reads
    /// every body back. Besides, that empties redb's write buffer: while it
    /// holds pages of a non-durable commit, every read that misses the cache
    /// tries the lock of each of its 131 stripes (redb 4.6): 5-7% of a full
    /// render's time.
    pub fn sync(&self) -> Result<()> {
        self.durable_write()?.commit()?;
        Ok(())
    }

    /// A write that is durable once committed, with what a quick recovery
    /// after a crash needs.
    fn durable_write(&self) -> Result<redb::WriteTransaction> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.set_quick_repair(true);
        Ok(txn)
    }

    /// Records the output's stamps and makes everything recorded so far
    /// durable, with what a quick recovery after a crash needs.
    pub fn save_outputs(&self, outputs: Outputs) -> Result<()> {
        let txn = self.durable_write()?;
        let changed = match outputs {
            Outputs::Delta(changed) => changed,
            Outputs::Whole(manifest) => {
                txn.delete_table(OUTPUTS)?;
                manifest.into_iter().map(|(p, s)| (p, Some(s))).collect()
            }
            Outputs::Unknown => {
                txn.delete_table(OUTPUTS)?;
                Vec::new()
            }
        };
        {
            let mut outputs = txn.open_table(OUTPUTS)?;
            let mut buf = [0u8; 32];
            for (path, stamp) in changed {
                match stamp {
                    Some(stamp) => {
                        let bytes = postcard::to_slice(&stamp, &mut buf)?;
                        outputs.insert(path.as_str(), &*bytes)?;
                    }
                    None => {
                        outputs.remove(path.as_str())?;
                    }
                }
            }
        }
        if self.damaged.swap(false, Ordering::Relaxed) {
            tracing::warn!("the store lost bodies; the next start reads every file again");
            txn.open_table(META)?.insert("fingerprint", 0)?;
        }
        txn.commit()?;
        Ok(())
    }
}

type BodyTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

impl Store {
    fn body_table(&self) -> Result<BodyTable> {
        Ok(self.db.begin_read()?.open_table(BODIES)?)
    }

    fn read_body(&self, bodies: &BodyTable, path: &Path) -> Option<Arc<Body>> {
        let found = (|| -> Result<Option<Body>> {
            let Some(bytes) = bodies.get(raw(path))? else {
                return Ok(None);
            };
            Ok(Some(postcard::from_bytes(bytes.value())?))
        })();
        self.found_body(found, path)
    }

    fn found_body(&self, found: Result<Option<Body>>, path: &Path) -> Option<Arc<Body>> {
        match found {
            Ok(Some(body)) => Some(Arc::new(body)),
            Ok(None) => {
                self.damaged.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => {
                tracing::error!(
                    "cannot read the body of {} from the store: {e:#}",
                    path.display()
                );
                self.damaged.store(true, Ordering::Relaxed);
                None
            }
        }
    }
}

impl Bodies for Store {
    fn body(&self, path: &Path) -> Option<Arc<Body>> {
        match self.body_table() {
            Ok(table) => self.read_body(&table, path),
            Err(e) => self.found_body(Err(e), path),
        }
    }

    /// One read transaction for a whole render: opening one costs more than
    /// the read (a tenth of a change's work when every body had its own).
    fn snapshot(&self) -> Option<Box<dyn Bodies + '_>> {
        let table = self.body_table();
        // Without one, each body is read (and its error told) on its own.
        let table = table.ok()?;
        Some(Box::new(Snapshot { store: self, table }))
    }
}

/// The bodies of the store as one read transaction sees them.
struct Snapshot<'a> {
    store: &'a Store,
    table: BodyTable,
}

impl Bodies for Snapshot<'_> {
    fn body(&self, path: &Path) -> Option<Arc<Body>> {
        self.store.read_body(&self.table, path)
    }
}

/// Whether what `meta` says is for the generation `of` (`settled` or
/// `recapped`) is for the records' generation.
fn is_current(meta: &impl redb::ReadableTable<&'static str, u64>, of: &str) -> Result<bool> {
    let made_for = meta.get(of)?.map(|v| v.value());
    Ok(made_for.is_some() && made_for == meta.get("generation")?.map(|v| v.value()))
}

/// The [`Digest`] of the records' paths and stamps.
fn inputs(meta: &impl redb::ReadableTable<&'static str, u64>) -> Result<Digest> {
    Ok(Digest(meta.get("inputs")?.map_or(0, |v| v.value())))
}

/// Takes the record `old` that a write replaced or removed (if any) out of
/// `digest`.
fn forget(digest: &mut Digest, path: &[u8], old: Option<redb::AccessGuard<&[u8]>>) -> Result<()> {
    if let Some(old) = old {
        let (stamp, _) = postcard::take_from_bytes::<Stamp>(old.value())?;
        digest.remove(path, stamp);
    }
    Ok(())
}

/// How many writes changed the records (see [`Store::settled`]).
fn generation(meta: &impl redb::ReadableTable<&'static str, u64>) -> Result<u64> {
    Ok(meta.get("generation")?.map_or(0, |v| v.value()))
}

/// Counts a write to the records: a settlement saved before is stale then.
fn next_generation(meta: &mut redb::Table<&str, u64>) -> Result<()> {
    let generation = generation(meta)?;
    meta.insert("generation", generation.wrapping_add(1))?;
    Ok(())
}

/// Whether an error opening the store says that the file itself is unusable.
fn damaged(e: &redb::DatabaseError) -> bool {
    use redb::{DatabaseError as D, StorageError as S};
    match e {
        D::UpgradeRequired(_) | D::RepairAborted | D::Storage(S::Corrupted(_)) => true,
        D::Storage(S::Io(e)) => e.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

fn raw(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Padding, PageEntry, Rare, Version};

    /// The borrowed layout decodes what `Record` encodes, every field set.
    #[test]
    fn records_decode_in_place_to_what_was_stored() {
        let stamp = Stamp {
            len: 7,
            mtime_ns: -3,
            ino: 42,
        };
        let event = Event {
            key: "/news/2017/7/4/a.md".into(),
            pad: Padding {
                month: true,
                day: false,
            },
            date: chrono::NaiveDate::from_ymd_opt(2017, 7, 4).unwrap(),
            contexts_pinned: true,
            contexts: vec!["A".into(), "Café".into()].into(),
            links: vec!["/news/2017/1/1/b.md".into()].into(),
            rare: Some(Box::new(Rare {
                custom_path: Some("/archive/news/2017/07/4/a.md".into()),
                time: chrono::DateTime::parse_from_rfc3339("2017-07-04T10:00:00+02:00").ok(),
                id: Some("tag:x".into()),
                versions: vec![
                    Version {
                        key: "/news/2017/7/3/a.md".into(),
                        path: "/news/2017/07/03/a.md".into(),
                        time: Some(1_499_000_000),
                        first: true,
                    },
                    Version {
                        key: "/news/2017/7/4/a.md".into(),
                        path: "/news/2017/7/4/a.md".into(),
                        time: None,
                        first: false,
                    },
                ]
                .into(),
            })),
            body: Content::Stored(0xfeed),
        };
        let page = DayPage {
            entries: vec![PageEntry {
                key: "/news/2017/7/4/a.md".into(),
                contexts: vec!["B".into()].into(),
            }]
            .into(),
        };
        // And one at the path its key says (whose path a snapshot leaves out).
        let plain = Event {
            rare: None,
            ..event.clone()
        };
        // And one at the path its key says, not a news key's.
        let elsewhere = Event {
            key: "/elsewhere/b.md".into(),
            ..plain.clone()
        };
        let mut interner = Interner::default();
        let docs = [
            Doc::Page(Arc::new(page.clone())),
            Doc::Event(Arc::new(event.clone())),
            Doc::Event(Arc::new(plain.clone())),
            Doc::Event(Arc::new(elsewhere)),
        ];
        let check = |doc, i: usize| match (doc, &docs[i % 4]) {
            (Doc::Event(e), Doc::Event(want)) => {
                assert_eq!(e, *want);
                assert_eq!(e.body.hash(), 0xfeed);
            }
            (Doc::Page(p), Doc::Page(want)) => assert_eq!(p, *want),
            _ => panic!("another kind of record"),
        };
        // Many records, in chunks of a few strings or a record, in parts
        // (one of them empty): the snapshot of them reads back the same,
        // strings and all.
        let mut parts: Vec<_> = (0..4).map(|_| snapshot::Part::chunked(60)).collect();
        let part = |i: usize| match i {
            0..13 => 0,
            13..27 => 2,
            _ => 3,
        };
        let paths: Vec<Vec<u8>> = (0..40)
            .map(|i| match i % 4 {
                2 => b"news/2017/07/4/a.md".to_vec(),
                3 => b"elsewhere/b.md".to_vec(),
                _ => format!("{i:02}.md").into_bytes(),
            })
            .collect();
        for (i, path) in paths.iter().enumerate() {
            let doc = docs[i % 4].clone();
            let bytes = postcard::to_stdvec(&Record { stamp, doc }).unwrap();
            let decoded: RecordRef<&[u8]> = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(decoded.stamp, stamp);
            check(decoded.doc.own(&mut interner).unwrap(), i);
            parts[part(i)].add(path, &bytes).unwrap();
        }
        let writer = snapshot::Writer::new(7, parts);
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("db")).unwrap();
        let txn = db.begin_write().unwrap();
        writer
            .save(&mut txn.open_table(snapshot::TABLE).unwrap())
            .unwrap();
        txn.commit().unwrap();
        let table = db
            .begin_read()
            .unwrap()
            .open_table(snapshot::TABLE)
            .unwrap();
        assert!(table.len().unwrap() > 4, "chunks: {}", table.len().unwrap());
        assert!(snapshot::Reader::new(&table, 8, &mut Interner::default())
            .unwrap()
            .is_none());
        let mut interner = Interner::default();
        let mut reader = snapshot::Reader::new(&table, 7, &mut interner)
            .unwrap()
            .unwrap();
        let mut stamps = Stamps::default();
        for (i, path) in paths.iter().enumerate() {
            let (key, doc) = match reader.next(&mut stamps, &mut interner).unwrap() {
                Filed::Event(key, event) => {
                    // Keyed as a load from the records would key it.
                    let from_path =
                        FileKey::of_event(Path::new(std::ffi::OsStr::from_bytes(path)), &event);
                    let layout = |k: &FileKey| matches!(k, FileKey::Layout(..));
                    assert_eq!(layout(&key), layout(&from_path), "{key:?}");
                    (key, Doc::Event(event))
                }
                Filed::Page(key, page) => (key, Doc::Page(page)),
            };
            assert_eq!(&key.as_bytes()[..], &path[..]);
            check(doc, i);
        }
        assert_eq!(reader.left, 0);
        let want: Vec<(&[u8], Stamp)> = paths.iter().map(|p| (&p[..], stamp)).collect();
        assert_eq!(stamps.raw().collect::<Vec<_>>(), want);
        // A string that is not UTF-8 (a damaged record) is an error.
        let doc = Doc::Event(Arc::new(event));
        let mut bytes = postcard::to_stdvec(&Record { stamp, doc }).unwrap();
        let at = bytes.windows(4).position(|w| w == b"news").unwrap();
        bytes[at] = 0xff;
        let decoded: RecordRef<&[u8]> = postcard::from_bytes(&bytes).unwrap();
        assert!(decoded.doc.own(&mut Interner::default()).is_err());
    }

    #[test]
    fn a_settlement_is_kept_for_the_records_it_was_made_from() {
        use crate::index::{tests::event, Index};
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1, false).unwrap();
        let stamp = |len| Stamp {
            len,
            mtime_ns: 0,
            ino: len,
        };
        let mut changes: Vec<Change> = (1..4u32)
            .map(|d| Change::Upsert(format!("{d}.md").into(), event((2017, 1, d), "e", &["A"])))
            .collect();
        let stamps: Vec<(PathBuf, Stamp)> = (1..4u32)
            .map(|d| (format!("{d}.md").into(), stamp(d.into())))
            .collect();
        store.record(&mut changes, &stamps);
        let mut index = Index::default();
        index.load(changes.clone());
        assert!(store.settled().unwrap().is_none() && !store.settled_is_current().unwrap());
        // In parts, cut where a stop cuts them: two files, then one.
        let cuts = index.cuts(2);
        assert_eq!(cuts, [PathBuf::from("2.md")]);
        assert!(index.cuts(4).is_empty() && index.cuts(1).is_empty() && index.cuts(0).is_empty());
        store
            .save_settled(
                &index.settled().unwrap(),
                store.records_snapshot(&cuts).ok(),
            )
            .unwrap();
        assert!(store.settled_is_current().unwrap());
        let mut again = Index::default();
        assert!(again.load_settled(changes.clone(), store.settled().unwrap()));
        assert_eq!(again, index);
        // The records come from the snapshot saved with it, the same.
        let mut interner = Interner::default();
        let files = store.files(&mut interner).unwrap();
        assert!(files.from_snapshot());
        let mut files = files.map(Result::unwrap);
        let mut again = Index::default();
        assert!(again.load_filed(&mut files, store.settled().unwrap()));
        assert_eq!(again, index);
        // And their stamps.
        let mut files = store.files(&mut interner).unwrap();
        files.by_ref().for_each(drop);
        let scanned = || stamps.iter().map(|(p, s)| (p.as_path(), *s));
        assert_eq!(store.diff(scanned()).unwrap(), (vec![], vec![]));
        assert_eq!(files.into_stamps().diff(scanned()), (vec![], vec![]));
        // A write to the records leaves it behind, a cleared store too.
        let removed = [Change::Remove("1.md".into())];
        store.record(&mut removed.clone(), &[]);
        assert!(store.settled().unwrap().is_none() && !store.settled_is_current().unwrap());
        assert!(!store.files(&mut interner).unwrap().from_snapshot());
        index.apply(removed);
        store
            .save_settled(&index.settled().unwrap(), store.records_snapshot(&[]).ok())
            .unwrap();
        assert!(store.settled().unwrap().is_some());
        drop(store);
        let (store, kept) = Store::open(dir.path(), 2, false).unwrap();
        assert!(!kept && store.settled().unwrap().is_none());
        // A run whose records stopped being its index's files saves none.
        store.record(&mut changes[..1], &[]);
        store
            .save_settled(&index.settled().unwrap(), store.records_snapshot(&[]).ok())
            .unwrap();
        assert!(store.settled().unwrap().is_none());
    }

    #[test]
    fn the_inputs_digest_follows_the_records() {
        use crate::index::tests::event;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1, false).unwrap();
        let stamp = |len| Stamp {
            len,
            mtime_ns: 1,
            ino: 2,
        };
        let up = |d: u32| Change::Upsert(format!("{d}.md").into(), event((2017, 1, d), "e", &[]));
        let stamped = |d: u32, len| (PathBuf::from(format!("{d}.md")), stamp(len));
        // What the store's stamps say, as a scan of the same files says it.
        let listed = |store: &Store| Digest::of(store.stamps().unwrap().raw());
        assert_eq!(store.inputs().unwrap(), Digest::default());
        store.record(
            &mut [up(1), up(2), up(3)],
            &[stamped(1, 1), stamped(2, 2), stamped(3, 3)],
        );
        assert_eq!(store.inputs().unwrap(), listed(&store));
        let before = store.inputs().unwrap();
        // Replaced with another stamp, removed, and read without a stamp.
        store.record(
            &mut [up(2), Change::Remove("3.md".into()), up(1)],
            &[stamped(2, 9)],
        );
        assert_eq!(store.stamps().unwrap().len(), 1);
        assert_eq!(store.inputs().unwrap(), listed(&store));
        assert_ne!(store.inputs().unwrap(), before);
        // Back as they were: the same digest, whatever the order of writes.
        store.record(
            &mut [up(3), up(2), up(1)],
            &[stamped(3, 3), stamped(1, 1), stamped(2, 2)],
        );
        assert_eq!(store.inputs().unwrap(), before);
        drop(store);
        let (store, _) = Store::open(dir.path(), 2, false).unwrap();
        assert_eq!(store.inputs().unwrap(), Digest::default());
    }

    #[test]
    fn a_recap_is_kept_for_the_records_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1, true).unwrap();
        assert_eq!(store.recap().unwrap(), None);
        let paths = vec![b"a.md".to_vec(), b"not utf-8 \xff.md".to_vec()];
        let recap = Recap {
            events: 2,
            duplicates: vec![("key".into(), paths)],
        };
        store.save_recap(&recap).unwrap();
        assert_eq!(store.recap().unwrap().as_ref(), Some(&recap));
        drop(store);
        let (store, kept) = Store::open(dir.path(), 1, false).unwrap();
        assert!(kept && store.recap_is_current().unwrap());
        assert_eq!(store.recap().unwrap().as_ref(), Some(&recap));
        // A write to the records leaves it behind, a cleared store too.
        store.record(&mut [Change::Remove("1.md".into())], &[]);
        assert!(store.recap().unwrap().is_none() && !store.recap_is_current().unwrap());
        store.save_recap(&recap).unwrap();
        drop(store);
        let (store, kept) = Store::open(dir.path(), 2, false).unwrap();
        assert!(!kept && store.recap().unwrap().is_none());
        // A run whose records stopped being its index's files saves none.
        store.diverged.store(true, Ordering::Relaxed);
        store.save_recap(&recap).unwrap();
        assert!(store.recap().unwrap().is_none());
    }

    #[test]
    fn diff_finds_the_files_gone_new_and_changed_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1, true).unwrap();
        let stamp = |ino| Stamp {
            len: 1,
            mtime_ns: 1,
            ino,
        };
        let files = |v: &[(&str, u64)]| -> Vec<(PathBuf, Stamp)> {
            v.iter()
                .map(|(p, i)| (PathBuf::from(p), stamp(*i)))
                .collect()
        };
        // Sorted by bytes: `a-b.md` (0x2d) before `a/` (0x2f).
        let known = files(&[("a-b.md", 1), ("a/x.md", 2), ("a/y.md", 3), ("c.md", 4)]);
        let scanned = files(&[("a.md", 9), ("a/x.md", 2), ("a/y.md", 7), ("b.md", 5)]);
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter().map(|p| p.display().to_string()).collect()
        };
        let scanned = || scanned.iter().map(|(p, s)| (p.as_path(), *s));
        let (gone, to_read) = store.diff(scanned()).unwrap();
        assert!(gone.is_empty());
        assert_eq!(to_read.len(), 4);

        let page = |p: &PathBuf| {
            Change::Page(
                p.clone(),
                Arc::new(DayPage {
                    entries: Box::new([]),
                }),
            )
        };
        let mut changes: Vec<Change> = known.iter().map(|(p, _)| page(p)).collect();
        store.record(&mut changes, &known);
        let (gone, to_read) = store.diff(scanned()).unwrap();
        assert_eq!(names(gone), ["a-b.md", "c.md"]);
        assert_eq!(names(to_read), ["a.md", "a/y.md", "b.md"]);
        let (gone, to_read) = store.diff([]).unwrap();
        assert_eq!(gone.len(), 4);
        assert!(to_read.is_empty());

        let mut interner = Interner::default();
        let loaded: Vec<Filed> = store
            .files(&mut interner)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(loaded.len(), 4);
    }
}
