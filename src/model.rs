//! The event model: what one event file means once parsed, independent of how it
//! was written. An event is what the index needs of it, in memory for every event
//! (so strings are boxed, with no spare capacity, and contexts shared), and a
//! [`Body`] that only feeds show, which the daemon keeps on disk.

pub use arcstr::ArcStr;
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::convert::Infallible;
use std::sync::Arc;

impl Event {
    /// The body of an event fresh from the parser (tests).
    #[cfg(test)]
    pub fn parsed_body(&self) -> Body {
        self.body.here().expect("a parsed event has its body")
    }

    pub fn custom_path(&self) -> Option<&ArcStr> {
        self.rare.as_ref()?.custom_path.as_ref()
    }

    pub fn time(&self) -> Option<DateTime<FixedOffset>> {
        self.rare.as_ref()?.time
    }

    pub fn id(&self) -> Option<&str> {
        self.rare.as_ref()?.id.as_deref()
    }

    pub fn versions(&self) -> &[Version] {
        self.rare.as_ref().map_or(&[], |r| &r.versions)
    }

    /// The event's identity as published: for a file in the archive layout its
    /// path relative to the input root, exactly as it is (`/news/1999/01/1/x.md`);
    /// otherwise a path derived from its day and headline (equal to `key`). The
    /// page URL and the item id come from it.
    pub fn path(&self) -> std::borrow::Cow<'_, str> {
        match self.custom_path() {
            Some(path) => std::borrow::Cow::Borrowed(path),
            None => padded_path(&self.key, self.pad),
        }
    }
}

/// How a news path writes its month and day: zero-padded (`07`) or not (`7`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Padding {
    pub month: bool,
    pub day: bool,
}

impl Padding {
    fn of(month: &str, day: &str) -> Self {
        let padded = |s: &str| s.len() == 2 && s.starts_with('0');
        Self {
            month: padded(month),
            day: padded(day),
        }
    }
}

/// Where the month, the day and the file name start in a canonical key
/// `/news/Y/M/D/file`; `None` for a key of another shape. By hand, not
/// `split`: the index's map of files compares paths made of these parts.
pub fn news_shape(key: &str) -> Option<[usize; 3]> {
    const HEAD: &str = "/news/";
    if !key.starts_with(HEAD) {
        return None;
    }
    let slash = |from: usize| memchr::memchr(b'/', &key.as_bytes()[from..]).map(|i| from + i + 1);
    let month = slash(HEAD.len())?;
    let day = slash(month)?;
    let file = slash(day)?;
    Some([month, day, file])
}

/// The pieces of the path a canonical key `/news/Y/M/D/file` is written as
/// with `pad`, after its leading `/`: `news/2017/`, `0`, `7`, `/`, ``, `4`,
/// `/`, `x.md`, given the key's [`news_shape`].
pub fn shaped_parts(key: &str, [month, day, file]: [usize; 3], pad: Padding) -> [&str; 8] {
    let zero = |on: bool, len: usize| if on && len == 1 { "0" } else { "" };
    [
        &key[1..month],
        zero(pad.month, day - 1 - month),
        &key[month..day - 1],
        "/",
        zero(pad.day, file - 1 - day),
        &key[day..file - 1],
        "/",
        &key[file..],
    ]
}

/// [`shaped_parts`] of a key of any shape: `None` for one not canonical.
pub fn padded_parts(key: &str, pad: Padding) -> Option<[&str; 8]> {
    news_shape(key).map(|shape| shaped_parts(key, shape, pad))
}

/// The path a canonical key is written as with `pad`: `/news/2017/07/4/x.md`.
pub fn padded_path(key: &str, pad: Padding) -> std::borrow::Cow<'_, str> {
    match padded_parts(key, pad) {
        Some(parts) if !(parts[1].is_empty() && parts[4].is_empty()) => {
            std::borrow::Cow::Owned(std::iter::once("/").chain(parts).collect())
        }
        _ => std::borrow::Cow::Borrowed(key),
    }
}

/// A context (topic) name, shared between every event that carries it.
pub type Context = ArcStr;

/// The canonical key of an event, `/news/YYYY/M/D/<slug>.md` with no zero padding:
/// what links to it are matched by, however they pad the date.
pub type EventKey = ArcStr;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub key: EventKey,
    /// How the event's path pads its month and day: with `key`, the path itself
    /// (see [`Event::path`]), kept this way since a second string per event is
    /// a large share of the daemon's memory.
    pub pad: Padding,
    #[serde(with = "numeric::date")]
    pub date: NaiveDate,
    /// Whether front matter set `contexts`: then day pages add none.
    pub contexts_pinned: bool,
    /// Sorted, without duplicates.
    pub contexts: Box<[Context]>,
    /// The keys the Related entries point at, sorted, without duplicates: all
    /// the index needs of them.
    pub links: Box<[EventKey]>,
    /// What few events have, boxed: the daemon keeps an event per file, and
    /// these fields took 56 of its 120 bytes.
    pub rare: Option<Box<Rare>>,
    /// What only feeds show: in memory after parsing, or in the store.
    pub body: Content,
}

