//! The daemon: `eventfeed watch`. It takes the lock, starts watching, reconciles the
//! output with the input, tells systemd it is ready, and from then on turns batches
//! of file-system events into change sets for the same engine `build` uses.
//!
//! Watch events are hints; the file system is the truth. Each batch re-reads the
//! paths it names (a path that is gone is a removal), and anything that may have
//! lost events (queue overflow, a full channel, a watcher error) turns the next
//! batch into a full rescan with a fresh watcher.

use crate::cache::Stamp;
use crate::commands::{self, print_reports, Mode, Started};
use crate::config::Settings;
use crate::engine::{Engine, FnEmit};
use crate::index::Change;
use crate::parse::ParseOptions;
use crate::reader::{self, OnError};
use crate::sink::Sink;
use crate::source::Source;
use crate::websub::{is_feed, Publisher};
use anyhow::{Context as _, Result};
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};

/// Paths buffered between the watcher thread and the loop. When full, events are
/// dropped and a rescan is due instead.
const CHANNEL: usize = 16 * 1024;

pub fn run(
    settings: Settings,
    reload: impl Fn() -> Result<Settings, crate::Failure>,
) -> Result<ExitCode, crate::Failure> {
    let _lock = crate::lock::acquire(&settings.output)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(settings, reload))?;
    Ok(ExitCode::SUCCESS)
}

/// What the notify thread hands over: the paths of one event, or a note that
/// events were lost.
struct Hints {
    tx: mpsc::Sender<Vec<PathBuf>>,
    lost: AtomicBool,
    wake: Notify,
}

async fn serve(
    mut settings: Settings,
    reload: impl Fn() -> Result<Settings, crate::Failure>,
) -> Result<(), crate::Failure> {
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let hints = Arc::new(Hints {
        tx,
        lost: AtomicBool::new(false),
        wake: Notify::new(),
    });
    let started = Instant::now();
    // The watch comes before the first scan, so nothing written during it is
    // missed; cleaning the output's stale temp files needs neither, so it runs
    // alongside.
    let (watcher, sink) = rayon::join(
        || watch(&settings.input, &hints),
        || Sink::open(&settings.output),
    );
    let mut watcher = watcher?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "watching the input"
    );
    let publisher = Publisher::reuse(None, settings.site.hub.as_deref());
    let mut daemon = Daemon::start(&settings, sink?, publisher)?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let watchdog = watchdog_interval();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut reconcile_tick = tokio::time::interval(settings.reconcile.max(Duration::from_secs(1)));
    reconcile_tick.reset();
    notify(&[sd_notify::NotifyState::Ready]);
    daemon.status();
    tracing::info!(events = daemon.engine.index().event_count(), input = %settings.input.display(), output = %settings.output.display(), "watching");
    let mut rescan = Rescan::default();
    loop {
        tokio::select! {
            // Signals first: the other branches can be ready all the time.
            biased;
            _ = term.recv() => break,
            _ = int.recv() => break,
            () = rescan.due(), if rescan.at.is_some() => {
                while rx.try_recv().is_ok() {}
                hints.lost.store(false, Ordering::SeqCst);
                watcher = rewatch(watcher, &settings.input, &hints)?;
                daemon.reconcile("events were lost");
                // notify watches for opens too, so a rescan of a tree with more
                // folders than the kernel queue holds overflows it by itself: back
                // off (up to a minute) instead of rescanning in a loop.
                rescan.done(hints.lost.swap(false, Ordering::SeqCst));
            }
            first = rx.recv() => {
                let Some(first) = first else { break };
                let paths = debounce(&mut rx, first, settings.debounce, settings.max_delay).await;
                if hints.lost.swap(false, Ordering::SeqCst) {
                    rescan.request();
                } else {
                    daemon.batch(paths);
                }
            }
            () = hints.wake.notified() => {
                if hints.lost.swap(false, Ordering::SeqCst) {
                    rescan.request();
                }
            }
            _ = reconcile_tick.tick() => daemon.reconcile("periodic reconcile"),
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                notify(&[sd_notify::NotifyState::Watchdog]);
                daemon.status();
            }
            _ = hup.recv() => {
                notify(&[sd_notify::NotifyState::Reloading]);
                match reload() {
                    Ok(new) => {
                        if new.output != settings.output {
                            tracing::warn!("a new output directory takes a restart, not a reload; keeping {}", settings.output.display());
                        } else {
                            if new.input != settings.input {
                                watcher = watch(&new.input, &hints)?;
                            }
                            settings = new;
                            // Pings still queued for the same hub survive the reload.
                            let publisher = Publisher::reuse(daemon.publisher.take(), settings.site.hub.as_deref());
                            daemon = Daemon::start(&settings, Sink::open(&settings.output)?, publisher)?;
                            tracing::info!("configuration reloaded");
                        }
                    }
                    Err(e) => tracing::error!("reload failed, keeping the running configuration: {e}"),
                }
                notify(&[sd_notify::NotifyState::Ready]);
                daemon.status();
            }
        }
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("stopping");
    daemon.stop();
    drop(watcher);
    Ok(())
}

