//! `gil`: one global interpreter lock, CPython's "new GIL" (3.2+).
//!
//! Everything in the heap is plain memory: the allocator's class table has no
//! lock, reference counts are plain integers, lists have no lock, and the
//! collector runs on the thread that triggers it with the world already
//! stopped (only the holder runs heap code).
//!
//! The hand-off follows `Python/ceval_gil.c`:
//! - a thread that wants the GIL waits on `cond` for at most the switch
//!   interval (5 ms by default); if it times out and no switch happened
//!   meanwhile, it sets the drop request (the eval breaker);
//! - the holder sees the request at its next checkpoint and drops the GIL;
//! - forced switching: a holder that drops because of a request waits on
//!   `switch_cond` until another thread has taken the GIL, so it cannot grab
//!   it straight back (the convoy effect Beazley measured without it);
//! - `allow_threads` drops the GIL (no forced switch) and takes it again.
//!
//! `GilLock` is used as is by the loom model `gil_handoff`.

use super::{ObjLock, Policy, RcCounters};
use crate::alloc::pool::ClassTable;
use crate::alloc::Memory;
use crate::alloc::{Domain, OutOfMemory};
use crate::heap::HeapConfig;
use crate::object::ObjHeader;
use crate::policy::objlock::NoLock;
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, UnsafeCell};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

struct GilState {
    locked: bool,
    /// The thread that took the GIL last (CPython's `last_holder`).
    holder: usize,
    /// Incremented on every acquisition (CPython's `switch_number`).
    switch_number: u64,
    acquisitions: u64,
    forced_switches: u64,
    wait_ns: Histogram<u64>,
}

/// GIL statistics, as the results file reports them.
#[derive(Clone, Debug)]
pub struct GilStats {
    pub acquisitions: u64,
    pub forced_switches: u64,
    pub wait_ns: Histogram<u64>,
}

/// The global interpreter lock.
pub struct GilLock {
    state: Mutex<GilState>,
    /// Signalled when the GIL is dropped.
    cond: Condvar,
    /// Signalled when the GIL is taken (forced switching).
    switch_cond: Condvar,
    /// The eval breaker's drop request: read at every checkpoint.
    drop_request: AtomicBool,
    /// Mirror of the holder for debug assertions (0: nobody).
    holder_now: AtomicUsize,
    interval: Duration,
}

impl GilLock {
    pub fn new(interval: Duration) -> Self {
        GilLock {
            state: Mutex::new(GilState {
                locked: false,
                holder: 0,
                switch_number: 0,
                acquisitions: 0,
                forced_switches: 0,
                wait_ns: crate::metrics::new_histogram(),
            }),
            cond: Condvar::new(),
            switch_cond: Condvar::new(),
            drop_request: AtomicBool::new(false),
            holder_now: AtomicUsize::new(0),
            interval,
        }
    }

    /// Takes the GIL for thread `tid` (non-zero), waiting as CPython does.
    pub fn take(&self, tid: usize) {
        debug_assert_ne!(tid, 0);
        let start = Instant::now();
        let mut st = self.state.lock();
        while st.locked {
            let switch_number = st.switch_number;
            let (guard, timed_out) = self.cond.wait_timeout(&self.state, st, self.interval);
            st = guard;
            if timed_out && st.locked && st.switch_number == switch_number {
                // Nobody switched in a whole interval: ask the holder to drop.
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        self.acquired(&mut st, tid, start);
    }

    fn acquired(&self, st: &mut MutexGuard<'_, GilState>, tid: usize, start: Instant) {
        st.locked = true;
        st.holder = tid;
        st.switch_number += 1;
        st.acquisitions += 1;
        let waited = start.elapsed().as_nanos() as u64;
        st.wait_ns.saturating_record(waited.max(1));
        self.holder_now.store(tid, Ordering::Relaxed);
        // We took it: a holder waiting for the switch may go on.
        self.switch_cond.notify_all();
        // The request (if any) was for us; CPython resets it here.
        self.drop_request.store(false, Ordering::Relaxed);
    }

    /// Drops the GIL. With `forced`, and a drop request pending, waits until
    /// another thread has taken it (forced switching).
    pub fn drop_gil(&self, tid: usize, forced: bool) {
        let mut st = self.state.lock();
        debug_assert!(
            st.locked && st.holder == tid,
            "dropping a GIL we do not hold"
        );
        st.locked = false;
        self.holder_now.store(0, Ordering::Relaxed);
        self.cond.notify_one();
        if forced && self.drop_request.load(Ordering::Relaxed) {
            // The requester is still waiting in `take` (it resets the request
            // when it gets the GIL, under this mutex), so someone will take
            // the GIL and wake us.
            st.forced_switches += 1;
            while st.holder == tid && self.drop_request.load(Ordering::Relaxed) {
                st = self.switch_cond.wait(st);
            }
        }
    }

    /// The eval breaker: true when another thread asked for the GIL.
    #[inline(always)]
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Relaxed)
    }

