//! What tells a version of a file without reading it (its stamp), and lists
//! of files with their stamps in the byte order of their paths: the ones a
//! scan finds, and the ones the store recorded at the last.

use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

    /// The stamp of what `stat` (`rustix`'s) says, as [`Stamp::of`] says it.
    pub fn of_stat(st: &rustix::fs::Stat) -> Self {
        Self {
            len: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec as i64,
            ino: st.st_ino,
        }
    }
}

/// A digest of a set of files with their stamps, whatever their order: the
/// wrapping sum of a hash of each file, so that the store keeps it up to
/// date a file at a time. A file that comes, goes or is stamped otherwise
/// changes it, but for a chance of one in 2^64.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub u64);

impl Digest {
    pub fn of<'a>(files: impl IntoIterator<Item = (&'a [u8], Stamp)>) -> Self {
        let mut digest = Self::default();
        for (path, stamp) in files {
            digest.add(path, stamp);
        }
        digest
    }

    pub fn add(&mut self, path: &[u8], stamp: Stamp) {
        self.0 = self.0.wrapping_add(Self::file(path, stamp));
    }

    pub fn remove(&mut self, path: &[u8], stamp: Stamp) {
        self.0 = self.0.wrapping_sub(Self::file(path, stamp));
    }

    fn file(path: &[u8], stamp: Stamp) -> u64 {
        let mut fields = [0; 24];
        fields[..8].copy_from_slice(&stamp.len.to_le_bytes());
        fields[8..16].copy_from_slice(&stamp.mtime_ns.to_le_bytes());
        fields[16..].copy_from_slice(&stamp.ino.to_le_bytes());
        let seed = xxhash_rust::xxh3::xxh3_64(&fields);
        xxhash_rust::xxh3::xxh3_64_with_seed(path, seed)
    }
}

/// Files (relative paths) and their stamps, the paths' bytes end to end in
/// one buffer: not an allocation each, as a start lists a million twice (the
/// scan's and the store's).
#[derive(Debug, Default)]
pub struct Stamps {
    bytes: Vec<u8>,
    /// Where each path ends in `bytes`, and its stamp.
    ends: Vec<(usize, Stamp)>,
}

impl Stamps {
    /// Room for `n` paths at once: at 1M files, growing the buffers by
    /// doubling copied and faulted in 100 MB more.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            // Most paths are shorter (`news/2017/07/04/a-title.md`); room not
            // written to is never backed by memory.
            bytes: Vec::with_capacity(n * 64),
            ends: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, path: &[u8], stamp: Stamp) {
        self.push_parts([path], stamp);
    }

    /// [`Stamps::push`] of the path made of `parts`, without making it first.
    pub fn push_parts<'p>(&mut self, parts: impl IntoIterator<Item = &'p [u8]>, stamp: Stamp) {
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.ends.push((self.bytes.len(), stamp));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The paths' bytes and stamps, in the order they were pushed.
    pub fn raw(&self) -> impl Iterator<Item = (&[u8], Stamp)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|(end, _)| *end));
        (starts.zip(&self.ends)).map(|(start, &(end, stamp))| (&self.bytes[start..end], stamp))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Path, Stamp)> {
        self.raw()
            .map(|(p, s)| (Path::new(OsStr::from_bytes(p)), s))
    }

    /// The files these stamps list that `scanned` (sorted by path bytes) does
    /// not: gone; and the files of `scanned` they do not list, or list with
    /// another stamp: new or changed. One pass over both, whose paths must be
    /// sorted by their bytes.
    pub fn diff<'a>(
        &self,
        scanned: impl IntoIterator<Item = (&'a Path, Stamp)>,
    ) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut stored = self.raw().peekable();
        let (mut gone, mut to_read) = (Vec::new(), Vec::new());
        let path_of = |k: &[u8]| PathBuf::from(OsStr::from_bytes(k));
        for (path, stamp) in scanned {
            let want = path.as_os_str().as_bytes();
            while let Some((k, _)) = stored.next_if(|(k, _)| *k < want) {
                gone.push(path_of(k));
            }
            match stored.next_if(|(k, _)| *k == want) {
                Some((_, s)) if s == stamp => {}
                _ => to_read.push(path.to_owned()),
            }
        }
        gone.extend(stored.map(|(k, _)| path_of(k)));
        (gone, to_read)
    }
}
