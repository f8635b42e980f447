//! The cyclic collector, drawn from CPython's `test_gc`, under every policy
//! and both ways of finding containers (generational only under `gil`).

mod common;
use heaplab::gc::GcMode;
use heaplab::verify::assert_no_leaks;
use heaplab::{Heap, HeapConfig, Policy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Heaps with automatic collection off, one per mode the policy supports.
fn heaps<P: Policy>() -> Vec<Heap<P>> {
    let mut modes = vec![GcMode::PoolWalk];
    if !P::FREE_THREADED {
        modes.push(GcMode::Generational);
    }
    modes
        .into_iter()
        .map(|mode| {
            let mut c = HeapConfig::default();
            c.gc.enabled = false;
            c.gc.mode = mode;
            Heap::<P>::new(c).unwrap()
        })
        .collect()
}

fn list_containing_itself<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let l = m.alloc_list().unwrap();
            m.append(&l, l.clone()).unwrap();
            drop(l);
            assert_eq!(m.collect().collected, 1, "{:?}", h.gc_mode());
            assert_eq!(m.collect().collected, 0);
        }
        assert_no_leaks(&h);
    }
}

fn two_and_three_object_cycles<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            // tuple <-> list
            let l = m.alloc_list().unwrap();
            let t = m
                .alloc_tuple(vec![l.clone(), m.alloc_int(5).unwrap()])
                .unwrap();
            m.append(&l, t).unwrap();
            drop(l);
            // list -> tuple -> list -> list (3 containers)
            let l1 = m.alloc_list().unwrap();
            let l2 = m.alloc_list().unwrap();
            let t = m.alloc_tuple(vec![l2.clone()]).unwrap();
            m.append(&l1, t).unwrap();
            m.append(&l2, l1.clone()).unwrap();
            drop((l1, l2));
            // the int leaf is freed by clearing, not counted as collected
            let out = m.collect();
            assert_eq!(out.collected, 2 + 3, "{:?}", h.gc_mode());
        }
        assert_no_leaks(&h);
    }
}

fn cycle_kept_alive_by_a_rust_ref<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let a = m.alloc_list().unwrap();
            let b = m.alloc_list().unwrap();
            m.append(&a, b.clone()).unwrap();
            m.append(&b, a.clone()).unwrap();
            drop(b);
            assert_eq!(m.collect().collected, 0, "a is held from Rust");
            assert_eq!(m.len(&a), 1);
            let b2 = m.get(&a, 0).unwrap();
            assert_eq!(m.len(&b2), 1, "b survived intact");
            drop((a, b2));
            assert_eq!(m.collect().collected, 2);
        }
        assert_no_leaks(&h);
    }
}

fn cycle_hanging_off_a_cycle<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let a = m.alloc_list().unwrap();
            m.append(&a, a.clone()).unwrap();
            let b = m.alloc_list().unwrap();
            m.append(&b, b.clone()).unwrap();
            m.append(&a, b).unwrap(); // a's cycle refers to b's cycle
            drop(a);
            assert_eq!(m.collect().collected, 2);
        }
        assert_no_leaks(&h);
    }
}

fn million_node_cyclic_graph<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let first = m.alloc_list().unwrap();
            let mut prev = first.clone();
            for _ in 1..1_000_000 {
                let n = m.alloc_list().unwrap();
                m.append(&prev, n.clone()).unwrap();
                prev = n;
            }
            m.append(&prev, first.clone()).unwrap(); // close the ring
            drop(prev);
            assert_eq!(m.collect().collected, 0, "held by `first`");
            drop(first);
            assert_eq!(m.collect().collected, 1_000_000);
        }
        assert_no_leaks(&h);
    }
}

