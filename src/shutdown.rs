//! A stop asked for while long work runs (SIGTERM during the first reconcile of
//! a large tree): the per-file loops look at this flag, so the work ends within a
//! file or a chunk, before anything half-done is committed, and the daemon exits
//! cleanly instead of being killed at the end of systemd's stop timeout.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// An error if a stop was asked for, to end work with `?`.
pub fn check() -> anyhow::Result<()> {
    if requested() {
        anyhow::bail!("stopping");
    }
    Ok(())
}
