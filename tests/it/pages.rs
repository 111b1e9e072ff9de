//! The pages people read and the OPML lists: built by the binary on a small tree
//! (they exist, link to each other, escape hostile names, autodiscover, parse as
//! HTML5), and in-process on a large index (no file over 256 KB, a one-file change
//! renders a bounded number of files), plus JSON Feed paging.

use crate::harness::*;
use chrono::NaiveDate;
use eventfeed::engine::{Engine, FnEmit};
use eventfeed::index::Change;
use eventfeed::links::{ItemLink, Links};
use eventfeed::model::{event_key, Body, Content, Context, Event};
use eventfeed::plan::Plan;
use eventfeed::render::Site;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::fs;
use std::sync::{Arc, Mutex};

const HOSTILE: &str = "<script>alert(\"x\")</script> & 'Co'";

fn tree() -> Tree {
    let t = Tree::new();
    let events = [
        (
            "a.md",
            "2017-11-2",
            "Trump tweets",
            &["Donald Trump", "Twitter"][..],
        ),
        ("b.md", "2017-11-2", "Twitter changes", &["Twitter"][..]),
        (
            "c.md",
            "2017-11-6",
            "Japan visit",
            &["Donald Trump", "東京"][..],
        ),
        (
            "d.md",
            "2016-1-10",
            "A hostile <b>headline</b>",
            &["Zürich"][..],
        ),
    ];
    for (path, day, headline, contexts) in events {
        t.write(path, Ev::new(day, headline).contexts(contexts).text());
    }
    t
}

/// Every `href` and `value` of a page that points into the output directory,
/// as the file it names (folders name their `index.html`).
fn local_links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "value=\""] {
        for part in html.split(attr).skip(1) {
            let url = &part[..part.find('"').unwrap()];
            // Event pages live on the site (here the same host), not in the output.
            if let Some(rel) = url.strip_prefix(BASE).filter(|r| !r.starts_with("news/")) {
                let rel = rel.split('#').next().unwrap();
                out.push(match rel.is_empty() || rel.ends_with('/') {
                    true => format!("{rel}index.html"),
                    false => rel.to_owned(),
                });
            }
        }
    }
    out
}

#[test]
fn every_feed_has_a_page_and_every_page_link_leads_somewhere() {
    let t = tree();
    t.build();
    let files = t.files();
    for dir in [
        "all",
        "contexts/donald-trump",
        "contexts/twitter",
        "contexts/dong-jing",
        "days/2017/11/02",
        "days/2017/11/06",
        "days/2016/01/10",
        "contexts/zurich",
    ] {
        let page = String::from_utf8(files[&format!("{dir}/index.html")].clone()).unwrap();
        for (file, kind) in [
            ("rss.xml", "application/rss+xml"),
            ("atom.xml", "application/atom+xml"),
            ("feed.json", "application/feed+json"),
        ] {
            assert!(
                page.contains(&format!("<link rel=\"alternate\" type=\"{kind}\"")),
                "{dir}: {kind}"
            );
            assert!(
                page.contains(&format!("href=\"{BASE}{dir}/{file}\">")),
                "{dir}"
            );
        }
        assert!(
            page.contains(&format!(
                "<input type=\"text\" readonly value=\"{BASE}{dir}/rss.xml\">"
            )),
            "{dir}: the address to copy"
        );
        assert!(!page.contains("<script"), "{dir}: no JavaScript");
    }
    // The context's feed names its page as its alternate.
    let atom = String::from_utf8(files["contexts/twitter/atom.xml"].clone()).unwrap();
    assert!(atom.contains(&format!(
        "<link href=\"{BASE}contexts/twitter/\" rel=\"alternate\"/>"
    )));
    // Day pages link their contexts' pages, context pages their days' events.
    let day = String::from_utf8(files["days/2017/11/02/index.html"].clone()).unwrap();
    assert!(day.contains(&format!("<a href=\"{BASE}contexts/twitter/\">Twitter</a>")));
    assert!(day.contains(&format!("href=\"{BASE}days/2017/11/06/\" rel=\"next\"")));
    let home = String::from_utf8(files["index.html"].clone()).unwrap();
    for target in [
        "contexts/az-d.html",
        "days/2017/",
        "opml/days-2016.opml",
        "feeds.opml",
    ] {
        assert!(
            home.contains(&format!("{BASE}{target}\"")),
            "index.html links {target}"
        );
    }
    // Every link into the output directory, on every page, finds a file.
    let mut pages = 0;
    for (path, bytes) in &files {
        if !path.ends_with(".html") {
            continue;
        }
        pages += 1;
        for link in local_links(std::str::from_utf8(bytes).unwrap()) {
            assert!(
                files.contains_key(&link),
                "{path} links {link}, which is missing"
            );
        }
    }
    assert!(pages >= 12, "{pages} pages");
    for (path, bytes) in &files {
        if path.ends_with(".opml") {
            let text = std::str::from_utf8(bytes).unwrap();
            assert!(text.starts_with("<?xml"), "{path}");
            for part in text.split("xmlUrl=\"").skip(1) {
                let url = &part[..part.find('"').unwrap()];
                let rel = url.strip_prefix(BASE).unwrap();
                assert!(files.contains_key(rel), "{path} lists {rel}");
            }
        }
    }
    html5_valid(&t.output, &files);
}