// The daemon keeps one per file (88 bytes with its `Arc`'s counts).
const _: () = assert!(std::mem::size_of::<Event>() == 72);

/// The fields of an [`Event`] that most events leave empty.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rare {
    /// The path, when it is not `key` with `pad` (a layout path under a folder
    /// other than the root's `news/`).
    pub custom_path: Option<ArcStr>,
    /// A full timestamp, only when front matter gives one.
    #[serde(with = "numeric::time")]
    pub time: Option<DateTime<FixedOffset>>,
    /// An explicit id from front matter; otherwise one is derived from `key`.
    pub id: Option<Box<str>>,
    /// The `### Changes:` section: this event's versions, oldest first.
    pub versions: Box<[Version]>,
}

impl Rare {
    /// Boxed, or none when every field is empty.
    pub fn boxed(self) -> Option<Box<Self>> {
        (self != Self::default()).then(|| Box::new(self))
    }
}

/// The part of an event that only the feeds show, not the index: the daemon
/// keeps it on disk (see [`crate::store`]), read when a feed showing the item is
/// rendered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Body {
    pub title: Box<str>,
    /// Sanitized HTML with absolute links.
    pub summary_html: Box<str>,
    pub sources: Box<[Source]>,
    pub image: Option<Box<str>>,
    pub related: Box<[Related]>,
}

/// An event's body, or where to find it: events compare by its hash, so an
/// edit that changes only the body still changes the item.
#[derive(Debug, Clone)]
pub enum Content {
    /// Parsed and not (yet) handed to a store, encoded as the store keeps it:
    /// the hash needs the encoding anyway, and it is made on the thread that
    /// parsed the file, so that storing the body is a copy.
    Here(Arc<Box<[u8]>>, u64),
    /// In the store, under the event file's path.
    Stored(u64),
}

impl Content {
    pub fn new(body: Body) -> Self {
        let bytes = postcard::to_stdvec(&body).expect("serializable");
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        Self::Here(Arc::new(bytes.into_boxed_slice()), hash)
    }

    pub fn hash(&self) -> u64 {
        match self {
            Self::Here(_, h) | Self::Stored(h) => *h,
        }
    }

    /// The body, when it is in memory.
    pub fn here(&self) -> Option<Body> {
        match self {
            Self::Here(bytes, _) => Some(postcard::from_bytes(bytes).expect("encoded by `new`")),
            Self::Stored(_) => None,
        }
    }

    /// The body as the store keeps it, when it is in memory.
    pub fn encoded(&self) -> Option<&[u8]> {
        match self {
            Self::Here(bytes, _) => Some(bytes),
            Self::Stored(_) => None,
        }
    }
}

impl PartialEq for Content {
    fn eq(&self, other: &Self) -> bool {
        self.hash() == other.hash()
    }
}

/// Only the hash is ever written: a body goes to the store on its own.
impl serde::Serialize for Content {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.hash())
    }
}

impl<'de> serde::Deserialize<'de> for Content {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Self::Stored)
    }
}

/// One entry of a `### Changes:` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Version {
    pub key: EventKey,
    /// The link as written (leading slash added): the version's identity.
    pub path: ArcStr,
    /// When the version was recorded (UTC seconds), where the archive says.
    pub time: Option<i64>,
    /// Marked `(First version)`.
    pub first: bool,
}

/// A day page (`index.md`, `README.md`): the events of a day, each with the
/// contexts the page gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayPage {
    pub entries: Box<[PageEntry]>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageEntry {
    pub key: EventKey,
    /// Shared with the index, which files them under the key.
    pub contexts: Arc<[Context]>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub name: Box<str>,
    /// Absolute, entities decoded.
    pub url: Box<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    pub title: Box<str>,
    /// The canonical key, when the link points into the news tree: the link then
    /// goes to the page of the event with that key (its current version), when
    /// there is one.
    pub key: Option<EventKey>,
    /// How the link pads its month and day: with `key`, the link as written, for
    /// a link to an event that is not in the tree.
    pub pad: Padding,
    /// The absolute URL of a link outside the news tree (only when `key` is none).
    pub url: Option<Box<str>>,
}

