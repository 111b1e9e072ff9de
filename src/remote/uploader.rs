//! The daemon's uploader: a thread of its own (with its own runtime) that
//! mirrors the paths each batch wrote or removed, so the write path never waits
//! for the store.
//!
//! [`Uploader::queue`] journals the paths (see [`super::journal`]) and returns.
//! The thread takes the pending paths in rounds of at most a thousand, feeds
//! first, then pages and OPML, deletes last, `concurrency` at a time, and
//! forgets a path only once its upload succeeded and it was not queued again
//! meanwhile. A failure ends the round (so no page goes out before the feeds it
//! links to) and the next round comes after a delay doubling from 1 s to a
//! minute; the journal keeps everything, across restarts too. After each round
//! the purge hook gets the URLs that changed.

use super::journal::Journal;
use super::lease::{Hold, Lease};
use super::sync::{self, mirror_in_order};
use super::{Destination, Done, Settings};
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The most paths one round uploads before the journal is compacted.
const ROUND: usize = 1000;
/// The first delay after a failed round, and the longest.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// How often the journal is rewritten while a long catch-up runs.
const COMPACT_EVERY: Duration = Duration::from_secs(5);

pub struct Uploader {
    settings: Settings,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    /// Path -> the generation it was last queued in.
    pending: BTreeMap<String, u64>,
    generation: u64,
    journal: Journal,
    /// A full comparison with the store is due before anything else.
    full_sync: bool,
    stop: bool,
    /// Since when the store lacks something.
    behind_since: Option<Instant>,
    /// The last failure and the current delay.
    failing: Option<(String, Duration)>,
    /// Who holds the lease, while another daemon does.
    standby: Option<String>,
    /// The thread has ended (and released the lease).
    exited: bool,
}

impl State {
    fn push(&mut self, paths: impl IntoIterator<Item = String>) {
        self.generation += 1;
        for p in paths {
            self.pending.insert(p, self.generation);
        }
        if !self.pending.is_empty() {
            self.behind_since.get_or_insert_with(Instant::now);
        }
    }
}

impl Uploader {
    /// Opens the destination and the journal, and starts the thread, which first
    /// replays what the journal holds.
    pub fn start(
        settings: &Settings,
        output: &Path,
        state_dir: &Path,
        links: crate::links::Links,
    ) -> Result<Self> {
        let dest = Destination::open(settings, output)?;
        let (journal, replay) = Journal::open(state_dir, &settings.destination)?;
        if !replay.pending.is_empty() || replay.full_sync {
            tracing::info!(
                pending = replay.pending.len(),
                full_sync = replay.full_sync,
                destination = %settings.destination,
                "publishing what the store lacks"
            );
        }
        let mut state = State {
            pending: BTreeMap::new(),
            generation: 0,
            journal,
            full_sync: replay.full_sync,
            stop: false,
            behind_since: None,
            failing: None,
            standby: None,
            exited: false,
        };
        state.push(replay.pending);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
        });
        let (s, settings2) = (shared.clone(), settings.clone());
        std::thread::Builder::new()
            .name("publish".into())
            .spawn(move || run(&s, &dest, &settings2, &links))
            .expect("spawning a thread");
        Ok(Self {
            settings: settings.clone(),
            shared,
        })
    }

    /// Keeps `old` if it publishes with the same settings (so a reload loses
    /// nothing in flight), else starts one for `settings`, or none.
    pub fn reuse(
        old: Option<Self>,
        settings: Option<&Settings>,
        output: &Path,
        state_dir: &Path,
        links: &crate::links::Links,
    ) -> Result<Option<Self>> {
        match (old, settings) {
            (Some(old), Some(s)) if old.settings == *s => Ok(Some(old)),
            (old, settings) => {
                drop(old);
                settings
                    .map(|s| Self::start(s, output, state_dir, links.clone()))
                    .transpose()
            }
        }
    }

    /// Journals `paths` (output paths written or removed) and wakes the thread.
    pub fn queue(&self, paths: Vec<String>) {
        if paths.is_empty() {
            return;
        }
        let mut state = self.shared.state.lock().expect("not poisoned");
        if let Err(e) = state.journal.append(&paths) {
            // The paths are still queued; only a crash before they are uploaded
            // would lose them, and the next start then compares in full.
            tracing::error!("{e:#}; a restart will compare the whole store");
            state.full_sync = true;
        }
        state.push(paths);
        self.shared.wake.notify_all();
    }

    /// How far behind the store is, for `STATUS=`.
    pub fn status(&self) -> String {
        let state = self.shared.state.lock().expect("not poisoned");
        if let Some(holder) = &state.standby {
            return format!("store: standing by, {holder} publishes");
        }
        let mut s = match (state.pending.len(), state.behind_since) {
            (0, _) if !state.full_sync => "store current".to_owned(),
            (n, since) => format!(
                "store {n} files behind{}{}",
                since.map_or(String::new(), |t| format!(
                    " for {} s",
                    t.elapsed().as_secs()
                )),
                if state.full_sync {
                    ", comparing in full"
                } else {
                    ""
                }
            ),
        };
        if let Some((error, delay)) = &state.failing {
            s.push_str(&format!(", retrying every {} s: {error}", delay.as_secs()));
        }
        s
    }
}

