//! Reading the input tree: which files are events or day pages, and their bytes.
//! Editor and sync-tool temp files, hidden files and symlinks are neither.

use crate::stamps::{Digest, Stamp, Stamps};
use anyhow::{Context as _, Result};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The input files a scan found, relative to the root, with their stamps, in
/// the byte order of their paths: runs of them (a folder's files between its
/// subfolders), not copied into one list.
#[derive(Debug, Default)]
pub struct Scanned {
    runs: Vec<Stamps>,
}

impl Scanned {
    pub fn len(&self) -> usize {
        self.runs.iter().map(Stamps::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(Stamps::is_empty)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Path, Stamp)> {
        self.runs.iter().flat_map(Stamps::iter)
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.iter().map(|(path, _)| path)
    }

    /// The [`Digest`] of the files and their stamps.
    pub fn digest(&self) -> Digest {
        Digest::of(self.runs.iter().flat_map(Stamps::raw))
    }
}

pub struct Source {
    root: PathBuf,
    extensions: Vec<String>,
    day_pages: Vec<String>,
    /// The most bytes a file may have (`max_file_bytes`): reads stop one past it.
    max_bytes: u64,
}

/// What an input file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Event,
    DayPage,
}

impl Source {
    pub fn new(root: &Path, extensions: &[String], day_pages: &[String], max_bytes: u64) -> Self {
        Self {
            root: root.to_owned(),
            extensions: extensions.to_vec(),
            day_pages: day_pages.to_vec(),
            max_bytes,
        }
    }

    /// What a path (relative to the root) names: a day page (by its file name), an
    /// event file, or neither.
    pub fn kind(&self, rel: &Path) -> Option<Kind> {
        if !self.is_input_path(rel) {
            return None;
        }
        let name = rel.file_name()?.to_string_lossy();
        let page = self.day_pages.iter().any(|p| p.eq_ignore_ascii_case(&name));
        Some(if page { Kind::DayPage } else { Kind::Event })
    }

