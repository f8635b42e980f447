//! Young objects: allocation in the nursery ([`super::nursery`]), the write
//! barrier, and the minor collection, as named phases (a Cheney-style copy
//! with a work stack, every survivor promoted into the pools):
//!
//! 0. **precondition**: the collecting thread holds the GIL (a minor
//!    collection runs inside an allocation that found the nursery full, or
//!    at the start of a full collection with the world stopped) and no pin
//!    is held. Every attached thread is parked; threads that are not
//!    attached may only empty handle slots (drop `Ref`s).
//! 1. **walk** the nursery: young objects with a finalizer or marked
//!    immortal are roots (promoted whatever reaches them); young lists are
//!    noted (a dead one's item array is freed in 5).
//! 2. **roots**: every handle-table slot naming a young object is set to
//!    its copy (`Counts::move_roots`: a compare-and-swap, so a slot emptied
//!    meanwhile stays empty).
//! 3. **remembered set**: each old container the write barrier listed has
//!    its young items replaced by their copies; its `REMEMBERED` bit is
//!    cleared.
//! 4. **transitive**: each copy is scanned in turn and its young items
//!    replaced the same way, until the work stack is empty. *After*: no
//!    root and no old object refers into the nursery.
//! 5. **the dead**: young lists that were not copied release their item
//!    arrays; the nursery is emptied (poisoned in debug builds). The
//!    promoted bytes count towards the full collection's trigger.
//!
//! Copying a young object: a block of its size class from the pools (as an
//! allocation would, but not counted as one: the object was counted when
//! it was born), its bytes copied, `class` set to the pool's; the old place
//! gets [`FORWARDED_CLASS`] and the copy's address at [`fwd_offset`]. A
//! finalizer registered for the old address moves with it.
//!
//! Why no reference is left dangling: see `heap::refs` (module docs). The
//! barrier is compiled only for the count-free policies (`Counts::TRACED`)
//! and costs one range compare without a nursery (the range is empty).

use super::nursery::{fwd_offset, young_span, FORWARDED_CLASS, MAX_YOUNG, NURSERY_CLASS};
use crate::alloc::{size_class, Domain};
use crate::heap::{Heap, ThreadState};
use crate::object::{gc_bits, header_bytes, tuple_items, tuple_size, Kind, ListObj, ObjHeader};
use crate::policy::{Counts, Front, ObjAddr, Policy};
use std::ptr;
use std::time::Instant;

