//! `eventfeed-bench run`: every figure of issue 4 in one run, printed as a
//! markdown report (see BENCHMARKS.md for what each figure means).

use crate::corpus::{self, CorpusOptions, Generator};
use crate::daemon::{self, Daemon, Kind, OutputWatch, Spec};
use crate::hugo;
use crate::sys::{self, Usage};
use crate::tree::{self, Snapshot, Totals, Trash};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Corpus sizes (events) for the build figures, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<u64>,
    /// One size only (instead of --sizes); also the size of the daemon figures.
    #[arg(long)]
    events: Option<u64>,
    /// Size of the tree the daemon figures (latency, burst, restart) run on;
    /// generated if it is not among the sizes.
    #[arg(long, default_value_t = 100_000)]
    daemon_events: u64,
    /// Seed of the corpus generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory: corpora (kept and reused), outputs, state, logs.
    #[arg(long, value_name = "DIR", default_value = "/tmp/eventfeed-bench")]
    work: PathBuf,
    /// Runs of each build (cold, floor, warm) per size; the median is reported.
    /// Sizes of 1M events and more get one run.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measure a peer on the same corpora: `hugo` (or a path to its binary).
    #[arg(long, value_name = "TOOL")]
    peer: Option<String>,
    /// Largest corpus the peer runs on (Hugo needs about 8.6 GB at 100k).
    #[arg(long, default_value_t = 100_000)]
    peer_max_events: u64,
    /// The eventfeed binary (default: the one beside this binary, built first
    /// when run through cargo).
    #[arg(long, value_name = "FILE")]
    eventfeed: Option<PathBuf>,
    /// Skip the daemon figures (latency, burst, restart).
    #[arg(long)]
    skip_daemon: bool,
    /// Skip the latency figures.
    #[arg(long)]
    skip_latency: bool,
    /// Skip the burst.
    #[arg(long)]
    skip_burst: bool,
    /// Single changes in the latency run (creates, edits and deletes in turn).
    #[arg(long, default_value_t = 240)]
    changes: usize,
    /// Files in the burst.
    #[arg(long, default_value_t = 10_000)]
    burst: u64,
    /// The output counts as complete after this long without a write (and a
    /// STATUS= from the daemon after the change).
    #[arg(long, default_value_t = 150)]
    quiet_ms: u64,
    /// Daemon restarts measured (median reported).
    #[arg(long, default_value_t = 3)]
    restarts: usize,
    /// Keep the outputs of this run (default: deleted at the end).
    #[arg(long)]
    keep: bool,
    /// Base URL passed to eventfeed.
    #[arg(long, default_value = "https://example.org/feeds/")]
    base_url: String,
    /// The feed formats eventfeed writes (`formats` in a config file the bench
    /// writes): `--formats rss` compares like for like with Hugo's RSS-only
    /// build. Default: eventfeed's default, all three.
    #[arg(long, value_delimiter = ',', value_parser = ["rss", "atom", "json"])]
    formats: Vec<String>,
    /// No page beside each feed (`[pages] per_feed = false`), as Hugo writes
    /// none.
    #[arg(long)]
    no_feed_pages: bool,
    /// `EVENTFEED_LOG` of the measured daemons (`debug` logs each batch's
    /// timings; the logs stay in WORK/scratch).
    #[arg(long, default_value = "info")]
    daemon_log: String,
}

impl RunArgs {
    /// How many files a feed has: its formats, and its page.
    fn files_per_feed(&self) -> u64 {
        let formats = if self.formats.is_empty() {
            3
        } else {
            self.formats.iter().collect::<BTreeSet<_>>().len() as u64
        };
        formats + u64::from(!self.no_feed_pages)
    }

    /// The config file the settings above need, if any.
    fn config_text(&self) -> Option<String> {
        let mut text = String::new();
        if !self.formats.is_empty() {
            let names: Vec<String> = self.formats.iter().map(|f| format!("{f:?}")).collect();
            let _ = writeln!(text, "formats = [{}]", names.join(", "));
        }
        if self.no_feed_pages {
            text.push_str("[pages]\nper_feed = false\n");
        }
        (!text.is_empty()).then_some(text)
    }
}

/// The figures of one corpus size.
#[derive(Default)]
struct SizeFigures {
    events: u64,
    input: Totals,
    cold: Vec<Usage>,
    cold_out: Totals,
    cold_summary: Summary,
    floor: Vec<Floor>,
    warm: Vec<Usage>,
    /// Files written by warm builds, from their summary lines and from the
    /// stamps of the output (the largest over the runs).
    warm_written: (u64, usize),
    start: Option<DaemonStart>,
    hugo: Vec<Usage>,
    hugo_feeds: Option<hugo::Feeds>,
}

/// A daemon started on a built tree (store present, nothing changed).
struct DaemonStart {
    ready: Duration,
    written: usize,
    rss: u64,
    hwm: u64,
    /// SIGTERM to exit, or why it did not.
    stop: Result<Duration, String>,
}

#[derive(Clone, Copy, Default)]
struct Floor {
    wall: Duration,
    read: Duration,
    write: Duration,
    sync: Duration,
    cpu: Duration,
}

/// The summary line of `eventfeed build`.
#[derive(Clone, Copy, Default, Debug)]
struct Summary {
    events: u64,
    skipped: u64,
    feeds: u64,
    written: u64,
}

#[derive(Default)]
struct DaemonFigures {
    events: u64,
    first_ready: Duration,
    first_memory: (u64, u64),
    samples: Vec<daemon::Sample>,
    burst: Option<daemon::Burst>,
    burst_equal: Option<(bool, Vec<String>)>,
    after_memory: (u64, u64),
    restarts: Vec<(Duration, Duration, usize, u64)>,
    restart_memory: (u64, u64),
    /// Where the single changes' time went, from the daemon's debug log.
    phases: Option<String>,
}

