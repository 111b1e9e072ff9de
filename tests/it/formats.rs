//! `formats`: only the chosen feed formats are written, the pages and OPML name
//! only them, and dropping a format (between builds, or by a reload of the
//! daemon) removes its files, leaving what a fresh build of the new
//! configuration writes.

use crate::harness::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn tree() -> Tree {
    let t = Tree::new();
    t.write(
        "news/2017/11/2/a.md",
        Ev::new("2017-11-2", "Formats: the first event")
            .contexts(&["Donald Trump", "Twitter"])
            .text(),
    );
    t.write(
        "news/2017/11/6/b.md",
        Ev::new("2017-11-6", "Formats: the second event")
            .contexts(&["Twitter"])
            .text(),
    );
    t
}

/// The feed files of `files`, by format file name.
fn feed_files<'a>(files: &'a BTreeMap<String, Vec<u8>>, name: &str) -> Vec<&'a String> {
    files
        .keys()
        .filter(|k| k.rsplit('/').next() == Some(name))
        .collect()
}

/// A fresh build of the input with `toml` as its config, into a folder of its own.
fn fresh_build_with(t: &Tree, toml: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("eventfeed.toml");
    fs::write(&config, toml).unwrap();
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_eventfeed"))
        .args(["build", "--fresh", "--base-url", BASE, "--config"])
        .arg(&config)
        .arg("--input")
        .arg(&t.input)
        .arg("--output")
        .arg(&out)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("EVENTFEED_CONFIG")
        .status()
        .unwrap();
    assert!(status.success());
    files_under(&out)
}

#[test]
fn rss_only_writes_rss_files_alone_and_every_page_links_rss_alone() {
    let t = tree();
    let all = fresh_build_with(&t, "");
    t.build_with_config("formats = [\"rss\"]\n");
    let files = t.files();
    let rss = feed_files(&files, "rss.xml");
    // all, two days, two contexts.
    assert_eq!(rss.len(), 5, "{rss:?}");
    assert!(feed_files(&files, "atom.xml").is_empty());
    assert!(feed_files(&files, "feed.json").is_empty());
    // The RSS feeds themselves name no other format: the same bytes as with
    // all three.
    for path in &rss {
        assert_eq!(files[*path], all[*path], "{path}");
    }
    let mut pages = 0;
    for (path, bytes) in &files {
        if !(path.ends_with(".html") || path.ends_with(".opml")) {
            continue;
        }
        pages += 1;
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("atom.xml"), "{path}: {text}");
        assert!(!text.contains("feed.json"), "{path}: {text}");
        assert!(!text.contains("application/atom+xml"), "{path}");
    }
    assert!(pages >= 8, "{pages}");
    let page = String::from_utf8(t.read("contexts/twitter/index.html")).unwrap();
    assert!(
        page.contains(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"News: Twitter (RSS)\" href=\"{BASE}contexts/twitter/rss.xml\">"
        )),
        "{page}"
    );
    assert_eq!(page.matches("rel=\"alternate\"").count(), 1, "{page}");
    let opml = String::from_utf8(t.read("feeds.opml")).unwrap();
    assert!(
        opml.contains(&format!("xmlUrl=\"{BASE}all/rss.xml\"")),
        "{opml}"
    );

    // Atom alone: the address to copy and OPML's xmlUrl are the Atom feed.
    t.build_with_config("formats = [\"atom\"]\n");
    let opml = String::from_utf8(t.read("feeds.opml")).unwrap();
    assert!(
        opml.contains(&format!("xmlUrl=\"{BASE}all/atom.xml\"")),
        "{opml}"
    );
    let page = String::from_utf8(t.read("all/index.html")).unwrap();
    assert!(
        page.contains(&format!("readonly value=\"{BASE}all/atom.xml\"")),
        "{page}"
    );
}

#[test]
fn dropping_formats_between_builds_removes_their_files() {
    let t = tree();
    t.build_with_config("");
    assert_eq!(feed_files(&t.files(), "feed.json").len(), 5);
    t.build_with_config("formats = [\"rss\", \"atom\"]\n");
    let files = t.files();
    assert!(feed_files(&files, "feed.json").is_empty());
    assert_same(
        &files,
        &fresh_build_with(&t, "formats = [\"atom\", \"rss\"]\n"),
        "rss + atom after all three",
    );
    t.build_with_config("formats = [\"json\"]\n");
    assert_same(
        &t.files(),
        &fresh_build_with(&t, "formats = [\"json\"]\n"),
        "json after rss + atom",
    );
    // And back: a build with the default writes all three again.
    t.build_with_config("");
    assert_same(&t.files(), &fresh_build_with(&t, ""), "all three again");
}

fn write_config(t: &Tree, config: &Path, formats: &str) {
    let text = format!(
        "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\n{formats}\n",
        t.input.to_str().unwrap(),
        t.output.to_str().unwrap(),
    );
    fs::write(config, text).unwrap();
}

#[test]
fn the_daemon_follows_a_change_of_formats_on_reload_and_restart() {
    let t = tree();
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    write_config(&t, &config, "");
    let mut d = t.watch_config(&config);
    assert_eq!(feed_files(&t.files(), "atom.xml").len(), 5);

    write_config(&t, &config, "formats = [\"rss\"]");
    d.signal("HUP");
    wait_for(
        Duration::from_secs(20),
        || d.log().contains("configuration reloaded"),
        || d.log(),
    );
    let want = fresh_build_with(&t, "formats = [\"rss\"]");
    assert_same(&t.files(), &want, "after the reload to rss alone");

    // A change after the reload is written in RSS alone.
    t.write(
        "news/2017/11/7/c.md",
        Ev::new("2017-11-7", "Formats: after the reload")
            .contexts(&["Twitter"])
            .text(),
    );
    let want = fresh_build_with(&t, "formats = [\"rss\"]");
    wait_for(
        Duration::from_secs(20),
        || t.files() == want,
        || format!("{:?}\n{}", t.files().keys(), d.log()),
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), Some(0));

    // Stopped, the configuration changes again: the next start follows.
    write_config(&t, &config, "formats = [\"json\", \"atom\"]");
    let d = t.watch_config(&config);
    let want = fresh_build_with(&t, "formats = [\"atom\", \"json\"]");
    assert_same(&t.files(), &want, "after a restart with atom + json");
    drop(d);
}

#[test]
fn bad_formats_are_refused_naming_the_file_and_the_key() {
    let t = tree();
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    for (formats, want) in [
        (
            "formats = [\"rss\", \"xml\"]",
            "unknown feed format \"xml\" in `formats`",
        ),
        ("formats = []", "`formats` is empty"),
        ("formats = \"rss\"", "formats"),
    ] {
        write_config(&t, &config, formats);
        let out = t.cmd_config("build", &config).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(78), "{formats}: {err}");
        assert!(
            err.contains(&config.display().to_string()),
            "{formats}: {err}"
        );
        assert!(err.contains(want), "{formats}: {err}");
    }
    assert!(!t.output.exists(), "nothing was written");
}
