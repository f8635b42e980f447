//! The class table: for each size class, the list of pools that have a block
//! to give (CPython's `usedpools`), and the inbox of pools that other threads
//! freed blocks into. Who holds a table, and which lock guards which class,
//! is the design's choice (design.rs): one table under one lock
//! (`global-lock`), one table with a lock per class (`class-locks`), one
//! table per thread under its own, uncontended lock (`thread-local`; the lock
//! is there for `fork`, whose handlers take every lock).
//!
//! Remote frees (thread-local design): a thread freeing a block of a pool
//! another table owns pushes it on the pool's `remote_free` stack; the push
//! that finds the stack empty also pushes the pool on its owner's `inbox`.
//! The owner, out of blocks in some class, takes the whole inbox and, pool by
//! pool, reads the pool's inbox link *before* taking its blocks (once the
//! blocks are taken a remote thread may push the pool again, rewriting the
//! link). Pushes only, and the taker takes everything: no ABA.

use crate::geometry::NUM_CLASSES;
use crate::pool::{self, FreeBlock, Pool};
use crate::source::SOURCE;
use crate::sys::SpinLock;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

pub struct Table {
    /// Per class: pools with a block to give, linked through `Pool::next/prev`.
    usable: UnsafeCell<[*mut Pool; NUM_CLASSES]>,
    /// One lock per class (`class-locks`).
    pub class_locks: [SpinLock; NUM_CLASSES],
    /// One lock for the whole table (`global-lock`, and a thread heap's own).
    pub lock: SpinLock,
    /// Pools with remote frees pending, through `Pool::remote_next`.
    pub inbox: AtomicPtr<Pool>,
}

// SAFETY: `usable[c]` and the owner-only fields of the pools on it are only
// touched under the lock the design assigns to class `c` of this table; the
// inbox is an atomic.
unsafe impl Sync for Table {}

#[allow(clippy::declare_interior_mutable_const)]
const UNLOCKED: SpinLock = SpinLock::new();

impl Table {
    pub const fn new() -> Self {
        Table {
            usable: UnsafeCell::new([ptr::null_mut(); NUM_CLASSES]),
            class_locks: [UNLOCKED; NUM_CLASSES],
            lock: SpinLock::new(),
            inbox: AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[inline(always)]
    fn head(&self, class: usize) -> *mut *mut Pool {
        // SAFETY: class < NUM_CLASSES (callers derive it from size_class or a
        // pool header); a pointer into the array, no reference made.
        unsafe { self.usable.get().cast::<*mut Pool>().add(class) }
    }

    /// A block of `class`, or null when the system is out of memory.
    ///
    /// # Safety
    /// The caller holds the lock guarding `class` of this table.
    #[inline(always)]
    pub unsafe fn alloc(&self, class: usize) -> *mut u8 {
        // SAFETY: under the class's lock; pools on the list have room.
        unsafe {
            let p = *self.head(class);
            if p.is_null() {
                return self.alloc_slow(class);
            }
            let b = pool::take_block(p);
            if !pool::has_room(p) {
                self.unlink(p);
            }
            b
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow(&self, class: usize) -> *mut u8 {
        // SAFETY: under the class's lock; the inbox is non-empty only for
        // thread heaps, whose one lock covers every class.
        unsafe {
            self.drain_inbox();
            let mut p = *self.head(class);
            if p.is_null() {
                p = SOURCE.take();
                if p.is_null() {
                    return ptr::null_mut();
                }
                pool::init(p, class, self);
                self.link(p);
            }
            let b = pool::take_block(p);
            if !pool::has_room(p) {
                self.unlink(p);
            }
            b
        }
    }

    /// Frees a block of a pool this table owns.
    ///
    /// # Safety
    /// The caller holds the lock guarding the pool's class of this table;
    /// `b` is a live block of `p`, and `p` is held by this table.
    #[inline(always)]
    pub unsafe fn free(&self, p: *mut Pool, b: *mut u8) {
        // SAFETY: under the class's lock.
        unsafe {
            pool::put_block(p, b);
            if !(*p).linked {
                self.link(p);
            } else if (*p).used == 0 && !((*p).prev.is_null() && (*p).next.is_null()) {
                // Empty and not the only pool of its class: back to the source.
                self.unlink(p);
                SOURCE.give(p);
            }
        }
    }

    /// Frees every block other threads pushed on this table's pools.
    ///
    /// # Safety
    /// The caller holds the table's one lock (thread heaps only).
    pub unsafe fn drain_inbox(&self) {
        // Acquire: pairs with the pushers' Release, so each pool's
        // `remote_next` written before its push is seen.
        let mut p = self.inbox.swap(ptr::null_mut(), Ordering::Acquire);
        while !p.is_null() {
            // SAFETY: pools on our inbox are ours and in use (they hold
            // remote blocks, which count in `used`).
            unsafe {
                // Read the link first: once the blocks are taken, a remote
                // thread may push the pool again and rewrite it.
                let next = (*p).remote_next.load(Ordering::Relaxed);
                // Acquire: the blocks' links, written before the pushers'
                // Release exchange.
                let mut b = (*p).remote_free.swap(ptr::null_mut(), Ordering::Acquire);
                while !b.is_null() {
                    let n = (*b).next;
                    self.free(p, b.cast());
                    b = n;
                }
                p = next;
            }
        }
    }

    /// Links a pool at the head of its class's list.
    unsafe fn link(&self, p: *mut Pool) {
        // SAFETY: under the class's lock (callers' contract).
        unsafe {
            let head = self.head((*p).class as usize);
            (*p).prev = ptr::null_mut();
            (*p).next = *head;
            if !(*head).is_null() {
                (**head).prev = p;
            }
            *head = p;
            (*p).linked = true;
        }
    }

    unsafe fn unlink(&self, p: *mut Pool) {
        // SAFETY: under the class's lock (callers' contract); `p` is linked.
        unsafe {
            let (prev, next) = ((*p).prev, (*p).next);
            if prev.is_null() {
                *self.head((*p).class as usize) = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*p).next = ptr::null_mut();
            (*p).prev = ptr::null_mut();
            (*p).linked = false;
        }
    }
}

/// Frees a block of a pool that another table owns, from any thread,
/// without a lock.
///
/// # Safety
/// `b` is a live block of `p`; `p`'s owner is a thread heap (one that drains
/// its inbox), which outlives the process's use of it (heaps are never
/// unmapped).
pub unsafe fn remote_free(p: *mut Pool, b: *mut u8) {
    let fb = b.cast::<FreeBlock>();
    // SAFETY: the block is ours to link; the pool header's shared fields are
    // atomics; its owner is written once and outlives us.
    unsafe {
        let stack = &(*p).remote_free;
        let mut old = stack.load(Ordering::Relaxed);
        loop {
            (*fb).next = old;
            // Release: the owner's Acquire swap sees the link just written.
            match stack.compare_exchange_weak(old, fb, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        if !old.is_null() {
            // The pool is on its owner's inbox already (or being drained,
            // and the drain will take this block).
            return;
        }
        let inbox = &(*(*p).owner).inbox;
        let mut head = inbox.load(Ordering::Relaxed);
        loop {
            (*p).remote_next.store(head, Ordering::Relaxed);
            // Release: publishes `remote_next` to the draining owner.
            match inbox.compare_exchange_weak(head, p, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
}
