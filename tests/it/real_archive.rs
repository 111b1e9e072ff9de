//! The real archive the seed comes from: a sample of it, byte for byte, in
//! `tests/fixtures/real-archive` (22 day folders, 1999-2018, with the format
//! variants the archive really has). Built by the real binary and read back with
//! feed-rs, as a reader would: every event file reaches the feeds (earlier
//! versions as their current version), every item links to its own file's page,
//! every Related link to an event of the sample goes to that event's item, and
//! the contexts day pages give are on the items.

use crate::harness::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real-archive");

fn copy_tree(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// `/news/1999/01/1/x.md` -> `/news/1999/1/1/x.md`: how links and files match
/// whatever their padding.
fn canonical(path: &str) -> String {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let n = |s: &str| s.trim_start_matches('0').to_owned();
    format!(
        "/news/{}/{}/{}/{}",
        parts[1],
        n(parts[2]),
        n(parts[3]),
        parts[4]
    )
}

fn page_url(path: &str) -> String {
    format!(
        "{BASE}{}",
        path.trim_start_matches('/').replace(".md", ".html")
    )
}

/// The links of the list items of a `### <section>:` of a file.
fn section_links(text: &str, section: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("###") {
            inside = line.to_ascii_lowercase().contains(section);
            continue;
        }
        if inside {
            if let Some(start) = line.find("](/news/") {
                let rest = &line[start + 2..];
                let end = rest.find(".md)").map(|i| i + 3);
                if let Some(end) = end {
                    out.push((rest[..end].to_owned(), rest[end + 1..].to_owned()));
                }
            }
        }
    }
    out
}

struct Sample {
    /// Event files: canonical key -> path as it is (`/news/1999/01/1/x.md`).
    events: BTreeMap<String, String>,
    /// Earlier versions: canonical key -> canonical key of the file listing them.
    superseded: BTreeMap<String, String>,
    /// Day pages' entries: (canonical key, contexts).
    page_contexts: Vec<(String, Vec<String>)>,
}

fn read_sample(root: &Path) -> Sample {
    let mut sample = Sample {
        events: BTreeMap::new(),
        superseded: BTreeMap::new(),
        page_contexts: Vec::new(),
    };
    fn walk(root: &Path, dir: &Path, sample: &mut Sample) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, sample);
                continue;
            }
            let rel = format!("/{}", p.strip_prefix(root).unwrap().to_string_lossy());
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned();
            if name == "index.md" || name == "README.md" {
                let mut current: Option<String> = None;
                for line in text.lines() {
                    if line.starts_with("### [") {
                        current = line
                            .find("](/news/")
                            .map(|i| canonical(&line[i + 2..line.len() - 1]));
                    } else if let (Some(key), Some(list)) =
                        (&current, line.strip_prefix("_Context: "))
                    {
                        let names = list.trim_end_matches('_').split(", ");
                        sample
                            .page_contexts
                            .push((key.clone(), names.map(str::to_owned).collect()));
                    }
                }
            } else if name.ends_with(".md") {
                let key = canonical(&rel);
                for (link, _) in section_links(&text, "changes") {
                    if canonical(&link) != key {
                        sample.superseded.insert(canonical(&link), key.clone());
                    }
                }
                sample.events.insert(key, rel);
            }
        }
    }
    walk(root, root, &mut sample);
    sample
}

