//! The heap's basic operations under each policy: what a reference count,
//! an item access and an allocation cost, on the owner thread and from
//! others. One generic body per case, instantiated per policy with
//! `with_policy!`, so each policy runs exactly the same code.
//!
//! Groups (ids `policy/threads`, `Throughput::Elements` = operations):
//! - `incref_decref_owner`: `Ref::clone` + drop of an object made by the
//!   same thread. `gil`: two plain integer writes; `pool-locks`: an atomic
//!   pair; `biased`: the owner's non-atomic local count. LIMITS.md's floors:
//!   0.55-1.09 ns for a plain pair, 3.9 ns for an atomic pair. Each pair
//!   also pays `Ref`'s thread-local lookup of the current thread state.
//! - `incref_decref_non_owner`: the same on an object made by the main
//!   thread (which then waits detached), by 1 other thread, or by 2 other
//!   threads at once on the same object. `biased` takes its atomic shared
//!   count here; at 2 threads every policy but `gil` fights over one cache
//!   line (LIMITS.md: 29 ns per atomic pair per thread), and `gil` hands the
//!   interpreter back and forth instead.
//! - `tuple_get`, `list_get`, `list_set`: `obj[i]` on an 8-item tuple and
//!   list (a new reference: incref, and the drop's decref), and `list[i] =
//!   x` (incref of the new item, the displaced one decref'd after the unlock).
//!   Lists take their one-byte lock under `pool-locks`; under `biased`,
//!   `get` reads without it (try-incref and re-check, free-threaded
//!   CPython's `list_get_item_ref`) and `set` still locks.
//! - `alloc_free_class/<block>B`: allocate a leaf filling a block of that
//!   size class and free a random one of 1024 live leaves (the steady-heap
//!   pattern of `allocators.rs`: pools partly used, never emptied).
//! - `churn_private`: the same pattern with Python ints (`alloc_int`),
//!   256 live per thread, at 1 and 2 threads, each thread with only its own
//!   objects, calling `checkpoint()` every 16 operations: how well a policy
//!   lets independent threads run (2 threads / 1 thread near 2.0 is ideal on
//!   our 2-core machines; `gil` cannot beat 1.0).
//!
//! Multi-threaded cases are timed between barriers (`common::run_timed`);
//! one iteration is one operation on each thread.
//!
//! These figures are what a program using the API pays, its calling
//! convention included: `get`, `alloc_*` return `Result<Ref, HeapError>`
//! (56 bytes, through memory), and where the call is not inlined, moving
//! the 16-byte `Ref` out of it is a 16-byte load of two 8-byte stores that
//! store-to-load forwarding cannot serve. On our Zen 4 guests that costs
//! about 10 ns (`tuple_get` under `pool-locks` and `biased`: about 20 ns
//! moved, 9-13 ns read in place; `gil`'s `get` inlines and pays nothing).

mod common;

use common::{consume, micro, run_timed, Rng, CHECKPOINT_EVERY};
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, Throughput};
use heaplab::alloc::{class_block_size, size_class};
use heaplab::object::header_bytes;
use heaplab::policy::PolicyName;
use heaplab::verify::assert_no_leaks;
use heaplab::{with_policy, Heap, Policy, Ref};
use std::hint::black_box;
use std::time::Instant;

/// Live leaves of the single-thread steady heap (a power of two).
const LIVE: usize = 1024;
/// Live ints per thread in `churn_private` (a power of two).
const PRIVATE_LIVE: usize = 256;
/// Block sizes of `alloc_free_class` (one per class; 16 has no `biased`
/// case: its header is 32 bytes).
const CLASS_BLOCKS: [usize; 8] = [16, 32, 48, 64, 96, 128, 256, 512];
/// Items of the tuple and list of the access groups (a power of two).
const ITEMS: usize = 8;

// ---------------------------------------------------------------------------
// Reference counts.

fn bench_incref_owner<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let obj = m.alloc_int(42).expect("alloc");
        g.bench_function(BenchmarkId::new(P::NAME, 1), |b| {
            b.iter(|| consume(obj.clone()))
        });
        drop(obj);
    }
    assert_no_leaks(&heap);
}

/// The same pair through the mutator (`Py_INCREF`/`Py_DECREF`: the count
/// alone, no thread-local look-up): what the biased-counting paper measures.
fn bench_incref_owner_mutator<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let obj = m.alloc_int(42).expect("alloc");
        g.bench_function(BenchmarkId::new(P::NAME, 1), |b| {
            b.iter(|| m.release(std::hint::black_box(m.clone_ref(&obj))))
        });
        drop(obj);
    }
    assert_no_leaks(&heap);
}

fn bench_incref_non_owner<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        // Thread A (this one) makes the object and keeps it alive, detached
        // while the others work on it.
        let obj = m.alloc_int(42).expect("alloc");
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_function(BenchmarkId::new(P::NAME, threads), |b| {
            b.iter_custom(|iters| {
                m.allow_threads(|| {
                    run_timed(threads, |_, gate| {
                        let w = heap.attach();
                        let t0 = w.allow_threads(|| gate.start());
                        for k in 0..iters {
                            consume(obj.clone());
                            if k.is_multiple_of(CHECKPOINT_EVERY) {
                                w.checkpoint();
                            }
                        }
                        let t1 = Instant::now();
                        w.allow_threads(|| gate.end());
                        (t0, t1)
                    })
                })
            })
        });
        drop(obj);
    }
    assert_no_leaks(&heap);
}

