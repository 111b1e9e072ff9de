//! Reads and parses event files in parallel, turning them into a change set for the
//! engine plus the diagnostics to show. Shared by `build`, `check` and `watch`.

use crate::diag::{Diagnostic, Severity};
use crate::index::Change;
use crate::parse::{self, ParseOptions};
use crate::source::Source;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// What reading a set of paths gave.
#[derive(Default)]
pub struct Read {
    pub changes: Vec<Change>,
    /// Per file with something to say: its diagnostics.
    pub reports: Vec<(PathBuf, Vec<Diagnostic>)>,
    /// Files that failed to parse (their previous version, if any, stays).
    pub failed: usize,
    pub warnings: usize,
}

/// Reads `paths` (relative to the source root); a path that is gone becomes a
/// removal. `tick` is called once per file, for progress bars.
pub fn read(
    source: &Source,
    opts: &ParseOptions,
    paths: &[PathBuf],
    tick: &(dyn Fn() + Sync),
) -> Read {
    let results: Vec<(PathBuf, Result<Option<parse::Parsed>, Diagnostic>)> = paths
        .par_iter()
        .with_min_len(16)
        .map(|rel| {
            let result = match source.read(rel) {
                Ok(None) => Ok(None),
                Ok(Some(bytes)) => parse::parse(&bytes, opts).map(Some),
                Err(e) => Err(Diagnostic::error(
                    1,
                    1,
                    format!("cannot read file: {e}"),
                    "",
                )),
            };
            tick();
            (rel.clone(), result)
        })
        .collect();
    let mut out = Read::default();
    for (path, result) in results {
        match result {
            Ok(None) => out.changes.push(Change::Remove(path)),
            Ok(Some(parsed)) => {
                if !parsed.warnings.is_empty() {
                    out.warnings += parsed.warnings.len();
                    out.reports.push((path.clone(), parsed.warnings));
                }
                out.changes
                    .push(Change::Upsert(path, Arc::new(parsed.event)));
            }
            Err(diag) => {
                debug_assert_eq!(diag.severity, Severity::Error);
                out.failed += 1;
                out.reports.push((path, vec![diag]));
            }
        }
    }
    out
}
