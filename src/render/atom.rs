//! Atom 1.0 (RFC 4287), with RFC 5005 archive links, `fh:archive`, the WebSub
//! hub and RFC 6721 tombstones (`at:deleted-entry`).

use super::fragments::Kind;
use super::rss::{archive_links, find, link, rfind};
use super::{difference, splice, FeedDoc, Format, Site};
use crate::index::utc;
use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Generator, Person, Text};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The RFC 6721 namespace.
pub const TOMBSTONES: &str = "http://purl.org/atompub/tombstones/1.0";

pub fn render(doc: &FeedDoc, site: &Site) -> Vec<u8> {
    let self_url = doc.url(site, "atom.xml");
    let mut links = vec![
        link(self_url.clone(), "self"),
        link(doc.alternate.clone(), "alternate"),
    ];
    links.extend(site.hub.clone().map(|hub| link(hub, "hub")));
    archive_links(doc, site, "atom.xml", &mut links);
    let mut extensions = ExtensionMap::new();
    if doc.archive {
        let ext = Extension {
            name: "fh:archive".into(),
            ..Extension::default()
        };
        extensions.insert("fh".into(), BTreeMap::from([("archive".into(), vec![ext])]));
    }
    let mut namespaces = BTreeMap::from([(
        "fh".into(),
        "http://purl.org/syndication/history/1.0".into(),
    )]);
    if !doc.deleted.is_empty() {
        let stones = doc.deleted.iter().map(|(r, when)| Extension {
            name: "at:deleted-entry".into(),
            // atom_syndication writes attribute values as given.
            attrs: BTreeMap::from([
                ("ref".into(), attr(r)),
                ("when".into(), time(*when).to_rfc3339()),
            ]),
            ..Extension::default()
        });
        extensions.insert(
            "at".into(),
            BTreeMap::from([("deleted-entry".into(), stones.collect())]),
        );
        namespaces.insert("at".into(), TOMBSTONES.into());
    }
    // A removal changes the feed: its time counts (a recorded time, not the clock).
    let updated = doc
        .deleted
        .iter()
        .map(|(_, when)| *when)
        .fold(doc.updated, i64::max);
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: self_url,
        updated: time(updated),
        authors: vec![Person {
            name: site.author.clone(),
            ..Person::default()
        }],
        generator: Some(Generator {
            value: "eventfeed".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links,
        subtitle: Some(Text::plain(doc.description.clone())),
        extensions,
        namespaces,
        lang: Some(site.language.clone()),
        ..Feed::default()
    };
    let shell = write(&feed);
    let shell = match doc.deleted.is_empty() {
        true => shell,
        // The writer closes every extension element with an end tag on a line
        // of its own; a tombstone reads better as the empty element it is.
        false => String::from_utf8(shell)
            .expect("written from strings")
            .replace("\">\n  </at:deleted-entry>", "\"/>")
            .into_bytes(),
    };
    // The entries follow the subtitle (and come before the extensions).
    let at = find(&shell, b"</subtitle>").expect("a subtitle") + b"</subtitle>".len();
    splice(
        &shell,
        at,
        &doc.fragments(Kind::Feed(Format::Atom), fragment),
    )
}

fn write(feed: &Feed) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    feed.write_with_config(
        &mut out,
        atom_syndication::WriteConfig {
            write_document_declaration: true,
            indent_size: Some(2),
        },
    )
    .expect("writing to memory");
    out.push(b'\n');
    out
}

/// One `<entry>` as a feed holds it, with the line break and indentation
/// before it.
fn fragment(it: &super::Item) -> Vec<u8> {
    static EMPTY: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    let empty = EMPTY.get_or_init(|| {
        let bytes = write(&Feed::default());
        let at = rfind(&bytes, b"\n</feed>").expect("a feed");
        (bytes, at)
    });
    let one = write(&Feed {
        entries: vec![entry(it)],
        ..Feed::default()
    });
    difference(&one, empty)
}

fn entry(it: &super::Item) -> Entry {
    let e = &**it.body();
    let mut links = vec![link(it.link().to_owned(), "alternate")];
    if let Some(image) = &e.image {
        links.push(link(image.to_string(), "enclosure"));
    }
    Entry {
        title: Text::plain(e.title.to_string()),
        id: it.id.clone(),
        updated: time(it.updated),
        published: Some(time(it.ts)),
        links,
        categories: it
            .contexts
            .iter()
            .map(|c| Category {
                term: c.to_string(),
                ..Category::default()
            })
            .collect(),
        content: Some(Content {
            value: Some(it.content().to_owned()),
            content_type: Some("html".into()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}

/// An attribute value escaped for XML (`ref`s are ids, which front matter may
/// give any characters).
fn attr(v: &str) -> String {
    html_escape::encode_double_quoted_attribute(v).into_owned()
}

fn time(ts: i64) -> FixedDateTime {
    utc(ts).fixed_offset()
}
