//! Requests above 512 bytes: the system allocator, with every block on a list.
//!
//! CPython hands these to `malloc` and forgets them; we keep them on a doubly
//! linked list (a header in front of each block) so that the verifier, the
//! leak check and the collector's pool walk see large objects and large item
//! arrays as well. The list has its own lock: large requests are rare.

use super::budget::{MemoryBudget, OutOfMemory};
use super::{Domain, ALIGNMENT};
use crate::sync::{AtomicUsize, Mutex, Ordering::Relaxed};
use std::alloc::{alloc, dealloc, Layout};
use std::ptr;

/// The header in front of a large block.
#[repr(C, align(16))]
pub struct LargeHeader {
    next: *mut LargeHeader,
    prev: *mut LargeHeader,
    size: usize,
    domain: Domain,
}

const HEADER: usize = std::mem::size_of::<LargeHeader>();

struct ListHead(*mut LargeHeader);
// SAFETY: the list is only touched under its mutex.
unsafe impl Send for ListHead {}

/// All large blocks of one heap. The budget they are reserved from is passed
/// in by the owner ([`super::Memory`]).
pub struct LargeList {
    head: Mutex<ListHead>,
    // Statistics that guard no memory (the list is under `head`'s lock):
    // Relaxed throughout.
    count: AtomicUsize,
    bytes: AtomicUsize,
    /// Blocks of the object domain (large objects, as opposed to large item
    /// arrays).
    objects: AtomicUsize,
}

impl Default for LargeList {
    fn default() -> Self {
        Self::new()
    }
}

impl LargeList {
    pub fn new() -> Self {
        LargeList {
            head: Mutex::new(ListHead(ptr::null_mut())),
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            objects: AtomicUsize::new(0),
        }
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(HEADER + size, ALIGNMENT).expect("large layout")
    }

    /// Allocates `size` bytes (uninitialised) and links them.
    pub fn alloc(
        &self,
        size: usize,
        domain: Domain,
        budget: &MemoryBudget,
    ) -> Result<*mut u8, OutOfMemory> {
        let total = HEADER + size;
        budget.reserve(total)?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc(Self::layout(size)) } as *mut LargeHeader;
        if raw.is_null() {
            budget.release(total);
            return Err(OutOfMemory {
                requested: total,
                reserved: budget.reserved(),
                limit: budget.limit().unwrap_or(usize::MAX),
            });
        }
        let mut head = self.head.lock();
        // SAFETY: `raw` is a fresh allocation large enough for the header;
        // the list is locked.
        unsafe {
            raw.write(LargeHeader {
                next: head.0,
                prev: ptr::null_mut(),
                size,
                domain,
            });
            if !head.0.is_null() {
                (*head.0).prev = raw;
            }
        }
        head.0 = raw;
        drop(head);
        // Relaxed: statistics; the list itself is ordered by its lock.
        self.count.fetch_add(1, Relaxed);
        self.bytes.fetch_add(size, Relaxed);
        if domain == Domain::Object {
            self.objects.fetch_add(1, Relaxed);
        }
        // SAFETY: the block follows the header inside the allocation.
        Ok(unsafe { (raw as *mut u8).add(HEADER) })
    }

    /// Unlinks and frees a block from `alloc`.
    ///
    /// # Safety
    /// `block` came from `alloc` of this list and is not used any more.
    pub unsafe fn free(&self, block: *mut u8, budget: &MemoryBudget) {
        // SAFETY: forwarded.
        let size = unsafe { self.unlink_and_free(block) };
        budget.release(HEADER + size);
    }

    /// Unlinks and frees a block; returns its size.
    ///
    /// # Safety
    /// As for [`LargeList::free`].
    unsafe fn unlink_and_free(&self, block: *mut u8) -> usize {
        // SAFETY: the header sits right before the block.
        let h = unsafe { block.sub(HEADER) } as *mut LargeHeader;
        let size;
        let domain;
        {
            let mut head = self.head.lock();
            // SAFETY: `h` is linked; the list is locked.
            unsafe {
                size = (*h).size;
                domain = (*h).domain;
                let (prev, next) = ((*h).prev, (*h).next);
                if prev.is_null() {
                    head.0 = next;
                } else {
                    (*prev).next = next;
                }
                if !next.is_null() {
                    (*next).prev = prev;
                }
            }
        }
        // SAFETY: unlinked; allocated with this layout.
        unsafe { dealloc(h as *mut u8, Self::layout(size)) };
        // Relaxed: as in `alloc`.
        self.count.fetch_sub(1, Relaxed);
        self.bytes.fetch_sub(size, Relaxed);
        if domain == Domain::Object {
            self.objects.fetch_sub(1, Relaxed);
        }
        size
    }

    /// Turns a dead large object's block into non-object memory (a large
    /// object retired through QSBR, freed later like an item array).
    ///
    /// # Safety
    /// `block` is a live block of this list, of the object domain, whose
    /// object is dead.
    pub unsafe fn retire_object(&self, block: *mut u8) {
        let _head = self.head.lock();
        // SAFETY: the header sits right before the block; the list is locked.
        unsafe {
            let h = block.sub(HEADER) as *mut LargeHeader;
            debug_assert!((*h).domain == Domain::Object);
            (*h).domain = Domain::Raw;
        }
        // Relaxed: as in `alloc`.
        self.objects.fetch_sub(1, Relaxed);
    }

    /// Size of a large block.
    ///
    /// # Safety
    /// `block` is a live block of this list.
    pub unsafe fn size_of(block: *const u8) -> usize {
        // SAFETY: the caller's contract.
        unsafe { (*(block.sub(HEADER) as *const LargeHeader)).size }
    }

    pub fn count(&self) -> usize {
        self.count.load(Relaxed)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    /// Large blocks holding objects.
    pub fn objects(&self) -> usize {
        self.objects.load(Relaxed)
    }

    /// Calls `f(block, size, domain)` for every large block.
    pub fn for_each(&self, mut f: impl FnMut(*mut u8, usize, Domain)) {
        let head = self.head.lock();
        let mut h = head.0;
        while !h.is_null() {
            // SAFETY: linked headers are live while the list is locked.
            unsafe {
                f((h as *mut u8).add(HEADER), (*h).size, (*h).domain);
                h = (*h).next;
            }
        }
    }
}

impl Drop for LargeList {
    fn drop(&mut self) {
        // The budget goes with the heap: blocks are freed without it.
        let mut blocks = Vec::new();
        self.for_each(|b, _, _| blocks.push(b));
        for b in blocks {
            // SAFETY: the heap is being dropped; nothing uses its blocks.
            unsafe { self.unlink_and_free(b) };
        }
    }
}
