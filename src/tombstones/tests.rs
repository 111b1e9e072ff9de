use super::*;
use crate::engine::Engine;
use crate::index::Change;
use crate::parse::{parse, ParseOptions};
use crate::plan::Plan;
use crate::render::{self, FeedId, Site};
use std::sync::Arc;

fn site(items: usize) -> Site {
    Site {
        title: "T".into(),
        description: "D".into(),
        language: "en".into(),
        author: "A".into(),
        items_per_feed: items,
        links: crate::links::example(),
        hub: None,
        feed_pages: true,
        formats: render::Formats::ALL,
        page_contexts: 100,
    }
}

fn engine(items: usize, keep: Option<i64>) -> Engine {
    Engine::new(site(items)).with_tombstones(Tombstones::default(), keep)
}

/// An event file of the archive layout: `news/2017/11/<day>/<slug>.md`.
fn ev(day: u32, slug: &str, contexts: &[&str]) -> Change {
    let path = format!("news/2017/11/{day}/{slug}.md");
    let text = format!(
        "### [2017-11-{day}](/news/2017/11/{day}/index.md)\n\n# Event {slug}\n\nText.\n\n### Related:\n\n1. [R ](/news/2001/1/1/r.md) _Context: {}_\n",
        contexts.join(", ")
    );
    let opts = ParseOptions::new(1 << 20, crate::links::example());
    let event = parse(&path, text.as_bytes(), &opts).unwrap().event;
    Change::Upsert(path.into(), Arc::new(event))
}

fn gone(day: u32, slug: &str) -> Change {
    Change::Remove(format!("news/2017/11/{day}/{slug}.md").into())
}

fn id(day: u32, slug: &str) -> String {
    format!("tag:example.org,2017-11-{day:02}:/news/2017/11/{day}/{slug}")
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 11, day).unwrap()
}

