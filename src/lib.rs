//! eventfeed: a tree of markdown news events in, RSS, Atom and JSON feeds out.
//!
//! The core is pure and runs in data-flow order: [`parse`] (bytes -> [`model::Event`])
//! -> [`index`] (every event, by day and context) -> [`plan`] (which feeds a change
//! touches) -> [`render`] (feeds as bytes). The shells around it do the I/O:
//! [`source`] reads the input tree, [`sink`] writes the output atomically, [`watch`]
//! turns file-system events into change sets, and [`cli`] ties them to commands.

pub mod diag;
pub mod index;
pub mod links;
pub mod model;
pub mod parse;
pub mod slug;
pub mod text;
