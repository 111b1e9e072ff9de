//! Where things live on the web: the site the event pages are on and the place the
//! feeds are served from. Every URL that leaves eventfeed is made absolute here.

use crate::model::{Body, Event};
use ammonia::Url;

/// What an item's `link` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemLink {
    /// The event's page on the site: its canonical path with `.md` mapped.
    Page,
    /// The event's first source article (its page when it has none).
    Source,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    site: Url,
    feeds: Url,
    /// `feeds` escaped for an HTML attribute: pages write it before every link.
    feeds_attr: String,
    /// What replaces `.md` at the end of an event page path (`.html` by default).
    page_suffix: String,
    item_link: ItemLink,
}

impl Links {
    /// Both URLs must be absolute; a missing trailing slash is added so that joining
    /// keeps their last path segment.
    pub fn new(
        site: &str,
        feeds: &str,
        page_suffix: &str,
        item_link: ItemLink,
    ) -> Result<Self, String> {
        let feeds = base_url(feeds)?;
        Ok(Self {
            site: base_url(site)?,
            feeds_attr: html_escape::encode_double_quoted_attribute(feeds.as_str()).into_owned(),
            feeds,
            page_suffix: page_suffix.to_owned(),
            item_link,
        })
    }

    /// The public URL of a file in the output directory.
    pub fn feed_url(&self, rel: &str) -> String {
        [self.feeds.as_str(), rel].concat()
    }

    pub fn feeds_root(&self) -> &str {
        self.feeds.as_str()
    }

    /// [`Links::feeds_root`], escaped for an HTML attribute.
    pub fn feeds_root_attr(&self) -> &str {
        &self.feeds_attr
    }

    pub fn site_root(&self) -> &str {
        self.site.as_str()
    }

    /// The host part, for `tag:` ids.
    pub fn host(&self) -> &str {
        self.feeds.host_str().unwrap_or("localhost")
    }

    /// The page of an event, from its path (`/news/.../slug.md`).
    pub fn page_url(&self, path: &str) -> String {
        let path = path.strip_prefix('/').unwrap_or(path);
        match path.strip_suffix(".md") {
            Some(stem) => [self.site.as_str(), stem, &self.page_suffix].concat(),
            None => [self.site.as_str(), path].concat(),
        }
    }

    /// The `link` of an event's items.
    pub fn item_url(&self, event: &Event, body: &Body) -> String {
        match (self.item_link, body.sources.first()) {
            (ItemLink::Source, Some(source)) => source.url.to_string(),
            _ => self.page_url(&event.path()),
        }
    }

    /// Makes a link found in an event absolute: news-tree links map to event pages
    /// (as written: which file they name is the index's business), other relative
    /// links are joined to the site. `None` for what is not a usable http(s) or
    /// mailto URL.
    pub fn resolve(&self, href: &str) -> Option<String> {
        let href = href.trim();
        // Most links are source articles written as the URL parser writes them.
        if is_normal_http(href) {
            return Some(href.to_owned());
        }
        self.resolve_parsed(href)
    }

    /// [`Links::resolve`] of a trimmed link, the long way: through the URL parser.
    fn resolve_parsed(&self, href: &str) -> Option<String> {
        let path = href.split(['?', '#']).next().unwrap_or(href);
        if crate::model::parse_news_path(path).is_some() && !href.contains("://") {
            return Some(self.page_url(path));
        }
        let url = self.site.join(href).ok()?;
        matches!(url.scheme(), "http" | "https" | "mailto").then(|| url.to_string())
    }
}

/// Whether `href` is an absolute http(s) URL that the URL parser gives back
/// as it is (so [`Links::resolve`] need not parse it): a lowercase host name
/// of letters, digits, hyphens and dots, the last label starting with a letter
/// (not an IPv4 address); no port or user; a path; and only characters that no
/// part of a URL escapes or rewrites, no segment starting with a dot. A property test
/// holds it to the parser.
fn is_normal_http(href: &str) -> bool {
    let Some(rest) = href
        .strip_prefix("https://")
        .or_else(|| href.strip_prefix("http://"))
    else {
        return false;
    };
    let Some(slash) = rest.find('/') else {
        return false;
    };
    let (host, tail) = rest.split_at(slash);
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with("xn--")
            && l.bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
    };
    let last_ok = host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_lowercase()));
    if !last_ok || !host.split('.').all(label_ok) {
        return false;
    }
    let kept = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%?#".contains(&b);
    let dot_escape = |w: &[u8]| w[0] == b'%' && w[1] == b'2' && w[2] | 0x20 == b'e';
    tail.bytes().all(kept) && !tail.contains("/.") && !tail.as_bytes().windows(3).any(dot_escape)
}

/// Checks that `s` is an absolute http(s) URL; its normal form.
pub fn absolute_http(s: &str) -> Result<String, String> {
    http_url(s).map(String::from)
}

fn http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("`{s}` is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{s}` must be an http or https URL"));
    }
    Ok(url)
}

fn base_url(s: &str) -> Result<Url, String> {
    let mut url = http_url(s)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
pub(crate) fn example() -> Links {
    Links::new(
        "https://example.org/",
        "https://example.org/feeds",
        ".html",
        ItemLink::Page,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_links() {
        let links = example();
        let cases = [
            (
                "/news/2017/07/4/x.md",
                Some("https://example.org/news/2017/07/4/x.html"),
            ),
            (
                "https://a.example/b?c=1&d=2",
                Some("https://a.example/b?c=1&d=2"),
            ),
            ("/about", Some("https://example.org/about")),
            ("javascript:alert(1)", None),
            ("mailto:a@b.example", Some("mailto:a@b.example")),
        ];
        for (href, url) in cases {
            assert_eq!(links.resolve(href).as_deref(), url, "{href}");
        }
        assert_eq!(
            links.feed_url("all/rss.xml"),
            "https://example.org/feeds/all/rss.xml"
        );
        assert!(is_normal_http("https://a.example/b?c=1&d=2#e"));
        assert!(!is_normal_http("https://A.example/b"));
    }

    proptest::proptest! {
        /// A link taken as it is would come out of the URL parser unchanged.
        #[test]
        fn links_taken_as_they_are_are_what_the_parser_makes(
            scheme in proptest::sample::select(vec![
                "https://", "http://", "HTTP://", "ftp://", "mailto:", "//", "",
            ]),
            host in proptest::collection::vec(proptest::sample::select(vec![
                "a", "x", "example", "X", ".", "..", "-", "1", "123", "0x1f", "xn--abc", "é",
                "[::1]", ":80", ":443", "u@", "%41", "_",
            ]), 0..5),
            tail in proptest::collection::vec(proptest::sample::select(vec![
                "/", "/a", "//", "/./", "/../", "/.", "/..", ".", "/%2e", "/%2E%2e/", "?", "?a='b'",
                "#", "&", "=", " ", "\t", "\\", "^", "`", "{", "|", "[", "é", "%zz", "%41", "'",
                "\"", "<", "~", "!$&()*+,;=:@", "/news/2017/07/4/x.md",
            ]), 0..8),
        ) {
            let links = example();
            let href = [scheme.to_owned(), host.concat(), tail.concat()].concat();
            let href = href.trim();
            if is_normal_http(href) {
                let parsed = links.resolve_parsed(href);
                proptest::prop_assert_eq!(parsed.as_deref(), Some(href));
            }
        }
    }
}
