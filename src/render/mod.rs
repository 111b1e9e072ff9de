//! Feeds as bytes. A [`FeedDoc`] gathers what a feed says (title, links, items in
//! order) from the index once; the three writers turn it into RSS 2.0, Atom 1.0 and
//! JSON Feed 1.1. Everything is derived from the index, never from the clock, so the
//! same input gives the same bytes.

mod atom;
mod content;
pub mod fragments;
mod json;
pub mod pages;
mod rss;

use crate::index::{utc, Index};
use crate::links::Links;
use crate::model::{ArcStr, Body, Context, Event, EventKey};
use chrono::{Datelike, NaiveDate};
use fragments::{Fragments, Kind};
use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub const GENERATOR: &str = concat!("eventfeed ", env!("CARGO_PKG_VERSION"));
/// The names of a feed's three files, in its directory.
pub const FORMATS: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];

/// One of the three feed formats (`formats` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    /// Every format, in the order files, links and pings list them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        ["rss", "atom", "json"][self as usize]
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Its file in a feed's folder.
    pub fn file(self) -> &'static str {
        FORMATS[self as usize]
    }

    pub fn media_type(self) -> &'static str {
        [
            "application/rss+xml",
            "application/atom+xml",
            "application/feed+json",
        ][self as usize]
    }

    /// How pages name it.
    pub fn label(self) -> &'static str {
        ["RSS", "Atom", "JSON Feed"][self as usize]
    }

    fn render(self, doc: &FeedDoc, site: &Site) -> Vec<u8> {
        match self {
            Format::Rss => rss::render(doc, site),
            Format::Atom => atom::render(doc, site),
            Format::Json => json::render(doc, site),
        }
    }
}

/// The formats a site writes: a non-empty set, listed in [`Format::ALL`]'s order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Formats(u8);

impl Formats {
    pub const ALL: Formats = Formats(0b111);

    /// The set of `formats`; `None` when it is empty.
    pub fn new(formats: impl IntoIterator<Item = Format>) -> Option<Self> {
        let bits = formats.into_iter().fold(0, |b, f| b | 1 << f as u8);
        (bits != 0).then_some(Formats(bits))
    }

    pub fn contains(self, f: Format) -> bool {
        self.0 & 1 << f as u8 != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Format> {
        Format::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// The format to give where one address is asked for (the address to copy
    /// into a reader, OPML's `xmlUrl`): RSS when written, else the first.
    pub fn main(self) -> Format {
        self.iter().next().expect("never empty")
    }
}

impl std::fmt::Debug for Formats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Format::name))
            .finish()
    }
}
/// Every file a feed directory can hold: the feeds and the human page.
pub const FEED_FILES: [&str; 4] = ["rss.xml", "atom.xml", "feed.json", "index.html"];

/// Site-wide settings of every feed.
#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    pub description: String,
    pub language: String,
    pub author: String,
    pub items_per_feed: usize,
    pub links: Links,
    /// The WebSub hub every feed names (`rel="hub"`), if any.
    pub hub: Option<String>,
    /// Whether every feed gets a human page (`index.html` in its folder).
    pub feed_pages: bool,
    /// Which formats every feed is written in (and pages, OPML and pings name).
    pub formats: Formats,
    /// Most contexts an A-Z page lists before it splits
    /// ([`pages::tree::PAGE_CONTEXTS`]; smaller in tests, to reach the splits).
    pub page_contexts: usize,
}

/// Which feed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedId {
    All,
    Context(Context),
    Day(NaiveDate),
}

/// The output directory of a day feed.
pub fn day_dir(day: NaiveDate) -> String {
    let year = day.year();
    if !(0..=9999).contains(&year) {
        return format!("days/{year:04}/{:02}/{:02}", day.month(), day.day());
    }
    // By hand: listings ask for thousands, and padded formatting is slow.
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let (y, m, d) = (year as u32, day.month(), day.day());
    let mut dir = String::with_capacity(15);
    dir.push_str("days/");
    dir.extend([y / 1000, y / 100, y / 10, y].map(digit));
    dir.push('/');
    dir.extend([m / 10, m].map(digit));
    dir.push('/');
    dir.extend([d / 10, d].map(digit));
    dir
}

/// The output directory of a context feed.
pub fn context_dir(slug: &str) -> String {
    format!("contexts/{slug}")
}

