//! The CDN purge hook: after a round of uploads, a configured command gets the
//! public URLs of the objects that changed on stdin, one a line, so that a CDN
//! (CloudFront, Fastly, Cloudflare) stops serving the old bytes before their
//! `max-age` runs out. The command is the user's: it is run without a shell,
//! with the daemon's environment (where the CDN's credentials are), and a
//! failure is logged, not retried (the `max-age` bounds how stale the CDN is).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a purge may take before it is killed.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs `command` with `urls` on its stdin; logs how it went.
pub fn run(command: &[String], urls: &[String]) {
    let Some((program, args)) = command.split_first() else {
        return;
    };
    if urls.is_empty() {
        return;
    }
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return tracing::warn!("cannot run the purge command {program}: {e}"),
    };
    let mut text = urls.join("\n");
    text.push('\n');
    if let Some(mut stdin) = child.stdin.take() {
        // A command that reads nothing (a purge-everything) closes the pipe: fine.
        let _ = stdin.write_all(text.as_bytes());
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                return tracing::info!(
                    urls = urls.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "CDN purge done"
                );
            }
            Ok(Some(status)) => {
                return tracing::warn!(
                    urls = urls.len(),
                    "the purge command {program} failed ({status}); the CDN serves the old files until their max-age runs out"
                );
            }
            Ok(None) if started.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return tracing::warn!(
                    "the purge command {program} took more than {} s and was killed",
                    LIMIT.as_secs()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return tracing::warn!("the purge command {program}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_gets_the_urls_one_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("urls");
        let command = [
            "sh".to_owned(),
            "-c".to_owned(),
            format!("cat > {}", out.display()),
        ];
        super::run(&command, &["https://x/a".into(), "https://x/b/".into()]);
        assert_eq!(
            std::fs::read_to_string(out).unwrap(),
            "https://x/a\nhttps://x/b/\n"
        );
    }
}
