//! The daemon: `eventfeed watch`. It takes the lock, starts watching, reconciles the
//! output with the input, tells systemd it is ready, and from then on turns batches
//! of file-system events into change sets for the same engine `build` uses.
//!
//! Watch events are hints; the file system is the truth. Each batch re-reads the
//! paths it names (a path that is gone is a removal), and anything that may have
//! lost events (queue overflow, a full channel, a watcher error) turns the next
//! batch into a full rescan with a fresh watcher.

use crate::commands::{self, Mode, Started};
use crate::config::Settings;
use crate::engine::Engine;
use crate::index::Change;
use crate::parse::ParseOptions;
use crate::publish::{self, Unwritten};
use crate::reader::{self, OnError};
use crate::remote::uploader::Uploader;
use crate::report::{self, Shown};
use crate::sink::Sink;
use crate::source::Source;
use crate::stamps::Stamp;
use crate::store::{Outputs, Store};
use crate::watcher::{watch, FirstWatch, Hints, Watcher};
use crate::websub::Publisher;
use anyhow::{Context as _, Result};
use notify::EventKind;
use rustc_hash::FxHashMap as HashMap;
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

async fn serve(
    mut settings: Settings,
    reload: impl Fn() -> Result<Settings, crate::Failure>,
) -> Result<(), crate::Failure> {
    // Signals are handled from the start: a SIGTERM during the first reconcile
    // must stop it cleanly, not kill the process.
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tracing::debug!("signal handlers installed");
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let hints = Arc::new(Hints {
        tx,
        lost: AtomicBool::new(false),
        wake: Notify::new(),
    });
    let started = Instant::now();
    let clean = crate::store::take_clean_mark(&settings.state_dir);
    let sink = Sink::open(&settings.output, !clean)?;
    // The watch comes before the first scan, so nothing written during it is
    // missed; the start begins it on the scan's side, while the index loads,
    // and the scan adds the folders it lists.
    let first_watch = FirstWatch::new(&settings, &hints);
    // The first reconcile of a large tree takes minutes: it runs on its own
    // thread so that a SIGTERM meanwhile is seen, stops it, and exits 0.
    let mut first = {
        let settings = settings.clone();
        let publisher = Publisher::reuse(None, settings.site.hub.as_deref());
        tokio::task::spawn_blocking(move || {
            let daemon = uploader(None, &settings).and_then(|uploader| {
                Daemon::start(&settings, sink, publisher, uploader, Some(&first_watch))
            });
            let watcher = first_watch.finish();
            let ms = started.elapsed().as_millis() as u64;
            tracing::debug!(ms, "watching the input");
            (daemon, watcher)
        })
    };
    let (daemon, watcher) = tokio::select! {
        biased;
        _ = term.recv() => return stop_starting(first).await,
        _ = int.recv() => return stop_starting(first).await,
        started = &mut first => started.context("the first reconcile panicked")?,
    };
    let (mut daemon, mut watcher) = match (daemon, watcher) {
        // A watch that failed says why, in its own words (and exit code).
        (_, Some(Err(e))) => return Err(e),
        (daemon, watcher) => (daemon?, watcher.expect("watched before the scan")?),
    };
    let watchdog = crate::systemd::watchdog_interval();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut reconcile_tick = tokio::time::interval(settings.reconcile.max(Duration::from_secs(1)));
    reconcile_tick.reset();
    notify("READY=1");
    daemon.status();
    tracing::info!(events = daemon.engine.index().event_count(), input = %settings.input.display(), output = %settings.output.display(), "watching");
    // What the start freed goes back to the system once it is ready (80 ms
    // at 1M events that READY need not wait for).
    crate::memory::release();
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
                drop(watcher);
                watcher = watch(&settings, &hints)?;
                daemon.reconcile("events were lost");
                // Events lost again during the rescan (changes faster than the
                // kernel queue drains): back off (up to a minute) instead of
                // rescanning in a loop.
                rescan.done(hints.lost.swap(false, Ordering::SeqCst));
            }
            first = rx.recv() => {
                let Some(first) = first else { break };
                let waited = Instant::now();
                let input = &settings.input;
                let is_input = |p: &Path| p.strip_prefix(input).is_ok_and(|rel| daemon.source.is_input_path(rel));
                let paths = debounce(&mut rx, first, settings.debounce, settings.max_delay, is_input).await;
                tracing::debug!(us = waited.elapsed().as_micros() as u64, paths = paths.len(), "batch collected");
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
            () = until(daemon.retry_at()) => daemon.retry(),
            () = until(daemon.expiry_at()) => daemon.retry(),
            _ = reconcile_tick.tick() => daemon.reconcile("periodic reconcile"),
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                notify("WATCHDOG=1");
                daemon.status();
            }
            _ = hup.recv() => {
                notify("RELOADING=1");
                match reload() {
                    Ok(new) => {
                        if new.output != settings.output {
                            tracing::warn!("a new output directory takes a restart, not a reload; keeping {}", settings.output.display());
                        } else {
                            let same_watch = new.input == settings.input
                                && new.poll_always == settings.poll_always
                                && new.poll_interval == settings.poll_interval;
                            if !same_watch {
                                drop(watcher);
                                watcher = watch(&new, &hints)?;
                            }
                            settings = new;
                            // Pings still queued for the same hub survive the reload.
                            let publisher = Publisher::reuse(daemon.publisher.take(), settings.site.hub.as_deref());
                            let uploader = uploader(daemon.uploader.take(), &settings)?;
                            // One store open at a time: the old daemon lets go of it.
                            daemon.release_store();
                            daemon = Daemon::start(&settings, Sink::open(&settings.output, false)?, publisher, uploader, None)?;
                            crate::memory::release();
                            tracing::info!("configuration reloaded");
                        }
                    }
                    Err(e) => tracing::error!("reload failed, keeping the running configuration: {e}"),
                }
                notify("READY=1");
                daemon.status();
            }
        }
    }
    notify("STOPPING=1");
    tracing::info!("stopping");
    daemon.stop();
    drop(watcher);
    daemon.finish();
    Ok(())
}

