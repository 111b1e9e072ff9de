//! Integration tests: the real binary on real directories.

mod harness;

mod assets;
mod build;
mod check;
mod daemon_invariant;
mod faults;
mod formats;
mod incremental;
mod pages;
mod readers;
mod real_archive;
mod remote;
mod serve;
mod store;
mod tombstones;
mod watch;
mod websub;