/// Parses every page with html5lib in strict mode (a parse error fails), when
/// python3 has it (.ci/run installs it).
fn html5_valid(root: &std::path::Path, files: &BTreeMap<String, Vec<u8>>) {
    let has = std::process::Command::new("python3")
        .args(["-c", "import html5lib"])
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        eprintln!("skipped: python3 has no html5lib to check the pages");
        return;
    }
    let pages: Vec<_> = files
        .keys()
        .filter(|p| p.ends_with(".html"))
        .map(|p| root.join(p))
        .collect();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, html5lib\nfor p in sys.argv[1:]:\n    try:\n        html5lib.HTMLParser(strict=True).parse(open(p, 'rb').read())\n    except Exception as e:\n        print(p, e); sys.exit(1)",
        ])
        .args(&pages)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The parser already strips tags from names and headlines; the pages escape
/// whatever the index holds all the same (built in-process, past the parser).
#[test]
fn hostile_names_are_escaped_on_every_page() {
    let mut engine = Engine::new(Site {
        title: HOSTILE.into(),
        ..site()
    });
    let day = NaiveDate::from_ymd_opt(2017, 11, 2).unwrap();
    let mut ev = (*event(day, 1, &[HOSTILE.into(), "Plain".into()])).clone();
    ev.body = Content::new(body(HOSTILE.into()));
    engine.apply([Change::Upsert("e.md".into(), Arc::new(ev))]);
    let escaped = "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'Co'";
    let mut seen = 0;
    for (path, bytes) in engine.render_to_vec(&engine.everything()) {
        let text = String::from_utf8(bytes).unwrap();
        if path.ends_with(".html") {
            assert!(!text.contains("<script"), "{path}: {text}");
            seen += text.matches(escaped).count();
        }
        if path.ends_with(".opml") {
            assert!(!text.contains("<script"), "{path}: {text}");
        }
    }
    // Every page's title and nav, the item's headline and context links.
    assert!(seen >= 20, "{seen}");
}

#[test]
fn the_switch_turns_feed_pages_off() {
    let t = tree();
    t.build_with_config("[pages]\nper_feed = false\n");
    let files = t.files();
    assert!(!files.contains_key("contexts/twitter/index.html"));
    assert!(!files.contains_key("days/2017/11/02/index.html"));
    assert!(files.contains_key("index.html") && files.contains_key("contexts/az-t.html"));
    let atom = String::from_utf8(files["contexts/twitter/atom.xml"].clone()).unwrap();
    assert!(atom.contains(&format!("<link href=\"{BASE}\" rel=\"alternate\"/>")));
    let az = String::from_utf8(files["contexts/az-t.html"].clone()).unwrap();
    assert!(az.contains(&format!(
        "<a href=\"{BASE}contexts/twitter/rss.xml\">Twitter</a>"
    )));
}

