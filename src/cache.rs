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

#[derive(Serialize, Deserialize)]
pub struct Cache {
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

/// Ties a cache to the program version and to every setting that shapes output.
pub fn fingerprint(settings: &crate::config::Settings) -> u64 {
    let key = format!(
        "{} {:?} {} {:?}",
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
        match postcard::from_bytes::<Cache>(&bytes) {
            Ok(cache) if cache.fingerprint == fingerprint => Some(cache),
            Ok(_) => {
                tracing::info!("cache is from another version or configuration; starting fresh");
                None
            }
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
        let bytes = postcard::to_stdvec(self).context("cannot encode the cache")?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".cache-")
            .tempfile_in(state_dir)
            .with_context(|| format!("cannot write in {}", state_dir.display()))?;
        tmp.write_all(&bytes)?;
        tmp.persist(file(state_dir))
            .with_context(|| format!("cannot save {}", file(state_dir).display()))?;
        Ok(())
    }
}
