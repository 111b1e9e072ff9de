//! Deterministic generator of a realistic corpus of news-event files.
//!
//! The corpus mimics the shape of the real archive (`tests/fixtures/real-archive`
//! and the seed): one markdown file per event at `news/YYYY/MM/D/<slug>.md`, plus a
//! day page `news/YYYY/MM/D/index.md` per day listing each event with its
//! contexts. The archive's variants are there in realistic proportions: a
//! `Formats:` line or `### Formats:` list before the day heading, topic headings
//! (`##### Euro`) and extra spaces before the headline, `### Source:` as often as
//! `### Sources:`, events with no summary or no sources, wiki emphasis, and a few
//! events with an earlier version (a file of its own, named by a `### Changes:`
//! section).
//!
//! Everything is a pure function of `(seed, N, start, event index)`: event `i`
//! can be produced on its own, in any order and on any thread, by
//! [`Generator::event`]. That is what lets the benchmark create events `N`,
//! `N+1`, ... beyond an existing corpus (their Related entries point at earlier
//! events, which exist on disk as long as events are created in index order),
//! and an edited variant of any event ([`Generator::edited_event`]).
//!
//! # How contexts are modelled
//!
//! Contexts are not stored anywhere: membership of event `i` in a context is a
//! hash test, so that "which earlier events share context `c`" is answered by
//! scanning backwards and hashing, without any state.
//!
//! * ~60 *global* contexts ("United States", "Donald Trump", "Zürich", "東京",
//!   "C++", "Café" / "Cafe" ...) span the whole corpus; the one of rank `r` holds
//!   a fraction `3% / r` of the events (Zipf).
//! * *Windowed* contexts (people, "2017 North Korea crisis"-like stories,
//!   organisations, bills ...) live in a window of `8 * 2^k` events and hold
//!   each event of their window with probability 1/8, so about `2^k` events.
//!   The number of contexts of each size class `k` follows a power law whose
//!   exponent is solved for at start-up, so that the corpus holds about `N / 4`
//!   distinct contexts (at least 5 000 from N = 20 000 on, at most 50 000), each
//!   event belongs to ~2.2 contexts, and most contexts hold 1 to 3 events.
//! * A quarter of the windowed contexts are children of a global one ("Donald
//!   Trump on social media" of "Donald Trump"): their events are also in the
//!   parent, so Related entries list both, as in the seed.
//!
//! An event's contexts are the union of the contexts listed by its Related
//! entries: each of its contexts is the "primary" context of one entry, whose
//! target is an earlier event of that context (or, for the first event of a
//! context, a nearby earlier event); the entry lists every context the two
//! events share (1 to 3 of them).

// The measurement subcommands use the parts of this API that `corpus` does not.
#![allow(dead_code)]

use anyhow::{bail, Context as _, Result};
use chrono::{Datelike, Days, NaiveDate};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::ops::Range;
use std::path::Path;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Number of events `N` of the corpus (events `0..N` are written).
    pub events: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Date of the first day.
    pub start: NaiveDate,
}

impl CorpusOptions {
    pub fn new(events: u64, seed: u64) -> Self {
        CorpusOptions {
            events,
            seed,
            start: NaiveDate::from_ymd_opt(2001, 1, 1).expect("valid date"),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, Default)]
pub struct CorpusStats {
    /// Event files written.
    pub events: u64,
    /// Days (one `index.md` day page each).
    pub days: u64,
    /// Files written (events + day pages).
    pub files: u64,
    /// Distinct context names used by at least one event.
    pub contexts: u64,
    /// Bytes written (events + day pages).
    pub bytes: u64,
    /// Events without any Related entry (so without context).
    pub events_without_context: u64,
    /// Every context with the number of events that carry it, most used first
    /// (ties by name).
    pub context_events: Vec<(String, u64)>,
}

/// One generated event file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedEvent {
    /// Event number (0-based).
    pub index: u64,
    /// Day number (0 = the corpus' start date).
    pub day: u64,
    pub date: NaiveDate,
    /// The headline, without the trailing space that the file puts after it.
    pub headline: String,
    /// `slug(headline)`.
    pub slug: String,
    /// Path relative to the corpus root: `news/YYYY/M/D/<slug>.md`.
    pub path: String,
    /// The event's contexts (union of its Related entries' contexts), in the
    /// order of first appearance.
    pub contexts: Vec<String>,
    /// Indices of the events its Related entries point at (all `< index`).
    pub related: Vec<u64>,
    /// The whole file.
    pub text: String,
    /// The file of its earlier version, when it has one (named in `### Changes:`).
    pub old_version: Option<GeneratedFile>,
}

/// A generated file that is not an event (a day page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the corpus root.
    pub path: String,
    pub text: String,
}

/// The file-name slug of a headline, as in the seed's Related links: the first
/// 140 characters of the headline, lower-cased, every run of characters outside
/// `[a-z0-9]` turned into one `-`, without leading or trailing `-`.
///
/// Note the order: the seed's links show that the cut at 140 comes *before*
/// the runs are collapsed (`...united-states-armed-forc` is 137 characters
/// long), so a slug is often shorter than 140.
pub fn slug(headline: &str) -> String {
    let mut out = String::with_capacity(140);
    let mut dash = false;
    for ch in headline.chars().take(140) {
        for lc in ch.to_lowercase() {
            if lc.is_ascii_lowercase() || lc.is_ascii_digit() {
                if dash && !out.is_empty() {
                    out.push('-');
                }
                dash = false;
                out.push(lc);
            } else {
                dash = true;
            }
        }
    }
    out
}

/// Writes events `0..opts.events` and their day pages under `out/news/`.
///
/// Fails if `out/news` exists and is not empty. Runs on the rayon pool, one
/// task per day; the output does not depend on the number of threads.
pub fn generate(opts: &CorpusOptions, out: &Path) -> Result<CorpusStats> {
    let news = out.join("news");
    if let Ok(mut entries) = fs::read_dir(&news) {
        if entries.next().is_some() {
            bail!(
                "{} already exists and is not empty; remove it first",
                news.display()
            );
        }
    }
    fs::create_dir_all(&news).with_context(|| format!("creating {}", news.display()))?;
    let generator = Generator::new(opts);
    let days = if opts.events == 0 {
        0
    } else {
        generator.day_of(opts.events - 1) + 1
    };

    #[derive(Default)]
    struct Acc {
        bytes: u64,
        files: u64,
        no_ctx: u64,
        counts: HashMap<u64, u64>,
    }
    let acc = (0..days as usize)
        .into_par_iter()
        .with_min_len(4)
        .try_fold(Acc::default, |mut acc, day| -> Result<Acc> {
            let day = day as u64;
            let range = generator.day_events(day);
            let range = range.start..range.end.min(opts.events);
            let date = generator.day_date(day);
            let dir = out.join(day_dir(date));
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut slugs: Vec<String> = Vec::with_capacity(40);
            for i in range.clone() {
                let (ev, keys) = generator.build(i, 0);
                if slugs.contains(&ev.slug) {
                    bail!("bug: two events of {date} share the slug {}", ev.slug);
                }
                let file = dir.join(format!("{}.md", ev.slug));
                fs::write(&file, &ev.text)
                    .with_context(|| format!("writing {}", file.display()))?;
                acc.bytes += ev.text.len() as u64;
                acc.files += 1;
                if let Some(old) = &ev.old_version {
                    let file = out.join(&old.path);
                    fs::write(&file, &old.text)
                        .with_context(|| format!("writing {}", file.display()))?;
                    acc.bytes += old.text.len() as u64;
                    acc.files += 1;
                }
                if keys.is_empty() {
                    acc.no_ctx += 1;
                }
                for k in keys {
                    *acc.counts.entry(k).or_default() += 1;
                }
                slugs.push(ev.slug);
            }
            let page = generator.day_page(day, opts.events);
            let file = out.join(&page.path);
            fs::write(&file, &page.text).with_context(|| format!("writing {}", file.display()))?;
            acc.bytes += page.text.len() as u64;
            acc.files += 1;
            Ok(acc)
        })
        .try_reduce(Acc::default, |mut a, b| {
            a.bytes += b.bytes;
            a.files += b.files;
            a.no_ctx += b.no_ctx;
            let (mut big, small) = if a.counts.len() >= b.counts.len() {
                (a.counts, b.counts)
            } else {
                (b.counts, a.counts)
            };
            for (k, v) in small {
                *big.entry(k).or_default() += v;
            }
            a.counts = big;
            Ok(a)
        })?;

    // Contexts are identified by their name (two keys may share a name: they
    // are then one context, as they would be for a reader).
    let mut by_name: HashMap<String, u64> = HashMap::new();
    for (key, n) in acc.counts {
        *by_name.entry(generator.ctx_name_of_key(key)).or_default() += n;
    }
    let mut context_events: Vec<(String, u64)> = by_name.into_iter().collect();
    context_events.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(CorpusStats {
        events: opts.events,
        days,
        files: acc.files,
        contexts: context_events.len() as u64,
        bytes: acc.bytes,
        events_without_context: acc.no_ctx,
        context_events,
    })
}

/// `news/YYYY/MM/D`: the month zero-padded, the day not, as in the archive.
fn day_dir(date: NaiveDate) -> String {
    format!("news/{}/{:02}/{}", date.year(), date.month(), date.day())
}

/// `1999-01-1`: a day heading's date, padded as the archive's folders are.
fn day_text(date: NaiveDate) -> String {
    format!("{}-{:02}-{}", date.year(), date.month(), date.day())
}

// ---------------------------------------------------------------------------
// Hashing and the PRNG (splitmix64).

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash2(a: u64, b: u64) -> u64 {
    mix64(mix64(a.wrapping_add(GOLDEN)) ^ b)
}

fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix64(hash2(a, b) ^ c.wrapping_mul(GOLDEN))
}

