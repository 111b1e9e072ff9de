//! `eventfeed serve`: the real binary on a free loopback port, asked by a real
//! HTTP client (and by raw requests where a client would tidy the path), and by
//! feedparser the way a feed reader polls.

use crate::harness::*;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A running `serve` and the URL it answers on.
pub struct Served {
    pub daemon: Daemon,
    /// `http://127.0.0.1:PORT/`
    pub base: String,
    agent: ureq::Agent,
}

/// Starts `serve` on a free port with no base URL set, so that feeds link to the
/// server itself; waits until it has reconciled.
pub fn serve(t: &Tree) -> Served {
    serve_logging(t, "info")
}

/// [`serve`] with another log level (`debug` logs every request).
pub fn serve_logging(t: &Tree, level: &str) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventfeed"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--input"])
        .arg(&t.input)
        .arg("--output")
        .arg(&t.output)
        .env_remove("EVENTFEED_CONFIG")
        .env_remove("EVENTFEED_BASE_URL")
        .env_remove("EVENTFEED_LISTEN")
        .env("XDG_STATE_HOME", &t.state)
        .env("EVENTFEED_LOG", level);
    let daemon = t.spawn(cmd, "log");
    wait_for(WAIT, || daemon.log().contains("watching"), || daemon.log());
    let log = daemon.log();
    let base = log
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in the log:\n{log}"))
        .to_owned();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    Served {
        daemon,
        base,
        agent,
    }
}

/// An answer, read whole.
pub struct Answer {
    pub status: u16,
    headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// GET (or HEAD) with extra request headers.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let url = self.url(path);
        let mut response = match method {
            "HEAD" => {
                let mut r = self.agent.head(&url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call()
            }
            "POST" => self.agent.post(&url).send(&b"x"[..]),
            _ => {
                let mut r = self.agent.get(&url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call()
            }
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_default();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[])
    }

    /// A request written by hand, path and all, for paths a client would
    /// normalise: the status code and the whole answer.
    fn raw(&self, target: &str) -> (u16, String) {
        let host = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let mut stream = TcpStream::connect(host).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status for {target}: {answer:?}"));
        (status, answer)
    }
}

/// Two days (so the older one is an archive) and two contexts.
fn tree() -> Tree {
    let t = Tree::new();
    t.write("seed.txt", include_bytes!("../fixtures/seed.txt"));
    t.write(
        "a.md",
        Ev::new("2017-11-3", "A later event")
            .contexts(&["Zürich"])
            .text(),
    );
    t
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn feeds_are_served_with_their_types_validators_and_codings() {
    let t = tree();
    let s = serve(&t);
    let types = [
        ("all/rss.xml", "application/rss+xml"),
        ("all/atom.xml", "application/atom+xml"),
        ("all/feed.json", "application/feed+json"),
        ("feeds.opml", "text/x-opml"),
        ("index.html", "text/html; charset=utf-8"),
        ("", "text/html; charset=utf-8"),
    ];
    for (path, want) in types {
        let a = s.get(path);
        assert_eq!(a.status, 200, "/{path}");
        assert!(a.header("content-type").starts_with(want), "/{path}");
        let file = if path.is_empty() { "index.html" } else { path };
        assert_eq!(a.body, t.read(file), "/{path} is the file");
        assert!(a.header("etag").starts_with('"'), "strong ETag on /{path}");
        assert!(!a.header("last-modified").is_empty(), "/{path}");
        assert_eq!(a.header("x-content-type-options"), "nosniff");
    }
    // The feeds link to the server itself: no base URL was set.
    let rss = String::from_utf8(s.get("all/rss.xml").body).unwrap();
    assert!(rss.contains(&s.url("all/rss.xml")), "{rss}");

    // Conditional GET: the ETag, the date, and a tag that no longer matches.
    let first = s.get("all/atom.xml");
    let etag = first.header("etag").to_owned();
    let modified = first.header("last-modified").to_owned();
    let again = s.request("GET", "all/atom.xml", &[("If-None-Match", &etag)]);
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("etag"), etag);
    let again = s.request("GET", "all/atom.xml", &[("If-Modified-Since", &modified)]);
    assert_eq!(again.status, 304);
    let stale = s.request(
        "GET",
        "all/atom.xml",
        &[
            ("If-None-Match", "\"old\""),
            ("If-Modified-Since", &modified),
        ],
    );
    assert_eq!(stale.status, 200, "a tag that does not match wins");

    // HEAD: the GET's headers, no body.
    let head = s.request("HEAD", "all/atom.xml", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), etag);
    assert!(head
        .header("content-type")
        .starts_with("application/atom+xml"));
    assert_eq!(
        head.header("content-length"),
        first.body.len().to_string(),
        "HEAD says how long the GET is"
    );

