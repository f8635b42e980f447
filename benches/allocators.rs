//! heaplab's allocator against the system allocator (glibc malloc through
//! `std::alloc::System`) and mimalloc (`mimalloc::MiMalloc`), in one run.
//!
//! The contenders:
//! - `system`, `mimalloc`: `GlobalAlloc::alloc` / `dealloc` called directly
//!   (align 16, heaplab's block alignment). mimalloc is *not* the global
//!   allocator of this binary, so criterion and the rest of the process
//!   still use the system allocator and nothing else changes.
//! - `heaplab-raw`: the raw class-table path, `ClassPools::alloc` / `free`
//!   with an `alloc::Memory`: obmalloc's pools and blocks
//!   with no object header, no reference count and no policy. Each thread has
//!   its own class table and `RemoteInbox` over one shared arena source,
//!   which is the allocator `biased` runs on: the owner frees with no
//!   atomics, another thread frees with `remote_free_block` (an atomic push
//!   onto the pool's stack), and the owner takes those blocks back with
//!   `ClassTable::drain_inbox` when its inbox has work, checked (one relaxed
//!   load) when an allocation finds its free list dry, as `biased` does.
//!   That is mimalloc's design, so the
//!   cross-thread shapes compare the two directly.
//! - `gil`, `pool-locks`, `biased`: a heap's mutator allocating a leaf of the
//!   same *total* size (`alloc_leaf` of `size - header_bytes::<P>()` payload
//!   bytes) and dropping it. This is what an object costs: the policy's
//!   class table (unlocked, per-class lock, or per-thread), a header write,
//!   the payload copy and a decref that frees. `biased` has a 32-byte
//!   header, so it has no 16-byte case.
//!
//! Every raw contender writes the first 8 bytes of each block (as a header
//! would be written) so that no allocator is timed on memory it never
//! touches.
//!
//! The shapes, all with `Throughput::Elements` = blocks allocated and freed:
//! - `alloc_free_pair/<size>`: alloc then free at once, one thread: the best
//!   case every allocator is tuned for (LIMITS.md's floors are measured so).
//! - `alloc_free_pair/paired`: the same pair for `system`, `mimalloc` and
//!   `heaplab-raw` at 32 and 64 bytes, timed in interleaved rounds and
//!   printed as ratios with 95% intervals from this run (`alloc_pair`);
//!   it runs first, under the filter `alloc_free_pair` too.
//! - `alloc_free_steady/<size>`: a steady heap. 1024 blocks stay live; each
//!   operation allocates a block and frees a randomly chosen live one in its
//!   place, so pools stay partly used, never empty between operations, and
//!   the free lists get scattered as in a program that has been running.
//! - `private_churn_64B/<contender>/<threads>`: 1 and 2 threads each running
//!   the steady pattern on their own 256 blocks: what a second thread costs
//!   when nothing is shared (heap policies call `checkpoint()` every 16
//!   operations, the eval breaker, at both thread counts).
//! - `xmalloc_64B/<contender>/2`: mimalloc-bench's xmalloc-test shape: one
//!   thread only allocates 64-byte blocks, the other only frees them; they
//!   are handed over in batches of 256 through a bounded crossbeam channel
//!   (16 batches in flight; waits spin before they block, see
//!   `common::recv_spin`).
//!   Every free is a cross-thread free (under `biased`, a drop by a thread
//!   that does not own the object queues it back to its owner, which merges
//!   and frees it at a checkpoint: the span ends when it has).
//! - `larson_16-256B/<contender>/2`: mimalloc-bench's larson shape: two
//!   threads each replace random slots of a 1024-slot array with blocks of
//!   random size (16..=256 bytes); every 65536 operations they swap arrays
//!   (waits spin before they block), so most blocks are freed by a thread
//!   other than the one that allocated them.
//!
//! Multi-threaded cases are timed from the start barrier to the last
//! thread's end (see `common::run_timed`); one iteration is one operation on
//! each thread, so `Elements` counts both threads' work.

#[path = "alloc_pair/mod.rs"]
mod alloc_pair;
mod common;

