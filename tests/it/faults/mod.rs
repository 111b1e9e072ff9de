//! Real faults, injected into the real binary: a huge file in the tree, closed
//! output streams, a notify socket nobody reads, a full disk, a folder the daemon
//! cannot write, too few inotify watches, kill -9 mid-burst. Each ends with the
//! output equal to a fresh build. Faults that need root (mounts, sysctls, other
//! users) skip with a message when not root; CI runs as root.

mod kill;
mod streams;
mod systemd;
mod watches;
mod writes;

use crate::harness::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A small tree of a few events over two days and two contexts.
pub(crate) fn small_tree() -> Tree {
    let t = Tree::new();
    for i in 0..6 {
        let date = format!("2017-11-{}", 1 + i % 2);
        let headline = format!("Event number {i}");
        t.write(
            &format!("news/2017/11/{}/event-{i}.md", 1 + i % 2),
            Ev::new(&date, &headline)
                .contexts(&[&format!("Topic {}", i % 2)])
                .text(),
        );
    }
    t
}

/// Whether the test runs as root; if not, says that it skips.
pub(crate) fn root_or_skip(test: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = fs::metadata("/proc/self").unwrap().uid() == 0;
    if !root {
        println!("skipped {test}: it needs root (CI runs as root)");
    }
    root
}

/// Every feed in the output is complete: it parses (and no temp file is there).
pub(crate) fn no_torn_files(t: &Tree) {
    for (path, bytes) in t.files() {
        assert!(!path.contains(".eventfeed-"), "temp file left: {path}");
        if path.ends_with(".xml") || path.ends_with(".json") {
            assert!(
                feed_rs::parser::parse(&bytes[..]).is_ok(),
                "{path} is torn: {} bytes",
                bytes.len()
            );
        }
    }
}

pub(crate) fn terminate(pid: u32) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

pub(crate) fn wait_child(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < timeout, "did not exit in {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A notify socket that is read: every message the daemon sends, in order.
pub(crate) struct Listener {
    _dir: tempfile::TempDir,
    pub(crate) path: std::path::PathBuf,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Listener {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let m = messages.clone();
        // Ends with the test process; a blocked recv holds nothing up.
        std::thread::spawn(move || {
            let mut buf = vec![0; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                m.lock().unwrap().push(msg);
            }
        });
        Self {
            _dir: dir,
            path,
            messages,
        }
    }

    pub(crate) fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    pub(crate) fn any(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.messages().iter().any(|m| pred(m))
    }
}

/// The daemon run as systemd runs it: notify socket, watchdog, its own
/// WATCHDOG_PID (the shell's, kept through exec).
pub(crate) fn under_systemd(t: &Tree, socket: &Path, watchdog_usec: &str) -> Command {
    let mut cmd = t.wrapped(&["sh", "-c", r#"WATCHDOG_PID=$$ exec "$0" "$@""#], "watch");
    cmd.env("NOTIFY_SOCKET", socket)
        .env("WATCHDOG_USEC", watchdog_usec);
    cmd
}
