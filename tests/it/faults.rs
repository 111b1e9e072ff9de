//! Real faults, injected into the real binary: a huge file in the tree, closed
//! output streams, a notify socket nobody reads, a full disk, a folder the daemon
//! cannot write, too few inotify watches, kill -9 mid-burst. Each ends with the
//! output equal to a fresh build. Faults that need root (mounts, sysctls, other
//! users) skip with a message when not root; CI runs as root.

use crate::harness::*;
use crate::watch::settles;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Peak resident memory allowed to a process whose tree holds a 2 GB file.
const MAX_RSS_KB: u64 = 300 * 1024;

/// A small tree of a few events over two days and two contexts.
fn small_tree() -> Tree {
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

/// A sparse file of `len` bytes: it takes no disk, but reading it whole would
/// take `len` bytes of memory.
fn sparse(path: &Path, len: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// The peak resident set of a running process, from /proc.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

#[test]
fn a_2gb_file_in_the_tree_is_an_error_and_costs_no_memory() {
    let t = small_tree();
    let video = t.input.join("news/2017/11/1/video.md");
    sparse(&video, 2 << 30);
    let out = t
        .wrapped(&["/usr/bin/time", "-f", "peak_rss_kb=%M"], "build")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let peak: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak from /usr/bin/time in {err}"));
    println!("build with a 2 GB file: peak RSS {peak} kB");
    assert!(peak < MAX_RSS_KB, "build peaked at {peak} kB");
    let diag = format!(
        "{}:1:1: error: file is 2147483648 bytes, over the limit of 1048576",
        video.display()
    );
    assert!(err.contains(&diag), "{err}");
    assert_same(&t.files(), &t.fresh_build(), "build with a 2 GB file");

    // The daemon: at start (the reconcile reads it) and when another lands.
    fs::remove_dir_all(&t.state).unwrap();
    let d = t.watch();
    sparse(&t.input.join("news/2017/11/2/copy.md"), 2 << 30);
    t.write(
        "news/2017/11/2/late.md",
        Ev::new("2017-11-2", "Late event").text(),
    );
    settles(&t, &d);
    wait_for(
        Duration::from_secs(20),
        || {
            d.log()
                .contains("copy.md:1:1: error: file is 2147483648 bytes")
        },
        || d.log(),
    );
    let peak = peak_rss_kb(d.child.id());
    println!("daemon with two 2 GB files: peak RSS {peak} kB");
    assert!(peak < MAX_RSS_KB, "the daemon peaked at {peak} kB");
}

/// Stdout and stderr both on a pipe whose reader has exited: every write to them
/// fails with EPIPE.
fn closed_pipe() -> (Stdio, Stdio) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    (writer.try_clone().unwrap().into(), writer.into())
}

/// Files that make the binary print diagnostics.
fn bad_files(t: &Tree) {
    t.write("bad/empty.md", "");
    t.write(
        "bad/cut.md",
        "### [2017-11-9](/news/2017/11/9/index.md)\n\n",
    );
}

#[test]
fn closed_stdout_and_stderr_lose_no_work() {
    let t = small_tree();
    bad_files(&t);
    let (out, err) = closed_pipe();
    let status = t
        .cmd("build")
        .env("EVENTFEED_LOG", "debug")
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "build exits cleanly: {status}");
    assert_same(&t.files(), &t.fresh_build(), "build on a closed pipe");

    let (out, err) = closed_pipe();
    let status = t.cmd("check").stdout(out).stderr(err).status().unwrap();
    assert_eq!(status.code(), Some(1), "check still tells: {status}");
    let (out, err) = closed_pipe();
    let help = Command::new(env!("CARGO_BIN_EXE_eventfeed"))
        .arg("--help")
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    assert_eq!(help.code(), Some(0), "--help: {help}");

    // The daemon logs every batch: it must follow changes and stop cleanly.
    let (out, err) = closed_pipe();
    let mut child = t
        .cmd("watch")
        .env("EVENTFEED_LOG", "debug")
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event").text(),
    );
    t.write("bad/cut-too.md", "### [2017-11-9](/x)\n");
    let want = t.fresh_build();
    wait_for(
        Duration::from_secs(30),
        || t.files() == want || child.try_wait().unwrap().is_some(),
        || {
            format!(
                "the daemon on a closed pipe did not catch up: {:?}",
                t.files().keys()
            )
        },
    );
    assert!(child.try_wait().unwrap().is_none(), "the daemon died");
    terminate(child.id());
    let status = wait_child(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status}");
}

