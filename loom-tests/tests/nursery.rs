//! The nursery's minor collection (`heaplab::heap::trace::minor`) moves
//! roots while threads that are not attached may empty them.
//!
//! - `move_races_a_detached_drop` runs the protocol on a handle table: one
//!   thread, not attached, drops a root while the collector (the GIL
//!   holder) moves the roots with `Handles::move_roots`. Whatever the
//!   order, the dropped slot ends empty (a plain store would refill it
//!   with the moved address: a root nobody owns, never dropped), and the
//!   root still held names the copy.
//! - `minor_collection_while_a_detached_thread_drops` runs it through a
//!   `Heap<GilTracing>` with a nursery: one thread holds young objects and
//!   drops a clone inside `allow_threads` while the other collects (a full
//!   collection runs a minor one first, moving what is still held); what
//!   is held keeps its contents, and the heap ends verified and empty.

#![cfg(loom)]

use heaplab::policy::handles::Handles;
use heaplab::sync::Arc;
use heaplab::GilTracing;
use loom::thread;
use loom_tests::{run_model, run_model_with_timeouts, SharedHeap};
use std::sync::atomic::{AtomicUsize, Ordering};

fn move_races_a_detached_drop() {
    let handles = Arc::new(Handles::new());
    // Stand-in addresses: the table never dereferences them.
    let (a, a2, b, b2) = (0x1000usize, 0x2000usize, 0x3000usize, 0x4000usize);
    let mut owner = handles.attach();
    let root_a = owner.new_root(a as *mut u8);
    let root_b = owner.new_root(b as *mut u8);
    let t = thread::spawn(move || {
        // SAFETY: made by `new_root` on a live table; emptied once.
        unsafe { root_a.drop_root() };
    });
    // The collector moves every young root (A to A2, B to B2).
    handles.move_roots(&mut |o| match o as usize {
        x if x == a => a2 as *mut u8,
        x if x == b => b2 as *mut u8,
        _ => o,
    });
    t.join().unwrap();
    let mut roots = Vec::new();
    handles.for_each_root(&mut |o| roots.push(o as usize));
    assert_eq!(
        roots,
        vec![b2],
        "the dropped root stays dropped, the held one moved"
    );
    assert_eq!(
        root_b.obj() as usize,
        b2,
        "the Ref reads its object's new place"
    );
    // SAFETY: made by `new_root`; emptied once.
    unsafe { root_b.drop_root() };
    handles.detach(&mut owner);
}

#[test]
fn nursery_move_races_a_detached_drop() {
    run_model(
        "nursery_move_races_a_detached_drop",
        move_races_a_detached_drop,
    );
}

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
    let h = heap.clone();
    let collector = thread::spawn(move || {
        let m = h.get().attach();
        m.allow_threads(|| rx.recv().unwrap());
        m.collect()
    });
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
    run_model_with_timeouts(
        "nursery_minor_collection_while_a_detached_thread_drops",
        false,
        minor_collection_while_a_detached_thread_drops,
    );
    assert!(
        MOVED.load(Ordering::Relaxed) > 0,
        "no execution moved a held young object"
    );
}
