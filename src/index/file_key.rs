//! A file's path relative to the input root, as the index's maps hold it.
//!
//! Most event files sit where their key says: `news/2017/07/4/x.md` holds key
//! `/news/2017/7/4/x.md`, written with its month padded. Such a path is kept as
//! the event's key and padding, sharing the key's string, rather than as a copy
//! of the path: at 100k events the copies were 16 MB, the largest allocation of
//! the daemon after the keys themselves. Other paths are kept as they are.
//! Either way, keys compare (and sort) as the bytes of the path.

use crate::model::{Event, EventKey, Padding};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum FileKey {
    /// The path `padded_path(key, pad)` without its leading `/`.
    Layout(EventKey, Shape),
    /// Boxed twice so that the pointer is thin: such paths are rare, and a
    /// `FileKey` stays two words.
    Other(Arc<Box<[u8]>>),
}

/// A layout path's padding, and where its key's month, day and file name
/// start (see [`crate::model::news_shape`]): kept, not found again, as the
/// maps of files compare paths at every step. Fits beside the key in the
/// room the key's pointer leaves (a `FileKey` is 16 bytes either way).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pad: Padding,
    starts: [u8; 3],
}

// The shape costs no memory: it fits where the enum had room.
const _: () = assert!(std::mem::size_of::<FileKey>() == 16);

impl Shape {
    fn starts(self) -> [usize; 3] {
        self.starts.map(usize::from)
    }

    fn file(self) -> usize {
        self.starts[2].into()
    }
}

impl FileKey {
    /// The key of any path (a day page's, or a path to look up).
    pub fn of(path: &Path) -> Self {
        Self::other(path.as_os_str().as_bytes())
    }

    /// The key kept as the path's bytes.
    pub fn other(bytes: &[u8]) -> Self {
        Self::Other(Arc::new(bytes.into()))
    }

    /// The key of the file `path` holding `event`: its layout form when the
    /// path is the one the event's key and padding say.
    pub fn of_event(path: &Path, event: &Event) -> Self {
        let bytes = path.as_os_str().as_bytes();
        match Self::layout(event) {
            Some(layout) if layout.is(bytes) => layout,
            _ => Self::other(bytes),
        }
    }

    /// The layout form of the path `event`'s key and padding say, if the key
    /// has one (a news key without a custom path).
    pub fn layout(event: &Event) -> Option<Self> {
        if event.custom_path().is_some() {
            return None;
        }
        let starts = crate::model::news_shape(&event.key)?;
        let shape = Shape {
            pad: event.pad,
            starts: [
                u8::try_from(starts[0]).ok()?,
                u8::try_from(starts[1]).ok()?,
                u8::try_from(starts[2]).ok()?,
            ],
        };
        Some(Self::Layout(event.key.clone(), shape))
    }

    /// Whether the path is `bytes`, a part at a time.
    fn is(&self, mut bytes: &[u8]) -> bool {
        for part in self.parts() {
            match bytes.strip_prefix(part) {
                Some(rest) => bytes = rest,
                None => return false,
            }
        }
        bytes.is_empty()
    }

    /// The path's pieces, in order (most of them empty for `Other`).
    pub fn parts(&self) -> [&[u8]; 8] {
        match self {
            Self::Other(bytes) => [bytes, b"", b"", b"", b"", b"", b"", b""],
            Self::Layout(key, shape) => {
                crate::model::shaped_parts(key, shape.starts(), shape.pad).map(str::as_bytes)
            }
        }
    }

    /// The path's bytes, one at a time.
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.parts().into_iter().flatten().copied()
    }

    pub fn to_path(&self) -> PathBuf {
        PathBuf::from(OsString::from_vec(self.as_bytes().into_owned()))
    }

    /// The path as bytes, borrowed when kept so.
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Self::Other(bytes) => Cow::Borrowed(bytes),
            Self::Layout(..) => Cow::Owned(self.bytes().collect()),
        }
    }

    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        match self {
            Self::Other(bytes) => bytes.starts_with(prefix),
            Self::Layout(..) => {
                let mut bytes = self.bytes();
                prefix.iter().all(|b| bytes.next() == Some(*b))
            }
        }
    }
}

