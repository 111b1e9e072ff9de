//! Which file watcher feeds the daemon: inotify when it can, else polling
//! (notify's `PollWatcher`, every `watch.poll_interval_ms`). Polling takes over
//! when the inotify watch limit is too small for the tree (one watch per
//! folder), when the input is on a file system whose changes inotify does not
//! see (NFS, SMB, 9p, network FUSE mounts), or when configured. Either way the
//! daemon keeps running; a warning says why and what would restore inotify.
//!
//! The inotify watch is our own (`watcher/inotify.rs`), not notify's, which asks
//! the kernel for every open of a file or folder too: the daemon's own reads would
//! fill its queue.

mod inotify;

use crate::config::Settings;
use anyhow::Context as _;
use notify::event::EventKind;
use notify::{PollWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, Notify};

/// What the watcher thread hands over: each event (its kind and paths), or a
/// note that events were lost.
pub struct Hints {
    pub tx: mpsc::Sender<(EventKind, Vec<PathBuf>)>,
    pub lost: AtomicBool,
    pub wake: Notify,
}

/// A running watch; dropping it stops it.
pub type Watcher = Box<dyn Send>;

/// File systems whose changes made elsewhere (on the server, another client)
/// inotify never reports.
const REMOTE: [&str; 14] = [
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "afs",
    "lustre",
    "davfs",
    "fuse.sshfs",
    "fuse.rclone",
    "fuse.s3fs",
    "fuse.glusterfs",
];

/// Starts a recursive watch of the input, by inotify if it can serve.
pub fn watch(settings: &Settings, hints: &Arc<Hints>) -> Result<Watcher, crate::Failure> {
    Ok(match begin(settings, hints, inotify::Watch::start)? {
        Begun::Inotify(w) => Box::new(w),
        Begun::Whole(w) => w.into_inner().expect("not poisoned"),
    })
}

/// The daemon's first watch, set up along its first scan: the scan lists
/// every folder anyway, and tells the watch of each one before listing it
/// ([`FirstWatch::folder`]), so the tree is walked once, not twice (8% of
/// a restart at 100k events, 10% at 1M).
pub struct FirstWatch {
    settings: Settings,
    hints: Arc<Hints>,
    begun: OnceLock<Result<Begun, crate::Failure>>,
}

/// A watch as [`begin`] sets it up.
enum Begun {
    /// By inotify (for the first watch, the root alone: its folders come
    /// from the scan).
    Inotify(inotify::Watch),
    /// A poller, complete from the start (it lists the tree itself); behind
    /// a mutex, as the scan's threads share the first watch.
    Whole(Mutex<Watcher>),
}

impl FirstWatch {
    pub fn new(settings: &Settings, hints: &Arc<Hints>) -> Self {
        Self {
            settings: settings.clone(),
            hints: hints.clone(),
            begun: OnceLock::new(),
        }
    }

    /// Starts watching, before the scan: whatever changes from then on is
    /// either seen by the scan or reported. False if the watch failed
    /// ([`FirstWatch::finish`] says why).
    pub fn begin(&self) -> bool {
        let begun = self
            .begun
            .get_or_init(|| begin(&self.settings, &self.hints, inotify::Watch::root));
        begun.is_ok()
    }

    /// A folder below the root that the scan is about to list (not a hidden
    /// one: the scan skips those, and so does the watch).
    pub fn folder(&self, dir: &Path) {
        if let Some(Ok(Begun::Inotify(w))) = self.begun.get() {
            w.add(dir);
        }
    }

    /// The watch, once the scan is done; `None` if it never began. At the
    /// inotify watch limit the input is polled instead, and events count as
    /// lost: the rescan that follows catches what changed meanwhile.
    pub fn finish(self) -> Option<Result<Watcher, crate::Failure>> {
        Some(match self.begun.into_inner()? {
            Ok(Begun::Inotify(w)) if w.full() => {
                drop(w);
                self.hints.lost.store(true, Ordering::SeqCst);
                self.hints.wake.notify_one();
                let why = limit_advice(&self.settings.input);
                poll(&self.settings, &self.hints, &why)
            }
            Ok(Begun::Inotify(w)) => Ok(Box::new(w)),
            Ok(Begun::Whole(w)) => Ok(w.into_inner().expect("not poisoned")),
            Err(e) => Err(e),
        })
    }
}

