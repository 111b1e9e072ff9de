//! eventfeed: a tree of markdown news events in, RSS, Atom and JSON feeds out.
//!
//! The core is pure and runs in data-flow order: [`parse`] (bytes -> [`model::Event`])
//! -> [`index`] (every event, by day and context) -> [`plan`] (which feeds a change
//! touches) -> [`render`] (feeds as bytes), driven by the [`engine`], which also
//! keeps the [`tombstones`] of removed items. The shells
//! around it do the I/O: [`source`] and [`reader`] read the input tree, [`sink`]
//! writes the output atomically, [`watch`] turns file-system events into change
//! sets, [`serve`] serves the output over HTTP, [`websub`] tells a hub what
//! changed, [`remote`] mirrors the output to object storage, and [`cli`] and [`commands`] tie them to the command line.

// Printing goes through `console`, which has no panic path on a closed stream.
#![deny(clippy::print_stdout, clippy::print_stderr)]

// core
pub mod diag;
pub mod engine;
pub mod index;
pub mod links;
pub mod model;
pub mod parse;
pub mod plan;
pub mod render;
pub mod slug;
pub mod text;
pub mod tombstones;

// shells
pub mod assets;
pub mod cli;
pub mod commands;
pub mod config;
mod console;
mod failure;
pub mod lock;
mod logging;
mod meeting;
pub mod memory;
pub mod publish;
pub mod reader;
pub mod remote;
pub mod report;
pub mod serve;
mod shutdown;
pub mod sink;
pub mod source;
pub mod stamps;
pub mod store;
mod systemd;
mod users;
pub mod watch;
mod watcher;
pub mod websub;

pub use failure::Failure;
