//! The daemon's invariant on real files: random sequences of creates, edits,
//! renames, deletes and folder moves, done with the file system calls editors and
//! sync tools use, at random speeds, against the running binary. Once it settles,
//! its output equals a fresh `eventfeed build` of the same tree, byte for byte.
//! (`incremental.rs` checks the same invariant on the engine alone, with many
//! more cases; this one keeps the real watcher, debounce and I/O in the loop.)

use crate::harness::*;
use crate::watch::settles;
use proptest::prelude::*;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

/// Files live in the first three; folders move among all five.
const DIRS: [&str; 5] = ["a", "b/c", "d", "x", "y/z"];
const CONTEXTS: [&str; 5] = ["Café", "Cafe", "Donald Trump", "東京", "Twitter"];

#[derive(Debug, Clone)]
enum Op {
    Write {
        slot: usize,
        day: u32,
        headline: usize,
        contexts: Vec<usize>,
    },
    Rename {
        from: usize,
        to: usize,
    },
    Delete {
        slot: usize,
    },
    MoveDir {
        from: usize,
        to: usize,
    },
    RemoveDir {
        dir: usize,
    },
    Pause {
        ms: u64,
    },
}

fn rel(slot: usize) -> PathBuf {
    PathBuf::from(DIRS[slot % 3]).join(format!("e{}.md", slot / 3))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..9, 1u32..5, 0usize..4, prop::collection::vec(0..CONTEXTS.len(), 0..3))
            .prop_map(|(slot, day, headline, contexts)| Op::Write { slot, day, headline, contexts }),
        2 => (0usize..9, 0usize..9).prop_map(|(from, to)| Op::Rename { from, to }),
        2 => (0usize..9).prop_map(|slot| Op::Delete { slot }),
        2 => (0usize..5, 0usize..5).prop_map(|(from, to)| Op::MoveDir { from, to }),
        1 => (0usize..5).prop_map(|dir| Op::RemoveDir { dir }),
        1 => (0u64..40).prop_map(|ms| Op::Pause { ms }),
    ]
}

fn run(t: &Tree, op: &Op) {
    let path = |slot: usize| t.input.join(rel(slot));
    match op {
        Op::Write {
            slot,
            day,
            headline,
            contexts,
        } => {
            let names: Vec<&str> = contexts.iter().map(|&c| CONTEXTS[c]).collect();
            let title = format!("Headline number {headline}");
            let date = format!("2017-11-{day}");
            let text = Ev::new(&date, &title).contexts(&names).text();
            // Written next to the target and renamed over it, as editors save.
            let target = path(*slot);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            let tmp = target.with_extension("md.tmp~");
            fs::write(&tmp, text).unwrap();
            fs::rename(&tmp, &target).unwrap();
        }
        Op::Rename { from, to } => {
            if path(*from).exists() {
                fs::create_dir_all(path(*to).parent().unwrap()).unwrap();
                fs::rename(path(*from), path(*to)).unwrap();
            }
        }
        Op::Delete { slot } => {
            let _ = fs::remove_file(path(*slot));
        }
        Op::MoveDir { from, to } => {
            let (from, to) = (t.input.join(DIRS[*from]), t.input.join(DIRS[*to]));
            // rename(2) onto a non-empty folder fails; move aside then, as `mv` would
            // refuse: only move into a free name.
            if from.exists() && !to.exists() && !to.starts_with(&from) {
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::rename(&from, &to).unwrap();
            }
        }
        Op::RemoveDir { dir } => {
            let _ = fs::remove_dir_all(t.input.join(DIRS[*dir]));
        }
        Op::Pause { ms } => std::thread::sleep(Duration::from_millis(*ms)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn the_daemon_settles_on_what_a_fresh_build_writes(ops in prop::collection::vec(op(), 5..30)) {
        let t = Tree::new();
        t.write("a/seed.md", Ev::new("2017-11-1", "A seed event").contexts(&["Twitter"]).text());
        let d = t.watch();
        for op in &ops {
            run(&t, op);
        }
        settles(&t, &d);
    }
}
