//! `eventfeed check`: compiler-style diagnostics and the exit status.

use crate::harness::*;

#[test]
fn reports_file_line_column_and_the_line() {
    let t = Tree::new();
    t.write("good.md", Ev::new("2017-11-2", "Fine").text());
    t.write(
        "bad.md",
        "\n### [2017-13-1](/news/2017/13/1/index.md)\n\n# Month 13\n",
    );
    let out = t.check();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let path = t.input.join("bad.md");
    let expected = format!(
        "{}:2:6: error: invalid date `2017-13-1`: there is no such day\n  |\n2 | ### [2017-13-1](/news/2017/13/1/index.md)\n  |      ^",
        path.display()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(err.contains("checked 2 files: 1 invalid"), "{err}");
    assert!(!t.output.exists(), "check writes nothing");
}

#[test]
fn a_clean_tree_passes_and_duplicates_are_named() {
    let t = Tree::new();
    t.write("a.md", Ev::new("2017-11-2", "Same event").text());
    t.write("copy of a.md", Ev::new("2017-11-2", "Same event").text());
    let out = t.check();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("copy of a.md: warning: same event as"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_needs_only_the_input_and_names_binary_files() {
    let t = Tree::new();
    t.write("good.md", Ev::new("2017-11-2", "Fine").text());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_eventfeed"))
            .args(["check", "--input"])
            .arg(&t.input)
            .env_remove("EVENTFEED_CONFIG")
            .env_remove("EVENTFEED_OUTPUT")
            .env_remove("EVENTFEED_BASE_URL")
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend((0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    t.write("photo.md", png);
    let utf16: Vec<u8> = Ev::new("2017-11-3", "Saved as UTF-16")
        .text()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    t.write("utf16.md", utf16);
    let out = run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for file in ["photo.md", "utf16.md"] {
        let want = format!(
            "{}:1:1: error: not a text file",
            t.input.join(file).display()
        );
        assert!(err.contains(&want), "{err}");
    }
    assert!(err.contains("checked 3 files: 2 invalid"), "{err}");
    let written: Vec<_> = std::fs::read_dir(&t.input)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(written.len(), 3, "check writes nothing: {written:?}");
}

#[test]
fn the_daemon_logs_bad_files_and_duplicates_one_line_each_with_a_level() {
    let t = Tree::new();
    t.write("a.md", Ev::new("2017-11-2", "Same event").text());
    // As under systemd: each line carries a syslog priority for journald.
    let mut cmd = t.cmd("watch");
    cmd.env("JOURNAL_STREAM", "8:1234");
    let d = t.spawn(cmd, "log");
    wait_for(
        std::time::Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    t.write("copy of a.md", Ev::new("2017-11-2", "Same event").text());
    t.write(
        "bad.md",
        "\n### [2017-13-1](/news/2017/13/1/index.md)\n\n# Month 13\n",
    );
    let bad = format!(
        "<3>ERROR {}:2:6: error: invalid date `2017-13-1`: there is no such day | ### [2017-13-1](/news/2017/13/1/index.md)\n",
        t.input.join("bad.md").display()
    );
    let dup = format!(
        "<4> WARN {}: warning: same event as {}",
        t.input.join("copy of a.md").display(),
        t.input.join("a.md").display()
    );
    wait_for(
        std::time::Duration::from_secs(20),
        || d.log().contains(&bad) && d.log().contains(&dup),
        || format!("want\n{bad}{dup}\nin\n{}", d.log()),
    );
    assert!(
        d.log().lines().all(|l| l.starts_with('<')),
        "every line has a priority:\n{}",
        d.log()
    );
}
