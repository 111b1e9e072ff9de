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
    let doc = feed(&index, &site, &id).expect("feed exists");
    render(&doc, &site).map(|(_, bytes)| String::from_utf8(bytes).unwrap())
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
    insta::assert_snapshot!(
        "index_html",
        String::from_utf8(pages::index_html(&index, &site())).unwrap()
    );
    insta::assert_snapshot!(
        "opml",
        String::from_utf8(pages::opml(&index, &site())).unwrap()
    );
}
