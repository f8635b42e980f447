//! Quiescent-state-based reclamation (QSBR), as free-threaded CPython's
//! `Python/qsbr.c`: memory that a lock-free reader may still be looking at
//! (a list's item array replaced by a resize) is freed only once every
//! attached thread has passed a quiescent state after it was unlinked.
//!
//! It sits in the heap layer: the heap calls it at attach, detach, each
//! checkpoint and each retire; the list code (`list.rs`) retires item
//! arrays through it under a policy with optimistic reads
//! ([`crate::policy::Policy::OPTIMISTIC_READS`]).
//!
//! ## Sequences
//!
//! ```text
//!   wr_seq            global write sequence: starts at INITIAL, += INCR per retire
//!   slot[t].seq       thread t's read sequence: the wr_seq it last saw at a
//!                     quiescent state; OFFLINE (0) while detached
//!   rd_seq            a cache: the minimum over online slots, once computed
//! ```
//!
//! | who | operation | effect |
//! |---|---|---|
//! | any | attach / reattach | `seq = wr_seq`, then a SeqCst fence |
//! | any | quiescent (checkpoint) | `seq = wr_seq` if it moved |
//! | any | detach (`allow_threads`, exit) | `seq = OFFLINE` |
//! | retirer | retire `p` | unlink `p`, then `goal = (wr_seq += INCR)`; keep `(p, goal)` |
//! | retirer | poll `goal` | SeqCst fence, `min` over online slots' `seq`; free when `goal <= min` |
//!
//! ## Why a freed block was unreachable to every reader
//!
//! A reader uses retired memory only between two quiescent states (it never
//! holds a pointer into an item array across a checkpoint or a detach).
//! Take a reader `r` and a block retired with `goal = g`, freed after a
//! poll found every online `seq >= g`:
//! - If `r` was online in the poll with `seq_r >= g`, then `r` stored
//!   `seq_r` after loading `wr_seq >= g`, i.e. after (Acquire) the retirer's
//!   `fetch_add` (AcqRel), which follows the unlink: every read `r` made
//!   after that quiescent state sees the new array, and every read it made
//!   before it happens-before the free (its Release store of `seq`, read by
//!   the poll's Acquire load).
//! - If `r` was offline in the poll, its last detach store (Release) ordered
//!   its earlier reads before the free; its next attach is a store of `seq`
//!   followed by a SeqCst fence, and the poll's loads follow a SeqCst fence
//!   too: either the poll sees `r` online (with a `seq` read at attach: if it
//!   is `< g` the poll fails) or `r`'s loads after attaching see everything
//!   before the poll's fence, the unlink included. This is the one
//!   store-then-load (Dekker) pair of the protocol; Acquire/Release alone
//!   would let both sides miss each other.
//!
//! A thread that retires polls with its own slot just made quiescent (it
//! is at a checkpoint, not reading): alone, it frees at once. Detached
//! threads do not hold reclamation back. A thread that exits with blocks
//! still waiting hands them to the heap's orphan list, which the next
//! thread to poll takes over.

use crate::sync::{fence, AtomicU64, AtomicUsize, Geometry, Mutex, Ordering};
use std::collections::VecDeque;

/// `seq` of a detached thread (or of a free slot).
pub const OFFLINE: u64 = 0;
/// The first write sequence.
pub const INITIAL: u64 = 1;
/// One retire's step (odd sequences only, as CPython: 0 stays OFFLINE).
pub const INCR: u64 = 2;

/// Slots, one per attached thread: the biased counts' owner bound.
pub const MAX_SLOTS: usize = Geometry::MAX_OWNERS;

/// A heap's QSBR state.
pub struct Qsbr {
    wr_seq: AtomicU64,
    /// Cached minimum of the online read sequences (monotone).
    rd_seq: AtomicU64,
    slots: Box<[AtomicU64]>,
    /// Slots ever handed out: polls scan `0..high`.
    high: AtomicUsize,
    /// Slots free for reuse.
    free: Mutex<Vec<usize>>,
    /// Retired blocks of threads that exited before their goal passed.
    orphans: Mutex<Vec<Retired>>,
    /// Blocks in `orphans` (a hint read without the lock).
    orphan_count: AtomicUsize,
    /// Blocks retired and not yet freed, every thread's (for the verifier).
    waiting: AtomicUsize,
}

/// One retired block: freed once every online thread reached `goal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retired {
    pub ptr: *mut u8,
    pub size: usize,
    pub goal: u64,
}

// SAFETY: a retired block is plain memory no thread owns any more; only the
// thread that frees it dereferences it (through the allocator).
unsafe impl Send for Retired {}

