//! `eventfeed-bench publish`: what publishing to object storage costs per change
//! (issue 11). On a generated corpus: a cold build, the first fill with
//! `eventfeed publish`, then the daemon with `[publish]` and single changes
//! (create, edit, delete, one at a time): the objects uploaded and deleted and
//! the bytes uploaded for each, and the time from the change (the rename into
//! the tree) until the store holds all of it (the daemon's `published ...
//! behind=0` line, by its own timestamp). Last, a no-op `eventfeed publish`:
//! what a list-and-compare sync (`aws s3 sync`, `hugo deploy`) pays on every run.
//!
//! The store is `s3s-fs` on loopback (a real S3 server) when it is installed,
//! else a `file://` folder (`--store file`).

use crate::corpus::{self, CorpusOptions, Generator};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

#[derive(Args)]
pub struct PublishArgs {
    /// Events in the corpus.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Single changes to measure (create, edit, delete in turn).
    #[arg(long, default_value_t = 60)]
    changes: usize,
    /// `s3s-fs` (a real S3 server on loopback, the default when installed) or
    /// `file` (a folder).
    #[arg(long)]
    store: Option<String>,
    /// Working folder (emptied first).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/tmp/eventfeed-bench-publish"
    )]
    work: PathBuf,
    /// The eventfeed binary (default: the one beside this binary).
    #[arg(long, value_name = "PATH")]
    eventfeed: Option<PathBuf>,
}

const KEY: (&str, &str) = ("bench", "bench-secret");

struct Change {
    kind: &'static str,
    uploaded: u64,
    deleted: u64,
    bytes: u64,
    to_store: Option<Duration>,
}

