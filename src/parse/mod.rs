//! Event files -> [`Event`]. Pure: bytes in, an event (with warnings) or the first
//! error out, each with the line and column it is about.
//!
//! The format is line-structured (see PRODUCT.md): a day heading, a `#` headline,
//! summary markdown, then `### Sources:`, `### Related:` and `### Changes:` lists.
//! The reader is tolerant of what the real archive varies (a `Formats:` line or
//! section first, topic headings before the headline, missing sections, wiki
//! residue): a file is an error only when it has no day or no headline.
//! Hand-written files may start with front matter, which wins over what the body
//! implies.

mod day_page;
mod front_matter;
mod markdown;
mod wiki;

pub use day_page::{day_page, ParsedPage};
pub use markdown::Sanitizer;

use crate::diag::Diagnostic;
use crate::links::Links;
use crate::model::{
    event_key, written_path, Body, Content, Context, Event, Padding, Rare, Related, Source, Version,
};
use crate::slug::{headline_slug, short_hash};
use crate::text;
use chrono::NaiveDate;
use front_matter::{Format, FrontMatter};

/// What parsing needs to know beyond the bytes.
pub struct ParseOptions {
    pub max_bytes: u64,
    pub links: Links,
    pub sanitizer: Sanitizer,
}

impl ParseOptions {
    pub fn new(max_bytes: u64, links: Links) -> Self {
        let sanitizer = Sanitizer::new(&links);
        Self {
            max_bytes,
            links,
            sanitizer,
        }
    }
}

#[derive(Debug)]
pub struct Parsed {
    pub event: Event,
    pub warnings: Vec<Diagnostic>,
}

/// Parses one event file; `rel` is its path relative to the input root (`/`
/// separated), which gives a file in the archive layout its identity.
pub fn parse(rel: &str, bytes: &[u8], opts: &ParseOptions) -> Result<Parsed, Diagnostic> {
    let mut warnings = Vec::new();
    let clean = clean_text(bytes, opts, &mut warnings)?;
    let mut p = LineParser {
        lines: clean.lines().collect(),
        at: 0,
        opts,
        warnings,
    };
    let event = p.event(rel)?;
    Ok(Parsed {
        event,
        warnings: p.warnings,
    })
}

/// The text of a file, repaired: decoded (invalid UTF-8 replaced, with a warning),
/// stripped of what XML forbids, mojibake undone. Empty and oversized files are
/// errors.
fn clean_text(
    bytes: &[u8],
    opts: &ParseOptions,
    warnings: &mut Vec<Diagnostic>,
) -> Result<String, Diagnostic> {
    if bytes.len() as u64 > opts.max_bytes {
        return Err(Diagnostic::error(
            1,
            1,
            format!(
                "file is {} bytes, over the limit of {} (config `max_file_bytes`)",
                bytes.len(),
                opts.max_bytes
            ),
            "",
        ));
    }
    let (decoded, bad_at) = text::decode_utf8_lossy(bytes);
    if let Some(at) = bad_at {
        let (line, col) = position(bytes, at);
        let snippet = decoded.lines().nth(line - 1).unwrap_or("");
        warnings.push(Diagnostic::warning(
            line,
            col,
            "invalid UTF-8 replaced with U+FFFD",
            snippet,
        ));
    }
    let clean = text::strip_forbidden(&decoded);
    let clean = text::repair_mojibake(&clean).into_owned();
    if clean.trim().is_empty() {
        return Err(Diagnostic::error(
            1,
            1,
            "empty file: an event needs a day heading `### [YYYY-M-D](...)` and a `# headline`",
            "",
        ));
    }
    Ok(clean)
}

/// Line and column (1-based, in characters) of a byte offset of the raw input.
fn position(raw: &[u8], at: usize) -> (usize, usize) {
    let before = &raw[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&raw[line_start..at])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Text of a title, a name or a context: wiki residue, tags and entities gone.
fn plain(s: &str) -> String {
    text::plain_text(&wiki::plain(s))
}

struct LineParser<'a> {
    lines: Vec<&'a str>,
    /// Index of the next line to read (0-based).
    at: usize,
    opts: &'a ParseOptions,
    warnings: Vec<Diagnostic>,
}

#[derive(PartialEq, Clone, Copy)]
enum Section {
    Sources,
    Related,
    Changes,
    /// The archive's links to other renderings of the page: not content.
    Formats,
    Other,
}

