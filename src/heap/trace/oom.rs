//! Collect before `MemoryError`: under a tracing policy an allocation that
//! the memory limit (`--max-heap`) refuses runs one collection, or waits for
//! the one another thread is running, and is tried once more before the
//! error reaches the program, as a JVM collects before it throws
//! `OutOfMemoryError`. Under a counting policy garbage is freed as its count
//! reaches zero, so there is nothing to wait for; the counting policies'
//! path is untouched (the callers test the `TRACED` constant).
//!
//! Where it is safe: a collection may run only where the allocating thread
//! holds nothing the collector could free or read half-made, that is where
//! it holds only `Ref`s (roots) and no per-object lock. The two hooks are
//! such places:
//!
//! - the block of a new object (`Heap::alloc_object_block`, from
//!   `alloc_leaf`, `alloc_list`, `alloc_tuple`), taken before the object
//!   exists; a tuple's items come from an iterator that may itself allocate
//!   (and so collect) while the tuple is half filled, so under a tracing
//!   policy the tuple is rooted, its slots null, before its first item is
//!   taken (`Mutator::alloc_tuple`);
//! - `Mutator::append`, after the list's lock is released: its item array
//!   grows under the lock, where a collection is not allowed (a finalizer run
//!   by it could touch the same list), so a refused growth returns, and
//!   `append` collects and tries again from the start. The item is still
//!   the caller's `Ref` then (it moves into the list only on success).
//!
//! Automatic collection off (`--no-gc`) means no collection here either: the
//! allocation fails as it would have.

use super::super::thread::ThreadState;
use crate::alloc::{size_class, Domain, OutOfMemory, MAX_SMALL};
use crate::heap::{Heap, Mutator};
use crate::object::LARGE;
use crate::policy::{Counts, Front};
use crate::sync::{yield_now, Ordering};
use crate::{HeapError, HeapErrorKind};
use std::time::{Duration, Instant};

/// How long a thread waits, at most, for another thread's collection to
/// finish. The running collection requests the stop within microseconds of
/// raising its flag (unless the OS takes its core away: hence a time, not a
/// count of yields), and the first checkpoint after that parks this thread
/// until the sweep is done. The bound matters only when the flag stays up
/// for long: while the collection's finalizers run, or when the allocating
/// thread is a finalizer of its own collection (which swept just before).
const WAIT: Duration = Duration::from_millis(50);

impl<P: crate::policy::Policy> Heap<P> {
    /// The block of a new object of `size` bytes was refused (`e`): under a
    /// tracing policy, collects and tries once more; otherwise, or if that
    /// fails too, the `MemoryError`.
    ///
    /// # Safety
    /// As `Heap::alloc_object_block`'s: `ts` is the calling thread's
    /// attached state; and the caller is one of the places the module docs
    /// list (a new object's block, taken before the object exists).
    #[cold]
    #[inline(never)]
    pub(in crate::heap) unsafe fn alloc_refused(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
        e: OutOfMemory,
    ) -> Result<(*mut u8, u8), HeapError> {
        // SAFETY: the caller's contract.
        if !<P::Counts as Counts>::TRACED || !unsafe { self.collect_before_memory_error(ts) } {
            // SAFETY: as above.
            return Err(unsafe { self.alloc_failed(ts, e) });
        }
        let again = if size <= MAX_SMALL {
            let class = size_class(size);
            // SAFETY: `ts` is our attached state (its front is ours).
            unsafe {
                <P::Front as Front>::alloc_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    Domain::Object,
                    class,
                )
            }
            .map(|b| (b, class as u8))
        } else {
            self.mem
                .alloc_large(size, Domain::Object)
                .map(|b| (b, LARGE))
        };
        // SAFETY: as above.
        again.map_err(|e| unsafe { self.alloc_failed(ts, e) })
    }

    /// `append`'s hook: true when `res` is a `MemoryError` and a collection
    /// ran (or finished) since, so that the caller tries once more.
    ///
    /// # Safety
    /// As `collect_before_memory_error`.
    #[inline]
    pub(in crate::heap) unsafe fn collect_if_refused<T>(
        &self,
        ts: *mut ThreadState<P>,
        res: &Result<T, HeapError>,
    ) -> bool {
        // SAFETY: the caller's contract.
        matches!(res, Err(e) if matches!(e.kind(), HeapErrorKind::Memory(_)))
            && unsafe { self.collect_before_memory_error(ts) }
    }

    /// An allocation was refused: collects, or waits for the collection that
    /// another thread is running, so that the caller may try once more.
    /// Returns false when no collection may run (automatic collection is
    /// off), and the caller fails as it would have.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by a live mutator
    /// on this thread; the thread holds no per-object lock, and every object
    /// it holds is rooted (a `Ref`) and fully made.
    #[cold]
    #[inline(never)]
    pub(in crate::heap) unsafe fn collect_before_memory_error(
        &self,
        ts: *mut ThreadState<P>,
    ) -> bool {
        if !self.gc.is_enabled() {
            return false;
        }
        // SAFETY: the caller's contract; the view is not dropped.
        let m = unsafe { Mutator::borrowed(self, ts) };
        if self.trace_collect(&m).ran {
            return true;
        }
        // Another collection holds the flag: it stops the world at once, so
        // a checkpoint parks here until it has swept. The flag stays up
        // while its finalizers run (ours too, if a finalizer of this
        // thread's own collection is what allocates), hence the bound.
        let deadline = Instant::now() + WAIT;
        // Relaxed: a hint; the park at the checkpoint synchronises.
        while self.trace.collecting.load(Ordering::Relaxed) && Instant::now() < deadline {
            m.checkpoint();
            yield_now();
        }
        true
    }
}