pub fn run(args: &PublishArgs) -> Result<()> {
    let bin = match &args.eventfeed {
        Some(b) => b.canonicalize()?,
        None => std::env::current_exe()?
            .parent()
            .context("no folder")?
            .join("eventfeed"),
    };
    if !bin.is_file() {
        bail!(
            "{} not found: build it first or pass --eventfeed",
            bin.display()
        );
    }
    if args.work.exists() {
        fs::remove_dir_all(&args.work)?;
    }
    fs::create_dir_all(&args.work)?;
    let work = args.work.canonicalize()?;
    let s3s = which("s3s-fs");
    let use_s3 = match args.store.as_deref() {
        Some("file") => false,
        Some("s3s-fs") => true,
        None => s3s.is_some(),
        Some(other) => bail!("--store: s3s-fs or file, not {other}"),
    };
    // The store.
    let mut server: Option<Child> = None;
    let publish = if use_s3 {
        let s3s = s3s.context("s3s-fs is not installed")?;
        let root = work.join("s3");
        fs::create_dir_all(root.join("bench"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        server = Some(
            Command::new(s3s)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", KEY.0, "--secret-key", KEY.1])
                .arg(&root)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t.elapsed() > Duration::from_secs(20) {
                bail!("s3s-fs does not listen");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        format!(
            "destination = \"s3://bench/feeds\"\nendpoint = \"http://127.0.0.1:{port}\"\nallow_http = true\nregion = \"us-east-1\"\n"
        )
    } else {
        format!(
            "destination = \"file://{}\"\n",
            work.join("mirror").display()
        )
    };
    let result = measure(args, &bin, &work, &publish, use_s3);
    if let Some(mut s) = server {
        let _ = s.kill();
        let _ = s.wait();
    }
    result
}

fn measure(args: &PublishArgs, bin: &Path, work: &Path, publish: &str, s3: bool) -> Result<()> {
    let opts = CorpusOptions::new(args.events, 1);
    let corpus = work.join("corpus");
    let stats = corpus::generate(&opts, &corpus)?;
    let config = work.join("eventfeed.toml");
    fs::write(
        &config,
        format!(
            "input = {:?}\noutput = {:?}\nstate_dir = {:?}\nbase_url = \"https://example.org/feeds/\"\n[publish]\n{publish}",
            corpus,
            work.join("out"),
            work.join("state")
        ),
    )?;
    let eventfeed = |sub: &str| {
        let mut cmd = Command::new(bin);
        cmd.arg(sub)
            .arg("--config")
            .arg(&config)
            .env_remove("EVENTFEED_CONFIG")
            .env("AWS_ACCESS_KEY_ID", KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", KEY.1)
            .env("EVENTFEED_LOG", "info");
        cmd
    };
    let summary = |sub: &str| -> Result<(String, Duration)> {
        let t = Instant::now();
        let out = eventfeed(sub).stdin(Stdio::null()).output()?;
        let took = t.elapsed();
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("eventfeed {sub} failed: {text}");
        }
        Ok((text.lines().last().unwrap_or_default().to_owned(), took))
    };
    let (built, _) = summary("build")?;
    let (filled, fill_time) = summary("publish")?;

    let log_path = work.join("daemon.log");
    let mut daemon = eventfeed("watch")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_path)?)
        .spawn()?;
    let log = || fs::read_to_string(&log_path).unwrap_or_default();
    let t = Instant::now();
    while !log().contains(" watching ") {
        if t.elapsed() > Duration::from_secs(300) {
            let _ = daemon.kill();
            bail!("the daemon did not start: {}", log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let generator = Generator::new(&opts);
    let staging = work.join("staging");
    fs::create_dir_all(&staging)?;
    let mut changes = Vec::new();
    let mut next = args.events;
    for k in 0..args.changes {
        let seen = log().len();
        let tmp = staging.join("change.md");
        // Events spread over the corpus, none touched twice.
        let i = (k as u64 * 7919 + 13) % args.events;
        let kind = ["create", "edit", "delete"][k % 3];
        let t0 = SystemTime::now();
        match kind {
            "create" => {
                let ev = generator.event(next);
                next += 1;
                fs::write(&tmp, &ev.text)?;
                let target = corpus.join(&ev.path);
                fs::create_dir_all(target.parent().expect("a folder"))?;
                let t0 = SystemTime::now();
                fs::rename(&tmp, &target)?;
                changes.push(wait_published(&log, seen, t0, kind)?);
                continue;
            }
            "edit" => {
                let ev = generator.edited_event(i, 1);
                fs::write(&tmp, &ev.text)?;
                let t0 = SystemTime::now();
                fs::rename(&tmp, corpus.join(&ev.path))?;
                changes.push(wait_published(&log, seen, t0, kind)?);
                continue;
            }
            _ => {
                let target = corpus.join(generator.event(i + 1).path);
                if fs::remove_file(&target).is_err() {
                    continue;
                }
            }
        }
        changes.push(wait_published(&log, seen, t0, kind)?);
    }
    let _ = Command::new("kill").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    let (noop, noop_time) = summary("publish")?;

    println!(
        "## Publishing ({} events, store: {})\n",
        stats.events,
        if s3 { "s3s-fs on loopback" } else { "file://" }
    );
    println!("- build: `{built}`");
    println!(
        "- first fill: `{filled}` ({:.2} s)",
        fill_time.as_secs_f64()
    );
    println!(
        "- a no-op `eventfeed publish` (list the store, compare every file, what a sync per change costs): `{noop}` ({:.2} s)\n",
        noop_time.as_secs_f64()
    );
    println!("| change | n | objects uploaded (median) | deleted (median) | kB uploaded (median) | to the store p50 | p90 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for kind in ["create", "edit", "delete", "all"] {
        let of: Vec<&Change> = changes
            .iter()
            .filter(|c| kind == "all" || c.kind == kind)
            .collect();
        if of.is_empty() {
            continue;
        }
        let med = |f: &dyn Fn(&Change) -> u64| {
            let mut v: Vec<u64> = of.iter().map(|c| f(c)).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let mut times: Vec<Duration> = of.iter().filter_map(|c| c.to_store).collect();
        times.sort_unstable();
        let pct = |p: f64| {
            times
                .get(((times.len() as f64 - 1.0) * p).round() as usize)
                .map_or("-".to_owned(), |d| {
                    format!("{:.0} ms", d.as_secs_f64() * 1e3)
                })
        };
        println!(
            "| {kind} | {} | {} | {} | {} | {} | {} | {} |",
            of.len(),
            med(&|c| c.uploaded),
            med(&|c| c.deleted),
            med(&|c| c.bytes) / 1000,
            pct(0.5),
            pct(0.9),
            pct(1.0)
        );
    }
    Ok(())
}

/// Waits until the daemon's log, past `seen`, has a batch and then a
/// `published` line with `behind=0`, and no more for 300 ms; sums what the
/// `published` lines say.
fn wait_published(
    log: &dyn Fn() -> String,
    seen: usize,
    t0: SystemTime,
    kind: &'static str,
) -> Result<Change> {
    let started = Instant::now();
    let mut settled_at: Option<(Instant, usize)> = None;
    loop {
        let text = log();
        let new = text.get(seen..).unwrap_or_default();
        let lines: Vec<&str> = new.lines().filter(|l| l.contains(" published ")).collect();
        let done = lines.last().is_some_and(|l| field(l, "behind") == Some(0));
        match settled_at {
            Some((at, n)) if n == lines.len() && at.elapsed() > Duration::from_millis(300) => {
                let mut change = Change {
                    kind,
                    uploaded: 0,
                    deleted: 0,
                    bytes: 0,
                    to_store: None,
                };
                for l in &lines {
                    change.uploaded += field(l, "uploaded").unwrap_or(0);
                    change.deleted += field(l, "deleted").unwrap_or(0);
                    change.bytes += field(l, "bytes").unwrap_or(0);
                }
                change.to_store = lines.last().and_then(|l| {
                    let stamp = l.split_whitespace().next()?;
                    let at = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
                    let at = SystemTime::from(at);
                    at.duration_since(t0).ok()
                });
                return Ok(change);
            }
            Some((_, n)) if n == lines.len() => {}
            _ if done => settled_at = Some((Instant::now(), lines.len())),
            _ => settled_at = None,
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("nothing published 30 s after a change: {new}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `key=<number>` in a log line.
fn field(line: &str, key: &str) -> Option<u64> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    line[at..].split_whitespace().next()?.parse().ok()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