/// When the next rescan for lost events runs: at once, unless the last one lost
/// events itself, then after a delay that doubles up to a minute.
#[derive(Default)]
struct Rescan {
    at: Option<tokio::time::Instant>,
    backoff: Duration,
}

impl Rescan {
    fn request(&mut self) {
        self.at
            .get_or_insert_with(|| tokio::time::Instant::now() + self.backoff);
    }

    async fn due(&self) {
        if let Some(at) = self.at {
            tokio::time::sleep_until(at).await;
        }
    }

    fn done(&mut self, lost_again: bool) {
        self.at = None;
        if lost_again {
            self.backoff =
                (self.backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
            tracing::warn!(
                "events were lost again during the rescan (the tree has more folders than the kernel's inotify queue holds events: raise fs.inotify.max_queued_events); next rescan in {} s",
                self.backoff.as_secs()
            );
            self.request();
        } else {
            self.backoff = Duration::ZERO;
        }
    }
}

/// Starts a recursive watch. The callback only hands the event on: a slow
/// callback overflows the kernel queue.
fn watch(input: &Path, hints: &Arc<Hints>) -> Result<RecommendedWatcher, crate::Failure> {
    let h = hints.clone();
    // A scan does not follow symlinks to folders, so neither does the watch: what
    // happens behind one is not part of the tree.
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut watcher = RecommendedWatcher::new(
        move |res: notify::Result<notify::Event>| {
            let lost = match res {
                Ok(event) if event.need_rescan() => true,
                Ok(event) if is_noise(&event.kind) => false,
                // A full channel drops this event; the rescan makes up for it.
                Ok(event) => h.tx.try_send(event.paths).is_err(),
                Err(_) => true,
            };
            if lost {
                h.lost.store(true, Ordering::SeqCst);
                h.wake.notify_one();
            }
        },
        config,
    )
    .context("cannot start the file watcher")?;
    watcher
        .watch(input, RecursiveMode::Recursive)
        .map_err(|e| watch_error(e, input))?;
    Ok(watcher)
}

fn rewatch(
    old: RecommendedWatcher,
    input: &Path,
    hints: &Arc<Hints>,
) -> Result<RecommendedWatcher, crate::Failure> {
    drop(old);
    watch(input, hints)
}

/// Reads and opens are our own doing (and nobody else's business).
fn is_noise(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

fn watch_error(e: notify::Error, input: &Path) -> crate::Failure {
    let hint = match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            let dirs = count_dirs(input);
            format!(
                ": the inotify watch limit is reached; this tree has {dirs} folders, each needs one watch: raise it with `sysctl fs.inotify.max_user_watches={}` (and in /etc/sysctl.d/ to keep it)",
                (dirs * 2).max(524_288)
            )
        }
        _ => String::new(),
    };
    crate::Failure::Runtime(anyhow::anyhow!(
        "cannot watch {}: {e}{hint}",
        input.display()
    ))
}

fn count_dirs(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        1 + entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| count_dirs(&e.path()))
            .sum::<usize>()
    })
}

