//! The few system calls the measurements need and std does not wrap: `wait4`
//! (the child's own CPU time and peak RSS), `getrusage`, `kill`, `syncfs`, and
//! reading `/proc/PID/status`.

use anyhow::{bail, Context as _, Result};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What a finished child cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// Peak resident set, bytes.
    pub max_rss: u64,
}

impl Usage {
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }

    fn from_rusage(wall: Duration, ru: &libc::rusage) -> Self {
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Usage {
            wall,
            user: tv(ru.ru_utime),
            sys: tv(ru.ru_stime),
            // Linux reports kilobytes.
            max_rss: ru.ru_maxrss as u64 * 1024,
        }
    }
}

/// Runs `cmd` to completion and measures it with `wait4`. Fails if it does not
/// exit 0; `what` names it in the error.
pub fn run_measured(cmd: &mut Command, what: &str) -> Result<Usage> {
    let started = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let (status, usage) =
        wait(child.id() as i32, started, None)?.expect("no timeout, so the child was waited for");
    if status != 0 {
        bail!("{what} failed ({})", describe_status(status));
    }
    Ok(usage)
}

/// Waits for the child `pid` (with `WNOHANG` polling when there is a timeout):
/// `Ok(None)` if it is still running after `timeout`.
pub fn wait(pid: i32, started: Instant, timeout: Option<Duration>) -> Result<Option<(i32, Usage)>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let flags = if deadline.is_some() { libc::WNOHANG } else { 0 };
        match wait4(pid, flags)? {
            Some((status, ru)) => {
                return Ok(Some((status, Usage::from_rusage(started.elapsed(), &ru))))
            }
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

#[allow(unsafe_code)] // wait4 is not wrapped by std
fn wait4(pid: i32, flags: i32) -> Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are valid for the duration of the call.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r == pid {
            return Ok(Some((status, ru)));
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e).context("wait4");
        }
    }
}

/// "exit 1", "signal 9".
pub fn describe_status(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exit {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("status {status:#x}")
    }
}

pub fn exited_ok(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// CPU time (user + system) of this process so far.
#[allow(unsafe_code)] // getrusage is not wrapped by std
pub fn self_cpu() -> Duration {
    // SAFETY: rusage is plain old data; the pointer is valid during the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    Usage::from_rusage(Duration::ZERO, &ru).cpu()
}

#[allow(unsafe_code)] // kill is not wrapped by std (beyond SIGKILL)
pub fn signal(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: no pointers involved.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error()).context("kill");
    }
    Ok(())
}

/// One `syncfs` on the file system holding `dir`.
#[allow(unsafe_code)] // syncfs is not wrapped by std
pub fn syncfs(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    // SAFETY: the descriptor is valid for the duration of the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error()).context("syncfs");
    }
    Ok(())
}

/// (VmRSS, VmHWM) of a process, bytes.
pub fn memory(pid: i32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("bad line {line:?}"))?;
        Ok(kb * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}
