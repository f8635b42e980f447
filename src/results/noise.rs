//! The noise a run met, as the results file records it: per configuration
//! run, the CPU time each worker got beside its wall time, the steal time and
//! the context switches; per results file, whether the machine was quiet.
//!
//! On a shared machine a worker that got half a core measured half the
//! throughput: these figures say when that happened, so a reader (and the
//! report's opening line) can tell a slow policy from a busy neighbour.

use serde::{Deserialize, Serialize};

/// The noise one configuration run met.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct RunNoise {
    /// CPU seconds of each worker inside its measured window (the thread
    /// CPU clock), in worker order.
    pub thread_cpu_secs: Vec<f64>,
    /// Wall-clock seconds of each worker's measured window.
    pub thread_wall_secs: Vec<f64>,
    /// Share of the machine's CPU time the hypervisor stole during the run
    /// (0..1).
    pub steal_ratio: f64,
    /// Context switches of the process during the run (`getrusage`): waits
    /// (voluntary) and preemptions (involuntary).
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// Whether the workers were pinned to cores.
    #[serde(default)]
    pub pinned: bool,
}

impl RunNoise {
    /// The CPU time the workers got over the wall time they ran (1.0: each
    /// had a core to itself the whole time; `None` without figures). Waits
    /// for the GIL or a lock also lower it, so compare it across the same
    /// configuration's rounds, not across policies.
    pub fn cpu_share(&self) -> Option<f64> {
        let wall: f64 = self.thread_wall_secs.iter().sum();
        let cpu: f64 = self.thread_cpu_secs.iter().sum();
        (wall > 0.0 && cpu.is_finite()).then(|| cpu / wall)
    }
}

/// How noisy the whole run was.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct NoiseSummary {
    /// True when nothing else competed for the cores: little steal, a load
    /// average at the start below the core count, and single-thread workers
    /// that got nearly all of their core.
    pub quiet: bool,
    /// The reasons it was not quiet (empty when it was).
    #[serde(default)]
    pub why: Vec<String>,
    /// The 1-minute load average before the first round and after the last.
    pub load_average_start: f64,
    pub load_average_end: f64,
    /// The median over single-thread runs of their workers' CPU share.
    #[serde(default)]
    pub one_thread_cpu_share: Option<f64>,
    /// Involuntary context switches per second of measured time, median
    /// over runs.
    #[serde(default)]
    pub preemptions_per_sec: Option<f64>,
}
