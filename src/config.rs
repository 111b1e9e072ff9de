//! Configuration: the TOML file, overridden by command-line flags, validated into
//! [`Settings`] before anything runs. Relative paths in the file are relative to the
//! file's own folder, so a config works from any working directory.

use crate::links::{ItemLink, Links};
use crate::render::{Format, Formats, Site};
use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file as written. Every key has a default (see `config/eventfeed.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct File {
    pub input: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub base_url: Option<String>,
    pub site_url: Option<String>,
    pub title: String,
    pub description: String,
    pub language: String,
    pub author: String,
    pub items_per_feed: usize,
    pub item_link: ItemLink,
    pub page_suffix: String,
    pub max_file_bytes: u64,
    pub extensions: Vec<String>,
    pub day_pages: Vec<String>,
    /// Which feed formats to write: `rss`, `atom`, `json`.
    pub formats: Vec<FormatName>,
    /// Days a removed item's RFC 6721 tombstone stays in the feeds it left
    /// (fractions allowed; 0: none).
    pub tombstone_days: f64,
    pub watch: Watch,
    pub serve: Serve,
    pub websub: Websub,
    pub pages: Pages,
    pub publish: crate::remote::config::File,
}

/// A format as the file names it (`"rss"`), checked as it is read, so that a
/// wrong name is reported with its line in the file.
#[derive(Debug, Clone, Copy)]
pub struct FormatName(pub Format);

impl<'de> Deserialize<'de> for FormatName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Format::from_name(&name).map(FormatName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown feed format {name:?} in `formats`: the formats are \"rss\", \"atom\" and \"json\""
            ))
        })
    }
}

/// `[pages]`: the HTML pages beside the feeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pages {
    /// A human page (`index.html`) in every feed's folder.
    pub per_feed: bool,
}

impl Default for Pages {
    fn default() -> Self {
        Self { per_feed: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Watch {
    pub debounce_ms: u64,
    pub max_delay_ms: u64,
    pub reconcile_secs: u64,
    pub poll_interval_ms: u64,
    pub method: Method,
}

/// How the daemon learns of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// inotify, else polling (watch limit too small, a network file system).
    Auto,
    /// Always poll.
    Poll,
}

/// `[serve]`: the HTTP server of `eventfeed serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Serve {
    pub listen: SocketAddr,
    /// `max-age` of archived day feeds (a day with a later day: `fh:archive`).
    pub archive_max_age_secs: u64,
    /// `max-age` of everything else (live feeds, pages); 0 means `no-cache`.
    pub max_age_secs: u64,
}

impl Default for Serve {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            archive_max_age_secs: 86_400,
            max_age_secs: 60,
        }
    }
}

/// `[websub]`: the hub that feeds name and the daemon pings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Websub {
    pub hub: Option<String>,
}

impl Default for File {
    fn default() -> Self {
        Self {
            input: None,
            output: None,
            state_dir: None,
            base_url: None,
            site_url: None,
            title: "News".into(),
            description: String::new(),
            language: "en".into(),
            author: String::new(),
            items_per_feed: 50,
            item_link: ItemLink::Page,
            page_suffix: ".html".into(),
            max_file_bytes: 1 << 20,
            extensions: vec!["md".into(), "markdown".into(), "txt".into()],
            day_pages: vec!["index.md".into(), "README.md".into()],
            formats: Format::ALL.map(FormatName).to_vec(),
            tombstone_days: 30.0,
            watch: Watch::default(),
            serve: Serve::default(),
            websub: Websub::default(),
            pages: Pages::default(),
            publish: crate::remote::config::File::default(),
        }
    }
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            debounce_ms: 5,
            max_delay_ms: 500,
            reconcile_secs: 3600,
            poll_interval_ms: 2000,
            method: Method::Auto,
        }
    }
}