use common::{consume, micro, recv_spin, run_timed, send_spin, Rng, CHECKPOINT_EVERY};
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, Throughput};
use crossbeam_channel::{bounded, unbounded};
use heaplab::alloc::{
    pool_of, remote_free_block, size_class, BlockCounts, ClassTable, Domain, Memory, RemoteInbox,
};
use heaplab::object::header_bytes;
use heaplab::policy::PolicyName;
use heaplab::verify::assert_no_leaks;
use heaplab::{with_policy, Heap, Mutator, Policy, Ref};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant};

/// Request sizes of the single-thread shapes (total bytes per block).
const SIZES: [usize; 5] = [16, 32, 64, 256, 512];
/// Live blocks of the single-thread steady heap (a power of two).
const LIVE: usize = 1024;
/// Live blocks per thread in the private churn (a power of two).
const PRIVATE_LIVE: usize = 256;
/// Block size of the private churn and xmalloc shapes.
const SIZE_64: usize = 64;
/// Blocks per hand-over in xmalloc (the scenario `producer-consumer` and
/// LIMITS.md's cross-thread floor use the same).
const BATCH: usize = 256;
/// Batches in flight in xmalloc before the producer waits.
const QUEUE: usize = 16;
/// Slots per thread in larson (a power of two).
const LARSON_SLOTS: usize = 1024;
/// Operations per thread between two array swaps in larson.
const LARSON_ROUND: u64 = 1 << 16;
/// Alignment of raw requests: heaplab's blocks are 16-aligned.
const ALIGN: usize = 16;

// ---------------------------------------------------------------------------
// The raw contenders behind one interface.

/// An allocator under test: shared state (`Sync`) that hands each thread a
/// handle.
trait Contender: Sync {
    const NAME: &'static str;
    type Handle<'a>: AllocHandle
    where
        Self: 'a;
    fn handle(&self) -> Self::Handle<'_>;
}

/// One thread's way into a contender.
trait AllocHandle {
    /// # Safety
    /// `size` is in `1..=512`.
    unsafe fn alloc(&mut self, size: usize) -> *mut u8;
    /// # Safety
    /// `p` came from `alloc(size)` of some handle of this contender and is
    /// not used any more; the handle that allocated it is still alive.
    unsafe fn free(&mut self, p: *mut u8, size: usize);
    /// Called once no thread will free another block of this handle's:
    /// takes back what other threads freed into its pools. Cross-thread
    /// shapes call it after a barrier that every worker reaches once it has
    /// freed its last block.
    fn quiesce(&mut self) {}
}

/// `std::alloc::System`: glibc malloc/free.
struct SystemAlloc;
/// mimalloc through its `GlobalAlloc` impl (not installed as global).
struct Mimalloc;

impl Contender for SystemAlloc {
    const NAME: &'static str = "system";
    type Handle<'a> = GlobalHandle<System>;
    fn handle(&self) -> GlobalHandle<System> {
        GlobalHandle(System)
    }
}

impl Contender for Mimalloc {
    const NAME: &'static str = "mimalloc";
    type Handle<'a> = GlobalHandle<mimalloc::MiMalloc>;
    fn handle(&self) -> GlobalHandle<mimalloc::MiMalloc> {
        GlobalHandle(mimalloc::MiMalloc)
    }
}

struct GlobalHandle<G: GlobalAlloc>(G);

impl<G: GlobalAlloc> AllocHandle for GlobalHandle<G> {
    #[inline(always)]
    unsafe fn alloc(&mut self, size: usize) -> *mut u8 {
        // SAFETY: size is non-zero and 16 is a power of two, so the layout
        // is valid (the caller's contract bounds size).
        let p = unsafe { self.0.alloc(Layout::from_size_align_unchecked(size, ALIGN)) };
        assert!(!p.is_null(), "{} bytes refused", size);
        p
    }

    #[inline(always)]
    unsafe fn free(&mut self, p: *mut u8, size: usize) {
        // SAFETY: the caller's contract: `p` came from `alloc` with this
        // very layout, from this allocator.
        unsafe {
            self.0
                .dealloc(p, Layout::from_size_align_unchecked(size, ALIGN))
        }
    }
}