/// Where the bodies of the events the index holds without one come from (the
/// daemon's store). A body in memory ([`crate::model::Content::Here`]) needs none.
pub trait Bodies: Sync {
    /// The body of the event file at `path` (relative to the input root).
    fn body(&self, path: &Path) -> Option<Arc<Body>>;

    /// The same bodies as one pass of rendering reads them, when that is
    /// cheaper than one read each (a store's single snapshot); `None`: as they
    /// are.
    fn snapshot(&self) -> Option<Box<dyn Bodies + '_>> {
        None
    }
}

/// No store: every body is in memory.
pub struct InMemory;

impl Bodies for InMemory {
    fn body(&self, _: &Path) -> Option<Arc<Body>> {
        None
    }
}

/// One item: what places and names it, at hand; what only its rendering needs
/// (the body, from the store, and the HTML made of it) read at most once, and
/// only when no kept fragment spares it (see [`fragments`]).
pub struct Item<'a> {
    pub key: &'a EventKey,
    pub event: &'a Arc<Event>,
    pub contexts: &'a [Context],
    pub ts: i64,
    /// When the item last changed (at least `ts`).
    pub updated: i64,
    pub id: String,
    /// What the item shows besides its event, hashed: see [`fragments`].
    pub stamp: u64,
    index: &'a Index,
    links: &'a Links,
    bodies: &'a dyn Bodies,
    full: OnceLock<Full>,
}

/// What an item's rendering reads.
struct Full {
    body: Arc<Body>,
    link: String,
    content: String,
}

impl Item<'_> {
    pub fn body(&self) -> &Arc<Body> {
        &self.full().body
    }

    pub fn link(&self) -> &str {
        &self.full().link
    }

    /// Its HTML (summary, image, sources, Related links).
    pub fn content(&self) -> &str {
        &self.full().content
    }

    fn full(&self) -> &Full {
        self.full.get_or_init(|| {
            let body = body(self.index, self.key, self.event, self.bodies);
            Full {
                link: self.links.item_url(self.event, &body),
                content: content::html(&body, self.index, self.links),
                body,
            }
        })
    }
}

/// What one feed says, in every format.
pub struct FeedDoc<'a> {
    pub dir: String,
    pub title: String,
    pub description: String,
    /// The HTML page the feed stands for.
    pub alternate: String,
    pub items: Vec<Item<'a>>,
    /// Newest item change; the epoch for an empty feed (never the clock).
    pub updated: i64,
    /// RFC 5005: the directories of the older and newer archive documents.
    pub prev_archive: Option<String>,
    pub next_archive: Option<String>,
    /// JSON Feed `next_url`: the directory of the next, older page, which holds
    /// none of this feed's items.
    pub next_page: Option<String>,
    /// Whether the feed is an archive document (a day with a later day after it).
    pub archive: bool,
    /// Whether to link the subscription document (`all`) as `current`.
    pub current: bool,
    /// RFC 6721 tombstones of items that left the feed: (`ref`, `when`), newest
    /// first; Atom only (see `tombstones`).
    pub deleted: Vec<(String, i64)>,
    /// Where rendered items are kept, if anywhere.
    pub fragments: Option<&'a Fragments>,
}

impl FeedDoc<'_> {
    pub fn url(&self, site: &Site, file: &str) -> String {
        site.links.feed_url(&format!("{}/{file}", self.dir))
    }

    /// The items rendered as `kind`, each kept fragment used as it is.
    fn fragments(&self, kind: Kind, render: impl Fn(&Item) -> Vec<u8>) -> Vec<Arc<[u8]>> {
        let items = self.items.iter();
        items
            .map(|it| self.fragment(it, kind, || render(it)))
            .collect()
    }

    /// One item rendered as `kind`: kept, or rendered by `render`.
    fn fragment(&self, it: &Item, kind: Kind, render: impl FnOnce() -> Vec<u8>) -> Arc<[u8]> {
        match self.fragments {
            Some(kept) => kept.get(it, kind, render),
            None => render().into(),
        }
    }
}

