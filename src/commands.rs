//! The one-shot commands, `build` and `check`: scan, read, then either render
//! everything or print diagnostics.

use crate::config::Settings;
use crate::engine::Engine;
use crate::parse::ParseOptions;
use crate::reader::{self, Read};
use crate::sink::Sink;
use crate::source::Source;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// What a full build did, for the summary line and the daemon's log.
pub struct Summary {
    pub files: usize,
    pub events: usize,
    pub failed: usize,
    pub feeds: usize,
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

pub fn build(settings: &Settings) -> Result<ExitCode, crate::Failure> {
    let started = Instant::now();
    let _lock = crate::lock::acquire(&settings.output)?;
    let sink = Sink::open(&settings.output)?;
    let mut engine = Engine::new(settings.site.clone());
    let summary = full_build(settings, &mut engine, &sink, true)?;
    eprintln!(
        "eventfeed: {} events from {} files ({} skipped) -> {} feeds: {} files written, {} unchanged, {} removed in {:.2} s",
        summary.events,
        summary.files,
        summary.failed,
        summary.feeds,
        summary.written,
        summary.unchanged,
        summary.removed,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads the whole tree into `engine` and writes every feed: `build`, and the
/// daemon's start and reconcile.
pub fn full_build(
    settings: &Settings,
    engine: &mut Engine,
    sink: &Sink,
    progress: bool,
) -> Result<Summary> {
    let source = Source::new(&settings.input, &settings.extensions);
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let (paths, problems) = source.scan()?;
    for p in problems {
        tracing::warn!("{p}");
    }
    let started = std::time::Instant::now();
    let bar = progress_bar(progress, paths.len() as u64, "reading");
    let read = reader::read(&source, &opts, &paths, &|| bar.inc(1));
    bar.finish_and_clear();
    print_reports(settings, &read);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        files = paths.len(),
        "read and parsed"
    );
    *engine = Engine::new(settings.site.clone());
    engine.apply(read.changes);
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "indexed");
    report_duplicates(settings, engine);
    let plan = engine.everything();
    let bar = progress_bar(progress, plan.feeds.len() as u64 * 3 + 2, "writing");
    let keep = Mutex::new(HashSet::new());
    engine.render(
        &plan,
        crate::engine::FnEmit(|path: &str, bytes: &[u8]| {
            sink.write(path, bytes)?;
            keep.lock().expect("not poisoned").insert(path.to_owned());
            bar.inc(1);
            anyhow::Ok(())
        }),
    )?;
    bar.finish_and_clear();
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "rendered and written"
    );
    sink.prune(&keep.into_inner().expect("not poisoned"))?;
    sink.sync()?;
    let (written, unchanged, removed) = sink.counts.take();
    Ok(Summary {
        files: paths.len(),
        events: engine.index().event_count(),
        failed: read.failed,
        feeds: plan.feeds.len(),
        written,
        unchanged,
        removed,
    })
}

pub fn check(settings: &Settings) -> Result<ExitCode, crate::Failure> {
    let source = Source::new(&settings.input, &settings.extensions);
    let opts = ParseOptions::new(settings.max_file_bytes, settings.site.links.clone());
    let (paths, problems) = source.scan()?;
    for p in &problems {
        eprintln!("{p}");
    }
    let read = reader::read(&source, &opts, &paths, &|| {});
    print_reports(settings, &read);
    let mut engine = Engine::new(settings.site.clone());
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

fn report_duplicates(settings: &Settings, engine: &Engine) -> usize {
    let mut dups: Vec<_> = engine.index().duplicates().collect();
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
    dups.len()
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
