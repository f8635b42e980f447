//! `Mutator<P>`: one thread's handle on a heap (CPython's thread state as a
//! Python program uses it). Every heap operation goes through it: allocation
//! here, list operations in [`super::list`], collection in [`super::gc`].

use super::thread::{set_current_ctx, NotSend, ThreadCtx, ThreadState};
use super::{Heap, Ref};
use crate::object::{header_bytes, leaf_size, list_size, tuple_items, tuple_size, Kind, ListObj};
use crate::policy::{Counts, Front, Interp, ObjAddr, Policy, RcCounters};
use crate::HeapError;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr;

impl<P: Policy> Heap<P> {
    /// Attaches the calling thread (waits for the GIL, or for a stopped world).
    pub fn attach(&self) -> Mutator<'_, P> {
        let interp = <P::Interp as Interp>::attach(&self.interp);
        let counts = <P::Counts as Counts>::attach(&self.counts);
        let front = <P::Front as Front>::attach(&self.front);
        let ts = Box::into_raw(Box::new(ThreadState::<P> {
            ctx: ThreadCtx {
                heap: self as *const Self as usize,
                attached: true,
            },
            interp,
            counts,
            front,
            trash_depth: 0,
            trash: Vec::new(),
            allocations: 0,
            frees: 0,
            gc_delta: 0,
            qsbr: self.qsbr.register(),
            trace_bytes: 0,
            prev_ctx: ptr::null_mut(),
        }));
        if P::OPTIMISTIC_READS {
            // SAFETY: just made, ours.
            unsafe { <P::Front as Front>::hold_empty_object_pools(&mut (*ts).front) };
        }
        // SAFETY: just made; the thread-local points at its head.
        unsafe { (*ts).prev_ctx = set_current_ctx(ts as *mut ThreadCtx) };
        // SAFETY: `ts` is this thread's new attached state, owned by the
        // mutator from here on.
        let m = unsafe { Mutator::owning(self, ts) };
        m.apply_pending();
        if P::OPTIMISTIC_READS && self.qsbr.has_work(&m.ts_ref().qsbr) {
            // Blocks orphaned by exited threads (the leak check attaches).
            // SAFETY: our attached state, reading nothing.
            unsafe { self.qsbr_poll(ts) };
        }
        m
    }
}

/// One thread's handle on a heap. Not `Send`: it is the thread's attachment.
pub struct Mutator<'h, P: Policy> {
    pub(super) heap: &'h Heap<P>,
    pub(super) ts: *mut ThreadState<P>,
    _not_send: NotSend,
}

impl<'h, P: Policy> Mutator<'h, P> {
    /// The mutator that owns `ts`: dropping it detaches the thread.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, just made by `attach`,
    /// and no other mutator owns it.
    pub(super) unsafe fn owning(heap: &'h Heap<P>, ts: *mut ThreadState<P>) -> Self {
        Mutator {
            heap,
            ts,
            _not_send: PhantomData,
        }
    }

    /// A view of an attached thread state that this handle does not own (for
    /// finalizers run from inside the heap). It comes wrapped in
    /// `ManuallyDrop`, since dropping it would detach a thread it does not
    /// own.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by a live mutator
    /// of `heap` on this thread, and outlives the view; the view is never
    /// taken out of its `ManuallyDrop`.
    pub(crate) unsafe fn borrowed(
        heap: &'h Heap<P>,
        ts: *mut ThreadState<P>,
    ) -> ManuallyDrop<Self> {
        ManuallyDrop::new(Mutator {
            heap,
            ts,
            _not_send: PhantomData,
        })
    }