/// heaplab's class tables over one heap's memory, without a heap.
struct ClassTableAlloc {
    mem: Memory,
}

impl ClassTableAlloc {
    fn new() -> Self {
        ClassTableAlloc {
            mem: Memory::new(None),
        }
    }
}

impl Contender for ClassTableAlloc {
    const NAME: &'static str = "heaplab-raw";
    type Handle<'a> = ClassTableHandle<'a>;
    fn handle(&self) -> ClassTableHandle<'_> {
        ClassTableHandle {
            mem: &self.mem,
            table: ClassTable::default(),
            inbox: Box::default(),
            counts: BlockCounts::default(),
        }
    }
}

/// One thread's class table and inbox, as a thread heap of `biased` has.
struct ClassTableHandle<'a> {
    mem: &'a Memory,
    table: ClassTable,
    /// Boxed: pools keep its address, so it must not move with the handle.
    inbox: Box<RemoteInbox>,
    /// Blocks in use, counted as a heap's front end counts them (what the
    /// class tables of heaplab's policies pay for their statistics).
    counts: BlockCounts,
}

/// Objects' domain: the only one these benchmarks use.
const OBJ: usize = Domain::Object as usize;

impl ClassTableHandle<'_> {
    /// Takes back the blocks other threads freed into our pools.
    #[cold]
    #[inline(never)]
    fn reclaim(&mut self) {
        // SAFETY: we own this table and this is its inbox.
        unsafe { self.table.drain_inbox(&self.inbox, self.mem, &self.counts) };
    }
}

impl ClassTableHandle<'_> {
    /// The free list ran dry: as a thread heap of `biased` does, take back
    /// remote frees first, then bump or take a new pool.
    #[inline(never)]
    fn alloc_slow(&mut self, c: usize) -> *mut u8 {
        if self.inbox.has_work() {
            self.reclaim();
        }
        // SAFETY: as in `alloc`.
        unsafe {
            self.table
                .pools(OBJ, c)
                .alloc_slow(Domain::Object, c, self.mem, &*self.inbox)
        }
        .expect("no memory limit is set")
    }
}

impl AllocHandle for ClassTableHandle<'_> {
    #[inline(always)]
    unsafe fn alloc(&mut self, size: usize) -> *mut u8 {
        let c = size_class(size);
        // SAFETY: this handle owns its class table and is used by one thread
        // only; the inbox is this table's and outlives its pools (the handle
        // drains and releases them before the box is dropped).
        let mut b = unsafe { self.table.pools(OBJ, c).pop() };
        if b.is_null() {
            b = self.alloc_slow(c);
        }
        self.counts.inc(OBJ, c);
        b
    }

    #[inline(always)]
    unsafe fn free(&mut self, p: *mut u8, size: usize) {
        // SAFETY: the caller's contract: `p` is a live block of some handle's
        // pools, whose header (and `inbox`, set when the pool was taken)
        // stays put while the block is live; the block reached this thread
        // through a channel, which ordered the header's writes before us.
        unsafe {
            if ptr::eq((*pool_of(p)).inbox, &*self.inbox) {
                let c = size_class(size);
                self.counts.sub(OBJ, c, 1);
                self.table.pools(OBJ, c).free(p, self.mem)
            } else {
                remote_free_block(p)
            }
        }
    }

    fn quiesce(&mut self) {
        self.reclaim();
    }
}

impl Drop for ClassTableHandle<'_> {
    fn drop(&mut self) {
        self.reclaim();
        assert_eq!(
            self.counts.total_blocks(),
            0,
            "a raw block was not freed (or freed after its owner quiesced)"
        );
        // SAFETY: we own the table; every block is back, so every pool is
        // empty and goes back to the arena source.
        unsafe { self.table.release_empty(self.mem) };
    }
}

/// A block pointer that may cross threads (its contender frees it anywhere).
struct SendPtr(*mut u8);
// SAFETY: the pointer is only freed, once, by the receiving thread, through
// a contender that accepts frees from any thread (system, mimalloc, or
// heaplab-raw's remote free) while the allocating handle is alive.
unsafe impl Send for SendPtr {}