/// Gathers a feed from the index; `None` when the feed has no reason to exist.
pub fn feed<'a>(
    index: &'a Index,
    site: &'a Site,
    id: &FeedId,
    bodies: &'a dyn Bodies,
    fragments: Option<&'a Fragments>,
) -> Option<FeedDoc<'a>> {
    let items = |keys: &mut dyn Iterator<Item = &'a EventKey>| -> Vec<Item<'a>> {
        keys.map(|k| item(index, site, k, bodies)).collect()
    };
    let doc = match id {
        FeedId::All => {
            let (keys, older, whole) = newest_days(index, site.items_per_feed);
            FeedDoc {
                dir: "all".into(),
                title: format!("{}: all events", site.title),
                description: format!("The newest events of {}", site.title),
                alternate: site.links.site_root().to_owned(),
                items: items(&mut keys.into_iter()),
                updated: 0,
                prev_archive: older.map(day_dir),
                next_archive: None,
                next_page: older.filter(|_| whole).map(day_dir),
                archive: false,
                current: false,
                deleted: Vec::new(),
                fragments,
            }
        }
        FeedId::Context(name) => {
            let ctx = index.context(name)?;
            FeedDoc {
                dir: context_dir(&ctx.slug),
                title: format!("{}: {name}", site.title),
                description: format!("The newest events about {name}, from {}", site.title),
                alternate: match site.feed_pages {
                    true => format!("{}{}/", site.links.feeds_root(), context_dir(&ctx.slug)),
                    false => site.links.feeds_root().to_owned(),
                },
                items: items(&mut ctx.items.iter().take(site.items_per_feed).map(|(_, k)| k)),
                updated: 0,
                prev_archive: None,
                next_archive: None,
                next_page: None,
                archive: false,
                current: false,
                deleted: Vec::new(),
                fragments,
            }
        }
        FeedId::Day(day) => {
            // A day with a day page and no events keeps valid, empty feeds.
            static NONE: BTreeSet<EventKey> = BTreeSet::new();
            let keys = match index.days().get(day) {
                Some(keys) => keys,
                None if index.day_exists(*day) => &NONE,
                None => return None,
            };
            let mut sorted: Vec<_> = keys
                .iter()
                .map(|k| (Reverse(index.event(k).expect("indexed").ts), k))
                .collect();
            sorted.sort();
            // An empty day stands outside the RFC 5005 chain (its neighbours do
            // not link it), so it links no neighbours either: its bytes then
            // depend on nothing but itself.
            let (prev, next) = match keys.is_empty() {
                true => (None, None),
                false => index.neighbours(*day),
            };
            FeedDoc {
                dir: day_dir(*day),
                title: format!("{}: events of {}", site.title, day.format("%-d %B %Y")),
                description: format!(
                    "Every event of {} in {}",
                    day.format("%-d %B %Y"),
                    site.title
                ),
                alternate: site.links.page_url(&day_page_path(index, *day, keys)),
                items: items(&mut sorted.into_iter().map(|(_, k)| k)),
                updated: 0,
                prev_archive: prev.map(day_dir),
                next_archive: next.map(day_dir),
                next_page: prev.map(day_dir),
                archive: next.is_some(),
                current: true,
                deleted: Vec::new(),
                fragments,
            }
        }
    };
    let updated = doc.items.iter().map(|i| i.updated).max().unwrap_or(0);
    Some(FeedDoc { updated, ..doc })
}

/// Where a feed comes in a render of many: newest first, each day's feed
/// followed by the feeds of the contexts whose oldest shown item is of that
/// day. Every item those show was rendered for a day feed shortly before, and
/// is still kept (see [`fragments`]): a full render then renders nearly every
/// item once, where the plan's order rendered most of them twice.
pub fn render_order(index: &Index, site: &Site, id: &FeedId) -> (Reverse<NaiveDate>, u8) {
    match id {
        FeedId::All => (Reverse(NaiveDate::MAX), 0),
        FeedId::Day(day) => (Reverse(*day), 1),
        FeedId::Context(name) => {
            let oldest = (index.context(name))
                .and_then(|ctx| ctx.items.iter().take(site.items_per_feed).last())
                .and_then(|(_, key)| index.event(key))
                .map_or(NaiveDate::MIN, |entry| entry.event.date);
            (Reverse(oldest), 2)
        }
    }
}

