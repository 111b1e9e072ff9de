//! The engine's invariant: whatever sequence of creates, edits, renames, deletes
//! and folder moves the daemon sees, in whatever batches, the output it keeps equals
//! a fresh full build of the resulting tree, byte for byte. The tree mixes the
//! archive layout with other names, day pages, versions and Related links between
//! its events, the facts that make one file's change reach other items.
//!
//! Tombstones are on, with batches a simulated 1000 s apart and a keep time that
//! some outlive: the fresh build is given the daemon's tombstone records (the
//! memory it cannot have), so the feeds kept or emptied by tombstones, their
//! expiry and the plans that render exactly what they change are all compared.

use eventfeed::engine::{Engine, FnEmit};
use eventfeed::index::Change;
use eventfeed::links::{ItemLink, Links};
use eventfeed::parse::{day_page, parse, ParseOptions};
use eventfeed::render::Site;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
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
        feed_pages: true,
        formats: eventfeed::render::Formats::ALL,
        // Small, so that A-Z pages split and merge as contexts come and go.
        page_contexts: (items % 3) + 1,
    }
}

#[derive(Debug, Clone)]
struct Spec {
    day: u32,
    headline: usize,
    contexts: Vec<usize>,
    summary: u8,
    /// Related links to events of the world: (target, padded link).
    related: Vec<(usize, bool)>,
    /// A `### Changes:` section: earlier versions (targets), with timestamps.
    versions: Vec<(usize, u8)>,
}

/// A day page: events of the world with the contexts it gives them.
#[derive(Debug, Clone)]
struct PageSpec {
    entries: Vec<(usize, Vec<usize>)>,
    readme: bool,
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

/// The link to event `target` (a slot), padded like the folders or not.
fn link(target: usize, padded: bool) -> String {
    let day = match (target % DIRS.len(), padded) {
        (0, false) => "1",
        (0, true) => "01",
        (1, false) => "2",
        (1, true) => "02",
        _ => "3",
    };
    format!("/news/2017/11/{day}/s{}.md", target / DIRS.len())
}

impl Spec {
    fn text(&self) -> String {
        let mut s = format!(
            "Formats: [HTML](/x.html)\n\n### [2017-11-{}](/x)\n\n##### Topic\n#  {} \n\nSummary ''{}''\n\n### Source:\n\n1. [P](https://p.example/{})\n",
            self.day, HEADLINES[self.headline], self.summary, self.headline
        );
        if !self.versions.is_empty() {
            s.push_str("\n### Changes:\n\n");
            for (i, (target, hour)) in self.versions.iter().enumerate() {
                let label = if i == 0 { "First version" } else { "Update" };
                s.push_str(&format!(
                    "1. [Old ]({}) _2017-11-0{} {hour:02}:00:00 ({label})_\n",
                    link(*target, i % 2 == 1),
                    1 + (*hour as u32 % 3),
                ));
            }
            s.push_str("1. [Now ](/news/2017/11/3/self.md) _(Current version)_\n");
        }
        if !self.contexts.is_empty() || !self.related.is_empty() {
            s.push_str("\n### Related:\n\n");
            let names: Vec<&str> = self.contexts.iter().map(|&c| CONTEXTS[c]).collect();
            s.push_str(&format!(
                "1. [R ](/news/2017/1/1/r.md) _Context: {}_\n",
                names.join(", ")
            ));
            for (target, padded) in &self.related {
                s.push_str(&format!(
                    "1. [T ]({}) _Context: Twitter_\n",
                    link(*target, *padded)
                ));
            }
        }
        s
    }
}

impl PageSpec {
    fn text(&self) -> String {
        let mut s = "## [2017-11-1](/news/2017/11/1/index.md)\n\n".to_owned();
        for (target, contexts) in &self.entries {
            let names: Vec<&str> = contexts.iter().map(|&c| CONTEXTS[c]).collect();
            s.push_str(&format!(
                "### [Some headline]({})\n_Context: {}_\n\n",
                link(*target, true),
                names.join(", ")
            ));
        }
        s
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Spec),
    Page(usize, PageSpec),
    Rename(usize, usize),
    Delete(usize),
    MoveDir(usize, usize),
    /// A file that stops parsing (a cut-off write): the daemon keeps its last good
    /// version, so it is excluded from the comparison by deleting it afterwards.
    Corrupt(usize),
    /// The daemon stops and starts again: its index is loaded in bulk from
    /// the files it knew (as from the store), and the batches after go on
    /// from that index.
    Restart,
}

/// Two day folders of the archive layout (one padded) and one outside it.
const DIRS: [&str; 3] = ["news/2017/11/1", "news/2017/11/02", "b/c"];

fn path(slot: usize) -> PathBuf {
    PathBuf::from(format!("{}/s{}.md", DIRS[slot % 3], slot / 3))
}

fn page_path(dir: usize, readme: bool) -> PathBuf {
    let name = if readme { "README.md" } else { "index.md" };
    PathBuf::from(format!("{}/{name}", DIRS[dir % 3]))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        1u32..6,
        0..HEADLINES.len(),
        prop::collection::vec(0..CONTEXTS.len(), 0..3),
        0u8..3,
        prop::collection::vec((0usize..12, any::<bool>()), 0..3),
        prop::collection::vec((0usize..12, 0u8..24), 0..3),
    )
        .prop_map(
            |(day, headline, contexts, summary, related, versions)| Spec {
                day,
                headline,
                contexts,
                summary,
                related,
                versions,
            },
        )
}

