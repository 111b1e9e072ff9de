//! The watch on real temp trees: what it reports, under which names, and what it
//! leaves alone.

use super::*;
use std::fs;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

type Hint = (EventKind, Vec<PathBuf>);

struct Fixture {
    /// Holds the input (`in`) and a folder outside it on the same file system.
    dir: tempfile::TempDir,
    root: PathBuf,
    hints: Arc<Hints>,
    rx: mpsc::Receiver<Hint>,
    watch: Option<Watch>,
}

impl Fixture {
    /// A tree of `folders` (with a file each), watched.
    fn new(folders: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        fs::create_dir(&root).unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        for f in folders {
            fs::create_dir_all(root.join(f)).unwrap();
            fs::write(root.join(f).join("e.md"), "x").unwrap();
        }
        let (tx, rx) = mpsc::channel(1024);
        let hints = Arc::new(Hints {
            tx,
            lost: AtomicBool::new(false),
            wake: Notify::new(),
        });
        let watch = Some(Watch::start(&root, &hints).unwrap());
        Self {
            dir,
            root,
            hints,
            rx,
            watch,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn outside(&self, rel: &str) -> PathBuf {
        self.dir.path().join("out").join(rel)
    }

    /// The events up to and including the first that `stop` accepts.
    fn until(&mut self, stop: impl Fn(&Hint) -> bool) -> Vec<Hint> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while Instant::now() < deadline {
            match self.rx.try_recv() {
                Ok(hint) => {
                    let done = stop(&hint);
                    got.push(hint);
                    if done {
                        return got;
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        panic!("no such event; got {got:#?}");
    }

    /// Writes a file, and returns the events up to its close.
    fn write(&mut self, path: &Path) -> Vec<Hint> {
        fs::write(path, "x").unwrap();
        self.until(|h| *h == closed(path))
    }

    /// Writes `path` and checks that only its own events came (nothing from
    /// before was left in the queue); returns them.
    fn write_alone(&mut self, path: &Path) -> Vec<Hint> {
        let got = self.write(path);
        assert!(only(&got, path), "{got:#?}");
        got
    }
}

/// Whether every event names `path`, and only it.
fn only(got: &[Hint], path: &Path) -> bool {
    got.iter().all(|(_, p)| p == &[path])
}

fn hint(kind: EventKind, path: &Path) -> Hint {
    (kind, vec![path.to_owned()])
}

fn closed(path: &Path) -> Hint {
    hint(
        EventKind::Access(AccessKind::Close(AccessMode::Write)),
        path,
    )
}

fn named(mode: RenameMode, paths: &[&Path]) -> Hint {
    (name(mode), paths.iter().map(|p| p.to_path_buf()).collect())
}

#[test]
fn reading_files_and_listing_folders_queues_nothing() {
    let mut f = Fixture::new(&["a", "a/b", "a/b/c", "d"]);
    for _ in 0..3 {
        for dir in ["", "a", "a/b", "a/b/c", "d"] {
            let dir = f.path(dir);
            for entry in fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    fs::read(entry.path()).unwrap();
                }
            }
            fs::File::open(&dir).unwrap();
        }
    }
    // Only the marker's own events (created, written, closed) reached the
    // kernel's queue, and were handed on.
    let got = f.write_alone(&f.path("a/b/c/marker.md"));
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(f.watch.as_ref().unwrap().queued(), 3);
    assert!(!f.hints.lost.load(Ordering::SeqCst));
}

#[test]
fn renames_are_paired_by_cookie_and_half_renames_stay_halves() {
    let mut f = Fixture::new(&["x", "y"]);
    let (a, b) = (f.path("x/e.md"), f.path("y/b.md"));
    fs::rename(&a, &b).unwrap();
    let got = f.until(|(k, _)| *k == name(RenameMode::Both));
    assert_eq!(
        got,
        [
            named(RenameMode::From, &[&a]),
            named(RenameMode::To, &[&b]),
            named(RenameMode::Both, &[&a, &b]),
        ]
    );
    // Out of the tree, then in from outside: no pair.
    let (away, back) = (f.outside("b.md"), f.path("x/back.md"));
    fs::rename(&b, &away).unwrap();
    fs::rename(&away, &back).unwrap();
    let got = f.until(|(k, _)| *k == name(RenameMode::To));
    assert_eq!(
        got,
        [
            named(RenameMode::From, &[&b]),
            named(RenameMode::To, &[&back]),
        ]
    );
    f.write_alone(&f.path("marker.md"));
}

#[test]
fn a_renamed_folder_reports_what_happens_in_it_under_its_new_name() {
    let mut f = Fixture::new(&["x/y/z"]);
    fs::rename(f.path("x"), f.path("w")).unwrap();
    let got = f.until(|(k, _)| *k == name(RenameMode::Both));
    assert_eq!(got.last().unwrap().1, [f.path("x"), f.path("w")]);
    let deep = f.path("w/y/z/new.md");
    f.write(&deep);
    // Renamed again and written into at once: the events queued behind the
    // rename are named after it.
    fs::rename(f.path("w/y"), f.path("v")).unwrap();
    let quick = f.path("v/z/quick.md");
    fs::write(&quick, "x").unwrap();
    let got = f.until(|h| *h == closed(&quick));
    assert!(
        got.iter().all(|(_, p)| !p
            .iter()
            .any(|p| p.starts_with(f.path("w/y")) && p != &f.path("w/y"))),
        "{got:#?}"
    );
    // A folder made in it is watched under the new name too.
    fs::create_dir(f.path("v/z/n")).unwrap();
    let made = hint(EventKind::Create(CreateKind::Folder), &f.path("v/z/n"));
    f.until(|h| *h == made);
    f.write(&f.path("v/z/n/in-new.md"));
}

#[test]
fn a_tree_moved_in_is_watched_to_its_depth_before_it_is_reported() {
    let mut f = Fixture::new(&["x"]);
    let incoming = f.outside("incoming");
    fs::create_dir_all(incoming.join("n/m/k")).unwrap();
    fs::write(incoming.join("n/m/k/a.md"), "x").unwrap();
    let arrived = f.path("x/incoming");
    fs::rename(&incoming, &arrived).unwrap();
    f.until(|h| *h == named(RenameMode::To, &[&arrived]));
    // Reported only once watched: a file written right after is seen.
    f.write(&arrived.join("n/m/k/b.md"));
    // A tree made with `mkdir -p` is watched to its depth too. (Its subfolders
    // made after the first one's watch have events of their own, which may
    // come after the first one's: the daemon waits for the quiet after a new
    // folder, then scans it.) Events come in order, so once a marker's have
    // come, so have the folders'.
    fs::create_dir_all(f.path("p/q/r")).unwrap();
    f.write(&f.path("marker.md"));
    f.write(&f.path("p/q/r/c.md"));
}

#[test]
fn folders_moved_out_and_symlinked_ones_are_not_watched() {
    let mut f = Fixture::new(&["x/y", "z"]);
    let away = f.outside("x");
    fs::rename(f.path("x"), &away).unwrap();
    let left = named(RenameMode::From, &[&f.path("x")]);
    f.until(|h| *h == left);
    std::os::unix::fs::symlink(f.dir.path().join("out"), f.path("link")).unwrap();
    // The next event tells the watch that the folder is not coming back.
    let linked = hint(EventKind::Create(CreateKind::File), &f.path("link"));
    f.until(|h| *h == linked);
    fs::write(away.join("y/e.md"), "changed").unwrap();
    fs::write(f.outside("other.md"), "x").unwrap();
    f.write_alone(&f.path("z/marker.md"));
}

#[test]
fn hidden_folders_are_not_watched_until_renamed_visible() {
    let mut f = Fixture::new(&[".git/objects", "x"]);
    fs::create_dir(f.path(".cache")).unwrap();
    let made = hint(EventKind::Create(CreateKind::Folder), &f.path(".cache"));
    f.until(|h| *h == made);
    fs::write(f.path(".git/objects/o"), "x").unwrap();
    fs::write(f.path(".cache/c.md"), "x").unwrap();
    f.write_alone(&f.path("x/marker.md"));
    // Renamed visible, it is watched (the daemon then scans it).
    fs::rename(f.path(".cache"), f.path("cache")).unwrap();
    let renamed = named(RenameMode::Both, &[&f.path(".cache"), &f.path("cache")]);
    f.until(|h| *h == renamed);
    f.write_alone(&f.path("cache/d.md"));
}

#[test]
fn a_watch_of_the_root_alone_watches_the_folders_added_to_it() {
    let mut f = Fixture::new(&[]);
    for dir in ["a", "a/b", "c"] {
        fs::create_dir(f.path(dir)).unwrap();
    }
    f.write(&f.path("marker.md"));
    drop(f.watch.take());
    let watch = Watch::root(&f.root, &f.hints).unwrap();
    watch.add(&f.path("a"));
    watch.add(&f.path("a/b"));
    watch.add(&f.path("gone"));
    assert!(!watch.full());
    f.watch = Some(watch);
    fs::write(f.path("c/unwatched.md"), "x").unwrap();
    f.write_alone(&f.path("a/b/e.md"));
    f.write_alone(&f.path("a/e.md"));
    f.write_alone(&f.path("e.md"));
}

#[test]
fn dropping_the_watch_ends_its_thread() {
    let mut f = Fixture::new(&["x"]);
    assert_eq!(Arc::strong_count(&f.hints), 2, "the thread holds the hints");
    drop(f.watch.take());
    assert_eq!(Arc::strong_count(&f.hints), 1, "the thread is gone");
}

/// The masks of this process's inotify watches on the inode `ino`, as the
/// kernel shows them in `/proc/self/fdinfo`.
fn kernel_masks(ino: u64) -> Vec<u32> {
    let mut masks = Vec::new();
    for fd in fs::read_dir("/proc/self/fdinfo").unwrap().flatten() {
        let Ok(info) = fs::read_to_string(fd.path()) else {
            continue;
        };
        for line in info.lines().filter(|l| l.starts_with("inotify wd:")) {
            let field = |key: &str| {
                let hex = line.split(' ').find_map(|w| w.strip_prefix(key)).unwrap();
                u64::from_str_radix(hex, 16).unwrap()
            };
            if field("ino:") == ino {
                masks.push(field("mask:") as u32);
            }
        }
    }
    masks
}

#[test]
fn the_kernel_is_asked_for_no_opens_reads_or_read_closes() {
    use std::os::unix::fs::MetadataExt as _;
    let f = Fixture::new(&["x/y"]);
    let unwanted = WatchMask::OPEN | WatchMask::ACCESS | WatchMask::CLOSE_NOWRITE;
    for dir in ["", "x", "x/y"] {
        let masks = kernel_masks(fs::metadata(f.path(dir)).unwrap().ino());
        assert_eq!(masks.len(), 1, "{dir:?}: {masks:x?}");
        let mask = WatchMask::from_bits_truncate(masks[0]);
        assert!(!mask.intersects(unwanted), "{dir:?}: {mask:?}");
        assert!(mask.contains(WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO));
    }
}
