//! Directory trees: listing, snapshots of stamps (to prove nothing was written),
//! byte-for-byte comparison, and moving big trees out of the way.

use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The lock file eventfeed keeps in its output directory; not a feed.
pub const LOCK: &str = ".eventfeed.lock";

/// What identifies one version of a file: a rewrite changes the inode (temp
/// file + rename) or at least the mtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub ino: u64,
    pub mtime_ns: i128,
    pub size: u64,
}

/// Every regular file under `root` (relative path -> stamp), except the lock.
pub type Snapshot = BTreeMap<PathBuf, Stamp>;

pub fn snapshot(root: &Path) -> Result<Snapshot> {
    let mut out = Snapshot::new();
    walk(root, Path::new(""), &mut |rel, m| {
        if rel.as_os_str() != LOCK {
            out.insert(
                rel.to_owned(),
                Stamp {
                    ino: m.ino(),
                    mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
                    size: m.len(),
                },
            );
        }
    })?;
    Ok(out)
}

/// Files that differ between two snapshots (added, removed or rewritten).
pub fn changed(before: &Snapshot, after: &Snapshot) -> usize {
    let rewritten = after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(s))
        .count();
    let removed = before.keys().filter(|p| !after.contains_key(*p)).count();
    rewritten + removed
}

/// Files, bytes and directories of a tree (the lock file excluded).
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub files: u64,
    pub bytes: u64,
    pub dirs: u64,
}

pub fn totals(snap: &Snapshot) -> Totals {
    let mut dirs = std::collections::HashSet::new();
    for p in snap.keys() {
        let mut p = p.parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            if !dirs.insert(d) {
                break;
            }
            p = d.parent();
        }
    }
    Totals {
        files: snap.len() as u64,
        bytes: snap.values().map(|s| s.size).sum(),
        dirs: dirs.len() as u64,
    }
}

/// Calls `f` for every regular file under `root/rel` (symlinks are not followed).
pub fn walk(root: &Path, rel: &Path, f: &mut dyn FnMut(&Path, &fs::Metadata)) -> Result<()> {
    let dir = root.join(rel);
    for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, f)?;
        } else if kind.is_file() {
            f(&path, &entry.metadata()?);
        }
    }
    Ok(())
}

/// Compares two trees byte for byte (the lock file excluded). Returns a list of
/// differences, empty when they are equal (at most `max` listed).
pub fn diff(a: &Path, b: &Path, max: usize) -> Result<Vec<String>> {
    let sa = snapshot(a)?;
    let sb = snapshot(b)?;
    let mut out = Vec::new();
    for p in sa.keys().filter(|p| !sb.contains_key(*p)) {
        out.push(format!("only in {}: {}", a.display(), p.display()));
    }
    for p in sb.keys().filter(|p| !sa.contains_key(*p)) {
        out.push(format!("only in {}: {}", b.display(), p.display()));
    }
    let common: Vec<&PathBuf> = sa.keys().filter(|p| sb.contains_key(*p)).collect();
    let mut differing: Vec<String> = common
        .par_iter()
        .filter(|p| {
            sa[**p].size != sb[**p].size || fs::read(a.join(p)).ok() != fs::read(b.join(p)).ok()
        })
        .map(|p| format!("differs: {}", p.display()))
        .collect();
    differing.sort();
    out.extend(differing);
    out.truncate(max.max(1).min(out.len()));
    Ok(out)
}

/// `cp -a -H src dst` (dst must not exist). `-H`: a corpus that is a symlink
/// (to a cache on another file system, say) is copied, not the link: the
/// daemon's tree must be its own, on the work directory's file system.
pub fn copy(src: &Path, dst: &Path) -> Result<()> {
    if dst.exists() {
        bail!("{} exists", dst.display());
    }
    let status = std::process::Command::new("cp")
        .args(["-a", "-H"])
        .arg(src)
        .arg(dst)
        .status()
        .context("running cp")?;
    if !status.success() {
        bail!("cp -a -H {} {} failed", src.display(), dst.display());
    }
    Ok(())
}

/// Big trees are not deleted while measuring (ext4 is slow to create files right
/// after mass deletions): they are moved to the trash, emptied at the end.
pub struct Trash {
    dir: PathBuf,
    n: u64,
}

impl Trash {
    pub fn new(dir: PathBuf) -> Self {
        Trash { dir, n: 0 }
    }

    /// Moves `path` (if it exists) into the trash.
    pub fn discard(&mut self, path: &Path) -> Result<()> {
        if fs::symlink_metadata(path).is_err() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        loop {
            self.n += 1;
            let to = self.dir.join(format!("{}-{}", std::process::id(), self.n));
            if !to.exists() {
                fs::rename(path, &to)
                    .with_context(|| format!("moving {} to the trash", path.display()))?;
                return Ok(());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        fs::read_dir(&self.dir).map_or(true, |mut d| d.next().is_none())
    }

    pub fn empty(&self) -> Result<()> {
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("emptying {}", self.dir.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlinked_corpus_is_copied_not_linked() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("cache");
        fs::create_dir_all(corpus.join("news")).unwrap();
        fs::write(corpus.join("news/a.md"), "x").unwrap();
        let link = dir.path().join("corpus");
        std::os::unix::fs::symlink(&corpus, &link).unwrap();
        let live = dir.path().join("live");
        copy(&link, &live).unwrap();
        assert!(fs::symlink_metadata(&live).unwrap().is_dir());
        fs::write(live.join("news/b.md"), "y").unwrap();
        assert!(
            !corpus.join("news/b.md").exists(),
            "the cache was written to"
        );
    }
}