/// Keeps the uploader if `[publish]` did not change (nothing pending is lost),
/// else starts the one it asks for, or none.
fn uploader(old: Option<Uploader>, settings: &Settings) -> Result<Option<Uploader>> {
    Uploader::reuse(
        old,
        settings.publish.as_ref(),
        &settings.output,
        &settings.state_dir,
        &settings.site.links,
    )
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
                "events were lost again during the rescan (more changes at once than the kernel's inotify queue holds: raise fs.inotify.max_queued_events); next rescan in {} s",
                self.backoff.as_secs()
            );
            self.request();
        } else {
            self.backoff = Duration::ZERO;
        }
    }
}

/// Waits until `at`, or forever.
async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How long a change that leaves one input file complete waits for more before
/// it is acted on: a second event this soon makes it a burst. (Shorter than
/// tokio's timer, which ticks in whole milliseconds: see [`debounce`].)
const SETTLE: Duration = Duration::from_micros(500);

/// Collects a batch. A change that leaves a single input file complete (closed
/// after writing, renamed into place, deleted) is acted on at once, unless more
/// events arrive within [`SETTLE`]. Everything else (a file still being
/// written, a file renamed away, which an editor may be about to replace, a new
/// folder whose files may not have events yet, several files) is debounced:
/// collected until the tree has been quiet for `quiet`, or `max` has passed
/// since the first event (so a steady stream of writes still gets its feeds out).
async fn debounce(
    rx: &mut mpsc::Receiver<(EventKind, Vec<PathBuf>)>,
    first: (EventKind, Vec<PathBuf>),
    quiet: Duration,
    max: Duration,
    is_input: impl Fn(&Path) -> bool,
) -> BTreeSet<PathBuf> {
    let mut batch = Batch::default();
    batch.add(first, &is_input);
    let deadline = tokio::time::Instant::now() + max;
    loop {
        if batch.settled() {
            // A timer would round SETTLE up to the next millisecond tick (1 to
            // 2 ms); sleeping the thread blocks nothing else, as the batch that
            // follows runs on it anyway. Events keep arriving meanwhile (the
            // watcher has its own thread).
            std::thread::sleep(SETTLE);
            let mut more = false;
            while let Ok(hint) = rx.try_recv() {
                batch.add(hint, &is_input);
                more = true;
            }
            if !more || tokio::time::Instant::now() >= deadline {
                return batch.paths;
            }
            continue;
        }
        let until = (tokio::time::Instant::now() + quiet).min(deadline);
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(more)) => batch.add(more, &is_input),
            Ok(None) | Err(_) => return batch.paths,
        }
    }
}

