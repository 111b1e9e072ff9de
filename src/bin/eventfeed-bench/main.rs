//! `eventfeed-bench`: the project's benchmark: `corpus` generates a corpus,
//! `run` takes every measurement of BENCHMARKS.md in one go; `publish` measures
//! publishing to object storage.

mod corpus;
mod daemon;
mod hugo;
mod measure;
mod publish;
mod sys;
mod tree;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "eventfeed-bench", version, about = "Benchmark of eventfeed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a deterministic corpus of event files under DIR/news/.
    Corpus(CorpusArgs),
    /// Measure cold, warm and floor builds, the daemon (latency, burst, restart,
    /// memory) and optionally a peer; print a markdown report.
    Run(measure::RunArgs),
    /// What publishing to object storage costs per change: uploads, bytes and
    /// the time until the store holds it (issue 11).
    Publish(publish::PublishArgs),
}

#[derive(Args)]
struct CorpusArgs {
    /// Number of events.
    #[arg(long)]
    events: u64,
    /// Seed of the generator (same seed, same corpus).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (the events go to DIR/news/).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Date of the first day.
    #[arg(long, default_value = "2001-01-01")]
    start: NaiveDate,
    /// Remove DIR/news first if it exists.
    #[arg(long)]
    force: bool,
    /// How many of the most used contexts to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Corpus(args) => corpus_command(&args),
        Command::Run(args) => measure::run(&args),
        Command::Publish(args) => publish::run(&args),
    }
}

fn corpus_command(args: &CorpusArgs) -> Result<()> {
    let news = args.out.join("news");
    if args.force && news.exists() {
        std::fs::remove_dir_all(&news).with_context(|| format!("removing {}", news.display()))?;
    }
    let opts = corpus::CorpusOptions {
        events: args.events,
        seed: args.seed,
        start: args.start,
    };
    let started = Instant::now();
    let stats = corpus::generate(&opts, &args.out)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} events, {} days, {} files, {:.1} MB, {} distinct contexts, {} events without context, in {secs:.2} s",
        stats.events,
        stats.days,
        stats.files,
        stats.bytes as f64 / 1e6,
        stats.contexts,
        stats.events_without_context,
    );
    let counts: Vec<u64> = stats.context_events.iter().map(|c| c.1).collect();
    let buckets: [(u64, u64, &str); 7] = [
        (1, 1, "1"),
        (2, 2, "2"),
        (3, 3, "3"),
        (4, 10, "4-10"),
        (11, 100, "11-100"),
        (101, 1000, "101-1000"),
        (1001, u64::MAX, ">1000"),
    ];
    let histogram: Vec<String> = buckets
        .iter()
        .map(|&(lo, hi, label)| {
            let n = counts.iter().filter(|&&c| (lo..=hi).contains(&c)).count();
            format!("{label}: {n}")
        })
        .collect();
    println!("contexts by number of events: {}", histogram.join(", "));
    for (name, n) in stats.context_events.iter().take(args.top) {
        println!("  {n:>8}  {name}");
    }
    Ok(())
}
