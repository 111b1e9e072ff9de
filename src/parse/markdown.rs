//! The summary: markdown rendered to HTML, then sanitized with an allowlist, since
//! feed readers show it as HTML (and the `rss` crate puts it in CDATA, where a
//! `<script>` would reach readers live). Every link comes out absolute.
//!
//! Most summaries are paragraphs of text with a few links and emphasis: markup
//! whose tags are all allowed. Those are written straight from the parser's
//! events, byte for byte as the sanitizer would write them ([`Sanitizer::simple`]);
//! parsing HTML into a tree to clean it took a fifth of the time spent parsing
//! an event file.

use crate::links::Links;
use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{html, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::collections::HashSet;

/// Makes relative links absolute, the way event links are everywhere else.
struct Absolute(Links);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for Absolute {
    fn evaluate<'url>(&self, href: &'url str) -> Option<std::borrow::Cow<'url, str>> {
        self.0.resolve(href).map(Into::into)
    }
}

/// Renders and sanitizes event HTML. Built once: the allowlist is not free to set up.
pub struct Sanitizer {
    builder: Builder<'static>,
    links: Links,
}

/// The URL schemes links may keep.
const SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// What a link's element is given.
const REL: &str = "noopener noreferrer";

impl Sanitizer {
    pub fn new(links: &Links) -> Self {
        let tags: HashSet<&str> = [
            "a",
            "abbr",
            "b",
            "blockquote",
            "br",
            "cite",
            "code",
            "del",
            "em",
            "h3",
            "h4",
            "i",
            "img",
            "li",
            "ol",
            "p",
            "pre",
            "q",
            "s",
            "strong",
            "sub",
            "sup",
            "ul",
        ]
        .into();
        let mut builder = Builder::default();
        builder
            .tags(tags)
            .url_schemes(SCHEMES.into())
            .link_rel(Some(REL))
            .url_relative(UrlRelative::Custom(Box::new(Absolute(links.clone()))));
        Self {
            builder,
            links: links.clone(),
        }
    }

    /// Renders summary markdown to sanitized HTML.
    pub fn markdown(&self, markdown: &str) -> String {
        match self.simple(markdown) {
            Some(html) => guard_cdata(html),
            None => self.html(&raw_html(markdown)),
        }
    }

    /// Sanitizes HTML with the allowlist readers expect in feed content.
    pub fn html(&self, html: &str) -> String {
        guard_cdata(self.builder.clean(html).to_string())
    }

    /// What [`Sanitizer::markdown`] makes of markdown that is only paragraphs
    /// of text, emphasis, strikethrough, code spans, line breaks and links,
    /// written from the parser's events as the sanitizer writes the tree the
    /// parser's HTML makes (html5ever's serializer: quotes bare in text, `<br>`
    /// for `<br />`); `None` for anything else, which goes the long way. All
    /// of these tags are allowed, so only the links need the sanitizer's
    /// checks, made here with the same calls (`url::Url::parse`,
    /// [`Links::resolve`]).
    fn simple(&self, markdown: &str) -> Option<String> {
        // The HTML parser drops a NUL that the markdown parser keeps.
        if markdown.contains('\0') {
            return None;
        }
        let mut out = String::with_capacity(markdown.len() + 16);
        // A link inside a link (an autolink in a link's text) is closed by the
        // HTML parser's rules for misnested tags: the long way.
        let mut in_link = false;
        for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
            match event {
                Event::Text(text) => escape(&mut out, &text, false),
                Event::Code(text) => {
                    out.push_str("<code>");
                    escape(&mut out, &text, false);
                    out.push_str("</code>");
                }
                Event::SoftBreak => out.push('\n'),
                Event::HardBreak => out.push_str("<br>\n"),
                Event::Start(Tag::Paragraph) => out.push_str("<p>"),
                Event::End(TagEnd::Paragraph) => out.push_str("</p>\n"),
                Event::Start(Tag::Emphasis) => out.push_str("<em>"),
                Event::End(TagEnd::Emphasis) => out.push_str("</em>"),
                Event::Start(Tag::Strong) => out.push_str("<strong>"),
                Event::End(TagEnd::Strong) => out.push_str("</strong>"),
                Event::Start(Tag::Strikethrough) => out.push_str("<del>"),
                Event::End(TagEnd::Strikethrough) => out.push_str("</del>"),
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    ..
                }) if !in_link => {
                    in_link = true;
                    self.anchor(&mut out, link_type, &dest_url, &title);
                }
                Event::End(TagEnd::Link) => {
                    in_link = false;
                    out.push_str("</a>");
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// A link's start tag as the sanitizer leaves it. Its attributes come in
    /// the order its steps leave them: a URL it refuses is dropped first (the
    /// others keep their order, `rel` added last), a relative one that cannot
    /// be made absolute afterwards (by a swap with the last, `rel`).
    fn anchor(&self, out: &mut String, link_type: LinkType, dest: &str, title: &str) {
        let mut href = String::with_capacity(dest.len() + 8);
        if link_type == LinkType::Email {
            href.push_str("mailto:");
        }
        href_attribute(&mut href, dest);
        let href = match url::Url::parse(&href) {
            Ok(url) => SCHEMES.contains(&url.scheme()).then_some(Ok(href)),
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                Some(self.links.resolve(&href).ok_or(()))
            }
            Err(_) => None,
        };
        let title = (!title.is_empty()).then_some(title);
        let attrs: [Option<(&str, &str)>; 3] = match &href {
            Some(Ok(href)) => [
                Some(("href", href)),
                title.map(|t| ("title", t)),
                Some(("rel", REL)),
            ],
            None => [title.map(|t| ("title", t)), Some(("rel", REL)), None],
            Some(Err(())) => [Some(("rel", REL)), title.map(|t| ("title", t)), None],
        };
        out.push_str("<a");
        for (name, value) in attrs.into_iter().flatten() {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape(out, value, true);
            out.push('"');
        }
        out.push('>');
    }
}

