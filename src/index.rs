//! The index: every valid event, by file, by canonical key, by day and by context,
//! kept sorted the way feeds list them. [`Index::apply`] takes a change set and says
//! what it touched, so that only those feeds are rendered again.
//!
//! An item is more than its file. Three kinds of facts meet here:
//! - event files: the first file (by path) claiming a key is that key's *base*;
//! - `### Changes:` sections: a base lists earlier versions of itself. A key is
//!   *current* unless a base that outranks it (more versions listed, then a later
//!   last version, then the greater key) claims it; only current keys are items,
//!   and links to any version resolve to the current one;
//! - day pages: the contexts they give a key go to that key's current version.
//!
//! A change to any of these marks *raw* keys (the file's key, the versions it
//! lists, the keys a page names). Every key whose current version was one of
//! theirs, before or after, is settled again: its item recomputed and compared.
//! Items whose Related links now resolve elsewhere are touched too (`mentions`).
//!
//! Everything here is a function of the set of files alone, never of the order the
//! changes came in: that is what makes the daemon's output equal a fresh build.

use crate::model::{ArcStr, Context, DayPage, Event, EventKey};
use crate::slug::{context_slug_base, short_hash, stable_hash};
use chrono::{DateTime, NaiveDate, Utc};
pub use file_key::FileKey;
pub use item_set::ItemSet;
use items::register_versions;
use rayon::slice::ParallelSliceMut;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
pub use settled::Settled;
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The contexts one day page gives one key.
type PageGift = (FileKey, Arc<[Context]>);

/// A short list that almost always holds one item: kept inline, not on the heap.
type Few<T> = SmallVec<[T; 1]>;

/// Seconds after noon an event without a time of day can be given.
const SLOTS: usize = 3600;

/// How feeds order items: newest first, ties broken by key.
pub type ItemKey = (Reverse<i64>, EventKey);

/// One change to the input tree, with the file's new contents already parsed.
#[derive(Debug, Clone)]
pub enum Change {
    Upsert(PathBuf, Arc<Event>),
    /// A day page, new or changed.
    Page(PathBuf, Arc<DayPage>),
    Remove(PathBuf),
}

/// A file as a load files it: its key in the index's maps, and what it holds.
pub enum Filed {
    Event(FileKey, Arc<Event>),
    Page(FileKey, Arc<DayPage>),
}

impl Filed {
    /// The file a change brings, if any.
    pub fn of(change: Change) -> Option<Self> {
        match change {
            Change::Upsert(path, event) => {
                Some(Self::Event(FileKey::of_event(&path, &event), event))
            }
            Change::Page(path, page) => Some(Self::Page(FileKey::of(&path), page)),
            Change::Remove(_) => None,
        }
    }

    fn key(&self) -> &FileKey {
        match self {
            Self::Event(key, _) | Self::Page(key, _) => key,
        }
    }

    fn into_change(self) -> Change {
        match self {
            Self::Event(key, event) => Change::Upsert(key.to_path(), event),
            Self::Page(key, page) => Change::Page(key.to_path(), page),
        }
    }
}

/// The files of a load, decoded and sorted by kind: what the index is then
/// built of (see [`Index::load_gathered`]).
pub struct Gathered {
    files: Vec<(FileKey, Arc<Event>)>,
    pages: Vec<(FileKey, Arc<DayPage>)>,
    /// The event files' events in path order, which a settlement names
    /// them by (kept only to take one).
    events: Vec<Arc<Event>>,
    decoded: std::time::Duration,
}

impl Gathered {
    /// Gathers `filed`, keeping the events in order when a settlement is to
    /// be taken (`settled`).
    pub fn new(filed: impl IntoIterator<Item = Filed>, settled: bool) -> Self {
        let t = std::time::Instant::now();
        let filed = filed.into_iter();
        // Room for every file at once (the store's records say how many
        // are left; a load stops early only on an error). Day pages are few.
        let room = filed.size_hint().1.unwrap_or(0);
        let (mut files, mut pages) = (Vec::with_capacity(room), Vec::new());
        // Taken while each event is fresh in the cache.
        let mut events = Vec::with_capacity(if settled { room } else { 0 });
        for file in filed {
            match file {
                Filed::Event(key, event) => {
                    if settled {
                        events.push(event.clone());
                    }
                    files.push((key, event));
                }
                Filed::Page(key, page) => pages.push((key, page)),
            }
        }
        debug_assert!(!settled || files.is_sorted_by(|a, b| a.0 <= b.0));
        Self {
            files,
            pages,
            events,
            decoded: t.elapsed(),
        }
    }
}

/// A load given up half way (see [`Index::load_gathered`]).
#[derive(Debug, PartialEq)]
pub struct Abandoned;

impl Abandoned {
    /// An error once `abandon` is set.
    fn check(abandon: &AtomicBool) -> Result<(), Abandoned> {
        match abandon.load(Ordering::Relaxed) {
            true => Err(Abandoned),
            false => Ok(()),
        }
    }
}

