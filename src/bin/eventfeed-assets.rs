//! `eventfeed-assets DIR`: writes the shell completions and man pages of
//! `eventfeed` into DIR (`completions/`, `man/`), for the Debian package
//! (`packaging/build-deb`). A binary of its own, so that `eventfeed` has no
//! hidden command that completions would offer.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        let _ = writeln!(std::io::stderr(), "usage: eventfeed-assets DIR");
        return std::process::ExitCode::from(2);
    };
    match eventfeed::assets::write(eventfeed::cli::command(), std::path::Path::new(&dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "eventfeed-assets: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

use std::io::Write as _;
