//! Giving freed memory back to the system. A start or a rescan frees most of
//! what it allocated (scans, decoded records, read files), but an allocator
//! keeps freed pages for reuse, so a daemon that has settled would hold its
//! start's peak. The binary, which chose the allocator, says how to release
//! (see `main.rs`); the library says when.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Sets what [`release`] calls on each thread: once, from `main`.
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Returns the memory freed so far to the system, on every thread that
/// allocates in bulk: rayon's workers and the caller's own. A few
/// milliseconds; for after a start or a rescan, not every batch.
pub fn release() {
    if let Some(release) = RELEASE.get() {
        rayon::broadcast(|_| release());
        release();
    }
}
