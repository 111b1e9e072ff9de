//! The one-shot commands, `build` and `check`, and [`start`], the reconcile that
//! `build` and the daemon's start share: scan, read what changed since the store
//! last saw it, render what that touched, write, remember.

use crate::config::Settings;
use crate::console::say;
use crate::engine::Engine;
use crate::index::Change;
use crate::meeting::Meeting;
use crate::parse::ParseOptions;
use crate::plan::Plan;
use crate::publish::{self, Unwritten};
use crate::reader::{self, OnError};
use crate::report::{self, Shown};
use crate::sink::Sink;

use crate::source::{Scanned, Source};
use crate::stamps::{Digest, Stamp};
use crate::store::{self, Outputs, Recap, Store};
use crate::tombstones::{self, Tombstones};
use crate::watcher::FirstWatch;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rustc_hash::FxHashMap as HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a start did, for the summary line and the daemon's log.
pub struct Summary {
    pub files: usize,
    pub events: usize,
    pub read: usize,
    pub failed: usize,
    pub feeds: usize,
    pub written: usize,
    pub bytes: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// How to start.
pub struct Mode {
    pub progress: bool,
    /// Use what the store remembers of the last run (off for `build --fresh`).
    pub cache: bool,
    pub on_error: OnError,
    /// Report the feeds whose bytes changed (for a WebSub hub), unless every
    /// feed was rendered (a first start would name them all).
    pub changed_feeds: bool,
    /// Return a failed write as [`Started::unwritten`] (the daemon retries it)
    /// instead of as an error (`build` exits with it).
    pub retry_writes: bool,
    /// How diagnostics are shown.
    pub shown: Shown,
    /// The engine goes on to apply changes (the daemon): it keeps what a later
    /// change needs to find the items that link to it.
    pub follow: bool,
}

/// The engine after a start, and the stamps of the files it holds.
pub struct Started {
    pub engine: Engine,
    /// Where bodies and stamps are kept; `None` when the state directory cannot
    /// hold a store (then bodies stay in memory, and the next start reads all).
    pub store: Option<Arc<Store>>,
    /// The stamp of every file the index holds, only when there is no store:
    /// a store's records hold them (see [`Store::diff`]), and a second copy
    /// in memory would cost the daemon a path and a stamp per file.
    pub stamps: HashMap<PathBuf, Stamp>,
    pub summary: Summary,
    /// The feed files whose bytes changed, when [`Mode::changed_feeds`] asked.
    pub changed_feeds: Vec<String>,
    /// What could not be written, with [`Mode::retry_writes`].
    pub unwritten: Option<Unwritten>,
}

pub fn build(settings: &Settings, fresh: bool) -> Result<ExitCode, crate::Failure> {
    let started = Instant::now();
    let _lock = crate::lock::acquire(&settings.output)?;
    let clean = store::take_clean_mark(&settings.state_dir);
    let sink = Sink::open(&settings.output, !clean)?;
    if settings.publish.is_some() {
        sink.track_changes();
    }
    let mode = Mode {
        progress: true,
        cache: !fresh,
        on_error: OnError::Remove,
        changed_feeds: false,
        retry_writes: false,
        shown: Shown::Compiler,
        follow: false,
    };
    let started_up = start(settings, &sink, &mode, None);
    // What reached the output reaches the store with the next publish.
    crate::remote::journal::record(settings, sink.take_changes());
    let Started {
        summary: s,
        engine,
        store,
        ..
    } = started_up.map_err(|e| anyhow::anyhow!("{}", publish::advice(&e, &settings.output)))?;
    if let Some(store) = &store {
        engine.save_settled(store);
    }
    say!(
        "eventfeed: {} events from {} files ({} read, {} skipped) -> {} feeds: {} files written ({:.1} MB), {} unchanged, {} removed in {:.2} s",
        s.events,
        s.files,
        s.read,
        s.failed,
        s.feeds,
        s.written,
        s.bytes as f64 / 1e6,
        s.unchanged,
        s.removed,
        started.elapsed().as_secs_f64()
    );
    engine.finish();
    drop(store);
    store::leave_clean_mark(&settings.state_dir);
    Ok(ExitCode::SUCCESS)
}

/// Brings the output in line with the input: from the store when there is a
/// usable one (reading only changed files, rendering only touched feeds), else
/// from scratch (every file read, every feed rendered, stale files pruned).
///
/// The daemon's `watch` begins on the scan's side, before it (so that nothing
/// written during the scan is missed, while the index loads alongside), and
/// learns each folder from the scan.
pub fn start(
    settings: &Settings,
    sink: &Sink,
    mode: &Mode,
    watch: Option<&FirstWatch>,
) -> Result<Started> {
    let t = Instant::now();
    let source = Source::new(
        &settings.input,
        &settings.extensions,
        &settings.day_pages,
        settings.max_file_bytes,
    );
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let fingerprint = store::fingerprint(settings);
    let store = match Store::open(&settings.state_dir, fingerprint, !mode.cache) {
        Ok(opened) => Some(opened),
        Err(e) => {
            tracing::warn!(
                "no store in {} (every start reads every file, and the daemon keeps every event in memory): {e:#}",
                settings.state_dir.display()
            );
            None
        }
    };
    let (store, kept) = match store {
        Some((store, kept)) => (Some(Arc::new(store)), kept),
        None => (None, false),
    };
    // Tombstones are memory of what was published: `build --fresh` starts
    // without (and so drops them).
    let tombstones = match mode.cache {
        true => tombstones::file::load(&settings.state_dir),
        false => Tombstones::default(),
    };
    let engine = match &store {
        Some(store) => Engine::with_bodies(settings.site.clone(), store.clone()),
        None => Engine::new(settings.site.clone()),
    };
    let mut engine = engine.with_tombstones(tombstones, settings.tombstone_secs);
    let store_kept = store.as_ref().filter(|_| kept);
    // A build ends without the index when it finds the files the store has
    // records of, the output as it left it, and no tombstone due: it says
    // what the store's recap of that index says.
    let due = engine
        .next_expiry()
        .is_some_and(|at| at <= tombstones::file::now());
    let recap = store_kept
        .filter(|_| !mode.follow && !due)
        .and_then(|store| Some((store.recap().ok()??, store.inputs().ok()?)));
    // Scanning the input and rebuilding the index from the store are
    // independent: do both at once. The output is checked against its stamps
    // in the store on one lane or the other; the lanes meet once the scan
    // and the check are done, to tell whether anything changed (`decide`).
    let check = |store: &Arc<Store>| {
        let intact = store.outputs().map(|outputs| sink.adopt(outputs));
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "output checked");
        intact.unwrap_or_else(|e| {
            tracing::warn!("cannot read the output's stamps (rendering every feed): {e:#}");
            false
        })
    };
    // A build that may find nothing to do checks beside the scan, before
    // the load (which it then abandons); else the check waits for the scan.
    let check_first = recap.is_some();
    let inputs = recap.as_ref().map(|(_, inputs)| *inputs);
    let meeting = Meeting::default();
    let verdict = Mutex::new(None);
    let abandon = AtomicBool::new(false);
    let meet = |both: Option<(Found, Option<bool>)>| {
        if let Some((found, checked)) = both {
            let decided = decide(found, checked, inputs, &abandon);
            *verdict.lock().expect("not poisoned") = Some(decided);
        }
    };
    let ((), (mut engine, stamps)) = rayon::join(
        || {
            let scan = match watch {
                Some(watch) if !watch.begin() => Err(anyhow::anyhow!("cannot watch the input")),
                Some(watch) => source.scan_with(&|dir| watch.folder(dir)),
                None => source.scan(),
            };
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "scanned");
            let intact = (store_kept.filter(|_| !check_first && scan.is_ok())).map(check);
            meet(meeting.left(Found { scan, intact }));
        },
        || {
            meet(meeting.right(store_kept.filter(|_| check_first).map(check)));
            let stamps = store_kept.and_then(|store| {
                let loaded = engine.load_store(store, &abandon);
                tracing::debug!(ms = t.elapsed().as_millis() as u64, "index loaded");
                loaded.unwrap_or_else(|e| {
                    tracing::warn!("ignoring an unreadable store: {e:#}");
                    None
                })
            });
            // A build from scratch applies once and renders everything: it need
            // not know who links to whom (a sizeable share of its memory).
            if !mode.follow && stamps.is_none() {
                engine.apply_once();
            }
            (engine, stamps)
        },
    );
    let (Found { scan, intact }, done) = (verdict.into_inner())
        .expect("not poisoned")
        .expect("both lanes met");
    let (scanned, problems) = scan?;
    for p in problems {
        tracing::warn!("{p}");
    }
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        files = scanned.len(),
        store = stamps.is_some(),
        rss_mib = rss_mib(),
        "scanned and store loaded"
    );
    if let (true, Some((recap, _))) = (done, recap) {
        let files = scanned.len();
        return Ok(nothing_to_do(settings, engine, store, files, recap, mode));
    }
    let mut changes = Vec::new();
    let mut full = true;
    let to_read: Vec<PathBuf> = match stamps {
        Some(stamps) => {
            full = intact != Some(true);
            if full {
                tracing::info!(
                    "the output differs from what was last written; rendering every feed"
                );
            }
            // A cached file that fails to parse now keeps its cached stamp (the
            // store's record is not replaced), so that it is read again next time.
            let (gone, to_read) = stamps.diff(scanned.iter());
            changes.extend(gone.into_iter().map(Change::Remove));
            // The store forgets them too: else every later start would find
            // them gone again, and render their feeds again.
            if let Some(store) = &store {
                store.record(&mut changes, &[]);
            }
            to_read
        }
        None => scanned.paths().map(Path::to_owned).collect(),
    };
    // A million paths take 50 ms to free: not on the way to READY.
    let files = scanned.len();
    rayon::spawn(move || drop(scanned));
    let bar = progress_bar(
        mode.progress && to_read.len() > 1000,
        to_read.len() as u64,
        "reading",
    );
    let read = reader::read(
        &source,
        &opts,
        &to_read,
        mode.on_error,
        engine.interner(),
        store.as_deref(),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    crate::shutdown::check()?;
    report::files(settings, &read, mode.shown);
    // With a store, its records hold the stamps (see `Started::stamps`).
    let stamps: HashMap<PathBuf, Stamp> = match store {
        Some(_) => HashMap::default(),
        None => read.stamps.iter().cloned().collect(),
    };
    changes.extend(read.changes);
    let changed_input = !changes.is_empty();
    let now = tombstones::file::now();
    let plan = match full {
        true if engine.index().path_count() == 0 => engine.fill_at(changes, now),
        true => {
            engine.apply_at(changes, now);
            engine.everything()
        }
        false => engine.apply_at(changes, now),
    };
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        read = to_read.len(),
        rss_mib = rss_mib(),
        "indexed"
    );
    if let (true, Some(store)) = (full, &store) {
        if let Err(e) = store.sync() {
            tracing::warn!("cannot sync the store: {e:#}");
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "store synced");
    }
    report::duplicates(settings, engine.index().duplicates().collect(), mode.shown);
    let bar = progress_bar(
        mode.progress && plan.feeds.len() > 300,
        plan.feeds.len() as u64 * 3 + 2,
        "writing",
    );
    let mut changed_feeds = Vec::new();
    let written = publish::write(
        &engine,
        sink,
        &plan,
        full,
        &|| bar.inc(1),
        &mut changed_feeds,
    );
    bar.finish_and_clear();
    // A full render names every feed: not news for a hub (see `Mode::changed_feeds`).
    if !mode.changed_feeds || full {
        changed_feeds.clear();
    }
    let unwritten = match written {
        Ok(()) => {
            sink.sync()?;
            None
        }
        Err(error) if mode.retry_writes => Some(Unwritten {
            plan: Plan::default(),
            full,
            error,
        }),
        Err(e) => return Err(e),
    };
    let (kept, rendered) = engine.fragments().take_counts();
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        feeds = plan.feeds.len(),
        items_rendered = rendered,
        items_kept = kept,
        rss_mib = rss_mib(),
        "rendered and written"
    );
    let (written, unchanged, removed, bytes) = sink.counts.take();
    if engine.take_tombstones_changed() || !mode.cache {
        save_tombstones(settings, &engine);
    }
    // With writes left to do, the output's stamps are left out: the next start
    // then renders every feed, and so redoes what this one could not write.
    if changed_input || full || written + removed > 0 || unwritten.is_some() {
        let outputs = match (&unwritten, full) {
            (Some(_), _) => Outputs::Unknown,
            // A full render may leave stamps of files it never saw.
            (None, true) => Outputs::Whole(sink.take_whole()),
            (None, false) => Outputs::Delta(sink.take_changed()),
        };
        save_state(store.as_deref(), outputs);
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "state saved"
        );
    }
    let feeds = plan.feeds.len();
    let unwritten = unwritten.map(|u| Unwritten { plan, ..u });
    let summary = Summary {
        files,
        events: engine.index().event_count(),
        read: to_read.len(),
        failed: read.failed,
        feeds,
        written,
        bytes,
        unchanged,
        removed,
    };
    Ok(Started {
        engine,
        store,
        stamps,
        summary,
        changed_feeds,
        unwritten,
    })
}