    /// Whether a path (relative to the root) names an input file: not hidden, not a
    /// temp or backup file of an editor (`.x.swp`, `x~`, `#x#`, vim's `4913`), of
    /// rsync (`.x.XXXXXX`) or of `sed -i` (`sedXXXXXX`), and a day page or a file
    /// with one of the configured extensions.
    pub fn is_input_path(&self, rel: &Path) -> bool {
        // Most paths have no component starting with a dot at all: told from
        // the bytes, without splitting the path (a scan asks for every file).
        let bytes = rel.as_os_str().as_bytes();
        let dotted = bytes.first() == Some(&b'.')
            || match rel.to_str() {
                // `str::contains` searches many bytes at a time.
                Some(s) => s.contains("/."),
                None => bytes.windows(2).any(|w| w == b"/."),
            };
        let hidden = dotted && rel.components().any(|c| is_hidden(c.as_os_str()));
        if hidden {
            return false;
        }
        // Without dotted components or a trailing slash, the name is what
        // follows the last slash.
        let name = match bytes.rsplit(|&b| b == b'/').next() {
            Some(tail) if !dotted && !tail.is_empty() => Some(OsStr::from_bytes(tail)),
            _ => rel.file_name(),
        };
        // `to_string_lossy` checks byte by byte; `from_utf8` a word at a time.
        let Some(name) = name.map(|n| match n.to_str() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => n.to_string_lossy(),
        }) else {
            return false;
        };
        let temp = name.ends_with('~')
            || name.starts_with('#')
            || name == "4913"
            || name.starts_with("sed") && !name.contains('.');
        // As `Path::extension`: after the last dot, unless that starts the name.
        let ext = match name.rfind('.') {
            Some(i) if i > 0 => Some(&name[i + 1..]),
            _ => None,
        };
        let page = self.day_pages.iter().any(|p| p.eq_ignore_ascii_case(&name));
        let lower_is =
            |e: &str, x: &String| e.bytes().map(|b| b.to_ascii_lowercase()).eq(x.bytes());
        let wanted = page || ext.is_some_and(|e| self.extensions.iter().any(|x| lower_is(e, x)));
        !temp && wanted
    }

    /// Every input file under the root, relative, sorted by bytes (the order of
    /// the store and of the index's maps; comparing bytes is a `memcmp`, not a
    /// walk over path components), with its stamp. Unreadable folders are
    /// reported and skipped, not fatal.
    pub fn scan(&self) -> Result<(Scanned, Vec<String>)> {
        self.scan_with(&|_| {})
    }

    /// [`Source::scan`], telling `folder` of each folder below the root before
    /// listing it (the daemon's watch, which then need not list them again).
    pub fn scan_with(&self, folder: &(dyn Fn(&Path) + Sync)) -> Result<(Scanned, Vec<String>)> {
        let mut scanned = Scanned::default();
        let mut problems = Vec::new();
        fs::metadata(&self.root)
            .with_context(|| format!("cannot read input directory {}", self.root.display()))?;
        let at = Folder {
            at: None,
            path: &self.root,
            rel: b"",
        };
        // A root that cannot be listed is no empty tree: taken for one, it
        // would remove every feed.
        self.walk(at, folder, &mut scanned.runs, &mut problems)
            .with_context(|| format!("cannot list input directory {}", self.root.display()))?;
        debug_assert!(scanned.paths().is_sorted_by(|a, b| raw(a) < raw(b)));
        Ok((scanned, problems))
    }

    /// The input files under one folder of the tree (a folder that just appeared).
    pub fn scan_dir(&self, rel: &Path) -> Vec<PathBuf> {
        let mut scanned = Scanned::default();
        let at = Folder {
            at: None,
            path: &self.root.join(rel),
            rel: raw(rel),
        };
        let _ = self.walk(at, &|_| {}, &mut scanned.runs, &mut Vec::new());
        scanned.paths().map(Path::to_owned).collect()
    }

    /// Whether `rel` is reached from the root through real folders only, the way a
    /// scan reaches files (it never follows a symlink): a file behind a symlinked
    /// folder is not part of the tree. A folder that is gone counts as real (the
    /// file is gone too).
    pub fn through_real_folders(&self, rel: &Path) -> bool {
        let Some(parent) = rel.parent() else {
            return true;
        };
        let mut dir = self.root.clone();
        parent.components().all(|c| {
            dir.push(c);
            !fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink())
        })
    }

    /// Walks a folder, its subfolders in parallel (a scan is mostly waiting on
    /// the kernel, and a tree has thousands of day folders), adding its files
    /// to `runs` in the byte order of their paths: each folder's entries
    /// sorted, a subfolder's files placed where its name with a `/` sorts (a
    /// global sort of a million paths took a tenth of a start's scan). Each
    /// folder is opened and each file stamped relative to its folder (a
    /// lookup of one name, not of the whole path), and the entries are read
    /// into one buffer: no allocation per file. Fails only when this folder
    /// cannot be listed; a subfolder that cannot is one of the `problems`.
    fn walk(
        &self,
        dir: Folder<'_>,
        folder: &(dyn Fn(&Path) + Sync),
        runs: &mut Vec<Stamps>,
        problems: &mut Vec<String>,
    ) -> io::Result<()> {
        use rayon::prelude::*;
        crate::systemd::keepalive();
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened = match dir.at {
            // A folder swapped for a symlink since it was listed is not entered.
            Some(parent) => {
                let name = name_of(dir.path);
                rustix::fs::openat(parent, name, flags | OFlags::NOFOLLOW, Mode::empty())
            }
            // The root may be a symlink.
            None => rustix::fs::open(dir.path, flags, Mode::empty()),
        };
        let listed = opened.and_then(|fd| {
            let listing = self.list(&fd, dir.rel)?;
            Ok((fd, listing))
        });
        let (fd, listing) = listed?;
        let Listing {
            paths,
            files,
            subdirs,
        } = listing;
        let found: Vec<(Vec<Stamps>, Vec<String>)> = subdirs
            .par_iter()
            .map(|name| {
                let (mut r, mut p) = (Vec::new(), Vec::new());
                let path = dir.path.join(OsStr::from_bytes(name));
                let mut rel = Vec::new();
                join_onto(&mut rel, dir.rel, name);
                folder(&path);
                let sub = Folder {
                    at: Some(fd.as_fd()),
                    path: &path,
                    rel: &rel,
                };
                if let Err(e) = self.walk(sub, folder, &mut r, &mut p) {
                    p.push(format!("{}: cannot list folder: {e}", path.display()));
                }
                (r, p)
            })
            .collect();
        // This folder's files, cut where each subfolder's files go (after the
        // files whose names sort before the subfolder's name and a `/`).
        let mut files = (files.iter())
            .map(|&(ref at, stamp)| (&paths[at.clone()], stamp))
            .peekable();
        for (name, (r, p)) in subdirs.iter().zip(found) {
            let mut run = Stamps::default();
            while let Some((path, stamp)) = files.next_if(|(p, _)| sorts_before(p, name)) {
                run.push(path, stamp);
            }
            runs.extend(Some(run).filter(|r| !r.is_empty()).into_iter().chain(r));
            problems.extend(p);
        }
        let mut run = Stamps::default();
        for (path, stamp) in files {
            run.push(path, stamp);
        }
        runs.extend(Some(run).filter(|r| !r.is_empty()));
        Ok(())
    }

    /// The input files and the subfolders to walk of an open folder, `rel`
    /// from the root.
    fn list(&self, fd: &OwnedFd, rel: &[u8]) -> rustix::io::Result<Listing> {
        use rustix::fs::{AtFlags, FileType, RawDir};
        let mut buf = Vec::with_capacity(32 * 1024);
        let mut entries = RawDir::new(fd, buf.spare_capacity_mut());
        let (mut paths, mut files, mut subdirs) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let stat = || rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW);
            let mut stamp = None;
            let kind = match entry.file_type() {
                // Some file systems do not say (`DT_UNKNOWN`): ask the inode.
                FileType::Unknown => match stat() {
                    Ok(st) => {
                        stamp = Some(Stamp::of_stat(&st));
                        FileType::from_raw_mode(st.st_mode)
                    }
                    Err(_) => continue,
                },
                kind => kind,
            };
            match kind {
                FileType::Directory if !is_hidden(OsStr::from_bytes(bytes)) => {
                    subdirs.push(bytes.to_vec())
                }
                FileType::RegularFile => {
                    let start = paths.len();
                    join_onto(&mut paths, rel, bytes);
                    let path = Path::new(OsStr::from_bytes(&paths[start..]));
                    // Not an input file, or gone since it was listed.
                    let stamp = match self.is_input_path(path) {
                        true => stamp.or_else(|| stat().ok().map(|st| Stamp::of_stat(&st))),
                        false => None,
                    };
                    match stamp {
                        Some(stamp) => files.push((start..paths.len(), stamp)),
                        None => paths.truncate(start),
                    }
                }
                _ => {}
            }
        }
        files.sort_unstable_by(|a, b| paths[a.0.clone()].cmp(&paths[b.0.clone()]));
        subdirs.sort_by_cached_key(|d| [&d[..], b"/"].concat());
        Ok(Listing {
            paths,
            files,
            subdirs,
        })
    }

    /// A handle for reading a batch of files (see [`Reads::read`]).
    pub fn reads(&self) -> Reads<'_> {
        let root = match NO_OPENAT2.load(Ordering::Relaxed) {
            true => None,
            false => rustix::fs::open(
                &self.root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok(),
        };
        Reads { source: self, root }
    }
}

