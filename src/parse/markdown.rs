//! The summary: markdown rendered to HTML, then sanitized with an allowlist, since
//! feed readers show it as HTML (and the `rss` crate puts it in CDATA, where a
//! `<script>` would reach readers live). Every link comes out absolute.

use crate::links::Links;
use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{html, Options, Parser};
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
}

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
        let links = links.clone();
        let mut builder = Builder::default();
        builder
            .tags(tags)
            .url_schemes(["http", "https", "mailto"].into())
            .link_rel(Some("noopener noreferrer"))
            .url_relative(UrlRelative::Custom(Box::new(Absolute(links))));
        Self { builder }
    }

    /// Renders summary markdown to sanitized HTML.
    pub fn markdown(&self, markdown: &str) -> String {
        let mut raw = String::with_capacity(markdown.len() * 3 / 2);
        html::push_html(
            &mut raw,
            Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH),
        );
        self.html(&raw)
    }

    /// Sanitizes HTML with the allowlist readers expect in feed content.
    pub fn html(&self, html: &str) -> String {
        let cleaned = self.builder.clean(html).to_string();
        // The rss crate writes HTML inside CDATA; `]]>` (possible in an attribute
        // value, where html5ever leaves `>` as is) would end the section early.
        if cleaned.contains("]]>") {
            cleaned.replace("]]>", "]]&gt;")
        } else {
            cleaned
        }
    }
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
    fn cdata_terminators_cannot_escape() {
        let s = Sanitizer::new(&crate::links::example());
        let html = s.html("<a href=\"https://x.example/?a=]]>\">x</a>");
        assert!(!html.contains("]]>"), "{html}");
    }
}
