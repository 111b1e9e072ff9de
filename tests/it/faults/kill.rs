//! kill -9 at random points of a burst, 20 times.

use super::*;
use crate::watch::settles;

/// A small deterministic random source (xorshift), seeded per run and printed,
/// so that a failing run can be replayed with `EVENTFEED_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("EVENTFEED_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("EVENTFEED_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A burst of file operations: new events, edits, removals.
fn burst(t: &Tree, round: usize, rng: &mut Rng) {
    for i in 0..120 {
        let n = rng.below(60);
        let rel = format!("news/2018/{}/{}/burst-{n}.md", 1 + n % 3, 1 + n % 5);
        match rng.below(4) {
            0 if t.input.join(&rel).exists() => {
                fs::remove_file(t.input.join(&rel)).unwrap();
            }
            _ => {
                let date = format!("2018-{}-{}", 1 + n % 3, 1 + n % 5);
                t.write(
                    &rel,
                    Ev::new(&date, &format!("Burst event {n} edit {round}.{i}"))
                        .contexts(&[&format!("Burst {}", n % 7)])
                        .text(),
                );
            }
        }
    }
}

#[test]
fn kill_9_at_random_points_of_a_burst_loses_nothing() {
    let t = small_tree();
    let mut rng = Rng::new();
    // A reader polling a feed all along: it must never see a torn one.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, feed) = (stop.clone(), t.output.join("all/rss.xml"));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(bytes) = fs::read(&feed) {
                    assert!(
                        feed_rs::parser::parse(&bytes[..]).is_ok(),
                        "a reader saw a torn feed ({} bytes)",
                        bytes.len()
                    );
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut d = t.watch();
    for round in 0..20 {
        // Killed while it follows a burst, or while it starts up again.
        let during_start = rng.below(4) == 0;
        if during_start {
            d.signal("KILL");
            d.wait_exit(Duration::from_secs(10));
            burst(&t, round, &mut rng);
            let cmd = t.cmd("watch");
            d = t.spawn(cmd, "log");
            std::thread::sleep(Duration::from_millis(rng.below(300)));
        } else {
            let delay = Duration::from_millis(rng.below(150));
            let killer = {
                let pid = d.child.id();
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                })
            };
            burst(&t, round, &mut rng);
            killer.join().unwrap();
        }
        d.signal("KILL");
        d.wait_exit(Duration::from_secs(10));
        d = t.watch();
        settles(&t, &d);
        let temps = t.temp_files();
        assert!(
            temps.is_empty(),
            "round {round}: temp files left: {temps:?}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    println!("a reader read the feed {reads} times, never torn");
    assert!(reads > 100, "the reader barely read: {reads}");
}
