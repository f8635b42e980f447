//! The object lifecycle's ends: blocks for new objects (and list item
//! arrays), the header written into them, and deallocation when a count
//! reaches zero.
//!
//! Deallocation runs on the thread that dropped the last reference. It is
//! iterative through containers (CPython's "trashcan" at depth 1): the
//! outermost deallocation drains a per-thread stack of dead containers, so
//! dropping a chain of a million objects uses one frame of stack, and a
//! tree's containers cost a push and a pop each instead of a call.

use super::thread::ThreadState;
use super::Heap;
use crate::alloc::{size_class, Domain, OutOfMemory, MAX_SMALL};
use crate::object::{gc_bits, tuple_items, Kind, ObjHeader, LARGE};
use crate::policy::{Counts, Front, ObjAddr, ObjLock, Policy};
use crate::HeapError;
use std::ptr;

impl<P: Policy> Heap<P> {
    /// Drops one reference held by the attached thread `ts`.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; it owns one reference.
    #[inline(always)]
    pub(crate) unsafe fn decref(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe {
            if <P::Counts as Counts>::decref(&self.counts, obj as ObjAddr, &mut (*ts).counts) {
                self.dealloc_cold(ts, obj);
            }
        }
    }

    /// Deallocation off the hot path of `decref`, so that `Ref::drop`
    /// inlines to a few instructions.
    ///
    /// # Safety
    /// As `dealloc`.
    #[cold]
    #[inline(never)]
    unsafe fn dealloc_cold(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe { self.dealloc(ts, obj) }
    }

    /// Deallocates an object whose count reached zero.
    /// Inlined into its callers (the cold `dealloc_cold` among them), so
    /// that the common case, a leaf with no finalizer, is one function from
    /// the last decrement to the block's free list.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; nobody refers to `obj`.
    #[inline(always)]
    pub(crate) unsafe fn dealloc(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded; `ts` is ours.
        unsafe {
            if (*obj).gc_flags() & gc_bits::HAS_FINALIZER != 0
                && self.run_finalizer_on_zero(ts, obj)
            {
                return; // resurrected
            }
            if (*obj).kind == Kind::Leaf {
                // No children: no trashcan, no untracking, straight to the
                // block (what most deallocations are).
                self.free_object(ts, obj);
                return;
            }
            self.dealloc_container(ts, obj);
        }
    }

    /// Deallocates a container: untrack it, release its children, free its
    /// block. CPython's trashcan taken to its limit: the outermost
    /// deallocation on a thread drains a per-thread stack of dead
    /// containers, and a container that dies meanwhile (a tuple's item, a
    /// list's, one a finalizer drops) is untracked and pushed onto the stack
    /// instead of recursed into. Dropping a chain of a million containers
    /// takes one frame, and each container of a tree a push and a pop
    /// instead of a call. Containers are untracked before they wait on the
    /// stack, so a collection that a finalizer runs meanwhile never sees
    /// one.
    ///
    /// # Safety
    /// As `dealloc`.
    #[inline(never)]
    unsafe fn dealloc_container(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded; `ts` is ours; every object on the stack is a
        // dead, untracked container that nobody refers to.
        unsafe {
            self.gc_untrack(ts, obj);
            if (*ts).trash_depth != 0 {
                (*ts).trash.push(obj);
                return;
            }
            (*ts).trash_depth = 1;
            let mut o = obj;
            loop {
                self.release_container(ts, o);
                match (*ts).trash.pop() {
                    Some(next) => o = next,
                    None => break,
                }
            }
            (*ts).trash_depth = 0;
        }
    }

