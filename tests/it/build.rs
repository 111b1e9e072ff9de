//! `eventfeed build` on fixture trees, every feed read back by an independent
//! parser (feed-rs) the way a reader would.

use crate::harness::*;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Output;

const SEED: &[u8] = include_bytes!("../fixtures/seed.txt");

/// The fixture's events besides the seed: (path, alternative path, day,
/// headline, contexts). Paths in the archive layout are the events' identity;
/// the alternatives keep it only outside the layout.
const EVENTS: [(&str, &str, &str, &str, &[&str]); 3] = [
    (
        // The seed links to this event unpadded: the link finds the padded file.
        "news/2017/11/06/u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis.md",
        "news/2017/11/06/u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis.md",
        "2017-11-6",
        "U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis.",
        &["Donald Trump", "2017 North Korea crisis"],
    ),
    (
        "y/other.md",
        "x/y/other.markdown",
        "2017-11-6",
        "Zürich hosts a summit on 東京 and القاهرة 🎉",
        &["Zürich", "東京"],
    ),
    (
        "lonely.md",
        "z/lonely.txt",
        "2017-11-4",
        "An event with no related list",
        &[],
    ),
];

fn event_text(date: &str, headline: &str, contexts: &[&str]) -> String {
    let ev = Ev::new(date, headline);
    if contexts.is_empty() {
        ev.text()
    } else {
        ev.contexts(contexts).text()
    }
}

fn fixture() -> Tree {
    let t = Tree::new();
    t.write("000_6b75227719e54f27.txt", SEED);
    for (path, _, date, headline, contexts) in EVENTS {
        t.write(path, event_text(date, headline, contexts));
    }
    t.write("news/2017/11/2/index.md", "# Day page, not an event\n");
    t
}

/// The number of files the fixture has: the seed, the events and a day page.
const FIXTURE_FILES: usize = 5;

#[test]
fn every_feed_parses_with_absolute_links_unique_ids_and_counts() {
    let t = fixture();
    let out = t.build();
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!(
            "4 events from {FIXTURE_FILES} files ({FIXTURE_FILES} read, 0 skipped)"
        )),
        "{summary}"
    );
    let files = t.files();
    let feeds: Vec<&String> = files
        .keys()
        .filter(|k| k.ends_with(".xml") || k.ends_with(".json"))
        .collect();
    // all + 3 days + 6 contexts, three formats each
    assert_eq!(feeds.len(), 3 * (1 + 3 + 6), "{feeds:?}");
    for path in feeds {
        let feed = t.feed(path);
        let ids: BTreeSet<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), feed.entries.len(), "{path}: ids unique");
        assert!(!feed.entries.is_empty(), "{path}: no empty feeds");
        for e in &feed.entries {
            assert!(
                e.id.starts_with("tag:example.org,2017-11-"),
                "{path}: {}",
                e.id
            );
            assert!(
                e.links.iter().all(|l| l.href.starts_with("https://")),
                "{path}: {:?}",
                e.links
            );
            assert!(e.published.is_some(), "{path}: published");
            let body = e
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .or_else(|| e.summary.as_ref().map(|s| s.content.clone()))
                .unwrap();
            assert!(
                !body.contains("href=\"/") && !body.contains("src=\"/"),
                "{path}: relative URL in {body}"
            );
        }
        assert!(
            feed.links
                .iter()
                .all(|l| l.href.starts_with(BASE) || l.href.starts_with("https://example.org/")),
            "{path}: {:?}",
            feed.links
        );
    }
    let all = t.feed("all/atom.xml");
    assert_eq!(all.entries.len(), 4);
    let dates: Vec<_> = all.entries.iter().map(|e| e.updated.unwrap()).collect();
    assert!(
        dates.windows(2).all(|w| w[0] > w[1]),
        "newest first, no ties: {dates:?}"
    );
    assert_eq!(t.feed("days/2017/11/06/rss.xml").entries.len(), 2);
    let trump = t.feed("contexts/donald-trump/feed.json");
    assert_eq!(trump.entries.len(), 2);
    let seed = all
        .entries
        .iter()
        .find(|e| {
            e.title
                .as_ref()
                .unwrap()
                .content
                .starts_with("U.S. President Donald Trump's main")
        })
        .unwrap();
    let cats: Vec<&str> = seed.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(
        cats,
        ["Donald Trump", "Donald Trump on social media", "Twitter"]
    );
    let body = seed.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        body.contains("account’s 11-minute outage"),
        "mojibake repaired: {body}"
    );
    assert!(
        body.contains("w=1200&amp;h=630&amp;q=55"),
        "the image URL decoded once, escaped once in HTML"
    );
}

