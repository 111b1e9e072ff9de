//! Reads and parses event files in parallel, turning them into a change set for the
//! engine plus the diagnostics to show. Shared by `build`, `check` and `watch`.

use crate::diag::Diagnostic;
use crate::index::Change;
use crate::model::{DayPage, Event, Interner};
use crate::parse::{self, ParseOptions};
use crate::source::{Kind, Reads, Source};
use crate::stamps::Stamp;
use crate::store::Store;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// What becomes of a file that fails to parse.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Drop it, as a fresh build does.
    Remove,
    /// Keep its last good version, as the daemon does: an editor mid-save or a
    /// truncated copy must not make an event flicker out of the feeds.
    KeepLastGood,
}

/// What reading a set of paths gave.
#[derive(Default)]
pub struct Read {
    pub changes: Vec<Change>,
    /// The stamp of each file read and parsed.
    pub stamps: Vec<(PathBuf, Stamp)>,
    /// Per file with something to say: its diagnostics.
    pub reports: Vec<(PathBuf, Vec<Diagnostic>)>,
    /// Files that failed to parse.
    pub failed: usize,
    pub warnings: usize,
}

/// What a file turned out to hold.
enum Doc {
    Event(Event),
    Page(DayPage),
}

type Outcome = Result<Option<(Doc, Vec<Diagnostic>, Stamp)>, Diagnostic>;

/// Files parsed in parallel before their strings are shared: a bound on the
/// unshared copies alive at once.
const CHUNK: usize = 4096;

/// Reads `paths` (relative to the source root); a path that is gone (or is no
/// longer an input file) becomes a removal. `tick` is called once per file, for
/// progress bars. A stop request ends the reading after the chunk in flight: the
/// caller must then commit nothing (see the `shutdown` module). With a `store`,
/// the events' bodies go there chunk by chunk, so that reading a whole archive
/// never holds them all.
pub fn read(
    source: &Source,
    opts: &ParseOptions,
    paths: &[PathBuf],
    on_error: OnError,
    interner: &mut Interner,
    store: Option<&Store>,
    tick: &(dyn Fn() + Sync),
) -> Read {
    let reads = source.reads();
    let parse = |chunk: &[PathBuf]| -> Vec<(PathBuf, Outcome)> {
        chunk
            .par_iter()
            .with_min_len(16)
            .map(|rel| {
                let outcome = read_one(source, &reads, opts, rel);
                crate::systemd::keepalive();
                tick();
                (rel.clone(), outcome)
            })
            .collect()
    };
    let mut out = Read::default();
    let chunks = paths
        .chunks(CHUNK)
        .take_while(|_| !crate::shutdown::requested());
    if paths.len() <= CHUNK {
        for chunk in chunks {
            out.share(parse(chunk), on_error, interner);
        }
        if let Some(store) = store {
            store.record(&mut out.changes, &out.stamps);
        }
        return out;
    }
    // A pipeline: the pool parses a chunk while this thread shares the last
    // one's strings and (with a store) another thread stores the one before.
    // The channels are rendezvous or nearly, so that at most four chunks are
    // alive.
    std::thread::scope(|scope| {
        let (parsed, received) = std::sync::mpsc::sync_channel(0);
        scope.spawn(move || {
            for chunk in chunks {
                if parsed.send(parse(chunk)).is_err() {
                    break;
                }
            }
        });
        let Some(store) = store else {
            for results in received {
                out.share(results, on_error, interner);
            }
            return;
        };
        let (shared, to_store) = std::sync::mpsc::sync_channel::<Shared>(1);
        let storing = scope.spawn(move || {
            let (mut changes, mut stamps) = (Vec::new(), Vec::new());
            for (mut chunk, chunk_stamps) in to_store {
                store.record(&mut chunk, &chunk_stamps);
                changes.append(&mut chunk);
                stamps.extend(chunk_stamps);
            }
            (changes, stamps)
        });
        for results in received {
            out.share(results, on_error, interner);
            let chunk = (
                std::mem::take(&mut out.changes),
                std::mem::take(&mut out.stamps),
            );
            if shared.send(chunk).is_err() {
                break;
            }
        }
        drop(shared);
        (out.changes, out.stamps) = storing.join().expect("storing does not panic");
    });
    out
}

/// A chunk's changes and stamps, its strings shared, on their way to the store.
type Shared = (Vec<Change>, Vec<(PathBuf, Stamp)>);

