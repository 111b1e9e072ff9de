//! RSS 2.0, with the Atom namespace for `rel="self"` and RFC 5005 links, Media RSS
//! for the cover image, `fh:archive` for archived days and the WebSub hub.

use super::fragments::Kind;
use super::{difference, rfc822, splice, FeedDoc, Format, Site, GENERATOR};
use atom_syndication::Link;
use rss::extension::atom::AtomExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Guid, Item};
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub fn render(doc: &FeedDoc, site: &Site) -> Vec<u8> {
    let mut links = vec![link(doc.url(site, "rss.xml"), "self")];
    links.extend(site.hub.clone().map(|hub| link(hub, "hub")));
    archive_links(doc, site, "rss.xml", &mut links);
    let mut extensions = ExtensionMap::new();
    if doc.archive {
        extensions.insert("fh".into(), element("fh:archive", BTreeMap::new()));
    }
    // The feed changed when an item did, or left it (a tombstone's time, see
    // `tombstones`, though RSS cannot say which). An empty feed without either
    // has no date: none then, as RSS allows (the epoch would be an implausible one).
    let updated = doc
        .deleted
        .iter()
        .map(|(_, when)| *when)
        .fold(doc.updated, i64::max);
    let date = (updated > 0).then(|| rfc822(updated));
    let channel = Channel {
        title: doc.title.clone(),
        link: doc.alternate.clone(),
        description: doc.description.clone(),
        language: Some(site.language.clone()),
        pub_date: date.clone(),
        last_build_date: date,
        generator: Some(GENERATOR.into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        atom_ext: Some(AtomExtension { links }),
        extensions,
        namespaces: [
            ("atom", "http://www.w3.org/2005/Atom"),
            ("fh", "http://purl.org/syndication/history/1.0"),
            ("media", "http://search.yahoo.com/mrss/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        ..Channel::default()
    };
    // The items go last in the channel: spliced in before it closes.
    let shell = write(&channel);
    let at = rfind(&shell, CLOSE).expect("a channel");
    splice(
        &shell,
        at,
        &doc.fragments(Kind::Feed(Format::Rss), fragment),
    )
}

/// Where a channel closes, in the pretty-printed document.
const CLOSE: &[u8] = b"\n  </channel>";

fn write(channel: &Channel) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    channel
        .pretty_write_to(&mut out, b' ', 2)
        .expect("writing to memory");
    out.push(b'\n');
    hex_references(&out)
}

/// One `<item>` as a channel holds it, with the line break and indentation
/// before it.
fn fragment(it: &super::Item) -> Vec<u8> {
    static EMPTY: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    let empty = EMPTY.get_or_init(|| {
        let bytes = write(&Channel::default());
        let at = rfind(&bytes, CLOSE).expect("a channel");
        (bytes, at)
    });
    let one = write(&Channel {
        items: vec![item(it)],
        ..Channel::default()
    });
    difference(&one, empty)
}

pub(super) fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(haystack, needle)
}

/// RSS does not say whether its text is plain or HTML, so the RSS Advisory Board
/// (and the W3C validator) want `&` and `<` in text as `&#x26;` and `&#x3C;`,
/// which no reader mistakes for markup. The `rss` crate writes `&amp;` and `&lt;`;
/// this swaps them outside CDATA sections (inside, they are the HTML's own).
pub(super) fn hex_references(xml: &[u8]) -> Vec<u8> {
    const CDATA_START: &[u8] = b"<![CDATA[";
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 64);
    let mut rest = xml;
    while !rest.is_empty() {
        if rest.starts_with(CDATA_START) {
            let end = find(rest, b"]]>").map_or(rest.len(), |i| i + 3);
            out.extend_from_slice(&rest[..end]);
            rest = &rest[end..];
        } else if rest.starts_with(b"&amp;") {
            out.extend_from_slice(b"&#x26;");
            rest = &rest[5..];
        } else if rest.starts_with(b"&lt;") {
            out.extend_from_slice(b"&#x3C;");
            rest = &rest[4..];
        } else {
            let next = memchr::memchr2(b'&', b'<', &rest[1..]).map_or(rest.len(), |i| i + 1);
            out.extend_from_slice(&rest[..next]);
            rest = &rest[next..];
        }
    }
    out
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

fn item(it: &super::Item) -> Item {
    let e = &**it.body();
    let mut extensions = ExtensionMap::new();
    if let Some(image) = &e.image {
        let attrs = [("url", &**image), ("medium", "image")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        extensions.insert("media".into(), element("media:content", attrs));
    }
    Item {
        title: Some(e.title.to_string()),
        link: Some(it.link().to_owned()),
        description: Some(it.content().to_owned()),
        guid: Some(Guid {
            value: it.id.clone(),
            permalink: false,
        }),
        pub_date: Some(rfc822(it.ts)),
        categories: it
            .contexts
            .iter()
            .map(|c| Category {
                name: c.to_string(),
                domain: None,
            })
            .collect(),
        extensions,
        ..Item::default()
    }
}

pub(super) fn link(href: String, rel: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        ..Link::default()
    }
}

/// RFC 5005 links, to the same format of the neighbouring documents.
pub(super) fn archive_links(doc: &FeedDoc, site: &Site, file: &str, links: &mut Vec<Link>) {
    if doc.current {
        links.push(link(site.links.feed_url(&format!("all/{file}")), "current"));
    }
    if let Some(dir) = &doc.prev_archive {
        links.push(link(
            site.links.feed_url(&format!("{dir}/{file}")),
            "prev-archive",
        ));
    }
    if let Some(dir) = &doc.next_archive {
        links.push(link(
            site.links.feed_url(&format!("{dir}/{file}")),
            "next-archive",
        ));
    }
}

#[cfg(test)]
#[test]
fn hex_references_spare_cdata() {
    let xml = b"<t>a &amp; b &lt; c &gt; d</t><d><![CDATA[<p>x &amp; y</p>]]></d><l href=\"?a=1&amp;b\"/>";
    assert_eq!(
        String::from_utf8(hex_references(xml)).unwrap(),
        "<t>a &#x26; b &#x3C; c &gt; d</t><d><![CDATA[<p>x &amp; y</p>]]></d><l href=\"?a=1&#x26;b\"/>"
    );
}

fn element(name: &str, attrs: BTreeMap<String, String>) -> BTreeMap<String, Vec<Extension>> {
    let local = name.split(':').nth(1).unwrap_or(name).to_owned();
    let ext = Extension {
        name: name.into(),
        value: None,
        attrs,
        children: BTreeMap::new(),
    };
    [(local, vec![ext])].into()
}
