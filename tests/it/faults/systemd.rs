//! systemd: a notify socket nobody reads, the watchdog during long work, SIGTERM
//! during the first reconcile.

use super::*;
use crate::watch::settles;

#[test]
fn a_notify_socket_nobody_reads_blocks_nothing() {
    let t = small_tree();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("notify");
    // Bound and never read: its queue fills after a few messages.
    let _socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    // As systemd runs it: WATCHDOG_PID is the daemon's own (the shell's, kept
    // through exec).
    let mut cmd = t.wrapped(&["sh", "-c", r#"WATCHDOG_PID=$$ exec "$0" "$@""#], "watch");
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "100000");
    let mut d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("watching"),
        || d.log(),
    );
    // Pings every 50 ms fill the queue long before these land.
    for i in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        t.write(
            &format!("news/2017/11/3/more-{i}.md"),
            Ev::new("2017-11-3", &format!("More number {i}")).text(),
        );
        settles(&t, &d);
    }
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
}

#[test]
fn the_watchdog_is_pinged_during_a_long_first_reconcile() {
    let t = small_tree();
    for i in 0..3000 {
        t.write(
            &format!("bulk/{}/e{i}.md", i % 50),
            Ev::new("2016-3-3", &format!("Bulk event {i}")).text(),
        );
    }
    let listener = Listener::new();
    let mut d = t.spawn(under_systemd(&t, &listener.path, "40000"), "log");
    wait_for(
        Duration::from_secs(120),
        || listener.any(|m| m == "READY=1"),
        || format!("{:?}\n{}", listener.messages(), d.log()),
    );
    let log = d.log();
    let ms: u64 = log
        .split(" ms=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no reconcile time in {log}"));
    let before_ready = listener
        .messages()
        .iter()
        .take_while(|m| *m != "READY=1")
        .filter(|m| *m == "WATCHDOG=1")
        .count();
    println!("{before_ready} watchdog pings during a first reconcile of {ms} ms");
    // Every 20 ms of work pings, but a loaded machine may stall between files.
    assert!(
        ms < 100 || before_ready >= 2,
        "{before_ready} pings in {ms} ms"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0), "{}", d.log());
}

#[test]
fn sigterm_during_the_first_reconcile_exits_0_and_the_next_start_completes() {
    let t = small_tree();
    for i in 0..3000 {
        let date = format!("2016-{}-{}", 1 + i % 12, 1 + i % 28);
        t.write(
            &format!("bulk/e{i}.md"),
            Ev::new(&date, &format!("Bulk event {i}"))
                .contexts(&[&format!("Bulk {}", i % 40)])
                .text(),
        );
    }
    let mut cmd = t.cmd("watch");
    cmd.env("EVENTFEED_LOG", "debug");
    let mut d = t.spawn(cmd, "log");
    wait_for(
        Duration::from_secs(60),
        || d.log().contains("signal handlers installed"),
        || d.log(),
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(60)), Some(0), "{}", d.log());
    println!(
        "stopped {} the first reconcile",
        if d.log().contains("during the first reconcile") {
            "during"
        } else {
            "after"
        }
    );
    drop(d);
    let d = t.watch();
    settles(&t, &d);
    let temps = t.temp_files();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}
