//! Writing the output directory. Every file is written to a temp file in its own
//! directory and renamed over the target, so a reader or web server never sees half
//! a feed, even if the process dies mid-write. A file whose bytes are unchanged is
//! left alone (its mtime too, so HTTP caches and conditional GETs stay valid).
//! Durability comes from one `syncfs` per batch, not an fsync per file.
//!
//! Telling unchanged bytes costs no read in the daemon: the sink remembers, per
//! file, the stamp it left the file with and a hash of the bytes, and reads the
//! file back only when its stamp is not the one it knows (someone else touched
//! it, or nothing is known yet: the first comparison after a start).

use crate::stamps::Stamp;
use anyhow::{Context as _, Result};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use rustix::fd::OwnedFd;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Prefix of our temp files, so that a restart can clean up after a crash.
const TEMP_PREFIX: &str = ".eventfeed-";
const TEMP_SUFFIX: &str = ".tmp";

/// The top-level entries of the output directory that eventfeed owns.
pub const OWNED: [&str; 6] = [
    "all",
    "contexts",
    "days",
    "opml",
    "index.html",
    "feeds.opml",
];

/// A failed call on the output, with the path it was about: the daemon's advice
/// on what to fix (a full disk, a folder it may not write) starts from it.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct OutputError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Wraps an I/O error with what was being done to which path.
fn at<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> OutputError + 'a {
    move |source| OutputError {
        action,
        path: path.to_owned(),
        source,
    }
}

#[derive(Debug, Default)]
pub struct Counts {
    pub written: AtomicUsize,
    pub unchanged: AtomicUsize,
    pub removed: AtomicUsize,
    pub bytes: AtomicUsize,
    /// Time spent in [`Sink::write`] (stat, compare, write, rename), summed over
    /// threads, in microseconds: the daemon's per-batch timings report it.
    pub write_us: AtomicU64,
}

impl Counts {
    /// The counts so far (the bytes are those written), reset to zero.
    pub fn take(&self) -> (usize, usize, usize, usize) {
        (
            self.written.swap(0, Relaxed),
            self.unchanged.swap(0, Relaxed),
            self.removed.swap(0, Relaxed),
            self.bytes.swap(0, Relaxed),
        )
    }
}

/// What the sink knows of one output file.
#[derive(Debug, Clone, Copy)]
struct Known {
    stamp: Stamp,
    /// xxh3 of the bytes the file held at `stamp`, if this process knows them;
    /// 0 if not (a hash that is 0 counts as unknown: the bytes are compared).
    /// Not an `Option`, which would make the manifest's entries a quarter
    /// larger.
    hash: u64,
}

pub struct Sink {
    root: PathBuf,
    pub counts: Counts,
    /// The stamp of every file as eventfeed last wrote or checked it, so that a
    /// restart can tell whether the output is still what it wrote, and the hash
    /// of its bytes once this process has written or compared them.
    manifest: Mutex<HashMap<Box<str>, Known>>,
    /// The files whose stamps changed since [`Sink::take_changed`]: what the
    /// store must learn after a batch.
    changed: Mutex<HashSet<String>>,
    /// The background syncer of [`Sink::sync_soon`], started on first use.
    syncer: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<()>>>,
    /// Who the files and folders written must belong to, if not to us: the
    /// output directory's owner when we run as root.
    owner: Option<(u32, u32)>,
    /// The files written or removed since [`Sink::take_changes`], once
    /// [`Sink::track_changes`] asked (what the object-store uploader mirrors).
    changes: Mutex<Option<Vec<String>>>,
    /// Whether the last run was killed (see [`Sink::open`]).
    after_crash: bool,
}