/// Shares equal strings between events: context names, and the keys that
/// Related entries name (each event is typically linked from several others).
/// Memory only; meaning never depends on it. Looked up by bytes, so that a
/// string decoded from the store is checked as UTF-8 only when first seen.
#[derive(Debug, Default)]
pub struct Interner(hashbrown::HashTable<ArcStr>);

fn string_hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

impl Interner {
    /// The shared copy of the string `bytes` hold, made by `make` on first
    /// sight.
    fn get_or_make<E>(
        &mut self,
        bytes: &[u8],
        make: impl FnOnce() -> Result<ArcStr, E>,
    ) -> Result<ArcStr, E> {
        let hash = string_hash(bytes);
        if let Some(shared) = self.0.find(hash, |s| s.as_bytes() == bytes) {
            return Ok(shared.clone());
        }
        let shared = make()?;
        self.0
            .insert_unique(hash, shared.clone(), |s| string_hash(s.as_bytes()));
        Ok(shared)
    }

    /// Room for `n` more strings.
    pub fn reserve(&mut self, n: usize) {
        self.0.reserve(n, |s| string_hash(s.as_bytes()));
    }

    pub fn share(&mut self, s: &mut ArcStr) {
        let Ok(shared) = self.get_or_make::<Infallible>(s.as_bytes(), || Ok(s.clone()));
        *s = shared;
    }

    /// The shared copy of the string `bytes` hold, made on first sight: for
    /// strings decoded in place (the store's records), so that a string seen
    /// before costs no allocation, nor a UTF-8 check (most strings of a
    /// store's records are seen before).
    pub fn intern_utf8(&mut self, bytes: &[u8]) -> Result<ArcStr, std::str::Utf8Error> {
        self.get_or_make(bytes, || Ok(std::str::from_utf8(bytes)?.into()))
    }

    /// The event with its strings shared.
    pub fn event(&mut self, mut event: Event) -> Event {
        self.share(&mut event.key);
        for rare in event.rare.iter_mut() {
            if let Some(path) = &mut rare.custom_path {
                self.share(path);
            }
            for v in rare.versions.iter_mut() {
                self.share(&mut v.key);
                self.share(&mut v.path);
            }
        }
        for c in event.contexts.iter_mut() {
            self.share(c);
        }
        for key in event.links.iter_mut() {
            self.share(key);
        }
        event
    }

    /// The day page with its strings shared.
    pub fn page(&mut self, mut page: DayPage) -> DayPage {
        for e in page.entries.iter_mut() {
            self.share(&mut e.key);
            let mut contexts = e.contexts.to_vec();
            for c in contexts.iter_mut() {
                self.share(c);
            }
            e.contexts = contexts.into();
        }
        page
    }

    /// Forgets strings no event uses any more.
    pub fn sweep(&mut self) {
        self.0
            .retain(|s| ArcStr::strong_count(s).is_none_or(|n| n > 1));
    }
}

/// Builds the canonical key of an event from its day and slug.
pub fn event_key(date: NaiveDate, slug: &str) -> EventKey {
    use chrono::Datelike;
    use std::fmt::Write;
    // Written piece by piece: `format!` was 6-8% of parsing a file, which
    // makes a key for itself and for every event it links to.
    let mut key = String::with_capacity(slug.len() + 20);
    key.push_str("/news/");
    match u32::try_from(date.year()) {
        Ok(year) => push_decimal(&mut key, year),
        Err(_) => write!(key, "{}", date.year()).expect("writing to a string"),
    }
    key.push('/');
    push_decimal(&mut key, date.month());
    key.push('/');
    push_decimal(&mut key, date.day());
    key.push('/');
    key.push_str(slug);
    key.push_str(".md");
    key.into()
}

