//! The global interpreter lock, CPython's "new GIL" (3.2+), as an
//! [`Interp`]: under it everything in the heap may be plain memory (the
//! allocator's class table has no lock, reference counts are plain integers,
//! lists have no lock), and the collector runs on the thread that triggers
//! it with the world already stopped (only the holder runs heap code).
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
//! `GilLock` is used as is by the loom model `gil_handoff`. The shared class
//! table and the plain counts that the GIL makes safe are components of their
//! own ([`super::SharedFront`], [`super::PlainCounts`]).
//!
//! Orderings: the lock's state lives under its mutex; the atomics beside it
//! (`drop_request`, `holder_now`) are hints read at every checkpoint or by
//! debug assertions, so they are relaxed: a request seen one checkpoint late
//! only delays a switch, and every decision that matters is re-checked under
//! the mutex.

use super::{Interp, PolicyConfig};
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering};
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
                wait_ns: crate::histogram::new_histogram(),
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

/// The GIL as an [`Interp`]: attach takes it, checkpoints hand it over
/// when asked, `allow_threads` drops it, and its holder is alone in the heap
/// (a stopped world).
#[derive(Debug)]
pub struct GilInterp;

/// State shared by the threads of a GIL heap.
pub struct GilShared {
    pub gil: GilLock,
    next_tid: AtomicUsize,
}

/// Per-thread state under the GIL.
pub struct GilLocal {
    tid: usize,
    holds: bool,
}

// SAFETY: the GIL admits one attached thread at a time; `drop_gil` and
// `take` pass through the state mutex, so each hand-over synchronises; the
// holder is alone, so its stopped world is trivially in force.
unsafe impl Interp for GilInterp {
    const FREE_THREADED: bool = false;
    type Shared = GilShared;
    type Local = GilLocal;

    fn new_shared(config: &PolicyConfig) -> GilShared {
        GilShared {
            gil: GilLock::new(config.switch_interval),
            // Relaxed: ids only need to be distinct.
            next_tid: AtomicUsize::new(1),
        }
    }

    fn attach(shared: &GilShared) -> GilLocal {
        let tid = shared.next_tid.fetch_add(1, Ordering::Relaxed);
        shared.gil.take(tid);
        GilLocal { tid, holds: true }
    }

    fn detach_for_good(shared: &GilShared, local: &mut GilLocal) {
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

    fn checkpoint_slow(shared: &GilShared, local: &mut GilLocal) {
        shared.gil.yield_if_requested(local.tid);
    }

    fn stop_the_world(_shared: &GilShared, _local: &mut GilLocal) -> Option<u64> {
        // Holding the GIL is a stopped world.
        Some(0)
    }

    fn start_the_world(_shared: &GilShared, _local: &mut GilLocal) {}

    fn gil_stats(shared: &GilShared) -> Option<GilStats> {
        Some(shared.gil.stats())
    }

    fn may_write(shared: &GilShared, local: &GilLocal) -> bool {
        local.holds && shared.gil.holder() == local.tid
    }
}
