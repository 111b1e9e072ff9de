//! Publishing to object storage, against a real S3-compatible server: `s3s-fs`
//! (installed by `.ci/run`, `cargo install s3s-fs --features binary`) on a free
//! loopback port with a temp folder, read back through `object_store`'s own S3
//! client. `eventfeed publish` mirrors the output exactly (bytes, content types,
//! Cache-Control), `--dry-run` changes nothing, a deletion past the cap is
//! refused; the daemon uploads a change within 2 s, and catches up after the
//! store was down, across a restart of its own, with nothing lost; of two
//! daemons sharing a lease, one publishes, and the other takes over when it dies.

use crate::harness::*;
use object_store::{Attribute, ObjectStore, ObjectStoreExt as _};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: (&str, &str) = ("eventfeed-test", "eventfeed-test-secret");
const BUCKET: &str = "feeds";

/// The `s3s-fs` binary, or `None` (with a note) outside CI when it is missing.
fn server_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")))
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "s3s-fs is not installed; .ci/run installs it"
        );
        eprintln!("skipped: s3s-fs is not installed (cargo install s3s-fs@0.14.1 --features binary --locked)");
    }
    found
}

/// A running S3-compatible server with one bucket.
struct S3 {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl S3 {
    fn start() -> Option<Self> {
        let bin = server_binary()?;
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s3 = Self {
            bin,
            dir,
            port,
            child: None,
        };
        s3.up();
        Some(s3)
    }

    fn up(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", KEY.0, "--secret-key", KEY.1])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        wait_for(
            Duration::from_secs(20),
            || std::net::TcpStream::connect(&addr).is_ok(),
            || "s3s-fs does not listen".into(),
        );
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `[publish]` section for this server, with `extra` keys.
    fn config(&self, t: &Tree, extra: &str) -> PathBuf {
        self.config_top(t, "", extra)
    }

    /// The same, with `top` keys before `[publish]`.
    fn config_top(&self, t: &Tree, top: &str, extra: &str) -> PathBuf {
        let config = t.input.parent().unwrap().join("eventfeed.toml");
        fs::write(
            &config,
            format!(
                "{top}[publish]\ndestination = \"s3://{BUCKET}/site\"\nendpoint = {:?}\nallow_http = true\nregion = \"us-east-1\"\n{extra}",
                self.endpoint()
            ),
        )
        .unwrap();
        config
    }

    /// The bytes of one object, if it exists.
    fn get(&self, rel: &str) -> Option<Vec<u8>> {
        let store = self.client();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let got = store.get(&format!("site/{rel}").into()).await.ok()?;
            Some(got.bytes().await.ok()?.to_vec())
        })
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(KEY.0)
            .with_secret_access_key(KEY.1)
            .build()
            .unwrap()
    }

    /// Every object under the prefix: bytes, content type, Cache-Control.
    fn objects(&self) -> BTreeMap<String, (Vec<u8>, String, String)> {
        let store = self.client();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use futures::TryStreamExt as _;
            let prefix = object_store::path::Path::from("site");
            let listed: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
            let mut out = BTreeMap::new();
            for meta in listed {
                // Deleted since the listing (a daemon at work): gone.
                let Ok(got) = store.get(&meta.location).await else {
                    continue;
                };
                let attr = |a: &Attribute| {
                    got.attributes
                        .get(a)
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                };
                let (ct, cc) = (
                    attr(&Attribute::ContentType),
                    attr(&Attribute::CacheControl),
                );
                let rel = meta
                    .location
                    .as_ref()
                    .strip_prefix("site/")
                    .unwrap()
                    .to_owned();
                out.insert(rel, (got.bytes().await.unwrap().to_vec(), ct, cc));
            }
            out
        })
    }

    /// The bytes of every object but the lease.
    fn bytes(&self) -> BTreeMap<String, Vec<u8>> {
        self.objects()
            .into_iter()
            .filter(|(k, _)| !k.starts_with('.'))
            .map(|(k, v)| (k, v.0))
            .collect()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.down();
    }
}