    pub fn heap(&self) -> &'h Heap<P> {
        self.heap
    }

    #[inline(always)]
    pub(crate) fn ts(&self) -> *mut ThreadState<P> {
        self.ts
    }

    #[inline(always)]
    pub(super) fn check_attached(&self) {
        debug_assert!(
            // SAFETY: our own state.
            unsafe { (*self.ts).ctx.attached },
            "heap operation inside allow_threads"
        );
        debug_assert!(
            // SAFETY: our own state.
            <P::Interp as Interp>::may_write(&self.heap.interp, unsafe { &(*self.ts).interp }),
            "heap write without the GIL"
        );
    }

    /// A leaf object with a copy of `payload` (an int, a string, bytes).
    /// Inlined: the payload's length is often known at the call site, and a
    /// call would save and restore registers around a path of a few dozen
    /// instructions.
    #[inline(always)]
    pub fn alloc_leaf(&self, payload: &[u8]) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        let len = u32::try_from(payload.len()).map_err(|_| HeapError::too_large(payload.len()))?;
        let size = leaf_size::<P>(payload.len());
        // SAFETY: attached; the block is fresh and `size` bytes long.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, size)?;
            let obj = self
                .heap
                .init_header(self.ts, block, class, Kind::Leaf, len);
            copy_payload(payload, block.add(header_bytes::<P>()));
            Ok(Ref::from_raw_in(self.heap, self.ts, obj))
        }
    }

    /// A leaf holding a little-endian i64 (a Python int).
    pub fn alloc_int(&self, v: i64) -> Result<Ref<'h, P>, HeapError> {
        self.alloc_leaf(&v.to_le_bytes())
    }

    /// The value of an int leaf.
    pub fn int_value(&self, r: &Ref<'h, P>) -> Result<i64, HeapError> {
        // SAFETY: nothing allocates while the slice lives.
        let b = unsafe { self.leaf_slice(r, "int_value")? };
        let arr: [u8; 8] = b
            .try_into()
            .map_err(|_| HeapError::wrong_type("int_value", "int (8-byte leaf)", "leaf"))?;
        Ok(i64::from_le_bytes(arr))
    }

    /// A tuple that takes ownership of `items` (a `Vec`, any iterator that
    /// knows its length): no temporary collection is made for it. For a
    /// fixed number of items, [`Mutator::alloc_tuple_array`] is cheaper
    /// (no iterator state, nothing left to drop).
    #[inline]
    pub fn alloc_tuple<I>(&self, items: I) -> Result<Ref<'h, P>, HeapError>
    where
        I: IntoIterator<Item = Ref<'h, P>>,
        I::IntoIter: ExactSizeIterator,
    {
        self.check_attached();
        let mut items = items.into_iter();
        // `len` is a promise of a safe trait, so it sizes the block but is
        // not trusted beyond that: a shorter iterator makes a shorter tuple,
        // and items past the promised length are dropped.
        let n = items.len();
        // SAFETY: attached; the block holds the prefix and `n` item slots,
        // of which exactly `len` are written before the tuple is seen by
        // anyone.
        unsafe {
            let obj = self.new_tuple(n)?;
            // Under a nursery, no minor collection while the iterator runs
            // (it may allocate): the tuple is not yet rooted.
            let pin = (<P::Counts as Counts>::TRACED && self.heap.trace.nursery_on())
                .then(|| self.heap.trace.nursery.pin());
            let slots = tuple_items(obj);
            // Under a tracing policy taking an item may collect (a refused
            // allocation collects before it fails: `heap::trace::oom`), so
            // the tuple is rooted, its slots null, before the first.
            let rooted = <P::Counts as Counts>::TRACED.then(|| {
                (0..n).for_each(|i| *slots.add(i) = ptr::null_mut());
                Ref::from_raw_in(self.heap, self.ts, obj)
            });
            let mut len = 0;
            for r in items.by_ref().take(n) {
                *slots.add(len) = r.into_raw();
                len += 1;
            }
            if pin.is_some() {
                self.heap.young_tuple_done(self.ts, obj, n, len);
            }
            (*obj).len = len as u32;
            drop(pin);
            let tuple = match rooted {
                Some(tuple) => {
                    self.heap.gc_track(self.ts, obj);
                    tuple
                }
                None => self.track_tuple(obj),
            };
            drop(items);
            Ok(tuple)
        }
    }

    /// A tuple of exactly `N` items, taking ownership of them (CPython's
    /// `PyTuple_Pack`; `alloc_tuple_array([l, r])`). Same object as
    /// [`Mutator::alloc_tuple`] makes, without an iterator: the items move
    /// straight from the array into the slots.
    #[inline]
    pub fn alloc_tuple_array<const N: usize>(
        &self,
        items: [Ref<'h, P>; N],
    ) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        // SAFETY: attached; the block holds the prefix and `N` item slots,
        // all written before the tuple is seen by anyone. On failure the
        // items are still the array's and are dropped with it.
        unsafe {
            let obj = self.new_tuple(N)?;
            let items = ManuallyDrop::new(items);
            let slots = tuple_items(obj);
            for i in 0..N {
                // Each item is read out once; the array is never dropped.
                *slots.add(i) = ptr::read(&items[i]).into_raw();
            }
            // Under a nursery the block may be old (the nursery full or
            // pinned) while its items are young: the write barrier sees them.
            if <P::Counts as Counts>::TRACED && self.heap.trace.nursery_on() {
                self.heap.young_tuple_done(self.ts, obj, N, N);
            }
            Ok(self.track_tuple(obj))
        }
    }

    /// A new tuple block of `n` slots, header and GC head written, the
    /// slots not (the caller fills them, then calls `track_tuple`).
    ///
    /// # Safety
    /// Attached; the caller writes the slots (and `len`, if fewer) before
    /// the tuple is seen by anyone.
    #[inline(always)]
    unsafe fn new_tuple(&self, n: usize) -> Result<*mut crate::object::ObjHeader<P>, HeapError> {
        let size = tuple_size::<P>(n);
        // SAFETY: the caller's contract; the block is fresh and `size` bytes.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, size)?;
            let obj = self
                .heap
                .init_header(self.ts, block, class, Kind::Tuple, n as u32);
            crate::object::gc_head(obj).write(crate::object::GcHead {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                refs: 0,
            });
            Ok(obj)
        }
    }

    /// Tracks a filled tuple and hands out the reference to it.
    ///
    /// # Safety
    /// `obj` came from `new_tuple` and its slots are written.
    #[inline(always)]
    unsafe fn track_tuple(&self, obj: *mut crate::object::ObjHeader<P>) -> Ref<'h, P> {
        // SAFETY: the caller's contract.
        unsafe {
            self.heap.gc_track(self.ts, obj);
            Ref::from_raw_in(self.heap, self.ts, obj)
        }
    }

    /// A tuple of new references to `items`.
    pub fn tuple_of(&self, items: &[&Ref<'h, P>]) -> Result<Ref<'h, P>, HeapError> {
        self.alloc_tuple(items.iter().map(|r| (*r).clone()))
    }

    /// An empty list.
    pub fn alloc_list(&self) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        // SAFETY: attached; a fresh block the size of a list.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, list_size::<P>())?;
            let obj = self.heap.init_header(self.ts, block, class, Kind::List, 0);
            crate::object::gc_head(obj).write(crate::object::GcHead {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                refs: 0,
            });
            let l = obj as *mut ListObj<P>;
            ptr::addr_of_mut!((*l).len).write(0);
            ptr::addr_of_mut!((*l).cap).write(0);
            ptr::addr_of_mut!((*l).items).write(ptr::null_mut());
            self.heap.gc_track(self.ts, obj);
            Ok(Ref::from_raw_in(self.heap, self.ts, obj))
        }
    }

    /// A list holding `items` (ownership moves in).
    pub fn list_of(&self, items: Vec<Ref<'h, P>>) -> Result<Ref<'h, P>, HeapError> {
        let l = self.alloc_list()?;
        for it in items {
            self.append(&l, it)?;
        }
        Ok(l)
    }

    /// The eval breaker: serves GIL drop requests, stop-the-world requests,
    /// merge queues, deferred decrefs and collection triggers.
    #[inline(always)]
    pub fn checkpoint(&self) {
        if P::OPTIMISTIC_READS {
            // SAFETY: our own state; a checkpoint holds no pointer into an
            // item array.
            unsafe { self.qsbr_checkpoint() };
        }
        // SAFETY: our own state.
        let ts = unsafe { &*self.ts };
        // `|`, not `||`: every flag is one relaxed load, so reading them all
        // and branching once is cheaper than a branch after each (the eval
        // breaker CPython folds into one word).
        if <P::Interp as Interp>::checkpoint_pending(&self.heap.interp, &ts.interp)
            | <P::Counts as Counts>::checkpoint_pending(&ts.counts)
            | self.heap.has_pending()
            | self.wants_collection()
        {
            self.checkpoint_slow();
        }
    }

    /// QSBR at a checkpoint: a quiescent state (a store only when the
    /// write sequence moved), and a poll when something waits.
    ///
    /// # Safety
    /// Called at a checkpoint of this mutator's thread.
    #[inline(always)]
    unsafe fn qsbr_checkpoint(&self) {
        let ts = self.ts;
        // SAFETY: our own state; the borrow ends before the poll.
        let work = unsafe {
            self.heap.qsbr.quiescent(&mut (*ts).qsbr);
            self.heap.qsbr.has_work(&(*ts).qsbr)
        };
        if work {
            // SAFETY: as above.
            unsafe { self.heap.qsbr_poll(ts) };
        }
    }

    #[inline(always)]
    fn ts_ref(&self) -> &ThreadState<P> {
        // SAFETY: our own state, live as long as the mutator.
        unsafe { &*self.ts }
    }

    #[cold]
    #[inline(never)]
    fn checkpoint_slow(&self) {
        let ts = self.ts;
        let heap = self.heap;
        // SAFETY: our own attached state.
        unsafe {
            <P::Interp as Interp>::checkpoint_slow(&heap.interp, &mut (*ts).interp);
            heap.counts_checkpoint(ts);
            heap.apply_pending(ts);
        }
        if <P::Counts as Counts>::TRACED {
            self.heap.trace_collect_if_due(self);
        } else if self.heap.gc.wants_collection() {
            self.heap.collect_if_due(self);
        }
    }

    /// The due flag of the policy's collector (constants decide which).
    #[inline(always)]
    fn wants_collection(&self) -> bool {
        if <P::Counts as Counts>::TRACED {
            self.heap.trace.wants_collection()
        } else {
            self.heap.gc.wants_collection()
        }
    }

    /// Runs `f` with the interpreter released (native code, I/O, a blocking
    /// wait): other threads may take the GIL or stop the world meanwhile.
    /// `Ref`s dropped inside are deferred, not lost.
    pub fn allow_threads<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Reattach<'a, 'h, P: Policy>(&'a Mutator<'h, P>);
        impl<P: Policy> Drop for Reattach<'_, '_, P> {
            fn drop(&mut self) {
                // SAFETY: our own state, released below.
                unsafe { self.0.heap.reacquire_thread(self.0.ts) };
            }
        }
        // SAFETY: our own attached state.
        unsafe { self.heap.release_thread(self.ts) };
        let _back = Reattach(self);
        f()
    }

    /// A new reference to `r`, counted through this mutator: the
    /// reference count alone, with no thread-local look-up (what
    /// CPython's `Py_INCREF` is, the thread id read from a register).
    /// `Ref::clone` does the same after finding the thread's state.
    #[inline(always)]
    pub fn clone_ref(&self, r: &Ref<'h, P>) -> Ref<'h, P> {
        self.check_attached();
        // SAFETY: our attached state; `r` keeps the object alive.
        unsafe {
            <P::Counts as Counts>::incref(r.as_ptr() as ObjAddr, &mut (*self.ts).counts);
            Ref::from_raw_in(self.heap, self.ts, r.as_ptr())
        }
    }

    /// Drops `r` through this mutator (`Py_DECREF`): no thread-local
    /// look-up. Dropping a `Ref` does the same after finding the state.
    #[inline(always)]
    pub fn release(&self, r: Ref<'h, P>) {
        self.check_attached();
        let obj = r.into_raw();
        // SAFETY: our attached state; we give up the reference `r` held.
        unsafe { self.heap.decref(self.ts, obj) }
    }

    /// Applies deferred decrefs now.
    pub fn apply_pending(&self) {
        // SAFETY: our own attached state.
        unsafe { self.heap.apply_pending(self.ts) }
    }

    /// This thread's reference-count counters so far.
    pub fn rc_counters(&self) -> RcCounters {
        // SAFETY: our own state.
        unsafe { (*self.ts).counters() }
    }

    /// Objects this thread allocated minus those it freed (whoever
    /// allocated them).
    pub fn objects_net(&self) -> i64 {
        // SAFETY: our own state.
        unsafe { (*self.ts).allocations as i64 - (*self.ts).frees as i64 }
    }
}

