//! Blocks in use per (domain, class): the allocator's statistics, kept where
//! they cost nothing extra.
//!
//! Each counter has one writer at a time: the class table's owner (the GIL's
//! holder, the class lock's holder, or the thread heap's thread, which also
//! takes back its remote frees). So an update is a relaxed load and store,
//! what a plain counter costs, and any thread may read the counters while
//! the run goes on (a monitor's memory samples: approximate until the world
//! is quiescent, exact then). The counters live beside the class tables,
//! never inside them: an owner holds its table as `&mut` while readers look.
//!
//! Each slot is two counters, blocks allocated and blocks freed (ever), so
//! that an alloc+free pair does not chain a read-modify-write of one word
//! through both halves (a store-to-load forwarding each way, on the pair's
//! critical path); blocks in use are the difference.
//!
//! Everything the heap reports about memory in use is derived from them:
//! bytes in blocks (counts times block sizes) and live objects (blocks of the
//! object domain), so the object path keeps no counters of its own.

use super::{class_block_size, NUM_CLASSES, NUM_DOMAINS};
use crate::sync::{AtomicUsize, Ordering::Relaxed};

/// Counters: one per (domain, class), flat.
const SLOTS: usize = NUM_DOMAINS * NUM_CLASSES;
const _: () = assert!(SLOTS.is_power_of_two());

/// Blocks in use per domain and class, for one owner of class tables.
pub struct BlockCounts {
    allocated: [AtomicUsize; SLOTS],
    freed: [AtomicUsize; SLOTS],
}

impl Default for BlockCounts {
    fn default() -> Self {
        BlockCounts {
            allocated: std::array::from_fn(|_| AtomicUsize::new(0)),
            freed: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }
}

impl BlockCounts {
    /// One more block of (domain, class) in use. The caller is the counter's
    /// one writer (see the module docs).
    #[inline(always)]
    pub fn inc(&self, domain: usize, class: usize) {
        let c = &self.allocated[Self::slot(domain, class)];
        // Relaxed load + store: one writer; readers want a figure, not an
        // ordering.
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// `n` fewer blocks of (domain, class) in use. As [`BlockCounts::inc`].
    #[inline(always)]
    pub fn sub(&self, domain: usize, class: usize, n: usize) {
        let c = &self.freed[Self::slot(domain, class)];
        // Relaxed: as in `inc`.
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// The slot of (domain, class). The index is masked into range (a
    /// power of two) instead of bounds-checked: callers pass a domain and a
    /// class read from a pool header or computed from a size, always in
    /// range (checked in debug builds).
    #[inline(always)]
    fn slot(domain: usize, class: usize) -> usize {
        debug_assert!(domain < NUM_DOMAINS && class < NUM_CLASSES);
        (domain * NUM_CLASSES + class) & (SLOTS - 1)
    }

    /// Blocks of (domain, class) in use. Exact when the owner is quiescent;
    /// while it runs, a reader may see a free whose allocation it missed
    /// (two relaxed loads), so the difference is clamped at 0.
    pub fn get(&self, domain: usize, class: usize) -> usize {
        let i = Self::slot(domain, class);
        // Relaxed: a figure. Freed first: it only grows towards allocated.
        let freed = self.freed[i].load(Relaxed);
        let allocated = self.allocated[i].load(Relaxed);
        allocated.saturating_sub(freed)
    }

    /// Blocks in use in one domain.
    pub fn blocks(&self, domain: usize) -> usize {
        (0..NUM_CLASSES).map(|c| self.get(domain, c)).sum()
    }

    /// Blocks in use in every domain.
    pub fn total_blocks(&self) -> usize {
        (0..NUM_DOMAINS).map(|d| self.blocks(d)).sum()
    }

    /// Bytes of the blocks in use, every domain.
    pub fn bytes(&self) -> usize {
        (0..NUM_DOMAINS)
            .flat_map(|d| (0..NUM_CLASSES).map(move |c| (d, c)))
            .map(|(d, c)| self.get(d, c) * class_block_size(c))
            .sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_to_bytes() {
        let b = BlockCounts::default();
        b.inc(0, 0);
        b.inc(0, 0);
        b.inc(1, 31);
        b.sub(0, 0, 1);
        assert_eq!(b.blocks(0), 1);
        assert_eq!(b.total_blocks(), 2);
        assert_eq!(b.bytes(), 16 + 512);
    }
}