fn terminate(pid: u32) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_child(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < timeout, "did not exit in {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_notify_socket_nobody_reads_blocks_nothing() {
    let t = small_tree();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("notify");
    // Bound and never read: its queue fills after a few messages.
    let _socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    // As systemd runs it: WATCHDOG_PID is the daemon's own (the shell's, kept
    // through exec).
    let mut cmd = t.wrapped(&["sh", "-c", r#"WATCHDOG_PID=$$ exec "$0" "$@""#], "watch");
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "100000");
    let mut d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    // Pings every 50 ms fill the queue long before these land.
    for i in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        t.write(
            &format!("news/2017/11/3/more-{i}.md"),
            Ev::new("2017-11-3", &format!("More number {i}")).text(),
        );
        settles(&t, &d);
    }
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
}

/// A notify socket that is read: every message the daemon sends, in order.
struct Listener {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Listener {
    fn new() -> Self {
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

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    fn any(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.messages().iter().any(|m| pred(m))
    }
}

/// The daemon run as systemd runs it: notify socket, watchdog, its own
/// WATCHDOG_PID (the shell's, kept through exec).
fn under_systemd(t: &Tree, socket: &Path, watchdog_usec: &str) -> Command {
    let mut cmd = t.wrapped(&["sh", "-c", r#"WATCHDOG_PID=$$ exec "$0" "$@""#], "watch");
    cmd.env("NOTIFY_SOCKET", socket)
        .env("WATCHDOG_USEC", watchdog_usec);
    cmd
}

#[test]
fn the_watchdog_is_pinged_during_a_long_first_reconcile() {
    let t = small_tree();
    for i in 0..3000 {
        t.write(
            &format!("bulk/{}/e{i}.md", i % 50),
            Ev::new("2016-3-3", &format!("Bulk event {i}")).text(),
        );
    }
    let listener = Listener::new();
    let mut d = t.spawn(under_systemd(&t, &listener.path, "40000"), "log");
    wait_for(
        Duration::from_secs(120),
        || listener.any(|m| m == "READY=1"),
        || format!("{:?}\n{}", listener.messages(), d.log()),
    );
    let log = d.log();
    let ms: u64 = log
        .split(" ms=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no reconcile time in {log}"));
    let before_ready = listener
        .messages()
        .iter()
        .take_while(|m| *m != "READY=1")
        .filter(|m| *m == "WATCHDOG=1")
        .count();
    println!("{before_ready} watchdog pings during a first reconcile of {ms} ms");
    // Every 20 ms of work pings, but a loaded machine may stall between files.
    assert!(
        ms < 100 || before_ready >= 2,
        "{before_ready} pings in {ms} ms"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
}

#[test]
fn sigterm_during_the_first_reconcile_exits_0_and_the_next_start_completes() {
    let t = small_tree();
    for i in 0..3000 {
        let date = format!("2016-{}-{}", 1 + i % 12, 1 + i % 28);
        t.write(
            &format!("bulk/e{i}.md"),
            Ev::new(&date, &format!("Bulk event {i}"))
                .contexts(&[&format!("Bulk {}", i % 40)])
                .text(),
        );
    }
    let mut cmd = t.cmd("watch");
    cmd.env("EVENTFEED_LOG", "debug");
    let mut d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("signal handlers installed"),
        || d.log(),
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(60)), Some(0), "{}", d.log());
    println!(
        "stopped {} the first reconcile",
        if d.log().contains("during the first reconcile") {
            "during"
        } else {
            "after"
        }
    );
    drop(d);
    let d = t.watch();
    settles(&t, &d);
    let temps: Vec<String> = t
        .files()
        .into_keys()
        .filter(|k| k.contains(".eventfeed-"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}

/// Whether the test runs as root; if not, says that it skips.
fn root_or_skip(test: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = fs::metadata("/proc/self").unwrap().uid() == 0;
    if !root {
        println!("skipped {test}: it needs root (CI runs as root)");
    }
    root
}

/// A tmpfs mounted over a folder for the life of the value: unmounted on drop,
/// panics included.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount: {}", stderr(&out));
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status();
        if !ok.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
}

/// Every feed in the output is complete: it parses (and no temp file is there).
fn no_torn_files(t: &Tree) {
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

#[test]
fn a_full_disk_is_retried_until_the_change_lands() {
    if !root_or_skip("a_full_disk_is_retried_until_the_change_lands") {
        return;
    }
    let t = small_tree();
    let _tmpfs = Tmpfs::mount(&t.output, "2m");
    let listener = Listener::new();
    let d = t.spawn(under_systemd(&t, &listener.path, "0"), "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    settles(&t, &d);
    let filler = t.output.join("filler");
    fill(&filler);
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event")
            .contexts(&["Topic 0", "Topic 9"])
            .text(),
    );
    wait_for(
        Duration::from_secs(20),
        || d.log().contains("is full: free space on it; retrying in"),
        || d.log(),
    );
    // What `systemctl status` shows says it too.
    wait_for(
        Duration::from_secs(20),
        || {
            listener.any(|m| {
                m.starts_with("STATUS=behind, retrying every")
                    && m.contains("is full: free space on it")
            })
        },
        || format!("{:?}", listener.messages()),
    );
    no_torn_files(&t);
    fs::remove_file(&filler).unwrap();
    let freed = std::time::Instant::now();
    settles(&t, &d);
    println!("landed {:?} after space was freed", freed.elapsed());
    assert!(d.log().contains("the output is current"), "{}", d.log());
}

/// An id of `nobody`, from `id`.
fn nobody(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Lets `nobody` read the input and own the output and the state: the tree as
/// a service user would have it.
fn for_nobody(t: &Tree) -> (u32, u32) {
    use std::os::unix::fs::{chown, PermissionsExt};
    let (uid, gid) = (nobody("-u"), nobody("-g"));
    let top = t.input.parent().unwrap();
    fs::set_permissions(top, fs::Permissions::from_mode(0o755)).unwrap();
    for dir in [&t.output, &t.state] {
        fs::create_dir_all(dir).unwrap();
        chown(dir, Some(uid), Some(gid)).unwrap();
    }
    (uid, gid)
}

/// The daemon run as `nobody`, once it is watching.
fn watch_as_nobody(t: &Tree) -> Daemon {
    let cmd = t.wrapped(
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
        ],
        "watch",
    );
    let d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching") || d.log().contains("error"),
        || d.log(),
    );
    assert!(d.log().contains("watching"), "{}", d.log());
    d
}

#[test]
fn a_folder_the_daemon_may_not_write_is_retried_once_fixed() {
    if !root_or_skip("a_folder_the_daemon_may_not_write_is_retried_once_fixed") {
        return;
    }
    let t = small_tree();
    let (uid, gid) = for_nobody(&t);
    let d = watch_as_nobody(&t);
    settles(&t, &d);
    // A folder root made (as `build` run as root did before it wrote as the
    // output's owner).
    let day = t.output.join("days/2017/11/03");
    fs::create_dir_all(&day).unwrap();
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event").text(),
    );
    let needle = format!(
        "{} is owned by root, and nobody (the user eventfeed runs as) may not write in it: it must be owned by nobody",
        day.display()
    );
    wait_for(
        Duration::from_secs(20),
        || d.log().contains(&needle),
        || d.log(),
    );
    no_torn_files(&t);
    std::os::unix::fs::chown(&day, Some(uid), Some(gid)).unwrap();
    let fixed = std::time::Instant::now();
    settles(&t, &d);
    println!("landed {:?} after the folder was fixed", fixed.elapsed());
}

#[test]
fn build_as_root_on_another_users_output_leaves_it_theirs() {
    if !root_or_skip("build_as_root_on_another_users_output_leaves_it_theirs") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let t = small_tree();
    let (uid, gid) = for_nobody(&t);
    // `sudo eventfeed build`: root's own state folder, the service's output.
    let root_state = tempfile::tempdir().unwrap();
    let out = t
        .cmd("build")
        .env("XDG_STATE_HOME", root_state.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut owners = Vec::new();
    let mut walk = vec![t.output.clone()];
    while let Some(dir) = walk.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let m = fs::symlink_metadata(e.path()).unwrap();
            owners.push((e.path(), m.uid(), m.gid()));
            if m.is_dir() {
                walk.push(e.path());
            }
        }
    }
    assert!(owners.len() > 10, "{owners:?}");
    let wrong: Vec<_> = owners
        .iter()
        .filter(|(_, u, g)| (*u, *g) != (uid, gid))
        .collect();
    assert!(wrong.is_empty(), "not nobody's: {wrong:?}");
    // The service's daemon replaces those files and adds folders.
    let d = watch_as_nobody(&t);
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event")
            .contexts(&["Topic 0", "Topic 7"])
            .text(),
    );
    settles(&t, &d);
}

