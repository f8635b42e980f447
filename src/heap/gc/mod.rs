//! The cyclic garbage collector: configuration, triggers, tracking and
//! statistics. The algorithm itself is in [`collect`].
//!
//! Reference counting cannot free cycles; CPython pairs it with a collector
//! that finds containers whose every reference comes from inside a set of
//! containers. How the set of containers is found is an axis of its own:
//!
//! - [`GcMode::PoolWalk`] (free-threaded CPython's way, under every policy):
//!   one generation; a collection walks every object pool for tracked
//!   containers, so tracking is one bit in the header and costs nothing else.
//! - [`GcMode::Generational`] (CPython's default build, `gil` only): three
//!   generations kept as doubly linked lists through each container's
//!   `GcHead`, thresholds 700/10/10; a young collection looks only at the
//!   young generation, and survivors move one generation up.
//!
//! Triggers neither contend nor go quadratic: each thread counts container
//! allocations minus deallocations locally and publishes in batches (512, as
//! free-threaded CPython), the published count never going below 0 (CPython
//! 3.11's clamp: freeing what was allocated before a collection earns no
//! credit against the next one); a collection becomes due when the published count
//! passes the threshold *and* the containers have grown by a quarter of those
//! that survived the last collection. The due flag is read at checkpoints.

pub mod collect;
mod finalize;
pub(crate) mod mark;

use crate::heap::Ref;
use crate::object::{gc_bits, gc_head, ObjHeader};
use crate::policy::Counts;
use crate::policy::Policy;
use crate::sync::{AtomicBool, AtomicIsize, Mutex, Ordering, UnsafeCell};
use crate::HeapError;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::ptr;

/// How the collector finds containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GcMode {
    /// Walk the object pools; one generation (free-threaded CPython).
    PoolWalk,
    /// Linked generation lists, three generations (CPython with the GIL).
    Generational,
}

impl GcMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GcMode::PoolWalk => "pool-walk",
            GcMode::Generational => "generational",
        }
    }

    pub fn parse(s: &str) -> Option<GcMode> {
        match s {
            "pool-walk" => Some(GcMode::PoolWalk),
            "generational" => Some(GcMode::Generational),
            _ => None,
        }
    }
}

/// Collector settings.
#[derive(Clone, Debug)]
pub struct GcConfig {
    pub mode: GcMode,
    /// Automatic collection (`gc.enable()` / `gc.disable()`).
    pub enabled: bool,
    /// Pool-walk mode: containers allocated (net) before a collection is due.
    pub threshold: usize,
    /// Generational mode: CPython's (700, 10, 10).
    pub gen_thresholds: [usize; 3],
    /// Per-thread batch before a count is published.
    pub batch: usize,
    /// Growth over the last survivors needed too, in percent (25).
    pub growth_percent: usize,
    /// Marking workers while the world is stopped (1 = serial).
    pub mark_workers: usize,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            mode: GcMode::PoolWalk,
            enabled: true,
            threshold: 2000,
            gen_thresholds: [700, 10, 10],
            batch: 512,
            growth_percent: 25,
            mark_workers: 1,
        }
    }
}

impl GcConfig {
    pub fn validate<P: Policy>(&self) -> Result<(), HeapError> {
        if self.mode == GcMode::Generational && P::FREE_THREADED {
            return Err(HeapError::config(format!(
                "gc mode 'generational' needs the GIL (its lists are unlocked); policy '{}' supports only 'pool-walk'",
                P::NAME
            )));
        }
        if self.batch == 0 || self.threshold == 0 || self.gen_thresholds.contains(&0) {
            return Err(HeapError::config(
                "gc thresholds and batch must be at least 1",
            ));
        }
        if self.mark_workers == 0 || self.mark_workers > 1024 {
            return Err(HeapError::config(format!(
                "gc mark_workers is {}, allowed 1..=1024",
                self.mark_workers
            )));
        }
        Ok(())
    }
}

/// Collector statistics, for the runner and the report.
#[derive(Clone, Debug)]
pub struct GcStats {
    /// Collections per generation (pool-walk collections count as gen 2).
    pub collections: [u64; 3],
    /// Containers examined.
    pub examined: u64,
    /// Objects found unreachable and freed.
    pub collected: u64,
    /// Objects a finalizer made reachable again.
    pub resurrected: u64,
    /// Finalizers run.
    pub finalizers_run: u64,
    /// Pause of each collection (world stopped, or GIL held), ns.
    pub pause_ns: Histogram<u64>,
    /// Time from the stop request until every thread parked, ns.
    pub time_to_safepoint_ns: Histogram<u64>,
}

impl Default for GcStats {
    fn default() -> Self {
        GcStats {
            collections: [0; 3],
            examined: 0,
            collected: 0,
            resurrected: 0,
            finalizers_run: 0,
            pause_ns: crate::histogram::new_histogram(),
            time_to_safepoint_ns: crate::histogram::new_histogram(),
        }
    }
}