fn finalizers_in_a_cycle_run_once<P: Policy>() {
    for h in heaps::<P>() {
        let runs = Arc::new(AtomicUsize::new(0));
        {
            let m = h.attach();
            let a = m.alloc_list().unwrap();
            let b = m.alloc_list().unwrap();
            m.append(&a, b.clone()).unwrap();
            m.append(&b, a.clone()).unwrap();
            for x in [&a, &b] {
                let runs = runs.clone();
                m.set_finalizer(
                    x,
                    Box::new(move |m, me| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // A finalizer may allocate.
                        let _tmp = m.alloc_int(1).unwrap();
                        drop(me);
                    }),
                );
            }
            drop((a, b));
            let out = m.collect();
            assert_eq!(runs.load(Ordering::SeqCst), 2);
            assert_eq!(out.collected, 2);
            assert_eq!(out.resurrected, 0);
            assert_eq!(m.collect().collected, 0);
            assert_eq!(runs.load(Ordering::SeqCst), 2, "each finalizer ran once");
        }
        assert_no_leaks(&h);
    }
}

fn resurrected_object_survives_and_is_freed_later<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let keeper = m.alloc_list().unwrap();
            let a = m.alloc_list().unwrap();
            m.append(&a, a.clone()).unwrap();
            // A finalizer outlives any borrow, so it keeps a raw counted
            // reference to the keeper (as a Python global would).
            let k = keeper.clone().into_raw() as usize;
            m.set_finalizer(
                &a,
                Box::new(move |m, me| {
                    // SAFETY: `k` is a counted reference to a live list of
                    // this heap, given up above and taken back once here.
                    let k = unsafe { heaplab::Ref::from_raw(m.heap(), k as *mut _) };
                    // Store ourselves somewhere reachable: resurrection.
                    m.append(&k, me).unwrap();
                }),
            );
            drop(a);
            let out = m.collect();
            assert_eq!(out.collected, 0);
            assert_eq!(out.resurrected, 1);
            assert_eq!(m.len(&keeper), 1);
            let a = m.pop(&keeper).unwrap().unwrap();
            assert_eq!(m.len(&a), 1, "the resurrected list is intact");
            drop(a);
            // Its finalizer already ran: now it is collected like any cycle.
            assert_eq!(m.collect().collected, 1);
            drop(keeper);
        }
        assert_no_leaks(&h);
    }
}

fn large_container_in_a_cycle<P: Policy>() {
    for h in heaps::<P>() {
        {
            let m = h.attach();
            let items: Vec<_> = (0..100).map(|i| m.alloc_int(i).unwrap()).collect();
            let l = m.alloc_list().unwrap();
            let big = m
                .alloc_tuple(items.into_iter().chain([l.clone()]).collect::<Vec<_>>())
                .unwrap();
            assert!(heaplab::object::tuple_size::<P>(101) > 512);
            m.append(&l, big).unwrap();
            drop(l);
            assert_eq!(m.collect().collected, 2);
        }
        assert_no_leaks(&h);
    }
}

fn collection_can_be_disabled_and_triggers_automatically<P: Policy>() {
    let mut c = HeapConfig::default();
    c.gc.threshold = 1000;
    c.gc.gen_thresholds[0] = 700;
    let h = Heap::<P>::new(c).unwrap();
    {
        let m = h.attach();
        for _ in 0..20_000 {
            let l = m.alloc_list().unwrap();
            m.append(&l, l.clone()).unwrap();
            drop(l);
            m.checkpoint();
        }
        let s = h.gc_stats();
        assert!(
            s.collections.iter().sum::<u64>() > 0,
            "automatic collections ran"
        );
        assert!(s.collected > 10_000, "collected {}", s.collected);
        h.set_gc_enabled(false);
        let before = h.gc_stats().collections.iter().sum::<u64>();
        for _ in 0..20_000 {
            let l = m.alloc_list().unwrap();
            m.append(&l, l.clone()).unwrap();
            drop(l);
            m.checkpoint();
        }
        assert_eq!(
            h.gc_stats().collections.iter().sum::<u64>(),
            before,
            "disabled"
        );
        m.collect();
    }
    assert_no_leaks(&h);
}