fn read_one(source: &Source, reads: &Reads, opts: &ParseOptions, rel: &std::path::Path) -> Outcome {
    let Some(kind) = source.kind(rel) else {
        return Ok(None);
    };
    match reads.read(rel) {
        Ok(None) => Ok(None),
        // The source reads one byte past the limit, so the size to name is the
        // file's own (the bytes read may be a prefix).
        Ok(Some((bytes, stamp))) if bytes.len() as u64 > opts.max_bytes => Err(Diagnostic::error(
            1,
            1,
            format!(
                "file is {} bytes, over the limit of {} (config `max_file_bytes`)",
                stamp.len.max(bytes.len() as u64),
                opts.max_bytes
            ),
            "",
        )),
        Ok(Some((bytes, _))) if !crate::text::is_text(&bytes) => Err(Diagnostic::error(
            1,
            1,
            "not a text file: event files are UTF-8 markdown (is this an image, a PDF, or UTF-16 text?)",
            "",
        )),
        Ok(Some((bytes, stamp))) => match kind {
            Kind::Event => parse::parse(&rel.to_string_lossy(), &bytes, opts)
                .map(|p| Some((Doc::Event(p.event), p.warnings, stamp))),
            Kind::DayPage => {
                parse::day_page(&bytes, opts).map(|p| Some((Doc::Page(p.page), p.warnings, stamp)))
            }
        },
        Err(e) => Err(Diagnostic::error(
            1,
            1,
            format!("cannot read file: {e}"),
            "",
        )),
    }
}

impl Read {
    /// Takes a parsed chunk, its strings shared through `interner`.
    fn share(
        &mut self,
        results: Vec<(PathBuf, Outcome)>,
        on_error: OnError,
        interner: &mut Interner,
    ) {
        for (path, outcome) in results {
            self.record(path, outcome, on_error, interner);
        }
    }

    fn record(
        &mut self,
        path: PathBuf,
        outcome: Outcome,
        on_error: OnError,
        interner: &mut Interner,
    ) {
        match outcome {
            Ok(None) => self.changes.push(Change::Remove(path)),
            Ok(Some((doc, warnings, stamp))) => {
                if !warnings.is_empty() {
                    self.warnings += warnings.len();
                    self.reports.push((path.clone(), warnings));
                }
                self.stamps.push((path.clone(), stamp));
                self.changes.push(match doc {
                    Doc::Event(event) => Change::Upsert(path, Arc::new(interner.event(event))),
                    Doc::Page(page) => Change::Page(path, Arc::new(interner.page(page))),
                });
            }
            Err(diag) => {
                self.failed += 1;
                if on_error == OnError::Remove {
                    self.changes.push(Change::Remove(path.clone()));
                }
                self.reports.push((path, vec![diag]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More files than a chunk, so that parsing and storing overlap: every
    /// file arrives once, in the order asked, and reaches the store.
    #[test]
    fn reads_many_chunks_in_order_into_the_store() {
        let root = tempfile::tempdir().unwrap();
        let n = CHUNK + CHUNK / 2 + 3;
        let mut paths = Vec::new();
        for i in 0..n {
            let day = 1 + i % 28;
            let rel = PathBuf::from(format!("news/2020/01/{day}/event-{i:05}.md"));
            let text =
                format!("### [2020-01-{day}](/news/2020/01/{day}/index.md)\n\n# Event {i} \n");
            std::fs::create_dir_all(root.path().join(rel.parent().unwrap())).unwrap();
            std::fs::write(root.path().join(&rel), text).unwrap();
            paths.push(rel);
        }
        paths.push("news/2020/01/1/gone.md".into());
        let source = Source::new(root.path(), &["md".into()], &["index.md".into()], 1 << 20);
        let opts = ParseOptions::new(1 << 20, crate::links::example());
        let state = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(state.path(), 1, true).unwrap();
        let ticks = std::sync::atomic::AtomicUsize::new(0);
        let tick = || {
            ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let mut interner = Interner::default();
        let read = read(
            &source,
            &opts,
            &paths,
            OnError::Remove,
            &mut interner,
            Some(&store),
            &tick,
        );
        assert_eq!((read.failed, read.stamps.len()), (0, n));
        assert_eq!(ticks.into_inner(), n + 1);
        let got: Vec<&PathBuf> = (read.changes.iter())
            .map(|c| match c {
                Change::Upsert(p, _) | Change::Page(p, _) | Change::Remove(p) => p,
            })
            .collect();
        assert_eq!(got, paths.iter().collect::<Vec<_>>());
        assert!(matches!(read.changes.last(), Some(Change::Remove(_))));
        assert_eq!(store.file_count().unwrap(), n as u64);
        // Stored, the bodies left memory; without a store, they stay.
        let kept = |read: &Read| {
            (read.changes.iter())
                .filter(|c| matches!(c, Change::Upsert(_, e) if e.body.encoded().is_some()))
                .count()
        };
        assert_eq!(kept(&read), 0);
        let unstored = super::read(
            &source,
            &opts,
            &paths,
            OnError::Remove,
            &mut interner,
            None,
            &|| {},
        );
        assert_eq!((unstored.failed, unstored.stamps.len()), (0, n));
        assert_eq!(unstored.changes.len(), paths.len());
        assert_eq!(kept(&unstored), n);
    }
}
