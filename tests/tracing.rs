//! The count-free policies (`gil-tracing`, `tracing`): a `Ref` is a root in
//! its thread's handle table, and objects come back only through the tracing
//! collector. The same program means the same as under a counting policy;
//! what differs is *when* memory comes back, so these tests compare after a
//! collection.

use heaplab::heap::gc::GcMode;
use heaplab::verify::assert_no_leaks;
use heaplab::{Heap, HeapConfig, Mutator, Policy, Ref};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};

mod common;

/// A heap whose collector runs only when asked.
fn manual<P: Policy>() -> Heap<P> {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    Heap::<P>::new(c).unwrap()
}

fn live<P: Policy>(h: &Heap<P>) -> usize {
    h.verify().unwrap().live_objects
}

fn list_operations_keep_their_meaning<P: Policy>() {
    let h = manual::<P>();
    {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        for i in 0..100 {
            m.append(&l, m.alloc_int(i).unwrap()).unwrap();
        }
        m.set(&l, 5, m.alloc_int(-5).unwrap()).unwrap();
        let t = m.tuple_of(&[&l, &m.alloc_int(7).unwrap()]).unwrap();
        assert!(m.collect().ran);
        assert_eq!(m.len(&l), 100);
        assert_eq!(m.int_value(&m.get(&l, 5).unwrap()).unwrap(), -5);
        assert_eq!(m.int_value(&m.get(&l, 99).unwrap()).unwrap(), 99);
        assert_eq!(m.int_value(&m.pop(&l).unwrap().unwrap()).unwrap(), 99);
        assert_eq!(m.int_value(&m.get(&t, 1).unwrap()).unwrap(), 7);
        assert!(m.get(&m.get(&t, 0).unwrap(), 0).is_ok());
        // list + 99 ints + tuple + the 7; the displaced 5 and popped 99 are
        // garbage once collected.
        m.collect();
        assert_eq!(live(&h), 1 + 99 + 1 + 1);
        assert_eq!(
            m.leaf_vec(&m.get(&l, 0).unwrap()).unwrap(),
            0i64.to_le_bytes()
        );
    }
    assert_no_leaks(&h);
}

fn decref_never_frees_collect_does<P: Policy>() {
    let h = manual::<P>();
    {
        let m = h.attach();
        let keep: Vec<_> = (0..10).map(|i| m.alloc_int(i).unwrap()).collect();
        for i in 0..1000 {
            drop(m.alloc_int(i).unwrap());
        }
        // Nothing came back on a drop: no counts.
        assert_eq!(live(&h), 1010);
        let out = m.collect();
        assert_eq!(out.collected, 1000);
        assert_eq!(live(&h), 10);
        for (i, r) in keep.iter().enumerate() {
            assert_eq!(m.int_value(r).unwrap(), i as i64);
        }
        assert_eq!(h.root_count(), 10);
    }
    assert_no_leaks(&h);
}

fn cycles_are_freed<P: Policy>() {
    let h = manual::<P>();
    {
        let m = h.attach();
        for _ in 0..50 {
            let a = m.alloc_list().unwrap();
            let b = m.alloc_list().unwrap();
            m.append(&a, b.clone()).unwrap();
            m.append(&b, a.clone()).unwrap();
            m.append(&a, a.clone()).unwrap();
        }
        let kept = m.alloc_list().unwrap();
        m.append(&kept, kept.clone()).unwrap();
        assert_eq!(live(&h), 101);
        assert_eq!(m.collect().collected, 100);
        assert_eq!(live(&h), 1);
        assert!(m.is_same(&m.get(&kept, 0).unwrap(), &kept));
    }
    assert_no_leaks(&h);
}

