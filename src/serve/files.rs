//! What a request path names in the output directory, and what the answer says
//! about it: the content type, validators, caching and coding.
//!
//! - **Containment.** A path is split on `/` before percent-decoding, and any
//!   segment that decodes to something empty, hidden (`.`, `..`, `.eventfeed.lock`,
//!   temp files), or holding `/`, `\` or NUL is refused; then the file's real
//!   path (symlinks resolved) must lie under the real output directory. Anything
//!   else is a plain 404, which says nothing about what exists outside.
//! - **Folders** answer with their `index.html`; a folder named without its
//!   trailing slash is redirected to it (so relative links in the page work).
//! - **Validators.** The ETag is a hash of the bytes (strong: equal tags mean
//!   equal bytes, whichever process or run wrote them), suffixed per coding, as
//!   each coding is a representation of its own. `Last-Modified` is the file's
//!   mtime, which the sink keeps when the bytes do not change. `If-None-Match`
//!   wins over `If-Modified-Since`, as RFC 9110 says.
//! - **Caching.** Files of a day with a later day (marked `fh:archive` in the
//!   day's `atom.xml`, else `rss.xml`) rarely change: they get the long `max-age`; everything
//!   else (live feeds, pages) the short one. Both come from `[serve]`.
//! - **Cache.** Each file's bytes, hash and compressed forms are kept per file
//!   version (inode, mtime, size), so a poll answered with 304 costs one `stat`.
//!   The cache is dropped whole when it passes [`CACHE_BYTES`].

use super::encoding::{self, Coding};
use crate::config::Serve;
use crate::stamps::Stamp;
use axum::body::{Body, Bytes};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The most bytes of files (plain and compressed) the cache holds.
const CACHE_BYTES: usize = 64 << 20;
/// What marks an archived day feed (RFC 5005) in its Atom document.
const ARCHIVE_MARK: &[u8] = b"<fh:archive";

/// The output directory as the server sees it.
pub struct Files {
    /// Canonical, so that containment can be checked on canonical paths.
    root: PathBuf,
    live: HeaderValue,
    archive: HeaderValue,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    entries: rustc_hash::FxHashMap<PathBuf, Arc<Entry>>,
    bytes: usize,
}

/// One version of one file.
struct Entry {
    stamp: Stamp,
    modified: SystemTime,
    /// Hex of the bytes' hash, the ETag without quotes and suffix.
    hash: String,
    content_type: &'static str,
    bytes: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    /// Whether the bytes carry `fh:archive` (for a day's `atom.xml`).
    archive_mark: bool,
}

/// What a request path names.
enum Found {
    File(Arc<Entry>, PathBuf),
    Redirect(String),
    Missing,
}

