//! `pool-locks` (`heaplab::policy::{AtomicCounts, ClassLockFront}`) through a `Heap<PoolLocks>`:
//! one shared class table with a lock per size class (and the arena lock
//! behind it), and atomic reference counts with `Arc`'s orderings.
//!
//! `same_class`: two threads allocate and free blocks of one size class
//! (the first allocation takes a pool from the arena under the class lock)
//! while they race to drop the last reference to a shared object (an atomic
//! decrement: exactly one of them frees it). Ends with the heap verified and
//! empty.
//!
//! What loom cannot see here: the class table and the pools are plain
//! memory, and no scheduling point falls inside a class-lock critical
//! section but the arena lock, so a missing class lock goes unnoticed (the
//! threaded tests in `tests/` and the verifier are the check for that). The
//! list lock is modelled in `objlock.rs`; through the heap its parking path
//! is out of loom's reach (a holder never yields inside its section, and
//! loom runs a spinning thread again only once the others block or yield).

#![cfg(loom)]

use heaplab::sync::Arc;
use heaplab::PoolLocks;
use loom::sync::mpsc::channel;
use loom::thread;
use loom_tests::{run_model, SharedHeap};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Coverage (outside the model): which thread freed the shared object.
static A_FREED: AtomicUsize = AtomicUsize::new(0);
static B_FREED: AtomicUsize = AtomicUsize::new(0);

fn live_objects(m: &heaplab::Mutator<'_, PoolLocks>) -> i64 {
    m.objects_net()
}

#[test]
fn same_class() {
    run_model("pool_lock::same_class", || {
        let heap = Arc::new(SharedHeap::<PoolLocks>::new());
        let (to_b, from_a) = channel();
        let h = heap.clone();
        let a = thread::spawn(move || {
            let m = h.get().attach();
            let shared = m.alloc_int(1).unwrap();
            to_b.send(shared.clone()).unwrap();
            let mine = m.alloc_int(2).unwrap(); // same class as `shared`
            drop(shared);
            drop(mine);
            live_objects(&m)
        });
        let h = heap.clone();
        let b = thread::spawn(move || {
            let m = h.get().attach();
            let mine = m.alloc_int(3).unwrap();
            let shared = m.allow_threads(|| from_a.recv().unwrap());
            assert_eq!(m.int_value(&shared).unwrap(), 1);
            drop(shared);
            assert_eq!(m.int_value(&mine).unwrap(), 3);
            drop(mine);
            live_objects(&m)
        });
        let a_live = a.join().unwrap();
        let b_live = b.join().unwrap();
        // Each thread allocated its own counts; one of them freed `shared`.
        match (a_live, b_live) {
            (0, 0) => A_FREED.fetch_add(1, Relaxed),
            (1, -1) => B_FREED.fetch_add(1, Relaxed),
            other => panic!("live objects per thread: {other:?}"),
        };
        assert_eq!(heap.get().totals().frees, 3);
        heap.check_clean();
    });
    assert!(A_FREED.load(Relaxed) > 0, "A never freed the shared object");
    assert!(B_FREED.load(Relaxed) > 0, "B never freed the shared object");
}