    /// Releases an untracked dead container's children and frees its block.
    ///
    /// # Safety
    /// As `dealloc`; `obj` is a container, already untracked, and a
    /// `dealloc_container` on this thread drains the stack.
    #[inline(always)]
    unsafe fn release_container(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the object is dead and ours to free; see `dealloc`.
        unsafe {
            if (*obj).kind == Kind::Tuple {
                // CPython's `tupledealloc`: each item released in place. The
                // slots need no clearing: the tuple is untracked and nobody
                // refers to it, so no walk or reader can see them.
                let items = tuple_items(obj);
                for i in 0..(*obj).len as usize {
                    let c = *items.add(i);
                    // Null after a collection's clear (`clear_references`).
                    if !c.is_null()
                        && <P::Counts as Counts>::decref(
                            &self.counts,
                            c as ObjAddr,
                            &mut (*ts).counts,
                        )
                    {
                        self.dealloc_item(ts, c);
                    }
                }
            } else {
                // Release the children (CPython's tp_clear, shared with the
                // collector's clear phase).
                self.clear_references(ts, obj);
            }
            self.free_object(ts, obj);
        }
    }

    /// `dealloc` of an item that died while its container is released: a
    /// leaf is freed at once, a container goes onto the stack.
    ///
    /// # Safety
    /// As `release_container`; nobody refers to `c`.
    #[inline(always)]
    unsafe fn dealloc_item(&self, ts: *mut ThreadState<P>, c: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe {
            if (*c).gc_flags() & gc_bits::HAS_FINALIZER != 0 {
                // Finalizer first (it may resurrect); a dead container then
                // reaches the stack through `dealloc_container`.
                self.dealloc_cold(ts, c);
            } else if (*c).kind == Kind::Leaf {
                self.free_object(ts, c);
            } else {
                self.gc_untrack(ts, c);
                (*ts).trash.push(c);
            }
        }
    }

    /// A dead large object under optimistic reads: its block goes back to
    /// the system allocator, which may unmap or reuse it for anything, so a
    /// lock-free reader still trying to count it must be gone first: it is
    /// retired through QSBR like an item array (the header, count word
    /// included, stays as the free left it until then).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `block` is a dead large
    /// object's block.
    #[cold]
    unsafe fn retire_large_object(&self, ts: *mut ThreadState<P>, block: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe {
            let size = crate::alloc::LargeList::size_of(block);
            debug_assert!(size > MAX_SMALL, "a large block frees as a large one");
            self.mem.large().retire_object(block);
            self.qsbr.retire(&mut (*ts).qsbr, block, size);
        }
    }