/// Command-line values that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub input: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Where `serve` listens: its own URL is the base URL when neither the flag
    /// nor the file sets one (a local preview then links to itself).
    pub served_at: Option<SocketAddr>,
}

/// Everything checked and resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub input: PathBuf,
    pub output: PathBuf,
    pub state_dir: PathBuf,
    pub site: Site,
    pub max_file_bytes: u64,
    pub extensions: Vec<String>,
    /// File names (compared without regard to case) of day pages.
    pub day_pages: Vec<String>,
    pub debounce: Duration,
    pub max_delay: Duration,
    pub reconcile: Duration,
    pub serve: Serve,
    /// How often a polling watcher looks (when inotify cannot serve).
    pub poll_interval: Duration,
    pub poll_always: bool,
    /// How long tombstones are kept, in seconds (`None`: no tombstones).
    pub tombstone_secs: Option<i64>,
    /// `[publish]`: the object store the output is mirrored to, if any.
    pub publish: Option<crate::remote::Settings>,
}

/// Reads and validates the configuration. A missing `path` means defaults only.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Settings> {
    load_for(path, overrides, false)
}

/// The configuration for `check`, which reads the input and writes nothing: no
/// output directory or base URL is needed (links are resolved against a
/// placeholder, which no diagnostic shows).
pub fn load_for_check(path: Option<&Path>, overrides: &Overrides) -> Result<Settings> {
    load_for(path, overrides, true)
}

fn load_for(path: Option<&Path>, overrides: &Overrides, check: bool) -> Result<Settings> {
    let (file, dir) = read(path)?;
    validate(file, &dir, overrides, check)
}

/// The address `serve` listens on: the flag, else the file's `[serve] listen`.
/// Read before the rest, since the bound address can become the base URL.
pub fn listen(path: Option<&Path>, flag: Option<SocketAddr>) -> Result<SocketAddr> {
    match flag {
        Some(addr) => Ok(addr),
        None => Ok(read(path)?.0.serve.listen),
    }
}

fn read(path: Option<&Path>) -> Result<(File, PathBuf)> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?;
            let file: File = toml::from_str(&text)
                .with_context(|| format!("invalid config {}", path.display()))?;
            if file.formats.is_empty() {
                bail!(
                    "invalid config {}: `formats` is empty: name at least one of \"rss\", \"atom\" and \"json\"",
                    path.display()
                );
            }
            (file, path.parent().unwrap_or(Path::new(".")).to_owned())
        }
        None => (File::default(), PathBuf::from(".")),
    })
}

