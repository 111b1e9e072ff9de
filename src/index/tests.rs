use super::*;
use crate::model::event_key;

pub(crate) fn event(date: (i32, u32, u32), slug: &str, contexts: &[&str]) -> Arc<Event> {
    let date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let key = event_key(date, slug);
    Arc::new(Event {
        key,
        pad: Default::default(),
        date,
        contexts_pinned: false,
        contexts: contexts.iter().map(|c| Context::from(*c)).collect(),
        links: Box::new([]),
        rare: None,
        body: crate::model::Content::new(crate::model::Body {
            title: slug.into(),
            summary_html: "".into(),
            sources: Box::new([]),
            image: None,
            related: Box::new([]),
        }),
    })
}

fn up(path: &str, e: Arc<Event>) -> Change {
    Change::Upsert(path.into(), e)
}

fn slugs(index: &Index) -> BTreeMap<String, String> {
    index
        .contexts()
        .iter()
        .map(|(n, c)| (n.to_string(), c.slug.to_string()))
        .collect()
}

#[test]
fn times_are_unique_within_a_day_and_stable() {
    let mut index = Index::default();
    let changes: Vec<Change> = (0..200)
        .map(|i| {
            up(
                &format!("{i}.md"),
                event((2017, 11, 2), &format!("e{i}"), &[]),
            )
        })
        .collect();
    index.apply(changes);
    let times: BTreeSet<i64> = index.all().iter().map(|(Reverse(t), _)| *t).collect();
    assert_eq!(times.len(), 200);
    let noon = NaiveDate::from_ymd_opt(2017, 11, 2)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    assert!(times.iter().all(|t| (noon..noon + 3600).contains(t)));
    let before = index.event("/news/2017/11/2/e5.md").unwrap().ts;
    index.apply([up("x.md", event((2017, 11, 2), "zz-new", &[]))]);
    assert_eq!(index.event("/news/2017/11/2/e5.md").unwrap().ts, before);
}

#[test]
fn a_day_fuller_than_its_slots_still_terminates() {
    let mut index = Index::default();
    let n = 45_000;
    let changes = (0..n).map(|i| {
        up(
            &format!("{i}.md"),
            event((2017, 11, 2), &format!("e{i}"), &[]),
        )
    });
    index.apply(changes.collect::<Vec<_>>());
    let times: BTreeSet<i64> = index.all().iter().map(|(Reverse(t), _)| *t).collect();
    assert_eq!(
        times.len(),
        12 * 3600,
        "every afternoon second used once, then shared"
    );
    assert_eq!(index.event_count(), n);
}

#[test]
fn colliding_slugs_are_distinct_and_order_independent() {
    let a = up("a.md", event((2017, 1, 1), "a", &["Cafe"]));
    let b = up("b.md", event((2017, 1, 2), "b", &["Café", "CAFE"]));
    let c = up(
        "c.md",
        event((2017, 1, 3), "c", &["../../etc", "etc", ".."]),
    );
    let mut one = Index::default();
    one.apply([a.clone(), b.clone(), c.clone()]);
    let mut two = Index::default();
    two.apply([c]);
    two.apply([b]);
    two.apply([a]);
    assert_eq!(slugs(&one), slugs(&two));
    let s = slugs(&one);
    assert_eq!(s["Cafe"], "cafe", "the oldest context keeps the plain slug");
    let unique: BTreeSet<&String> = s.values().collect();
    assert_eq!(unique.len(), s.len(), "{s:?}");
    assert!(s[".."].starts_with("context--"));
    assert!(s["Café"].starts_with("cafe--") && s["CAFE"].starts_with("cafe--"));
}