impl Sink {
    /// Opens (creating) the output directory. `after_crash` (the last run did not
    /// end cleanly, see [`crate::store::take_clean_mark`]) removes the temp files
    /// it left behind (a walk of the whole output, skipped otherwise), and makes
    /// [`Sink::adopt`] trust no stamp: what the last run wrote after its last
    /// durable save is unknown, so the next render must be whole.
    pub fn open(root: &Path, after_crash: bool) -> Result<Self> {
        fs::create_dir_all(root)
            .with_context(|| format!("cannot create output directory {}", root.display()))?;
        let sink = Self {
            root: root.to_owned(),
            counts: Counts::default(),
            manifest: Mutex::default(),
            changed: Mutex::default(),
            syncer: std::sync::OnceLock::new(),
            owner: crate::users::owner_to_keep(root),
            changes: Mutex::default(),
            after_crash,
        };
        if !after_crash {
            return Ok(sink);
        }
        let t = std::time::Instant::now();
        sink.clean_temp(root)?;
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "stale temp files cleaned"
        );
        Ok(sink)
    }

    /// Removes our temp files under `dir`, subfolders in parallel.
    fn clean_temp(&self, dir: &Path) -> Result<()> {
        use rayon::prelude::*;
        let mut subdirs = Vec::new();
        for entry in read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type()?;
            if kind.is_dir() && !name.starts_with('.') {
                subdirs.push(entry.path());
            } else if kind.is_file() && name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
            {
                remove_file(&entry.path())?;
            }
        }
        subdirs.par_iter().try_for_each(|d| self.clean_temp(d))
    }

    /// Writes `bytes` to `rel` unless the file already holds exactly them; whether
    /// it wrote (what changed for subscribers, and so for a WebSub hub).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        crate::shutdown::check()?;
        crate::systemd::keepalive();
        let t = std::time::Instant::now();
        let written = self.write_timed(rel, bytes);
        let us = t.elapsed().as_micros() as u64;
        self.counts.write_us.fetch_add(us, Relaxed);
        written
    }

    fn write_timed(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        let target = self.root.join(rel);
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        let known = self.known(rel);
        let (dir_path, name) = match (target.parent(), target.file_name()) {
            (Some(dir), Some(name)) => (dir, name),
            _ => unreachable!("files live in the output directory"),
        };
        // The folder is looked up once, by its whole path; the file, the temp
        // file and the rename each look up one name in it.
        let dir = match open_dir(rustix::fs::CWD, dir_path) {
            Ok(dir) => Some(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(at("open", dir_path)(e).into()),
        };
        if let Some(stamp) =
            (dir.as_ref()).and_then(|dir| same_contents(dir, name, bytes, hash, known))
        {
            self.counts.unchanged.fetch_add(1, Relaxed);
            self.record(rel, Some((stamp, Some(hash))));
            return Ok(false);
        }
        let dir = match dir {
            Some(dir) => dir,
            None => {
                self.create_dirs(dir_path).map_err(at("create", dir_path))?;
                open_dir(rustix::fs::CWD, dir_path).map_err(at("open", dir_path))?
            }
        };
        let tmp = Temp::create(&dir).map_err(at("create a temp file in", dir_path))?;
        let tmp_path = || dir_path.join(&tmp.name);
        if let Some((uid, gid)) = self.owner {
            let (uid, gid) = (
                rustix::fs::Uid::from_raw(uid),
                rustix::fs::Gid::from_raw(gid),
            );
            rustix::fs::fchown(&tmp.file, Some(uid), Some(gid))
                .map_err(|e| at("give its owner", &tmp_path())(e.into()))?;
        }
        let mut file = &tmp.file;
        file.write_all(bytes)
            .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o644)))
            .map_err(|e| at("write", &tmp_path())(e))?;
        let stamp = Stamp::of(&file.metadata()?);
        tmp.rename_to(name).map_err(at("rename into", &target))?;
        self.record(rel, Some((stamp, Some(hash))));
        self.changed(rel);
        self.counts.written.fetch_add(1, Relaxed);
        self.counts.bytes.fetch_add(bytes.len(), Relaxed);
        Ok(true)
    }

    /// Creates a folder and the missing ones above it, each given to the owner
    /// the output must keep.
    fn create_dirs(&self, dir: &Path) -> io::Result<()> {
        let Some((uid, gid)) = self.owner else {
            return fs::create_dir_all(dir);
        };
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        for d in missing.into_iter().rev() {
            match fs::create_dir(d) {
                Ok(()) => std::os::unix::fs::chown(d, Some(uid), Some(gid))?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes one file, if it exists, and the folders it leaves empty.
    pub fn remove_file(&self, rel: &str) -> Result<()> {
        let path = self.root.join(rel);
        self.record(rel, None);
        match fs::remove_file(&path) {
            Ok(()) => {
                self.changed(rel);
                self.counts.removed.fetch_add(1, Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
        if let Some(dir) = path.parent() {
            self.remove_empty_dirs(dir);
        }
        Ok(())
    }

    /// Removes a feed directory (its files, then the directory and any parents it
    /// leaves empty).
    pub fn remove_dir(&self, rel: &str) -> Result<()> {
        let dir = self.root.join(rel);
        for file in crate::render::FEED_FILES {
            self.record(&format!("{rel}/{file}"), None);
            match fs::remove_file(dir.join(file)) {
                Ok(()) => {
                    self.changed(&format!("{rel}/{file}"));
                    self.counts.removed.fetch_add(1, Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(at("remove", &dir.join(file))(e).into()),
            }
        }
        self.remove_empty_dirs(&dir);
        Ok(())
    }

    fn remove_empty_dirs(&self, dir: &Path) {
        let mut dir = Some(dir);
        while let Some(d) = dir.filter(|d| *d != self.root && d.starts_with(&self.root)) {
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    /// After a full build: removes every file under the owned directories that the
    /// build did not produce (feeds of contexts and days that no longer exist).
    pub fn prune(&self, keep: &HashSet<String>) -> Result<()> {
        for top in &OWNED[..4] {
            self.prune_dir(&self.root.join(top), keep)?;
        }
        Ok(())
    }

    fn prune_dir(&self, dir: &Path, keep: &HashSet<String>) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other.with_context(|| format!("cannot list {}", dir.display()))?,
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                self.prune_dir(&path, keep)?;
                self.remove_empty_dirs(&path);
            } else {
                let rel = path
                    .strip_prefix(&self.root)
                    .expect("under root")
                    .to_string_lossy();
                if !keep.contains(rel.as_ref()) {
                    self.record(&rel, None);
                    remove_file(&path)?;
                    self.changed(&rel);
                    self.counts.removed.fetch_add(1, Relaxed);
                }
            }
        }
        Ok(())
    }

    /// Starts keeping the paths written and removed, for [`Sink::take_changes`].
    pub fn track_changes(&self) {
        self.changes
            .lock()
            .expect("not poisoned")
            .get_or_insert_with(Vec::new);
    }

    /// The paths written or removed since the last call (none unless tracked).
    pub fn take_changes(&self) -> Vec<String> {
        let mut changes = self.changes.lock().expect("not poisoned");
        changes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn changed(&self, rel: &str) {
        if let Some(changes) = self.changes.lock().expect("not poisoned").as_mut() {
            changes.push(rel.to_owned());
        }
    }

    fn record(&self, rel: &str, known: Option<(Stamp, Option<u64>)>) {
        let mut manifest = self.manifest.lock().expect("not poisoned");
        let old = match known {
            Some((stamp, hash)) => {
                let new = Known {
                    stamp,
                    hash: hash.unwrap_or(0),
                };
                // In place when known: a new key is an allocation.
                match manifest.get_mut(rel) {
                    Some(k) => Some(std::mem::replace(k, new).stamp),
                    None => manifest.insert(rel.into(), new).map(|k| k.stamp),
                }
            }
            None => manifest.remove(rel).map(|k| k.stamp),
        };
        let stamp = known.map(|(stamp, _)| stamp);
        drop(manifest);
        if old != stamp {
            self.changed
                .lock()
                .expect("not poisoned")
                .insert(rel.to_owned());
        }
    }

    fn known(&self, rel: &str) -> Option<Known> {
        self.manifest
            .lock()
            .expect("not poisoned")
            .get(rel)
            .copied()
    }

    /// The files written or removed since the last call, with their stamps now
    /// (`None`: gone).
    pub fn take_changed(&self) -> Vec<(String, Option<Stamp>)> {
        let changed = std::mem::take(&mut *self.changed.lock().expect("not poisoned"));
        let manifest = self.manifest.lock().expect("not poisoned");
        changed
            .into_iter()
            .map(|rel| {
                let stamp = manifest.get(rel.as_str()).map(|k| k.stamp);
                (rel, stamp)
            })
            .collect()
    }

    /// The whole manifest, sorted, for the store; the changes since
    /// [`Sink::take_changed`] are in it, so they are taken too.
    pub fn take_whole(&self) -> Vec<(String, Stamp)> {
        self.changed.lock().expect("not poisoned").clear();
        let mut m: Vec<_> = self
            .manifest
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(k, v)| (k.to_string(), v.stamp))
            .collect();
        m.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        m
    }

    /// Takes over a cached manifest after checking that every file in it is still
    /// as it was written. Returns false (and keeps nothing) if any differs.
    pub fn adopt(&self, cached: Vec<(String, Stamp)>) -> bool {
        use rayon::prelude::*;
        // Every start after a full one has at least the two pages to check.
        let intact = !self.after_crash
            && !cached.is_empty()
            && cached
                .par_chunks(256)
                .all(|files| same_stamps(&self.root, files));
        if intact {
            *self.manifest.lock().expect("not poisoned") = cached
                .into_iter()
                .map(|(rel, stamp)| (rel.into(), Known { stamp, hash: 0 }))
                .collect();
        }
        intact
    }

    /// Makes everything written so far durable: one `syncfs` for the whole batch.
    pub fn sync(&self) -> Result<()> {
        let dir = fs::File::open(&self.root)
            .with_context(|| format!("cannot open {}", self.root.display()))?;
        syncfs(&dir)
            .with_context(|| format!("cannot sync the file system of {}", self.root.display()))
    }
}

impl Sink {
    /// Asks a background thread to sync: the daemon's feeds are out once renamed
    /// into place, and `syncfs` flushes the whole file system, so waiting for it
    /// would tie a feed's latency to unrelated writes on the same disk. Requests
    /// made while a sync runs coalesce into one more.
    pub fn sync_soon(&self) {
        let tx = self.syncer.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let root = self.root.clone();
            std::thread::Builder::new()
                .name("syncfs".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        while rx.try_recv().is_ok() {}
                        let synced = fs::File::open(&root).and_then(|dir| syncfs(&dir));
                        if let Err(e) = synced {
                            tracing::warn!("cannot sync {}: {e}", root.display());
                        }
                    }
                })
                .expect("spawning a thread");
            Mutex::new(tx)
        });
        let _ = tx.lock().expect("not poisoned").send(());
    }
}

#[allow(unsafe_code)] // the one libc call std does not wrap
fn syncfs(dir: &fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is valid for the duration of the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The folder `path` (from the folder `at`), opened to find names in, not
/// to list it.
fn open_dir(at: impl rustix::fd::AsFd, path: impl rustix::path::Arg) -> io::Result<OwnedFd> {
    use rustix::fs::{openat, Mode, OFlags};
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(openat(at, path, flags, Mode::empty())?)
}

/// A temp file in a folder, removed unless renamed.
struct Temp<'d> {
    dir: &'d OwnedFd,
    name: String,
    file: fs::File,
    renamed: bool,
}

impl<'d> Temp<'d> {
    /// A new file with a name no other writer has: the process id, and a
    /// count; a name a crashed run left (the same pid, after a reboot) is
    /// passed over.
    fn create(dir: &'d OwnedFd) -> io::Result<Self> {
        use rustix::fs::{openat, Mode, OFlags};
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        loop {
            let n = COUNT.fetch_add(1, Relaxed);
            let name = format!("{TEMP_PREFIX}{}-{n}{TEMP_SUFFIX}", std::process::id());
            match openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o644)) {
                Ok(fd) => {
                    let file = fs::File::from(fd);
                    return Ok(Self {
                        dir,
                        name,
                        file,
                        renamed: false,
                    });
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Renames the file over `name` in its folder.
    fn rename_to(mut self, name: &std::ffi::OsStr) -> io::Result<()> {
        rustix::fs::renameat(self.dir, self.name.as_str(), self.dir, name)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if !self.renamed {
            let _ =
                rustix::fs::unlinkat(self.dir, self.name.as_str(), rustix::fs::AtFlags::empty());
        }
    }
}

/// The stamp of the file `name` in `dir` if it already holds exactly `bytes`
/// (whose hash is `hash`). When the file is still as the sink left it
/// (`known`), the hashes tell without reading it.
fn same_contents(
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
    bytes: &[u8],
    hash: u64,
    known: Option<Known>,
) -> Option<Stamp> {
    use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags};
    let st = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_size as u64 != bytes.len() as u64
    {
        return None;
    }
    let stamp = Stamp::of_stat(&st);
    let same = match known {
        Some(Known { stamp: s, hash: h }) if s == stamp && h != 0 => h == hash,
        _ => {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
            let read = || -> io::Result<Vec<u8>> {
                let mut file = fs::File::from(openat(dir, name, flags, Mode::empty())?);
                let mut old = Vec::with_capacity(bytes.len());
                io::Read::read_to_end(&mut file, &mut old)?;
                Ok(old)
            };
            read().is_ok_and(|old| old == bytes)
        }
    };
    same.then_some(stamp)
}

/// Whether every file of `files` (paths relative to `root`, sorted) still has
/// its stamp. Each folder is opened once and its files looked up from it: by
/// the whole path, the kernel searches its cache of names once per component,
/// and the check took twice as long (at 1M events).
fn same_stamps(root: &Path, files: &[(String, Stamp)]) -> bool {
    use rustix::fs::{statat, AtFlags, CWD};
    let Ok(root) = open_dir(CWD, root) else {
        return false;
    };
    let mut dir: Option<(&str, OwnedFd)> = None;
    for (rel, stamp) in files {
        let (parent, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let fd = match dir.take() {
            Some((p, fd)) if p == parent => fd,
            _ => match open_dir(&root, parent) {
                Ok(fd) => fd,
                Err(_) => return false,
            },
        };
        if !statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| Stamp::of_stat(&st) == *stamp)
        {
            return false;
        }
        dir = Some((parent, fd));
    }
    true
}

fn read_dir(dir: &Path) -> Result<fs::ReadDir> {
    fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))
}

fn remove_file(path: &Path) -> Result<()> {
    Ok(fs::remove_file(path).map_err(at("remove", path))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_atomically_and_skips_unchanged_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::open(dir.path(), true).unwrap();
        assert!(sink.write("a/b/rss.xml", b"one").unwrap());
        let path = dir.path().join("a/b/rss.xml");
        let ino = fs::metadata(&path).unwrap().ino();
        assert!(!sink.write("a/b/rss.xml", b"one").unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().ino(),
            ino,
            "unchanged bytes are not rewritten"
        );
        sink.write("a/b/rss.xml", b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        assert_eq!(sink.counts.take(), (2, 1, 0, 6));
        sink.remove_dir("a/b").unwrap();
        assert!(!dir.path().join("a").exists(), "empty parents go too");
        // A write that cannot land says where, and leaves no temp file.
        fs::create_dir_all(dir.path().join("c/rss.xml/x")).unwrap();
        let e = sink.write("c/rss.xml", b"three").unwrap_err();
        assert!(e.to_string().contains("rename into"), "{e}");
        let names: Vec<_> = (fs::read_dir(dir.path().join("c")).unwrap())
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["rss.xml"]);
    }

    #[test]
    fn a_file_changed_behind_the_sinks_back_is_read_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::open(dir.path(), true).unwrap();
        let path = dir.path().join("all/rss.xml");
        assert!(sink.write("all/rss.xml", b"same size 1").unwrap());
        // Known stamp and hash: unchanged without a read, changed by the hash.
        assert!(!sink.write("all/rss.xml", b"same size 1").unwrap());
        assert!(sink.write("all/rss.xml", b"same size 2").unwrap());
        // Someone else writes the file in place, same size: the stamp differs
        // (mtime), so the sink reads it and puts its own bytes back.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&path, b"same size 3").unwrap();
        assert!(sink.write("all/rss.xml", b"same size 2").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"same size 2");
        // ... and when they wrote the very bytes the sink wants, leaves it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&path, b"same size 2").unwrap();
        let ino = fs::metadata(&path).unwrap().ino();
        assert!(!sink.write("all/rss.xml", b"same size 2").unwrap());
        assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
        // A sink that adopted the manifest knows no hashes: it reads.
        let manifest = sink.take_whole();
        let again = Sink::open(dir.path(), false).unwrap();
        assert!(again.adopt(manifest));
        assert!(!again.write("all/rss.xml", b"same size 2").unwrap());
        assert!(again.write("all/rss.xml", b"same size 4").unwrap());
    }

    /// The check of a manifest, folder by folder, sees any file changed,
    /// gone, or under a folder that is gone, at the root or deeper.
    #[test]
    fn adopting_checks_every_file_of_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::open(dir.path(), false).unwrap();
        let files = [
            "index.html",
            "all/rss.xml",
            "all/atom.xml",
            "days/2017/01/02/rss.xml",
            "feeds.opml",
        ];
        for f in files {
            sink.write(f, f.as_bytes()).unwrap();
        }
        let manifest = sink.take_whole();
        assert_eq!(manifest.len(), files.len());
        assert!(Sink::open(dir.path(), false)
            .unwrap()
            .adopt(manifest.clone()));
        // After a crash nothing is trusted.
        assert!(!Sink::open(dir.path(), true)
            .unwrap()
            .adopt(manifest.clone()));
        let spoil: [&dyn Fn(&Path); 3] = [
            &|d| fs::write(d.join("all/atom.xml"), b"other bytes").unwrap(),
            &|d| fs::remove_file(d.join("feeds.opml")).unwrap(),
            &|d| fs::remove_dir_all(d.join("days/2017")).unwrap(),
        ];
        for spoil in spoil {
            let copy = tempfile::tempdir().unwrap();
            let sink = Sink::open(copy.path(), false).unwrap();
            for f in files {
                sink.write(f, f.as_bytes()).unwrap();
            }
            let manifest = sink.take_whole();
            spoil(copy.path());
            assert!(!Sink::open(copy.path(), false).unwrap().adopt(manifest));
        }
    }

    #[test]
    fn cleans_stale_temp_files_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("days/2017")).unwrap();
        fs::write(dir.path().join("days/2017/.eventfeed-abc.tmp"), b"half").unwrap();
        fs::write(dir.path().join("days/2017/rss.xml"), b"old").unwrap();
        fs::write(dir.path().join("keep.txt"), b"not ours").unwrap();
        let sink = Sink::open(dir.path(), true).unwrap();
        assert!(!dir.path().join("days/2017/.eventfeed-abc.tmp").exists());
        sink.prune(&HashSet::default()).unwrap();
        assert!(!dir.path().join("days").exists());
        assert!(dir.path().join("keep.txt").exists());
    }
}