/// Uniform in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The hash threshold under which a test of probability `p` passes.
fn threshold(p: f64) -> u64 {
    if p >= 1.0 {
        u64::MAX
    } else if p <= 0.0 {
        0
    } else {
        (p * 18_446_744_073_709_551_616.0) as u64
    }
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        unit(self.next()) < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// Index drawn with the given relative weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w as u64 {
                return i;
            }
            x -= w as u64;
        }
        weights.len() - 1
    }
}

// Tags that separate the random streams.
const TAG_DAY: u64 = 1;
const TAG_HEADLINE: u64 = 2;
const TAG_SUMMARY: u64 = 3;
const TAG_SOURCES: u64 = 4;
const TAG_RELATED: u64 = 5;
const TAG_PLACE: u64 = 6;
const TAG_OFFSET: u64 = 7;
const TAG_CTX: u64 = 8;
const TAG_FORMAT: u64 = 9;

// ---------------------------------------------------------------------------
// The generator.

/// Membership density of a windowed context inside its window.
const RHO: f64 = 1.0 / 8.0;
/// Windowed memberships per event, on average.
const WINDOWED_PER_EVENT: f64 = 2.0;
/// Share of events of the most popular global context.
const TOP_GLOBAL_SHARE: f64 = 0.03;
/// Share of windowed contexts that are children of a global one.
const CHILD_SHARE: f64 = 0.25;
/// How far back (in events) a Related target is searched for.
const SCAN_LIMIT: u64 = 40_000;
/// At most this many contexts per event (and so at most 6 Related entries).
const MAX_CONTEXTS: usize = 6;
/// Only the first globals (the serious ones) have children.
const PARENTS: usize = 32;
/// Windows longer than this (about two years) hold long-lived contexts:
/// people, organisations and topics without a year in their name.
const LONG_WINDOW: u64 = 20_000;
const WIN_BIT: u64 = 1 << 63;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Person,
    Country,
    Org,
    Topic,
    /// Odd names ("C++", "Café", "Earth Hour 🌍"): neither headline subjects
    /// nor topics nor parents.
    Other,
}

struct Global {
    name: &'static str,
    kind: Kind,
    /// Title used before a person's name in headlines.
    role: &'static str,
    thr: u64,
    hkey: u64,
}

/// A size class of windowed contexts.
struct Class {
    /// Window length, in events.
    w: u64,
    /// One staggered sequence of windows per slot.
    offsets: Vec<u64>,
    /// Probability (as a threshold) that a given window of a slot holds a context.
    exist_thr: u64,
}

/// A context, global or windowed.
#[derive(Clone, Copy, Debug)]
struct Ctx {
    key: u64,
    hkey: u64,
    /// Events `start..end` may belong to it.
    start: u64,
    end: u64,
    thr: u64,
    parent: Option<u16>,
    kind: Kind,
    /// Long-lived (no year in its name).
    long: bool,
}

/// Produces the events of one corpus (see the module documentation).
pub struct Generator {
    opts: CorpusOptions,
    salt: u64,
    /// `day_starts[d]` is the first event of day `d`; the last element bounds
    /// the events this generator can produce.
    day_starts: Vec<u64>,
    classes: Vec<Class>,
    globals: Vec<Global>,
    /// Cumulative Zipf weights of the globals, to pick a child's parent.
    global_cdf: Vec<f64>,
    rho_thr: u64,
}

impl Generator {
    pub fn new(opts: &CorpusOptions) -> Self {
        let salt = hash2(opts.seed, 0x5eed);
        let capacity = opts.events.saturating_mul(2).saturating_add(100_000);
        let mut day_starts = vec![0u64];
        let mut acc = 0u64;
        let mut d = 0u64;
        while acc < capacity {
            acc += 20 + hash3(salt, TAG_DAY, d) % 21;
            day_starts.push(acc);
            d += 1;
        }
        let mut globals = Vec::with_capacity(GLOBALS.len());
        let mut cdf = Vec::with_capacity(GLOBALS.len());
        let mut total = 0.0;
        for (r, &(name, kind, role)) in GLOBALS.iter().enumerate() {
            let p = TOP_GLOBAL_SHARE / (r as f64 + 1.0);
            if r < PARENTS {
                total += 1.0 / (r as f64 + 1.0);
                cdf.push(total);
            }
            globals.push(Global {
                name,
                kind,
                role,
                thr: threshold(p),
                hkey: hash2(salt, r as u64),
            });
        }
        for c in &mut cdf {
            *c /= total;
        }
        Generator {
            opts: opts.clone(),
            salt,
            day_starts,
            classes: design_classes(opts.events, salt),
            globals,
            global_cdf: cdf,
            rho_thr: threshold(RHO),
        }
    }

    pub fn options(&self) -> &CorpusOptions {
        &self.opts
    }

    /// Events `0..capacity()` can be produced (at least `2N + 100 000`).
    pub fn capacity(&self) -> u64 {
        *self.day_starts.last().expect("non-empty")
    }

    /// The day of event `i`.
    pub fn day_of(&self, i: u64) -> u64 {
        assert!(
            i < self.capacity(),
            "event {i} beyond the generator's capacity"
        );
        (self.day_starts.partition_point(|&s| s <= i) - 1) as u64
    }

    /// Every event of day `d` (whether or not below `N`).
    pub fn day_events(&self, d: u64) -> Range<u64> {
        self.day_starts[d as usize]..self.day_starts[d as usize + 1]
    }

    pub fn day_date(&self, d: u64) -> NaiveDate {
        self.opts
            .start
            .checked_add_days(Days::new(d))
            .expect("date in range")
    }

    fn year_of_event(&self, i: u64) -> i32 {
        self.day_date(self.day_of(i.min(self.capacity() - 1)))
            .year()
    }

    /// Event `i`.
    pub fn event(&self, i: u64) -> GeneratedEvent {
        self.build(i, 0).0
    }

    /// Revision `revision` (>= 1) of event `i`: same headline, date, path,
    /// sources and Related entries, another summary. Revision 0 is the event.
    pub fn edited_event(&self, i: u64, revision: u32) -> GeneratedEvent {
        self.build(i, revision).0
    }

    /// The day page `news/YYYY/MM/D/index.md` of day `d`, listing the day's
    /// events below `limit` (pass `N`, or more once events were added), each with
    /// its contexts, as the archive's day pages do.
    pub fn day_page(&self, d: u64, limit: u64) -> GeneratedFile {
        let date = self.day_date(d);
        let dir = day_dir(date);
        let mut text = format!("## [{}](/{dir}/index.md)\n\n", day_text(date));
        let range = self.day_events(d);
        for i in range.start..range.end.min(limit) {
            let ev = self.event(i);
            let _ = writeln!(text, "### [ {}](/{})", ev.headline, ev.path);
            if !ev.contexts.is_empty() {
                let _ = writeln!(text, "_Context: {}_", ev.contexts.join(", "));
            }
            text.push('\n');
        }
        GeneratedFile {
            path: format!("{dir}/index.md"),
            text,
        }
    }