/// Every thread creates cyclic garbage while automatic collections run;
/// nothing reachable is freed (each thread checks its survivors).
fn threads_make_cyclic_garbage_while_collections_run<P: Policy>() {
    let mut c = HeapConfig::default();
    c.gc.threshold = 500;
    c.gc.batch = 64;
    let h = Heap::<P>::new(c).unwrap();
    std::thread::scope(|s| {
        for t in 0..3i64 {
            let h = &h;
            s.spawn(move || {
                let m = h.attach();
                let survivors = m.alloc_list().unwrap();
                for i in 0..20_000i64 {
                    let a = m.alloc_list().unwrap();
                    let b = m
                        .alloc_tuple(vec![a.clone(), m.alloc_int(t * 1_000_000 + i).unwrap()])
                        .unwrap();
                    m.append(&a, b.clone()).unwrap();
                    if i % 100 == 0 {
                        m.append(&survivors, b).unwrap();
                    }
                    drop(a);
                    m.checkpoint();
                }
                // Walk the survivors: every one still intact.
                for k in 0..m.len(&survivors) {
                    let b = m.get(&survivors, k).unwrap();
                    let v = m.int_value(&m.get(&b, 1).unwrap()).unwrap();
                    assert_eq!(v, t * 1_000_000 + k as i64 * 100);
                    let a = m.get(&b, 0).unwrap();
                    assert!(m.is_same(&m.get(&a, 0).unwrap(), &b));
                }
            });
        }
    });
    let s = h.gc_stats();
    assert!(s.collections.iter().sum::<u64>() > 0);
    if P::FREE_THREADED {
        assert!(!s.time_to_safepoint_ns.is_empty());
    }
    h.verify().unwrap();
    heaplab::verify::assert_no_leaks_after_collect(&h);
}

/// A pool-walk collection is a full one (the free-threaded build's only
/// generation, counted as generation 2): the outcome and the statistics say
/// 2, whichever generation was asked for; generational mode collects what
/// was asked.
fn full_collections_are_recorded_as_generation_2<P: Policy>() {
    for h in heaps::<P>() {
        let mode = h.gc_mode();
        {
            let m = h.attach();
            let l = m.alloc_list().unwrap();
            m.append(&l, l.clone()).unwrap();
            drop(l);
            let young = m.collect_generation(0);
            let full = m.collect();
            assert_eq!(full.generation, 2, "{mode:?}");
            match mode {
                GcMode::PoolWalk => {
                    assert_eq!(young.generation, 2);
                    assert_eq!(h.gc_stats().collections, [0, 0, 2]);
                }
                GcMode::Generational => {
                    assert_eq!(young.generation, 0);
                    assert_eq!(h.gc_stats().collections, [1, 0, 1]);
                }
            }
            assert_eq!(young.collected + full.collected, 1, "{mode:?}");
        }
        assert_no_leaks(&h);
    }
}

/// A collection untracks the tuples no cycle can pass through (every item a
/// leaf or an untracked tuple: CPython's `_PyTuple_MaybeUntrack`); tuples
/// holding a list stay tracked, and what refers to an untracked tuple is
/// still collected, the tuple freed by its count (not counted as collected).
fn collections_untrack_tuples_of_untracked_items<P: Policy>() {
    for h in heaps::<P>() {
        let mode = h.gc_mode();
        {
            let m = h.attach();
            let t1 = m
                .alloc_tuple(vec![m.alloc_int(1).unwrap(), m.alloc_int(2).unwrap()])
                .unwrap();
            let t2 = m
                .alloc_tuple(vec![t1.clone(), m.alloc_int(3).unwrap()])
                .unwrap();
            let empty = m.alloc_tuple(Vec::new()).unwrap();
            let l = m.alloc_list().unwrap();
            let t3 = m.alloc_tuple(vec![l.clone()]).unwrap();
            let t4 = m.alloc_tuple(vec![t3.clone(), t1.clone()]).unwrap();
            for r in [&t1, &t2, &empty, &l, &t3, &t4] {
                assert!(h.is_tracked(r), "containers are born tracked");
            }
            assert_eq!(m.collect().collected, 0);
            assert!(!h.is_tracked(&t1), "{mode:?}: leaves only");
            assert!(!h.is_tracked(&empty), "{mode:?}: no items");
            if mode == GcMode::Generational {
                // Oldest first, as CPython 3.11: t1 before t2, in one pass.
                assert!(!h.is_tracked(&t2), "an untracked tuple and a leaf");
            }
            m.collect();
            assert!(
                !h.is_tracked(&t2),
                "{mode:?}: an untracked tuple and a leaf"
            );
            for r in [&l, &t3, &t4] {
                assert!(h.is_tracked(r), "{mode:?}: a list may join a cycle");
            }
            // A cycle through a list holding the untracked tuple: the list
            // is collected, the tuples are freed by their counts.
            m.append(&l, l.clone()).unwrap();
            m.append(&l, t2).unwrap();
            drop((t1, empty, l, t3));
            assert_eq!(m.collect().collected, 0, "held through t4");
            drop(t4);
            // t4, then t3, are freed by their counts; l is a self-cycle
            // holding t2 (and t2 holds t1): tracked, t2 and t1 would be
            // garbage beside l.
            assert_eq!(m.collect().collected, 1, "{mode:?}: the list alone");
        }
        assert_no_leaks(&h);
    }
}

