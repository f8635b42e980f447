//! `biased`: thread-local pools and biased reference counting, as in
//! free-threaded CPython (PEP 703; `Include/refcount.h`, `Objects/object.c`,
//! `Python/brc.c`) and the paper by Choi, Shull and Torrellas (PACT 2018).
//!
//! ## Owners
//!
//! Each attached thread has an owner id (never 0) and a merge queue. The id
//! goes into the count word of every object the thread creates. A thread
//! that detaches for good merges its queue and closes it; its id waits for
//! the next thread to attach, which adopts it with the objects it owns (the
//! adopter simply becomes their owner: the count words need no change).
//! The thread heaps that hold the blocks are another axis ([`super::Front`]),
//! with their own adoption.
//!
//! ## The reference-count word
//!
//! ```text
//!   tid    : owner id (0 = no owner: merged, or immortal)   atomic, relaxed
//!   local  : the owner's count (u32::MAX = immortal)        owner-only stores
//!   shared : count << 2 | state                             atomic RMW
//!            state 0 DEFAULT, 2 QUEUED, 3 MERGED  (1, weakrefs, unused)
//! ```
//!
//! | who | operation | effect |
//! |---|---|---|
//! | owner | incref | `local += 1` (plain load + store) |
//! | owner | decref | `local -= 1`; at 0: free if `shared == 0`, else set MERGED (owner cleared) and free if the merged count is 0 |
//! | other | incref | `shared += 4` (atomic) |
//! | other | decref, `shared` is 0 | set QUEUED instead of subtracting (the queue holds that reference) and queue to the owner |
//! | other | decref, otherwise | `shared -= 4` (may go negative); free if it reaches MERGED with count 0 |
//! | owner | merge (checkpoint) | `shared = (shared>>2) + local - 1` as MERGED, `local = 0`, `tid = 0`; free if 0 |
//!
//! Only `local + (shared >> 2) >= 0` holds in general. A thread that exits
//! merges its queue and closes it; a thread that would queue to a closed
//! queue merges the count itself, under the queue's lock, which is also what
//! a thread adopting the owner id takes, so the two never overlap.

use super::counts::{word, Counts};
use super::{ObjAddr, RcCounters};
use crate::sync::{
    AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize, Geometry, Mutex, Ordering,
};
use std::ptr;

mod try_ref;
pub use try_ref::reinit_word;

/// Most owner ids (see [`Geometry::MAX_OWNERS`]).
pub const MAX_OWNERS: usize = Geometry::MAX_OWNERS;

/// Bits of `shared` below the count: the state.
const SHIFT: u32 = 2;
/// `shared`'s state bits.
const FLAGS: isize = (1 << SHIFT) - 1;
/// State: owned, nothing queued (the initial state).
const DEFAULT: isize = 0;
/// State: a non-owner found the shared count at zero and queued the object
/// to its owner (the queue holds that reference).
const QUEUED: isize = 2;
/// State: merged; the shared count is the whole count and no owner remains.
const MERGED: isize = 3;
/// One reference in the shared word.
const ONE: isize = 1 << SHIFT;
/// `local` of an immortal object: never written.
const IMMORTAL_LOCAL: u32 = u32::MAX;

/// The shared word for `count` references in `state`.
#[inline(always)]
const fn pack_shared(count: isize, state: isize) -> isize {
    (count << SHIFT) | state
}

/// The (count, state) a shared word holds.
#[inline(always)]
const fn unpack_shared(word: isize) -> (isize, isize) {
    (word >> SHIFT, word & FLAGS)
}

const _: () = assert!(pack_shared(1, DEFAULT) == ONE);
const _: () = assert!(MERGED & !FLAGS == 0 && QUEUED & !FLAGS == 0);

/// The biased reference-count word.
#[repr(C)]
pub struct BiasedRc {
    tid: AtomicUsize,
    shared: AtomicIsize,
    local: AtomicU32,
}

impl BiasedRc {
    /// (owner, local count, shared count, state), read relaxed: for tests
    /// and debugging; exact only while no other thread counts.
    pub fn parts(&self) -> (usize, u32, isize, isize) {
        let (count, state) = unpack_shared(self.shared.load(Ordering::Relaxed));
        (
            self.tid.load(Ordering::Relaxed),
            self.local.load(Ordering::Relaxed),
            count,
            state,
        )
    }
}

