//! The tracing collector of the count-free policies (`gil-tracing`: PyPy's
//! heap; `tracing`: the JVM's and CLR's): configuration, the byte-growth
//! trigger, and its state. The algorithm is in [`collect`].
//!
//! A policy whose counts component is count-free ([`Counts::TRACED`],
//! `policy::TracedCounts`) never frees an object on a count: every object
//! comes back through this collector, which marks from the roots (each
//! thread's handle table, `policy::handles`, and the immortal objects) and
//! sweeps the pools. The cycle collector (`super::gc`) never runs under such
//! a policy; `Mutator::collect` comes here instead.
//!
//! The trigger follows heap growth, like Go's `GOGC`: each thread counts the
//! bytes it allocates (objects and list item arrays) and publishes them in
//! batches; a collection becomes due when the bytes allocated since the last
//! collection exceed `growth` times the live bytes it left (and at least
//! `min_bytes`). Under a memory limit (`--max-heap`) the trigger also
//! fires once the heap has reserved three quarters of the limit and an
//! eighth of it was allocated since the last collection, so garbage is
//! reclaimed before an allocation is refused (a JVM collects, and keeps
//! collecting, near its `-Xmx` in the same way). The due flag is read at
//! checkpoints, as the cycle collector's is.
//!
//! Layers: this module sits in the heap beside the cycle collector; the
//! policy names it only by the `TRACED` constant.

pub mod collect;
pub mod minor;
pub mod nursery;
mod oom;
mod par_mark;

use super::thread::ThreadState;
use super::Heap;
use crate::heap::gc::{GcConfig, GcMode};
use crate::policy::{Counts, Policy};
use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::HeapError;

/// Bytes a thread allocates before it publishes them to the trigger.
const BATCH: usize = 64 << 10;

/// The tracing collector's settings.
#[derive(Clone, Debug)]
pub struct TraceConfig {
    /// Collect when the bytes allocated since the last collection exceed
    /// this many times the live bytes after it (`--gc-growth`; Go's
    /// `GOGC=100` is 1.0: the heap may double before the next collection).
    pub growth: f64,
    /// The least allocation between two automatic collections.
    pub min_bytes: usize,
    /// A nursery of this many bytes for young objects (`--nursery`;
    /// `gil-tracing` only): see [`nursery`].
    pub nursery: Option<usize>,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            growth: 1.0,
            min_bytes: 4 << 20,
            nursery: None,
        }
    }
}

impl TraceConfig {
    /// Refuses settings that make no sense for policy `P`.
    pub fn validate<P: Policy>(&self, gc: &GcConfig) -> Result<(), HeapError> {
        if !(self.growth.is_finite() && self.growth > 0.0) {
            return Err(HeapError::config(format!(
                "gc growth is {}; it must be a finite number above 0",
                self.growth
            )));
        }
        if <P::Counts as Counts>::TRACED && gc.mode == GcMode::Generational {
            return Err(HeapError::config(format!(
                "gc mode 'generational' is the cycle collector's; policy '{}' has no reference counts and uses the tracing collector (use 'pool-walk', the default)",
                P::NAME
            )));
        }
        if let Some(size) = self.nursery {
            Self::validate_nursery::<P>(size)?;
        }
        Ok(())
    }

    /// Refuses a nursery that policy `P` cannot have, or of a size out of
    /// range.
    fn validate_nursery<P: Policy>(size: usize) -> Result<(), HeapError> {
        use nursery::{header_fits, MAX_NURSERY, MIN_NURSERY};
        if !<P::Counts as Counts>::TRACED {
            return Err(HeapError::config(format!(
                "--nursery is for the tracing policies (gil-tracing); policy '{}' counts references, frees objects where they are and never moves them",
                P::NAME
            )));
        }
        if P::FREE_THREADED {
            return Err(HeapError::config(format!(
                "--nursery is built for gil-tracing only: policy '{}' has no GIL, and a nursery there needs stop-the-world minor collections or per-thread nurseries with promotion when an object escapes its thread, which the lab does not have yet",
                P::NAME
            )));
        }
        if !header_fits::<P>() {
            return Err(HeapError::config(format!(
                "--nursery: policy '{}' has an object header over 8 bytes, which leaves no room for a forwarding word in the smallest young object",
                P::NAME
            )));
        }
        if !(MIN_NURSERY..=MAX_NURSERY).contains(&size) || !size.is_multiple_of(16) {
            return Err(HeapError::config(format!(
                "nursery is {size} bytes; it must be a multiple of 16 between {MIN_NURSERY} (64 KiB) and {MAX_NURSERY} (1 GiB)"
            )));
        }
        Ok(())
    }
}

