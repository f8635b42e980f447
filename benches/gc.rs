//! The cyclic collector's pause, under each policy, against CPython's in the
//! same run.
//!
//! Groups (ids `policy/mark_workers`, `Throughput::Elements` = containers):
//! - `gc_full_live_1M`: one outer list holding 1,000,000 empty lists, all
//!   live, nothing to free; one iteration is one full collection (`collect`)
//!   over them. This is the pure cost of looking: copy every count to
//!   `gc_refs`, subtract the internal references (every inner list's only
//!   reference comes from the outer list, so all but the outer one drop to
//!   zero), and traverse from the outer list to prove them reachable. The
//!   same heap is collected again and again; it is built once, outside the
//!   timing. Run with 1 marking worker and with one per core
//!   (`GcConfig::mark_workers`).
//! - `gc_free_cycles_1M`: 500,000 two-list cycles (`a.append(b);
//!   b.append(a)`, then both names dropped), 1,000,000 lists that only the
//!   collector can free; one iteration is one collection that finds and frees
//!   them all (their item arrays too). Building the garbage is outside the
//!   timing; each iteration builds it afresh.
//!
//! Automatic collection is off in these heaps (`gc.disable()`), as it is in
//! the Python programs, so that the timed collection is the only one.
//!
//! After each group the same-shaped program runs on the machine's `python3`
//! (CPython's `gc.collect()`, timed inside Python with `time.perf_counter`
//! around the call alone) and a line compares the medians:
//! `heaplab X ms vs CPython Y ms: Z x` (Z = heaplab's time over CPython's;
//! below 1 is faster than CPython). Without `python3` the comparison is
//! skipped with a message. heaplab's figure is the median of every timed
//! collection of that benchmark, criterion's warm-up included; it does not
//! depend on criterion's statistics. For orientation, LIMITS.md gives
//! CPython 3.11 about 145 ms for the live collection and 190 ms for the
//! cycles; these exact programs on our 2-core guests' Python 3.11.7 took
//! 37-57 ms and 130-165 ms (2026-11-26), which is why the peer runs here
//! rather than being quoted.

mod common;

use common::slow;
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, Throughput};
use heaplab::policy::PolicyName;
use heaplab::verify::assert_no_leaks;
use heaplab::{with_policy, Heap, HeapConfig, Mutator, Policy};
use std::process::Command;
use std::time::{Duration, Instant};

/// Containers per collection.
const N: usize = 1_000_000;
/// CPython repetitions (the median is reported).
const PY_REPEATS_LIVE: usize = 5;
const PY_REPEATS_CYCLES: usize = 3;

/// The live shape in Python: `argv = [-c, n, repeats]`.
const PY_LIVE: &str = r#"
import gc, sys, time
n, reps = int(sys.argv[1]), int(sys.argv[2])
gc.disable()
gc.collect()
l = [[] for _ in range(n)]
out = []
for _ in range(reps):
    t = time.perf_counter()
    gc.collect()
    out.append(time.perf_counter() - t)
print(" ".join("%.6f" % (x * 1e3) for x in out))
"#;

/// The cycles shape in Python: `argv = [-c, n, repeats]`.
const PY_CYCLES: &str = r#"
import gc, sys, time
n, reps = int(sys.argv[1]), int(sys.argv[2])
gc.disable()
gc.collect()
out = []
for _ in range(reps):
    for _ in range(n // 2):
        a = []
        b = []
        a.append(b)
        b.append(a)
    del a, b
    t = time.perf_counter()
    found = gc.collect()
    out.append(time.perf_counter() - t)
    assert found >= n, found
print(" ".join("%.6f" % (x * 1e3) for x in out))
"#;

/// One heaplab median to compare: (policy, mark workers, median pause);
/// no pause when a filter (or `--list`) skipped the benchmark.
type Pause = (&'static str, usize, Option<Duration>);

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

/// Mark-worker counts: serial, and one per core.
fn worker_counts() -> Vec<usize> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if cores > 1 {
        vec![1, cores]
    } else {
        vec![1]
    }
}

fn heap_config(mark_workers: usize) -> HeapConfig {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    c.gc.mark_workers = mark_workers;
    c
}

/// Times one collection; checks it ran and freed what it should.
fn timed_collect<P: Policy>(m: &Mutator<'_, P>, expect_freed: usize) -> Duration {
    let t = Instant::now();
    let out = m.collect();
    let d = t.elapsed();
    assert!(out.ran, "the collection ran on this thread");
    assert!(
        out.collected >= expect_freed && (expect_freed > 0 || out.collected == 0),
        "{}: collected {} objects, expected {expect_freed}",
        P::NAME,
        out.collected
    );
    assert!(out.examined >= N, "examined only {}", out.examined);
    d
}

fn bench_live<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) -> Pause {
    let heap = Heap::<P>::new(heap_config(workers)).expect("valid config");
    let mut pauses = Vec::new();
    {
        let m = heap.attach();
        let outer = m.alloc_list().expect("alloc");
        for _ in 0..N {
            m.append(&outer, m.alloc_list().expect("alloc"))
                .expect("append");
        }
        g.bench_function(BenchmarkId::new(P::NAME, workers), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let d = timed_collect(&m, 0);
                        pauses.push(d);
                        d
                    })
                    .sum()
            })
        });
        drop(outer);
    }
    assert_no_leaks(&heap);
    (P::NAME, workers, median(pauses))
}

