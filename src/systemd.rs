//! Talking to systemd: `READY=1`, `STATUS=`, `WATCHDOG=1` datagrams to
//! `$NOTIFY_SOCKET`. Sends never block: when PID 1 is busy and the socket's queue
//! is full, the message is dropped (a later status or ping replaces it) rather
//! than stopping the daemon, its batches and its signal handling.
//!
//! The watchdog is pinged from the main loop and, through [`keepalive`], from
//! the per-file loops of long work (a reconcile of a million events), so a
//! busy daemon is not taken for a hung one; a hung one still stops pinging.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Sends one message (`READY=1`, `STATUS=...`) if systemd asked for them.
/// Returns whether it was sent; a full queue or a missing socket drops it.
pub fn notify(message: &str) -> bool {
    let Some(addr) = socket() else {
        return false;
    };
    let sent = UnixDatagram::unbound().and_then(|sock| {
        sock.set_nonblocking(true)?;
        sock.send_to_addr(message.as_bytes(), addr)
    });
    match sent {
        Ok(_) => true,
        Err(e) => {
            if e.kind() != io::ErrorKind::WouldBlock {
                tracing::debug!("cannot notify systemd: {e}");
            }
            false
        }
    }
}

/// The notify socket of `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace), read once.
fn socket() -> Option<&'static SocketAddr> {
    static SOCKET: OnceLock<Option<SocketAddr>> = OnceLock::new();
    SOCKET
        .get_or_init(|| {
            let path = std::env::var_os("NOTIFY_SOCKET")?;
            let bytes = path.as_encoded_bytes();
            match bytes.strip_prefix(b"@") {
                Some(name) => {
                    use std::os::linux::net::SocketAddrExt;
                    SocketAddr::from_abstract_name(name).ok()
                }
                None => SocketAddr::from_pathname(&path).ok(),
            }
        })
        .as_ref()
}

/// How often to ping the watchdog: half the timeout systemd asked for
/// (`$WATCHDOG_USEC`, for this process per `$WATCHDOG_PID`), if it asked.
pub fn watchdog_interval() -> Option<Duration> {
    static INTERVAL: OnceLock<Option<Duration>> = OnceLock::new();
    *INTERVAL.get_or_init(|| {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.parse::<u32>().ok()? != std::process::id() {
                return None;
            }
        }
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    })
}

/// Pings the watchdog if half its timeout has passed since the last ping. Cheap
/// enough to call once per file from any thread.
pub fn keepalive() {
    let Some(interval) = watchdog_interval() else {
        return;
    };
    static START: OnceLock<Instant> = OnceLock::new();
    static LAST_MS: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let last = LAST_MS.load(Ordering::Relaxed);
    let due = now.saturating_sub(last) >= interval.as_millis() as u64;
    // One thread wins the ping; the others see it done.
    if due
        && LAST_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        notify("WATCHDOG=1");
    }
}