    /// A checkpoint: hand the GIL over if asked, then take it back.
    /// Returns true when a switch happened.
    pub fn yield_if_requested(&self, tid: usize) -> bool {
        if !self.drop_requested() {
            return false;
        }
        self.drop_gil(tid, true);
        self.take(tid);
        true
    }

    /// The current holder (0: none). For assertions only.
    #[inline]
    pub fn holder(&self) -> usize {
        self.holder_now.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> GilStats {
        let st = self.state.lock();
        GilStats {
            acquisitions: st.acquisitions,
            forced_switches: st.forced_switches,
            wait_ns: st.wait_ns.clone(),
        }
    }
}

/// The `gil` policy.
pub struct Gil;

/// State shared by the threads of a `gil` heap.
pub struct GilShared {
    pub gil: GilLock,
    /// The one class table, guarded by the GIL.
    table: UnsafeCell<ClassTable>,
    next_tid: AtomicUsize,
}

// SAFETY: `table` is only touched by the GIL's holder (checked in debug
// builds); the rest is synchronised.
unsafe impl Sync for GilShared {}
// SAFETY: as above.
unsafe impl Send for GilShared {}

/// Per-thread state under `gil`.
pub struct GilLocal {
    tid: usize,
    holds: bool,
    counters: RcCounters,
}

impl GilShared {
    /// # Safety
    /// The caller holds the GIL (or the world is otherwise quiescent).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn table(&self) -> &mut ClassTable {
        // SAFETY: the caller's contract: only the GIL holder gets here.
        self.table.with_mut(|t| unsafe { &mut *t })
    }
}

/// Reference count under the GIL: a plain integer.
pub struct GilRc(UnsafeCell<isize>);

// SAFETY: only touched by the GIL's holder.
unsafe impl Sync for GilRc {}
// SAFETY: as above.
unsafe impl Send for GilRc {}

/// Plain counts use this value for immortal objects (PEP 683's saturated count).
const IMMORTAL: isize = isize::MAX / 2;

// SAFETY: the GIL serialises every heap operation: allocation, counts and
// frees happen only on the holder; `stop_the_world` is trivially true.
unsafe impl Policy for Gil {
    const NAME: &'static str = "gil";
    const SUMMARY: &'static str =
        "one global interpreter lock (CPython's new GIL: switch interval, drop request, forced switching)";
    const FREE_THREADED: bool = false;

    type RefCount = GilRc;
    type ObjLock = NoLock;
    type Shared = GilShared;
    type Local = GilLocal;

    fn new_shared(config: &HeapConfig) -> Result<GilShared, crate::HeapError> {
        Ok(GilShared {
            gil: GilLock::new(config.switch_interval),
            table: UnsafeCell::new(ClassTable::default()),
            next_tid: AtomicUsize::new(1),
        })
    }

    fn attach(shared: &GilShared, _mem: &Memory) -> GilLocal {
        let tid = shared.next_tid.fetch_add(1, Ordering::Relaxed);
        shared.gil.take(tid);
        GilLocal {
            tid,
            holds: true,
            counters: RcCounters::default(),
        }
    }

    fn detach_for_good(
        shared: &GilShared,
        _mem: &Memory,
        local: &mut GilLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        if local.holds {
            shared.gil.drop_gil(local.tid, false);
            local.holds = false;
        }
    }

    fn release(shared: &GilShared, local: &mut GilLocal) {
        shared.gil.drop_gil(local.tid, false);
        local.holds = false;
    }