/// The paths of a batch being collected, and what its events said of them.
#[derive(Default)]
struct Batch {
    paths: BTreeSet<PathBuf>,
    /// The input files named, and whether the last event of each left it
    /// complete.
    inputs: HashMap<PathBuf, bool>,
    /// A folder appeared: files written in it right away have no events until
    /// the watch reaches it, so the batch waits for the quiet.
    new_folder: bool,
}

impl Batch {
    fn add(&mut self, (kind, paths): (EventKind, Vec<PathBuf>), is_input: &impl Fn(&Path) -> bool) {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode,
        };
        self.new_folder |= kind == EventKind::Create(CreateKind::Folder);
        for (i, path) in paths.iter().enumerate() {
            let complete = match kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Modify(ModifyKind::Name(RenameMode::To))
                | EventKind::Remove(RemoveKind::File) => true,
                // (from, to): the source's own `From` event said what it is.
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if i == 0 => continue,
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => true,
                // A new mode or time (`cp -p`, `touch`) leaves the bytes as they were.
                EventKind::Modify(ModifyKind::Metadata(_)) => {
                    if is_input(path) {
                        self.inputs.entry(path.clone()).or_insert(true);
                    }
                    continue;
                }
                _ => false,
            };
            if is_input(path) {
                self.inputs.insert(path.clone(), complete);
            }
        }
        self.paths.extend(paths);
    }

    /// Whether the batch is one complete input file (or only files that are not
    /// input: temp files, swap files), with no folder to wait for.
    fn settled(&self) -> bool {
        !self.new_folder && self.inputs.len() <= 1 && self.inputs.values().all(|c| *c)
    }
}

/// The engine with the I/O around it.
struct Daemon {
    settings: Settings,
    engine: Engine,
    /// Bodies and what the next start needs (see `store`).
    store: Option<Arc<Store>>,
    sink: Sink,
    source: Source,
    opts: ParseOptions,
    /// The stamp of every file the index holds, to skip unchanged files on a
    /// rescan: only without a store, whose records hold them otherwise.
    stamps: HashMap<PathBuf, Stamp>,
    last_change: Option<Instant>,
    /// Whether the store is behind: not durable, or without the output's
    /// latest stamps (saved after every batch, a rescan and at the stop).
    dirty: bool,
    /// Whether the store holds no output stamps (writes failed): the next save
    /// after the output is current again records them all, not a delta.
    stamps_lost: bool,
    /// Writes that failed, to retry.
    behind: Option<Behind>,
    /// Tells the WebSub hub which feeds changed, when one is configured.
    publisher: Option<Publisher>,
    /// Mirrors what the sink wrote and removed to `[publish]`'s store.
    uploader: Option<Uploader>,
}

/// Writes that failed (a full disk, a folder the daemon may not write), retried
/// on their own after a delay that doubles from a second to a minute, and with
/// every batch meanwhile: they must not wait for another change or the hourly
/// reconcile.
struct Behind {
    unwritten: Unwritten,
    delay: Duration,
    at: tokio::time::Instant,
    /// What fails and what to do, for `STATUS=`.
    advice: String,
}

