//! What real feed readers make of the output: Python's feedparser (the parser
//! behind many readers and services) reads every RSS and Atom feed of a build
//! without complaint, with ids, absolute links and dates on every entry.
//! `.ci/run` installs it; elsewhere the test says it is skipped.

use crate::harness::*;
use std::process::Command;

const SCRIPT: &str = r#"
import feedparser, glob, sys
root = sys.argv[1]
problems = []
count = 0
for path in sorted(glob.glob(root + '/**/*.xml', recursive=True)):
    if path.endswith('.opml'):
        continue
    d = feedparser.parse(path)
    count += 1
    if d.bozo:
        problems.append(f'{path}: {d.bozo_exception}')
    if d.version not in ('rss20', 'atom10'):
        problems.append(f'{path}: version {d.version}')
    for e in d.entries:
        if not e.get('id') or not e.get('link', '').startswith('https://') or not e.get('published_parsed') or not e.get('title'):
            problems.append(f'{path}: incomplete entry {e.get("id")}')
print(count)
print('\n'.join(problems))
"#;

#[test]
fn feedparser_reads_every_feed_cleanly() {
    let has_feedparser = Command::new("python3")
        .args(["-c", "import feedparser"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_feedparser {
        eprintln!("skipped: python3 with feedparser is not installed (.ci/run installs it)");
        return;
    }
    let t = Tree::new();
    t.write("seed.txt", include_bytes!("../fixtures/seed.txt"));
    t.write(
        "a.md",
        Ev::new("2017-11-3", "AT&amp;T <i>buys</i> a company & more < less")
            .contexts(&["AT&T", "Zürich", "東京"])
            .text(),
    );
    t.write("b.md", Ev::new("2017-11-4", "Another event").text());
    t.build();
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(&t.output)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let count: usize = lines.next().unwrap().parse().unwrap();
    assert_eq!(count, 2 * (1 + 3 + 6), "every RSS and Atom feed was read");
    let problems: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}
