//! redb vs LMDB (heed) on eventfeed's storage workload. See README.md.
//!
//! `store-compare bench --n 100000 --reps 4` runs everything: each phase of each
//! store is a separate child process (so "reopen" really is a restart), stores
//! are interleaved A B C C B A across repetitions, and the medians are printed
//! as a markdown table. The child modes (`load`, `read`, `cold`, `batch`) can be
//! run by hand too; they print `metric value` lines.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- workload

/// splitmix64: tiny, seeded, deterministic.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn word(&mut self, out: &mut String) {
        let len = 2 + self.below(9) as usize;
        for _ in 0..len {
            out.push((b'a' + self.below(26) as u8) as char);
        }
    }
}

/// `news/2017/07/4/some-headline-slug.md`, 30–90 bytes.
fn event_key(i: usize) -> Vec<u8> {
    let mut r = Rng::new(0xE7E7 ^ (i as u64).wrapping_mul(0x1000_0001));
    let target = 30 + r.below(61) as usize; // 30..=90
    let mut s = format!(
        "news/{}/{:02}/{}/",
        2004 + r.below(23),
        1 + r.below(12),
        1 + r.below(28)
    );
    let base = s.len();
    while s.len() + 3 < target {
        if s.len() > base {
            s.push('-');
        }
        r.word(&mut s);
    }
    s.truncate(target - 3);
    if s.ends_with('-') {
        s.pop();
        s.push('x');
    }
    s.push_str(".md");
    s.into_bytes()
}

/// Body bytes: log-normal size, median ~1.9 kB, mean ~2.3 kB, clamped to 0.5–8 kB.
fn body(i: usize, version: u64, out: &mut Vec<u8>) {
    let mut r = Rng::new((i as u64) << 20 ^ version ^ 0xB0D1);
    let size = ((7.55 + 0.6 * r.normal()).exp() as usize).clamp(500, 8000);
    out.clear();
    out.reserve(size);
    while out.len() < size {
        let x = r.next();
        for b in x.to_le_bytes() {
            out.push(b' ' + (b % 94));
        }
    }
    out.truncate(size);
}

/// Per-file head: stamp + index fields, postcard-encoded (~150 bytes).
#[derive(Serialize, Deserialize, Debug)]
struct Head {
    mtime_ns: u64,
    len: u64,
    hash: u64,
    date: i64,
    weight: i32,
    draft: bool,
    category: String,
    tags: Vec<String>,
    sort_title: String,
    related: Vec<u32>,
}

fn head(i: usize, version: u64) -> Vec<u8> {
    let mut r = Rng::new((i as u64) << 8 ^ version ^ 0x4EAD);
    let mut word = |n: usize| {
        let mut s = String::new();
        for k in 0..n {
            if k > 0 {
                s.push(' ');
            }
            r.word(&mut s);
        }
        s
    };
    let category = word(1);
    let tags = vec![word(1), word(1), word(2)];
    let sort_title = word(9);
    let mut r = Rng::new(i as u64 ^ version);
    let h = Head {
        mtime_ns: 1_500_000_000_000_000_000 + r.below(1 << 58),
        len: 500 + r.below(8000),
        hash: r.next(),
        date: 1_100_000_000 + r.below(700_000_000) as i64,
        weight: r.below(100) as i32,
        draft: false,
        category,
        tags,
        sort_title,
        related: (0..4).map(|_| r.below(1 << 20) as u32).collect(),
    };
    postcard::to_allocvec(&h).unwrap()
}