impl Daemon {
    fn start(
        settings: &Settings,
        sink: Sink,
        publisher: Option<Publisher>,
        uploader: Option<Uploader>,
        watch: Option<&FirstWatch>,
    ) -> Result<Self> {
        let started = Instant::now();
        if uploader.is_some() {
            sink.track_changes();
        }
        let mode = Mode {
            progress: false,
            cache: true,
            on_error: OnError::KeepLastGood,
            retry_writes: true,
            shown: Shown::Log,
            changed_feeds: publisher.is_some(),
            follow: true,
        };
        let Started {
            engine,
            store,
            stamps,
            summary: s,
            changed_feeds,
            unwritten,
        } = commands::start(settings, &sink, &mode, watch)?;
        let mut engine = engine;
        // A start that read most of the tree (the first, or one after the
        // store was started afresh) grew the index a file at a time, among
        // the bodies it parsed and let go. Loaded again from the store it
        // takes a quarter less memory (296 -> 226 MB at 100k), for 1.1 s more
        // of a start that took 30.
        if s.read >= s.files / 2 {
            if let Some(store) = &store {
                let t = Instant::now();
                let compacted = engine.compact(store)?;
                tracing::debug!(
                    compacted,
                    ms = t.elapsed().as_millis() as u64,
                    "index compacted"
                );
            }
        }
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
        let mut daemon = Self {
            settings: settings.clone(),
            engine,
            store,
            sink,
            source: Source::new(
                &settings.input,
                &settings.extensions,
                &settings.day_pages,
                settings.max_file_bytes,
            ),
            opts: ParseOptions::new(settings.max_file_bytes, settings.site.links.clone()),
            stamps,
            last_change: None,
            dirty: false,
            stamps_lost: false,
            behind: None,
            publisher,
            uploader,
        };
        daemon.upload();
        // What changed while the daemon was down changed for subscribers too.
        daemon.publish(changed_feeds);
        if let Some(u) = unwritten {
            daemon.dirty = true;
            daemon.stamps_lost = true;
            daemon.fell_behind(u, Duration::ZERO);
        }
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
            paths.extend(self.engine.index().paths_under(rel));
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
        let mut paths = self.engine.index().paths_missing_from(scanned.paths());
        match &self.store {
            Some(store) => match store.diff(scanned.iter()) {
                Ok((_, changed)) => paths.extend(changed),
                Err(e) => {
                    tracing::warn!(
                        "cannot read the stamps in the store (reading every file): {e:#}"
                    );
                    paths.extend(scanned.paths().map(Path::to_owned));
                }
            },
            None => paths.extend(
                scanned
                    .iter()
                    .filter(|(p, s)| self.stamps.get(*p) != Some(s))
                    .map(|(p, _)| p.to_owned()),
            ),
        }
        tracing::info!(
            reason = why,
            files = scanned.len(),
            changed = paths.len(),
            "rescanning"
        );
        self.read_and_commit(&paths, started);
        self.engine.interner().sweep();
        self.save_state();
        crate::memory::release();
    }

    fn read_and_commit(&mut self, paths: &[PathBuf], started: Instant) {
        let resolved = started.elapsed();
        // A path reached only through a symlinked folder (a real folder swapped for
        // a link) reads as gone: `Reads::read` checks.
        let read = reader::read(
            &self.source,
            &self.opts,
            paths,
            OnError::KeepLastGood,
            self.engine.interner(),
            self.store.as_deref(),
            &|| {},
        );
        report::files(&self.settings, &read, Shown::Log);
        self.dirty |= !read.stamps.is_empty() || !read.changes.is_empty();
        if self.store.is_none() {
            for change in &read.changes {
                if let Change::Remove(p) = change {
                    self.stamps.remove(p);
                }
            }
            self.stamps.extend(read.stamps);
        }
        let read_at = started.elapsed();
        tracing::debug!(
            resolve_us = resolved.as_micros() as u64,
            read_us = (read_at - resolved).as_micros() as u64,
            "batch read"
        );
        self.commit(read.changes, paths.len(), started);
        // As `check` does, but only for what this batch read (not every
        // known duplicate again with every batch).
        let dups = self.engine.index().duplicates_among(paths);
        report::duplicates(&self.settings, dups, Shown::Log);
    }

