//! How the runner's configurations run ([`RunSettings`]: durations, repeats,
//! the collector's and the locks' settings), and the heap configuration a
//! policy gets from them. Part of the runner (`super`), in its own file so
//! the runner's file holds the run itself.

use crate::gc::GcMode;
use std::time::Duration;

/// How configurations run.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Measured seconds (overrides the scenarios' own).
    pub duration: Option<f64>,
    /// Warm-up seconds (overrides the scenarios' own).
    pub warmup: Option<f64>,
    pub gc_mode: GcMode,
    pub switch_interval: Duration,
    pub max_heap: Option<usize>,
    pub mark_workers: usize,
    /// Automatic collection (`gc.disable()` when false; explicit collections
    /// and the final one still run).
    pub gc_enabled: bool,
    /// The tracing collector's growth factor (`--gc-growth`; count-free
    /// policies only).
    pub gc_growth: f64,
    /// A nursery of this many bytes (`--nursery`) for each policy that
    /// supports one (`gil-tracing`); the others run without.
    pub nursery: Option<usize>,
    /// Fault injection: the worker with this index panics after this many
    /// measured steps (between two heap operations).
    pub inject_panic: Option<(usize, u64)>,
    /// The run's floor, a non-atomic increment + decrement pair in ns: a
    /// worker that counts more operations per CPU-second than it allows
    /// fails its configuration (see [`super::phase`]). 0 turns the check off.
    pub floor_pair_ns: f64,
    /// Pin worker `i` to core `i` modulo the cores (`--pin`; off by default:
    /// `convoy` measures the OS scheduler).
    pub pin: bool,
    /// The object locks' parking table (`--locks`).
    pub locks: crate::policy::objlock::LockBackend,
    /// The list read paths run (`--list-reads`): recorded only, since each
    /// path is its own policy type (the suite's policies already name it).
    pub list_reads: Vec<crate::policy::ListReads>,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            duration: None,
            warmup: None,
            gc_mode: GcMode::PoolWalk,
            switch_interval: Duration::from_millis(5),
            max_heap: None,
            mark_workers: 1,
            gc_enabled: true,
            gc_growth: crate::heap::trace::TraceConfig::default().growth,
            nursery: None,
            inject_panic: None,
            floor_pair_ns: 0.0,
            pin: false,
            locks: Default::default(),
            list_reads: vec![crate::policy::ListReads::Optimistic],
        }
    }
}