impl Drop for Uploader {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().expect("not poisoned");
        state.stop = true;
        // Everything pending is in the journal: the next start resumes it.
        state.journal.close();
        if !state.pending.is_empty() {
            tracing::info!(
                pending = state.pending.len(),
                "stopping with uploads pending; the next start resumes them"
            );
        }
        self.shared.wake.notify_all();
        // A moment for the thread to give up the lease, so a standby takes over
        // at once; an upload in flight is not waited for (the journal has it).
        let _ = self
            .shared
            .wake
            .wait_timeout_while(state, Duration::from_secs(3), |s| !s.exited)
            .expect("not poisoned");
    }
}

/// The thread: rounds until stopped.
fn run(shared: &Shared, dest: &Destination, settings: &Settings, links: &crate::links::Links) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return tracing::error!("cannot start the publishing runtime: {e}"),
    };
    let mut lease = settings.lease.map(Lease::new);
    let mut compacted = Instant::now();
    loop {
        {
            let mut state = shared.state.lock().expect("not poisoned");
            // With a lease, wake at least once a third of it to renew or take it.
            let wait = lease
                .as_ref()
                .map_or(Duration::from_secs(3600), Lease::interval);
            if state.pending.is_empty() && !state.full_sync && !state.stop {
                (state, _) = shared
                    .wake
                    .wait_timeout_while(state, wait, |s| {
                        s.pending.is_empty() && !s.full_sync && !s.stop
                    })
                    .expect("not poisoned");
            }
            if state.stop {
                drop(state);
                if let Some(lease) = &mut lease {
                    let release = lease.release(dest.store().as_ref());
                    let _ = runtime.block_on(tokio::time::timeout(Duration::from_secs(2), release));
                }
                shared.state.lock().expect("not poisoned").exited = true;
                shared.wake.notify_all();
                return;
            }
        }
        let started = Instant::now();
        let outcome = match &mut lease {
            Some(lease) => match runtime.block_on(lease.hold(dest.store().as_ref())) {
                Ok(Hold::Kept) => Ok(true),
                Ok(Hold::Taken) => {
                    tracing::info!(
                        holder = lease.me(),
                        "took the publishing lease; comparing the store in full"
                    );
                    let mut state = shared.state.lock().expect("not poisoned");
                    state.full_sync = true;
                    state.standby = None;
                    Ok(true)
                }
                Ok(Hold::Standby { holder, until }) => {
                    let mut state = shared.state.lock().expect("not poisoned");
                    if state.standby.as_ref() != Some(&holder) {
                        tracing::info!(%holder, until, "standing by: another daemon holds the publishing lease");
                    }
                    // The holder publishes; a standby that takes over compares
                    // in full, so it keeps nothing.
                    state.pending.clear();
                    state.full_sync = false;
                    state.behind_since = None;
                    state.failing = None;
                    if let Err(e) = state.journal.compact(&[]) {
                        tracing::warn!("{e:#}");
                    }
                    state.standby = Some(holder);
                    Ok(false)
                }
                Err(e) => Err(e),
            },
            None => Ok(true),
        };
        let outcome = match outcome {
            Ok(true) => round(
                shared,
                dest,
                settings,
                links,
                &runtime,
                &mut compacted,
                started,
            ),
            Ok(false) => {
                // Standing by: wait for the next look at the lease.
                let state = shared.state.lock().expect("not poisoned");
                let wait = lease
                    .as_ref()
                    .map_or(Duration::from_secs(1), Lease::interval);
                let _ = shared
                    .wake
                    .wait_timeout_while(state, wait, |s| !s.stop)
                    .expect("not poisoned");
                continue;
            }
            Err(e) => Err(e),
        };
        let mut state = shared.state.lock().expect("not poisoned");
        match outcome {
            Ok(()) => {
                if state.failing.take().is_some() {
                    tracing::info!(destination = %dest.name, "the store answers again");
                }
            }
            Err(e) => {
                let delay = state
                    .failing
                    .as_ref()
                    .map_or(Duration::ZERO, |(_, d)| *d * 2)
                    .clamp(BACKOFF.0, BACKOFF.1);
                tracing::warn!(
                    pending = state.pending.len(),
                    "publishing to {} failed ({e:#}); trying again in {} s",
                    dest.name,
                    delay.as_secs()
                );
                state.failing = Some((format!("{e:#}"), delay));
                // Sleeps the delay unless told to stop; new paths only queue.
                let _ = shared
                    .wake
                    .wait_timeout_while(state, delay, |s| !s.stop)
                    .expect("not poisoned");
            }
        }
    }
}

