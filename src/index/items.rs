//! What an item is, beyond its file: the current version among the files that
//! `### Changes:` sections tie together, the contexts day pages give it, where
//! Related links to it resolve, and the bookkeeping that re-renders the items
//! whose links resolve elsewhere after a change (see the module doc of `index`).

use super::*;
use rayon::prelude::*;
use std::borrow::Cow;

impl Index {
    /// The event of the first file claiming `key`, current or not.
    fn winner(&self, key: &EventKey) -> Option<&Arc<Event>> {
        self.claims.get(key)?.first().map(|(_, event)| event)
    }

    /// The event a link to `key` goes to: its current version, when there is a
    /// file for it. (A current key with a file is an item: one lookup.)
    pub fn resolve(&self, key: &EventKey) -> Option<&Arc<Event>> {
        self.events.get(&self.current(key)).map(|e| &e.event)
    }

    /// Where a link to `key` resolves, as a hash of the page path: what
    /// `mentions` compares to know that the items linking there must change.
    /// From the files, not the items, as it is asked while items are settled.
    fn resolved(&self, key: &EventKey) -> Option<u64> {
        self.winner(&self.current(key)).map(|e| page_hash(e))
    }

    /// Stops keeping who links to whom: for an index that is applied once (a build
    /// from scratch renders every item anyway) and never changed after.
    pub fn forget_mentions(&mut self) {
        self.no_mentions = true;
        self.mentions = HashMap::default();
    }

