//! The one engine behind `build` and `watch`: it holds the index and the
//! tombstones, applies change sets to them, and renders the feeds a plan names.
//! It never touches the file system nor reads the clock: the caller hands it
//! parsed contents, the time of a batch and a place to put bytes.

use crate::index::{Abandoned, Change, Gathered, Index};
use crate::model::Interner;
use crate::plan::{self, Plan};
use crate::render::fragments::Fragments;
use crate::render::pages::Page;
use crate::render::{self, Bodies, FeedId, InMemory, Site};
use crate::stamps::Stamps;
use crate::store::{Recap, Store};
use crate::tombstones::{Changed, Tombstones};
use rayon::prelude::*;
use std::os::unix::ffi::OsStringExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bytes of rendered items kept for the next renders (see `render::fragments`):
/// enough for the feeds a stream of changes keeps touching (the all-events
/// feed, the busy contexts, today's days), small beside the index.
const FRAGMENTS: usize = 16 << 20;

/// The parts a stop makes the records' snapshot in: enough to share two
/// cores with the settlement, whose pass is about half as long.
const SNAPSHOT_PARTS: usize = 4;

pub struct Engine {
    index: Index,
    site: Site,
    interner: Interner,
    bodies: Arc<dyn Bodies + Send>,
    fragments: Fragments,
    tombstones: Tombstones,
    /// How long tombstones are kept, in seconds; `None`: not at all.
    keep: Option<i64>,
    /// Whether the tombstones changed since [`Engine::take_tombstones_changed`].
    tombstones_changed: bool,
    /// Whether the index was given up half way (see [`Engine::load_store`]).
    abandoned: bool,
}

impl Engine {
    /// An engine whose events all carry their bodies.
    pub fn new(site: Site) -> Self {
        Self::with_bodies(site, Arc::new(InMemory))
    }

    /// An engine that reads the bodies of events without one from `bodies`.
    pub fn with_bodies(site: Site, bodies: Arc<dyn Bodies + Send>) -> Self {
        Self {
            index: Index::default(),
            site,
            interner: Interner::default(),
            bodies,
            fragments: Fragments::new(FRAGMENTS),
            tombstones: Tombstones::default(),
            keep: None,
            tombstones_changed: false,
            abandoned: false,
        }
    }

    /// Keeps tombstones for `keep` seconds (`None`: none, and those in
    /// `tombstones` expire at the next batch), starting from `tombstones`.
    pub fn with_tombstones(mut self, tombstones: Tombstones, keep: Option<i64>) -> Self {
        self.tombstones = tombstones;
        self.keep = keep;
        self
    }

    /// The rendered items kept for the next renders.
    pub fn fragments(&self) -> &Fragments {
        &self.fragments
    }

    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    /// Whether the tombstones changed since the last call (to save them).
    pub fn take_tombstones_changed(&mut self) -> bool {
        std::mem::take(&mut self.tombstones_changed)
    }

    /// When the next tombstone expires (seconds since the epoch): the daemon
    /// applies an empty change set then.
    pub fn next_expiry(&self) -> Option<i64> {
        self.tombstones.next_expiry(self.keep.unwrap_or(0))
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Says that the engine will apply one change set (into an empty index) and
    /// no more: the index then skips what only later changes need.
    pub fn apply_once(&mut self) {
        self.index.forget_mentions();
    }

    /// Ends a one-shot run: the index is leaked, since freeing a large one an
    /// allocation at a time only delays the exit, and the bodies' store is let
    /// go, so that it closes cleanly.
    pub fn finish(self) {
        let Self { index, bodies, .. } = self;
        std::mem::forget(index);
        drop(bodies);
    }

    /// Lets go of the bodies' store (for an engine about to be replaced).
    pub fn release_bodies(&mut self) {
        self.bodies = Arc::new(InMemory);
    }

    /// Shares strings between the events handed to [`Engine::apply`].
    pub fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }

