//! The nursery of `gil-tracing` (`--nursery`): young objects are bump-
//! allocated and moved into the pools by minor collections. Survivors keep
//! their contents and identity, old-to-young references recorded by the
//! write barrier survive, leaf bytes stay right, every scenario runs leak-
//! free, and bad settings are refused. Debug builds poison the nursery
//! after each minor collection, so a reference the collector failed to
//! move reads garbage (and the verifier refuses it).

use heaplab::policy::PolicyName;
use heaplab::results::Status;
use heaplab::verify::assert_no_leaks;
use heaplab::workload::drivers::binary_trees_reference_output;
use heaplab::workload::{run_config, Catalogue, Config, Driver, RunSettings, Scenario};
use heaplab::{GilTracing, Heap, HeapConfig, Mutator, Ref};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use toml::Spanned;

const NURSERY: usize = 64 << 10;

/// A `gil-tracing` heap with the smallest nursery; full collections only
/// when asked (the growth trigger is set out of reach).
fn heap() -> Heap<GilTracing> {
    let mut c = HeapConfig::default();
    c.trace.nursery = Some(NURSERY);
    c.trace.min_bytes = usize::MAX / 2;
    Heap::new(c).unwrap()
}

fn minors(h: &Heap<GilTracing>) -> u64 {
    h.trace_state().nursery_stats().minor_collections
}

/// Allocates garbage until `n` more minor collections ran.
fn churn(m: &Mutator<'_, GilTracing>, n: u64) {
    let h = m.heap();
    let until = minors(h) + n;
    while minors(h) < until {
        drop(m.alloc_int(-1).unwrap());
    }
}

#[test]
fn survivors_keep_their_contents_after_minor_collections() {
    let h = heap();
    {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        for i in 0..1000 {
            let t = m
                .tuple_of(&[&m.alloc_int(i).unwrap(), &m.alloc_leaf(b"x").unwrap()])
                .unwrap();
            m.append(&l, t).unwrap();
            if i % 100 == 0 {
                churn(&m, 1);
            }
        }
        churn(&m, 2);
        h.verify().unwrap();
        for i in 0..1000 {
            let t = m.get(&l, i).unwrap();
            assert_eq!(m.int_value(&m.get(&t, 0).unwrap()).unwrap(), i as i64);
            assert_eq!(m.leaf_vec(&m.get(&t, 1).unwrap()).unwrap(), b"x");
        }
        let s = h.trace_state().nursery_stats();
        assert!(s.promoted_objects >= 3000, "{s:?}");
        assert!(s.died_young > 0, "{s:?}");
    }
    assert_no_leaks(&h);
}

#[test]
fn old_to_young_references_from_set_append_and_old_tuples_survive() {
    let h = heap();
    {
        let m = h.attach();
        let old = m.alloc_list().unwrap();
        m.append(&old, m.alloc_int(0).unwrap()).unwrap();
        churn(&m, 1); // `old` and its item are promoted now
                      // Young items stored into an old list, their only reference: the
                      // write barrier must list `old`, or the minor collection frees them.
        m.append(&old, m.alloc_int(11).unwrap()).unwrap();
        m.set(&old, 0, m.alloc_leaf(b"young").unwrap()).unwrap();
        // An old tuple (too large for the nursery) made of young items.
        let items: Vec<_> = (0..100).map(|i| m.alloc_int(i).unwrap()).collect();
        let big = m.alloc_tuple(items).unwrap();
        churn(&m, 2);
        h.verify().unwrap();
        assert_eq!(m.leaf_vec(&m.get(&old, 0).unwrap()).unwrap(), b"young");
        assert_eq!(m.int_value(&m.get(&old, 1).unwrap()).unwrap(), 11);
        for i in 0..100 {
            assert_eq!(m.int_value(&m.get(&big, i).unwrap()).unwrap(), i as i64);
        }
    }
    assert_no_leaks(&h);
}

