//! `Heap<P>`: one object heap under policy `P`, with its collector.
//!
//! The heap owns the memory (arenas, large objects, the budget: an
//! [`alloc::Memory`](crate::alloc::Memory)), each policy component's shared
//! state, the collector's state, and the queue of decrefs deferred from
//! threads that were not attached. The rooms, one concept each:
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the heap itself: construction, memory figures, trimming |
//! | `config.rs` | [`HeapConfig`] |
//! | `thread.rs` | a thread's state, its thread-local, attach and detach |
//! | `mutator.rs` | [`Mutator`]: allocation, checkpoints, `allow_threads` |
//! | `list.rs` | `get`, `set`, `append`, `pop`, `len` under the object lock |
//! | `refs.rs` | [`Ref`]: `Clone` increfs, `Drop` decrefs |
//! | `leaf.rs` | a leaf's bytes and object identity, sound when objects move |
//! | `dealloc.rs` | blocks for objects, headers, deallocation and the trashcan |
//! | `pending.rs` | decrefs deferred from detached threads |
//! | `gc/` | the cycle collector: triggers, tracking, the named phases |
//! | `trace/` | the tracing collector of the count-free policies: byte-growth trigger, mark and sweep |
//!
//! Layers: the heap stands on `alloc`, `object` and `policy`, and nothing
//! below it knows it; its collectors live inside it, so the collector and
//! the heap call each other without a circle between top-level modules.

pub mod config;
mod dealloc;
pub mod error;
pub mod gc;
mod leaf;
mod list;
pub mod mutator;
mod pending;
pub mod qsbr;
pub mod refs;
pub mod thread;
pub mod trace;

pub use config::HeapConfig;
pub use mutator::Mutator;
pub use refs::Ref;
pub use thread::{ThreadState, ThreadTotals};

use crate::alloc::{Domain, Memory};
use crate::object::ObjHeader;
use crate::policy::objlock::ParkTable;
use crate::policy::{Counts, Front, Interp, Policy};
use crate::sync::Mutex;
use crate::HeapError;
use gc::GcState;
use pending::PendingDecrefs;

/// A heap of reference-counted objects under policy `P`.
pub struct Heap<P: Policy> {
    pub(crate) interp: <P::Interp as Interp>::Shared,
    pub(crate) counts: <P::Counts as Counts>::Shared,
    pub(crate) front: <P::Front as Front>::Shared,
    pub(crate) mem: Memory,
    pub(crate) park: ParkTable,
    pending: PendingDecrefs<P>,
    pub(crate) gc: GcState<P>,
    /// The tracing collector's state (used only when `Counts::TRACED`).
    pub(crate) trace: trace::TraceState,
    pub(crate) config: HeapConfig,
    totals: Mutex<ThreadTotals>,
    /// Deferred frees of memory lock-free readers may still see (item
    /// arrays under optimistic list reads).
    pub(crate) qsbr: qsbr::Qsbr,
}

/// Heap aliases by policy.
pub type GilHeap = Heap<crate::policy::Gil>;
pub type PoolLocksHeap = Heap<crate::policy::PoolLocks>;
pub type BiasedHeap = Heap<crate::policy::Biased>;

/// A snapshot of the heap's memory figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryFigures {
    /// Bytes mapped or malloc'd from the OS (arenas + large blocks).
    pub bytes_reserved: u64,
    /// Peak of `bytes_reserved`.
    pub bytes_reserved_peak: u64,
    /// Bytes in blocks handed out (small blocks at their block size, large at
    /// their size).
    pub bytes_in_blocks: i64,
    /// Objects alive.
    pub objects: i64,
    pub arenas: crate::alloc::ArenaStats,
    pub large_objects: u64,
}

impl<P: Policy> Heap<P> {
    /// A new, empty heap.
    pub fn new(config: HeapConfig) -> Result<Self, HeapError> {
        // Refuse, at build time, a combination of components that cannot be
        // sound (see `Policy::CHECK`).
        #[allow(clippy::let_unit_value)]
        let () = P::CHECK;
        // The tracing collector's refusals first: they say why a count-free
        // policy has no use for a cycle collector's setting.
        config.trace.validate::<P>(&config.gc)?;
        config.gc.validate::<P>()?;
        Ok(Heap {
            interp: <P::Interp as Interp>::new_shared(&config.policy),
            counts: <P::Counts as Counts>::new_shared(),
            front: <P::Front as Front>::new_shared(),
            mem: Memory::new(config.max_heap),
            park: ParkTable::with_backend(config.policy.locks),
            pending: PendingDecrefs::new(),
            gc: GcState::new(&config.gc),
            trace: trace::TraceState::new(&config.trace),
            config,
            totals: Mutex::new(ThreadTotals::default()),
            qsbr: qsbr::Qsbr::new(),
        })
    }