struct Ctx<'a> {
    args: &'a RunArgs,
    bin: PathBuf,
    /// The config file of `--formats` and `--no-feed-pages`.
    config: Option<PathBuf>,
    trash: Trash,
    scratch: PathBuf,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let mut sizes: Vec<u64> = match args.events {
        Some(n) => vec![n],
        None => args.sizes.clone(),
    };
    sizes.sort_unstable();
    sizes.dedup();
    let daemon_events = args.events.unwrap_or(args.daemon_events);
    fs::create_dir_all(&args.work)?;
    let work = args.work.canonicalize()?;
    let bin = eventfeed_binary(args)?;
    let peer = match args.peer.as_deref() {
        None => None,
        Some(name) => {
            if !name.ends_with("hugo") {
                bail!("unknown peer {name:?}: only hugo is supported");
            }
            match hugo::find(name) {
                Some(path) => Some(path),
                None => {
                    eprintln!("peer {name} not found: skipping it (Debian: apt-get install hugo)");
                    None
                }
            }
        }
    };
    let config = match args.config_text() {
        Some(text) => {
            let path = work.join("eventfeed.toml");
            fs::write(&path, text)?;
            Some(path)
        }
        None => None,
    };
    let mut ctx = Ctx {
        args,
        bin,
        config,
        trash: Trash::new(work.join("trash")),
        scratch: work.join("scratch"),
    };
    if !ctx.trash.is_empty() {
        eprintln!("emptying the trash of an earlier run");
        ctx.trash.empty()?;
    }
    fs::create_dir_all(&ctx.scratch)?;
    let started = Instant::now();
    let load_before = loadavg();
    let mut figures = Vec::new();
    for &n in &sizes {
        eprintln!("== {n} events");
        figures.push(measure_size(&mut ctx, &work, n, peer.as_deref())?);
    }
    let daemon = if args.skip_daemon {
        None
    } else {
        eprintln!("== daemon on {daemon_events} events");
        Some(measure_daemon(&mut ctx, &work, daemon_events)?)
    };
    let load_after = loadavg();
    let report = report(
        args,
        &ctx,
        &figures,
        daemon.as_ref(),
        peer.as_deref(),
        started.elapsed(),
        (&load_before, &load_after),
    );
    println!("{report}");
    fs::write(work.join("report.md"), &report)?;
    eprintln!("report also in {}", work.join("report.md").display());
    if !args.keep {
        eprintln!("deleting this run's outputs");
        ctx.trash.empty()?;
    }
    Ok(())
}

/// The eventfeed binary beside this one, built first when cargo runs us.
fn eventfeed_binary(args: &RunArgs) -> Result<PathBuf> {
    if let Some(bin) = &args.eventfeed {
        return Ok(bin.canonicalize()?);
    }
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no folder")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--bin", "eventfeed"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        if !cmd.status().context("running cargo build")?.success() {
            bail!("cargo build --bin eventfeed failed");
        }
    }
    let bin = dir.join("eventfeed");
    if !bin.is_file() {
        bail!(
            "{} not found: run `cargo build --release` first or pass --eventfeed",
            bin.display()
        );
    }
    Ok(bin)
}