impl<'a> LineParser<'a> {
    fn event(&mut self, rel: &str) -> Result<Event, Diagnostic> {
        let fm = self.front_matter()?;
        let body_start = self.at;
        let heading = self.day_heading()?;
        let layout = crate::model::layout_key(rel);
        let date = match (fm.date, heading, &layout) {
            (Some(date), ..) | (None, Some(date), _) => date,
            (None, None, Some((_, date))) => {
                let (n, line) = self.first_nonblank(body_start);
                self.warn(
                    n,
                    1,
                    "no day heading: the day is taken from the file's folder",
                    line,
                );
                *date
            }
            (None, None, None) => {
                let (n, line) = self.first_nonblank(body_start);
                return Err(Diagnostic::error(
                    n,
                    1,
                    "missing day heading: expected `### [YYYY-M-D](/news/YYYY/M/D/index.md)` before the headline",
                    line,
                ));
            }
        };
        let title = self.headline(fm.title.as_deref())?;
        let summary = self.summary();
        let mut sources = Vec::new();
        let mut image = None;
        let mut related = Vec::new();
        let mut versions = Vec::new();
        let mut contexts: Vec<Context> = Vec::new();
        while let Some((n, line)) = self.next_line() {
            // `summary()` and the loop below stop at section headings, so this is one.
            let section = section_of(line).unwrap_or(Section::Other);
            if section == Section::Other {
                self.warn(
                    n,
                    1,
                    "unknown section, kept out of the item (expected `### Sources:`, `### Related:` or `### Changes:`)",
                    line,
                );
            }
            while let Some(&next) = self.lines.get(self.at) {
                if section_of(next).is_some() {
                    break;
                }
                self.at += 1;
                let n = self.at;
                if next.trim().is_empty() || matches!(section, Section::Other | Section::Formats) {
                    continue;
                }
                let Some(item) = list_link(next) else {
                    self.warn(
                        n,
                        1,
                        "ignored: not a list item of the form `1. [name](url)`",
                        next,
                    );
                    continue;
                };
                let name = plain(item.text);
                let href = text::decode_entities(item.href);
                let link = crate::model::parse_news_link(&href);
                if section == Section::Changes {
                    let Some((key, _)) = link else {
                        let what = "ignored: a version must link to an event file `/news/YYYY/M/D/<slug>.md`";
                        self.warn(n, item.href_col, what, next);
                        continue;
                    };
                    let (time, first) = version_note(item.rest);
                    versions.push(Version {
                        key,
                        path: written_path(&href),
                        time,
                        first,
                    });
                    continue;
                }
                // A Related link into the news tree is kept as a key (its URL
                // depends on which files exist); anything else must resolve now.
                let news = link.filter(|_| section == Section::Related);
                let url = match news {
                    Some(_) => None,
                    None => match self.opts.links.resolve(&href) {
                        Some(url) => Some(url),
                        None => {
                            let what = "link is not a usable http(s) or mailto URL, ignored";
                            self.warn(n, item.href_col, what, next);
                            continue;
                        }
                    },
                };
                match (section, url) {
                    (Section::Sources, Some(url)) => {
                        if name.eq_ignore_ascii_case("cover image") {
                            image.get_or_insert(url.into());
                        } else {
                            sources.push(Source {
                                name: name.into(),
                                url: url.into(),
                            });
                        }
                    }
                    (Section::Related, url) => {
                        contexts.extend(context_list(item.rest).map(Context::from));
                        let (key, pad) =
                            news.map_or((None, Padding::default()), |(k, p)| (Some(k), p));
                        related.push(Related {
                            title: name.into(),
                            key,
                            pad,
                            url: url.map(Into::into),
                        });
                    }
                    _ => {}
                }
            }
        }
        let contexts_pinned = fm.contexts.is_some();
        if let Some(names) = fm.contexts {
            contexts = names.iter().map(|c| Context::from(plain(c))).collect();
        }
        contexts.retain(|c| !c.is_empty());
        contexts.sort();
        contexts.dedup();
        let (key, pad, custom_path) = match layout {
            Some((key, _)) => {
                let path = written_path(rel);
                match crate::model::parse_news_link(&path) {
                    Some((_, pad)) if crate::model::padded_path(&key, pad) == *path => {
                        (key, pad, None)
                    }
                    _ => (key, Padding::default(), Some(path)),
                }
            }
            None => {
                let mut slug = headline_slug(&title);
                if slug.is_empty() {
                    slug = format!("event-{}", short_hash(&title));
                }
                (event_key(date, &slug), Padding::default(), None)
            }
        };
        let mut links: Vec<_> = related.iter().filter_map(|r| r.key.clone()).collect();
        links.sort();
        links.dedup();
        Ok(Event {
            key,
            pad,
            date,
            contexts_pinned,
            contexts: contexts.into(),
            links: links.into(),
            rare: Rare {
                custom_path,
                time: fm.time,
                id: fm.id.map(Into::into),
                versions: versions.into(),
            }
            .boxed(),
            body: Content::new(Body {
                title: title.into(),
                summary_html: self
                    .opts
                    .sanitizer
                    .markdown(&wiki::markdown(&summary))
                    .into(),
                sources: sources.into(),
                image,
                related: related.into(),
            }),
        })
    }

