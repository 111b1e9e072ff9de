//! JSON Feed 1.1. Day archives chain through `next_url`, which JSON Feed defines as
//! the next, older page of items: the same walk RFC 5005 gives the XML feeds.

use super::fragments::Kind;
use super::{FeedDoc, Format, Site};
use crate::index::utc;
use serde::Serialize;

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: String,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    language: &'a str,
    /// JSON Feed's way to name a WebSub hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    hubs: Option<[Hub<'a>; 1]>,
    authors: [Author<'a>; 1],
    /// Always empty: the items are spliced in (see [`render`]).
    items: [(); 0],
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: Vec<&'a str>,
}

pub fn render(doc: &FeedDoc, site: &Site) -> Vec<u8> {
    let feed = Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: &doc.title,
        home_page_url: &doc.alternate,
        feed_url: doc.url(site, "feed.json"),
        description: &doc.description,
        next_url: doc
            .next_page
            .as_ref()
            .map(|d| site.links.feed_url(&format!("{d}/feed.json"))),
        language: &site.language,
        hubs: site.hub.as_deref().map(|url| {
            [Hub {
                kind: "WebSub",
                url,
            }]
        }),
        authors: [Author { name: &site.author }],
        items: [],
    };
    let shell = serde_json::to_vec_pretty(&feed).expect("serializable");
    // The items are the last member: `[]` becomes the array of them, each on
    // its own lines as the pretty printer puts them.
    let at = shell.len() - b"[]\n}".len();
    debug_assert!(shell[at..] == *b"[]\n}");
    let items = doc.fragments(Kind::Feed(Format::Json), fragment);
    let mut out = Vec::with_capacity(shell.len() + items.iter().map(|i| i.len()).sum::<usize>());
    out.extend_from_slice(&shell[..at]);
    match items.is_empty() {
        true => out.extend_from_slice(b"[]"),
        false => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(item);
            }
            out.extend_from_slice(b"\n  ]");
        }
    }
    out.extend_from_slice(b"\n}\n");
    out
}

/// One item as the array holds it: on a new line, indented two levels (JSON
/// strings escape their line breaks, so every line break is the printer's).
fn fragment(it: &super::Item) -> Vec<u8> {
    let body = it.body();
    let item = Item {
        id: &it.id,
        url: it.link(),
        title: &body.title,
        content_html: it.content(),
        image: body.image.as_deref(),
        date_published: utc(it.ts).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        date_modified: (it.updated != it.ts)
            .then(|| utc(it.updated).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        tags: it.contexts.iter().map(|c| &**c).collect(),
    };
    let bare = serde_json::to_vec_pretty(&item).expect("serializable");
    let mut out = Vec::with_capacity(bare.len() + 256);
    out.extend_from_slice(b"\n    ");
    let mut rest = &bare[..];
    while let Some(i) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.extend_from_slice(b"    ");
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out
}
