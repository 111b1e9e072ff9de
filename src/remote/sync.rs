//! The full sync: list the destination once, compare every object with the
//! local file (by MD5, which an S3 `ETag` of a simple upload is; where the store
//! gives no MD5, by size and age), upload what differs, delete what the output
//! no longer has. `eventfeed publish` runs it once; the daemon runs its first
//! half (the comparison) to catch up after a crash or on a new destination.
//!
//! Only what eventfeed owns is compared ([`super::owned`]): other objects under
//! the prefix (a `robots.txt`, a site beside the feeds) are never touched. A
//! sync that would delete more than `max_deletes` objects stops before changing
//! anything (a wrong prefix or an emptied output would otherwise wipe a bucket).

use super::{owned, rank, Destination, Done};
use crate::console::say;
use anyhow::{Context as _, Result};
use futures::{StreamExt as _, TryStreamExt as _};
use md5::Digest as _;
use object_store::ObjectMeta;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

/// A local output file, as the comparison needs it.
#[derive(Debug, Clone, Copy)]
pub struct Local {
    pub size: u64,
    pub modified: SystemTime,
}

/// What a sync has to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// In upload order: feeds, then pages and OPML.
    pub upload: Vec<String>,
    pub delete: Vec<String>,
    pub same: usize,
}

/// Every file of the output eventfeed owns, by path relative to it.
pub fn local_files(output: &Path) -> Result<BTreeMap<String, Local>> {
    let mut files = BTreeMap::new();
    for top in crate::sink::OWNED {
        walk(output, &output.join(top), &mut files)?;
    }
    Ok(files)
}

fn walk(root: &Path, path: &Path, files: &mut BTreeMap<String, Local>) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("cannot read {}", path.display()))?,
    };
    if meta.is_dir() {
        let entries =
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?;
        for entry in entries {
            walk(root, &entry?.path(), files)?;
        }
    } else if meta.is_file() {
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy();
        if owned(&rel) {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            files.insert(
                rel.into_owned(),
                Local {
                    size: meta.len(),
                    modified,
                },
            );
        }
    }
    Ok(())
}

/// Every owned object of the destination (one listing).
pub async fn remote_objects(dest: &Destination) -> Result<BTreeMap<String, ObjectMeta>> {
    let listed: Vec<ObjectMeta> = dest
        .store()
        .list(None)
        .try_collect()
        .await
        .with_context(|| format!("cannot list {}", dest.name))?;
    Ok(listed
        .into_iter()
        .map(|m| (m.location.to_string(), m))
        .filter(|(rel, _)| owned(rel))
        .collect())
}

/// Compares the two sides; `all` uploads every local file.
pub fn diff(
    output: &Path,
    local: &BTreeMap<String, Local>,
    remote: &BTreeMap<String, ObjectMeta>,
    all: bool,
) -> Diff {
    use rayon::prelude::*;
    let pairs: Vec<(&String, &Local)> = local.iter().collect();
    let mut upload: Vec<String> = pairs
        .par_iter()
        .filter(|(rel, file)| all || differs(output, rel, file, remote.get(*rel)))
        .map(|(rel, _)| (*rel).clone())
        .collect();
    upload.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    let delete: Vec<String> = remote
        .keys()
        .filter(|rel| !local.contains_key(*rel))
        .cloned()
        .collect();
    let same = local.len() - upload.len();
    Diff {
        upload,
        delete,
        same,
    }
}

fn differs(output: &Path, rel: &str, file: &Local, object: Option<&ObjectMeta>) -> bool {
    let Some(object) = object else {
        return true;
    };
    if object.size != file.size {
        return true;
    }
    match object.e_tag.as_deref().and_then(md5_of_etag) {
        Some(etag) => std::fs::read(output.join(rel)).map_or(true, |bytes| {
            format!("{:x}", md5::Md5::digest(&bytes)) != etag
        }),
        // A folder or a multipart upload: no MD5 to compare, so the age tells.
        None => SystemTime::from(object.last_modified) < file.modified,
    }
}

/// The MD5 an `ETag` is, if it is one (`"<32 hex digits>"`).
fn md5_of_etag(etag: &str) -> Option<String> {
    let t = etag.trim_start_matches("W/").trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

/// `eventfeed publish`'s options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    /// Delete past `max_deletes`.
    pub allow_deletes: bool,
    /// Upload every file, also those the store has (after a `Cache-Control` change).
    pub all: bool,
    pub progress: bool,
}