fn finalizers_run_once_and_may_resurrect<P: Policy>() {
    let h = manual::<P>();
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let m = h.attach();
        let saved = m.alloc_list().unwrap();
        let saved_ptr = saved.as_ptr() as usize;
        // Two objects with finalizers: one dies quietly, one resurrects
        // itself into `saved`.
        let quiet = m.alloc_list().unwrap();
        m.append(&quiet, m.alloc_int(1).unwrap()).unwrap();
        let r = ran.clone();
        m.set_finalizer(
            &quiet,
            Box::new(move |_m: &Mutator<'_, P>, _me| {
                r.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let phoenix = m.alloc_int(42).unwrap();
        let r = ran.clone();
        m.set_finalizer(
            &phoenix,
            Box::new(move |m: &Mutator<'_, P>, me: Ref<'_, P>| {
                r.fetch_add(1, Ordering::SeqCst);
                // Find `saved` through a root made from its address: it is
                // alive (the test holds it).
                // SAFETY: `saved` is held by the test thread's `Ref`.
                let saved = unsafe { Ref::from_raw(m.heap(), saved_ptr as *mut _) };
                m.append(&saved, me).unwrap();
                drop(saved);
            }),
        );
        drop((quiet, phoenix));
        // First cycle: both unreachable; their finalizers run, and what they
        // reach survives until the next cycle.
        let out = m.collect();
        assert_eq!(out.collected, 0);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(h.gc_stats().finalizers_run, 2);
        // Second cycle: the quiet one and its int go; the phoenix lives on.
        assert_eq!(m.collect().collected, 2);
        assert_eq!(m.int_value(&m.get(&saved, 0).unwrap()).unwrap(), 42);
        m.pop(&saved).unwrap();
        // Third: the phoenix dies for good, its finalizer not run again.
        assert_eq!(m.collect().collected, 1);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
    assert_no_leaks(&h);
}

fn immortal_objects_are_roots<P: Policy>() {
    let h = manual::<P>();
    {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        m.append(&l, m.alloc_int(3).unwrap()).unwrap();
        h.immortalize(&l);
        let p = l.as_ptr();
        drop(l);
        m.collect();
        // SAFETY: immortal, so alive; we are attached.
        let l = unsafe { Ref::from_raw(&h, p) };
        assert_eq!(m.int_value(&m.get(&l, 0).unwrap()).unwrap(), 3);
        assert_eq!(live(&h), 1); // the int; the list counts as immortal
    }
}

fn growth_triggers_collections<P: Policy>() {
    let h = Heap::<P>::with_defaults();
    {
        let m = h.attach();
        let keep = m.alloc_list().unwrap();
        for i in 0..200_000 {
            let t = m.tuple_of(&[&m.alloc_int(i).unwrap()]).unwrap();
            if i % 1000 == 0 {
                m.append(&keep, t).unwrap();
            }
            m.checkpoint();
        }
        let st = h.gc_stats();
        assert!(st.collections[2] > 0, "no collection was triggered");
        assert!(st.collected > 100_000);
        // What is live is bounded by the trigger: two times the minimum.
        let reserved = h.memory().bytes_reserved_peak;
        assert!(reserved < 32 << 20, "peak reserved {reserved}");
        assert_eq!(m.len(&keep), 200);
    }
    assert_no_leaks(&h);
}

/// Near a memory limit the trigger fires before the growth factor says so:
/// garbage is reclaimed instead of an allocation being refused.
fn a_memory_limit_collects_before_refusing<P: Policy>() {
    let mut c = HeapConfig {
        max_heap: Some(8 << 20),
        ..Default::default()
    };
    c.trace.growth = 10.0; // alone, would let 20 MiB of garbage pile up
    let h = Heap::<P>::new(c).unwrap();
    {
        let m = h.attach();
        let live = m.alloc_list().unwrap();
        for _ in 0..8000 {
            m.append(&live, m.alloc_leaf(&[7u8; 200]).unwrap()).unwrap();
        }
        m.collect();
        for i in 0..200_000 {
            let t = m.alloc_leaf(&[i as u8; 200]);
            assert!(t.is_ok(), "refused after {i} allocations: {:?}", t.err());
            m.checkpoint();
        }
        assert!(h.gc_stats().collections[2] > 2);
        assert_eq!(m.len(&live), 8000);
    }
    assert_no_leaks(&h);
}

fn handle_tables_reuse_slots<P: Policy>() {
    let h = manual::<P>();
    {
        let m = h.attach();
        let a = m.alloc_int(1).unwrap();
        for _ in 0..100_000 {
            let b = a.clone();
            let c = m.clone_ref(&b);
            drop(b);
            drop(c);
        }
        assert_eq!(h.root_count(), 1);
    }
    assert_no_leaks(&h);
}

fn refs_outlive_the_thread_that_made_them<P: Policy>() {
    let h = manual::<P>();
    let made: Vec<Ref<'_, P>> = std::thread::scope(|s| {
        s.spawn(|| {
            let m = h.attach();
            let v: Vec<_> = (0..100).map(|i| m.alloc_int(i).unwrap()).collect();
            for i in 0..100 {
                drop(m.alloc_int(i).unwrap());
            }
            v
        })
        .join()
        .unwrap()
    });
    {
        let m = h.attach(); // adopts the exited thread's table
        assert_eq!(m.collect().collected, 100);
        for (i, r) in made.iter().enumerate() {
            assert_eq!(m.int_value(r).unwrap(), i as i64);
        }
        // New roots fill the adopted table's free slots.
        let more = made.to_vec();
        drop(made);
        m.collect();
        assert_eq!(live(&h), 100);
        drop(more);
    }
    assert_no_leaks(&h);
}

