//! The peer: Hugo set up to emit only RSS feeds, for the same contexts (a
//! taxonomy), days (a taxonomy whose term is the date) and the all-events feed
//! (the home page's feed), 50 items per feed, no HTML.

use crate::corpus::Generator;
use crate::sys::{self, Usage};
use anyhow::{Context as _, Result};
use chrono::Datelike;
use rayon::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const CONFIG: &str = r#"baseURL = "https://example.org/"
title = "Current events"
languageCode = "en"
# Only the feeds: no sitemap, robots.txt, 404 page, section page or list of
# terms. (Every event page carries `_build.render = "link"`: read, rendered
# into the feeds and given a permalink, but not written out as a page.)
disableKinds = ["sitemap", "robotsTXT", "404", "taxonomy", "section"]
ignoreErrors = ["error-disable-taxonomy"]

[taxonomies]
  context = "contexts"
  day = "days"

# The home page (the all-events feed) and every term: RSS only.
[outputs]
  home = ["rss"]
  term = ["rss"]

[services.rss]
  limit = 50
"#;

pub fn find(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.components().count() > 1 {
        return path.is_file().then(|| path.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

pub fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Writes the Hugo site for events `0..n` under `site` (once: kept if it is
/// there). Every event becomes `content/events/Y/M/D/<slug>.md` with TOML front
/// matter (title, date, contexts, days) and the event file's own markdown below.
pub fn make_site(generator: &Generator, n: u64, site: &Path) -> Result<()> {
    let done = site.join(".complete");
    if done.exists() {
        return Ok(());
    }
    if site.exists() {
        fs::remove_dir_all(site)?;
    }
    eprintln!("  writing the Hugo site (not timed)");
    fs::create_dir_all(site.join("content"))?;
    fs::write(site.join("hugo.toml"), CONFIG)?;
    (0..n).into_par_iter().try_for_each(|i| -> Result<()> {
        let ev = generator.event(i);
        let rel = ev.path.strip_prefix("news/").unwrap_or(&ev.path);
        let path = site.join("content/events").join(rel);
        fs::create_dir_all(path.parent().expect("in a folder"))?;
        let date = ev.date;
        let day = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
        let contexts: Vec<String> = ev.contexts.iter().map(|c| quote(c)).collect();
        let body = ev
            .text
            .split_once("\n# ")
            .and_then(|(_, rest)| rest.split_once('\n'))
            .map_or(ev.text.as_str(), |(_, body)| body);
        let text = format!(
            "+++\ntitle = {}\ndate = {day}T12:00:00Z\ncontexts = [{}]\ndays = [\"{day}\"]\n[_build]\nrender = \"link\"\n+++\n{body}",
            quote(&ev.headline),
            contexts.join(", ")
        );
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    })?;
    fs::write(done, "")?;
    Ok(())
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `hugo` on the site into `dest` (which must not exist), measured.
pub fn build(bin: &Path, site: &Path, dest: &Path, scratch: &Path) -> Result<Usage> {
    let log = scratch.join("hugo.log");
    let usage = sys::run_measured(
        Command::new(bin)
            .arg("--source")
            .arg(site)
            .arg("--destination")
            .arg(dest)
            .arg("--cacheDir")
            .arg(scratch.join("hugo-cache"))
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?),
        "hugo",
    )
    .with_context(|| format!("see {}", log.display()))?;
    Ok(usage)
}

/// What Hugo wrote: feeds (index.xml files), of which context and day feeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Feeds {
    pub feeds: u64,
    pub contexts: u64,
    pub days: u64,
    pub other_files: u64,
    /// The largest number of items in one feed.
    pub max_items: usize,
}

pub fn feeds(dest: &Path) -> Result<Feeds> {
    let mut f = Feeds::default();
    let mut sample = Vec::new();
    crate::tree::walk(dest, Path::new(""), &mut |rel, _| {
        if rel.file_name().is_some_and(|n| n == "index.xml") {
            f.feeds += 1;
            if rel.starts_with("contexts") {
                f.contexts += 1;
            } else if rel.starts_with("days") {
                f.days += 1;
            }
            if sample.len() < 200 || rel == Path::new("index.xml") {
                sample.push(rel.to_owned());
            }
        } else {
            f.other_files += 1;
        }
    })?;
    for rel in sample {
        let text = fs::read_to_string(dest.join(rel))?;
        f.max_items = f.max_items.max(text.matches("<item>").count());
    }
    Ok(f)
}
