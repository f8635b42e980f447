//! The locks of the free-threaded policies under contention: the one-byte
//! object lock on its two parking tables, and the per-class pool lock as
//! `std::sync::Mutex` (what ships) against `parking_lot::Mutex`.
//!
//! Groups (ids `contender/threads`, `Throughput::Elements` = lock
//! acquisitions, every thread's):
//! - `objlock_contended`: `ParkingObjLock` (CPython's `PyMutex` protocol)
//!   with a `ParkTable` of each backend, `std` (the default, loom-checked)
//!   and `parking-lot` (`parking_lot_core`). Every thread takes the one lock
//!   back to back, as the heap does for a list (`try_lock`, then
//!   `lock_contended`), around a list-append-sized critical section (read
//!   the length, store an item, bump the length). The heap parks detached
//!   (`allow_threads`); this bench times the lock alone.
//! - `classlock_contended`: a size class's lock around a `ClassPools`-sized
//!   critical section (pop a block off a free list and count it, or push it
//!   back and uncount it, alternately): `std` is `heaplab::sync::Mutex`
//!   (std's futex mutex, what `pool-locks` ships), `parking-lot` is
//!   `parking_lot::Mutex`. A plain micro-benchmark of the lock types: the
//!   policy's class table is untouched.
//!
//! Each group runs at 1 thread (uncontended, the baseline for ratios), 2 and
//! 4 threads. On our 2-core machines 4 threads are more threads than cores:
//! a preempted holder makes the others spin out and park, which is when the
//! parking table matters.
//!
//! Throughput alone hides starvation: a lock that lets one thread take it
//! again and again can be fast and unfair. Before the criterion groups the
//! binary therefore runs each case for a fixed window and prints, per case,
//! the acquisitions per second and the **fairness spread**: each thread's
//! share of the acquisitions, as the fewest and the most over the fair
//! share (1.00 / 1.00 is perfectly even; 0.10 means one thread got a tenth
//! of its share). Three windows per case show how much the machine moves.

mod common;

use common::{micro, quick, run_timed};
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, Throughput};
use heaplab::policy::objlock::{LockBackend, ObjLock, ParkTable, ParkingObjLock};
use std::cell::UnsafeCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Thread counts of every group (1 is the uncontended baseline).
const THREADS: [usize; 3] = [1, 2, 4];

// ---------------------------------------------------------------------------
// The two locked things.

/// Items of the list the object lock guards (a power of two).
const LIST_ITEMS: usize = 8;

/// A list guarded by the one-byte object lock, as a list object is.
struct LockedList {
    lock: ParkingObjLock,
    table: ParkTable,
    list: UnsafeCell<List>,
}

struct List {
    len: usize,
    items: [usize; LIST_ITEMS],
}

// SAFETY: `list` is only touched while holding `lock`.
unsafe impl Sync for LockedList {}

impl LockedList {
    fn new(backend: LockBackend) -> Self {
        LockedList {
            lock: ParkingObjLock::new(),
            table: ParkTable::with_backend(backend),
            list: UnsafeCell::new(List {
                len: 0,
                items: [0; LIST_ITEMS],
            }),
        }
    }

    /// One acquisition: `list.append(x)` into a ring of 8 slots.
    #[inline(always)]
    fn append(&self, x: usize) {
        if !self.lock.try_lock() {
            self.lock.lock_contended(&self.table);
        }
        // SAFETY: we hold the lock.
        unsafe {
            let l = &mut *self.list.get();
            l.items[l.len % LIST_ITEMS] = x;
            l.len += 1;
        }
        self.lock.unlock(&self.table);
    }

    fn appended(&self) -> usize {
        // SAFETY: called after every thread has joined.
        unsafe { (*self.list.get()).len }
    }
}

/// Blocks on the free list of the class-lock stand-in.
const CLASS_BLOCKS: usize = 64;
/// The end of the free list.
const NO_BLOCK: usize = usize::MAX;

/// The state a size class's lock guards, shaped like `ClassPools`: a free
/// list threaded through the blocks, and the class's counters.
struct ClassState {
    free: usize,
    next: [usize; CLASS_BLOCKS],
    blocks_in_use: usize,
    used: usize,
}