/// An object on a merge queue (the queue holds one reference to it).
struct Queued(ObjAddr);

// SAFETY: a queued object is a counted reference handed to the owner; it is
// only dereferenced by whoever merges it.
unsafe impl Send for Queued {}

struct Queue {
    objs: Vec<Queued>,
    alive: bool,
}

/// One owner id's merge queue.
pub struct Owner {
    id: usize,
    queue: Mutex<Queue>,
    /// Hint for the owner's checkpoint: set (Release) after a push.
    queue_nonempty: AtomicBool,
}

/// Shared state of biased counting: the owners by id.
pub struct BiasedShared {
    owners: Box<[AtomicPtr<Owner>]>,
    registry: Mutex<Registry>,
}

struct Registry {
    used: usize,
    /// Ids whose thread left, waiting for adoption.
    dead: Vec<usize>,
}

impl BiasedShared {
    #[inline(always)]
    fn owner(&self, id: usize) -> &Owner {
        // Acquire: pairs with the Release publish in `attach`.
        let p = self.owners[id - 1].load(Ordering::Acquire);
        debug_assert!(!p.is_null());
        // SAFETY: owners are never freed before the heap; ids in headers are
        // ids of owners that were published.
        unsafe { &*p }
    }

    fn for_each_owner(&self, mut f: impl FnMut(&Owner)) {
        for o in self.owners.iter() {
            // Acquire: as in `owner`.
            let p = o.load(Ordering::Acquire);
            if p.is_null() {
                break;
            }
            // SAFETY: as in `owner`.
            f(unsafe { &*p });
        }
    }
}