    /// The event and the keys of its contexts.
    fn build(&self, i: u64, revision: u32) -> (GeneratedEvent, Vec<u64>) {
        let day = self.day_of(i);
        let date = self.day_date(day);
        let ctxs = self.memberships(i);
        let (headline, slug) = self.headline(i, &ctxs);
        let names: Vec<String> = ctxs.iter().map(|c| self.ctx_name(c)).collect();

        // Related entries.
        let mut rng = Rng(hash3(self.salt, TAG_RELATED, i));
        let mut entries: Vec<(u64, Vec<usize>)> = Vec::new();
        if !ctxs.is_empty() {
            let drawn = 1 + rng.weighted(&[15, 20, 22, 18, 15, 10]);
            let n_entries = drawn.max(ctxs.len()).min(MAX_CONTEXTS);
            let mut used: Vec<u64> = Vec::with_capacity(n_entries);
            for e in 0..n_entries {
                let primary = e % ctxs.len();
                let Some(j) = self.find_related(i, &ctxs[primary], &used, &mut rng) else {
                    continue;
                };
                used.push(j);
                let shared = self.shared(primary, &ctxs, &self.memberships(j));
                entries.push((j, shared));
            }
        }
        let mut ctx_used = vec![false; ctxs.len()];
        for (_, shared) in &entries {
            for &s in shared {
                ctx_used[s] = true;
            }
        }
        let contexts: Vec<String> = (0..ctxs.len())
            .filter(|&s| ctx_used[s])
            .map(|s| names[s].clone())
            .collect();
        let keys: Vec<u64> = (0..ctxs.len())
            .filter(|&s| ctx_used[s])
            .map(|s| ctxs[s].key)
            .collect();

        let dir = day_dir(date);
        let mut f = Rng(hash3(self.salt, TAG_FORMAT, i));
        let mut text = String::with_capacity(2048);
        match f.below(20) {
            0..=11 => {
                let _ = write!(
                    text,
                    "\nFormats: [HTML](/{dir}/{slug}.html)  [JSON](/{dir}/{slug}.json)  [XML](/{dir}/{slug}.xml)  \n\n"
                );
            }
            12 => {
                let _ = writeln!(
                    text,
                    "\n### Formats:\n\n* [HTML](/{dir}/{slug}.html)\n* [JSON](/{dir}/{slug}.json)\n* [XML](/{dir}/{slug}.xml)"
                );
            }
            _ => {}
        }
        let _ = write!(text, "### [{}](/{dir}/index.md)\n\n", day_text(date));
        if !names.is_empty() && f.chance(0.3) {
            let _ = writeln!(text, "##### {}", names[0]);
        }
        let spaces = if f.chance(0.5) { "  " } else { " " };
        let _ = write!(text, "#{spaces}{headline} \n\n");
        // An edit (revision > 0) always has a summary: it is what the edit changes.
        if f.chance(0.92) || revision > 0 {
            self.summary(&mut text, i, revision, &ctxs, &names);
        }
        if f.chance(0.95) {
            let heading = if f.chance(0.5) { "Source" } else { "Sources" };
            let _ = write!(text, "\n\n\n### {heading}:\n\n");
            self.sources(&mut text, i, date, &slug);
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
        // A few events were revised under another headline: the earlier version
        // is a file of its own, named by the current one's `### Changes:`.
        let old_version = (i > 0 && f.chance(0.03)).then(|| {
            let old_slug = format!("{}-first", &slug[..slug.len().min(120)]);
            let old_text = text.replacen(
                &format!("#{spaces}{headline} "),
                &format!("# First report: {headline} "),
                1,
            );
            GeneratedFile {
                path: format!("{dir}/{old_slug}.md"),
                text: old_text,
            }
        });
        if let Some(old) = &old_version {
            let _ = write!(
                text,
                "\n### Changes:\n\n1. [First report: {headline} ](/{}) _{} 09:30:05 (First version)_\n1. [{headline} ](/{dir}/{slug}.md) _(Current version)_\n",
                old.path,
                date.format("%Y-%m-%d")
            );
        }
        if !entries.is_empty() {
            text.push_str("\n### Related:\n\n");
            for (n, (j, shared)) in entries.iter().enumerate() {
                let (h, s) = self.headline(*j, &self.memberships(*j));
                let jd = self.day_date(self.day_of(*j));
                // As in the archive, Related links zero-pad the month like the
                // folders; some do not, and must find the file all the same.
                let month = if rng.chance(0.8) {
                    format!("{:02}", jd.month())
                } else {
                    jd.month().to_string()
                };
                let list: Vec<&str> = shared.iter().map(|&x| names[x].as_str()).collect();
                let _ = writeln!(
                    text,
                    "{}. [{h} ](/news/{}/{month}/{}/{s}.md) _Context: {}_",
                    n + 1,
                    jd.year(),
                    jd.day(),
                    list.join(", ")
                );
            }
        }
        let ev = GeneratedEvent {
            index: i,
            day,
            date,
            path: format!("{dir}/{slug}.md"),
            headline,
            slug,
            contexts,
            related: entries.iter().map(|e| e.0).collect(),
            text,
            old_version,
        };
        (ev, keys)
    }

    // -- contexts ----------------------------------------------------------

    fn global_ctx(&self, g: usize) -> Ctx {
        let gl = &self.globals[g];
        Ctx {
            key: g as u64,
            hkey: gl.hkey,
            start: 0,
            end: u64::MAX,
            thr: gl.thr,
            parent: None,
            kind: gl.kind,
            long: true,
        }
    }

    /// The windowed context of class `k`, slot `m`, window `b`, if it exists.
    fn windowed_ctx(&self, k: usize, m: usize, b: u64) -> Option<Ctx> {
        let class = &self.classes[k];
        let key = WIN_BIT | (k as u64) << 40 | (m as u64) << 32 | b;
        let hkey = hash2(self.salt, key);
        if mix64(hkey ^ 0xE515) >= class.exist_thr {
            return None;
        }
        let o = class.offsets[m];
        let end = b * class.w + o;
        let start = end.saturating_sub(class.w);
        let h = mix64(hkey ^ 0xFA41);
        let long = class.w > LONG_WINDOW;
        let (parent, kind) = if !long && unit(h) < CHILD_SHARE {
            let u = unit(mix64(h));
            let g = self.global_cdf.partition_point(|&c| c < u);
            (Some(g.min(self.global_cdf.len() - 1) as u16), Kind::Topic)
        } else {
            let kind = match mix64(h ^ 1) % 100 {
                0..=29 => Kind::Person,
                30..=84 => Kind::Topic,
                _ => Kind::Org,
            };
            (None, kind)
        };
        Some(Ctx {
            key,
            hkey,
            start,
            end,
            thr: self.rho_thr,
            parent,
            kind,
            long,
        })
    }

    fn ctx_of_key(&self, key: u64) -> Ctx {
        if key & WIN_BIT == 0 {
            self.global_ctx(key as usize)
        } else {
            let k = ((key >> 40) & 0xFF) as usize;
            let m = ((key >> 32) & 0xFF) as usize;
            let b = key & 0xFFFF_FFFF;
            self.windowed_ctx(k, m, b)
                .expect("key of an existing context")
        }
    }

    fn ctx_name_of_key(&self, key: u64) -> String {
        self.ctx_name(&self.ctx_of_key(key))
    }

    /// Is event `j` a (direct) member of `c`?
    fn member(&self, j: u64, c: &Ctx) -> bool {
        j >= c.start && j < c.end && mix64(j.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ c.hkey) < c.thr
    }

    /// The contexts event `i` is meant to belong to: globals first (by rank),
    /// then windowed ones; a child brings its parent along.
    fn memberships(&self, i: u64) -> Vec<Ctx> {
        let mut out: Vec<Ctx> = Vec::new();
        for g in 0..self.globals.len() {
            let c = self.global_ctx(g);
            if self.member(i, &c) {
                out.push(c);
            }
        }
        let mut parents: Vec<u16> = Vec::new();
        let mut windowed: Vec<Ctx> = Vec::new();
        for (k, class) in self.classes.iter().enumerate() {
            for (m, &o) in class.offsets.iter().enumerate() {
                let b = (i + class.w - o) / class.w;
                if let Some(c) = self.windowed_ctx(k, m, b) {
                    if self.member(i, &c) {
                        if let Some(p) = c.parent {
                            parents.push(p);
                        }
                        windowed.push(c);
                    }
                }
            }
        }
        for p in parents {
            if !out.iter().any(|c| c.key == p as u64) {
                out.push(self.global_ctx(p as usize));
            }
        }
        out.sort_by_key(|c| c.key);
        // Past MAX_CONTEXTS, windowed contexts are dropped (globals come first).
        windowed.sort_by_key(|c| c.key);
        out.extend(windowed);
        out.truncate(MAX_CONTEXTS);
        out
    }

    /// An earlier event for a Related entry whose primary context is `c`.
    fn find_related(&self, i: u64, c: &Ctx, used: &[u64], rng: &mut Rng) -> Option<u64> {
        if i == 0 {
            return None;
        }
        let mut skip = match rng.weighted(&[55, 25, 15, 5]) {
            0 => 0,
            1 => rng.range(1, 3),
            2 => rng.range(4, 20),
            _ => rng.range(21, 150),
        };
        let lo = c.start.max(i.saturating_sub(SCAN_LIMIT));
        let mut found = None;
        let mut j = i;
        while j > lo {
            j -= 1;
            if self.member(j, c) && !used.contains(&j) {
                found = Some(j);
                if skip == 0 {
                    break;
                }
                skip -= 1;
            }
        }
        if found.is_some() {
            return found;
        }
        // First event of its context: relate it to a nearby earlier event.
        let span = i.min(40);
        for _ in 0..8 {
            let j = i - 1 - rng.below(span);
            if !used.contains(&j) {
                return Some(j);
            }
        }
        (0..i).rev().find(|j| !used.contains(j))
    }

    /// The contexts (indices into `ctxs`) that an event whose contexts are
    /// `theirs` shares with the event whose contexts are `ctxs`, for an entry
    /// of primary `primary`: 1 to 3, in the order of `ctxs`, always including
    /// `primary` (and the parent of a shared child, which `memberships` adds).
    fn shared(&self, primary: usize, ctxs: &[Ctx], theirs: &[Ctx]) -> Vec<usize> {
        let mut shared: Vec<usize> = (0..ctxs.len())
            .filter(|&s| s == primary || theirs.iter().any(|c| c.key == ctxs[s].key))
            .collect();
        if let Some(p) = ctxs[primary].parent {
            if let Some(s) = ctxs.iter().position(|c| c.key == p as u64) {
                if !shared.contains(&s) {
                    shared.push(s);
                }
            }
        }
        shared.sort_unstable();
        if shared.len() > 3 {
            let mut keep = vec![primary];
            keep.extend(shared.iter().copied().filter(|&s| s != primary).take(2));
            keep.sort_unstable();
            shared = keep;
        }
        shared
    }

    fn ctx_name(&self, c: &Ctx) -> String {
        if c.key & WIN_BIT == 0 {
            return self.globals[c.key as usize].name.to_string();
        }
        let mut r = Rng(hash2(c.hkey, TAG_CTX));
        let year = self.year_of_event(c.start);
        if let Some(p) = c.parent {
            let g = &self.globals[p as usize];
            let p = g.name;
            return match g.kind {
                Kind::Person => match r.below(7) {
                    0 => format!("{p} on social media"),
                    1 => format!("{year} {p} campaign"),
                    2 => format!("{p} {year} visit to {}", r.pick(PLACES_ASCII)),
                    3 => format!("Legal affairs of {p}"),
                    4 => format!("{year} {p} {}", r.pick(PERSON_EVENTS)),
                    5 => format!("Reactions to {p}'s {year} {}", r.pick(SPEECHES)),
                    _ => format!("{p} {} controversy", r.pick(TOPICS)),
                },
                Kind::Country => match r.below(6) {
                    0 => format!("{p}–{} relations", r.pick(COUNTRIES)),
                    1 => format!("{year} {p} general election"),
                    2 => format!("{year} {p} {} {}", r.pick(ADJECTIVES), r.pick(ADJ_NOUNS)),
                    3 => format!("Politics of {p}"),
                    _ => format!("{year} {p} {}", r.pick(EVENT_NOUNS)),
                },
                Kind::Org => match r.below(4) {
                    0 => format!("Criticism of {p}"),
                    1 => format!("{p} {} of {year}", r.pick(ORG_EVENTS)),
                    _ => format!("{year} {p} {}", r.pick(ORG_EVENTS)),
                },
                Kind::Topic | Kind::Other => match r.below(4) {
                    0 => format!("{p} in {}", r.pick(PLACES_ASCII)),
                    1 => format!("Impact of {p} on {}", r.pick(SECTORS)),
                    2 => format!("{year} {p} summit"),
                    _ => format!("Protests over {p} in {}", r.pick(PLACES_ALL)),
                },
            };
        }
        match c.kind {
            Kind::Person => {
                let first = r.pick(FIRST_NAMES);
                let last = r.pick(LAST_NAMES);
                if r.chance(0.3) {
                    let initial = (b'A' + r.below(26) as u8) as char;
                    format!("{first} {initial}. {last}")
                } else {
                    format!("{first} {last}")
                }
            }
            Kind::Org => format!(
                "{} {} {}",
                r.pick(ORG_PREFIXES),
                r.pick(ORG_CORES),
                r.pick(ORG_SUFFIXES)
            ),
            _ if c.long => format!(
                "{} {} {}",
                r.pick(PLACES_ALL),
                r.pick(TOPICS),
                r.pick(LAW_KINDS)
            ),
            _ => match r.below(10) {
                0..=3 => format!("{year} {} {}", r.pick(PLACES_ALL), r.pick(EVENT_NOUNS)),
                4..=5 => format!(
                    "{year} {} {} {}",
                    r.pick(PLACES_ALL),
                    r.pick(ADJECTIVES),
                    r.pick(ADJ_NOUNS)
                ),
                6..=8 => format!(
                    "{} {} {}",
                    r.pick(PLACES_ALL),
                    r.pick(TOPICS),
                    r.pick(LAW_KINDS)
                ),
                _ => format!("{year} {} {}", r.pick(TOPICS), r.pick(LAW_KINDS)),
            },
        }
    }

    // -- text ----------------------------------------------------------------

    /// The place of event `i` in its headline: distinct for the events of a
    /// day, which makes headlines (and slugs) unique per day.
    fn day_place(&self, i: u64) -> &'static str {
        let d = self.day_of(i);
        let idx = i - self.day_starts[d as usize];
        let n = PLACES_ASCII.len() as u64;
        let h = hash3(self.salt, TAG_PLACE, d);
        let mut step = 1 + (h >> 32) % (n - 1);
        while gcd(step, n) != 1 {
            step += 1;
        }
        PLACES_ASCII[((h % n + idx * step) % n) as usize]
    }

