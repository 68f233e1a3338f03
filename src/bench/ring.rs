//! Send times of the datagrams in flight, indexed by sequence number.
//!
//! A power-of-two ring: sequence `s` lives in slot `s & mask`. Sending records the time;
//! the first reply takes it back ([`Take::First`]), a later one is recognised as a
//! duplicate while the slot still holds that sequence number, and a reply to a datagram
//! whose slot was reused finds nothing. When a new datagram reuses the slot of one still
//! unanswered, the old one is reported as evicted so the caller can count it lost: it has
//! been outstanding for a whole ring of later datagrams.

/// Marks a free slot (no real sequence number reaches it).
const FREE: u64 = u64::MAX;
/// Set in `sent_ns` once the datagram has been answered (send times stay below 2^63 ns).
const ANSWERED: u64 = 1 << 63;

/// What a reply finds in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Take {
    /// The first reply to a datagram sent at this time (ns).
    First(u64),
    /// A datagram already answered.
    Duplicate,
    /// Nothing: never sent, or sent so long ago that its slot was reused.
    Unknown,
}

#[derive(Clone, Copy)]
struct Slot {
    seq: u64,
    sent_ns: u64,
}

/// The ring of send times.
pub(super) struct Ring {
    slots: Vec<Slot>,
    mask: u64,
}

impl Ring {
    /// A ring with room for at least `min` outstanding datagrams (rounded up to a power of two).
    #[must_use]
    pub(super) fn with_capacity(min: usize) -> Self {
        let cap = min.max(2).next_power_of_two();
        Ring {
            slots: vec![
                Slot {
                    seq: FREE,
                    sent_ns: 0
                };
                cap
            ],
            mask: cap as u64 - 1,
        }
    }

    /// The number of slots.
    #[must_use]
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot(&mut self, seq: u64) -> &mut Slot {
        // The mask keeps the index below the slot count, which is a usize.
        let i = usize::try_from(seq & self.mask).unwrap_or(0);
        &mut self.slots[i]
    }

    /// Records that `seq` was sent at `sent_ns`; returns the sequence number of an
    /// unanswered datagram whose slot this reuses, if any.
    pub(super) fn insert(&mut self, seq: u64, sent_ns: u64) -> Option<u64> {
        let slot = self.slot(seq);
        let evicted = (slot.seq != FREE && slot.sent_ns & ANSWERED == 0).then_some(slot.seq);
        *slot = Slot {
            seq,
            sent_ns: sent_ns & !ANSWERED,
        };
        evicted
    }

    /// What the ring knows of `seq`; a first reply marks it answered.
    pub(super) fn take(&mut self, seq: u64) -> Take {
        let slot = self.slot(seq);
        if slot.seq != seq || seq == FREE {
            Take::Unknown
        } else if slot.sent_ns & ANSWERED != 0 {
            Take::Duplicate
        } else {
            slot.sent_ns |= ANSWERED;
            Take::First(slot.sent_ns & !ANSWERED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_taken_once() {
        let mut r = Ring::with_capacity(5);
        assert_eq!(r.capacity(), 8);
        assert_eq!(r.insert(0, 100), None);
        assert_eq!(r.insert(1, 110), None);
        assert_eq!(r.take(1), Take::First(110));
        assert_eq!(r.take(1), Take::Duplicate);
        assert_eq!(r.take(42), Take::Unknown, "never sent");
    }

    #[test]
    fn wrapping_evicts_only_unanswered() {
        let mut r = Ring::with_capacity(4);
        for s in 0..4 {
            r.insert(s, s * 10);
        }
        assert_eq!(r.take(2), Take::First(20));
        assert_eq!(r.insert(4, 40), Some(0));
        assert_eq!(r.insert(6, 60), None, "slot of 2 was answered");
        assert_eq!(
            r.take(0),
            Take::Unknown,
            "evicted, a late reply finds nothing"
        );
        assert_eq!(r.take(6), Take::First(60));
    }
}
