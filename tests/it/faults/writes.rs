//! Writes that fail (a full disk, a folder the daemon may not write) and are
//! retried, and `build` as root on another user's output.

use super::*;
use crate::watch::settles;

/// A tmpfs mounted over a folder for the life of the value: unmounted on drop,
/// panics included.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount: {}", stderr(&out));
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status();
        if !ok.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
}

#[test]
fn a_full_disk_is_retried_until_the_change_lands() {
    if !root_or_skip("a_full_disk_is_retried_until_the_change_lands") {
        return;
    }
    let t = small_tree();
    let _tmpfs = Tmpfs::mount(&t.output, "2m");
    let listener = Listener::new();
    let d = t.spawn(under_systemd(&t, &listener.path, "0"), "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    settles(&t, &d);
    let filler = t.output.join("filler");
    fill(&filler);
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event")
            .contexts(&["Topic 0", "Topic 9"])
            .text(),
    );
    wait_for(
        Duration::from_secs(20),
        || d.log().contains("is full: free space on it; retrying in"),
        || d.log(),
    );
    // What `systemctl status` shows says it too.
    wait_for(
        Duration::from_secs(20),
        || {
            listener.any(|m| {
                m.starts_with("STATUS=behind, retrying every")
                    && m.contains("is full: free space on it")
            })
        },
        || format!("{:?}", listener.messages()),
    );
    no_torn_files(&t);
    fs::remove_file(&filler).unwrap();
    let freed = std::time::Instant::now();
    settles(&t, &d);
    println!("landed {:?} after space was freed", freed.elapsed());
    assert!(d.log().contains("the output is current"), "{}", d.log());
}

/// An id of `nobody`, from `id`.
fn nobody(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Lets `nobody` read the input and own the output and the state: the tree as
/// a service user would have it.
fn for_nobody(t: &Tree) -> (u32, u32) {
    use std::os::unix::fs::{chown, PermissionsExt};
    let (uid, gid) = (nobody("-u"), nobody("-g"));
    let top = t.input.parent().unwrap();
    fs::set_permissions(top, fs::Permissions::from_mode(0o755)).unwrap();
    for dir in [&t.output, &t.state] {
        fs::create_dir_all(dir).unwrap();
        chown(dir, Some(uid), Some(gid)).unwrap();
    }
    (uid, gid)
}

/// The daemon run as `nobody`, once it is watching.
fn watch_as_nobody(t: &Tree) -> Daemon {
    let cmd = t.wrapped(
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
        ],
        "watch",
    );
    let d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching") || d.log().contains("error"),
        || d.log(),
    );
    assert!(d.log().contains("watching"), "{}", d.log());
    d
}

#[test]
fn a_folder_the_daemon_may_not_write_is_retried_once_fixed() {
    if !root_or_skip("a_folder_the_daemon_may_not_write_is_retried_once_fixed") {
        return;
    }
    let t = small_tree();
    let (uid, gid) = for_nobody(&t);
    let d = watch_as_nobody(&t);
    settles(&t, &d);
    // A folder root made (as `build` run as root did before it wrote as the
    // output's owner).
    let day = t.output.join("days/2017/11/03");
    fs::create_dir_all(&day).unwrap();
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event").text(),
    );
    let needle = format!(
        "{} is owned by root, and nobody (the user eventfeed runs as) may not write in it: it must be owned by nobody",
        day.display()
    );
    wait_for(
        Duration::from_secs(20),
        || d.log().contains(&needle),
        || d.log(),
    );
    no_torn_files(&t);
    std::os::unix::fs::chown(&day, Some(uid), Some(gid)).unwrap();
    let fixed = std::time::Instant::now();
    settles(&t, &d);
    println!("landed {:?} after the folder was fixed", fixed.elapsed());
}

#[test]
fn build_as_root_on_another_users_output_leaves_it_theirs() {
    if !root_or_skip("build_as_root_on_another_users_output_leaves_it_theirs") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let t = small_tree();
    let (uid, gid) = for_nobody(&t);
    // `sudo eventfeed build`: root's own state folder, the service's output.
    let root_state = tempfile::tempdir().unwrap();
    let out = t
        .cmd("build")
        .env("XDG_STATE_HOME", root_state.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut owners = Vec::new();
    let mut walk = vec![t.output.clone()];
    while let Some(dir) = walk.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let m = fs::symlink_metadata(e.path()).unwrap();
            owners.push((e.path(), m.uid(), m.gid()));
            if m.is_dir() {
                walk.push(e.path());
            }
        }
    }
    assert!(owners.len() > 10, "{owners:?}");
    let wrong: Vec<_> = owners
        .iter()
        .filter(|(_, u, g)| (*u, *g) != (uid, gid))
        .collect();
    assert!(wrong.is_empty(), "not nobody's: {wrong:?}");
    // The service's daemon replaces those files and adds folders.
    let d = watch_as_nobody(&t);
    t.write(
        "news/2017/11/3/late.md",
        Ev::new("2017-11-3", "Late event")
            .contexts(&["Topic 0", "Topic 7"])
            .text(),
    );
    settles(&t, &d);
}