/// Allocates and writes the first word, as a header would be written.
///
/// # Safety
/// As `AllocHandle::alloc`; `size >= 8`.
#[inline(always)]
unsafe fn alloc_touch<H: AllocHandle>(h: &mut H, size: usize, tag: u64) -> *mut u8 {
    // SAFETY: forwarded; the block is at least 16 bytes, 16-aligned.
    unsafe {
        let p = h.alloc(size);
        (p as *mut u64).write(tag);
        p
    }
}

/// A random size in 16..=256, for larson.
#[inline(always)]
fn larson_size(rng: &mut Rng) -> usize {
    16 + (rng.next_u64() % 241) as usize
}

// ---------------------------------------------------------------------------
// Single thread, raw contenders.

fn bench_pair_raw<A: Contender>(g: &mut BenchmarkGroup<'_, WallTime>, a: &A, size: usize) {
    let mut h = a.handle();
    let mut tag = 0u64;
    g.bench_function(BenchmarkId::new(A::NAME, 1), |b| {
        b.iter(|| {
            tag += 1;
            // SAFETY: size is one of SIZES; the block is freed right away.
            unsafe {
                let p = alloc_touch(&mut h, size, tag);
                h.free(black_box(p), size);
            }
        })
    });
}

fn bench_steady_raw<A: Contender>(g: &mut BenchmarkGroup<'_, WallTime>, a: &A, size: usize) {
    let mut h = a.handle();
    let mut ring: Vec<*mut u8> = (0..LIVE)
        // SAFETY: size is one of SIZES.
        .map(|i| unsafe { alloc_touch(&mut h, size, i as u64) })
        .collect();
    let mut rng = Rng::new(size as u64);
    g.bench_function(BenchmarkId::new(A::NAME, 1), |b| {
        b.iter(|| {
            let i = rng.below(LIVE);
            // SAFETY: ring slots hold live blocks of this handle and size.
            unsafe {
                let p = alloc_touch(&mut h, size, i as u64);
                let old = std::mem::replace(&mut ring[i], black_box(p));
                h.free(old, size);
            }
        })
    });
    for p in ring {
        // SAFETY: live blocks of this handle, freed once.
        unsafe { h.free(p, size) };
    }
}

// ---------------------------------------------------------------------------
// Single thread, heap policies.

/// The leaf payload that makes an object of `size` total bytes under `P`.
fn payload_for<P: Policy>(size: usize) -> Option<usize> {
    size.checked_sub(header_bytes::<P>())
}

fn bench_pair_heap<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, size: usize) {
    let Some(payload) = payload_for::<P>(size) else {
        return; // the header alone is larger (biased: 32 bytes)
    };
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let bytes = vec![0xA5u8; payload];
        g.bench_function(BenchmarkId::new(P::NAME, 1), |b| {
            b.iter(|| {
                consume(m.alloc_leaf(black_box(&bytes)).expect("alloc"));
            })
        });
    }
    assert_no_leaks(&heap);
}