fn page_spec() -> impl Strategy<Value = PageSpec> {
    (
        prop::collection::vec(
            (0usize..12, prop::collection::vec(0..CONTEXTS.len(), 0..3)),
            0..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(entries, readme)| PageSpec { entries, readme })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..12, spec()).prop_map(|(s, e)| Op::Write(s, e)),
        1 => (0usize..3, page_spec()).prop_map(|(d, p)| Op::Page(d, p)),
        2 => (0usize..12, 0usize..12).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => (0usize..12).prop_map(Op::Delete),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Op::MoveDir(a, b)),
        1 => (0usize..12).prop_map(Op::Corrupt),
        1 => Just(Op::Restart),
    ]
}

/// What the daemon's reader makes of a file; `None` when it does not parse.
fn read(path: &Path, text: &str, opts: &ParseOptions) -> Option<Change> {
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "index.md" || name == "README.md" {
        let page = day_page(text.as_bytes(), opts).ok()?.page;
        return Some(Change::Page(path.to_owned(), Arc::new(page)));
    }
    let parsed = parse(&path.to_string_lossy(), text.as_bytes(), opts).ok()?;
    Some(Change::Upsert(path.to_owned(), Arc::new(parsed.event)))
}

/// Seconds between batches, and how long tombstones are kept: some expire.
const TICK: i64 = 1000;
const KEEP: i64 = 2500;

/// The file system and the daemon's view of it.
struct World {
    files: BTreeMap<PathBuf, String>,
    engine: Engine,
    disk: BTreeMap<String, Vec<u8>>,
    opts: ParseOptions,
    /// The time of the last batch.
    now: i64,
    items: usize,
}

impl World {
    fn new(items: usize) -> Self {
        let site = site(items);
        let opts = ParseOptions::new(1 << 20, site.links.clone());
        // The daemon starts with a full build (of an empty tree here).
        let engine = Engine::new(site).with_tombstones(Default::default(), Some(KEEP));
        let disk = engine
            .render_to_vec(&engine.everything())
            .into_iter()
            .collect();
        Self {
            files: BTreeMap::new(),
            engine,
            disk,
            opts,
            now: 1_700_000_000,
            items,
        }
    }

    /// A restart: a new engine, its index loaded in bulk from the files and
    /// pages the running one holds (what the store has records of) and the
    /// running index's settlement, with its tombstones. The output on disk is
    /// what the last run wrote.
    fn restart(&mut self) {
        let index = self.engine.index();
        let changes: Vec<Change> = (index.files())
            .map(|(path, event)| Change::Upsert(path, event.clone()))
            .chain(
                index
                    .pages()
                    .map(|(path, page)| Change::Page(path, page.clone())),
            )
            .collect();
        // What the store keeps of a stop (see `eventfeed::index::Settled`).
        let settled = index
            .settled()
            .expect("a daemon's index keeps who links where");
        let bytes = postcard::to_stdvec(&settled).unwrap();
        let settled = Some(postcard::from_bytes(&bytes).unwrap());
        let tombstones = self.engine.tombstones().clone();
        self.engine = Engine::new(site(self.items)).with_tombstones(tombstones, Some(KEEP));
        let mut settling = Engine::new(site(self.items));
        settling.load(changes.clone());
        assert!(self.engine.load_settled(changes, settled), "not taken");
        assert_eq!(
            self.engine.index(),
            settling.index(),
            "the settlement of the running index is not what a load settles"
        );
    }

    /// Applies ops to the file system; returns the paths they touched.
    fn run(&mut self, op: &Op) -> Vec<PathBuf> {
        match op {
            Op::Write(s, spec) => {
                self.files.insert(path(*s), spec.text());
                vec![path(*s)]
            }
            Op::Page(d, page) => {
                let p = page_path(*d, page.readme);
                self.files.insert(p.clone(), page.text());
                vec![p]
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
            Op::Restart => {
                self.restart();
                vec![]
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
                Some(text) => read(&p, text, &self.opts),
            })
            .collect();
        self.now += TICK;
        let plan = self.engine.apply_at(changes, self.now);
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
        for file in &plan.removed_files {
            self.disk.remove(file);
        }
    }

    /// A fresh build of the tree, given the daemon's tombstone records, at the
    /// time of its last batch; or, `loaded`, the index a restart loads from
    /// the store (which plans nothing: every feed is rendered here).
    fn fresh(&self, items: usize, loaded: bool) -> BTreeMap<String, Vec<u8>> {
        let tombstones = self.engine.tombstones().clone();
        let mut engine = Engine::new(site(items)).with_tombstones(tombstones, Some(KEEP));
        let changes: Vec<Change> = self
            .files
            .iter()
            .filter_map(|(p, text)| read(p, text, &self.opts))
            .collect();
        match loaded {
            true => engine.load(changes),
            false => drop(engine.apply_at(changes, self.now)),
        }
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
        let broken: Vec<PathBuf> = world.files.iter().filter(|(p, t)| read(p, t, &world.opts).is_none()).map(|(p, _)| p.clone()).collect();
        for p in &broken {
            world.files.remove(p);
        }
        world.batch(broken);
        let fresh = world.fresh(items, false);
        let differing: std::collections::BTreeSet<&String> = fresh.keys().chain(world.disk.keys()).filter(|k| fresh.get(*k) != world.disk.get(*k)).collect();
        prop_assert!(differing.is_empty(), "differing files: {:?}", differing);
        // A restart's bulk load of the same files equals the build too.
        let loaded = world.fresh(items, true);
        let differing: std::collections::BTreeSet<&String> = fresh.keys().chain(loaded.keys()).filter(|k| fresh.get(*k) != loaded.get(*k)).collect();
        prop_assert!(differing.is_empty(), "differing after a load: {:?}", differing);
    }
}