/// Collects a batch: everything that arrives until the tree has been quiet for
/// `quiet`, or `max` has passed since the first event (so a steady stream of
/// writes still gets its feeds out).
async fn debounce(
    rx: &mut mpsc::Receiver<Vec<PathBuf>>,
    first: Vec<PathBuf>,
    quiet: Duration,
    max: Duration,
) -> BTreeSet<PathBuf> {
    let mut paths: BTreeSet<PathBuf> = first.into_iter().collect();
    let deadline = tokio::time::Instant::now() + max;
    loop {
        let until = (tokio::time::Instant::now() + quiet).min(deadline);
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(more)) => paths.extend(more),
            Ok(None) | Err(_) => return paths,
        }
    }
}

/// The engine with the I/O around it.
struct Daemon {
    settings: Settings,
    engine: Engine,
    sink: Sink,
    source: Source,
    opts: ParseOptions,
    /// The stamp of every file the index holds, to skip unchanged files on a
    /// rescan and to save the cache.
    stamps: HashMap<PathBuf, Stamp>,
    last_change: Option<Instant>,
    /// Whether the cache on disk is behind (saving a large one takes a while, so
    /// it is saved only when it must be).
    dirty: bool,
    /// Tells the WebSub hub which feeds changed, when one is configured.
    publisher: Option<Publisher>,
}

impl Daemon {
    fn start(settings: &Settings, sink: Sink, publisher: Option<Publisher>) -> Result<Self> {
        let started = Instant::now();
        let mode = Mode {
            progress: false,
            cache: true,
            on_error: OnError::KeepLastGood,
            changed_feeds: publisher.is_some(),
        };
        let Started {
            engine,
            stamps,
            summary: s,
            changed_feeds,
        } = commands::start(settings, &sink, &mode)?;
        tracing::info!(
            files = s.files,
            read = s.read,
            events = s.events,
            skipped = s.failed,
            feeds = s.feeds,
            written = s.written,
            removed = s.removed,
            ms = started.elapsed().as_millis() as u64,
            "reconciled"
        );
        let daemon = Self {
            settings: settings.clone(),
            engine,
            sink,
            source: Source::new(&settings.input, &settings.extensions, &settings.day_pages),
            opts: ParseOptions::new(settings.max_file_bytes, settings.site.links.clone()),
            stamps,
            last_change: None,
            dirty: false,
            publisher,
        };
        // What changed while the daemon was down changed for subscribers too.
        daemon.publish(changed_feeds);
        Ok(daemon)
    }

    /// One batch of hinted paths (absolute, from the watcher).
    fn batch(&mut self, hinted: BTreeSet<PathBuf>) {
        let started = Instant::now();
        let mut paths = BTreeSet::new();
        for abs in hinted {
            let Ok(rel) = abs.strip_prefix(&self.settings.input) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            // A folder that appeared (files written right after mkdir have no
            // events of their own), or one that went away or was renamed.
            // Not `is_dir()`: a symlink to a folder is not part of the tree (a scan
            // does not follow it either).
            if std::fs::symlink_metadata(&abs).is_ok_and(|m| m.is_dir()) {
                paths.extend(self.source.scan_dir(rel));
            }
            paths.extend(self.engine.index().paths_under(rel).map(Path::to_path_buf));
            if self.source.is_input_path(rel) {
                paths.insert(rel.to_owned());
            }
        }
        if paths.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = paths.into_iter().collect();
        self.read_and_commit(&paths, started);
    }

    /// A full rescan: every file stamped, the changed and the vanished ones read,
    /// and only what differs applied.
    fn reconcile(&mut self, why: &str) {
        let started = Instant::now();
        let (scanned, problems) = match self.source.scan() {
            Ok(found) => found,
            Err(e) => return tracing::error!("rescan failed: {e:#}"),
        };
        for p in problems {
            tracing::warn!("{p}");
        }
        let present: HashSet<&Path> = scanned.iter().map(|(p, _)| p.as_path()).collect();
        let mut paths: Vec<PathBuf> = self
            .engine
            .index()
            .paths()
            .filter(|p| !present.contains(p))
            .map(Path::to_path_buf)
            .collect();
        paths.extend(
            scanned
                .iter()
                .filter(|(p, s)| self.stamps.get(p) != Some(s))
                .map(|(p, _)| p.clone()),
        );
        tracing::info!(
            reason = why,
            files = scanned.len(),
            changed = paths.len(),
            "rescanning"
        );
        self.read_and_commit(&paths, started);
        self.engine.interner().sweep();
        self.save_cache();
    }