/// `n` in decimal, for the small numbers of a date.
fn push_decimal(out: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Parses a news-tree link (`/news/2017/07/4/slug.md`, padded or not, with or
/// without the leading slash) into its canonical key.
pub fn parse_news_path(path: &str) -> Option<EventKey> {
    parse_news_link(path).map(|(key, _)| key)
}

/// A news-tree link's canonical key and how it pads its month and day.
pub fn parse_news_link(path: &str) -> Option<(EventKey, Padding)> {
    let rest = path
        .strip_prefix('/')
        .unwrap_or(path)
        .strip_prefix("news/")?;
    let mut parts = rest.split('/');
    let (y, m, d, file) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (date, slug) = layout_day_slug(y, m, d, file)?;
    Some((event_key(date, slug), Padding::of(m, d)))
}

/// The canonical key and date of a file in the archive layout: a path (relative
/// to the input root) ending in `YYYY/M/D/<slug>.md`, padded or not, with a day
/// that exists. Day pages are not events.
pub fn layout_key(rel: &str) -> Option<(EventKey, NaiveDate)> {
    let mut parts = rel.rsplit('/');
    let (file, d, m, y) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (date, slug) = layout_day_slug(y, m, d, file)?;
    Some((event_key(date, slug), date))
}

fn layout_day_slug<'a>(y: &str, m: &str, d: &str, file: &'a str) -> Option<(NaiveDate, &'a str)> {
    let slug = file.strip_suffix(".md")?;
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if slug.is_empty()
        || slug.eq_ignore_ascii_case("index")
        || slug.eq_ignore_ascii_case("readme")
        || !digits(y, 4..=4)
        || !digits(m, 1..=2)
        || !digits(d, 1..=2)
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some((date, slug))
}

/// A news-tree link as written, with the leading slash its key has, and without
/// a query or fragment.
pub fn written_path(href: &str) -> ArcStr {
    let path = href.split(['?', '#']).next().unwrap_or(href);
    match path.strip_prefix('/') {
        Some(_) => path.into(),
        None => format!("/{path}").into(),
    }
}

/// Dates and times in the store as numbers: chrono's serde writes them as
/// text, which a restart would parse again for every event.
pub(crate) mod numeric {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub mod date {
        use super::*;
        use chrono::{Datelike, NaiveDate};

        pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
            d.num_days_from_ce().serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
            let days = i32::deserialize(d)?;
            NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| D::Error::custom("bad date"))
        }
    }

    /// A time as seconds since the epoch, nanoseconds and its UTC offset.
    pub mod time {
        use super::*;
        use chrono::{DateTime, FixedOffset};

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<FixedOffset>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            t.map(|t| {
                (
                    t.timestamp(),
                    t.timestamp_subsec_nanos(),
                    t.offset().local_minus_utc(),
                )
            })
            .serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            let Some((secs, nanos, offset)) = Option::<(i64, u32, i32)>::deserialize(d)? else {
                return Ok(None);
            };
            let offset =
                FixedOffset::east_opt(offset).ok_or_else(|| D::Error::custom("bad offset"))?;
            DateTime::from_timestamp(secs, nanos)
                .map(|t| Some(t.with_timezone(&offset)))
                .ok_or_else(|| D::Error::custom("bad time"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn keys_are_written_as_format_writes_them(
            days in -1_000_000i32..3_000_000,
            slug in "[a-z0-9-]{1,20}",
        ) {
            use chrono::Datelike;
            let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            let expected = format!("/news/{}/{}/{}/{slug}.md", date.year(), date.month(), date.day());
            proptest::prop_assert_eq!(&*event_key(date, &slug), expected.as_str());
        }
    }

    #[test]
    fn news_paths_normalise_to_keys() {
        let cases = [
            ("/news/2017/07/4/a-b.md", Some("/news/2017/7/4/a-b.md")),
            ("news/2017/11/02/x.md", Some("/news/2017/11/2/x.md")),
            ("/news/2017/11/2/index.md", None),
            ("/news/2017/2/30/x.md", None),
            ("/other/2017/1/1/x.md", None),
            ("/news/2017/1/1/x.html", None),
            ("/news/2017/1/1/README.md", None),
            ("/news/17/1/1/x.md", None),
            ("/news/2017/+1/1/x.md", None),
        ];
        for (path, key) in cases {
            assert_eq!(parse_news_path(path).as_deref(), key, "{path}");
        }
    }

    #[test]
    fn links_come_back_as_written() {
        for link in [
            "/news/2017/07/4/a-b.md",
            "/news/2017/7/4/a-b.md",
            "/news/2017/11/02/a-b.md",
            "/news/2017/01/01/a-b.md",
        ] {
            let (key, pad) = parse_news_link(link).unwrap();
            assert_eq!(padded_path(&key, pad), link);
        }
    }

    #[test]
    fn layout_paths_give_key_and_day() {
        let (key, date) = layout_key("news/1999/01/1/the-euro.md").unwrap();
        assert_eq!(&*key, "/news/1999/1/1/the-euro.md");
        assert_eq!(date, NaiveDate::from_ymd_opt(1999, 1, 1).unwrap());
        assert!(layout_key("archive/news/2017/11/02/x.md").is_some());
        for no in [
            "x.md",
            "2017/11/x.md",
            "news/2017/11/2/index.md",
            "news/2017/13/2/x.md",
            "news/2017/11/2/x.txt",
        ] {
            assert!(layout_key(no).is_none(), "{no}");
        }
    }
}
