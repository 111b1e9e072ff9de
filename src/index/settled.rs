//! What settling a loaded index works out (each item's extras and times, and
//! who links where), kept with the store: a restart whose files are the ones
//! it was made from takes it, instead of settling every item again (the
//! larger part of a load's work after decoding the records).
//!
//! Items are named by the position of their file in `files`, so taking it
//! costs no search. It is taken only for the very files it was made from: the
//! store keeps it for one generation of its records, and the files' number
//! and a hash of their keys, days and bodies are checked again here.

use super::*;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Settled {
    /// The files it was made for: how many event files and day pages, and
    /// [`Index::digest`] of them.
    files: u64,
    pages: u64,
    digest: u64,
    /// Every item, in the order of their files.
    items: Vec<SettledItem>,
    mentions: Vec<SettledMention>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SettledItem {
    /// The position of the item's file in `files`.
    file: u32,
    ts: i64,
    updated: i64,
    extra: Option<Extra>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SettledMention {
    target: Target,
    resolved: Option<u64>,
    /// The items linking to `target`, by the position of their files.
    by: Vec<u32>,
}

/// A key linked to: by the position of its first file when it has one (so
/// that the key's string is shared, not made again), else as it is.
#[derive(Debug, Serialize, Deserialize)]
enum Target {
    File(u32),
    Key(EventKey),
}

impl Index {
    /// Whether it knows who links where, without which it has no
    /// settlement to give (see [`Index::forget_mentions`]).
    pub fn knows_mentions(&self) -> bool {
        !self.no_mentions
    }

    /// The index's settlement, to take at the next load of the same files;
    /// none when it does not know who links where (see
    /// [`Index::forget_mentions`]).
    pub fn settled(&self) -> Option<Settled> {
        if !self.knows_mentions() {
            return None;
        }
        // Where each key's first file (its item's, if it has one) lies; also
        // by the address of the key's string, which the index's copies of a
        // key mostly share (a lookup without hashing or comparing strings).
        let mut position: HashMap<&EventKey, u32> = HashMap::default();
        let mut at: HashMap<*const u8, u32> = HashMap::default();
        position.reserve(self.claims.len());
        at.reserve(self.claims.len());
        let mut items = Vec::with_capacity(self.events.len());
        for (i, (path, event)) in self.files.iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            if self.claims.get(&event.key)?.first()?.0 != *path {
                continue;
            }
            position.insert(&event.key, i);
            at.insert(event.key.as_ptr(), i);
            if let Some(entry) = self.events.get(&event.key) {
                items.push(SettledItem {
                    file: i,
                    ts: entry.ts,
                    updated: entry.updated,
                    extra: entry.extra.as_deref().cloned(),
                });
            }
        }
        if items.len() != self.events.len() {
            return None; // An item without a file: not an index a load makes.
        }
        let mut mentions = Vec::with_capacity(self.mentions.len());
        let find = |k: &EventKey| at.get(&k.as_ptr()).or_else(|| position.get(k)).copied();
        for (target, m) in &self.mentions {
            let by: Option<Vec<u32>> = m.by.iter().map(find).collect();
            let target = match find(target) {
                Some(i) => Target::File(i),
                None => Target::Key(target.clone()),
            };
            mentions.push(SettledMention {
                target,
                resolved: m.resolved,
                by: by?,
            });
        }
        Some(Settled {
            files: self.files.len() as u64,
            pages: self.pages.len() as u64,
            digest: digest(self.files.values()),
            items,
            mentions,
        })
    }
}

/// The event files' events (in path order) as a settlement is made for them:
/// each one's key, day and body.
fn digest<'a>(events: impl Iterator<Item = &'a Arc<Event>>) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for event in events {
        hasher.update(event.key.as_bytes());
        hasher.update(&event.date.num_days_from_ce().to_le_bytes());
        hasher.update(&event.body.hash().to_le_bytes());
    }
    hasher.digest()
}

