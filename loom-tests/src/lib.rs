//! Loom models of heaplab's concurrency protocols.
//!
//! Every protocol that lets two threads meet in the heap has a model here,
//! one file per protocol under `tests/`:
//!
//! | model | protocol | code checked |
//! |---|---|---|
//! | `gil_handoff` | new-GIL hand-off: drop request, forced switching, `allow_threads` | `policy::gil::GilLock` |
//! | `objlock` | the one-byte object lock and its parking table | `policy::objlock::ParkingObjLock` |
//! | `stop_the_world` | attach / detach / park / stop / start / register | `policy::world::World` |
//! | `remote_free` | remote-free push against the owner's inbox drain | `alloc::pool::remote_free`, `ClassTable::drain_inbox` |
//! | `biased_count` | biased counts: merge race, queue, exit, adoption | `policy::biased::BiasedCounts` through `Heap<Biased>` |
//! | `pool_lock` | per-class pool locks and atomic counts | `policy::front::ClassLockFront`, `policy::counts::AtomicCounts` through `Heap<PoolLocks>` |
//! | `malloc_remote_free` | heaplab-malloc's remote-free push against its owner's inbox take | `heaplab-malloc/src/remote.rs` on its `pool.rs` (the files compiled in: the crate is a cdylib) |
//! | `collect` | the cyclic collector under stop-the-world, two collectors at once | `heap::gc::collect` through `Heap<PoolLocks>` and `Heap<Biased>` |
//! | `qsbr` | a reader walking an item array while a writer retires and frees it; a reader detaching mid-sequence | `heap::qsbr::Qsbr` |
//! | `list_reads` | a lock-free `get`'s try-incref racing the `set` that frees the item and reuses its block | `policy::BiasedCounts::try_incref`, `policy::biased::reinit_word` (the read's steps as `heap/list.rs` takes them) |
//! | `handles` | handle-table roots emptied from any thread during a root scan, slot reuse; the tracing collector under stop-the-world | `policy::handles`, `heap::trace::collect` through `Heap<Tracing>` |
//! | `nursery` | a minor collection moving roots while a detached thread drops a `Ref` (queued) | `heap::trace::minor`, `heap::refs`, `heap::pending` through `Heap<GilTracing>` with a nursery |
//!
//! The models check the code that ships: heaplab takes every atomic, lock,
//! condition variable, cell and thread-local from `heaplab::sync`, which
//! resolves to loom's under `--cfg loom`. Built without `--cfg loom` this
//! crate compiles to nothing (each test file is `#![cfg(loom)]`), so a plain
//! `cargo test --workspace` stays fast.
//!
//! ## Bounds (what CI runs: `loom-tests/run.sh`)
//!
//! - `LOOM_MAX_PREEMPTIONS` (default here: [`DEFAULT_PREEMPTIONS`] = 2): the
//!   most times one execution may switch away from a thread that could have
//!   gone on. Bugs in these protocols need one or two preemptions (a lost
//!   wake-up needs one), so 2 is the bound CI uses; raise it locally to look
//!   deeper (3 multiplies the run time by roughly ten to fifty).
//! - `LOOM_MAX_BRANCHES` (loom's default, 1000): the most scheduling points in
//!   one execution. The heap models set at least [`MIN_BRANCHES`]: verifying a
//!   heap at the end of a model takes a few hundred lock operations, none of
//!   which can race (the other threads have joined).
//! - `LOOM_MAX_DURATION` and `LOOM_MAX_PERMUTATIONS` are *ignored*: they stop
//!   the search silently, and a model that passes only because its search was
//!   cut short checks nothing. A model too big to finish in its share of a
//!   few minutes is made smaller instead.
//!
//! The models are small on purpose: two threads, one or two operations each,
//! the geometry that `cfg(loom)` shrinks in the library (4 biased slots, 1
//! parking bucket, 1 spin before parking).
//!
//! ## Reading the models
//!
//! - Loom runs a thread that yielded (a spin, a timed wait that fires) again
//!   only once every other thread has blocked or yielded. A model whose
//!   protocol needs the other side to move meanwhile (a GIL holder running
//!   bytecode, an object lock held for a while) yields inside that section.
//! - Each model counts, outside loom, the executions that reached the
//!   interesting branch (a forced switch, a contended lock, each way a
//!   biased count can be settled) and asserts that some did: a model that
//!   never reaches its race cannot fail.
//! - Loom checks loom cells and atomics, not plain memory: pool headers,
//!   free lists and object payloads are checked by the verifier at the end
//!   of each heap model (`SharedHeap::check_clean`), not by loom's race
//!   detector.

#![cfg_attr(not(loom), allow(dead_code, unused_imports))]

use std::time::Instant;

/// Preemption bound when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Branch limit for models that build and verify a whole heap.
pub const MIN_BRANCHES: usize = 5_000;