impl Files {
    pub fn new(root: &Path, serve: &Serve) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let max_age = |secs: u64| match secs {
            0 => HeaderValue::from_static("no-cache"),
            s => HeaderValue::from_str(&format!("public, max-age={s}")).expect("ASCII"),
        };
        Ok(Self {
            root: root
                .canonicalize()
                .with_context(|| format!("cannot open {}", root.display()))?,
            live: max_age(serve.max_age_secs),
            archive: max_age(serve.archive_max_age_secs),
            cache: Mutex::default(),
        })
    }

    /// The whole answer to a GET (or HEAD) of `uri`.
    pub fn answer(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        match self.find(uri) {
            Found::Missing => status(StatusCode::NOT_FOUND),
            Found::Redirect(to) => Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, to)
                .body(Body::empty())
                .expect("valid response"),
            Found::File(entry, rel) => self.respond(&entry, &rel, headers),
        }
    }

    fn find(&self, uri: &Uri) -> Found {
        let Some((rel, trailing_slash)) = relative(uri.path()) else {
            return Found::Missing;
        };
        let Some((path, meta)) = self.resolve(&rel) else {
            return Found::Missing;
        };
        if meta.is_dir() {
            if !trailing_slash && !rel.as_os_str().is_empty() {
                let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
                return Found::Redirect(format!("{}/{query}", uri.path()));
            }
            let index = rel.join("index.html");
            return match self.resolve(&index) {
                Some((path, meta)) if meta.is_file() => self
                    .entry(&path, &meta)
                    .map_or(Found::Missing, |e| Found::File(e, index)),
                _ => Found::Missing,
            };
        }
        if !meta.is_file() {
            return Found::Missing;
        }
        self.entry(&path, &meta)
            .map_or(Found::Missing, |e| Found::File(e, rel))
    }

    /// The real path of `rel` and its metadata, if it lies inside the root.
    fn resolve(&self, rel: &Path) -> Option<(PathBuf, fs::Metadata)> {
        let real = self.root.join(rel).canonicalize().ok()?;
        if !real.starts_with(&self.root) {
            return None;
        }
        let meta = fs::metadata(&real).ok()?;
        Some((real, meta))
    }

    /// The cached version of a file, or a fresh read when it changed.
    fn entry(&self, path: &Path, meta: &fs::Metadata) -> Option<Arc<Entry>> {
        let stamp = Stamp::of(meta);
        if let Some(e) = self.cache.lock().expect("not poisoned").entries.get(path) {
            if e.stamp == stamp {
                return Some(e.clone());
            }
        }
        // The stamp comes from the open file, so it belongs to exactly the bytes
        // read, even if the file is replaced in between.
        let mut file = fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut file, &mut bytes).ok()?;
        let entry = Arc::new(Entry {
            stamp: Stamp::of(&meta),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            hash: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)),
            content_type: content_type(path),
            archive_mark: bytes.windows(ARCHIVE_MARK.len()).any(|w| w == ARCHIVE_MARK),
            bytes: bytes.into(),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        });
        let mut cache = self.cache.lock().expect("not poisoned");
        if cache.bytes + cost(&entry) > CACHE_BYTES {
            *cache = Cache::default();
        }
        cache.bytes += cost(&entry);
        if let Some(old) = cache.entries.insert(path.to_owned(), entry.clone()) {
            cache.bytes -= cost(&old);
        }
        Some(entry)
    }

    /// Whether `rel` belongs to an archived day: `days/YYYY/MM/DD/<file>` whose
    /// day's Atom feed carries `fh:archive` (its RSS feed, when `formats` leaves
    /// Atom out; JSON Feed has no such mark, so a JSON-only day is never taken
    /// for archived).
    fn archived(&self, rel: &Path) -> bool {
        let parts: Vec<_> = rel.iter().collect();
        if parts.len() != 5 || parts[0] != "days" {
            return false;
        }
        ["atom.xml", "rss.xml"]
            .iter()
            .find_map(|name| {
                self.resolve(&rel.with_file_name(name))
                    .filter(|(_, meta)| meta.is_file())
            })
            .and_then(|(path, meta)| self.entry(&path, &meta))
            .is_some_and(|e| e.archive_mark)
    }

    fn respond(&self, entry: &Entry, rel: &Path, headers: &HeaderMap) -> Response {
        let compressible = entry.bytes.len() >= encoding::MIN_SIZE
            && !entry.content_type.starts_with("image/")
            && entry.content_type != "application/octet-stream";
        let coding = match compressible {
            true => encoding::negotiate(
                headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok()),
            ),
            false => Coding::Identity,
        };
        let etag = match coding.name() {
            None => format!("\"{}\"", entry.hash),
            Some(suffix) => format!("\"{}-{suffix}\"", entry.hash),
        };
        let cache_control = match self.archived(rel) {
            true => self.archive.clone(),
            false => self.live.clone(),
        };
        let mut response = Response::builder()
            .header(header::ETAG, &etag)
            .header(
                header::LAST_MODIFIED,
                httpdate::fmt_http_date(entry.modified),
            )
            .header(header::CACHE_CONTROL, cache_control)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if compressible {
            response = response.header(header::VARY, "Accept-Encoding");
        }
        if not_modified(headers, &etag, entry.modified) {
            return response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .expect("valid response");
        }
        let body = match coding {
            Coding::Identity => entry.bytes.clone(),
            Coding::Gzip => entry
                .gzip
                .get_or_init(|| encoding::compress(coding, &entry.bytes).into())
                .clone(),
            Coding::Brotli => entry
                .brotli
                .get_or_init(|| encoding::compress(coding, &entry.bytes).into())
                .clone(),
        };
        if let Some(name) = coding.name() {
            response = response.header(header::CONTENT_ENCODING, name);
        }
        response
            .header(header::CONTENT_TYPE, entry.content_type)
            .body(Body::from(body))
            .expect("valid response")
    }
}

/// What an entry may come to hold in memory: its bytes and, roughly, their
/// compressed forms.
fn cost(entry: &Entry) -> usize {
    entry.bytes.len() * 3 / 2
}