#[test]
fn identity_is_stable_across_moves() {
    let h = heap();
    {
        let m = h.attach();
        let a = m.alloc_int(5).unwrap();
        let b = a.clone();
        let l = m.list_of(vec![a.clone()]).unwrap();
        let before = a.as_ptr();
        churn(&m, 1);
        assert_ne!(a.as_ptr(), before, "a young object moved");
        assert_eq!(a.as_ptr(), b.as_ptr(), "both roots were moved");
        assert!(m.is_same(&a, &b));
        assert!(m.is_same(&m.get(&l, 0).unwrap(), &a));
        let c = m.alloc_int(5).unwrap();
        assert!(!m.is_same(&a, &c), "equal values, different objects");
    }
    assert_no_leaks(&h);
}

#[test]
fn leaf_bytes_are_right_after_moves_and_stay_put_while_lent() {
    let h = heap();
    {
        let m = h.attach();
        let payloads: Vec<Vec<u8>> = (0..200)
            .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        let leaves: Vec<_> = payloads.iter().map(|p| m.alloc_leaf(p).unwrap()).collect();
        churn(&m, 2);
        for (r, p) in leaves.iter().zip(&payloads) {
            assert_eq!(&m.leaf_vec(r).unwrap(), p);
        }
        // While the bytes are lent, allocation past the nursery's size runs
        // no minor collection: the slice stays valid.
        let young = m.alloc_leaf(b"lent bytes").unwrap();
        let runs = minors(&h);
        let same = m
            .with_leaf_bytes(&young, |b| {
                for _ in 0..(4 * NURSERY / 16) {
                    drop(m.alloc_int(0).unwrap());
                }
                b == b"lent bytes"
            })
            .unwrap();
        assert!(same);
        assert_eq!(minors(&h), runs, "no minor collection while pinned");
        churn(&m, 1);
        assert_eq!(m.leaf_vec(&young).unwrap(), b"lent bytes");
    }
    assert_no_leaks(&h);
}

#[test]
fn young_finalizable_and_immortal_objects_are_promoted() {
    let h = heap();
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let m = h.attach();
        let f = m.alloc_int(9).unwrap();
        let r = ran.clone();
        m.set_finalizer(
            &f,
            Box::new(
                move |m: &Mutator<'_, GilTracing>, me: Ref<'_, GilTracing>| {
                    assert_eq!(m.int_value(&me).unwrap(), 9);
                    r.fetch_add(1, Ordering::SeqCst);
                },
            ),
        );
        drop(f);
        let imm = m.list_of(vec![m.alloc_int(3).unwrap()]).unwrap();
        h.immortalize(&imm);
        let keep = imm.clone();
        drop(imm);
        churn(&m, 1);
        h.verify().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "not yet: no full collection");
        m.collect();
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the moved finalizer ran");
        assert_eq!(m.int_value(&m.get(&keep, 0).unwrap()).unwrap(), 3);
    }
}

#[test]
fn refs_dropped_by_a_detached_thread_during_minor_collections() {
    let h = heap();
    {
        let m = h.attach();
        let (tx, rx) = mpsc::channel::<Vec<Ref<'_, GilTracing>>>();
        std::thread::scope(|s| {
            s.spawn(|| {
                let w = h.attach();
                for _ in 0..50 {
                    let batch: Vec<_> = (0..200).map(|i| w.alloc_int(i).unwrap()).collect();
                    tx.send(batch).unwrap();
                    churn(&w, 1);
                }
                drop(tx);
            });
            // Drops each batch outside the GIL, while the other thread's
            // allocations run minor collections.
            while let Ok(batch) = m.allow_threads(|| rx.recv()) {
                m.allow_threads(|| drop(batch));
                m.checkpoint();
            }
        });
        m.collect();
        assert_eq!(h.root_count(), 0);
    }
    assert_no_leaks(&h);
}

#[test]
fn a_short_tuple_iterator_leaves_the_nursery_walkable() {
    struct Liar(std::vec::IntoIter<i64>);
    impl Iterator for Liar {
        type Item = i64;
        fn next(&mut self) -> Option<i64> {
            self.0.next()
        }
    }
    impl ExactSizeIterator for Liar {
        fn len(&self) -> usize {
            self.0.len() + 5 // promises five more than it gives
        }
    }
    let h = heap();
    {
        let m = h.attach();
        let it = Liar(vec![1, 2, 3].into_iter()).map(|v| m.alloc_int(v).unwrap());
        let t = m.alloc_tuple(it).unwrap();
        let after = m.alloc_int(4).unwrap();
        assert_eq!(m.len(&t), 3);
        h.verify().unwrap();
        churn(&m, 1);
        assert_eq!(m.int_value(&m.get(&t, 2).unwrap()).unwrap(), 3);
        assert_eq!(m.int_value(&after).unwrap(), 4);
    }
    assert_no_leaks(&h);
}