    fn reacquire(shared: &GilShared, local: &mut GilLocal) {
        shared.gil.take(local.tid);
        local.holds = true;
    }

    #[inline(always)]
    fn checkpoint_pending(shared: &GilShared, _local: &GilLocal) -> bool {
        shared.gil.drop_requested()
    }

    fn checkpoint_slow(
        shared: &GilShared,
        _mem: &Memory,
        local: &mut GilLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
        shared.gil.yield_if_requested(local.tid);
    }

    fn stop_the_world(_shared: &GilShared, _local: &mut GilLocal) -> Option<u64> {
        // Holding the GIL is a stopped world.
        Some(0)
    }

    fn start_the_world(_shared: &GilShared, _local: &mut GilLocal) {}

    #[inline(always)]
    unsafe fn alloc_block(
        shared: &GilShared,
        mem: &Memory,
        local: &mut GilLocal,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory> {
        debug_assert!(Self::may_write(shared, local), "heap write without the GIL");
        // SAFETY: we hold the GIL (the caller is attached).
        unsafe {
            shared.table().classes[domain.index()][class].alloc(
                domain,
                class,
                mem,
                std::ptr::null(),
            )
        }
    }

    #[inline(always)]
    unsafe fn free_block(shared: &GilShared, mem: &Memory, local: &mut GilLocal, block: *mut u8) {
        debug_assert!(Self::may_write(shared, local), "heap write without the GIL");
        // SAFETY: we hold the GIL; the block is one of the shared table's.
        unsafe {
            let (d, c) = crate::alloc::PoolHeader::class_of(block);
            shared.table().classes[d][c].free(block, mem)
        }
    }

    #[inline(always)]
    fn rc_new(_local: &GilLocal) -> GilRc {
        GilRc(UnsafeCell::new(1))
    }

    fn rc_immortal() -> GilRc {
        GilRc(UnsafeCell::new(IMMORTAL))
    }

    #[inline(always)]
    fn rc_is_immortal(rc: &GilRc) -> bool {
        // SAFETY: a plain read under the GIL.
        rc.0.with(|v| unsafe { *v }) >= IMMORTAL
    }

    #[inline(always)]
    unsafe fn incref(obj: *mut ObjHeader<Self>, local: &mut GilLocal) {
        // SAFETY: the caller holds the GIL and a reference.
        unsafe {
            (*obj).rc.0.with_mut(|v| {
                if *v < IMMORTAL {
                    *v += 1
                }
            })
        };
        local.counters.local_ops += 1;
    }

    #[inline(always)]
    unsafe fn decref(_shared: &GilShared, obj: *mut ObjHeader<Self>, local: &mut GilLocal) -> bool {
        local.counters.local_ops += 1;
        // SAFETY: the caller holds the GIL and gives up a reference.
        unsafe {
            (*obj).rc.0.with_mut(|v| {
                if *v >= IMMORTAL {
                    return false;
                }
                *v -= 1;
                *v == 0
            })
        }
    }

    fn rc_total(rc: &GilRc) -> isize {
        // SAFETY: a plain read; the world is stopped by the GIL.
        rc.0.with(|v| unsafe { *v })
    }

    fn prepare_collection(
        _shared: &GilShared,
        _mem: &Memory,
        _local: &mut GilLocal,
        _on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    ) {
    }

    fn counters(local: &GilLocal) -> RcCounters {
        local.counters
    }

    fn blocks_in_use(shared: &GilShared, _mem: &Memory) -> usize {
        // SAFETY: the caller guarantees quiescence.
        unsafe { shared.table().blocks_in_use() }
    }

    fn release_empty_pools(shared: &GilShared, mem: &Memory) {
        // SAFETY: the caller guarantees quiescence.
        unsafe { shared.table().release_empty(mem) }
    }

    fn gil_stats(shared: &GilShared) -> Option<GilStats> {
        Some(shared.gil.stats())
    }

    fn may_write(shared: &GilShared, local: &GilLocal) -> bool {
        local.holds && shared.gil.holder() == local.tid
    }
}

const _: () = assert!(!<NoLock as ObjLock>::REAL);
