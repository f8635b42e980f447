//! One program, two lock policies: builds a heap, runs a few Python-like
//! operations on two threads, collects a cycle, and prints what each policy
//! counted on the way. The same generic function runs under every policy
//! (`with_policy!` picks the type), which is how the lab compares them.
//!
//! ```sh
//! cargo run --release --example two_policies                       # gil and biased
//! cargo run --release --example two_policies -- pool-locks biased  # any two (or more)
//! ```
//!
//! What to look for: under `gil` every reference-count operation is a plain
//! one and the interpreter lock changes hands between the threads; under
//! `biased` the owner's operations stay plain and only the other thread's
//! touches of the shared list take the atomic path (and its frees of the
//! owner's blocks go back as remote frees); under `pool-locks` every
//! operation is atomic.

use heaplab::{with_policy, Heap, HeapConfig, HeapError, Policy, PolicyName};
use std::error::Error;

/// Items in the shared list.
const ITEMS: i64 = 1_000;
/// Worker threads reading the shared list.
const WORKERS: usize = 2;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<String> = if args.is_empty() {
        vec!["gil".into(), "biased".into()]
    } else {
        args
    };
    for name in &names {
        let Some(policy) = PolicyName::ALL.into_iter().find(|p| p.to_string() == *name) else {
            let known: Vec<String> = PolicyName::ALL.iter().map(|p| p.to_string()).collect();
            eprintln!(
                "two_policies: unknown policy `{name}` (known: {})",
                known.join(", ")
            );
            std::process::exit(2);
        };
        if let Err(e) = with_policy!(policy, P => demo::<P>()) {
            eprintln!("two_policies: {policy}: {e}");
            std::process::exit(1);
        }
    }
}

/// The program: one list of ints made by the main thread, read by two
/// workers that each also build a private list; then a reference cycle that
/// only the collector can free.
fn demo<P: Policy>() -> Result<(), Box<dyn Error>> {
    let heap = Heap::<P>::new(HeapConfig::default())?;

    // The main thread builds `shared = [0, 1, ..., 999]`.
    let main = heap.attach();
    let shared = main.alloc_list()?;
    for i in 0..ITEMS {
        main.append(&shared, main.alloc_int(i)?)?;
    }

    // Two workers sum it (each `get` is an incref and a decref of an item
    // another thread made) and each build a list of partial sums, which
    // they hand back to the main thread when they finish.
    let results = main.allow_threads(|| {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..WORKERS)
                .map(|_| {
                    let (heap, shared) = (&heap, &shared);
                    s.spawn(move || -> Result<_, HeapError> {
                        let m = heap.attach();
                        let private = m.alloc_list()?;
                        let mut sum = 0;
                        for i in 0..m.len(shared) {
                            sum += m.int_value(&m.get(shared, i)?)?;
                            m.append(&private, m.alloc_int(sum)?)?;
                            m.checkpoint();
                        }
                        Ok((sum, private))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("worker panicked"))
                .collect::<Result<Vec<_>, HeapError>>()
        })
    })?;
    for (sum, _) in &results {
        assert_eq!(*sum, ITEMS * (ITEMS - 1) / 2);
    }
    drop(shared);
    // The workers' lists die on the main thread: frees of objects that
    // other threads made.
    drop(results);

    // `a = []; a.append(a); del a`: garbage that reference counting alone
    // cannot free.
    let cycle = main.alloc_list()?;
    main.append(&cycle, cycle.clone())?;
    drop(cycle);
    let gc = main.collect();
    drop(main); // detach: the thread's counters join the heap's totals

    let totals = heap.totals();
    let rc = &totals.rc;
    let peak = heap.memory().bytes_reserved_peak;
    println!("{}: {}", P::NAME, P::SUMMARY);
    println!(
        "  objects        {} allocated, {} freed",
        totals.allocations, totals.frees
    );
    println!(
        "  refcount ops   {} plain, {} atomic",
        rc.local_ops, rc.atomic_ops
    );
    println!(
        "  cross-thread   {} remote frees, {} merged, {} queued to their owner",
        rc.remote_frees, rc.merges, rc.queued
    );
    println!(
        "  collection     {} containers examined, {} garbage objects freed",
        gc.examined, gc.collected
    );
    if let Some(g) = heap.gil_stats() {
        println!(
            "  GIL            {} acquisitions, {} forced switches",
            g.acquisitions, g.forced_switches
        );
    }
    println!(
        "  memory         {:.1} MiB reserved at the peak",
        peak as f64 / (1 << 20) as f64
    );

    // Everything is gone: the lab's leak and integrity check.
    heap.leak_check(true)
        .map_err(|e| format!("leak check failed: {e}"))?;
    println!("  leak check     clean");
    Ok(())
}
