//! The tracing collector's parallel marker (`--mark-workers N`): with two or
//! four workers a collection finds exactly what the serial marker finds, on
//! a heap shaped to exercise its work-splitting (a list wider than the split
//! size, long chains, cycles, tuples, finalizable garbage that reaches a
//! chain), under both count-free policies.

use heaplab::verify::assert_no_leaks;
use heaplab::{Heap, HeapConfig, Mutator, Policy, Ref};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Items of the wide lists: several times the marker's split size (4096).
const WIDE: usize = 12_000;
/// Links of each chain (a list holding the next list).
const DEEP: usize = 5_000;
/// Lists in each ring.
const RING: usize = 500;

/// A chain of `n` lists, each holding the next; the last holds a leaf.
/// Returns the head; `n + 1` objects.
fn chain<'h, P: Policy>(m: &Mutator<'h, P>, n: usize) -> Ref<'h, P> {
    let mut next = m.alloc_int(-1).unwrap();
    for _ in 0..n {
        let l = m.alloc_list().unwrap();
        m.append(&l, next).unwrap();
        next = l;
    }
    next
}

/// A list of `n` items: leaves, two-item tuples of leaves, and empty lists
/// in turn. Returns it and the number of objects it holds, itself included.
fn wide<'h, P: Policy>(m: &Mutator<'h, P>, n: usize) -> (Ref<'h, P>, usize) {
    let l = m.alloc_list().unwrap();
    let mut objects = 1;
    let shared = m.alloc_int(7).unwrap();
    objects += 1;
    for i in 0..n {
        let item = match i % 3 {
            0 => m.alloc_int(i as i64).unwrap(),
            1 => {
                objects += 1;
                m.tuple_of(&[&shared, &m.alloc_int(i as i64).unwrap()])
                    .unwrap()
            }
            _ => m.alloc_list().unwrap(),
        };
        objects += 1;
        m.append(&l, item).unwrap();
    }
    m.append(&l, shared).unwrap();
    (l, objects)
}

/// A ring of `n` lists (each holds the next, the last the first), each also
/// holding a leaf. Returns one member; `2 n` objects.
fn ring<'h, P: Policy>(m: &Mutator<'h, P>, n: usize) -> Ref<'h, P> {
    let first = m.alloc_list().unwrap();
    let mut cur = first.clone();
    for i in 1..n {
        m.append(&cur, m.alloc_int(i as i64).unwrap()).unwrap();
        let next = m.alloc_list().unwrap();
        m.append(&cur, next.clone()).unwrap();
        cur = next;
    }
    m.append(&cur, m.alloc_int(0).unwrap()).unwrap();
    m.append(&cur, first.clone()).unwrap();
    first
}

/// What one collection found: objects freed, and those live after it.
#[derive(Debug, PartialEq, Eq)]
struct Found {
    collected: [usize; 3],
    live: [usize; 3],
    finalized: usize,
}

/// Builds the same heap under `workers` marking workers, collects three
/// times (finalizable garbage survives the first), and reports what each
/// collection left. The shape checks are asserted here too: what is rooted
/// must still be readable, and the expected counts follow from the build.
fn run<P: Policy>(workers: usize) -> Found {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    c.gc.mark_workers = workers;
    let h = Heap::<P>::new(c).unwrap();
    let finalized = Arc::new(AtomicUsize::new(0));
    let mut found = Found {
        collected: [0; 3],
        live: [0; 3],
        finalized: 0,
    };
    {
        let m = h.attach();
        let root = m.alloc_list().unwrap();
        // Live: a wide list, a chain, a ring, all below `root`; a second
        // wide list rooted only by a handle.
        let (w1, w1_objects) = wide(&m, WIDE);
        m.append(&root, w1).unwrap();
        m.append(&root, chain(&m, DEEP)).unwrap();
        m.append(&root, ring(&m, RING)).unwrap();
        let (w2, w2_objects) = wide(&m, WIDE);
        let live_objects = 1 + w1_objects + (DEEP + 1) + 2 * RING + w2_objects;
        // Garbage: a wide list, a chain, two rings, and a finalizable list
        // that reaches a chain (kept for one cycle, freed on the next).
        let (_, g_wide) = wide(&m, WIDE);
        drop(chain(&m, DEEP));
        drop(ring(&m, RING));
        drop(ring(&m, RING));
        let garbage = g_wide + (DEEP + 1) + 4 * RING;
        let fin = m.alloc_list().unwrap();
        m.append(&fin, chain(&m, DEEP)).unwrap();
        let f = finalized.clone();
        m.set_finalizer(
            &fin,
            Box::new(move |_m: &Mutator<'_, P>, _me| {
                f.fetch_add(1, Ordering::SeqCst);
            }),
        );
        drop(fin);
        let kept = 1 + DEEP + 1;
        let expect = [(garbage, kept), (kept, 0), (0, 0)];
        for (i, (expect_collected, expect_kept)) in expect.into_iter().enumerate() {
            let out = m.collect();
            assert!(out.ran);
            found.collected[i] = out.collected;
            found.live[i] = h.verify().unwrap().live_objects;
            assert_eq!(out.collected, expect_collected, "collection {i}");
            assert_eq!(
                found.live[i],
                live_objects + expect_kept,
                "after collection {i}"
            );
        }
        found.finalized = finalized.load(Ordering::SeqCst);
        // What is rooted is intact.
        assert_eq!(m.len(&root), 3);
        assert_eq!(m.len(&w2), WIDE + 1);
        let mut l = m.get(&root, 1).unwrap();
        for _ in 0..DEEP {
            l = m.get(&l, 0).unwrap();
        }
        assert_eq!(m.int_value(&l).unwrap(), -1);
        let t = m.get(&w2, 4).unwrap();
        assert_eq!(m.int_value(&m.get(&t, 1).unwrap()).unwrap(), 4);
    }
    assert_no_leaks(&h);
    found
}

fn more_workers_find_what_one_finds<P: Policy>() {
    let one = run::<P>(1);
    assert_eq!(one.finalized, 1);
    assert_eq!(run::<P>(2), one, "2 workers");
    assert_eq!(run::<P>(4), one, "4 workers");
}

#[test]
fn gil_tracing_more_workers_find_what_one_finds() {
    more_workers_find_what_one_finds::<heaplab::GilTracing>();
}

#[test]
fn tracing_more_workers_find_what_one_finds() {
    more_workers_find_what_one_finds::<heaplab::Tracing>();
}