/// Why inotify cannot serve this input, if it cannot.
fn poll_reason(settings: &Settings) -> Option<String> {
    let input = &settings.input;
    if settings.poll_always {
        Some("configured (`watch.method = \"poll\"`)".to_owned())
    } else {
        fs_type(input)
            .filter(|t| REMOTE.contains(&t.as_str()))
            .map(|fs| {
                format!(
                    "{} is on a {fs} file system, whose changes inotify does not see",
                    input.display()
                )
            })
    }
}

/// The input watched by inotify, `open` setting the watch up, or polled
/// where inotify cannot serve it or meets the watch limit; any other failure
/// of inotify is an error.
fn begin(
    settings: &Settings,
    hints: &Arc<Hints>,
    open: fn(&Path, &Arc<Hints>) -> std::io::Result<inotify::Watch>,
) -> Result<Begun, crate::Failure> {
    let whole = |w| Begun::Whole(Mutex::new(w));
    if let Some(why) = poll_reason(settings) {
        return poll(settings, hints, &why).map(whole);
    }
    match open(&settings.input, hints) {
        Ok(w) => Ok(Begun::Inotify(w)),
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
            poll(settings, hints, &limit_advice(&settings.input)).map(whole)
        }
        Err(e) => Err(crate::Failure::Runtime(anyhow::anyhow!(
            "cannot watch {}: {e}",
            settings.input.display()
        ))),
    }
}

/// A poller of the input, and a warning that says why.
fn poll(settings: &Settings, hints: &Arc<Hints>, why: &str) -> Result<Watcher, crate::Failure> {
    let input = &settings.input;
    let every = settings.poll_interval;
    tracing::warn!(
        "polling the input every {} ms (changes show up that much later, and each poll reads every folder): {why}",
        every.as_millis()
    );
    let config = notify::Config::default()
        .with_follow_symlinks(false)
        .with_poll_interval(every);
    let mut watcher =
        PollWatcher::new(handler(hints), config).context("cannot start the polling watcher")?;
    watcher
        .watch(input, RecursiveMode::Recursive)
        .with_context(|| format!("cannot poll {}", input.display()))?;
    Ok(Box::new(watcher))
}

/// The polling watcher's callback: it only hands the event on.
fn handler(hints: &Arc<Hints>) -> impl Fn(notify::Result<notify::Event>) + Send + 'static {
    let h = hints.clone();
    move |res: notify::Result<notify::Event>| {
        let lost = match res {
            Ok(event) if event.need_rescan() => true,
            // A full channel drops this event; the rescan makes up for it.
            Ok(event) => h.tx.try_send((event.kind, event.paths)).is_err(),
            Err(_) => true,
        };
        if lost {
            h.lost.store(true, Ordering::SeqCst);
            h.wake.notify_one();
        }
    }
}

/// The sysctl, its value, and the value this tree needs.
fn limit_advice(input: &Path) -> String {
    let dirs = count_dirs(input);
    let now: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    format!(
        "the inotify watch limit fs.inotify.max_user_watches={now} is too small: this tree has {dirs} folders and needs one watch each, beyond what other programs of this user hold; raise it with `sysctl fs.inotify.max_user_watches={}` (and in /etc/sysctl.d/ to keep it), then restart eventfeed",
        (now + dirs).max(2 * dirs).next_multiple_of(1024)
    )
}

fn count_dirs(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        1 + entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !crate::source::is_hidden(&e.file_name()))
            .map(|e| count_dirs(&e.path()))
            .sum::<usize>()
    })
}

/// The type of the file system `path` is on (`ext4`, `nfs4`, `fuse.sshfs`),
/// from the mount whose point is the longest prefix of it.
fn fs_type(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let point = unescape(line.split(' ').nth(4)?);
            let fs = line.split(" - ").nth(1)?.split(' ').next()?;
            path.starts_with(&point).then(|| (point, fs.to_owned()))
        })
        .max_by_key(|(point, _)| point.as_os_str().len())
        .map(|(_, fs)| fs)
}

/// Mount points in mountinfo escape space, tab, newline and backslash as octal.
fn unescape(s: &str) -> PathBuf {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(u8::is_ascii_digit));
        match (bytes[i], octal) {
            (b'\\', Some(o)) => {
                out.push(o.iter().fold(0u8, |n, d| n.wrapping_mul(8) + (d - b'0')));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped_and_the_root_has_a_type() {
        assert_eq!(unescape(r"/mnt/my\040disk"), PathBuf::from("/mnt/my disk"));
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
        let root = fs_type(Path::new("/")).unwrap();
        assert!(!root.is_empty());
        assert_eq!(fs_type(Path::new("/proc/self")).as_deref(), Some("proc"));
    }
}