    /// Applies a change set and says which feeds it touched; records no
    /// tombstones (for the state a run starts from, and for tests).
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) -> Plan {
        let touched = self.index.apply(changes);
        plan::changed(&self.index, &self.site, &touched)
    }

    /// Applies a change set without planning: for the state a run starts from
    /// (the files the store remembers, from which the output was written) and
    /// for `check`, where a plan naming every feed would be thrown away. Each
    /// path once (see [`Index::load`]).
    pub fn load(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.index.load(changes);
    }

    /// [`Engine::load`], taking the items from `settled` if it was made for
    /// these files (see [`crate::index::Settled`]); says whether it was.
    pub fn load_settled(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        settled: Option<crate::index::Settled>,
    ) -> bool {
        self.index.load_settled(changes, settled)
    }

    /// [`Engine::load`] of every file `store` has a record of, decoded one at
    /// a time; gives the files' stamps, read on the way. A run that finds
    /// nothing to do sets `abandon`: the load gives up then, and gives none
    /// (see [`Engine::abandon`]). On an error the index is left empty.
    pub fn load_store(
        &mut self,
        store: &Store,
        abandon: &AtomicBool,
    ) -> anyhow::Result<Option<Stamps>> {
        // Without it, the items are settled again: slower, never wrong.
        let t = std::time::Instant::now();
        let settled = store.settled().unwrap_or_else(|e| {
            tracing::warn!("ignoring the settled index of the store: {e:#}");
            None
        });
        let read_ms = t.elapsed().as_millis() as u64;
        let mut interner = std::mem::take(&mut self.interner);
        let mut error = None;
        let gathered = store.files(&mut interner).map(|mut files| {
            let snapshot = files.from_snapshot();
            let records = files.by_ref();
            let records = records.map_while(|file| file.map_err(|e| error = Some(e)).ok());
            let records = records.take_while(|_| !abandon.load(Ordering::Relaxed));
            let gathered = Gathered::new(records, settled.is_some());
            (gathered, snapshot, files.into_stamps())
        });
        self.interner = interner;
        let (gathered, snapshot, read) = match gathered.and_then(|g| error.map_or(Ok(g), Err)) {
            Ok(gathered) => gathered,
            Err(e) => {
                self.unload();
                return Err(e);
            }
        };
        if abandon.load(Ordering::Relaxed) {
            std::mem::forget(gathered);
            self.abandon();
            return Ok(None);
        }
        match self.index.load_gathered(gathered, settled, abandon) {
            Ok(taken) => {
                tracing::debug!(taken, snapshot, read_ms, "settled index");
                Ok(Some(read))
            }
            Err(Abandoned) => {
                self.abandon();
                Ok(None)
            }
        }
    }

    /// Lets go of the index (one whose load was abandoned half way, or a
    /// whole one) for a run that ends without it: not freed (see
    /// [`Engine::finish`]), and nothing of it is saved.
    pub fn abandon(&mut self) {
        std::mem::forget(std::mem::take(&mut self.index));
        self.abandoned = true;
    }

    /// What a build says of the whole index (see [`crate::store::Recap`]).
    pub fn recap(&self) -> Recap {
        let duplicates = (self.index.duplicates())
            .map(|(key, paths)| {
                let paths = paths.into_iter().map(|p| p.into_os_string().into_vec());
                (key.to_string(), paths.collect())
            })
            .collect();
        Recap {
            events: self.index.event_count() as u64,
            duplicates,
        }
    }

    /// Saves the index's recap and settlement in `store` for the next start,
    /// unless the ones there are current (or the index has no settlement to
    /// give, see [`Index::settled`]); nothing of an abandoned index. A
    /// failure costs the next start time only.
    pub fn save_settled(&self, store: &Store) {
        if self.abandoned {
            return;
        }
        let recapped = store.recap_is_current().and_then(|current| match current {
            true => Ok(()),
            false => store.save_recap(&self.recap()),
        });
        if let Err(e) = recapped {
            tracing::warn!("cannot save the recap of the index (the next build loads it): {e:#}");
        }
        let saved = store.settled_is_current().and_then(|current| {
            // A build from scratch has none to save: no snapshot either.
            if current || !self.index.knows_mentions() {
                return Ok(());
            }
            // Two passes over a million files at a stop: at once, the
            // snapshot's in parts (the longer pass: two thirds of a stop).
            let t = std::time::Instant::now();
            let cuts = self.index.cuts(SNAPSHOT_PARTS);
            let ((settled, settled_ms), (snapshot, snapshot_ms)) = rayon::join(
                || (self.index.settled(), t.elapsed().as_millis() as u64),
                || {
                    (
                        store.records_snapshot(&cuts),
                        t.elapsed().as_millis() as u64,
                    )
                },
            );
            tracing::debug!(settled_ms, snapshot_ms, "settled index made");
            let snapshot = snapshot
                .inspect_err(|e| tracing::warn!("cannot make a snapshot of the store: {e:#}"));
            match settled {
                Some(settled) => store.save_settled(&settled, snapshot.ok()),
                None => Ok(()),
            }
        });
        if let Err(e) = saved {
            tracing::warn!(
                "cannot save the settled index (the next start settles it again): {e:#}"
            );
        }
    }

    /// Builds the index again from `store`, in bulk (see [`Index::load`]):
    /// the same index, laid out densely, for after a start that grew it one
    /// file at a time. Only when the store has a record of every file the
    /// index holds (a write to it may have failed); says whether it did. On
    /// an error the index is left empty.
    pub fn compact(&mut self, store: &Store) -> anyhow::Result<bool> {
        if store.file_count()? != self.index.path_count() as u64 {
            return Ok(false);
        }
        // Kept items hold the events of the index that goes.
        self.fragments = Fragments::new(FRAGMENTS);
        self.unload();
        Ok(self.load_store(store, &AtomicBool::new(false))?.is_some())
    }

    /// Empties the index: before a load, or after one from a store that
    /// turned out unreadable.
    pub fn unload(&mut self) {
        self.index = Index::default();
        self.interner.sweep();
    }

    /// Applies a change set seen at `now` (seconds since the epoch): records
    /// the tombstones of the items it took out, clears those of the items it
    /// brought back, expires the old ones, and says which feeds that touched.
    pub fn apply_at(&mut self, changes: impl IntoIterator<Item = Change>, now: i64) -> Plan {
        // Into an empty index (a build from scratch) nothing can leave.
        let trace = self.keep.is_some() && self.index.files().next().is_some();
        self.index.trace_items(trace);
        let boundary = trace.then(|| render::all_feed_boundary(&self.index, &self.site));
        let mut touched = self.index.apply(changes);
        self.index.trace_items(false);
        let mut changed = self.tombstones.expire(now, self.keep);
        if let Some(boundary) = boundary {
            changed.extend(
                self.tombstones
                    .note(&self.index, &self.site, &touched, boundary, now),
            );
        }
        touched.left = Vec::new();
        touched.came = Vec::new();
        let mut plan = plan::changed(&self.index, &self.site, &touched);
        self.amend(&mut plan, &changed);
        plan
    }

    /// Fills an empty engine with a change set seen at `now` and plans every
    /// feed: a start from scratch. The index is the one [`Engine::apply_at`]
    /// would build, built in bulk ([`Index::load`], under half the work);
    /// nothing can leave an empty index, so there is no tombstone to note,
    /// only old ones to expire.
    pub fn fill_at(&mut self, changes: impl IntoIterator<Item = Change>, now: i64) -> Plan {
        debug_assert_eq!(self.index.path_count(), 0, "filling a full index");
        self.index.load(changes);
        let expired = self.tombstones.expire(now, self.keep);
        self.tombstones_changed |= !expired.is_empty();
        self.everything()
    }

    /// Brings a plan in line with the tombstones: the feeds whose tombstones
    /// changed are rendered, and a feed directory that goes but has tombstones
    /// stays as a kept empty feed (rules in `plan` and `tombstones`).
    fn amend(&mut self, plan: &mut Plan, changed: &Changed) {
        self.tombstones_changed |= !changed.is_empty();
        let removed = std::mem::take(&mut plan.removed);
        for dir in removed {
            match self.tombstones.get(&dir) {
                Some(_) => plan.kept.insert(dir),
                None => plan.removed.insert(dir),
            };
        }
        for (dir, feed) in changed {
            match feed.live(&self.index) {
                Some(id) => plan.feeds.insert(id),
                None if self.tombstones.get(dir).is_some() => plan.kept.insert(dir.clone()),
                None => plan.removed.insert(dir.clone()),
            };
        }
    }

    /// A plan naming every feed (a full build or a reconcile), and every
    /// directory kept for its tombstones.
    pub fn everything(&self) -> Plan {
        let mut plan = plan::everything(&self.index, &self.site);
        plan.kept.extend(self.tombstones.kept(&self.index).cloned());
        plan
    }

    /// Renders every file of a plan and hands each one to `emit`, in parallel. Files
    /// go out as they are rendered, so a full build never holds all of its output.
    pub fn render<E>(&self, plan: &Plan, emit: E) -> Result<(), E::Error>
    where
        E: Emit,
    {
        let kept: Vec<(FeedId, &str)> = self.kept(plan).collect();
        let mut feeds: Vec<(&FeedId, Option<&str>)> = plan
            .feeds
            .iter()
            .map(|id| (id, None))
            .chain(kept.iter().map(|(id, dir)| (id, Some(*dir))))
            .collect();
        // Feeds that show the same items close together, so that kept items
        // are used before the cache's budget drops them.
        feeds.sort_by_cached_key(|(id, _)| render::render_order(&self.index, &self.site, id));
        let pages: Vec<&Page> = plan.pages.iter().collect();
        let snapshot = self.bodies.snapshot();
        let bodies = snapshot.as_deref().unwrap_or(&*self.bodies);
        // One task per feed or page, even for the daemon's handful: a batch's
        // latency is its slowest file.
        let render_feeds = || {
            feeds.par_iter().try_for_each(|(id, kept)| {
                let doc = match kept {
                    None => {
                        render::feed(&self.index, &self.site, id, bodies, Some(&self.fragments))
                    }
                    Some(dir) => Some(render::kept_feed(&self.site, id, (*dir).to_owned())),
                };
                let Some(mut doc) = doc else {
                    return Ok(());
                };
                let live: std::collections::BTreeSet<&str> =
                    doc.items.iter().map(|i| i.id.as_str()).collect();
                doc.deleted = self.tombstones.deleted(&doc.dir, &live);
                for (path, bytes) in render::render_feed(&self.index, &doc, &self.site, id) {
                    emit.emit(&path, &bytes)?;
                }
                Ok(())
            })
        };
        let render_pages = || {
            pages
                .par_iter()
                .try_for_each(|page| emit.emit(&page.path(), &page.render(&self.index, &self.site)))
        };
        let (feeds, pages) = rayon::join(render_feeds, render_pages);
        feeds.and(pages)
    }

    /// The kept directories of a plan that still are: gone feeds with
    /// tombstones (a merged plan may name some that came back or expired since).
    fn kept<'a>(&'a self, plan: &'a Plan) -> impl Iterator<Item = (FeedId, &'a str)> {
        plan.kept.iter().filter_map(|dir| {
            let stones = self.tombstones.get(dir)?;
            if stones.feed.live(&self.index).is_some() {
                return None;
            }
            Some((stones.feed.id(), dir.as_str()))
        })
    }

    /// Renders a plan into memory: for tests and small trees.
    pub fn render_to_vec(&self, plan: &Plan) -> Vec<(String, Vec<u8>)> {
        let out = std::sync::Mutex::new(Vec::new());
        let collect = |path: &str, bytes: &[u8]| -> Result<(), std::convert::Infallible> {
            out.lock()
                .expect("not poisoned")
                .push((path.to_owned(), bytes.to_vec()));
            Ok(())
        };
        let Ok(()) = self.render(plan, FnEmit(collect));
        let mut files = out.into_inner().expect("not poisoned");
        files.sort();
        files
    }
}

/// Where rendered files go.
pub trait Emit: Sync {
    type Error: Send;
    fn emit(&self, path: &str, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Any closure can take rendered files.
pub struct FnEmit<F>(pub F);

impl<F, E: Send> Emit for FnEmit<F>
where
    F: Fn(&str, &[u8]) -> Result<(), E> + Sync,
{
    type Error = E;
    fn emit(&self, path: &str, bytes: &[u8]) -> Result<(), E> {
        (self.0)(path, bytes)
    }
}