/// The corpus of `n` events, generated once and reused.
fn corpus_dir(work: &Path, seed: u64, n: u64) -> Result<PathBuf> {
    let dir = work.join(format!("corpus-s{seed}-{n}"));
    let done = work.join(format!("corpus-s{seed}-{n}.complete"));
    if done.exists() {
        return Ok(dir);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    let t = Instant::now();
    let stats = corpus::generate(&CorpusOptions::new(n, seed), &dir)?;
    eprintln!(
        "  generated {} events, {} days, {} contexts, {:.0} MB in {:.1} s (not timed)",
        stats.events,
        stats.days,
        stats.contexts,
        stats.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    fs::write(done, "")?;
    Ok(dir)
}

impl Ctx<'_> {
    fn build_cmd(&self, input: &Path, output: &Path, state: &Path, fresh: bool) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("build");
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        if fresh {
            cmd.arg("--fresh");
        }
        cmd.arg("--input")
            .arg(input)
            .arg("--output")
            .arg(output)
            .arg("--base-url")
            .arg(&self.args.base_url)
            .env("XDG_STATE_HOME", state)
            .env_remove("STATE_DIRECTORY")
            .env_remove("EVENTFEED_CONFIG")
            .env_remove("EVENTFEED_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    /// `eventfeed build` measured; returns the usage and its summary line.
    fn build(
        &self,
        input: &Path,
        output: &Path,
        state: &Path,
        fresh: bool,
    ) -> Result<(Usage, Summary)> {
        let log = self.scratch.join("build.log");
        let mut cmd = self.build_cmd(input, output, state, fresh);
        cmd.stderr(fs::File::create(&log)?);
        let usage = sys::run_measured(&mut cmd, "eventfeed build")
            .with_context(|| format!("see {}", log.display()))?;
        let text = fs::read_to_string(&log)?;
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with("eventfeed: "))
            .with_context(|| format!("no summary line in {}", log.display()))?;
        Ok((usage, parse_summary(line)?))
    }
}

fn parse_summary(line: &str) -> Result<Summary> {
    let num = |needle: &str| -> Result<u64> {
        let before = line
            .split(needle)
            .next()
            .filter(|b| b.len() < line.len())
            .with_context(|| format!("no {needle:?} in {line:?}"))?;
        let token = before.split_whitespace().last().unwrap_or("");
        token
            .trim_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .with_context(|| format!("no number before {needle:?} in {line:?}"))
    };
    Ok(Summary {
        events: num(" events from")?,
        skipped: num(" skipped)")?,
        feeds: num(" feeds:")?,
        written: num(" files written")?,
    })
}

fn measure_size(ctx: &mut Ctx, work: &Path, n: u64, peer: Option<&Path>) -> Result<SizeFigures> {
    let args = ctx.args;
    let input = corpus_dir(work, args.seed, n)?;
    let mut f = SizeFigures {
        events: n,
        input: tree::totals(&tree::snapshot(&input)?),
        ..Default::default()
    };
    let runs = if n >= 1_000_000 { 1 } else { args.runs.max(1) };
    let out_of = |what: &str| work.join("out").join(format!("{n}-{what}"));
    let state_of = |what: &str| work.join("state").join(format!("{n}-{what}"));
    fs::create_dir_all(work.join("out"))?;
    fs::create_dir_all(work.join("state"))?;

    // Cold builds: --fresh, empty output, empty state. The last one is kept for
    // the warm builds and the daemon start.
    let (out, state) = (out_of("cold"), state_of("cold"));
    let mut snap = Snapshot::new();
    for r in 0..runs {
        ctx.trash.discard(&out)?;
        ctx.trash.discard(&state)?;
        fs::create_dir_all(&state)?;
        // Not timed: the input into the page cache, as for the floor (at 1M
        // events, the outputs written since the corpus was made evict it).
        read_all(&input)?;
        let (usage, summary) = ctx.build(&input, &out, &state, true)?;
        snap = tree::snapshot(&out)?;
        let totals = tree::totals(&snap);
        eprintln!(
            "  cold build {}: {:.2} s wall, {:.2} s CPU, {} MB peak; {} feeds, {} files, {:.0} MB",
            r + 1,
            usage.wall.as_secs_f64(),
            usage.cpu().as_secs_f64(),
            usage.max_rss >> 20,
            summary.feeds,
            totals.files,
            totals.bytes as f64 / 1e6
        );
        if summary.skipped > 0 || summary.events != n {
            bail!("cold build at {n}: {summary:?}: events skipped");
        }
        // The formats of every feed, the pages beside them and the listings.
        let per_feed = args.files_per_feed();
        if summary.written != totals.files || totals.files < per_feed * summary.feeds + 2 {
            bail!(
                "cold build at {n}: summary {summary:?} but {} files in the output",
                totals.files
            );
        }
        f.cold.push(usage);
        f.cold_out = totals;
        f.cold_summary = summary;
    }

    // The floor: the same input read, the same files and bytes written into the
    // same folders, one syncfs.
    let sizes: Vec<(PathBuf, u64)> = snap.iter().map(|(p, s)| (p.clone(), s.size)).collect();
    for r in 0..runs {
        let dst = out_of("floor");
        ctx.trash.discard(&dst)?;
        let fl = floor(&input, &sizes, &dst)?;
        eprintln!(
            "  floor {}: {:.2} s (read {:.2} s, write {:.2} s, syncfs {:.2} s)",
            r + 1,
            fl.wall.as_secs_f64(),
            fl.read.as_secs_f64(),
            fl.write.as_secs_f64(),
            fl.sync.as_secs_f64()
        );
        f.floor.push(fl);
        // Not timed: gone at once unless kept, rather than held in the trash
        // to the end of the run (at 1M events, 4 GB of tmpfs that pressed on
        // the page cache of every later figure).
        match args.keep {
            true => ctx.trash.discard(&dst)?,
            false => fs::remove_dir_all(&dst)?,
        }
    }

    // Warm builds: nothing changed since the last cold build.
    for r in 0..runs {
        // Not timed: the input back into the page cache (its inodes too), as
        // for the cold build: the floor's writes evict them at 1M events.
        read_all(&input)?;
        let before = tree::snapshot(&out)?;
        let (usage, summary) = ctx.build(&input, &out, &state, false)?;
        let after = tree::snapshot(&out)?;
        let changed = tree::changed(&before, &after);
        eprintln!(
            "  warm build {}: {:.3} s, {} files written (summary), {} changed (stamps)",
            r + 1,
            usage.wall.as_secs_f64(),
            summary.written,
            changed
        );
        f.warm.push(usage);
        f.warm_written.0 = f.warm_written.0.max(summary.written);
        f.warm_written.1 = f.warm_written.1.max(changed);
    }

    // The daemon started on the built tree (its store present, nothing changed):
    // time to READY, files written, resident memory.
    {
        let before = tree::snapshot(&out)?;
        let spec = Spec {
            bin: &ctx.bin,
            input: &input,
            output: &out,
            state_home: &state,
            base_url: &args.base_url,
            scratch: &ctx.scratch,
            config: ctx.config.as_deref(),
            log_level: &args.daemon_log,
        };
        let mut d = Daemon::spawn(&spec, &format!("{n}"))?;
        let ready = d.wait_ready(Duration::from_secs(600))?;
        std::thread::sleep(Duration::from_secs(2));
        let (rss, hwm) = d.memory()?;
        eprintln!(
            "  daemon start: READY in {:.3} s, VmRSS {} MB (peak {} MB)",
            ready.as_secs_f64(),
            rss >> 20,
            hwm >> 20
        );
        let stop = d.stop().map_err(|e| format!("{e:#}"));
        let after = tree::snapshot(&out)?;
        let written = tree::changed(&before, &after);
        match &stop {
            Ok(t) => eprintln!(
                "  daemon stop: {:.2} s; {written} files written",
                t.as_secs_f64()
            ),
            Err(e) => eprintln!("  daemon stop FAILED: {e}; {written} files written"),
        }
        f.start = Some(DaemonStart {
            ready,
            written,
            rss,
            hwm,
            stop,
        });
    }
    ctx.trash.discard(&out)?;
    ctx.trash.discard(&state)?;

    // The peer on the same events.
    if let Some(hugo_bin) = peer.filter(|_| n <= args.peer_max_events) {
        let site = work.join(format!("hugo2-s{}-{n}", args.seed));
        let generator = Generator::new(&CorpusOptions::new(n, args.seed));
        hugo::make_site(&generator, n, &site)?;
        let peer_runs = if n <= 10_000 { runs } else { 1 };
        for r in 0..peer_runs {
            let dest = out_of("hugo");
            ctx.trash.discard(&dest)?;
            ctx.trash.discard(&ctx.scratch.join("hugo-cache"))?;
            let usage = hugo::build(hugo_bin, &site, &dest, &ctx.scratch)?;
            let feeds = hugo::feeds(&dest)?;
            eprintln!(
                "  hugo {}: {:.2} s wall, {} MB peak; {} feeds ({} contexts, {} days), {} other files, at most {} items",
                r + 1,
                usage.wall.as_secs_f64(),
                usage.max_rss >> 20,
                feeds.feeds,
                feeds.contexts,
                feeds.days,
                feeds.other_files,
                feeds.max_items
            );
            f.hugo.push(usage);
            f.hugo_feeds = Some(feeds);
            ctx.trash.discard(&dest)?;
        }
    }
    Ok(f)
}

/// Lists and reads every file under `input`; returns the bytes read.
fn read_all(input: &Path) -> Result<u64> {
    let mut inputs = Vec::new();
    tree::walk(input, Path::new(""), &mut |rel, _| {
        inputs.push(rel.to_owned())
    })?;
    let read = inputs
        .par_iter()
        .map(|p| fs::read(input.join(p)).map(|b| b.len() as u64))
        .sum::<std::io::Result<u64>>()?;
    Ok(std::hint::black_box(read))
}

/// Lists and reads every input file, then writes `files` (relative path, size)
/// under `dst`, creating their folders, then one syncfs. On the rayon pool, as
/// eventfeed reads and renders. The input is read once untimed first, so that
/// it comes from the page cache as it did for eventfeed.
fn floor(input: &Path, files: &[(PathBuf, u64)], dst: &Path) -> Result<Floor> {
    // Not timed: the input back into the page cache, as eventfeed found it.
    read_all(input)?;
    let cpu0 = sys::self_cpu();
    let t = Instant::now();
    read_all(input)?;
    let read_t = t.elapsed();
    let dirs: BTreeSet<&Path> = files.iter().filter_map(|(p, _)| p.parent()).collect();
    for d in dirs {
        fs::create_dir_all(dst.join(d))?;
    }
    let max = files.iter().map(|f| f.1).max().unwrap_or(0) as usize;
    let buf: Vec<u8> = (0..max).map(|i| b'a' + (i % 26) as u8).collect();
    files
        .par_iter()
        .try_for_each(|(p, size)| fs::write(dst.join(p), &buf[..*size as usize]))?;
    let write_t = t.elapsed();
    sys::syncfs(dst)?;
    let wall = t.elapsed();
    Ok(Floor {
        wall,
        read: read_t,
        write: write_t - read_t,
        sync: wall - write_t,
        cpu: sys::self_cpu() - cpu0,
    })
}

fn measure_daemon(ctx: &mut Ctx, work: &Path, n: u64) -> Result<DaemonFigures> {
    let args = ctx.args;
    let pristine = corpus_dir(work, args.seed, n)?;
    let live = work.join(format!("live-{n}"));
    let out = work.join("out").join(format!("{n}-daemon"));
    let state = work.join("state").join(format!("{n}-daemon"));
    let staging = work.join("staging");
    for p in [&live, &out, &state, &staging] {
        ctx.trash.discard(p)?;
    }
    eprintln!("  copying the corpus (not timed)");
    tree::copy(&pristine, &live)?;
    fs::create_dir_all(&state)?;
    fs::create_dir_all(&staging)?;
    let mut fig = DaemonFigures {
        events: n,
        ..Default::default()
    };
    let spec = Spec {
        bin: &ctx.bin,
        input: &live,
        output: &out,
        state_home: &state,
        base_url: &args.base_url,
        scratch: &ctx.scratch,
        config: ctx.config.as_deref(),
        log_level: &args.daemon_log,
    };
    let mut d = Daemon::spawn(&spec, "live-0")?;
    fig.first_ready = d.wait_ready(Duration::from_secs(600))?;
    std::thread::sleep(Duration::from_secs(2));
    fig.first_memory = d.memory()?;
    eprintln!(
        "  first start (empty output, no store): READY in {:.2} s, VmRSS {} MB",
        fig.first_ready.as_secs_f64(),
        fig.first_memory.0 >> 20
    );
    let watch = OutputWatch::new(&out)?;
    // Setting the watch up opens every folder, and each open is an event on
    // its parent: let those drain (they overflow the queue) before measuring.
    std::thread::sleep(Duration::from_secs(1));
    watch.reset();
    let generator = Generator::new(&CorpusOptions::new(n, args.seed));
    let quiet = Duration::from_millis(args.quiet_ms);
    let mut next = n;
    if !args.skip_latency {
        eprintln!("  {} single changes", args.changes);
        let lat = daemon::latency(
            &mut d,
            &watch,
            &generator,
            &live,
            &staging,
            n,
            args.changes,
            quiet,
            args.seed,
        )?;
        next = lat.next_event;
        fig.samples = lat.samples;
        fig.phases = phases(
            &fs::read_to_string(&d.log).unwrap_or_default(),
            args.changes,
        );
        let missed = fig.samples.iter().filter(|s| s.latency.is_none()).count();
        if missed > 0 {
            eprintln!("  warning: {missed} changes gave no output within 20 s");
        }
    }
    if !args.skip_burst {
        eprintln!("  burst of {} files", args.burst);
        // Long enough to bridge the daemon's pauses between batches; the figure
        // is the time of the last write, whatever the window.
        let burst_quiet = quiet.max(Duration::from_secs(2));
        let b = daemon::burst(
            &mut d,
            &watch,
            &generator,
            &live,
            &staging,
            next,
            args.burst,
            burst_quiet,
        )?;
        eprintln!(
            "  burst: renames {:.2} s, complete after {:?}, {} batches, {} files renamed in ({} more than once)",
            b.renames.as_secs_f64(),
            b.complete,
            b.batches,
            b.renamed_in.0,
            b.renamed_in.1
        );
        fig.burst = Some(b);
        // The output must equal a fresh build of the same tree.
        let check = work.join("out").join(format!("{n}-burst-check"));
        let check_state = work.join("state").join(format!("{n}-burst-check"));
        ctx.trash.discard(&check)?;
        ctx.trash.discard(&check_state)?;
        fs::create_dir_all(&check_state)?;
        // Given the daemon's tombstone records (the memory a build of the tree
        // alone cannot have, of the files its latency run deleted), in a state
        // directory of its own and without a store: a build from scratch.
        let mut records = None;
        tree::walk(&state, Path::new(""), &mut |p, _| {
            if p.ends_with("tombstones.json") {
                records = Some(state.join(p));
            }
        })?;
        let mut cmd = match records {
            Some(r) => {
                fs::copy(r, check_state.join("tombstones.json"))?;
                ctx.build_cmd(&live, &check, &check_state, false)
            }
            None => ctx.build_cmd(&live, &check, &check_state, true),
        };
        let status = cmd
            .env("STATE_DIRECTORY", &check_state)
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("the check build failed: {status}");
        }
        let diffs = tree::diff(&out, &check, 20)?;
        eprintln!(
            "  daemon output {} a fresh build",
            if diffs.is_empty() {
                "equals"
            } else {
                "DIFFERS from"
            }
        );
        for line in &diffs {
            eprintln!("    {line}");
        }
        fig.burst_equal = Some((diffs.is_empty(), diffs));
        ctx.trash.discard(&check)?;
        ctx.trash.discard(&check_state)?;
    }
    fig.after_memory = d.memory()?;

    // Restarts with nothing changed.
    for r in 0..args.restarts {
        let before = tree::snapshot(&out)?;
        watch.reset();
        let stopped = d.stop()?;
        d = Daemon::spawn(&spec, &format!("live-{}", r + 1))?;
        let ready = d.wait_ready(Duration::from_secs(600))?;
        std::thread::sleep(Duration::from_secs(1));
        let after = tree::snapshot(&out)?;
        let written = tree::changed(&before, &after);
        let (writes, _) = watch.writes();
        fig.restart_memory = d.memory()?;
        eprintln!(
            "  restart {}: stop {:.2} s, READY in {:.3} s, {written} files changed, {writes} output write events, VmRSS {} MB",
            r + 1,
            stopped.as_secs_f64(),
            ready.as_secs_f64(),
            fig.restart_memory.0 >> 20
        );
        fig.restarts.push((stopped, ready, written, writes));
    }
    d.stop()?;
    drop(watch);
    for p in [&live, &out, &state, &staging] {
        ctx.trash.discard(p)?;
    }
    Ok(fig)
}