fn refcounts(c: &mut Criterion) {
    let mut g = c.benchmark_group("incref_decref_owner");
    micro(&mut g);
    g.throughput(Throughput::Elements(1));
    for p in PolicyName::ALL {
        with_policy!(p, P => bench_incref_owner::<P>(&mut g));
    }
    g.finish();

    let mut g = c.benchmark_group("incref_decref_owner_mutator");
    micro(&mut g);
    g.throughput(Throughput::Elements(1));
    for p in PolicyName::ALL {
        with_policy!(p, P => bench_incref_owner_mutator::<P>(&mut g));
    }
    g.finish();

    let mut g = c.benchmark_group("incref_decref_non_owner");
    micro(&mut g);
    for threads in [1, 2] {
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_incref_non_owner::<P>(&mut g, threads));
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Item access.

#[derive(Clone, Copy)]
enum Access {
    TupleGet,
    ListGet,
    ListSet,
}

fn bench_access<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, access: Access) {
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let ints: Vec<Ref<'_, P>> = (0..ITEMS as i64)
            .map(|i| m.alloc_int(i).expect("alloc"))
            .collect();
        let tuple = m.alloc_tuple(ints.clone()).expect("alloc");
        let list = m.list_of(ints.clone()).expect("alloc");
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new(P::NAME, 1), |b| match access {
            Access::TupleGet => b.iter(|| {
                i = (i + 1) & (ITEMS - 1);
                consume(m.get(&tuple, i).expect("in range"));
            }),
            Access::ListGet => b.iter(|| {
                i = (i + 1) & (ITEMS - 1);
                consume(m.get(&list, i).expect("in range"));
            }),
            Access::ListSet => b.iter(|| {
                i = (i + 1) & (ITEMS - 1);
                // Rotating the items: the displaced one stays alive (held by
                // `ints`), so this is incref + lock + store + unlock + decref.
                let item = ints[(i + 3) & (ITEMS - 1)].clone();
                m.set(&list, i, item).expect("in range");
            }),
        });
        drop((tuple, list, ints));
    }
    assert_no_leaks(&heap);
}

fn access(c: &mut Criterion) {
    for (name, access) in [
        ("tuple_get", Access::TupleGet),
        ("list_get", Access::ListGet),
        ("list_set", Access::ListSet),
    ] {
        let mut g = c.benchmark_group(name);
        micro(&mut g);
        g.throughput(Throughput::Elements(1));
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_access::<P>(&mut g, access));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// Allocation per size class.

fn bench_alloc_class<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, block: usize) {
    let Some(payload) = block.checked_sub(header_bytes::<P>()) else {
        return; // the header alone is larger
    };
    debug_assert_eq!(class_block_size(size_class(block)), block);
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let bytes = vec![0xA5u8; payload];
        let mut ring: Vec<Ref<'_, P>> = (0..LIVE)
            .map(|_| m.alloc_leaf(&bytes).expect("alloc"))
            .collect();
        let mut rng = Rng::new(block as u64);
        g.bench_function(BenchmarkId::new(P::NAME, 1), |b| {
            b.iter(|| {
                let i = rng.below(LIVE);
                let r = m.alloc_leaf(black_box(&bytes)).expect("alloc");
                drop(std::mem::replace(&mut ring[i], r));
            })
        });
        drop(ring);
    }
    assert_no_leaks(&heap);
}

fn alloc_classes(c: &mut Criterion) {
    for block in CLASS_BLOCKS {
        let mut g = c.benchmark_group(format!("alloc_free_class/{block}B"));
        micro(&mut g);
        g.throughput(Throughput::Elements(1));
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_alloc_class::<P>(&mut g, block));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// Thread-private churn at 1 and 2 threads.

fn bench_churn<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let heap = Heap::<P>::with_defaults();
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(BenchmarkId::new(P::NAME, threads), |b| {
        b.iter_custom(|iters| {
            run_timed(threads, |index, gate| {
                let m = heap.attach();
                let mut rng = Rng::new(index as u64 + 1);
                let mut ring: Vec<Ref<'_, P>> = (0..PRIVATE_LIVE as i64)
                    .map(|i| m.alloc_int(i).expect("alloc"))
                    .collect();
                let t0 = m.allow_threads(|| gate.start());
                for k in 0..iters {
                    let i = rng.below(PRIVATE_LIVE);
                    let r = m.alloc_int(black_box(k as i64)).expect("alloc");
                    drop(std::mem::replace(&mut ring[i], r));
                    if k.is_multiple_of(CHECKPOINT_EVERY) {
                        m.checkpoint();
                    }
                }
                let t1 = Instant::now();
                m.allow_threads(|| gate.end());
                drop(ring);
                (t0, t1)
            })
        })
    });
    assert_no_leaks(&heap);
}

fn churn(c: &mut Criterion) {
    let mut g = c.benchmark_group("churn_private");
    micro(&mut g);
    for threads in [1, 2] {
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_churn::<P>(&mut g, threads));
        }
    }
    g.finish();
}

criterion_group!(benches, refcounts, access, alloc_classes, churn);
fn main() {
    common::bench_main("heap_ops", benches);
}