#[test]
fn removal_frees_feeds_and_promotes_copies() {
    let mut index = Index::default();
    index.apply([
        up("a.md", event((2017, 1, 1), "same", &["X"])),
        up("b.md", event((2017, 1, 1), "same", &["Y"])),
    ]);
    assert_eq!(index.event_count(), 1);
    assert_eq!(
        index.source_of("/news/2017/1/1/same.md").unwrap(),
        PathBuf::from("a.md")
    );
    assert!(index.context("X").is_some() && index.context("Y").is_none());
    let t = index.apply([Change::Remove("a.md".into())]);
    assert!(index.context("X").is_none() && index.context("Y").is_some());
    assert!(t.freed_slugs.contains("x"), "{t:?}");
    let t = index.apply([Change::Remove("b.md".into())]);
    assert_eq!(index.event_count(), 0);
    assert!(index.days().is_empty() && index.all().is_empty() && index.contexts().is_empty());
    assert!(t.freed_slugs.contains("y"));
}

#[test]
fn moving_an_event_touches_old_and_new_feeds() {
    let mut index = Index::default();
    index.apply([up("a.md", event((2017, 1, 1), "a", &["Old"]))]);
    let t = index.apply([up("a.md", event((2017, 2, 1), "a", &["New"]))]);
    let days: Vec<String> = t.days.iter().map(|d| d.to_string()).collect();
    assert_eq!(days, ["2017-01-01", "2017-02-01"]);
    assert_eq!(
        t.contexts.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["New", "Old"]
    );
    assert!(index.context("Old").is_none());
}

#[test]
fn paths_under_a_folder_are_one_range() {
    let mut index = Index::default();
    let paths = [
        "a/b.md",
        "a/b/c.md",
        "a/b/d/e.md",
        "a/bc.md",
        "a/b c.md",
        "b.md",
    ];
    index.apply(
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| up(p, event((2017, 1, 1), &format!("e{i}"), &[]))),
    );
    let under = |dir: &str| -> Vec<String> {
        index
            .paths_under(std::path::Path::new(dir))
            .map(|p| p.display().to_string())
            .collect()
    };
    assert_eq!(under("a/b"), ["a/b/c.md", "a/b/d/e.md"]);
    assert_eq!(
        under("a"),
        ["a/b c.md", "a/b.md", "a/b/c.md", "a/b/d/e.md", "a/bc.md"]
    );
    assert!(under("a/b.md").is_empty() && under("z").is_empty());
}

/// Files at their layout paths are kept as their keys (see `file_key`), and
/// sort and range with the others by their bytes all the same.
#[test]
fn layout_paths_range_and_sort_with_the_others() {
    let mut index = Index::default();
    let padded = |mut e: Event| {
        e.pad.month = true;
        Arc::new(e)
    };
    index.apply([
        up("news/2017/1/1/a.md", event((2017, 1, 1), "a", &[])),
        up("news/2017/1/10/b.md", event((2017, 1, 10), "b", &[])),
        up(
            "news/2017/01/1/c.md",
            padded((*event((2017, 1, 1), "c", &[])).clone()),
        ),
        up("news/2017/1/1x.md", event((2017, 1, 1), "x", &[])),
        up("news/2017/1/1/d.md", event((2017, 1, 2), "d", &[])),
    ]);
    let under = |dir: &str| -> Vec<String> {
        index
            .paths_under(std::path::Path::new(dir))
            .map(|p| p.display().to_string())
            .collect()
    };
    assert_eq!(
        under("news/2017/1/1"),
        ["news/2017/1/1/a.md", "news/2017/1/1/d.md"]
    );
    assert_eq!(under("news/2017/01"), ["news/2017/01/1/c.md"]);
    let files: Vec<String> = index
        .files()
        .map(|(p, _)| p.display().to_string())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files.len(), 5);
    assert_eq!(files, sorted);
    assert_eq!(
        index.source_of("/news/2017/1/1/c.md"),
        Some(PathBuf::from("news/2017/01/1/c.md"))
    );
    index.apply([Change::Remove("news/2017/01/1/c.md".into())]);
    assert_eq!(index.source_of("/news/2017/1/1/c.md"), None);
    assert_eq!(index.paths().count(), 4);
}

