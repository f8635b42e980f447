//! The allocator's front end: who owns the class tables that blocks come
//! from and go back to. The pools, arenas and class tables themselves are
//! `alloc`'s; a [`Front`] decides how threads reach them:
//! - [`SharedFront`] (here): one class table, no lock, under the GIL
//!   (CPython's obmalloc);
//! - [`ClassLockFront`] (here): one shared table with a lock per size class
//!   and domain (a naive GIL removal);
//! - [`super::ThreadFront`] (`thread_front.rs`): a class table per thread,
//!   frees by other threads pushed to the pool's atomic list (mimalloc, as
//!   free-threaded CPython uses it).

use super::RcCounters;
use crate::alloc::{
    BlockCounts, ClassPools, ClassTable, Domain, Memory, OutOfMemory, PoolHeader, NUM_CLASSES,
    NUM_DOMAINS,
};
use crate::sync::{CachePadded, Mutex, UnsafeCell};

/// A way for threads to reach the class tables.
///
/// # Safety
/// - `alloc_block` returns a block of `class` in `domain` that no one else
///   holds; `free_block` accepts any block that `alloc_block` of the same
///   heap returned, from any attached thread, exactly once.
/// - With `NEEDS_GIL`, the implementation may assume one thread at a time
///   runs heap code (the policy check refuses it otherwise).
pub unsafe trait Front: 'static + Sized {
    /// The implementation relies on the GIL for exclusion.
    const NEEDS_GIL: bool;
    type Shared: Send + Sync;
    type Local;

    fn new_shared() -> Self::Shared;
    /// A thread attaches (already attached to the interpreter).
    fn attach(shared: &Self::Shared) -> Self::Local;
    /// A thread leaves for good (still attached, and it frees nothing after).
    fn detach_for_good(_shared: &Self::Shared, _local: &mut Self::Local) {}
    /// Keep emptied object pools until `release_empty_pools` (optimistic
    /// list reads: see `ClassPools::hold`). Only fronts whose tables a
    /// GIL-free policy with optimistic reads uses need it.
    fn hold_empty_object_pools(_local: &mut Self::Local) {}

    /// # Safety
    /// The thread is attached; `class < NUM_CLASSES`.
    unsafe fn alloc_block(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory>;
    /// Frees a block of (`domain`, `class`): the caller knows them (from
    /// the object's header, or the size it asked for), so the front end
    /// need not read them from the pool header.
    ///
    /// # Safety
    /// The thread is attached; `block` came from `alloc_block(domain, class)`
    /// of this heap and is not used any more.
    unsafe fn free_block(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        block: *mut u8,
        domain: Domain,
        class: usize,
    );

    /// Blocks in use as the class tables count them (after taking back
    /// remote frees where there are any). The world is quiescent.
    fn blocks_in_use(shared: &Self::Shared, mem: &Memory) -> usize;
    /// Calls `f` with every set of block counts (any time: figures are
    /// approximate while threads run, and count blocks freed by other
    /// threads until their owner takes them back).
    fn for_each_counts(shared: &Self::Shared, f: &mut dyn FnMut(&BlockCounts));
    /// Gives every empty pool back to the arenas. The world is quiescent.
    fn release_empty_pools(shared: &Self::Shared, mem: &Memory);
    /// This thread's counters (remote frees, adoptions).
    fn counters(_local: &Self::Local) -> RcCounters {
        RcCounters::default()
    }
}

/// One class table shared by every thread, with no lock: the GIL guards it.
#[derive(Debug)]
pub struct SharedFront;

/// The shared table of [`SharedFront`], and its counts.
pub struct SharedTable {
    table: UnsafeCell<ClassTable>,
    counts: BlockCounts,
}

// SAFETY: only touched by the GIL's holder (`SharedFront::NEEDS_GIL`), or
// with the world quiescent.
unsafe impl Sync for SharedTable {}
// SAFETY: as above.
unsafe impl Send for SharedTable {}

impl SharedTable {
    /// # Safety
    /// The caller holds the GIL (or the world is otherwise quiescent).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn table(&self) -> &mut ClassTable {
        // SAFETY: the caller's contract: only the GIL holder gets here.
        self.table.with_mut(|t| unsafe { &mut *t })
    }
}

// SAFETY: the GIL serialises every allocation and free on the one table.
unsafe impl Front for SharedFront {
    const NEEDS_GIL: bool = true;
    type Shared = SharedTable;
    type Local = ();

    fn new_shared() -> SharedTable {
        SharedTable {
            table: UnsafeCell::new(ClassTable::default()),
            counts: BlockCounts::default(),
        }
    }

    fn attach(_shared: &SharedTable) {}

