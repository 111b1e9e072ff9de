//! WebSub publishing: after each batch the daemon names the feeds whose bytes
//! changed, and a thread of its own tells the hub (`hub.mode=publish`,
//! `hub.url=<feed>`, one request per feed), so that subscribed readers get a
//! change in seconds instead of at their next poll.
//!
//! The write path never waits for the hub: [`Publisher::publish`] only queues. A
//! feed queued while a ping for it is still pending is pinged once. A hub that is
//! down (no answer, a 5xx, 408 or 429) is retried with a delay doubling from
//! 1 s to a minute, the pending pings kept in order; one that refuses a feed
//! (another 4xx or a redirect) is not asked again about that change. Pings still
//! queued when the daemon stops are lost: readers see those changes at their
//! next poll.

use rustc_hash::FxHashSet as HashSet;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The first delay after a failed ping, and the longest.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an output file is a feed (a topic readers subscribe to), as opposed to
/// a page or the OPML list.
pub fn is_feed(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    crate::render::FORMATS.contains(&name) && rel.contains('/')
}

/// The queue of feed URLs to ping, and the thread that empties it.
pub struct Publisher {
    hub: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    order: VecDeque<String>,
    /// The URLs in `order`, to coalesce duplicates.
    pending: HashSet<String>,
    stop: bool,
}

impl Queue {
    fn push_back(&mut self, url: String) {
        if self.pending.insert(url.clone()) {
            self.order.push_back(url);
        }
    }
}

/// What became of one ping.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    /// Worth asking again later (the hub is down or busy).
    Retry(String),
    /// The hub will not take it; asking again changes nothing.
    Refused(String),
}

impl Publisher {
    /// Starts the publishing thread for `hub` (an absolute http(s) URL).
    pub fn start(hub: String) -> Self {
        let shared = Arc::new(Shared::default());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(TIMEOUT))
            .user_agent(crate::render::GENERATOR.replace(' ', "/"))
            .build()
            .into();
        let (h, s) = (hub.clone(), shared.clone());
        std::thread::Builder::new()
            .name("websub".into())
            .spawn(move || run(&s, |url| ping(&agent, &h, url)))
            .expect("spawning a thread");
        Self { hub, shared }
    }

    /// Keeps `old` if it pings the same hub (so a reload loses no pending ping),
    /// else starts a publisher for `hub`, or none.
    pub fn reuse(old: Option<Self>, hub: Option<&str>) -> Option<Self> {
        match (old, hub) {
            (Some(old), Some(hub)) if old.hub == hub => Some(old),
            (_, hub) => hub.map(|h| Self::start(h.to_owned())),
        }
    }

    /// Queues pings for these feed URLs; returns at once.
    pub fn publish(&self, urls: impl IntoIterator<Item = String>) {
        let mut queue = self.shared.queue.lock().expect("not poisoned");
        let before = queue.order.len();
        for url in urls {
            queue.push_back(url);
        }
        if queue.order.len() > before {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let mut queue = self.shared.queue.lock().expect("not poisoned");
        queue.stop = true;
        if !queue.order.is_empty() {
            tracing::warn!(
                pending = queue.order.len(),
                hub = %self.hub,
                "stopping with WebSub pings not sent; readers get those changes at their next poll"
            );
        }
        self.shared.wake.notify_one();
    }
}

/// The publishing loop: one URL at a time, in order, until stopped.
fn run(shared: &Shared, send: impl Fn(&str) -> Outcome) {
    let mut delay = Duration::ZERO;
    loop {
        let url = {
            let mut queue = shared.queue.lock().expect("not poisoned");
            while queue.order.is_empty() && !queue.stop {
                queue = shared.wake.wait(queue).expect("not poisoned");
            }
            if queue.stop {
                return;
            }
            // Out of `pending` before the request: a change made while it is in
            // flight may come after the hub's fetch, so it gets a ping of its own.
            let url = queue.order.pop_front().expect("not empty");
            queue.pending.remove(&url);
            url
        };
        match send(&url) {
            Outcome::Done => {
                if delay > Duration::ZERO {
                    tracing::info!("the WebSub hub answers again");
                }
                delay = Duration::ZERO;
                tracing::debug!(url, "WebSub hub pinged");
            }
            Outcome::Refused(why) => {
                tracing::warn!(url, "the WebSub hub refused the ping: {why}");
            }
            Outcome::Retry(why) => {
                delay = (delay * 2).clamp(BACKOFF.0, BACKOFF.1);
                let mut queue = shared.queue.lock().expect("not poisoned");
                if queue.pending.insert(url.clone()) {
                    queue.order.push_front(url);
                }
                tracing::warn!(
                    pending = queue.order.len(),
                    "cannot reach the WebSub hub ({why}); trying again in {} s",
                    delay.as_secs()
                );
                // Sleeps the delay unless told to stop; new pings only queue.
                let (queue, _) = shared
                    .wake
                    .wait_timeout_while(queue, delay, |q| !q.stop)
                    .expect("not poisoned");
                if queue.stop {
                    return;
                }
            }
        }
    }
}

fn ping(agent: &ureq::Agent, hub: &str, url: &str) -> Outcome {
    let response = agent
        .post(hub)
        .send_form([("hub.mode", "publish"), ("hub.url", url)]);
    match response {
        Ok(r) if r.status().is_success() => Outcome::Done,
        Ok(r) if r.status().is_server_error() || matches!(r.status().as_u16(), 408 | 429) => {
            Outcome::Retry(format!("HTTP {}", r.status()))
        }
        Ok(r) => Outcome::Refused(format!("HTTP {}", r.status())),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn feeds_are_the_three_formats_in_a_folder() {
        assert!(is_feed("all/rss.xml"));
        assert!(is_feed("days/2017/11/02/feed.json"));
        assert!(is_feed("contexts/x/atom.xml"));
        assert!(!is_feed("index.html"));
        assert!(!is_feed("feeds.opml"));
        assert!(!is_feed("contexts/x/index.html"));
    }

    #[test]
    fn duplicates_coalesce_and_a_failure_is_retried_first() {
        let shared = Shared::default();
        {
            let mut q = shared.queue.lock().unwrap();
            for url in ["a", "b", "a", "c", "b"] {
                q.push_back(url.into());
            }
            assert_eq!(q.order, ["a", "b", "c"]);
        }
        let sent = Mutex::new(Vec::new());
        let calls = AtomicUsize::new(0);
        run(&shared, |url| {
            sent.lock().unwrap().push(url.to_owned());
            // The second call fails once; the fourth is the last.
            let n = calls.fetch_add(1, Ordering::SeqCst);
            shared.queue.lock().unwrap().stop = n == 3;
            if n == 1 {
                Outcome::Retry("down".into())
            } else {
                Outcome::Done
            }
        });
        assert_eq!(*sent.lock().unwrap(), ["a", "b", "b", "c"]);
    }
}