/// A finalizer (PEP 442 `tp_finalize`): gets a new reference to its object,
/// may allocate and may resurrect it by storing that reference.
pub type Finalizer<P> = Box<dyn for<'a> FnOnce(&crate::heap::Mutator<'a, P>, Ref<'a, P>) + Send>;

/// One generation list (generational mode, under the GIL).
pub(crate) struct GenList<P: Policy> {
    pub head: *mut ObjHeader<P>,
    pub count: usize,
}

/// Per-heap collector state.
pub struct GcState<P: Policy> {
    pub(crate) config: GcConfig,
    enabled: AtomicBool,
    /// Net container allocations published since the last collection,
    /// never below 0 (`publish` clamps, as CPython 3.11).
    pub(crate) count: AtomicIsize,
    /// Containers that survived the last collection.
    pub(crate) survivors: AtomicIsize,
    due: AtomicBool,
    pub(crate) collecting: AtomicBool,
    pub(crate) stats: Mutex<GcStats>,
    pub(crate) finalizers: Mutex<HashMap<usize, Finalizer<P>>>,
    /// Generational mode only; guarded by the GIL.
    pub(crate) gens: UnsafeCell<[GenList<P>; 3]>,
    /// Generational mode: young collections since the last gen-1 one, etc.
    pub(crate) gen_counts: Mutex<[usize; 3]>,
    pub(crate) pool: Mutex<Option<std::sync::Arc<rayon::ThreadPool>>>,
}

// SAFETY: `gens` is only touched under the GIL (generational mode is refused
// for free-threaded policies); the rest is locked or atomic. Finalizers are
// `Send`.
unsafe impl<P: Policy> Sync for GcState<P> {}
// SAFETY: as above.
unsafe impl<P: Policy> Send for GcState<P> {}

impl<P: Policy> GcState<P> {
    pub fn new(config: &GcConfig) -> Self {
        GcState {
            config: config.clone(),
            enabled: AtomicBool::new(config.enabled),
            count: AtomicIsize::new(0),
            survivors: AtomicIsize::new(0),
            due: AtomicBool::new(false),
            collecting: AtomicBool::new(false),
            stats: Mutex::new(GcStats::default()),
            finalizers: Mutex::new(HashMap::new()),
            gens: UnsafeCell::new(std::array::from_fn(|_| GenList {
                head: ptr::null_mut(),
                count: 0,
            })),
            gen_counts: Mutex::new([0; 3]),
            pool: Mutex::new(None),
        }
    }

    /// The due flag, read at every checkpoint.
    #[inline(always)]
    pub fn wants_collection(&self) -> bool {
        self.due.load(Ordering::Relaxed)
    }