fn dirs(e: &Engine) -> Vec<&str> {
    e.tombstones().feeds().map(|(d, _)| d.as_str()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> &'a str {
    let (_, bytes) = files.iter().find(|(p, _)| p == path).expect(path);
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn a_record_keeps_its_first_time_renders_newest_first_and_expires() {
    let mut t = Tombstones::default();
    let day = Feed::Day(date(2));
    assert!(t.record(day.clone(), "a", 100));
    assert!(!t.record(day.clone(), "a", 200), "already marked");
    assert!(t.record(day.clone(), "b", 150));
    let dir = "days/2017/11/02";
    let none = BTreeSet::new();
    assert_eq!(
        t.deleted(dir, &none),
        [("b".into(), 150), ("a".into(), 100)]
    );
    assert_eq!(t.deleted(dir, &BTreeSet::from(["b"])), [("a".into(), 100)]);
    assert_eq!(t.next_expiry(10), Some(110));
    assert!(t.expire(109, Some(10)).is_empty());
    let changed = t.expire(110, Some(10));
    assert_eq!(changed, Changed::from([(dir.to_owned(), day.clone())]));
    assert_eq!(t.len(), 1);
    assert_eq!(t.clear(dir, "b"), Some(day));
    assert_eq!(t.clear(dir, "b"), None);
    assert!(t.is_empty(), "a folder without tombstones goes");
    assert_eq!(t.next_expiry(10), None);
}

#[test]
fn tombstones_off_expire_every_record() {
    let mut t = Tombstones::default();
    t.record(Feed::All, "a", 100);
    t.record(Feed::Day(date(1)), "a", 100);
    assert_eq!(t.expire(0, None).len(), 2);
    assert!(t.is_empty());
}

#[test]
fn a_feed_keeps_its_newest_tombstones_only() {
    let mut t = Tombstones::default();
    for (i, r) in ["c", "a", "b", "d"].iter().enumerate() {
        t.record(Feed::All, r, 100 + (i as i64 % 2));
    }
    t.cap("all", 2);
    assert_eq!(
        t.deleted("all", &BTreeSet::new()),
        [("a".into(), 101), ("d".into(), 101)]
    );
}

#[test]
fn a_removed_item_is_tombstoned_where_it_was_and_the_plan_names_exactly_those_feeds() {
    let mut e = engine(50, Some(1000));
    e.apply_at(
        [ev(1, "a", &["Twitter"]), ev(2, "b", &["Twitter", "Lonely"])],
        10,
    );
    assert!(
        e.tombstones().is_empty(),
        "a build from scratch records none"
    );
    let plan = e.apply_at([gone(2, "b")], 20);
    assert_eq!(
        dirs(&e),
        [
            "all",
            "contexts/lonely",
            "contexts/twitter",
            "days/2017/11/02"
        ]
    );
    for (_, stones) in e.tombstones().feeds() {
        assert_eq!(stones.deleted, BTreeMap::from([(id(2, "b"), 20)]));
    }
    assert!(e.take_tombstones_changed());
    // The emptied day and context stay, as empty feeds with their tombstones.
    assert_eq!(plan.kept, set(&["contexts/lonely", "days/2017/11/02"]));
    assert!(plan.removed.is_empty(), "{:?}", plan.removed);
    assert!(plan.feeds.contains(&FeedId::All));
    assert!(plan.feeds.contains(&FeedId::Context("Twitter".into())));
    let files = e.render_to_vec(&plan);
    let stone = format!(
        "<at:deleted-entry ref=\"{}\" when=\"1970-01-01T00:00:20+00:00\"/>",
        id(2, "b")
    );
    for path in [
        "days/2017/11/02/atom.xml",
        "contexts/lonely/atom.xml",
        "contexts/twitter/atom.xml",
        "all/atom.xml",
    ] {
        let atom = file(&files, path);
        assert!(atom.contains(&stone), "{path}:\n{atom}");
        assert!(atom.contains("xmlns:at=\"http://purl.org/atompub/tombstones/1.0\""));
        let parsed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
        assert!(
            parsed.entries.iter().all(|en| en.id != id(2, "b")),
            "{path}"
        );
    }
    for path in ["days/2017/11/02/rss.xml", "days/2017/11/02/feed.json"] {
        assert!(!file(&files, path).contains("Event b"), "{path}");
    }
    // A full render writes the same files.
    let full: Vec<(String, Vec<u8>)> = e.render_to_vec(&e.everything());
    for (path, bytes) in &files {
        let again = full.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        assert_eq!(again, Some(bytes), "{path}");
    }
    // Nothing due, nothing to do.
    assert_eq!(e.apply_at([], 1019), Plan::default());
    assert!(!e.take_tombstones_changed());
    assert_eq!(e.next_expiry(), Some(1020));
    // Expired: the kept folders go, the live feeds lose their tombstone.
    let plan = e.apply_at([], 1020);
    assert!(e.tombstones().is_empty());
    assert_eq!(plan.removed, set(&["contexts/lonely", "days/2017/11/02"]));
    assert_eq!(
        plan.feeds,
        BTreeSet::from([FeedId::All, FeedId::Context("Twitter".into())])
    );
    assert!(plan.kept.is_empty() && plan.pages.is_empty());
    let files = e.render_to_vec(&plan);
    assert!(!file(&files, "all/atom.xml").contains("deleted-entry"));
}

#[test]
fn an_item_that_comes_back_clears_its_tombstones() {
    let mut e = engine(50, Some(1000));
    e.apply_at(
        [ev(1, "a", &["Twitter"]), ev(2, "b", &["Twitter", "Lonely"])],
        10,
    );
    e.apply_at([gone(2, "b")], 20);
    let plan = e.apply_at([ev(2, "b", &["Twitter", "Lonely"])], 30);
    assert!(e.tombstones().is_empty());
    for id in [
        FeedId::All,
        FeedId::Day(date(2)),
        FeedId::Context("Twitter".into()),
        FeedId::Context("Lonely".into()),
    ] {
        assert!(plan.feeds.contains(&id), "{id:?}");
    }
    assert!(plan.kept.is_empty());
}

#[test]
fn an_item_that_loses_a_context_or_moves_day_is_tombstoned_where_it_left_only() {
    let mut e = engine(50, Some(1000));
    e.apply_at(
        [ev(1, "a", &["Twitter"]), ev(2, "b", &["Twitter", "Lonely"])],
        10,
    );
    e.apply_at([ev(2, "b", &["Twitter"])], 20);
    assert_eq!(dirs(&e), ["contexts/lonely"]);
    // Same file, same id, another day (its heading says so).
    let opts = ParseOptions::new(1 << 20, crate::links::example());
    let text = "### [2017-11-3](/x)\n\n# Event b\n\nText.\n";
    let path = "news/2017/11/2/b.md";
    let event = parse(path, text.as_bytes(), &opts).unwrap().event;
    e.apply_at([Change::Upsert(path.into(), Arc::new(event))], 30);
    assert_eq!(
        dirs(&e),
        ["contexts/lonely", "contexts/twitter", "days/2017/11/02"]
    );
}

#[test]
fn an_item_readers_never_saw_in_a_bounded_feed_gets_no_tombstone_there() {
    // One item per context and in the all-events feed: the older event of
    // Twitter is in neither.
    let mut e = engine(1, Some(1000));
    e.apply_at([ev(1, "a", &["Twitter"]), ev(2, "b", &["Twitter"])], 10);
    e.apply_at([gone(1, "a")], 20);
    assert_eq!(dirs(&e), ["days/2017/11/01"]);
}

#[test]
fn a_feed_holds_at_most_items_per_feed_tombstones() {
    let mut e = engine(2, Some(1000));
    let events: Vec<Change> = (0..5).map(|i| ev(2, &format!("e{i}"), &[])).collect();
    e.apply_at(events, 10);
    e.apply_at((0..5).map(|i| gone(2, &format!("e{i}"))), 20);
    assert_eq!(
        e.tombstones().get("days/2017/11/02").unwrap().deleted.len(),
        2
    );
}

#[test]
fn tombstones_off_record_nothing() {
    let mut e = engine(50, None);
    e.apply_at([ev(1, "a", &["Twitter"]), ev(2, "b", &["Twitter"])], 10);
    let plan = e.apply_at([gone(2, "b")], 20);
    assert!(e.tombstones().is_empty());
    assert_eq!(plan.removed, set(&["days/2017/11/02"]));
}

#[test]
fn a_context_whose_slug_another_takes_renders_its_tombstones_in_the_live_feed() {
    // "Cafe" holds the plain slug (oldest event); when it goes, "Café" takes it.
    let mut e = engine(50, Some(1000));
    e.apply_at([ev(1, "a", &["Cafe"]), ev(2, "b", &["Café"])], 10);
    let plan = e.apply_at([gone(1, "a")], 20);
    let stones = e.tombstones().get("contexts/cafe").unwrap();
    assert_eq!(stones.deleted, BTreeMap::from([(id(1, "a"), 20)]));
    assert!(plan.feeds.contains(&FeedId::Context("Café".into())));
    assert!(!plan.kept.contains("contexts/cafe"));
    let files = e.render_to_vec(&plan);
    let atom = file(&files, "contexts/cafe/atom.xml");
    assert!(
        atom.contains("Event b") && atom.contains(&id(1, "a")),
        "{atom}"
    );
}

#[test]
fn a_ref_is_escaped_and_the_feed_still_parses() {
    let site = site(50);
    let mut doc = render::kept_feed(&site, &FeedId::Day(date(2)), "days/2017/11/02".into());
    doc.deleted = vec![("urn:x?a=1&b=\"2\"<".into(), 20)];
    let [_, (_, atom), _] = render::render(&doc, &site).try_into().unwrap();
    let atom = String::from_utf8(atom).unwrap();
    assert!(
        atom.contains(r#"<at:deleted-entry ref="urn:x?a=1&amp;b=&quot;2&quot;&lt;" when="1970-01-01T00:00:20+00:00"/>"#),
        "{atom}"
    );
    assert!(atom.contains("<updated>1970-01-01T00:00:20+00:00</updated>"));
    feed_rs::parser::parse(atom.as_bytes()).unwrap();
}

#[test]
fn a_kept_day_says_what_an_emptied_day_with_a_day_page_says() {
    let site = site(50);
    let mut e = Engine::new(site.clone());
    let opts = ParseOptions::new(1 << 20, crate::links::example());
    let page = crate::parse::day_page(b"## [2017-11-2](/x)\n", &opts)
        .unwrap()
        .page;
    e.apply([Change::Page(
        "news/2017/11/2/index.md".into(),
        Arc::new(page),
    )]);
    let live = render::feed(
        e.index(),
        &site,
        &FeedId::Day(date(2)),
        &render::InMemory,
        None,
    )
    .unwrap();
    let kept = render::kept_feed(&site, &FeedId::Day(date(2)), live.dir.clone());
    assert_eq!(render::render(&live, &site), render::render(&kept, &site));
}

#[test]
fn an_item_that_becomes_an_earlier_version_of_another_is_tombstoned_where_its_id_left() {
    let mut e = engine(50, Some(1000));
    e.apply_at([ev(1, "a", &["X"]), ev(2, "b", &["Y"])], 10);
    // b now says a was its first version: one item, with a's id, in b's feeds.
    let path = "news/2017/11/2/b.md";
    let text = "### [2017-11-2](/x)\n\n# Event b\n\nText.\n\n### Changes:\n\n1. [Old ](/news/2017/11/1/a.md) _2017-11-01 10:00:00 (First version)_\n1. [Now ](/news/2017/11/2/b.md) _(Current version)_\n\n### Related:\n\n1. [R ](/news/2001/1/1/r.md) _Context: Y_\n";
    let opts = ParseOptions::new(1 << 20, crate::links::example());
    let event = parse(path, text.as_bytes(), &opts).unwrap().event;
    e.apply_at([Change::Upsert(path.into(), Arc::new(event))], 20);
    let deleted = |dir: &str| -> Vec<String> {
        e.tombstones()
            .get(dir)
            .map(|s| s.deleted.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(deleted("days/2017/11/01"), [id(1, "a")]);
    assert_eq!(deleted("contexts/x"), [id(1, "a")]);
    assert_eq!(deleted("days/2017/11/02"), [id(2, "b")]);
    assert_eq!(deleted("contexts/y"), [id(2, "b")]);
    // a's id lives on in the all-events feed; b's left it.
    assert_eq!(deleted("all"), [id(2, "b")]);
}
