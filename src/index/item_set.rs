//! The items of one context, in feed order.
//!
//! Most contexts hold a handful of items (most of the 25 700 contexts of the
//! bench's 100k events), and a B-tree spends a 200-byte leaf on even one. A
//! short set is a sorted `Vec` instead; a long one stays a B-tree, where an
//! insert does not move half the set.

use super::ItemKey;
use either::Either;
use std::collections::BTreeSet;

/// Above this many items a set becomes a B-tree; it goes back to a `Vec`
/// below half of it (not at once, so that a set near the line does not switch
/// on every change).
const LONG: usize = 512;

/// Equal when equal in both content and form (the same set can be either).
#[derive(Debug, PartialEq)]
pub enum ItemSet {
    Short(Vec<ItemKey>),
    Long(BTreeSet<ItemKey>),
}

impl Default for ItemSet {
    fn default() -> Self {
        Self::Short(Vec::new())
    }
}

impl ItemSet {
    /// The set of `items`, which are sorted.
    pub fn from_sorted(mut items: Vec<ItemKey>) -> Self {
        debug_assert!(items.is_sorted());
        items.dedup();
        match items.len() > LONG {
            true => Self::Long(items.into_iter().collect()),
            false => {
                items.shrink_to_fit();
                Self::Short(items)
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Short(v) => v.len(),
            Self::Long(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &ItemKey> {
        match self {
            Self::Short(v) => Either::Left(v.iter()),
            Self::Long(s) => Either::Right(s.iter()),
        }
    }

    /// The oldest item.
    pub fn last(&self) -> Option<&ItemKey> {
        self.iter().next_back()
    }

    /// The items that come before `item` (are newer), in order.
    pub fn before(&self, item: &ItemKey) -> impl Iterator<Item = &ItemKey> {
        match self {
            Self::Short(v) => Either::Left(v[..v.partition_point(|i| i < item)].iter()),
            Self::Long(s) => Either::Right(s.range(..item)),
        }
    }

    /// Adds `item`; false if it was there.
    pub fn insert(&mut self, item: ItemKey) -> bool {
        match self {
            Self::Long(s) => s.insert(item),
            Self::Short(v) => match v.binary_search(&item) {
                Ok(_) => false,
                Err(i) if v.len() < LONG => {
                    v.insert(i, item);
                    true
                }
                Err(_) => {
                    let mut s: BTreeSet<ItemKey> = std::mem::take(v).into_iter().collect();
                    s.insert(item);
                    *self = Self::Long(s);
                    true
                }
            },
        }
    }

    /// Takes `item` out; false if it was not there.
    pub fn remove(&mut self, item: &ItemKey) -> bool {
        match self {
            Self::Short(v) => match v.binary_search(item) {
                Ok(i) => {
                    v.remove(i);
                    if v.capacity() > 2 * v.len() + 4 {
                        v.shrink_to_fit();
                    }
                    true
                }
                Err(_) => false,
            },
            Self::Long(s) => {
                let removed = s.remove(item);
                if s.len() < LONG / 2 {
                    *self = Self::Short(std::mem::take(s).into_iter().collect());
                }
                removed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;

    fn item(ts: i64) -> ItemKey {
        (
            Reverse(ts),
            format!("/news/2020/1/1/{ts}.md").as_str().into(),
        )
    }

    /// The set agrees with a `BTreeSet` through growth past `LONG`, and back.
    #[test]
    fn behaves_as_a_btree_set_across_both_forms() {
        let mut set = ItemSet::default();
        let mut model = BTreeSet::new();
        // A pseudo-random walk: up past LONG, then down below LONG / 2.
        let mut x: u64 = 7;
        for step in 0..11 * LONG {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ts = (x >> 33) as i64 % (2 * LONG as i64);
            let grow = step < 3 * LONG;
            let (a, b) = match grow || x.is_multiple_of(8) {
                true => (set.insert(item(ts)), model.insert(item(ts))),
                false => (set.remove(&item(ts)), model.remove(&item(ts))),
            };
            assert_eq!(a, b, "step {step}");
            assert_eq!(set.len(), model.len());
            if step.is_multiple_of(97) || step == 3 * LONG {
                assert!(set.iter().eq(model.iter()));
                assert_eq!(set.last(), model.last());
                let probe = item(ts);
                assert!(set.before(&probe).eq(model.range(..probe.clone())));
            }
        }
        assert!(matches!(set, ItemSet::Short(_)), "shrank back");
        assert!(set.iter().eq(model.iter()));
    }

    #[test]
    fn long_runs_load_as_a_tree_and_short_ones_as_a_vec() {
        let items: Vec<ItemKey> = (0..=LONG as i64).rev().map(item).collect();
        let mut sorted = items.clone();
        sorted.sort();
        assert!(matches!(
            ItemSet::from_sorted(sorted.clone()),
            ItemSet::Long(_)
        ));
        assert!(matches!(
            ItemSet::from_sorted(sorted[..3].to_vec()),
            ItemSet::Short(_)
        ));
        assert!(ItemSet::from_sorted(sorted.clone())
            .iter()
            .eq(sorted.iter()));
    }
}
