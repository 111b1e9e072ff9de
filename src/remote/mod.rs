//! Publishing the output directory to object storage (S3 and compatibles, or a
//! mounted folder), to be served by a CDN: `[publish]` in the config.
//!
//! The local output stays the truth; the store is a copy that follows it. The
//! daemon knows which files each batch wrote and removed ([`crate::sink`]
//! tracks them), hands them to the [`uploader`], which journals them durably in
//! the state directory and uploads them off the write path, with retries, feeds
//! before the pages and OPML that link to them, deletes last; then runs the
//! [`purge`] hook with the changed URLs. [`sync`] is the one-shot full sync
//! (`eventfeed publish`), and the daemon's catch-up after a crash or a new
//! destination. Every operation on one path is idempotent and decided at upload
//! time from the local file (present: upload it; gone: delete the object), so a
//! path queued twice, replayed after a crash or uploaded late is never wrong.

pub mod config;
pub mod journal;
pub mod lease;
pub mod purge;
pub mod sync;
pub mod uploader;

pub use config::Settings;

use anyhow::{Context as _, Result};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What marks an archived day feed (RFC 5005) in its Atom document.
const ARCHIVE_MARK: &[u8] = b"<fh:archive";

/// A store and how to write to it.
#[derive(Clone)]
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    /// The store's own text, for logs (no credentials).
    pub name: String,
    /// Whether objects carry `Content-Type` and `Cache-Control` (not a folder).
    attributes: bool,
    archive_cache_control: String,
    cache_control: String,
    /// The local output directory the store mirrors.
    pub output: PathBuf,
}

/// What one path's upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The local file was uploaded (its size).
    Put(u64),
    /// The local file is gone, and so is the object now.
    Deleted,
}

impl Destination {
    /// Opens the store of `settings` (credentials from the environment) for the
    /// output directory `output`.
    pub fn open(settings: &Settings, output: &Path) -> Result<Self> {
        let url = &settings.destination;
        let (scheme, rest) = url.split_once("://").context("no scheme")?;
        let (store, attributes): (Arc<dyn ObjectStore>, bool) = match scheme {
            "s3" | "s3a" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(settings.allow_http)
                    // An outage shows in a few seconds and the uploader backs off
                    // on its own, rather than a request retrying for minutes.
                    .with_retry(retry())
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_allow_http(settings.allow_http)
                            .with_connect_timeout(Duration::from_secs(5))
                            .with_timeout(Duration::from_secs(60)),
                    )
                    .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
                if let Some(e) = &settings.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(r) = &settings.region {
                    b = b.with_region(r);
                }
                let s3 = b
                    .build()
                    .with_context(|| format!("cannot open the store {url}"))?;
                let prefix = prefix.trim_matches('/');
                let store: Arc<dyn ObjectStore> = match prefix {
                    "" => Arc::new(s3),
                    p => Arc::new(object_store::prefix::PrefixStore::new(s3, p)),
                };
                (store, true)
            }
            "file" => {
                let dir = Path::new(rest);
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .with_context(|| format!("cannot open {}", dir.display()))?
                    // Folders left empty by a delete go too, as in the output.
                    .with_automatic_cleanup(true);
                // A folder keeps no headers; whatever serves it sets them.
                (Arc::new(local), false)
            }
            "memory" => (Arc::new(object_store::memory::InMemory::new()), true),
            _ => anyhow::bail!("unsupported destination {url}"),
        };
        Ok(Self {
            store,
            name: url.clone(),
            attributes,
            archive_cache_control: settings.archive_cache_control.clone(),
            cache_control: settings.cache_control.clone(),
            output: output.to_owned(),
        })
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Makes the object at `rel` what the local file is: uploads it, or deletes
    /// the object if the file is gone.
    pub async fn mirror(&self, rel: &str) -> Result<Done> {
        let local = self.output.join(rel);
        let location = ObjectPath::from(rel);
        match std::fs::read(&local) {
            Ok(bytes) => {
                let len = bytes.len() as u64;
                let opts = PutOptions {
                    attributes: self.attributes_of(rel, &bytes),
                    ..PutOptions::default()
                };
                self.store
                    .put_opts(&location, PutPayload::from(bytes), opts)
                    .await
                    .with_context(|| format!("cannot upload {rel} to {}", self.name))?;
                Ok(Done::Put(len))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match self.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(Done::Deleted),
                    Err(e) => {
                        Err(e).with_context(|| format!("cannot delete {rel} from {}", self.name))
                    }
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", local.display())),
        }
    }

    /// The headers an object keeps: its content type (as `eventfeed serve` sends
    /// it) and its `Cache-Control` (long for an archived day, short otherwise).
    fn attributes_of(&self, rel: &str, bytes: &[u8]) -> Attributes {
        let mut a = Attributes::new();
        if !self.attributes {
            return a;
        }
        a.insert(
            Attribute::ContentType,
            crate::serve::content_type(Path::new(rel)).into(),
        );
        let cache = match archived(&self.output, rel, bytes) {
            true => &self.archive_cache_control,
            false => &self.cache_control,
        };
        a.insert(Attribute::CacheControl, cache.clone().into());
        a
    }

    /// How long the store takes a `Cache-Control` for `rel` (for tests and
    /// `publish --dry-run`).
    pub fn cache_control(&self, rel: &str) -> &str {
        let bytes = std::fs::read(self.output.join(rel)).unwrap_or_default();
        match archived(&self.output, rel, &bytes) {
            true => &self.archive_cache_control,
            false => &self.cache_control,
        }
    }
}