    /// The next non-blank line, with its 1-based number.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        while let Some(&line) = self.lines.get(self.at) {
            self.at += 1;
            if !line.trim().is_empty() {
                return Some((self.at, line));
            }
        }
        None
    }

    /// The first non-blank line from index `from` on, with its 1-based number (the
    /// line after the end when there is none).
    fn first_nonblank(&self, from: usize) -> (usize, &'a str) {
        self.lines[from.min(self.lines.len())..]
            .iter()
            .position(|l| !l.trim().is_empty())
            .map_or((self.lines.len().max(1), ""), |i| {
                (from + i + 1, self.lines[from + i])
            })
    }

    fn warn(&mut self, line: usize, col: usize, message: &str, snippet: &str) {
        self.warnings
            .push(Diagnostic::warning(line, col, message, snippet));
    }

    fn front_matter(&mut self) -> Result<FrontMatter, Diagnostic> {
        let Some(first) = self.lines.first().map(|l| l.trim_end()) else {
            return Ok(FrontMatter::default());
        };
        let format = match first {
            "+++" => Format::Toml,
            "---" => Format::Yaml,
            _ => return Ok(FrontMatter::default()),
        };
        let Some(end) = self.lines[1..].iter().position(|l| l.trim_end() == first) else {
            return Err(Diagnostic::error(
                1,
                1,
                format!("front matter opened here is never closed by `{first}`"),
                first,
            ));
        };
        let body = self.lines[1..=end].join("\n");
        self.at = end + 2;
        front_matter::parse(format, &body, 2)
    }

    /// `### [2017-11-2](/news/2017/11/2/index.md)` (or `## `, or a bare date), after
    /// whatever the archive puts first: a `Formats:` line or section, blank lines.
    /// Other lines before it are skipped with a warning. `None` when the headline
    /// (or the end) comes first; the reader is then left on it.
    fn day_heading(&mut self) -> Result<Option<NaiveDate>, Diagnostic> {
        let heading = self.lines[self.at..]
            .iter()
            .take_while(|l| !is_headline(l))
            .position(|l| day_heading_text(l).is_some())
            .map(|i| self.at + i);
        let mut in_formats = false;
        while let Some(&line) = self.lines.get(self.at) {
            let n = self.at + 1;
            if Some(self.at) == heading {
                self.at += 1;
                let (date_text, col) = day_heading_text(line).expect("found above");
                let date =
                    parse_day(date_text).map_err(|why| Diagnostic::error(n, col, why, line))?;
                return Ok(Some(date));
            }
            let trimmed = line.trim();
            let formats_line = trimmed
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("formats:"));
            let section = section_of(line);
            in_formats = section.map_or(in_formats, |s| s == Section::Formats);
            let known = trimmed.is_empty()
                || formats_line
                || section == Some(Section::Formats)
                || in_formats && list_link(line).is_some();
            match (known, heading.is_some()) {
                (true, _) => {}
                (false, true) => self.warn(n, 1, "ignored: text before the day heading", line),
                // No day heading: what follows is the headline or the summary.
                (false, false) => return Ok(None),
            }
            self.at += 1;
        }
        Ok(None)
    }

    /// The `# headline`, after any topic headings (`##### Euro`).
    fn headline(&mut self, from_front_matter: Option<&str>) -> Result<String, Diagnostic> {
        let front = from_front_matter.map(plain).filter(|t| !t.is_empty());
        while let Some(&line) = self.lines.get(self.at) {
            let topic = line.starts_with("##") && section_of(line).is_none();
            if line.trim().is_empty() || topic {
                self.at += 1;
                continue;
            }
            if !is_headline(line) {
                break;
            }
            self.at += 1;
            if let Some(title) = front {
                return Ok(title);
            }
            let title = plain(&line[1..]);
            if title.is_empty() {
                return Err(Diagnostic::error(self.at, 1, "empty headline", line));
            }
            return Ok(title);
        }
        if let Some(title) = front {
            return Ok(title);
        }
        let (n, snippet) = self.first_nonblank(self.at);
        let n = if snippet.is_empty() {
            self.lines.len() + 1
        } else {
            n
        };
        Err(Diagnostic::error(
            n,
            1,
            "missing headline: expected a line `# <headline>` after the day heading",
            snippet,
        ))
    }

    /// The lines up to the first section heading, as markdown.
    fn summary(&mut self) -> String {
        let start = self.at;
        while self
            .lines
            .get(self.at)
            .is_some_and(|l| section_of(l).is_none())
        {
            self.at += 1;
        }
        self.lines[start..self.at].join("\n").trim().to_owned()
    }
}

