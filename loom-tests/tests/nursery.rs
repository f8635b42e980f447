//! The nursery's minor collection (`heaplab::heap::trace::minor`) moves
//! roots while a thread that is not attached drops a `Ref`.
//!
//! `minor_collection_while_a_detached_thread_drops` runs it through a
//! `Heap<GilTracing>` with a nursery: one thread holds young objects and
//! drops a clone inside `allow_threads` (the root is queued, `heap::refs`,
//! and emptied at the next checkpoint) while the other collects (a full
//! collection runs a minor one first, moving what is still held); what is
//! held keeps its contents, and the heap ends verified and empty.
//!
//! Why the drop is queued rather than a plain store racing the move's
//! compare-and-swap: loom 0.7.3 lets a plain store that runs after a
//! compare-and-swap be ordered before the swap's write (a store of 0
//! racing a load of 5 and a swap of 5 for 9 can end at 9, even with
//! `SeqCst`), which C++'s rule that a read-modify-write reads the value
//! just before its own write forbids; a model of that race cannot pass,
//! and hardware keeps the rule. With the drop queued, no slot is emptied
//! during a move, and the model checks the queue (a mutex) instead.

#![cfg(loom)]

use heaplab::sync::Arc;
use heaplab::GilTracing;
use loom::thread;
use loom_tests::{run_model_with_timeouts, spawn_collector, SharedHeap};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Executions in which the minor collection found the held objects young
/// (outside loom: a model that never reaches its race checks nothing).
static MOVED: AtomicUsize = AtomicUsize::new(0);

fn minor_collection_while_a_detached_thread_drops() {
    let mut config = heaplab::HeapConfig::default();
    config.gc.enabled = false;
    config.trace.nursery = Some(heaplab::heap::trace::nursery::MIN_NURSERY);
    let heap = Arc::new(SharedHeap::<GilTracing>::with_config(config));
    let (tx, rx) = loom::sync::mpsc::channel();
    let h = heap.clone();
    let mutator = thread::spawn(move || {
        let m = h.get().attach();
        let kept = m.alloc_int(5).unwrap();
        let l = m.list_of(vec![m.alloc_int(6).unwrap()]).unwrap();
        let c = kept.clone();
        tx.send(()).unwrap();
        // Dropped detached: may race the other thread's minor collection.
        m.allow_threads(|| drop(c));
        m.checkpoint();
        assert_eq!(
            m.int_value(&kept).unwrap(),
            5,
            "a held young object moved wrong"
        );
        assert_eq!(m.int_value(&m.get(&l, 0).unwrap()).unwrap(), 6);
    });
    let collector = spawn_collector(heap.clone(), rx);
    mutator.join().unwrap();
    let out = collector.join().unwrap();
    assert!(out.ran, "the only request runs");
    if heap.get().trace_state().nursery_stats().promoted_objects > 0 {
        MOVED.fetch_add(1, Ordering::Relaxed);
    }
    heap.check_clean();
}

#[test]
fn nursery_minor_collection_while_a_detached_thread_drops() {
    for fire in [false, true] {
        run_model_with_timeouts(
            "nursery_minor_collection_while_a_detached_thread_drops",
            fire,
            minor_collection_while_a_detached_thread_drops,
        );
    }
    assert!(
        MOVED.load(Ordering::Relaxed) > 0,
        "no execution moved a held young object"
    );
}
