//! Decrefs deferred from threads that were not attached (pyo3 keeps a
//! pending-decref pool for the same situation): a `Ref` dropped inside
//! `allow_threads` or on a thread that never attached never touches the
//! heap there, and a last reference dropped while unwinding frees nothing
//! there. Its decref is queued here and applied by the next thread that
//! attaches or reaches a checkpoint.

use super::thread::ThreadState;
use super::Heap;
use crate::object::ObjHeader;
use crate::policy::{Counts, Policy};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// A reference given up by a thread that could not apply its decref.
struct Deferred<P: Policy>(*mut ObjHeader<P>);

// SAFETY: a deferred entry is a counted reference in transit to whichever
// attached thread applies it (references move between threads like `Ref`s).
unsafe impl<P: Policy> Send for Deferred<P> {}

/// The queue of deferred decrefs of one heap.
pub(crate) struct PendingDecrefs<P: Policy> {
    queue: Mutex<Vec<Deferred<P>>>,
    /// Roots dropped where a minor collection may be moving roots (a
    /// tracing heap with a nursery, a thread not attached): emptied by the
    /// next attached thread instead (see `heap::refs`).
    roots: Mutex<Vec<<P::Counts as Counts>::Root>>,
    /// A hint read at every checkpoint: set after a push (Release), cleared
    /// under the lock by whoever takes the queue.
    flag: AtomicBool,
}

impl<P: Policy> PendingDecrefs<P> {
    pub(crate) fn new() -> Self {
        PendingDecrefs {
            queue: Mutex::new(Vec::new()),
            roots: Mutex::new(Vec::new()),
            flag: AtomicBool::new(false),
        }
    }

    fn push(&self, obj: *mut ObjHeader<P>) {
        self.queue.lock().push(Deferred(obj));
        // Release: pairs with the Acquire in `take`, though the lock alone
        // already orders the entry; the flag only saves checkpoints a lock.
        self.flag.store(true, Ordering::Release);
    }

    #[inline(always)]
    fn hint(&self) -> bool {
        // Relaxed: a hint; an entry seen one checkpoint late is applied then.
        self.flag.load(Ordering::Relaxed)
    }

    fn push_root(&self, root: <P::Counts as Counts>::Root) {
        self.roots.lock().push(root);
        // Release: as in `push`.
        self.flag.store(true, Ordering::Release);
    }

    #[allow(clippy::type_complexity)]
    fn take(&self) -> (Vec<Deferred<P>>, Vec<<P::Counts as Counts>::Root>) {
        // Acquire: see `push`.
        if !self.flag.load(Ordering::Acquire) {
            return (Vec::new(), Vec::new());
        }
        let mut q = self.queue.lock();
        let mut r = self.roots.lock();
        self.flag.store(false, Ordering::Relaxed);
        (std::mem::take(&mut *q), std::mem::take(&mut *r))
    }

    fn len(&self) -> usize {
        self.queue.lock().len() + self.roots.lock().len()
    }
}

impl<P: Policy> Heap<P> {
    /// Queues the decref of a reference given up where it could not be
    /// applied.
    #[cold]
    pub(crate) fn defer_decref(&self, obj: *mut ObjHeader<P>) {
        self.pending.push(obj);
    }

    /// Decrefs that wait for an attached thread.
    pub fn pending_decrefs(&self) -> usize {
        self.pending.len()
    }

    /// Whether deferred decrefs wait (one relaxed load, for checkpoints).
    #[inline(always)]
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.hint()
    }

    /// Applies decrefs deferred from unattached threads.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    pub(crate) unsafe fn apply_pending(&self, ts: *mut ThreadState<P>) {
        let (decrefs, roots) = self.pending.take();
        for Deferred(o) in decrefs {
            // SAFETY: each entry is a reference given up by its owner.
            unsafe { self.decref(ts, o) };
        }
        for r in roots {
            // SAFETY: a root given up by its `Ref`, emptied once, here.
            unsafe { <P::Counts as Counts>::drop_root(&r) };
        }
    }

    /// A root dropped by a thread that is not attached, under a nursery:
    /// emptied by the next attached thread (see `heap::refs`).
    #[cold]
    pub(crate) fn defer_root(&self, root: <P::Counts as Counts>::Root) {
        self.pending.push_root(root);
    }
}