/// `# Headline`: one `#`, whatever follows.
fn is_headline(line: &str) -> bool {
    line.starts_with('#') && !line.starts_with("##")
}

/// The date text of a day heading (`## [2017-11-2](...)`, `### 2017-11-2`) and its
/// column: a heading of level 2 to 6 whose text is a bracketed link, or a date.
fn day_heading_text(line: &str) -> Option<(&str, usize)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(2..=6).contains(&level) || !line[level..].starts_with([' ', '\t']) {
        return None;
    }
    let rest = line[level..].trim_start();
    let col = line.len() - rest.len() + 1;
    match rest.strip_prefix('[') {
        Some(inner) => Some((inner.split(']').next().unwrap_or(""), col + 1)),
        None => {
            let word = rest.split_whitespace().next().unwrap_or("");
            parse_day(word).is_ok().then_some((word, col))
        }
    }
}

/// `_2018-02-06 13:49:26 (First version)_` -> the time (UTC) and whether it is
/// the first version. `_(Current version)_` has neither.
fn version_note(rest: &str) -> (Option<i64>, bool) {
    let t = rest.trim().trim_matches(|c| c == '_' || c == '*').trim();
    let time = t
        .get(..19)
        .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok())
        .map(|t| t.and_utc().timestamp());
    let first = t.to_ascii_lowercase().contains("first version");
    (time, first)
}

/// Which section a `###` line opens; `None` for any other line.
fn section_of(line: &str) -> Option<Section> {
    let title = line
        .strip_prefix("### ")?
        .trim()
        .trim_end_matches(':')
        .trim();
    if title.starts_with('[') || parse_day(title).is_ok() {
        return None; // a day heading
    }
    Some(match title.to_ascii_lowercase().as_str() {
        "sources" | "source" => Section::Sources,
        "related" => Section::Related,
        "changes" => Section::Changes,
        "formats" => Section::Formats,
        _ => Section::Other,
    })
}

/// `2017-11-2` or `2017-11-02`; an impossible date is an error, not a guess.
fn parse_day(s: &str) -> Result<NaiveDate, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let nums: Option<Vec<u32>> = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) => {
            [y, m, d].iter().map(|p| p.parse().ok()).collect()
        }
        _ => None,
    };
    let Some([y, m, d]) = nums.as_deref().map(|n| [n[0], n[1], n[2]]) else {
        return Err(format!(
            "invalid day heading date `{s}`: expected YYYY-M-D, like 2017-11-2"
        ));
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
        .ok_or_else(|| format!("invalid date `{s}`: there is no such day"))
}

struct ListLink<'a> {
    text: &'a str,
    href: &'a str,
    /// Bytes from the start of the raw href to the end of its `)`.
    href_len: usize,
    /// 1-based column of `href`.
    href_col: usize,
    /// What follows the link (the Related `_Context: ..._`).
    rest: &'a str,
}

/// `1. [text](href) rest` (also `-` and `*` bullets). Brackets in the text and
/// parentheses in the URL (Wikipedia's) are balanced.
fn list_link(line: &str) -> Option<ListLink<'_>> {
    let t = line.trim_start();
    let after_marker = if let Some(r) = t.strip_prefix(['-', '*', '+']) {
        r
    } else {
        let digits = t.find(|c: char| !c.is_ascii_digit())?;
        t[digits..]
            .strip_prefix(['.', ')'])
            .filter(|_| digits > 0)?
    };
    let body = after_marker.trim_start().strip_prefix('[')?;
    let link = list_link_body(body)?;
    let href_start = line.len() - link.rest.len() - link.href_len;
    Some(ListLink {
        href_col: line[..href_start].chars().count() + 1,
        ..link
    })
}

/// `text](href) rest`: a link after its opening bracket.
fn list_link_body(body: &str) -> Option<ListLink<'_>> {
    let close = matching(body, b'[', b']')?;
    let text = &body[..close];
    let after = body[close + 1..].strip_prefix('(')?;
    let end = matching(after, b'(', b')')?;
    Some(ListLink {
        text,
        href: after[..end].trim(),
        href_len: end + 1,
        href_col: 0,
        rest: &after[end + 1..],
    })
}

/// Byte index of the `close` that balances an already opened `open`.
fn matching(s: &str, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    // ASCII brackets: a byte equal to one is that character, never part of another.
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if c == open {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

/// ` _Context: Donald Trump, Twitter_` -> the names.
fn context_list(rest: &str) -> impl Iterator<Item = String> + '_ {
    let t = rest.trim().trim_matches(|c| c == '_' || c == '*').trim();
    let lower = t.get(..9).map(str::to_ascii_lowercase);
    let names = match lower.as_deref() {
        Some("contexts:") => &t[9..],
        Some(l) if l.starts_with("context:") => &t[8..],
        _ => "",
    };
    names.split(',').map(plain).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests;