#[test]
fn every_file_of_the_real_archive_reaches_the_feeds_with_its_own_page() {
    let t = Tree::new();
    copy_tree(Path::new(SAMPLE), &t.input);
    fs::remove_file(t.input.join("ABOUT")).unwrap();
    let sample = read_sample(&t.input);
    assert!(sample.events.len() >= 110, "the whole sample is there");

    let check = t.check();
    let report = stderr(&check);
    assert!(check.status.success(), "{report}");
    assert!(!report.contains(": error:"), "{report}");
    let out = stderr(&t.build());
    assert!(out.contains(" 0 skipped)"), "{out}");

    // Every item of every day feed, by link.
    let mut items: BTreeMap<String, feed_rs::model::Entry> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (path, _) in t.files() {
        if path.starts_with("days/") && path.ends_with("atom.xml") {
            for e in t.feed(&path).entries {
                assert!(ids.insert(e.id.clone()), "{path}: id {} twice", e.id);
                let link = e.links[0].href.clone();
                assert!(items.insert(link.clone(), e).is_none(), "{link} twice");
            }
        }
    }
    let current = |key: &str| {
        let mut key = key.to_owned();
        while let Some(newer) = sample.superseded.get(&key) {
            key = newer.clone();
        }
        key
    };
    // Every event file is an item, or an earlier version of one; every item
    // link is its own file's page.
    let mut expected = BTreeSet::new();
    for (key, path) in &sample.events {
        let url = page_url(path);
        if sample.superseded.contains_key(key) {
            assert!(
                !items.contains_key(&url),
                "earlier version {path} is an item"
            );
            let now = current(key);
            assert!(
                sample
                    .events
                    .get(&now)
                    .is_some_and(|p| items.contains_key(&page_url(p))),
                "{path}: its current version {now} is not an item"
            );
        } else {
            assert!(items.contains_key(&url), "{path} is not an item");
            expected.insert(url);
        }
    }
    let links: BTreeSet<String> = items.keys().cloned().collect();
    assert_eq!(links, expected, "item links are exactly the files' pages");

    // Related links go to the page of the file they name, as written (padding
    // and all); to an event of the sample, to its current version's item.
    let mut inside = 0;
    for (key, path) in &sample.events {
        let Some(entry) = items.get(&page_url(path)) else {
            continue;
        };
        let text = fs::read_to_string(t.input.join(path.trim_start_matches('/'))).unwrap();
        let want: Vec<String> = section_links(&text, "related")
            .iter()
            .map(
                |(link, _)| match sample.events.get(&current(&canonical(link))) {
                    Some(target) => {
                        inside += 1;
                        page_url(target)
                    }
                    None => page_url(link),
                },
            )
            .collect();
        let body = entry.content.as_ref().unwrap().body.as_ref().unwrap();
        let got: Vec<&str> = body
            .split("href=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|h| h.starts_with(&format!("{BASE}news/")))
            .collect();
        assert_eq!(got, want, "Related links of {key}");
    }
    assert!(inside >= 2, "Related links inside the sample: {inside}");

    // The contexts day pages give are on the items.
    for (key, contexts) in &sample.page_contexts {
        let Some(path) = sample.events.get(&current(key)) else {
            continue;
        };
        let item = &items[&page_url(path)];
        let terms: BTreeSet<&str> = item.categories.iter().map(|c| c.term.as_str()).collect();
        for c in contexts {
            assert!(
                terms.contains(c.as_str()),
                "{path}: context {c} missing in {terms:?}"
            );
        }
    }
}

#[test]
fn an_event_without_summary_sources_or_related_still_says_something() {
    let t = Tree::new();
    t.write(
        "news/1999/01/1/the-euro-currency-is-introduced.md",
        "\nFormats: [HTML](/news/1999/01/1/the-euro-currency-is-introduced.html)\n\n### [1999-01-1](/news/1999/01/1/index.md)\n\n##### Euro\n#  The euro currency is introduced.\n\n\n\n",
    );
    t.build();
    let feed = t.feed("days/1999/01/01/atom.xml");
    let body = feed.entries[0]
        .content
        .as_ref()
        .unwrap()
        .body
        .clone()
        .unwrap();
    assert_eq!(body, "<p>The euro currency is introduced.</p>");
    let rss = String::from_utf8(t.read("days/1999/01/01/rss.xml")).unwrap();
    assert!(!rss.contains("<description></description>"), "{rss}");
}
