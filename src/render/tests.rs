//! Snapshots of every renderer on the seed event and a small neighbourhood: any
//! change to the bytes readers get shows up as a reviewed diff.

use super::*;
use crate::index::{Change, Index};
use crate::parse::{parse, ParseOptions};
use std::sync::Arc;

const SEED: &[u8] = include_bytes!("../../tests/fixtures/seed.txt");

fn site() -> Site {
    Site {
        title: "Current events".into(),
        description: "Events from Current events".into(),
        language: "en".into(),
        author: "Current events".into(),
        items_per_feed: 50,
        links: crate::links::example(),
        hub: None,
        feed_pages: true,
        formats: Formats::ALL,
        page_contexts: 100,
    }
}

fn index() -> Index {
    let opts = ParseOptions::new(1 << 20, crate::links::example());
    let other = "### [2017-11-6](/news/2017/11/6/index.md)\n\n# U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis. \n\nA *state* visit & a <b>summit</b>.\n\n### Sources:\n\n1. [NHK](https://www3.nhk.or.jp/news/)\n\n### Related:\n\n1. [x ](/news/2017/11/2/x.md) _Context: Donald Trump, 東京_\n";
    let mut index = Index::default();
    index.apply([
        Change::Upsert(
            "seed.txt".into(),
            Arc::new(parse("seed.txt", SEED, &opts).unwrap().event),
        ),
        Change::Upsert(
            "japan.md".into(),
            Arc::new(parse("japan.md", other.as_bytes(), &opts).unwrap().event),
        ),
    ]);
    index
}

fn rendered(id: FeedId) -> [String; 3] {
    let index = index();
    let site = site();
    let doc = feed(&index, &site, &id, &InMemory, None).expect("feed exists");
    let files = render(&doc, &site).into_iter();
    let texts: Vec<String> = files
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    texts.try_into().expect("three formats")
}

#[test]
fn day_feed_snapshots() {
    let [rss, atom, json] = rendered(FeedId::Day(
        chrono::NaiveDate::from_ymd_opt(2017, 11, 2).unwrap(),
    ));
    insta::assert_snapshot!("day_rss", rss);
    insta::assert_snapshot!("day_atom", atom);
    insta::assert_snapshot!("day_json", json);
}

#[test]
fn context_and_all_feed_snapshots() {
    let [rss, atom, json] = rendered(FeedId::Context("東京".into()));
    insta::assert_snapshot!("context_rss", rss);
    insta::assert_snapshot!("context_atom", atom);
    insta::assert_snapshot!("context_json", json);
    let [rss, _, _] = rendered(FeedId::All);
    insta::assert_snapshot!("all_rss", rss);
}

#[test]
fn page_snapshots() {
    let index = index();
    let page = |p: pages::Page| String::from_utf8(p.render(&index, &site())).unwrap();
    insta::assert_snapshot!("index_html", page(pages::Page::Home));
    insta::assert_snapshot!("opml", page(pages::Page::Opml));
    insta::assert_snapshot!("letter_d", page(pages::Page::Letter("d".into())));
    insta::assert_snapshot!("letter_opml_d", page(pages::Page::LetterOpml("d".into())));
    insta::assert_snapshot!("year_2017", page(pages::Page::Year(2017)));
    insta::assert_snapshot!("year_opml_2017", page(pages::Page::YearOpml(2017)));
    let site = site();
    let feed_page = |id: FeedId| {
        let doc = feed(&index, &site, &id, &InMemory, None).unwrap();
        String::from_utf8(pages::feed_page(&index, &doc, &site, &id)).unwrap()
    };
    insta::assert_snapshot!("context_page", feed_page(FeedId::Context("東京".into())));
    insta::assert_snapshot!(
        "day_page",
        feed_page(FeedId::Day(
            chrono::NaiveDate::from_ymd_opt(2017, 11, 2).unwrap()
        ))
    );
}

