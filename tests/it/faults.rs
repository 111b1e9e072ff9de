//! Real faults, injected into the real binary: a huge file in the tree, closed
//! output streams, a notify socket nobody reads, a full disk, a folder the daemon
//! cannot write, too few inotify watches, kill -9 mid-burst. Each ends with the
//! output equal to a fresh build. Faults that need root (mounts, sysctls, other
//! users) skip with a message when not root; CI runs as root.

use crate::harness::*;
use crate::watch::settles;
use std::fs;
use std::path::Path;
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
