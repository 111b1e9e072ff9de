//! The one-shot commands, `build` and `check`, and [`start`], the reconcile that
//! `build` and the daemon's start share: scan, read what changed since the cache,
//! render what that touched, write, remember.

use crate::cache::{self, Cache, CachedDoc, CachedFile, Stamp};
use crate::config::Settings;
use crate::engine::{Engine, FnEmit};
use crate::index::Change;
use crate::parse::ParseOptions;
use crate::reader::{self, OnError, Read};
use crate::sink::Sink;
use crate::source::Source;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
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
    /// Use the cache of the last run (off for `build --fresh`).
    pub cache: bool,
    pub on_error: OnError,
    /// Report the feeds whose bytes changed (for a WebSub hub), unless every
    /// feed was rendered (a first start would name them all).
    pub changed_feeds: bool,
}

/// The engine after a start, and the stamps of the files it holds.
pub struct Started {
    pub engine: Engine,
    pub stamps: HashMap<PathBuf, Stamp>,
    pub summary: Summary,
    /// The feed files whose bytes changed, when [`Mode::changed_feeds`] asked.
    pub changed_feeds: Vec<String>,
}

pub fn build(settings: &Settings, fresh: bool) -> Result<ExitCode, crate::Failure> {
    let started = Instant::now();
    let _lock = crate::lock::acquire(&settings.output)?;
    let sink = Sink::open(&settings.output)?;
    let mode = Mode {
        progress: true,
        cache: !fresh,
        on_error: OnError::Remove,
        changed_feeds: false,
    };
    let Started {
        summary: s, engine, ..
    } = start(settings, &sink, &mode)?;
    eprintln!(
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
    // Freeing a large index one allocation at a time only delays the exit.
    std::mem::forget(engine);
    Ok(ExitCode::SUCCESS)
}

/// Brings the output in line with the input: from the cache when there is a
/// usable one (reading only changed files, rendering only touched feeds), else
/// from scratch (every file read, every feed rendered, stale files pruned).
pub fn start(settings: &Settings, sink: &Sink, mode: &Mode) -> Result<Started> {
    let t = Instant::now();
    let source = Source::new(&settings.input, &settings.extensions, &settings.day_pages);
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let fingerprint = cache::fingerprint(settings);
    // Scanning the input and rebuilding the index from the cache are
    // independent: do both at once.
    let (scan, (mut engine, cached)) = rayon::join(
        || source.scan(),
        || {
            let mut engine = Engine::new(settings.site.clone());
            let cache = mode
                .cache
                .then(|| Cache::load(&settings.state_dir, fingerprint, engine.interner()))
                .flatten();
            // First the state the output was written from; the differences later.
            let cached = cache.map(|cache| {
                let mut known: HashMap<PathBuf, Stamp> =
                    HashMap::with_capacity_and_hasher(cache.files.len(), Default::default());
                let baseline: Vec<Change> = cache
                    .files
                    .into_iter()
                    .map(|f| {
                        known.insert(f.path(), f.stamp);
                        f.into_change()
                    })
                    .collect();
                // Checking the output against its stamps is independent too.
                let outputs = cache.outputs;
                let (intact, _) = rayon::join(|| sink.adopt(outputs), || engine.apply(baseline));
                (known, intact)
            });
            (engine, cached)
        },
    );
    let (scanned, problems) = scan?;
    for p in problems {
        tracing::warn!("{p}");
    }
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        files = scanned.len(),
        cache = cached.is_some(),
        rss_mib = rss_mib(),
        "scanned and cache loaded"
    );
    let mut stamps = HashMap::with_capacity_and_hasher(scanned.len(), Default::default());
    let mut changes = Vec::new();
    let mut full = true;
    let to_read: Vec<PathBuf> = match cached {
        Some((known, intact)) => {
            full = !intact;
            if full {
                tracing::info!(
                    "the output differs from what was last written; rendering every feed"
                );
            }
            let present: HashSet<&PathBuf> = scanned.iter().map(|(p, _)| p).collect();
            changes.extend(
                known
                    .keys()
                    .filter(|p| !present.contains(p))
                    .map(|p| Change::Remove(p.clone())),
            );
            let mut to_read = Vec::new();
            for (path, stamp) in &scanned {
                match known.get(path) {
                    Some(s) if s == stamp => {
                        stamps.insert(path.clone(), *stamp);
                    }
                    // A cached file that fails to parse now keeps its cached stamp,
                    // so that it is read again next time.
                    Some(s) => {
                        stamps.insert(path.clone(), *s);
                        to_read.push(path.clone());
                    }
                    None => to_read.push(path.clone()),
                }
            }
            to_read
        }
        None => scanned.iter().map(|(p, _)| p.clone()).collect(),
    };
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
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    print_reports(settings, &read);
    stamps.extend(read.stamps.iter().cloned());
    changes.extend(read.changes);
    let changed_input = !changes.is_empty();
    let plan = {
        let plan = engine.apply(changes);
        if full {
            engine.everything()
        } else {
            plan
        }
    };
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        read = to_read.len(),
        rss_mib = rss_mib(),
        "indexed"
    );
    report_duplicates(settings, &engine);
    let bar = progress_bar(
        mode.progress && plan.feeds.len() > 300,
        plan.feeds.len() as u64 * 3 + 2,
        "writing",
    );
    let keep = Mutex::new(HashSet::default());
    let changed_feeds = Mutex::new(Vec::new());
    let report_changed = mode.changed_feeds && !full;
    engine.render(
        &plan,
        FnEmit(|path: &str, bytes: &[u8]| {
            if sink.write(path, bytes)? && report_changed && crate::websub::is_feed(path) {
                changed_feeds
                    .lock()
                    .expect("not poisoned")
                    .push(path.to_owned());
            }
            if full {
                keep.lock().expect("not poisoned").insert(path.to_owned());
            }
            bar.inc(1);
            anyhow::Ok(())
        }),
    )?;
    bar.finish_and_clear();
    for dir in &plan.removed {
        sink.remove_dir(dir)?;
    }
    for file in &plan.removed_files {
        sink.remove_file(file)?;
    }
    if full {
        sink.prune(&keep.into_inner().expect("not poisoned"))?;
    }
    sink.sync()?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        feeds = plan.feeds.len(),
        rss_mib = rss_mib(),
        "rendered and written"
    );
    let (written, unchanged, removed, bytes) = sink.counts.take();
    if changed_input || full || written + removed > 0 {
        save_cache(settings, &engine, &stamps, sink);
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "cache saved"
        );
    }
    let summary = Summary {
        files: scanned.len(),
        events: engine.index().event_count(),
        read: to_read.len(),
        failed: read.failed,
        feeds: plan.feeds.len(),
        written,
        bytes,
        unchanged,
        removed,
    };
    Ok(Started {
        engine,
        stamps,
        summary,
        changed_feeds: changed_feeds.into_inner().expect("not poisoned"),
    })
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