impl Settled {
    /// Whether it was made for these files: `events`, the event files'
    /// events in path order, and `pages` day pages.
    pub(super) fn fits(&self, events: &[Arc<Event>], pages: usize) -> bool {
        self.files == events.len() as u64
            && self.pages == pages as u64
            && (self.items.iter().map(|i| i.file))
                .chain(self.mentions.iter().flat_map(|m| m.files()))
                .all(|i| (i as usize) < events.len())
            && self.digest == digest(events.iter())
    }

    /// Its items, and who links where.
    pub(super) fn into_parts(self) -> (Vec<SettledItem>, Vec<SettledMention>) {
        (self.items, self.mentions)
    }
}

/// Who links where, the files named by their `events` (which the settlement
/// [fits](Settled::fits)).
pub(super) fn mentions(
    settled: &[SettledMention],
    events: &[Arc<Event>],
) -> HashMap<EventKey, Mention> {
    use rayon::prelude::*;
    // Copying the keys of who links is most of the work, a cache miss or two
    // each: the keys are gathered first (the events lie in memory in their
    // order), which spares reaching each one through its event; and the
    // copies are made in parallel, so that a thread done with its own share
    // of a start helps.
    let keys: Vec<&EventKey> = events.iter().map(|e| &e.key).collect();
    let key = |i: u32| keys[i as usize].clone();
    let made: Vec<(EventKey, Mention)> = (settled.par_iter().with_min_len(1 << 12))
        .map(|m| {
            let target = match &m.target {
                Target::File(i) => key(*i),
                Target::Key(k) => k.clone(),
            };
            let by = m.by.iter().map(|&i| key(i)).collect();
            (
                target,
                Mention {
                    resolved: m.resolved,
                    by,
                },
            )
        })
        .collect();
    let mut mentions = HashMap::default();
    mentions.reserve(made.len());
    mentions.extend(made);
    mentions
}

impl Index {
    /// Makes the items of a loaded index (its files, claims and pages in
    /// place) from the `items` of a settlement that [fits](Settled::fits)
    /// its `events`.
    pub(super) fn take_settled(&mut self, items: Vec<SettledItem>, events: &[Arc<Event>]) {
        let bases: Vec<&Arc<Event>> = (events.iter())
            .filter(|e| !e.versions().is_empty() && Arc::ptr_eq(&self.claims[&e.key][0].1, e))
            .collect();
        register_versions(&bases, &mut self.versioned, &mut self.claimed_by);
        self.events.reserve(items.len());
        for mut item in items {
            let event = events[item.file as usize].clone();
            if let Some(contexts) = item.extra.as_mut().and_then(|e| e.contexts.as_mut()) {
                self.share_contexts(&event, contexts);
            }
            self.days
                .entry(event.date)
                .or_default()
                .insert(event.key.clone());
            let entry = Entry {
                event,
                extra: item.extra.map(Box::new),
                ts: item.ts,
                updated: item.updated,
                placed: true,
            };
            self.events.insert(entry.event.key.clone(), entry);
        }
    }
}

impl Index {
    /// Makes the names of an item's `contexts` the strings its event and the
    /// day pages that give it contexts hold, not copies of them (a day page
    /// gives most events of the archive their contexts).
    fn share_contexts(&self, event: &Event, contexts: &mut [Context]) {
        // The pages of any version of it (see `Index::item`).
        let family = match self.versioned.contains_key(&event.key) {
            true => self.family(&event.key),
            false => vec![event.key.clone()],
        };
        let given = family.iter().filter_map(|k| self.page_contexts.get(k));
        let held: Vec<&Context> = (event.contexts.iter())
            .chain(given.flatten().flat_map(|(_, given)| given.iter()))
            .collect();
        for c in contexts {
            if let Some(shared) = held.iter().find(|h| **h == c) {
                *c = (*shared).clone();
            }
        }
    }
}

impl SettledMention {
    /// The positions of files it names.
    fn files(&self) -> impl Iterator<Item = u32> + '_ {
        let target = match self.target {
            Target::File(i) => Some(i),
            Target::Key(_) => None,
        };
        self.by.iter().copied().chain(target)
    }
}
