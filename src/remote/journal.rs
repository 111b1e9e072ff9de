//! The durable record of what the store still lacks, in `<state_dir>/publish/`:
//!
//! - `pending`: output paths (one a line) whose object may differ from the local
//!   file. Appended and synced before the uploader is told (and by `eventfeed
//!   build`, for the daemon's next start), rewritten (temp file, rename) when
//!   uploads finish, so it always holds at least what is pending. A restart
//!   replays it.
//! - `synced`: the destination of the last completed full sync.
//! - `running`: present while a daemon publishes. A file written locally is
//!   journaled a moment later; a crash in between would lose its upload, so a
//!   start that finds `running` left behind (or a `synced` naming another
//!   destination, or none) does a full sync first, which finds such files.

use anyhow::{Context as _, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Journal {
    dir: PathBuf,
    file: File,
    destination: String,
}

/// What a start finds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Paths journaled and not known to be uploaded.
    pub pending: Vec<String>,
    /// Whether a full sync must run first (see the module doc).
    pub full_sync: bool,
}

impl Journal {
    /// Opens the journal for `destination` and marks it in use.
    pub fn open(state_dir: &Path, destination: &str) -> Result<(Self, Replay)> {
        let dir = state_dir.join("publish");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let read = |name: &str| match fs::read_to_string(dir.join(name)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.join(name).display())),
        };
        let crashed = read("running")?.is_some();
        let synced = read("synced")?;
        let pending: Vec<String> = read("pending")?
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let full_sync = crashed || synced.as_deref().map(str::trim) != Some(destination);
        write_synced(&dir.join("running"), destination.as_bytes())?;
        let file = append_to(&dir.join("pending"))?;
        let journal = Self {
            dir,
            file,
            destination: destination.to_owned(),
        };
        Ok((journal, Replay { pending, full_sync }))
    }

    /// Records `paths` as pending, durably.
    pub fn append<'a>(&mut self, paths: impl IntoIterator<Item = &'a String>) -> Result<()> {
        let mut text = String::new();
        for p in paths.into_iter().filter(|p| !p.contains('\n')) {
            text.push_str(p);
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.dir.join("pending").display()))
    }

    /// Rewrites the journal to hold exactly `pending`.
    pub fn compact<'a>(&mut self, pending: impl IntoIterator<Item = &'a String>) -> Result<()> {
        let path = self.dir.join("pending");
        let mut text = String::new();
        for p in pending {
            text.push_str(p);
            text.push('\n');
        }
        write_synced(&path, text.as_bytes())?;
        self.file = append_to(&path)?;
        Ok(())
    }

    /// Records that a full sync to the destination completed.
    pub fn synced(&self) -> Result<()> {
        write_synced(&self.dir.join("synced"), self.destination.as_bytes())
    }

    /// Marks a clean stop: the next start needs no full sync (the journal holds
    /// everything pending).
    pub fn close(&self) {
        let _ = fs::remove_file(self.dir.join("running"));
    }
}

/// For `eventfeed build` with `[publish]`: journals the paths it wrote and
/// removed, so the daemon's next start (or `eventfeed publish`) uploads them.
pub fn record(settings: &crate::config::Settings, paths: Vec<String>) {
    if settings.publish.is_none() || paths.is_empty() {
        return;
    }
    let dir = settings.state_dir.join("publish");
    let appended = fs::create_dir_all(&dir)
        .map_err(anyhow::Error::from)
        .and_then(|()| append_to(&dir.join("pending")))
        .and_then(|mut file| {
            let text: String = paths
                .iter()
                .filter(|p| !p.contains('\n'))
                .map(|p| format!("{p}\n"))
                .collect();
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(anyhow::Error::from)
        });
    if let Err(e) = appended {
        tracing::warn!(
            "cannot journal the files to publish in {}: {e:#}; run `eventfeed publish`",
            dir.display()
        );
    }
}

fn append_to(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Replaces `path` by `bytes` atomically and durably.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("in a folder");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_data())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    File::open(dir).and_then(|d| d.sync_all()).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_what_was_pending_and_syncs_after_a_crash() {
        let state = tempfile::tempdir().unwrap();
        let (mut j, replay) = Journal::open(state.path(), "s3://b/p").unwrap();
        assert_eq!(replay.pending, Vec::<String>::new());
        assert!(replay.full_sync, "a new destination is synced in full");
        j.synced().unwrap();
        j.append(&["all/rss.xml".to_owned(), "index.html".to_owned()])
            .unwrap();
        j.close();
        drop(j);
        let (mut j, replay) = Journal::open(state.path(), "s3://b/p").unwrap();
        assert_eq!(replay.pending, ["all/rss.xml", "index.html"]);
        assert!(!replay.full_sync, "a clean stop needs no full sync");
        j.compact(&["index.html".to_owned()]).unwrap();
        j.append(&["feeds.opml".to_owned()]).unwrap();
        drop(j); // a crash: `running` stays
        let (_, replay) = Journal::open(state.path(), "s3://b/p").unwrap();
        assert_eq!(replay.pending, ["index.html", "feeds.opml"]);
        assert!(replay.full_sync, "a crash may have lost a journal entry");
        let (_, replay) = Journal::open(state.path(), "s3://other").unwrap();
        assert!(replay.full_sync);
    }
}
