//! Logs go to stderr through `tracing`, filtered by `EVENTFEED_LOG` (default
//! `info`; a bare level applies to eventfeed only, not to the libraries under it,
//! whose debug output is noise to an operator). Under journald (`JOURNAL_STREAM`
//! set) they are plain: no colours and no timestamps, since the journal adds its
//! own, and each line carries its level as a syslog priority prefix.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let spec = std::env::var("EVENTFEED_LOG").unwrap_or_default();
    let spec = match spec.trim() {
        "" => "warn,eventfeed=info".to_owned(),
        level if !level.contains(['=', ',']) => format!("warn,eventfeed={level}"),
        custom => custom.to_owned(),
    };
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let filter =
        EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("warn,eventfeed=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // A closed stderr must not panic the daemon (the default reports a
        // failed write with `eprintln!`, to the same closed stderr).
        .with_writer(crate::console::Log { journald })
        .log_internal_errors(false)
        .with_target(false);
    let _ = if journald {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
}
