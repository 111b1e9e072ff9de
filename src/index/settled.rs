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
struct SettledItem {
    /// The position of the item's file in `files`.
    file: u32,
    ts: i64,
    updated: i64,
    extra: Option<Extra>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SettledMention {
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
    /// The index's settlement, to take at the next load of the same files;
    /// none when it does not know who links where (see
    /// [`Index::forget_mentions`]).
    pub fn settled(&self) -> Option<Settled> {
        if self.no_mentions {
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
            digest: self.digest(),
            items,
            mentions,
        })
    }

    /// The files as a settlement is made for them: each event's key, day and
    /// body, in order.
    fn digest(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for event in self.files.values() {
            hasher.update(event.key.as_bytes());
            hasher.update(&event.date.num_days_from_ce().to_le_bytes());
            hasher.update(&event.body.hash().to_le_bytes());
        }
        hasher.digest()
    }

    /// Makes the items and mentions of a loaded index (its files, claims and
    /// pages in place) from `settled`, if it was made for these files; says
    /// whether it was.
    pub(super) fn take_settled(&mut self, settled: Settled) -> bool {
        let files: Vec<Arc<Event>> = self.files.values().cloned().collect();
        let fits = settled.files == files.len() as u64
            && settled.pages == self.pages.len() as u64
            && (settled.items.iter().map(|i| i.file))
                .chain(settled.mentions.iter().flat_map(|m| m.files()))
                .all(|i| (i as usize) < files.len())
            && settled.digest == self.digest();
        if !fits {
            return false;
        }
        let bases: Vec<&Arc<Event>> = (files.iter())
            .filter(|e| !e.versions().is_empty() && Arc::ptr_eq(&self.claims[&e.key][0].1, e))
            .collect();
        register_versions(&bases, &mut self.versioned, &mut self.claimed_by);
        self.events.reserve(settled.items.len());
        for mut item in settled.items {
            let event = files[item.file as usize].clone();
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
        self.mentions.reserve(settled.mentions.len());
        for m in settled.mentions {
            let by = m.by.iter().map(|&i| files[i as usize].key.clone());
            let mention = Mention {
                resolved: m.resolved,
                by: by.collect(),
            };
            let target = match m.target {
                Target::File(i) => files[i as usize].key.clone(),
                Target::Key(key) => key,
            };
            self.mentions.insert(target, mention);
        }
        true
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
