//! The class table: for each size class, the list of pools that have a block
//! to give (CPython's `usedpools`), and the inbox of pools that other threads
//! freed blocks into. Who holds a table, and which lock guards which class,
//! is the design's choice (design.rs): one table under one lock
//! (`global-lock`), one table with a lock per class (`class-locks`), one
//! table per thread under its own, uncontended lock (`thread-local`; the lock
//! is there for `fork`, whose handlers take every lock).
//!
//! Remote frees into a table's inbox: remote.rs.

use crate::geometry::NUM_CLASSES;
use crate::pool::{self, Pool};
use crate::remote;
use crate::source::SOURCE;
use crate::sync::AtomicPtr;
use crate::sys::SpinLock;
use core::cell::UnsafeCell;
use core::ptr;

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
                pool::init(p, class, (self as *const Table).cast(), &self.inbox);
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
        // SAFETY: we own every pool that names this inbox, under its lock;
        // each block handed over is a live block of its pool.
        unsafe { remote::take_all(&self.inbox, |p, b| self.free(p, b)) };
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