    /// Versions that more than one base claims to supersede, or that claim their
    /// own successor: (the current one, the one that lost), sorted.
    pub fn version_conflicts(&self) -> Vec<(EventKey, EventKey)> {
        let mut out: Vec<(EventKey, EventKey)> = Vec::new();
        for (key, claimants) in &self.claimed_by {
            if self.winner(key).is_none() {
                continue;
            }
            let rank = self.rank(key);
            for c in claimants.iter().filter(|c| self.rank(c) < rank) {
                out.push((self.current(key), c.clone()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// How a base ranks among the versions of an event: the one that lists more
    /// versions, then the one whose last version is later, then the greater key.
    /// A key without versions (or without a file) ranks below every base with.
    /// Reads `versioned` only, so that it answers for the state before a change
    /// until `settle_all` brings that in line.
    fn rank<'a>(&'a self, key: &'a EventKey) -> (usize, i64, &'a str) {
        match self.versioned.get(key) {
            Some(e) => (
                e.versions().len(),
                e.versions()
                    .iter()
                    .filter_map(|v| v.time)
                    .max()
                    .unwrap_or(i64::MIN),
                key,
            ),
            None => (0, i64::MIN, key),
        }
    }

    /// The current version of `key`: the claimant that outranks it, repeatedly.
    /// Ranks only grow along the way, so this ends.
    fn current(&self, key: &EventKey) -> EventKey {
        if self.claimed_by.is_empty() {
            return key.clone();
        }
        let mut key = key.clone();
        loop {
            let Some(claimants) = self.claimed_by.get(&key) else {
                return key;
            };
            let rank = self.rank(&key);
            let best = claimants
                .iter()
                .map(|c| (self.rank(c), c))
                .filter(|(r, _)| *r > rank)
                .max();
            match best {
                Some((_, c)) => key = c.clone(),
                None => return key,
            }
        }
    }

    /// The keys whose current version is `current`, itself first.
    pub(super) fn family(&self, current: &EventKey) -> Vec<EventKey> {
        let mut out = vec![current.clone()];
        // Most keys list no versions: then they are their whole family.
        if !self.versioned.contains_key(current) {
            return out;
        }
        let mut seen: BTreeSet<EventKey> = out.iter().cloned().collect();
        let mut i = 0;
        while i < out.len() {
            let key = out[i].clone();
            i += 1;
            let Some(base) = self.versioned.get(&key) else {
                continue;
            };
            for v in base.versions().iter() {
                if !seen.contains(&v.key) && self.current(&v.key) == *current {
                    seen.insert(v.key.clone());
                    out.push(v.key.clone());
                }
            }
        }
        out
    }

    /// Brings version claims, items and mentions in line with the files, for the
    /// raw keys and every key whose current version they were or are.
    pub(super) fn settle_all(&mut self, raw: &BTreeSet<EventKey>, touched: &mut Touched) {
        let mut dirty = raw.clone();
        // The families of the current versions of `seeds`, into `dirty`.
        let families = |index: &Self,
                        seeds: &BTreeSet<EventKey>,
                        dirty: &mut BTreeSet<EventKey>| {
            // A seed that is current and lists no versions is its own family,
            // in `dirty` already (most keys).
            let currents: BTreeSet<EventKey> = seeds
                .iter()
                .map(|k| (k, index.current(k)))
                .filter(|(k, c)| index.versioned.contains_key(c) || (c != *k && !seeds.contains(c)))
                .map(|(_, c)| c)
                .collect();
            for c in currents {
                dirty.extend(index.family(&c));
            }
        };
        families(self, raw, &mut dirty);
        for key in raw {
            let winner = self
                .winner(key)
                .filter(|w| !w.versions().is_empty())
                .cloned();
            let old = match &winner {
                Some(w) => self.versioned.insert(key.clone(), w.clone()),
                None => self.versioned.remove(key),
            };
            if let (Some(w), Some(o)) = (&winner, &old) {
                if Arc::ptr_eq(w, o) || w.versions() == o.versions() {
                    continue;
                }
            }
            for v in old.iter().flat_map(|o| o.versions().iter()) {
                if let Some(by) = self.claimed_by.get_mut(&v.key) {
                    by.retain(|c| c != key);
                    if by.is_empty() {
                        self.claimed_by.remove(&v.key);
                    }
                }
            }
            for v in winner.iter().flat_map(|w| w.versions().iter()) {
                if v.key != *key {
                    let by = self.claimed_by.entry(v.key.clone()).or_default();
                    if let Err(i) = by.binary_search(key) {
                        by.reserve_exact(1);
                        by.insert(i, key.clone());
                    }
                }
            }
        }
        // Every key of the old families, not only the raw ones: a version whose
        // base stopped listing it may now belong to another base, whose item
        // then gains what day pages give that version.
        let before = dirty.clone();
        families(self, &before, &mut dirty);
        for key in &dirty {
            self.settle(key, touched);
        }
        for key in &dirty {
            // Most keys are linked from nowhere: no need to resolve them.
            if !self.mentions.contains_key(key) {
                continue;
            }
            let now = self.resolved(key);
            let m = self.mentions.get_mut(key).expect("mentioned");
            if m.resolved == now {
                continue;
            }
            m.resolved = now;
            for by in m.by.iter() {
                let entry = &self.events[by];
                touched.days.insert(entry.event.date);
                touched.contexts.extend(entry.contexts().iter().cloned());
            }
        }
    }

    /// [`Index::settle_all`] for [`Index::load`], where every key with a file is
    /// raw and none has an item yet: the version claims are registered first,
    /// then each key's item is made once, and who links where is gathered as it
    /// goes and resolved once per target (the claims are final by then). Key
    /// by key in the order of their first files, the order the events were
    /// loaded (and lie in memory) in: nothing here depends on the order, and
    /// the lists that must be sorted are sorted at the end. Gives up once it
    /// sees `abandon` set (see [`Index::load_gathered`]).
    pub(super) fn settle_loaded(&mut self, abandon: &AtomicBool) -> Result<(), Abandoned> {
        // The first file of each key, once.
        let bases: Vec<&Arc<Event>> = (self.files.values())
            .filter(|e| Arc::ptr_eq(&self.claims[&e.key][0].1, e))
            .collect();
        register_versions(&bases, &mut self.versioned, &mut self.claimed_by);
        // Each item is made from the index as it stands, independently of the
        // others: on every core that is free (a build from scratch has both).
        let items: Vec<Option<Entry>> = (bases.par_iter())
            .map(|e| match Abandoned::check(abandon) {
                Err(Abandoned) => None,
                Ok(()) => self.item(&e.key),
            })
            .collect();
        Abandoned::check(abandon)?;
        // Room for half the events as targets (a guess: many events are linked
        // to), to spare most of the rehashing of a large map.
        let mut linked: HashMap<EventKey, Vec<EventKey>> = HashMap::default();
        linked.reserve(bases.len() / 2);
        self.events.reserve(bases.len());
        for (key, entry) in bases.iter().map(|e| &e.key).zip(items) {
            let Some(entry) = entry else {
                continue;
            };
            let day = self.days.entry(entry.event.date).or_default();
            day.insert(key.clone());
            for target in entry.event.links.iter().filter(|_| !self.no_mentions) {
                linked.entry(target.clone()).or_default().push(key.clone());
            }
            self.events.insert(key.clone(), entry);
        }
        let mentions: Vec<(EventKey, Mention)> = linked
            .into_par_iter()
            .map(|(target, mut by)| {
                by.sort_unstable();
                by.dedup();
                let resolved = self.resolved(&target);
                let by = by.into();
                (target, Mention { resolved, by })
            })
            .collect();
        self.mentions.reserve(mentions.len());
        self.mentions.extend(mentions);
        Ok(())
    }

    /// The item `key` stands for, if it is current.
    fn item(&self, key: &EventKey) -> Option<Entry> {
        let base = self.winner(key)?;
        if self.current(key) != *key {
            return None;
        }
        // The file's own contexts, and those day pages give any version: a
        // copy only when a page gives some (few items are on one).
        let mut contexts: Option<Vec<Context>> = None;
        if !base.contexts_pinned {
            let mut add = |k: &EventKey| {
                for (_, given) in self.page_contexts.get(k).into_iter().flatten() {
                    contexts
                        .get_or_insert_with(|| base.contexts.to_vec())
                        .extend(given.iter().cloned());
                }
            };
            // Most keys list no versions: then they are their whole family.
            match self.versioned.contains_key(key) {
                true => self.family(key).iter().for_each(&mut add),
                false => add(key),
            }
        }
        let contexts = contexts.and_then(|mut contexts| {
            contexts.sort();
            contexts.dedup();
            (*contexts != *base.contexts).then(|| contexts.into())
        });
        let first = base
            .versions()
            .iter()
            .find(|v| v.first)
            .or(base.versions().first());
        let day = base
            .date
            .and_hms_opt(0, 0, 0)
            .expect("valid")
            .and_utc()
            .timestamp();
        // Version timestamps long after the day are when an archive was imported
        // or converted, not when the news was written or revised: not item times.
        let near = |t: &i64| (day..day + VERSION_WINDOW).contains(t);
        let first_time = first.and_then(|v| v.time).filter(near);
        let extra = Extra {
            // Most items have exactly their file's contexts: no copy then.
            contexts,
            first_version: first.filter(|v| v.key != *key).map(|v| v.path.clone()),
            explicit: base.time().map(|t| t.timestamp()).or(first_time),
            latest: base
                .versions()
                .iter()
                .filter_map(|v| v.time)
                .filter(near)
                .max(),
        };
        Some(Entry {
            extra: (extra != Extra::default()).then(|| Box::new(extra)),
            ts: 0,
            updated: 0,
            placed: false,
            event: base.clone(),
        })
    }

    /// Makes `events[key]` the item of `key`, if it changed.
    fn settle(&mut self, key: &EventKey, touched: &mut Touched) {
        let item = self.item(key);
        let current = self.events.get(key);
        if let (Some(new), Some(old)) = (&item, current) {
            let same_event = Arc::ptr_eq(&new.event, &old.event) || new.event == old.event;
            if same_event && new.extra == old.extra {
                return;
            }
        }
        if let Some(entry) = self.events.remove(key) {
            if self.trace {
                touched.left.push(self.trace_of(key, &entry));
            }
            self.unplace(key, &entry);
            touched.days.insert(entry.event.date);
            touched.contexts.extend(entry.contexts().iter().cloned());
            let day = self.days.get_mut(&entry.event.date).expect("indexed day");
            day.remove(key);
            if day.is_empty() {
                self.days.remove(&entry.event.date);
                touched.listing = true;
                touched.days_listed.insert(entry.event.date);
            }
            for target in entry.event.links.iter() {
                if let Some(m) = self.mentions.get_mut(target) {
                    if let Ok(i) = m.by.binary_search(key) {
                        let mut by = std::mem::take(&mut m.by).into_vec();
                        by.remove(i);
                        m.by = by.into();
                    }
                    if m.by.is_empty() {
                        self.mentions.remove(target);
                    }
                }
            }
        }
        if let Some(entry) = item {
            touched.days.insert(entry.event.date);
            touched.contexts.extend(entry.contexts().iter().cloned());
            let day = self.days.entry(entry.event.date).or_default();
            if day.is_empty() {
                touched.listing = true;
                touched.days_listed.insert(entry.event.date);
            }
            day.insert(key.clone());
            for target in entry.event.links.iter().filter(|_| !self.no_mentions) {
                if !self.mentions.contains_key(target) {
                    let resolved = self.resolved(target);
                    let by = Box::default();
                    self.mentions
                        .insert(target.clone(), Mention { resolved, by });
                }
                let m = self.mentions.get_mut(target).expect("inserted");
                if let Err(i) = m.by.binary_search(key) {
                    // An exact-size slice: most keys are linked from one or two
                    // items, and a Vec's spare room would cost more than the copy.
                    let mut by = std::mem::take(&mut m.by).into_vec();
                    by.insert(i, key.clone());
                    m.by = by.into();
                }
            }
            if self.trace {
                touched.came.push(key.clone());
            }
            self.events.insert(key.clone(), entry);
        }
    }

    /// An item as it stands, before a change takes it out.
    fn trace_of(&self, key: &EventKey, entry: &Entry) -> Trace {
        let slug = |c: &Context| self.contexts.get(c).map(|x| x.slug.clone());
        Trace {
            key: key.clone(),
            event: entry.event.clone(),
            id_path: entry.id_path().into(),
            ts: entry.ts,
            contexts: entry
                .contexts()
                .iter()
                .filter_map(|c| Some((c.clone(), slug(c)?)))
                .collect(),
        }
    }
}

/// A hash of what an event's page path is made of: its custom path, or its key
/// and padding, so that no path is formatted. (Two ways to one path hash
/// differently: that only renders the items linking there once more.)
fn page_hash(e: &Event) -> u64 {
    match e.custom_path() {
        Some(path) => crate::slug::stable_hash(path.as_bytes()),
        None => {
            crate::slug::stable_hash(e.key.as_bytes())
                ^ (1 + u64::from(e.pad.month) + 2 * u64::from(e.pad.day))
        }
    }
}

/// Registers the version claims of a load, from `bases` (the first file of
/// each key): what [`Index::settle_all`] registers of each raw key.
pub(super) fn register_versions(
    bases: &[&Arc<Event>],
    versioned: &mut HashMap<EventKey, Arc<Event>>,
    claimed_by: &mut HashMap<EventKey, Vec<EventKey>>,
) {
    for base in bases.iter().filter(|e| !e.versions().is_empty()) {
        let key = &base.key;
        versioned.insert(key.clone(), Arc::clone(base));
        for v in base.versions().iter().filter(|v| v.key != *key) {
            claimed_by
                .entry(v.key.clone())
                .or_default()
                .push(key.clone());
        }
    }
    for by in claimed_by.values_mut() {
        by.sort_unstable();
        by.dedup();
        by.shrink_to_fit();
    }
}

impl Entry {
    /// The item's contexts: its file's, and those day pages give it.
    pub fn contexts(&self) -> &[Context] {
        self.extra()
            .contexts
            .as_deref()
            .unwrap_or(&self.event.contexts)
    }

    /// The path the item id derives from: the first version's, so that an edit
    /// that makes a new version updates the reader's item in place.
    pub fn id_path(&self) -> Cow<'_, str> {
        match &self.extra().first_version {
            Some(path) => Cow::Borrowed(path),
            None => self.event.path(),
        }
    }

    pub(super) fn extra(&self) -> &Extra {
        static NONE: Extra = Extra {
            contexts: None,
            first_version: None,
            explicit: None,
            latest: None,
        };
        self.extra.as_deref().unwrap_or(&NONE)
    }
}
