//! The per-object lock: one byte, with free-threaded CPython's `PyMutex`
//! protocol (`Python/lock.c`: `_PyMutex_LockTimed`, `_PyMutex_TryUnlock`).
//!
//! Two bits of the byte:
//!
//! | bit | constant | meaning |
//! |---|---|---|
//! | 0 | [`LOCKED`] | a thread holds the lock |
//! | 1 | [`HAS_PARKED`] | a thread may be parked on it: unlock must visit the parking table |
//!
//! | value | state |
//! |---|---|
//! | 0 | free |
//! | 1 | held, nobody parked (unlock is one compare-and-swap) |
//! | 3 | held, waiters parked |
//! | 2 | free, waiters parked: a woken waiter and newcomers race for it |
//!
//! Locking is one compare-and-swap when free. A contended locker spins a
//! little while nobody is parked (critical sections are a few loads and
//! stores), then sets [`HAS_PARKED`] and parks on the heap's
//! [`ParkTable`], keyed by the lock's address, if the byte still reads 3.
//! The heap calls the parking path detached (`allow_threads`), as CPython's
//! `PyMutex` detaches before it parks, so a stop-the-world request never
//! waits for a thread that waits for a lock.
//!
//! Unlocking with [`HAS_PARKED`] set wakes **one** waiter on this address,
//! and under the table's bucket lock writes the byte from what the table
//! reports ([`UnparkFacts`]):
//!
//! - [`HAS_PARKED`] stays while other waiters on this address are still
//!   queued, so the next unlock wakes the next one;
//! - if the woken waiter has waited past [`TIME_TO_BE_FAIR`] (1 ms), the
//!   lock is handed to it directly ([`LOCKED`] stays set and the waiter
//!   returns holding it), so a stream of newcomers cannot starve it;
//!   otherwise the lock is left free and the woken waiter competes again
//!   (fast, since the newcomer's cache already has the line).
//!
//! A parker queues only if the byte still reads 3 under the bucket's lock,
//! and an unlocker writes the byte under that same lock, so no wake-up is
//! lost. The loom model `objlock` checks this, with the hand-off explored
//! both ways and two locks sharing one bucket.

use crate::sync::{spin_loop, AtomicU8, Ordering};

mod park_table;

#[cfg(loom)]
pub use park_table::set_loom_waited_long_enough;
pub use park_table::{FairDeadline, LockBackend, ParkTable, Parked, UnparkFacts, TIME_TO_BE_FAIR};

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

/// Bit 0: the lock is held.
pub const LOCKED: u8 = 1;
/// Bit 1: a thread may be parked on the lock.
pub const HAS_PARKED: u8 = 2;
const UNLOCKED: u8 = 0;

/// Spins before parking while nobody is parked: a critical section is tens
/// of nanoseconds, a park and wake-up tens of microseconds. (CPython spins
/// 40 times with `sched_yield`; a yield costs a system call, a spin hint a
/// few cycles.)
const SPINS: u32 = crate::sync::Geometry::OBJLOCK_SPINS;

/// The one-byte lock.
pub struct ParkingObjLock {
    state: AtomicU8,
}

// SAFETY: mutual exclusion by the protocol in the module docs: a thread
// holds the lock from a compare-and-swap that set `LOCKED` (Acquire) or from
// a hand-off (the unparker's bucket and wake-up locks order the handing
// unlock before it), until its unlock clears `LOCKED` (Release) or hands the
// lock on.
unsafe impl ObjLock for ParkingObjLock {
    const REAL: bool = true;

    fn new() -> Self {
        ParkingObjLock {
            state: AtomicU8::new(UNLOCKED),
        }
    }

