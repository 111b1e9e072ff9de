//! Reading the input tree: which files are events or day pages, and their bytes.
//! Editor and sync-tool temp files, hidden files and symlinks are neither.

use crate::store::Stamp;
use anyhow::{Context as _, Result};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Event files found by a scan, relative to the root, with their stamps.
pub type Scanned = Vec<(PathBuf, Stamp)>;

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
        let mut files = Vec::new();
        let mut problems = Vec::new();
        fs::metadata(&self.root)
            .with_context(|| format!("cannot read input directory {}", self.root.display()))?;
        self.walk(&self.root, folder, &mut files, &mut problems);
        debug_assert!(files.is_sorted_by(|a, b| raw(&a.0) < raw(&b.0)));
        Ok((files, problems))
    }

    /// The input files under one folder of the tree (a folder that just appeared).
    pub fn scan_dir(&self, rel: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        self.walk(&self.root.join(rel), &|_| {}, &mut files, &mut Vec::new());
        files.into_iter().map(|(p, _)| p).collect()
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
    /// `statx`, and a tree has thousands of day folders). Adds the files in
    /// byte order of their paths: each folder's entries sorted, a subfolder's
    /// files placed where its name with a `/` sorts (a global sort of a
    /// million paths took a tenth of a start's scan).
    fn walk(
        &self,
        dir: &Path,
        folder: &(dyn Fn(&Path) + Sync),
        files: &mut Vec<(PathBuf, Stamp)>,
        problems: &mut Vec<String>,
    ) {
        use rayon::prelude::*;
        crate::systemd::keepalive();
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return problems.push(format!("{}: cannot list folder: {e}", dir.display())),
        };
        let mut subdirs = Vec::new();
        let start = files.len();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // `path` is `self.root` joined with more: its tail, cut from the
            // bytes (`strip_prefix` compares component by component).
            let tail = &path.as_os_str().as_bytes()[self.root.as_os_str().len()..];
            let rel = Path::new(OsStr::from_bytes(tail.strip_prefix(b"/").unwrap_or(tail)));
            if kind.is_dir() {
                if !is_hidden(&entry.file_name()) {
                    subdirs.push(path);
                }
            } else if kind.is_file() && self.is_input_path(rel) {
                if let Ok(meta) = entry.metadata() {
                    files.push((rel.to_owned(), Stamp::of(&meta)));
                }
            }
        }
        files[start..].sort_unstable_by(|a, b| raw(&a.0).cmp(raw(&b.0)));
        subdirs.sort_by_cached_key(|d| [raw(d), b"/"].concat());
        let found: Vec<(Scanned, Vec<String>)> = subdirs
            .par_iter()
            .map(|d| {
                let (mut f, mut p) = (Vec::new(), Vec::new());
                folder(d);
                self.walk(d, folder, &mut f, &mut p);
                (f, p)
            })
            .collect();
        let mut here = files.split_off(start).into_iter().peekable();
        for (d, (f, p)) in subdirs.iter().zip(found) {
            // `d` is absolute: its place among this folder's files is its
            // name's, followed by a `/`.
            let name = d.file_name().map_or(&[][..], |n| n.as_bytes());
            while let Some(file) = here.next_if(|(rel, _)| sorts_before(rel, name)) {
                files.push(file);
            }
            files.extend(f);
            problems.extend(p);
        }
        files.extend(here);
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
        let cap = stamp.len.min(max).saturating_add(1);
        let mut bytes = Vec::with_capacity(usize::try_from(cap).unwrap_or(usize::MAX));
        file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
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
fn sorts_before(rel: &Path, folder: &[u8]) -> bool {
    let name = raw(rel).rsplit(|&b| b == b'/').next().unwrap_or_default();
    name.iter().lt(folder.iter().chain(b"/"))
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
        let found: Vec<PathBuf> = scanned.into_iter().map(|(p, _)| p).collect();
        let mut made: Vec<PathBuf> = want.iter().map(|d| d.join("made.md")).collect();
        made.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        assert_eq!(found, made);
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