// ---------------------------------------------------------------------------
// The report.

/// The daemon's batch timings (`EVENTFEED_LOG=debug`: the lines `batch
/// collected`, `batch read`, `batch timings`) of its first `n` batches, as a
/// markdown table of percentiles per phase; `None` without such lines.
fn phases(log: &str, n: usize) -> Option<String> {
    let field = |line: &str, key: &str| -> Option<u64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    };
    // (name, log line, field) in the order a batch goes through them.
    const PHASES: [(&str, &str, &str); 6] = [
        (
            "collect (from the first event to the end of the debounce)",
            "batch collected",
            "us",
        ),
        ("resolve hinted paths", "batch read", "resolve_us"),
        ("read + parse", "batch read", "read_us"),
        ("index apply + plan", "batch timings", "apply_us"),
        ("render + write (wall)", "batch timings", "write_us"),
        (
            "in the sink: stat, compare, write, rename (summed over threads)",
            "batch timings",
            "sink_us",
        ),
    ];
    let mut batches: Vec<[Option<u64>; 6]> = Vec::new();
    for line in log.lines() {
        if line.contains("batch collected") {
            if batches.len() == n {
                break;
            }
            batches.push([None; 6]);
        }
        let Some(b) = batches.last_mut() else {
            continue;
        };
        for (i, (_, tag, key)) in PHASES.iter().enumerate() {
            if line.contains(tag) {
                b[i] = b[i].or(field(line, key));
            }
        }
    }
    if batches.is_empty() {
        return None;
    }
    let mut t = format!(
        "Where a single change's time goes inside the daemon, ms (its debug log, {} batches; a batch that changed nothing has no render):\n\n| phase | n | p50 | p90 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n",
        batches.len()
    );
    for (i, (name, _, _)) in PHASES.iter().enumerate() {
        let mut v: Vec<Duration> = batches
            .iter()
            .filter_map(|b| b[i])
            .map(Duration::from_micros)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        let _ = writeln!(
            t,
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            v.len(),
            percentile(&v, 50.0).as_secs_f64() * 1e3,
            percentile(&v, 90.0).as_secs_f64() * 1e3,
            percentile(&v, 99.0).as_secs_f64() * 1e3,
        );
    }
    Some(t)
}

