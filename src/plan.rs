//! Which files a change set touches. Over-approximating is safe (an unchanged file
//! renders to the same bytes and is not rewritten); missing one is the bug class
//! behind stale feeds, so the rules are spelled out here. A feed's human page
//! (`index.html` in its folder) is rendered with the feed, so every rule for a
//! feed covers its page:
//! - a touched day, or its removal when it has neither events nor a day page (a
//!   day page keeps an emptied day's feeds, empty: `Index::day_exists`); its
//!   nearest non-empty neighbours when it gained its first event or lost its last
//!   (their RFC 5005 links, `fh:archive` mark and page navigation depend on which
//!   days have events, not on what a day holds; an empty day links none); its
//!   year's page (`days/<year>/index.html`, counts), and the year's OPML when a
//!   day came or went;
//! - every old and new context of a changed event, or its removal;
//! - a context whose slug moved (a colliding name came or went): the days and
//!   contexts of all its items, whose pages link to it by slug;
//! - the A-Z listing (see `render::pages::tree`): the page that lists each
//!   touched context (counts); when a context came, went or moved, every page on
//!   its slug's path and their OPML files, all pages below a branch that may have
//!   just split, and the pages below a leaf that may have just merged (removed,
//!   as are the pages of a prefix no slug starts with any more);
//! - the all-events feed when a touched day is not older than the newest day it
//!   leaves out (its next page), or a slug moved (its page links contexts);
//! - `index.html` and `feeds.opml` whenever anything changed: they show the most
//!   active contexts and the newest days, bounded lists that any change may
//!   reorder, so they never list every context.
//!
//! - tombstones (see `tombstones`, applied by the engine after these rules): a
//!   feed whose tombstones changed (recorded, cleared or expired) is rendered;
//!   a feed directory the rules above remove stays, as a kept empty feed, while
//!   it has tombstones, and goes when its last one expires.
//!
//! So a one-file change renders the event's day, contexts and their listing
//! pages, plus a fixed handful: a bounded number whatever the archive's size
//! (`tests/it/pages.rs` counts them). Only a page split or merge and a moved slug
//! reach further, and both are rare.

use crate::index::{Index, Touched};
use crate::model::Context;
use crate::render::pages::tree::{self, within, Tree};
use crate::render::pages::Page;
use crate::render::{all_feed_boundary, context_dir, day_dir, FeedId, Site};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeSet;

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub feeds: BTreeSet<FeedId>,
    /// Feed directories (relative to the output root) to remove.
    pub removed: BTreeSet<String>,
    /// Listing pages and OPML files to render.
    pub pages: BTreeSet<Page>,
    /// Listing files (relative to the output root) to remove where they exist,
    /// after the feed directories.
    pub removed_files: BTreeSet<String>,
    /// Feed directories whose feed is gone but whose tombstones keep them, as
    /// empty feeds (see `tombstones`).
    pub kept: BTreeSet<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
            && self.kept.is_empty()
            && self.removed.is_empty()
            && self.pages.is_empty()
            && self.removed_files.is_empty()
    }

    /// A listing node's page and, where it lists contexts itself, its OPML (else
    /// the OPML's removal).
    fn node(&mut self, tree: &Tree, p: &str, opml: bool) {
        self.pages.insert(Page::Letter(p.to_owned()));
        if opml {
            if tree.is_leaf(p) || tree.slugs().contains_key(p) {
                self.pages.insert(Page::LetterOpml(p.to_owned()));
            } else {
                self.removed_files
                    .insert(Page::LetterOpml(p.to_owned()).path());
            }
        }
    }

    fn remove_node(&mut self, p: &str) {
        self.removed_files.insert(Page::Letter(p.to_owned()).path());
        self.removed_files
            .insert(Page::LetterOpml(p.to_owned()).path());
    }
}

fn year_exists(index: &Index, year: i32) -> bool {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
    let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid");
    index.feed_days_in(first..=last).next().is_some()
}