/// Regression: `all/feed.json`'s `next_url` pointed at the newest day, whose items
/// it already held.
#[test]
fn json_feed_pages_never_repeat_an_item() {
    let t = Tree::new();
    let mut all_ids = 0;
    for day in 1..=6 {
        for n in 0..day % 3 + 1 {
            let headline = format!("Event {n} of day {day}");
            t.write(
                &format!("e{day}-{n}.md"),
                Ev::new(&format!("2017-11-{day}"), &headline).text(),
            );
            all_ids += 1;
        }
    }
    t.build_with_config("items_per_feed = 2\n");
    let mut seen = BTreeSet::new();
    let mut next = Some(format!("{BASE}all/feed.json"));
    let mut pages = 0;
    while let Some(url) = next {
        let rel = url.strip_prefix(BASE).unwrap();
        let page: serde_json::Value = serde_json::from_slice(&t.read(rel)).unwrap();
        for item in page["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone()), "{rel} repeats {id}");
        }
        next = page["next_url"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(seen.len(), all_ids, "following next_url reaches every item");
    assert!(pages > 2, "{pages}");
}

fn site() -> Site {
    Site {
        title: "T".into(),
        description: "D".into(),
        language: "en".into(),
        author: "A".into(),
        items_per_feed: 50,
        links: Links::new(
            "https://example.org/",
            "https://example.org/feeds/",
            ".html",
            ItemLink::Page,
        )
        .unwrap(),
        hub: None,
        feed_pages: true,
        formats: eventfeed::render::Formats::ALL,
        page_contexts: 100,
    }
}

/// Context names in the shape of the real archive: a long tail, long names, many
/// sharing a first word.
fn context_name(i: usize) -> Context {
    const FIRST: [&str; 8] = [
        "The",
        "United",
        "2017",
        "Death of",
        "Siege of",
        "Protests in",
        "Zürich",
        "Al-",
    ];
    format!(
        "{} {i:05} and the long-running question of its consequences for the region and beyond",
        FIRST[i % FIRST.len()]
    )
    .into()
}

fn body(title: String) -> Body {
    Body {
        summary_html: "<p>What happened, told in a sentence or two, as the archive does for every event of the day.</p>".into(),
        title: title.into(),
        sources: Box::new([]),
        image: None,
        related: Box::new([]),
    }
}

fn event(day: NaiveDate, n: usize, contexts: &[Context]) -> Arc<Event> {
    let slug = format!("event-{n}-happens-somewhere-in-the-world");
    let key = event_key(day, &slug);
    let mut contexts = contexts.to_vec();
    contexts.sort();
    contexts.dedup();
    Arc::new(Event {
        key,
        pad: Default::default(),
        date: day,
        contexts_pinned: false,
        contexts: contexts.into(),
        links: Box::new([]),
        rare: None,
        body: Content::new(body(format!(
            "Event {n} happens somewhere in the world, and people react"
        ))),
    })
}

/// An engine holding `events` events, 10 a day, over `contexts` contexts.
fn engine(events: usize, contexts: usize) -> Engine {
    let mut engine = Engine::new(site());
    let first = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let changes = (0..events).map(|n| {
        let day = first + chrono::Days::new((n / 10) as u64);
        // Every context has an event; a few are very active.
        let cs = [
            context_name(n % contexts),
            context_name((n * 7919) % contexts),
            context_name(n % 40),
        ];
        Change::Upsert(format!("e{n}.md").into(), event(day, n, &cs))
    });
    engine.apply(changes);
    engine
}

/// Renders a plan, returning (files, largest file and its size).
fn count(engine: &Engine, plan: &Plan) -> (usize, String, usize) {
    let out = Mutex::new((0, String::new(), 0));
    let Ok(()) = engine.render(
        plan,
        FnEmit(|path: &str, bytes: &[u8]| -> Result<(), Infallible> {
            let mut o = out.lock().unwrap();
            o.0 += 1;
            if bytes.len() > o.2 && !path.ends_with(".xml") && !path.ends_with(".json") {
                o.1 = path.to_owned();
                o.2 = bytes.len();
            }
            Ok(())
        }),
    );
    out.into_inner().unwrap()
}

const LIMIT: usize = 256 * 1024;

/// The one-file changes of the daemon: a new event on the newest day, on a new
/// day, with a new context; an edit moving an event between contexts; a removal.
fn one_file_changes(mut engine: Engine, events: usize, contexts: usize) {
    let last = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
        + chrono::Days::new(((events - 1) / 10) as u64);
    let ctx = |i: usize| context_name(i);
    let changes: Vec<(&str, Change)> = vec![
        (
            "new event, newest day",
            Change::Upsert(
                "new1.md".into(),
                event(last, events, &[ctx(1), ctx(2), ctx(3)]),
            ),
        ),
        (
            "new event, new day",
            Change::Upsert(
                "new2.md".into(),
                event(
                    last + chrono::Days::new(1),
                    events + 1,
                    &[ctx(4), ctx(5), ctx(6)],
                ),
            ),
        ),
        (
            "new event, new context",
            Change::Upsert(
                "new3.md".into(),
                event(
                    last,
                    events + 2,
                    &[ctx(7), "A brand new context".into(), ctx(8)],
                ),
            ),
        ),
        (
            "edit moves an event",
            Change::Upsert(
                "e5.md".into(),
                event(
                    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
                    5,
                    &[ctx(9), ctx(10), ctx(11)],
                ),
            ),
        ),
        (
            "old day's event edited",
            Change::Upsert(
                "e15.md".into(),
                event(
                    NaiveDate::from_ymd_opt(2000, 1, 2).unwrap(),
                    15,
                    &[ctx(15), ctx(contexts - 1)],
                ),
            ),
        ),
        ("removal", Change::Remove("e25.md".into())),
        ("the new context goes", Change::Remove("new3.md".into())),
    ];
    for (what, change) in changes {
        let plan = engine.apply([change]);
        let (files, largest, size) = count(&engine, &plan);
        eprintln!("{events} events, {contexts} contexts: {what}: {files} files rendered, largest page {largest} ({size} bytes)");
        assert!(files <= 40, "{what}: {files} files rendered: {plan:?}");
        assert!(size <= LIMIT, "{what}: {largest} is {size} bytes");
    }
}

#[test]
fn one_file_changes_render_few_files_at_a_small_size() {
    let engine = engine(1_000, 300);
    let (files, largest, size) = count(&engine, &engine.everything());
    eprintln!("1000 events: {files} files, largest page {largest} ({size} bytes)");
    assert!(size <= LIMIT);
    one_file_changes(engine, 1_000, 300);
}

#[test]
fn no_page_grows_with_the_archive_and_changes_stay_bounded() {
    // EVENTFEED_TEST_EVENTS scales it (contexts: half the events, up to 300 000),
    // e.g. to a million in a release build.
    let events: usize = std::env::var("EVENTFEED_TEST_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let contexts = (events / 2).min(300_000);
    let t = std::time::Instant::now();
    let engine = engine(events, contexts);
    eprintln!("indexed in {:?}", t.elapsed());
    // Every listing page and OPML file, and the pages of the largest feeds (a
    // full render of 36 000 feeds is the benchmark's job, not a test's).
    let mut plan = engine.everything();
    eprintln!("planned in {:?}", t.elapsed());
    let pages = plan.pages.len();
    let recent = *engine.index().days().keys().next_back().unwrap() - chrono::Days::new(60);
    plan.feeds.retain(|f| match f {
        eventfeed::render::FeedId::Context(c) => {
            engine.index().context(c).unwrap().items.len() > 100
        }
        eventfeed::render::FeedId::Day(d) => *d >= recent,
        eventfeed::render::FeedId::All => true,
    });
    let (files, largest, size) = count(&engine, &plan);
    eprintln!("{events} events, {contexts} contexts: {pages} listing pages, {files} files, largest page {largest} ({size} bytes)");
    assert!(size <= LIMIT, "{largest} is {size} bytes");
    assert!(pages > 300, "the A-Z listing is split: {pages}");
    one_file_changes(engine, events, contexts);
}

/// A real browser (headless Chromium, which .ci/run installs) renders the home
/// page, a context page and a day page at a phone's width: the DOM it built holds
/// the expected text, and it paints a screenshot (kept in the temp dir only).
#[test]
fn a_browser_renders_the_pages() {
    if std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no chromium to render the pages");
        return;
    }
    let t = tree();
    t.build();
    let pages = [
        ("index.html", "Most active contexts"),
        ("contexts/twitter/index.html", "Twitter changes"),
        ("days/2017/11/02/index.html", "Trump tweets"),
    ];
    for (i, (page, expected)) in pages.into_iter().enumerate() {
        let url = format!("file://{}", t.output.join(page).display());
        let chromium = |args: &[&str]| {
            std::process::Command::new("chromium")
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--window-size=412,900",
                ])
                .args(args)
                .arg(&url)
                .output()
                .unwrap()
        };
        let dom = chromium(&["--dump-dom"]);
        let dom = String::from_utf8_lossy(&dom.stdout);
        assert!(dom.contains(expected), "{page}: {dom}");
        assert!(
            dom.contains("Copy this address into your feed reader"),
            "{page}"
        );
        let shot = t.output.parent().unwrap().join(format!("shot{i}.png"));
        let out = chromium(&[&format!("--screenshot={}", shot.display())]);
        let png = fs::read(&shot)
            .unwrap_or_else(|e| panic!("{page}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{page}: {} bytes",
            png.len()
        );
    }
}

/// A day that loses its last event keeps valid, empty feeds while its day page is
/// in the tree (its subscribers get no 404); without either, its feeds go.
#[test]
fn an_emptied_day_with_a_day_page_keeps_empty_feeds() {
    let t = Tree::new();
    t.write(
        "news/2017/11/2/x.md",
        Ev::new("2017-11-2", "Only event").text(),
    );
    t.write(
        "news/2017/11/6/y.md",
        Ev::new("2017-11-6", "Later event").text(),
    );
    t.write(
        "news/2017/11/2/index.md",
        "### [Only event](/news/2017/11/2/only-event.md)\n",
    );
    t.build();
    t.remove("news/2017/11/2/x.md");
    t.build();
    let feed = t.feed("days/2017/11/02/atom.xml");
    assert!(feed.entries.is_empty());
    assert_eq!(t.feed("days/2017/11/02/rss.xml").entries.len(), 0);
    let json: serde_json::Value =
        serde_json::from_slice(&t.read("days/2017/11/02/feed.json")).unwrap();
    assert_eq!(json["items"], serde_json::json!([]));
    let page = String::from_utf8(t.read("days/2017/11/02/index.html")).unwrap();
    assert!(page.contains("No events"), "{page}");
    // The emptied day is out of the archive chain.
    let later = String::from_utf8(t.read("days/2017/11/06/atom.xml")).unwrap();
    assert!(!later.contains("prev-archive"), "{later}");
    assert_same(&t.files(), &t.fresh_build(), "a fresh build agrees");
    // Without its day page, the day is kept for its tombstone only; gone
    // once that expires (here: tombstones turned off).
    t.remove("news/2017/11/2/index.md");
    t.build();
    t.assert_emptied("days/2017/11/02");
    // It is listed nowhere: its subscribers have it, nobody new should.
    for listing in ["days/2017/index.html", "opml/days-2017.opml", "index.html"] {
        let text = String::from_utf8(t.read(listing)).unwrap();
        assert!(!text.contains("days/2017/11/02/"), "{listing}");
    }
    t.build_with_config("tombstone_days = 0\n");
    assert!(!t.output.join("days/2017/11/02").exists());
}