fn median<T: Copy + Ord>(v: &[T]) -> Option<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn mb(b: u64) -> String {
    let m = b as f64 / (1 << 20) as f64;
    if m >= 10_000.0 {
        format!("{:.1} GB", m / 1024.0)
    } else {
        format!("{m:.0} MB")
    }
}

fn size_name(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// "1.23 s (1.20-1.30)" over runs.
fn spread(v: &[Duration]) -> String {
    match (median(v), v.iter().min(), v.iter().max()) {
        (Some(m), Some(lo), Some(hi)) if v.len() > 1 => {
            format!("{} ({}-{})", secs(m), secs(*lo), secs(*hi))
        }
        (Some(m), _, _) => secs(m),
        _ => "-".into(),
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

fn report(
    args: &RunArgs,
    ctx: &Ctx,
    sizes: &[SizeFigures],
    daemon: Option<&DaemonFigures>,
    peer: Option<&Path>,
    took: Duration,
    load: (&str, &str),
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "## eventfeed-bench run\n");
    let _ = writeln!(
        r,
        "- eventfeed: `{}` ({})",
        ctx.bin.display(),
        if args.eventfeed.is_some() {
            "given with --eventfeed".to_owned()
        } else {
            git_version()
        }
    );
    let _ = writeln!(r, "- machine: {}", machine());
    if let Some(h) = peer {
        let _ = writeln!(r, "- peer: {}", hugo::version(h));
    }
    let _ = writeln!(
        r,
        "- seed {}, {} run(s) per build figure (median, min-max in brackets), load average {} before, {} after, {} in all",
        args.seed,
        args.runs,
        load.0,
        load.1,
        secs(took)
    );
    let _ = writeln!(r);

    // Builds.
    let head: Vec<String> = sizes.iter().map(|s| size_name(s.events)).collect();
    let _ = writeln!(r, "### Builds\n");
    let _ = writeln!(r, "| figure | {} |", head.join(" | "));
    let _ = writeln!(r, "| --- |{}", " ---: |".repeat(sizes.len()));
    let row = |r: &mut String, name: &str, f: &dyn Fn(&SizeFigures) -> String| {
        let cells: Vec<String> = sizes.iter().map(f).collect();
        let _ = writeln!(r, "| {name} | {} |", cells.join(" | "));
    };
    let cold_med = |s: &SizeFigures| median(&s.cold.iter().map(|u| u.wall).collect::<Vec<_>>());
    let floor_med = |s: &SizeFigures| median(&s.floor.iter().map(|f| f.wall).collect::<Vec<_>>());
    let warm_med = |s: &SizeFigures| median(&s.warm.iter().map(|u| u.wall).collect::<Vec<_>>());
    let hugo_med = |s: &SizeFigures| median(&s.hugo.iter().map(|u| u.wall).collect::<Vec<_>>());
    row(&mut r, "input: event files + day pages, MB", &|s| {
        format!("{} / {}", s.input.files, mb(s.input.bytes))
    });
    let formats = match args.formats.is_empty() {
        true => "3 formats".to_owned(),
        false => format!("{} only", args.formats.join(" + ")),
    };
    let pages = match args.no_feed_pages {
        true => ", no feed pages",
        false => "",
    };
    row(
        &mut r,
        &format!("feeds (contexts + days + all), each in {formats}{pages}"),
        &|s| s.cold_summary.feeds.to_string(),
    );
    row(&mut r, "**cold build** wall", &|s| {
        spread(&s.cold.iter().map(|u| u.wall).collect::<Vec<_>>())
    });
    row(&mut r, "cold build CPU (user+sys)", &|s| {
        spread(&s.cold.iter().map(|u| u.cpu()).collect::<Vec<_>>())
    });
    row(&mut r, "cold build peak RSS", &|s| {
        median(&s.cold.iter().map(|u| u.max_rss).collect::<Vec<_>>()).map_or("-".into(), mb)
    });
    row(
        &mut r,
        "cold build: files / bytes written (folders)",
        &|s| {
            format!(
                "{} / {} ({})",
                s.cold_out.files,
                mb(s.cold_out.bytes),
                s.cold_out.dirs
            )
        },
    );
    row(
        &mut r,
        "**floor** wall (read input, write same files+bytes, syncfs)",
        &|s| spread(&s.floor.iter().map(|f| f.wall).collect::<Vec<_>>()),
    );
    row(&mut r, "floor CPU (user+sys)", &|s| {
        spread(&s.floor.iter().map(|f| f.cpu).collect::<Vec<_>>())
    });
    row(&mut r, "floor: read / write / syncfs (median run)", &|s| {
        let mut v = s.floor.clone();
        v.sort_by_key(|f| f.wall);
        v.get(v.len() / 2).map_or("-".into(), |f| {
            format!("{} / {} / {}", secs(f.read), secs(f.write), secs(f.sync))
        })
    });
    row(
        &mut r,
        "**cold / floor**",
        &|s| match (cold_med(s), floor_med(s)) {
            (Some(c), Some(f)) => format!("{:.2}", ratio(c, f)),
            _ => "-".into(),
        },
    );
    row(&mut r, "**warm build** wall (nothing changed)", &|s| {
        spread(&s.warm.iter().map(|u| u.wall).collect::<Vec<_>>())
    });
    row(
        &mut r,
        "warm build: files written (summary / stamps)",
        &|s| format!("{} / {}", s.warm_written.0, s.warm_written.1),
    );
    row(
        &mut r,
        "**warm / cold**",
        &|s| match (warm_med(s), cold_med(s)) {
            (Some(w), Some(c)) => format!("{:.3}", ratio(w, c)),
            _ => "-".into(),
        },
    );
    row(
        &mut r,
        "daemon start on the built tree: time to READY",
        &|s| s.start.as_ref().map_or("-".into(), |d| secs(d.ready)),
    );
    row(&mut r, "daemon start: files written", &|s| {
        s.start
            .as_ref()
            .map_or("-".into(), |d| d.written.to_string())
    });
    row(&mut r, "daemon stop: SIGTERM to exit", &|s| {
        s.start.as_ref().map_or("-".into(), |d| match &d.stop {
            Ok(t) => secs(*t),
            Err(_) => "**no exit**, killed".into(),
        })
    });
    row(
        &mut r,
        "**daemon resident memory** (VmRSS 2 s after READY)",
        &|s| s.start.as_ref().map_or("-".into(), |d| mb(d.rss)),
    );
    row(&mut r, "daemon peak memory (VmHWM)", &|s| {
        s.start.as_ref().map_or("-".into(), |d| mb(d.hwm))
    });
    row(&mut r, "daemon memory per event", &|s| {
        s.start.as_ref().map_or("-".into(), |d| {
            format!("{:.2} kB", d.rss as f64 / 1024.0 / s.events as f64)
        })
    });
    if peer.is_some() {
        row(&mut r, "**hugo** wall (RSS feeds only)", &|s| {
            spread(&s.hugo.iter().map(|u| u.wall).collect::<Vec<_>>())
        });
        row(&mut r, "hugo CPU (user+sys)", &|s| {
            spread(&s.hugo.iter().map(|u| u.cpu()).collect::<Vec<_>>())
        });
        row(&mut r, "hugo peak RSS", &|s| {
            median(&s.hugo.iter().map(|u| u.max_rss).collect::<Vec<_>>()).map_or("-".into(), mb)
        });
        row(
            &mut r,
            "hugo feeds written (contexts + days + home)",
            &|s| {
                s.hugo_feeds.map_or("-".into(), |h| {
                    format!(
                        "{} ({} + {} + {})",
                        h.feeds,
                        h.contexts,
                        h.days,
                        h.feeds - h.contexts - h.days
                    )
                })
            },
        );
        row(
            &mut r,
            "**hugo / eventfeed cold**",
            &|s| match (hugo_med(s), cold_med(s)) {
                (Some(h), Some(c)) => format!("{:.1}", ratio(h, c)),
                _ => "-".into(),
            },
        );
    }
    let _ = writeln!(r);

    // The daemon.
    if let Some(d) = daemon {
        let _ = writeln!(r, "### Daemon on {} events\n", size_name(d.events));
        let _ = writeln!(
            r,
            "First start (empty output, no store): READY after {}, VmRSS {} (peak {}).\n",
            secs(d.first_ready),
            mb(d.first_memory.0),
            mb(d.first_memory.1)
        );
        if !d.samples.is_empty() {
            let _ = writeln!(
                r,
                "Latency, ms, from the rename (or unlink) in the input tree to the last write in the output directory:\n"
            );
            let _ = writeln!(
                r,
                "| change | n | p50 | p90 | p99 | max | no output | to last feed file p50 / p99 | to STATUS= p50 / p99 | output events per change (median) | files / kB written per change (median) |"
            );
            let _ = writeln!(
                r,
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for kind in [
                Some(Kind::Create),
                Some(Kind::Edit),
                Some(Kind::Delete),
                None,
            ] {
                let name = kind.map_or("**all**", Kind::name);
                let s: Vec<&daemon::Sample> = d
                    .samples
                    .iter()
                    .filter(|s| kind.is_none_or(|k| s.kind == k))
                    .collect();
                let mut lat: Vec<Duration> = s.iter().filter_map(|s| s.latency).collect();
                lat.sort_unstable();
                let mut st: Vec<Duration> = s.iter().filter_map(|s| s.to_status).collect();
                st.sort_unstable();
                let mut fe: Vec<Duration> = s.iter().filter_map(|s| s.to_feeds).collect();
                fe.sort_unstable();
                let writes = median(&s.iter().map(|s| s.writes).collect::<Vec<_>>()).unwrap_or(0);
                let files = median(&s.iter().map(|s| s.files).collect::<Vec<_>>()).unwrap_or(0);
                let kb = median(&s.iter().map(|s| s.bytes).collect::<Vec<_>>()).unwrap_or(0) / 1024;
                if lat.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    r,
                    "| {name} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {writes} | {files} / {kb} |",
                    s.len(),
                    ms(percentile(&lat, 50.0)),
                    ms(percentile(&lat, 90.0)),
                    ms(percentile(&lat, 99.0)),
                    ms(*lat.last().expect("non-empty")),
                    s.len() - lat.len(),
                    fe.first().map_or("-".into(), |_| ms(percentile(&fe, 50.0))),
                    fe.first().map_or("-".into(), |_| ms(percentile(&fe, 99.0))),
                    st.first().map_or("-".into(), |_| ms(percentile(&st, 50.0))),
                    st.first().map_or("-".into(), |_| ms(percentile(&st, 99.0))),
                );
            }
            let _ = writeln!(r);
        }
        if let Some(p) = &d.phases {
            let _ = writeln!(r, "{p}");
        }
        if let Some(b) = &d.burst {
            let _ = writeln!(
                r,
                "Burst: {} new files renamed in over {}; output complete (last write) after **{}**; {} batches; {} output files renamed into place, {} of them more than once{}; output {}.\n",
                b.files,
                secs(b.renames),
                b.complete.map_or("never (timeout)".into(), secs),
                b.batches,
                b.renamed_in.0,
                b.renamed_in.1,
                if b.overflow { " (the bench's output watch overflowed)" } else { "" },
                match &d.burst_equal {
                    Some((true, _)) => "**equal** to a fresh build of the same tree given the daemon's tombstone records (byte for byte)".to_owned(),
                    Some((false, diffs)) => format!("**differs** from a fresh build: {}", diffs.join("; ")),
                    None => "not compared".to_owned(),
                }
            );
        }
        let _ = writeln!(
            r,
            "Resident memory after the changes and the burst: {} (peak {}).\n",
            mb(d.after_memory.0),
            mb(d.after_memory.1)
        );
        if !d.restarts.is_empty() {
            let ready: Vec<Duration> = d.restarts.iter().map(|x| x.1).collect();
            let stop: Vec<Duration> = d.restarts.iter().map(|x| x.0).collect();
            let written = d.restarts.iter().map(|x| x.2).max().unwrap_or(0);
            let events = d.restarts.iter().map(|x| x.3).max().unwrap_or(0);
            let _ = writeln!(
                r,
                "Restart with nothing changed ({} times): SIGTERM to exit {}, start to READY=1 **{}**, files written {written} (stamps), {events} output write events (inotify); VmRSS after restart {}.\n",
                d.restarts.len(),
                spread(&stop),
                spread(&ready),
                mb(d.restart_memory.0)
            );
        }
    }

    // Targets.
    let _ = writeln!(r, "### Targets (issue 4)\n");
    let _ = writeln!(r, "| figure | target | measured | verdict |");
    let _ = writeln!(r, "| --- | --- | --- | --- |");
    let at = |n: u64| sizes.iter().find(|s| s.events == n);
    if let Some(s) = at(100_000) {
        if let (Some(c), Some(f)) = (cold_med(s), floor_med(s)) {
            let x = ratio(c, f);
            let _ = writeln!(
                r,
                "| cold build 100k vs floor | within 3x | {x:.2}x ({} vs {}) | {} |",
                secs(c),
                secs(f),
                verdict(x <= 3.0)
            );
        }
        if let (Some(c), Some(h)) = (cold_med(s), hugo_med(s)) {
            let x = ratio(h, c);
            let _ = writeln!(
                r,
                "| cold build 100k vs Hugo | at least 20x faster | {x:.1}x ({} vs {}) | {} |",
                secs(c),
                secs(h),
                verdict(x >= 20.0)
            );
        }
    }
    match at(1_000_000) {
        Some(s) => {
            if let Some(c) = cold_med(s) {
                let rss = s.cold.iter().map(|u| u.max_rss).max().unwrap_or(0);
                let _ = writeln!(
                    r,
                    "| cold build 1M | under 30 s, under 2 GB peak | {}, {} | {} |",
                    secs(c),
                    mb(rss),
                    verdict(c < Duration::from_secs(30) && rss < 2 << 30)
                );
            }
        }
        None => {
            let _ = writeln!(
                r,
                "| cold build 1M | under 30 s, under 2 GB peak | not measured in this run | - |"
            );
        }
    }
    for s in sizes {
        if let (Some(w), Some(c)) = (warm_med(s), cold_med(s)) {
            let zero = s.warm_written == (0, 0);
            let _ = writeln!(
                r,
                "| warm build {} | zero files, under 1/4 of cold | {} files, {:.3} of cold | {} |",
                size_name(s.events),
                s.warm_written.0.max(s.warm_written.1 as u64),
                ratio(w, c),
                verdict(zero && ratio(w, c) < 0.25)
            );
        }
    }
    if let Some(d) = daemon {
        let mut lat: Vec<Duration> = d.samples.iter().filter_map(|s| s.latency).collect();
        lat.sort_unstable();
        if !lat.is_empty() {
            let missing = d.samples.len() - lat.len();
            let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
            let _ = writeln!(
                r,
                "| latency, one file, {} | p50 < 30 ms, p99 < 100 ms | p50 {} ms, p99 {} ms over {} changes{} | {} |",
                size_name(d.events),
                ms(p50),
                ms(p99),
                d.samples.len(),
                if missing > 0 { format!(", {missing} without output") } else { String::new() },
                verdict(
                    missing == 0
                        && p50 < Duration::from_millis(30)
                        && p99 < Duration::from_millis(100)
                )
            );
        }
        if let Some(b) = &d.burst {
            let equal = matches!(d.burst_equal, Some((true, _)));
            let _ = writeln!(
                r,
                "| burst of {} into {} | consistent within 3 s | {}, output {} | {} |",
                b.files,
                size_name(d.events),
                b.complete.map_or("no completion".into(), secs),
                if equal {
                    "equal to a fresh build"
                } else {
                    "NOT equal to a fresh build"
                },
                verdict(equal && b.complete.is_some_and(|c| c < Duration::from_secs(3)))
            );
        }
        if let Some(ready) = median(&d.restarts.iter().map(|x| x.1).collect::<Vec<_>>()) {
            let written = d
                .restarts
                .iter()
                .map(|x| x.2 as u64 + x.3)
                .max()
                .unwrap_or(0);
            let _ = writeln!(
                r,
                "| daemon restart, nothing changed, {} | READY within 1 s, zero files | {}, {written} files | {} |",
                size_name(d.events),
                secs(ready),
                verdict(ready < Duration::from_secs(1) && written == 0)
            );
        }
    }
    let mems: Vec<String> = sizes
        .iter()
        .filter_map(|s| {
            s.start.as_ref().map(|d| {
                format!(
                    "{}: {} ({:.2} kB/event)",
                    size_name(s.events),
                    mb(d.rss),
                    d.rss as f64 / 1024.0 / s.events as f64
                )
            })
        })
        .collect();
    if let Some(d) = at(100_000).and_then(|s| s.start.as_ref()) {
        let _ = writeln!(
            r,
            "| daemon memory | under 150 MB at 100k, linear to 1M | {} | {} at 100k{} |",
            mems.join(", "),
            verdict(d.rss < 150 << 20),
            if at(1_000_000).is_none() {
                "; 1M not measured"
            } else {
                ""
            }
        );
    }
    r
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':').map(|x| x.1.trim().to_owned()))
        })
        .unwrap_or_default();
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("?".into(), |kb| {
            format!("{:.1} GB", kb as f64 / 1024.0 / 1024.0)
        });
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} CPUs ({model}), {mem} RAM, Linux {}", kernel.trim())
}

fn git_version() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match out(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = out(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!(
                "commit {rev}{}",
                if dirty { " + uncommitted changes" } else { "" }
            )
        }
        None => "version unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary_line() {
        let s = parse_summary("eventfeed: 1000 events from 1000 files (1000 read, 0 skipped) -> 1361 feeds: 4085 files written, 0 unchanged, 0 removed in 0.31 s").unwrap();
        assert_eq!(s.events, 1000);
        assert_eq!(s.skipped, 0);
        assert_eq!(s.feeds, 1361);
        assert_eq!(s.written, 4085);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(100));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(198));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(200));
    }
}
