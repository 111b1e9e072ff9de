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