fn bench_steady_heap<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, size: usize) {
    let Some(payload) = payload_for::<P>(size) else {
        return;
    };
    let heap = Heap::<P>::with_defaults();
    {
        let m = heap.attach();
        let bytes = vec![0xA5u8; payload];
        let mut ring: Vec<Ref<'_, P>> = (0..LIVE)
            .map(|_| m.alloc_leaf(&bytes).expect("alloc"))
            .collect();
        let mut rng = Rng::new(size as u64);
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

fn single_thread(c: &mut Criterion) {
    let system = SystemAlloc;
    let mi = Mimalloc;
    let raw = ClassTableAlloc::new();
    for size in SIZES {
        let mut g = c.benchmark_group(format!("alloc_free_pair/{size}B"));
        micro(&mut g);
        g.throughput(Throughput::Elements(1));
        bench_pair_raw(&mut g, &system, size);
        bench_pair_raw(&mut g, &mi, size);
        bench_pair_raw(&mut g, &raw, size);
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_pair_heap::<P>(&mut g, size));
        }
        g.finish();
    }
    for size in SIZES {
        let mut g = c.benchmark_group(format!("alloc_free_steady/{size}B"));
        micro(&mut g);
        g.throughput(Throughput::Elements(1));
        bench_steady_raw(&mut g, &system, size);
        bench_steady_raw(&mut g, &mi, size);
        bench_steady_raw(&mut g, &raw, size);
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_steady_heap::<P>(&mut g, size));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// Two threads, each churning privately.

fn bench_private_raw<A: Contender>(g: &mut BenchmarkGroup<'_, WallTime>, a: &A, threads: usize) {
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(BenchmarkId::new(A::NAME, threads), |b| {
        b.iter_custom(|iters| {
            run_timed(threads, |index, gate| {
                let mut h = a.handle();
                let mut rng = Rng::new(index as u64 + 1);
                let mut ring: Vec<*mut u8> = (0..PRIVATE_LIVE)
                    // SAFETY: SIZE_64 is a small size.
                    .map(|i| unsafe { alloc_touch(&mut h, SIZE_64, i as u64) })
                    .collect();
                let t0 = gate.start();
                for k in 0..iters {
                    let i = rng.below(PRIVATE_LIVE);
                    // SAFETY: ring slots hold live blocks of this handle.
                    unsafe {
                        let p = alloc_touch(&mut h, SIZE_64, k);
                        let old = std::mem::replace(&mut ring[i], black_box(p));
                        h.free(old, SIZE_64);
                    }
                }
                let t1 = Instant::now();
                gate.end();
                for p in ring {
                    // SAFETY: live blocks of this handle, freed once.
                    unsafe { h.free(p, SIZE_64) };
                }
                (t0, t1)
            })
        })
    });
}

fn bench_private_heap<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let heap = Heap::<P>::with_defaults();
    let payload = vec![0x5Au8; payload_for::<P>(SIZE_64).expect("64 > header")];
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(BenchmarkId::new(P::NAME, threads), |b| {
        b.iter_custom(|iters| {
            run_timed(threads, |index, gate| {
                let m = heap.attach();
                let mut rng = Rng::new(index as u64 + 1);
                let mut ring: Vec<Ref<'_, P>> = (0..PRIVATE_LIVE)
                    .map(|_| m.alloc_leaf(&payload).expect("alloc"))
                    .collect();
                let t0 = m.allow_threads(|| gate.start());
                for k in 0..iters {
                    let i = rng.below(PRIVATE_LIVE);
                    let r = m.alloc_leaf(black_box(&payload)).expect("alloc");
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

fn private_churn(c: &mut Criterion) {
    let system = SystemAlloc;
    let mi = Mimalloc;
    let raw = ClassTableAlloc::new();
    let mut g = c.benchmark_group("private_churn_64B");
    micro(&mut g);
    for threads in [1, 2] {
        bench_private_raw(&mut g, &system, threads);
        bench_private_raw(&mut g, &mi, threads);
        bench_private_raw(&mut g, &raw, threads);
        for p in PolicyName::ALL {
            with_policy!(p, P => bench_private_heap::<P>(&mut g, threads));
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// xmalloc-test: one thread allocates, the other frees.

/// Scales a span that covered `done` operations per thread to `iters`.
fn scale(d: Duration, iters: u64, done: u64) -> Duration {
    d.mul_f64(iters as f64 / done.max(1) as f64)
}

fn bench_xmalloc_raw<A: Contender>(g: &mut BenchmarkGroup<'_, WallTime>, a: &A) {
    g.bench_function(BenchmarkId::new(A::NAME, 2), |b| {
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(BATCH as u64);
            let (tx, rx) = bounded::<Vec<SendPtr>>(QUEUE);
            let (back_tx, back_rx) = unbounded::<Vec<SendPtr>>();
            let d = run_timed(2, |index, gate| {
                let mut h = a.handle();
                if index == 0 {
                    let t0 = gate.start();
                    for k in 0..batches {
                        let mut v = back_rx
                            .try_recv()
                            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                        for _ in 0..BATCH {
                            // SAFETY: a small size; the consumer frees it.
                            v.push(SendPtr(unsafe { alloc_touch(&mut h, SIZE_64, k) }));
                        }
                        send_spin(&tx, v);
                    }
                    gate.end();
                    // The consumer has freed every block: take back the
                    // last remote frees (heaplab-raw), part of the work.
                    h.quiesce();
                    (t0, Instant::now())
                } else {
                    let t0 = gate.start();
                    for _ in 0..batches {
                        let mut v = recv_spin(&rx);
                        for p in v.drain(..) {
                            // SAFETY: a live block of this contender, freed
                            // once; the producer's handle is alive until the
                            // end barrier.
                            unsafe { h.free(p.0, SIZE_64) };
                        }
                        let _ = back_tx.send(v);
                    }
                    let t1 = Instant::now();
                    gate.end();
                    (t0, t1)
                }
            });
            scale(d, iters, batches * BATCH as u64)
        })
    });
}

fn bench_xmalloc_heap<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let heap = Heap::<P>::with_defaults();
    let payload = vec![0x5Au8; payload_for::<P>(SIZE_64).expect("64 > header")];
    g.bench_function(BenchmarkId::new(P::NAME, 2), |b| {
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(BATCH as u64);
            let (tx, rx) = bounded::<Vec<Ref<'_, P>>>(QUEUE);
            let (back_tx, back_rx) = unbounded::<Vec<Ref<'_, P>>>();
            let d = run_timed(2, |index, gate| {
                let m = heap.attach();
                let mut n = 0u64;
                if index == 0 {
                    let t0 = m.allow_threads(|| gate.start());
                    for _ in 0..batches {
                        let mut v = back_rx
                            .try_recv()
                            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                        for _ in 0..BATCH {
                            v.push(m.alloc_leaf(&payload).expect("alloc"));
                            n += 1;
                            if n.is_multiple_of(CHECKPOINT_EVERY) {
                                m.checkpoint();
                            }
                        }
                        // A channel wait is a wait: detached.
                        m.allow_threads(|| send_spin(&tx, v));
                    }
                    m.allow_threads(|| gate.end());
                    // Under `biased` the consumer's drops were queued back to
                    // us, the owner: merging them (and so freeing the
                    // blocks) is part of the work.
                    m.checkpoint();
                    (t0, Instant::now())
                } else {
                    let t0 = m.allow_threads(|| gate.start());
                    for _ in 0..batches {
                        let mut v = m.allow_threads(|| recv_spin(&rx));
                        for r in v.drain(..) {
                            drop(r);
                            n += 1;
                            if n.is_multiple_of(CHECKPOINT_EVERY) {
                                m.checkpoint();
                            }
                        }
                        let _ = back_tx.send(v);
                    }
                    let t1 = Instant::now();
                    m.allow_threads(|| gate.end());
                    (t0, t1)
                }
            });
            scale(d, iters, batches * BATCH as u64)
        })
    });
    assert_no_leaks(&heap);
}

fn xmalloc(c: &mut Criterion) {
    let mut g = c.benchmark_group("xmalloc_64B");
    micro(&mut g);
    g.throughput(Throughput::Elements(1));
    bench_xmalloc_raw(&mut g, &SystemAlloc);
    bench_xmalloc_raw(&mut g, &Mimalloc);
    bench_xmalloc_raw(&mut g, &ClassTableAlloc::new());
    for p in PolicyName::ALL {
        with_policy!(p, P => bench_xmalloc_heap::<P>(&mut g));
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// larson: blocks handed from thread to thread and freed there.

fn bench_larson_raw<A: Contender>(g: &mut BenchmarkGroup<'_, WallTime>, a: &A) {
    g.bench_function(BenchmarkId::new(A::NAME, 2), |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(LARSON_ROUND);
            let chans = [bounded::<Vec<(SendPtr, usize)>>(1), bounded(1)];
            let d = run_timed(2, |index, gate| {
                let mut h = a.handle();
                let mut rng = Rng::new(index as u64 + 7);
                let (to_other, from_other) = (&chans[1 - index].0, &chans[index].1);
                let mut slots: Vec<(SendPtr, usize)> = (0..LARSON_SLOTS)
                    .map(|i| {
                        let s = larson_size(&mut rng);
                        // SAFETY: s is in 16..=256.
                        (SendPtr(unsafe { alloc_touch(&mut h, s, i as u64) }), s)
                    })
                    .collect();
                let t0 = gate.start();
                for _ in 0..rounds {
                    for k in 0..LARSON_ROUND {
                        let i = rng.below(LARSON_SLOTS);
                        let s = larson_size(&mut rng);
                        // SAFETY: slots hold live blocks of this contender
                        // (maybe the other thread's: it frees anywhere).
                        unsafe {
                            let p = alloc_touch(&mut h, s, k);
                            let (old, old_s) = std::mem::replace(&mut slots[i], (SendPtr(p), s));
                            h.free(old.0, old_s);
                        }
                    }
                    send_spin(to_other, slots);
                    slots = recv_spin(from_other);
                }
                let t1 = Instant::now();
                gate.end();
                for (p, s) in slots {
                    // SAFETY: live blocks, freed once; both handles live
                    // until the teardown barrier.
                    unsafe { h.free(p.0, s) };
                }
                gate.teardown();
                h.quiesce();
                (t0, t1)
            });
            scale(d, iters, rounds * LARSON_ROUND)
        })
    });
}

/// A leaf of `size` total bytes (the header alone when it is larger).
fn larson_leaf<'h, P: Policy>(m: &Mutator<'h, P>, size: usize) -> Ref<'h, P> {
    const BYTES: [u8; 256] = [0x5A; 256];
    m.alloc_leaf(&BYTES[..size.saturating_sub(header_bytes::<P>())])
        .expect("alloc")
}

fn bench_larson_heap<P: Policy>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let heap = Heap::<P>::with_defaults();
    g.bench_function(BenchmarkId::new(P::NAME, 2), |b| {
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(LARSON_ROUND);
            let chans = [bounded::<Vec<Ref<'_, P>>>(1), bounded(1)];
            let d = run_timed(2, |index, gate| {
                let m = heap.attach();
                let mut rng = Rng::new(index as u64 + 7);
                let (to_other, from_other) = (&chans[1 - index].0, &chans[index].1);
                let mut slots: Vec<Ref<'_, P>> = (0..LARSON_SLOTS)
                    .map(|_| larson_leaf(&m, larson_size(&mut rng)))
                    .collect();
                let t0 = m.allow_threads(|| gate.start());
                for _ in 0..rounds {
                    for k in 0..LARSON_ROUND {
                        let i = rng.below(LARSON_SLOTS);
                        let r = larson_leaf(&m, larson_size(&mut rng));
                        drop(std::mem::replace(&mut slots[i], r));
                        if k.is_multiple_of(CHECKPOINT_EVERY) {
                            m.checkpoint();
                        }
                    }
                    m.allow_threads(|| send_spin(to_other, slots));
                    slots = m.allow_threads(|| recv_spin(from_other));
                }
                m.checkpoint();
                let t1 = Instant::now();
                m.allow_threads(|| gate.end());
                drop(slots);
                (t0, t1)
            });
            scale(d, iters, rounds * LARSON_ROUND)
        })
    });
    assert_no_leaks(&heap);
}

fn larson(c: &mut Criterion) {
    let mut g = c.benchmark_group("larson_16-256B");
    micro(&mut g);
    g.throughput(Throughput::Elements(2));
    bench_larson_raw(&mut g, &SystemAlloc);
    bench_larson_raw(&mut g, &Mimalloc);
    bench_larson_raw(&mut g, &ClassTableAlloc::new());
    for p in PolicyName::ALL {
        with_policy!(p, P => bench_larson_heap::<P>(&mut g));
    }
    g.finish();
}

/// The paired comparison of the raw pair (see `alloc_pair`), first: it
/// prints its table before criterion's groups start.
fn paired(_c: &mut Criterion) {
    if alloc_pair::selected() {
        alloc_pair::run();
    }
}

criterion_group!(
    benches,
    paired,
    single_thread,
    private_churn,
    xmalloc,
    larson
);
fn main() {
    if alloc_pair::count_mode() {
        return;
    }
    common::bench_main("allocators", benches);
}
