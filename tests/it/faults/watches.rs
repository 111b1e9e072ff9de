//! Too few inotify watches: the daemon polls instead.

use super::*;
use crate::watch::settles;

/// A sysctl set for the life of the value, restored on drop (panics included).
struct Sysctl {
    path: std::path::PathBuf,
    old: String,
}

impl Sysctl {
    fn set(name: &str, value: &str) -> Self {
        let path = Path::new("/proc/sys").join(name.replace('.', "/"));
        let old = fs::read_to_string(&path).unwrap();
        fs::write(&path, value).unwrap();
        Self { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        fs::write(&self.path, self.old.trim()).unwrap();
    }
}

/// Writes the tree's config, with `watch` (lines of its `[watch]` table), beside
/// its input; returns its path.
fn write_config(t: &Tree, watch: &str) -> std::path::PathBuf {
    let config = t.input.parent().unwrap().join("eventfeed.toml");
    let text = format!(
        "input = {:?}\noutput = {:?}\nbase_url = {BASE:?}\n[watch]\n{watch}",
        t.input, t.output
    );
    fs::write(&config, text).unwrap();
    config
}

#[test]
fn too_few_inotify_watches_fall_back_to_polling() {
    if !root_or_skip("too_few_inotify_watches_fall_back_to_polling") {
        return;
    }
    let t = small_tree();
    let config = write_config(&t, "poll_interval_ms = 100\n");
    let d = {
        // As short as can be: every process of root shares the limit (even
        // from a user namespace), so no daemon of this run starts meanwhile.
        let _alone = INOTIFY.write().unwrap_or_else(|e| e.into_inner());
        let _limit = Sysctl::set("fs.inotify.max_user_watches", "1");
        let d = t.spawn(t.cmd_config("watch", &config), "log");
        wait_for(
            Duration::from_secs(30),
            || d.log().contains("polling the input") || d.log().contains("error"),
            || d.log(),
        );
        d
    };
    let log = d.log();
    assert!(
        log.contains("fs.inotify.max_user_watches=1 is too small: this tree has 6 folders")
            && log.contains("raise it with `sysctl fs.inotify.max_user_watches="),
        "{log}"
    );
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    settles(&t, &d);
    t.write(
        "news/2017/12/24/late.md",
        Ev::new("2017-12-24", "Late event")
            .contexts(&["Topic 5"])
            .text(),
    );
    settles(&t, &d);
    t.remove("news/2017/11/1/event-0.md");
    settles(&t, &d);
}

#[test]
fn a_reload_can_switch_to_polling() {
    let t = small_tree();
    let config = write_config(&t, "");
    let d = t.watch_config(&config);
    assert!(!d.log().contains("polling"), "{}", d.log());
    write_config(&t, "method = \"poll\"\npoll_interval_ms = 100\n");
    d.signal("HUP");
    wait_for(
        Duration::from_secs(20),
        || d.log().contains("polling the input every 100 ms") && d.log().contains("configured"),
        || d.log(),
    );
    t.write(
        "news/2017/11/2/polled.md",
        Ev::new("2017-11-2", "Seen by polling").text(),
    );
    settles(&t, &d);
}

/// Configured to poll from the start: the poller watches the whole tree before
/// the first scan (the scan does not set it up folder by folder, as it does an
/// inotify watch).
#[test]
fn a_daemon_configured_to_poll_follows_changes_from_its_start() {
    let t = small_tree();
    let config = write_config(&t, "method = \"poll\"\npoll_interval_ms = 100\n");
    let d = t.watch_config(&config);
    let log = d.log();
    assert!(
        log.contains("polling the input every 100 ms") && log.contains("configured"),
        "{log}"
    );
    settles(&t, &d);
    t.write(
        "news/2017/11/2/polled.md",
        Ev::new("2017-11-2", "Seen by polling").text(),
    );
    settles(&t, &d);
    t.remove("news/2017/11/1/event-0.md");
    settles(&t, &d);
}