    // gzip and brotli when asked, each a representation with its own ETag.
    let gz = s.request("GET", "all/atom.xml", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), "gzip");
    assert_eq!(gz.header("vary"), "Accept-Encoding");
    assert_eq!(gunzip(&gz.body), first.body);
    assert!(gz.body.len() < first.body.len() / 2);
    let gz_tag = gz.header("etag").to_owned();
    assert_ne!(gz_tag, etag);
    let again = s.request(
        "GET",
        "all/atom.xml",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &gz_tag)],
    );
    assert_eq!(again.status, 304);
    let br = s.request("GET", "all/atom.xml", &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(br.header("content-encoding"), "br");
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut plain).unwrap();
    assert_eq!(plain, first.body);

    // Caching: the older day is an archive (fh:archive), the newest is live.
    let old = s.get("days/2017/11/02/feed.json");
    assert_eq!(old.header("cache-control"), "public, max-age=86400");
    assert!(String::from_utf8_lossy(&t.read("days/2017/11/02/atom.xml")).contains("fh:archive"));
    let new = s.get("days/2017/11/03/rss.xml");
    assert_eq!(new.header("cache-control"), "public, max-age=60");
    assert_eq!(first.header("cache-control"), "public, max-age=60");

    // Folders: index.html, and a redirect to the trailing slash.
    fs::create_dir_all(t.output.join("about")).unwrap();
    fs::write(t.output.join("about/index.html"), "<p>hello</p>").unwrap();
    let redirect = s.get("about?x=1");
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), "/about/?x=1");
    let page = s.get("about/");
    assert_eq!(page.status, 200);
    assert_eq!(page.body, b"<p>hello</p>");
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(s.get("opml/").status, 404, "a folder without index.html");
    let feed_page = s.get("all/");
    assert_eq!(feed_page.status, 200, "a feed's folder is its page");
    assert!(feed_page.header("content-type").starts_with("text/html"));
    assert_eq!(s.get("nothing/here.xml").status, 404);
    assert_eq!(s.request("POST", "all/rss.xml", &[]).status, 405);
}