/// Refs made on one thread are dropped on another, attached or inside
/// `allow_threads`, while the first collects over and over.
fn refs_dropped_elsewhere_during_collections<P: Policy>() {
    let h = manual::<P>();
    let (tx, rx) = mpsc::channel::<Vec<Ref<'_, P>>>();
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let h = &h;
        let start = &start;
        s.spawn(move || {
            let m = h.attach();
            m.allow_threads(|| start.wait());
            let mut round = 0;
            while let Ok(batch) = m.allow_threads(|| rx.recv()) {
                // The objects are still alive: read them, then drop them
                // here, detached every other round (a drop during a scan).
                for r in &batch {
                    assert!(m.int_value(r).unwrap() >= 0);
                }
                if round % 2 == 0 {
                    m.allow_threads(|| drop(batch));
                } else {
                    drop(batch);
                }
                m.checkpoint();
                round += 1;
            }
        });
        let m = h.attach();
        m.allow_threads(|| start.wait());
        for round in 0..200 {
            let batch: Vec<_> = (0..50)
                .map(|i| m.alloc_int(round * 50 + i).unwrap())
                .collect();
            tx.send(batch).unwrap();
            if round % 4 == 0 {
                m.collect();
            }
            m.checkpoint();
        }
        drop(tx);
        drop(m);
    });
    assert_no_leaks(&h);
}

fn bad_settings_are_refused<P: Policy>() {
    let mut c = HeapConfig::default();
    c.gc.mode = GcMode::Generational;
    let e = Heap::<P>::new(c).err().expect("generational refused");
    assert!(e.to_string().contains("tracing collector"), "{e}");
    for g in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let mut c = HeapConfig::default();
        c.trace.growth = g;
        assert!(Heap::<P>::new(c).is_err(), "growth {g} accepted");
    }
}

tracing_policies!(
    list_operations_keep_their_meaning,
    decref_never_frees_collect_does,
    cycles_are_freed,
    finalizers_run_once_and_may_resurrect,
    immortal_objects_are_roots,
    growth_triggers_collections,
    a_memory_limit_collects_before_refusing,
    handle_tables_reuse_slots,
    refs_outlive_the_thread_that_made_them,
    refs_dropped_elsewhere_during_collections,
    bad_settings_are_refused,
);

/// The count word is zero-sized and a `Ref` carries a root only under the
/// tracing policies.
#[test]
fn count_free_headers_are_smaller_and_refs_carry_a_root() {
    use heaplab::object::header_bytes;
    assert!(header_bytes::<heaplab::GilTracing>() < header_bytes::<heaplab::Gil>());
    assert_eq!(
        std::mem::size_of::<Ref<'_, heaplab::Gil>>(),
        2 * std::mem::size_of::<usize>()
    );
    assert_eq!(
        std::mem::size_of::<Ref<'_, heaplab::Tracing>>(),
        3 * std::mem::size_of::<usize>()
    );
}
