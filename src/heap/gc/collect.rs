//! CPython's cycle-finding algorithm (`Python/gc.c`,
//! `Python/gc_free_threading.c`), as named phases.
//!
//! 1. **stop the world** (`gil`: holding the GIL is a stopped world). Merge
//!    every queued biased count (`prepare_collection`) so counts are exact;
//!    objects that the merge found dead are freed after the world restarts.
//!    *After*: no other thread runs heap code; every count is exact.
//! 2. **find candidates**: the tracked containers of the set being collected
//!    (every pool in pool-walk mode; generations 0..=g in generational mode).
//!    Objects whose count is already zero (dead, waiting for their
//!    deallocation) are left out: their references count as external.
//! 3. **update_refs**: `gc_refs = count` for each candidate.
//! 4. **subtract_refs**: for each reference from a candidate to a candidate,
//!    `gc_refs -= 1`. *After*: `gc_refs > 0` exactly for candidates referenced
//!    from outside the set (Rust stacks and other threads included, so no root
//!    scanning is needed).
//! 5. **mark_reachable**: everything reachable from those roots, through
//!    candidates, is reachable (parallel with rayon when `mark_workers > 1`).
//!    *After*: the unmarked candidates are garbage.
//! 6. The collector takes a reference to each garbage object (so none is
//!    freed under it), moves survivors a generation up, and **restarts the
//!    world**.
//! 7. **finalize** (PEP 442): each garbage object's finalizer runs once, with
//!    the world running (so a finalizer may allocate). If any ran, the world
//!    is stopped again and the garbage set re-examined: what a finalizer made
//!    reachable from outside is **resurrected** and survives; what it
//!    disconnected from every cycle is freed by its count, uncounted (CPython
//!    3.11 holds only the object being finalized, so it frees those at once;
//!    we hold all of them until here, see `freed_by_counts`).
//! 8. **clear**: the references of each remaining garbage object are cleared,
//!    then the collector drops its own references, and reference counting
//!    frees the objects.

use super::mark::tuple_may_untrack;
use super::{gen_push, GcMode};
use crate::heap::{Heap, Mutator, Ref, ThreadState};
use crate::object::{gc_bits, gc_head, Kind, ObjHeader};
use crate::policy::Policy;
use crate::sync::Ordering;
use std::ptr;
use std::time::Instant;

/// The oldest generation: what a full collection collects. Every pool-walk
/// collection is one (free-threaded CPython has one generation and counts
/// its collections under generation 2), so `GcStats::collections` and
/// `CollectOutcome::generation` say 2 for them.
pub const FULL: usize = 2;

/// What one collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectOutcome {
    /// False when another thread's collection ran instead (this thread parked
    /// and found the work done).
    pub ran: bool,
    /// The generation collected: 2 for every pool-walk collection (a full
    /// one, as the free-threaded build's are: it records them under 2 too).
    pub generation: usize,
    /// Containers examined.
    pub examined: usize,
    /// Garbage objects freed.
    pub collected: usize,
    /// Garbage objects that a finalizer resurrected.
    pub resurrected: usize,
    /// Pause with the world stopped (both stops, if finalizers ran), ns.
    pub pause_ns: u64,
    /// Time to safepoint of the first stop, ns.
    pub time_to_safepoint_ns: u64,
}

/// Runs `collect` as the only collection of its kind at a time: `flag` is
/// up while one runs. A thread that finds it up parks at its checkpoint
/// instead (the running collection stops the world or holds the GIL) and
/// returns an empty outcome: the other thread's collection did the work.
/// Shared by the cycle collector and the tracing collector.
pub(crate) fn one_at_a_time<P: Policy>(
    flag: &crate::sync::AtomicBool,
    m: &Mutator<'_, P>,
    collect: impl FnOnce() -> CollectOutcome,
) -> CollectOutcome {
    if flag
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        m.checkpoint();
        return CollectOutcome::default();
    }
    // Lowered on every way out, a panic in a finalizer included (Release:
    // what this collection wrote before the next one's Acquire).
    struct Done<'a>(&'a crate::sync::AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _done = Done(flag);
    collect()
}

impl<P: Policy> Heap<P> {
    /// Called at a checkpoint when the due flag is up.
    pub(crate) fn collect_if_due(&self, m: &Mutator<'_, P>) {
        if !self.gc.take_due() || !self.gc.is_enabled() {
            return;
        }
        // The flag went up when a batch was published; by this checkpoint
        // reference counting may have freed what grew (a tree built and
        // dropped in one step). Collect only if the growth is still there.
        if !self.gc.still_due() {
            return;
        }
        let gen = match self.gc.config.mode {
            GcMode::PoolWalk => FULL,
            GcMode::Generational => match self.choose_generation() {
                Some(g) => g,
                None => return,
            },
        };
        self.collect_generation(m, gen);
    }