#[test]
fn related_links_point_at_the_related_events_own_item_links() {
    let t = fixture();
    t.build();
    let all = t.feed("all/rss.xml");
    let japan = all
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content.contains("visits Japan"))
        .unwrap();
    let link = &japan.links[0].href;
    let seed = t.read("all/rss.xml");
    let seed = String::from_utf8(seed).unwrap();
    assert!(
        seed.contains(&format!(
            "<a href=\"{link}\">U.S. President Donald Trump visits Japan"
        )),
        "{link}"
    );
}

#[test]
fn day_feeds_chain_as_rfc5005_archives() {
    let t = fixture();
    t.build();
    let text = |p: &str| String::from_utf8(t.read(p)).unwrap();
    let first = text("days/2017/11/02/atom.xml");
    assert!(first.contains("<fh:archive"), "an older day is an archive");
    assert!(first.contains(&format!(
        "href=\"{BASE}days/2017/11/04/atom.xml\" rel=\"next-archive\""
    )));
    assert!(first.contains(&format!("href=\"{BASE}all/atom.xml\" rel=\"current\"")));
    assert!(!first.contains("prev-archive"));
    let newest = text("days/2017/11/06/rss.xml");
    assert!(
        !newest.contains("fh:archive>") && !newest.contains("<fh:archive"),
        "the newest day is not archived yet"
    );
    assert!(newest.contains(&format!(
        "href=\"{BASE}days/2017/11/04/rss.xml\" rel=\"prev-archive\""
    )));
    assert!(
        !text("all/rss.xml").contains("prev-archive"),
        "the all-events feed holds every day (whole days, at least 50 events)"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&t.read("days/2017/11/04/feed.json")).unwrap();
    assert_eq!(json["next_url"], format!("{BASE}days/2017/11/02/feed.json"));
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
}

#[test]
fn output_is_deterministic_whatever_the_file_order_and_names() {
    let a = fixture();
    a.build();
    let b = Tree::new();
    // Reverse order, other names and folders outside the archive layout: the
    // same events.
    for (_, path, date, headline, contexts) in EVENTS.iter().rev() {
        b.write(path, event_text(date, headline, contexts));
    }
    b.write("w/seed.md", SEED);
    b.build();
    assert_same(&a.files(), &b.files(), "two orders");
}

#[test]
fn a_second_build_writes_nothing_and_keeps_mtimes() {
    let t = fixture();
    t.build();
    let mtime = fs::metadata(t.output.join("all/rss.xml"))
        .unwrap()
        .mtime_nsec();
    let before = t.files();
    let out = t.build();
    assert!(
        stderr(&out).contains(" 0 files written"),
        "{}",
        stderr(&out)
    );
    assert_same(&t.files(), &before, "second build");
    assert_eq!(
        fs::metadata(t.output.join("all/rss.xml"))
            .unwrap()
            .mtime_nsec(),
        mtime
    );
}

/// With tombstones off; with them, the emptied feeds stay until they expire
/// (`tombstones.rs`).
#[test]
fn removed_events_take_their_feeds_with_them() {
    let t = fixture();
    let off = "tombstone_days = 0\n";
    t.build_with_config(off);
    assert!(t.output.join("contexts/zurich/rss.xml").exists());
    t.remove(EVENTS[1].0);
    let out = t.build_with_config(off);
    // Two context folders of four files, and Z's A-Z page and OPML.
    assert!(stderr(&out).contains(" 10 removed"), "{}", stderr(&out));
    assert!(!t.output.join("contexts/az-z.html").exists());
    assert!(!t.output.join("contexts/zurich").exists());
    assert!(
        t.output.join("days/2017/11/06/rss.xml").exists(),
        "the day still has the Japan event"
    );
    t.remove(EVENTS[0].0);
    t.build_with_config(off);
    assert!(!t.output.join("days/2017/11/06").exists());
    let newest = String::from_utf8(t.read("days/2017/11/04/atom.xml")).unwrap();
    assert!(!newest.contains("next-archive") && !newest.contains("fh:archive"));
}