    fn commit(&mut self, changes: Vec<Change>, files: usize, started: Instant) {
        let applying = Instant::now();
        let mut plan = self
            .engine
            .apply_at(changes, crate::tombstones::file::now());
        let applied = applying.elapsed();
        if self.engine.take_tombstones_changed() {
            commands::save_tombstones(&self.settings, &self.engine);
        }
        let (mut full, mut delay) = (false, Duration::ZERO);
        if let Some(behind) = self.behind.take() {
            let restructured = publish::merge(&mut plan, behind.unwritten.plan);
            (full, delay) = (behind.unwritten.full || restructured, behind.delay);
        }
        if plan.is_empty() && !full {
            return;
        }
        if full {
            plan = self.engine.everything();
        }
        let mut changed = Vec::new();
        // (The start's writes are no part of the first batch.)
        self.sink
            .counts
            .write_us
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let writing = Instant::now();
        let result = publish::write(&self.engine, &self.sink, &plan, full, &|| {}, &mut changed)
            .map(|()| self.sink.sync_soon());
        let (written, unchanged, removed, bytes) = self.sink.counts.take();
        let (kept, rendered) = self.engine.fragments().take_counts();
        // Where a batch's time goes (`EVENTFEED_LOG=debug`): the index and plan,
        // then rendering and writing (interleaved on the pool: `sink_us` is the
        // time in the sink, summed over its threads). The `syncfs` runs after,
        // on a thread of its own.
        tracing::debug!(
            apply_us = applied.as_micros() as u64,
            write_us = writing.elapsed().as_micros() as u64,
            sink_us = self
                .sink
                .counts
                .write_us
                .swap(0, std::sync::atomic::Ordering::Relaxed),
            feeds = plan.feeds.len(),
            pages = plan.pages.len(),
            items_kept = kept,
            items_rendered = rendered,
            written,
            unchanged,
            bytes,
            "batch timings"
        );
        // What was written changed for subscribers, even if a later file failed.
        self.publish(changed);
        self.upload();
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
                if !delay.is_zero() {
                    tracing::info!("the feeds are written again; the output is current");
                }
            }
            Err(error) => self.fell_behind(Unwritten { plan, full, error }, delay),
        }
        self.status();
        // After the batch is out: the store learns what was written, durably.
        self.dirty = true;
        self.save_state();
    }

    /// Keeps what failed to write, and when to try again.
    fn fell_behind(&mut self, unwritten: Unwritten, last_delay: Duration) {
        let delay = (last_delay * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let advice = publish::advice(&unwritten.error, &self.settings.output);
        tracing::error!(
            "writing the feeds failed: {advice}; retrying in {} s",
            delay.as_secs()
        );
        self.behind = Some(Behind {
            unwritten,
            delay,
            at: tokio::time::Instant::now() + delay,
            advice,
        });
    }

    /// When failed writes are due again, if any failed.
    fn retry_at(&self) -> Option<tokio::time::Instant> {
        self.behind.as_ref().map(|b| b.at)
    }

    /// Tells the hub (if any) about feeds whose bytes changed, by output path.
    fn publish(&self, feeds: Vec<String>) {
        if let Some(publisher) = &self.publisher {
            let links = &self.settings.site.links;
            publisher.publish(feeds.iter().map(|rel| links.feed_url(rel)));
        }
    }

    /// Hands what the sink wrote and removed to the uploader (if any).
    fn upload(&self) {
        if let Some(uploader) = &self.uploader {
            uploader.queue(self.sink.take_changes());
        }
    }

    /// When the next tombstone expires: then an empty batch drops it (and
    /// renders the feeds it leaves).
    fn expiry_at(&self) -> Option<tokio::time::Instant> {
        let at_ms = self.engine.next_expiry()?.saturating_mul(1000);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let wait = Duration::from_millis(at_ms.saturating_sub(now_ms).max(0) as u64);
        Some(tokio::time::Instant::now() + wait)
    }

    /// Writes again what failed to write (and expires what is due).
    fn retry(&mut self) {
        self.commit(Vec::new(), 0, Instant::now());
    }

    /// Makes the output durable and the store current, before exiting.
    fn stop(&mut self) {
        let synced = self.sink.sync();
        self.save_state();
        self.save_settled();
        match synced {
            // Every write is complete and the store knows it: the next start
            // can trust the output's stamps and need not look for temp files.
            Ok(()) => crate::store::leave_clean_mark(&self.settings.state_dir),
            Err(e) => tracing::warn!("{e:#}"),
        }
    }

    /// Ends a stopped daemon without freeing its index an allocation at a time
    /// (seconds at a million events, for a process about to exit); the store
    /// closes cleanly as the rest is dropped.
    fn finish(self) {
        let Self { engine, .. } = self;
        engine.finish();
    }

    /// Saves the state and closes the store, for a daemon that a reload
    /// replaces (the next one opens the store again).
    fn release_store(&mut self) {
        self.save_state();
        self.save_settled();
        self.store = None;
        self.engine.release_bodies();
    }

    /// Saves the index's settlement, so that the next start need not settle
    /// it again (see [`crate::index::Settled`]).
    fn save_settled(&self) {
        if let Some(store) = &self.store {
            let t = Instant::now();
            self.engine.save_settled(store);
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "settled index saved");
        }
    }

    /// Saves the state if it is behind, so that the next start reads and renders
    /// nothing that did not change meanwhile.
    fn save_state(&mut self) {
        if std::mem::take(&mut self.dirty) {
            let outputs = match self.behind {
                Some(_) => {
                    self.stamps_lost = true;
                    Outputs::Unknown
                }
                None if std::mem::take(&mut self.stamps_lost) => {
                    Outputs::Whole(self.sink.take_whole())
                }
                None => Outputs::Delta(self.sink.take_changed()),
            };
            commands::save_state(self.store.as_deref(), outputs);
        }
    }

    fn status(&self) {
        let index = self.engine.index();
        let ago = self.last_change.map_or("none yet".to_owned(), |t| {
            format!("{} s ago", t.elapsed().as_secs())
        });
        let mut status = format!(
            "{} events, {} feeds, last change {ago}",
            index.event_count(),
            index.days().len() + index.contexts().len() + 1
        );
        if let Some(u) = &self.uploader {
            status = format!("{status}; {}", u.status());
        }
        if let Some(b) = &self.behind {
            status = format!(
                "behind, retrying every {} s: {}; {status}",
                b.delay.as_secs(),
                b.advice
            );
        }
        notify(&format!("STATUS={status}"));
    }
}

