//! Rendered items, kept per event and kind (RSS item, Atom entry, JSON Feed item,
//! page article), so that a feed of 50 items re-rendered after one of them
//! changed renders one item and concatenates 49: no store read, no HTML, no XML
//! escaping for the others.
//!
//! A fragment is valid while its item is rendered from the same event (the very
//! `Arc` the index holds: a file read again gives a new one, so any edit is a
//! miss) and the same [`Item::stamp`], which sums up what else an item shows:
//! its times, id, contexts and their slugs, and where its Related links lead.
//! The cache is bounded; past its budget it starts afresh.

use super::Item;
use crate::model::{Event, EventKey};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a fragment is rendered as: a feed format, or the item's article on the
/// feed's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Feed(super::Format),
    Page,
}

impl Kind {
    fn slot(self) -> usize {
        match self {
            Kind::Feed(f) => f as usize,
            Kind::Page => 3,
        }
    }
}

/// The fragments of one event.
struct Slot {
    /// Held, so that its address cannot be reused by another event while the
    /// fragments compare it.
    event: Arc<Event>,
    stamp: u64,
    parts: [Option<Arc<[u8]>>; 4],
}

impl Slot {
    /// Whether its fragments are `item`'s: the same event, the same stamp.
    fn holds(&self, item: &Item) -> bool {
        Arc::ptr_eq(&self.event, item.event) && self.stamp == item.stamp
    }
}

/// The cache of rendered fragments (one per engine: a new configuration starts
/// a new one).
pub struct Fragments {
    slots: Mutex<(FxHashMap<EventKey, Slot>, usize)>,
    budget: usize,
    /// Fragments used as kept, and rendered, since [`Fragments::take_counts`].
    kept: AtomicUsize,
    rendered: AtomicUsize,
}

impl Fragments {
    /// A cache holding at most about `budget` bytes of fragments.
    pub fn new(budget: usize) -> Self {
        Self {
            slots: Mutex::default(),
            budget,
            kept: AtomicUsize::new(0),
            rendered: AtomicUsize::new(0),
        }
    }

    /// The fragment of `item` as `kind`: kept, or rendered by `render` (outside
    /// the lock: items of one feed render in parallel with other feeds') and kept.
    pub fn get(&self, item: &Item, kind: Kind, render: impl FnOnce() -> Vec<u8>) -> Arc<[u8]> {
        if let Some(part) = self.lookup(item, kind) {
            self.kept.fetch_add(1, Ordering::Relaxed);
            return part;
        }
        self.rendered.fetch_add(1, Ordering::Relaxed);
        let part: Arc<[u8]> = render().into();
        let mut guard = self.slots.lock().expect("not poisoned");
        let (slots, bytes) = &mut *guard;
        if *bytes + part.len() > self.budget {
            slots.clear();
            *bytes = 0;
        }
        let fresh = || Slot {
            event: item.event.clone(),
            stamp: item.stamp,
            parts: Default::default(),
        };
        let slot = slots.entry(item.key.clone()).or_insert_with(fresh);
        if !slot.holds(item) {
            *bytes -= slot.parts.iter().flatten().map(|p| p.len()).sum::<usize>();
            *slot = fresh();
        }
        if let Some(old) = slot.parts[kind.slot()].replace(part.clone()) {
            *bytes -= old.len();
        }
        *bytes += part.len();
        part
    }

    fn lookup(&self, item: &Item, kind: Kind) -> Option<Arc<[u8]>> {
        let guard = self.slots.lock().expect("not poisoned");
        let slot = guard.0.get(item.key).filter(|slot| slot.holds(item))?;
        slot.parts[kind.slot()].clone()
    }

    /// How many fragments were used as kept and how many were rendered since
    /// the last call (for the daemon's batch timings).
    pub fn take_counts(&self) -> (usize, usize) {
        (
            self.kept.swap(0, Ordering::Relaxed),
            self.rendered.swap(0, Ordering::Relaxed),
        )
    }
}
