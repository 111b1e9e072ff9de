//! WebSub: the real daemon with `[websub] hub` pointing at a small hub in the test
//! (an HTTP listener on a free loopback port) that records the publish pings. A
//! change pings exactly the feeds whose bytes changed; a hub that is down gets
//! them once it is back.

use crate::harness::*;
use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeSet;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Record {
    /// Whether it answers 204 (up) or 503 (down).
    up: AtomicBool,
    /// Whether it never answers at all.
    hangs: AtomicBool,
    attempts: AtomicUsize,
    /// The `hub.url` of every accepted ping with `hub.mode=publish`.
    urls: Mutex<Vec<String>>,
    /// Anything else it was sent.
    odd: Mutex<Vec<String>>,
}

struct Hub {
    url: String,
    record: Arc<Record>,
}

impl Hub {
    fn start(up: bool) -> Self {
        let record = Arc::new(Record::default());
        record.up.store(up, Ordering::SeqCst);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/", axum::routing::post(ping))
            .with_state(record.clone());
        // The thread ends with the test process.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    axum::serve(listener, app).await.unwrap();
                });
        });
        Self { url, record }
    }

    fn urls(&self) -> BTreeSet<String> {
        self.record.urls.lock().unwrap().iter().cloned().collect()
    }

    fn clear(&self) {
        self.record.urls.lock().unwrap().clear();
    }
}

async fn ping(State(record): State<Arc<Record>>, body: String) -> StatusCode {
    record.attempts.fetch_add(1, Ordering::SeqCst);
    if record.hangs.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if !record.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let fields: Vec<(String, String)> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    match &fields[..] {
        [(mode, publish), (key, url)]
            if mode == "hub.mode" && publish == "publish" && key == "hub.url" =>
        {
            record.urls.lock().unwrap().push(url.clone());
            StatusCode::NO_CONTENT
        }
        _ => {
            record.odd.lock().unwrap().push(body);
            StatusCode::BAD_REQUEST
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// A tree of two days and three contexts, and a config naming the hub.
fn setup(hub: &Hub) -> (Tree, std::path::PathBuf) {
    let t = two_day_tree();
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    fs::write(
        &config,
        format!(
            "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\n[websub]\nhub = {:?}\n",
            t.input, t.output, hub.url
        ),
    )
    .unwrap();
    (t, config)
}

/// Edits one event in place the way a save-and-rename editor does (one event),
/// and returns the feed URLs whose bytes changed, once the daemon has written.
fn edit_and_diff(t: &Tree, d: &Daemon, headline: &str) -> BTreeSet<String> {
    let before = t.files();
    let batches = d.log().matches(" batch ").count();
    let staged = t.input.parent().unwrap().join("staged.md");
    fs::write(
        &staged,
        Ev::new("2017-11-3", headline).contexts(&["Zürich"]).text(),
    )
    .unwrap();
    fs::rename(&staged, t.input.join("a.md")).unwrap();
    wait_for(
        WAIT,
        || d.log().matches(" batch ").count() > batches,
        || d.log(),
    );
    let after = t.files();
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .filter(|k| is_feed(k))
        .map(|k| format!("{BASE}{k}"))
        .collect();
    assert!(!changed.is_empty());
    changed
}

/// Waits until the hub has heard of `want`, then until it has heard nothing new
/// for a while, and returns what it heard.
fn heard(hub: &Hub, d: &Daemon, want: &BTreeSet<String>) -> BTreeSet<String> {
    wait_for(
        WAIT,
        || hub.urls().is_superset(want),
        || format!("hub heard {:?}\nwant {want:?}\n{}", hub.urls(), d.log()),
    );
    let mut last = (hub.record.attempts.load(Ordering::SeqCst), Instant::now());
    wait_for(
        WAIT,
        || {
            let now = hub.record.attempts.load(Ordering::SeqCst);
            if now != last.0 {
                last = (now, Instant::now());
            }
            last.1.elapsed() > Duration::from_millis(500)
        },
        || d.log(),
    );
    hub.urls()
}

#[test]
fn the_hub_hears_of_exactly_the_feeds_whose_bytes_changed() {
    let hub = Hub::start(true);
    let (t, config) = setup(&hub);
    let d = t.watch_config(&config);
    let atom = String::from_utf8(t.read("all/atom.xml")).unwrap();
    assert!(
        atom.contains(&format!(r#"<link href="{}" rel="hub"/>"#, hub.url)),
        "{atom}"
    );
    hub.clear();
    let changed = edit_and_diff(&t, &d, "An event about Zürich, corrected");
    // The event's day, its context and the all-events feed, in three formats;
    // not Bern's feed nor the other day's.
    for feed in ["all", "days/2017/11/03", "contexts/zurich"] {
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            assert!(
                changed.contains(&format!("{BASE}{feed}/{file}")),
                "{changed:?}"
            );
        }
    }
    assert!(!changed
        .iter()
        .any(|u| u.contains("bern") || u.contains("11/02")));
    assert_eq!(heard(&hub, &d, &changed), changed);
    assert!(hub.record.odd.lock().unwrap().is_empty());
}

#[test]
fn pings_reach_a_hub_that_was_down_once_it_is_back() {
    let hub = Hub::start(false);
    let (t, config) = setup(&hub);
    let d = t.watch_config(&config);
    let changed = edit_and_diff(&t, &d, "An event about Zürich, while the hub is down");
    wait_for(
        WAIT,
        || d.log().contains("cannot reach the WebSub hub"),
        || d.log(),
    );
    assert!(hub.urls().is_empty());
    hub.record.up.store(true, Ordering::SeqCst);
    assert_eq!(heard(&hub, &d, &changed), changed);
    assert!(d.log().contains("the WebSub hub answers again"));
}

#[test]
fn what_changed_while_the_daemon_was_stopped_is_pinged_at_start() {
    let hub = Hub::start(true);
    let (t, config) = setup(&hub);
    let mut d = t.watch_config(&config);
    d.signal("TERM");
    assert_eq!(d.wait_exit(WAIT), Some(0));
    // The first start rendered every feed and pinged none of them.
    assert!(hub.urls().is_empty(), "{:?}", hub.urls());
    let before = t.files();
    t.write(
        "b.md",
        Ev::new("2017-11-3", "An event about Bern, edited while stopped")
            .contexts(&["Bern"])
            .text(),
    );
    let d = t.watch_config(&config);
    let changed: BTreeSet<String> = t
        .files()
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v) && is_feed(k))
        .map(|(k, _)| format!("{BASE}{k}"))
        .collect();
    assert!(changed.contains(&format!("{BASE}contexts/bern/atom.xml")));
    assert_eq!(heard(&hub, &d, &changed), changed);
}

fn is_feed(rel: &str) -> bool {
    rel.ends_with("rss.xml") || rel.ends_with("atom.xml") || rel.ends_with("feed.json")
}

#[test]
fn a_hub_that_never_answers_does_not_hold_up_the_feeds() {
    let hub = Hub::start(true);
    hub.record.hangs.store(true, Ordering::SeqCst);
    let (t, config) = setup(&hub);
    let d = t.watch_config(&config);
    let started = Instant::now();
    edit_and_diff(&t, &d, "A first edit, its ping left hanging");
    wait_for(
        WAIT,
        || hub.record.attempts.load(Ordering::SeqCst) > 0,
        || d.log(),
    );
    edit_and_diff(&t, &d, "A second edit, out while the ping hangs");
    // A ping holding up the batches would take the client's 10 s timeout.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "{took:?}\n{}", d.log());
    assert!(String::from_utf8_lossy(&t.read("all/atom.xml")).contains("out while the ping hangs"));
}
