//! `eventfeed-assets`: the completions and man pages the package ships, made
//! from the same CLI definition as `eventfeed --help`.

use std::fs;
use std::process::Command;

#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_eventfeed-assets"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let bash = fs::read_to_string(dir.path().join("completions/eventfeed.bash")).unwrap();
    for shell in ["_eventfeed", "eventfeed.fish"] {
        assert!(
            dir.path().join("completions").join(shell).exists(),
            "{shell}"
        );
    }
    for cmd in ["build", "check", "watch"] {
        assert!(bash.contains(cmd), "bash completion lacks {cmd}");
        let page = fs::read_to_string(dir.path().join(format!("man/eventfeed-{cmd}.1"))).unwrap();
        assert!(
            page.contains(".TH eventfeed-") && page.contains("config"),
            "{page}"
        );
    }
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(dir.path().join("completions/eventfeed.bash"))
        .status()
        .unwrap();
    assert!(syntax.success(), "the bash completion does not parse");
    let main = fs::read_to_string(dir.path().join("man/eventfeed.1")).unwrap();
    assert!(main.contains(env!("CARGO_PKG_VERSION")), "{main}");
}
