//! RFC 6721 tombstones: which items left which feeds, and when, so that a
//! feed's Atom file can say `<at:deleted-entry ref="…" when="…"/>` for a while
//! and its subscribers learn that an item went (rather than keep it forever).
//!
//! Nothing in the input says that an event existed, so tombstones are memory:
//! records kept in the state directory (`tombstones.json`, see [`mod@file`]),
//! written by `build` and the daemon alike, and rendered as data. The output is
//! then a function of the tree *and the records*: a fresh build given the same
//! records writes the same bytes as the daemon (`build --fresh` starts without
//! records, and so writes none).
//!
//! The rules, all applied by [`Tombstones::note`] to what a change set took out
//! ([`Touched::left`]) and brought in ([`Touched::came`]):
//! - an item leaves a feed when it is no longer in it under the same id: its
//!   file went, it became an earlier version of another item (whose id is not
//!   its own), it lost a context, moved to another day, or its id changed;
//! - its tombstone goes to the feed folder it left (the URL readers subscribed
//!   to): its day, each context it left (while the item would still be among
//!   the context's newest `items_per_feed`, i.e. readers saw it there), and the
//!   all-events feed when its day was among the days that feed held;
//! - `ref` is the item's id exactly as the feed published it (the Atom `id`,
//!   RSS `guid`, JSON Feed `id`), `when` the time of the batch that saw it go;
//! - an item that is back in a feed clears its tombstone there (and one is
//!   never rendered next to a live item with the same id);
//! - a feed keeps at most `items_per_feed` tombstones, the newest;
//! - tombstones expire `keep` seconds after their `when` (`tombstone_days`);
//!   expiring is checked with every batch and on a timer in the daemon.
//!
//! A feed folder whose feed is gone (a day without events nor day page, a
//! context without events) stays, as valid empty feeds carrying the
//! tombstones, while it has any ([`Tombstones::kept`]); then it goes like any
//! feed without a reason to exist. Such feeds are not listed on any page.

pub mod file;

use crate::index::{Index, Touched};
#[cfg(doc)]
use crate::render::all_feed_boundary;
use crate::render::{context_dir, day_dir, item_id, FeedId, Site};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// The feed a tombstone folder belongs to: what is needed to render it when the
/// feed itself is gone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    All,
    Day(NaiveDate),
    Context { name: String, slug: String },
}

impl Feed {
    /// The feed's folder, relative to the output root.
    pub fn dir(&self) -> String {
        match self {
            Feed::All => "all".into(),
            Feed::Day(day) => day_dir(*day),
            Feed::Context { slug, .. } => context_dir(slug),
        }
    }

    /// The feed that lives in this folder now, if one does.
    pub fn live(&self, index: &Index) -> Option<FeedId> {
        match self {
            Feed::All => Some(FeedId::All),
            Feed::Day(day) => index.day_exists(*day).then_some(FeedId::Day(*day)),
            Feed::Context { slug, .. } => index
                .slugs()
                .get(slug.as_str())
                .map(|name| FeedId::Context(name.clone())),
        }
    }

    /// The id to render the feed's page with when it is kept for its tombstones.
    pub fn id(&self) -> FeedId {
        match self {
            Feed::All => FeedId::All,
            Feed::Day(day) => FeedId::Day(*day),
            Feed::Context { name, .. } => FeedId::Context(name.as_str().into()),
        }
    }
}

/// The tombstones of one feed folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stones {
    pub feed: Feed,
    /// `ref` (the item id) -> `when` (seconds since the epoch).
    pub deleted: BTreeMap<String, i64>,
}

/// Every tombstone, by feed folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tombstones {
    feeds: BTreeMap<String, Stones>,
}

/// Feed folders whose tombstones changed, with their feed.
pub type Changed = BTreeMap<String, Feed>;

impl Tombstones {
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// How many tombstones there are.
    pub fn len(&self) -> usize {
        self.feeds.values().map(|s| s.deleted.len()).sum()
    }

    /// Every folder with tombstones.
    pub fn feeds(&self) -> impl Iterator<Item = (&String, &Stones)> {
        self.feeds.iter()
    }

    pub fn get(&self, dir: &str) -> Option<&Stones> {
        self.feeds.get(dir)
    }

    /// Records that item `r` left `feed` at `when`; says whether that is news
    /// (an item already marked keeps its first time).
    pub fn record(&mut self, feed: Feed, r: &str, when: i64) -> bool {
        let stones = self.feeds.entry(feed.dir()).or_insert_with(|| Stones {
            feed: feed.clone(),
            deleted: BTreeMap::new(),
        });
        // The folder's latest feed names it (a slug taken by another context).
        stones.feed = feed;
        if stones.deleted.contains_key(r) {
            return false;
        }
        stones.deleted.insert(r.to_owned(), when);
        true
    }

    /// Item `r` is in the feed of `dir` again: its tombstone there goes.
    pub fn clear(&mut self, dir: &str, r: &str) -> Option<Feed> {
        let stones = self.feeds.get_mut(dir)?;
        stones.deleted.remove(r)?;
        let feed = stones.feed.clone();
        if stones.deleted.is_empty() {
            self.feeds.remove(dir);
        }
        Some(feed)
    }

