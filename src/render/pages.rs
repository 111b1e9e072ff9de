//! The two files that list every feed: `index.html`, for people (with autodiscovery
//! links for readers), and `feeds.opml`, to import into a reader.

use super::{context_dir, day_dir, rfc822, Site, GENERATOR};
use crate::index::Index;
use chrono::Datelike;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write;

/// How many of the most active contexts and newest days the page shows first.
const TOP: usize = 50;

struct ContextRow<'a> {
    name: &'a str,
    slug: &'a str,
    count: usize,
}

fn context_rows(index: &Index) -> Vec<ContextRow<'_>> {
    let mut rows: Vec<ContextRow> = index
        .contexts()
        .iter()
        .map(|(name, c)| ContextRow {
            name,
            slug: &c.slug,
            count: c.items.len(),
        })
        .collect();
    rows.sort_unstable_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.name.cmp(b.name))
    });
    rows
}

pub fn index_html(index: &Index, site: &Site) -> Vec<u8> {
    let rows = context_rows(index);
    let mut top: Vec<&ContextRow> = rows.iter().collect();
    top.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(b.name)));
    top.truncate(TOP);
    let url = |dir: &str, file: &str| site.links.feed_url(&format!("{dir}/{file}"));
    let formats = |dir: &str| {
        format!(
            "<a href=\"{}\">RSS</a> · <a href=\"{}\">Atom</a> · <a href=\"{}\">JSON</a>",
            attr(&url(dir, "rss.xml")),
            attr(&url(dir, "atom.xml")),
            attr(&url(dir, "feed.json"))
        )
    };
    let title = text(&site.title);
    let mut h = String::with_capacity(256 * rows.len() + 4096);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{GENERATOR}\">\n<title>{title}: feeds</title>\n\
<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{t}: all events (RSS)\" href=\"{rss}\">\n\
<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{t}: all events (Atom)\" href=\"{atom}\">\n\
<link rel=\"alternate\" type=\"application/feed+json\" title=\"{t}: all events (JSON Feed)\" href=\"{json}\">\n\
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}}\
h1{{font-size:1.6rem}}ul{{padding-left:1.2rem}}li{{margin:.2rem 0}}.n{{color:#666}}.f{{font-size:.85em;white-space:nowrap}}</style>\n\
</head>\n<body>\n<h1>{title}</h1>\n<p>Subscribe in your feed reader, or import <a href=\"{opml}\">every feed as OPML</a>.</p>\n\
<h2>All events</h2>\n<p>{all} <span class=\"n\">({events} events)</span></p>\n",
        lang = attr(&site.language),
        t = attr(&site.title),
        rss = attr(&url("all", "rss.xml")),
        atom = attr(&url("all", "atom.xml")),
        json = attr(&url("all", "feed.json")),
        opml = attr(&site.links.feed_url("feeds.opml")),
        all = formats("all"),
        events = index.event_count(),
    );
    let row = |h: &mut String, r: &ContextRow, id: bool| {
        let anchor = if id {
            format!(" id=\"{}\"", attr(&context_dir(r.slug).replace('/', "-")))
        } else {
            String::new()
        };
        let _ = writeln!(
            h,
            "<li{anchor}>{} <span class=\"n\">({})</span> <span class=\"f\">{}</span></li>",
            text(r.name),
            r.count,
            formats(&context_dir(r.slug))
        );
    };
    let _ = writeln!(h, "<h2>Most active contexts</h2>\n<ul>");
    for r in &top {
        row(&mut h, r, false);
    }
    let _ = writeln!(h, "</ul>\n<h2>Recent days</h2>\n<ul>");
    for (day, keys) in index.days().iter().rev().take(TOP) {
        let _ = writeln!(
            h,
            "<li>{} <span class=\"n\">({})</span> <span class=\"f\">{}</span></li>",
            day.format("%-d %B %Y"),
            keys.len(),
            formats(&day_dir(*day))
        );
    }
    let _ = writeln!(
        h,
        "</ul>\n<h2>Every context, A to Z ({})</h2>\n<ul>",
        rows.len()
    );
    for r in &rows {
        row(&mut h, r, true);
    }
    h.push_str("</ul>\n</body>\n</html>\n");
    h.into_bytes()
}

/// OPML 2.0: the all-events feed, every context, and the day archives by year.
pub fn opml(index: &Index, site: &Site) -> Vec<u8> {
    let updated = index
        .all()
        .iter()
        .next()
        .map_or(0, |(std::cmp::Reverse(ts), _)| *ts);
    let mut o = String::with_capacity(200 * (index.contexts().len() + index.days().len()) + 1024);
    let _ = write!(
        o,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n    <dateModified>{}</dateModified>\n  </head>\n  <body>\n",
        text(&site.title),
        rfc822(updated)
    );
    let outline = |o: &mut String, indent: &str, title: &str, dir: &str| {
        let _ = writeln!(
            o,
            "{indent}<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>",
            attr(&site.links.feed_url(&format!("{dir}/rss.xml"))),
            attr(&site.links.feed_url("index.html")),
            t = attr(title),
        );
    };
    outline(
        &mut o,
        "    ",
        &format!("{}: all events", site.title),
        "all",
    );
    let _ = writeln!(o, "    <outline text=\"Contexts\">");
    for r in context_rows(index) {
        outline(
            &mut o,
            "      ",
            &format!("{}: {}", site.title, r.name),
            &context_dir(r.slug),
        );
    }
    let _ = writeln!(o, "    </outline>\n    <outline text=\"Days\">");
    let mut year = None;
    for day in index.days().keys() {
        if year != Some(day.year()) {
            if year.is_some() {
                let _ = writeln!(o, "      </outline>");
            }
            year = Some(day.year());
            let _ = writeln!(o, "      <outline text=\"{}\">", day.year());
        }
        let title = format!("{}: events of {}", site.title, day.format("%-d %B %Y"));
        outline(&mut o, "        ", &title, &day_dir(*day));
    }
    if year.is_some() {
        let _ = writeln!(o, "      </outline>");
    }
    o.push_str("    </outline>\n  </body>\n</opml>\n");
    o.into_bytes()
}
