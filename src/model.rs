//! The event model: what one event file means once parsed, independent of how it
//! was written. Strings are boxed (no spare capacity) and contexts shared, since the
//! daemon keeps every event in memory.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rustc_hash::FxHashSet as HashSet;
use std::sync::Arc;

/// A context (topic) name, shared between every event that carries it.
pub type Context = Arc<str>;

/// The canonical path of an event, `/news/YYYY/M/D/<slug>.md`: what Related links
/// point at, whatever the file is called.
pub type EventKey = Arc<str>;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub key: EventKey,
    pub date: NaiveDate,
    /// A full timestamp, only when front matter gives one.
    pub time: Option<DateTime<FixedOffset>>,
    /// An explicit id from front matter; otherwise one is derived from `key`.
    pub id: Option<Box<str>>,
    /// Shared with the Related entries of other events that quote it.
    pub title: Arc<str>,
    /// Sanitized HTML with absolute links.
    pub summary_html: Box<str>,
    pub sources: Box<[Source]>,
    pub image: Option<Box<str>>,
    pub related: Box<[Related]>,
    /// Sorted, without duplicates.
    pub contexts: Box<[Context]>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub name: Box<str>,
    /// Absolute, entities decoded.
    pub url: Box<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    pub title: Arc<str>,
    /// The canonical key, when the link points into the news tree: the link is
    /// then the event's page, whatever file the related event lives in.
    pub key: Option<EventKey>,
    /// The absolute URL of a link outside the news tree (only when `key` is none).
    pub url: Option<Box<str>>,
}

/// Shares equal strings between events: context names, and the keys and titles
/// that Related entries quote (each event is typically quoted by several others).
/// Memory only; meaning never depends on it.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn share(&mut self, s: &mut Arc<str>) {
        match self.0.get(&**s) {
            Some(shared) => *s = shared.clone(),
            None => {
                self.0.insert(s.clone());
            }
        }
    }

    /// The event with its strings shared.
    pub fn event(&mut self, mut event: Event) -> Event {
        self.share(&mut event.key);
        self.share(&mut event.title);
        for c in event.contexts.iter_mut() {
            self.share(c);
        }
        for r in event.related.iter_mut() {
            self.share(&mut r.title);
            if let Some(key) = &mut r.key {
                self.share(key);
            }
        }
        event
    }

    /// Forgets strings no event uses any more.
    pub fn sweep(&mut self) {
        self.0.retain(|s| Arc::strong_count(s) > 1);
    }
}

/// Builds the canonical key of an event from its day and slug.
pub fn event_key(date: NaiveDate, slug: &str) -> EventKey {
    use chrono::Datelike;
    format!(
        "/news/{}/{}/{}/{slug}.md",
        date.year(),
        date.month(),
        date.day()
    )
    .into()
}

/// Parses a news-tree link (`/news/2017/07/4/slug.md`, padded or not, with or
/// without the leading slash) into its canonical key.
pub fn parse_news_path(path: &str) -> Option<EventKey> {
    let rest = path
        .strip_prefix('/')
        .unwrap_or(path)
        .strip_prefix("news/")?;
    let mut parts = rest.split('/');
    let (y, m, d, file) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let slug = file.strip_suffix(".md")?;
    if slug.is_empty() || slug == "index" {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(event_key(date, slug))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_paths_normalise_to_keys() {
        let cases = [
            ("/news/2017/07/4/a-b.md", Some("/news/2017/7/4/a-b.md")),
            ("news/2017/11/02/x.md", Some("/news/2017/11/2/x.md")),
            ("/news/2017/11/2/index.md", None),
            ("/news/2017/2/30/x.md", None),
            ("/other/2017/1/1/x.md", None),
            ("/news/2017/1/1/x.html", None),
        ];
        for (path, key) in cases {
            assert_eq!(parse_news_path(path).as_deref(), key, "{path}");
        }
    }
}
