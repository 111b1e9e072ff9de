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
/// reported (reporting it would itself need stderr).
pub struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
