//! Printing without a panic path. `eprintln!` panics when stderr is closed or is
//! a pipe whose reader has gone (EPIPE: `eventfeed build 2>&1 | head -1`), and a
//! panic in the middle of a build would leave its feeds unwritten. Here a line
//! that cannot be printed is dropped: the work goes on and the exit status still
//! tells the outcome.

use std::fmt;
use std::io::{self, Write};

/// Prints a line to stderr like `eprintln!`, dropping it if stderr is gone.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

pub fn line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// The log's writer: stderr, where a failed write is dropped rather than
/// reported (reporting it would itself need stderr). Under journald each line
/// starts with its syslog priority (`<3>` for an error), which journald turns
/// into the entry's level, so `journalctl -p warning` finds bad files.
pub struct Log {
    pub journald: bool,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = LossyStderr;

    fn make_writer(&'a self) -> LossyStderr {
        LossyStderr(None)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LossyStderr {
        use tracing::Level;
        let priority: &[u8] = match *meta.level() {
            Level::ERROR => b"<3>",
            Level::WARN => b"<4>",
            Level::INFO => b"<6>",
            Level::DEBUG | Level::TRACE => b"<7>",
        };
        LossyStderr(self.journald.then_some(priority))
    }
}

/// Stderr with failed writes dropped, and a prefix before the first write.
pub struct LossyStderr(Option<&'static [u8]>);

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(prefix) => {
                let _ = io::stderr().write_all(&[prefix, buf].concat());
            }
            None => {
                let _ = io::stderr().write_all(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