fn validate(file: File, dir: &Path, o: &Overrides, check: bool) -> Result<Settings> {
    let rel = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
    let input = o
        .input
        .clone()
        .or(file.input.map(rel))
        .context("no input directory: set `input` in the config or pass --input")?;
    let output = match o.output.clone().or(file.output.map(rel)) {
        Some(output) => output,
        None if check => input.join(".eventfeed-check-writes-nothing"),
        None => bail!("no output directory: set `output` in the config or pass --output"),
    };
    let input = std::path::absolute(&input)?;
    let output = std::path::absolute(&output)?;
    if !input.is_dir() {
        bail!("input directory {} does not exist", input.display());
    }
    let canonical_input = input.canonicalize()?;
    let canonical_output = canonical_parent(&output)?;
    if canonical_output.starts_with(&canonical_input) && !check {
        bail!("output directory {} is inside the input directory {}: the feeds would be read back as input", output.display(), input.display());
    }
    if canonical_input.starts_with(&canonical_output) && !check {
        bail!(
            "input directory {} is inside the output directory {}",
            input.display(),
            output.display()
        );
    }
    let base_url = match o
        .base_url
        .clone()
        .or(file.base_url)
        .or(o.served_at.map(own_url))
    {
        Some(url) => url,
        None if check => "https://check.invalid/".to_owned(),
        None => bail!(
            "no base URL: set `base_url` (where the output directory is served) or pass --base-url"
        ),
    };
    let hub = match file.websub.hub {
        Some(hub) => Some(
            crate::links::absolute_http(&hub)
                .map_err(|e| anyhow::anyhow!("`[websub] hub`: {e}"))?,
        ),
        None => None,
    };
    let site_url = file.site_url.unwrap_or_else(|| base_url.clone());
    let links = Links::new(&site_url, &base_url, &file.page_suffix, file.item_link)
        .map_err(anyhow::Error::msg)?;
    if file.items_per_feed == 0 {
        bail!("`items_per_feed` must be at least 1");
    }
    if !(0.0..=36_500.0).contains(&file.tombstone_days) {
        bail!("`tombstone_days` must be a number of days from 0 (no tombstones) to 36500");
    }
    if file.language.is_empty()
        || !file
            .language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        bail!("`language` must be a language tag like `en` or `de-CH`");
    }
    let clean = |s: String| crate::text::strip_forbidden(&s).trim().to_owned();
    let title = clean(file.title);
    let site = Site {
        description: Some(clean(file.description))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("Events from {title}")),
        author: Some(clean(file.author))
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| title.clone()),
        title,
        language: file.language,
        items_per_feed: file.items_per_feed,
        links,
        hub,
        feed_pages: file.pages.per_feed,
        formats: Formats::new(file.formats.iter().map(|f| f.0))
            .context("`formats` is empty: name at least one of \"rss\", \"atom\" and \"json\"")?,
        page_contexts: crate::render::pages::tree::PAGE_CONTEXTS,
    };
    let publish = crate::remote::config::validate(file.publish)?;
    let state_dir = match file.state_dir.map(rel) {
        Some(dir) => dir,
        None => default_state_dir(&canonical_output),
    };
    Ok(Settings {
        input,
        output,
        state_dir,
        site,
        max_file_bytes: file.max_file_bytes,
        extensions: file
            .extensions
            .into_iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect(),
        day_pages: file.day_pages,
        debounce: Duration::from_millis(file.watch.debounce_ms),
        max_delay: Duration::from_millis(file.watch.max_delay_ms.max(file.watch.debounce_ms)),
        reconcile: Duration::from_secs(file.watch.reconcile_secs),
        serve: file.serve,
        poll_interval: Duration::from_millis(file.watch.poll_interval_ms.max(10)),
        poll_always: file.watch.method == Method::Poll,
        tombstone_secs: Some((file.tombstone_days * 86_400.0).round() as i64)
            .filter(|secs| *secs > 0),
        publish,
    })
}

/// The URL of a server listening on `addr`. An unspecified address (`0.0.0.0`,
/// `::`) is reached on this machine through loopback.
fn own_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// The canonical form of a path that may not exist yet.
fn canonical_parent(path: &Path) -> Result<PathBuf> {
    let mut missing = Vec::new();
    let mut p = path;
    loop {
        if let Ok(c) = p.canonicalize() {
            return Ok(missing.iter().rev().fold(c, |acc, part| acc.join(part)));
        }
        missing.push(p.file_name().context("bad output path")?.to_owned());
        p = p.parent().context("bad output path")?;
    }
}

