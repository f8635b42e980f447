//! `biased`: thread-local pools and biased reference counting, as in
//! free-threaded CPython (PEP 703; `Include/refcount.h`, `Objects/object.c`,
//! `Python/brc.c`) and the paper by Choi, Shull and Torrellas (PACT 2018).
//!
//! ## Thread heaps
//!
//! Each attached thread owns a *slot*: a class table of its own (mimalloc's
//! per-thread heap), an inbox for blocks other threads free into its pools,
//! and a merge queue. The owner allocates and frees with no atomics; another
//! thread's free pushes onto the pool's atomic remote stack
//! ([`crate::alloc::pool::remote_free`]). A thread that detaches for good
//! leaves its slot (pools with live blocks, and the objects it owns) to the
//! next thread that attaches, which adopts it whole: nothing is lost, nothing
//! is freed twice, and the slot's id stays the owner id in those objects'
//! headers, so the adopter simply becomes their owner.
//!
//! ## The reference-count word
//!
//! ```text
//!   tid    : owner slot id (0 = no owner: merged)          atomic, relaxed
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
//! merges its queue and marks its slot dead; a thread that would queue to a
//! dead slot merges the count itself, under the slot's queue lock, which is
//! also what a thread adopting the slot takes, so the two never overlap.

use super::objlock::ParkingObjLock;
use super::world::{ThreadStateWord, World};
use super::{Policy, RcCounters};
use crate::alloc::pool::ClassTable;
use crate::alloc::Memory;
use crate::alloc::{pool_of, remote_free_block, Domain, OutOfMemory, RemoteInbox};
use crate::heap::HeapConfig;
use crate::object::ObjHeader;
use crate::sync::{
    AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize, Mutex, Ordering, UnsafeCell,
};
use std::ptr;

/// Most slots (threads attached at once, plus exited ones not yet adopted).
pub const MAX_SLOTS: usize = if cfg!(loom) { 4 } else { 4096 };

const SHIFT: u32 = 2;
const QUEUED: isize = 2;
const MERGED: isize = 3;
const FLAGS: isize = 3;
const ONE: isize = 1 << SHIFT;
const IMMORTAL_LOCAL: u32 = u32::MAX;

/// The biased reference-count word.
#[repr(C)]
pub struct BiasedRc {
    tid: AtomicUsize,
    shared: AtomicIsize,
    local: AtomicU32,
}

impl BiasedRc {
    /// For tests and the verifier: (owner, local, shared count, state).
    pub fn parts(&self) -> (usize, u32, isize, isize) {
        let s = self.shared.load(Ordering::Relaxed);
        (
            self.tid.load(Ordering::Relaxed),
            self.local.load(Ordering::Relaxed),
            s >> SHIFT,
            s & FLAGS,
        )
    }
}

struct Queue {
    objs: Vec<usize>,
    alive: bool,
}

/// One thread's slot: its heap, inbox, merge queue and world state.
pub struct Slot {
    id: usize,
    word: ThreadStateWord,
    table: UnsafeCell<ClassTable>,
    inbox: RemoteInbox,
    queue: Mutex<Queue>,
    queue_nonempty: AtomicBool,
}

/// Shared state of a `biased` heap.
pub struct BiasedShared {
    pub world: World,
    slots: Box<[AtomicPtr<Slot>]>,
    /// Slots in use and the dead ones waiting for adoption; touched under the
    /// world lock (inside `World::register` / `unregister`).
    registry: Mutex<Registry>,
}

struct Registry {
    used: usize,
    dead: Vec<usize>,
}

// SAFETY: a slot's table is only touched by the thread attached to it (or
// with the world quiescent); queues are locked; the rest is atomic.
unsafe impl Sync for BiasedShared {}
// SAFETY: as above.
unsafe impl Send for BiasedShared {}

/// Per-thread state under `biased`.
pub struct BiasedLocal {
    tid: usize,
    slot: *const Slot,
    counters: RcCounters,
}

