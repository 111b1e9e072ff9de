//! The command line: arguments parsed by clap, checked into settings, dispatched to
//! a command, and every error printed once with its chain of causes.

use crate::config::{self, Overrides, Settings};
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Keeps RSS, Atom and JSON feeds of a tree of markdown news events.
#[derive(Parser)]
#[command(version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every feed, write what changed, remove what is gone, exit.
    Build {
        #[command(flatten)]
        common: Common,
        /// Ignore the cache of the last run: read every file, render every feed;
        /// drops the tombstones of removed items.
        #[arg(long)]
        fresh: bool,
    },
    /// Lint the input tree like a compiler; exit 1 if any file is invalid.
    /// Needs only the input (`--input` or `input` in the config).
    Check(Common),
    /// Build, then keep the feeds current as files change (the daemon).
    Watch(Common),
    /// The daemon plus an HTTP server for the output directory (small sites,
    /// local preview). Without a base URL, feeds link to this server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (overrides `[serve] listen`, 127.0.0.1:8080).
        #[arg(long, env = "EVENTFEED_LISTEN", value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (TOML); every key has a default.
    #[arg(short, long, env = "EVENTFEED_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Input tree of event files (overrides `input`).
    #[arg(long, env = "EVENTFEED_INPUT", value_name = "DIR")]
    input: Option<PathBuf>,
    /// Output directory for the feeds (overrides `output`).
    #[arg(long, env = "EVENTFEED_OUTPUT", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Public URL the output directory is served at (overrides `base_url`).
    #[arg(long, env = "EVENTFEED_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
}

impl Common {
    fn overrides(&self, served_at: Option<SocketAddr>) -> Overrides {
        Overrides {
            input: self.input.clone(),
            output: self.output.clone(),
            base_url: self.base_url.clone(),
            served_at,
        }
    }

    fn settings(&self) -> Result<Settings, crate::Failure> {
        self.settings_served_at(None)
    }

    fn settings_served_at(
        &self,
        served_at: Option<SocketAddr>,
    ) -> Result<Settings, crate::Failure> {
        config::load(self.config.as_deref(), &self.overrides(served_at))
            .map_err(crate::Failure::Config)
    }

    /// For `check`: only the input is needed.
    fn check_settings(&self) -> Result<Settings, crate::Failure> {
        config::load_for_check(self.config.as_deref(), &self.overrides(None))
            .map_err(crate::Failure::Config)
    }
}

/// Exit statuses, after sysexits.h, so that systemd and scripts can tell them apart.
pub mod status {
    /// Invalid input (`check` found errors).
    pub const INVALID: u8 = 1;
    /// Another instance holds the output directory.
    pub const LOCKED: u8 = 75;
    /// The configuration is invalid.
    pub const CONFIG: u8 = 78;
}

/// The command-line definition, for completions and man pages (`assets`).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    let result = match &cli.command {
        Command::Build { common, fresh } => common
            .settings()
            .and_then(|s| crate::commands::build(&s, *fresh)),
        Command::Check(c) => c.check_settings().and_then(|s| crate::commands::check(&s)),
        Command::Watch(c) => c
            .settings()
            .and_then(|s| crate::watch::run(s, || c.settings())),
        Command::Serve { common, listen } => {
            crate::serve::run(common.config.as_deref(), *listen, |addr| {
                common.settings_served_at(Some(addr))
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
