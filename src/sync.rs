//! The one door to concurrency primitives.
//!
//! Every atomic, cell, lock, condition variable, thread-local and thread that
//! the heap's protocols use comes from here. Under `--cfg loom` the same names
//! resolve to loom's model-checked versions, so the GIL, the one-byte object
//! lock, the pool locks, the remote-free lists, the biased-count merge queue
//! and the stop-the-world handshake that loom checks are the ones that ship.
//!
//! The two branches have identical shape: `UnsafeCell` with `with`/`with_mut`,
//! a `Mutex` whose `lock` cannot be poisoned (a panicking thread must not wedge
//! the heap for the survivors), and a `Condvar` with a timed wait that reports
//! whether it timed out.
//!
//! Loom cannot time out a condition variable. A timed wait under loom is
//! therefore explored as one of two behaviours chosen by the model
//! ([`set_loom_timeouts_fire`]): either the timeout fires at once (the thread
//! yields and reports a timeout) or it never fires (a plain wait). Both are
//! behaviours a real timed wait can show, so a model run once each way covers
//! both branches of the code that follows the wait.

#![allow(dead_code)]

use std::time::Duration;

#[cfg(not(loom))]
mod imp {
    pub use std::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
        AtomicUsize, Ordering,
    };
    pub use std::sync::Arc;
    pub use std::thread;
    pub use std::thread_local;

    /// parking_lot's parking table, for the object lock's `parking-lot`
    /// backend (outside loom only: models use the `std` table, which is
    /// built on this module's primitives).
    pub use parking_lot_core;

    /// A hint that we are spinning.
    #[inline]
    pub fn spin_loop() {
        std::hint::spin_loop()
    }

    /// Let another thread run (used when a spin gives up).
    #[inline]
    pub fn yield_now() {
        std::thread::yield_now()
    }

    pub(crate) type StdMutex<T> = std::sync::Mutex<T>;
    pub(crate) type StdMutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
    pub(crate) type StdCondvar = std::sync::Condvar;

    /// `UnsafeCell` with loom's access API.
    #[derive(Debug, Default)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
        AtomicUsize, Ordering,
    };
    pub use loom::sync::Arc;
    pub use loom::thread;
    pub use loom::thread_local;

    #[inline]
    pub fn spin_loop() {
        loom::hint::spin_loop()
    }

    #[inline]
    pub fn yield_now() {
        loom::thread::yield_now()
    }

    pub(crate) type StdMutex<T> = loom::sync::Mutex<T>;
    pub(crate) type StdMutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
    pub(crate) type StdCondvar = loom::sync::Condvar;
}

pub use imp::*;

/// A thread-local with a constant initialiser: std's `const { }` form (no
/// lazy-initialisation check on the hot path: `Ref::drop` reads one), or
/// loom's thread-local under `--cfg loom`, so that models see one per
/// modelled thread.
#[cfg(not(loom))]
macro_rules! const_thread_local {
    ($vis:vis static $name:ident: $t:ty = $init:expr;) => {
        std::thread_local! { $vis static $name: $t = const { $init }; }
    };
}

#[cfg(loom)]
macro_rules! const_thread_local {
    ($vis:vis static $name:ident: $t:ty = $init:expr;) => {
        loom::thread_local! { $vis static $name: $t = $init; }
    };
}

pub(crate) use const_thread_local;

/// Word-sized plain memory that one thread writes under a lock while
/// others read it without (a list's length, item-array pointer and slots
/// under optimistic reads): read and written as atomics, so the race is a
/// defined one. Outside loom these are `AtomicUsize` views of the word (the
/// same size and alignment); under loom, which tracks only its own atomics,
/// they are volatile accesses and the models check the protocol around them
/// (`loom-tests/tests/list_reads.rs`).
///
/// # Safety
/// `p` is valid, aligned, and every concurrent access to it goes through
/// these functions.
#[inline(always)]
pub unsafe fn racy_load(p: *const usize, order: Ordering) -> usize {
    #[cfg(not(loom))]
    {
        // SAFETY: the caller's contract; `AtomicUsize` has `usize`'s layout.
        unsafe { std::sync::atomic::AtomicUsize::from_ptr(p as *mut usize) }.load(order)
    }
    #[cfg(loom)]
    {
        let _ = order;
        // SAFETY: the caller's contract.
        unsafe { std::ptr::read_volatile(p) }
    }
}

/// The store of [`racy_load`].
///
/// # Safety
/// As [`racy_load`].
#[inline(always)]
pub unsafe fn racy_store(p: *mut usize, v: usize, order: Ordering) {
    #[cfg(not(loom))]
    {
        // SAFETY: the caller's contract; `AtomicUsize` has `usize`'s layout.
        unsafe { std::sync::atomic::AtomicUsize::from_ptr(p) }.store(v, order)
    }
    #[cfg(loom)]
    {
        let _ = order;
        // SAFETY: the caller's contract.
        unsafe { std::ptr::write_volatile(p, v) }
    }
}

