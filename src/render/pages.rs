//! The two files that list every feed: `index.html`, for people (with autodiscovery
//! links for readers), and `feeds.opml`, to import into a reader.

use super::{context_dir, day_dir, Site, GENERATOR};
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
    rows.sort_by_cached_key(|r| (r.name.to_lowercase(), r.name));
    rows
}

pub fn index_html(index: &Index, site: &Site) -> Vec<u8> {
    let rows = context_rows(index);
    let mut top: Vec<&ContextRow> = rows.iter().collect();
    let by_count =
        |a: &&ContextRow, b: &&ContextRow| b.count.cmp(&a.count).then(a.name.cmp(b.name));
    if top.len() > TOP {
        top.select_nth_unstable_by(TOP, by_count);
        top.truncate(TOP);
    }
    top.sort_by(by_count);
    // Feed paths are made of slug characters only, so the escaped root is all the
    // escaping the links need: this page is rewritten on every change, with a row
    // per context.
    let base = attr(site.links.feeds_root()).into_owned();
    let title = text(&site.title);
    let mut h = String::with_capacity(400 * (rows.len() + 2 * TOP) + 4096);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{GENERATOR}\">\n<title>{title}: feeds</title>\n\
<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{t}: all events (RSS)\" href=\"{base}all/rss.xml\">\n\
<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{t}: all events (Atom)\" href=\"{base}all/atom.xml\">\n\
<link rel=\"alternate\" type=\"application/feed+json\" title=\"{t}: all events (JSON Feed)\" href=\"{base}all/feed.json\">\n\
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}}\
h1{{font-size:1.6rem}}ul{{padding-left:1.2rem}}li{{margin:.2rem 0}}.n{{color:#666}}.f{{font-size:.85em;white-space:nowrap}}</style>\n\
</head>\n<body>\n<h1>{title}</h1>\n<p>Subscribe in your feed reader, or import <a href=\"{base}feeds.opml\">every feed as OPML</a>.</p>\n\
<h2>All events</h2>\n<p>",
        lang = attr(&site.language),
        t = attr(&site.title),
    );
    push_formats(&mut h, &base, &["all"]);
    let _ = writeln!(
        h,
        " <span class=\"n\">({} events)</span></p>",
        index.event_count()
    );
    let row = |h: &mut String, r: &ContextRow, anchor: bool| {
        h.push_str("<li");
        if anchor {
            h.push_str(" id=\"contexts-");
            h.push_str(r.slug);
            h.push('"');
        }
        h.push('>');
        h.push_str(&text(r.name));
        let _ = write!(
            h,
            " <span class=\"n\">({})</span> <span class=\"f\">",
            r.count
        );
        push_formats(h, &base, &["contexts/", r.slug]);
        h.push_str("</span></li>\n");
    };
    h.push_str("<h2>Most active contexts</h2>\n<ul>\n");
    for r in &top {
        row(&mut h, r, false);
    }
    h.push_str("</ul>\n<h2>Recent days</h2>\n<ul>\n");
    for (day, keys) in index.days().iter().rev().take(TOP) {
        let _ = write!(
            h,
            "<li>{} <span class=\"n\">({})</span> <span class=\"f\">",
            day.format("%-d %B %Y"),
            keys.len()
        );
        push_formats(&mut h, &base, &[&day_dir(*day)]);
        h.push_str("</span></li>\n");
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

/// Appends the links to a feed's three formats; `dir` is the feed directory in
/// pieces, `base` the escaped feeds root.
fn push_formats(h: &mut String, base: &str, dir: &[&str]) {
    for (i, (file, label)) in [
        ("rss.xml", "RSS"),
        ("atom.xml", "Atom"),
        ("feed.json", "JSON"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            h.push_str(" · ");
        }
        h.push_str("<a href=\"");
        h.push_str(base);
        dir.iter().for_each(|d| h.push_str(d));
        h.push('/');
        h.push_str(file);
        h.push_str("\">");
        h.push_str(label);
        h.push_str("</a>");
    }
}

/// OPML 2.0: the all-events feed, every context, and the day archives by year.
/// It depends on the set of feeds only (no dates, no counts), so it is rewritten
/// only when a feed comes, goes or moves.
pub fn opml(index: &Index, site: &Site) -> Vec<u8> {
    let mut o = String::with_capacity(200 * (index.contexts().len() + index.days().len()) + 1024);
    let _ = write!(
        o,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        attr(&text(&site.title)),
    );
    let outline = |o: &mut String, indent: &str, title: &str, dir: &str| {
        let _ = writeln!(
            o,
            "{indent}<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>",
            attr(&site.links.feed_url(&format!("{dir}/rss.xml"))),
            attr(&site.links.feed_url("index.html")),
            // OPML says `text` may hold HTML, and validators read it so: escape it as
            // HTML, then as an attribute.
            t = attr(&text(title)),
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
