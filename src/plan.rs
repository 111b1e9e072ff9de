//! Which feeds a change set touches. Over-approximating is safe (an unchanged feed
//! renders to the same bytes and is not rewritten); missing one is the bug class
//! behind stale feeds, so the rules are spelled out here:
//! - a touched day, and its nearest non-empty neighbours (their RFC 5005 links and
//!   `fh:archive` mark depend on it), or its removal when it emptied;
//! - every old and new context of a changed event, or its removal;
//! - the all-events feed and `index.html` (counts), whenever anything changed;
//!   `feeds.opml` when a feed came, went or moved.

use crate::index::{Index, Touched};
use crate::render::{context_dir, day_dir, FeedId};
use std::collections::BTreeSet;

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub feeds: BTreeSet<FeedId>,
    /// Feed directories (relative to the output root) to remove.
    pub removed: BTreeSet<String>,
    /// Whether `index.html` must be rendered (it shows counts: any change).
    pub index_page: bool,
    /// Whether `feeds.opml` must be rendered (it lists feeds: only when the set
    /// of feeds changed).
    pub opml: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty() && self.removed.is_empty() && !self.index_page && !self.opml
    }
}

/// The feeds a change touched.
pub fn changed(index: &Index, touched: &Touched) -> Plan {
    let mut plan = Plan::default();
    if touched.is_empty() {
        return plan;
    }
    for &day in &touched.days {
        if index.days().contains_key(&day) {
            plan.feeds.insert(FeedId::Day(day));
        } else {
            plan.removed.insert(day_dir(day));
        }
        let (prev, next) = index.neighbours(day);
        plan.feeds
            .extend(prev.into_iter().chain(next).map(FeedId::Day));
    }
    for name in &touched.contexts {
        if index.context(name).is_some() {
            plan.feeds.insert(FeedId::Context(name.clone()));
        }
    }
    plan.removed
        .extend(touched.freed_slugs.iter().map(|s| context_dir(s)));
    plan.feeds.insert(FeedId::All);
    plan.index_page = true;
    plan.opml = touched.listing;
    plan
}

/// Every feed there is.
pub fn everything(index: &Index) -> Plan {
    let mut feeds: BTreeSet<FeedId> = index.days().keys().map(|d| FeedId::Day(*d)).collect();
    feeds.extend(index.contexts().keys().map(|c| FeedId::Context(c.clone())));
    feeds.insert(FeedId::All);
    Plan {
        feeds,
        removed: BTreeSet::new(),
        index_page: true,
        opml: true,
    }
}