/// Builds `N / 2` two-list cycles and drops every outside reference.
fn make_cycles<P: Policy>(m: &Mutator<'_, P>) {
    for _ in 0..N / 2 {
        let a = m.alloc_list().expect("alloc");
        let b = m.alloc_list().expect("alloc");
        m.append(&a, b.clone()).expect("append");
        m.append(&b, a).expect("append");
    }
}

fn bench_cycles<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, workers: usize) -> Pause {
    let heap = Heap::<P>::new(heap_config(workers)).expect("valid config");
    let mut pauses = Vec::new();
    {
        let m = heap.attach();
        g.bench_function(BenchmarkId::new(P::NAME, workers), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        make_cycles(&m);
                        let d = timed_collect(&m, N);
                        pauses.push(d);
                        d
                    })
                    .sum()
            })
        });
    }
    assert_no_leaks(&heap);
    (P::NAME, workers, median(pauses))
}

/// Runs a Python program and returns the median of the milliseconds it
/// prints, or why not.
fn python_median_ms(script: &str, repeats: usize) -> Result<f64, String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(N.to_string())
        .arg(repeats.to_string())
        .output()
        .map_err(|e| format!("python3 not runnable ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "python3 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut ms: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| {
            s.parse::<f64>()
                .map_err(|e| format!("bad output {s:?}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if ms.is_empty() {
        return Err("python3 printed no timings".into());
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok(ms[ms.len() / 2])
}

/// Prints one comparison line per heaplab configuration.
fn compare_with_cpython(shape: &str, script: &str, repeats: usize, pauses: &[Pause]) {
    let pauses: Vec<(&str, usize, Duration)> = pauses
        .iter()
        .filter_map(|&(p, w, d)| d.map(|d| (p, w, d)))
        .collect();
    if pauses.is_empty() {
        return; // nothing of this shape ran
    }
    match python_median_ms(script, repeats) {
        Ok(py) => {
            let version = heaplab::workload::python::python_version().unwrap_or_default();
            for &(policy, workers, d) in &pauses {
                let ms = d.as_secs_f64() * 1e3;
                eprintln!(
                    "{shape}: {policy} ({workers} mark worker{}): heaplab {ms:.1} ms vs CPython {py:.1} ms: {:.2} x  [{version}, medians; Z = heaplab / CPython]",
                    if workers == 1 { "" } else { "s" },
                    ms / py
                );
            }
        }
        Err(why) => eprintln!("{shape}: CPython comparison skipped: {why}"),
    }
}

fn full_live(c: &mut Criterion) {
    let mut g = c.benchmark_group("gc_full_live_1M");
    slow(&mut g, Duration::from_secs(3), Duration::from_millis(500));
    g.throughput(Throughput::Elements(N as u64));
    let mut pauses = Vec::new();
    for workers in worker_counts() {
        for p in PolicyName::ALL {
            pauses.push(with_policy!(p, P => bench_live::<P>(&mut g, workers)));
        }
    }
    g.finish();
    compare_with_cpython("gc_full_live_1M", PY_LIVE, PY_REPEATS_LIVE, &pauses);
}

fn free_cycles(c: &mut Criterion) {
    let mut g = c.benchmark_group("gc_free_cycles_1M");
    slow(&mut g, Duration::from_secs(4), Duration::from_secs(1));
    g.throughput(Throughput::Elements(N as u64));
    let mut pauses = Vec::new();
    for workers in worker_counts() {
        for p in PolicyName::ALL {
            pauses.push(with_policy!(p, P => bench_cycles::<P>(&mut g, workers)));
        }
    }
    g.finish();
    compare_with_cpython("gc_free_cycles_1M", PY_CYCLES, PY_REPEATS_CYCLES, &pauses);
}

criterion_group!(benches, full_live, free_cycles);
fn main() {
    common::bench_main("gc", benches);
}
