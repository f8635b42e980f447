//! The object lifecycle's ends: blocks for new objects (and list item
//! arrays), the header written into them, and deallocation when a count
//! reaches zero.
//!
//! Deallocation runs on the thread that dropped the last reference. It is
//! recursive through containers, bounded by CPython's "trashcan": past a
//! nesting depth, objects are put on a per-thread list and freed iteratively
//! once the outermost deallocation returns, so dropping a chain of a million
//! objects uses a few frames of stack.

use super::thread::{LiveCounters, ThreadState};
use super::Heap;
use crate::alloc::{size_class, Domain, MAX_SMALL};
use crate::object::{gc_bits, Kind, ObjHeader, LARGE};
use crate::policy::{Counts, Front, ObjAddr, ObjLock, Policy};
use crate::HeapError;
use std::ptr;

/// How deep deallocation recurses before it defers (CPython uses 50).
const TRASHCAN_DEPTH: u32 = 50;

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
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; nobody refers to `obj`.
    pub(crate) unsafe fn dealloc(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded; `ts` is ours.
        unsafe {
            if (*obj).gc_flags() & gc_bits::HAS_FINALIZER != 0
                && self.run_finalizer_on_zero(ts, obj)
            {
                return; // resurrected
            }
            if (*ts).trash_depth >= TRASHCAN_DEPTH {
                (*ts).trash.push(obj);
                return;
            }
            (*ts).trash_depth += 1;
            self.dealloc_one(ts, obj);
            (*ts).trash_depth -= 1;
            if (*ts).trash_depth == 0 {
                while let Some(o) = (*ts).trash.pop() {
                    (*ts).trash_depth = 1;
                    self.dealloc_one(ts, o);
                    (*ts).trash_depth = 0;
                }
            }
        }
    }

    /// # Safety
    /// As `dealloc`.
    unsafe fn dealloc_one(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the object is dead and ours to free; see `dealloc`.
        unsafe {
            let kind = (*obj).kind;
            if kind.is_container() {
                self.gc_untrack(ts, obj);
            }
            // Release the children (CPython's tp_clear, shared with the
            // collector's clear phase), then the block.
            self.clear_references(ts, obj);
            self.free_object(ts, obj);
        }
    }

    /// Frees an object's block (no children, no counts).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `obj` is dead, released
    /// its children, and nobody refers to it.
    pub(crate) unsafe fn free_object(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the caller's contract: a dead object of ours.
        unsafe {
            let size = (*obj).object_size();
            let class = (*obj).class;
            ptr::drop_in_place(obj);
            let live = &(*ts).live;
            (*ts).frees += 1;
            LiveCounters::bump(&live.objects, -1);
            LiveCounters::bump(&live.requested_bytes, -(size as i64));
            if class == LARGE {
                LiveCounters::bump(&live.block_bytes, -(size as i64));
                self.mem.free_large(obj as *mut u8);
            } else {
                LiveCounters::bump(
                    &live.block_bytes,
                    -(crate::alloc::class_block_size(class as usize) as i64),
                );
                <P::Front as Front>::free_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    obj as *mut u8,
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
            let live = &(*ts).live;
            (*ts).allocations += 1;
            let r = if size <= MAX_SMALL {
                let class = size_class(size);
                let b = <P::Front as Front>::alloc_block(
                    &self.front,
                    &self.mem,
                    &mut (*ts).front,
                    Domain::Object,
                    class,
                )
                .map_err(HeapError::from)?;
                LiveCounters::bump(
                    &live.block_bytes,
                    crate::alloc::class_block_size(class) as i64,
                );
                (b, class as u8)
            } else {
                let b = self
                    .mem
                    .alloc_large(size, Domain::Object)
                    .map_err(HeapError::from)?;
                LiveCounters::bump(&live.block_bytes, size as i64);
                (b, LARGE)
            };
            LiveCounters::bump(&live.objects, 1);
            LiveCounters::bump(&live.requested_bytes, size as i64);
            Ok(r)
        }
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
                <P::Front as Front>::free_block(&self.front, &self.mem, &mut (*ts).front, block)
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
        // SAFETY: a fresh block, large enough for the header.
        unsafe {
            obj.write(ObjHeader {
                rc: <P::Counts as Counts>::word_new(&(*ts).counts),
                kind,
                class,
                gc_bits: crate::sync::AtomicU8::new(0),
                lock: P::ObjLock::new(),
                len,
                pad: P::Pad::default(),
            });
        }
        obj
    }
}