    /// The headline (without trailing space) and its slug.
    fn headline(&self, i: u64, ctxs: &[Ctx]) -> (String, String) {
        let place = self.day_place(i);
        let h = self.headline_with(i, ctxs, place, false);
        let h = if fits(&h, place) {
            h
        } else {
            self.headline_with(i, ctxs, place, true)
        };
        let s = slug(&h);
        (h, s)
    }

    /// `plain`: ASCII only, place first (used when the first attempt put the
    /// place too far, or is non-ASCII and longer than 140 bytes).
    fn headline_with(&self, i: u64, ctxs: &[Ctx], place: &str, plain: bool) -> String {
        let mut r = Rng(hash3(self.salt, TAG_HEADLINE, i));
        let target = 8 + r.below(12) + r.below(12); // 8..=30, mostly 15-23
        let mut subject: Option<String> = None;
        let mut topic: Option<String> = None;
        for c in ctxs {
            match c.kind {
                Kind::Topic if topic.is_none() => topic = Some(self.ctx_name(c)),
                Kind::Person if subject.is_none() => {
                    let name = self.ctx_name(c);
                    let role = if c.key & WIN_BIT == 0 {
                        self.globals[c.key as usize].role
                    } else {
                        r.pick(ROLES)
                    };
                    subject = Some(if role.is_empty() {
                        name
                    } else {
                        format!("{role} {name}")
                    });
                }
                Kind::Org | Kind::Country if subject.is_none() && r.chance(0.6) => {
                    subject = Some(self.ctx_name(c))
                }
                _ => {}
            }
        }
        let mut subject = subject.unwrap_or_else(|| r.pick(GENERIC_SUBJECTS).to_string());
        if plain {
            if !subject.is_ascii() {
                subject = r.pick(GENERIC_SUBJECTS).to_string();
            }
            topic = topic.filter(|t| t.is_ascii());
        }
        let n = r.range(2, 60);
        let base = if plain {
            format!(
                "In {place}, {} {} {}",
                subject_lower(&subject),
                r.pick(VERBS),
                r.pick(OBJECTS)
            )
        } else {
            match r.below(11) {
                0 | 1 => format!("{subject} {} {} in {place}", r.pick(VERBS), r.pick(OBJECTS)),
                2 => format!(
                    "At least {n} people are killed and {} others are injured {} {place}",
                    r.range(2, 200),
                    r.pick(INCIDENTS)
                ),
                3 => format!(
                    "A magnitude {}.{} earthquake strikes near {place}, damaging {} buildings",
                    r.range(4, 8),
                    r.below(10),
                    r.range(10, 900)
                ),
                4 => format!(
                    "Thousands of people protest in {place} against {}",
                    r.pick(GRIEVANCES)
                ),
                5 => format!(
                    "In {place}, {} {} {}",
                    subject_lower(&subject),
                    r.pick(VERBS),
                    r.pick(OBJECTS)
                ),
                6 => format!(
                    "{subject} wins the {} in {place} with {}.{}% of the vote",
                    r.pick(ELECTIONS),
                    r.range(35, 79),
                    r.below(10)
                ),
                7 => format!(
                    "Police in {place} arrest {n} people suspected of {}",
                    r.pick(CRIMES)
                ),
                8 => format!(
                    "The authorities in {place} declare a state of emergency after {}",
                    r.pick(DISASTERS)
                ),
                9 => format!(
                    "{subject} meets the {} of {} in {place} to discuss {}",
                    r.pick(&["President", "Prime Minister", "Foreign Minister"]),
                    r.pick(COUNTRIES),
                    r.pick(ISSUES)
                ),
                _ => format!("Scientists in {place} report {}", r.pick(DISCOVERIES)),
            }
        };
        let mut pieces = vec![base];
        let mut order: Vec<u64> = (0..7).collect();
        for k in (1..order.len()).rev() {
            order.swap(k, r.below(k as u64 + 1) as usize);
        }
        for t in order {
            let words: usize = pieces.iter().map(|p| p.split_whitespace().count()).sum();
            if words >= target as usize {
                break;
            }
            let tail = match t {
                0 => match &topic {
                    Some(topic) => format!(" amid the {topic}"),
                    None => continue,
                },
                1 => {
                    let mut publisher = r.pick(PUBLISHERS).0;
                    while plain && !publisher.is_ascii() {
                        publisher = r.pick(PUBLISHERS).0;
                    }
                    format!(", according to {publisher}")
                }
                2 => format!(
                    ". {} says it is \"{}\"",
                    r.pick(SPOKESPEOPLE),
                    r.pick(QUOTES)
                ),
                3 => format!(". {}", r.pick(REACTIONS)),
                4 => format!(
                    ", the first such {} since {}",
                    r.pick(EVENT_NOUNS),
                    r.range(1950, 2000)
                ),
                5 if !plain => format!(
                    ". Residents of {} are urged to {}",
                    r.pick(PLACES_UNICODE),
                    r.pick(&[
                        "stay indoors",
                        "avoid the area",
                        "conserve water",
                        "follow official guidance"
                    ])
                ),
                5 => continue,
                _ => format!(
                    ", with {} people still {}",
                    r.range(2, 90),
                    r.pick(&["missing", "unaccounted for", "in hospital"])
                ),
            };
            let tail_words = tail.split_whitespace().count();
            if words + tail_words <= 30 {
                pieces.push(tail);
            }
        }
        let mut h = pieces.concat();
        h.push('.');
        if !plain && r.chance(0.04) {
            // An occasional curly apostrophe.
            h = h.replacen("'s ", "’s ", 1);
        }
        h
    }

    fn summary(&self, out: &mut String, i: u64, revision: u32, ctxs: &[Ctx], names: &[String]) {
        let mut r = Rng(hash3(self.salt, TAG_SUMMARY, i ^ ((revision as u64) << 48)));
        let n_sent = 1 + r.weighted(&[35, 40, 25]);
        let name = |r: &mut Rng| -> String {
            if ctxs.is_empty() || r.chance(0.2) {
                r.pick(GENERIC_SUBJECTS).to_string()
            } else if r.chance(0.1) {
                // Wiki emphasis left over from the archive's source.
                format!("''{}''", names[r.below(names.len() as u64) as usize])
            } else {
                names[r.below(names.len() as u64) as usize].clone()
            }
        };
        let mut text = String::with_capacity(400);
        for s in 0..n_sent {
            if s > 0 {
                text.push_str(if n_sent == 3 && s == 2 && r.chance(0.25) {
                    "\n\n"
                } else {
                    " "
                });
            }
            let sentence = match r.below(12) {
                0 => format!(
                    "{} said in a [statement](https://example.com/{}/{}) that the {} would be *reviewed* within {} days.",
                    name(&mut r),
                    r.pick(SECTIONS),
                    r.range(100_000, 999_999),
                    r.pick(EVENT_NOUNS),
                    r.range(2, 90)
                ),
                1 => format!(
                    "The announcement follows weeks of **rising tension** over {}.",
                    r.pick(ISSUES)
                ),
                2 => format!(
                    "Local media reported that at least {} people were taken to hospital.",
                    r.range(2, 300)
                ),
                3 => format!(
                    "Critics described the decision as “{}”, while supporters called it **long overdue**.",
                    r.pick(ADJECTIVES_CRITIC)
                ),
                4 => format!(
                    "Officials said the government’s response to the {} had been *{}*.",
                    r.pick(EVENT_NOUNS),
                    r.pick(ADJECTIVES_CRITIC)
                ),
                5 => format!(
                    "The programme is expected to cost about ${}.{} billion over {} years.",
                    r.range(1, 90),
                    r.below(10),
                    r.range(2, 12)
                ),
                6 => format!(
                    "{} reports that talks on {} could resume as early as next week.",
                    r.pick(PUBLISHERS).0,
                    r.pick(ISSUES)
                ),
                7 => format!(
                    "Company initially blamed human error for the account’s {}-minute outage but then revealed it was sabotaged by a rogue worker",
                    r.range(2, 90)
                ),
                8 => format!(
                    "It is the {} such incident involving {} this year.",
                    r.pick(&["second", "third", "fourth", "fifth"]),
                    subject_lower(&name(&mut r))
                ),
                9 => format!(
                    "According to [{}](https://example.com/reports/{}), the number of {} has **doubled** since {}.",
                    r.pick(&["a UN report", "official figures", "a leaked memo", "the census office"]),
                    r.range(1000, 99_999),
                    r.pick(&["displaced people", "arrests", "reported cases", "complaints"]),
                    r.range(1990, 2015)
                ),
                10 => format!(
                    "{} called for *calm* and urged both sides to return to negotiations.",
                    name(&mut r)
                ),
                _ => format!(
                    "The move is seen as a test for {}, whose {} has faced mounting criticism.",
                    subject_lower(&name(&mut r)),
                    r.pick(&["leadership", "coalition", "board", "strategy"])
                ),
            };
            text.push_str(&sentence);
        }
        if r.chance(0.05) {
            // Mojibake, as in the seed: UTF-8 read as Windows-1252.
            text = text.replace('’', "â€™").replace('é', "Ã©");
        }
        out.push_str(&text);
    }

