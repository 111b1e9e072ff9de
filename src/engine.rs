//! The one engine behind `build` and `watch`: it holds the index, applies change
//! sets to it, and renders the feeds a plan names. It never touches the file system:
//! the caller hands it parsed contents and a place to put bytes.

use crate::index::{Change, Index};
use crate::model::Interner;
use crate::plan::{self, Plan};
use crate::render::pages::Page;
use crate::render::{self, Bodies, FeedId, InMemory, Site};
use rayon::prelude::*;
use std::sync::Arc;

pub struct Engine {
    index: Index,
    site: Site,
    interner: Interner,
    bodies: Arc<dyn Bodies + Send>,
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
        }
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

    /// Shares strings between the events handed to [`Engine::apply`].
    pub fn interner(&mut self) -> &mut Interner {
        &mut self.interner
    }

    /// Applies a change set and says which feeds it touched.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) -> Plan {
        let touched = self.index.apply(changes);
        plan::changed(&self.index, &self.site, &touched)
    }

    /// A plan naming every feed (a full build or a reconcile).
    pub fn everything(&self) -> Plan {
        plan::everything(&self.index, &self.site)
    }

    /// Renders every file of a plan and hands each one to `emit`, in parallel. Files
    /// go out as they are rendered, so a full build never holds all of its output.
    pub fn render<E>(&self, plan: &Plan, emit: E) -> Result<(), E::Error>
    where
        E: Emit,
    {
        let feeds: Vec<&FeedId> = plan.feeds.iter().collect();
        let pages: Vec<&Page> = plan.pages.iter().collect();
        // One task per feed or page, even for the daemon's handful: a batch's
        // latency is its slowest file.
        let render_feeds = || {
            feeds.par_iter().try_for_each(|id| {
                let Some(doc) = render::feed(&self.index, &self.site, id, &*self.bodies) else {
                    return Ok(());
                };
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