    #[inline(always)]
    unsafe fn alloc_block(
        shared: &SharedTable,
        mem: &Memory,
        _local: &mut (),
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        // SAFETY: we hold the GIL (the caller is attached).
        let b = unsafe {
            shared
                .table()
                .pools(domain.index(), class)
                .alloc(domain, class, mem, std::ptr::null())
        }?;
        shared.counts.inc(domain.index(), class);
        Ok(b)
    }

    #[inline(always)]
    unsafe fn free_block(
        shared: &SharedTable,
        mem: &Memory,
        _local: &mut (),
        block: *mut u8,
        domain: Domain,
        class: usize,
    ) {
        debug_assert_eq!(
            // SAFETY: a live block's pool header is initialised.
            unsafe { PoolHeader::class_of(block) },
            (domain.index(), class)
        );
        shared.counts.sub(domain.index(), class, 1);
        // SAFETY: we hold the GIL; the block is one of the shared table's.
        unsafe { shared.table().pools(domain.index(), class).free(block, mem) }
    }

    fn blocks_in_use(shared: &SharedTable, _mem: &Memory) -> usize {
        shared.counts.total_blocks()
    }

    fn for_each_counts(shared: &SharedTable, f: &mut dyn FnMut(&BlockCounts)) {
        f(&shared.counts)
    }

    fn release_empty_pools(shared: &SharedTable, mem: &Memory) {
        // SAFETY: the caller guarantees quiescence.
        unsafe { shared.table().release_empty(mem) }
    }
}

/// One shared class table with a lock per size class and domain.
#[derive(Debug)]
pub struct ClassLockFront;

/// The per-class locked lists of [`ClassLockFront`], and their counts (each
/// counter written under its class's lock).
pub struct ClassLocks {
    classes: Box<[CachePadded<Mutex<ClassPools>>]>,
    counts: BlockCounts,
}

impl ClassLocks {
    #[inline(always)]
    fn class(&self, domain: usize, class: usize) -> &Mutex<ClassPools> {
        debug_assert!(domain < NUM_DOMAINS && class < NUM_CLASSES);
        // Masked, not bounds-checked: see `ClassTable::pools`.
        &self.classes[(domain * NUM_CLASSES + class) & (NUM_DOMAINS * NUM_CLASSES - 1)]
    }
}

// SAFETY: every access to a class's pools holds that class's lock; the lock
// is found from write-once pool header fields.
unsafe impl Front for ClassLockFront {
    const NEEDS_GIL: bool = false;
    type Shared = ClassLocks;
    type Local = ();

    fn new_shared() -> ClassLocks {
        ClassLocks {
            classes: (0..NUM_DOMAINS * NUM_CLASSES)
                .map(|_| CachePadded::new(Mutex::new(ClassPools::default())))
                .collect(),
            counts: BlockCounts::default(),
        }
    }

    fn attach(_shared: &ClassLocks) {}

    #[inline(always)]
    unsafe fn alloc_block(
        shared: &ClassLocks,
        mem: &Memory,
        _local: &mut (),
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        let mut guard = shared.class(domain.index(), class).lock();
        // SAFETY: we hold the class lock, which owns the class's pools.
        let b = unsafe { guard.alloc(domain, class, mem, std::ptr::null()) }?;
        shared.counts.inc(domain.index(), class);
        Ok(b)
    }

    #[inline(always)]
    unsafe fn free_block(
        shared: &ClassLocks,
        mem: &Memory,
        _local: &mut (),
        block: *mut u8,
        domain: Domain,
        class: usize,
    ) {
        // The caller names the class, so the lock is found without reading
        // the pool header (whose owner fields the lock's holder may be
        // writing; `class_of` reads the write-once fields alone).
        debug_assert_eq!(
            // SAFETY: a live block's pool header is initialised.
            unsafe { PoolHeader::class_of(block) },
            (domain.index(), class)
        );
        let (d, c) = (domain.index(), class);
        let mut guard = shared.class(d, c).lock();
        shared.counts.sub(d, c, 1);
        // SAFETY: we hold the lock of the block's class.
        unsafe { guard.free(block, mem) }
    }

    fn blocks_in_use(shared: &ClassLocks, _mem: &Memory) -> usize {
        shared.counts.total_blocks()
    }

    fn for_each_counts(shared: &ClassLocks, f: &mut dyn FnMut(&BlockCounts)) {
        f(&shared.counts)
    }

    fn release_empty_pools(shared: &ClassLocks, mem: &Memory) {
        for c in shared.classes.iter() {
            // SAFETY: we hold the class lock.
            unsafe { c.lock().release_empty(mem) };
        }
    }
}
