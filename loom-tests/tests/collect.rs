//! The cyclic collector under stop-the-world (`heaplab::gc::collect`), run
//! through a heap of each GIL-free policy.
//!
//! - `collect_while_mutating`: thread A drops a cycle of two lists and
//!   collects while thread B allocates, drops and passes checkpoints. The
//!   collector scans every pool and trims them with the world stopped; B
//!   runs heap code only while attached, so it must be parked (or detached)
//!   meanwhile. The cycle is freed exactly once.
//! - `two_collectors`: both threads drop a cycle, meet, and ask for a
//!   collection at once. They never wait for each other: one collects, the
//!   other parks at its checkpoint and finds the work done (or collects what
//!   is left afterwards). Both cycles are freed, each exactly once.
//!
//! Both end with the heap verified and empty without a final collection.

#![cfg(loom)]

use heaplab::sync::Arc;
use heaplab::{Biased, Mutator, Policy, PoolLocks};
use loom::sync::mpsc::channel;
use loom::thread;
use loom_tests::{run_model, SharedHeap};

/// Makes a cycle of two lists and drops the references to it: garbage that
/// only the collector can free.
fn drop_a_cycle<P: Policy>(m: &Mutator<'_, P>) {
    let a = m.alloc_list().unwrap();
    let b = m.alloc_list().unwrap();
    m.append(&a, b.clone()).unwrap();
    m.append(&b, a.clone()).unwrap();
}

fn collect_while_mutating<P: Policy>() {
    let heap = Arc::new(SharedHeap::<P>::new());
    let h = heap.clone();
    let a = thread::spawn(move || {
        let m = h.get().attach();
        drop_a_cycle(&m);
        let out = m.collect();
        assert!(out.ran, "the only request runs");
        out.collected
    });
    let h = heap.clone();
    let b = thread::spawn(move || {
        let m = h.get().attach();
        let x = m.alloc_list().unwrap(); // a tracked container of B's
        m.checkpoint();
        drop(x);
        m.checkpoint();
    });
    let collected = a.join().unwrap();
    b.join().unwrap();
    assert_eq!(collected, 2);
    assert_eq!(heap.get().gc_stats().collected, 2);
    heap.check_clean();
}

fn two_collectors<P: Policy>() {
    let heap = Arc::new(SharedHeap::<P>::new());
    let (a_ready, a_met) = channel::<()>();
    let (b_ready, b_met) = channel::<()>();
    let h = heap.clone();
    let a = thread::spawn(move || {
        let m = h.get().attach();
        drop_a_cycle(&m);
        a_ready.send(()).unwrap();
        // A blocking wait happens detached (the other may stop the world).
        m.allow_threads(|| b_met.recv().unwrap());
        m.collect()
    });
    let h = heap.clone();
    let b = thread::spawn(move || {
        let m = h.get().attach();
        drop_a_cycle(&m);
        b_ready.send(()).unwrap();
        m.allow_threads(|| a_met.recv().unwrap());
        m.collect()
    });
    let (oa, ob) = (a.join().unwrap(), b.join().unwrap());
    assert!(oa.ran || ob.ran, "one of the requests runs");
    // Both cycles existed before either request: together the collections
    // freed all four lists, none twice.
    assert_eq!(oa.collected + ob.collected, 4, "{oa:?} {ob:?}");
    assert_eq!(heap.get().gc_stats().collected, 4);
    heap.check_clean();
}

#[test]
fn collect_while_mutating_pool_locks() {
    run_model(
        "collect::collect_while_mutating (pool-locks)",
        collect_while_mutating::<PoolLocks>,
    );
}

#[test]
fn collect_while_mutating_biased() {
    run_model(
        "collect::collect_while_mutating (biased)",
        collect_while_mutating::<Biased>,
    );
}

#[test]
fn two_collectors_pool_locks() {
    run_model(
        "collect::two_collectors (pool-locks)",
        two_collectors::<PoolLocks>,
    );
}

#[test]
fn two_collectors_biased() {
    run_model("collect::two_collectors (biased)", two_collectors::<Biased>);
}
