//! `pool-locks`: a naive GIL removal, fine-grained locks everywhere.
//!
//! - One shared class table with a lock per size class (and domain) guarding
//!   that class's pool list and its pools' free lists; the arena source has
//!   its own lock (shared by every policy).
//! - Atomic reference counts with `Arc`'s orderings: relaxed increment,
//!   release decrement, acquire fence before the free.
//! - The one-byte object lock on lists ([`ParkingObjLock`]).
//! - Stop-the-world at checkpoints for the collector ([`World`]).

use super::objlock::ParkingObjLock;
use super::world::{ThreadStateWord, World};
use super::{Policy, RcCounters};
use crate::alloc::Memory;
use crate::alloc::{ClassPools, Domain, OutOfMemory, PoolHeader, NUM_CLASSES, NUM_DOMAINS};
use crate::heap::HeapConfig;
use crate::object::ObjHeader;
use crate::sync::{AtomicIsize, AtomicUsize, CachePadded, Mutex, Ordering};

/// The `pool-locks` policy.
pub struct PoolLocks;

/// Shared state of a `pool-locks` heap.
pub struct PoolLocksShared {
    pub world: World,
    classes: Box<[CachePadded<Mutex<ClassPools>>]>,
    next_id: AtomicUsize,
}

/// Per-thread state under `pool-locks`.
pub struct PoolLocksLocal {
    id: usize,
    word: Box<ThreadStateWord>,
    counters: RcCounters,
}

/// Immortal objects carry this count; no thread writes it.
const IMMORTAL: isize = isize::MAX / 2;

/// An atomic reference count.
pub struct AtomicRc(AtomicIsize);

impl PoolLocksShared {
    #[inline(always)]
    fn class(&self, domain: usize, class: usize) -> &Mutex<ClassPools> {
        &self.classes[domain * NUM_CLASSES + class]
    }
}

// SAFETY: every class table access holds that class's lock; counts are atomic
// with Arc's orderings; the world handshake stops every attached thread.
unsafe impl Policy for PoolLocks {
    const NAME: &'static str = "pool-locks";
    const SUMMARY: &'static str =
        "no GIL: a lock per size class, atomic reference counts, a one-byte lock per list";
    const FREE_THREADED: bool = true;

    type RefCount = AtomicRc;
    type ObjLock = ParkingObjLock;
    type Shared = PoolLocksShared;
    type Local = PoolLocksLocal;

    fn new_shared(_config: &HeapConfig) -> Result<PoolLocksShared, crate::HeapError> {
        Ok(PoolLocksShared {
            world: World::new(),
            classes: (0..NUM_DOMAINS * NUM_CLASSES)
                .map(|_| CachePadded::new(Mutex::new(ClassPools::default())))
                .collect(),
            next_id: AtomicUsize::new(1),
        })
    }

    fn attach(shared: &PoolLocksShared, _mem: &Memory) -> PoolLocksLocal {
        let word = Box::new(ThreadStateWord::default());
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let wp: *const ThreadStateWord = &*word;
        // SAFETY: the word is boxed in the local state, which unregisters
        // before it is dropped (`detach_for_good`).
        unsafe { shared.world.register(|| (id, wp, ())) };
        shared.world.attach(&word);
        PoolLocksLocal {
            id,
            word,
            counters: RcCounters::default(),
        }
    }

    fn detach_for_good(
        shared: &PoolLocksShared,
        _mem: &Memory,
        local: &mut PoolLocksLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        shared.world.unregister(local.id, &local.word, || ());
    }

    fn release(shared: &PoolLocksShared, local: &mut PoolLocksLocal) {
        shared.world.detach(&local.word);
    }

    fn reacquire(shared: &PoolLocksShared, local: &mut PoolLocksLocal) {
        shared.world.attach(&local.word);
    }

    #[inline(always)]
    fn checkpoint_pending(shared: &PoolLocksShared, _local: &PoolLocksLocal) -> bool {
        shared.world.stop_requested()
    }

    fn checkpoint_slow(
        shared: &PoolLocksShared,
        _mem: &Memory,
        local: &mut PoolLocksLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        shared.world.park(local.id, &local.word);
    }

