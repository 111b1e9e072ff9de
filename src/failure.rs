//! How a command fails, and with which exit status: configuration errors and a held
//! lock are final (systemd must not restart-loop on them); the rest is a runtime
//! failure worth a restart.

use crate::cli::status;
use crate::console::say;
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("configuration: {0:#}")]
    Config(anyhow::Error),
    #[error("another eventfeed holds {0}; only one may write an output directory at a time")]
    Locked(String),
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl Failure {
    pub fn report(&self) -> ExitCode {
        say!("eventfeed: error: {self}");
        match self {
            Self::Config(_) => ExitCode::from(status::CONFIG),
            Self::Locked(_) => ExitCode::from(status::LOCKED),
            Self::Runtime(_) => ExitCode::FAILURE,
        }
    }
}