impl Drop for BiasedShared {
    fn drop(&mut self) {
        for o in self.owners.iter() {
            let p = o.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: made by Box::into_raw in `attach`; the heap is gone.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// Per-thread state of biased counting.
pub struct BiasedLocal {
    tid: usize,
    owner: *const Owner,
    counters: RcCounters,
}

impl BiasedLocal {
    #[inline(always)]
    fn owner(&self) -> &Owner {
        // SAFETY: owners outlive the threads attached to them.
        unsafe { &*self.owner }
    }
}

/// Merges `extra` plus the local count into the shared word (state MERGED,
/// owner cleared) and returns the total. CPython's `_Py_ExplicitMergeRefcount`.
fn explicit_merge(rc: &BiasedRc, extra: isize) -> isize {
    // Relaxed first read: the CAS below re-reads with AcqRel.
    let mut shared = rc.shared.load(Ordering::Relaxed);
    loop {
        // Relaxed: the local count is only written by the owner, and the
        // merger is the owner or holds the dead owner's queue lock.
        let total = unpack_shared(shared).0 + rc.local.load(Ordering::Relaxed) as isize + extra;
        let new = pack_shared(total, MERGED);
        // AcqRel: the merge publishes the owner's count and sees every
        // non-owner's change before it.
        match rc
            .shared
            .compare_exchange_weak(shared, new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => {
                rc.local.store(0, Ordering::Relaxed);
                rc.tid.store(0, Ordering::Relaxed);
                return total;
            }
            Err(seen) => shared = seen,
        }
    }
}

/// Takes everything queued on `owner`.
fn take_queue(owner: &Owner, close_if_empty: bool) -> Vec<Queued> {
    let mut q = owner.queue.lock();
    owner.queue_nonempty.store(false, Ordering::Relaxed);
    let batch = std::mem::take(&mut q.objs);
    if batch.is_empty() && close_if_empty {
        q.alive = false;
    }
    batch
}

/// Merges a batch taken from a queue; the dead objects go onto `dead`.
fn merge_batch(batch: Vec<Queued>, counters: &mut RcCounters, dead: &mut Vec<ObjAddr>) {
    counters.max_queue = counters.max_queue.max(batch.len() as u64);
    for Queued(obj) in batch {
        counters.merges += 1;
        // SAFETY: the queue held a reference, so the object is live.
        if explicit_merge(unsafe { word::<BiasedCounts>(obj) }, -1) == 0 {
            dead.push(obj);
        }
    }
}

/// Merges every queued object of `owner`.
fn merge_queue(owner: &Owner, counters: &mut RcCounters, dead: &mut Vec<ObjAddr>) {
    // Acquire: pairs with the pusher's Release (the lock orders the rest).
    if !owner.queue_nonempty.load(Ordering::Acquire) {
        return;
    }
    merge_batch(take_queue(owner, false), counters, dead);
}

/// Biased reference counts (PEP 703).
#[derive(Debug)]
pub struct BiasedCounts;

// SAFETY: see the module docs: owner-only plain counts, atomic shared counts
// with CPython's queue/merge protocol (loom model `biased_count`).
unsafe impl Counts for BiasedCounts {
    const NEEDS_GIL: bool = false;
    const TRY_INCREF: bool = true;
    type Word = BiasedRc;
    type Shared = BiasedShared;
    type Local = BiasedLocal;
    type Root = ();

    fn new_shared() -> BiasedShared {
        BiasedShared {
            owners: (0..MAX_OWNERS)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            registry: Mutex::new(Registry {
                used: 0,
                dead: Vec::new(),
            }),
        }
    }

    fn attach(shared: &BiasedShared) -> BiasedLocal {
        let mut counters = RcCounters::default();
        let mut reg = shared.registry.lock();
        let owner = if let Some(id) = reg.dead.pop() {
            // Adopt an exited thread's id, and so the objects it owns.
            let owner = shared.owner(id);
            owner.queue.lock().alive = true;
            counters.owners_adopted += 1;
            owner as *const Owner
        } else {
            assert!(
                reg.used < MAX_OWNERS,
                "biased: more than {MAX_OWNERS} threads attached at once"
            );
            let id = reg.used + 1;
            let owner = Box::into_raw(Box::new(Owner {
                id,
                queue: Mutex::new(Queue {
                    objs: Vec::new(),
                    alive: true,
                }),
                queue_nonempty: AtomicBool::new(false),
            }));
            // Release: a thread that reads this id from a count word and
            // looks the owner up (Acquire) sees it initialised.
            shared.owners[id - 1].store(owner, Ordering::Release);
            reg.used += 1;
            owner as *const Owner
        };
        // SAFETY: owners live as long as the heap.
        let tid = unsafe { (*owner).id };
        BiasedLocal {
            tid,
            owner,
            counters,
        }
    }

    fn settle_for_exit(
        _shared: &BiasedShared,
        local: &mut BiasedLocal,
        dead: &mut Vec<ObjAddr>,
    ) -> bool {
        // Merge what was queued, while still attached, until the queue is
        // found empty; close it in that same critical section (CPython's
        // `_Py_brc_remove_thread`). Once it is closed, other threads merge
        // our objects' counts themselves, so we must make no count operation
        // after that: the objects freed by a merge release their children
        // with owner-path decrements, which is why the queue stays open
        // until a pass (after the heap freed the last pass's dead) finds
        // nothing to merge.
        let batch = take_queue(local.owner(), true);
        if batch.is_empty() {
            return true;
        }
        merge_batch(batch, &mut local.counters, dead);
        false
    }

    fn detach_for_good(shared: &BiasedShared, local: &mut BiasedLocal) {
        shared.registry.lock().dead.push(local.tid);
    }

    #[inline(always)]
    fn checkpoint_pending(local: &BiasedLocal) -> bool {
        // Relaxed: a hint; the queue itself is read under its lock.
        local.owner().queue_nonempty.load(Ordering::Relaxed)
    }

    fn checkpoint_slow(_shared: &BiasedShared, local: &mut BiasedLocal, dead: &mut Vec<ObjAddr>) {
        // SAFETY: owners outlive us (not borrowed from `local`, which the
        // merge updates).
        let owner = unsafe { &*local.owner };
        merge_queue(owner, &mut local.counters, dead);
    }

    #[inline(always)]
    fn word_new(local: &BiasedLocal) -> BiasedRc {
        BiasedRc {
            tid: AtomicUsize::new(local.tid),
            shared: AtomicIsize::new(0),
            local: AtomicU32::new(1),
        }
    }

    #[inline(always)]
    unsafe fn init_word(word: *mut BiasedRc, local: &BiasedLocal) {
        // Outside loom the word's atomics are views of plain memory (no
        // invalid bit patterns), so the stores go into the block in place;
        // loom's atomics are model objects that must be constructed (its
        // models reinitialise reused blocks with `reinit_word` directly).
        #[cfg(not(loom))]
        // SAFETY: the caller's contract; a `BiasedRc` of any bits is valid.
        unsafe {
            reinit_word(&*word, local)
        }
        #[cfg(loom)]
        // SAFETY: the caller's contract.
        unsafe {
            word.write(Self::word_new(local))
        }
    }

    fn word_immortal() -> BiasedRc {
        BiasedRc {
            tid: AtomicUsize::new(0),
            shared: AtomicIsize::new(0),
            local: AtomicU32::new(IMMORTAL_LOCAL),
        }
    }

    #[inline(always)]
    fn is_immortal(rc: &BiasedRc) -> bool {
        // Relaxed: immortality is set before an object is shared.
        rc.local.load(Ordering::Relaxed) == IMMORTAL_LOCAL
    }

    #[inline(always)]
    unsafe fn incref(obj: ObjAddr, local: &mut BiasedLocal) {
        // SAFETY: the caller holds a reference.
        let rc = unsafe { word::<Self>(obj) };
        // Immortal objects have no owner (tid 0, never a thread's id), so
        // the owner test alone selects the fast path. Relaxed: only the
        // owner itself ever stores its own id there, and clearing it
        // (a merge) is ordered by the owner's own program order or the
        // queue lock.
        if rc.tid.load(Ordering::Relaxed) == local.tid {
            // Relaxed load + store: only the owner writes `local`.
            rc.local
                .store(rc.local.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            local.counters.local_ops += 1;
        } else {
            incref_shared(rc, local);
        }
    }

    #[inline(always)]
    unsafe fn try_incref(obj: ObjAddr, local: &mut BiasedLocal) -> bool {
        // SAFETY: forwarded (see `try_ref`'s module docs).
        unsafe { try_ref::try_incref(obj, local) }
    }

    #[inline(always)]
    unsafe fn decref(shared: &BiasedShared, obj: ObjAddr, local: &mut BiasedLocal) -> bool {
        // SAFETY: the caller holds a reference.
        let rc = unsafe { word::<Self>(obj) };
        // Relaxed: as in `incref`.
        if rc.tid.load(Ordering::Relaxed) == local.tid {
            let l = rc.local.load(Ordering::Relaxed) - 1;
            rc.local.store(l, Ordering::Relaxed);
            local.counters.local_ops += 1;
            if l == 0 {
                return merge_zero_local(rc, local);
            }
            false
        } else {
            // SAFETY: forwarded.
            unsafe { decref_not_owner(shared, obj, local) }
        }
    }

    fn total(rc: &BiasedRc) -> isize {
        // Relaxed: read with the world stopped.
        let l = rc.local.load(Ordering::Relaxed);
        if l == IMMORTAL_LOCAL {
            return isize::MAX / 2;
        }
        unpack_shared(rc.shared.load(Ordering::Relaxed)).0 + l as isize
    }

    fn prepare_collection(shared: &BiasedShared, local: &mut BiasedLocal, dead: &mut Vec<ObjAddr>) {
        // World stopped: merge every owner's queue, dead ones' included.
        let mut counters = local.counters;
        shared.for_each_owner(|o| merge_queue(o, &mut counters, dead));
        local.counters = counters;
    }

    fn counters(local: &BiasedLocal) -> RcCounters {
        local.counters
    }
}

/// The owner's local count reached zero (CPython's
/// `_Py_MergeZeroLocalRefcount`).
#[inline]
fn merge_zero_local(rc: &BiasedRc, local: &mut BiasedLocal) -> bool {
    // Acquire: if another thread touched the shared count, its changes (and
    // its uses of the object) happen-before our decision to free.
    let mut shared = rc.shared.load(Ordering::Acquire);
    if shared == pack_shared(0, DEFAULT) {
        // The common case: nobody else ever touched it.
        return true;
    }
    merge_zero_local_slow(rc, local, &mut shared)
}

#[cold]
fn merge_zero_local_slow(rc: &BiasedRc, local: &mut BiasedLocal, shared: &mut isize) -> bool {
    local.counters.merges += 1;
    // Give up ownership before publishing MERGED (CPython gh-121794).
    // Relaxed: the AcqRel CAS below publishes it.
    rc.tid.store(0, Ordering::Relaxed);
    loop {
        let new = pack_shared(unpack_shared(*shared).0, MERGED);
        // AcqRel: publishes the give-up; Acquire on failure re-reads others'
        // changes.
        match rc
            .shared
            .compare_exchange_weak(*shared, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return new == pack_shared(0, MERGED),
            Err(seen) => *shared = seen,
        }
    }
}

/// An increment by a thread that does not own the object (or of an
/// immortal object, which nobody owns and nobody counts).
#[cold]
#[inline(never)]
fn incref_shared(rc: &BiasedRc, local: &mut BiasedLocal) {
    // Relaxed: immortality is set before an object is shared.
    if rc.local.load(Ordering::Relaxed) == IMMORTAL_LOCAL {
        return;
    }
    // Relaxed, as `Arc::clone`: our own reference keeps the object alive.
    rc.shared.fetch_add(ONE, Ordering::Relaxed);
    local.counters.atomic_ops += 1;
}

/// A decrement off the owner's path: immortal objects, then the shared
/// count.
///
/// # Safety
/// As [`Counts::decref`]: attached, giving up a reference held to `obj`.
#[cold]
#[inline(never)]
unsafe fn decref_not_owner(
    shared_state: &BiasedShared,
    obj: ObjAddr,
    local: &mut BiasedLocal,
) -> bool {
    // SAFETY: the caller holds a reference. Relaxed: as in `incref_shared`.
    if unsafe { word::<BiasedCounts>(obj) }
        .local
        .load(Ordering::Relaxed)
        == IMMORTAL_LOCAL
    {
        return false;
    }
    // SAFETY: forwarded.
    unsafe { decref_shared(shared_state, obj, local) }
}

/// A decrement by a thread that does not own the object (CPython's
/// `_Py_DecRefShared`).
///
/// # Safety
/// As [`Counts::decref`]; `obj` is not immortal.
#[cold]
unsafe fn decref_shared(
    shared_state: &BiasedShared,
    obj: ObjAddr,
    local: &mut BiasedLocal,
) -> bool {
    // SAFETY: the caller holds a reference.
    let rc = unsafe { word::<BiasedCounts>(obj) };
    local.counters.atomic_ops += 1;
    // Relaxed first read: the CAS re-reads with AcqRel.
    let mut shared = rc.shared.load(Ordering::Relaxed);
    let (queue, new) = loop {
        let queue = shared == pack_shared(0, DEFAULT);
        let new = if queue {
            pack_shared(0, QUEUED)
        } else {
            shared - ONE
        };
        // AcqRel: releases our uses of the object to whoever frees it, and
        // acquires theirs if we are the one.
        match rc
            .shared
            .compare_exchange_weak(shared, new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => break (queue, new),
            Err(seen) => shared = seen,
        }
    };
    if queue {
        // Relaxed: an object with shared == 0 and a reference has an owner,
        // which cannot give it up without merging (and so seeing QUEUED).
        let owner = rc.tid.load(Ordering::Relaxed);
        debug_assert_ne!(
            owner, 0,
            "a merged object cannot have shared == 0 and a reference"
        );
        let owner = shared_state.owner(owner);
        let mut q = owner.queue.lock();
        if q.alive {
            q.objs.push(Queued(obj));
            // Release: the owner's checkpoint (Acquire) then takes the lock.
            owner.queue_nonempty.store(true, Ordering::Release);
            local.counters.queued += 1;
            false
        } else {
            // The owner has exited: merge for it, under its queue lock so an
            // adopter cannot start using the local count meanwhile.
            local.counters.merges += 1;
            let total = explicit_merge(rc, -1);
            drop(q);
            total == 0
        }
    } else {
        new == pack_shared(0, MERGED)
    }
}

#[cfg(test)]
mod tests;
