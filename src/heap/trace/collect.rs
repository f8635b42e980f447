//! One tracing collection, as named phases (a non-moving, stop-the-world
//! mark and sweep: the JVM's serial collector, PyPy's major collection):
//!
//! 1. **stop the world** (`gil-tracing`: holding the GIL is a stopped world).
//!    *After*: no attached thread runs heap code, so no handle-table slot is
//!    being filled (threads that are not attached may still empty slots:
//!    see `policy::handles`).
//!    **1b.** With a nursery (`--nursery`): a minor collection first
//!    ([`super::minor`]), so every object is old; where the memory limit
//!    leaves no room to promote, young objects stay and are roots instead.
//! 2. **walk**: every live block of the object pools and the large-object
//!    list is an object; its mark bit (the cycle collector's scratch bit
//!    `REACHABLE`, free here) is cleared.
//! 3. **mark** from the roots: each live handle-table slot and each immortal
//!    object, then everything they reach.
//! 4. **keep the finalizable**: each unmarked object with a finalizer not
//!    yet run is kept, with everything it reaches, until the next cycle (its
//!    finalizer runs once, after the world restarts, and may resurrect it,
//!    as PEP 442 and Java's finalization do).
//! 5. **sweep**: each unmarked object releases its list item array and its
//!    block goes back to the allocator (to the owner's pool: a remote free
//!    under thread-local pools); marks are cleared on the survivors, whose
//!    bytes set the next trigger. Empty pools go back to their arenas.
//! 6. **restart the world**, then run the finalizers of step 4.
//!
//! Sweeping inside the pause keeps the allocator's free lists consistent
//! with the walk; it is what a non-concurrent mark-sweep pays.

use super::super::gc::collect::{one_at_a_time, CollectOutcome};
use crate::alloc::walk::scan_all;
use crate::alloc::Domain;
use crate::heap::{Heap, Mutator, Ref, ThreadState};
use crate::object::{for_each_child, gc_bits, Kind, ListObj, ObjHeader};
use crate::policy::{Counts, Policy};
use crate::sync::Ordering;
use std::time::Instant;

/// Marks `o` (plain load and store: one marking thread, world stopped) and
/// pushes it to be scanned; false if it was marked already.
///
/// # Safety
/// The world is stopped and `o` is a live object of the heap.
#[inline(always)]
unsafe fn mark<P: Policy>(o: *mut ObjHeader<P>, stack: &mut Vec<*mut ObjHeader<P>>) {
    // SAFETY: the caller's contract.
    let f = unsafe { (*o).gc_flags() };
    if f & gc_bits::REACHABLE == 0 {
        // SAFETY: as above.
        unsafe { (*o).set_gc_flags(f | gc_bits::REACHABLE) };
        stack.push(o);
    }
}

/// Marks everything reachable from the objects on `stack`.
///
/// # Safety
/// The world is stopped; `stack` holds marked live objects.
pub(super) unsafe fn mark_from<P: Policy>(stack: &mut Vec<*mut ObjHeader<P>>) {
    while let Some(o) = stack.pop() {
        // SAFETY: a live object; its children are live (a live container
        // refers only to live objects).
        unsafe { for_each_child(o, |c| mark(c, stack)) };
    }
}

impl<P: Policy> Heap<P> {
    /// A tracing collection (`Mutator::collect`, or a checkpoint that found
    /// the trigger's due flag up). `ran` is false when another thread's
    /// collection ran instead.
    pub(crate) fn trace_collect(&self, m: &Mutator<'_, P>) -> CollectOutcome {
        let ts = m.ts();
        if self.trace.nursery.pinned() {
            // A leaf's bytes are lent, or a tuple is being filled: no
            // object may move, so no collection now.
            return CollectOutcome::default();
        }
        one_at_a_time(&self.trace.collecting, m, || {
            // SAFETY: `ts` is our attached state, owned by `m`.
            unsafe { self.trace_locked(ts) }
        })
    }

    /// Called at a checkpoint when the trigger's flag is up. The flag stays
    /// up until the collection ends, so a thread that finds one running
    /// goes on (its checkpoint parks it once the world is being stopped)
    /// instead of asking again from inside the checkpoint.
    pub(crate) fn trace_collect_if_due(&self, m: &Mutator<'_, P>) {
        // Relaxed: a hint; `trace_collect` decides with its CAS.
        if self.trace.wants_collection()
            && self.gc.is_enabled()
            && !self.trace.collecting.load(Ordering::Relaxed)
        {
            self.trace_collect(m);
        }
    }

