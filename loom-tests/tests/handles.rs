//! Handle tables (`heaplab::policy::handles`): the roots of the count-free
//! policies, emptied from any thread while a root scan may run.
//!
//! - `drop_during_scan_then_reuse` runs the protocol on the table itself: a
//!   thread that is not attached uses an object and drops its root while the
//!   owner, as the collector with the world stopped, scans the roots and
//!   frees the object if the scan found no root; then, the world running
//!   again, the owner fills new roots (its sweep may reclaim the dropped
//!   slot). The free must never race the dropping thread's use (loom checks
//!   the cell), an object still rooted is never freed, and afterwards the
//!   roots are exactly what is still held.
//! - `heap_drop_and_clone_while_collecting` runs it through a
//!   `Heap<Tracing>`: one thread clones and drops `Ref`s (attached, and inside
//!   `allow_threads`) while another collects with the world stopped; what the
//!   first still holds survives, and the heap ends verified and empty.

#![cfg(loom)]

use heaplab::policy::handles::Handles;
use heaplab::sync::{Arc, UnsafeCell};
use heaplab::Tracing;
use loom::thread;
use loom_tests::{run_model, spawn_collector, SharedHeap};

/// A stand-in object: a cell the dropping thread reads and the collector
/// writes when it frees it.
struct Obj(UnsafeCell<u64>);

fn drop_during_scan_then_reuse() {
    let handles = Arc::new(Handles::new());
    let a = Box::into_raw(Box::new(Obj(UnsafeCell::new(7))));
    let b = Box::into_raw(Box::new(Obj(UnsafeCell::new(8))));
    let c = Box::into_raw(Box::new(Obj(UnsafeCell::new(9))));
    let mut owner = handles.attach();
    let root_a = owner.new_root(a as *mut u8);
    let root_b = owner.new_root(b as *mut u8);
    let a_addr = a as usize;
    // The other thread holds A's root; it is not attached.
    let t = thread::spawn(move || {
        // SAFETY: A is alive while this root holds it.
        let v = unsafe { (*(a_addr as *const Obj)).0.with(|p| *p) };
        assert_eq!(v, 7, "A was freed while rooted");
        // SAFETY: made by `new_root` on a live table; emptied once.
        unsafe { root_a.drop_root() };
    });
    // The collector, world stopped: scan, free A if it has no root.
    let mut found_a = false;
    let mut found_b = false;
    handles.for_each_root(&mut |o| {
        found_a |= o as usize == a as usize;
        found_b |= o as usize == b as usize;
    });
    assert!(found_b, "a live root was missed");
    if !found_a {
        // "Free" A: a write that must happen after the other thread's read.
        // SAFETY: the cell lives until the end of the model.
        unsafe { (*a).0.with_mut(|p| *p = 0) };
    }
    // The world runs again: the owner fills a new root (the sweep may take
    // A's slot back).
    let root_c = owner.new_root(c as *mut u8);
    t.join().unwrap();
    let mut roots = Vec::new();
    handles.for_each_root(&mut |o| roots.push(o as usize));
    roots.sort();
    let mut want = vec![b as usize, c as usize];
    want.sort();
    assert_eq!(roots, want, "roots are exactly what is held");
    // SAFETY: made by `new_root`; emptied once each.
    unsafe {
        root_b.drop_root();
        root_c.drop_root();
    }
    assert_eq!(handles.roots(), 0);
    handles.detach(&mut owner);
    // SAFETY: made by `Box::into_raw` above; nothing refers to them now.
    unsafe {
        drop(Box::from_raw(a));
        drop(Box::from_raw(b));
        drop(Box::from_raw(c));
    }
}

#[test]
fn handles_drop_during_scan_then_reuse() {
    run_model(
        "handles_drop_during_scan_then_reuse",
        drop_during_scan_then_reuse,
    );
}

fn heap_drop_and_clone_while_collecting() {
    let heap = Arc::new(SharedHeap::<Tracing>::new());
    let (tx, rx) = loom::sync::mpsc::channel();
    let h = heap.clone();
    let mutator = thread::spawn(move || {
        let m = h.get().attach();
        let kept = m.alloc_int(5).unwrap();
        let garbage = m.alloc_int(6).unwrap();
        tx.send(()).unwrap();
        // Clone and drop while the other thread may be collecting: one drop
        // attached, one detached (a drop during a scan).
        let c = kept.clone();
        drop(garbage);
        m.checkpoint();
        m.allow_threads(|| drop(c));
        m.checkpoint();
        assert_eq!(m.int_value(&kept).unwrap(), 5, "a rooted object was freed");
    });
    let collector = spawn_collector(heap.clone(), rx);
    mutator.join().unwrap();
    let out = collector.join().unwrap();
    assert!(out.ran, "the only request runs");
    heap.check_clean();
}

#[test]
fn handles_heap_drop_and_clone_while_collecting() {
    run_model(
        "handles_heap_drop_and_clone_while_collecting",
        heap_drop_and_clone_while_collecting,
    );
}
