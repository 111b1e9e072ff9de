//! A recursive inotify watch of the input that asks the kernel only for what the
//! daemon acts on. notify 8 adds `IN_OPEN` to every watch, so the daemon's own
//! reads (a million opens at a first start, one per folder at every rescan) fill
//! the kernel's queue (`fs.inotify.max_queued_events`, 16 384 by default): it
//! overflows, the daemon rescans, and the rescan's own folder listings overflow it
//! again. Here reading a file or listing a folder queues nothing.
//!
//! Events are handed on as notify's kinds, named and paired (by cookie) the way
//! notify 8's inotify backend does, so the daemon's batching is unchanged. One
//! thread per watch reads the queue; dropping the watch stops and joins it.

use super::Hints;
use crate::source::is_hidden;
use ::inotify::{Event, EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use notify::event::{
    AccessKind, AccessMode, CreateKind, DataChange, EventKind, MetadataKind, ModifyKind,
    RemoveKind, RenameMode,
};
use rustc_hash::FxHashMap as HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// What the daemon acts on, and nothing its own reads raise (no `IN_OPEN`,
/// `IN_ACCESS`, `IN_CLOSE_NOWRITE`). `IN_MODIFY` marks a file still being
/// written (its batch waits for the quiet); `IN_ATTRIB` is `touch` and `cp -p`.
/// No `IN_DELETE_SELF`/`IN_MOVE_SELF`: the parent's `IN_DELETE`/`IN_MOVED_FROM`
/// already names the folder, and `IN_IGNORED`, which the kernel always sends,
/// says when its watch is gone.
pub(super) const MASK: WatchMask = WatchMask::CLOSE_WRITE
    .union(WatchMask::MODIFY)
    .union(WatchMask::ATTRIB)
    .union(WatchMask::CREATE)
    .union(WatchMask::DELETE)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::ONLYDIR);

const QUEUE: mio::Token = mio::Token(0);
const STOP: mio::Token = mio::Token(1);

/// A running watch: its thread, and the way to stop it.
pub struct Watch {
    stop: mio::Waker,
    /// The thread returns how many events it handed on, and the watches left.
    thread: Option<JoinHandle<(u64, usize)>>,
    /// Events read from the kernel's queue.
    queued: Arc<AtomicU64>,
    /// Shared with the thread, for [`Watch::add`].
    tree: Arc<Mutex<Tree>>,
    /// Set when [`Watch::add`] met the watch limit.
    full: AtomicBool,
}

impl Watch {
    /// Watches `root` and every real folder below it but hidden ones (not
    /// through symlinks, as a scan does not follow them; a symlinked root is
    /// followed). The watch limit (`ENOSPC`) or a root that cannot be watched
    /// is an error.
    pub fn start(root: &Path, hints: &Arc<Hints>) -> io::Result<Self> {
        let inotify = Inotify::init()?;
        let mut tree = Tree::new(inotify.watches());
        tree.watch(root.to_owned(), true)?;
        Self::spawn(inotify, tree, hints)
    }

    /// Watches `root` alone: the caller, which lists the tree anyway, adds each
    /// folder below it with [`Watch::add`] before listing it.
    pub fn root(root: &Path, hints: &Arc<Hints>) -> io::Result<Self> {
        let inotify = Inotify::init()?;
        let mut tree = Tree::new(inotify.watches());
        tree.add(root, true)?;
        Self::spawn(inotify, tree, hints)
    }

    /// Watches one more folder, not the ones below it. A folder gone
    /// meanwhile is skipped; at the watch limit the watch is [`Watch::full`].
    pub fn add(&self, dir: &Path) {
        if !self.full() && self.tree().add(dir, false).is_err() {
            self.full.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`Watch::add`] met the watch limit: some folders are not watched.
    pub fn full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().expect("not poisoned")
    }

    fn spawn(inotify: Inotify, tree: Tree, hints: &Arc<Hints>) -> io::Result<Self> {
        let tree = Arc::new(Mutex::new(tree));
        let poll = mio::Poll::new()?;
        let fd = inotify.as_raw_fd();
        poll.registry().register(
            &mut mio::unix::SourceFd(&fd),
            QUEUE,
            mio::Interest::READABLE,
        )?;
        let stop = mio::Waker::new(poll.registry(), STOP)?;
        let hints = hints.clone();
        let queued = Arc::new(AtomicU64::new(0));
        let count = queued.clone();
        let shared = tree.clone();
        let thread = std::thread::Builder::new()
            .name("inotify".into())
            .spawn(move || read(poll, inotify, &shared, &hints, &count))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            queued,
            tree,
            full: AtomicBool::new(false),
        })
    }

    #[cfg(test)]
    fn queued(&self) -> u64 {
        self.queued.load(Ordering::SeqCst)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let started = std::time::Instant::now();
        if self.stop.wake().is_ok() {
            if let Some(Ok((handed, watches))) = self.thread.take().map(JoinHandle::join) {
                // What the daemon's own work cost, and the stop (`EVENTFEED_LOG=debug`).
                let queued = self.queued.load(Ordering::SeqCst);
                let us = started.elapsed().as_micros() as u64;
                tracing::debug!(queued, handed, watches, us, "inotify watch stopped");
            }
        }
    }
}