    /// CPython's `gc_collect_generations`: the oldest generation whose count
    /// passed its threshold (a full collection also needs the long-lived
    /// objects pending to be a quarter of those that survived the last one).
    fn choose_generation(&self) -> Option<usize> {
        let counts = self.gc.gen_counts.lock();
        let c0 = self.gc.count.load(Ordering::Relaxed).max(0) as usize;
        let th = self.gc.config.gen_thresholds;
        let all = [c0, counts[1], counts[2]];
        for g in (0..3).rev() {
            if all[g] > th[g] {
                if g == 2 {
                    let pending = counts[0]; // long-lived pending, see collect
                    let total = self.gc.survivors.load(Ordering::Relaxed).max(0) as usize;
                    if pending < total / 4 {
                        continue;
                    }
                }
                return Some(g);
            }
        }
        None
    }

    /// Collects generation `gen` (pool-walk mode: everything).
    pub(crate) fn collect_generation(&self, m: &Mutator<'_, P>, gen: usize) -> CollectOutcome {
        if <P::Counts as crate::policy::Counts>::TRACED {
            // A count-free policy: its tracing collector collects instead.
            return self.trace_collect(m);
        }
        let ts = m.ts();
        m.apply_pending();
        one_at_a_time(&self.gc.collecting, m, || {
            // SAFETY: `ts` is our attached state throughout.
            unsafe { self.collect_locked(ts, m, gen) }
        })
    }

    /// One collection, with the `collecting` flag held.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by `m`.
    unsafe fn collect_locked(
        &self,
        ts: *mut ThreadState<P>,
        m: &Mutator<'_, P>,
        gen: usize,
    ) -> CollectOutcome {
        let mut out = CollectOutcome {
            ran: true,
            generation: gen,
            ..Default::default()
        };
        // 1. stop the world
        let tts = loop {
            // SAFETY: `ts` is our attached state.
            match unsafe { self.stop_world(ts) } {
                Some(t) => break t,
                None => continue, // someone else stopped it first; try again
            }
        };
        let pause_start = Instant::now();
        let mut dead = Vec::new();
        // SAFETY: world stopped.
        unsafe { self.prepare_collection(ts, &mut |o| dead.push(o)) };
        // 2.-5.
        // SAFETY: world stopped.
        let found = unsafe { self.candidates(gen) };
        let cands = found.all;
        out.examined = cands.len();
        // SAFETY: world stopped; `found` is what `candidates` returned.
        let garbage = unsafe { self.find_unreachable(&cands, found.maybe_roots.as_deref(), 0) };
        // 6. hold the garbage; move survivors up
        for &g in &garbage {
            // SAFETY: live candidates; we are attached.
            unsafe {
                self.incref_raw(ts, g);
                (*g).set_gc_flags((*g).gc_flags() | gc_bits::UNREACHABLE);
            }
        }
        let survivors = cands.len() - garbage.len();
        self.after_collection(gen, &cands, survivors);
        if gen == FULL {
            // World stopped: give the classes' cached empty pools back.
            self.trim();
        }
        out.pause_ns = pause_start.elapsed().as_nanos() as u64;
        // SAFETY: our state.
        unsafe { self.start_world(ts) };
        for d in dead {
            // SAFETY: the merge found it dead; we are attached again.
            unsafe { self.dealloc(ts, d) };
        }
        // 7. finalize, then look for resurrections
        let mut garbage = garbage;
        let mut finalizers_run = 0;
        for &g in &garbage {
            // SAFETY: we hold a reference to each garbage object.
            if unsafe { (*g).gc_flags() } & (gc_bits::HAS_FINALIZER | gc_bits::FINALIZED)
                == gc_bits::HAS_FINALIZER
            {
                // SAFETY: as above; we are attached.
                unsafe {
                    self.incref_raw(ts, g);
                    self.run_finalizer(ts, g, Ref::from_raw(self, g));
                }
                finalizers_run += 1;
            }
        }
        if finalizers_run > 0 {
            let tts2 = loop {
                // SAFETY: our state.
                match unsafe { self.stop_world(ts) } {
                    Some(t) => break t,
                    None => continue,
                }
            };
            let _ = tts2;
            let again = Instant::now();
            // SAFETY: world stopped; we hold one reference to each.
            let still = unsafe { self.find_unreachable(&garbage, None, 1) };
            let still_set: std::collections::HashSet<usize> =
                still.iter().map(|&o| o as usize).collect();
            // SAFETY: as above; `still` is what `find_unreachable` returned.
            let freed = unsafe { self.freed_by_counts(&still, 1) };
            let freed_set: std::collections::HashSet<usize> =
                freed.iter().map(|&o| o as usize).collect();
            if self.gc.config.mode == GcMode::Generational {
                // `refs` records the generation between collections.
                for &g in &garbage {
                    // SAFETY: live (we hold it); under the GIL.
                    unsafe { (*gc_head(g)).refs = (gen + 1).min(2) as isize };
                }
            }
            for &g in &garbage {
                if !still_set.contains(&(g as usize)) {
                    // SAFETY: live (we hold it).
                    unsafe { (*g).set_gc_flags((*g).gc_flags() & !gc_bits::UNREACHABLE) };
                    out.resurrected += 1;
                }
            }
            out.pause_ns += again.elapsed().as_nanos() as u64;
            // SAFETY: our state.
            unsafe { self.start_world(ts) };
            // Release our hold on the resurrected ones, then on what a
            // finalizer disconnected, referrers first: their counts free
            // them, uncounted, as CPython 3.11 would have during finalization.
            let (keep, resurrected): (Vec<_>, Vec<_>) = garbage.into_iter().partition(|o| {
                still_set.contains(&(*o as usize)) && !freed_set.contains(&(*o as usize))
            });
            let resurrected = resurrected
                .into_iter()
                .filter(|o| !still_set.contains(&(*o as usize)));
            for r in resurrected.chain(freed) {
                // SAFETY: we hold a reference.
                unsafe { self.decref(ts, r) };
            }
            garbage = keep;
        }
        // 8. clear, then drop our references
        for &g in &garbage {
            // SAFETY: unreachable garbage we hold; nobody else can reach it.
            unsafe { self.clear_references(ts, g) };
        }
        out.collected = garbage.len();
        for g in garbage {
            // SAFETY: our reference; this frees it.
            unsafe { self.decref(ts, g) };
        }
        let _ = m;
        {
            let mut st = self.gc.stats.lock();
            st.collections[gen] += 1;
            st.examined += out.examined as u64;
            st.collected += out.collected as u64;
            st.resurrected += out.resurrected as u64;
            st.finalizers_run += finalizers_run;
            st.pause_ns.saturating_record(out.pause_ns.max(1));
            if P::FREE_THREADED {
                st.time_to_safepoint_ns.saturating_record(tts.max(1));
            }
        }
        out.time_to_safepoint_ns = tts;
        out
    }

