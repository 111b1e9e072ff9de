//! What eventfeed remembers between runs, so that a restart (or a second `build`)
//! with nothing changed re-parses nothing and renders nothing: every input file's
//! stamp and parsed event, and the stamp of every output file as it was written.
//!
//! The cache is only ever a shortcut. A file whose stamp differs is read again; an
//! output file that differs from its stamp (deleted, edited) triggers a full render;
//! a cache from another version or configuration, or an unreadable one, is ignored.

use crate::index::Change;
use crate::model::{DayPage, Event, Interner};
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub len: u64,
    pub mtime_ns: i64,
    pub ino: u64,
}

impl Stamp {
    pub fn of(m: &fs::Metadata) -> Self {
        Self {
            len: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ino: m.ino(),
        }
    }
}

/// On disk: the fingerprint (8 bytes, little-endian), the output manifest, then
/// one record per file, each length-prefixed so that loading decodes and shares
/// one event at a time instead of holding the whole file and every unshared
/// event at once.
pub struct Cache {
    fingerprint: u64,
    pub files: Vec<CachedFile>,
    pub outputs: Manifest,
}

/// Output files and their stamps, sorted by path.
pub type Manifest = Vec<(String, Stamp)>;

#[derive(Serialize, Deserialize)]
pub struct CachedFile {
    /// The path relative to the input root, as raw bytes (names need not be UTF-8).
    path: Vec<u8>,
    pub stamp: Stamp,
    pub doc: CachedDoc,
}

/// What a cached file held.
#[derive(Serialize, Deserialize)]
pub enum CachedDoc {
    Event(Arc<Event>),
    Page(Arc<DayPage>),
}

impl CachedFile {
    pub fn new(path: &Path, stamp: Stamp, doc: CachedDoc) -> Self {
        Self {
            path: path.as_os_str().as_bytes().to_vec(),
            stamp,
            doc,
        }
    }

    /// The file as a change that adds it to an index.
    pub fn into_change(self) -> Change {
        let path = self.path();
        match self.doc {
            CachedDoc::Event(event) => Change::Upsert(path, event),
            CachedDoc::Page(page) => Change::Page(path, page),
        }
    }

    pub fn raw_path(&self) -> &[u8] {
        &self.path
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(std::ffi::OsString::from_vec(self.path.clone()))
    }
}

/// The layout of the cache file. postcard is not self-describing, so bump this
/// whenever `Event` or anything in this file changes shape.
const FORMAT: u32 = 4;

/// Ties a cache to the program (its version and the binary itself, so that a
/// rebuilt renderer never trusts output an older one wrote), the cache layout and
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
    state_dir.join("cache.bin")
}

impl Cache {
    pub fn new(fingerprint: u64, files: Vec<CachedFile>, outputs: Vec<(String, Stamp)>) -> Self {
        Self {
            fingerprint,
            files,
            outputs,
        }
    }

    /// The cache, if there is a usable one for this fingerprint; its events'
    /// strings shared through `interner`.
    pub fn load(state_dir: &Path, fingerprint: u64, interner: &mut Interner) -> Option<Self> {
        let path = file(state_dir);
        let mut reader = BufReader::with_capacity(1 << 20, fs::File::open(&path).ok()?);
        let mut head = [0u8; 8];
        reader.read_exact(&mut head).ok()?;
        if u64::from_le_bytes(head) != fingerprint {
            tracing::info!("the cache is from another version or configuration; starting fresh");
            return None;
        }
        match Self::decode(&mut reader, interner) {
            Ok((files, outputs)) => Some(Self {
                fingerprint,
                files,
                outputs,
            }),
            Err(e) => {
                tracing::warn!("ignoring unreadable cache {}: {e:#}", path.display());
                None
            }
        }
    }

    fn decode(
        reader: &mut impl Read,
        interner: &mut Interner,
    ) -> Result<(Vec<CachedFile>, Manifest)> {
        let mut buf = Vec::new();
        let outputs = match record(reader, &mut buf)? {
            Some(bytes) => postcard::from_bytes(bytes)?,
            None => anyhow::bail!("no output manifest"),
        };
        let mut files = Vec::new();
        while let Some(bytes) = record(reader, &mut buf)? {
            let mut file: CachedFile = postcard::from_bytes(bytes)?;
            file.doc = match file.doc {
                CachedDoc::Event(e) => {
                    CachedDoc::Event(Arc::new(interner.event(Arc::unwrap_or_clone(e))))
                }
                CachedDoc::Page(p) => {
                    CachedDoc::Page(Arc::new(interner.page(Arc::unwrap_or_clone(p))))
                }
            };
            files.push(file);
        }
        Ok((files, outputs))
    }

    /// Saves atomically (temp file and rename), like every output.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".cache-")
            .tempfile_in(state_dir)
            .with_context(|| format!("cannot write in {}", state_dir.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, tmp);
        out.write_all(&self.fingerprint.to_le_bytes())?;
        let mut buf = Vec::new();
        write_record(&mut out, &mut buf, &self.outputs)?;
        for file in &self.files {
            write_record(&mut out, &mut buf, file)?;
        }
        let tmp = out.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(file(state_dir))
            .with_context(|| format!("cannot save {}", file(state_dir).display()))?;
        Ok(())
    }
}

fn write_record(out: &mut impl Write, buf: &mut Vec<u8>, value: &impl Serialize) -> Result<()> {
    buf.clear();
    let bytes = postcard::to_extend(value, std::mem::take(buf))?;
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(&bytes)?;
    *buf = bytes;
    Ok(())
}

/// The next length-prefixed record, or `None` at the end of the file.
fn record<'b>(reader: &mut impl Read, buf: &'b mut Vec<u8>) -> Result<Option<&'b [u8]>> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    buf.resize(u32::from_le_bytes(len) as usize, 0);
    reader.read_exact(buf)?;
    Ok(Some(buf))
}