/// The read loop: waits for the queue (or the stop), drains it, hands the
/// events on. Dropping the `Inotify` at the end closes it: the kernel drops
/// every watch with it.
fn read(
    mut poll: mio::Poll,
    mut inotify: Inotify,
    tree: &Mutex<Tree>,
    hints: &Hints,
    queued: &AtomicU64,
) -> (u64, usize) {
    let mut ready = mio::Events::with_capacity(4);
    // Room for a few thousand events per read (each 16 bytes and its name).
    let mut buffer = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut handed = 0;
    'wait: loop {
        // A folder moved away waits a moment for its `IN_MOVED_TO`, should a read
        // have come between the two events of its rename; then it has left.
        let pending = tree
            .lock()
            .expect("not poisoned")
            .moved
            .as_ref()
            .is_some_and(|m| m.folder);
        let timeout = pending.then_some(std::time::Duration::from_millis(1));
        match poll.poll(&mut ready, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                lose(hints);
                break;
            }
        }
        if ready.is_empty() {
            tree.lock().expect("not poisoned").settle_move();
            continue;
        }
        if ready.iter().any(|r| r.token() == STOP) {
            break;
        }
        // Edge-triggered: read until the queue is empty.
        loop {
            let events = match inotify.read_events(&mut buffer) {
                Ok(events) => events,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    lose(hints);
                    break 'wait;
                }
            };
            let mut lost = false;
            let mut tree = tree.lock().expect("not poisoned");
            for event in events {
                tracing::trace!(?event, "inotify event");
                queued.fetch_add(1, Ordering::SeqCst);
                lost |= tree.handle(&event, &mut out);
            }
            drop(tree);
            for hint in out.drain(..) {
                handed += 1;
                // A full channel drops this event; the rescan makes up for it.
                lost |= hints.tx.try_send(hint).is_err();
            }
            if lost {
                lose(hints);
            }
        }
    }
    (handed, tree.lock().expect("not poisoned").paths.len())
}

fn lose(hints: &Hints) {
    hints.lost.store(true, Ordering::SeqCst);
    hints.wake.notify_one();
}

/// An `IN_MOVED_FROM` waiting for the `IN_MOVED_TO` of the same cookie.
struct Moved {
    cookie: u32,
    path: PathBuf,
    folder: bool,
}

/// The watched folders, by watch descriptor, and a rename half seen.
struct Tree {
    watches: Watches,
    paths: HashMap<WatchDescriptor, PathBuf>,
    moved: Option<Moved>,
}

impl Tree {
    fn new(watches: Watches) -> Self {
        Self {
            watches,
            paths: HashMap::default(),
            moved: None,
        }
    }