/// Saves what the next start needs; a failure costs only speed, so it is logged.
pub fn save_cache(
    settings: &Settings,
    engine: &Engine,
    stamps: &HashMap<PathBuf, Stamp>,
    sink: &Sink,
) {
    let index = engine.index();
    let events = index
        .files()
        .map(|(path, e)| (path, CachedDoc::Event(e.clone())));
    let pages = index
        .pages()
        .map(|(path, p)| (path, CachedDoc::Page(p.clone())));
    let mut files: Vec<CachedFile> = events
        .chain(pages)
        .filter_map(|(path, doc)| stamps.get(path).map(|s| CachedFile::new(path, *s, doc)))
        .collect();
    files.sort_unstable_by(|a, b| a.raw_path().cmp(b.raw_path()));
    let cache = Cache::new(cache::fingerprint(settings), files, sink.manifest());
    if let Err(e) = cache.save(&settings.state_dir) {
        tracing::warn!("cannot save the cache (the next start will read every file): {e:#}");
    }
}

pub fn check(settings: &Settings) -> Result<ExitCode, crate::Failure> {
    let source = Source::new(&settings.input, &settings.extensions, &settings.day_pages);
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let (scanned, problems) = source.scan()?;
    for p in &problems {
        eprintln!("{p}");
    }
    let paths: Vec<PathBuf> = scanned.into_iter().map(|(p, _)| p).collect();
    let mut engine = Engine::new(settings.site.clone());
    let read = reader::read(
        &source,
        &opts,
        &paths,
        OnError::Remove,
        engine.interner(),
        &|| {},
    );
    print_reports(settings, &read);
    engine.apply(read.changes);
    let duplicates = report_duplicates(settings, &engine);
    eprintln!(
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

/// Prints every diagnostic, compiler-style, in path order.
pub fn print_reports(settings: &Settings, read: &Read) {
    for (path, diags) in &read.reports {
        let shown = settings.input.join(path);
        for d in diags {
            eprintln!("{}", d.display(&shown.to_string_lossy()));
        }
    }
}

/// Reports files that describe one event (same day and slug) and versions that
/// two files both claim to be current; says how many of each there were.
fn report_duplicates(settings: &Settings, engine: &Engine) -> usize {
    let index = engine.index();
    let mut dups: Vec<_> = index.duplicates().collect();
    dups.sort();
    for (key, paths) in &dups {
        let mut paths = paths.iter();
        let winner = settings.input.join(paths.next().expect("two or more"));
        for p in paths {
            eprintln!(
                "{}: warning: same event as {} ({key}), ignored",
                settings.input.join(p).display(),
                winner.display()
            );
        }
    }
    let conflicts = index.version_conflicts();
    for (current, other) in &conflicts {
        let shown = |key: &crate::model::EventKey| {
            index.source_of(key).map_or_else(
                || key.to_string(),
                |p| settings.input.join(p).display().to_string(),
            )
        };
        eprintln!(
            "{}: warning: lists {} as an earlier version, but that file outranks it (it lists more versions, or a later last one); {} is the current version",
            shown(other),
            shown(current),
            shown(current),
        );
    }
    dups.len() + conflicts.len()
}

fn progress_bar(visible: bool, len: u64, what: &'static str) -> ProgressBar {
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
