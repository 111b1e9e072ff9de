//! `eventfeed watch`: the real daemon on a temp tree, driven the way editors, copy
//! and sync tools and git change files, and checked from the output side only. The
//! central check: once the daemon settles, its output is byte-identical to what a
//! fresh `eventfeed build` of the same input writes.

use crate::harness::*;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the daemon gets to catch up: generous, CI machines are slow.
const WAIT: Duration = Duration::from_secs(20);
/// How long the output must stay equal to a fresh build, with nothing new in the
/// daemon's log, before it counts as settled (so that a passing state on the way to
/// a wrong one is not taken for the end).
const QUIET: Duration = Duration::from_millis(300);

type Files = BTreeMap<String, Vec<u8>>;

/// Waits until the daemon's output equals a fresh build of the input as it is now.
pub(crate) fn settles(t: &Tree, d: &Daemon) {
    settles_within(t, d, WAIT);
}

fn settles_within(t: &Tree, d: &Daemon, timeout: Duration) {
    // A fresh build from the daemon's tombstone records, built again when
    // they change (the daemon may record some while it settles).
    let records = std::cell::RefCell::new(t.tombstones());
    let want = std::cell::RefCell::new(t.fresh_build_with(records.borrow().as_deref()));
    let mut equal_since: Option<(Instant, usize)> = None;
    wait_for(
        timeout,
        || {
            let now = t.tombstones();
            if now != *records.borrow() {
                *want.borrow_mut() = t.fresh_build_with(now.as_deref());
                *records.borrow_mut() = now;
            }
            if t.files() != *want.borrow() {
                equal_since = None;
                return false;
            }
            let log = d.log().len();
            match equal_since {
                Some((at, len)) if len == log => at.elapsed() >= QUIET,
                _ => {
                    equal_since = Some((Instant::now(), log));
                    false
                }
            }
        },
        || {
            format!(
                "the daemon's output is not what a fresh build writes:\n{}\n--- daemon log (last lines):\n{}",
                diff(&t.files(), &want.borrow()),
                tail(&d.log(), 40)
            )
        },
    );
}