fn retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        ..object_store::RetryConfig::default()
    }
}

/// Whether `rel` is a file of an archived day: `days/YYYY/MM/DD/<file>` whose
/// day's Atom feed carries `fh:archive` (`bytes` are `rel`'s own).
fn archived(output: &Path, rel: &str, bytes: &[u8]) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.len() != 5 || parts[0] != "days" {
        return false;
    }
    let has_mark = |b: &[u8]| b.windows(ARCHIVE_MARK.len()).any(|w| w == ARCHIVE_MARK);
    if parts[4] == "atom.xml" {
        return has_mark(bytes);
    }
    let atom = output
        .join(&rel[..rel.len() - parts[4].len()])
        .join("atom.xml");
    std::fs::read(atom).is_ok_and(|b| has_mark(&b))
}

/// The order of uploads: feeds first (0), then the pages and OPML lists that
/// link to them (1), so a CDN never serves a link to a feed not yet there.
/// Deletes come after both.
pub fn rank(rel: &str) -> u8 {
    u8::from(!crate::websub::is_feed(rel))
}

/// Whether `rel` (a path relative to the output) is one eventfeed owns and so
/// publishes: under one of [`crate::sink::OWNED`], and no temp file.
pub fn owned(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    crate::sink::OWNED.contains(&top) && !name.starts_with('.')
}

/// The public URLs that show `rel`: its own, and for a folder's `index.html`
/// the folder's (a CDN caches both).
pub fn urls(links: &crate::links::Links, rel: &str) -> Vec<String> {
    let mut urls = vec![links.feed_url(rel)];
    if rel == "index.html" {
        urls.push(links.feed_url(""));
    } else if let Some(dir) = rel.strip_suffix("/index.html") {
        urls.push(links.feed_url(&format!("{dir}/")));
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_go_first_and_only_owned_files_are_published() {
        assert_eq!(rank("days/2017/11/02/rss.xml"), 0);
        assert_eq!(rank("days/2017/11/02/index.html"), 1);
        assert_eq!(rank("feeds.opml"), 1);
        assert!(owned("contexts/x/atom.xml"));
        assert!(owned("index.html"));
        assert!(!owned("robots.txt"));
        assert!(!owned("days/2017/.eventfeed-x.tmp"));
    }

    #[test]
    fn archived_days_are_told_by_their_atom_feed() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("days/2017/11/02");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("atom.xml"), b"<feed><fh:archive/></feed>").unwrap();
        assert!(archived(dir.path(), "days/2017/11/02/rss.xml", b"<rss/>"));
        assert!(archived(
            dir.path(),
            "days/2017/11/02/atom.xml",
            b"<fh:archive/>"
        ));
        assert!(!archived(
            dir.path(),
            "days/2017/11/02/atom.xml",
            b"<feed/>"
        ));
        assert!(!archived(dir.path(), "all/rss.xml", b"<fh:archive/>"));
    }
}
