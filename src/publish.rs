//! Putting a plan on disk, and what a person must do when that fails. Shared by
//! `build` and the daemon. A failed write leaves every feed as it was (see
//! [`crate::sink`]), so a plan that failed can simply be written again later,
//! merged with whatever came since: the daemon keeps it and retries it.

use crate::engine::{Engine, FnEmit};
use crate::plan::Plan;
use crate::sink::{OutputError, Sink};
use crate::users::{process_uid, user_name};
use anyhow::Result;
use rustc_hash::FxHashSet as HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

/// A plan whose writing failed, to write again.
pub struct Unwritten {
    pub plan: Plan,
    /// Whether it was a full render, which also prunes what it did not write.
    pub full: bool,
    pub error: anyhow::Error,
}

/// Renders `plan` and writes its files, then removes the feeds it removes, then,
/// for a full plan, every other file under the owned folders. `tick` is called
/// once per file written. The feed files whose bytes changed (what a WebSub hub
/// is told of) go to `changed`, sorted, also when a later write fails.
pub fn write(
    engine: &Engine,
    sink: &Sink,
    plan: &Plan,
    full: bool,
    tick: &(dyn Fn() + Sync),
    changed: &mut Vec<String>,
) -> Result<()> {
    let written = Mutex::new(HashSet::default());
    let changed_now = Mutex::new(Vec::new());
    let rendered = engine.render(
        plan,
        FnEmit(|path: &str, bytes: &[u8]| {
            if sink.write(path, bytes)? && crate::websub::is_feed(path) {
                changed_now
                    .lock()
                    .expect("not poisoned")
                    .push(path.to_owned());
            }
            written
                .lock()
                .expect("not poisoned")
                .insert(path.to_owned());
            tick();
            anyhow::Ok(())
        }),
    );
    changed.extend(changed_now.into_inner().expect("not poisoned"));
    changed.sort();
    rendered?;
    let written = written.into_inner().expect("not poisoned");
    for dir in &plan.removed {
        // In a merged plan, a feed removed by an older change may be back.
        let back = crate::render::FORMATS
            .iter()
            .any(|f| written.contains(&format!("{dir}/{f}")));
        if !back {
            sink.remove_dir(dir)?;
        }
    }
    for file in &plan.removed_files {
        sink.remove_file(file)?;
    }
    if full {
        sink.prune(&written)?;
    }
    Ok(())
}

/// Adds `other`'s work to `into`: rendering the union from the current index
/// writes what both would have (a feed that is gone renders to nothing). Listing
/// pages do not work that way (a page renders whether or not it still belongs),
/// so when either plan removes one, says that only a full render is exact.
pub fn merge(into: &mut Plan, other: Plan) -> bool {
    let restructured = !into.removed_files.is_empty() || !other.removed_files.is_empty();
    into.feeds.extend(other.feeds);
    into.kept.extend(other.kept);
    into.removed.extend(other.removed);
    into.pages.extend(other.pages);
    into.removed_files.extend(other.removed_files);
    restructured
}

/// The error, then what to do about it, for the log and `STATUS=`: a full disk,
/// a used-up quota, a folder the daemon's user may not write (with its path, its
/// owner and the owner it needs), a read-only or failing disk.
pub fn advice(e: &anyhow::Error, output: &Path) -> String {
    let Some(failed) = e.chain().find_map(|c| c.downcast_ref::<OutputError>()) else {
        return format!("{e:#}");
    };
    let out = output.display();
    let me = user_name(process_uid());
    let what = match errno(&failed.source) {
        Some(libc::ENOSPC) => format!("the file system of {out} is full: free space on it"),
        Some(libc::EDQUOT) => {
            format!("the disk quota of {me} on the file system of {out} is used up: raise it or free space")
        }
        Some(libc::EACCES | libc::EPERM) => {
            let folder = folder_to_write(failed);
            let owner =
                std::fs::metadata(&folder).map_or_else(|_| "?".to_owned(), |m| user_name(m.uid()));
            format!(
                "{} is owned by {owner}, and {me} (the user eventfeed runs as) may not write in it: it must be owned by {me}, e.g. `chown -R {me}: {out}`",
                folder.display()
            )
        }
        Some(libc::EROFS) => {
            format!("the file system of {out} is read-only: remount it read-write")
        }
        Some(libc::EIO) => format!("the disk of {out} fails: check it (`dmesg`)"),
        _ => return format!("{e:#}"),
    };
    format!("{e:#}: {what}")
}

/// The errno behind an I/O error, also when a library wrapped it (tempfile
/// adds the path) and only its kind tells.
fn errno(e: &std::io::Error) -> Option<i32> {
    use std::io::ErrorKind as K;
    e.raw_os_error().or(match e.kind() {
        K::StorageFull => Some(libc::ENOSPC),
        K::QuotaExceeded => Some(libc::EDQUOT),
        K::PermissionDenied => Some(libc::EACCES),
        K::ReadOnlyFilesystem => Some(libc::EROFS),
        _ => None,
    })
}

/// The folder whose permissions refused a call: the one a temp file was to be
/// created in, else the nearest existing folder above the path.
fn folder_to_write(failed: &OutputError) -> std::path::PathBuf {
    let mut folder = match failed.action {
        "create a temp file in" => failed.path.as_path(),
        _ => failed.path.parent().unwrap_or(&failed.path),
    };
    while !folder.exists() {
        match folder.parent() {
            Some(p) => folder = p,
            None => break,
        }
    }
    folder.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn failure(action: &'static str, path: &Path, errno: i32) -> anyhow::Error {
        anyhow::Error::new(OutputError {
            action,
            path: path.to_owned(),
            source: io::Error::from_raw_os_error(errno),
        })
        .context("writing feeds")
    }

    #[test]
    fn advice_names_the_fault_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let me = user_name(process_uid());
        let cases = [
            (
                "write",
                out.join("a/x.tmp"),
                libc::ENOSPC,
                "is full: free space".to_owned(),
            ),
            (
                "create",
                out.join("days/2017/11"),
                libc::EACCES,
                format!("{} is owned by {me}", out.display()),
            ),
            (
                "create a temp file in",
                out.to_owned(),
                libc::EACCES,
                format!(
                    "it must be owned by {me}, e.g. `chown -R {me}: {}`",
                    out.display()
                ),
            ),
            (
                "rename into",
                out.join("rss.xml"),
                libc::EROFS,
                "read-only: remount".to_owned(),
            ),
            ("write", out.join("x"), libc::EDQUOT, "quota".to_owned()),
        ];
        for (action, path, errno, want) in cases {
            let text = advice(&failure(action, &path, errno), out);
            assert!(text.contains(&want), "{action} {errno}: {text}");
            assert!(text.starts_with("writing feeds: cannot "), "{text}");
        }
        let wrapped = io::Error::new(io::ErrorKind::PermissionDenied, "at path x");
        let wrapped = anyhow::Error::new(OutputError {
            action: "create a temp file in",
            path: out.to_owned(),
            source: wrapped,
        });
        assert!(advice(&wrapped, out).contains("may not write"));
        let other = anyhow::anyhow!("something else");
        assert_eq!(advice(&other, out), "something else");
    }

    #[test]
    fn user_names_come_from_passwd() {
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(4_000_000_000), "uid 4000000000");
    }
}
