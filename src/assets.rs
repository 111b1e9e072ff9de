//! Files made from the command-line definition, for packaging: shell
//! completions (bash, zsh, fish) and man pages (one for `eventfeed`, one per
//! command). `eventfeed-assets DIR` writes them; the Debian package ships them,
//! so they can never disagree with the binary's own `--help`.

use anyhow::{Context as _, Result};
use clap_complete::Shell;
use std::fs;
use std::path::Path;

/// Writes `DIR/completions/*` and `DIR/man/*.1`.
pub fn write(cmd: clap::Command, dir: &Path) -> Result<()> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let name = cmd.get_name().to_owned();
    for (shell, file) in [
        (Shell::Bash, format!("{name}.bash")),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), &name, &mut out);
        write_file(&completions.join(file), &out)?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    write_file(&man.join(format!("{name}.1")), &page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let full = format!("{name}-{}", sub.get_name());
        let mut page = Vec::new();
        clap_mangen::Man::new(
            sub.clone()
                .display_name(full.clone())
                .bin_name(format!("{name} {}", sub.get_name())),
        )
        .render(&mut page)?;
        write_file(&man.join(format!("{full}.1")), &page)?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