/// What the scan's lane brings to the meeting of a start's lanes: the input
/// files, and whether the output is as the store says it left it (when it
/// checked that, see `start`).
struct Found {
    scan: Result<(Scanned, Vec<String>)>,
    intact: Option<bool>,
}

/// Takes in the other lane's check, and tells whether nothing changed: the
/// scan found the files the store has records of (their digest is
/// `inputs`) and the output intact. If so, the index's load is abandoned.
fn decide(
    found: Found,
    checked: Option<bool>,
    inputs: Option<Digest>,
    abandon: &AtomicBool,
) -> (Found, bool) {
    let intact = found.intact.or(checked);
    let same_files = |inputs| (found.scan.as_ref()).is_ok_and(|(s, _)| s.digest() == inputs);
    let done = intact == Some(true) && inputs.is_some_and(same_files);
    if done {
        abandon.store(true, Ordering::Relaxed);
    }
    let scan = found.scan;
    (Found { scan, intact }, done)
}

/// The end of a run that found nothing to do: the index is let go, and what
/// the run says of it comes from its recap.
fn nothing_to_do(
    settings: &Settings,
    mut engine: Engine,
    store: Option<Arc<Store>>,
    files: usize,
    recap: Recap,
    mode: &Mode,
) -> Started {
    engine.abandon();
    tracing::debug!("nothing changed: the index is not loaded");
    let duplicates = (recap.duplicates.into_iter())
        .map(|(key, paths)| {
            let paths = paths.into_iter().map(|p| OsString::from_vec(p).into());
            (key, paths.collect())
        })
        .collect();
    report::duplicates(settings, duplicates, mode.shown);
    Started {
        engine,
        store,
        stamps: HashMap::default(),
        summary: Summary {
            files,
            events: recap.events as usize,
            read: 0,
            failed: 0,
            feeds: 0,
            written: 0,
            bytes: 0,
            unchanged: 0,
            removed: 0,
        },
        changed_feeds: Vec::new(),
        unwritten: None,
    }
}