    pub(crate) fn take_due(&self) -> bool {
        self.due.swap(false, Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        if !on {
            self.due.store(false, Ordering::Relaxed);
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn mode(&self) -> GcMode {
        self.config.mode
    }

    /// Publishes a thread's local count when its batch is full (or `force`).
    #[inline]
    pub(crate) fn publish(&self, delta: &mut isize, force: bool) {
        let batch = if self.config.mode == GcMode::Generational {
            1
        } else {
            self.config.batch as isize
        };
        if !force && delta.abs() < batch {
            return;
        }
        let d = std::mem::take(delta);
        if d == 0 {
            return;
        }
        if d < 0 {
            // CPython 3.11 clamps at 0 (`gc_dealloc` decrements only while
            // positive): a collection resets the count, and freeing the
            // containers allocated before it must not bank a debt that the
            // next growth has to pay off first (a chain built and dropped
            // again and again would then collect once and never again).
            let mut cur = self.count.load(Ordering::Relaxed);
            loop {
                let new = (cur + d).max(0);
                match self.count.compare_exchange_weak(
                    cur,
                    new,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(c) => cur = c,
                }
            }
        }
        let count = self.count.fetch_add(d, Ordering::Relaxed) + d;
        if self.is_enabled() && self.is_due(count) {
            self.due.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn still_due(&self) -> bool {
        self.is_due(self.count.load(Ordering::Relaxed))
    }

    fn is_due(&self, count: isize) -> bool {
        match self.config.mode {
            GcMode::Generational => count > self.config.gen_thresholds[0] as isize,
            GcMode::PoolWalk => {
                let survivors = self.survivors.load(Ordering::Relaxed);
                count > self.config.threshold as isize
                    && count > survivors * self.config.growth_percent as isize / 100
            }
        }
    }

    pub fn stats(&self) -> GcStats {
        self.stats.lock().clone()
    }
}

impl<P: Policy> crate::heap::Heap<P> {
    /// Starts tracking a new container.
    ///
    /// # Safety
    /// `obj` is a new container of this heap; `ts` is the caller's state.
    #[inline(always)]
    pub(crate) unsafe fn gc_track(
        &self,
        ts: *mut crate::heap::ThreadState<P>,
        obj: *mut ObjHeader<P>,
    ) {
        // SAFETY: a fresh container, not yet shared; its header was written
        // with TRACKED set (`init_header`).
        unsafe {
            debug_assert!((*obj).gc_flags() & gc_bits::TRACKED != 0);
            (*ts).gc_delta += 1;
            // One test of the mode on the pool walk's path (the default).
            if self.gc.config.mode == GcMode::Generational {
                // SAFETY: generational mode runs only under the GIL, held here.
                self.gc.gens.with_mut(|g| gen_push(&mut *g, 0, obj));
                self.gc.publish(&mut (*ts).gc_delta, false);
            } else if (*ts).gc_delta >= self.gc.config.batch as isize {
                self.gc.publish(&mut (*ts).gc_delta, false);
            }
        }
    }

    /// Stops tracking a container being freed, and counts it.
    ///
    /// # Safety
    /// `obj` is a dead container of this heap; `ts` is the caller's state.
    #[inline(always)]
    pub(crate) unsafe fn gc_untrack(
        &self,
        ts: *mut crate::heap::ThreadState<P>,
        obj: *mut ObjHeader<P>,
    ) {
        // SAFETY: the object is dead; only we touch it.
        unsafe {
            let f = (*obj).gc_flags();
            if f & gc_bits::TRACKED != 0 {
                (*obj).set_gc_flags(f & !gc_bits::TRACKED);
                if self.gc.config.mode == GcMode::Generational {
                    // SAFETY: under the GIL.
                    self.gc.gens.with_mut(|g| gen_unlink(&mut *g, obj));
                }
            }
            // Counted whether tracked or not (a collection may have untracked
            // a tuple), as CPython 3.11 counts every container it frees.
            (*ts).gc_delta -= 1;
            if (*ts).gc_delta <= -(self.gc.config.batch as isize) {
                self.gc.publish(&mut (*ts).gc_delta, false);
            }
        }
    }

    /// Collector statistics.
    pub fn gc_stats(&self) -> GcStats {
        self.gc.stats()
    }

    /// `gc.enable()` / `gc.disable()`.
    pub fn set_gc_enabled(&self, on: bool) {
        self.gc.set_enabled(on)
    }

    pub fn gc_mode(&self) -> GcMode {
        self.gc.mode()
    }

    /// `gc.is_tracked(obj)`: whether the collector looks at `r`'s object.
    /// Containers are born tracked; a collection untracks the tuples that no
    /// cycle can pass through (CPython's `_PyTuple_MaybeUntrack`).
    pub fn is_tracked(&self, r: &Ref<'_, P>) -> bool {
        // SAFETY: we hold a reference; the flag bits are relaxed atomics.
        unsafe { (*r.as_ptr()).gc_flags() & gc_bits::TRACKED != 0 }
    }

    /// Makes objects immortal (PEP 683): their counts are never written
    /// again, and they are released when the heap is dropped. The leak check
    /// counts them apart from ordinary live blocks.
    pub fn immortalize(&self, r: &Ref<'_, P>) {
        let obj = r.as_ptr();
        // SAFETY: we hold a reference. Writing the count word is safe only
        // while no other thread touches it: callers immortalize objects
        // before sharing them (as CPython does at startup).
        unsafe {
            if <P::Counts as Counts>::is_immortal(&(*obj).rc) {
                return;
            }
            ptr::write(&mut (*obj).rc, <P::Counts as Counts>::word_immortal());
            (*obj).set_gc_flags((*obj).gc_flags() | gc_bits::IMMORTAL);
        }
    }
}

/// Links `obj` at the head of generation `gen`; between collections a
/// container's `GcHead::refs` records its generation.
///
/// # Safety
/// Under the GIL; `obj` is a container on no list.
pub(crate) unsafe fn gen_push<P: Policy>(
    gens: &mut [GenList<P>; 3],
    gen: usize,
    obj: *mut ObjHeader<P>,
) {
    // SAFETY: the caller's contract.
    unsafe {
        let list = &mut gens[gen];
        let g = gc_head(obj);
        (*g).refs = gen as isize;
        (*g).prev = ptr::null_mut();
        (*g).next = list.head;
        if !list.head.is_null() {
            (*gc_head(list.head)).prev = obj;
        }
        list.head = obj;
        list.count += 1;
    }
}

/// Unlinks `obj` from its generation.
///
/// # Safety
/// Under the GIL; `obj` is on one of `gens`, and its `refs` names which.
pub(crate) unsafe fn gen_unlink<P: Policy>(gens: &mut [GenList<P>; 3], obj: *mut ObjHeader<P>) {
    // SAFETY: the caller's contract.
    unsafe {
        let g = gc_head(obj);
        let list = &mut gens[(*g).refs as usize];
        let (prev, next) = ((*g).prev, (*g).next);
        if !next.is_null() {
            (*gc_head(next)).prev = prev;
        }
        if prev.is_null() {
            debug_assert_eq!(list.head, obj);
            list.head = next;
        } else {
            (*gc_head(prev)).next = next;
        }
        list.count -= 1;
        (*g).next = ptr::null_mut();
        (*g).prev = ptr::null_mut();
    }
}
