//! The one-byte object lock (`heaplab::policy::objlock::ParkingObjLock`)
//! with its parking table: the three-state futex mutex.
//!
//! Two threads contend on one lock, taking it the way the heap does (one
//! `try_lock`, then `lock_contended`, which spins once under loom and parks
//! on the table's one bucket). The cell they touch inside is a loom cell, so
//! two critical sections that overlap are reported; an execution where a
//! parked thread is never woken is reported as a deadlock.

#![cfg(loom)]

use heaplab::policy::objlock::{ObjLock, ParkTable, ParkingObjLock};
use heaplab::sync::{Arc, UnsafeCell};
use loom::thread;
use loom_tests::run_model;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Shared {
    lock: ParkingObjLock,
    table: ParkTable,
    /// Touched only while holding `lock`.
    data: UnsafeCell<u32>,
}

// SAFETY: `data` is only touched under `lock` (what the model checks).
unsafe impl Sync for Shared {}

/// Executions in which some thread found the lock held, per test
/// (coverage, kept outside the model).
static CONTENDED_ONE_EACH: AtomicUsize = AtomicUsize::new(0);
static CONTENDED_TWO_AGAINST_ONE: AtomicUsize = AtomicUsize::new(0);

impl Shared {
    /// Takes the lock as `Mutator::with_list` does, bumps the cell, unlocks.
    fn critical_section(&self) -> bool {
        let contended = !self.lock.try_lock();
        if contended {
            self.lock.lock_contended(&self.table);
        }
        assert!(self.lock.is_locked());
        // SAFETY: we hold the lock.
        self.data.with_mut(|p| unsafe { *p += 1 });
        // The section takes a while: the other thread gets to spin and park
        // without spending a preemption on it.
        thread::yield_now();
        self.lock.unlock(&self.table);
        contended
    }
}

fn two_lockers(rounds_a: usize, rounds_b: usize, contended_runs: &AtomicUsize) {
    let s = Arc::new(Shared {
        lock: ParkingObjLock::new(),
        table: ParkTable::new(),
        data: UnsafeCell::new(0),
    });
    let a = s.clone();
    let ta = thread::spawn(move || (0..rounds_a).fold(false, |c, _| a.critical_section() | c));
    let b = s.clone();
    let tb = thread::spawn(move || (0..rounds_b).fold(false, |c, _| b.critical_section() | c));
    let contended = ta.join().unwrap() | tb.join().unwrap();
    if contended {
        contended_runs.fetch_add(1, Relaxed);
    }
    assert!(!s.lock.is_locked());
    // SAFETY: both threads joined.
    assert_eq!(s.data.with(|p| unsafe { *p }), (rounds_a + rounds_b) as u32);
}

/// One critical section each.
#[test]
fn one_each() {
    run_model("objlock::one_each", || {
        two_lockers(1, 1, &CONTENDED_ONE_EACH)
    });
    assert!(CONTENDED_ONE_EACH.load(Relaxed) > 0, "never contended");
}

/// Two in a row on one side: the second lock of thread A may meet thread B
/// parked (state 2), and A's unlock must wake it.
#[test]
fn two_against_one() {
    run_model("objlock::two_against_one", || {
        two_lockers(2, 1, &CONTENDED_TWO_AGAINST_ONE)
    });
    assert!(
        CONTENDED_TWO_AGAINST_ONE.load(Relaxed) > 0,
        "never contended"
    );
}