fn notify(message: &str) {
    crate::systemd::notify(message);
}

/// The daemon's first start, and its watch (`None` if the start failed
/// before the watch began).
type FirstStart = (Result<Daemon>, Option<Result<Watcher, crate::Failure>>);

/// A stop asked for during the first reconcile: ends it at the next file and
/// exits without committing what it had not finished (the next start redoes it;
/// every file written so far was complete, and temp files are cleaned up).
async fn stop_starting(first: tokio::task::JoinHandle<FirstStart>) -> Result<(), crate::Failure> {
    notify("STOPPING=1");
    tracing::info!("stopping during the first reconcile; the next start resumes it");
    crate::shutdown::request();
    let _ = first.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{
        AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode,
    };

    const QUIET: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_millis(500);

    fn close(p: &str) -> (EventKind, Vec<PathBuf>) {
        (
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            vec![p.into()],
        )
    }
    fn ev(kind: EventKind, paths: &[&str]) -> (EventKind, Vec<PathBuf>) {
        (kind, paths.iter().map(PathBuf::from).collect())
    }
    fn is_input(p: &Path) -> bool {
        p.extension().is_some_and(|e| e == "md") && !p.to_string_lossy().contains("/.")
    }

    /// Sends `events` at their offsets (ms after the first; events at one
    /// offset go out back to back, as a run of syscalls does), then returns
    /// the batch and how long (virtual time) collecting it took.
    async fn collect(events: Vec<(u64, (EventKind, Vec<PathBuf>))>) -> (Vec<String>, Duration) {
        let (tx, mut rx) = mpsc::channel(64);
        let mut events = events.into_iter().peekable();
        let (_, first) = events.next().unwrap();
        // Events at offset 0 are queued before the batch starts, as the
        // watcher's thread queues them while the loop wakes up.
        while let Some((_, e)) = events.next_if(|(at, _)| *at == 0) {
            tx.try_send(e).unwrap();
        }
        let start = tokio::time::Instant::now();
        tokio::spawn(async move {
            for (at, e) in events {
                tokio::time::sleep_until(start + Duration::from_millis(at)).await;
                let _ = tx.send(e).await;
            }
            // Keep the channel open past the batch.
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let paths = debounce(&mut rx, first, QUIET, MAX, is_input).await;
        let paths = paths.iter().map(|p| p.display().to_string()).collect();
        (paths, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_file_renamed_in_or_closed_after_writing_is_acted_on_at_once() {
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let (paths, took) = collect(vec![(0, ev(to, &["/in/a.md"]))]).await;
        assert_eq!(paths, ["/in/a.md"]);
        assert!(took <= SETTLE + Duration::from_millis(1), "{took:?}");
        // `cp` of a new file: create, write, close (and `cp -p`'s times).
        let (paths, took) = collect(vec![
            (0, ev(EventKind::Create(CreateKind::File), &["/in/b.md"])),
            (
                0,
                ev(
                    EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                    &["/in/b.md"],
                ),
            ),
            (0, close("/in/b.md")),
            (
                0,
                ev(
                    EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)),
                    &["/in/b.md"],
                ),
            ),
        ])
        .await;
        assert_eq!(paths, ["/in/b.md"]);
        assert!(took <= SETTLE + Duration::from_millis(1), "{took:?}");
        // rsync: a hidden temp file written, then renamed over the file.
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        let (paths, took) = collect(vec![
            (
                0,
                ev(EventKind::Create(CreateKind::File), &["/in/.c.md.Xy12"]),
            ),
            (0, close("/in/.c.md.Xy12")),
            (0, ev(from, &["/in/.c.md.Xy12"])),
            (0, ev(to, &["/in/c.md"])),
            (0, ev(both, &["/in/.c.md.Xy12", "/in/c.md"])),
        ])
        .await;
        assert_eq!(paths, ["/in/.c.md.Xy12", "/in/c.md"]);
        assert!(took <= SETTLE + Duration::from_millis(1), "{took:?}");
        let (_, took) = collect(vec![(
            0,
            ev(EventKind::Remove(RemoveKind::File), &["/in/d.md"]),
        )])
        .await;
        assert!(took <= SETTLE + Duration::from_millis(1), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn vims_rename_dance_waits_for_the_new_file() {
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        // The original moved aside: the batch waits for the quiet, and so
        // sees the new file written 3 ms later (past SETTLE).
        let (paths, took) = collect(vec![
            (0, ev(from, &["/in/v.md"])),
            (0, ev(to, &["/in/v.md~"])),
            (0, ev(both, &["/in/v.md", "/in/v.md~"])),
            (3, ev(EventKind::Create(CreateKind::File), &["/in/v.md"])),
            (3, close("/in/v.md")),
            (
                3200,
                ev(EventKind::Remove(RemoveKind::File), &["/in/v.md~"]),
            ),
        ])
        .await;
        assert_eq!(paths, ["/in/v.md", "/in/v.md~"]);
        assert!(took >= Duration::from_millis(3), "{took:?}");
        assert!(
            took <= Duration::from_millis(5),
            "acted on once the new file was closed: {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_files_being_written_and_new_folders_wait_for_the_quiet() {
        // A second file within SETTLE: a burst, collected until quiet.
        let mut burst = vec![];
        for i in 0..50u64 {
            let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
            burst.push((i / 10, (to, vec![PathBuf::from(format!("/in/b{i}.md"))])));
        }
        let (paths, took) = collect(burst).await;
        assert_eq!(paths.len(), 50);
        assert!(took >= Duration::from_millis(4) + QUIET, "{took:?}");
        // Written but not closed yet.
        let (_, took) = collect(vec![(
            0,
            ev(
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                &["/in/w.md"],
            ),
        )])
        .await;
        assert!(took >= QUIET, "{took:?}");
        // A new folder.
        let (_, took) = collect(vec![
            (0, ev(EventKind::Create(CreateKind::Folder), &["/in/2018"])),
            (0, close("/in/2018/x.md")),
        ])
        .await;
        assert!(took >= QUIET, "{took:?}");
        // A steady stream still ends at `max`.
        let mut stream = vec![];
        for i in 0..1000u64 {
            stream.push((i / 2, close(&format!("/in/s{}.md", i % 3))));
        }
        let (_, took) = collect(stream).await;
        assert!(
            took >= MAX && took <= MAX + Duration::from_millis(2),
            "{took:?}"
        );
    }
}
