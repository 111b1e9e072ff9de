//! One writer for two machines: a lease object in the store, written only with
//! conditional PUTs, so that of several daemons publishing to one destination
//! (a standby beside the primary, each with its own copy of the input) exactly
//! one uploads.
//!
//! The lease is `<prefix>/.eventfeed-lease`, a small JSON document naming its
//! holder and when it expires (the holder's wall clock, seconds since 1970).
//! - Taking a lease that does not exist: create-if-absent (`If-None-Match: *`).
//! - Taking an expired one, or renewing one's own: update-if-match (`If-Match:`
//!   the `ETag` read or last written). Of two daemons racing, the store lets one
//!   write; the other gets a precondition failure and stays a standby.
//! - The holder renews once a third of the lease has passed, and gives it up
//!   (expires it now) on a clean stop, so a standby takes over within a third of
//!   the lease rather than the whole of it.
//! - A daemon that takes the lease compares the whole store first: it cannot
//!   know what the last holder uploaded. A standby keeps no journal.
//!
//! What it needs: a store with conditional PUT (S3 since 2024, R2, MinIO,
//! s3s-fs; not a `file://` folder), and clocks in step to well within the lease
//! (NTP). A holder paused past its lease (a stopped VM) may finish a round of
//! uploads after a standby took over; both upload the bytes their own input
//! gives, which are the same when the inputs are (the output is deterministic).

use anyhow::{Context as _, Result};
use object_store::path::Path as ObjectPath;
use object_store::{
    ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant, SystemTime};

/// The lease's object name, beside the output's (eventfeed owns no dot file, so
/// no sync ever deletes it).
pub const OBJECT: &str = ".eventfeed-lease";

#[derive(Debug, Serialize, Deserialize)]
struct Body {
    holder: String,
    /// Seconds since 1970, by the holder's clock.
    expires: u64,
}

/// What [`Lease::hold`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Hold {
    /// We held it and still do.
    Kept,
    /// We did not hold it and now do.
    Taken,
    /// Another daemon holds it, until the time given (seconds since 1970).
    Standby { holder: String, until: u64 },
}

pub struct Lease {
    ttl: Duration,
    me: String,
    /// The lease's version as we last wrote it, while we hold it.
    version: Option<UpdateVersion>,
    /// Until when (our clock) we surely hold it.
    held_until: Option<Instant>,
}

impl Lease {
    pub fn new(ttl: Duration) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let nonce = crate::slug::short_hash(&format!("{:?}", SystemTime::now()));
        Self {
            ttl,
            me: format!("{host}:{}:{nonce}", std::process::id()),
            version: None,
            held_until: None,
        }
    }

    /// Who we are in the lease document.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// How often to look again: a third of the lease.
    pub fn interval(&self) -> Duration {
        self.ttl / 3
    }

    /// Whether the lease is ours now.
    pub fn held(&self) -> bool {
        self.held_until.is_some_and(|t| t > Instant::now())
    }

    /// Makes sure we hold the lease: renews it when a third has passed, takes it
    /// when it is free or expired, else reports who holds it.
    pub async fn hold(&mut self, store: &dyn ObjectStore) -> Result<Hold> {
        if let Some(until) = self.held_until {
            if until.saturating_duration_since(Instant::now()) > self.ttl * 2 / 3 {
                return Ok(Hold::Kept);
            }
        }
        if let Some(version) = self.version.clone() {
            match self.write(store, PutMode::Update(version), self.ttl).await {
                Ok(()) => return Ok(Hold::Kept),
                Err(object_store::Error::Precondition { .. }) => {
                    tracing::warn!("the publishing lease was taken over by another daemon");
                    self.version = None;
                    self.held_until = None;
                }
                Err(e) => return Err(e).context("cannot renew the publishing lease"),
            }
        }
        let location = ObjectPath::from(OBJECT);
        let mode = match store.get(&location).await {
            Err(object_store::Error::NotFound { .. }) => PutMode::Create,
            Err(e) => return Err(e).context("cannot read the publishing lease"),
            Ok(got) => {
                let version = UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                let bytes = got
                    .bytes()
                    .await
                    .context("cannot read the publishing lease")?;
                // An unreadable lease is as good as an expired one.
                if let Ok(body) = serde_json::from_slice::<Body>(&bytes) {
                    if body.expires > unix_now() && body.holder != self.me {
                        return Ok(Hold::Standby {
                            holder: body.holder,
                            until: body.expires,
                        });
                    }
                }
                PutMode::Update(version)
            }
        };
        match self.write(store, mode, self.ttl).await {
            Ok(()) => Ok(Hold::Taken),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Ok(Hold::Standby {
                holder: "another daemon (it just took it)".into(),
                until: unix_now() + self.ttl.as_secs(),
            }),
            Err(e) => Err(e).context("cannot take the publishing lease"),
        }
    }

    /// Gives the lease up (a clean stop), so that a standby takes over at once.
    pub async fn release(&mut self, store: &dyn ObjectStore) {
        if let Some(version) = self.version.take() {
            if self.held() {
                let _ = self
                    .write(store, PutMode::Update(version), Duration::ZERO)
                    .await;
            }
        }
        self.held_until = None;
    }

    async fn write(
        &mut self,
        store: &dyn ObjectStore,
        mode: PutMode,
        ttl: Duration,
    ) -> object_store::Result<()> {
        let sent = Instant::now();
        let body = Body {
            holder: self.me.clone(),
            expires: unix_now() + ttl.as_secs(),
        };
        let bytes = serde_json::to_vec(&body).expect("serializable");
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let put = store
            .put_opts(&ObjectPath::from(OBJECT), PutPayload::from(bytes), opts)
            .await?;
        self.version = Some(UpdateVersion {
            e_tag: put.e_tag,
            version: put.version,
        });
        // Counted from before the request: the store may have taken it late.
        self.held_until = Some(sent + ttl);
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_then_a_takeover_after_a_release() {
        let store = object_store::memory::InMemory::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut a = Lease::new(Duration::from_secs(30));
            let mut b = Lease::new(Duration::from_secs(30));
            assert_eq!(a.hold(&store).await.unwrap(), Hold::Taken);
            assert!(matches!(b.hold(&store).await.unwrap(), Hold::Standby { holder, .. } if holder == a.me()));
            assert_eq!(a.hold(&store).await.unwrap(), Hold::Kept);
            a.release(&store).await;
            assert_eq!(b.hold(&store).await.unwrap(), Hold::Taken);
            assert!(matches!(a.hold(&store).await.unwrap(), Hold::Standby { .. }));
            // A holder whose lease was taken learns it at its next renewal.
            let mut c = Lease::new(Duration::from_secs(3));
            let store2 = object_store::memory::InMemory::new();
            assert_eq!(c.hold(&store2).await.unwrap(), Hold::Taken);
            let mut d = Lease::new(Duration::from_secs(3));
            d.version = None;
            // Expire c's lease by hand: d overwrites it unconditionally.
            store2
                .put(&ObjectPath::from(OBJECT), PutPayload::from_static(b"{}"))
                .await
                .unwrap();
            assert_eq!(d.hold(&store2).await.unwrap(), Hold::Taken);
            c.held_until = Some(Instant::now());
            assert!(matches!(c.hold(&store2).await.unwrap(), Hold::Standby { .. }));
        });
    }
}
