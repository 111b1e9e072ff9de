//! One process per output directory: an advisory lock on a file inside it, held
//! for the life of the process and released by the kernel if it dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// The held lock; dropping it releases it.
pub struct Lock(#[allow(dead_code)] File);

pub fn acquire(output: &Path) -> Result<Lock, crate::Failure> {
    std::fs::create_dir_all(output).map_err(|e| {
        crate::Failure::Runtime(anyhow::anyhow!(
            "cannot create output directory {}: {e}",
            output.display()
        ))
    })?;
    let path = output.join(".eventfeed.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            crate::Failure::Runtime(anyhow::anyhow!(
                "cannot open lock file {}: {e}",
                path.display()
            ))
        })?;
    // Run as root on someone else's output, the lock file stays theirs, so that
    // their daemon can still open it.
    if let Some((uid, gid)) = crate::users::owner_to_keep(output) {
        let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
    }
    match file.try_lock() {
        Ok(()) => Ok(Lock(file)),
        Err(TryLockError::WouldBlock) => Err(crate::Failure::Locked(path.display().to_string())),
        Err(TryLockError::Error(e)) => Err(crate::Failure::Runtime(anyhow::anyhow!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}