/// The HTML pulldown-cmark writes for markdown.
fn raw_html(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(
        &mut raw,
        Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH),
    );
    raw
}

/// The rss crate writes HTML inside CDATA; `]]>` (possible in an attribute
/// value, where html5ever leaves `>` as is) would end the section early.
fn guard_cdata(html: String) -> String {
    if html.contains("]]>") {
        html.replace("]]>", "]]&gt;")
    } else {
        html
    }
}

/// Text or an attribute value escaped as html5ever's serializer escapes them.
fn escape(out: &mut String, text: &str, attribute: bool) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '\u{a0}', '"', '<', '>']) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().expect("found");
        match c {
            '&' => out.push_str("&amp;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '"' if attribute => out.push_str("&quot;"),
            '<' if !attribute => out.push_str("&lt;"),
            '>' if !attribute => out.push_str("&gt;"),
            _ => out.push(c),
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// A link destination as pulldown-cmark writes it into `href` (unsafe bytes
/// percent-encoded), then read back by an HTML parser: its two character
/// references, `&amp;` and `&#x27;`, are `&` and `'` again.
fn href_attribute(out: &mut String, dest: &str) {
    let mut written = String::with_capacity(dest.len());
    pulldown_cmark_escape::escape_href(&mut written, dest).expect("writing to a string");
    let mut rest = written.as_str();
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (entity, c) = match rest.starts_with("&amp;") {
            true => ("&amp;", '&'),
            false => ("&#x27;", '\''),
        };
        debug_assert!(rest.starts_with(entity));
        out.push(c);
        rest = &rest[entity.len()..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_sanitizes() {
        let html = Sanitizer::new(&crate::links::example()).markdown(
            "Hello *world* [a](/news/2017/07/4/x.md) <script>alert(1)</script> [b](javascript:x)",
        );
        assert_eq!(
            html,
            "<p>Hello <em>world</em> <a href=\"https://example.org/news/2017/07/4/x.html\" rel=\"noopener noreferrer\">a</a>  <a rel=\"noopener noreferrer\">b</a></p>\n"
        );
    }

    #[test]
    fn paragraphs_and_links_take_the_short_way() {
        let s = Sanitizer::new(&crate::links::example());
        let md = "Hello *world* & \"friends\" [a](/news/2017/07/4/x.md \"T\")\n\n**b** [c](https://x.example/?a=1&b='2') [d](javascript:x)";
        let html = s.simple(md).expect("simple markdown");
        assert_eq!(html, s.html(&raw_html(md)));
        assert!(html.contains("<a href=\"https://example.org/news/2017/07/4/x.html\" title=\"T\" rel=\"noopener noreferrer\">a</a>"), "{html}");
        assert_eq!(s.simple("# A heading"), None);
        assert_eq!(s.simple("a <b>raw</b> tag"), None);
    }

    /// Pieces of markdown that meet at random: markup and text, dirt, and
    /// whole links to every kind of URL, with and without titles.
    fn pieces() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = prop::sample::select(vec![
            "a", "b c", " ", "  ", "\n", "\n\n", "  \n", "*", "**", "_", "~~", "`", "\\", "[", "]",
            "(", ")", "](", "<", ">", "&", "&amp;", "&nbsp;", "&#39;", "\"", "'", "\u{a0}", "é",
            "€", "!", "#", "- ", "1. ", "> ", "    ", "```", "]]>", "\t", "<b>", "\u{0}", "\r",
            "\u{7}",
        ]);
        let url = prop::sample::select(vec![
            "https://x.example/p?q=1&r=2",
            "HTTP://X.example/a b",
            "/news/2017/07/4/x.md",
            "/news/2017/07/4/x.md#top",
            "other/page.html?a='1'",
            "",
            "javascript:alert(1)",
            "mailto:a@b.example",
            "ftp://x.example/",
            "http://[::1",
            "//x.example/y",
            "//x.example:99999/",
            "<https://x.example/é>",
            "]]>",
        ]);
        let title = prop::sample::select(vec!["", " \"t\"", " 'a & \"b\"'", " (]]>)"]);
        let link = (text.clone(), url, title).prop_map(|(t, u, ti)| format!("[{t}]({u}{ti})"));
        let autolink = prop::sample::select(vec!["<https://x.example/?a&b>", "<a@b.example>"]);
        prop_oneof![
            3 => text.prop_map(String::from),
            1 => link,
            1 => autolink.prop_map(String::from),
        ]
    }

    proptest::proptest! {
        /// The short way writes what the long way writes, wherever it is taken.
        #[test]
        fn the_short_way_writes_what_the_sanitizer_writes(
            parts in proptest::collection::vec(pieces(), 0..16)
        ) {
            let s = Sanitizer::new(&crate::links::example());
            let md = parts.concat();
            if let Some(short) = s.simple(&md) {
                proptest::prop_assert_eq!(guard_cdata(short), s.html(&raw_html(&md)), "{:?}", md);
            }
        }
    }

    #[test]
    fn cdata_terminators_cannot_escape() {
        let s = Sanitizer::new(&crate::links::example());
        let html = s.html("<a href=\"https://x.example/?a=]]>\">x</a>");
        assert!(!html.contains("]]>"), "{html}");
    }
}