    fn sources(&self, out: &mut String, i: u64, date: NaiveDate, slug: &str) {
        let mut r = Rng(hash3(self.salt, TAG_SOURCES, i));
        let cover = r.chance(0.85);
        let mut n_pub = 1 + r.weighted(&[35, 30, 18, 10, 5, 2]);
        if cover {
            n_pub = n_pub.min(5);
        }
        let mut chosen: Vec<usize> = Vec::with_capacity(n_pub);
        while chosen.len() < n_pub {
            let p = r.below(PUBLISHERS.len() as u64) as usize;
            if !chosen.contains(&p) {
                chosen.push(p);
            }
        }
        let words: String = slug.split('-').take(8).collect::<Vec<_>>().join("-");
        let mut lines: Vec<String> = chosen
            .iter()
            .map(|&p| {
                let (name, domain) = PUBLISHERS[p];
                let mut url = format!(
                    "https://www.{domain}/{}/{}/{}/{:02}/{words}",
                    r.pick(SECTIONS),
                    date.year(),
                    MONTHS[date.month0() as usize],
                    date.day()
                );
                if r.chance(0.1) {
                    url.push_str("?utm_source=feed&amp;utm_medium=rss");
                }
                format!("1. [{name}]({url})")
            })
            .collect();
        if cover {
            let line = format!(
                "1. [Cover Image](https://img.example/media/{:016x}{:016x}/{}_{}_{}_{}/master/{}.jpg?w=1200&amp;h=630&amp;q=55&amp;auto=format&amp;fit=crop&amp;s={:016x})",
                r.next(),
                r.next(),
                r.below(400),
                r.below(400),
                r.range(1000, 6000),
                r.range(800, 4000),
                r.range(1000, 6000),
                r.next()
            );
            let at = if r.chance(0.8) {
                lines.len()
            } else {
                r.below(lines.len() as u64 + 1) as usize
            };
            lines.insert(at, line);
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
}

/// Does the headline put `place` inside its first 140 characters, and is it
/// either ASCII or at most 140 bytes long (so that cutting at 140 characters
/// or 140 bytes gives the same slug)?
fn fits(h: &str, place: &str) -> bool {
    let head: String = h.chars().take(140).collect();
    head.find(place)
        .is_some_and(|p| p + place.len() <= head.len())
        && (h.is_ascii() || h.len() <= 140)
}

/// "The central bank" -> "the central bank" after "In X, ".
fn subject_lower(s: &str) -> String {
    for article in ["The ", "A ", "An "] {
        if let Some(rest) = s.strip_prefix(article) {
            return format!("{}{rest}", article.to_lowercase());
        }
    }
    s.to_string()
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Size classes of windowed contexts for a corpus of `n` events: class `k`
/// holds contexts of about `2^k` events; the number of contexts per class
/// follows `2^(-k alpha)`, `alpha` solved so that the corpus has the target
/// number of distinct contexts.
fn design_classes(n: u64, salt: u64) -> Vec<Class> {
    let n = n.max(1000) as f64;
    let target = if n >= 20_000.0 {
        (n / 4.0).clamp(5_000.0, 50_000.0)
    } else {
        n / 4.0
    };
    let mut kmax = 0i32;
    while kmax < 20 && 2f64.powi(kmax + 5) <= n {
        kmax += 1;
    }
    let sizes: Vec<f64> = (0..=kmax).map(|k| 2f64.powi(k)).collect();
    // A window of mean 2^k events is empty with probability ~e^-(2^k).
    let ratio = |alpha: f64| {
        let (mut mass, mut seen) = (0.0, 0.0);
        for &s in &sizes {
            let w = s.powf(-alpha);
            mass += w * s;
            seen += w * (1.0 - (-s).exp());
        }
        mass / seen
    };
    // Windows cut by the corpus' ends and merged names lose ~15%.
    let want = WINDOWED_PER_EVENT * n / (target * 1.15);
    let (mut lo, mut hi) = (-4.0f64, 8.0f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if ratio(mid) > want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let alpha = (lo + hi) / 2.0;
    let mass: f64 = sizes.iter().map(|&s| s.powf(-alpha) * s).sum();
    let scale = WINDOWED_PER_EVENT * n / mass;
    sizes
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let w = (s / RHO) as u64;
            let contexts = scale * s.powf(-alpha);
            let slots_f = contexts * w as f64 / n;
            let slots = slots_f.ceil().max(1.0) as usize;
            Class {
                w,
                offsets: (0..slots)
                    .map(|m| hash3(salt, TAG_OFFSET, ((k as u64) << 32) | m as u64) % w)
                    .collect(),
                exist_thr: threshold(slots_f / slots as f64),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Word lists.

/// Global contexts, most popular first: (name, kind, role in headlines).
const GLOBALS: &[(&str, Kind, &str)] = &[
    ("United States", Kind::Country, ""),
    ("Donald Trump", Kind::Person, "U.S. President"),
    ("China", Kind::Country, ""),
    ("Russia", Kind::Country, ""),
    ("United Kingdom", Kind::Country, ""),
    ("European Union", Kind::Org, ""),
    ("Twitter", Kind::Org, ""),
    ("United Nations", Kind::Org, ""),
    ("Israeli–Palestinian conflict", Kind::Topic, ""),
    ("COVID-19 pandemic", Kind::Topic, ""),
    ("India", Kind::Country, ""),
    ("France", Kind::Country, ""),
    ("Germany", Kind::Country, ""),
    ("Japan", Kind::Country, ""),
    ("2017 North Korea crisis", Kind::Topic, ""),
    ("Climate change", Kind::Topic, ""),
    ("Syrian civil war", Kind::Topic, ""),
    ("Brazil", Kind::Country, ""),
    ("Iran", Kind::Country, ""),
    ("Angela Merkel", Kind::Person, "German Chancellor"),
    ("Vladimir Putin", Kind::Person, "Russian President"),
    ("Elon Musk", Kind::Person, "Businessman"),
    ("Facebook", Kind::Org, ""),
    ("Google", Kind::Org, ""),
    ("Apple Inc.", Kind::Org, ""),
    ("NATO", Kind::Org, ""),
    ("Pope Francis", Kind::Person, ""),
    ("Ukraine", Kind::Country, ""),
    ("Mexico", Kind::Country, ""),
    ("Nigeria", Kind::Country, ""),
    ("Australia", Kind::Country, ""),
    ("Canada", Kind::Country, ""),
    ("Zürich", Kind::Country, ""),
    ("東京", Kind::Country, ""),
    ("C++", Kind::Other, ""),
    ("Café", Kind::Other, ""),
    ("Cafe", Kind::Other, ""),
    ("São Paulo", Kind::Country, ""),
    ("القاهرة", Kind::Country, ""),
    ("ירושלים", Kind::Country, ""),
    ("Earth Hour 🌍", Kind::Other, ""),
    ("AT&T", Kind::Org, ""),
    ("AC/DC", Kind::Other, ""),
    ("C#", Kind::Other, ""),
    ("Zurich", Kind::Country, ""),
    ("Москва", Kind::Country, ""),
    ("서울", Kind::Country, ""),
    ("Αθήνα", Kind::Country, ""),
    ("Kraków", Kind::Country, ""),
    ("Reykjavík", Kind::Country, ""),
    ("Sri Lanka", Kind::Country, ""),
    ("Côte d'Ivoire", Kind::Country, ""),
    ("Federal Reserve", Kind::Org, ""),
    ("International Space Station", Kind::Topic, ""),
    ("FIFA World Cup", Kind::Topic, ""),
    ("Olympic Games", Kind::Topic, ""),
    ("Wikipedia", Kind::Org, ""),
    ("#MeToo movement", Kind::Topic, ""),
    ("Beyoncé", Kind::Person, "Singer"),
    ("Jacinda Ardern", Kind::Person, "New Zealand Prime Minister"),
];

/// Places with distinct slugs, used as the per-day distinct headline place.
const PLACES_ASCII: &[&str] = &[
    "Lagos",
    "Nairobi",
    "Lyon",
    "Karachi",
    "Dhaka",
    "Manila",
    "Jakarta",
    "Lima",
    "Bogota",
    "Santiago",
    "Quito",
    "Caracas",
    "Havana",
    "Kingston",
    "Dakar",
    "Accra",
    "Abuja",
    "Kano",
    "Kampala",
    "Kigali",
    "Addis Ababa",
    "Khartoum",
    "Tripoli",
    "Tunis",
    "Algiers",
    "Rabat",
    "Casablanca",
    "Marseille",
    "Toulouse",
    "Bordeaux",
    "Hamburg",
    "Munich",
    "Cologne",
    "Frankfurt",
    "Vienna",
    "Prague",
    "Budapest",
    "Warsaw",
    "Gdansk",
    "Vilnius",
    "Riga",
    "Tallinn",
    "Helsinki",
    "Stockholm",
    "Oslo",
    "Copenhagen",
    "Amsterdam",
    "Rotterdam",
    "Brussels",
    "Antwerp",
    "Dublin",
    "Belfast",
    "Glasgow",
    "Edinburgh",
    "Manchester",
    "Liverpool",
    "Birmingham",
    "Bristol",
    "Cardiff",
    "Madrid",
    "Barcelona",
    "Valencia",
    "Seville",
    "Lisbon",
    "Porto",
    "Rome",
    "Milan",
    "Naples",
    "Turin",
    "Athens",
    "Istanbul",
    "Ankara",
    "Izmir",
    "Beirut",
    "Damascus",
    "Amman",
    "Baghdad",
    "Basra",
    "Tehran",
    "Kabul",
    "Islamabad",
    "Lahore",
    "Delhi",
    "Mumbai",
    "Kolkata",
    "Chennai",
    "Bangalore",
    "Kathmandu",
    "Colombo",
    "Yangon",
    "Bangkok",
    "Hanoi",
    "Ho Chi Minh City",
    "Phnom Penh",
    "Kuala Lumpur",
    "Singapore",
    "Hong Kong",
    "Taipei",
    "Shanghai",
    "Beijing",
    "Wuhan",
    "Chengdu",
    "Seoul",
    "Busan",
    "Osaka",
    "Sapporo",
    "Sydney",
    "Melbourne",
    "Brisbane",
    "Perth",
    "Auckland",
    "Wellington",
    "Honolulu",
    "Anchorage",
    "Vancouver",
    "Toronto",
    "Montreal",
    "Ottawa",
    "Chicago",
    "Detroit",
    "Houston",
    "Dallas",
    "Austin",
    "Phoenix",
    "Denver",
    "Seattle",
    "Portland",
    "San Francisco",
    "Los Angeles",
    "San Diego",
    "Las Vegas",
    "Miami",
    "Atlanta",
    "Boston",
    "Philadelphia",
    "New York City",
    "Washington",
    "Baltimore",
    "New Orleans",
    "Mexico City",
    "Guadalajara",
    "Monterrey",
    "Buenos Aires",
    "Montevideo",
    "Asuncion",
    "La Paz",
    "Rio de Janeiro",
    "Recife",
    "Johannesburg",
    "Cape Town",
    "Durban",
    "Harare",
    "Lusaka",
    "Maputo",
    "Luanda",
    "Kinshasa",
    "Mogadishu",
    "Dar es Salaam",
    "Kyiv",
    "Kharkiv",
    "Odesa",
    "Minsk",
    "Tbilisi",
    "Yerevan",
    "Baku",
    "Almaty",
    "Tashkent",
    "Ulaanbaatar",
    "Vladivostok",
    "Novosibirsk",
    "Saint Petersburg",
];

const PLACES_UNICODE: &[&str] = &[
    "Zürich",
    "São Paulo",
    "Kraków",
    "Reykjavík",
    "Düsseldorf",
    "Malmö",
    "Bogotá",
    "Medellín",
    "Córdoba",
    "Gdańsk",
    "Łódź",
    "Brașov",
    "Tromsø",
    "Curaçao",
    "Nouméa",
    "東京",
    "北京",
    "서울",
    "القاهرة",
    "ירושלים",
    "Москва",
    "Αθήνα",
    "İzmir",
    "Île-de-France",
];

const PLACES_ALL: &[&str] = &[
    "Lagos",
    "Nairobi",
    "Karachi",
    "Manila",
    "Lima",
    "Caracas",
    "Accra",
    "Khartoum",
    "Marseille",
    "Hamburg",
    "Warsaw",
    "Stockholm",
    "Dublin",
    "Glasgow",
    "Madrid",
    "Lisbon",
    "Naples",
    "Athens",
    "Istanbul",
    "Beirut",
    "Baghdad",
    "Tehran",
    "Kabul",
    "Delhi",
    "Mumbai",
    "Colombo",
    "Bangkok",
    "Hanoi",
    "Jakarta",
    "Taipei",
    "Wuhan",
    "Osaka",
    "Sydney",
    "Auckland",
    "Toronto",
    "Chicago",
    "Houston",
    "Seattle",
    "Miami",
    "Boston",
    "Mexico City",
    "Buenos Aires",
    "Cape Town",
    "Harare",
    "Kinshasa",
    "Kyiv",
    "Tbilisi",
    "Almaty",
    "Kenya",
    "Ghana",
    "Chile",
    "Peru",
    "Nepal",
    "Sudan",
    "Haiti",
    "Fiji",
    "Mali",
    "Niger",
    "Chad",
    "Yemen",
    "Libya",
    "Iraq",
    "Bolivia",
    "Ecuador",
    "Venezuela",
    "Colombia",
    "Argentina",
    "Ethiopia",
    "Somalia",
    "Uganda",
    "Tanzania",
    "Zambia",
    "Zimbabwe",
    "Mozambique",
    "Angola",
    "Cameroon",
    "Senegal",
    "Morocco",
    "Algeria",
    "Tunisia",
    "Egypt",
    "Jordan",
    "Lebanon",
    "Turkey",
    "Greece",
    "Italy",
    "Spain",
    "Portugal",
    "Poland",
    "Hungary",
    "Romania",
    "Bulgaria",
    "Serbia",
    "Croatia",
    "Bosnia and Herzegovina",
    "Albania",
    "Moldova",
    "Belarus",
    "Georgia",
    "Armenia",
    "Azerbaijan",
    "Kazakhstan",
    "Mongolia",
    "Pakistan",
    "Bangladesh",
    "Myanmar",
    "Thailand",
    "Vietnam",
    "Cambodia",
    "Malaysia",
    "Indonesia",
    "Philippines",
    "South Korea",
    "North Korea",
    "Taiwan",
    "New Zealand",
    "Papua New Guinea",
    "Samoa",
    "Iceland",
    "Norway",
    "Finland",
    "Denmark",
    "Ireland",
    "Scotland",
    "Wales",
    "Belgium",
    "Netherlands",
    "Switzerland",
    "Austria",
    "Czech Republic",
    "Slovakia",
    "Cuba",
    "Jamaica",
    "Honduras",
    "Guatemala",
    "Nicaragua",
    "Panama",
    "Paraguay",
    "Uruguay",
    "California",
    "Texas",
    "Florida",
    "Ohio",
    "Quebec",
    "Ontario",
    "Bavaria",
    "Catalonia",
    "Kashmir",
    "Punjab",
    "Sichuan",
    "Hokkaido",
    "Mindanao",
    "Zürich",
    "São Paulo",
    "Kraków",
    "Reykjavík",
    "Düsseldorf",
    "Malmö",
    "Bogotá",
    "Gdańsk",
    "Łódź",
    "Curaçao",
    "東京",
    "北京",
    "서울",
    "القاهرة",
    "ירושלים",
    "Москва",
    "Αθήνα",
    "Île-de-France",
];

const COUNTRIES: &[&str] = &[
    "France",
    "Germany",
    "Japan",
    "India",
    "Brazil",
    "Mexico",
    "Canada",
    "Australia",
    "South Africa",
    "Nigeria",
    "Kenya",
    "Egypt",
    "Turkey",
    "Iran",
    "Saudi Arabia",
    "Indonesia",
    "Pakistan",
    "Argentina",
    "Chile",
    "Poland",
    "Italy",
    "Spain",
    "Sweden",
    "Norway",
    "Vietnam",
    "Thailand",
    "South Korea",
    "Israel",
    "Qatar",
    "Ukraine",
];

const EVENT_NOUNS: &[&str] = &[
    "floods",
    "earthquake",
    "wildfires",
    "heat wave",
    "protests",
    "riots",
    "general strike",
    "election",
    "referendum",
    "coup attempt",
    "constitutional crisis",
    "bombing",
    "train derailment",
    "ferry disaster",
    "mine collapse",
    "cholera outbreak",
    "measles outbreak",
    "drought",
    "famine",
    "cyclone",
    "landslide",
    "volcanic eruption",
    "hostage crisis",
    "prison riot",
    "stadium disaster",
    "bridge collapse",
    "blackout",
    "fuel shortage",
    "banking crisis",
    "debt crisis",
    "corruption scandal",
    "spy scandal",
    "doping scandal",
    "data breach",
    "cyberattack",
    "oil spill",
    "chemical leak",
    "teachers' strike",
    "doctors' strike",
    "farmers' protests",
    "student protests",
    "border clashes",
    "ceasefire",
    "peace talks",
    "hunger strike",
    "mass shooting",
    "stampede",
    "heat dome",
    "snowstorm",
    "tornado outbreak",
];

const ADJECTIVES: &[&str] = &[
    "political",
    "economic",
    "diplomatic",
    "humanitarian",
    "financial",
    "electoral",
    "constitutional",
    "migrant",
    "energy",
    "housing",
    "pension",
    "budget",
    "judicial",
    "military",
    "security",
    "health",
    "food",
    "water",
    "environmental",
    "nuclear",
    "anti-government",
    "pro-democracy",
    "anti-austerity",
    "nationwide",
    "regional",
];

const ADJECTIVES_CRITIC: &[&str] = &[
    "reckless",
    "unprecedented",
    "deeply irresponsible",
    "long overdue",
    "a betrayal",
    "premature",
    "unconstitutional",
    "a step in the right direction",
    "inadequate",
    "chaotic",
    "disproportionate",
    "historic",
    "cynical",
    "naïve",
    "courageous",
];

/// Nouns that go with every entry of ADJECTIVES.
const ADJ_NOUNS: &[&str] = &[
    "crisis", "protests", "reform", "scandal", "strike", "summit",
];

const TOPICS: &[&str] = &[
    "data protection",
    "pension reform",
    "labour law",
    "tax reform",
    "minimum wage",
    "abortion rights",
    "same-sex marriage",
    "gun control",
    "drug policy",
    "immigration",
    "net neutrality",
    "copyright",
    "press freedom",
    "electoral reform",
    "police reform",
    "land reform",
    "education reform",
    "healthcare",
    "housing",
    "water privatisation",
    "fracking",
    "nuclear power",
    "coal mining",
    "deforestation",
    "fishing quotas",
    "online safety",
    "artificial intelligence",
    "cryptocurrency",
    "surveillance",
    "anti-corruption",
    "whistleblower protection",
    "judicial independence",
    "language rights",
    "citizenship",
    "public broadcasting",
    "rail nationalisation",
];

const LAW_KINDS: &[&str] = &[
    "bill",
    "act",
    "referendum",
    "inquiry",
    "protests",
    "scandal",
    "debate",
    "lawsuit",
    "ruling",
    "reform",
    "consultation",
    "campaign",
    "strike",
    "commission",
    "ballot measure",
];

const SECTORS: &[&str] = &[
    "aviation",
    "agriculture",
    "tourism",
    "education",
    "public health",
    "sport",
    "music",
    "the film industry",
    "shipping",
    "retail",
    "mining",
    "fisheries",
    "banking",
];

const PERSON_EVENTS: &[&str] = &[
    "impeachment inquiry",
    "health scare",
    "tax controversy",
    "state visit",
    "book tour",
    "press conference",
    "court appearance",
    "cabinet reshuffle",
    "peace initiative",
    "leadership challenge",
    "interview controversy",
];

const SPEECHES: &[&str] = &[
    "speech",
    "remarks",
    "interview",
    "address to parliament",
    "tweets",
];

const ORG_EVENTS: &[&str] = &[
    "outage",
    "data breach",
    "antitrust case",
    "layoffs",
    "strike",
    "shareholder revolt",
    "acquisition",
    "recall",
    "boycott",
    "privacy fine",
    "merger",
    "bankruptcy",
    "accounting scandal",
];

const FIRST_NAMES: &[&str] = &[
    "John",
    "Mary",
    "James",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Ahmed",
    "Fatima",
    "Mohammed",
    "Aisha",
    "Omar",
    "Leila",
    "Hassan",
    "Yasmin",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Kenji",
    "Sakura",
    "Min-jun",
    "Ji-woo",
    "Raj",
    "Priya",
    "Arjun",
    "Ananya",
    "Carlos",
    "María",
    "José",
    "Lucía",
    "Juan",
    "Sofía",
    "Luis",
    "Camila",
    "Pedro",
    "Ana",
    "João",
    "Beatriz",
    "Pierre",
    "Amélie",
    "François",
    "Chloé",
    "Hans",
    "Jürgen",
    "Ingrid",
    "Søren",
    "Åsa",
    "Björn",
    "Olga",
    "Dmitri",
    "Natalia",
    "Sergei",
    "Agnieszka",
    "Łukasz",
    "Zoë",
    "Renée",
    "Chidi",
    "Ngozi",
    "Kwame",
    "Ama",
    "Tendai",
    "Thabo",
    "Naledi",
    "Kofi",
    "Abebe",
    "Selam",
    "Giulia",
    "Marco",
    "Francesca",
    "Luca",
    "Eleni",
    "Nikos",
    "Ayşe",
    "Mehmet",
    "Noa",
    "Yosef",
    "Tamar",
    "Avi",
    "Siobhán",
    "Seán",
    "Oisín",
    "Aoife",
    "Kalani",
    "Mahina",
    "Tariq",
    "Zainab",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Nguyễn",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Khan",
    "Ali",
    "Hussain",
    "Rahman",
    "Chowdhury",
    "Patel",
    "Sharma",
    "Singh",
    "Gupta",
    "Iyer",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Kim",
    "Park",
    "Choi",
    "Jung",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Girard",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "Costa",
    "Fernández",
    "González",
    "Rodríguez",
    "Ivanov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Petrov",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Novák",
    "Horváth",
    "Nagy",
    "Papadopoulos",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Cohen",
    "Levi",
    "Mizrahi",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Boateng",
    "Mwangi",
    "Otieno",
    "Dlamini",
    "Nkosi",
    "Haile",
    "Tesfaye",
    "O'Brien",
    "O'Connor",
    "Murphy",
    "Kelly",
    "Ó Súilleabháin",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nielsen",
    "Hansen",
    "Jensen",
    "Virtanen",
    "Korhonen",
    "de Jong",
    "van Dijk",
    "Janssens",
    "Peeters",
];

const ROLES: &[&str] = &[
    "Prime Minister",
    "President",
    "Opposition leader",
    "Senator",
    "Activist",
    "Singer",
    "Former Foreign Minister",
    "Businessman",
    "Footballer",
    "Author",
    "Governor",
    "Mayor",
    "Chief Justice",
    "Finance Minister",
    "Archbishop",
    "",
];

const ORG_PREFIXES: &[&str] = &[
    "National",
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Pacific",
    "Atlantic",
    "Global",
    "United",
    "Royal",
    "Federal",
    "Central",
    "Continental",
    "Metropolitan",
    "Independent",
    "People's",
    "Democratic",
    "Progressive",
    "Allied",
    "First",
    "New",
    "Great Lakes",
    "Coastal",
    "Highland",
    "Sahel",
    "Baltic",
    "Andean",
    "Nordic",
    "Mekong",
    "Danube",
];

const ORG_CORES: &[&str] = &[
    "Mining",
    "Rail",
    "Airways",
    "Health",
    "Energy",
    "Oil",
    "Gas",
    "Telecom",
    "Steel",
    "Shipping",
    "Insurance",
    "Media",
    "Broadcasting",
    "Farmers",
    "Teachers",
    "Nurses",
    "Workers",
    "Students",
    "Lawyers",
    "Fisheries",
    "Water",
    "Power",
    "Motor",
    "Textile",
    "Pharmaceutical",
    "Software",
    "Semiconductor",
    "Savings",
    "Credit",
    "Housing",
    "Football",
    "Cricket",
    "Film",
    "Wildlife",
    "Rescue",
    "Space",
    "Tobacco",
    "Sugar",
    "Coffee",
    "Cocoa",
];

const ORG_SUFFIXES: &[&str] = &[
    "Corporation",
    "Company",
    "Group",
    "Holdings",
    "Union",
    "Federation",
    "Association",
    "Alliance",
    "Party",
    "Front",
    "Movement",
    "Authority",
    "Agency",
    "Commission",
    "Council",
    "Institute",
    "Foundation",
    "Bank",
    "League",
    "Network",
    "Coalition",
    "Cooperative",
    "Trust",
    "Board",
    "Consortium",
];

const GENERIC_SUBJECTS: &[&str] = &[
    "The central bank",
    "A federal court",
    "The health ministry",
    "The national electoral commission",
    "A coalition of aid groups",
    "The army",
    "The opposition",
    "The interior ministry",
    "A parliamentary committee",
    "The World Health Organization",
    "The Supreme Court",
    "The ruling party",
    "A rebel group",
    "The coast guard",
    "The energy regulator",
    "The transport ministry",
    "The prime minister's office",
    "A consortium of banks",
    "The foreign ministry",
    "The state broadcaster",
];

const VERBS: &[&str] = &[
    "announces",
    "unveils",
    "suspends",
    "rejects",
    "approves",
    "postpones",
    "cancels",
    "launches",
    "defends",
    "criticises",
    "signs",
    "withdraws",
    "confirms",
    "denies",
    "orders",
    "investigates",
    "bans",
    "lifts",
    "extends",
    "proposes",
];

const OBJECTS: &[&str] = &[
    "a new austerity package",
    "plans for a high-speed railway",
    "the state of emergency",
    "a controversial surveillance law",
    "a deal with striking workers",
    "the sale of the national airline",
    "new restrictions on foreign media",
    "an investigation into the election results",
    "a ban on single-use plastics",
    "a curfew",
    "a $2 billion aid package",
    "the extradition of a former minister",
    "peace talks with rebel groups",
    "the closure of coal power plants",
    "a nationwide vaccination campaign",
    "new tariffs on steel imports",
    "the construction of a new dam",
    "emergency funding for flood victims",
    "a referendum on independence",
    "the dismissal of the police chief",
    "its nuclear programme",
    "a review of the tax system",
    "a new constitution",
    "the recognition of same-sex unions",
    "a minimum wage increase",
];

const INCIDENTS: &[&str] = &[
    "when a bus collides with a train near",
    "in a fire at a market in",
    "in a suicide bombing at a checkpoint in",
    "when a building collapses in",
    "in clashes between police and protesters in",
    "when a ferry capsizes off",
    "in an explosion at a chemical plant near",
    "in a stampede at a stadium in",
    "when a gunman opens fire at a school in",
    "in a landslide that buries a village near",
];

const GRIEVANCES: &[&str] = &[
    "rising fuel prices",
    "corruption",
    "a new labour law",
    "police brutality",
    "the postponement of elections",
    "water shortages",
    "the government's handling of the economy",
    "tuition fees",
    "a proposed pension reform",
    "the arrest of an opposition leader",
    "electricity cuts",
    "a controversial mining project",
];

const ELECTIONS: &[&str] = &[
    "presidential election",
    "mayoral election",
    "parliamentary election",
    "party leadership contest",
    "runoff election",
    "gubernatorial election",
];

const CRIMES: &[&str] = &[
    "fraud",
    "money laundering",
    "planning a terrorist attack",
    "arms smuggling",
    "human trafficking",
    "election rigging",
    "bribery",
    "cybercrime",
    "drug trafficking",
    "kidnapping",
    "poaching",
    "tax evasion",
];

const DISASTERS: &[&str] = &[
    "days of heavy flooding",
    "a powerful earthquake",
    "wildfires destroy hundreds of homes",
    "a cholera outbreak",
    "a cyclone makes landfall",
    "a chemical spill contaminates the water supply",
    "a dam bursts",
    "a week of deadly riots",
    "a volcanic eruption",
    "record temperatures",
];

const ISSUES: &[&str] = &[
    "trade",
    "climate change",
    "border security",
    "refugees",
    "energy supplies",
    "nuclear disarmament",
    "the war in the region",
    "fishing rights",
    "debt relief",
    "cybersecurity",
    "water rights",
    "the release of prisoners",
    "vaccine supplies",
];

const DISCOVERIES: &[&str] = &[
    "the discovery of a new species of frog",
    "a breakthrough in battery technology",
    "evidence of water on a distant exoplanet",
    "the oldest known cave paintings",
    "a new treatment for malaria",
    "the remains of a Roman shipwreck",
    "a rare total solar eclipse visible across the region",
    "a previously unknown comet",
];

const SPOKESPEOPLE: &[&str] = &[
    "The company",
    "The ministry",
    "The White House",
    "The army",
    "The United Nations",
    "A government spokesperson",
    "The airline",
    "The football federation",
    "The police",
];

const QUOTES: &[&str] = &[
    "taking steps to prevent this from happening again",
    "deeply concerned about the situation",
    "monitoring the situation closely",
    "cooperating fully with the authorities",
    "committed to a peaceful solution",
    "reviewing all available options",
    "shocked and saddened by the news",
];

const REACTIONS: &[&str] = &[
    "The United Nations calls for restraint",
    "The opposition calls for the resignation of the interior minister",
    "Markets fall sharply on the news",
    "The European Union condemns the decision",
    "Human rights groups call for an independent investigation",
    "Neighbouring countries close their borders",
    "The government declares three days of national mourning",
];

const PUBLISHERS: &[(&str, &str)] = &[
    ("The Guardian", "theguardian.example"),
    ("BBC News", "bbc.example"),
    ("Reuters", "reuters.example"),
    ("Associated Press", "apnews.example"),
    ("Al Jazeera", "aljazeera.example"),
    ("The New York Times", "nytimes.example"),
    ("The Washington Post", "washingtonpost.example"),
    ("CNN", "cnn.example"),
    ("NPR", "npr.example"),
    ("Deutsche Welle", "dw.example"),
    ("France 24", "france24.example"),
    ("Le Monde", "lemonde.example"),
    ("Süddeutsche Zeitung", "sueddeutsche.example"),
    ("El País", "elpais.example"),
    ("朝日新聞", "asahi.example"),
    ("NHK World", "nhk.example"),
    ("The Hindu", "thehindu.example"),
    ("South China Morning Post", "scmp.example"),
    ("The Japan Times", "japantimes.example"),
    ("ABC News (Australia)", "abc.example"),
    ("Folha de S.Paulo", "folha.example"),
    ("Der Spiegel", "spiegel.example"),
    ("Corriere della Sera", "corriere.example"),
    ("The Times of India", "timesofindia.example"),
    ("Kyiv Independent", "kyivindependent.example"),
    ("Daily Maverick", "dailymaverick.example"),
    ("The Globe and Mail", "theglobeandmail.example"),
    ("Bloomberg", "bloomberg.example"),
    ("Financial Times", "ft.example"),
    ("Politico", "politico.example"),
    ("The Independent", "independent.example"),
    ("Sky News", "news.sky.example"),
    ("Euronews", "euronews.example"),
    ("Xinhua", "xinhuanet.example"),
    ("Yonhap", "yna.example"),
    ("Anadolu Agency", "aa.example"),
    ("The Times of Israel", "timesofisrael.example"),
    ("הארץ", "haaretz.example"),
    ("الجزيرة", "aljazeera-arabic.example"),
    ("Premium Times", "premiumtimesng.example"),
];

const SECTIONS: &[&str] = &[
    "world",
    "politics",
    "business",
    "science",
    "technology",
    "sport",
    "environment",
    "us-news",
    "uk-news",
    "asia",
    "africa",
    "europe",
    "americas",
    "middle-east",
    "health",
];

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_matches_the_seed_links() {
        assert_eq!(
            slug("U.S. President Donald Trump tweets that transgender Americans will not be allowed to serve \"in any capacity\" in the United States Armed Forces. "),
            "u-s-president-donald-trump-tweets-that-transgender-americans-will-not-be-allowed-to-serve-in-any-capacity-in-the-united-states-armed-forc"
        );
        assert_eq!(
            slug("Refuse Fascism holds protests against U.S. President Donald Trump in several major cities, including New York City, Chicago, and San Francisco. "),
            "refuse-fascism-holds-protests-against-u-s-president-donald-trump-in-several-major-cities-including-new-york-city-chicago-and-san-francis"
        );
        assert_eq!(
            slug("U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis. "),
            "u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis"
        );
        assert_eq!(slug("  --Zürich: C++ & 東京!! "), "z-rich-c");
        assert_eq!(slug("東京"), "");
    }

    #[test]
    fn places_have_distinct_slugs() {
        let mut s: Vec<String> = PLACES_ASCII.iter().map(|p| slug(p)).collect();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), PLACES_ASCII.len());
        assert!(PLACES_ASCII.len() > 40);
    }

    #[test]
    fn events_are_deterministic() {
        let a = Generator::new(&CorpusOptions::new(5000, 7));
        let b = Generator::new(&CorpusOptions::new(5000, 7));
        let c = Generator::new(&CorpusOptions::new(5000, 8));
        for i in [0, 1, 17, 999, 4999, 5000, 7777] {
            assert_eq!(a.event(i), b.event(i));
            assert_ne!(a.event(i).text, c.event(i).text);
        }
    }

    #[test]
    fn event_format_and_links() {
        let g = Generator::new(&CorpusOptions::new(3000, 1));
        let mut with_related = 0;
        for i in 0..3000 {
            let ev = g.event(i);
            let lines: Vec<&str> = ev.text.lines().collect();
            let d = ev.date;
            let day = format!(
                "### [{}-{:02}-{}](/news/{}/{:02}/{}/index.md)",
                d.year(),
                d.month(),
                d.day(),
                d.year(),
                d.month(),
                d.day()
            );
            let at = lines.iter().position(|l| *l == day).expect("day heading");
            assert!(at <= 6, "{}", ev.text);
            let headline = lines[at..]
                .iter()
                .find(|l| l.starts_with("# ") || l.starts_with("#  "))
                .expect("headline");
            assert_eq!(
                headline.trim_start_matches('#').trim_start(),
                format!("{} ", ev.headline)
            );
            assert!(ev.path.starts_with(&format!(
                "news/{}/{:02}/{}/",
                d.year(),
                d.month(),
                d.day()
            )));
            assert!(ev.text.ends_with('\n'));
            assert!(!ev.slug.is_empty() && ev.slug.len() <= 140);
            let words = ev.headline.split_whitespace().count();
            assert!((8..=30).contains(&words), "{words} words: {}", ev.headline);
            assert_eq!(ev.related.is_empty(), ev.contexts.is_empty());
            assert_eq!(ev.related.is_empty(), !ev.text.contains("### Related:"));
            for &j in &ev.related {
                assert!(j < i);
                let rel = g.event(j);
                let link_tail = format!("/{}/{}.md)", rel.date.day(), rel.slug);
                let line = lines
                    .iter()
                    .find(|l| l.contains(&format!("[{} ](", rel.headline)))
                    .expect("related line");
                assert!(line.contains(&link_tail), "{line}");
                assert!(line.contains(" _Context: "));
            }
            if !ev.related.is_empty() {
                with_related += 1;
            }
        }
        assert!(with_related > 2500, "{with_related}");
    }

    #[test]
    fn headlines_unique_per_day() {
        let g = Generator::new(&CorpusOptions::new(20_000, 3));
        for d in 0..g.day_of(19_999) {
            let mut slugs: Vec<String> = g.day_events(d).map(|i| g.event(i).slug).collect();
            let n = slugs.len();
            slugs.sort();
            slugs.dedup();
            assert_eq!(slugs.len(), n, "day {d}");
        }
    }

    #[test]
    fn edit_keeps_headline_and_changes_summary() {
        let g = Generator::new(&CorpusOptions::new(1000, 1));
        for i in [3, 500, 1200] {
            let a = g.event(i);
            let b = g.edited_event(i, 1);
            assert_eq!(
                (&a.headline, &a.path, a.date),
                (&b.headline, &b.path, b.date)
            );
            assert_eq!(a.related, b.related);
            assert_ne!(a.text, b.text);
        }
    }

    #[test]
    fn generate_small_corpus() {
        let dir = tempfile::tempdir().unwrap();
        let stats = generate(&CorpusOptions::new(1000, 1), dir.path()).unwrap();
        assert_eq!(stats.events, 1000);
        let g = Generator::new(&CorpusOptions::new(1000, 1));
        let versions = (0..1000)
            .filter(|&i| g.event(i).old_version.is_some())
            .count() as u64;
        assert!((10..=60).contains(&versions), "{versions}");
        assert_eq!(stats.files, 1000 + versions + stats.days);
        assert!(stats.contexts > 50, "{}", stats.contexts);
        let ev = Generator::new(&CorpusOptions::new(1000, 1)).event(999);
        let text = std::fs::read_to_string(dir.path().join(&ev.path)).unwrap();
        assert_eq!(text, ev.text);
        assert!(generate(&CorpusOptions::new(1000, 1), dir.path()).is_err());
    }
}
