//! A small fixture harness: a temp input tree and output directory, event files in
//! the archive's format, the real binary run on them, and the output read back.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "https://example.org/feeds/";

/// Daemons started through [`Tree::watch`] hold this shared while they set up
/// their watches; the test that lowers the inotify watch limit (a sysctl of all
/// of root's processes) holds it alone, so that no other daemon of this run
/// falls back to polling by chance.
pub static INOTIFY: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub struct Tree {
    _dir: tempfile::TempDir,
    pub input: PathBuf,
    pub output: PathBuf,
    pub state: PathBuf,
}

impl Tree {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        let output = dir.path().join("out");
        let state = dir.path().join("state");
        fs::create_dir_all(&input).unwrap();
        Self {
            _dir: dir,
            input,
            output,
            state,
        }
    }

    /// Writes a file under the input tree, creating folders.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.input.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        fs::remove_file(self.input.join(rel)).unwrap();
        self
    }

    /// The binary, pointed at this tree.
    pub fn cmd(&self, sub: &str) -> Command {
        self.wrapped(&[], sub)
    }

    /// The binary pointed at this tree, run through `wrapper` (a program and its
    /// arguments, such as `/usr/bin/time -f %M` or `setpriv --reuid=...`).
    pub fn wrapped(&self, wrapper: &[&str], sub: &str) -> Command {
        let bin = env!("CARGO_BIN_EXE_eventfeed");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(bin);
                cmd
            }
            None => Command::new(bin),
        };
        cmd.arg(sub)
            .arg("--input")
            .arg(&self.input)
            .arg("--output")
            .arg(&self.output)
            .arg("--base-url")
            .arg(BASE)
            .env_remove("EVENTFEED_CONFIG")
            .env("XDG_STATE_HOME", &self.state)
            .env("EVENTFEED_LOG", "info");
        cmd
    }

    pub fn build(&self) -> Output {
        let out = self.cmd("build").output().unwrap();
        assert!(
            out.status.success(),
            "build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `build` with a config file (`toml`, written beside the input) on top of
    /// the flags; it must succeed.
    pub fn build_with_config(&self, toml: &str) -> Output {
        let config = self.input.parent().unwrap().join("eventfeed.toml");
        fs::write(&config, toml).unwrap();
        let out = self
            .cmd("build")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        out
    }

    /// Temp files of the sink left in the output (none may outlive a write).
    pub fn temp_files(&self) -> Vec<String> {
        self.files()
            .into_keys()
            .filter(|k| k.contains(".eventfeed-"))
            .collect()
    }

    pub fn check(&self) -> Output {
        self.cmd("check").output().unwrap()
    }

    /// The output a fresh `build` of the current input gives, in a separate folder:
    /// what the daemon's output must equal once it settles. It is given the
    /// tombstone records this tree's runs left (see [`Tree::tombstones`]), the
    /// memory a build of the input alone cannot have.
    pub fn fresh_build(&self) -> BTreeMap<String, Vec<u8>> {
        self.fresh_build_with(self.tombstones().as_deref())
    }

    /// A fresh `build` of the current input in a separate folder, starting from
    /// the tombstone records `tombstones` (the bytes of a `tombstones.json`).
    pub fn fresh_build_with(&self, tombstones: Option<&[u8]>) -> BTreeMap<String, Vec<u8>> {
        let out = tempfile::tempdir().unwrap();
        let state = out.path().join(".state");
        fs::create_dir_all(&state).unwrap();
        if let Some(bytes) = tombstones {
            fs::write(state.join("tombstones.json"), bytes).unwrap();
        }
        let config = state.join("eventfeed.toml");
        fs::write(
            &config,
            format!("state_dir = {:?}\n", state.to_str().unwrap()),
        )
        .unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_eventfeed"))
            .args(["build", "--base-url", BASE, "--input"])
            .arg(&self.input)
            .arg("--output")
            .arg(out.path())
            .arg("--config")
            .arg(&config)
            .env_remove("EVENTFEED_CONFIG")
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mut files = files_under(out.path());
        files.retain(|k, _| !k.starts_with(".state"));
        files
    }

    /// A configuration file for this tree (input, output, base URL) with
    /// `extra` keys, for the daemon started with [`Tree::watch_config`].
    pub fn config(&self, extra: &str) -> PathBuf {
        let config = self.input.parent().unwrap().join("eventfeed.toml");
        fs::write(
            &config,
            format!(
                "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\n{extra}",
                self.input.to_str().unwrap(),
                self.output.to_str().unwrap()
            ),
        )
        .unwrap();
        config
    }

    /// A feed folder whose feed lost its last item: its feeds are still there,
    /// valid and empty, the Atom one with RFC 6721 tombstones (until they expire).
    pub fn assert_emptied(&self, dir: &str) {
        let atom = format!("{dir}/atom.xml");
        assert!(self.feed(&atom).entries.is_empty(), "{atom} has entries");
        let text = String::from_utf8(self.read(&atom)).unwrap();
        assert!(
            text.contains("<at:deleted-entry "),
            "{atom}: no tombstone\n{text}"
        );
        assert!(self.output.join(dir).join("rss.xml").exists());
        assert!(self.output.join(dir).join("feed.json").exists());
    }

    /// The tombstone records (`tombstones.json`) of this tree's state
    /// directory, if there are any.
    pub fn tombstones(&self) -> Option<Vec<u8>> {
        fn find(dir: &Path) -> Option<PathBuf> {
            for e in fs::read_dir(dir).ok()?.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if let Some(found) = find(&p) {
                        return Some(found);
                    }
                } else if p.file_name().is_some_and(|n| n == "tombstones.json") {
                    return Some(p);
                }
            }
            None
        }
        fs::read(find(&self.state)?).ok()
    }

    /// Every output file (but the lock), by relative path.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        files_under(&self.output)
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.output.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn feed(&self, rel: &str) -> feed_rs::model::Feed {
        feed_rs::parser::parse(&self.read(rel)[..]).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The binary with a configuration file and no flags (so that a reload sees
    /// every key of the file).
    pub fn cmd_config(&self, sub: &str, config: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventfeed"));
        cmd.arg(sub)
            .arg("--config")
            .arg(config)
            .env_remove("EVENTFEED_CONFIG")
            .env_remove("EVENTFEED_INPUT")
            .env_remove("EVENTFEED_OUTPUT")
            .env_remove("EVENTFEED_BASE_URL")
            .env("XDG_STATE_HOME", &self.state)
            .env("EVENTFEED_LOG", "info");
        cmd
    }

    /// Starts the daemon and waits until it says it is watching.
    pub fn watch(&self) -> Daemon {
        self.watch_with(self.cmd("watch"))
    }

    /// Starts the daemon with a configuration file instead of flags, and waits
    /// until it says it is watching.
    pub fn watch_config(&self, config: &Path) -> Daemon {
        self.watch_with(self.cmd_config("watch", config))
    }

    /// Starts the daemon as `cmd` says, and waits until it says it is watching.
    pub fn watch_with(&self, cmd: Command) -> Daemon {
        let _shared = INOTIFY.read().unwrap_or_else(|e| e.into_inner());
        let daemon = self.spawn(cmd, "log");
        wait_for(
            Duration::from_secs(60),
            || daemon.log().contains("watching"),
            || daemon.log(),
        );
        daemon
    }

    /// Starts `cmd` in the background, its stderr going to a log file beside the
    /// output directory (`out.<log>`), without waiting for anything.
    pub fn spawn(&self, mut cmd: Command, log: &str) -> Daemon {
        let log = self.output.with_extension(log);
        let child = cmd
            .stderr(fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
}

/// The seed file (an event of 2 November 2017) and two events of the day
/// after, about Zürich and Bern: two days, the older an archive.
pub fn two_day_tree() -> Tree {
    let t = Tree::new();
    t.write("seed.txt", include_bytes!("../fixtures/seed.txt"));
    t.write(
        "a.md",
        Ev::new("2017-11-3", "An event about Zürich")
            .contexts(&["Zürich"])
            .text(),
    );
    t.write(
        "b.md",
        Ev::new("2017-11-3", "An event about Bern")
            .contexts(&["Bern"])
            .text(),
    );
    t
}

pub fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if !p.ends_with(".eventfeed.lock") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap_or_default());
            }
        }
    }
    walk(root, root, &mut out);
    out
}

