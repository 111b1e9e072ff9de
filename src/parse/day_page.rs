//! Day pages (`index.md`, `README.md` beside a day's events) -> [`DayPage`]. A day
//! page lists every event of its day as `### [headline](/news/.../slug.md)`,
//! optionally followed by a summary and a `_Context: A, B_` line: the contexts the
//! archive gives that event. Everything else on the page (its day heading, topic
//! headings, `Formats:` and `Previous Day...` links) says nothing about events.

use super::{clean_text, context_list, list_link_body, ParseOptions};
use crate::diag::Diagnostic;
use crate::model::{parse_news_path, Context, DayPage, PageEntry};
use crate::text;

#[derive(Debug)]
pub struct ParsedPage {
    pub page: DayPage,
    pub warnings: Vec<Diagnostic>,
}

/// Parses a day page. Only an empty or oversized file is an error: a page that
/// names no event simply gives no contexts.
pub fn day_page(bytes: &[u8], opts: &ParseOptions) -> Result<ParsedPage, Diagnostic> {
    let mut warnings = Vec::new();
    let clean = clean_text(bytes, opts, &mut warnings)?;
    let mut entries: Vec<PageEntry> = Vec::new();
    // The entry the lines below an event heading belong to, if any.
    let mut current: Option<(crate::model::EventKey, Vec<Context>)> = None;
    for line in clean.lines() {
        let level = line.bytes().take_while(|&b| b == b'#').count();
        if level > 0 {
            if let Some((key, contexts)) = current.take() {
                entries.push(entry(key, contexts));
            }
            let event = line[level..]
                .trim_start()
                .strip_prefix('[')
                .and_then(list_link_body)
                .and_then(|link| parse_news_path(&text::decode_entities(link.href)));
            current = event.map(|key| (key, Vec::new()));
            continue;
        }
        if let Some((_, contexts)) = &mut current {
            contexts.extend(context_list(line).map(Context::from));
        }
    }
    if let Some((key, contexts)) = current.take() {
        entries.push(entry(key, contexts));
    }
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    // A page that names an event twice gives it the contexts of both entries.
    entries.dedup_by(|later, earlier| {
        if later.key != earlier.key {
            return false;
        }
        let mut all: Vec<Context> = earlier.contexts.to_vec();
        all.extend(later.contexts.iter().cloned());
        all.sort();
        all.dedup();
        earlier.contexts = all.into();
        true
    });
    Ok(ParsedPage {
        page: DayPage {
            entries: entries.into(),
        },
        warnings,
    })
}

fn entry(key: crate::model::EventKey, mut contexts: Vec<Context>) -> PageEntry {
    contexts.retain(|c| !c.is_empty());
    contexts.sort();
    contexts.dedup();
    PageEntry {
        key,
        contexts: contexts.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "Formats: [HTML](2014/07/17/index.html)  [JSON](2014/07/17/index.json)\n\n## [1999-02-12](/news/1999/02/12/index.md)\n\n##### Impeachment\n### [ President Bill Clinton is acquitted](/news/1999/02/12/president-bill-clinton.md)\nA summary line.\n_Context: Bill Clinton, United States Senate, impeach, president_\n\n### [ John Myatt and John Drewe](/news/1999/02/12/john-myatt.md)\n\n### [Twice](/news/1999/02/12/john-myatt.md)\n_Context: forgery_\n\n## [Previous Day...](/news/1999/02/11/index.md)\n_Context: not an event_\n";

    #[test]
    fn lists_each_event_with_its_contexts() {
        let opts = ParseOptions::new(1 << 20, crate::links::example());
        let page = day_page(README.as_bytes(), &opts).unwrap().page;
        let got: Vec<(&str, Vec<&str>)> = page
            .entries
            .iter()
            .map(|e| (&*e.key, e.contexts.iter().map(|c| &**c).collect()))
            .collect();
        assert_eq!(
            got,
            [
                ("/news/1999/2/12/john-myatt.md", vec!["forgery"]),
                (
                    "/news/1999/2/12/president-bill-clinton.md",
                    vec![
                        "Bill Clinton",
                        "United States Senate",
                        "impeach",
                        "president"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn a_page_without_events_is_empty_not_an_error() {
        let opts = ParseOptions::new(1 << 20, crate::links::example());
        let page = day_page(b"## [1999-02-12](/news/1999/02/12/index.md)\n", &opts).unwrap();
        assert!(page.page.entries.is_empty());
        assert!(day_page(b"  \n", &opts).is_err());
    }
}