/// Whether the client's copy is current: its `If-None-Match` names `etag` (weak
/// comparison, as RFC 9110 asks for this header), or, without one, the file is
/// no newer than `If-Modified-Since` (HTTP dates have whole seconds).
fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = headers.get(header::IF_NONE_MATCH) {
        let Ok(tags) = tags.to_str() else {
            return false;
        };
        return tags
            .split(',')
            .map(|t| t.trim())
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let whole_seconds = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    since.is_some_and(|since| whole_seconds(modified) <= whole_seconds(since))
}

/// The output-relative path a request path names, and whether it ends in `/`;
/// `None` for anything that could leave the output directory or names a hidden
/// file.
fn relative(raw: &str) -> Option<(PathBuf, bool)> {
    let rest = raw.strip_prefix('/')?;
    let trailing_slash = rest.is_empty() || rest.ends_with('/');
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut rel = PathBuf::new();
    if rest.is_empty() {
        return Some((rel, trailing_slash));
    }
    for segment in rest.split('/') {
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?;
        if decoded.is_empty() || decoded.starts_with('.') || decoded.contains(['/', '\\', '\0']) {
            return None;
        }
        rel.push(&*decoded);
    }
    Some((rel, trailing_slash))
}

/// The content type of an output file, by name: the feed types readers and
/// browsers expect (RSS, Atom and JSON Feed each have their own).
pub fn content_type(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name {
        "rss.xml" => return "application/rss+xml; charset=utf-8",
        "atom.xml" => return "application/atom+xml; charset=utf-8",
        "feed.json" => return "application/feed+json; charset=utf-8",
        _ => {}
    }
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "opml" => "text/x-opml; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// A bodyless answer with just a status.
pub fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(
            code.canonical_reason().unwrap_or("error").to_owned() + "\n",
        ))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_stay_inside() {
        let ok = [
            ("/", "", true),
            ("/all/rss.xml", "all/rss.xml", false),
            ("/contexts/z%C3%BCrich/", "contexts/zürich", true),
            ("/days/2017/11/02", "days/2017/11/02", false),
        ];
        for (raw, rel, slash) in ok {
            assert_eq!(relative(raw), Some((PathBuf::from(rel), slash)), "{raw}");
        }
        let refused = [
            "/../etc/passwd",
            "/all/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/all/%2f..%2f..%2fetc",
            "/..%5c..%5cetc",
            "/a\\..\\b",
            "//etc/passwd",
            "/.eventfeed.lock",
            "/days/.eventfeed-x.tmp",
            "/a%00b",
            "/%ff",
            "etc/passwd",
        ];
        for raw in refused {
            assert_eq!(relative(raw), None, "{raw}");
        }
    }

    #[test]
    fn content_types() {
        let cases = [
            ("all/rss.xml", "application/rss+xml"),
            ("all/atom.xml", "application/atom+xml"),
            ("all/feed.json", "application/feed+json"),
            ("feeds.opml", "text/x-opml"),
            ("index.html", "text/html; charset=utf-8"),
            ("x.bin", "application/octet-stream"),
        ];
        for (path, want) in cases {
            assert!(content_type(Path::new(path)).starts_with(want), "{path}");
        }
    }

    #[test]
    fn conditions() {
        let modified = httpdate::parse_http_date("Thu, 02 Nov 2017 12:00:00 GMT").unwrap();
        let check = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(k, HeaderValue::from_str(v).unwrap());
            }
            not_modified(&h, "\"abc\"", modified)
        };
        assert!(!check(&[]));
        assert!(check(&[(header::IF_NONE_MATCH, "\"abc\"")]));
        assert!(check(&[(header::IF_NONE_MATCH, "\"x\", W/\"abc\"")]));
        assert!(check(&[(header::IF_NONE_MATCH, "*")]));
        assert!(!check(&[(header::IF_NONE_MATCH, "\"abc-gzip\"")]));
        let later = "Thu, 02 Nov 2017 12:00:01 GMT";
        let earlier = "Thu, 02 Nov 2017 11:59:59 GMT";
        assert!(check(&[(header::IF_MODIFIED_SINCE, later)]));
        assert!(check(&[(
            header::IF_MODIFIED_SINCE,
            "Thu, 02 Nov 2017 12:00:00 GMT"
        )]));
        assert!(!check(&[(header::IF_MODIFIED_SINCE, earlier)]));
        assert!(!check(&[(header::IF_MODIFIED_SINCE, "yesterday")]));
        // A tag that does not match wins over a date that would.
        assert!(!check(&[
            (header::IF_NONE_MATCH, "\"old\""),
            (header::IF_MODIFIED_SINCE, later)
        ]));
    }
}
