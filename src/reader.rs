//! Reads and parses event files in parallel, turning them into a change set for the
//! engine plus the diagnostics to show. Shared by `build`, `check` and `watch`.

use crate::cache::Stamp;
use crate::diag::Diagnostic;
use crate::index::Change;
use crate::model::Interner;
use crate::parse::{self, ParseOptions, Parsed};
use crate::source::Source;
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

type Outcome = Result<Option<(Parsed, Stamp)>, Diagnostic>;

/// Files parsed in parallel before their strings are shared: a bound on the
/// unshared copies alive at once.
const CHUNK: usize = 4096;

/// Reads `paths` (relative to the source root); a path that is gone becomes a
/// removal. `tick` is called once per file, for progress bars.
pub fn read(
    source: &Source,
    opts: &ParseOptions,
    paths: &[PathBuf],
    on_error: OnError,
    interner: &mut Interner,
    tick: &(dyn Fn() + Sync),
) -> Read {
    let mut out = Read::default();
    for chunk in paths.chunks(CHUNK) {
        read_chunk(source, opts, chunk, on_error, interner, tick, &mut out);
    }
    out
}

fn read_chunk(
    source: &Source,
    opts: &ParseOptions,
    paths: &[PathBuf],
    on_error: OnError,
    interner: &mut Interner,
    tick: &(dyn Fn() + Sync),
    out: &mut Read,
) {
    let results: Vec<(PathBuf, Outcome)> = paths
        .par_iter()
        .with_min_len(16)
        .map(|rel| {
            let outcome = match source.read(rel) {
                Ok(None) => Ok(None),
                Ok(Some((bytes, stamp))) => parse::parse(&bytes, opts).map(|p| Some((p, stamp))),
                Err(e) => Err(Diagnostic::error(
                    1,
                    1,
                    format!("cannot read file: {e}"),
                    "",
                )),
            };
            tick();
            (rel.clone(), outcome)
        })
        .collect();
    for (path, outcome) in results {
        match outcome {
            Ok(None) => out.changes.push(Change::Remove(path)),
            Ok(Some((parsed, stamp))) => {
                if !parsed.warnings.is_empty() {
                    out.warnings += parsed.warnings.len();
                    out.reports.push((path.clone(), parsed.warnings));
                }
                out.stamps.push((path.clone(), stamp));
                let event = interner.event(parsed.event);
                out.changes.push(Change::Upsert(path, Arc::new(event)));
            }
            Err(diag) => {
                out.failed += 1;
                if on_error == OnError::Remove {
                    out.changes.push(Change::Remove(path.clone()));
                }
                out.reports.push((path, vec![diag]));
            }
        }
    }
}