/// Copies a leaf's payload into its new block. Most payloads are a few
/// words (ints, short strings): those are copied with at most two pairs of
/// overlapping word moves instead of a call to `memcpy`.
///
/// # Safety
/// `dst` is valid for `src.len()` bytes of writes and does not overlap `src`.
#[inline(always)]
unsafe fn copy_payload(src: &[u8], dst: *mut u8) {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: the caller's contract; every read and write below stays
    // within the first `n` bytes of `src` and `dst` (the two moves of each
    // pair overlap when `n` is not a multiple of the word).
    unsafe {
        if (8..=16).contains(&n) {
            let a = (s as *const u64).read_unaligned();
            let b = (s.add(n - 8) as *const u64).read_unaligned();
            (dst as *mut u64).write_unaligned(a);
            (dst.add(n - 8) as *mut u64).write_unaligned(b);
        } else if (4..8).contains(&n) {
            let a = (s as *const u32).read_unaligned();
            let b = (s.add(n - 4) as *const u32).read_unaligned();
            (dst as *mut u32).write_unaligned(a);
            (dst.add(n - 4) as *mut u32).write_unaligned(b);
        } else {
            ptr::copy_nonoverlapping(s, dst, n);
        }
    }
}

impl<P: Policy> Drop for Mutator<'_, P> {
    fn drop(&mut self) {
        // SAFETY: we own `ts` (made by `owning`; borrowed views are never
        // dropped) and this thread is attached.
        unsafe { self.heap.detach_for_good(self.ts) }
    }
}