#[test]
fn bad_sizes_and_policies_are_refused() {
    let with = |n: usize| {
        let mut c = HeapConfig::default();
        c.trace.nursery = Some(n);
        c
    };
    let msg = |r: Result<(), heaplab::HeapError>| r.unwrap_err().to_string();
    let e = msg(Heap::<GilTracing>::new(with(1000)).map(drop));
    assert!(e.contains("65536") && e.contains("1 GiB"), "{e}");
    let e = msg(Heap::<GilTracing>::new(with((64 << 10) + 8)).map(drop));
    assert!(e.contains("multiple of 16"), "{e}");
    let e = msg(Heap::<GilTracing>::new(with(2 << 30)).map(drop));
    assert!(e.contains("between"), "{e}");
    let e = msg(Heap::<heaplab::Gil>::new(with(1 << 20)).map(drop));
    assert!(e.contains("counts references"), "{e}");
    let e = msg(Heap::<heaplab::Tracing>::new(with(1 << 20)).map(drop));
    assert!(e.contains("no GIL"), "{e}");
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_heaplab"))
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let base = [
        "run",
        "--workload",
        "alloc-churn",
        "--quick",
        "--threads",
        "1",
    ];
    for (extra, want) in [
        (
            &["--policy", "gil-tracing", "--nursery", "1k"][..],
            "out of range",
        ),
        (
            &["--policy", "gil-tracing", "--nursery", "lots"][..],
            "not a size",
        ),
        (
            &["--policy", "gil,biased", "--nursery", "1M"][..],
            "gil-tracing only",
        ),
        (
            &["--policy", "tracing", "--nursery", "1M"][..],
            "gil-tracing only",
        ),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let e = cli(&args);
        assert!(e.contains(want), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}

fn nursery_settings() -> RunSettings {
    RunSettings {
        nursery: Some(NURSERY),
        ..Default::default()
    }
}

#[test]
fn every_scenario_runs_leak_free_under_gil_tracing_with_a_nursery() {
    let settings = RunSettings {
        duration: Some(0.05),
        warmup: Some(0.01),
        ..nursery_settings()
    };
    let spinner = heaplab::metrics::Spinner::calibrate();
    let mut scen = Catalogue::builtin().unwrap().scenarios;
    for s in &mut scen {
        if s.driver() == Driver::BinaryTrees {
            s.params.depth = Some(Spanned::new(0..0, 6));
        }
    }
    for s in &scen {
        for threads in [1, 2] {
            let cfg = Config {
                scenario: s,
                policy: PolicyName::GilTracing,
                threads,
                repeat: 0,
            };
            let r = run_config(&cfg, &settings, spinner);
            let what = format!("{} x{threads}: {:?}", s.name, r.error);
            assert_eq!(r.status, Status::Ok, "{what}");
            assert_eq!(r.leaked_blocks, 0, "{what}");
            assert!(r.verified, "{what}");
        }
    }
}

#[test]
fn binary_trees_at_depth_10_prints_the_reference_output_with_a_nursery() {
    let text = "name = \"bt\"\ndescription = \"d\"\ndriver = \"binary-trees\"\n[run]\nops_per_thread = 1\n[params]\ndepth = 10\n";
    let s = Scenario::parse(text, "bt.toml").unwrap();
    let want = binary_trees_reference_output(10).join("\n");
    for threads in [1, 2] {
        let cfg = Config {
            scenario: &s,
            policy: PolicyName::GilTracing,
            threads,
            repeat: 0,
        };
        let r = run_config(
            &cfg,
            &nursery_settings(),
            heaplab::metrics::Spinner::calibrate(),
        );
        assert_eq!(r.status, Status::Ok, "{:?}", r.error);
        assert_eq!(r.output.join("\n"), want, "x{threads}");
        assert!(r.verified && r.leaked_blocks == 0);
    }
}