#[test]
fn with_a_hub_every_format_names_it_beside_self() {
    let site = Site {
        hub: Some("https://hub.example/".into()),
        ..site()
    };
    let index = index();
    let doc = feed(&index, &site, &FeedId::All, &InMemory, None).unwrap();
    let [(_, rss), (_, atom), (_, json)] = render(&doc, &site).try_into().unwrap();
    let rss = String::from_utf8(rss).unwrap();
    assert!(
        rss.contains(r#"<atom:link href="https://hub.example/" rel="hub"/>"#),
        "{rss}"
    );
    assert!(rss.contains(r#"rel="self""#));
    let atom = String::from_utf8(atom).unwrap();
    assert!(
        atom.contains(r#"<link href="https://hub.example/" rel="hub"/>"#),
        "{atom}"
    );
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        json["hubs"],
        serde_json::json!([{"type": "WebSub", "url": "https://hub.example/"}])
    );
    assert_eq!(json["feed_url"], "https://example.org/feeds/all/feed.json");
}

#[test]
fn only_the_chosen_formats_are_rendered() {
    let index = index();
    for (names, files) in [
        (&["rss"][..], &["all/rss.xml"][..]),
        (&["json", "atom"], &["all/atom.xml", "all/feed.json"]),
        (
            &["atom", "rss", "json", "rss"],
            &["all/rss.xml", "all/atom.xml", "all/feed.json"],
        ),
    ] {
        let formats = Formats::new(names.iter().map(|n| Format::from_name(n).unwrap())).unwrap();
        let site = Site { formats, ..site() };
        let doc = feed(&index, &site, &FeedId::All, &InMemory, None).unwrap();
        let got: Vec<String> = render_feed(&index, &doc, &site, &FeedId::All)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        let mut want: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        want.push("all/index.html".into());
        assert_eq!(got, want, "{names:?}");
        let page = String::from_utf8(pages::feed_page(&index, &doc, &site, &FeedId::All)).unwrap();
        for f in Format::ALL {
            let href = format!("https://example.org/feeds/all/{}", f.file());
            assert_eq!(
                page.contains(&href),
                formats.contains(f),
                "{names:?}: {f:?} in\n{page}"
            );
        }
    }
    assert!(Formats::new([]).is_none());
    assert_eq!(format!("{:?}", Formats::ALL), r#"["rss", "atom", "json"]"#);
    assert_eq!(
        Formats::new([Format::Json, Format::Atom]).unwrap().main(),
        Format::Atom
    );
}

#[test]
fn kept_fragments_give_the_same_bytes_and_spare_the_rendering() {
    let index = index();
    let site = site();
    let day = FeedId::Day(chrono::NaiveDate::from_ymd_opt(2017, 11, 2).unwrap());
    let files = |kept: Option<&Fragments>| {
        let doc = feed(&index, &site, &day, &InMemory, kept).unwrap();
        render_feed(&index, &doc, &site, &day)
    };
    let plain = files(None);
    let kept = Fragments::new(1 << 20);
    assert_eq!(files(Some(&kept)), plain);
    let (used, rendered) = kept.take_counts();
    assert_eq!(
        (used, rendered),
        (0, 4),
        "one item, three formats and a page"
    );
    assert_eq!(files(Some(&kept)), plain);
    assert_eq!(kept.take_counts(), (4, 0));
    // A budget smaller than an item keeps nothing for long.
    let tiny = Fragments::new(10);
    assert_eq!(files(Some(&tiny)), plain);
    assert_eq!(files(Some(&tiny)), plain);
    assert_eq!(tiny.take_counts().0, 0);
}

#[test]
fn in_render_order_a_context_feed_shows_only_items_a_day_feed_showed_before() {
    // Contexts of every size over two months, some larger than a feed, so
    // that their oldest shown item is not their oldest.
    let mut index = Index::default();
    let site = Site {
        items_per_feed: 5,
        ..site()
    };
    let changes = (0..300u32).map(|i| {
        let (month, day) = (1 + i % 2, 1 + i % 28);
        let contexts = [format!("c{}", i % 7), format!("d{}", i % 40)];
        let contexts: Vec<&str> = contexts.iter().map(String::as_str).collect();
        let event = crate::index::tests::event((2020, month, day), &format!("e{i}"), &contexts);
        Change::Upsert(format!("{i}.md").into(), event)
    });
    index.apply(changes);
    let mut feeds: Vec<FeedId> = crate::plan::everything(&index, &site)
        .feeds
        .into_iter()
        .collect();
    feeds.sort_by_cached_key(|id| render_order(&index, &site, id));
    assert_eq!(feeds[0], FeedId::All);
    let mut shown = std::collections::HashSet::new();
    for id in &feeds {
        let doc = feed(&index, &site, id, &InMemory, None).unwrap();
        let keys = doc.items.iter().map(|item| item.key.clone());
        match id {
            FeedId::Context(_) => {
                for key in keys {
                    assert!(shown.contains(&key), "{id:?} shows {key} before its day");
                }
            }
            _ => shown.extend(keys),
        }
    }
    assert_eq!(shown.len(), 300);
}
