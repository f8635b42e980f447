//! The one-byte object lock (`heaplab::policy::objlock::ParkingObjLock`)
//! with its parking table: CPython's `PyMutex` protocol (wake one waiter,
//! keep "has parked" while more wait, hand the lock over to a waiter that
//! has waited past 1 ms).
//!
//! Threads take a lock the way the heap does (one `try_lock`, then
//! `lock_contended`, which spins once under loom and parks on the table's
//! one bucket). The cell each lock guards is a loom cell, so two critical
//! sections that overlap are reported, and a thread that returns from
//! `lock_contended` without the lock fails the `is_locked` assertion or
//! races the next holder; an execution where a parked thread is never woken
//! is reported as a deadlock.
//!
//! Loom has no clock, so "the woken waiter has waited long enough" is the
//! model's choice (`heaplab::policy::objlock::set_loom_waited_long_enough`):
//! every model runs twice, once with every waiter overdue (every unlock that
//! wakes a waiter hands it the lock) and once with none (the woken waiter
//! races for the lock again). Both are behaviours the real clock can show.
//!
//! Models:
//! - `one_each`, `two_against_one`: two threads on one lock.
//! - `two_waiters`: three threads, one section each, so that two can be
//!   parked at once: the first unlock must keep "has parked" for the second
//!   waiter (or it sleeps forever).
//! - `two_objects_one_bucket`: two locks whose waiters share the table's
//!   bucket: an unlock must wake a waiter of its own lock, never the other
//!   lock's, and "more waiters" counts its own lock's only.

#![cfg(loom)]

use heaplab::policy::objlock::{set_loom_waited_long_enough, ObjLock, ParkTable, ParkingObjLock};
use heaplab::sync::{Arc, UnsafeCell};
use loom::thread;
use loom_tests::run_model;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// One guarded cell.
struct Guarded {
    lock: ParkingObjLock,
    /// Touched only while holding `lock`.
    data: UnsafeCell<u32>,
}

impl Guarded {
    fn new() -> Self {
        Guarded {
            lock: ParkingObjLock::new(),
            data: UnsafeCell::new(0),
        }
    }

    /// Takes the lock as `Mutator::with_list` does, bumps the cell,
    /// unlocks. Returns (found the lock held, unlocked with waiters parked).
    fn critical_section(&self, table: &ParkTable) -> (bool, bool) {
        let contended = !self.lock.try_lock();
        if contended {
            self.lock.lock_contended(table);
        }
        assert!(self.lock.is_locked(), "returned from lock without the lock");
        // SAFETY: we hold the lock.
        self.data.with_mut(|p| unsafe { *p += 1 });
        // The section takes a while: the other threads get to spin and
        // park without spending a preemption on it.
        thread::yield_now();
        let woke = self.lock.has_parked();
        self.lock.unlock(table);
        (contended, woke)
    }

    /// Every thread has joined: the lock is free with nobody parked, and
    /// the cell counts every section.
    fn check(&self, sections: usize) {
        assert!(!self.lock.is_locked(), "left locked");
        assert!(!self.lock.has_parked(), "left with a stale has-parked bit");
        // SAFETY: every thread has joined.
        assert_eq!(self.data.with(|p| unsafe { *p }), sections as u32);
    }
}

// SAFETY: `data` is only touched under `lock` (what the model checks).
unsafe impl Sync for Guarded {}

/// Coverage of one model, outside loom: executions in which some thread
/// found its lock held, and in which some unlock visited the parking table
/// (a thread had parked, or was about to).
#[derive(Default)]
struct Coverage {
    contended: AtomicUsize,
    woke: AtomicUsize,
}

impl Coverage {
    fn record(&self, (contended, woke): (bool, bool)) {
        if contended {
            self.contended.fetch_add(1, Relaxed);
        }
        if woke {
            self.woke.fetch_add(1, Relaxed);
        }
    }

    fn assert_reached(&self, name: &str) {
        assert!(self.contended.load(Relaxed) > 0, "{name}: never contended");
        assert!(
            self.woke.load(Relaxed) > 0,
            "{name}: no unlock woke a waiter"
        );
    }
}

fn or(a: (bool, bool), b: (bool, bool)) -> (bool, bool) {
    (a.0 | b.0, a.1 | b.1)
}

/// Runs `model` once with every parked waiter overdue (hand-off) and once
/// with none, asserting each way that its coverage was reached. The choice
/// is process-wide, so the models of this file run one at a time.
fn run_both_ways(name: &str, model: fn(&Coverage)) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for overdue in [false, true] {
        let name = format!(
            "{name} (waiters {})",
            if overdue {
                "overdue: hand-off"
            } else {
                "not overdue"
            }
        );
        let coverage = std::sync::Arc::new(Coverage::default());
        let c = coverage.clone();
        set_loom_waited_long_enough(overdue);
        run_model(&name, move || model(&c));
        set_loom_waited_long_enough(false);
        coverage.assert_reached(&name);
    }
}

/// Threads each running `rounds` sections on one lock.
fn lockers(rounds: &[usize], coverage: &Coverage) {
    let table = Arc::new(ParkTable::new());
    let g = Arc::new(Guarded::new());
    let threads: Vec<_> = rounds
        .iter()
        .map(|&n| {
            let (g, table) = (g.clone(), table.clone());
            thread::spawn(move || {
                (0..n).fold((false, false), |c, _| or(c, g.critical_section(&table)))
            })
        })
        .collect();
    let seen = threads
        .into_iter()
        .fold((false, false), |c, t| or(c, t.join().unwrap()));
    coverage.record(seen);
    g.check(rounds.iter().sum());
}

/// One critical section each.
#[test]
fn one_each() {
    run_both_ways("objlock::one_each", |c| lockers(&[1, 1], c));
}

/// Two in a row on one side: the second lock of thread A may meet thread B
/// parked, and A's unlock must wake it (or hand it the lock).
#[test]
fn two_against_one() {
    run_both_ways("objlock::two_against_one", |c| lockers(&[2, 1], c));
}

/// Three threads, one section each: a holder and two parked waiters. The
/// unlock that wakes the first must keep "has parked" for the second.
#[test]
fn two_waiters() {
    run_both_ways("objlock::two_waiters", |c| lockers(&[1, 1, 1], c));
}

/// Lock Y is held by the main thread while thread C parks on it; threads A
/// and B contend on lock X meanwhile; all their waiters share the table's
/// one bucket. Then the main thread releases Y.
#[test]
fn two_objects_one_bucket() {
    run_both_ways("objlock::two_objects_one_bucket", |coverage| {
        let table = Arc::new(ParkTable::new());
        let x = Arc::new(Guarded::new());
        let y = Arc::new(Guarded::new());
        assert!(y.lock.try_lock());
        let spawn_on = |g: &Arc<Guarded>| {
            let (g, table) = (g.clone(), table.clone());
            thread::spawn(move || g.critical_section(&table))
        };
        let c = spawn_on(&y);
        let a = spawn_on(&x);
        let b = spawn_on(&x);
        // Hold Y for a while: C gets to park on it.
        thread::yield_now();
        y.lock.unlock(&table);
        // Coverage counts lock X's (A against B).
        coverage.record(or(a.join().unwrap(), b.join().unwrap()));
        c.join().unwrap();
        x.check(2);
        y.check(1);
    });
}