    /// Watches `top` and the real folders below it but hidden ones (which hold
    /// no input, see `Source::is_input_path`). Each folder is watched before it
    /// is listed, so a subfolder made meanwhile is either listed or reported.
    fn watch(&mut self, top: PathBuf, root: bool) -> io::Result<()> {
        let mut todo = vec![(top, root)];
        while let Some((dir, root)) = todo.pop() {
            if !self.add(&dir, root)? {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            todo.extend(
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_type().is_ok_and(|t| t.is_dir()) && !is_hidden(&e.file_name())
                    })
                    .map(|e| (e.path(), false)),
            );
        }
        Ok(())
    }

    /// Watches one folder; false if it is gone or replaced (no longer part of
    /// the tree). Only the watch limit, or for the root any error, is an error.
    fn add(&mut self, dir: &Path, root: bool) -> io::Result<bool> {
        let mask = if root {
            MASK
        } else {
            MASK | WatchMask::DONT_FOLLOW
        };
        match self.watches.add(dir, mask) {
            Ok(wd) => {
                self.paths.insert(wd, dir.to_owned());
                Ok(true)
            }
            Err(e) if root || e.raw_os_error() == Some(libc::ENOSPC) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// Turns one kernel event into notify's events (in `out`); true if events
    /// were lost (queue overflow, or the watch limit reached on a new folder).
    fn handle(&mut self, event: &Event<&OsStr>, out: &mut Vec<(EventKind, Vec<PathBuf>)>) -> bool {
        let mask = event.mask;
        // A rename queues `IN_MOVED_TO` right after `IN_MOVED_FROM`: anything
        // else in between, a folder moved away has left the tree.
        if !mask.contains(EventMask::MOVED_TO) {
            self.settle_move();
        }
        if mask.contains(EventMask::Q_OVERFLOW) {
            return true;
        }
        if mask.contains(EventMask::IGNORED) {
            self.paths.remove(&event.wd);
            return false;
        }
        // An event of a watch already dropped (a folder moved out).
        let Some(dir) = self.paths.get(&event.wd) else {
            return false;
        };
        let path = event
            .name
            .map_or_else(|| dir.clone(), |name| dir.join(name));
        let folder = mask.contains(EventMask::ISDIR);
        let mut lost = false;
        let kind = if mask.contains(EventMask::MOVED_FROM) {
            out.push((name(RenameMode::From), vec![path.clone()]));
            self.moved = Some(Moved {
                cookie: event.cookie,
                path,
                folder,
            });
            return false;
        } else if mask.contains(EventMask::MOVED_TO) {
            let from = self.moved.take_if(|m| m.cookie == event.cookie);
            self.settle_move();
            match &from {
                // Renamed inside the tree: its watches stay, under the new name
                // (one it did not have, its add having failed, it gets now).
                Some(m) if m.folder && !self.rename(&m.path, &path) => {
                    lost = self.watch_new(&path);
                }
                // Moved in: watched before the daemon hears of it and scans it.
                None if folder => lost = self.watch_new(&path),
                _ => {}
            }
            out.push((name(RenameMode::To), vec![path.clone()]));
            if let Some(m) = from {
                out.push((name(RenameMode::Both), vec![m.path, path]));
            }
            return lost;
        } else if mask.contains(EventMask::CREATE) {
            if folder {
                lost = self.watch_new(&path);
                EventKind::Create(CreateKind::Folder)
            } else {
                EventKind::Create(CreateKind::File)
            }
        } else if mask.contains(EventMask::DELETE) {
            // A folder's own watch goes with its `IN_IGNORED`.
            EventKind::Remove(if folder {
                RemoveKind::Folder
            } else {
                RemoveKind::File
            })
        } else if mask.contains(EventMask::CLOSE_WRITE) {
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        } else if mask.contains(EventMask::MODIFY) {
            EventKind::Modify(ModifyKind::Data(DataChange::Any))
        } else if mask.contains(EventMask::ATTRIB) {
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any))
        } else {
            // `IN_UNMOUNT`: its `IN_IGNORED` follows.
            return false;
        };
        out.push((kind, vec![path]));
        lost
    }

    /// Watches a folder that appeared; true if the watch limit was reached (the
    /// rescan that follows starts a new watch, which then polls).
    fn watch_new(&mut self, dir: &Path) -> bool {
        !dir.file_name().is_some_and(is_hidden) && self.watch(dir.to_owned(), false).is_err()
    }

    /// A folder moved away and not seen arriving inside the tree has left it:
    /// its watches go. Were its `IN_MOVED_TO` to come later after all, the
    /// folder is then watched anew as one moved in.
    fn settle_move(&mut self) {
        if let Some(Moved {
            path, folder: true, ..
        }) = self.moved.take()
        {
            let gone: Vec<WatchDescriptor> = self
                .paths
                .iter()
                .filter(|(_, p)| p.starts_with(&path))
                .map(|(wd, _)| wd.clone())
                .collect();
            for wd in gone {
                // It may be gone already (its `IN_IGNORED` is on the way).
                let _ = self.watches.remove(wd.clone());
                self.paths.remove(&wd);
            }
        }
    }

    /// Re-maps the watches of a folder renamed inside the tree, and of every
    /// folder below it, to the new name; false if the folder had none.
    fn rename(&mut self, from: &Path, to: &Path) -> bool {
        let mut found = false;
        for path in self.paths.values_mut() {
            if let Ok(rest) = path.strip_prefix(from) {
                let top = rest.as_os_str().is_empty();
                found |= top;
                // (`join("")` would add a trailing slash.)
                *path = if top { to.to_owned() } else { to.join(rest) };
            }
        }
        found
    }
}

fn name(mode: RenameMode) -> EventKind {
    EventKind::Modify(ModifyKind::Name(mode))
}

#[cfg(test)]
mod tests;
