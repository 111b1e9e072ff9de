//! The daemon (to come).
use crate::config::Settings;
use std::process::ExitCode;

pub fn run(
    settings: Settings,
    _reload: impl Fn() -> Result<Settings, crate::Failure>,
) -> Result<ExitCode, crate::Failure> {
    crate::commands::build(&settings)
}