/// What a change set touched: the feeds whose content may differ now.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Touched {
    pub days: BTreeSet<NaiveDate>,
    pub contexts: BTreeSet<Context>,
    /// Context slugs no longer in use, whose feeds must go.
    pub freed_slugs: BTreeSet<ArcStr>,
    /// Whether the set of feeds changed (a day or context came or went, a slug
    /// moved): what the OPML list depends on.
    pub listing: bool,
    /// Contexts whose slug changed (not new ones): the pages that link to them
    /// must follow.
    pub moved: BTreeSet<Context>,
    /// Contexts that got a slug (new or moved): the A-Z pages they appear on.
    pub slugged: BTreeSet<Context>,
    /// Days that gained their first event or lost their last: their neighbours'
    /// archive links depend on them.
    pub days_listed: BTreeSet<NaiveDate>,
    /// Items as they were before they changed or went, and the keys of items
    /// that came or changed: what tombstones are made of. Kept only while
    /// [`Index::trace_items`] is on.
    pub left: Vec<Trace>,
    pub came: Vec<EventKey>,
}

/// An item as it stood in the feeds before a change took it out (or changed it):
/// enough to name it (its id) and the feeds it was in.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub key: EventKey,
    pub event: Arc<Event>,
    /// The path its id derives from (see `Entry::id_path`).
    pub id_path: ArcStr,
    pub ts: i64,
    /// Its contexts, each with the slug it had.
    pub contexts: Vec<(Context, ArcStr)>,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.days.is_empty() && self.contexts.is_empty() && self.freed_slugs.is_empty()
    }
}

/// The item a current key stands for, and its place in the sorted sets.
#[derive(Debug, PartialEq)]
pub struct Entry {
    /// The current version's event.
    pub event: Arc<Event>,
    /// What day pages, versions or front matter add; boxed, as few items have
    /// any (the daemon keeps an entry per event).
    extra: Option<Box<Extra>>,
    /// The item timestamp (seconds since the epoch): the explicit time where
    /// there is one, else noon UTC of its day plus a stable offset, see
    /// `Index::assign_times`.
    pub ts: i64,
    /// When the item last changed: its last version's time, or `ts`.
    pub updated: i64,
    /// Whether the event is in `all` and its contexts' sets (under `ts`).
    placed: bool,
}

// The daemon keeps one per event.
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

/// An item's contexts, identity and times beyond its file and day.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Extra {
    /// Its own contexts and those day pages give any of its versions, sorted,
    /// when they are more than its own (see `Entry::contexts`).
    contexts: Option<Box<[Context]>>,
    /// The first version's path, when it is another file (see `Entry::id_path`).
    first_version: Option<ArcStr>,
    /// A published time from front matter or the first version's timestamp.
    explicit: Option<i64>,
    /// The newest version timestamp (within `VERSION_WINDOW` of the day).
    latest: Option<i64>,
}

/// The events whose Related entries name a key, and where that key resolved
/// when they were last rendered.
#[derive(Debug, Default, PartialEq)]
struct Mention {
    /// A hash of the page path (see `Index::resolved`).
    resolved: Option<u64>,
    /// Sorted.
    by: Box<[EventKey]>,
}

/// How long after its day a version timestamp still says when the event was
/// written or revised (rather than when an archive was imported, years later).
const VERSION_WINDOW: i64 = 7 * 86_400;

#[derive(Debug, Default, PartialEq)]
pub struct ContextEntry {
    pub items: ItemSet,
    pub slug: ArcStr,
    /// The count it is filed under in `Index::ranking` (0: not filed).
    ranked: usize,
}

