//! The HTML body of an item: the summary, the cover image, the sources and the
//! related events, every link absolute. A function of the event and of where its
//! Related links resolve, so an item reads the same in every feed it is in.

use crate::index::Index;
use crate::links::Links;
use crate::model::Body;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write;

pub fn html(body: &Body, index: &Index, links: &Links) -> String {
    let mut out = String::with_capacity(body.summary_html.len() + 512);
    if let Some(image) = &body.image {
        let _ = write!(out, "<p><img src=\"{}\" alt=\"\"></p>", attr(image));
    }
    out.push_str(&body.summary_html);
    if !body.sources.is_empty() {
        out.push_str("<p>Sources: ");
        for (i, s) in body.sources.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(
                out,
                "{sep}<a href=\"{}\">{}</a>",
                attr(&s.url),
                text(&s.name)
            );
        }
        out.push_str("</p>");
    }
    if !body.related.is_empty() {
        out.push_str("<p>Related:</p><ul>");
        for r in body.related.iter() {
            // A link to an event goes to the page of its current version; to
            // one not in the tree, to the page as written.
            let url = match (&r.key, &r.url) {
                (Some(key), _) => match index.resolve(key) {
                    Some(target) => links.page_url(&target.path()),
                    None => links.page_url(&crate::model::padded_path(key, r.pad)),
                },
                (None, Some(url)) => url.to_string(),
                (None, None) => continue,
            };
            let _ = write!(
                out,
                "<li><a href=\"{}\">{}</a></li>",
                attr(&url),
                text(&r.title)
            );
        }
        out.push_str("</ul>");
    }
    if out.is_empty() {
        // Validators flag an empty description or content: an event with nothing
        // but a headline says its headline.
        let _ = write!(out, "<p>{}</p>", text(&body.title));
    }
    out
}
