//! The A-Z listing of contexts as a tree of slug prefixes, so that no page grows
//! with the archive and a change re-renders only the pages on its slug's path.
//!
//! Numbered parts ("S, part 7") would shift on every insert and re-render every
//! later part; prefixes do not shift. A prefix is a *node* (a page) when some slug
//! starts with it and every shorter prefix holds more than [`PAGE_CONTEXTS`]
//! slugs; a node with at most that many is a *leaf* and lists them all, a larger
//! one is a *branch* and lists its children (the next character) and the one
//! context whose slug is the prefix itself, if any. Single characters are always
//! nodes: `index.html` is the root. The shape is a function of the set of slugs
//! alone, so a fresh build and the daemon agree on it.

use crate::model::{ArcStr, Context};
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Most contexts a leaf lists (a row is at most ~1.5 KB with a 300-character
/// name, so a leaf stays under 256 KB).
pub const PAGE_CONTEXTS: usize = 100;

pub type Slugs = BTreeMap<ArcStr, Context>;

/// The contexts whose slug starts with `p`, in slug order.
pub fn under<'a>(slugs: &'a Slugs, p: &'a str) -> impl Iterator<Item = (&'a str, &'a Context)> {
    slugs
        .range::<str, _>((std::ops::Bound::Included(p), std::ops::Bound::Unbounded))
        .take_while(move |(s, _)| s.starts_with(p))
        .map(|(s, c)| (&**s, c))
}

/// The tree over a set of slugs, remembering the counts it took (a count walks
/// the prefix's range, and a large batch asks for the same prefixes often).
pub struct Tree<'a> {
    slugs: &'a Slugs,
    /// Most contexts a leaf lists ([`PAGE_CONTEXTS`] but in tests).
    pub max: usize,
    counts: RefCell<HashMap<String, usize>>,
}

impl<'a> Tree<'a> {
    pub fn new(slugs: &'a Slugs, max: usize) -> Self {
        Self {
            slugs,
            max: max.max(1),
            counts: RefCell::default(),
        }
    }

    pub fn slugs(&self) -> &'a Slugs {
        self.slugs
    }

    pub fn count(&self, p: &str) -> usize {
        if let Some(&c) = self.counts.borrow().get(p) {
            return c;
        }
        let c = under(self.slugs, p).count();
        self.counts.borrow_mut().insert(p.to_owned(), c);
        c
    }

    pub fn is_leaf(&self, p: &str) -> bool {
        self.count(p) <= self.max
    }

    /// The nodes on the way to `slug` (which need not exist), shortest first;
    /// the last one is the page that lists it. Ends early where no slug goes on.
    pub fn path(&self, slug: &str) -> Vec<String> {
        let mut out = Vec::new();
        for n in 1..=slug.len() {
            let p = &slug[..n];
            let c = self.count(p);
            if c == 0 {
                break;
            }
            out.push(p.to_owned());
            if c <= self.max {
                break;
            }
        }
        out
    }

    /// The length of the first prefix of `slug` that is not a branch: the leaf
    /// that lists it, or a prefix no slug starts with any more.
    pub fn stop(&self, slug: &str) -> usize {
        (1..=slug.len())
            .find(|&n| self.count(&slug[..n]) <= self.max)
            .unwrap_or(slug.len())
    }

    /// The child prefixes of a branch `p`, in order. One seek per child rather
    /// than a walk of every slug under `p` (the root's children are asked for
    /// on every change, for the home page).
    pub fn children(&self, p: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut from = Bound::Included(p.to_owned());
        loop {
            let bounds = (from.as_ref().map(String::as_str), Bound::Unbounded);
            let Some((s, _)) = self.slugs.range::<str, _>(bounds).next() else {
                break;
            };
            if !s.starts_with(p) {
                break;
            }
            if s.len() == p.len() || out.last().is_some_and(|l| s.starts_with(l.as_str())) {
                from = Bound::Excluded(s.to_string());
                continue;
            }
            let child = s[..p.len() + 1].to_owned();
            // Past every slug that starts with `child` (slugs are ASCII).
            from = Bound::Excluded(format!("{child}\u{10FFFF}"));
            out.push(child);
        }
        out
    }

    /// Every node strictly below `p`, depth first.
    pub fn descendants(&self, p: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.is_leaf(p) {
            return out;
        }
        for c in self.children(p) {
            out.push(c.clone());
            out.extend(self.descendants(&c));
        }
        out
    }

    /// The top of the tree: the first characters of the slugs.
    pub fn roots(&self) -> Vec<String> {
        self.children("")
    }
}

/// How many of `sorted` start with `p`.
pub fn within(sorted: &[&str], p: &str) -> usize {
    let start = sorted.partition_point(|s| *s < p);
    sorted[start..]
        .iter()
        .take_while(|s| s.starts_with(p))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slugs(names: &[String]) -> Slugs {
        names
            .iter()
            .map(|n| (ArcStr::from(n.as_str()), Context::from(n.as_str())))
            .collect()
    }

    #[test]
    fn small_letters_are_leaves_and_large_ones_split_by_prefix() {
        let mut names: Vec<String> = (0..150).map(|i| format!("sa-{i:03}")).collect();
        names.extend((0..30).map(|i| format!("sb-{i}")));
        names.push("s".into());
        names.push("t".into());
        let s = slugs(&names);
        let t = Tree::new(&s, 100);
        assert_eq!(t.roots(), ["s", "t"]);
        assert_eq!(t.path("t"), ["t"]);
        assert_eq!(t.path("sb-3"), ["s", "sb"]);
        assert_eq!(t.path("sa-001"), ["s", "sa", "sa-", "sa-0"]);
        assert_eq!(t.children("s"), ["sa", "sb"]);
        assert_eq!(t.path("s"), ["s"], "a branch lists its exact slug");
        assert_eq!(t.descendants("s"), ["sa", "sa-", "sa-0", "sa-1", "sb"]);
        assert_eq!(t.stop("sa-001"), 4);
        assert_eq!(t.stop("x-gone"), 1);
        assert_eq!(within(&["sa", "sb", "sb-1", "t"], "sb"), 2);
    }

    proptest::proptest! {
        #[test]
        fn children_are_the_distinct_next_characters(
            names in proptest::collection::vec("[ab-]{0,4}", 0..40),
            p in "[ab-]{0,2}",
        ) {
            let s = slugs(&names);
            let mut want: Vec<String> = under(&s, &p)
                .filter(|(n, _)| n.len() > p.len())
                .map(|(n, _)| n[..p.len() + 1].to_owned())
                .collect();
            want.dedup();
            proptest::prop_assert_eq!(Tree::new(&s, 1).children(&p), want);
        }
    }
}