/// Whether a file or folder name is hidden (a dot first): a scan does not
/// enter hidden folders, nor does the daemon's watch.
pub fn is_hidden(name: &OsStr) -> bool {
    name.as_bytes().starts_with(b".")
}

/// Set once `openat2` turns out to be missing (Linux before 5.6) or forbidden
/// (some container seccomp profiles): reads then check each folder by `lstat`.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Reads of input files, beneath the root opened once per batch.
pub struct Reads<'a> {
    source: &'a Source,
    root: Option<OwnedFd>,
}

impl Reads<'_> {
    /// The bytes of an input file and the stamp they go with, or `None` when it is
    /// gone (a removal) or is no longer a regular file (symlinks are not followed,
    /// neither the file nor a folder on its way: see
    /// [`Source::through_real_folders`]). At most `max_bytes + 1` bytes are read,
    /// whatever the file's size (a video copied into the tree by mistake must not
    /// take the memory of the daemon): more bytes than `max_bytes` means the file
    /// is too large.
    pub fn read(&self, rel: &Path) -> io::Result<Option<(Vec<u8>, Stamp)>> {
        let file = match self.open(rel)? {
            Some(file) => file,
            None => return Ok(None),
        };
        // The stamp of the open file, so it describes exactly the bytes read.
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let stamp = Stamp::of(&meta);
        let max = self.source.max_bytes;
        let cap = usize::try_from(stamp.len.min(max).saturating_add(1)).unwrap_or(usize::MAX);
        let mut file = file.take(max.saturating_add(1));
        // One read, of a byte more than the file had: a regular file's read
        // comes short only at its end, so the length it was stamped with is
        // all of it, without a second read to find the end (a sixth of the
        // system calls of reading a file).
        let mut bytes = vec![0; cap];
        let n = match file.read(&mut bytes) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            read => read?,
        };
        bytes.truncate(n);
        if n as u64 != stamp.len || n == cap {
            file.read_to_end(&mut bytes)?;
        }
        Ok(Some((bytes, stamp)))
    }

    /// Opens a file of the tree without following a symlink anywhere on its path:
    /// one `openat2` call where it is available (instead of an `lstat` per folder),
    /// `None` where the path is gone or crosses a symlink. Non-blocking, so that a
    /// FIFO in the tree cannot hang the reader; what is not a regular file is
    /// dropped after the open.
    fn open(&self, rel: &Path) -> io::Result<Option<fs::File>> {
        let flags =
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
        if let Some(root) = &self.root {
            let how = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            match rustix::fs::openat2(root, rel, flags, Mode::empty(), how) {
                Ok(fd) => return Ok(Some(fd.into())),
                Err(Errno::NOENT | Errno::LOOP | Errno::NXIO) => return Ok(None),
                Err(Errno::NOSYS | Errno::PERM) => NO_OPENAT2.store(true, Ordering::Relaxed),
                Err(e) => return Err(e.into()),
            }
        }
        if !self.source.through_real_folders(rel) {
            return Ok(None);
        }
        let path = self.source.root.join(rel);
        match rustix::fs::open(&path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd.into())),
            Err(Errno::NOENT | Errno::LOOP | Errno::NXIO) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn raw(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// Whether the file `rel` sorts before the files of its sibling folder
/// `folder` (a name): whether its name sorts before `folder` and a `/`.
fn sorts_before(rel: &[u8], folder: &[u8]) -> bool {
    let name = rel.rsplit(|&b| b == b'/').next().unwrap_or_default();
    name.iter().lt(folder.iter().chain(b"/"))
}

/// What a folder holds, as a scan lists it: its input files (their paths from
/// the root, end to end in `paths`), sorted, with their stamps; and the
/// subfolders to walk (names; not hidden ones, nor symlinks), sorted as a
/// name and a `/`.
struct Listing {
    paths: Vec<u8>,
    files: Vec<(std::ops::Range<usize>, Stamp)>,
    subdirs: Vec<Vec<u8>>,
}

/// A folder a scan walks: its path (for messages and the watch), its path
/// relative to the root, and the parent it is opened from (by name: the
/// kernel looks up one name, not the whole path).
#[derive(Clone, Copy)]
struct Folder<'a> {
    at: Option<BorrowedFd<'a>>,
    path: &'a Path,
    rel: &'a [u8],
}