/// [`racy_load`] for a word that holds a pointer (an item array, a slot, a
/// free-list link): loaded as a pointer, so it keeps its provenance (an
/// integer store and a pointer read of the same word would leave Miri, and
/// the abstract machine, a pointer with none).
///
/// # Safety
/// As [`racy_load`].
#[inline(always)]
pub unsafe fn racy_load_ptr<T>(p: *const *mut T, order: Ordering) -> *mut T {
    #[cfg(not(loom))]
    {
        // SAFETY: the caller's contract; `AtomicPtr<T>` has `*mut T`'s layout.
        unsafe { std::sync::atomic::AtomicPtr::from_ptr(p as *mut *mut T) }.load(order)
    }
    #[cfg(loom)]
    {
        let _ = order;
        // SAFETY: the caller's contract.
        unsafe { std::ptr::read_volatile(p) }
    }
}

/// The store of [`racy_load_ptr`].
///
/// # Safety
/// As [`racy_load`].
#[inline(always)]
pub unsafe fn racy_store_ptr<T>(p: *mut *mut T, v: *mut T, order: Ordering) {
    #[cfg(not(loom))]
    {
        // SAFETY: the caller's contract; `AtomicPtr<T>` has `*mut T`'s layout.
        unsafe { std::sync::atomic::AtomicPtr::from_ptr(p) }.store(v, order)
    }
    #[cfg(loom)]
    {
        let _ = order;
        // SAFETY: the caller's contract.
        unsafe { std::ptr::write_volatile(p, v) }
    }
}

/// A mutex whose lock survives a panicking holder: the heap's own invariants
/// are kept by the code inside the critical sections (which never panics
/// half-way), so poisoning would only punish the survivors.
pub struct Mutex<T>(imp::StdMutex<T>);

/// The guard of [`Mutex`].
pub type MutexGuard<'a, T> = imp::StdMutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub fn new(value: T) -> Self {
        Mutex(imp::StdMutex::new(value))
    }

    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// A condition variable paired with [`Mutex`].
pub struct Condvar(imp::StdCondvar);

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl Condvar {
    pub fn new() -> Self {
        Condvar(imp::StdCondvar::new())
    }

    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        match self.0.wait(guard) {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn notify_one(&self) {
        self.0.notify_one()
    }

    pub fn notify_all(&self) {
        self.0.notify_all()
    }
}

impl Condvar {
    /// A timed wait that hands back a fresh guard taken from `mutex`. Under
    /// loom this is how a timeout that fires is modelled: the lock is let go,
    /// the thread yields, and it takes the lock again, exactly as a real timed
    /// wait that expired would.
    pub fn wait_timeout<'a, T>(
        &self,
        mutex: &'a Mutex<T>,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        #[cfg(not(loom))]
        {
            let _ = mutex;
            match self.0.wait_timeout(guard, timeout) {
                Ok((g, r)) => (g, r.timed_out()),
                Err(p) => {
                    let (g, r) = p.into_inner();
                    (g, r.timed_out())
                }
            }
        }
        #[cfg(loom)]
        {
            let _ = timeout;
            if loom_timeouts_fire() {
                drop(guard);
                loom::thread::yield_now();
                (mutex.lock(), true)
            } else {
                (self.wait(guard), false)
            }
        }
    }
}

/// Chooses, for the loom model about to run, whether timed waits time out at
/// once (`true`) or never (`false`).
#[cfg(loom)]
pub fn set_loom_timeouts_fire(fire: bool) {
    LOOM_TIMEOUTS_FIRE_GLOBAL.store(fire, std::sync::atomic::Ordering::SeqCst);
}

#[cfg(loom)]
static LOOM_TIMEOUTS_FIRE_GLOBAL: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[cfg(loom)]
fn loom_timeouts_fire() -> bool {
    LOOM_TIMEOUTS_FIRE_GLOBAL.load(std::sync::atomic::Ordering::SeqCst)
}

/// The geometry that model checking shrinks: every size that differs under
/// `--cfg loom`, in one place (as sharded-slab's `cfg.rs` keeps its tiny
/// configuration for loom). Loom explores every interleaving, so its models
/// need a handful of owners, one parking bucket and one spin.
pub struct Geometry;

impl Geometry {
    /// Spins of the object lock before it parks (a critical section is tens
    /// of nanoseconds).
    pub const OBJLOCK_SPINS: u32 = if cfg!(loom) { 1 } else { 100 };
    /// Buckets of the object lock's parking table.
    pub const PARK_BUCKETS: usize = if cfg!(loom) { 1 } else { 64 };
    /// Owner ids of biased counting (threads attached at once, plus exited
    /// ones not yet adopted).
    pub const MAX_OWNERS: usize = if cfg!(loom) { 4 } else { 4096 };
    /// Whether the collector may mark with a rayon pool (rayon's threads are
    /// not loom's: models mark serially).
    pub const PARALLEL_MARKING: bool = !cfg!(loom);
}

/// A value alone on its cache line(s), so that per-thread counters and lock
/// words do not false-share.
pub use crossbeam_utils::CachePadded;
