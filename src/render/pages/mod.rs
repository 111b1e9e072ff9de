//! The pages people read, and the OPML lists readers import. Every feed has a page
//! beside it (`index.html` in its folder), so a feed's folder URL is one address
//! for a person and for a reader (which finds the feed by autodiscovery). The
//! listings are bounded whatever the archive's size: `index.html` shows the
//! most active contexts and the newest days, the A-Z pages split by slug prefix
//! ([`tree`]), the days by year. No JavaScript; everything escaped here.

mod feed_page;
mod home;
mod listing;
mod opml;
pub mod tree;

pub use feed_page::feed_page;

use super::{Format, Site, GENERATOR};
use crate::index::{ContextEntry, Index};
use crate::model::Context;
use chrono::{Datelike, NaiveDate};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// Most items a feed's page shows (a day can hold thousands).
pub const PAGE_ITEMS: usize = 100;
/// How many of the most active contexts `index.html` shows.
pub const HOME_CONTEXTS: usize = 50;
/// How many of the newest days `index.html` shows.
pub const HOME_DAYS: usize = 30;
/// How many of the most active contexts `feeds.opml` lists.
pub const OPML_CONTEXTS: usize = 200;

/// A page or OPML file that is not a feed's own page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Page {
    /// `index.html`.
    Home,
    /// `feeds.opml`: the all-events feed and the most active contexts.
    Opml,
    /// An A-Z page of contexts, by slug prefix: `contexts/az-<prefix>.html`.
    Letter(String),
    /// The contexts an A-Z page lists itself, as OPML.
    LetterOpml(String),
    /// Every day of a year: `days/<year>/index.html`.
    Year(i32),
    YearOpml(i32),
}

impl Page {
    /// Where the page lives, relative to the output root. Slugs never hold a
    /// `.`, so `contexts/az-*.html` never meets a context's folder.
    pub fn path(&self) -> String {
        match self {
            Page::Home => "index.html".into(),
            Page::Opml => "feeds.opml".into(),
            Page::Letter(p) => format!("contexts/az-{p}.html"),
            Page::LetterOpml(p) => format!("opml/contexts-{p}.opml"),
            Page::Year(y) => format!("days/{y:04}/index.html"),
            Page::YearOpml(y) => format!("opml/days-{y:04}.opml"),
        }
    }

    pub fn render(&self, index: &Index, site: &Site) -> Vec<u8> {
        match self {
            Page::Home => home::render(index, site),
            Page::Opml => opml::main(index, site),
            Page::Letter(p) => listing::letter(index, site, p),
            Page::LetterOpml(p) => opml::letter(index, site, p),
            Page::Year(y) => listing::year(index, site, *y),
            Page::YearOpml(y) => opml::year(index, site, *y),
        }
    }
}

/// The most active contexts (most items, then by name), at most `n`.
fn most_active(index: &Index, n: usize) -> Vec<(&Context, &ContextEntry)> {
    index.most_active(n).collect()
}

/// The escaped URL of a file or folder in the output directory.
fn url(site: &Site, rel: &str) -> String {
    let mut h = String::new();
    push_url(&mut h, site, &[rel]);
    h
}

/// Appends the escaped URL of the file or folder whose path in the output
/// directory is `rel`'s parts joined. Listings write thousands of these per
/// page: escaping part by part allocates nothing (escaping a joined string is
/// escaping its parts, one after the other).
fn push_url(h: &mut String, site: &Site, rel: &[&str]) {
    h.push_str(site.links.feeds_root_attr());
    for part in rel {
        h.push_str(&attr(part));
    }
}

/// Where a feed's name links: its page, or its main feed file (RSS when written)
/// when there are no pages.
fn feed_link(site: &Site, dir: &str) -> String {
    let mut h = String::new();
    push_feed_link(&mut h, site, dir);
    h
}

fn push_feed_link(h: &mut String, site: &Site, dir: &str) {
    match site.feed_pages {
        true => push_url(h, site, &[dir, "/"]),
        false => push_url(h, site, &[dir, "/", site.formats.main().file()]),
    }
}

/// English month names, as chrono's `%B` writes them (without its format parser,
/// which listings would run for every row).
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(day: NaiveDate) -> &'static str {
    MONTHS[day.month0() as usize]
}

/// `4 July 2025`: chrono's `%-d %B %Y`.
fn long_date(day: NaiveDate) -> String {
    format!("{} {} {:04}", day.day(), month_name(day), day.year())
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;color:#222;overflow-wrap:break-word}\
h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.15rem}ul{padding-left:1.2rem}li{margin:.25rem 0}\
a{color:#0645ad}.n,.m,nav{color:#666;font-size:.9em}.f{font-size:.85em;white-space:nowrap}\
article{border-top:1px solid #ddd;padding:.5rem 0}article h2{margin:.3rem 0}\
.sub{background:#f4f4f4;padding:.6rem .8rem;border-radius:.3rem}.sub input{width:100%;box-sizing:border-box;font:inherit;padding:.3rem}\
img{max-width:100%;height:auto}";

/// The document up to `<body>`: `feed` is the directory and title of the feed the
/// page stands for, announced to readers (autodiscovery) in every format.
fn head(h: &mut String, site: &Site, title: &str, feed: Option<(&str, &str)>) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"");
    h.push_str(&attr(&site.language));
    h.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"");
    h.push_str(GENERATOR);
    h.push_str("\">\n<title>");
    h.push_str(&text(title));
    h.push_str("</title>\n");
    if let Some((dir, feed_title)) = feed {
        for f in site.formats.iter() {
            h.push_str("<link rel=\"alternate\" type=\"");
            h.push_str(f.media_type());
            h.push_str("\" title=\"");
            h.push_str(&attr(&format!("{feed_title} ({})", f.label())));
            h.push_str("\" href=\"");
            h.push_str(&url(site, &format!("{dir}/{}", f.file())));
            h.push_str("\">\n");
        }
    }
    h.push_str("<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n");
}

fn foot(h: &mut String) {
    h.push_str("</body>\n</html>\n");
}

/// The trail back to `index.html`, then `extra` (escaped HTML) if any.
fn nav(h: &mut String, site: &Site, extra: &str) {
    h.push_str("<nav><a href=\"");
    h.push_str(&url(site, ""));
    h.push_str("\">");
    h.push_str(&text(&site.title));
    h.push_str("</a>");
    h.push_str(extra);
    h.push_str("</nav>\n");
}

/// Links to a feed's formats.
fn formats(h: &mut String, site: &Site, dir: &str) {
    h.push_str("<span class=\"f\">");
    for (i, f) in site.formats.iter().enumerate() {
        let label = match f {
            Format::Json => "JSON",
            f => f.label(),
        };
        if i > 0 {
            h.push_str(" · ");
        }
        h.push_str("<a href=\"");
        push_url(h, site, &[dir, "/", f.file()]);
        h.push_str("\">");
        h.push_str(label);
        h.push_str("</a>");
    }
    h.push_str("</span>");
}

/// The "copy this address into your feed reader" block.
fn subscribe(h: &mut String, site: &Site, dir: &str) {
    let main = url(site, &format!("{dir}/{}", site.formats.main().file()));
    h.push_str("<section class=\"sub\">\n<label>Copy this address into your feed reader:<br>\n<input type=\"text\" readonly value=\"");
    h.push_str(&main);
    h.push_str("\"></label>\n<p>Or open the feed as ");
    formats(h, site, dir);
    h.push_str(". Most readers also find it from this page's address.</p>\n</section>\n");
}