#[test]
fn no_request_leaves_the_output_directory() {
    let t = tree();
    let outside = t.output.parent().unwrap();
    fs::write(outside.join("secret.txt"), "SECRET").unwrap();
    let s = serve(&t);
    std::os::unix::fs::symlink(outside.join("secret.txt"), t.output.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(outside, t.output.join("up")).unwrap();
    let attempts = [
        "/../secret.txt",
        "/all/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/all/..%2f..%2fsecret.txt",
        "/all%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/all/..\\..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//secret.txt",
        "/%2fsecret.txt",
        "/..%00/secret.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/.eventfeed.lock",
        "http://127.0.0.1/../secret.txt",
        "/etc/passwd",
        "/%2fetc%2fpasswd",
    ];
    for target in attempts {
        let (status, answer) = s.raw(target);
        assert!(
            status == 404 || status == 400,
            "{target}: {status}\n{answer}"
        );
        assert!(!answer.contains("SECRET"), "{target}: {answer}");
    }
    // The same requests without the tricks work.
    assert_eq!(s.raw("/all/rss.xml").0, 200);
    assert_eq!(
        s.raw("/all/../all/rss.xml").0,
        404,
        "no dot segments at all"
    );
}

#[test]
fn a_change_to_the_input_is_visible_over_http() {
    let t = tree();
    let s = serve(&t);
    let before = s.get("all/atom.xml");
    let etag = before.header("etag").to_owned();
    t.write("b.md", Ev::new("2017-11-4", "A brand new event").text());
    wait_for(
        WAIT,
        || {
            let a = s.request("GET", "all/atom.xml", &[("If-None-Match", &etag)]);
            a.status == 200 && String::from_utf8_lossy(&a.body).contains("A brand new event")
        },
        || s.daemon.log(),
    );
    // The batch's files land one by one, the new day's among them.
    wait_for(
        WAIT,
        || s.get("days/2017/11/04/rss.xml").status == 200,
        || s.daemon.log(),
    );
    // The day before is now an archive, and cached as one.
    wait_for(
        WAIT,
        || s.get("days/2017/11/03/rss.xml").header("cache-control") == "public, max-age=86400",
        || s.daemon.log(),
    );
}

const FEEDPARSER: &str = r#"
import feedparser, sys
url = sys.argv[1]
d = feedparser.parse(url)
assert d.status == 200, d.status
assert not d.bozo, d.bozo_exception
assert d.version in ('rss20', 'atom10'), d.version
assert len(d.entries) == 2, len(d.entries)
assert all(e.link.startswith('http') for e in d.entries)
assert d.headers.get('content-encoding') in ('gzip', 'br', 'deflate'), d.headers
again = feedparser.parse(url, etag=d.etag)
assert again.status == 304, again.status
again = feedparser.parse(url, modified=d.modified)
assert again.status == 304, again.status
print(d.version, d.feed.title)
"#;

#[test]
fn feedparser_polls_feeds_over_http_with_conditional_get() {
    if !Command::new("python3")
        .args(["-c", "import feedparser"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: python3 with feedparser is not installed (.ci/run installs it)");
        return;
    }
    let t = tree();
    let s = serve(&t);
    for feed in ["all/rss.xml", "all/atom.xml"] {
        let out = Command::new("python3")
            .args(["-c", FEEDPARSER, &s.url(feed)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{feed}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let t = tree();
    let mut s = serve(&t);
    let host = s.base.trim_start_matches("http://").trim_end_matches('/');
    let mut slow = TcpStream::connect(host).unwrap();
    slow.set_read_timeout(Some(WAIT)).unwrap();
    slow.write_all(b"GET /all/rss.xml HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let took = started.elapsed();
    assert!(took < WAIT, "the server waited {took:?} for the headers");
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "{answer:?}"
    );
    // Meanwhile and after, others are served; an idle keep-alive connection does
    // not hold up the exit.
    let mut idle = TcpStream::connect(host).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(s.get("all/rss.xml").status, 200);
    s.daemon.signal("TERM");
    assert_eq!(s.daemon.wait_exit(WAIT), Some(0));
}

#[test]
fn a_taken_port_is_an_error_at_once() {
    let t = tree();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_eventfeed"))
        .args(["serve", "--listen", &addr, "--input"])
        .arg(&t.input)
        .arg("--output")
        .arg(&t.output)
        .env_remove("EVENTFEED_CONFIG")
        .env("XDG_STATE_HOME", &t.state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(!t.output.join("all").exists(), "nothing was written");
}

#[test]
fn newsboat_polls_with_conditional_get() {
    if Command::new("newsboat").arg("--version").output().is_err() {
        eprintln!("skipped: newsboat is not installed (.ci/run installs it)");
        return;
    }
    let t = tree();
    let s = serve_logging(&t, "debug");
    let home = tempfile::tempdir().unwrap();
    let feeds = [s.url("all/rss.xml"), s.url("all/atom.xml")];
    fs::write(home.path().join("urls"), feeds.join("\n") + "\n").unwrap();
    fs::write(home.path().join("config"), "").unwrap();
    let newsboat = |command: &str| {
        let out = Command::new("newsboat")
            .args([
                "-u", "urls", "-c", "cache.db", "-C", "config", "-x", command,
            ])
            .current_dir(home.path())
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "newsboat -x {command}: {}",
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // newsboat keeps a feed's validators from its second fetch on, so the third
    // is the first that can be answered 304.
    for _ in 0..3 {
        newsboat("reload");
    }
    let unread = newsboat("print-unread");
    assert_eq!(unread.trim(), "2 unread articles", "{unread}");
    let log = s.daemon.log();
    let answers: Vec<&str> = log.lines().filter(|l| l.contains("request")).collect();
    assert_eq!(answers.len(), 6, "{log}");
    for feed in ["/all/rss.xml", "/all/atom.xml"] {
        let last = answers.iter().rev().find(|l| l.contains(feed)).unwrap();
        assert!(last.contains("status=304"), "{last}");
    }
}