/// A sysctl set for the life of the value, restored on drop (panics included).
struct Sysctl {
    path: std::path::PathBuf,
    old: String,
}

impl Sysctl {
    fn set(name: &str, value: &str) -> Self {
        let path = Path::new("/proc/sys").join(name.replace('.', "/"));
        let old = fs::read_to_string(&path).unwrap();
        fs::write(&path, value).unwrap();
        Self { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        fs::write(&self.path, self.old.trim()).unwrap();
    }
}

#[test]
fn too_few_inotify_watches_fall_back_to_polling() {
    if !root_or_skip("too_few_inotify_watches_fall_back_to_polling") {
        return;
    }
    let t = small_tree();
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    fs::write(
        &config,
        format!(
            "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\n[watch]\npoll_interval_ms = 100\n",
            t.input, t.output
        ),
    )
    .unwrap();
    let d = {
        // As short as can be: every process of root shares the limit.
        let _limit = Sysctl::set("fs.inotify.max_user_watches", "1");
        let d = t.spawn(t.cmd_config("watch", &config), "log");
        wait_for(
            Duration::from_secs(30),
            || d.log().contains("polling the input") || d.log().contains("error"),
            || d.log(),
        );
        d
    };
    let log = d.log();
    assert!(
        log.contains("fs.inotify.max_user_watches=1 is too small: this tree has 6 folders")
            && log.contains("raise it with `sysctl fs.inotify.max_user_watches="),
        "{log}"
    );
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    settles(&t, &d);
    t.write(
        "news/2017/12/24/late.md",
        Ev::new("2017-12-24", "Late event")
            .contexts(&["Topic 5"])
            .text(),
    );
    settles(&t, &d);
    t.remove("news/2017/11/1/event-0.md");
    settles(&t, &d);
}

/// A small deterministic random source (xorshift), seeded per run and printed,
/// so that a failing run can be replayed with `EVENTFEED_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("EVENTFEED_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("EVENTFEED_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A burst of file operations: new events, edits, removals.
fn burst(t: &Tree, round: usize, rng: &mut Rng) {
    for i in 0..120 {
        let n = rng.below(60);
        let rel = format!("news/2018/{}/{}/burst-{n}.md", 1 + n % 3, 1 + n % 5);
        match rng.below(4) {
            0 if t.input.join(&rel).exists() => {
                fs::remove_file(t.input.join(&rel)).unwrap();
            }
            _ => {
                let date = format!("2018-{}-{}", 1 + n % 3, 1 + n % 5);
                t.write(
                    &rel,
                    Ev::new(&date, &format!("Burst event {n} edit {round}.{i}"))
                        .contexts(&[&format!("Burst {}", n % 7)])
                        .text(),
                );
            }
        }
    }
}

#[test]
fn kill_9_at_random_points_of_a_burst_loses_nothing() {
    let t = small_tree();
    let mut rng = Rng::new();
    // A reader polling a feed all along: it must never see a torn one.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, feed) = (stop.clone(), t.output.join("all/rss.xml"));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(bytes) = fs::read(&feed) {
                    assert!(
                        feed_rs::parser::parse(&bytes[..]).is_ok(),
                        "a reader saw a torn feed ({} bytes)",
                        bytes.len()
                    );
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut d = t.watch();
    for round in 0..20 {
        // Killed while it follows a burst, or while it starts up again.
        let during_start = rng.below(4) == 0;
        if during_start {
            d.signal("KILL");
            d.wait_exit(Duration::from_secs(10));
            burst(&t, round, &mut rng);
            let cmd = t.cmd("watch");
            d = t.spawn(cmd, "log");
            std::thread::sleep(Duration::from_millis(rng.below(300)));
        } else {
            let delay = Duration::from_millis(rng.below(150));
            let killer = {
                let pid = d.child.id();
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                })
            };
            burst(&t, round, &mut rng);
            killer.join().unwrap();
        }
        d.signal("KILL");
        d.wait_exit(Duration::from_secs(10));
        d = t.watch();
        settles(&t, &d);
        let temps: Vec<String> = t
            .files()
            .into_keys()
            .filter(|k| k.contains(".eventfeed-"))
            .collect();
        assert!(
            temps.is_empty(),
            "round {round}: temp files left: {temps:?}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    println!("a reader read the feed {reads} times, never torn");
    assert!(reads > 100, "the reader barely read: {reads}");
}
