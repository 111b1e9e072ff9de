//! `index.html`: the way in. It shows only bounded lists (the all-events feed, the
//! most active contexts, the newest days, the A-Z and year navigation), so its
//! size does not grow with the archive; it is rendered on every change, as one
//! file, and shows no totals, so its bytes change only when those lists do.

use super::{feed_link, foot, formats, head, most_active, nav, subscribe, url, Page};
use super::{tree, HOME_CONTEXTS, HOME_DAYS};
use crate::index::Index;
use crate::render::{context_dir, day_dir, Site};
use html_escape::encode_text as text;
use std::fmt::Write;

pub fn render(index: &Index, site: &Site) -> Vec<u8> {
    let mut h = String::with_capacity(32 * 1024);
    let title = format!("{}: feeds", site.title);
    head(
        &mut h,
        site,
        &title,
        Some(("all", &format!("{}: all events", site.title))),
    );
    nav(&mut h, site, "");
    let _ = writeln!(h, "<h1>{}</h1>", text(&site.title));
    let _ = writeln!(
        h,
        "<p>Follow every event, a context or a day in your feed reader. Every feed has a page; paste a page's address into your reader and it finds the feed. <a href=\"{}\">feeds.opml</a> imports the all-events feed and the {OPML} most active contexts at once.</p>",
        url(site, "feeds.opml"),
        OPML = super::OPML_CONTEXTS,
    );
    let _ = writeln!(
        h,
        "<h2><a href=\"{}\">All events</a></h2>",
        feed_link(site, "all")
    );
    subscribe(&mut h, site, "all");
    h.push_str("<h2>Most active contexts</h2>\n<ul>\n");
    for (name, ctx) in most_active(index, HOME_CONTEXTS) {
        let dir = context_dir(&ctx.slug);
        let _ = write!(
            h,
            "<li><a href=\"{}\">{}</a> ",
            feed_link(site, &dir),
            text(name)
        );
        formats(&mut h, site, &dir);
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n<h2>Recent days</h2>\n<ul>\n");
    for day in index.days().keys().rev().take(HOME_DAYS) {
        let dir = day_dir(*day);
        let _ = write!(
            h,
            "<li><a href=\"{}\">{}</a> ",
            feed_link(site, &dir),
            super::long_date(*day)
        );
        formats(&mut h, site, &dir);
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n<h2>Every context, A to Z</h2>\n<p>");
    for (i, r) in tree::Tree::new(index.slugs(), site.page_contexts)
        .roots()
        .iter()
        .enumerate()
    {
        if i > 0 {
            h.push(' ');
        }
        let _ = write!(
            h,
            "<a href=\"{}\">{}</a>",
            url(site, &Page::Letter(r.clone()).path()),
            r.to_uppercase()
        );
    }
    h.push_str("</p>\n<h2>Every day, by year</h2>\n<p>");
    let years = index.feed_years();
    for (i, y) in years.iter().rev().enumerate() {
        if i > 0 {
            h.push(' ');
        }
        let _ = write!(
            h,
            "<a href=\"{}\">{y}</a> <a class=\"f\" href=\"{}\">OPML</a>",
            url(site, &format!("days/{y:04}/")),
            url(site, &Page::YearOpml(*y).path())
        );
    }
    h.push_str("</p>\n<p class=\"m\">Each A-Z page links the OPML of the contexts it lists.</p>\n");
    foot(&mut h);
    h.into_bytes()
}
