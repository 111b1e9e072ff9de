//! Atom 1.0 (RFC 4287), with RFC 5005 archive links, `fh:archive` and the WebSub
//! hub.

use super::rss::{archive_links, link};
use super::{FeedDoc, Site};
use crate::index::utc;
use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Generator, Person, Text};
use std::collections::BTreeMap;

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
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: self_url,
        updated: time(doc.updated),
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
        entries: doc.items.iter().map(entry).collect(),
        extensions,
        namespaces: BTreeMap::from([(
            "fh".into(),
            "http://purl.org/syndication/history/1.0".into(),
        )]),
        lang: Some(site.language.clone()),
        ..Feed::default()
    };
    let mut out = Vec::with_capacity(1024 + doc.items.len() * 1024);
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

fn entry(it: &super::Item) -> Entry {
    let e = &*it.body;
    let mut links = vec![link(it.link.clone(), "alternate")];
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
            value: Some(it.content.clone()),
            content_type: Some("html".into()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}

fn time(ts: i64) -> FixedDateTime {
    utc(ts).fixed_offset()
}
