//! Where two lanes that run at once meet: each hands in its half, and
//! whichever comes second gets both, to go on with. Neither waits for the
//! other (in rayon, a lane that waited could be waiting for itself: a
//! `join`'s second half runs on the first's thread when no other takes it).

use std::sync::{Mutex, PoisonError};

pub struct Meeting<A, B> {
    slot: Mutex<Slot<A, B>>,
}

enum Slot<A, B> {
    Empty,
    Left(A),
    Right(B),
    Met,
}

impl<A, B> Default for Meeting<A, B> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(Slot::Empty),
        }
    }
}

impl<A, B> Meeting<A, B> {
    /// Hands in the left half: both halves, if the right one came first.
    pub fn left(&self, a: A) -> Option<(A, B)> {
        self.hand_in(Slot::Left(a))
    }

    /// Hands in the right half: both halves, if the left one came first.
    pub fn right(&self, b: B) -> Option<(A, B)> {
        self.hand_in(Slot::Right(b))
    }

    fn hand_in(&self, half: Slot<A, B>) -> Option<(A, B)> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match (std::mem::replace(&mut *slot, Slot::Met), half) {
            (Slot::Empty, half) => {
                *slot = half;
                None
            }
            (Slot::Left(a), Slot::Right(b)) | (Slot::Right(b), Slot::Left(a)) => Some((a, b)),
            _ => panic!("a half handed in twice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_to_come_gets_both_halves() {
        let m = Meeting::default();
        assert!(m.left(1).is_none());
        assert_eq!(m.right("b"), Some((1, "b")));
        let m = Meeting::default();
        assert!(m.right("b").is_none());
        assert_eq!(m.left(1), Some((1, "b")));
    }

    #[test]
    fn lanes_on_two_threads_meet_once() {
        for _ in 0..200 {
            let m = Meeting::default();
            let (a, b) = rayon::join(|| m.left(1), || m.right(2));
            assert_eq!(a.xor(b), Some((1, 2)));
        }
    }
}