    fn stop_the_world(shared: &PoolLocksShared, local: &mut PoolLocksLocal) -> Option<u64> {
        shared.world.stop(local.id, &local.word)
    }

    fn start_the_world(shared: &PoolLocksShared, local: &mut PoolLocksLocal) {
        shared.world.start(local.id)
    }

    #[inline(always)]
    unsafe fn alloc_block(
        shared: &PoolLocksShared,
        mem: &Memory,
        _local: &mut PoolLocksLocal,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        let mut guard = shared.class(domain.index(), class).lock();
        // SAFETY: we hold the class lock, which owns the class's pools.
        unsafe { guard.alloc(domain, class, mem, std::ptr::null()) }
    }

    #[inline(always)]
    unsafe fn free_block(
        shared: &PoolLocksShared,
        mem: &Memory,
        _local: &mut PoolLocksLocal,
        block: *mut u8,
    ) {
        // SAFETY: a live block's pool header is initialised; class and domain
        // are write-once. They are read without the class lock (we do not
        // know which lock yet) while the lock's holder may be writing the
        // owner's fields of the same header: `class_of` reads the two fields
        // alone, never the whole header.
        let (d, c) = unsafe { PoolHeader::class_of(block) };
        let mut guard = shared.class(d, c).lock();
        // SAFETY: we hold the lock of the block's class.
        unsafe { guard.free(block, mem) }
    }

    #[inline(always)]
    fn rc_new(_local: &PoolLocksLocal) -> AtomicRc {
        AtomicRc(AtomicIsize::new(1))
    }

    fn rc_immortal() -> AtomicRc {
        AtomicRc(AtomicIsize::new(IMMORTAL))
    }

    #[inline(always)]
    fn rc_is_immortal(rc: &AtomicRc) -> bool {
        rc.0.load(Ordering::Relaxed) >= IMMORTAL
    }

    #[inline(always)]
    unsafe fn incref(obj: *mut ObjHeader<Self>, local: &mut PoolLocksLocal) {
        // SAFETY: the caller holds a reference, so the header is live.
        let rc = unsafe { &(*obj).rc.0 };
        if rc.load(Ordering::Relaxed) >= IMMORTAL {
            return;
        }
        rc.fetch_add(1, Ordering::Relaxed);
        local.counters.atomic_ops += 1;
    }

    #[inline(always)]
    unsafe fn decref(
        _shared: &PoolLocksShared,
        obj: *mut ObjHeader<Self>,
        local: &mut PoolLocksLocal,
    ) -> bool {
        // SAFETY: the caller holds a reference, so the header is live.
        let rc = unsafe { &(*obj).rc.0 };
        if rc.load(Ordering::Relaxed) >= IMMORTAL {
            return false;
        }
        local.counters.atomic_ops += 1;
        // Release: our earlier uses of the object happen-before whichever
        // thread takes the count to zero and frees it.
        if rc.fetch_sub(1, Ordering::Release) == 1 {
            // Acquire: every other thread's release decrement is in the
            // release sequence our decrement read from, so their last uses
            // happen-before the free. `Arc` uses `fence(Acquire)` here; an
            // acquire load of the count (now 0, written by our own RMW) gives
            // the same edge, costs the same on x86 and ARM's load-acquire,
            // and is what ThreadSanitizer can see (it does not model fences).
            let _ = rc.load(Ordering::Acquire);
            return true;
        }
        false
    }

    fn rc_total(rc: &AtomicRc) -> isize {
        rc.0.load(Ordering::Relaxed)
    }

    fn prepare_collection(
        _shared: &PoolLocksShared,
        _mem: &Memory,
        _local: &mut PoolLocksLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
    }

    fn counters(local: &PoolLocksLocal) -> RcCounters {
        local.counters
    }

    fn blocks_in_use(shared: &PoolLocksShared, _mem: &Memory) -> usize {
        shared.classes.iter().map(|c| c.lock().blocks_in_use).sum()
    }

    fn release_empty_pools(shared: &PoolLocksShared, mem: &Memory) {
        for c in shared.classes.iter() {
            // SAFETY: we hold the class lock.
            unsafe { c.lock().release_empty(mem) };
        }
    }
}