impl Ord for FileKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Other(a), Self::Other(b)) => a.cmp(b),
            // In one folder (as most neighbours in a map are): by file name.
            (Self::Layout(a, x), Self::Layout(b, y))
                if x.pad == y.pad && x.starts == y.starts && a[..x.file()] == b[..y.file()] =>
            {
                a.as_bytes()[x.file()..].cmp(&b.as_bytes()[y.file()..])
            }
            _ => compare_parts(&self.parts(), &other.parts()),
        }
    }
}

/// Compares two byte strings given in pieces, a run of bytes at a time (a
/// start loads a sorted map of 100k of them).
fn compare_parts(a: &[&[u8]], b: &[&[u8]]) -> Ordering {
    let (mut a, mut b) = (a.iter().copied(), b.iter().copied());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            match a.next() {
                Some(part) => x = part,
                None => break,
            }
        }
        while y.is_empty() {
            match b.next() {
                Some(part) => y = part,
                None => break,
            }
        }
        if x.is_empty() || y.is_empty() {
            return x.len().cmp(&y.len());
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            Ordering::Equal => (x, y) = (&x[n..], &y[n..]),
            unequal => return unequal,
        }
    }
}

impl PartialOrd for FileKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FileKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for FileKey {}

#[cfg(test)]
mod tests {
    use super::super::tests::event;
    use super::*;

    fn layout(path: &str, date: (i32, u32, u32), slug: &str, pad: Padding) -> FileKey {
        let mut e = (*event(date, slug, &[])).clone();
        e.pad = pad;
        FileKey::of_event(Path::new(path), &e)
    }

    #[test]
    fn layout_paths_keep_the_key_and_compare_as_their_bytes() {
        let pads = [(false, false), (true, false), (false, true), (true, true)];
        let mut keys = Vec::new();
        for (month, day) in pads {
            let pad = Padding { month, day };
            let path = format!(
                "news/2017/{}7/{}4/x.md",
                if month { "0" } else { "" },
                if day { "0" } else { "" }
            );
            let k = layout(&path, (2017, 7, 4), "x", pad);
            assert!(matches!(k, FileKey::Layout(..)), "{path}");
            assert_eq!(k.to_path(), Path::new(&path));
            assert_eq!(k, FileKey::of(Path::new(&path)));
            assert!(k.starts_with(b"news/2017/") && !k.starts_with(b"news/2018"));
            keys.push((k, path));
        }
        // Two-digit months and days take no padding.
        let k = layout(
            "news/2017/12/24/y.md",
            (2017, 12, 24),
            "y",
            Padding {
                month: true,
                day: true,
            },
        );
        assert!(matches!(k, FileKey::Layout(..)));
        assert_eq!(k.to_path(), Path::new("news/2017/12/24/y.md"));
        // A path its key does not say (another folder, another padding) is kept.
        for path in ["archive/news/2017/7/4/x.md", "news/2017/07/4/x.md"] {
            let k = layout(path, (2017, 7, 4), "x", Padding::default());
            assert!(matches!(k, FileKey::Other(_)), "{path}");
            keys.push((k, path.to_owned()));
        }
        for other in [
            "news/2017/07/04/x.mdx",
            "news/2017/7/4/",
            "n",
            "news/2017/7/4/x.md",
        ] {
            keys.push((FileKey::of(Path::new(other)), other.to_owned()));
        }
        for (a, pa) in &keys {
            for (b, pb) in &keys {
                assert_eq!(
                    a.cmp(b),
                    pa.as_bytes().cmp(pb.as_bytes()),
                    "{pa} against {pb}"
                );
            }
        }
    }
}
