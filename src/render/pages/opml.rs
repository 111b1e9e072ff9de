//! OPML 2.0, to import feeds into a reader: `feeds.opml` (the all-events feed and
//! the most active contexts: a size a reader takes at once) and the complete
//! listings split like the pages, `opml/contexts-<prefix>.opml` and
//! `opml/days-<year>.opml`. No dates and no counts, so a file changes only when
//! the feeds it lists do.

use super::{most_active, tree, OPML_CONTEXTS};
use crate::index::Index;
use crate::render::{context_dir, day_dir, Site};
use chrono::NaiveDate;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write;

fn open(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        attr(&text(title)),
    );
}

fn close(o: &mut String) {
    o.push_str("  </body>\n</opml>\n");
}

fn outline(o: &mut String, site: &Site, indent: &str, title: &str, dir: &str) {
    let html = match site.feed_pages {
        true => site.links.feed_url(&format!("{dir}/")),
        false => site.links.feed_url("index.html"),
    };
    let _ =
        writeln!(
        o,
        "{indent}<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>",
        attr(&site.links.feed_url(&format!("{dir}/{}", site.formats.main().file()))),
        attr(&html),
        // OPML says `text` may hold HTML, and validators read it so: escape it as
        // HTML, then as an attribute.
        t = attr(&text(title)),
    );
}

/// `feeds.opml`: the all-events feed and the most active contexts, by name.
pub fn main(index: &Index, site: &Site) -> Vec<u8> {
    let mut o = String::with_capacity(64 * 1024);
    open(&mut o, &site.title);
    outline(
        &mut o,
        site,
        "    ",
        &format!("{}: all events", site.title),
        "all",
    );
    let mut top = most_active(index, OPML_CONTEXTS);
    top.sort_by(|a, b| a.0.cmp(b.0));
    let _ = writeln!(o, "    <outline text=\"Most active contexts\">");
    for (name, ctx) in top {
        let title = format!("{}: {name}", site.title);
        outline(&mut o, site, "      ", &title, &context_dir(&ctx.slug));
    }
    o.push_str("    </outline>\n");
    close(&mut o);
    o.into_bytes()
}

/// The contexts the A-Z page of prefix `p` lists itself.
pub fn letter(index: &Index, site: &Site, p: &str) -> Vec<u8> {
    let slugs = index.slugs();
    let mut o = String::with_capacity(32 * 1024);
    open(
        &mut o,
        &format!("{}: contexts {}…", site.title, p.to_uppercase()),
    );
    let own: Vec<_> = match tree::Tree::new(slugs, site.page_contexts).is_leaf(p) {
        true => tree::under(slugs, p).collect(),
        false => slugs
            .get_key_value(p)
            .map(|(s, c)| (&**s, c))
            .into_iter()
            .collect(),
    };
    for (slug, name) in own {
        let title = format!("{}: {name}", site.title);
        outline(&mut o, site, "    ", &title, &context_dir(slug));
    }
    close(&mut o);
    o.into_bytes()
}

/// Every day of a year.
pub fn year(index: &Index, site: &Site, year: i32) -> Vec<u8> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
    let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid");
    let mut o = String::with_capacity(64 * 1024);
    open(&mut o, &format!("{}: days of {year}", site.title));
    for day in index.feed_days_in(first..=last) {
        let title = format!("{}: events of {}", site.title, day.format("%-d %B %Y"));
        outline(&mut o, site, "    ", &title, &day_dir(day));
    }
    close(&mut o);
    o.into_bytes()
}
