//! The store (bodies, stamps and output stamps in the state directory): a
//! restart reads no file and renders from the stored bodies; a `kill -9` at any
//! moment leaves a store the next start can use; a damaged one is started afresh;
//! a restart takes the index settled at the last stop (and a build after it,
//! what it says of the index); files removed between runs are forgotten.

use crate::harness::*;
use crate::watch::settles;
use std::fs;
use std::time::Duration;

fn event(i: usize, headline: &str) -> String {
    let date = format!("2018-3-{}", 1 + i % 3);
    Ev::new(&date, headline)
        .contexts(&["Shared topic", &format!("Topic {}", i % 4)])
        .text()
}

fn store_file(t: &Tree) -> std::path::PathBuf {
    let found = files_under(&t.state)
        .into_keys()
        .find(|k| k.ends_with("store.redb"))
        .expect("a store in the state directory");
    t.state.join(found)
}

#[test]
fn a_restart_reads_no_file_and_renders_from_stored_bodies() {
    let t = Tree::new();
    for i in 0..30 {
        t.write(
            &format!("news/e{i}.md"),
            event(i, &format!("Stored event {i}")),
        );
    }
    t.build();
    let d = t.watch();
    assert!(d.log().contains("read=0"), "{}", d.log());
    // One new event re-renders feeds that show 29 others: their bodies come
    // from the store, and must read as a fresh build has them.
    t.write("news/new.md", event(0, "A new event among stored ones"));
    settles(&t, &d);
    let shared = String::from_utf8(t.read("contexts/shared-topic/atom.xml")).unwrap();
    assert!(shared.contains("Stored event 7"), "{shared}");
}

#[test]
fn kill_9_at_any_moment_leaves_a_store_the_next_start_can_use() {
    let t = Tree::new();
    for i in 0..40 {
        t.write(&format!("news/e{i}.md"), event(i, &format!("Event {i}")));
    }
    for (round, delay_ms) in [0u64, 3, 10, 30, 100, 400].into_iter().enumerate() {
        let mut d = t.watch();
        // A change in flight when the kill comes: an edit, a new file, a removal.
        t.write(
            &format!("news/e{round}.md"),
            event(round, &format!("Edited in round {round}")),
        );
        t.write(&format!("news/new{round}.md"), event(round, "New"));
        t.remove(&format!("news/e{}.md", 39 - round));
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.child.kill().unwrap();
        d.child.wait().unwrap();
        drop(d);
        let d = t.watch();
        settles(&t, &d);
    }
    // After a clean stop, the next start reads nothing: the store is whole.
    let mut d = t.watch();
    settles(&t, &d);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
    let d = t.watch();
    assert!(d.log().contains("read=0"), "{}", d.log());
}

#[test]
fn a_damaged_store_is_started_afresh() {
    let t = Tree::new();
    for i in 0..10 {
        t.write(&format!("news/e{i}.md"), event(i, &format!("Event {i}")));
    }
    t.build();
    let store = store_file(&t);
    let mut bytes = fs::read(&store).unwrap();
    let n = bytes.len();
    bytes[..n.min(4096)].fill(0xA5);
    fs::write(&store, bytes).unwrap();
    t.write("news/e3.md", event(3, "Edited while the store was damaged"));
    let out = t.build();
    assert!(stderr(&out).contains("starting afresh"), "{}", stderr(&out));
    assert_same(&t.files(), &t.fresh_build(), "a build past a damaged store");
}

#[test]
fn a_restart_after_a_stop_takes_the_settled_index() {
    let t = Tree::new();
    for i in 0..20 {
        t.write(&format!("news/e{i}.md"), event(i, &format!("Event {i}")));
    }
    t.build();
    // Its debug log says whether a start took the settled index.
    let watch = || {
        let mut cmd = t.cmd("watch");
        cmd.env("EVENTFEED_LOG", "debug");
        t.watch_with(cmd)
    };
    let stop = |mut d: Daemon| {
        d.signal("TERM");
        assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
    };
    // A build from scratch keeps no links to settle from: the first start
    // settles, and its stop keeps what it settled.
    let d = watch();
    assert!(d.log().contains("taken=false"), "{}", d.log());
    stop(d);
    // Changes while it is down are read after the load, as ever.
    t.write("news/e3.md", event(3, "Edited while stopped"));
    t.remove("news/e5.md");
    let d = watch();
    assert!(d.log().contains("taken=true"), "{}", d.log());
    settles(&t, &d);
    assert_same(
        &t.files(),
        &t.fresh_build(),
        "a start that took the settled index",
    );
    // Those changes were recorded: the next stop keeps a new settlement.
    stop(d);
    let d = watch();
    assert!(
        d.log().contains("taken=true") && d.log().contains("read=0"),
        "{}",
        d.log()
    );
    // A stop also keeps what a build says of the index: a build after it,
    // with nothing changed, need not load it.
    stop(d);
    let out = t
        .cmd("build")
        .env("EVENTFEED_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("nothing changed: the index is not loaded"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("eventfeed: 19 events"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_file_removed_between_runs_is_forgotten_by_the_store() {
    let t = Tree::new();
    for i in 0..6 {
        t.write(&format!("news/e{i}.md"), event(i, &format!("Event {i}")));
    }
    t.build();
    t.remove("news/e4.md");
    let out = stderr(&t.build());
    assert!(
        out.contains("5 files") && !out.contains("-> 0 feeds"),
        "{out}"
    );
    // The next run finds nothing gone: it renders nothing (it rendered the
    // removed file's feeds again at every run).
    let out = stderr(&t.build());
    assert!(out.contains("-> 0 feeds: 0 files written"), "{out}");
    assert_same(&t.files(), &t.fresh_build(), "after a removal between runs");
}