/// Which files differ between the daemon's output and a fresh build, and where the
/// first differing one starts to differ.
fn diff(got: &Files, want: &Files) -> String {
    fn some<'a>(keys: &'a [&'a str]) -> &'a [&'a str] {
        &keys[..keys.len().min(12)]
    }
    let missing: Vec<&str> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .map(String::as_str)
        .collect();
    let differ: Vec<&str> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k.as_str())
        .collect();
    let mut s = format!(
        "{} missing from the daemon's output: {:?}\n{} extra in the daemon's output: {:?}\n{} with other bytes: {:?}\n",
        missing.len(),
        some(&missing),
        extra.len(),
        some(&extra),
        differ.len(),
        some(&differ)
    );
    if let Some(k) = differ.first() {
        let (g, w) = (&got[*k], &want[*k]);
        let at = g.iter().zip(w.iter()).take_while(|(a, b)| a == b).count();
        let around = |b: &[u8]| {
            let from = at.saturating_sub(120);
            String::from_utf8_lossy(&b[from..(at + 120).min(b.len())]).into_owned()
        };
        s += &format!(
            "{k} first differs at byte {at}:\n  daemon: …{}…\n  build:  …{}…\n",
            around(g),
            around(w)
        );
    }
    s
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The item titles of a feed (none if the feed does not exist).
fn titles(t: &Tree, feed: &str) -> Vec<String> {
    if !t.output.join(feed).exists() {
        return Vec::new();
    }
    t.feed(feed)
        .entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn assert_listed(t: &Tree, feeds: &[&str], headline: &str) {
    for feed in feeds {
        let titles = titles(t, feed);
        assert!(
            titles.iter().any(|x| x == headline),
            "{feed} should list {headline:?}: {titles:?}"
        );
    }
}

fn assert_not_listed(t: &Tree, feeds: &[&str], headline: &str) {
    for feed in feeds {
        let titles = titles(t, feed);
        assert!(
            !titles.iter().any(|x| x == headline),
            "{feed} should not list {headline:?}: {titles:?}"
        );
    }
}

/// How many batches the daemon has logged.
fn batches(log: &str) -> usize {
    log.lines().filter(|l| l.contains(" batch ")).count()
}

/// A numbered event of a family `tag`: the headline is `<tag> event number <i>`,
/// spread over 84 days and two contexts, one shared by every family.
fn event(tag: &str, i: usize) -> String {
    let date = format!("2018-{}-{}", 1 + i % 12, 1 + i % 28);
    let headline = format!("{tag} event number {i}");
    let shared = format!("Topic {}", i % 17);
    let own = format!("{tag} topic {}", i % 5);
    Ev::new(&date, &headline).contexts(&[&shared, &own]).text()
}

/// A folder on the same file system as the tree, outside it (so that a rename from
/// it is a rename, not a copy).
fn staging(t: &Tree) -> tempfile::TempDir {
    tempfile::tempdir_in(t.input.parent().unwrap()).unwrap()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
}

fn installed(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Modification times of every output file.
fn mtimes(t: &Tree) -> BTreeMap<String, (i64, i64)> {
    t.files()
        .into_keys()
        .map(|k| {
            let m = fs::metadata(t.output.join(&k)).unwrap();
            (k, (m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

#[test]
fn a_file_written_elsewhere_and_renamed_in_appears_in_all_its_day_and_contexts() {
    let t = Tree::new();
    t.write(
        "news/2017/11/2/first.md",
        Ev::new("2017-11-2", "Renamed in: an event already there")
            .contexts(&["Harbour"])
            .text(),
    );
    let d = t.watch();
    settles(&t, &d);

    let staging = staging(&t);
    let mut tmp = tempfile::NamedTempFile::new_in(staging.path()).unwrap();
    tmp.write_all(
        Ev::new("2017-11-3", "Renamed in: a new event")
            .contexts(&["Harbour", "Tall Ships"])
            .text()
            .as_bytes(),
    )
    .unwrap();
    fs::create_dir_all(t.input.join("inbox")).unwrap();
    tmp.persist(t.input.join("inbox/arrived.md")).unwrap();
    settles(&t, &d);
    assert_listed(
        &t,
        &[
            "all/rss.xml",
            "days/2017/11/03/atom.xml",
            "contexts/harbour/feed.json",
            "contexts/tall-ships/rss.xml",
        ],
        "Renamed in: a new event",
    );

    // Moved to another folder of the tree, outside the archive layout (where the
    // identity comes from the day and headline): the same event, the same feeds.
    let before = t.files();
    fs::create_dir_all(t.input.join("archive")).unwrap();
    fs::rename(
        t.input.join("inbox/arrived.md"),
        t.input.join("archive/arrived.md"),
    )
    .unwrap();
    settles(&t, &d);
    assert_eq!(t.files(), before);
    // Renamed to a name that is not an event file: gone.
    fs::rename(
        t.input.join("archive/arrived.md"),
        t.input.join("archive/arrived.md.bak"),
    )
    .unwrap();
    settles(&t, &d);
    assert_not_listed(&t, &["all/rss.xml"], "Renamed in: a new event");
    t.assert_emptied("contexts/tall-ships");
}

#[test]
fn vim_saves_by_backup_and_rename_and_by_rename_over_are_followed() {
    let t = Tree::new();
    let draft = |n: &str| {
        Ev::new("2018-2-3", &format!("Vim: the {n} draft"))
            .contexts(&["Editors"])
            .text()
    };
    t.write("news/2018/2/3/vim.md", draft("first"));
    t.write(
        "news/2018/2/3/other.md",
        Ev::new("2018-2-3", "Vim: an untouched neighbour")
            .contexts(&["Editors"])
            .text(),
    );
    let d = t.watch();
    settles(&t, &d);

    // `vim vim.md`, `:wq` (backupcopy=auto): the swap file, the probe for a
    // writable folder, the original moved aside as a backup, a new file written,
    // the backup and the swap file deleted.
    let dir = t.input.join("news/2018/2/3");
    let file = dir.join("vim.md");
    let swap = dir.join(".vim.md.swp");
    fs::write(&swap, b"b0VIM 9.0\0\0\0\0").unwrap();
    fs::write(dir.join("4913"), b"").unwrap();
    fs::remove_file(dir.join("4913")).unwrap();
    fs::rename(&file, dir.join("vim.md~")).unwrap();
    fs::write(&file, draft("second")).unwrap();
    fs::remove_file(dir.join("vim.md~")).unwrap();
    fs::remove_file(&swap).unwrap();
    settles(&t, &d);
    let feeds = [
        "all/rss.xml",
        "days/2018/02/03/rss.xml",
        "contexts/editors/atom.xml",
    ];
    assert_listed(&t, &feeds, "Vim: the second draft");
    assert_not_listed(&t, &feeds, "Vim: the first draft");

    // Editors that write a hidden temp file and rename it over the original.
    let tmp = dir.join(".vim.md.tmp");
    fs::write(&tmp, draft("third")).unwrap();
    fs::rename(&tmp, &file).unwrap();
    settles(&t, &d);
    assert_listed(&t, &feeds, "Vim: the third draft");
    assert_not_listed(&t, &feeds, "Vim: the second draft");
    assert_listed(&t, &feeds, "Vim: an untouched neighbour");
}

#[test]
fn cp_over_a_file_and_sed_in_place_are_followed() {
    let t = Tree::new();
    t.write(
        "desk/cp.md",
        Ev::new("2018-4-1", "Copy: the old text")
            .contexts(&["Copying"])
            .text(),
    );
    t.write(
        "desk/sed.md",
        Ev::new("2018-4-2", "Sed: the old headline")
            .contexts(&["Streams"])
            .text(),
    );
    let d = t.watch();
    settles(&t, &d);

    let staging = staging(&t);
    let src = staging.path().join("new.md");
    fs::write(
        &src,
        Ev::new("2018-4-1", "Copy: the new text")
            .contexts(&["Copying", "Pasting"])
            .text(),
    )
    .unwrap();
    let target = t.input.join("desk/cp.md");
    let inode = fs::metadata(&target).unwrap().ino();
    run(Command::new("cp").arg(&src).arg(&target));
    assert_eq!(
        fs::metadata(&target).unwrap().ino(),
        inode,
        "cp truncates and writes in place"
    );
    settles(&t, &d);
    assert_listed(
        &t,
        &[
            "all/rss.xml",
            "contexts/copying/rss.xml",
            "contexts/pasting/rss.xml",
        ],
        "Copy: the new text",
    );
    assert_not_listed(&t, &["all/rss.xml"], "Copy: the old text");

    let target = t.input.join("desk/sed.md");
    let inode = fs::metadata(&target).unwrap().ino();
    run(Command::new("sed")
        .arg("-i")
        .arg("s/the old headline/the new headline/")
        .arg(&target));
    assert_ne!(
        fs::metadata(&target).unwrap().ino(),
        inode,
        "sed -i renames a new file over the old one"
    );
    settles(&t, &d);
    assert_listed(
        &t,
        &["all/rss.xml", "contexts/streams/rss.xml"],
        "Sed: the new headline",
    );
    assert_not_listed(&t, &["all/rss.xml"], "Sed: the old headline");

    // A copy of an event is the same event; deleting the original keeps it.
    let copy = t.input.join("desk/copy of sed.md");
    run(Command::new("cp").arg(&target).arg(&copy));
    settles(&t, &d);
    fs::remove_file(&target).unwrap();
    settles(&t, &d);
    assert_listed(&t, &["all/rss.xml"], "Sed: the new headline");
    fs::remove_file(&copy).unwrap();
    settles(&t, &d);
    assert_not_listed(&t, &["all/rss.xml"], "Sed: the new headline");
}

#[test]
fn rsync_temp_files_and_renames_are_followed() {
    if !installed("rsync") {
        eprintln!("skipped: rsync is not installed");
        return;
    }
    let t = Tree::new();
    t.write("local/kept.md", event("Rsync kept", 0));
    let d = t.watch();
    settles(&t, &d);

    let src = staging(&t);
    let put = |rel: &str, text: String| {
        let path = src.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    for i in 0..30 {
        put(&format!("mirror/{}/e{i}.md", i % 3), event("Rsync", i));
    }
    let mut from = src.path().as_os_str().to_owned();
    from.push("/");
    run(Command::new("rsync").arg("-a").arg(&from).arg(&t.input));
    settles(&t, &d);
    assert_listed(&t, &["all/rss.xml"], "Rsync event number 29");

    // Edits (of another size, so that rsync's quick check sees them) and deletions,
    // mirrored with --delete.
    for i in 0..5 {
        put(
            &format!("mirror/{}/e{i}.md", i % 3),
            event("Rsync", i).replace("Something happened.", "Something else happened."),
        );
    }
    for i in 25..30 {
        fs::remove_file(src.path().join(format!("mirror/{}/e{i}.md", i % 3))).unwrap();
    }
    run(Command::new("rsync")
        .arg("-a")
        .arg("--delete")
        .arg(src.path().join("mirror/"))
        .arg(t.input.join("mirror")));
    settles(&t, &d);
    assert_not_listed(&t, &["all/rss.xml"], "Rsync event number 29");
    assert_listed(&t, &["all/rss.xml"], "Rsync kept event number 0");
    let json = String::from_utf8(t.read("all/feed.json")).unwrap();
    assert!(json.contains("Something else happened."), "{json}");
}

#[test]
fn files_written_right_after_mkdir_are_not_missed() {
    let t = Tree::new();
    t.write("seed.md", event("Mkdir seed", 0));
    let d = t.watch();
    settles(&t, &d);

    for i in 0..20 {
        let dir = t.input.join(format!("fresh{i}"));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("a.md"), event("Mkdir", i)).unwrap();
    }
    settles(&t, &d);

    let deep = t.input.join("deep/a/b/c");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("c.md"), event("Mkdir deep", 3)).unwrap();
    fs::write(t.input.join("deep/a/b/b.md"), event("Mkdir deep", 2)).unwrap();
    fs::write(t.input.join("deep/a/a.md"), event("Mkdir deep", 1)).unwrap();
    settles(&t, &d);
    assert_eq!(titles(&t, "all/atom.xml").len(), 1 + 20 + 3);
}

#[test]
fn folder_renames_inside_the_tree_change_nothing_and_across_its_edge_remove_or_add() {
    let t = Tree::new();
    for i in 0..6 {
        t.write(
            &format!("desk/x/{}/e{i}.md", ["a", "b"][i % 2]),
            event("Moved", i),
        );
    }
    for i in 0..4 {
        t.write(&format!("desk/y/e{i}.md"), event("Leaving", i));
    }
    let d = t.watch();
    settles(&t, &d);

    // Within the tree: same events, so the same feeds, and none rewritten.
    let before = t.files();
    let times = mtimes(&t);
    fs::rename(t.input.join("desk/x"), t.input.join("moved-x")).unwrap();
    settles(&t, &d);
    assert_eq!(t.files(), before, "file paths do not matter to the feeds");
    assert_eq!(mtimes(&t), times, "no feed was rewritten");
    // The watch follows the folder to its new name.
    t.write("moved-x/a/late.md", event("Moved late", 0));
    settles(&t, &d);
    assert_listed(&t, &["all/rss.xml"], "Moved late event number 0");
    // Renamed again and written into at once, before the watch can have caught up
    // with the new name; then edited.
    fs::rename(t.input.join("moved-x"), t.input.join("moved-again")).unwrap();
    t.write("moved-again/b/quick.md", event("Moved quick", 0));
    settles(&t, &d);
    t.write(
        "moved-again/b/quick.md",
        event("Moved quick", 0).replace("Something happened.", "Then something else."),
    );
    settles(&t, &d);
    assert!(String::from_utf8(t.read("all/feed.json"))
        .unwrap()
        .contains("Then something else."));

    // Out of the tree: its events vanish, and the contexts only they had keep
    // empty feeds with their tombstones (until these expire).
    let outside = staging(&t);
    fs::rename(t.input.join("desk/y"), outside.path().join("y")).unwrap();
    settles(&t, &d);
    for i in 0..4 {
        assert_not_listed(&t, &["all/rss.xml"], &format!("Leaving event number {i}"));
        let atom = format!("contexts/leaving-topic-{i}/atom.xml");
        assert!(t.feed(&atom).entries.is_empty(), "{atom}");
        assert!(String::from_utf8(t.read(&atom))
            .unwrap()
            .contains("<at:deleted-entry "));
    }
    // What happens to it out there is none of the daemon's business.
    fs::write(outside.path().join("y/ghost.md"), event("Ghost", 0)).unwrap();
    fs::remove_file(outside.path().join("y/e0.md")).unwrap();
    settles(&t, &d);

    // Into the tree from outside: its events appear, nested ones too.
    let incoming = outside.path().join("incoming");
    fs::create_dir_all(incoming.join("n/m")).unwrap();
    fs::write(incoming.join("a.md"), event("Arriving", 0)).unwrap();
    fs::write(incoming.join("n/b.md"), event("Arriving", 1)).unwrap();
    fs::write(incoming.join("n/m/c.md"), event("Arriving", 2)).unwrap();
    fs::rename(&incoming, t.input.join("desk/incoming")).unwrap();
    settles(&t, &d);
    for i in 0..3 {
        assert_listed(
            &t,
            &[
                "all/rss.xml",
                &format!("contexts/arriving-topic-{i}/rss.xml"),
            ],
            &format!("Arriving event number {i}"),
        );
    }
}

#[test]
fn rm_rf_of_a_folder_removes_the_feeds_it_alone_fed() {
    let t = Tree::new();
    t.write(
        "keep/k.md",
        Ev::new("2019-5-1", "Remove: the one that stays")
            .contexts(&["Shared"])
            .text(),
    );
    for i in 0..10 {
        t.write(
            &format!("gone/{}/e{i}.md", i % 3),
            Ev::new(
                &format!("2019-5-{}", 2 + i % 3),
                &format!("Remove: doomed {i}"),
            )
            .contexts(&["Shared", "Doomed"])
            .text(),
        );
    }
    let d = t.watch();
    settles(&t, &d);
    assert!(t.output.join("contexts/doomed/rss.xml").exists());
    assert!(t.output.join("days/2019/05/04/rss.xml").exists());

    run(Command::new("rm").arg("-rf").arg(t.input.join("gone")));
    settles(&t, &d);
    // Emptied, kept for their tombstones (the fresh build `settles` compares
    // with is given the same records; `tombstones.rs` sees them expire).
    for gone in [
        "contexts/doomed",
        "days/2019/05/02",
        "days/2019/05/03",
        "days/2019/05/04",
    ] {
        t.assert_emptied(gone);
    }
    assert_eq!(
        titles(&t, "contexts/shared/rss.xml"),
        ["Remove: the one that stays"]
    );
    assert!(t.output.join("days/2019/05/01/atom.xml").exists());
}

fn git(dir: &Path, args: &[&str]) {
    run(Command::new("git")
        .args([
            "-c",
            "user.name=Event Feed",
            "-c",
            "user.email=eventfeed@example.org",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1"));
}

#[test]
fn git_checkouts_between_branches_are_followed() {
    if !installed("git") {
        eprintln!("skipped: git is not installed");
        return;
    }
    let t = Tree::new();
    let path = |i: usize| format!("news/{}/git-event-number-{i}.md", i % 12);
    for i in 0..200 {
        t.write(&path(i), event("Git", i));
    }
    git(&t.input, &["init", "-q"]);
    git(&t.input, &["add", "-A"]);
    git(&t.input, &["commit", "-q", "-m", "200 events"]);
    // Without tombstones: each checkout would give the removed items new
    // removal times, and the point is that a checkout back gives the same bytes.
    let d = t.watch_config(&t.config("tombstone_days = 0\n"));
    settles(&t, &d);

    git(&t.input, &["checkout", "-q", "-b", "other"]);
    for i in 200..300 {
        t.write(&path(i), event("Git", i));
    }
    for i in 0..25 {
        t.write(&path(i), event("Git edited", i));
    }
    for i in 25..50 {
        t.write(
            &path(i),
            event("Git", i).replace("Something happened.", "Something else happened."),
        );
    }
    for i in 50..100 {
        t.remove(&path(i));
    }
    git(&t.input, &["add", "-A"]);
    git(&t.input, &["commit", "-q", "-m", "+100 ~50 -50"]);
    settles(&t, &d);
    let other = t.files();

    git(&t.input, &["checkout", "-q", "main"]);
    settles(&t, &d);
    assert_ne!(t.files(), other);
    git(&t.input, &["checkout", "-q", "other"]);
    settles(&t, &d);
    assert_eq!(t.files(), other);
}

/// A tree of 300 events, watched and settled, and 10 000 more files staged on the
/// same file system, in 100 folders.
fn burst_fixture(n: usize) -> (Tree, Daemon, tempfile::TempDir) {
    let t = Tree::new();
    for i in 0..300 {
        t.write(&format!("base/{}/e{i}.md", i % 10), event("Base", i));
    }
    let d = t.watch();
    settles(&t, &d);
    let staging = staging(&t);
    for i in 0..n {
        let dir = staging.path().join(format!("burst/{}", i / 100));
        if i % 100 == 0 {
            fs::create_dir_all(&dir).unwrap();
        }
        fs::write(dir.join(format!("e{i}.md")), event("Burst", i)).unwrap();
    }
    (t, d, staging)
}

/// Waits for the burst to settle and checks it took few batches.
fn settles_in_few_batches(t: &Tree, d: &Daemon, n: usize, before: usize, started: Instant) {
    let landed = started.elapsed();
    settles_within(t, d, Duration::from_secs(120));
    let log = d.log();
    let batches = batches(&log) - before;
    eprintln!(
        "{n} files landed in {landed:?}, settled after {:?}, in {batches} batches",
        started.elapsed()
    );
    assert!(
        batches < 200,
        "{batches} batches for {n} files: not coalesced\n{}",
        tail(&log, 40)
    );
}

#[test]
fn a_burst_of_ten_thousand_files_renamed_in_settles_in_few_batches() {
    const N: usize = 10_000;
    let (t, d, staging) = burst_fixture(N);
    let before = batches(&d.log());
    let started = Instant::now();
    for i in 0..N {
        let rel = format!("burst/{}", i / 100);
        if i % 100 == 0 {
            fs::create_dir_all(t.input.join(&rel)).unwrap();
        }
        let name = format!("{rel}/e{i}.md");
        fs::rename(staging.path().join(&name), t.input.join(&name)).unwrap();
    }
    settles_in_few_batches(&t, &d, N, before, started);
}

#[test]
fn a_burst_of_ten_thousand_files_copied_with_cp_r_settles_in_few_batches() {
    const N: usize = 10_000;
    let (t, d, staging) = burst_fixture(N);
    let before = batches(&d.log());
    let started = Instant::now();
    run(Command::new("cp")
        .arg("-r")
        .arg(staging.path().join("burst"))
        .arg(&t.input));
    settles_in_few_batches(&t, &d, N, before, started);
}

#[test]
fn kill_9_in_a_burst_then_a_restart_leaves_a_fresh_build_and_no_temp_files() {
    const N: usize = 5_000;
    let t = Tree::new();
    for i in 0..200 {
        t.write(&format!("base/{}/e{i}.md", i % 10), event("Base", i));
    }
    let mut d = t.watch();
    settles(&t, &d);

    let before = t.files();
    let input = t.input.clone();
    let writer = std::thread::spawn(move || {
        // In folders of 100, at a pace that keeps the burst going while the
        // daemon works on its first batches.
        for i in 0..N {
            let dir = input.join(format!("burst/{}", i / 100));
            if i % 100 == 0 {
                fs::create_dir_all(&dir).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            fs::write(dir.join(format!("e{i}.md")), event("Killed", i)).unwrap();
        }
    });
    // Once the output starts to change, a batch is being written.
    wait_for(WAIT, || t.files() != before, || d.log());
    d.child.kill().unwrap();
    let status = d.child.wait().unwrap();
    assert_eq!(status.signal(), Some(9));
    let writing = !writer.is_finished();
    let temps = || -> Vec<String> {
        files_under(&t.output)
            .into_keys()
            .filter(|k| {
                let name = Path::new(k).file_name().unwrap().to_string_lossy();
                name.starts_with(".eventfeed-") && name.ends_with(".tmp")
            })
            .collect()
    };
    eprintln!(
        "killed with the writer {}, {} temp files left",
        if writing { "still writing" } else { "done" },
        temps().len()
    );
    writer.join().unwrap();
    // A feed write cut short leaves its temp file behind; make sure there is one
    // whatever the moment of the kill was.
    fs::write(
        t.output.join("all/.eventfeed-aBc123.tmp"),
        b"<?xml version=\"1.0\"?><rss><chan",
    )
    .unwrap();
    drop(d);

    // The restart catches up with what was written while it was down.
    let d = t.watch();
    settles_within(&t, &d, Duration::from_secs(60));
    assert!(temps().is_empty(), "temp files left: {:?}", temps());
}

#[test]
fn what_changed_while_the_daemon_was_stopped_is_caught_up_at_start() {
    let t = Tree::new();
    for i in 0..20 {
        t.write(&format!("desk/{}/e{i}.md", i % 4), event("Down", i));
    }
    let mut d = t.watch();
    settles(&t, &d);
    d.signal("TERM");
    assert_eq!(d.wait_exit(WAIT), Some(0), "{}", d.log());
    drop(d);

    // An edit in place of the same size (same inode, same length), a deletion, a
    // new file and a renamed folder.
    let path = t.input.join("desk/0/e0.md");
    let text = event("Down", 0).replace("Something happened.", "Something happenex.");
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    t.remove("desk/1/e1.md");
    t.write("desk/new.md", event("Down new", 0));
    fs::rename(t.input.join("desk/2"), t.input.join("desk/two")).unwrap();

    let d = t.watch();
    settles(&t, &d);
    let json = String::from_utf8(t.read("all/feed.json")).unwrap();
    assert!(json.contains("Something happenex."), "{json}");
    assert_not_listed(&t, &["all/rss.xml"], "Down event number 1");
    assert_listed(&t, &["all/rss.xml"], "Down new event number 0");
}

/// The first scan of a start also sets up the watch, folder by folder, as it
/// lists them: what is made meanwhile, in folders listed or not yet, new or
/// moved, is either seen by the scan or reported.
#[test]
fn folders_and_files_made_while_the_daemon_starts_are_not_missed() {
    let t = Tree::new();
    for i in 0..3000 {
        t.write(
            &format!("old/{}/{}/e{i}.md", i % 200, i % 3),
            event("Old", i),
        );
    }
    let mut d = t.watch();
    settles(&t, &d);
    d.signal("TERM");
    assert_eq!(d.wait_exit(WAIT), Some(0), "{}", d.log());
    drop(d);

    // A restart (the store in place) is mostly its scan.
    let d = {
        let _shared = INOTIFY.read().unwrap_or_else(|e| e.into_inner());
        t.spawn(t.cmd("watch"), "log")
    };
    // Changes go on until well after it is watching, however long the start
    // takes on a busy machine (a fixed count of them ran out once in CI).
    let deadline = Instant::now() + WAIT;
    let mut after = 0;
    for i in 0.. {
        t.write(&format!("new/{i}/deep/e.md"), event("New", i));
        t.write(
            &format!("old/{}/{}/n{i}.md", i % 200, i % 3),
            event("Added", i),
        );
        if i % 4 == 3 {
            fs::create_dir_all(t.input.join("moved")).unwrap();
            fs::rename(
                t.input.join(format!("new/{}", i - 1)),
                t.input.join(format!("moved/{i}")),
            )
            .unwrap();
        }
        if d.log().contains("watching") {
            after += 1;
            if after == 50 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the start outlasted {WAIT:?}:\n{}",
            d.log()
        );
    }
    settles(&t, &d);
}

#[test]
fn a_second_instance_on_the_same_output_is_refused() {
    let t = Tree::new();
    t.write("a.md", event("Lock", 0));
    let d = t.watch();

    let mut second = t.spawn(t.cmd("watch"), "second.log");
    assert_eq!(second.wait_exit(WAIT), Some(75), "{}", second.log());
    let lock = t.output.join(".eventfeed.lock");
    let log = second.log();
    assert!(
        log.contains(&lock.display().to_string()) && log.contains("another eventfeed"),
        "{log}"
    );
    let build = t.cmd("build").output().unwrap();
    assert_eq!(build.status.code(), Some(75), "{}", stderr(&build));

    // The first one goes on unharmed.
    t.write("b.md", event("Lock", 1));
    settles(&t, &d);
    assert_listed(&t, &["all/rss.xml"], "Lock event number 1");
}

#[test]
fn sigterm_exits_cleanly() {
    let t = Tree::new();
    t.write("a.md", event("Term", 0));
    let mut d = t.watch();
    t.write("b.md", event("Term", 1));
    settles(&t, &d);
    d.signal("TERM");
    assert_eq!(d.wait_exit(WAIT), Some(0), "{}", d.log());
    assert!(d.log().contains("stopping"), "{}", d.log());
}

#[test]
fn sighup_reloads_the_config_and_a_broken_config_keeps_the_running_one() {
    let t = Tree::new();
    t.write(
        "a.md",
        Ev::new("2018-6-1", "Reload: the first event").text(),
    );
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    let write_config = |input: &Path, title: &str| {
        let text = format!(
            "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\ntitle = {title:?}\n",
            input.to_str().unwrap(),
            t.output.to_str().unwrap(),
        );
        fs::write(&config, text).unwrap();
    };
    write_config(&t.input, "Feeds One");
    let mut d = t.watch_config(&config);
    let rss = || String::from_utf8(t.read("all/rss.xml")).unwrap();
    assert!(rss().contains("Feeds One"), "{}", rss());

    write_config(&t.input, "Feeds Two");
    d.signal("HUP");
    wait_for(
        WAIT,
        || d.log().contains("configuration reloaded"),
        || d.log(),
    );
    assert!(rss().contains("Feeds Two"), "{}", rss());
    assert!(!rss().contains("Feeds One"), "{}", rss());

    fs::write(&config, "title = [\n").unwrap();
    d.signal("HUP");
    wait_for(WAIT, || d.log().contains("reload failed"), || d.log());
    assert!(d.child.try_wait().unwrap().is_none(), "{}", d.log());
    t.write(
        "b.md",
        Ev::new("2018-6-2", "Reload: written after a failed reload").text(),
    );
    wait_for(
        WAIT,
        || titles(&t, "all/rss.xml").contains(&"Reload: written after a failed reload".into()),
        || d.log(),
    );
    assert!(
        rss().contains("Feeds Two"),
        "the running configuration stays"
    );

    // Another input folder: its events replace the old ones, and it is the one
    // watched from then on.
    let other = t.input.with_file_name("in2");
    fs::create_dir(&other).unwrap();
    fs::write(
        other.join("c.md"),
        Ev::new("2018-6-3", "Reload: in the other input").text(),
    )
    .unwrap();
    write_config(&other, "Feeds Three");
    d.signal("HUP");
    wait_for(
        WAIT,
        || d.log().matches("configuration reloaded").count() == 2,
        || d.log(),
    );
    assert_eq!(titles(&t, "all/rss.xml"), ["Reload: in the other input"]);
    t.write(
        "d.md",
        Ev::new("2018-6-4", "Reload: in the old input").text(),
    );
    fs::write(
        other.join("e.md"),
        Ev::new("2018-6-5", "Reload: later in the other input").text(),
    )
    .unwrap();
    wait_for(WAIT, || titles(&t, "all/rss.xml").len() == 2, || d.log());
    assert_eq!(
        titles(&t, "all/rss.xml"),
        [
            "Reload: later in the other input",
            "Reload: in the other input"
        ]
    );

    d.signal("TERM");
    assert_eq!(d.wait_exit(WAIT), Some(0), "{}", d.log());
}

#[test]
fn a_file_cut_off_mid_write_keeps_its_last_good_version_until_fixed_or_deleted() {
    let t = Tree::new();
    t.write(
        "other.md",
        Ev::new("2018-3-3", "Cut: a bystander")
            .contexts(&["Cutting room"])
            .text(),
    );
    let good = "+++\ntitle = \"Cut: the good version\"\ndate = 2018-03-04\ncontexts = [\"Cutting room\", \"Scissors\"]\n+++\nShort.\n";
    t.write("cut.md", good);
    let d = t.watch();
    settles(&t, &d);
    let feeds = ["all/rss.xml", "contexts/scissors/rss.xml"];
    assert_listed(&t, &feeds, "Cut: the good version");
    let before = t.files();

    // A write cut off half way: the front matter is never closed.
    let path = t.input.join("cut.md");
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(good.len() as u64 / 2)
        .unwrap();
    let needle = format!("{}:1:", path.display());
    wait_for(WAIT, || d.log().contains(&needle), || d.log());
    let log = d.log();
    let line = log.lines().find(|l| l.contains(&needle)).unwrap();
    assert!(
        line.contains("error") && line.contains("never closed"),
        "{line}"
    );
    assert_eq!(t.files(), before, "the last good version stays, untouched");

    fs::write(&path, good.replace("good version", "fixed version")).unwrap();
    settles(&t, &d);
    assert_listed(&t, &feeds, "Cut: the fixed version");
    assert_not_listed(&t, &["all/rss.xml"], "Cut: the good version");

    fs::remove_file(&path).unwrap();
    settles(&t, &d);
    assert_not_listed(&t, &["all/rss.xml"], "Cut: the fixed version");
    t.assert_emptied("contexts/scissors");
    assert_listed(&t, &["contexts/cutting-room/rss.xml"], "Cut: a bystander");
}

/// `eventfeed build` does not follow symlinked folders (see `Source`), so the
/// daemon must not either, however the link comes about.
#[test]
fn symlinked_folders_are_left_out_as_a_full_build_leaves_them_out() {
    let t = Tree::new();
    let outside = staging(&t);
    let folder = |name: &str, tag: &str| {
        let dir = outside.path().join(name);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.md"), event(tag, 0)).unwrap();
        fs::write(dir.join("sub/b.md"), event(tag, 1)).unwrap();
        dir
    };
    t.write("real/a.md", event("Linked real", 0));
    let old = folder("old", "Linked before start");
    std::os::unix::fs::symlink(&old, t.input.join("old-link")).unwrap();
    let d = t.watch();
    settles(&t, &d);

    // `ln -s` of a folder while the daemon runs.
    let new = folder("new", "Linked while running");
    std::os::unix::fs::symlink(&new, t.input.join("new-link")).unwrap();
    settles(&t, &d);
    // A change behind a link that was there at the start.
    fs::write(old.join("sub/c.md"), event("Linked before start", 2)).unwrap();
    settles(&t, &d);
    // A real folder swapped for a link to another one with the same file names
    // (a deploy by symlink swap).
    t.write("swap/a.md", event("Swapped real", 0));
    settles(&t, &d);
    let other = folder("other", "Swapped in");
    fs::rename(t.input.join("swap"), outside.path().join("swap-old")).unwrap();
    std::os::unix::fs::symlink(&other, t.input.join("swap")).unwrap();
    settles(&t, &d);
    assert_eq!(titles(&t, "all/rss.xml"), ["Linked real event number 0"]);
}

/// The masks of the inotify watches a process holds, by the inode watched, as
/// the kernel shows them in `/proc/<pid>/fdinfo`.
fn inotify_watches(pid: u32) -> BTreeMap<u64, u32> {
    let mut watches = BTreeMap::new();
    for fd in fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
    {
        let info = fs::read_to_string(fd.path()).unwrap_or_default();
        for line in info.lines().filter(|l| l.starts_with("inotify wd:")) {
            let field = |key: &str| {
                let hex = line.split(' ').find_map(|w| w.strip_prefix(key)).unwrap();
                u64::from_str_radix(hex, 16).unwrap()
            };
            watches.insert(field("ino:"), field("mask:") as u32);
        }
    }
    watches
}

/// Regression: notify 8 asks inotify for every open, so the daemon's own reads (a
/// million file opens at a first start, a listing of every folder at a rescan)
/// filled the kernel's queue until it overflowed, and each rescan that followed
/// overflowed it again (a one-file change's p99 was 19 s at a million events).
#[test]
fn the_daemons_own_reads_raise_no_inotify_events_and_every_folder_is_watched() {
    const IN_ACCESS: u32 = 0x1;
    const IN_CLOSE_NOWRITE: u32 = 0x10;
    const IN_OPEN: u32 = 0x20;
    let t = Tree::new();
    for i in 0..24 {
        t.write(
            &format!("news/{}/{}/e{i}.md", i % 3, i % 4),
            event("Read", i),
        );
    }
    let d = t.watch();
    settles(&t, &d);
    let folders = |t: &Tree| -> Vec<u64> {
        let mut inos = vec![fs::metadata(&t.input).unwrap().ino()];
        let mut todo = vec![t.input.clone()];
        while let Some(dir) = todo.pop() {
            for e in fs::read_dir(dir).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    inos.push(e.metadata().unwrap().ino());
                    todo.push(e.path());
                }
            }
        }
        inos
    };
    let check = |t: &Tree| {
        let watches = inotify_watches(d.child.id());
        for ino in folders(t) {
            let mask = watches
                .get(&ino)
                .unwrap_or_else(|| panic!("{ino} unwatched"));
            assert_eq!(
                mask & (IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE),
                0,
                "{mask:#x}"
            );
        }
    };
    check(&t);

    // A tree moved in, and a file written deep in it at once: the watch reaches
    // it before the daemon scans it.
    let outside = staging(&t);
    let incoming = outside.path().join("incoming");
    fs::create_dir_all(incoming.join("n/m/k")).unwrap();
    fs::write(incoming.join("n/a.md"), event("Moved in", 0)).unwrap();
    fs::rename(&incoming, t.input.join("news/incoming")).unwrap();
    t.write("news/incoming/n/m/k/b.md", event("Moved in", 1));
    settles(&t, &d);
    for i in 0..2 {
        assert_listed(&t, &["all/rss.xml"], &format!("Moved in event number {i}"));
    }
    check(&t);
    assert!(!d.log().contains("rescanning"), "{}", d.log());
}

/// The archive's own dynamics, followed by the daemon: a day page that gains a
/// context, a headline edit in place, and a new version that takes over its first
/// version's item (same id, new link) and the links to it.
#[test]
fn day_pages_headline_edits_and_new_versions_are_followed() {
    let t = Tree::new();
    let day = "news/2017/11/01";
    let first = format!("{day}/a-gunman-opens-fire-in-a-wal-mart.md");
    t.write(
        &first,
        Ev::new("2017-11-1", "A gunman opens fire in a Wal-Mart").text(),
    );
    // Linked unpadded: the link finds the padded file.
    let linker = Ev::new("2017-11-2", "Police name the Thornton gunman").text()
        + "\n### Related:\n\n1. [A gunman ](/news/2017/11/1/a-gunman-opens-fire-in-a-wal-mart.md) _Context: Thornton_\n";
    t.write("news/2017/11/02/police.md", linker);
    let d = t.watch();
    settles(&t, &d);
    let item = |t: &Tree| {
        let feed = t.feed("days/2017/11/01/atom.xml");
        let e = &feed.entries[0];
        (
            e.id.clone(),
            e.links[0].href.clone(),
            e.title.as_ref().unwrap().content.clone(),
        )
    };
    let (id, link, _) = item(&t);
    assert_eq!(link, format!("{BASE}{}", first.replace(".md", ".html")));

    // The day page gives the event a context: its feed appears.
    t.write(
        &format!("{day}/index.md"),
        "## [2017-11-1](/news/2017/11/01/index.md)\n\n### [A gunman](/news/2017/11/01/a-gunman-opens-fire-in-a-wal-mart.md)\n_Context: Thornton shooting_\n",
    );
    settles(&t, &d);
    assert_listed(
        &t,
        &["contexts/thornton-shooting/rss.xml"],
        "A gunman opens fire in a Wal-Mart",
    );

    // A headline edit in place: same id, same link, new title.
    t.write(
        &first,
        Ev::new("2017-11-1", "A gunman opens fire in a Wal-Mart store").text(),
    );
    settles(&t, &d);
    assert_eq!(
        item(&t),
        (
            id.clone(),
            link.clone(),
            "A gunman opens fire in a Wal-Mart store".into()
        )
    );

    // A new version under another name lists the first: one item, the first
    // version's id, the new file's link, and the Related link follows it.
    let current = format!("{day}/a-gunman-opens-fire-in-a-walmart.md");
    t.write(
        &current,
        Ev::new("2017-11-1", "A gunman opens fire in a Walmart").text()
            + "\n### Changes:\n\n1. [A gunman opens fire in a Wal-Mart ](/news/2017/11/01/a-gunman-opens-fire-in-a-wal-mart.md) _2017-11-02 20:30:05 (First version)_\n1. [A gunman opens fire in a Walmart ](/news/2017/11/01/a-gunman-opens-fire-in-a-walmart.md) _(Current version)_\n",
    );
    settles(&t, &d);
    let feed = t.feed("days/2017/11/01/atom.xml");
    assert_eq!(feed.entries.len(), 1, "earlier versions are not items");
    let new_link = format!("{BASE}{}", current.replace(".md", ".html"));
    assert_eq!(
        item(&t),
        (
            id,
            new_link.clone(),
            "A gunman opens fire in a Walmart".into()
        )
    );
    let police = String::from_utf8(t.read("days/2017/11/02/rss.xml")).unwrap();
    assert!(
        police.contains(&format!("<a href=\"{new_link}\">")),
        "{police}"
    );
    assert_listed(
        &t,
        &["contexts/thornton-shooting/rss.xml"],
        "A gunman opens fire in a Walmart",
    );
}