/// CPython 3.11 holds only the object being finalized, so garbage that a
/// finalizer disconnects is freed by its count and not counted as collected;
/// a disconnected cycle is still garbage. As in CPython (the same shape in
/// Python, lists with `__slots__ = ()`, collects 2): `a = [a, d, b]` with a
/// finalizer that pops `b` and `d`, `d = [d]`, `b = [c]`.
fn what_a_finalizer_disconnects_is_freed_by_its_count<P: Policy>() {
    for h in heaps::<P>() {
        let mode = h.gc_mode();
        let c_freed = Arc::new(AtomicUsize::new(0));
        {
            let m = h.attach();
            let a = m.alloc_list().unwrap();
            let d = m.alloc_list().unwrap();
            m.append(&d, d.clone()).unwrap();
            let b = m.alloc_list().unwrap();
            let c = m.alloc_list().unwrap();
            m.append(&b, c.clone()).unwrap();
            m.append(&a, a.clone()).unwrap();
            m.append(&a, d).unwrap();
            m.append(&a, b).unwrap();
            m.set_finalizer(
                &a,
                Box::new(|m, me| {
                    drop(m.pop(&me).unwrap()); // b
                    drop(m.pop(&me).unwrap()); // d
                }),
            );
            let seen = c_freed.clone();
            m.set_finalizer(
                &c,
                Box::new(move |_, _| {
                    seen.fetch_add(1, Ordering::SeqCst);
                }),
            );
            drop((a, c));
            let out = m.collect();
            assert_eq!(out.collected, 2, "{mode:?}: a and d, not b and c");
            assert_eq!(out.resurrected, 0, "{mode:?}");
            assert_eq!(c_freed.load(Ordering::SeqCst), 1, "c's finalizer ran");
            assert_eq!(m.collect().collected, 0);
        }
        assert_no_leaks(&h);
    }
}

/// Marking with two workers (atomic claims, work split past 4,096 entries)
/// finds what one finds: live structure wide and deep survives intact,
/// every cycle dropped is collected, whether the pool walk meets parents
/// before their children or after (the possible roots it keeps).
fn parallel_marking_finds_what_serial_marking_finds<P: Policy>() {
    for workers in [1, 2] {
        let mut c = HeapConfig::default();
        c.gc.enabled = false;
        c.gc.mark_workers = workers;
        let h = Heap::<P>::new(c).unwrap();
        {
            let m = h.attach();
            let keep = m.alloc_list().unwrap();
            for i in 0..3000 {
                let a = m.alloc_list().unwrap();
                let b = m
                    .alloc_tuple(vec![a.clone(), m.alloc_int(i).unwrap()])
                    .unwrap();
                m.append(&a, b).unwrap();
                if i % 3 == 0 {
                    m.append(&keep, a).unwrap();
                }
            }
            // Wide: 10,000 lists, each holding a list in a cycle with it.
            let wide = m.alloc_list().unwrap();
            for _ in 0..10_000 {
                let x = m.alloc_list().unwrap();
                let y = m.alloc_list().unwrap();
                m.append(&x, y.clone()).unwrap();
                m.append(&y, x.clone()).unwrap();
                m.append(&wide, x).unwrap();
            }
            m.append(&keep, wide).unwrap();
            let out = m.collect();
            assert_eq!(out.collected, 4000, "{workers} workers");
            assert_eq!(m.collect().collected, 0, "{workers} workers");
            let wide = m.get(&keep, 1000).unwrap();
            for k in (0..10_000).step_by(997) {
                let x = m.get(&wide, k).unwrap();
                let y = m.get(&x, 0).unwrap();
                assert!(m.is_same(&m.get(&y, 0).unwrap(), &x), "{workers} workers");
            }
            // keep and wide die by their counts; their cycles are garbage.
            drop((wide, keep));
            assert_eq!(m.collect().collected, 2000 + 20_000, "{workers} workers");
            // Children allocated before their parent (the pool walk meets
            // each before the reference that makes it no root), half of
            // them live through the parent, half in cycles of their own.
            let kids: Vec<_> = (0..10_000).map(|_| m.alloc_list().unwrap()).collect();
            let parent = m.alloc_list().unwrap();
            for (i, k) in kids.into_iter().enumerate() {
                if i % 2 == 0 {
                    m.append(&parent, k).unwrap();
                } else {
                    m.append(&k, k.clone()).unwrap();
                }
            }
            let out = m.collect();
            assert_eq!(out.collected, 5000, "{workers} workers");
            assert!(out.examined >= 10_001, "{workers} workers");
            assert_eq!(m.collect().collected, 0, "{workers} workers");
            assert_eq!(m.len(&parent), 5000, "{workers} workers");
            drop(parent);
            assert_eq!(m.collect().collected, 0, "{workers} workers");
        }
        assert_no_leaks(&h);
    }
}

