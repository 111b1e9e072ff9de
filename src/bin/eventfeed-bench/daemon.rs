//! Driving `eventfeed watch`: readiness from its sd_notify messages (a unix
//! datagram socket passed as `NOTIFY_SOCKET`), completion of its work from the
//! output side (inotify on the output directory), never from its logs.

use crate::corpus::Generator;
use crate::sys;
use crate::tree;
use anyhow::{bail, Context as _, Result};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How to start a daemon.
pub struct Spec<'a> {
    pub bin: &'a Path,
    pub input: &'a Path,
    pub output: &'a Path,
    /// `XDG_STATE_HOME` of the daemon (its store lives below).
    pub state_home: &'a Path,
    pub base_url: &'a str,
    /// Where the socket and the daemon's log go.
    pub scratch: &'a Path,
    /// A config file for the settings the flags do not give (`formats`).
    pub config: Option<&'a Path>,
    /// `EVENTFEED_LOG` of the daemon.
    pub log_level: &'a str,
}

/// A running `eventfeed watch`.
pub struct Daemon {
    child: Child,
    pid: i32,
    spawned: Instant,
    notes: mpsc::Receiver<(Instant, String)>,
    stop_listener: Arc<AtomicBool>,
    socket: PathBuf,
    pub log: PathBuf,
    /// Every STATUS= line received, newest last.
    pub statuses: Vec<(Instant, String)>,
}

