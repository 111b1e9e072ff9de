//! A feed's own page: its items as a person reads them, and how to subscribe.
//! Rendered with the feed from the same [`FeedDoc`], so it changes exactly when
//! the feed's items do (plus the slugs of the contexts it links, see `plan`).

use super::{foot, formats, head, long_date, nav, subscribe, url, PAGE_ITEMS};
use crate::index::Index;
use crate::render::fragments::Kind;
use crate::render::{context_dir, day_dir, FeedDoc, FeedId, Item, Site};
use chrono::Datelike;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write;

pub fn feed_page(index: &Index, doc: &FeedDoc, site: &Site, id: &FeedId) -> Vec<u8> {
    let mut h = String::with_capacity(4096 + doc.items.len().min(PAGE_ITEMS) * 1024);
    let (heading, feed_title) = match id {
        FeedId::All => ("All events".to_owned(), doc.title.clone()),
        FeedId::Context(name) => (name.to_string(), doc.title.clone()),
        FeedId::Day(day) => (long_date(*day), doc.title.clone()),
    };
    head(&mut h, site, &feed_title, Some((&doc.dir, &feed_title)));
    let mut trail = String::new();
    if let FeedId::Day(day) = id {
        let _ = write!(
            trail,
            " › <a href=\"{}\">{}</a>",
            url(site, &format!("days/{:04}/", day.year())),
            day.year()
        );
    }
    nav(&mut h, site, &trail);
    let _ = writeln!(h, "<h1>{}</h1>", text(&heading));
    let _ = writeln!(h, "<p>{}</p>", text(&doc.description));
    if let FeedId::Day(day) = id {
        let (prev, next) = match doc.items.is_empty() {
            true => (None, None),
            false => index.neighbours(*day),
        };
        h.push_str("<p class=\"m\">");
        if let Some(p) = prev {
            let _ = write!(
                h,
                "<a href=\"{}\" rel=\"prev\">← {}</a> ",
                url(site, &format!("{}/", day_dir(p))),
                long_date(p)
            );
        }
        let _ = write!(
            h,
            "<a href=\"{}\">This day on the site</a>",
            attr(&doc.alternate)
        );
        if let Some(n) = next {
            let _ = write!(
                h,
                " <a href=\"{}\" rel=\"next\">{} →</a>",
                url(site, &format!("{}/", day_dir(n))),
                long_date(n)
            );
        }
        h.push_str("</p>\n");
    }
    subscribe(&mut h, site, &doc.dir);
    if doc.items.is_empty() {
        h.push_str("<p>No events (any more): the feed stays, so that subscribers keep it.</p>\n");
    }
    for it in doc.items.iter().take(PAGE_ITEMS) {
        let part = doc.fragment(it, Kind::Page, || article(index, site, it));
        h.push_str(std::str::from_utf8(&part).expect("written from strings"));
    }
    if doc.items.len() > PAGE_ITEMS {
        let _ = writeln!(
            h,
            "<p class=\"m\">{} more in the feed: ",
            doc.items.len() - PAGE_ITEMS
        );
        formats(&mut h, site, &doc.dir);
        h.push_str("</p>");
    }
    foot(&mut h);
    h.into_bytes()
}

/// An item as the page shows it.
fn article(index: &Index, site: &Site, it: &Item) -> Vec<u8> {
    let mut h = String::with_capacity(1024);
    let _ = write!(
        h,
        "<article>\n<h2><a href=\"{}\">{}</a></h2>\n<p class=\"m\"><time datetime=\"{}\">{}</time>",
        attr(it.link()),
        text(it.body().title.trim()),
        it.event.date,
        long_date(it.event.date),
    );
    for (i, c) in it.contexts.iter().enumerate() {
        h.push_str(if i == 0 { " · " } else { ", " });
        match index.context(c) {
            Some(ctx) => {
                h.push_str("<a href=\"");
                super::push_feed_link(&mut h, site, &context_dir(&ctx.slug));
                let _ = write!(h, "\">{}</a>", text(c));
            }
            None => h.push_str(&text(c)),
        }
    }
    h.push_str("</p>\n");
    // Sanitized when parsed (an allowlist, absolute links).
    h.push_str(&it.body().summary_html);
    h.push_str("\n</article>\n");
    h.into_bytes()
}