all_policies!(
    list_containing_itself,
    two_and_three_object_cycles,
    cycle_kept_alive_by_a_rust_ref,
    cycle_hanging_off_a_cycle,
    million_node_cyclic_graph,
    finalizers_in_a_cycle_run_once,
    resurrected_object_survives_and_is_freed_later,
    large_container_in_a_cycle,
    collection_can_be_disabled_and_triggers_automatically,
    threads_make_cyclic_garbage_while_collections_run,
    chains_built_and_dropped_keep_triggering,
    full_collections_are_recorded_as_generation_2,
    collections_untrack_tuples_of_untracked_items,
    what_a_finalizer_disconnects_is_freed_by_its_count,
    parallel_marking_finds_what_serial_marking_finds,
);

/// One thread builds and drops a chain of 121 lists 200 times with the
/// threshold at 64 (a new user's first try, issue 12). CPython 3.11 clamps its
/// count at 0 when containers allocated before a collection are freed, so
/// every build crosses the threshold again: about 200 automatic collections,
/// and at most one a build (after the one at 65, 56 allocations cannot cross
/// 64). A count driven negative instead stops collecting after the first.
/// The batch is below the threshold: a per-thread batch of 512 hides a
/// threshold of 64 from one thread, as in free-threaded CPython.
fn chains_built_and_dropped_keep_triggering<P: Policy>() {
    let mut modes = vec![GcMode::PoolWalk];
    if !P::FREE_THREADED {
        modes.push(GcMode::Generational);
    }
    for mode in modes {
        for batch in [1, 16] {
            let mut c = HeapConfig::default();
            c.gc.mode = mode;
            c.gc.threshold = 64;
            c.gc.gen_thresholds[0] = 64;
            c.gc.batch = batch;
            let h = Heap::<P>::new(c).unwrap();
            {
                let m = h.attach();
                for _ in 0..200 {
                    let head = m.alloc_list().unwrap();
                    let mut tail = head.clone();
                    for _ in 1..121 {
                        let n = m.alloc_list().unwrap();
                        m.append(&tail, n.clone()).unwrap();
                        tail = n;
                        m.checkpoint();
                    }
                    drop((head, tail));
                    m.checkpoint();
                }
            }
            let by_gen = h.gc_stats().collections;
            let runs: u64 = by_gen.iter().sum();
            if mode == GcMode::PoolWalk {
                assert_eq!(by_gen[..2], [0, 0], "pool-walk collections are full ones");
            }
            assert!(
                (100..=200).contains(&runs),
                "{mode:?}, batch {batch}: {runs} automatic collections, CPython 3.11 about 200"
            );
            assert_no_leaks(&h);
        }
    }
}