/// The last component of a folder's path.
fn name_of(path: &Path) -> &OsStr {
    path.file_name().unwrap_or(path.as_os_str())
}

/// Adds to `path` `rel` and `name` joined by a `/`, or `name` alone at the
/// root.
fn join_onto(path: &mut Vec<u8>, rel: &[u8], name: &[u8]) {
    if !rel.is_empty() {
        path.extend_from_slice(rel);
        path.push(b'/');
    }
    path.extend_from_slice(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_event_files_from_temp_files() {
        let s = Source::new(
            Path::new("/in"),
            &["md".into(), "txt".into()],
            &["index.md".into(), "README.md".into()],
            100,
        );
        let yes = [
            "news/2017/11/2/a.md",
            "000_6b75227719e54f27.txt",
            "x/Zürich.MD",
        ];
        for p in [
            "news/2017/11/2/index.md",
            "news/1999/02/12/README.md",
            "x/readme.md",
        ] {
            assert_eq!(s.kind(Path::new(p)), Some(Kind::DayPage), "{p}");
        }
        let no = [
            ".a.md.swp",
            "news/.a.md.AbC123",
            "a.md~",
            "#a.md#",
            "4913",
            "sedAbC123",
            ".git/x.md",
            "a.html",
            "README",
        ];
        for p in yes {
            assert_eq!(s.kind(Path::new(p)), Some(Kind::Event), "{p}");
        }
        for p in no {
            assert_eq!(s.kind(Path::new(p)), None, "{p}");
        }
    }

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let big = fs::File::create(dir.path().join("big.md")).unwrap();
        big.set_len(1 << 30).unwrap();
        fs::write(dir.path().join("small.md"), b"0123456789").unwrap();
        let s = Source::new(dir.path(), &["md".into()], &[], 10);
        let (bytes, stamp) = s.reads().read(Path::new("big.md")).unwrap().unwrap();
        assert_eq!((bytes.len(), stamp.len), (11, 1 << 30));
        assert!(bytes.capacity() <= 11, "{}", bytes.capacity());
        let (bytes, _) = s.reads().read(Path::new("small.md")).unwrap().unwrap();
        assert_eq!(bytes, b"0123456789");
        // Under the limit and empty: the bytes the file has, as stamped.
        fs::write(dir.path().join("short.md"), b"01234").unwrap();
        fs::write(dir.path().join("empty.md"), b"").unwrap();
        for (name, want) in [("short.md", &b"01234"[..]), ("empty.md", b"")] {
            let (bytes, stamp) = s.reads().read(Path::new(name)).unwrap().unwrap();
            assert_eq!((&bytes[..], stamp.len), (want, want.len() as u64), "{name}");
        }
    }

    #[test]
    fn files_behind_a_symlinked_folder_are_not_in_the_tree_nor_what_is_no_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        fs::create_dir_all(root.join("real/sub")).unwrap();
        fs::create_dir_all(dir.path().join("elsewhere/sub")).unwrap();
        for p in ["real/sub/a.md", "a.md"] {
            fs::write(root.join(p), b"x").unwrap();
        }
        fs::write(dir.path().join("elsewhere/sub/a.md"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("a.md"), root.join("b.md")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo.md"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let s = Source::new(&root, &["md".into()], &[], 100);
        // A scan lists neither the symlinked folder's file, the symlink nor
        // the FIFO.
        let (scanned, _) = s.scan().unwrap();
        let found: Vec<&Path> = scanned.paths().collect();
        assert_eq!(found, [Path::new("a.md"), Path::new("real/sub/a.md")]);
        for p in ["a.md", "real/a.md", "real/sub/a.md", "gone/a.md", "link"] {
            assert!(s.through_real_folders(Path::new(p)), "{p}");
        }
        for p in ["link/a.md", "link/sub/a.md"] {
            assert!(!s.through_real_folders(Path::new(p)), "{p}");
        }
        // Both ways: `openat2`, and the `lstat` walk where it is missing.
        for reads in [
            s.reads(),
            Reads {
                source: &s,
                root: None,
            },
        ] {
            for p in ["a.md", "real/sub/a.md"] {
                assert!(reads.read(Path::new(p)).unwrap().is_some(), "{p}");
            }
            for p in [
                "link/sub/a.md",
                "b.md",
                "fifo.md",
                "real",
                "gone.md",
                "gone/a.md",
            ] {
                assert!(reads.read(Path::new(p)).unwrap().is_none(), "{p}");
            }
            assert!(reads.read(Path::new("a.md/x.md")).is_err());
        }
    }

    /// The daemon's watch learns a folder before the scan lists it, so a file
    /// made in it as soon as it is watched is one the scan finds; and it
    /// learns only the folders the scan enters.
    #[test]
    fn a_scan_tells_of_each_folder_it_enters_before_listing_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        for d in ["a/b/c", "d", ".git/objects"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        std::os::unix::fs::symlink(root.join("d"), root.join("link")).unwrap();
        let s = Source::new(&root, &["md".into()], &[], 100);
        let told = std::sync::Mutex::new(Vec::new());
        let (scanned, problems) = s
            .scan_with(&|folder| {
                fs::write(folder.join("made.md"), b"x").unwrap();
                let rel = folder.strip_prefix(&root).unwrap().to_owned();
                told.lock().unwrap().push(rel);
            })
            .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let mut told = told.into_inner().unwrap();
        told.sort();
        let want = ["a", "a/b", "a/b/c", "d"].map(PathBuf::from);
        assert_eq!(told, want);
        let found: Vec<PathBuf> = scanned.paths().map(Path::to_owned).collect();
        let mut made: Vec<PathBuf> = want.iter().map(|d| d.join("made.md")).collect();
        made.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        assert_eq!(found, made);
    }

    /// The root may be a symlink (a folder below it may not: see
    /// `a_scan_tells_of_each_folder_it_enters_before_listing_it`); a root that
    /// cannot be listed is an error, not an empty tree (which would remove
    /// every feed).
    #[test]
    fn a_scan_follows_a_symlinked_root_and_fails_on_a_root_it_cannot_list() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir_all(real.join("a")).unwrap();
        fs::write(real.join("a/x.md"), b"x").unwrap();
        fs::write(real.join("y.md"), b"y").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (scanned, problems) = Source::new(&link, &["md".into()], &[], 100).scan().unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let found: Vec<&Path> = scanned.paths().collect();
        assert_eq!(found, [Path::new("a/x.md"), Path::new("y.md")]);
        assert_eq!(scanned.len(), 2);

        let file = real.join("y.md");
        let failed = Source::new(&file, &["md".into()], &[], 100).scan();
        let e = format!("{:#}", failed.unwrap_err());
        assert!(e.contains("cannot list input directory"), "{e}");
    }

    /// The scan sorts each folder, not the whole list: its order has to be
    /// the bytes' order of the whole paths all the same, a folder's files
    /// among its siblings (`-` and `.` sort before `/`, digits and letters
    /// after it: `a-b.md`, `a.md`, `a/x.md`, `a0.md`).
    #[test]
    fn a_scan_lists_files_in_the_byte_order_of_their_paths() {
        use std::{ffi::OsString, os::unix::ffi::OsStringExt};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        let names: &[&[u8]] = &[
            b"a.md",
            b"a-b.md",
            b"a0.md",
            b"aa.md",
            b"A.md",
            b"a/x.md",
            b"a/a.md",
            b"a-b/x.md",
            b"a.b/x.md",
            b"a0/x.md",
            b"ab/x.md",
            b"a/b/x.md",
            b"a/b.md",
            b"a/b-c.md",
            b"a/b0/x.md",
            b"z\xff.md",
            b"z\xff/x.md",
            b"z/x.md",
            b"z\x7e.md",
        ];
        for name in names {
            let path = root.join(OsString::from_vec(name.to_vec()));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"x").unwrap();
        }
        let s = Source::new(&root, &["md".into()], &[], 100);
        let (scanned, problems) = s.scan().unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let found: Vec<&[u8]> = scanned.iter().map(|(p, _)| raw(p)).collect();
        let mut want = names.to_vec();
        want.sort();
        assert_eq!(found, want);
    }
}
