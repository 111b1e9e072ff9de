//! The engine's invariant: whatever sequence of creates, edits, renames, deletes
//! and folder moves the daemon sees, in whatever batches, the output it keeps equals
//! a fresh full build of the resulting tree, byte for byte.

use eventfeed::engine::{Engine, FnEmit};
use eventfeed::index::Change;
use eventfeed::links::{ItemLink, Links};
use eventfeed::parse::{parse, ParseOptions};
use eventfeed::render::Site;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn site(items: usize) -> Site {
    let links = Links::new(
        "https://example.org/",
        "https://example.org/feeds/",
        ".html",
        ItemLink::Page,
    )
    .unwrap();
    Site {
        title: "T".into(),
        description: "D".into(),
        language: "en".into(),
        author: "A".into(),
        items_per_feed: items,
        links,
        hub: None,
    }
}

#[derive(Debug, Clone)]
struct Spec {
    day: u32,
    headline: usize,
    contexts: Vec<usize>,
    summary: u8,
}

const HEADLINES: [&str; 6] = [
    "Alpha happens",
    "Beta happens",
    "Gamma",
    "Delta news",
    "Epsilon",
    "Zeta",
];
const CONTEXTS: [&str; 7] = [
    "Café",
    "Cafe",
    "CAFE",
    "Donald Trump",
    "東京",
    "../../etc",
    "Twitter",
];

impl Spec {
    fn text(&self) -> String {
        let mut s = format!(
            "### [2017-11-{}](/x)\n\n# {} \n\nSummary {}\n\n### Sources:\n\n1. [P](https://p.example/{})\n",
            self.day, HEADLINES[self.headline], self.summary, self.headline
        );
        if !self.contexts.is_empty() {
            let names: Vec<&str> = self.contexts.iter().map(|&c| CONTEXTS[c]).collect();
            s.push_str(&format!(
                "\n### Related:\n\n1. [R ](/news/2017/1/1/r.md) _Context: {}_\n",
                names.join(", ")
            ));
        }
        s
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Spec),
    Rename(usize, usize),
    Delete(usize),
    MoveDir(usize, usize),
    /// A file that stops parsing (a cut-off write): the daemon keeps its last good
    /// version, so it is excluded from the comparison by deleting it afterwards.
    Corrupt(usize),
}

const DIRS: [&str; 3] = ["a", "b/c", "d"];

fn path(slot: usize) -> PathBuf {
    PathBuf::from(format!("{}/f{}.md", DIRS[slot % 3], slot / 3))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        1u32..6,
        0..HEADLINES.len(),
        prop::collection::vec(0..CONTEXTS.len(), 0..3),
        0u8..3,
    )
        .prop_map(|(day, headline, contexts, summary)| Spec {
            day,
            headline,
            contexts,
            summary,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..12, spec()).prop_map(|(s, e)| Op::Write(s, e)),
        2 => (0usize..12, 0usize..12).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => (0usize..12).prop_map(Op::Delete),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Op::MoveDir(a, b)),
        1 => (0usize..12).prop_map(Op::Corrupt),
    ]
}

/// The file system and the daemon's view of it.
struct World {
    files: BTreeMap<PathBuf, String>,
    engine: Engine,
    disk: BTreeMap<String, Vec<u8>>,
    opts: ParseOptions,
}

impl World {
    fn new(items: usize) -> Self {
        let site = site(items);
        let opts = ParseOptions::new(1 << 20, site.links.clone());
        // The daemon starts with a full build (of an empty tree here).
        let engine = Engine::new(site);
        let disk = engine
            .render_to_vec(&engine.everything())
            .into_iter()
            .collect();
        Self {
            files: BTreeMap::new(),
            engine,
            disk,
            opts,
        }
    }