/// The files a change touched.
pub fn changed(index: &Index, site: &Site, touched: &Touched) -> Plan {
    let mut plan = Plan::default();
    if touched.is_empty() {
        return plan;
    }
    for &day in &touched.days {
        if index.day_exists(day) {
            plan.feeds.insert(FeedId::Day(day));
        } else {
            plan.removed.insert(day_dir(day));
        }
        let year = day.year();
        let listed = touched.days_listed.contains(&day);
        if year_exists(index, year) {
            plan.pages.insert(Page::Year(year));
            if listed {
                plan.pages.insert(Page::YearOpml(year));
            }
        } else {
            plan.removed_files.insert(Page::Year(year).path());
            plan.removed_files.insert(Page::YearOpml(year).path());
        }
        if listed {
            let (prev, next) = index.neighbours(day);
            plan.feeds
                .extend(prev.into_iter().chain(next).map(FeedId::Day));
        }
    }
    for name in &touched.contexts {
        if index.context(name).is_some() {
            plan.feeds.insert(FeedId::Context(name.clone()));
        }
    }
    for name in &touched.moved {
        let Some(ctx) = index.context(name) else {
            continue;
        };
        for (_, key) in ctx.items.iter() {
            let entry = index.event(key).expect("indexed");
            plan.feeds.insert(FeedId::Day(entry.event.date));
            plan.feeds
                .extend(entry.contexts().iter().cloned().map(FeedId::Context));
        }
    }
    plan.removed
        .extend(touched.freed_slugs.iter().map(|s| context_dir(s)));
    listing(index, site, touched, &mut plan);
    let boundary = all_feed_boundary(index, site);
    if !touched.moved.is_empty() || touched.days.iter().any(|d| Some(*d) >= boundary) {
        plan.feeds.insert(FeedId::All);
    }
    plan.pages.insert(Page::Home);
    plan.pages.insert(Page::Opml);
    let rendered: BTreeSet<String> = plan.pages.iter().map(Page::path).collect();
    plan.removed_files.retain(|f| !rendered.contains(f));
    plan
}

/// The A-Z pages a change touched (the rules in the module doc). Each node is
/// looked at once, so a batch of thousands of contexts costs no more than a
/// full listing.
fn listing(index: &Index, site: &Site, touched: &Touched, plan: &mut Plan) {
    let tree = Tree::new(index.slugs(), site.page_contexts);
    let slug_of = |n: &Context| index.context(n).map(|c| &*c.slug);
    let mut slugged: Vec<&str> = touched.slugged.iter().filter_map(slug_of).collect();
    slugged.sort_unstable();
    let freed: Vec<&str> = touched.freed_slugs.iter().map(|s| &**s).collect();
    // The pages listing a touched context (counts).
    let leaves: BTreeSet<String> = touched
        .contexts
        .iter()
        .filter(|n| !touched.slugged.contains(*n))
        .filter_map(slug_of)
        .filter_map(|s| tree.path(s).pop())
        .collect();
    for p in &leaves {
        plan.node(&tree, p, false);
    }
    // Every node on the way to a context that came, went or moved.
    let mut nodes = BTreeSet::new();
    for s in slugged.iter().chain(&freed) {
        nodes.extend(tree.path(s));
    }
    for p in &nodes {
        plan.node(&tree, p, true);
        let count = tree.count(p);
        // A branch that held few enough contexts before this change was a
        // leaf: everything below it is new.
        if count > tree.max && count - within(&slugged, p) <= tree.max {
            for d in tree.descendants(p) {
                plan.node(&tree, &d, true);
            }
        }
    }
    let stops: BTreeSet<&str> = freed.iter().map(|s| &s[..tree.stop(s)]).collect();
    for p in stops {
        let count = tree.count(p);
        if count == 0 {
            // No slug starts with `p` any more: its page goes, and so do the
            // pages below it, which only freed slugs can have made.
            for f in freed.iter().filter(|f| f.starts_with(p)) {
                for n in p.len()..=f.len() {
                    plan.remove_node(&f[..n]);
                }
            }
        } else if count <= tree.max && count + within(&freed, p) > tree.max {
            // A leaf now that may have been a branch: the pages below it go.
            let below = tree::under(tree.slugs(), p).map(|(t, _)| t);
            let below: Vec<&str> = below.chain(freed.iter().copied()).collect();
            for t in below.into_iter().filter(|t| t.starts_with(p)) {
                for n in p.len() + 1..=t.len() {
                    plan.remove_node(&t[..n]);
                }
            }
        }
    }
}

/// Every file there is.
pub fn everything(index: &Index, site: &Site) -> Plan {
    let mut plan = Plan {
        feeds: index.feed_days().map(FeedId::Day).collect(),
        ..Plan::default()
    };
    plan.feeds
        .extend(index.contexts().keys().map(|c| FeedId::Context(c.clone())));
    plan.feeds.insert(FeedId::All);
    plan.pages.insert(Page::Home);
    plan.pages.insert(Page::Opml);
    let years = index.feed_years();
    for y in years {
        plan.pages.insert(Page::Year(y));
        plan.pages.insert(Page::YearOpml(y));
    }
    let tree = Tree::new(index.slugs(), site.page_contexts);
    for r in tree.roots() {
        plan.node(&tree, &r, true);
        for d in tree.descendants(&r) {
            plan.node(&tree, &d, true);
        }
    }
    // Branches without a context of their own have no OPML: nothing to remove
    // in a full build (it prunes what it did not write).
    plan.removed_files.clear();
    plan
}