pub struct Daemon {
    pub child: Child,
    log: PathBuf,
}

impl Daemon {
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit; its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon did not exit; log:\n{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` until it holds; on timeout, panics with `context()`.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool, context: impl Fn() -> String) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?}:\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An event file in the archive's format.
pub struct Ev<'a> {
    pub date: &'a str,
    pub headline: &'a str,
    pub summary: &'a str,
    /// Related entries: (headline, path date, contexts).
    pub related: Vec<(&'a str, &'a str, Vec<&'a str>)>,
}

impl<'a> Ev<'a> {
    pub fn new(date: &'a str, headline: &'a str) -> Self {
        Self {
            date,
            headline,
            summary: "Something happened.",
            related: Vec::new(),
        }
    }

    pub fn contexts(mut self, contexts: &[&'a str]) -> Self {
        self.related
            .push(("An older related event", "2001/1/1", contexts.to_vec()));
        self
    }

    pub fn text(&self) -> String {
        let path = self.date.replace('-', "/");
        let mut s = format!(
            "### [{}](/news/{path}/index.md)\n\n# {} \n\n{}\n\n\n### Sources:\n\n1. [The Paper](https://paper.example/{})\n1. [Cover Image](https://img.example/a.jpg?w=1200&amp;h=630)\n",
            self.date,
            self.headline,
            self.summary,
            slug(self.headline)
        );
        if !self.related.is_empty() {
            s.push_str("\n### Related:\n\n");
            for (i, (title, date, contexts)) in self.related.iter().enumerate() {
                s.push_str(&format!(
                    "{}. [{title} ](/news/{date}/{}.md) _Context: {}_\n",
                    i + 1,
                    slug(title),
                    contexts.join(", ")
                ));
            }
        }
        s
    }
}

pub fn slug(headline: &str) -> String {
    let cut: String = headline
        .chars()
        .take(140)
        .collect::<String>()
        .to_lowercase();
    let mut out = String::new();
    for c in cut.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Asserts two output trees are equal, naming the files that differ (not dumping
/// their bytes).
#[track_caller]
pub fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differing: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        differing.is_empty(),
        "{what}: these files differ: {differing:?}"
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