#[test]
fn bad_files_are_reported_and_cost_nothing_else() {
    let t = fixture();
    t.build();
    let good = t.files();
    t.write("bad/empty.md", "");
    t.write(
        "bad/date.md",
        "### [2017-02-30](/news/2017/2/30/index.md)\n\n# Impossible day\n",
    );
    t.write(
        "bad/cut.md",
        "### [2017-11-9](/news/2017/11/9/index.md)\n\n",
    );
    t.write("bad/binary.md", [0u8, 159, 146, 150, 0xff, 0xfe]);
    t.write("bad/huge.md", vec![b'a'; 2 << 20]);
    let out = t.build();
    let err = stderr(&out);
    for (file, line, what) in [
        ("bad/empty.md", 1, "empty file"),
        ("bad/date.md", 1, "invalid date `2017-02-30`"),
        ("bad/cut.md", 3, "missing headline"),
        ("bad/binary.md", 1, "not a text file"),
        ("bad/huge.md", 1, "over the limit"),
    ] {
        let needle = format!("{}:{line}:", t.input.join(file).display());
        let hit = err
            .lines()
            .find(|l| l.starts_with(&needle))
            .unwrap_or_else(|| panic!("no diagnostic for {file} in\n{err}"));
        assert!(hit.contains("error: ") && hit.contains(what), "{hit}");
    }
    assert!(err.contains(", 5 skipped)"), "{err}");
    assert_same(&t.files(), &good, "the good feeds are untouched");
}

#[test]
fn hostile_context_names_get_safe_unique_slugs() {
    let t = Tree::new();
    let long = "x".repeat(300);
    let names = [
        "../../etc",
        "..",
        "C++",
        "C",
        "Café",
        "Cafe",
        "CAFE",
        "東京",
        "שלום",
        "🎉",
        "con",
        "a/b\\c",
        long.as_str(),
    ];
    for (i, name) in names.iter().enumerate() {
        t.write(
            &format!("e{i}.md"),
            Ev::new(&format!("2017-1-{}", i + 1), &format!("Event {i}"))
                .contexts(&[name])
                .text(),
        );
    }
    t.build();
    let dirs: Vec<String> = fs::read_dir(t.output.join("contexts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|d| !d.ends_with(".html"))
        .collect();
    assert_eq!(dirs.len(), names.len(), "{dirs:?}");
    for d in &dirs {
        assert!(d.len() <= 90 && !d.is_empty(), "{d}");
        assert!(
            d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{d}"
        );
        assert!(!d.starts_with('-') && !d.ends_with('-'), "{d}");
    }
    assert!(
        dirs.contains(&"cafe".to_owned()),
        "the oldest of Café/Cafe/CAFE keeps `cafe`: {dirs:?}"
    );
    assert!(!t.output.parent().unwrap().join("etc").exists());
}

#[test]
fn front_matter_ids_and_html_headlines() {
    let t = Tree::new();
    t.write("fm.md", "+++\ntitle = \"Hand <b>written</b>\"\ndate = 2020-05-01\ncontexts = [\"Hand\"]\nid = \"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66\"\n+++\nA *summary* with <script>alert(1)</script>.\n");
    t.build();
    let feed = t.feed("contexts/hand/atom.xml");
    let e = &feed.entries[0];
    assert_eq!(e.id, "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66");
    assert_eq!(e.title.as_ref().unwrap().content, "Hand written");
    let body = e.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        body.contains("<em>summary</em>") && !body.contains("script"),
        "{body}"
    );
}

#[test]
fn pages_list_every_feed() {
    let t = fixture();
    t.build();
    let html = String::from_utf8(t.read("index.html")).unwrap();
    assert!(html.contains(&format!("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"News: all events (RSS)\" href=\"{BASE}all/rss.xml\">")));
    for slug in ["donald-trump", "zurich", "twitter"] {
        assert!(
            html.contains(&format!("{BASE}contexts/{slug}/atom.xml")),
            "{slug}"
        );
    }
    let opml = String::from_utf8(t.read("feeds.opml")).unwrap();
    assert!(opml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">"));
    assert_eq!(opml.matches("type=\"rss\"").count(), 1 + 6, "{opml}");
    let days = String::from_utf8(t.read("opml/days-2017.opml")).unwrap();
    assert_eq!(days.matches("type=\"rss\"").count(), 3, "{days}");
}