    /// Applies ops to the file system; returns the paths they touched.
    fn run(&mut self, op: &Op) -> Vec<PathBuf> {
        match op {
            Op::Write(s, spec) => {
                self.files.insert(path(*s), spec.text());
                vec![path(*s)]
            }
            Op::Corrupt(s) => {
                if let Some(text) = self.files.get_mut(&path(*s)) {
                    *text = text[..text.find('#').map_or(0, |i| i + 2)].to_owned();
                }
                vec![path(*s)]
            }
            Op::Rename(a, b) => match self.files.remove(&path(*a)) {
                Some(text) => {
                    self.files.insert(path(*b), text);
                    vec![path(*a), path(*b)]
                }
                None => vec![],
            },
            Op::Delete(s) => {
                self.files.remove(&path(*s));
                vec![path(*s)]
            }
            Op::MoveDir(a, b) => {
                let (from, to) = (DIRS[*a], DIRS[*b]);
                if from == to {
                    return vec![];
                }
                let moved: Vec<PathBuf> = self
                    .files
                    .keys()
                    .filter(|p| p.starts_with(from))
                    .cloned()
                    .collect();
                let mut touched = moved.clone();
                for p in moved {
                    let text = self.files.remove(&p).unwrap();
                    let q = PathBuf::from(to).join(p.strip_prefix(from).unwrap());
                    // A move onto an existing name replaces it, as rename(2) does.
                    self.files.insert(q.clone(), text);
                    touched.push(q);
                }
                touched
            }
        }
    }

    /// The daemon's batch: re-read the paths; a parse failure changes nothing.
    fn batch(&mut self, paths: Vec<PathBuf>) {
        let changes: Vec<Change> = paths
            .into_iter()
            .filter_map(|p| match self.files.get(&p) {
                None => Some(Change::Remove(p)),
                Some(text) => parse(text.as_bytes(), &self.opts)
                    .ok()
                    .map(|parsed| Change::Upsert(p, Arc::new(parsed.event))),
            })
            .collect();
        let plan = self.engine.apply(changes);
        let written = Mutex::new(Vec::new());
        let Ok(()) = self.engine.render(
            &plan,
            FnEmit(|p: &str, b: &[u8]| -> Result<(), Infallible> {
                written.lock().unwrap().push((p.to_owned(), b.to_vec()));
                Ok(())
            }),
        );
        self.disk.extend(written.into_inner().unwrap());
        for dir in &plan.removed {
            self.disk.retain(|k, _| !k.starts_with(&format!("{dir}/")));
        }
    }

    fn fresh(&self, items: usize) -> BTreeMap<String, Vec<u8>> {
        let mut engine = Engine::new(site(items));
        let changes: Vec<Change> = self
            .files
            .iter()
            .filter_map(|(p, text)| {
                parse(text.as_bytes(), &self.opts)
                    .ok()
                    .map(|e| Change::Upsert(p.clone(), Arc::new(e.event)))
            })
            .collect();
        engine.apply(changes);
        engine
            .render_to_vec(&engine.everything())
            .into_iter()
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn incremental_output_equals_a_fresh_build(
        batches in prop::collection::vec(prop::collection::vec(op(), 1..4), 1..12),
        items in 1usize..4,
    ) {
        let mut world = World::new(items);
        for batch in &batches {
            let mut touched = Vec::new();
            for op in batch {
                touched.extend(world.run(op));
            }
            world.batch(touched);
        }
        // Files whose last write did not parse keep their last good version in the
        // daemon by design; remove them so both sides speak of the same tree.
        let broken: Vec<PathBuf> = world.files.iter().filter(|(_, t)| parse(t.as_bytes(), &world.opts).is_err()).map(|(p, _)| p.clone()).collect();
        for p in &broken {
            world.files.remove(p);
        }
        world.batch(broken);
        let fresh = world.fresh(items);
        let differing: std::collections::BTreeSet<&String> = fresh.keys().chain(world.disk.keys()).filter(|k| fresh.get(*k) != world.disk.get(*k)).collect();
        prop_assert!(differing.is_empty(), "differing files: {:?}", differing);
    }
}