#[derive(Debug, Default, PartialEq)]
pub struct Index {
    /// Sorted by bytes, so that the files under a folder are one range (and
    /// comparing is a `memcmp`, not a walk over path components).
    files: BTreeMap<FileKey, Arc<Event>>,
    /// The files claiming each key (copies of one event), with their events,
    /// so that the winner is one hash lookup away (not a search of `files`
    /// comparing paths). The first path wins. Sorted; almost every key has
    /// exactly one file.
    claims: HashMap<EventKey, Few<(FileKey, Arc<Event>)>>,
    /// Day pages, by file.
    pages: BTreeMap<FileKey, Arc<DayPage>>,
    /// The first file's event of each key whose first file lists versions: what
    /// version claims were registered from, and what ranks keys.
    versioned: HashMap<EventKey, Arc<Event>>,
    /// How many day pages each day's folder holds (in the archive layout): a day
    /// with a page keeps its feeds, empty, when it loses its last event.
    page_days: BTreeMap<NaiveDate, usize>,
    /// The contexts day pages give each key, by page (sorted by page).
    page_contexts: HashMap<EventKey, Few<PageGift>>,
    /// The bases that list each key as an earlier version of themselves (sorted).
    claimed_by: HashMap<EventKey, Vec<EventKey>>,
    /// The keys Related entries of items point at (not kept when the index
    /// is applied once, see `Index::forget_mentions`).
    mentions: HashMap<EventKey, Mention>,
    no_mentions: bool,
    /// Whether [`Touched`] gets the items that left and came (for tombstones).
    trace: bool,
    /// While [`Index::load`] gives the items their times: they are filed in
    /// the sorted sets in bulk afterwards (`place_all`), not one by one.
    loading: bool,
    /// The items: current keys only.
    events: HashMap<EventKey, Entry>,
    days: BTreeMap<NaiveDate, BTreeSet<EventKey>>,
    contexts: HashMap<Context, ContextEntry>,
    all: BTreeSet<ItemKey>,
    /// Contexts by slug base, to give colliding names distinct slugs (sorted;
    /// almost every group has one name).
    slug_groups: HashMap<ArcStr, Few<Context>>,
    /// Which context owns each slug, sorted: the A-Z listings are its ranges.
    by_slug: BTreeMap<ArcStr, Context>,
    /// The contexts by count of items (most first), then by name: the most
    /// active ones, which the home page and OPML list after every change, are
    /// its head (not a pass over every context each time).
    ranking: BTreeSet<(Reverse<usize>, Context)>,
}

impl Index {
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    pub fn event(&self, key: &str) -> Option<&Entry> {
        self.events.get(key)
    }

    /// The file an effective event comes from.
    pub fn source_of(&self, key: &str) -> Option<PathBuf> {
        self.claims
            .get(key)
            .and_then(|c| c.first())
            .map(|(k, _)| k.to_path())
    }

    /// Keys claimed by more than one file, with the files (the first one wins).
    pub fn duplicates(&self) -> impl Iterator<Item = (&EventKey, Vec<PathBuf>)> {
        self.claims
            .iter()
            .filter(|(_, paths)| paths.len() > 1)
            .map(|(key, paths)| (key, paths.iter().map(|(p, _)| p.to_path()).collect()))
    }

    /// The duplicate groups (as [`Index::duplicates`] gives them) that hold one
    /// of `paths`: what a batch that read those files has to say, found without
    /// walking every key.
    pub fn duplicates_among(&self, paths: &[PathBuf]) -> Vec<(&EventKey, Vec<PathBuf>)> {
        let mut groups: Vec<(&EventKey, Vec<PathBuf>)> = Vec::new();
        for path in paths {
            let Some(event) = self.files.get(&FileKey::of(path)) else {
                continue;
            };
            match self.claims.get_key_value(&event.key) {
                Some((key, claims)) if claims.len() > 1 => {
                    groups.push((key, claims.iter().map(|(p, _)| p.to_path()).collect()));
                }
                _ => {}
            }
        }
        groups.sort();
        groups.dedup();
        groups
    }

    /// Every valid event file and the event it holds.
    pub fn files(&self) -> impl Iterator<Item = (PathBuf, &Arc<Event>)> {
        self.files.iter().map(|(k, e)| (k.to_path(), e))
    }

    /// Every day page and what it says.
    pub fn pages(&self) -> impl Iterator<Item = (PathBuf, &Arc<DayPage>)> {
        self.pages.iter().map(|(k, p)| (k.to_path(), p))
    }