#[test]
fn refuses_an_output_inside_the_input() {
    let t = Tree::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eventfeed"))
        .args(["build", "--base-url", BASE, "--input"])
        .arg(&t.input)
        .arg("--output")
        .arg(t.input.join("public"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("inside the input"));
}

/// A build that finds nothing changed since the last one (no file, no
/// output, no tombstone due) ends without loading the index, and says what
/// a build that loads it says: the same events, the same duplicates.
#[test]
fn a_build_with_nothing_to_do_skips_the_index_and_says_the_same() {
    let t = fixture();
    let lonely = event_text("2017-11-4", "An event with no related list", &[]);
    t.write("copy of lonely.md", &lonely);
    // The summary without its figures of this run, and the warnings.
    let said = |out: &Output| {
        let err = stderr(out);
        let summary = err.lines().find(|l| l.starts_with("eventfeed: "));
        let summary = summary.unwrap_or_else(|| panic!("{err}"));
        let warnings = err.lines().filter(|l| l.contains(": warning: "));
        let mut said: Vec<&str> = warnings.collect();
        said.push(&summary[..summary.find(" (").unwrap()]);
        said.join("\n")
    };
    let build = || {
        let out = t
            .cmd("build")
            .env("EVENTFEED_LOG", "debug")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let skipped = stderr(&out).contains("nothing changed: the index is not loaded");
        (said(&out), skipped)
    };
    let (first, skipped) = build();
    assert!(!skipped && first.contains("same event as"), "{first}");
    let before = t.files();
    assert_eq!(build(), (first.clone(), true), "nothing changed");
    assert_same(&t.files(), &before, "a build that skipped the index");
    // A file written again as it was: read, and the index loaded.
    t.write("copy of lonely.md", &lonely);
    assert_eq!(build(), (first.clone(), false), "a file written again");
    assert_eq!(build(), (first.clone(), true), "nothing changed since");
    // An output changed: every feed rendered again, from the index.
    fs::write(t.output.join("all/atom.xml"), "tampered").unwrap();
    assert_eq!(build(), (first.clone(), false), "an output changed");
    assert_same(&t.files(), &before, "the output repaired");
    // A file that fails is read, and named, by every build until it is fixed.
    t.write(
        "bad.md",
        "\n### [2017-13-1](/news/2017/13/1/index.md)\n\n# Month 13\n",
    );
    for _ in 0..2 {
        let out = t
            .cmd("build")
            .env("EVENTFEED_LOG", "debug")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(err.contains("bad.md:2:6: error: invalid date"), "{err}");
        assert!(!err.contains("nothing changed"), "{err}");
    }
    // Gone, it leaves the files as they were before it came.
    t.remove("bad.md");
    assert_eq!(build(), (first, true), "the bad file gone");
    assert_same(&t.files(), &before, "the bad file gone");
}

#[test]
fn the_cache_skips_unchanged_files_and_repairs_a_tampered_output() {
    let t = fixture();
    t.build();
    let out = stderr(&t.build());
    assert!(
        out.contains("(0 read, 0 skipped)") && out.contains(" 0 files written"),
        "{out}"
    );
    t.write(
        "lonely.md",
        Ev::new("2017-11-4", "An event with no related list, edited").text(),
    );
    let out = stderr(&t.build());
    assert!(out.contains("(1 read, 0 skipped)"), "{out}");
    let cached = t.files();
    fs::remove_file(t.output.join("contexts/twitter/rss.xml")).unwrap();
    fs::write(t.output.join("all/atom.xml"), "tampered").unwrap();
    t.build();
    assert_same(&t.files(), &cached, "a changed output is rendered again");
    // The edited headline changed the item's id (a file outside the layout):
    // the first `--fresh` drops the old id's tombstones, the second writes nothing.
    t.cmd("build").arg("--fresh").output().unwrap();
    let out = stderr(&t.cmd("build").arg("--fresh").output().unwrap());
    assert!(
        out.contains(&format!("({FIXTURE_FILES} read, 0 skipped)"))
            && out.contains(" 0 files written"),
        "{out}"
    );
    assert_same(&t.files(), &t.fresh_build(), "fresh build");
}