impl BiasedShared {
    #[inline(always)]
    fn slot(&self, id: usize) -> &Slot {
        let p = self.slots[id - 1].load(Ordering::Acquire);
        debug_assert!(!p.is_null());
        // SAFETY: slots are never freed before the heap; ids in headers are
        // ids of slots that were published.
        unsafe { &*p }
    }

    fn for_each_slot(&self, mut f: impl FnMut(&Slot)) {
        for s in self.slots.iter() {
            let p = s.load(Ordering::Acquire);
            if p.is_null() {
                break;
            }
            // SAFETY: as in `slot`.
            f(unsafe { &*p });
        }
    }
}

impl Drop for BiasedShared {
    fn drop(&mut self) {
        for s in self.slots.iter() {
            let p = s.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: made by Box::into_raw in `attach`; the heap is gone.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

impl BiasedLocal {
    #[inline(always)]
    fn slot(&self) -> &Slot {
        // SAFETY: the slot outlives the attached thread.
        unsafe { &*self.slot }
    }
}

/// Merges `extra` plus the local count into the shared word (state MERGED,
/// owner cleared) and returns the total. CPython's `_Py_ExplicitMergeRefcount`.
fn explicit_merge(rc: &BiasedRc, extra: isize) -> isize {
    let mut shared = rc.shared.load(Ordering::Relaxed);
    loop {
        let total = (shared >> SHIFT) + rc.local.load(Ordering::Relaxed) as isize + extra;
        let new = (total << SHIFT) | MERGED;
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

/// Merges every queued object of `slot`; the dead ones go to `on_dead`.
fn merge_queue<P>(
    slot: &Slot,
    counters: &mut RcCounters,
    on_dead: &mut dyn FnMut(*mut ObjHeader<P>),
) where
    P: Policy<RefCount = BiasedRc>,
{
    if !slot.queue_nonempty.load(Ordering::Acquire) {
        return;
    }
    let objs = {
        let mut q = slot.queue.lock();
        slot.queue_nonempty.store(false, Ordering::Relaxed);
        std::mem::take(&mut q.objs)
    };
    counters.max_queue = counters.max_queue.max(objs.len() as u64);
    for o in objs {
        let obj = o as *mut ObjHeader<P>;
        counters.merges += 1;
        // SAFETY: the queue holds a reference, so the object is live.
        let total = explicit_merge(unsafe { &(*obj).rc }, -1);
        if total == 0 {
            on_dead(obj);
        }
    }
}

// SAFETY: see the module docs: owner-only plain counts, atomic shared counts
// with CPython's queue/merge protocol, per-thread class tables with remote
// frees, and the world handshake for collections.
unsafe impl Policy for Biased {
    const NAME: &'static str = "biased";
    const SUMMARY: &'static str =
        "no GIL: thread-local pools with remote frees, biased reference counts (free-threaded CPython)";
    const FREE_THREADED: bool = true;

    type RefCount = BiasedRc;
    type ObjLock = ParkingObjLock;
    type Shared = BiasedShared;
    type Local = BiasedLocal;

    fn new_shared(_config: &HeapConfig) -> Result<BiasedShared, crate::HeapError> {
        Ok(BiasedShared {
            world: World::new(),
            slots: (0..MAX_SLOTS)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            registry: Mutex::new(Registry {
                used: 0,
                dead: Vec::new(),
            }),
        })
    }

    fn attach(shared: &BiasedShared, _mem: &Memory) -> BiasedLocal {
        let pick = || {
            let mut reg = shared.registry.lock();
            if let Some(id) = reg.dead.pop() {
                // Adopt an exited thread's slot: its pools and its objects.
                let slot = shared.slot(id);
                slot.queue.lock().alive = true;
                (
                    id,
                    &slot.word as *const ThreadStateWord,
                    (slot as *const Slot, true),
                )
            } else {
                assert!(
                    reg.used < MAX_SLOTS,
                    "biased: more than {MAX_SLOTS} thread slots"
                );
                let id = reg.used + 1;
                let slot = Box::into_raw(Box::new(Slot {
                    id,
                    word: ThreadStateWord::default(),
                    table: UnsafeCell::new(ClassTable::default()),
                    inbox: RemoteInbox::default(),
                    queue: Mutex::new(Queue {
                        objs: Vec::new(),
                        alive: true,
                    }),
                    queue_nonempty: AtomicBool::new(false),
                }));
                shared.slots[id - 1].store(slot, Ordering::Release);
                reg.used += 1;
                // SAFETY: just made.
                (
                    id,
                    unsafe { &(*slot).word } as *const ThreadStateWord,
                    (slot as *const Slot, false),
                )
            }
        };
        // SAFETY: slots live as long as the heap.
        let (slot, adopted) = unsafe { shared.world.register(pick) };
        // SAFETY: as above.
        let slot_ref = unsafe { &*slot };
        shared.world.attach(&slot_ref.word);
        let mut counters = RcCounters::default();
        if adopted {
            counters.heaps_adopted += 1;
        }
        BiasedLocal {
            tid: slot_ref.id,
            slot,
            counters,
        }
    }

    fn detach_for_good(
        shared: &BiasedShared,
        _mem: &Memory,
        local: &mut BiasedLocal,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        // SAFETY: the slot outlives us.
        let slot = unsafe { &*local.slot };
        // Merge what was queued, while still attached, until the queue is
        // found empty; close it in that same critical section (CPython's
        // `_Py_brc_remove_thread`). Once it is closed, other threads merge
        // our objects' counts themselves, so we must make no count operation
        // after that: the objects freed by a merge release their children
        // with owner-path decrements, which is why the queue stays open
        // until a pass finds nothing to merge.
        loop {
            let batch = {
                let mut q = slot.queue.lock();
                slot.queue_nonempty.store(false, Ordering::Relaxed);
                let batch = std::mem::take(&mut q.objs);
                if batch.is_empty() {
                    q.alive = false;
                }
                batch
            };
            if batch.is_empty() {
                break;
            }
            for o in batch {
                let obj = o as *mut ObjHeader<Self>;
                local.counters.merges += 1;
                // SAFETY: the queue held a reference, so the object is live.
                if explicit_merge(unsafe { &(*obj).rc }, -1) == 0 {
                    on_dead(obj);
                }
            }
        }
        shared.world.unregister(slot.id, &slot.word, || {
            shared.registry.lock().dead.push(slot.id);
        });
    }

    fn release(shared: &BiasedShared, local: &mut BiasedLocal) {
        shared.world.detach(&local.slot().word);
    }

    fn reacquire(shared: &BiasedShared, local: &mut BiasedLocal) {
        shared.world.attach(&local.slot().word);
    }

    #[inline(always)]
    fn checkpoint_pending(shared: &BiasedShared, local: &BiasedLocal) -> bool {
        shared.world.stop_requested() || local.slot().queue_nonempty.load(Ordering::Relaxed)
    }

    fn checkpoint_slow(
        shared: &BiasedShared,
        _mem: &Memory,
        local: &mut BiasedLocal,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        if shared.world.stop_requested() {
            shared.world.park(local.tid, &local.slot().word);
        }
        // SAFETY: the slot outlives us.
        let slot = unsafe { &*local.slot };
        merge_queue::<Self>(slot, &mut local.counters, on_dead);
    }

    fn stop_the_world(shared: &BiasedShared, local: &mut BiasedLocal) -> Option<u64> {
        shared.world.stop(local.tid, &local.slot().word)
    }

    fn start_the_world(shared: &BiasedShared, local: &mut BiasedLocal) {
        shared.world.start(local.tid)
    }

    #[inline(always)]
    unsafe fn alloc_block(
        _shared: &BiasedShared,
        mem: &Memory,
        local: &mut BiasedLocal,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        // SAFETY: the slot outlives us.
        let slot = unsafe { &*local.slot };
        // SAFETY: we are the attached thread of this slot: its table is ours.
        slot.table.with_mut(|t| unsafe {
            let table = &mut *t;
            let cp = &mut table.classes[domain.index()][class];
            if !cp.has_usable() && slot.inbox.has_work() {
                table.drain_inbox(&slot.inbox, mem);
            }
            table.classes[domain.index()][class].alloc(domain, class, mem, &slot.inbox)
        })
    }

    #[inline(always)]
    unsafe fn free_block(
        _shared: &BiasedShared,
        mem: &Memory,
        local: &mut BiasedLocal,
        block: *mut u8,
    ) {
        // SAFETY: the slot outlives us.
        let slot = unsafe { &*local.slot };
        let pool = pool_of(block);
        // SAFETY: a live block's pool header is initialised and its inbox
        // field never changes while the block is live.
        let (inbox, d, c) = unsafe {
            (
                (*pool).inbox,
                (*pool).domain as usize,
                (*pool).class as usize,
            )
        };
        if ptr::eq(inbox, &slot.inbox) {
            // SAFETY: our pool, our table.
            slot.table
                .with_mut(|t| unsafe { (*t).classes[d][c].free(block, mem) })
        } else {
            local.counters.remote_frees += 1;
            // SAFETY: another slot's live block that nobody uses any more.
            unsafe { remote_free_block(block) }
        }
    }

    #[inline(always)]
    fn rc_new(local: &BiasedLocal) -> BiasedRc {
        BiasedRc {
            tid: AtomicUsize::new(local.tid),
            shared: AtomicIsize::new(0),
            local: AtomicU32::new(1),
        }
    }

    fn rc_immortal() -> BiasedRc {
        BiasedRc {
            tid: AtomicUsize::new(0),
            shared: AtomicIsize::new(0),
            local: AtomicU32::new(IMMORTAL_LOCAL),
        }
    }

    #[inline(always)]
    fn rc_is_immortal(rc: &BiasedRc) -> bool {
        rc.local.load(Ordering::Relaxed) == IMMORTAL_LOCAL
    }

    #[inline(always)]
    unsafe fn incref(obj: *mut ObjHeader<Self>, local: &mut BiasedLocal) {
        // SAFETY: the caller holds a reference.
        let rc = unsafe { &(*obj).rc };
        // Immortal objects have no owner (tid 0, never a thread's id), so
        // the owner test alone selects the fast path.
        if rc.tid.load(Ordering::Relaxed) == local.tid {
            rc.local
                .store(rc.local.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            local.counters.local_ops += 1;
        } else {
            incref_shared(rc, local);
        }
    }

    #[inline(always)]
    unsafe fn decref(
        shared: &BiasedShared,
        obj: *mut ObjHeader<Self>,
        local: &mut BiasedLocal,
    ) -> bool {
        // SAFETY: the caller holds a reference.
        let rc = unsafe { &(*obj).rc };
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

    fn rc_total(rc: &BiasedRc) -> isize {
        let l = rc.local.load(Ordering::Relaxed);
        if l == IMMORTAL_LOCAL {
            return isize::MAX / 2;
        }
        (rc.shared.load(Ordering::Relaxed) >> SHIFT) + l as isize
    }

    fn prepare_collection(
        shared: &BiasedShared,
        _mem: &Memory,
        local: &mut BiasedLocal,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        // World stopped: merge every thread's queue, dead slots' included.
        let mut counters = local.counters;
        shared.for_each_slot(|slot| merge_queue::<Self>(slot, &mut counters, on_dead));
        local.counters = counters;
    }

    fn counters(local: &BiasedLocal) -> RcCounters {
        local.counters
    }

    fn blocks_in_use(shared: &BiasedShared, mem: &Memory) -> usize {
        let mut n = 0;
        shared.for_each_slot(|slot| {
            // SAFETY: the caller guarantees quiescence, so every table may be
            // touched; draining first makes remote frees count as freed.
            slot.table.with_mut(|t| unsafe {
                (*t).drain_inbox(&slot.inbox, mem);
                n += (*t).blocks_in_use();
            })
        });
        n
    }

    fn release_empty_pools(shared: &BiasedShared, mem: &Memory) {
        shared.for_each_slot(|slot| {
            // SAFETY: quiescent (the caller's contract).
            slot.table.with_mut(|t| unsafe {
                (*t).drain_inbox(&slot.inbox, mem);
                (*t).release_empty(mem);
            })
        });
    }
}

/// The owner's local count reached zero (CPython's
/// `_Py_MergeZeroLocalRefcount`).
#[inline]
fn merge_zero_local(rc: &BiasedRc, local: &mut BiasedLocal) -> bool {
    let mut shared = rc.shared.load(Ordering::Acquire);
    if shared == 0 {
        // The common case: nobody else ever touched it.
        return true;
    }
    merge_zero_local_slow(rc, local, &mut shared)
}

#[cold]
fn merge_zero_local_slow(rc: &BiasedRc, local: &mut BiasedLocal, shared: &mut isize) -> bool {
    local.counters.merges += 1;
    // Give up ownership before publishing MERGED (CPython gh-121794).
    rc.tid.store(0, Ordering::Relaxed);
    loop {
        let new = (*shared & !FLAGS) | MERGED;
        match rc
            .shared
            .compare_exchange_weak(*shared, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return new == MERGED,
            Err(seen) => *shared = seen,
        }
    }
}

/// An increment by a thread that does not own the object (or of an
/// immortal object, which nobody owns and nobody counts).
#[cold]
#[inline(never)]
fn incref_shared(rc: &BiasedRc, local: &mut BiasedLocal) {
    if rc.local.load(Ordering::Relaxed) == IMMORTAL_LOCAL {
        return;
    }
    rc.shared.fetch_add(ONE, Ordering::Relaxed);
    local.counters.atomic_ops += 1;
}

/// A decrement off the owner's path: immortal objects, then the shared
/// count.
#[cold]
#[inline(never)]
unsafe fn decref_not_owner(
    shared_state: &BiasedShared,
    obj: *mut ObjHeader<Biased>,
    local: &mut BiasedLocal,
) -> bool {
    // SAFETY: the caller holds a reference.
    if unsafe { (*obj).rc.local.load(Ordering::Relaxed) } == IMMORTAL_LOCAL {
        return false;
    }
    // SAFETY: forwarded.
    unsafe { decref_shared(shared_state, obj, local) }
}

/// A decrement by a thread that does not own the object (CPython's
/// `_Py_DecRefShared`).
#[cold]
unsafe fn decref_shared(
    shared_state: &BiasedShared,
    obj: *mut ObjHeader<Biased>,
    local: &mut BiasedLocal,
) -> bool {
    // SAFETY: the caller holds a reference.
    let rc = unsafe { &(*obj).rc };
    local.counters.atomic_ops += 1;
    let mut shared = rc.shared.load(Ordering::Relaxed);
    let (queue, new) = loop {
        let queue = shared == 0;
        let new = if queue { QUEUED } else { shared - ONE };
        match rc
            .shared
            .compare_exchange_weak(shared, new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => break (queue, new),
            Err(seen) => shared = seen,
        }
    };
    if queue {
        let owner = rc.tid.load(Ordering::Relaxed);
        debug_assert_ne!(
            owner, 0,
            "a merged object cannot have shared == 0 and a reference"
        );
        let slot = shared_state.slot(owner);
        let mut q = slot.queue.lock();
        if q.alive {
            q.objs.push(obj as usize);
            slot.queue_nonempty.store(true, Ordering::Release);
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
        new == MERGED
    }
}

/// The `biased` policy.
pub struct Biased;
