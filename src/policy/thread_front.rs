//! A class table per thread: mimalloc's thread heaps, as free-threaded
//! CPython uses them.
//!
//! Each attached thread owns a *thread heap*: a class table of its own and an
//! inbox for blocks other threads free into its pools. The owner allocates
//! and frees with no atomics; another thread's free pushes onto the pool's
//! atomic remote stack ([`crate::alloc::pool::remote_free`]), and the owner
//! takes those blocks back when a class runs dry or the heap is quiesced.
//!
//! A thread that detaches for good leaves its thread heap (pools with live
//! blocks in them) on a list of abandoned heaps; the next thread to attach
//! adopts it whole (mimalloc's abandoned segments), so nothing is lost and
//! nothing is freed twice. Thread heaps are never freed before the heap:
//! their inboxes' addresses are in their pools' headers.

use super::front::Front;
use super::RcCounters;
use crate::alloc::{
    pool_of, remote_free_block, BlockCounts, ClassTable, Domain, Memory, OutOfMemory, PoolHeader,
    RemoteInbox,
};
use crate::sync::{Mutex, UnsafeCell};
use std::ptr;

/// Class tables per thread, remote frees, adoption of exited threads' heaps.
#[derive(Debug)]
pub struct ThreadFront;

/// One thread's heap: its class table, its inbox, and its block counts
/// (blocks freed by other threads count until the owner takes them back).
pub struct ThreadHeap {
    table: UnsafeCell<ClassTable>,
    inbox: RemoteInbox,
    counts: BlockCounts,
}

/// Every thread heap of one heap, and the abandoned ones.
pub struct ThreadHeaps {
    registry: Mutex<Registry>,
}

struct Registry {
    /// Every thread heap ever made (boxed: their addresses are in pools).
    all: Vec<*mut ThreadHeap>,
    /// Thread heaps whose thread left, waiting for adoption.
    abandoned: Vec<*mut ThreadHeap>,
}

// SAFETY: the pointers are to boxed thread heaps owned by the registry,
// which frees them only when it is dropped (with the heap).
unsafe impl Send for Registry {}

// SAFETY: a thread heap's table is touched only by the thread attached to it
// (or with the world quiescent); its inbox is atomic; the registry is locked.
unsafe impl Sync for ThreadHeaps {}
// SAFETY: as above.
unsafe impl Send for ThreadHeaps {}

impl ThreadHeaps {
    fn for_each(&self, mut f: impl FnMut(&ThreadHeap)) {
        let reg = self.registry.lock();
        for &h in &reg.all {
            // SAFETY: thread heaps live as long as the registry.
            f(unsafe { &*h });
        }
    }
}

impl Drop for ThreadHeaps {
    fn drop(&mut self) {
        let reg = self.registry.lock();
        for &h in &reg.all {
            // SAFETY: made by Box::into_raw in `attach`; the heap is gone.
            drop(unsafe { Box::from_raw(h) });
        }
    }
}

/// One thread's hold on its thread heap.
pub struct ThreadFrontLocal {
    heap: *mut ThreadHeap,
    counters: RcCounters,
}

impl ThreadFrontLocal {
    #[inline(always)]
    fn heap(&self) -> &ThreadHeap {
        // SAFETY: thread heaps outlive the threads attached to them.
        unsafe { &*self.heap }
    }
}

// SAFETY: a thread heap has one attached thread at a time (a heap is adopted
// only after its thread left for good, under the registry lock); blocks of
// other threads' pools go through the remote-free protocol, whose loom model
// is `remote_free`.
unsafe impl Front for ThreadFront {
    const NEEDS_GIL: bool = false;
    type Shared = ThreadHeaps;
    type Local = ThreadFrontLocal;

    fn new_shared() -> ThreadHeaps {
        ThreadHeaps {
            registry: Mutex::new(Registry {
                all: Vec::new(),
                abandoned: Vec::new(),
            }),
        }
    }