    #[inline(always)]
    fn try_lock(&self) -> bool {
        // Acquire on success: the holder sees what the last unlock's Release
        // published. A failed try learns nothing it will rely on: Relaxed.
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Spins, then parks until the lock is free or handed over.
    #[cold]
    fn lock_contended(&self, table: &ParkTable) {
        let mut spins = 0;
        // Read the clock once, when this thread first parks (CPython reads
        // it on entry; the spin in between is a few hundred nanoseconds of a
        // 1 ms allowance).
        let mut fair: Option<FairDeadline> = None;
        let mut v = self.state.load(Ordering::Relaxed);
        loop {
            if v & LOCKED == 0 {
                // Free (perhaps with waiters parked): take it, keeping
                // `HAS_PARKED` for our own unlock to honour.
                match self.state.compare_exchange(
                    v,
                    v | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(now) => {
                        v = now;
                        continue;
                    }
                }
            }
            if v & HAS_PARKED == 0 && spins < SPINS {
                spins += 1;
                spin_loop();
                // Only a hint for the next try: the Acquire is on the CAS.
                v = self.state.load(Ordering::Relaxed);
                continue;
            }
            if v & HAS_PARKED == 0 {
                // The first waiter: announce it before parking. Relaxed: the
                // bucket's lock orders this against the unlocker's look.
                if let Err(now) = self.state.compare_exchange(
                    v,
                    v | HAS_PARKED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    v = now;
                    continue;
                }
            }
            let fair = *fair.get_or_insert_with(FairDeadline::start);
            // Sleep only if the byte still reads "held, waiters parked":
            // checked under the bucket's lock, where every unlock that
            // visits the table writes the byte.
            let parked = table.park(
                self.key(),
                || self.state.load(Ordering::Relaxed) == LOCKED | HAS_PARKED,
                fair,
            );
            if parked == Parked::HandedOff {
                debug_assert!(self.state.load(Ordering::Relaxed) & LOCKED != 0);
                return;
            }
            v = self.state.load(Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn unlock(&self, table: &ParkTable) {
        // Release: the critical section happens-before the next lock.
        if self
            .state
            // Release publishes the critical section to the next Acquire; on
            // failure a waiter has parked and the slow path, under the
            // bucket's lock, decides (Relaxed suffices for that look).
            .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow(table);
        }
    }

    fn is_locked(&self) -> bool {
        // A debug assertion's look, never a decision: Relaxed.
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }
}

impl ParkingObjLock {
    /// Whether the "has parked" bit is set: a thread is, or was about to be,
    /// parked on this lock. A snapshot for models and benches; the protocol
    /// never branches on it outside the lock's own code.
    pub fn has_parked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & HAS_PARKED != 0
    }

    /// The lock's key in the parking table: its address.
    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Unlock with waiters parked: wake one, and write the byte from what
    /// the table saw (see the module docs).
    #[cold]
    fn unlock_slow(&self, table: &ParkTable) {
        // Only the holder clears `LOCKED` and waiters only add `HAS_PARKED`,
        // so the byte is 3 until the table's callback below writes it.
        debug_assert_eq!(self.state.load(Ordering::Relaxed), LOCKED | HAS_PARKED);
        table.unpark_one(self.key(), |facts| {
            let hand_off = facts.unparked && facts.waited_long_enough;
            let mut v = if hand_off { LOCKED } else { UNLOCKED };
            if facts.have_more {
                v |= HAS_PARKED;
            }
            // Release: our critical section happens-before the next lock
            // taken by compare-and-swap; a hand-off is ordered by the
            // table's wake-up instead.
            self.state.store(v, Ordering::Release);
            hand_off
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::UnsafeCell;
    use std::time::{Duration, Instant};

    struct Counted {
        lock: ParkingObjLock,
        table: ParkTable,
        count: UnsafeCell<u64>,
    }

    // SAFETY: `count` is only touched while holding `lock`.
    unsafe impl Sync for Counted {}

    impl Counted {
        fn new(backend: LockBackend) -> Self {
            Counted {
                lock: ParkingObjLock::new(),
                table: ParkTable::with_backend(backend),
                count: UnsafeCell::new(0),
            }
        }

        fn lock(&self) {
            if !self.lock.try_lock() {
                self.lock.lock_contended(&self.table);
            }
        }
    }

    /// Four threads on one lock (more threads than our cores, so some
    /// park): no increment is lost, and the lock ends free with nobody
    /// parked.
    #[test]
    fn mutual_exclusion_both_backends() {
        for backend in LockBackend::ALL {
            let c = Counted::new(backend);
            assert_eq!(c.table.backend(), backend);
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..20_000 {
                            c.lock();
                            // SAFETY: we hold the lock.
                            unsafe { *c.count.get() += 1 };
                            c.lock.unlock(&c.table);
                        }
                    });
                }
            });
            assert_eq!(c.lock.state.load(Ordering::Relaxed), UNLOCKED, "{backend}");
            // SAFETY: every thread has joined.
            assert_eq!(unsafe { *c.count.get() }, 80_000, "{backend}");
        }
    }

    /// One holder, one waiter that parks; the holder unlocks once the
    /// waiter has announced itself and 20 ms more have passed. Returns
    /// whether the lock was already held again (by the waiter) when the
    /// unlock returned: a hand-off.
    fn handed_off_after_waiting(c: &Counted) -> bool {
        c.lock();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                c.lock();
                // SAFETY: we hold the lock.
                unsafe { *c.count.get() += 1 };
                c.lock.unlock(&c.table);
            });
            let start = Instant::now();
            while c.lock.state.load(Ordering::Relaxed) != LOCKED | HAS_PARKED {
                assert!(start.elapsed() < Duration::from_secs(10), "never parked");
                std::thread::yield_now();
            }
            std::thread::sleep(TIME_TO_BE_FAIR * 20);
            c.lock.unlock(&c.table);
            let handed_off = c.lock.is_locked();
            waiter.join().unwrap();
            handed_off
        })
    }

    /// A waiter parked for longer than `TIME_TO_BE_FAIR` is handed the lock:
    /// when the holder's unlock returns, the lock is already held again by
    /// the waiter. On a loaded machine the waiter can be descheduled between
    /// announcing itself and queueing (or reading its clock) for longer than
    /// the 20 ms allowed, so one hand-off in five tries is asked for; a lock
    /// that never hands over fails every try.
    #[test]
    fn overdue_waiter_is_handed_the_lock() {
        for backend in LockBackend::ALL {
            let c = Counted::new(backend);
            let tries = (1..=5)
                .find(|_| handed_off_after_waiting(&c))
                .unwrap_or_else(|| panic!("{backend}: no unlock handed the lock over"));
            assert_eq!(c.lock.state.load(Ordering::Relaxed), UNLOCKED, "{backend}");
            // SAFETY: the waiters have joined.
            assert_eq!(unsafe { *c.count.get() }, tries, "{backend}");
        }
    }

    #[test]
    fn backend_names_round_trip() {
        for b in LockBackend::ALL {
            assert_eq!(b.name().parse::<LockBackend>(), Ok(b));
        }
        let err = "futex".parse::<LockBackend>().unwrap_err();
        assert!(
            err.contains("`futex`") && err.contains("std, parking-lot"),
            "{err}"
        );
        assert_eq!(LockBackend::default(), LockBackend::Std);
        assert_eq!(ParkTable::new().backend(), LockBackend::Std);
    }
}