/// The empty feed of a day or context that is gone but kept for its tombstones
/// (see `tombstones`): the titles [`feed`] gives it, no items, outside the
/// RFC 5005 chain (as an empty day is), the day page its date implies.
pub fn kept_feed(site: &Site, id: &FeedId, dir: String) -> FeedDoc<'static> {
    let (title, description, alternate) = match id {
        FeedId::All => (
            format!("{}: all events", site.title),
            format!("The newest events of {}", site.title),
            site.links.site_root().to_owned(),
        ),
        FeedId::Context(name) => (
            format!("{}: {name}", site.title),
            format!("The newest events about {name}, from {}", site.title),
            match site.feed_pages {
                true => format!("{}{dir}/", site.links.feeds_root()),
                false => site.links.feeds_root().to_owned(),
            },
        ),
        FeedId::Day(day) => (
            format!("{}: events of {}", site.title, day.format("%-d %B %Y")),
            format!(
                "Every event of {} in {}",
                day.format("%-d %B %Y"),
                site.title
            ),
            site.links
                .page_url(&day_page_path(&Index::default(), *day, &BTreeSet::new())),
        ),
    };
    FeedDoc {
        dir,
        title,
        description,
        alternate,
        items: Vec::new(),
        updated: 0,
        prev_archive: None,
        next_archive: None,
        next_page: None,
        archive: false,
        current: matches!(id, FeedId::Day(_)),
        deleted: Vec::new(),
        fragments: None,
    }
}

/// The all-events feed's items: whole days, newest first, until they hold at least
/// `n` events, so that its next page (the day before) neither repeats nor skips an
/// item. A day that would take the feed past `4 n` items ends it early; when the
/// newest day alone is that large, the feed holds its newest `n` and has no next
/// page (the third value is false), only an RFC 5005 `prev-archive` to that day.
/// Returns the keys in feed order and the newest day left out.
fn newest_days(index: &Index, n: usize) -> (Vec<&EventKey>, Option<NaiveDate>, bool) {
    let mut keys: Vec<(Reverse<i64>, &EventKey)> = Vec::new();
    let mut older = None;
    let mut whole = true;
    for (day, day_keys) in index.days().iter().rev() {
        if keys.len() >= n || (!keys.is_empty() && keys.len() + day_keys.len() > 4 * n) {
            older = Some(*day);
            break;
        }
        keys.extend(
            day_keys
                .iter()
                .map(|k| (Reverse(index.event(k).expect("indexed").ts), k)),
        );
        if keys.len() > 4 * n {
            // Only the newest day: too large to give whole.
            keys.sort();
            keys.truncate(n);
            older = Some(*day);
            whole = false;
            break;
        }
    }
    keys.sort();
    (keys.into_iter().map(|(_, k)| k).collect(), older, whole)
}

/// The newest day the all-events feed leaves out (its next page): changes to
/// older days do not reach it.
pub fn all_feed_boundary(index: &Index, site: &Site) -> Option<NaiveDate> {
    newest_days(index, site.items_per_feed).1
}

/// The path of a day's page: in the folder of its events when they live in the
/// archive layout (whose padding it keeps), else derived from the date.
fn day_page_path(index: &Index, day: NaiveDate, keys: &BTreeSet<EventKey>) -> ArcStr {
    let in_layout = keys.iter().find_map(|k| {
        let path = index.event(k)?.event.path();
        let (_, date) = crate::model::layout_key(&path)?;
        let folder = path.rsplit_once('/')?.0;
        (date == day).then(|| format!("{folder}/index.md"))
    });
    in_layout
        .unwrap_or_else(|| {
            format!(
                "/news/{}/{}/{}/index.md",
                day.year(),
                day.month(),
                day.day()
            )
        })
        .into()
}

fn item<'a>(
    index: &'a Index,
    site: &'a Site,
    key: &'a EventKey,
    bodies: &'a dyn Bodies,
) -> Item<'a> {
    let entry = index.event(key).expect("indexed");
    let event = &entry.event;
    let id = item_id(event, &entry.id_path(), &site.links);
    Item {
        key,
        event,
        contexts: entry.contexts(),
        ts: entry.ts,
        updated: entry.updated,
        stamp: stamp(
            index,
            event,
            entry.contexts(),
            [entry.ts, entry.updated],
            &id,
        ),
        id,
        index,
        links: &site.links,
        bodies,
        full: OnceLock::new(),
    }
}

