//! The tracing collector's mark phase, serial or parallel (`--mark-workers
//! N`, `GcConfig::mark_workers`): phase 3 and 4 of [`super::collect`] call
//! [`Heap::trace_mark_from`], which marks everything reachable from the
//! objects the phase has marked so far.
//!
//! With one worker (the default) the phase marks on the collecting thread
//! with plain loads and stores (`collect::mark_from`). With more, it marks on
//! the heap's rayon pool, the one the cycle collector marks with
//! (`Heap::mark_pool`; a heap runs only one of the two collectors), the same
//! way the cycle collector's `mark_parallel` does (`gc/mark.rs`):
//!
//! - work is a *run*, a slice of a container's item array, not an object, so
//!   one wide list (a million items) is shared out: a run longer than
//!   [`RUN_SPLIT`] is halved and the second half spawned for an idle worker,
//!   and a worker whose own stack grows past [`RUN_SPLIT`] runs gives half of
//!   it away;
//! - an object is *claimed* by the atomic `fetch_or` that sets its
//!   `REACHABLE` bit: whoever set the bit scans the object, so each object is
//!   scanned once, whichever worker reached it first.
//!
//! What differs from the cycle collector's marker is what may be claimed:
//! there only candidates (tracked containers of the set being collected);
//! here every object, leaves included, since an unmarked leaf is swept.
//!
//! *Before*: the world is stopped; each object on the stack is marked.
//! *After*: every object reachable from them is marked and the stack is
//! empty; the pool's scope has joined every worker, so the collecting thread
//! sees every mark (rayon's join is a happens-before edge).
//!
//! Layers: heap (the tracing collector) -> heap/gc (the shared pool and
//! the item runs, `gc::mark::Run`) ->
//! object; nothing here is known to the cycle collector.

#[cfg(not(loom))]
use crate::heap::gc::mark::{run_of, Run, RUN_SPLIT};
use crate::heap::Heap;
#[cfg(not(loom))]
use crate::object::gc_bits;
use crate::object::ObjHeader;
use crate::policy::Policy;
#[cfg(not(loom))]
use crate::sync::Ordering;

impl<P: Policy> Heap<P> {
    /// Marks everything reachable from the (marked) objects on `stack`, in
    /// parallel when the heap has more than one marking worker; leaves the
    /// stack empty.
    ///
    /// # Safety
    /// The world is stopped; `stack` holds marked live objects of this heap.
    pub(super) unsafe fn trace_mark_from(&self, stack: &mut Vec<*mut ObjHeader<P>>) {
        #[cfg(not(loom))]
        if let Some(pool) = self.mark_pool() {
            let marked = std::mem::take(stack);
            // SAFETY: the caller's contract.
            unsafe { mark_parallel(&pool, marked) };
            return;
        }
        // SAFETY: the caller's contract.
        unsafe { super::collect::mark_from(stack) }
    }
}

/// Atomically marks `o`; true if this call marked it (so this worker scans
/// it).
///
/// # Safety
/// `o` is a live object of the heap; the world is stopped.
#[cfg(not(loom))]
#[inline(always)]
unsafe fn claim<P: Policy>(o: *mut ObjHeader<P>) -> bool {
    // SAFETY: the caller's contract.
    let f = unsafe { &(*o).gc_bits };
    // Relaxed: the RMW alone decides who scans `o` (both workers may see
    // the bit clear; one of the two `fetch_or`s finds it set). Nothing else
    // is published with the bit: the objects' contents were written before
    // the world stopped (the handshake orders them before this phase), and
    // the marks are read only after the pool's scope joined the workers.
    // The load first skips the RMW, and its cache-line write, for an
    // object already marked (a shared leaf, a list's back edges).
    if f.load(Ordering::Relaxed) & gc_bits::REACHABLE != 0 {
        return false;
    }
    f.fetch_or(gc_bits::REACHABLE, Ordering::Relaxed) & gc_bits::REACHABLE == 0
}

/// Root runs per spawned task when the phase starts.
#[cfg(not(loom))]
const ROOT_BATCH: usize = 1024;

/// One worker's loop: marks from its stack of runs, giving work away as
/// the module docs describe.
///
/// # Safety
/// The world is stopped; each run is the live part of a live container's
/// item array.
#[cfg(not(loom))]
unsafe fn work<P: Policy>(s: &rayon::Scope<'_>, mut stack: Vec<Run<P>>) {
    while let Some(Run(items, mut len)) = stack.pop() {
        // A long run: give its second half away, keep the first.
        while len > RUN_SPLIT {
            let half = len / 2;
            // SAFETY: `half < len`: inside the run's array.
            let rest = Run(unsafe { items.add(half) }, len - half);
            // SAFETY: a part of a run is a run.
            s.spawn(move |s| unsafe { work(s, vec![rest]) });
            len = half;
        }
        for i in 0..len {
            // SAFETY: `i < len`; the run's items are live objects or null
            // (a live container refers only to live objects).
            let c = unsafe { *items.add(i) };
            // SAFETY: as above: `c` is a live object.
            if !c.is_null() && unsafe { claim(c) } {
                // SAFETY: `c` is live and, the world stopped, unwritten.
                let r = unsafe { run_of(c) };
                if r.1 > 0 {
                    stack.push(r);
                }
            }
        }
        if stack.len() > RUN_SPLIT {
            let half = stack.split_off(stack.len() / 2);
            // SAFETY: runs of live containers, world still stopped (the
            // scope joins before the phase ends).
            s.spawn(move |s| unsafe { work(s, half) });
        }
    }
}

/// Marks everything reachable from `marked` (objects already marked) on
/// `pool`; returns when every worker is done.
///
/// # Safety
/// The world is stopped; `marked` are marked live objects of the heap.
#[cfg(not(loom))]
unsafe fn mark_parallel<P: Policy>(pool: &rayon::ThreadPool, marked: Vec<*mut ObjHeader<P>>) {
    let roots: Vec<Run<P>> = marked
        .into_iter()
        // SAFETY: the caller's contract.
        .map(|o| unsafe { run_of(o) })
        .filter(|r| r.1 > 0)
        .collect();
    pool.scope(|s| {
        let mut roots = roots.into_iter().peekable();
        while roots.peek().is_some() {
            let v: Vec<Run<P>> = roots.by_ref().take(ROOT_BATCH).collect();
            // SAFETY: runs of live containers; the scope joins before the
            // world restarts.
            s.spawn(move |s| unsafe { work(s, v) });
        }
    });
}