    /// The files (events and day pages) inside folder `dir` (relative to the
    /// input root).
    pub fn paths_under<'a>(&'a self, dir: &Path) -> impl Iterator<Item = PathBuf> + 'a {
        let mut prefix = dir.as_os_str().as_bytes().to_vec();
        prefix.push(b'/');
        let prefix = FileKey::other(&prefix);
        keys_under(&self.files, prefix.clone())
            .chain(keys_under(&self.pages, prefix))
            .map(FileKey::to_path)
    }

    /// How many files the index holds, events and day pages.
    pub fn path_count(&self) -> usize {
        self.files.len() + self.pages.len()
    }

    /// Every file the index holds, events and day pages.
    pub fn paths(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files
            .keys()
            .chain(self.pages.keys())
            .map(FileKey::to_path)
    }

    /// The paths that cut its event files into `parts` runs of about equal
    /// length, in order (none for fewer files than parts).
    pub fn cuts(&self, parts: usize) -> Vec<PathBuf> {
        let step = self.files.len() / parts.max(1);
        if step == 0 {
            return Vec::new();
        }
        let keys = (self.files.keys().step_by(step).skip(1)).take(parts.saturating_sub(1));
        keys.map(FileKey::to_path).collect()
    }

    /// The files the index holds that `scanned` (a scan's paths) does not
    /// list: the ones gone.
    pub fn paths_missing_from<'a>(&self, scanned: impl Iterator<Item = &'a Path>) -> Vec<PathBuf> {
        // Hashed as bytes: hashing a `Path` walks its components.
        let present: HashSet<&[u8]> = scanned.map(|p| p.as_os_str().as_bytes()).collect();
        self.paths()
            .filter(|p| !present.contains(p.as_os_str().as_bytes()))
            .collect()
    }

    pub fn all(&self) -> &BTreeSet<ItemKey> {
        &self.all
    }

    pub fn days(&self) -> &BTreeMap<NaiveDate, BTreeSet<EventKey>> {
        &self.days
    }

    pub fn contexts(&self) -> &HashMap<Context, ContextEntry> {
        &self.contexts
    }

    /// The `n` contexts with the most items (ties by name), in that order.
    pub fn most_active(&self, n: usize) -> impl Iterator<Item = (&Context, &ContextEntry)> {
        self.ranking
            .iter()
            .take(n)
            .map(|(_, name)| (name, &self.contexts[name]))
    }

    pub fn context(&self, name: &str) -> Option<&ContextEntry> {
        self.contexts.get(name)
    }

    /// Every context by slug, in slug order.
    pub fn slugs(&self) -> &BTreeMap<ArcStr, Context> {
        &self.by_slug
    }

    /// Whether a day has feeds: it has events, or a day page (then its feeds stay,
    /// empty, when it loses its last event, so its subscribers get no 404).
    pub fn day_exists(&self, day: NaiveDate) -> bool {
        self.days.contains_key(&day) || self.page_days.contains_key(&day)
    }

    /// Says whether the next changes report the items they take out or bring
    /// in ([`Touched::left`], [`Touched::came`]): for tombstones, and off for
    /// a build from scratch, which would list every item as come.
    pub fn trace_items(&mut self, on: bool) {
        self.trace = on;
    }

    /// The years that have day feeds: one seek per year, not a walk of every
    /// day (the home page asks on every change).
    pub fn feed_years(&self) -> BTreeSet<i32> {
        fn years<V>(days: &BTreeMap<NaiveDate, V>, out: &mut BTreeSet<i32>) {
            use chrono::Datelike;
            let mut next = days.keys().next();
            while let Some(day) = next {
                out.insert(day.year());
                next = NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
                    .and_then(|first| days.range(first..).next())
                    .map(|(d, _)| d);
            }
        }
        let mut out = BTreeSet::new();
        years(&self.days, &mut out);
        years(&self.page_days, &mut out);
        out
    }

    /// Every day that has feeds, in order.
    pub fn feed_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.feed_days_in(NaiveDate::MIN..=NaiveDate::MAX)
    }

    /// The days that have feeds within `range`, in order.
    pub fn feed_days_in(
        &self,
        range: std::ops::RangeInclusive<NaiveDate>,
    ) -> impl Iterator<Item = NaiveDate> + '_ {
        let mut days: BTreeSet<NaiveDate> =
            self.days.range(range.clone()).map(|(d, _)| *d).collect();
        days.extend(self.page_days.range(range).map(|(d, _)| *d));
        days.into_iter()
    }

    /// The nearest non-empty days before and after `day`.
    pub fn neighbours(&self, day: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let prev = self.days.range(..day).next_back().map(|(d, _)| *d);
        let next = self
            .days
            .range(day.succ_opt().unwrap_or(day)..)
            .next()
            .map(|(d, _)| *d);
        (prev, next)
    }

    /// Applies a change set; says which days and contexts it touched.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) -> Touched {
        let mut touched = Touched::default();
        let mut raw = BTreeSet::new();
        for change in changes {
            match change {
                Change::Upsert(path, event) => {
                    let path = FileKey::of_event(&path, &event);
                    self.remove_page(&path, &mut raw, &mut touched);
                    if let Some(old) = self.files.insert(path.clone(), event.clone()) {
                        self.unclaim(&path, &old, &mut raw);
                    }
                    let claims = self.claims.entry(event.key.clone()).or_default();
                    match claims.binary_search_by(|(p, _)| p.cmp(&path)) {
                        Ok(i) => claims[i].1 = event.clone(),
                        Err(i) => {
                            // Exactly: a key almost always has one file, and a
                            // `Vec` grows from empty to four.
                            claims.reserve_exact(1);
                            claims.insert(i, (path, event.clone()));
                        }
                    }
                    mark_event(&event, &mut raw);
                }
                Change::Page(path, page) => {
                    let path = FileKey::of(&path);
                    self.remove_file(&path, &mut raw);
                    self.remove_page(&path, &mut raw, &mut touched);
                    for e in page.entries.iter() {
                        let given = self.page_contexts.entry(e.key.clone()).or_default();
                        if let Err(i) = given.binary_search_by(|(p, _)| p.cmp(&path)) {
                            given.reserve_exact(1);
                            given.insert(i, (path.clone(), e.contexts.clone()));
                        }
                        raw.insert(e.key.clone());
                    }
                    if let Some(day) = page_day(&path) {
                        let n = self.page_days.entry(day).or_default();
                        *n += 1;
                        if *n == 1 {
                            touched.days.insert(day);
                            touched.days_listed.insert(day);
                            touched.listing = true;
                        }
                    }
                    self.pages.insert(path, page);
                }
                Change::Remove(path) => {
                    let path = FileKey::of(&path);
                    self.remove_file(&path, &mut raw);
                    self.remove_page(&path, &mut raw, &mut touched);
                }
            }
        }
        self.settle_all(&raw, &mut touched);
        for day in touched.days.clone() {
            self.assign_times(day, &mut touched);
        }
        self.assign_slugs(&mut touched);
        self.file_by_count(&touched.contexts);
        touched
    }

    /// Fills an empty index with `changes` that name each path once (a
    /// start from the store's records): what [`Index::apply`] makes of them,
    /// with the maps by path built in bulk from sorted runs rather than by a
    /// search per file. Reports nothing: everything changed. An index that is
    /// not empty is applied to.
    pub fn load(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.load_settled(changes, None);
    }

    /// [`Index::load`], taking the items and mentions from `settled` (see
    /// [`Index::settled`]) if it was made for these files; says whether it was.
    pub fn load_settled(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        settled: Option<Settled>,
    ) -> bool {
        if self.path_count() > 0 {
            self.apply(changes);
            return false;
        }
        let filed = changes.into_iter().filter_map(Filed::of);
        let Some(settled) = settled else {
            return self.load_filed(filed, None);
        };
        let mut filed: Vec<Filed> = filed.collect();
        filed.sort_by(|a, b| a.key().cmp(b.key()));
        self.load_filed(filed, Some(settled))
    }

    /// [`Index::load_settled`] of files already keyed, in path order when
    /// with a settlement, as a store gives them: a settlement names the files
    /// by their place in that order (given another, it does not fit: its
    /// digest of the events in order differs).
    pub fn load_filed(
        &mut self,
        filed: impl IntoIterator<Item = Filed>,
        settled: Option<Settled>,
    ) -> bool {
        if self.path_count() > 0 {
            self.apply(filed.into_iter().map(Filed::into_change));
            return false;
        }
        let gathered = Gathered::new(filed, settled.is_some());
        let never = AtomicBool::new(false);
        self.load_gathered(gathered, settled, &never) == Ok(true)
    }

    /// [`Index::load_filed`] into an empty index, of files gathered already,
    /// unless `abandon` is set meanwhile (checked between its steps): then
    /// the index is left half built, to be thrown away.
    pub fn load_gathered(
        &mut self,
        gathered: Gathered,
        settled: Option<Settled>,
        abandon: &AtomicBool,
    ) -> Result<bool, Abandoned> {
        debug_assert_eq!(self.path_count(), 0, "loading into a full index");
        let go_on = || Abandoned::check(abandon);
        go_on()?;
        let t = std::time::Instant::now();
        let Gathered {
            files,
            pages,
            events,
            decoded,
        } = gathered;
        let settled = settled.filter(|s| s.fits(&events, pages.len()));
        let taken = settled.is_some();
        let (items, mentions) = settled.map(Settled::into_parts).unzip();
        // Who links where needs only the events by position: made on the
        // thread the scan lets go of, while this one files the files and
        // items and sorts them into their sets (which need no mentions).
        let mut times = [std::time::Duration::ZERO; 3]; // claimed, settled, placed and named
        let (filed, mentions) = rayon::join(
            || {
                self.file_loaded(files, pages, abandon)?;
                times[0] = t.elapsed();
                if let Some(items) = items {
                    go_on()?;
                    self.take_settled(items, &events);
                    times[1] = t.elapsed();
                    go_on()?;
                    self.place_all();
                    self.name_all();
                    times[2] = t.elapsed();
                }
                Ok(())
            },
            || mentions.map(|m| settled::mentions(&m, &events)),
        );
        filed?;
        let joined = t.elapsed();
        if let Some(mentions) = mentions {
            self.mentions = mentions;
        }
        if !taken {
            go_on()?;
            let mut touched = Touched::default();
            self.loading = true;
            self.settle_loaded(abandon)?;
            let days: Vec<NaiveDate> = self.days.keys().copied().collect();
            for day in days {
                go_on()?;
                self.assign_times(day, &mut touched);
            }
            self.loading = false;
            times[1] = t.elapsed();
            go_on()?;
            self.place_all();
            self.name_all();
            times[2] = t.elapsed();
        }
        // Where the index's half of a start goes (`EVENTFEED_LOG=debug`).
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        let [claimed, settled_at, placed] = times;
        tracing::debug!(
            decoded_ms = ms(decoded),
            claimed_ms = ms(claimed),
            settled_ms = ms(settled_at.saturating_sub(claimed)),
            placed_and_named_ms = ms(placed.saturating_sub(settled_at)),
            // The wait for who links where, when its settlement was taken.
            mentions_wait_ms = ms(joined.saturating_sub(placed.max(claimed))),
            "index load"
        );
        Ok(taken)
    }

    /// Files the decoded `files` and `pages` of a load, in path order, and
    /// who claims each key and what pages give each; gives up once it sees
    /// `abandon` set.
    fn file_loaded(
        &mut self,
        files: Vec<(FileKey, Arc<Event>)>,
        pages: Vec<(FileKey, Arc<DayPage>)>,
        abandon: &AtomicBool,
    ) -> Result<(), Abandoned> {
        // The store's order is the maps' order: collecting checks, then builds.
        self.files = files.into_iter().collect();
        self.pages = pages.into_iter().collect();
        debug_assert!(self.pages.keys().all(|p| !self.files.contains_key(p)));
        self.claims.reserve(self.files.len());
        self.page_contexts
            .reserve(self.pages.values().map(|p| p.entries.len()).sum());
        for (i, (path, event)) in self.files.iter().enumerate() {
            if i % 4096 == 0 {
                Abandoned::check(abandon)?;
            }
            // In path order, so each key's claims come sorted.
            let claims = self.claims.entry(event.key.clone()).or_default();
            claims.reserve_exact(1);
            claims.push((path.clone(), event.clone()));
        }
        for (path, page) in &self.pages {
            for e in page.entries.iter() {
                let given = self.page_contexts.entry(e.key.clone()).or_default();
                // A page naming a key twice gives it the first entry's contexts.
                if given.last().is_none_or(|(p, _)| p != path) {
                    given.reserve_exact(1);
                    given.push((path.clone(), e.contexts.clone()));
                }
            }
            if let Some(day) = page_day(path) {
                *self.page_days.entry(day).or_default() += 1;
            }
        }
        Ok(())
    }

    /// Files `contexts` again in `ranking` under their counts now.
    fn file_by_count(&mut self, contexts: &BTreeSet<Context>) {
        for name in contexts {
            let Some(c) = self.contexts.get_mut(name) else {
                continue; // Gone, and taken out of the ranking then.
            };
            let count = c.items.len();
            let old = std::mem::replace(&mut c.ranked, count);
            if old != count {
                if old > 0 {
                    self.ranking.remove(&(Reverse(old), name.clone()));
                }
                if count > 0 {
                    self.ranking.insert((Reverse(count), name.clone()));
                }
            }
        }
    }

    /// Files every item in `all` and its contexts' sets under its time, each
    /// set built at once from a sorted run (see [`Index::load`]): the items
    /// sorted once, each context's run taken from them in order.
    fn place_all(&mut self) {
        let mut all: Vec<(ItemKey, &[Context])> = (self.events.iter())
            .map(|(key, entry)| ((Reverse(entry.ts), key.clone()), entry.contexts()))
            .collect();
        all.par_sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        let mut by_context: HashMap<Context, Vec<ItemKey>> = HashMap::default();
        for (item, contexts) in &all {
            for c in contexts.iter() {
                by_context.entry(c.clone()).or_default().push(item.clone());
            }
        }
        self.all = all.into_iter().map(|(item, _)| item).collect();
        for (c, items) in by_context {
            self.contexts.entry(c).or_default().items = ItemSet::from_sorted(items);
        }
    }

    fn remove_file(&mut self, path: &FileKey, raw: &mut BTreeSet<EventKey>) {
        if let Some(old) = self.files.remove(path) {
            self.unclaim(path, &old, raw);
        }
    }

    fn unclaim(&mut self, path: &FileKey, old: &Event, raw: &mut BTreeSet<EventKey>) {
        let claims = self.claims.get_mut(&old.key).expect("claimed");
        if let Ok(i) = claims.binary_search_by(|(p, _)| p.cmp(path)) {
            claims.remove(i);
        }
        if claims.is_empty() {
            self.claims.remove(&old.key);
        }
        mark_event(old, raw);
    }

    fn remove_page(&mut self, path: &FileKey, raw: &mut BTreeSet<EventKey>, touched: &mut Touched) {
        let Some(old) = self.pages.remove(path) else {
            return;
        };
        if let Some(day) = page_day(path) {
            let n = self.page_days.get_mut(&day).expect("counted");
            *n -= 1;
            if *n == 0 {
                self.page_days.remove(&day);
                touched.days.insert(day);
                touched.days_listed.insert(day);
                touched.listing = true;
            }
        }
        for e in old.entries.iter() {
            if let Some(given) = self.page_contexts.get_mut(&e.key) {
                if let Ok(i) = given.binary_search_by(|(p, _)| p.cmp(path)) {
                    given.remove(i);
                }
                if given.is_empty() {
                    self.page_contexts.remove(&e.key);
                }
            }
            raw.insert(e.key.clone());
        }
    }

    fn unplace(&mut self, key: &EventKey, entry: &Entry) {
        if !entry.placed {
            return;
        }
        let ts = entry.ts;
        let item = (Reverse(ts), key.clone());
        self.all.remove(&item);
        for c in entry.contexts().iter() {
            if let Some(ctx) = self.contexts.get_mut(c) {
                ctx.items.remove(&item);
            }
        }
    }

    /// Gives every event of a day its item timestamp, and files it under it.
    ///
    /// Events carry a day, not a time, yet Atom wants `updated` unique within a feed
    /// and readers sort by it. An event without an explicit time is dated at noon UTC
    /// (so it shows on its own day in every time zone from UTC-11 to UTC+12) plus
    /// a second offset under an hour taken from a hash of its key: stable when other
    /// events come and go, distinct within the day (collisions probe to the next
    /// free second, in key order, so the result depends only on the day's set).
    fn assign_times(&mut self, day: NaiveDate, touched: &mut Touched) {
        let Some(keys) = self.days.get(&day) else {
            return;
        };
        let noon = day
            .and_hms_opt(12, 0, 0)
            .expect("valid")
            .and_utc()
            .timestamp();
        // An hour of seconds; a day too full for it (an import of thousands of
        // events on one date) spreads over the afternoon, and one fuller still
        // gives up on uniqueness rather than on terminating.
        let span = if keys.len() <= SLOTS / 2 {
            SLOTS
        } else {
            12 * SLOTS
        };
        // Seconds already given in this day: explicit times first (in key order,
        // a collision moving to the next free second), then the slots, then the
        // `updated` times, so that no two items of a day share a time.
        let mut used: HashSet<i64> = HashSet::default();
        let claim = |used: &mut HashSet<i64>, mut t: i64| {
            while !used.insert(t) {
                t += 1;
            }
            t
        };
        // By position in the day (one lookup of each entry, not one per use).
        let entries: Vec<(&EventKey, &Entry)> = keys.iter().map(|k| (k, &self.events[k])).collect();
        let mut ts_of: Vec<Option<i64>> = Vec::with_capacity(entries.len());
        for (_, entry) in &entries {
            ts_of.push(entry.extra().explicit.map(|t| claim(&mut used, t)));
        }
        let mut taken = vec![false; span];
        for ((key, _), ts) in entries.iter().zip(&mut ts_of) {
            if ts.is_some() {
                continue;
            }
            let mut slot = (stable_hash(key.as_bytes()) % span as u64) as usize;
            let mut tries = 0;
            while (taken[slot] || used.contains(&(noon + slot as i64))) && tries < span {
                slot = (slot + 1) % span;
                tries += 1;
            }
            taken[slot] = true;
            used.insert(noon + slot as i64);
            *ts = Some(noon + slot as i64);
        }
        let mut times = Vec::new();
        for ((key, entry), ts) in entries.iter().zip(ts_of) {
            let ts = ts.expect("every item has a time now");
            let updated = match entry.extra().latest {
                Some(l) if l > ts => claim(&mut used, l),
                _ => ts,
            };
            if !entry.placed || entry.ts != ts || entry.updated != updated {
                times.push(((*key).clone(), ts, updated));
            }
        }
        for (key, ts, updated) in times {
            let entry = self.events.get_mut(&key).expect("indexed");
            let old = entry.placed.then_some(entry.ts);
            entry.ts = ts;
            entry.updated = updated;
            entry.placed = true;
            if self.loading {
                continue;
            }
            let contexts: Vec<Context> = entry.contexts().to_vec();
            if let Some(old) = old {
                let old_item = (Reverse(old), key.clone());
                self.all.remove(&old_item);
                for c in contexts.iter() {
                    self.contexts
                        .get_mut(c)
                        .expect("placed")
                        .items
                        .remove(&old_item);
                }
            }
            let item = (Reverse(ts), key.clone());
            self.all.insert(item.clone());
            for c in contexts.iter() {
                self.contexts
                    .entry(c.clone())
                    .or_default()
                    .items
                    .insert(item.clone());
                touched.contexts.insert(c.clone());
            }
        }
    }

    /// Gives each touched context a slug, unique among all contexts, that depends
    /// only on the set of contexts: names whose slugs collide (`Café`, `Cafe`) are
    /// ranked by their oldest event (then by name), so the context that existed
    /// first keeps the plain slug and a newcomer gets a hash suffix. Suffixes follow
    /// a double dash, which plain slugs never contain, so the two kinds never meet.
    fn assign_slugs(&mut self, touched: &mut Touched) {
        let mut groups = BTreeSet::new();
        for name in touched.contexts.clone() {
            let name = &name;
            let base: ArcStr = context_slug_base(name).unwrap_or_default().into();
            let group = self.slug_groups.entry(base.clone()).or_default();
            let at = group.binary_search(name);
            if self.contexts.get(name).is_some_and(|c| !c.items.is_empty()) {
                if let Err(i) = at {
                    group.insert(i, name.clone());
                }
            } else {
                if let Ok(i) = at {
                    group.remove(i);
                }
                if let Some(c) = self.contexts.remove(name) {
                    self.ranking.remove(&(Reverse(c.ranked), name.clone()));
                    self.release_slug(&c.slug, name, touched);
                    touched.listing = true;
                }
            }
            groups.insert(base);
        }
        for base in groups {
            let members = &self.slug_groups[&base];
            let ranked = self.first_of(members).cloned();
            let members: Vec<Context> = members.iter().cloned().collect();
            if members.is_empty() {
                self.slug_groups.remove(&base);
            }
            for name in members {
                let slug = slug(&base, &name, Some(&name) == ranked.as_ref());
                let old = std::mem::replace(
                    &mut self.contexts.get_mut(&name).expect("member").slug,
                    slug.clone(),
                );
                if old != slug {
                    touched.listing = true;
                    if !old.is_empty() {
                        touched.moved.insert(name.clone());
                    }
                    touched.slugged.insert(name.clone());
                    self.release_slug(&old, &name, touched);
                    self.by_slug.insert(slug, name.clone());
                    touched.contexts.insert(name);
                }
            }
        }
        // A slug freed by one context may have been taken by another in this batch.
        touched
            .freed_slugs
            .retain(|s| !self.by_slug.contains_key(s));
    }

    /// The context of a slug group that keeps the plain slug: the one with
    /// the oldest event, then the first by name.
    fn first_of<'a>(&self, members: &'a [Context]) -> Option<&'a Context> {
        members.iter().min_by_key(|name| {
            let oldest = self.contexts[*name]
                .items
                .last()
                .map(|(Reverse(ts), _)| *ts);
            (oldest, *name)
        })
    }

    /// [`Index::assign_slugs`] and [`Index::file_by_count`] for a load, where
    /// every context is new and has items: the same slugs and ranking, with
    /// the maps built at once, not an entry at a time.
    fn name_all(&mut self) {
        let mut groups: HashMap<ArcStr, Few<Context>> = HashMap::default();
        for name in self.contexts.keys() {
            let base: ArcStr = context_slug_base(name).unwrap_or_default().into();
            groups.entry(base).or_default().push(name.clone());
        }
        let mut by_slug = Vec::with_capacity(self.contexts.len());
        for (base, members) in &mut groups {
            members.sort_unstable();
            let ranked = self.first_of(members).cloned();
            for name in members.iter() {
                let slug = slug(base, name, Some(name) == ranked.as_ref());
                self.contexts.get_mut(name).expect("member").slug = slug.clone();
                by_slug.push((slug, name.clone()));
            }
        }
        self.slug_groups = groups;
        self.by_slug = by_slug.into_iter().collect();
        let mut ranking = Vec::with_capacity(self.contexts.len());
        for (name, c) in &mut self.contexts {
            c.ranked = c.items.len();
            ranking.push((Reverse(c.ranked), name.clone()));
        }
        self.ranking = ranking.into_iter().collect();
    }

    fn release_slug(&mut self, slug: &ArcStr, name: &Context, touched: &mut Touched) {
        if !slug.is_empty() && self.by_slug.get(slug) == Some(name) {
            self.by_slug.remove(slug);
            touched.freed_slugs.insert(slug.clone());
        }
    }
}