/// What an item shows besides its event: its times and id, its contexts and
/// their slugs (pages link them), and where its Related links lead.
fn stamp(index: &Index, event: &Event, contexts: &[Context], times: [i64; 2], id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    (times, id).hash(&mut h);
    for c in contexts {
        (c, index.context(c).map(|ctx| &ctx.slug)).hash(&mut h);
    }
    // What `Event::path` is made of, rather than the path formatted anew.
    for key in event.links.iter() {
        let target = index.resolve(key);
        target
            .map(|t| (&t.key, t.pad, t.custom_path()))
            .hash(&mut h);
    }
    h.finish()
}

/// The body of an item: in memory, or read from the store by its file's path.
/// A body the store has lost (a damaged store) is logged and shows the path,
/// rather than stop every feed; the store then marks itself unusable, so that
/// the next start reads every file again (see `store`).
fn body(index: &Index, key: &EventKey, event: &Event, bodies: &dyn Bodies) -> Arc<Body> {
    if let Some(body) = event.body.here() {
        return Arc::new(body);
    }
    let found = index.source_of(key).and_then(|path| bodies.body(&path));
    found.unwrap_or_else(|| {
        tracing::error!("the store has no body for {key}: showing its path instead");
        Arc::new(Body {
            title: event.path().into(),
            summary_html: Box::default(),
            sources: Box::default(),
            image: None,
            related: Box::default(),
        })
    })
}

/// The guid / Atom id of an event: its front-matter id, or a `tag:` URI (RFC 4151)
/// built from the path of its first version, which survives rebuilds, restarts,
/// headline edits and new versions. The tag's date is the day in that path.
pub fn item_id(event: &Event, id_path: &str, links: &Links) -> String {
    if let Some(id) = event.id() {
        return id.to_string();
    }
    let date = crate::model::layout_key(id_path).map_or(event.date, |(_, d)| d);
    let path = id_path.strip_suffix(".md").unwrap_or(id_path);
    format!("tag:{},{}:{path}", links.host(), date.format("%Y-%m-%d"))
}

/// The files of a feed, as (path relative to the output root, bytes): its
/// formats, and its page when the site has them.
pub fn render_feed(
    index: &Index,
    doc: &FeedDoc,
    site: &Site,
    id: &FeedId,
) -> Vec<(String, Vec<u8>)> {
    let mut files = render(doc, site);
    if site.feed_pages {
        files.push((
            format!("{}/index.html", doc.dir),
            pages::feed_page(index, doc, site, id),
        ));
    }
    files
}

/// The files of a feed in the site's formats, as (path relative to the output
/// root, bytes).
pub fn render(doc: &FeedDoc, site: &Site) -> Vec<(String, Vec<u8>)> {
    site.formats
        .iter()
        .map(|f| (format!("{}/{}", doc.dir, f.file()), f.render(doc, site)))
        .collect()
}

/// `shell` with the items' fragments put in at byte `at`.
fn splice(shell: &[u8], at: usize, parts: &[Arc<[u8]>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(shell.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(&shell[..at]);
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out.extend_from_slice(&shell[at..]);
    out
}

/// An item as documents hold it: what the document of this one item (`one`)
/// has more than the same document `empty`, whose items would go at `at`.
fn difference(one: &[u8], (empty, at): &(Vec<u8>, usize)) -> Vec<u8> {
    let len = one.len() - empty.len();
    debug_assert!(one.starts_with(&empty[..*at]) && one.ends_with(&empty[*at..]));
    one[*at..at + len].to_vec()
}

/// RFC 822 dates as the validator wants them: `Thu, 02 Nov 2017 12:00:00 +0000`.
fn rfc822(ts: i64) -> String {
    // Parsed once: every item has a date.
    static FORMAT: std::sync::OnceLock<Vec<chrono::format::Item<'static>>> =
        std::sync::OnceLock::new();
    let items = FORMAT.get_or_init(|| {
        chrono::format::StrftimeItems::new("%a, %d %b %Y %H:%M:%S +0000").collect()
    });
    utc(ts).format_with_items(items.iter()).to_string()
}

#[cfg(test)]
#[test]
fn day_dirs_pad_like_the_format() {
    for (y, m, d) in [
        (2017, 7, 4),
        (999, 12, 31),
        (10_000, 1, 1),
        (-1, 1, 1),
        (0, 1, 9),
    ] {
        let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let want = format!("days/{:04}/{:02}/{:02}", day.year(), day.month(), day.day());
        assert_eq!(day_dir(day), want);
    }
}

#[cfg(test)]
mod tests;