/// The builder every model runs under: bounds from the environment (see the
/// crate docs), with a preemption bound always set and no time limit.
pub fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    if b.max_duration.is_some() || b.max_permutations.is_some() {
        eprintln!(
            "loom-tests: ignoring LOOM_MAX_DURATION / LOOM_MAX_PERMUTATIONS: \
             a model must be explored completely"
        );
        b.max_duration = None;
        b.max_permutations = None;
    }
    b.max_branches = b.max_branches.max(MIN_BRANCHES);
    b
}

/// Runs `f` as a loom model: every interleaving of its threads within the
/// bounds. Prints the number of executions and the time taken.
pub fn run_model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let b = builder();
    let bound = b.preemption_bound;
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = executions.clone();
    let start = Instant::now();
    b.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    eprintln!(
        "loom model {name}: {} executions in {:.2?} (preemption bound {:?})",
        executions.load(std::sync::atomic::Ordering::Relaxed),
        start.elapsed(),
        bound
    );
}

/// Runs a model whose code makes timed waits (the GIL's switch interval),
/// with every timed wait either timing out at once (`fire`) or never.
///
/// The choice is process-wide (`heaplab::sync::set_loom_timeouts_fire`), so
/// these models take a lock: two of them never run at once in one test
/// binary.
#[cfg(loom)]
pub fn run_model_with_timeouts<F>(name: &str, fire: bool, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    static TIMEOUTS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = TIMEOUTS.lock().unwrap_or_else(|p| p.into_inner());
    heaplab::sync::set_loom_timeouts_fire(fire);
    let name = format!(
        "{name} (timeouts {})",
        if fire { "fire" } else { "never fire" }
    );
    run_model(&name, f);
    heaplab::sync::set_loom_timeouts_fire(false);
}

/// A heap that loom threads can share: `Ref<'static, P>` can move between
/// threads. The heap is freed when this handle drops, so every thread that
/// used it must have been joined by then (the models join all their threads
/// before they check the heap and return).
pub struct SharedHeap<P: heaplab::Policy> {
    heap: *mut heaplab::Heap<P>,
}

// SAFETY: `Heap<P>` is `Sync` (its policy state, memory and collector state
// are); the handle only hands out shared references to it.
unsafe impl<P: heaplab::Policy> Send for SharedHeap<P> {}
// SAFETY: as above.
unsafe impl<P: heaplab::Policy> Sync for SharedHeap<P> {}

impl<P: heaplab::Policy> SharedHeap<P> {
    /// A small heap for a model: automatic collection off (the models that
    /// want a collection ask for one).
    pub fn new() -> Self {
        let mut config = heaplab::HeapConfig::default();
        config.gc.enabled = false;
        Self::with_config(config)
    }

    /// A heap for a model with its own configuration (a nursery).
    pub fn with_config(config: heaplab::HeapConfig) -> Self {
        let heap = heaplab::Heap::<P>::new(config).expect("model heap configuration");
        SharedHeap {
            heap: Box::into_raw(Box::new(heap)),
        }
    }

    /// The heap, for as long as the threads using it are joined before this
    /// handle drops (see the type's docs).
    pub fn get(&self) -> &'static heaplab::Heap<P> {
        // SAFETY: the box lives until `drop`; callers join their threads first.
        unsafe { &*self.heap }
    }

    /// Ends a model: the heap verifies, and nothing is left once the last
    /// reference has gone (no collection: reference counting alone must
    /// free everything in these models).
    pub fn check_clean(&self) {
        let heap = self.get();
        if let Err(e) = heap.verify() {
            panic!("{} heap fails verification: {e}", P::NAME);
        }
        if let Err(e) = heap.leak_check(false) {
            panic!("{} heap: {e}", P::NAME);
        }
    }
}

/// The collector side of the stop-the-world models: a thread that attaches
/// to `heap`, waits detached (as a blocked Python thread would) for the
/// mutator's signal on `rx`, then runs one full collection and returns what
/// it did.
#[cfg(loom)]
pub fn spawn_collector<P: heaplab::Policy>(
    heap: heaplab::sync::Arc<SharedHeap<P>>,
    rx: loom::sync::mpsc::Receiver<()>,
) -> loom::thread::JoinHandle<heaplab::heap::gc::collect::CollectOutcome> {
    loom::thread::spawn(move || {
        let m = heap.get().attach();
        m.allow_threads(|| rx.recv().unwrap());
        m.collect()
    })
}

impl<P: heaplab::Policy> Default for SharedHeap<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: heaplab::Policy> Drop for SharedHeap<P> {
    fn drop(&mut self) {
        // SAFETY: made by `Box::into_raw` in `new`; every thread is joined.
        drop(unsafe { Box::from_raw(self.heap) });
    }
}