/// `eventfeed publish`: the one-shot full sync.
pub fn publish(
    settings: &crate::config::Settings,
    opts: Options,
) -> Result<ExitCode, crate::Failure> {
    let Some(publish) = &settings.publish else {
        return Err(crate::Failure::Config(anyhow::anyhow!(
            "no destination: set `destination` under `[publish]` in the config"
        )));
    };
    let _lock = crate::lock::acquire(&settings.output)?;
    let dest = Destination::open(publish, &settings.output).map_err(crate::Failure::Config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let started = Instant::now();
    let local = local_files(&settings.output)?;
    let remote = runtime.block_on(remote_objects(&dest))?;
    let diff = diff(&settings.output, &local, &remote, opts.all);
    let bytes: u64 = diff.upload.iter().map(|r| local[r].size).sum();
    if opts.dry_run {
        for rel in &diff.upload {
            say!("upload {rel} ({})", dest.cache_control(rel));
        }
        for rel in &diff.delete {
            say!("delete {rel}");
        }
        say!(
            "eventfeed: dry run, nothing changed: {} to upload ({:.1} MB), {} to delete, {} unchanged on {}",
            diff.upload.len(),
            bytes as f64 / 1e6,
            diff.delete.len(),
            diff.same,
            dest.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    if diff.delete.len() > publish.max_deletes && !opts.allow_deletes {
        return Err(anyhow::anyhow!(
            "refusing to delete {} objects from {} (more than `max_deletes` = {}); nothing was changed. Check the destination and the output directory, then pass --allow-deletes (or --dry-run to see them)",
            diff.delete.len(),
            dest.name,
            publish.max_deletes
        )
        .into());
    }
    // With a lease, only its holder writes: a standby's one-shot sync too.
    let mut lease = publish.lease.map(super::lease::Lease::new);
    if let Some(lease) = &mut lease {
        let hold = runtime.block_on(lease.hold(dest.store().as_ref()))?;
        if let super::lease::Hold::Standby { holder, .. } = hold {
            return Err(anyhow::anyhow!(
                "{holder} holds the publishing lease of {}: only it publishes; nothing was changed",
                dest.name
            )
            .into());
        }
    }
    let bar = crate::commands::progress_bar(
        opts.progress,
        (diff.upload.len() + diff.delete.len()) as u64,
        "publish",
    );
    let work: Vec<&String> = diff.upload.iter().chain(&diff.delete).collect();
    let (_, error) = runtime.block_on(mirror_in_order(&dest, &work, publish.concurrency, &|| {
        bar.inc(1)
    }));
    bar.finish_and_clear();
    if let Some(lease) = &mut lease {
        runtime.block_on(lease.release(dest.store().as_ref()));
    }
    if let Some(e) = error {
        return Err(e.into());
    }
    // The store now mirrors the output: a daemon started next needs no catch-up.
    let (mut journal, _) =
        super::journal::Journal::open(&settings.state_dir, &publish.destination)?;
    journal.compact(&[])?;
    journal.synced()?;
    journal.close();
    if !publish.purge_command.is_empty() && !work.is_empty() {
        let links = &settings.site.links;
        let urls: Vec<String> = work.iter().flat_map(|r| super::urls(links, r)).collect();
        super::purge::run(&publish.purge_command, &urls);
    }
    say!(
        "eventfeed: published to {}: {} uploaded ({:.1} MB), {} deleted, {} unchanged in {:.2} s",
        dest.name,
        diff.upload.len(),
        bytes as f64 / 1e6,
        diff.delete.len(),
        diff.same,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Mirrors `paths` in the order of [`rank`], deletes last: each phase runs
/// `concurrency` at a time and finishes before the next starts. A failure ends
/// the phase it is in and skips the later ones; what was done is returned
/// either way.
pub async fn mirror_in_order(
    dest: &Destination,
    paths: &[&String],
    concurrency: usize,
    tick: &(dyn Fn() + Sync),
) -> (Vec<(String, Done)>, Option<anyhow::Error>) {
    let phase = |rel: &str| match dest.output.join(rel).exists() {
        true => rank(rel),
        false => 2,
    };
    let mut phases: [Vec<&String>; 3] = Default::default();
    for rel in paths {
        phases[usize::from(phase(rel))].push(rel);
    }
    let mut done = Vec::with_capacity(paths.len());
    for phase in phases {
        let results: Vec<(String, Result<Done>)> = futures::stream::iter(phase)
            .map(|rel| async move {
                let d = dest.mirror(rel).await;
                tick();
                (rel.clone(), d)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut error = None;
        for (rel, result) in results {
            match result {
                Ok(d) => done.push((rel, d)),
                Err(e) => error = error.or(Some(e)),
            }
        }
        if error.is_some() {
            return (done, error);
        }
    }
    (done, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_that_are_md5s() {
        let md5 = "\"9E107D9D372BB6826BD81D3542A419D6\"";
        assert_eq!(
            md5_of_etag(md5).as_deref(),
            Some("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(md5_of_etag("\"9e107d9d372bb6826bd81d3542a419d6-2\""), None);
        assert_eq!(md5_of_etag("1f2-5d3-19"), None);
    }

    #[test]
    fn the_diff_uploads_what_differs_feeds_first_and_deletes_what_is_gone() {
        let out = tempfile::tempdir().unwrap();
        let write = |rel: &str, bytes: &[u8]| {
            let p = out.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        write("index.html", b"page");
        write("all/rss.xml", b"feed");
        write("all/atom.xml", b"same");
        write("notes.txt", b"not ours");
        let local = local_files(out.path()).unwrap();
        assert_eq!(local.len(), 3);
        let object = |rel: &str, bytes: &[u8]| {
            let etag = format!("\"{:x}\"", md5::Md5::digest(bytes));
            let meta = ObjectMeta {
                location: rel.into(),
                last_modified: chrono::Utc::now(),
                size: bytes.len() as u64,
                e_tag: Some(etag),
                version: None,
            };
            (rel.to_owned(), meta)
        };
        let remote: BTreeMap<_, _> = [
            object("all/atom.xml", b"same"),
            object("all/rss.xml", b"old!"),
            object("days/2017/11/02/rss.xml", b"gone"),
        ]
        .into_iter()
        .collect();
        let d = diff(out.path(), &local, &remote, false);
        assert_eq!(d.upload, ["all/rss.xml", "index.html"]);
        assert_eq!(d.delete, ["days/2017/11/02/rss.xml"]);
        assert_eq!(d.same, 1);
        assert_eq!(diff(out.path(), &local, &remote, true).upload.len(), 3);
    }
}