    /// Keeps the newest `max` tombstones of `dir` (by `when`, then `ref`).
    fn cap(&mut self, dir: &str, max: usize) {
        let Some(stones) = self.feeds.get_mut(dir) else {
            return;
        };
        if stones.deleted.len() <= max {
            return;
        }
        let mut order: Vec<(Reverse<i64>, String)> = stones
            .deleted
            .iter()
            .map(|(r, w)| (Reverse(*w), r.clone()))
            .collect();
        order.sort();
        for (_, r) in order.into_iter().skip(max) {
            stones.deleted.remove(&r);
        }
    }

    /// Drops the tombstones older than `keep` seconds at `now` (all of them
    /// for `None`: tombstones are off); returns the folders that lost any.
    pub fn expire(&mut self, now: i64, keep: Option<i64>) -> Changed {
        let mut changed = Changed::new();
        self.feeds.retain(|dir, stones| {
            let before = stones.deleted.len();
            match keep {
                Some(keep) => stones
                    .deleted
                    .retain(|_, when| when.saturating_add(keep) > now),
                None => stones.deleted.clear(),
            }
            if stones.deleted.len() != before {
                changed.insert(dir.clone(), stones.feed.clone());
            }
            !stones.deleted.is_empty()
        });
        changed
    }

    /// When the next tombstone expires (seconds since the epoch).
    pub fn next_expiry(&self, keep: i64) -> Option<i64> {
        self.feeds
            .values()
            .flat_map(|s| s.deleted.values())
            .min()
            .map(|when| when.saturating_add(keep))
    }

    /// The tombstones to render in the feed of `dir`, newest first, leaving out
    /// the ids in `live` (an item that is in the feed is not deleted from it).
    pub fn deleted(&self, dir: &str, live: &BTreeSet<&str>) -> Vec<(String, i64)> {
        let Some(stones) = self.feeds.get(dir) else {
            return Vec::new();
        };
        let mut out: Vec<(String, i64)> = stones
            .deleted
            .iter()
            .filter(|(r, _)| !live.contains(r.as_str()))
            .map(|(r, w)| (r.clone(), *w))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The folders kept only for their tombstones: their feed is gone.
    pub fn kept<'a>(&'a self, index: &'a Index) -> impl Iterator<Item = &'a String> + 'a {
        self.feeds
            .iter()
            .filter(|(_, s)| s.feed.live(index).is_none())
            .map(|(dir, _)| dir)
    }

    /// Records the tombstones of a change set (see the module doc) seen at
    /// `when`; `boundary` is the newest day the all-events feed left out
    /// before the change ([`all_feed_boundary`]). Returns the folders whose
    /// tombstones changed.
    pub fn note(
        &mut self,
        index: &Index,
        site: &Site,
        touched: &Touched,
        boundary: Option<NaiveDate>,
        when: i64,
    ) -> Changed {
        let mut changed = Changed::new();
        if touched.left.is_empty() && touched.came.is_empty() {
            return changed;
        }
        let links = &site.links;
        let n = site.items_per_feed;
        // Where the items that came or changed are now: (folder, id).
        let mut now: BTreeSet<(String, String)> = BTreeSet::new();
        for key in &touched.came {
            let Some(entry) = index.event(key) else {
                continue;
            };
            let r = item_id(&entry.event, &entry.id_path(), links);
            now.insert((day_dir(entry.event.date), r.clone()));
            for c in entry.contexts() {
                if let Some(ctx) = index.context(c) {
                    now.insert((context_dir(&ctx.slug), r.clone()));
                }
            }
            now.insert(("all".into(), r));
        }
        for (dir, r) in &now {
            if let Some(feed) = self.clear(dir, r) {
                changed.insert(dir.clone(), feed);
            }
        }
        for t in &touched.left {
            let r = item_id(&t.event, &t.id_path, links);
            let item = (Reverse(t.ts), t.key.clone());
            let mut feeds = vec![Feed::Day(t.event.date)];
            for (name, slug) in &t.contexts {
                // Readers saw it there if it would still be among the newest.
                let shown = index
                    .context(name)
                    .is_none_or(|ctx| ctx.items.before(&item).take(n).count() < n);
                if shown && !slug.is_empty() {
                    feeds.push(Feed::Context {
                        name: name.to_string(),
                        slug: slug.to_string(),
                    });
                }
            }
            if boundary.is_none_or(|b| t.event.date > b) {
                feeds.push(Feed::All);
            }
            for feed in feeds {
                let dir = feed.dir();
                if now.contains(&(dir.clone(), r.clone())) {
                    continue;
                }
                if self.record(feed.clone(), &r, when) {
                    changed.insert(dir, feed);
                }
            }
        }
        for dir in changed.keys() {
            self.cap(dir, n);
        }
        changed
    }
}

#[cfg(test)]
mod tests;
