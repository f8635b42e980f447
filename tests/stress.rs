//! Multi-threaded randomized stress under every policy: threads run random
//! operation mixes over shared and private objects, hand objects to each
//! other and collect; at the end, zero leaked blocks, a clean verifier, and
//! reference-count conservation (the counts of live objects add up to the
//! references live containers hold plus those Rust holds; under the
//! count-free policies, the handle tables' roots are exactly what Rust holds).
//!
//! The soak variant runs for minutes (not in CI):
//! `HEAPLAB_SOAK_SECS=300 cargo test --release --test stress -- --ignored`.

mod common;
use heaplab::metrics::Rng;
use heaplab::{Heap, HeapConfig, Policy, Ref};
use std::time::{Duration, Instant};

fn stress<P: Policy>(threads: usize, limit: Limit) -> u64 {
    let mut c = HeapConfig::default();
    c.gc.threshold = 300;
    c.gc.batch = 32;
    let h = Heap::<P>::new(c).unwrap();
    let (tx, rx) = crossbeam_channel::bounded::<Ref<'_, P>>(1024);
    let shared: Vec<Ref<'_, P>> = {
        let m = h.attach();
        (0..8)
            .map(|i| {
                let l = m.alloc_list().unwrap();
                m.append(&l, m.alloc_int(i).unwrap()).unwrap();
                l
            })
            .collect()
    };
    let total_ops: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (h, shared, tx, rx) = (&h, &shared, tx.clone(), rx.clone());
                s.spawn(move || {
                    let m = h.attach();
                    let mut rng = Rng::new(t as u64 * 7 + 3);
                    let mut mine: Vec<Ref<'_, P>> = Vec::new();
                    let start = Instant::now();
                    let mut ops = 0u64;
                    while !limit.done(ops, start) {
                        ops += 1;
                        let n = mine.len();
                        match rng.below(14) {
                            0 | 1 => mine.push(m.alloc_int(ops as i64).unwrap()),
                            2 if n > 0 => {
                                let items: Vec<_> = (0..rng.below(3))
                                    .map(|_| mine[rng.below(n)].clone())
                                    .collect();
                                mine.push(m.alloc_tuple(items).unwrap());
                            }
                            3 => mine.push(m.alloc_list().unwrap()),
                            4 if n > 0 => {
                                let (a, b) =
                                    (mine[rng.below(n)].clone(), mine[rng.below(n)].clone());
                                let _ = m.append(&a, b);
                            }
                            5 if n > 0 => {
                                mine.swap_remove(rng.below(n));
                            }
                            6 => {
                                // Shared lists: append, replace, pop (object locks).
                                let l = &shared[rng.below(shared.len())];
                                match rng.below(3) {
                                    0 if n > 0 => {
                                        if m.len(l) < 64 {
                                            m.append(l, mine[rng.below(n)].clone()).unwrap();
                                        }
                                    }
                                    1 => {
                                        let len = m.len(l);
                                        if len > 0 {
                                            let _ =
                                                m.set(l, rng.below(len), m.alloc_int(1).unwrap());
                                        }
                                    }
                                    _ => {
                                        if m.len(l) > 1 {
                                            if let Ok(Some(x)) = m.pop(l) {
                                                mine.push(x);
                                            }
                                        }
                                    }
                                }
                            }
                            7 => {
                                let l = &shared[rng.below(shared.len())];
                                let len = m.len(l);
                                if len > 0 {
                                    if let Ok(x) = m.get(l, rng.below(len)) {
                                        mine.push(x);
                                    }
                                }
                            }
                            8 if n > 0 => {
                                // Hand an object to another thread.
                                let x = mine.swap_remove(rng.below(n));
                                if let Err(e) = tx.try_send(x) {
                                    drop(e.into_inner());
                                }
                            }
                            9 => {
                                if let Ok(x) = rx.try_recv() {
                                    mine.push(x);
                                }
                            }
                            10 => {
                                // Cyclic garbage.
                                let a = m.alloc_list().unwrap();
                                let b = m.alloc_tuple(vec![a.clone()]).unwrap();
                                m.append(&a, b).unwrap();
                            }
                            11 if ops.is_multiple_of(512) => {
                                m.collect();
                            }
                            12 if n > 0 => {
                                let x = mine[rng.below(n)].clone();
                                m.allow_threads(move || drop(x)); // deferred
                            }
                            _ => {}
                        }
                        if mine.len() > 256 {
                            mine.truncate(128);
                        }
                        m.checkpoint();
                    }
                    ops
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    drop((tx, rx));
    // Conservation: with the workers gone, only `shared` (8 Refs) is held
    // from Rust; apply deferred decrefs first.
    {
        let m = h.attach();
        m.apply_pending();
    }
    let rep = h.verify().unwrap();
    if <P::Counts as heaplab::policy::Counts>::TRACED {
        // No counts: what Rust holds is the roots in the handle tables.
        assert_eq!(
            h.root_count(),
            shared.len(),
            "{}: the roots must be exactly the Rust references",
            P::NAME
        );
    } else {
        assert_eq!(
            rep.count_sum - rep.inbound_sum,
            shared.len() as i64,
            "{}: the counts of live objects must add up to container references + Rust references",
            P::NAME
        );
    }
    drop(shared);
    heaplab::verify::assert_no_leaks_after_collect(&h);
    total_ops
}

#[derive(Clone, Copy)]
enum Limit {
    Ops(u64),
    Time(Duration),
}

impl Limit {
    fn done(&self, ops: u64, start: Instant) -> bool {
        match *self {
            Limit::Ops(n) => ops >= n,
            Limit::Time(d) => ops.is_multiple_of(256) && start.elapsed() >= d,
        }
    }
}

fn randomized_stress<P: Policy>() {
    let ops = stress::<P>(4, Limit::Ops(20_000));
    assert_eq!(ops, 80_000);
}

all_policies!(randomized_stress);

/// The count-free policies, under the same stress (the macro of
/// `common` covers the counting ones).
mod traced {
    #[test]
    fn gil_tracing_randomized_stress() {
        super::randomized_stress::<heaplab::GilTracing>()
    }
    #[test]
    fn tracing_randomized_stress() {
        super::randomized_stress::<heaplab::Tracing>()
    }
}

#[test]
#[ignore = "soak: minutes; run by hand (see the module docs)"]
fn soak() {
    let secs: u64 = std::env::var("HEAPLAB_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let threads: usize = std::env::var("HEAPLAB_SOAK_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let each = Duration::from_secs(secs) / 5;
    for (name, ops) in [
        ("gil", stress::<heaplab::Gil>(threads, Limit::Time(each))),
        (
            "pool-locks",
            stress::<heaplab::PoolLocks>(threads, Limit::Time(each)),
        ),
        (
            "biased",
            stress::<heaplab::Biased>(threads, Limit::Time(each)),
        ),
        (
            "gil-tracing",
            stress::<heaplab::GilTracing>(threads, Limit::Time(each)),
        ),
        (
            "tracing",
            stress::<heaplab::Tracing>(threads, Limit::Time(each)),
        ),
    ] {
        eprintln!("soak {name}: {ops} operations on {threads} threads, no leaks, counts conserved");
    }
}