    /// Resets the triggers and (generational mode) moves the candidates of
    /// a collection of `gen` to the next generation.
    fn after_collection(&self, gen: usize, cands: &[*mut ObjHeader<P>], survivors: usize) {
        match self.gc.config.mode {
            GcMode::PoolWalk => {
                self.gc.count.store(0, Ordering::Relaxed);
                self.gc
                    .survivors
                    .store(survivors as isize, Ordering::Relaxed);
            }
            GcMode::Generational => {
                let target = (gen + 1).min(2);
                let _ = cands;
                // SAFETY: under the GIL; every node on lists 0..=gen moves
                // (candidates, and dead objects waiting for deallocation),
                // except survivors that are tuples no cycle can pass through
                // (untracked, as CPython 3.11's `untrack_tuples`).
                self.gc.gens.with_mut(|g| unsafe {
                    let gens = &mut *g;
                    let mut all = Vec::new();
                    for l in gens.iter_mut().take(gen + 1) {
                        let mut o = l.head;
                        while !o.is_null() {
                            all.push(o);
                            o = (*gc_head(o)).next;
                        }
                        l.head = ptr::null_mut();
                        l.count = 0;
                    }
                    // Oldest first, as CPython 3.11's lists run: its
                    // `untrack_tuples` over the survivors sees a tuple's
                    // items (older) before the tuple.
                    for o in all.into_iter().rev() {
                        if (*o).kind == Kind::Tuple
                            && (*o).gc_flags() & gc_bits::UNREACHABLE == 0
                            && (*o).rc_total() > 0
                            && tuple_may_untrack(o)
                        {
                            let g = gc_head(o);
                            (*g).next = ptr::null_mut();
                            (*g).prev = ptr::null_mut();
                            (*o).set_gc_flags((*o).gc_flags() & !gc_bits::TRACKED);
                            continue;
                        }
                        gen_push(gens, target, o);
                    }
                });
                let mut counts = self.gc.gen_counts.lock();
                self.gc.count.store(0, Ordering::Relaxed);
                if gen < 2 {
                    counts[gen + 1] += 1;
                }
                for c in counts.iter_mut().take(gen + 1).skip(1) {
                    *c = 0;
                }
                if gen == 1 {
                    counts[0] += survivors; // long-lived pending
                }
                if gen == 2 {
                    counts[0] = 0;
                    self.gc
                        .survivors
                        .store(survivors as isize, Ordering::Relaxed);
                }
            }
        }
    }
}

impl<'h, P: Policy> Mutator<'h, P> {
    /// `gc.collect()`: a full collection (the oldest generation). Returns
    /// what it did; `ran` is false when another thread's collection ran
    /// instead.
    pub fn collect(&self) -> CollectOutcome {
        self.heap().collect_generation(self, FULL)
    }

    /// Collects one generation (generational mode; pool-walk mode ignores
    /// `gen` and collects everything, recorded as generation 2).
    pub fn collect_generation(&self, gen: usize) -> CollectOutcome {
        let gen = match self.heap().gc.config.mode {
            GcMode::PoolWalk => FULL,
            GcMode::Generational => gen.min(2),
        };
        self.heap().collect_generation(self, gen)
    }
}
