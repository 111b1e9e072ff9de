//! `[publish]`: where the output goes beyond this machine, checked into
//! [`Settings`]. Credentials are never part of it: the S3 client reads the
//! standard `AWS_*` variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_PROFILE`-less instance roles ...) itself, and
//! nothing here logs them.

use anyhow::{bail, Result};
use serde::Deserialize;

/// `[publish]` as written. Every key has a default; without `destination`
/// nothing is published.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct File {
    /// `s3://bucket/prefix`, or `file:///path` (a local or mounted folder).
    pub destination: Option<String>,
    /// An S3-compatible store's URL (MinIO, R2, Ceph ...); AWS by default.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Allows an `http://` endpoint (a store on loopback or a private network).
    pub allow_http: bool,
    /// `Cache-Control` of archived day files (`fh:archive`: a later day exists).
    pub archive_cache_control: String,
    /// `Cache-Control` of everything else: live feeds, pages, OPML.
    pub cache_control: String,
    /// A command (program and arguments) that gets the changed URLs on stdin,
    /// one a line, after each round of uploads: a CDN purge.
    pub purge_command: Vec<String>,
    /// The most objects `eventfeed publish` (and the daemon's catch-up sync)
    /// deletes without `--allow-deletes`.
    pub max_deletes: usize,
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Seconds of a lease object in the store that only its holder publishes
    /// under (a primary and standbys); 0: no lease, this daemon always publishes.
    pub lease_secs: u64,
}

impl Default for File {
    fn default() -> Self {
        Self {
            destination: None,
            endpoint: None,
            region: None,
            allow_http: false,
            archive_cache_control: "public, max-age=86400".into(),
            cache_control: "public, max-age=60".into(),
            purge_command: Vec::new(),
            max_deletes: 1000,
            concurrency: 8,
            lease_secs: 0,
        }
    }
}

/// `[publish]` checked: a destination is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub destination: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
    pub archive_cache_control: String,
    pub cache_control: String,
    pub purge_command: Vec<String>,
    pub max_deletes: usize,
    pub concurrency: usize,
    pub lease: Option<std::time::Duration>,
}

/// Checks `[publish]`; `None` when no destination is set.
pub fn validate(file: File) -> Result<Option<Settings>> {
    let Some(destination) = file.destination.filter(|d| !d.trim().is_empty()) else {
        return Ok(None);
    };
    let scheme = destination.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("s3" | "s3a" | "file" | "memory") => {}
        _ => bail!(
            "`[publish] destination` must be an s3://bucket/prefix or file:///path URL, not {destination:?}"
        ),
    }
    if let Some(e) = &file.endpoint {
        if !(e.starts_with("https://") || e.starts_with("http://")) {
            bail!("`[publish] endpoint` must be an http(s) URL, not {e:?}");
        }
        if e.starts_with("http://") && !file.allow_http {
            bail!("`[publish] endpoint` {e:?} is plain http: set `allow_http = true` if that is meant (a store on loopback)");
        }
    }
    for (key, value) in [
        ("archive_cache_control", &file.archive_cache_control),
        ("cache_control", &file.cache_control),
    ] {
        if value.is_empty() || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            bail!("`[publish] {key}` must be a non-empty header value (printable ASCII)");
        }
    }
    if file.lease_secs > 0 && !matches!(scheme, Some("s3" | "s3a" | "memory")) {
        bail!("`[publish] lease_secs` needs a store with conditional PUT (s3://), not {destination:?}");
    }
    if (1..3).contains(&file.lease_secs) {
        bail!("`[publish] lease_secs` must be 0 (no lease) or at least 3");
    }
    Ok(Some(Settings {
        destination: destination.trim_end_matches('/').to_owned(),
        endpoint: file.endpoint,
        region: file.region,
        allow_http: file.allow_http,
        archive_cache_control: file.archive_cache_control,
        cache_control: file.cache_control,
        purge_command: file.purge_command,
        max_deletes: file.max_deletes,
        concurrency: file.concurrency.clamp(1, 64),
        lease: (file.lease_secs > 0).then(|| std::time::Duration::from_secs(file.lease_secs)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(destination: &str) -> File {
        File {
            destination: Some(destination.into()),
            ..File::default()
        }
    }

    #[test]
    fn destinations_are_checked() {
        assert_eq!(validate(File::default()).unwrap(), None);
        let s = validate(with("s3://bucket/feeds/")).unwrap().unwrap();
        assert_eq!(s.destination, "s3://bucket/feeds");
        assert!(validate(with("file:///srv/mirror")).unwrap().is_some());
        let e = validate(with("bucket/feeds")).unwrap_err();
        assert!(e.to_string().contains("s3://bucket/prefix"), "{e}");
        let plain = File {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..with("s3://b")
        };
        let e = validate(plain.clone()).unwrap_err();
        assert!(e.to_string().contains("allow_http"), "{e}");
        let allowed = File {
            allow_http: true,
            ..plain
        };
        assert!(validate(allowed).unwrap().is_some());
        let bad_header = File {
            cache_control: "max-age=60\r\nX: y".into(),
            ..with("s3://b")
        };
        assert!(validate(bad_header).is_err());
    }
}