    /// A heap with the default configuration.
    pub fn with_defaults() -> Self {
        Self::new(HeapConfig::default()).expect("default configuration is valid")
    }

    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    pub fn policy_name(&self) -> &'static str {
        P::NAME
    }

    pub fn mem(&self) -> &Memory {
        &self.mem
    }

    /// Memory figures now, from the allocator's block counts: approximate
    /// while threads run (under `biased`, a block freed by another thread
    /// counts until its owner takes it back), exact once the heap is
    /// quiescent and trimmed.
    pub fn memory(&self) -> MemoryFigures {
        let large = self.mem.large();
        let mut f = MemoryFigures {
            bytes_reserved: self.mem.budget().reserved() as u64,
            bytes_reserved_peak: self.mem.budget().reserved_peak() as u64,
            arenas: self.mem.arena_stats(),
            large_objects: large.objects() as u64,
            bytes_in_blocks: large.bytes() as i64,
            objects: large.objects() as i64,
        };
        <P::Front as Front>::for_each_counts(&self.front, &mut |c| {
            f.bytes_in_blocks += c.bytes() as i64;
            f.objects += c.blocks(Domain::Object.index()) as i64;
        });
        f
    }

    /// Gives every empty pool back to its arena (and so empty arenas back to
    /// the OS, but for one spare), like `malloc_trim`. Class tables keep one
    /// empty pool per class between collections so that allocating and
    /// freeing at a pool boundary does not churn the arena lock; full
    /// collections and the leak check trim. The heap must be quiescent (or
    /// the world stopped by the caller).
    pub fn trim(&self) {
        <P::Front as Front>::release_empty_pools(&self.front, &self.mem);
    }

    /// Blocks in use as the policy's class tables count them (quiescent).
    pub(crate) fn blocks_in_use(&self) -> usize {
        <P::Front as Front>::blocks_in_use(&self.front, &self.mem)
    }

    /// Counters summed over the threads that have detached.
    pub fn totals(&self) -> ThreadTotals {
        self.totals.lock().clone()
    }

    /// One more reference, counted on the calling thread.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `obj` is live and the
    /// caller holds (or the stopped world guarantees) a reference to it.
    #[inline(always)]
    pub(crate) unsafe fn incref_raw(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe { <P::Counts as Counts>::incref(ObjHeader::addr(obj), &mut (*ts).counts) }
    }

    /// Stops the world for the calling thread (see [`Interp::stop_the_world`]).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    pub(crate) unsafe fn stop_world(&self, ts: *mut ThreadState<P>) -> Option<u64> {
        // SAFETY: our state.
        <P::Interp as Interp>::stop_the_world(&self.interp, unsafe { &mut (*ts).interp })
    }

    /// Restarts the world the calling thread stopped.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, and it stopped the world.
    pub(crate) unsafe fn start_world(&self, ts: *mut ThreadState<P>) {
        // SAFETY: our state.
        <P::Interp as Interp>::start_the_world(&self.interp, unsafe { &mut (*ts).interp })
    }

    /// With the world stopped: applies pending count merges so counts are
    /// exact; objects found dead go to `on_dead` (to be freed once the world
    /// runs again), called once the counts are done with the thread state.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state and the world is stopped.
    pub(crate) unsafe fn prepare_collection(
        &self,
        ts: *mut ThreadState<P>,
        on_dead: &mut dyn FnMut(*mut ObjHeader<P>),
    ) {
        let mut dead = Vec::new();
        // SAFETY: our state; the caller's contract.
        unsafe {
            <P::Counts as Counts>::prepare_collection(&self.counts, &mut (*ts).counts, &mut dead)
        };
        for o in dead {
            on_dead(ObjHeader::from_addr(o));
        }
    }

    /// GIL statistics (under the GIL).
    pub fn gil_stats(&self) -> Option<crate::policy::gil::GilStats> {
        <P::Interp as Interp>::gil_stats(&self.interp)
    }
}
