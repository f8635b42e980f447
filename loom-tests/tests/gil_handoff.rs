//! The GIL's hand-off (`heaplab::policy::gil::GilLock`): CPython's new GIL.
//!
//! Two threads share a cell that they touch only while holding the GIL; loom
//! reports any two touches that are not ordered (mutual exclusion), and any
//! execution where every thread sleeps (a lost wake-up or a deadlock).
//!
//! Each model runs twice: with timed waits that time out at once (the waiter
//! sets the drop request, the holder hands over at its checkpoint and waits
//! for the switch: forced switching) and with timed waits that never time
//! out (plain hand-off on drop). See the module docs of `heaplab::sync`.

#![cfg(loom)]

use heaplab::policy::gil::GilLock;
use heaplab::sync::{Arc, UnsafeCell};
use loom::thread;
use loom_tests::run_model_with_timeouts;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Executions in which a checkpoint handed the GIL over (coverage: outside
/// the model, so loom does not explore it).
static SWITCHES: AtomicUsize = AtomicUsize::new(0);

struct Shared {
    gil: GilLock,
    /// Touched only by the GIL's holder.
    data: UnsafeCell<u32>,
}

// SAFETY: `data` is only touched while holding the GIL: the property the
// model checks (loom flags unordered accesses).
unsafe impl Sync for Shared {}

impl Shared {
    fn new() -> Arc<Self> {
        Arc::new(Shared {
            gil: GilLock::new(Duration::from_millis(5)),
            data: UnsafeCell::new(0),
        })
    }

    /// A stretch of bytecode: long enough for a waiter's timed wait to
    /// expire. Loom runs a thread that yielded (as a timed wait that fires
    /// does) only once the others block or yield, so the holder yields here
    /// or no request could ever reach it while it holds the GIL.
    fn work(&self, tid: usize) {
        self.touch(tid);
        thread::yield_now();
    }

    /// Heap work: only with the GIL.
    fn touch(&self, tid: usize) {
        assert_eq!(self.gil.holder(), tid, "touching the heap without the GIL");
        // SAFETY: we hold the GIL (checked by loom's cell tracking).
        self.data.with_mut(|p| unsafe { *p += 1 });
    }

    fn value(&self) -> u32 {
        // SAFETY: every thread has been joined.
        self.data.with(|p| unsafe { *p })
    }
}

/// Thread 1 runs bytecode with a checkpoint between two steps; thread 2
/// wants the GIL meanwhile. With timeouts firing, thread 2 raises the drop
/// request and thread 1 must hand over at its checkpoint and wait for the
/// switch (forced switching) before it takes the GIL back.
fn handoff_at_checkpoint_model() {
    let s = Shared::new();
    let s1 = s.clone();
    let t1 = thread::spawn(move || {
        s1.gil.take(1);
        s1.work(1);
        let before = s1.gil.stats().acquisitions;
        let switched = s1.gil.yield_if_requested(1);
        if switched {
            // Forced switching: thread 2 took the GIL before we could take
            // it back (its take and ours).
            let after = s1.gil.stats().acquisitions;
            assert!(after >= before + 2, "took the GIL straight back");
        }
        s1.touch(1);
        s1.gil.drop_gil(1, false);
        switched
    });
    let s2 = s.clone();
    let t2 = thread::spawn(move || {
        s2.gil.take(2);
        s2.work(2);
        // A checkpoint of its own: thread 1 may be waiting in turn.
        let switched = s2.gil.yield_if_requested(2);
        s2.gil.drop_gil(2, false);
        switched
    });
    let switched = t1.join().unwrap();
    let switched2 = t2.join().unwrap();
    if switched || switched2 {
        SWITCHES.fetch_add(1, Relaxed);
    }
    assert_eq!(s.value(), 3);
    let stats = s.gil.stats();
    if switched {
        // A forced switch means thread 2 took the GIL in between.
        assert!(stats.forced_switches >= 1);
    }
    // One take each, and one more for each switch at a checkpoint.
    assert_eq!(stats.acquisitions, 2 + switched as u64 + switched2 as u64);
    // A request is raised only by a waiter, which resets it when it gets the
    // GIL: none is left once everyone is done.
    assert!(!s.gil.drop_requested());
    assert_eq!(s.gil.holder(), 0);
}

/// Thread 1 releases the GIL around "I/O" (`allow_threads`: drop without a
/// forced switch, take again) while thread 2 runs a step with a checkpoint.
fn allow_threads_section() {
    let s = Shared::new();
    let s1 = s.clone();
    let t1 = thread::spawn(move || {
        s1.gil.take(1);
        s1.touch(1);
        // allow_threads: release, "native work" without the heap, reacquire.
        s1.gil.drop_gil(1, false);
        s1.gil.take(1);
        s1.touch(1);
        s1.gil.drop_gil(1, false);
    });
    let s2 = s.clone();
    let t2 = thread::spawn(move || {
        s2.gil.take(2);
        s2.work(2);
        s2.gil.yield_if_requested(2);
        s2.touch(2);
        s2.gil.drop_gil(2, false);
    });
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(s.value(), 4);
    assert!(!s.gil.drop_requested());
    assert_eq!(s.gil.holder(), 0);
}

/// One test for both timeout behaviours: they share the coverage counter.
#[test]
fn handoff_at_checkpoint() {
    run_model_with_timeouts(
        "gil_handoff::handoff_at_checkpoint",
        false,
        handoff_at_checkpoint_model,
    );
    // Without timeouts nobody raises a drop request.
    assert_eq!(SWITCHES.swap(0, Relaxed), 0);
    run_model_with_timeouts(
        "gil_handoff::handoff_at_checkpoint",
        true,
        handoff_at_checkpoint_model,
    );
    // With them, some execution reaches the forced switch.
    assert!(
        SWITCHES.load(Relaxed) > 0,
        "no execution switched at a checkpoint"
    );
}

#[test]
fn allow_threads_timeouts_fire() {
    run_model_with_timeouts("gil_handoff::allow_threads", true, allow_threads_section);
}

#[test]
fn allow_threads_timeouts_never_fire() {
    run_model_with_timeouts("gil_handoff::allow_threads", false, allow_threads_section);
}
