//! The complete listings, in pages of bounded size: contexts A to Z (split by slug
//! prefix, see [`super::tree`]) and days by year. They show counts: only the page
//! that lists a changed feed changes.

use super::{foot, formats, head, month_name, nav, push_feed_link, tree, url, Page};
use crate::index::Index;
use crate::render::{context_dir, day_dir, Site};
use chrono::{Datelike, NaiveDate};
use html_escape::encode_text as text;
use std::fmt::Write;

/// One context's row: its name (to its page), count and formats.
fn context_row(h: &mut String, index: &Index, site: &Site, slug: &str, name: &str) {
    let count = index.context(name).map_or(0, |c| c.items.len());
    let dir = context_dir(slug);
    let _ = write!(h, "<li id=\"{slug}\"><a href=\"");
    push_feed_link(h, site, &dir);
    let _ = write!(
        h,
        "\">{}</a> <span class=\"n\">({count})</span> ",
        text(name)
    );
    formats(h, site, &dir);
    h.push_str("</li>\n");
}

/// `contexts/az-<p>.html`: a leaf lists its contexts, a branch its children.
pub fn letter(index: &Index, site: &Site, p: &str) -> Vec<u8> {
    let slugs = index.slugs();
    let tree = tree::Tree::new(slugs, site.page_contexts);
    let mut h = String::with_capacity(16 * 1024);
    let label = format!("{}…", p.to_uppercase());
    head(
        &mut h,
        site,
        &format!("{}: contexts {label}", site.title),
        None,
    );
    let mut trail = String::new();
    for n in 1..p.len() {
        let _ = write!(
            trail,
            " › <a href=\"{}\">{}…</a>",
            url(site, &Page::Letter(p[..n].to_owned()).path()),
            p[..n].to_uppercase()
        );
    }
    nav(&mut h, site, &trail);
    let _ = writeln!(h, "<h1>Contexts {}</h1>", text(&label));
    let leaf = tree.is_leaf(p);
    let own = if leaf {
        tree::under(slugs, p).collect()
    } else {
        slugs
            .get_key_value(p)
            .map(|(s, c)| vec![(&**s, c)])
            .unwrap_or_default()
    };
    if !own.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"m\">Their feeds as <a href=\"{}\">OPML</a>, to import into a reader.</p>\n<ul>",
            url(site, &Page::LetterOpml(p.to_owned()).path())
        );
        for (slug, name) in own {
            context_row(&mut h, index, site, slug, name);
        }
        h.push_str("</ul>\n");
    }
    if !leaf {
        h.push_str("<ul>\n");
        for c in tree.children(p) {
            let mut names = tree::under(slugs, &c).map(|(_, n)| n);
            let first = names.next().expect("a child has contexts");
            let last = names.last();
            let _ = write!(
                h,
                "<li><a href=\"{}\">{}…</a> <span class=\"n\">{}",
                url(site, &Page::Letter(c.clone()).path()),
                c.to_uppercase(),
                text(first)
            );
            if let Some(last) = last {
                let _ = write!(h, " … {}", text(last));
            }
            h.push_str("</span></li>\n");
        }
        h.push_str("</ul>\n");
    }
    foot(&mut h);
    h.into_bytes()
}

/// `days/<year>/index.html`: every day of the year, by month.
pub fn year(index: &Index, site: &Site, year: i32) -> Vec<u8> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
    let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid");
    let mut h = String::with_capacity(32 * 1024);
    head(
        &mut h,
        site,
        &format!("{}: days of {year}", site.title),
        None,
    );
    nav(&mut h, site, "");
    let _ = writeln!(
        h,
        "<h1>Days of {year}</h1>\n<p class=\"m\">Their feeds as <a href=\"{}\">OPML</a>, to import into a reader.</p>",
        url(site, &Page::YearOpml(year).path())
    );
    let mut month = 0;
    for day in index.feed_days_in(first..=last) {
        // An emptied day with a day page still has (empty) feeds: count 0.
        let count = index.days().get(&day).map_or(0, |keys| keys.len());
        if day.month() != month {
            if month != 0 {
                h.push_str("</ul>\n");
            }
            month = day.month();
            let _ = writeln!(h, "<h2>{}</h2>\n<ul>", month_name(day));
        }
        let dir = day_dir(day);
        h.push_str("<li><a href=\"");
        push_feed_link(&mut h, site, &dir);
        let _ = write!(
            h,
            "\">{} {}</a> <span class=\"n\">({count})</span> ",
            day.day(),
            month_name(day),
        );
        formats(&mut h, site, &dir);
        h.push_str("</li>\n");
    }
    if month != 0 {
        h.push_str("</ul>\n");
    }
    foot(&mut h);
    h.into_bytes()
}
