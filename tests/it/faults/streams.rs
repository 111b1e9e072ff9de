//! A 2 GB file in the tree, and stdout and stderr on a pipe nobody reads.

use super::*;
use crate::watch::settles;
use std::process::Stdio;

/// Peak resident memory allowed to a process whose tree holds a 2 GB file.
const MAX_RSS_KB: u64 = 300 * 1024;

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