/// systemd's `$STATE_DIRECTORY`, else the XDG state home, with one folder per
/// output directory.
fn default_state_dir(output: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let tag = crate::slug::short_hash(&output.to_string_lossy());
    base.join("eventfeed").join(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/eventfeed.toml");
        // The example leaves base_url to `serve`, which uses its own address.
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("no base URL"), "{e}");
        let listen = super::listen(Some(&path), None).unwrap();
        assert_eq!(listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        let served = Overrides {
            served_at: Some(listen),
            ..Overrides::default()
        };
        let settings = load(Some(&path), &served).unwrap();
        assert!(settings.input.ends_with("examples/news"));
        assert_eq!(settings.site.items_per_feed, 50);
        assert_eq!(settings.site.links.feeds_root(), "http://127.0.0.1:8080/");
        assert_eq!(settings.serve.archive_max_age_secs, 86_400);
        assert_eq!(settings.site.hub, None);
    }

    #[test]
    fn unknown_keys_and_nested_output_are_refused() {
        let e = toml::from_str::<File>("inptu = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let o = Overrides {
            input: Some(dir.path().to_owned()),
            output: Some(dir.path().join("public")),
            base_url: Some("https://example.org/".into()),
            served_at: None,
        };
        let e = validate(File::default(), dir.path(), &o, false).unwrap_err();
        assert!(e.to_string().contains("inside the input"), "{e}");
    }

    #[test]
    fn a_websub_hub_must_be_an_http_url() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let o = Overrides {
            input: Some(dir.path().join("in")),
            output: Some(dir.path().join("out")),
            base_url: Some("https://example.org/".into()),
            served_at: None,
        };
        let with_hub = |hub: &str| {
            let file: File = toml::from_str(&format!("[websub]\nhub = {hub:?}")).unwrap();
            validate(file, dir.path(), &o, false).map(|s| s.site.hub)
        };
        assert_eq!(
            with_hub("https://hub.example").unwrap().as_deref(),
            Some("https://hub.example/")
        );
        let e = with_hub("ftp://hub.example/").unwrap_err();
        assert!(e.to_string().contains("[websub] hub"), "{e}");
        assert!(toml::from_str::<File>("[websub]\nhubb = \"x\"").is_err());
    }

    #[test]
    fn base_url_is_required_except_when_serving() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = Overrides {
            input: Some(dir.path().join("in")),
            output: Some(dir.path().join("out")),
            ..Overrides::default()
        };
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let e = validate(File::default(), dir.path(), &o, false).unwrap_err();
        assert!(e.to_string().contains("no base URL"), "{e}");
        let cases = [
            ("127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("0.0.0.0:8000", "http://127.0.0.1:8000/"),
            ("[::]:8080", "http://[::1]:8080/"),
        ];
        for (addr, url) in cases {
            o.served_at = Some(addr.parse().unwrap());
            let s = validate(File::default(), dir.path(), &o, false).unwrap();
            assert_eq!(s.site.links.feeds_root(), url);
        }
        // A base URL that is set wins over the server's own.
        o.base_url = Some("https://example.org/feeds/".into());
        let s = validate(File::default(), dir.path(), &o, false).unwrap();
        assert_eq!(s.site.links.feeds_root(), "https://example.org/feeds/");
    }

    #[test]
    fn formats_default_to_all_three_and_bad_ones_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let config = dir.path().join("eventfeed.toml");
        let load_with = |formats: &str| {
            let text = format!(
                "input = \"in\"\noutput = \"out\"\nbase_url = \"https://example.org/\"\n{formats}\n"
            );
            std::fs::write(&config, text).unwrap();
            load(Some(&config), &Overrides::default()).map(|s| s.site.formats)
        };
        assert_eq!(load_with("").unwrap(), Formats::ALL);
        let rss = load_with("formats = [\"rss\"]").unwrap();
        assert_eq!(rss.iter().collect::<Vec<_>>(), [Format::Rss]);
        let two = load_with("formats = [\"json\", \"atom\", \"json\"]").unwrap();
        assert_eq!(two.iter().collect::<Vec<_>>(), [Format::Atom, Format::Json]);
        for (bad, want) in [
            ("formats = []", "`formats` is empty"),
            (
                "formats = [\"rss2\"]",
                "unknown feed format \"rss2\" in `formats`",
            ),
            ("formats = [\"RSS\"]", "unknown feed format \"RSS\""),
            ("formats = \"rss\"", "formats"),
        ] {
            let e = format!("{:#}", load_with(bad).unwrap_err());
            assert!(e.contains(&config.display().to_string()), "{bad}: {e}");
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