impl<P: Policy> Heap<P> {
    /// A young block for an object of `size` bytes (`TRACED` policies'
    /// allocation path), or None: no nursery, too large, or the nursery
    /// full while no minor collection may run (the caller then allocates
    /// in the pools). May run a minor collection.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; the caller holds no
    /// address of a young object across the call but through a `Ref`.
    #[inline(always)]
    pub(crate) unsafe fn young_block(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Option<*mut u8> {
        let n = &self.trace.nursery;
        // Without a nursery: one load and one branch.
        if !n.enabled() || size > MAX_YOUNG {
            return None;
        }
        match n.bump(young_span::<P>(size)) {
            Some(b) => Some(b),
            // SAFETY: forwarded.
            None => unsafe { self.young_block_slow(ts, size) },
        }
    }

    /// The nursery is full: a minor collection, then the bump again.
    ///
    /// # Safety
    /// As `young_block`.
    #[cold]
    #[inline(never)]
    unsafe fn young_block_slow(&self, ts: *mut ThreadState<P>, size: usize) -> Option<*mut u8> {
        let n = &self.trace.nursery;
        if n.pinned() || !self.gc.is_enabled() || !self.promotion_fits() {
            return None;
        }
        // SAFETY: attached under the GIL (the nursery exists only under a
        // GIL policy), no pin held; the caller holds no young address.
        unsafe { self.minor_collect(ts) };
        n.bump(young_span::<P>(size))
    }

    /// Whether the memory limit (`--max-heap`) leaves room to promote
    /// everything in the nursery: a minor collection cannot stop halfway
    /// (some references moved, some not), so it runs only when the worst
    /// case fits: every young byte survives, plus an eighth for pool
    /// headers and a 2 MiB margin for arena granularity. Otherwise young
    /// objects stay where they are (allocation goes to the pools, and the
    /// full collection treats the nursery as old space that does not move).
    pub(crate) fn promotion_fits(&self) -> bool {
        let b = self.mem.budget();
        match b.limit() {
            None => true,
            Some(l) => {
                let used = self.trace.nursery.used();
                l.saturating_sub(b.reserved()) >= used + used / 8 + (2 << 20)
            }
        }
    }

    /// The write barrier: `container` (a live object) now refers to
    /// `item`. An old container receiving a young item joins the
    /// remembered set (once).
    #[inline(always)]
    pub(crate) fn write_barrier(&self, container: *mut ObjHeader<P>, item: *mut ObjHeader<P>) {
        let n = &self.trace.nursery;
        if n.contains(item as *const u8) && !n.contains(container as *const u8) {
            self.remember(container);
        }
    }

    #[cold]
    #[inline(never)]
    fn remember(&self, o: *mut ObjHeader<P>) {
        // SAFETY: a live object; its GC bits are written only by the GIL
        // holder (we are it: the nursery exists only under the GIL).
        unsafe {
            let f = (*o).gc_flags();
            if f & gc_bits::REMEMBERED == 0 {
                (*o).set_gc_flags(f | gc_bits::REMEMBERED);
                self.trace.nursery.remember(o as ObjAddr);
            }
        }
    }

    /// A tuple was filled with `len` items (of `n` promised) while the
    /// nursery was pinned: an old tuple with young items joins the
    /// remembered set; a young one shorter than its block leaves a dead
    /// leaf in the gap, so the nursery can still be walked.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `obj` is the tuple,
    /// its header and first `len` items written, in a block made for `n`.
    pub(crate) unsafe fn young_tuple_done(
        &self,
        ts: *mut ThreadState<P>,
        obj: *mut ObjHeader<P>,
        n: usize,
        len: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            if !self.trace.nursery.contains(obj as *const u8) {
                let items = tuple_items(obj);
                for i in 0..len {
                    self.write_barrier(obj, *items.add(i));
                }
                return;
            }
            let used = young_span::<P>(tuple_size::<P>(len));
            let gap = young_span::<P>(tuple_size::<P>(n)) - used;
            if gap > 0 {
                // A multiple of the step, at least one: a leaf of exactly
                // that span (`young_span`), counted as an allocation since
                // the minor collection counts it among the dead.
                let filler = (obj as *mut u8).add(used);
                let payload = (gap - header_bytes::<P>()) as u32;
                self.init_header(ts, filler, NURSERY_CLASS, Kind::Leaf, payload);
                (*ts).allocations += 1;
            }
        }
    }

    /// One minor collection (module docs). Records its pause.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state and it holds the GIL (or
    /// has stopped the world); no nursery pin is held; no raw address of a
    /// young object is held outside the heap but in handle slots.
    pub(crate) unsafe fn minor_collect(&self, ts: *mut ThreadState<P>) {
        let n = &self.trace.nursery;
        if n.used() == 0 {
            return;
        }
        debug_assert!(!n.pinned(), "a minor collection with a pin held");
        let start = Instant::now();
        // 1. walk
        let mut lists = Vec::new();
        let mut young_roots = Vec::new();
        let mut young = 0u64;
        // SAFETY: GIL held, no pin, so no allocation is half made.
        unsafe {
            n.for_each_young::<P>(|o| {
                young += 1;
                let f = (*o).gc_flags();
                if f & (gc_bits::IMMORTAL | gc_bits::HAS_FINALIZER) != 0 {
                    young_roots.push(o);
                }
                if (*o).kind == Kind::List {
                    lists.push(o);
                }
            })
        };
        let mut ev = Evacuation {
            heap: self,
            ts,
            work: Vec::new(),
            promoted: 0,
            bytes: 0,
        };
        for o in young_roots {
            // SAFETY: a young object of this heap, GIL held.
            unsafe { ev.forward(o) };
        }
        // 2. roots
        <P::Counts as Counts>::move_roots(&self.counts, &mut |a| {
            // SAFETY: a live slot names a live object of this heap.
            unsafe { ev.forward(ObjHeader::<P>::from_addr(a)) as ObjAddr }
        });
        // 3. remembered set
        for o in n.take_remembered() {
            let o = ObjHeader::<P>::from_addr(o);
            // SAFETY: an old container, live: the remembered set is emptied
            // by every minor collection, and a full collection (which frees
            // old objects) runs one first.
            unsafe {
                (*o).set_gc_flags((*o).gc_flags() & !gc_bits::REMEMBERED);
                ev.fix_children(o);
            }
        }
        // 4. transitive
        while let Some(o) = ev.work.pop() {
            // SAFETY: a copy made by `forward`, a live old object.
            unsafe { ev.fix_children(o) };
        }
        // 5. the dead
        let (promoted, bytes) = (ev.promoted, ev.bytes);
        for l in lists {
            // SAFETY: young objects, forwarded or dead; a dead list's item
            // array is owned by nobody else.
            unsafe {
                if (*l).class == NURSERY_CLASS {
                    let l = l as *mut ListObj<P>;
                    if (*l).cap > 0 {
                        let size = (*l).cap * std::mem::size_of::<usize>();
                        self.free_raw(ts, (*l).items as *mut u8, size);
                    }
                }
            }
        }
        let died = young - promoted;
        // SAFETY: our state.
        unsafe {
            (*ts).frees += died;
        }
        n.reset();
        if bytes > 0 {
            // SAFETY: our attached state.
            unsafe { self.trace_allocated(ts, bytes) };
        }
        let pause_ns = start.elapsed().as_nanos() as u64;
        {
            let mut s = n.stats.lock();
            s.minor_collections += 1;
            s.promoted_objects += promoted;
            s.promoted_bytes += bytes as u64;
            s.died_young += died;
        }
        let mut st = self.gc.stats.lock();
        st.collections[0] += 1;
        st.examined += young;
        st.collected += died;
        st.pause_ns.saturating_record(pause_ns.max(1));
    }

