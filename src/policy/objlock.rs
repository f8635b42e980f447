//! The per-object lock: one byte, like free-threaded CPython's `PyMutex`.
//!
//! State of the byte:
//!
//! | value | meaning |
//! |---|---|
//! | 0 | unlocked |
//! | 1 | locked, nobody parked |
//! | 2 | locked, a thread may be parked on it |
//!
//! Locking is one compare-and-swap when free. A contended locker spins a
//! little (critical sections are a few loads and stores), then parks on a
//! bucket of a [`ParkTable`] keyed by the lock's address (a tiny parking lot).
//! The heap calls the parking path detached (`allow_threads`), as CPython's
//! `PyMutex` detaches before it parks, so a stop-the-world request never waits
//! for a thread that waits for a lock.
//!
//! The protocol is the classic three-state futex mutex: a parker sets the
//! byte to 2 under its bucket's mutex and sleeps only while it still reads 2;
//! an unlocker that swaps out a 2 takes the bucket's mutex and wakes everyone
//! on it, so no wake-up is lost (the loom model `objlock` checks this).

use crate::sync::{spin_loop, AtomicU8, Condvar, Mutex, Ordering};

/// A per-object lock as a policy chooses it.
///
/// # Safety
/// `try_lock`/`lock_contended` and `unlock` must give mutual exclusion: after
/// a successful lock and until the matching unlock, no other thread's lock
/// succeeds, and the unlock happens-before the next successful lock.
pub unsafe trait ObjLock: Send + Sync + 'static {
    /// Whether this lock does anything (false: zero-sized, never taken).
    const REAL: bool;
    fn new() -> Self;
    /// One attempt, no waiting.
    fn try_lock(&self) -> bool;
    /// Waits for the lock (call this detached).
    fn lock_contended(&self, table: &ParkTable);
    fn unlock(&self, table: &ParkTable);
    fn is_locked(&self) -> bool;
}

/// No lock (the GIL guards every object).
#[derive(Debug, Default)]
pub struct NoLock;

// SAFETY: never used for exclusion: policies with `NoLock` rely on the GIL.
unsafe impl ObjLock for NoLock {
    const REAL: bool = false;
    #[inline(always)]
    fn new() -> Self {
        NoLock
    }
    #[inline(always)]
    fn try_lock(&self) -> bool {
        true
    }
    #[inline(always)]
    fn lock_contended(&self, _: &ParkTable) {}
    #[inline(always)]
    fn unlock(&self, _: &ParkTable) {}
    fn is_locked(&self) -> bool {
        false
    }
}

const UNLOCKED: u8 = 0;
const LOCKED: u8 = 1;
const PARKED: u8 = 2;

/// Spins before parking: a critical section is tens of nanoseconds.
const SPINS: u32 = if cfg!(loom) { 1 } else { 100 };

/// The one-byte lock.
pub struct ParkingObjLock {
    state: AtomicU8,
}

// SAFETY: mutual exclusion by the three-state protocol in the module docs.
unsafe impl ObjLock for ParkingObjLock {
    const REAL: bool = true;

    fn new() -> Self {
        ParkingObjLock {
            state: AtomicU8::new(UNLOCKED),
        }
    }

    #[inline(always)]
    fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_contended(&self, table: &ParkTable) {
        for _ in 0..SPINS {
            if self.state.load(Ordering::Relaxed) == UNLOCKED && self.try_lock() {
                return;
            }
            spin_loop();
        }
        let bucket = table.bucket(self as *const _ as usize);
        // From here on we take the lock as PARKED, since others may sleep.
        while self.state.swap(PARKED, Ordering::Acquire) != UNLOCKED {
            let guard = bucket.mutex.lock();
            if self.state.load(Ordering::Relaxed) == PARKED {
                drop(bucket.cond.wait(guard));
            }
        }
    }

    #[inline(always)]
    fn unlock(&self, table: &ParkTable) {
        if self.state.swap(UNLOCKED, Ordering::Release) == PARKED {
            self.wake(table);
        }
    }

    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }
}

impl ParkingObjLock {
    #[cold]
    fn wake(&self, table: &ParkTable) {
        let bucket = table.bucket(self as *const _ as usize);
        let _guard = bucket.mutex.lock();
        bucket.cond.notify_all();
    }
}

struct Bucket {
    mutex: Mutex<()>,
    cond: Condvar,
}

/// Where contended object locks park: a few buckets keyed by address.
pub struct ParkTable {
    buckets: Vec<crate::sync::CachePadded<Bucket>>,
}

impl Default for ParkTable {
    fn default() -> Self {
        Self::new()
    }
}

impl ParkTable {
    pub fn new() -> Self {
        let n = if cfg!(loom) { 1 } else { 64 };
        ParkTable {
            buckets: (0..n)
                .map(|_| {
                    crate::sync::CachePadded::new(Bucket {
                        mutex: Mutex::new(()),
                        cond: Condvar::new(),
                    })
                })
                .collect(),
        }
    }

    fn bucket(&self, addr: usize) -> &Bucket {
        let i = (addr >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
        &self.buckets[i % self.buckets.len()]
    }
}
