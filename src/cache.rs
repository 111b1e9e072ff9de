//! What eventfeed remembers between runs, so that a restart (or a second `build`)
//! with nothing changed re-parses nothing and renders nothing: every input file's
//! stamp and parsed event, and the stamp of every output file as it was written.
//!
//! The cache is only ever a shortcut. A file whose stamp differs is read again; an
//! output file that differs from its stamp (deleted, edited) triggers a full render;
//! a cache from another version or configuration, or an unreadable one, is ignored.

use crate::model::Event;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
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

/// On disk: the fingerprint as 8 little-endian bytes, then this struct in postcard,
/// so that a cache of another version is told apart before decoding it.
#[derive(Serialize, Deserialize)]
pub struct Cache {
    #[serde(skip)]
    fingerprint: u64,
    pub files: Vec<CachedFile>,
    pub outputs: Vec<(String, Stamp)>,
}

#[derive(Serialize, Deserialize)]
pub struct CachedFile {
    /// The path relative to the input root, as raw bytes (names need not be UTF-8).
    path: Vec<u8>,
    pub stamp: Stamp,
    pub event: Arc<Event>,
}

impl CachedFile {
    pub fn new(path: &Path, stamp: Stamp, event: Arc<Event>) -> Self {
        Self {
            path: path.as_os_str().as_bytes().to_vec(),
            stamp,
            event,
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
const FORMAT: u32 = 2;

/// Ties a cache to the program version, the cache layout and every setting that
/// shapes output.
pub fn fingerprint(settings: &crate::config::Settings) -> u64 {
    let key = format!(
        "{} {FORMAT} {:?} {} {:?}",
        env!("CARGO_PKG_VERSION"),
        settings.site,
        settings.max_file_bytes,
        settings.input
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

    /// The cache, if there is a usable one for this fingerprint.
    pub fn load(state_dir: &Path, fingerprint: u64) -> Option<Self> {
        let bytes = fs::read(file(state_dir)).ok()?;
        let (head, body) = bytes.split_at_checked(8)?;
        if u64::from_le_bytes(head.try_into().ok()?) != fingerprint {
            tracing::info!("the cache is from another version or configuration; starting fresh");
            return None;
        }
        match postcard::from_bytes::<Cache>(body) {
            Ok(cache) => Some(Self {
                fingerprint,
                ..cache
            }),
            Err(e) => {
                tracing::warn!(
                    "ignoring unreadable cache {}: {e}",
                    file(state_dir).display()
                );
                None
            }
        }
    }

    /// Saves atomically (temp file and rename), like every output.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".cache-")
            .tempfile_in(state_dir)
            .with_context(|| format!("cannot write in {}", state_dir.display()))?;
        // Streamed: an encoded copy in memory would double the peak.
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
        out.write_all(&self.fingerprint.to_le_bytes())?;
        postcard::to_io(self, &mut out).context("cannot encode the cache")?;
        let tmp = out.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(file(state_dir))
            .with_context(|| format!("cannot save {}", file(state_dir).display()))?;
        Ok(())
    }
}