/// The tracing collector's per-heap state.
pub struct TraceState {
    pub(crate) config: TraceConfig,
    /// Bytes allocated (published) since the last collection.
    allocated: AtomicUsize,
    /// Bytes live after the last collection.
    live: AtomicUsize,
    due: AtomicBool,
    /// One collection at a time.
    pub(crate) collecting: AtomicBool,
    /// The nursery (empty without `--nursery`).
    pub(crate) nursery: nursery::Nursery,
}

impl TraceState {
    pub fn new(config: &TraceConfig) -> Self {
        TraceState {
            config: config.clone(),
            allocated: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            due: AtomicBool::new(false),
            collecting: AtomicBool::new(false),
            nursery: nursery::Nursery::new(config.nursery.unwrap_or(0)),
        }
    }

    /// Whether the heap has a nursery (objects may move).
    #[inline(always)]
    pub fn nursery_on(&self) -> bool {
        self.nursery.enabled()
    }

    /// The nursery's figures (zeros without one).
    pub fn nursery_stats(&self) -> nursery::NurseryStats {
        self.nursery.stats()
    }

    /// The due flag, read at every checkpoint (tracing policies only).
    #[inline(always)]
    pub fn wants_collection(&self) -> bool {
        // Relaxed: a hint; the collection itself synchronises.
        self.due.load(Ordering::Relaxed)
    }

    /// Publishes a thread's allocated bytes; raises the due flag when the
    /// growth since the last collection passed the threshold.
    /// `limit`: the memory limit, when the heap is near it (see the module
    /// docs).
    pub(crate) fn publish(&self, bytes: &mut usize, enabled: bool, limit: Option<usize>) {
        let b = std::mem::take(bytes);
        if b == 0 {
            return;
        }
        // Relaxed: a statistic for the trigger; nothing is published with it.
        let total = self.allocated.fetch_add(b, Ordering::Relaxed) + b;
        let threshold = match limit {
            Some(l) => self.threshold().min(l / 8),
            None => self.threshold(),
        };
        if enabled && total > threshold {
            self.due.store(true, Ordering::Relaxed);
        }
    }

    /// Bytes to allocate after the last collection before the next.
    pub fn threshold(&self) -> usize {
        let live = self.live.load(Ordering::Relaxed) as f64;
        ((live * self.config.growth) as usize).max(self.config.min_bytes)
    }

    /// Live bytes after the last collection.
    pub fn live_bytes(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// A collection left `live` bytes: the trigger starts again.
    fn reset(&self, live: usize) {
        self.live.store(live, Ordering::Relaxed);
        self.allocated.store(0, Ordering::Relaxed);
        self.due.store(false, Ordering::Relaxed);
    }
}

impl<P: Policy> Heap<P> {
    /// Counts `bytes` allocated by the thread `ts` for the trigger (tracing
    /// policies only; the caller tests `TRACED`).
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    #[inline(always)]
    pub(crate) unsafe fn trace_allocated(&self, ts: *mut ThreadState<P>, bytes: usize) {
        // SAFETY: our own state.
        unsafe {
            (*ts).trace_bytes += bytes;
            if (*ts).trace_bytes >= BATCH {
                self.trace.publish(
                    &mut (*ts).trace_bytes,
                    self.gc.is_enabled(),
                    self.near_limit(),
                );
            }
        }
    }

    /// The memory limit, when the heap has reserved three quarters of it.
    fn near_limit(&self) -> Option<usize> {
        let b = self.mem.budget();
        b.limit().filter(|&l| b.reserved() > l / 4 * 3)
    }

    /// The tracing collector's state (trigger figures).
    pub fn trace_state(&self) -> &TraceState {
        &self.trace
    }

    /// Roots in every handle table (tracing policies; 0 otherwise). Exact
    /// when the heap is quiescent.
    pub fn root_count(&self) -> usize {
        let mut n = 0;
        <P::Counts as Counts>::for_each_root(&self.counts, &mut |_| n += 1);
        n
    }
}