/// Resident memory in MiB, for the debug log.
fn rss_mib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096 / (1 << 20)
}

/// Saves the output's stamps and makes the store durable; a failure costs only
/// speed (the next start renders every feed), so it is logged.
pub fn save_state(store: Option<&Store>, outputs: Outputs) {
    let Some(store) = store else { return };
    if let Err(e) = store.save_outputs(outputs) {
        tracing::warn!("cannot save the state (the next start renders every feed): {e:#}");
    }
}

/// Saves the tombstone records; a failure loses them (logged), never the feeds.
pub fn save_tombstones(settings: &Settings, engine: &Engine) {
    if let Err(e) = tombstones::file::save(&settings.state_dir, engine.tombstones()) {
        tracing::warn!("cannot save the tombstones (removed items may lose theirs): {e:#}");
    }
}

pub fn check(settings: &Settings) -> Result<ExitCode, crate::Failure> {
    let source = Source::new(
        &settings.input,
        &settings.extensions,
        &settings.day_pages,
        settings.max_file_bytes,
    );
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let (scanned, problems) = source.scan()?;
    for p in &problems {
        say!("{p}");
    }
    let paths: Vec<PathBuf> = scanned.paths().map(Path::to_owned).collect();
    let mut engine = Engine::new(settings.site.clone());
    let read = reader::read(
        &source,
        &opts,
        &paths,
        OnError::Remove,
        engine.interner(),
        None,
        &|| {},
    );
    report::files(settings, &read, Shown::Compiler);
    engine.load(read.changes);
    let duplicates = report::duplicates(
        settings,
        engine.index().duplicates().collect(),
        Shown::Compiler,
    );
    say!(
        "eventfeed: checked {} files: {} invalid, {} warnings, {} duplicates",
        paths.len(),
        read.failed,
        read.warnings,
        duplicates
    );
    Ok(if read.failed > 0 {
        ExitCode::from(crate::cli::status::INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn progress_bar(visible: bool, len: u64, what: &'static str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(what);
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
