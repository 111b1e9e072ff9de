//! Showing diagnostics about input files. The one-shot commands print them like
//! a compiler (`path:line:col: error: reason`, then the line and a caret); the
//! daemon logs each as one line at its level (error or warning), so that a log
//! that is no terminal (journald, a file) can filter and alert on them.

use crate::config::Settings;
use crate::console::say;
use crate::diag::{Diagnostic, Severity};
use crate::reader::Read;
use std::path::PathBuf;

/// Where diagnostics go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Compiler-style, to stderr (`build`, `check`).
    Compiler,
    /// One line each in the log, at its level (the daemon).
    Log,
}

/// Shows every diagnostic of a read, in path order.
pub fn files(settings: &Settings, read: &Read, shown: Shown) {
    for (path, diags) in &read.reports {
        let path = settings.input.join(path);
        let path = path.to_string_lossy();
        for d in diags {
            show(d, &path, shown);
        }
    }
}

fn show(d: &Diagnostic, path: &str, shown: Shown) {
    match shown {
        Shown::Compiler => say!("{}", d.display(path)),
        Shown::Log => log(d.severity, &d.one_line(path)),
    }
}

fn log(severity: Severity, line: &str) {
    match severity {
        Severity::Error => tracing::error!("{line}"),
        Severity::Warning => tracing::warn!("{line}"),
    }
}

/// Shows the files that hold the same event as another (the first by path
/// wins), group by group (as `Index::duplicates` gives them); returns how many
/// groups there are.
pub fn duplicates<K: Ord + std::fmt::Display>(
    settings: &Settings,
    mut dups: Vec<(K, Vec<PathBuf>)>,
    shown: Shown,
) -> usize {
    dups.sort();
    for (key, paths) in &dups {
        let mut paths = paths.iter();
        let winner = settings.input.join(paths.next().expect("two or more"));
        for p in paths {
            let line = format!(
                "{}: warning: same event as {} ({key}), ignored",
                settings.input.join(p).display(),
                winner.display()
            );
            match shown {
                Shown::Compiler => say!("{line}"),
                Shown::Log => log(Severity::Warning, &line),
            }
        }
    }
    dups.len()
}