    /// Every object of the heap, marks cleared.
    ///
    /// # Safety
    /// The world is stopped.
    unsafe fn all_objects(&self) -> Vec<*mut ObjHeader<P>> {
        let mut out = Vec::new();
        let mut keep = |o: *mut ObjHeader<P>| {
            // SAFETY: a live block of an object pool holds an object header;
            // the world is stopped.
            unsafe { (*o).set_gc_flags((*o).gc_flags() & !gc_bits::REACHABLE) };
            out.push(o);
        };
        // SAFETY: the world is stopped.
        let scans = unsafe { scan_all(self.mem.arenas()) }
            .unwrap_or_else(|e| panic!("heap corrupted: {e}"));
        for s in scans.iter().filter(|s| s.domain == Domain::Object) {
            s.for_each_live(|b| keep(b as *mut ObjHeader<P>));
        }
        self.mem.large().for_each(|b, _, d| {
            if d == Domain::Object {
                keep(b as *mut ObjHeader<P>)
            }
        });
        // SAFETY: world stopped, no pin: no allocation half made.
        unsafe { self.for_each_young_object(&mut keep) };
        out
    }

    /// One collection with the `collecting` flag held.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by a live mutator.
    unsafe fn trace_locked(&self, ts: *mut ThreadState<P>) -> CollectOutcome {
        // 1. stop the world
        let tts = loop {
            // SAFETY: `ts` is our attached state.
            match unsafe { self.stop_world(ts) } {
                Some(t) => break t,
                None => continue, // someone else stopped it first; try again
            }
        };
        let pause_start = Instant::now();
        // 1b. empty the nursery where the memory limit allows it; young
        // objects left in place are marked with the rest, never swept here.
        if self.trace.nursery_on() && self.promotion_fits() {
            // SAFETY: world stopped by us; no pin (checked by the caller).
            unsafe { self.minor_collect(ts) };
        }
        // 2. walk
        // SAFETY: world stopped.
        let objects = unsafe { self.all_objects() };
        // 3. mark from the roots
        let mut stack = Vec::new();
        for &o in &objects {
            // SAFETY: world stopped; live objects.
            unsafe {
                // Young objects left in place (no room to promote them) are
                // roots until the next minor collection, dead or not: what
                // they refer to must stay valid for it and the verifier.
                if (*o).gc_flags() & gc_bits::IMMORTAL != 0
                    || self.trace.nursery.contains(o as *const u8)
                {
                    mark(o, &mut stack);
                }
            }
        }
        <P::Counts as Counts>::for_each_root(&self.counts, &mut |a| {
            // SAFETY: a live slot holds a live object of this heap.
            unsafe { mark(ObjHeader::<P>::from_addr(a), &mut stack) }
        });
        // SAFETY: world stopped.
        unsafe { self.trace_mark_from(&mut stack) };
        // 4. keep the finalizable
        let mut finalize = Vec::new();
        for &o in &objects {
            // SAFETY: world stopped; live objects.
            let f = unsafe { (*o).gc_flags() };
            if f & gc_bits::REACHABLE == 0
                && f & (gc_bits::HAS_FINALIZER | gc_bits::FINALIZED) == gc_bits::HAS_FINALIZER
            {
                finalize.push(o);
                // SAFETY: as above.
                unsafe { mark(o, &mut stack) };
            }
        }
        // SAFETY: world stopped.
        unsafe { self.trace_mark_from(&mut stack) };
        // 5. sweep
        let mut live = 0usize;
        let mut collected = 0usize;
        for &o in &objects {
            // SAFETY: world stopped; `o` is live until freed here, and an
            // unmarked object is referred to by no root and no live object.
            unsafe {
                let f = (*o).gc_flags();
                if f & gc_bits::REACHABLE != 0 {
                    (*o).set_gc_flags(f & !gc_bits::REACHABLE);
                    live += (*o).object_size();
                    if (*o).kind == Kind::List {
                        live += (*(o as *mut ListObj<P>)).cap * std::mem::size_of::<usize>();
                    }
                } else {
                    // Releases the item array; the children are not
                    // touched (a decrement does nothing under `TRACED`).
                    self.clear_references(ts, o);
                    self.free_object(ts, o);
                    collected += 1;
                }
            }
        }
        self.trim();
        self.trace.reset(live);
        let pause_ns = pause_start.elapsed().as_nanos() as u64;
        // 6. restart the world, run the finalizers
        // SAFETY: our state; we stopped the world.
        unsafe { self.start_world(ts) };
        for &o in &finalize {
            // SAFETY: kept alive by the mark above (nothing was freed since);
            // we are attached, so the new `Ref` roots it.
            unsafe { self.run_finalizer(ts, o, Ref::from_raw(self, o)) };
        }
        {
            let mut st = self.gc.stats.lock();
            st.collections[2] += 1;
            st.examined += objects.len() as u64;
            st.collected += collected as u64;
            st.finalizers_run += finalize.len() as u64;
            st.pause_ns.saturating_record(pause_ns.max(1));
            if P::FREE_THREADED {
                st.time_to_safepoint_ns.saturating_record(tts.max(1));
            }
        }
        CollectOutcome {
            ran: true,
            generation: 0,
            examined: objects.len(),
            collected,
            resurrected: 0,
            pause_ns,
            time_to_safepoint_ns: tts,
        }
    }
}
