//! Event files -> [`Event`]. Pure: bytes in, an event (with warnings) or the first
//! error out, each with the line and column it is about.
//!
//! The format is line-structured (see PRODUCT.md): a day heading, a `#` headline,
//! summary markdown, then `### Sources:` and `### Related:` lists. Hand-written files
//! may start with front matter, which wins over what the body implies.

mod front_matter;
mod markdown;

pub use markdown::Sanitizer;

use crate::diag::Diagnostic;
use crate::links::Links;
use crate::model::{event_key, Context, Event, Related, Source};
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

/// Parses one event file.
pub fn parse(bytes: &[u8], opts: &ParseOptions) -> Result<Parsed, Diagnostic> {
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
    let mut warnings = Vec::new();
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
    let clean = text::repair_mojibake(&clean);
    if clean.trim().is_empty() {
        return Err(Diagnostic::error(
            1,
            1,
            "empty file: an event needs a day heading `### [YYYY-M-D](...)` and a `# headline`",
            "",
        ));
    }
    let mut p = LineParser {
        lines: clean.lines().collect(),
        at: 0,
        opts,
        warnings,
    };
    let event = p.event()?;
    Ok(Parsed {
        event,
        warnings: p.warnings,
    })
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

struct LineParser<'a> {
    lines: Vec<&'a str>,
    /// Index of the next line to read (0-based).
    at: usize,
    opts: &'a ParseOptions,
    warnings: Vec<Diagnostic>,
}

#[derive(PartialEq)]
enum Section {
    Sources,
    Related,
    Other,
}

impl<'a> LineParser<'a> {
    fn event(&mut self) -> Result<Event, Diagnostic> {
        let fm = self.front_matter()?;
        let date = self.day_heading(fm.date)?;
        let title = self.headline(fm.title.as_deref())?;
        let summary = self.summary();
        let mut sources = Vec::new();
        let mut image = None;
        let mut related = Vec::new();
        let mut contexts: Vec<Context> = Vec::new();
        while let Some((n, line)) = self.next_line() {
            // `summary()` and the loop below stop at section headings, so this is one.
            let section = section_of(line).unwrap_or(Section::Other);
            if section == Section::Other {
                self.warn(
                    n,
                    1,
                    "unknown section, ignored (expected `### Sources:` or `### Related:`)",
                    line,
                );
            }
            while let Some(&next) = self.lines.get(self.at) {
                if section_of(next).is_some() {
                    break;
                }
                self.at += 1;
                let n = self.at;
                if next.trim().is_empty() || section == Section::Other {
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
                let name = text::plain_text(item.text);
                let href = text::decode_entities(item.href);
                let Some(url) = self.opts.links.resolve(&href) else {
                    let what = "link is not a usable http(s) or mailto URL, ignored";
                    self.warn(n, item.href_col, what, next);
                    continue;
                };
                match section {
                    Section::Sources => {
                        if name.eq_ignore_ascii_case("cover image") {
                            image.get_or_insert(url.into());
                        } else {
                            sources.push(Source {
                                name: name.into(),
                                url: url.into(),
                            });
                        }
                    }
                    Section::Related => {
                        let key = crate::model::parse_news_path(&href);
                        contexts.extend(context_list(item.rest).map(Context::from));
                        related.push(Related {
                            title: name.into(),
                            url: key.is_none().then(|| url.into()),
                            key,
                        });
                    }
                    Section::Other => {}
                }
            }
        }
        if let Some(names) = fm.contexts {
            contexts = names
                .iter()
                .map(|c| Context::from(text::plain_text(c)))
                .collect();
        }
        contexts.retain(|c| !c.is_empty());
        contexts.sort();
        contexts.dedup();
        let mut slug = headline_slug(&title);
        if slug.is_empty() {
            slug = format!("event-{}", short_hash(&title));
        }
        Ok(Event {
            key: event_key(date, &slug),
            date,
            time: fm.time,
            id: fm.id.map(Into::into),
            title: title.into(),
            summary_html: self.opts.sanitizer.markdown(&summary).into(),
            sources: sources.into(),
            image,
            related: related.into(),
            contexts: contexts.into(),
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

    fn peek_line(&self) -> Option<&'a str> {
        self.lines[self.at..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .copied()
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

    /// `### [2017-11-2](/news/2017/11/2/index.md)`, or `### 2017-11-2`.
    fn day_heading(
        &mut self,
        from_front_matter: Option<NaiveDate>,
    ) -> Result<NaiveDate, Diagnostic> {
        let heading = self
            .peek_line()
            .filter(|l| l.starts_with("### ") && section_of(l).is_none());
        let Some(line) = heading else {
            return from_front_matter.ok_or_else(|| {
                let (n, line) = self.lines.iter().enumerate().find(|(_, l)| !l.trim().is_empty()).map_or((0, ""), |(i, l)| (i, *l));
                Diagnostic::error(n + 1, 1, "missing day heading: expected `### [YYYY-M-D](/news/YYYY/M/D/index.md)` before the headline", line)
            });
        };
        let (n, _) = self.next_line().expect("peeked");
        let rest = line[4..].trim_start();
        let col = line.len() - rest.len() + 1;
        let (date_text, col) = match rest.strip_prefix('[') {
            Some(inner) => (inner.split(']').next().unwrap_or(""), col + 1),
            None => (rest.split_whitespace().next().unwrap_or(""), col),
        };
        let date = parse_day(date_text).map_err(|why| Diagnostic::error(n, col, why, line))?;
        Ok(from_front_matter.unwrap_or(date))
    }

    fn headline(&mut self, from_front_matter: Option<&str>) -> Result<String, Diagnostic> {
        let line = self
            .peek_line()
            .filter(|l| l.starts_with("# ") || l.trim_end() == "#");
        let Some(line) = line else {
            if let Some(title) = from_front_matter
                .map(text::plain_text)
                .filter(|t| !t.is_empty())
            {
                return Ok(title);
            }
            let n = self.lines[self.at..]
                .iter()
                .position(|l| !l.trim().is_empty())
                .map_or(self.lines.len() + 1, |i| self.at + i + 1);
            let snippet = self.lines.get(n.wrapping_sub(1)).copied().unwrap_or("");
            return Err(Diagnostic::error(
                n.max(1),
                1,
                "missing headline: expected a line `# <headline>` after the day heading",
                snippet,
            ));
        };
        let (n, _) = self.next_line().expect("peeked");
        let title = text::plain_text(&line[1..]);
        if let Some(title) = from_front_matter
            .map(text::plain_text)
            .filter(|t| !t.is_empty())
        {
            return Ok(title);
        }
        if title.is_empty() {
            return Err(Diagnostic::error(n, 1, "empty headline", line));
        }
        Ok(title)
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
    let close = matching(body, '[', ']')?;
    let text = &body[..close];
    let after = body[close + 1..].strip_prefix('(')?;
    let end = matching(after, '(', ')')?;
    let href = after[..end].trim();
    let href_start = line.len() - after.len();
    Some(ListLink {
        text,
        href,
        href_col: line[..href_start].chars().count() + 1,
        rest: &after[end + 1..],
    })
}

/// Byte index of the `close` that balances an already opened `open`.
fn matching(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
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
    names
        .split(',')
        .map(text::plain_text)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests;
