//! Finalizers (PEP 442) and clearing references (CPython's `tp_clear`).
//!
//! A finalizer runs at most once per object: when the object dies by
//! reference counting (with the object temporarily alive again), or when the
//! collector finds it in garbage (with the world running, so it may
//! allocate). What a finalizer stores a reference to is resurrected; what
//! it disconnects from the garbage is freed by its count, uncounted
//! ([`Heap::freed_by_counts`]).

use super::Finalizer;
use crate::heap::{Heap, Mutator, Ref, ThreadState};
use crate::object::{for_each_child, gc_bits, gc_head, tuple_items, Kind, ListObj, ObjHeader};
use crate::policy::{Counts, Policy};
use std::ptr;

impl<P: Policy> Heap<P> {
    /// Releases an object's references (CPython's `tp_clear`): the
    /// collector's clear phase, and deallocation before the block is freed.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `o` is a live object of
    /// this heap that nobody else uses now (dead, or garbage held by the
    /// collector).
    #[inline(always)]
    pub(crate) unsafe fn clear_references(&self, ts: *mut ThreadState<P>, o: *mut ObjHeader<P>) {
        // SAFETY: the caller's contract.
        unsafe {
            match (*o).kind {
                Kind::Leaf => {}
                Kind::Tuple => {
                    let items = tuple_items(o);
                    for i in 0..(*o).len as usize {
                        let c = *items.add(i);
                        if !c.is_null() {
                            *items.add(i) = ptr::null_mut();
                            self.decref(ts, c);
                        }
                    }
                }
                Kind::List => {
                    let l = o as *mut ListObj<P>;
                    let (items, len, cap) = ((*l).items, (*l).len, (*l).cap);
                    (*l).items = ptr::null_mut();
                    (*l).len = 0;
                    (*l).cap = 0;
                    for i in 0..len {
                        self.decref(ts, *items.add(i));
                    }
                    if cap > 0 {
                        self.free_raw(ts, items as *mut u8, cap * std::mem::size_of::<usize>());
                    }
                }
            }
        }
    }

    /// Runs `obj`'s finalizer (once) with `r`, a reference to it.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by a live mutator
    /// of this heap; `r` is a counted reference to `obj`.
    pub(crate) unsafe fn run_finalizer(
        &self,
        ts: *mut ThreadState<P>,
        obj: *mut ObjHeader<P>,
        r: Ref<'_, P>,
    ) {
        // SAFETY: `r` keeps the object alive.
        unsafe { (*obj).set_gc_flags((*obj).gc_flags() | gc_bits::FINALIZED) };
        let f = self.gc.finalizers.lock().remove(&(obj as usize));
        match f {
            Some(f) => {
                // SAFETY: `ts` is this thread's attached state, owned by the
                // mutator that called into the heap; the view stays wrapped.
                let m = unsafe { Mutator::borrowed(self, ts) };
                f(&m, r);
            }
            None => drop(r),
        }
    }

    /// An object with a finalizer reached zero (not through the collector):
    /// PEP 442 runs the finalizer with the object temporarily alive. Returns
    /// true when the finalizer ran (it then owns the object's fate: dropping
    /// its reference frees it, keeping one resurrects it).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `obj` is an object of
    /// this heap whose count just reached zero, which nobody else refers to.
    pub(crate) unsafe fn run_finalizer_on_zero(
        &self,
        ts: *mut ThreadState<P>,
        obj: *mut ObjHeader<P>,
    ) -> bool {
        // SAFETY: the object is dead and ours.
        unsafe {
            if (*obj).gc_flags() & gc_bits::FINALIZED != 0 {
                return false;
            }
            // A fresh count of one, owned by us: nobody else refers to it.
            ptr::write(
                &mut (*obj).rc,
                <P::Counts as Counts>::word_new(&(*ts).counts),
            );
            let r = Ref::from_raw(self, obj);
            self.run_finalizer(ts, obj, r);
        }
        true
    }
}

impl<P: Policy> Heap<P> {
    /// What CPython 3.11 frees by reference count while finalizers run:
    /// it holds a reference only to the object being finalized, so garbage
    /// that a finalizer disconnects dies at once, and is not counted as
    /// collected. We hold one to every garbage object (a garbage object
    /// freed under us would leave a dangling pointer in the garbage set, its
    /// block perhaps reused by a finalizer's allocation, and under biased
    /// counts its last decrement may be queued to another thread), so after
    /// the finalizers we find, with the world stopped, what those counts
    /// would have freed: the objects of `still` that only the collector
    /// holds, then those only they and the collector held, and so on (a
    /// cycle never qualifies). Returned in an order where each object's
    /// referrers come before it, so releasing our references in that order
    /// frees each by its count.
    ///
    /// # Safety
    /// The world is stopped; `still` are live objects of this heap, each
    /// with `held` references held by the collector and no other referrer
    /// outside `still` (`find_unreachable` with `held` returned them).
    pub(super) unsafe fn freed_by_counts(
        &self,
        still: &[*mut ObjHeader<P>],
        held: isize,
    ) -> Vec<*mut ObjHeader<P>> {
        // SAFETY: the caller's contract: live, and nobody else runs.
        unsafe {
            for &o in still {
                (*o).set_gc_flags((*o).gc_flags() | gc_bits::CANDIDATE);
                (*gc_head(o)).refs = (*o).rc_total() - held;
            }
            let mut stack: Vec<_> = still
                .iter()
                .copied()
                .filter(|&o| (*gc_head(o)).refs == 0)
                .collect();
            let mut freed = Vec::new();
            while let Some(o) = stack.pop() {
                freed.push(o);
                for_each_child(o, |c| {
                    if (*c).gc_flags() & gc_bits::CANDIDATE != 0 {
                        let g = gc_head(c);
                        (*g).refs -= 1;
                        if (*g).refs == 0 {
                            stack.push(c);
                        }
                    }
                });
            }
            for &o in still {
                (*o).set_gc_flags((*o).gc_flags() & !gc_bits::CANDIDATE);
            }
            freed
        }
    }
}

impl<'h, P: Policy> Mutator<'h, P> {
    /// Registers a finalizer for `r` (PEP 442: runs at most once, when the
    /// object dies by reference counting or is found in garbage).
    pub fn set_finalizer(&self, r: &Ref<'h, P>, f: Finalizer<P>) {
        let obj = r.as_ptr();
        self.heap().gc.finalizers.lock().insert(obj as usize, f);
        // SAFETY: we hold a reference; flag bits are relaxed atomics.
        unsafe { (*obj).set_gc_flags((*obj).gc_flags() | gc_bits::HAS_FINALIZER) };
    }
}