/// Output manifest: `public/...` path -> 24-byte stamp. 1.13 entries per event.
fn manifest_len(n: usize) -> usize {
    n + n * 13 / 100
}
fn manifest_key(j: usize, n: usize) -> Vec<u8> {
    if j < n {
        let k = event_key(j);
        let stem = &k[..k.len() - 3];
        let mut p = b"public/".to_vec();
        p.extend_from_slice(stem);
        p.extend_from_slice(b"/index.html");
        p
    } else {
        let mut r = Rng::new(j as u64 ^ 0x3A3A);
        let mut s = String::from("public/tags/");
        r.word(&mut s);
        s.push('-');
        r.word(&mut s);
        let kind = ["feed.xml", "atom.xml", "feed.json"][r.below(3) as usize];
        format!("{s}/page-{}/{kind}", j).into_bytes()
    }
}
fn stamp(j: usize, version: u64) -> [u8; 24] {
    let mut r = Rng::new(j as u64 ^ version << 32 ^ 0x57A3);
    let mut s = [0u8; 24];
    for c in s.chunks_mut(8) {
        c.copy_from_slice(&r.next().to_le_bytes());
    }
    s
}

fn keys(n: usize) -> Vec<Vec<u8>> {
    let ks: Vec<Vec<u8>> = (0..n).map(event_key).collect();
    let uniq: HashSet<&[u8]> = ks.iter().map(|k| k.as_slice()).collect();
    assert_eq!(uniq.len(), n, "event keys must be unique");
    ks
}

// ---------------------------------------------------------------- helpers

fn rss() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let get = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (get("VmRSS:"), get("RssAnon:"), get("RssFile:") + get("RssShmem:"))
}
fn print_rss(tag: &str) {
    let (t, a, f) = rss();
    println!("rss_{tag}_mib {t}");
    println!("rssanon_{tag}_mib {a}");
    println!("rssfile_{tag}_mib {f}");
}

/// (apparent, allocated) bytes of a file or of all files in a directory.
fn disk_size(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(p).unwrap();
    if md.is_dir() {
        let mut t = (0, 0);
        for e in std::fs::read_dir(p).unwrap() {
            let (a, b) = disk_size(&e.unwrap().path());
            t.0 += a;
            t.1 += b;
        }
        t
    } else {
        (md.len(), md.blocks() * 512)
    }
}
fn print_size(tag: &str, p: &Path) {
    let (a, r) = disk_size(p);
    println!("size_{tag}_apparent_mib {:.1}", a as f64 / 1048576.0);
    println!("size_{tag}_real_mib {:.1}", r as f64 / 1048576.0);
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[idx]
}

const RENDERS: usize = 10_000;
const PER_RENDER: usize = 50;
const THREADS: usize = 2;
const BATCHES_TIMED: usize = 1000;
const BATCHES_GROWTH: usize = 10_000;
const MANIFEST_PER_BATCH: usize = 12;

// ---------------------------------------------------------------- the stores

#[derive(Clone, Copy, PartialEq, Debug)]
enum Cfg {
    Lmdb,
    Redb,
    Redb16,
}
impl Cfg {
    fn parse(s: &str) -> Cfg {
        match s {
            "lmdb" => Cfg::Lmdb,
            "redb" => Cfg::Redb,
            "redb16" => Cfg::Redb16,
            _ => panic!("config is lmdb, redb or redb16"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Cfg::Lmdb => "lmdb",
            Cfg::Redb => "redb",
            Cfg::Redb16 => "redb16",
        }
    }
}

/// What a feed render does with a body: touch it without copying.
fn touch(v: &[u8]) -> u64 {
    v.len() as u64 + v[0] as u64 + v[v.len() - 1] as u64
}

/// One daemon batch's contents.
struct Batch {
    key: Vec<u8>,
    body: Vec<u8>,
    head: Vec<u8>,
    manifest: Vec<(Vec<u8>, [u8; 24])>,
}
fn make_batch(n: usize, ks: &[Vec<u8>], seq: u64) -> Batch {
    let mut r = Rng::new(seq ^ 0xBA7C);
    let i = r.below(n as u64) as usize;
    let mut b = Vec::new();
    body(i, seq + 1, &mut b);
    let mut manifest = vec![(manifest_key(i, n), stamp(i, seq + 1))];
    for _ in 1..MANIFEST_PER_BATCH {
        let j = r.below(manifest_len(n) as u64) as usize;
        manifest.push((manifest_key(j, n), stamp(j, seq + 1)));
    }
    Batch {
        key: ks[i].clone(),
        body: b,
        head: head(i, seq + 1),
        manifest,
    }
}

mod redb_store {
    use super::*;
    use redb::{
        Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata,
        TableDefinition,
    };