/// One thread's QSBR state.
#[derive(Debug)]
pub struct QsbrLocal {
    slot: usize,
    /// The last `seq` this thread stored (its own copy: no load to compare).
    seq: u64,
    /// Retired blocks, goals non-decreasing.
    retired: VecDeque<Retired>,
}

impl QsbrLocal {
    /// Blocks this thread retired and has not freed yet.
    pub fn pending(&self) -> usize {
        self.retired.len()
    }
}

impl Default for Qsbr {
    fn default() -> Self {
        Self::new()
    }
}

impl Qsbr {
    pub fn new() -> Self {
        Qsbr {
            wr_seq: AtomicU64::new(INITIAL),
            rd_seq: AtomicU64::new(INITIAL),
            slots: (0..MAX_SLOTS).map(|_| AtomicU64::new(OFFLINE)).collect(),
            high: AtomicUsize::new(0),
            free: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            orphan_count: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The write sequence now.
    pub fn write_seq(&self) -> u64 {
        // Acquire: pairs with `retire`'s AcqRel add (see the module docs).
        self.wr_seq.load(Ordering::Acquire)
    }

    /// Registers a thread and attaches it (online).
    pub fn register(&self) -> QsbrLocal {
        let slot = {
            let mut free = self.free.lock();
            match free.pop() {
                Some(s) => s,
                None => {
                    // Relaxed: slots are handed out under `free`'s lock; a
                    // poll that misses a brand-new slot misses a thread that
                    // is attached only after the SeqCst fence below.
                    let s = self.high.load(Ordering::Relaxed);
                    assert!(s < MAX_SLOTS, "qsbr: more than {MAX_SLOTS} threads");
                    self.high.store(s + 1, Ordering::SeqCst);
                    s
                }
            }
        };
        let mut local = QsbrLocal {
            slot,
            seq: OFFLINE,
            retired: VecDeque::new(),
        };
        self.attach(&mut local);
        local
    }

    /// Online again (attach, or back from `allow_threads`).
    #[inline]
    pub fn attach(&self, local: &mut QsbrLocal) {
        let seq = self.write_seq();
        local.seq = seq;
        // SeqCst store and fence: the Dekker pair of the module docs (our
        // later loads of item arrays against a retirer's poll).
        self.slots[local.slot].store(seq, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Offline (`allow_threads`, exit): holds nothing back.
    #[inline]
    pub fn detach(&self, local: &mut QsbrLocal) {
        local.seq = OFFLINE;
        // Release: our reads of retired memory happen-before a poll that
        // sees us offline (Acquire) and frees it.
        self.slots[local.slot].store(OFFLINE, Ordering::Release);
    }

    /// A quiescent state: this thread holds no pointer into retired memory.
    #[inline(always)]
    pub fn quiescent(&self, local: &mut QsbrLocal) {
        let seq = self.write_seq();
        if seq != local.seq {
            self.quiescent_store(local, seq);
        }
    }

    #[cold]
    fn quiescent_store(&self, local: &mut QsbrLocal, seq: u64) {
        local.seq = seq;
        // Release: as in `detach`.
        self.slots[local.slot].store(seq, Ordering::Release);
    }

    /// Retires a block the caller has just unlinked (no new reader can
    /// reach it): it is freed by a later `poll` once it is safe.
    pub fn retire(&self, local: &mut QsbrLocal, ptr: *mut u8, size: usize) {
        // AcqRel: Release orders the unlink before the new sequence, which
        // readers load with Acquire; see the module docs.
        let goal = self.wr_seq.fetch_add(INCR, Ordering::AcqRel) + INCR;
        local.retired.push_back(Retired { ptr, size, goal });
        // Relaxed: a statistic, exact once the heap is quiescent.
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// Blocks retired and not yet freed (exact while the heap is quiescent).
    pub fn waiting(&self) -> usize {
        // Relaxed: see `retire`.
        self.waiting.load(Ordering::Relaxed)
    }

    /// True when there is anything for `poll` to do.
    #[inline(always)]
    pub fn has_work(&self, local: &QsbrLocal) -> bool {
        // Relaxed: a hint; the orphans are taken under their lock.
        !local.retired.is_empty() || self.orphan_count.load(Ordering::Relaxed) != 0
    }

    /// The minimum read sequence over online threads (or `wr_seq` when none
    /// is online), cached in `rd_seq`.
    fn compute_rd_seq(&self) -> u64 {
        // Read wr_seq first: any thread that comes online later stores at
        // least this value, so it may be the minimum's ceiling.
        let mut min = self.write_seq();
        // SeqCst fence: the other half of `attach`'s Dekker pair.
        fence(Ordering::SeqCst);
        // Acquire: slots are handed out before their first SeqCst store.
        let high = self.high.load(Ordering::Acquire);
        for s in &self.slots[..high] {
            // Acquire: pairs with the Release stores of `quiescent` and
            // `detach`: the thread's reads before them happen-before a free.
            let seq = s.load(Ordering::Acquire);
            if seq != OFFLINE && seq < min {
                min = seq;
            }
        }
        // Monotone cache.
        self.rd_seq.fetch_max(min, Ordering::AcqRel).max(min)
    }

    /// True when every thread online has passed `goal`.
    pub fn goal_reached(&self, goal: u64) -> bool {
        // Acquire: the threads' stores the cached value came from happen-
        // before our free (the thread that computed it read them Acquire
        // and published with AcqRel).
        goal <= self.rd_seq.load(Ordering::Acquire) || goal <= self.compute_rd_seq()
    }

    /// Frees (through `free`) every retired block whose goal has passed,
    /// this thread's and the orphans'. The caller is at a quiescent state:
    /// its own slot is made quiescent first.
    pub fn poll(&self, local: &mut QsbrLocal, mut free: impl FnMut(Retired)) {
        let mut free = |r: Retired| {
            // Relaxed: see `retire`.
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            free(r)
        };
        self.quiescent(local);
        while let Some(r) = local.retired.front() {
            if !self.goal_reached(r.goal) {
                break;
            }
            free(local.retired.pop_front().expect("front exists"));
        }
        // Relaxed: a hint, as in `has_work`.
        if self.orphan_count.load(Ordering::Relaxed) != 0 {
            if let Some(mut orphans) = self.orphans.try_lock() {
                let rd = self.compute_rd_seq();
                orphans.retain(|r| {
                    if r.goal <= rd {
                        free(*r);
                        false
                    } else {
                        true
                    }
                });
                self.orphan_count.store(orphans.len(), Ordering::Relaxed);
            }
        }
    }

    /// A thread leaves for good: polls, hands what is still waiting to the
    /// orphan list, goes offline and gives its slot back.
    pub fn unregister(&self, local: &mut QsbrLocal, free: impl FnMut(Retired)) {
        self.poll(local, free);
        self.detach(local);
        if !local.retired.is_empty() {
            let mut orphans = self.orphans.lock();
            orphans.extend(local.retired.drain(..));
            self.orphan_count.store(orphans.len(), Ordering::Relaxed);
        }
        self.free.lock().push(local.slot);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn block(n: usize) -> *mut u8 {
        n as *mut u8
    }

    #[test]
    fn a_lone_thread_frees_at_its_next_poll() {
        let q = Qsbr::new();
        let mut a = q.register();
        q.retire(&mut a, block(8), 32);
        assert_eq!(a.pending(), 1);
        let mut freed = Vec::new();
        assert_eq!(q.waiting(), 1);
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8]);
        assert_eq!(a.pending(), 0);
        assert_eq!(q.waiting(), 0);
    }

    #[test]
    fn an_online_thread_holds_reclamation_until_it_is_quiescent() {
        let q = Qsbr::new();
        let mut a = q.register();
        let mut b = q.register();
        q.retire(&mut a, block(8), 32);
        q.retire(&mut a, block(16), 32);
        let mut freed = Vec::new();
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert!(freed.is_empty(), "b may still be reading");
        q.quiescent(&mut b);
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8, 16]);
    }

    #[test]
    fn a_block_retired_after_a_quiescent_state_waits_for_the_next() {
        let q = Qsbr::new();
        let mut a = q.register();
        let mut b = q.register();
        q.retire(&mut a, block(8), 32);
        q.quiescent(&mut b);
        q.retire(&mut a, block(16), 32);
        let mut freed = Vec::new();
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8]);
        q.quiescent(&mut b);
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8, 16]);
    }

    #[test]
    fn detached_threads_do_not_hold_reclamation_back() {
        let q = Qsbr::new();
        let mut a = q.register();
        let mut b = q.register();
        q.detach(&mut b);
        q.retire(&mut a, block(8), 32);
        let mut freed = Vec::new();
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8]);
        // Back online: it holds the next retire back again.
        q.attach(&mut b);
        q.retire(&mut a, block(16), 32);
        q.poll(&mut a, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8]);
    }

    #[test]
    fn an_exiting_thread_leaves_its_blocks_to_the_next_poller() {
        let q = Qsbr::new();
        let mut a = q.register();
        let mut b = q.register();
        q.retire(&mut a, block(8), 32);
        let mut freed = Vec::new();
        q.unregister(&mut a, |r| freed.push(r.ptr as usize));
        assert!(freed.is_empty(), "b is online and has not passed the goal");
        q.poll(&mut b, |r| freed.push(r.ptr as usize));
        assert_eq!(freed, vec![8]);
        // The slot is reused.
        let c = q.register();
        assert_eq!(c.slot, 0);
        assert_eq!(q.waiting(), 0);
    }
}