/// One round: the full comparison if due, else the next [`ROUND`] pending
/// paths, then the purge hook.
fn round(
    shared: &Shared,
    dest: &Destination,
    settings: &Settings,
    links: &crate::links::Links,
    runtime: &tokio::runtime::Runtime,
    compacted: &mut Instant,
    started: Instant,
) -> Result<()> {
    let (full_sync, round) = {
        let state = shared.state.lock().expect("not poisoned");
        (state.full_sync, next_round(&dest.output, &state.pending))
    };
    if full_sync {
        return runtime.block_on(catch_up(shared, dest, settings));
    }
    if round.is_empty() {
        return Ok(());
    }
    let paths: Vec<&String> = round.iter().map(|(p, _)| p).collect();
    let (done, error) =
        runtime.block_on(mirror_in_order(dest, &paths, settings.concurrency, &|| {}));
    let (mut put, mut bytes, mut deleted) = (0, 0, 0);
    for (_, d) in &done {
        match d {
            Done::Put(n) => (put, bytes) = (put + 1, bytes + n),
            Done::Deleted => deleted += 1,
        }
    }
    let behind = {
        let mut state = shared.state.lock().expect("not poisoned");
        let generation: BTreeMap<&String, u64> = round.iter().map(|(p, g)| (p, *g)).collect();
        for (rel, _) in &done {
            if state.pending.get(rel) == generation.get(rel) {
                state.pending.remove(rel);
            }
        }
        if state.pending.is_empty() {
            state.behind_since = None;
        }
        // Once stopped, the journal may already be another uploader's (a
        // reload): leave it as it is, a superset of what is pending.
        let due = state.pending.is_empty() || compacted.elapsed() > COMPACT_EVERY;
        if due && !state.stop {
            let State {
                journal, pending, ..
            } = &mut *state;
            if let Err(e) = journal.compact(pending.keys()) {
                tracing::warn!("{e:#}");
            }
            *compacted = Instant::now();
        }
        state.pending.len()
    };
    if !done.is_empty() {
        tracing::info!(
            uploaded = put,
            bytes,
            deleted,
            behind,
            ms = started.elapsed().as_millis() as u64,
            "published"
        );
        let urls: Vec<String> = done
            .iter()
            .flat_map(|(rel, _)| super::urls(links, rel))
            .collect();
        super::purge::run(&settings.purge_command, &urls);
    }
    error.map_or(Ok(()), Err)
}

/// The next round: the first [`ROUND`] pending paths in upload order (present
/// feeds, present pages, then gone files).
fn next_round(output: &Path, pending: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut all: Vec<(u8, &String, u64)> = pending
        .iter()
        .map(|(p, g)| {
            let phase = match output.join(p).exists() {
                true => super::rank(p),
                false => 2,
            };
            (phase, p, *g)
        })
        .collect();
    all.sort_unstable();
    all.into_iter()
        .take(ROUND)
        .map(|(_, p, g)| (p.clone(), g))
        .collect()
}

/// The daemon's full comparison: queues what differs (and what is gone, up to
/// `max_deletes`), then records the destination as synced.
async fn catch_up(shared: &Shared, dest: &Destination, settings: &Settings) -> Result<()> {
    let started = Instant::now();
    let output = dest.output.clone();
    // Blocking is fine: this runtime is the thread's own.
    let local = sync::local_files(&output)?;
    let remote = sync::remote_objects(dest).await?;
    let mut diff = sync::diff(&output, &local, &remote, false);
    if diff.delete.len() > settings.max_deletes {
        tracing::error!(
            objects = diff.delete.len(),
            max_deletes = settings.max_deletes,
            "the store holds more objects the output no longer has than `max_deletes`: not deleting them; check the destination, then run `eventfeed publish --allow-deletes`"
        );
        diff.delete.clear();
    }
    tracing::info!(
        upload = diff.upload.len(),
        delete = diff.delete.len(),
        same = diff.same,
        ms = started.elapsed().as_millis() as u64,
        "compared the store with the output"
    );
    let mut state = shared.state.lock().expect("not poisoned");
    let paths: Vec<String> = diff.upload.into_iter().chain(diff.delete).collect();
    state.journal.append(&paths)?;
    state.push(paths);
    state.journal.synced()?;
    state.full_sync = false;
    Ok(())
}