#[test]
fn an_unchanged_upsert_touches_nothing() {
    let mut index = Index::default();
    index.apply([up("a.md", event((2017, 1, 1), "a", &["X"]))]);
    assert!(index
        .apply([up("a.md", event((2017, 1, 1), "a", &["X"]))])
        .is_empty());
}

/// The ranking is every context by count (most first), then by name, whatever
/// order the changes came in, and a bulk load ranks as the changes did.
#[test]
fn most_active_is_the_whole_order_by_count_then_name() {
    fn whole_order(index: &Index) -> Vec<(String, usize)> {
        let mut all: Vec<(String, usize)> = index
            .contexts()
            .iter()
            .map(|(n, c)| (n.to_string(), c.items.len()))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
    fn ranked(index: &Index, n: usize) -> Vec<(String, usize)> {
        index
            .most_active(n)
            .map(|(n, c)| (n.to_string(), c.items.len()))
            .collect()
    }
    let names = ["B", "A", "C", "D"];
    let mut index = Index::default();
    let mut changes = Vec::new();
    // Events spread over contexts, then moved, then some removed: counts rise,
    // fall, tie and reach zero.
    for i in 0..24u32 {
        let contexts = [names[(i % 4) as usize], names[(i % 3) as usize]];
        changes.push(up(
            &format!("e{i}.md"),
            event((2017, 1, 1 + i % 5), &format!("e{i}"), &contexts),
        ));
    }
    for i in (0..24u32).step_by(5) {
        changes.push(up(
            &format!("e{i}.md"),
            event((2017, 2, 1), &format!("e{i}"), &["D"]),
        ));
    }
    for i in (0..24u32).step_by(3) {
        changes.push(Change::Remove(format!("e{i}.md").into()));
    }
    // Then every event of `A`, which goes.
    for i in (0..24u32).filter(|i| i % 4 == 1 || i % 3 == 1) {
        changes.push(Change::Remove(format!("e{i}.md").into()));
    }
    for change in &changes {
        index.apply([change.clone()]);
        assert_eq!(ranked(&index, usize::MAX), whole_order(&index));
    }
    assert!(index.context("A").is_none() && index.context("B").is_some());
    assert_eq!(ranked(&index, 2), whole_order(&index)[..2]);
    let mut loaded = Index::default();
    let files: Vec<Change> = index
        .files()
        .map(|(p, e)| up(p.to_str().unwrap(), e.clone()))
        .collect();
    loaded.load(files);
    assert_eq!(ranked(&loaded, usize::MAX), whole_order(&index));
}

/// An event of `date` linking to `links` and listing `versions` (key, time)
/// as earlier versions of itself.
fn linked(
    date: (i32, u32, u32),
    slug: &str,
    links: &[&str],
    versions: &[(&str, i64)],
) -> Arc<Event> {
    let mut e = Arc::unwrap_or_clone(event(date, slug, &["C"]));
    e.links = links.iter().map(|k| EventKey::from(*k)).collect();
    if !versions.is_empty() {
        let versions = versions.iter().map(|(key, time)| crate::model::Version {
            key: EventKey::from(*key),
            path: EventKey::from(*key),
            time: Some(*time),
            first: false,
        });
        e.rare = Some(Box::new(crate::model::Rare {
            versions: versions.collect(),
            ..Default::default()
        }));
    }
    Arc::new(e)
}

/// Files with every kind of fact a settlement holds: versions (one claimed
/// by two bases), day-page contexts, links to items, to an earlier version
/// and to nothing, a duplicate, and a time after its day.
fn settled_world() -> Vec<Change> {
    let day = NaiveDate::from_ymd_opt(2017, 3, 2).unwrap();
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp();
    let page = crate::model::DayPage {
        entries: vec![crate::model::PageEntry {
            key: "/news/2017/3/1/old.md".into(),
            contexts: vec![Context::from("Paged")].into(),
        }]
        .into(),
    };
    vec![
        up(
            "a.md",
            linked(
                (2017, 3, 2),
                "a",
                &["/news/2017/3/2/b.md", "/news/2017/3/1/old.md"],
                &[],
            ),
        ),
        up(
            "b.md",
            linked((2017, 3, 2), "b", &["/news/2017/9/9/nowhere.md"], &[]),
        ),
        up("b-copy.md", linked((2017, 3, 2), "b", &[], &[])),
        up(
            "new.md",
            linked(
                (2017, 3, 2),
                "new",
                &["/news/2017/3/2/a.md"],
                &[("/news/2017/3/1/old.md", noon + 60)],
            ),
        ),
        up(
            "rival.md",
            linked(
                (2017, 3, 3),
                "rival",
                &[],
                &[("/news/2017/3/1/old.md", noon)],
            ),
        ),
        up("old.md", linked((2017, 3, 1), "old", &[], &[])),
        Change::Page("news/2017/03/01/index.md".into(), Arc::new(page)),
    ]
}

#[test]
fn a_load_that_takes_the_settlement_equals_one_that_settles() {
    let changes = settled_world();
    let mut running = Index::default();
    running.apply(changes.clone());
    let settled = running.settled().expect("it keeps who links where");
    // As the store keeps it.
    let bytes = postcard::to_stdvec(&settled).unwrap();
    let settled: Settled = postcard::from_bytes(&bytes).unwrap();
    let mut plain = Index::default();
    assert!(!plain.load_settled(changes.clone(), None));
    let mut taken = Index::default();
    assert!(taken.load_settled(changes.clone(), Some(settled)));
    assert_eq!(taken, plain);
    assert!(plain.mentions.len() >= 3 && !plain.claimed_by.is_empty());
    // The contexts a page gives an earlier version are the page's strings.
    let page = &taken.pages.values().next().unwrap().entries[0].contexts[0];
    let new = &taken.events["/news/2017/3/2/new.md"];
    let paged = new.contexts().iter().find(|c| *c == page).unwrap();
    assert!(ArcStr::ptr_eq(paged, page), "{:?}", new.contexts());
    assert!(plain.events.values().any(|e| e.extra.is_some()));
    // One made for other files is refused, and the load settles.
    let mut fewer = Index::default();
    fewer.apply(changes[..4].to_vec());
    let mut refused = Index::default();
    assert!(!refused.load_settled(changes.clone(), fewer.settled()));
    assert_eq!(refused, plain);
    // So is one for as many files that hold other events.
    let mut other = changes.clone();
    other[2] = up("b-copy.md", linked((2017, 3, 2), "c", &[], &[]));
    let mut elsewhere = Index::default();
    elsewhere.apply(other);
    let mut refused = Index::default();
    assert!(!refused.load_settled(changes.clone(), elsewhere.settled()));
    assert_eq!(refused, plain);
    // An index applied once keeps no mentions: it has no settlement to give.
    running.forget_mentions();
    assert!(running.settled().is_none());
}

#[test]
fn an_abandoned_load_gives_up_and_an_unabandoned_one_is_whole() {
    let filed = || settled_world().into_iter().filter_map(Filed::of);
    let mut plain = Index::default();
    plain.load_filed(filed(), None);
    let go_on = AtomicBool::new(false);
    let mut gathered = Index::default();
    let loaded = gathered.load_gathered(Gathered::new(filed(), false), None, &go_on);
    assert_eq!(loaded, Ok(false));
    assert_eq!(gathered, plain);
    let stop = AtomicBool::new(true);
    let gathered = || Gathered::new(filed(), false);
    assert_eq!(
        Index::default().load_gathered(gathered(), None, &stop),
        Err(Abandoned)
    );
    // Half way: once the items are made, before who links where.
    let mut half = Index {
        files: gathered().files.into_iter().collect(),
        claims: plain.claims.clone(),
        ..Default::default()
    };
    assert_eq!(half.settle_loaded(&stop), Err(Abandoned));
    assert!(half.events.is_empty() && half.mentions.is_empty());
}