    fn attach(shared: &ThreadHeaps) -> ThreadFrontLocal {
        let mut counters = RcCounters::default();
        let mut reg = shared.registry.lock();
        let heap = match reg.abandoned.pop() {
            Some(h) => {
                counters.heaps_adopted += 1;
                h
            }
            None => {
                let h = Box::into_raw(Box::new(ThreadHeap {
                    table: UnsafeCell::new(ClassTable::default()),
                    inbox: RemoteInbox::default(),
                    counts: BlockCounts::default(),
                }));
                reg.all.push(h);
                h
            }
        };
        ThreadFrontLocal { heap, counters }
    }

    fn hold_empty_object_pools(local: &mut ThreadFrontLocal) {
        let th = local.heap();
        // SAFETY: we are the attached thread of this thread heap: its table
        // is ours.
        th.table
            .with_mut(|t| unsafe { (*t).hold_empty_pools(Domain::Object) });
    }

    fn detach_for_good(shared: &ThreadHeaps, local: &mut ThreadFrontLocal) {
        shared.registry.lock().abandoned.push(local.heap);
        local.heap = ptr::null_mut();
    }

    #[inline(always)]
    unsafe fn alloc_block(
        _shared: &ThreadHeaps,
        mem: &Memory,
        local: &mut ThreadFrontLocal,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        let th = local.heap();
        let d = domain.index();
        let b = th.table.with_mut(
            #[inline(always)]
            // SAFETY: we are the attached thread of this thread heap: its
            // table is ours.
            |t| unsafe {
                let table = &mut *t;
                let b = table.pools(d, class).pop();
                if !b.is_null() {
                    return Ok(b);
                }
                // Off the fast path: take back remote frees before bumping
                // or taking a new pool.
                if th.inbox.has_work() {
                    table.drain_inbox(&th.inbox, mem, &th.counts);
                }
                table
                    .pools(d, class)
                    .alloc_slow(domain, class, mem, &th.inbox)
            },
        )?;
        th.counts.inc(domain.index(), class);
        Ok(b)
    }

    #[inline(always)]
    unsafe fn free_block(
        _shared: &ThreadHeaps,
        mem: &Memory,
        local: &mut ThreadFrontLocal,
        block: *mut u8,
        domain: Domain,
        class: usize,
    ) {
        let th = local.heap();
        let pool = pool_of(block);
        // SAFETY: a live block's pool header is initialised; `inbox` is
        // write-once (read alone, see pool_header).
        let inbox = unsafe { (*pool).inbox };
        if ptr::eq(inbox, &th.inbox) {
            debug_assert_eq!(
                // SAFETY: as above.
                unsafe { PoolHeader::class_of(block) },
                (domain.index(), class)
            );
            th.counts.sub(domain.index(), class, 1);
            // SAFETY: our pool, our table.
            th.table
                .with_mut(|t| unsafe { (*t).pools(domain.index(), class).free(block, mem) })
        } else {
            local.counters.remote_frees += 1;
            // SAFETY: another thread heap's live block that nobody uses any
            // more.
            unsafe { remote_free_block(block) }
        }
    }

    fn blocks_in_use(shared: &ThreadHeaps, mem: &Memory) -> usize {
        let mut n = 0;
        shared.for_each(|th| {
            // SAFETY: the caller guarantees quiescence, so every table may be
            // touched; draining first makes remote frees count as freed.
            th.table
                .with_mut(|t| unsafe { (*t).drain_inbox(&th.inbox, mem, &th.counts) });
            n += th.counts.total_blocks();
        });
        n
    }

    fn for_each_counts(shared: &ThreadHeaps, f: &mut dyn FnMut(&BlockCounts)) {
        shared.for_each(|th| f(&th.counts));
    }

    fn release_empty_pools(shared: &ThreadHeaps, mem: &Memory) {
        shared.for_each(|th| {
            // SAFETY: quiescent (the caller's contract).
            th.table.with_mut(|t| unsafe {
                (*t).drain_inbox(&th.inbox, mem, &th.counts);
                (*t).release_empty(mem);
            })
        });
    }

    fn counters(local: &ThreadFrontLocal) -> RcCounters {
        local.counters
    }
}
