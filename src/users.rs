//! Who we run as and who owns what, by name: for advice on permissions and for
//! writing as the output directory's owner when run as root (see [`crate::sink`]).

use std::os::unix::fs::MetadataExt;

/// The effective user id of this process (the owner of its /proc entry).
pub fn process_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// A user's name from /etc/passwd, else `uid N`.
pub fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The owner (user, group) that files written under `dir` must get: the
/// folder's own when this process is root and the folder is someone else's, so
/// that a `build` run as root leaves nothing that user's daemon cannot replace.
pub fn owner_to_keep(dir: &std::path::Path) -> Option<(u32, u32)> {
    let m = std::fs::metadata(dir).ok()?;
    (process_uid() == 0 && m.uid() != 0).then(|| (m.uid(), m.gid()))
}