impl ClassState {
    fn new() -> Self {
        let mut next = [NO_BLOCK; CLASS_BLOCKS];
        for (i, n) in next.iter_mut().enumerate().take(CLASS_BLOCKS - 1) {
            *n = i + 1;
        }
        ClassState {
            free: 0,
            next,
            blocks_in_use: 0,
            used: 0,
        }
    }

    /// `ClassPools::alloc` on a pool with a free block.
    #[inline(always)]
    fn pop(&mut self) -> usize {
        let b = self.free;
        self.free = self.next[b];
        self.used += 1;
        self.blocks_in_use += 1;
        b
    }

    /// `ClassPools::free` of a block of a usable pool.
    #[inline(always)]
    fn push(&mut self, b: usize) {
        self.next[b] = self.free;
        self.free = b;
        self.used -= 1;
        self.blocks_in_use -= 1;
    }
}

/// A size-class lock of one of the two types.
trait ClassLock: Sync {
    const NAME: &'static str;
    fn new() -> Self;
    fn with<R>(&self, f: impl FnOnce(&mut ClassState) -> R) -> R;
}

impl ClassLock for heaplab::sync::Mutex<ClassState> {
    const NAME: &'static str = "std";
    fn new() -> Self {
        heaplab::sync::Mutex::new(ClassState::new())
    }
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut ClassState) -> R) -> R {
        f(&mut self.lock())
    }
}

impl ClassLock for parking_lot::Mutex<ClassState> {
    const NAME: &'static str = "parking-lot";
    fn new() -> Self {
        parking_lot::Mutex::new(ClassState::new())
    }
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut ClassState) -> R) -> R {
        f(&mut self.lock())
    }
}

/// One thread's alternation: acquisition `k` allocates a block when the
/// thread holds none and frees it otherwise (each thread holds at most one
/// of the 64 blocks, so the list never runs dry).
#[inline(always)]
fn class_op<L: ClassLock>(lock: &L, held: &mut Option<usize>) {
    match held.take() {
        None => *held = Some(lock.with(|c| c.pop())),
        Some(b) => lock.with(|c| c.push(b)),
    }
}

/// Every block is back on the list and the counters are zero.
fn class_check<L: ClassLock>(lock: &L) {
    lock.with(|c| {
        assert_eq!((c.used, c.blocks_in_use), (0, 0), "{}", L::NAME);
        let mut seen = [false; CLASS_BLOCKS];
        let mut b = c.free;
        while b != NO_BLOCK {
            assert!(!seen[b], "{}: block {b} twice on the free list", L::NAME);
            seen[b] = true;
            b = c.next[b];
        }
        assert!(
            seen.iter().all(|&s| s),
            "{}: the free list lost a block",
            L::NAME
        );
    });
}

// ---------------------------------------------------------------------------
// Throughput (criterion).

fn bench_objlock(g: &mut BenchmarkGroup<'_, WallTime>, backend: LockBackend, threads: usize) {
    let list = LockedList::new(backend);
    g.throughput(Throughput::Elements(threads as u64));
    let mut appended = 0;
    g.bench_function(BenchmarkId::new(backend.name(), threads), |b| {
        b.iter_custom(|iters| {
            appended += threads * iters as usize;
            run_timed(threads, |i, gate| {
                let t0 = gate.start();
                for k in 0..iters as usize {
                    list.append(black_box(i ^ k));
                }
                let t1 = Instant::now();
                gate.end();
                (t0, t1)
            })
        })
    });
    assert_eq!(list.appended(), appended, "{backend}: lost appends");
    assert!(!list.lock.is_locked() && !list.lock.has_parked());
}

fn bench_classlock<L: ClassLock>(g: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let lock = L::new();
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(BenchmarkId::new(L::NAME, threads), |b| {
        b.iter_custom(|iters| {
            run_timed(threads, |_, gate| {
                let mut held = None;
                let t0 = gate.start();
                for _ in 0..iters {
                    class_op(&lock, &mut held);
                }
                let t1 = Instant::now();
                gate.end();
                if let Some(b) = held {
                    lock.with(|c| c.push(b));
                }
                (t0, t1)
            })
        })
    });
    class_check(&lock);
}

fn objlock_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("objlock_contended");
    micro(&mut g);
    for threads in THREADS {
        for backend in LockBackend::ALL {
            bench_objlock(&mut g, backend, threads);
        }
    }
    g.finish();
}