impl Daemon {
    pub fn spawn(spec: &Spec, tag: &str) -> Result<Self> {
        fs::create_dir_all(spec.scratch)?;
        let socket = spec.scratch.join(format!("notify-{tag}.sock"));
        let _ = fs::remove_file(&socket);
        let sock =
            UnixDatagram::bind(&socket).with_context(|| format!("binding {}", socket.display()))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let (tx, notes) = mpsc::channel();
        let stop_listener = Arc::new(AtomicBool::new(false));
        let stop = stop_listener.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let at = Instant::now();
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    for line in text.lines() {
                        if tx.send((at, line.to_owned())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let log = spec.scratch.join(format!("daemon-{tag}.log"));
        let log_file = fs::File::create(&log)?;
        let spawned = Instant::now();
        let mut cmd = Command::new(spec.bin);
        if let Some(config) = spec.config {
            cmd.arg("watch").arg("--config").arg(config);
        } else {
            cmd.arg("watch");
        }
        let child = cmd
            // Its own process group: no signal meant for the bench's group
            // (a terminal's ^C) reaches it.
            .process_group(0)
            .arg("--input")
            .arg(spec.input)
            .arg("--output")
            .arg(spec.output)
            .arg("--base-url")
            .arg(spec.base_url)
            .env("NOTIFY_SOCKET", &socket)
            .env("XDG_STATE_HOME", spec.state_home)
            .env_remove("STATE_DIRECTORY")
            .env_remove("WATCHDOG_USEC")
            .env_remove("EVENTFEED_CONFIG")
            .env("EVENTFEED_LOG", spec.log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {} watch", spec.bin.display()))?;
        let pid = child.id() as i32;
        Ok(Daemon {
            child,
            pid,
            spawned,
            notes,
            stop_listener,
            socket,
            log,
            statuses: Vec::new(),
        })
    }

    /// Waits for READY=1: the time from the spawn.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<Duration> {
        let deadline = self.spawned + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .notes
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok((at, line)) => {
                    if line == "READY=1" {
                        return Ok(at - self.spawned);
                    }
                    self.note(at, line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        bail!(
                            "the daemon exited ({status}) before READY=1; see {}",
                            self.log.display()
                        );
                    }
                    if Instant::now() >= deadline {
                        bail!("no READY=1 after {timeout:?}; see {}", self.log.display());
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("notify listener stopped"),
            }
        }
    }

    fn note(&mut self, at: Instant, line: String) {
        if let Some(s) = line.strip_prefix("STATUS=") {
            self.statuses.push((at, s.to_owned()));
        }
    }

    /// Takes in every pending message; returns the time of the first STATUS=
    /// received at or after `since`, if any.
    pub fn status_since(&mut self, since: Instant) -> Option<Instant> {
        while let Ok((at, line)) = self.notes.try_recv() {
            self.note(at, line);
        }
        self.statuses
            .iter()
            .map(|(at, _)| *at)
            .find(|at| *at >= since)
    }

    /// Number of STATUS= messages received at or after `since`.
    pub fn statuses_since(&mut self, since: Instant) -> usize {
        self.status_since(since);
        self.statuses.iter().filter(|(at, _)| *at >= since).count()
    }

    /// Fails if the daemon has exited (with the end of its log).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            bail!(
                "the daemon exited unexpectedly ({status}); the end of {}:\n{}",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// (VmRSS, VmHWM) in bytes.
    pub fn memory(&self) -> Result<(u64, u64)> {
        sys::memory(self.pid)
    }

    /// SIGTERM, then waits for the exit: the time it took to exit.
    pub fn stop(mut self) -> Result<Duration> {
        let t = Instant::now();
        sys::signal(self.pid, libc::SIGTERM)?;
        let waited = sys::wait(self.pid, t, Some(Duration::from_secs(60)))?;
        let took = t.elapsed();
        self.stop_listener.store(true, Ordering::Relaxed);
        let _ = fs::remove_file(&self.socket);
        match waited {
            Some((status, _)) if sys::exited_ok(status) => Ok(took),
            Some((status, _)) => bail!(
                "the daemon exited with {} on SIGTERM; see {}",
                sys::describe_status(status),
                self.log.display()
            ),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the daemon did not exit within 60 s of SIGTERM (killed)")
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only reached on an error path (stop() consumes the daemon after reaping
        // it, and kill() on a reaped pid would fail harmlessly).
        self.stop_listener.store(true, Ordering::Relaxed);
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the output watch saw.
#[derive(Default)]
struct Seen {
    /// Time of the last event that writes (create, modify, close-after-write,
    /// rename, delete): reads and opens are the daemon comparing old files.
    last: Option<Instant>,
    /// The same, for writes inside a feed folder (not `index.html` or
    /// `feeds.opml` at the top).
    last_feed: Option<Instant>,
    writes: u64,
    /// Files renamed into place (rename targets, temp files excluded), with how
    /// often each was.
    renamed_in: HashMap<PathBuf, u32>,
    overflow: bool,
    /// The first error the watch reported.
    error: Option<String>,
}

/// An inotify watch (through `notify`) on the whole output directory.
pub struct OutputWatch {
    _watcher: RecommendedWatcher,
    seen: Arc<Mutex<Seen>>,
}

impl OutputWatch {
    pub fn new(output: &Path) -> Result<Self> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = seen.clone();
        let root = output.to_owned();
        let mut watcher = RecommendedWatcher::new(
            move |res: notify::Result<notify::Event>| {
                let at = Instant::now();
                let mut seen = s.lock().expect("not poisoned");
                match res {
                    Ok(ev) if ev.need_rescan() => {
                        seen.overflow = true;
                        seen.error.get_or_insert_with(|| "queue overflow".into());
                    }
                    Ok(ev) => {
                        if !is_write(&ev.kind) || ev.paths.iter().all(|p| p.ends_with(tree::LOCK)) {
                            return;
                        }
                        seen.last = Some(at);
                        if ev.paths.iter().any(|p| p.parent() != Some(root.as_path())) {
                            seen.last_feed = Some(at);
                        }
                        seen.writes += 1;
                        if let EventKind::Modify(ModifyKind::Name(RenameMode::To)) = ev.kind {
                            for p in ev.paths {
                                *seen.renamed_in.entry(p).or_default() += 1;
                            }
                        }
                    }
                    Err(e) => {
                        seen.overflow = true;
                        seen.error.get_or_insert_with(|| e.to_string());
                    }
                }
            },
            notify::Config::default(),
        )
        .context("starting the output watch")?;
        watcher
            .watch(output, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", output.display()))?;
        Ok(OutputWatch {
            _watcher: watcher,
            seen,
        })
    }

    pub fn reset(&self) {
        *self.seen.lock().expect("not poisoned") = Seen::default();
    }

    /// Write events so far, and whether the watch overflowed.
    pub fn writes(&self) -> (u64, bool) {
        let s = self.seen.lock().expect("not poisoned");
        (s.writes, s.overflow)
    }

    /// Time of the last write inside a feed folder, if at or after `since`.
    pub fn last_feed(&self, since: Instant) -> Option<Instant> {
        self.seen
            .lock()
            .expect("not poisoned")
            .last_feed
            .filter(|l| *l >= since)
    }

    pub fn error(&self) -> Option<String> {
        self.seen.lock().expect("not poisoned").error.clone()
    }

    /// The files renamed into place since the reset (every file the daemon
    /// writes is renamed in), and their bytes now.
    pub fn written(&self) -> (usize, u64) {
        let s = self.seen.lock().expect("not poisoned");
        let bytes = s
            .renamed_in
            .keys()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        (s.renamed_in.len(), bytes)
    }

    /// Distinct files renamed into place since the reset, and how many of them
    /// were renamed in more than once.
    pub fn renamed_in(&self) -> (usize, usize) {
        let s = self.seen.lock().expect("not poisoned");
        (
            s.renamed_in.len(),
            s.renamed_in.values().filter(|&&n| n > 1).count(),
        )
    }

    /// Waits until the output has been quiet for `quiet` after at least one
    /// write at or after `since`, and `ready()` holds; returns the time of the
    /// last write, or None after `timeout`.
    pub fn wait_quiet(
        &self,
        since: Instant,
        quiet: Duration,
        timeout: Duration,
        ready: &mut dyn FnMut() -> bool,
    ) -> Option<Instant> {
        let deadline = since + timeout;
        loop {
            std::thread::sleep(Duration::from_millis(2));
            let last = self
                .seen
                .lock()
                .expect("not poisoned")
                .last
                .filter(|l| *l >= since);
            let now = Instant::now();
            if let Some(last) = last {
                if now - last >= quiet && ready() {
                    return Some(last);
                }
            }
            if now >= deadline {
                return None;
            }
        }
    }
}

fn is_write(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(a) => *a == AccessKind::Close(AccessMode::Write),
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Any | EventKind::Other => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Create,
    Edit,
    Delete,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
        }
    }
}

/// One measured change.
#[derive(Clone, Debug)]
pub struct Sample {
    pub kind: Kind,
    /// From the rename (or unlink) to the last output write.
    pub latency: Option<Duration>,
    /// From the rename to the last write of a feed file (the pages at the top,
    /// `index.html` and `feeds.opml`, left out).
    pub to_feeds: Option<Duration>,
    /// From the rename to the daemon's STATUS= after the batch (which comes after
    /// its syncfs): a cross-check, not the figure.
    pub to_status: Option<Duration>,
    pub writes: u64,
    /// Output files written (renamed into place) for the change, and their bytes.
    pub files: usize,
    pub bytes: u64,
}

/// The changes of the latency run, and the next free event index.
pub struct Latency {
    pub samples: Vec<Sample>,
    pub next_event: u64,
}

/// Applies `changes` single changes to the tree `root` (a corpus of `n` events)
/// one at a time, each written to `staging` first and renamed in, and measures
/// each from the output side.
#[allow(clippy::too_many_arguments)]
pub fn latency(
    daemon: &mut Daemon,
    watch: &OutputWatch,
    generator: &Generator,
    root: &Path,
    staging: &Path,
    n: u64,
    changes: usize,
    quiet: Duration,
    seed: u64,
) -> Result<Latency> {
    fs::create_dir_all(staging)?;
    let mut rng = Rng(seed ^ 0x1a7e_9c35);
    let mut next = n;
    let mut deleted: HashSet<u64> = HashSet::new();
    let mut revisions: HashMap<u64, u32> = HashMap::new();
    let mut samples = Vec::with_capacity(changes);
    let kinds = [Kind::Create, Kind::Edit, Kind::Delete];
    for k in 0..changes {
        let kind = kinds[k % 3];
        // Prepare (not timed): the bytes go to the staging folder, on the same
        // file system, outside the tree.
        let tmp = staging.join(format!("change-{k}.md"));
        let target;
        match kind {
            Kind::Create => {
                let ev = generator.event(next);
                next += 1;
                fs::write(&tmp, &ev.text)?;
                target = root.join(&ev.path);
            }
            Kind::Edit => {
                let i = pick(&mut rng, n, &deleted);
                let rev = revisions.entry(i).or_default();
                *rev += 1;
                let ev = generator.edited_event(i, *rev);
                fs::write(&tmp, &ev.text)?;
                target = root.join(&ev.path);
                if !target.exists() {
                    bail!("bug: {} is not in the tree", target.display());
                }
            }
            Kind::Delete => {
                let i = pick(&mut rng, n, &deleted);
                deleted.insert(i);
                target = root.join(generator.event(i).path);
            }
        }
        let dir = target.parent().expect("in a day folder");
        let new_dir = !dir.exists();
        watch.reset();
        let t0 = Instant::now();
        match kind {
            Kind::Create | Kind::Edit => {
                if new_dir {
                    fs::create_dir_all(dir)?;
                }
                fs::rename(&tmp, &target)?;
            }
            Kind::Delete => fs::remove_file(&target)?,
        }
        let last = watch.wait_quiet(t0, quiet, Duration::from_secs(20), &mut || {
            daemon.status_since(t0).is_some()
        });
        if last.is_none() {
            daemon.check_alive()?;
        }
        let to_status = daemon.status_since(t0).map(|s| s - t0);
        let (writes, overflow) = watch.writes();
        let (files, bytes) = watch.written();
        if overflow {
            eprintln!(
                "  warning: the output watch reported an error during change {k} ({}): {}",
                kind.name(),
                watch.error().unwrap_or_default()
            );
        }
        samples.push(Sample {
            kind,
            latency: last.map(|l| l - t0),
            to_feeds: watch.last_feed(t0).map(|l| l - t0),
            to_status,
            writes,
            files,
            bytes,
        });
        // Space the changes a little more, at random, so that they do not fall
        // into a rhythm with anything periodic in the daemon.
        std::thread::sleep(Duration::from_millis(rng.below(40)));
    }
    Ok(Latency {
        samples,
        next_event: next,
    })
}

fn pick(rng: &mut Rng, n: u64, deleted: &HashSet<u64>) -> u64 {
    loop {
        let i = rng.below(n);
        if !deleted.contains(&i) {
            return i;
        }
    }
}

/// The result of a burst.
pub struct Burst {
    pub files: u64,
    /// Time to rename every file in.
    pub renames: Duration,
    /// From the first rename to the last output write.
    pub complete: Option<Duration>,
    /// Batches the daemon reported (STATUS= messages).
    pub batches: usize,
    /// Output files renamed into place, and how many of them more than once.
    pub renamed_in: (usize, usize),
    pub overflow: bool,
}

/// Stages events `first..first+count` under `staging`, then renames them all into
/// `root` as fast as possible and waits for the output to settle.
#[allow(clippy::too_many_arguments)]
pub fn burst(
    daemon: &mut Daemon,
    watch: &OutputWatch,
    generator: &Generator,
    root: &Path,
    staging: &Path,
    first: u64,
    count: u64,
    quiet: Duration,
) -> Result<Burst> {
    use rayon::prelude::*;
    fs::create_dir_all(staging)?;
    let moves: Vec<(PathBuf, PathBuf)> = (first..first + count)
        .into_par_iter()
        .map(|i| -> Result<(PathBuf, PathBuf)> {
            let ev = generator.event(i);
            let tmp = staging.join(format!("burst-{i}.md"));
            fs::write(&tmp, &ev.text)?;
            Ok((tmp, root.join(&ev.path)))
        })
        .collect::<Result<_>>()?;
    let mut made: HashSet<PathBuf> = HashSet::new();
    watch.reset();
    let t0 = Instant::now();
    for (tmp, target) in &moves {
        let dir = target.parent().expect("in a day folder");
        if !made.contains(dir) {
            fs::create_dir_all(dir)?;
            made.insert(dir.to_owned());
        }
        fs::rename(tmp, target)?;
    }
    let renamed = Instant::now();
    let last = watch.wait_quiet(renamed, quiet, Duration::from_secs(300), &mut || {
        daemon.status_since(renamed).is_some()
    });
    if last.is_none() {
        daemon.check_alive()?;
    }
    let (_, overflow) = watch.writes();
    if overflow {
        eprintln!(
            "  warning: the output watch reported an error during the burst: {}",
            watch.error().unwrap_or_default()
        );
    }
    Ok(Burst {
        files: count,
        renames: renamed - t0,
        complete: last.map(|l| l - t0),
        batches: daemon.statuses_since(t0),
        renamed_in: watch.renamed_in(),
        overflow,
    })
}

/// splitmix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