/// The slug of context `name` in the group of slug `base`: the plain slug
/// for the group's first context, else with a hash of the name.
fn slug(base: &ArcStr, name: &str, first: bool) -> ArcStr {
    match (&**base, first) {
        ("", _) => format!("context--{}", short_hash(name)).into(),
        (_, true) => base.clone(),
        (_, false) => format!("{base}--{}", short_hash(name)).into(),
    }
}

/// The day of a day page in the archive layout (`news/YYYY/MM/D/index.md`).
fn page_day(path: &FileKey) -> Option<NaiveDate> {
    let path = path.as_bytes();
    let dir = std::str::from_utf8(&path).ok()?.rsplit_once('/')?.0;
    crate::model::layout_key(&format!("{dir}/x.md")).map(|(_, day)| day)
}

/// The keys of a map by file that start with `prefix`: one range, as the map is
/// sorted by bytes.
fn keys_under<V>(map: &BTreeMap<FileKey, V>, prefix: FileKey) -> impl Iterator<Item = &FileKey> {
    map.range(prefix.clone()..)
        .map(|(k, _)| k)
        .take_while(move |k| k.starts_with(&prefix.as_bytes()))
}

/// Marks the keys an event file bears on: its own and its versions'.
fn mark_event(event: &Event, raw: &mut BTreeSet<EventKey>) {
    raw.insert(event.key.clone());
    raw.extend(event.versions().iter().map(|v| v.key.clone()));
}

/// An item timestamp as a UTC time.
pub fn utc(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

mod file_key;
mod item_set;
mod items;
mod settled;
#[cfg(test)]
pub(crate) mod tests;