    /// Frees an object's block (no children, no counts).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `obj` is dead, released
    /// its children, and nobody refers to it.
    #[inline(always)]
    pub(crate) unsafe fn free_object(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the caller's contract: a dead object of ours.
        unsafe {
            let class = (*obj).class;
            // Only where the header has drop glue: `drop_in_place` takes
            // the header as `&mut`, which under optimistic reads races with
            // a reader's try-incref still looking at the count word (Miri's
            // data-race check sees the retag as a write). The headers of
            // today's policies have none, so nothing runs and nothing races.
            if std::mem::needs_drop::<ObjHeader<P>>() {
                ptr::drop_in_place(obj);
            }
            (*ts).frees += 1;
            if class == LARGE {
                if P::OPTIMISTIC_READS {
                    self.retire_large_object(ts, obj as *mut u8);
                } else {
                    self.mem.free_large(obj as *mut u8);
                }
            } else {
                <P::Front as Front>::free_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    obj as *mut u8,
                    Domain::Object,
                    class as usize,
                );
            }
        }
    }

    /// Allocates a block for an object of `size` bytes; returns it with its
    /// class (or LARGE).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    #[inline(always)]
    pub(super) unsafe fn alloc_object_block(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Result<(*mut u8, u8), HeapError> {
        // SAFETY: `ts` is the calling thread's attached state.
        unsafe {
            (*ts).allocations += 1;
            if <P::Counts as Counts>::TRACED {
                // The nursery first (none: one compare), see `trace::minor`.
                if let Some(b) = self.young_block(ts, size) {
                    return Ok((b, crate::heap::trace::nursery::NURSERY_CLASS));
                }
                self.trace_allocated(ts, size);
            }
            if size <= MAX_SMALL {
                let class = size_class(size);
                match <P::Front as Front>::alloc_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    Domain::Object,
                    class,
                ) {
                    Ok(b) => Ok((b, class as u8)),
                    Err(e) => self.alloc_refused(ts, size, e),
                }
            } else {
                self.alloc_large_object(ts, size)
            }
        }
    }

    /// The rare end of `alloc_object_block`: objects over 512 bytes.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    #[cold]
    unsafe fn alloc_large_object(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Result<(*mut u8, u8), HeapError> {
        match self.mem.alloc_large(size, Domain::Object) {
            Ok(b) => Ok((b, LARGE)),
            // SAFETY: forwarded.
            Err(e) => unsafe { self.alloc_refused(ts, size, e) },
        }
    }

    /// An allocation was refused: the thread's count goes back, and the
    /// error is made here, off the `Ok` path.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn alloc_failed(&self, ts: *mut ThreadState<P>, e: OutOfMemory) -> HeapError {
        // SAFETY: our state.
        unsafe { (*ts).allocations -= 1 };
        HeapError::from(e)
    }

    /// Raw memory (list item arrays): the small-object allocator's raw
    /// domain while it fits, else the large-object list.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    pub(crate) unsafe fn alloc_raw(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Result<*mut u8, HeapError> {
        // SAFETY: `ts` is ours.
        unsafe {
            if <P::Counts as Counts>::TRACED {
                self.trace_allocated(ts, size);
            }
            if size <= MAX_SMALL {
                <P::Front as Front>::alloc_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    Domain::Raw,
                    size_class(size),
                )
                .map_err(HeapError::from)
            } else {
                self.mem
                    .alloc_large(size, Domain::Raw)
                    .map_err(HeapError::from)
            }
        }
    }

    /// Frees raw memory from `alloc_raw`.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `block` came from
    /// `alloc_raw(size)` of this heap and is not used any more.
    pub(crate) unsafe fn free_raw(&self, ts: *mut ThreadState<P>, block: *mut u8, size: usize) {
        // SAFETY: the caller's contract: `block` came from `alloc_raw(size)`.
        unsafe {
            if size <= MAX_SMALL {
                <P::Front as Front>::free_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    block,
                    Domain::Raw,
                    size_class(size),
                )
            } else {
                self.mem.free_large(block)
            }
        }
    }

    /// Writes a fresh header into a new block.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `block` is a fresh block
    /// at least as large as the object's header.
    #[inline(always)]
    pub(super) unsafe fn init_header(
        &self,
        ts: *mut ThreadState<P>,
        block: *mut u8,
        class: u8,
        kind: Kind,
        len: u32,
    ) -> *mut ObjHeader<P> {
        let obj = block as *mut ObjHeader<P>;
        // Containers start tracked (their `gc_track` then only counts them):
        // one header write instead of two.
        let gc = if kind.is_container() {
            gc_bits::TRACKED
        } else {
            0
        };
        if P::OPTIMISTIC_READS {
            // A lock-free reader may be trying to count a freed object that
            // lived here: the count word is stored in place, atomically
            // (`Counts::init_word`), the rest field by field.
            // SAFETY: a fresh block, large enough for the header.
            unsafe {
                <P::Counts as Counts>::init_word(ptr::addr_of_mut!((*obj).rc), &(*ts).counts);
                ptr::addr_of_mut!((*obj).kind).write(kind);
                ptr::addr_of_mut!((*obj).class).write(class);
                ptr::addr_of_mut!((*obj).gc_bits).write(crate::sync::AtomicU8::new(gc));
                ptr::addr_of_mut!((*obj).lock).write(P::ObjLock::new());
                ptr::addr_of_mut!((*obj).len).write(len);
                ptr::addr_of_mut!((*obj).pad).write(P::Pad::default());
            }
            return obj;
        }
        // SAFETY: a fresh block, large enough for the header.
        unsafe {
            obj.write(ObjHeader {
                rc: <P::Counts as Counts>::word_new(&(*ts).counts),
                kind,
                class,
                // Containers start tracked (their `gc_track` then only
                // counts them): one header write instead of two.
                gc_bits: crate::sync::AtomicU8::new(gc),
                lock: P::ObjLock::new(),
                len,
                pad: P::Pad::default(),
            });
        }
        obj
    }
}