fn with_keys(mut cmd: Command) -> Command {
    for var in [
        "AWS_ENDPOINT",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ALLOW_HTTP",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", KEY.0)
        .env("AWS_SECRET_ACCESS_KEY", KEY.1);
    cmd
}

/// `eventfeed build` with `config`; it must succeed.
fn build(t: &Tree, config: &Path) {
    let out = with_keys(t.cmd("build"))
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn publish(t: &Tree, config: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = with_keys(t.cmd("publish"));
    cmd.arg("--config").arg(config).args(args);
    cmd.output().unwrap()
}

/// Two days (the older an archive) and two contexts.
fn tree() -> Tree {
    two_day_tree()
}

/// What the store must hold: every output file but the lock.
fn output(t: &Tree) -> BTreeMap<String, Vec<u8>> {
    let mut files = t.files();
    files.retain(|k, _| !k.starts_with('.'));
    files
}

#[test]
fn remote_publish_mirrors_the_output_with_types_and_cache_control() {
    let Some(s3) = S3::start() else { return };
    let t = tree();
    // No tombstones: a context that loses its last event goes, with its files.
    let config = s3.config_top(&t, "tombstone_days = 0\n", "");
    build(&t, &config);
    let out = publish(&t, &config, &[]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("published to s3://feeds/site"), "{log}");
    assert!(!log.contains(KEY.1), "the secret never shows");
    let objects = s3.objects();
    assert_same(&s3.bytes(), &output(&t), "the bucket after publish");
    let types = [
        ("all/rss.xml", "application/rss+xml; charset=utf-8"),
        ("all/atom.xml", "application/atom+xml; charset=utf-8"),
        ("all/feed.json", "application/feed+json; charset=utf-8"),
        ("feeds.opml", "text/x-opml; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ];
    for (rel, want) in types {
        assert_eq!(objects[rel].1, want, "{rel}");
        assert_eq!(objects[rel].2, "public, max-age=60", "{rel}");
    }
    // 2017-11-02 has a later day: an archive, cached long, feeds and page alike.
    for f in ["atom.xml", "rss.xml", "index.html"] {
        let rel = format!("days/2017/11/02/{f}");
        assert_eq!(objects[&rel].2, "public, max-age=86400", "{rel}");
        let live = format!("days/2017/11/03/{f}");
        assert_eq!(objects[&live].2, "public, max-age=60", "{live}");
    }

    // Nothing changed: nothing to upload.
    let out = publish(&t, &config, &[]);
    assert!(stderr(&out).contains(": 0 uploaded"), "{}", stderr(&out));

    // A dry run reports and changes nothing.
    t.remove("b.md");
    build(&t, &config);
    let before = s3.bytes();
    let out = publish(&t, &config, &["--dry-run"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("delete contexts/bern/rss.xml"), "{log}");
    assert!(log.contains("upload all/rss.xml"), "{log}");
    assert!(log.contains("dry run, nothing changed"), "{log}");
    let deletes = log.lines().filter(|l| l.starts_with("delete ")).count();
    assert!(
        deletes >= 4,
        "the four files of Bern's feed at least: {log}"
    );
    assert_eq!(s3.bytes(), before, "a dry run changes nothing");

    // More deletions than the cap: refused, nothing changed; allowed: done.
    let capped = s3.config_top(&t, "tombstone_days = 0\n", "max_deletes = 2\n");
    let out = publish(&t, &capped, &[]);
    let log = stderr(&out);
    assert!(!out.status.success(), "{log}");
    let refusal = format!("refusing to delete {deletes} objects");
    assert!(log.contains(&refusal), "{log}");
    assert_eq!(s3.bytes(), before, "a refused publish changes nothing");
    let out = publish(&t, &capped, &["--allow-deletes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&s3.bytes(), &output(&t), "the bucket after deletions");
}

/// The daemon with `[publish]`, the store's first fill done.
fn daemon(t: &Tree, s3: &S3, extra: &str) -> Daemon {
    let config = s3.config(t, extra);
    let mut cmd = with_keys(t.cmd("watch"));
    cmd.arg("--config").arg(&config);
    let d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    d
}

fn settles(t: &Tree, s3: &S3, d: &Daemon, within: Duration) -> Duration {
    let started = Instant::now();
    wait_for(
        within,
        || s3.bytes() == output(t),
        || {
            let want = output(t);
            let have = s3.bytes();
            let differ: Vec<&String> = want
                .keys()
                .chain(have.keys())
                .filter(|k| want.get(*k) != have.get(*k))
                .collect();
            format!("differing: {differ:?}\n{}", d.log())
        },
    );
    started.elapsed()
}

#[test]
fn remote_daemon_uploads_a_change_within_2_s() {
    let Some(s3) = S3::start() else { return };
    let t = tree();
    let purged = t.input.parent().unwrap().join("purged");
    let purge = format!(
        "purge_command = [\"sh\", \"-c\", \"cat >> {}\"]\n",
        purged.display()
    );
    let d = daemon(&t, &s3, &purge);
    // A new destination: the daemon fills it in full first.
    settles(&t, &s3, &d, Duration::from_secs(30));
    fs::remove_file(&purged).ok();
    let feed = "contexts/zurich/rss.xml";
    let before = t.read(feed);
    t.write(
        "a.md",
        Ev::new("2017-11-3", "An edited event about Zürich")
            .contexts(&["Zürich"])
            .text(),
    );
    let started = Instant::now();
    wait_for(
        Duration::from_secs(2),
        || {
            let local = fs::read(t.output.join(feed)).unwrap();
            local != before && s3.get(feed) == Some(local)
        },
        || d.log(),
    );
    let took = started.elapsed();
    eprintln!(
        "the changed feed is in the store {} ms after the edit",
        took.as_millis()
    );
    // And so is everything else the change touched.
    settles(&t, &s3, &d, Duration::from_secs(10));
    let urls = fs::read_to_string(&purged).unwrap_or_default();
    assert!(
        urls.contains(&format!("{BASE}contexts/zurich/rss.xml\n")),
        "{urls}"
    );
    assert!(urls.contains(&format!("{BASE}all/rss.xml\n")), "{urls}");
    assert!(
        urls.contains(&format!("{BASE}all/\n")),
        "a folder page purges the folder URL too: {urls}"
    );
}

#[test]
fn remote_store_outage_and_restart_lose_nothing() {
    let Some(mut s3) = S3::start() else { return };
    let t = tree();
    let mut d = daemon(&t, &s3, "");
    settles(&t, &s3, &d, Duration::from_secs(30));
    s3.down();
    // Changes while the store is down: an edit, a new day, a removal.
    let batches = d.log().matches(" batch ").count();
    t.write(
        "a.md",
        Ev::new("2017-11-3", "Zürich, edited while the store is down")
            .contexts(&["Zürich"])
            .text(),
    );
    t.write(
        "c.md",
        Ev::new("2017-11-4", "A new day")
            .contexts(&["Basel"])
            .text(),
    );
    t.remove("b.md");
    wait_for(
        Duration::from_secs(10),
        || d.log().matches(" batch ").count() > batches && d.log().contains("publishing to"),
        || d.log(),
    );
    // A clean stop with uploads pending, and a start (under a systemd notify
    // socket) that replays them and says how far behind the store is.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(20)), Some(0));
    let listener = crate::faults::Listener::new();
    let mut cmd = with_keys(crate::faults::under_systemd(&t, &listener.path, "1000000"));
    cmd.arg("--config").arg(s3.config(&t, ""));
    let d = t.spawn(cmd, "log");
    let behind = |m: &str| {
        m.starts_with("STATUS=") && m.contains("files behind for") && m.contains("retrying every")
    };
    wait_for(
        Duration::from_secs(20),
        || listener.any(behind),
        || format!("{:?}\n{}", listener.messages(), d.log()),
    );
    assert!(
        d.log().contains("publishing what the store lacks"),
        "{}",
        d.log()
    );
    s3.up();
    let took = settles(&t, &s3, &d, Duration::from_secs(30));
    eprintln!("store caught up {} ms after it came back", took.as_millis());
    wait_for(
        Duration::from_secs(10),
        || {
            listener
                .messages()
                .last()
                .is_some_and(|m| m.contains("; store current"))
        },
        || format!("{:?}", listener.messages()),
    );
}

#[test]
fn remote_a_standby_takes_over_when_the_lease_holder_dies() {
    let Some(s3) = S3::start() else { return };
    let (a, b) = (tree(), tree());
    let lease = "lease_secs = 3\n";
    let mut primary = daemon(&a, &s3, lease);
    settles(&a, &s3, &primary, Duration::from_secs(30));
    assert!(
        primary.log().contains("took the publishing lease"),
        "{}",
        primary.log()
    );
    let standby = daemon(&b, &s3, lease);
    wait_for(
        Duration::from_secs(10),
        || standby.log().contains("standing by"),
        || standby.log(),
    );
    // A change only the standby sees: it does not publish it while standing by.
    b.write(
        "c.md",
        Ev::new("2017-11-4", "Only on the standby")
            .contexts(&["Basel"])
            .text(),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!s3.bytes().contains_key("days/2017/11/04/rss.xml"));
    assert!(!standby.log().contains("published"), "{}", standby.log());
    // Nor does a one-shot publish from a third machine.
    let c = tree();
    c.build();
    let out = publish(&c, &s3.config(&c, lease), &[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds the publishing lease"),
        "{}",
        stderr(&out)
    );
    // The holder dies without giving the lease up; the standby takes over once
    // it expires, and brings the store in line with its own output.
    primary.child.kill().unwrap();
    primary.child.wait().unwrap();
    let took = settles(&b, &s3, &standby, Duration::from_secs(30));
    eprintln!(
        "the standby published {} ms after the holder died",
        took.as_millis()
    );
    assert!(
        standby.log().contains("took the publishing lease"),
        "{}",
        standby.log()
    );
}

#[test]
fn remote_what_a_build_wrote_is_published_at_the_daemons_next_start() {
    let Some(s3) = S3::start() else { return };
    let t = tree();
    t.build();
    let config = s3.config(&t, "");
    assert!(publish(&t, &config, &[]).status.success());
    // A build with `[publish]` between daemons: the next start uploads what it
    // wrote, from the journal, without comparing the whole store.
    t.write(
        "a.md",
        Ev::new("2017-11-3", "Zürich, rebuilt by hand")
            .contexts(&["Zürich"])
            .text(),
    );
    let mut build = with_keys(t.cmd("build"));
    let out = build.arg("--config").arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let d = daemon(&t, &s3, "");
    settles(&t, &s3, &d, Duration::from_secs(10));
    assert!(
        d.log().contains("publishing what the store lacks"),
        "{}",
        d.log()
    );
    assert!(!d.log().contains("compared the store"), "{}", d.log());
}

#[test]
fn remote_a_folder_destination_mirrors_the_output() {
    // No server needed: `file://` is the folder store (a mount, a staging copy).
    let t = tree();
    let mirror = t.input.parent().unwrap().join("mirror");
    let config = t.input.parent().unwrap().join("folder.toml");
    fs::write(
        &config,
        format!(
            "tombstone_days = 0\n[publish]\ndestination = \"file://{}\"\n",
            mirror.display()
        ),
    )
    .unwrap();
    build(&t, &config);
    let out = publish(&t, &config, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(
        &files_under(&mirror),
        &output(&t),
        "the folder after publish",
    );
    // A removed event: its day's files go from the output, and from the folder.
    t.remove("b.md");
    t.remove("a.md");
    build(&t, &config);
    let out = publish(&t, &config, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(
        &files_under(&mirror),
        &output(&t),
        "the folder after a removal",
    );
    assert!(
        !mirror.join("days/2017/11/03").exists(),
        "emptied folders go too"
    );
}