    /// Young objects now (for the verifier): calls `f` with each.
    ///
    /// # Safety
    /// The heap is quiescent (or the GIL held with no allocation half made).
    pub(crate) unsafe fn for_each_young_object(&self, f: impl FnMut(*mut ObjHeader<P>)) {
        // SAFETY: the caller's contract.
        unsafe { self.trace.nursery.for_each_young::<P>(f) }
    }
}

/// One minor collection's copying state.
struct Evacuation<'a, P: Policy> {
    heap: &'a Heap<P>,
    ts: *mut ThreadState<P>,
    /// Copies whose items are still to be fixed.
    work: Vec<*mut ObjHeader<P>>,
    promoted: u64,
    bytes: usize,
}

impl<P: Policy> Evacuation<'_, P> {
    /// Where `o` lives after this collection: itself when old, its copy
    /// when young (made now if it was not yet).
    ///
    /// # Safety
    /// `o` is a live object of the heap; the minor collection's
    /// precondition holds.
    unsafe fn forward(&mut self, o: *mut ObjHeader<P>) -> *mut ObjHeader<P> {
        let heap = self.heap;
        if !heap.trace.nursery.contains(o as *const u8) {
            return o;
        }
        let fwd = (o as *mut u8).wrapping_add(fwd_offset::<P>()) as *mut *mut ObjHeader<P>;
        // SAFETY: a young object: its header, and its span holds the
        // forwarding word (`young_span`, `header_fits`).
        unsafe {
            if (*o).class == FORWARDED_CLASS {
                return fwd.read();
            }
            let size = (*o).object_size();
            let class = size_class(size);
            let block = <P::Front as Front>::alloc_block(
                &heap.front,
                &heap.mem,
                &mut (*self.ts).front,
                Domain::Object,
                class,
            )
            .unwrap_or_else(|e| panic!("promoting a young object: {e:?}"));
            ptr::copy_nonoverlapping(o as *const u8, block, size);
            let new = block as *mut ObjHeader<P>;
            ptr::addr_of_mut!((*new).class).write(class as u8);
            ptr::addr_of_mut!((*o).class).write(FORWARDED_CLASS);
            fwd.write(new);
            if (*new).gc_flags() & gc_bits::HAS_FINALIZER != 0 {
                let mut fin = heap.gc.finalizers.lock();
                if let Some(f) = fin.remove(&(o as usize)) {
                    fin.insert(new as usize, f);
                }
            }
            if (*new).kind.is_container() {
                self.work.push(new);
            }
            self.promoted += 1;
            self.bytes += size;
            new
        }
    }

    /// Replaces the young items of container `o` by their copies.
    ///
    /// # Safety
    /// `o` is a live old object; the minor collection's precondition holds.
    unsafe fn fix_children(&mut self, o: *mut ObjHeader<P>) {
        // SAFETY: the caller's contract; the slots are the container's own.
        unsafe {
            let (slots, len) = match (*o).kind {
                Kind::Leaf => return,
                Kind::Tuple => (tuple_items(o), (*o).len as usize),
                Kind::List => {
                    let l = o as *mut ListObj<P>;
                    ((*l).items, (*l).len)
                }
            };
            for i in 0..len {
                let s = slots.add(i);
                let c = *s;
                if !c.is_null() && self.heap.trace.nursery.contains(c as *const u8) {
                    *s = self.forward(c);
                }
            }
        }
    }
}
