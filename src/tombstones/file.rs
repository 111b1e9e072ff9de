//! The tombstone records on disk: `tombstones.json` in the state directory,
//! beside (not inside) the cache, so that a cache that is ignored (another
//! version or configuration) keeps them. Saved atomically (temp file and
//! rename); a file that cannot be read or is of another format is ignored with
//! a warning (its tombstones are lost, the feeds stay valid).

use super::Tombstones;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bump when the shape of the records changes.
const FORMAT: u32 = 1;

#[derive(Deserialize)]
struct OnDisk {
    format: u32,
    #[serde(flatten)]
    tombstones: Tombstones,
}

#[derive(Serialize)]
struct ToDisk<'a> {
    format: u32,
    #[serde(flatten)]
    tombstones: &'a Tombstones,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("tombstones.json")
}

/// The records of the last run; none when there are none or they are unusable.
pub fn load(state_dir: &Path) -> Tombstones {
    let path = path(state_dir);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Tombstones::default(),
        Err(e) => {
            tracing::warn!(
                "cannot read {} (removed items get no tombstones from before): {e}",
                path.display()
            );
            return Tombstones::default();
        }
    };
    match serde_json::from_slice::<OnDisk>(&bytes) {
        Ok(d) if d.format == FORMAT => d.tombstones,
        Ok(d) => {
            tracing::warn!(
                "ignoring {}: format {} is not {FORMAT} (removed items get no tombstones from before)",
                path.display(),
                d.format
            );
            Tombstones::default()
        }
        Err(e) => {
            tracing::warn!(
                "ignoring unreadable {} (removed items get no tombstones from before): {e}",
                path.display()
            );
            Tombstones::default()
        }
    }
}

/// Saves the records atomically; with none, removes the file.
pub fn save(state_dir: &Path, tombstones: &Tombstones) -> Result<()> {
    let path = path(state_dir);
    if tombstones.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tombstones-")
        .tempfile_in(state_dir)
        .with_context(|| format!("cannot write in {}", state_dir.display()))?;
    let disk = ToDisk {
        format: FORMAT,
        tombstones,
    };
    serde_json::to_writer_pretty(&mut tmp, &disk)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path)
        .with_context(|| format!("cannot save {}", path.display()))?;
    Ok(())
}

/// The time of a batch, for the tombstones it records (seconds since the epoch).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