fn classlock_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("classlock_contended");
    micro(&mut g);
    for threads in THREADS {
        bench_classlock::<heaplab::sync::Mutex<ClassState>>(&mut g, threads);
        bench_classlock::<parking_lot::Mutex<ClassState>>(&mut g, threads);
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Fairness (fixed windows, printed before the criterion groups).

/// Runs `op` on `threads` threads for `window`, each counting its own
/// acquisitions (`op` is one acquisition; its argument is the thread's
/// index and a per-thread scratch slot). Returns the counts and the span
/// from the common start to the stop signal.
fn window<F>(threads: usize, window: Duration, op: F) -> (Vec<u64>, Duration)
where
    F: Fn(usize, &mut Option<usize>) + Sync,
{
    let start = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    let (counts, span) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let (start, stop, op) = (&start, &stop, &op);
                s.spawn(move || {
                    let mut scratch = None;
                    let mut n = 0u64;
                    start.wait();
                    // Relaxed: the flag only ends the loop; the count is
                    // read after the join.
                    while !stop.load(Ordering::Relaxed) {
                        op(i, &mut scratch);
                        n += 1;
                    }
                    (n, scratch)
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        let span = t0.elapsed();
        let counts: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        (counts, span)
    });
    let mut out = Vec::with_capacity(threads);
    for (n, scratch) in counts {
        // A class-lock worker may end holding its block: give it back
        // through the same op, uncounted.
        if scratch.is_some() {
            let mut s = scratch;
            op(0, &mut s);
        }
        out.push(n);
    }
    (out, span)
}

/// One printed line: acquisitions per second (millions) and the fewest and
/// most acquisitions of one thread over the fair share.
fn fairness_line(case: &str, threads: usize, runs: &[(Vec<u64>, Duration)]) {
    let mut cells = Vec::new();
    for (counts, span) in runs {
        let total: u64 = counts.iter().sum();
        let fair = total as f64 / threads as f64;
        let min = *counts.iter().min().unwrap() as f64 / fair;
        let max = *counts.iter().max().unwrap() as f64 / fair;
        let rate = total as f64 / span.as_secs_f64() / 1e6;
        cells.push(format!("{rate:7.2} M/s {min:4.2}-{max:4.2}"));
    }
    eprintln!("  {case:<24} {threads:>2}  {}", cells.join(" | "));
}

fn fairness() {
    // Criterion's test mode (`cargo test --benches`, no `--bench`) runs
    // each benchmark once to check it works; skip the windows there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let span = Duration::from_millis(if quick() { 100 } else { 300 });
    const RUNS: usize = 3;
    eprintln!(
        "lock fairness, {} ms windows x {RUNS}: acquisitions per second, and the fewest-most \
         acquisitions of one thread over the fair share (1.00-1.00 = even)",
        span.as_millis()
    );
    eprintln!(
        "  {:<24} {:>2}  window 1 | window 2 | window 3",
        "case", "t"
    );
    for threads in THREADS.into_iter().filter(|&t| t > 1) {
        for backend in LockBackend::ALL {
            let runs: Vec<_> = (0..RUNS)
                .map(|_| {
                    let list = LockedList::new(backend);
                    let r = window(threads, span, |i, _| list.append(black_box(i)));
                    assert_eq!(list.appended() as u64, r.0.iter().sum::<u64>());
                    r
                })
                .collect();
            fairness_line(&format!("objlock/{backend}"), threads, &runs);
        }
        fn class_runs<L: ClassLock>(threads: usize, span: Duration) -> Vec<(Vec<u64>, Duration)> {
            (0..RUNS)
                .map(|_| {
                    let lock = L::new();
                    let r = window(threads, span, |_, held| class_op(&lock, held));
                    class_check(&lock);
                    r
                })
                .collect()
        }
        type Std = heaplab::sync::Mutex<ClassState>;
        type Pl = parking_lot::Mutex<ClassState>;
        fairness_line(
            &format!("classlock/{}", Std::NAME),
            threads,
            &class_runs::<Std>(threads, span),
        );
        fairness_line(
            &format!("classlock/{}", Pl::NAME),
            threads,
            &class_runs::<Pl>(threads, span),
        );
    }
}

fn groups(c: &mut Criterion) {
    fairness();
    objlock_contended(c);
    classlock_contended(c);
}

criterion_group!(benches, groups);
fn main() {
    common::bench_main("locks", benches);
}