    pub const BODIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bodies");
    pub const HEADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("heads");
    pub const MANIFEST: TableDefinition<&[u8], &[u8]> = TableDefinition::new("manifest");

    // Compile-time facts quoted in the README.
    const _: () = {
        const fn send_sync<T: Send + Sync>() {}
        send_sync::<Database>();
        send_sync::<redb::ReadTransaction>();
        send_sync::<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>();
        send_sync::<redb::AccessGuard<'static, &'static [u8]>>();
    };

    pub fn file(dir: &Path) -> PathBuf {
        dir.join("store.redb")
    }

    pub fn open(dir: &Path, cfg: Cfg, create: bool) -> Database {
        let mut b = Database::builder();
        if cfg == Cfg::Redb16 {
            b.set_cache_size(16 << 20);
        }
        if create {
            b.create(file(dir)).unwrap()
        } else {
            b.open(file(dir)).unwrap()
        }
    }

    pub fn load(dir: &Path, cfg: Cfg, n: usize, ks: &[Vec<u8>]) {
        let db = open(dir, cfg, true);
        let tx = db.begin_write().unwrap();
        {
            let mut bodies = tx.open_table(BODIES).unwrap();
            let mut heads = tx.open_table(HEADS).unwrap();
            let mut man = tx.open_table(MANIFEST).unwrap();
            let mut buf = Vec::new();
            for (i, k) in ks.iter().enumerate() {
                body(i, 0, &mut buf);
                bodies.insert(k.as_slice(), buf.as_slice()).unwrap();
                heads.insert(k.as_slice(), head(i, 0).as_slice()).unwrap();
            }
            for j in 0..manifest_len(n) {
                man.insert(manifest_key(j, n).as_slice(), stamp(j, 0).as_slice())
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    pub fn first_read(db: &Database, k: &[u8]) -> u64 {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(BODIES).unwrap();
        let v = t.get(k).unwrap().unwrap();
        touch(v.value())
    }

    pub fn iter_heads(db: &Database) -> u64 {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(HEADS).unwrap();
        let mut acc = 0u64;
        for e in t.iter().unwrap() {
            let (k, v) = e.unwrap();
            let h: Head = postcard::from_bytes(v.value()).unwrap();
            acc = acc.wrapping_add(h.mtime_ns ^ k.value().len() as u64);
        }
        acc
    }

    pub fn render(db: &Database, ks: &[&[u8]]) -> u64 {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(BODIES).unwrap();
        ks.iter()
            .map(|k| touch(t.get(*k).unwrap().unwrap().value()))
            .sum()
    }

    pub fn count(db: &Database) -> u64 {
        let tx = db.begin_read().unwrap();
        tx.open_table(BODIES).unwrap().len().unwrap()
    }

    pub fn batch(db: &Database, b: &Batch, durable: bool) {
        let mut tx = db.begin_write().unwrap();
        if !durable {
            tx.set_durability(Durability::None).unwrap();
        } else if quick_repair() {
            // 2-phase commit + saved allocator state: no full repair after a crash.
            tx.set_quick_repair(true);
        }
        {
            tx.open_table(BODIES)
                .unwrap()
                .insert(b.key.as_slice(), b.body.as_slice())
                .unwrap();
            tx.open_table(HEADS)
                .unwrap()
                .insert(b.key.as_slice(), b.head.as_slice())
                .unwrap();
            let mut m = tx.open_table(MANIFEST).unwrap();
            for (k, s) in &b.manifest {
                m.insert(k.as_slice(), s.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }

    /// `STORECMP_QUICK_REPAIR=1`: durable redb commits use `set_quick_repair(true)`.
    fn quick_repair() -> bool {
        std::env::var_os("STORECMP_QUICK_REPAIR").is_some_and(|v| v == "1")
    }

    /// An empty durable commit: makes earlier non-durable commits durable.
    pub fn flush(db: &Database) {
        db.begin_write().unwrap().commit().unwrap();
    }
}

mod lmdb_store {
    use super::*;
    use heed::types::Bytes;
    use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, FlagSetMode, WithoutTls};

    pub type Db = Database<'static, Bytes, Bytes>;
    pub struct Store {
        pub env: Env<WithoutTls>,
        pub bodies: Db,
        pub heads: Db,
        pub manifest: Db,
    }

    /// The only unsafe eventfeed would need: LMDB's open (the file must not be
    /// opened twice in one process, nor truncated/modified by others while mapped).
    #[allow(unsafe_code)]
    fn open_env(dir: &Path) -> Env<WithoutTls> {
        unsafe {
            EnvOpenOptions::new()
                .read_txn_without_tls()
                .map_size(64 << 30)
                .max_dbs(3)
                .open(dir)
                .unwrap()
        }
    }

    /// Per-commit NO_SYNC toggle: also unsafe in heed.
    #[allow(unsafe_code)]
    pub fn set_nosync(env: &Env<WithoutTls>, on: bool) {
        let mode = if on {
            FlagSetMode::Enable
        } else {
            FlagSetMode::Disable
        };
        unsafe { env.set_flags(EnvFlags::NO_SYNC, mode).unwrap() }
    }

    pub fn open(dir: &Path) -> Store {
        let env = open_env(dir);
        // heed 0.23: handles are created inside create_databases_and_commit and
        // come out 'static once the transaction commits.
        let w = env.write_txn().unwrap();
        let (bodies, heads, manifest) = env
            .create_databases_and_commit(w, |o, w| -> heed::Result<_> {
                Ok(CommitOrAbort::<_, ()>::Commit((
                    o.create_database::<Bytes, Bytes>(w, Some("bodies"))?,
                    o.create_database::<Bytes, Bytes>(w, Some("heads"))?,
                    o.create_database::<Bytes, Bytes>(w, Some("manifest"))?,
                )))
            })
            .unwrap()
            .unwrap_commit();
        Store {
            env,
            bodies,
            heads,
            manifest,
        }
    }

    pub fn load(dir: &Path, n: usize, ks: &[Vec<u8>]) {
        let s = open(dir);
        let mut w = s.env.write_txn().unwrap();
        let mut buf = Vec::new();
        for (i, k) in ks.iter().enumerate() {
            body(i, 0, &mut buf);
            s.bodies.put(&mut w, k, &buf).unwrap();
            s.heads.put(&mut w, k, &head(i, 0)).unwrap();
        }
        for j in 0..manifest_len(n) {
            s.manifest
                .put(&mut w, &manifest_key(j, n), &stamp(j, 0))
                .unwrap();
        }
        w.commit().unwrap();
    }

    pub fn first_read(s: &Store, k: &[u8]) -> u64 {
        let r = s.env.read_txn().unwrap();
        touch(s.bodies.get(&r, k).unwrap().unwrap())
    }

    pub fn iter_heads(s: &Store) -> u64 {
        let r = s.env.read_txn().unwrap();
        let mut acc = 0u64;
        for e in s.heads.iter(&r).unwrap() {
            let (k, v) = e.unwrap();
            let h: Head = postcard::from_bytes(v).unwrap();
            acc = acc.wrapping_add(h.mtime_ns ^ k.len() as u64);
        }
        acc
    }

    pub fn render(s: &Store, ks: &[&[u8]]) -> u64 {
        let r = s.env.read_txn().unwrap();
        ks.iter()
            .map(|k| touch(s.bodies.get(&r, k).unwrap().unwrap()))
            .sum()
    }

    pub fn count(s: &Store) -> u64 {
        let r = s.env.read_txn().unwrap();
        s.bodies.len(&r).unwrap()
    }

    pub fn batch(s: &Store, b: &Batch) {
        let mut w = s.env.write_txn().unwrap();
        s.bodies.put(&mut w, &b.key, &b.body).unwrap();
        s.heads.put(&mut w, &b.key, &b.head).unwrap();
        for (k, st) in &b.manifest {
            s.manifest.put(&mut w, k, st).unwrap();
        }
        w.commit().unwrap();
    }
}

enum Open {
    Redb(redb::Database),
    Lmdb(lmdb_store::Store),
}
impl Open {
    fn new(cfg: Cfg, dir: &Path) -> Open {
        match cfg {
            Cfg::Lmdb => Open::Lmdb(lmdb_store::open(dir)),
            _ => Open::Redb(redb_store::open(dir, cfg, false)),
        }
    }
    fn first_read(&self, k: &[u8]) -> u64 {
        match self {
            Open::Redb(d) => redb_store::first_read(d, k),
            Open::Lmdb(s) => lmdb_store::first_read(s, k),
        }
    }
    fn iter_heads(&self) -> u64 {
        match self {
            Open::Redb(d) => redb_store::iter_heads(d),
            Open::Lmdb(s) => lmdb_store::iter_heads(s),
        }
    }
    fn render(&self, ks: &[&[u8]]) -> u64 {
        match self {
            Open::Redb(d) => redb_store::render(d, ks),
            Open::Lmdb(s) => lmdb_store::render(s, ks),
        }
    }
    fn count(&self) -> u64 {
        match self {
            Open::Redb(d) => redb_store::count(d),
            Open::Lmdb(s) => lmdb_store::count(s),
        }
    }
    fn batch(&self, b: &Batch, durable: bool) {
        match self {
            Open::Redb(d) => redb_store::batch(d, b, durable),
            Open::Lmdb(s) => {
                lmdb_store::set_nosync(&s.env, !durable);
                lmdb_store::batch(s, b);
            }
        }
    }
    fn flush(&self) {
        match self {
            Open::Redb(d) => redb_store::flush(d),
            Open::Lmdb(s) => {
                lmdb_store::set_nosync(&s.env, false);
                s.env.force_sync().unwrap();
            }
        }
    }
    fn data_path(&self, cfg: Cfg, dir: &Path) -> PathBuf {
        match cfg {
            Cfg::Lmdb => dir.join("data.mdb"),
            _ => redb_store::file(dir),
        }
    }
}

// ---------------------------------------------------------------- phases

fn phase_load(cfg: Cfg, n: usize, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let ks = keys(n);
    let t = Instant::now();
    match cfg {
        Cfg::Lmdb => lmdb_store::load(dir, n, &ks),
        _ => redb_store::load(dir, cfg, n, &ks),
    }
    println!("load_s {:.3}", t.elapsed().as_secs_f64());
    print_rss("after_load");
    print_size("load", dir);
}

fn phase_reopen(cfg: Cfg, n: usize, dir: &Path, tag: &str) -> (Open, Vec<Vec<u8>>) {
    let ks = keys(n);
    let probe = ks[n / 2].clone();
    let t = Instant::now();
    let s = Open::new(cfg, dir);
    std::hint::black_box(s.first_read(&probe));
    println!("reopen_{tag}_ms {:.3}", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    std::hint::black_box(s.iter_heads());
    println!("heads_{tag}_ms {:.2}", t.elapsed().as_secs_f64() * 1e3);
    (s, ks)
}

fn phase_read(cfg: Cfg, n: usize, dir: &Path) {
    let (s, ks) = phase_reopen(cfg, n, dir, "warm");
    assert_eq!(s.count(), n as u64);
    print_rss("after_heads");
    // 10k renders of 50 uniformly random bodies, split over 2 threads; each render
    // is one read transaction.
    let all: Vec<Vec<f64>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                let (s, ks) = (&s, &ks);
                sc.spawn(move || {
                    let mut r = Rng::new(0x5EED + t as u64);
                    let mut lat = Vec::with_capacity(RENDERS / THREADS);
                    let mut pick: Vec<&[u8]> = Vec::with_capacity(PER_RENDER);
                    for _ in 0..RENDERS / THREADS {
                        pick.clear();
                        for _ in 0..PER_RENDER {
                            pick.push(&ks[r.below(n as u64) as usize]);
                        }
                        let t0 = Instant::now();
                        std::hint::black_box(s.render(&pick));
                        lat.push(t0.elapsed().as_secs_f64() * 1e6);
                    }
                    lat
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut lat: Vec<f64> = all.concat();
    println!("render_p50_us {:.1}", pct(&mut lat, 0.5));
    println!("render_p99_us {:.1}", pct(&mut lat, 0.99));
    print_rss("after_render");
}

fn phase_cold(cfg: Cfg, n: usize, dir: &Path) {
    let _ = phase_reopen(cfg, n, dir, "cold");
}

fn phase_batch(cfg: Cfg, n: usize, dir: &Path, durable_growth: bool) {
    let ks = keys(n);
    let s = Open::new(cfg, dir);
    let file = s.data_path(cfg, dir);
    let mut seq = 1_000_000u64;
    for (durable, tag) in [(true, "durable"), (false, "nosync")] {
        let size0 = disk_size(&file);
        let mut lat = Vec::with_capacity(BATCHES_TIMED);
        for _ in 0..BATCHES_TIMED {
            seq += 1;
            let b = make_batch(n, &ks, seq);
            let t = Instant::now();
            s.batch(&b, durable);
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let size1 = disk_size(&file);
        println!("batch_{tag}_p50_us {:.1}", pct(&mut lat, 0.5));
        println!("batch_{tag}_p99_us {:.1}", pct(&mut lat, 0.99));
        println!(
            "growth_{tag}_1k_mib {:.2}",
            (size1.0 as f64 - size0.0 as f64) / 1048576.0
        );
    }
    s.flush();
    // File growth over 10k daemon batches: the daemon's likely mode, non-durable
    // commits with a durable one every 100 batches, then all durable.
    let modes: &[(usize, &str)] = if durable_growth {
        &[(100, "mixed"), (1, "durable")]
    } else {
        &[(100, "mixed")]
    };
    for &(every, tag) in modes {
        let size0 = disk_size(&file);
        let t = Instant::now();
        for k in 0..BATCHES_GROWTH {
            seq += 1;
            let b = make_batch(n, &ks, seq);
            s.batch(&b, (k + 1) % every == 0);
        }
        s.flush();
        let size1 = disk_size(&file);
        println!(
            "growth_{tag}_10k_mib {:.2}",
            (size1.0 as f64 - size0.0 as f64) / 1048576.0
        );
        println!(
            "growth_{tag}_10k_s {:.2}",
            t.elapsed().as_secs_f64()
        );
    }
    print_size("after_batches", dir);
    assert_eq!(s.count(), n as u64);
}

/// kill -9 semantics: 20 durable batches, then 20 non-durable ones, then abort
/// (no destructors, nothing flushed: what SIGKILL leaves, short of power loss).
fn phase_crash(cfg: Cfg, n: usize, dir: &Path) {
    let ks = keys(n);
    let s = Open::new(cfg, dir);
    for k in 1..=40u64 {
        s.batch(&make_batch(n, &ks, CRASH_SEQ + k), k <= 20);
    }
    std::process::abort();
}

const CRASH_SEQ: u64 = 5_000_000;

/// Reopen after `crash`: time to first read (includes redb's repair), and
/// which of the last durable / last non-durable batch survived.
fn phase_recover(cfg: Cfg, n: usize, dir: &Path) {
    let ks = keys(n);
    let t = Instant::now();
    let s = Open::new(cfg, dir);
    std::hint::black_box(s.first_read(&ks[0]));
    println!("reopen_afterkill_ms {:.1}", t.elapsed().as_secs_f64() * 1e3);
    for (k, tag) in [(20u64, "durable"), (40, "nosync")] {
        let b = make_batch(n, &ks, CRASH_SEQ + k);
        let got = match &s {
            Open::Redb(d) => {
                use redb::ReadableDatabase;
                let tx = d.begin_read().unwrap();
                let t = tx.open_table(redb_store::BODIES).unwrap();
                let v = t.get(b.key.as_slice()).unwrap().unwrap();
                v.value() == b.body.as_slice()
            }
            Open::Lmdb(l) => {
                let r = l.env.read_txn().unwrap();
                l.bodies.get(&r, &b.key).unwrap().unwrap() == b.body.as_slice()
            }
        };
        println!("afterkill_last_{tag}_kept {}", got as u8);
    }
    assert_eq!(s.count(), n as u64);
}

// ---------------------------------------------------------------- driver

fn run_child(
    exe: &Path,
    mode: &str,
    cfg: Cfg,
    n: usize,
    dir: &Path,
    extra: &[&str],
) -> Vec<(String, f64)> {
    let out = Command::new(exe)
        .env("RUST_BACKTRACE", "0")
        .args([mode, cfg.name(), &n.to_string(), dir.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    if !out.status.success() && mode != "crash" {
        panic!(
            "{mode} {} failed: {}",
            cfg.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout).unwrap();
    eprint!("{}", text.lines().map(|l| format!("  [{mode} {}] {l}\n", cfg.name())).collect::<String>());
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn bench(n: usize, reps: usize, cold: bool, growth_reps: usize, root: &Path) {
    let exe = std::env::current_exe().unwrap();
    let mut res: BTreeMap<(String, &'static str), Vec<f64>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let cfgs = [Cfg::Lmdb, Cfg::Redb, Cfg::Redb16];
    let uptime = || {
        let o = Command::new("uptime").output().map(|o| o.stdout).unwrap_or_default();
        String::from_utf8_lossy(&o).trim().to_string()
    };
    let up0 = uptime();
    for rep in 0..reps {
        let mut seq = cfgs.to_vec();
        if rep % 2 == 1 {
            seq.reverse(); // A B C | C B A | A B C ...
        }
        for cfg in seq {
            eprintln!("rep {rep} {} (n={n})", cfg.name());
            let dir = root.join(format!("{}-{n}", cfg.name()));
            let mut modes = vec!["load", "read"];
            if cold && rep < 2 {
                if drop_caches() {
                    modes.push("cold");
                } else if rep == 0 {
                    eprintln!("drop_caches not permitted; skipping cold reopen");
                }
            }
            modes.push("batch");
            modes.push("crash");
            modes.push("recover");
            for mode in modes {
                if mode == "cold" {
                    drop_caches();
                }
                // 10k fsync'd batches take about a minute here: first A B C C B A only.
                let extra: &[&str] = if mode == "batch" && rep < growth_reps {
                    &["--durable-growth"]
                } else {
                    &[]
                };
                for (k, v) in run_child(&exe, mode, cfg, n, &dir, extra) {
                    if !order.contains(&k) {
                        order.push(k.clone());
                    }
                    res.entry((k, cfg.name())).or_default().push(v);
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
    println!("\nload before: {up0}\nload after:  {}", uptime());
    println!("\nn = {n} events, {reps} repetitions (A B C C B A ...), medians [min–max]\n");
    println!("| metric | lmdb (heed) | redb (1 GiB cache) | redb (16 MiB cache) |");
    println!("|---|---|---|---|");
    for k in &order {
        let mut row = format!("| {k} |");
        for c in cfgs {
            match res.get_mut(&(k.clone(), c.name())) {
                Some(v) => {
                    let med = pct(v, 0.5);
                    let (lo, hi) = (v[0], v[v.len() - 1]);
                    if v.len() > 1 {
                        row += &format!(" {} [{}–{}] |", fmt(med), fmt(lo), fmt(hi));
                    } else {
                        row += &format!(" {} |", fmt(med));
                    }
                }
                None => row += " – |",
            }
        }
        println!("{row}");
    }
}

fn fmt(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let get = |flag: &str, def: &str| -> String {
        a.iter()
            .position(|x| x == flag)
            .map(|i| a[i + 1].clone())
            .unwrap_or_else(|| def.to_string())
    };
    match a.get(1).map(String::as_str) {
        Some("bench") => {
            let root = PathBuf::from(get("--dir", "/tmp/storecmp"));
            std::fs::create_dir_all(&root).unwrap();
            bench(
                get("--n", "100000").parse().unwrap(),
                get("--reps", "4").parse().unwrap(),
                a.iter().any(|x| x == "--cold"),
                get("--durable-growth-reps", "2").parse().unwrap(),
                &root,
            );
        }
        Some("workload") => {
            let n: usize = get("--n", "100000").parse().unwrap();
            let ks = keys(n);
            let kl: usize = ks.iter().map(|k| k.len()).sum();
            let (mut bl, mut bmin, mut bmax, mut buf) = (0usize, usize::MAX, 0usize, Vec::new());
            for i in 0..n {
                body(i, 0, &mut buf);
                bl += buf.len();
                bmin = bmin.min(buf.len());
                bmax = bmax.max(buf.len());
            }
            let hl: usize = (0..n).map(|i| head(i, 0).len()).sum();
            let ml: usize = (0..manifest_len(n)).map(|j| manifest_key(j, n).len()).sum();
            println!("keys: mean {} B, e.g. {}", kl / n, String::from_utf8_lossy(&ks[0]));
            println!("bodies: mean {} B, min {bmin}, max {bmax}, total {} MiB", bl / n, bl >> 20);
            println!("heads: mean {} B", hl / n);
            println!(
                "manifest: {} entries, mean key {} B, e.g. {}",
                manifest_len(n),
                ml / manifest_len(n),
                String::from_utf8_lossy(&manifest_key(manifest_len(n) - 1, n))
            );
        }
        Some(mode @ ("load" | "read" | "cold" | "batch" | "crash" | "recover")) => {
            let cfg = Cfg::parse(&a[2]);
            let n: usize = a[3].parse().unwrap();
            let dir = PathBuf::from(&a[4]);
            match mode {
                "load" => phase_load(cfg, n, &dir),
                "read" => phase_read(cfg, n, &dir),
                "cold" => phase_cold(cfg, n, &dir),
                "crash" => phase_crash(cfg, n, &dir),
                "recover" => phase_recover(cfg, n, &dir),
                _ => phase_batch(cfg, n, &dir, a.iter().any(|x| x == "--durable-growth")),
            }
        }
        _ => {
            eprintln!(
                "usage: store-compare bench [--n 100000] [--reps 4] [--cold] [--durable-growth-reps 2] [--dir /tmp/storecmp]\n       store-compare workload [--n N]\n       store-compare load|read|cold|batch|crash|recover lmdb|redb|redb16 N DIR"
            );
            std::process::exit(2);
        }
    }
}

/// The README's usage snippet, kept compiling here.
#[allow(dead_code)]
fn api_example(path: &Path, key: &[u8], body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    use redb::{Database, Durability, ReadableDatabase, TableDefinition};
    const BODIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bodies");
    let db = Database::builder().set_cache_size(64 << 20).create(path)?;
    let mut tx = db.begin_write()?;
    tx.set_durability(Durability::None)?;
    {
        let mut t = tx.open_table(BODIES)?;
        t.insert(key, body)?;
    }
    tx.commit()?;
    let mut tx = db.begin_write()?;
    tx.set_quick_repair(true);
    tx.commit()?;
    let t = db.begin_read()?.open_table(BODIES)?;
    let v = t.get(key)?;
    let bytes: &[u8] = v.as_ref().unwrap().value();
    // one table shared by reference across threads
    let total: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| t.get(key).unwrap().map_or(0, |g| g.value().len())))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(total, 2 * bytes.len());
    Ok(())
}