    fn read_and_commit(&mut self, paths: &[PathBuf], started: Instant) {
        // A path reached only through a symlinked folder (a real folder swapped for
        // a link) reads as gone: `Source::read` checks.
        let read = reader::read(
            &self.source,
            &self.opts,
            paths,
            OnError::KeepLastGood,
            self.engine.interner(),
            &|| {},
        );
        print_reports(&self.settings, &read);
        for change in &read.changes {
            if let Change::Remove(p) = change {
                self.stamps.remove(p);
            }
        }
        self.dirty |= !read.stamps.is_empty() || !read.changes.is_empty();
        self.stamps.extend(read.stamps);
        self.commit(read.changes, paths.len(), started);
    }

    fn commit(&mut self, changes: Vec<Change>, files: usize, started: Instant) {
        let plan = self.engine.apply(changes);
        if plan.is_empty() {
            return;
        }
        // The feeds whose bytes changed, for the hub.
        let changed = std::sync::Mutex::new(Vec::new());
        let result = self
            .engine
            .render(
                &plan,
                FnEmit(|path: &str, bytes: &[u8]| {
                    if self.sink.write(path, bytes)? && self.publisher.is_some() && is_feed(path) {
                        changed.lock().expect("not poisoned").push(path.to_owned());
                    }
                    anyhow::Ok(())
                }),
            )
            .and_then(|()| {
                plan.removed
                    .iter()
                    .try_for_each(|dir| self.sink.remove_dir(dir))?;
                plan.removed_files
                    .iter()
                    .try_for_each(|file| self.sink.remove_file(file))
            })
            .map(|()| self.sink.sync_soon());
        let (written, unchanged, removed, _) = self.sink.counts.take();
        // What was written changed, even if a later file failed.
        self.publish(changed.into_inner().expect("not poisoned"));
        match result {
            Ok(()) => {
                self.last_change = Some(Instant::now());
                tracing::info!(
                    files,
                    feeds = plan.feeds.len(),
                    written,
                    unchanged,
                    removed,
                    ms = started.elapsed().as_millis() as u64,
                    "batch"
                );
            }
            // The output is behind the index now: the next reconcile repairs it.
            Err(e) => {
                tracing::error!("writing the feeds failed, will retry at the next reconcile: {e:#}")
            }
        }
        self.status();
    }

    /// Tells the hub (if any) about feeds whose bytes changed, by output path.
    fn publish(&self, mut feeds: Vec<String>) {
        if let Some(publisher) = &self.publisher {
            feeds.sort_unstable();
            let links = &self.settings.site.links;
            publisher.publish(feeds.iter().map(|rel| links.feed_url(rel)));
        }
    }

    /// Makes the output durable and the cache current, before exiting.
    fn stop(&mut self) {
        if let Err(e) = self.sink.sync() {
            tracing::warn!("{e:#}");
        }
        self.save_cache();
    }

    /// Saves the cache if it is behind, so that the next start reads and renders
    /// nothing that did not change meanwhile.
    fn save_cache(&mut self) {
        if std::mem::take(&mut self.dirty) {
            commands::save_cache(&self.settings, &self.engine, &self.stamps, &self.sink);
        }
    }

    fn status(&self) {
        let index = self.engine.index();
        let ago = self.last_change.map_or("none yet".to_owned(), |t| {
            format!("{} s ago", t.elapsed().as_secs())
        });
        let status = format!(
            "{} events, {} feeds, last change {ago}",
            index.event_count(),
            index.days().len() + index.contexts().len() + 1
        );
        notify(&[sd_notify::NotifyState::Status(&status)]);
    }
}

fn notify(state: &[sd_notify::NotifyState]) {
    let _ = sd_notify::notify(false, state);
}

/// Half the watchdog timeout systemd asked for, if it asked.
fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec / 2))
}
