//! `results.json`: the contract between the runner, the reports and `compare`.
//!
//! The runner writes one file per run; reports are rendered only from it,
//! never from live state, so any stored run can be re-rendered or compared
//! later. Bump [`SCHEMA_VERSION`] on any incompatible change: readers refuse
//! versions they do not know with a clear error.
//!
//! # Versions
//!
//! - **1**: the first. Repeats were interleaved, but a ratio between
//!   configurations was the ratio of their medians; files of this version
//!   still load (every field added since has a default), and reports show
//!   their ratios with the interval unknown.
//! - **2**: a run's repeats are *rounds*, one pass over every configuration
//!   (`Run::repeat` is the round), and ratios are taken per round with a 95%
//!   interval ([`confidence`]). Adds the provenance of the run (the command
//!   line, warm-up, marking workers, pinning, each scenario file's hash,
//!   whether the source tree was dirty), the round bookkeeping of adaptive
//!   repetition ([`Rounds`]), the noise each run met ([`RunNoise`],
//!   [`NoiseSummary`]), each repeat's latency histogram (hdrhistogram's V2
//!   deflate serialization, base64) and the instruction counts when they
//!   were taken.

pub mod confidence;
mod instructions;
mod noise;
mod rounds;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of this schema.
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest version this heaplab still reads.
pub const OLDEST_SCHEMA: u32 = 1;

/// The precision a headline ratio's interval is judged against when a file
/// does not name one (schema 1): ±5%.
pub const DEFAULT_PRECISION_PCT: f64 = 5.0;

/// One whole run of the lab.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Results {
    pub schema: u32,
    pub machine: Machine,
    pub heaplab: Build,
    /// UTC, RFC 3339.
    pub started: String,
    /// UTC, RFC 3339; empty while the run is in progress.
    #[serde(default)]
    pub finished: String,
    /// False for a run that stopped half-way (such a file is never left under
    /// the final name: see the runner).
    pub complete: bool,
    pub settings: Settings,
    pub floors: Floors,
    /// Share of CPU time the hypervisor stole during the run (0..1).
    pub steal_ratio: f64,
    pub workloads: Vec<WorkloadInfo>,
    /// One entry per configuration and repeat.
    pub runs: Vec<Run>,
    /// The same-shaped Python programs run on the machine's `python3`, in the
    /// same run, where available.
    #[serde(default)]
    pub python: Vec<PythonPeer>,
    /// Free-form observations of the runner (e.g. output checks).
    #[serde(default)]
    pub notes: Vec<String>,
    /// How the rounds went (schema 2).
    #[serde(default)]
    pub rounds: Option<Rounds>,
    /// How noisy the machine was over the run (schema 2).
    #[serde(default)]
    pub noise: Option<NoiseSummary>,
    /// Instructions per operation at one thread, where counted (schema 2).
    #[serde(default)]
    pub instructions: Option<Instructions>,
}

impl Results {
    /// The precision (±percent) the run's headline intervals aimed at.
    pub fn precision_pct(&self) -> f64 {
        self.settings
            .precision_pct
            .filter(|p| *p > 0.0 && p.is_finite())
            .unwrap_or(DEFAULT_PRECISION_PCT)
    }

    /// Whether the runs' rounds may be paired (schema 2 on).
    pub fn rounds_paired(&self) -> bool {
        self.schema >= 2
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub rustc: String,
    #[serde(default)]
    pub memory_bytes: u64,
    /// A free-form name (for example "dev VM" or "16-core sweep box").
    #[serde(default)]
    pub label: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Build {
    pub version: String,
    pub commit: String,
    /// Whether the source tree had uncommitted changes when it was built
    /// (`None`: unknown, e.g. built outside git, or a schema-1 file).
    #[serde(default)]
    pub dirty: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Settings {
    pub policies: Vec<String>,
    pub workloads: Vec<String>,
    pub threads: Vec<usize>,
    pub repeats: usize,
    /// Measured seconds per configuration (0 when the scenarios fix their
    /// operation counts).
    pub duration_secs: f64,
    pub gc_mode: String,
    pub switch_interval_us: u64,
    pub quick: bool,
    /// The command line as given (schema 2; empty before).
    #[serde(default)]
    pub command_line: Vec<String>,
    /// Warm-up seconds per configuration (`None`: each scenario's own).
    #[serde(default)]
    pub warmup_secs: Option<f64>,
    /// Marking workers of the collector while the world is stopped.
    #[serde(default)]
    pub mark_workers: Option<usize>,
    /// Whether worker threads were pinned to cores (`--pin`).
    #[serde(default)]
    pub pinned: bool,
    /// The ± precision in percent that adaptive repetition aimed at for the
    /// headline ratios (`None` in schema-1 files).
    #[serde(default)]
    pub precision_pct: Option<f64>,
    /// The most rounds a configuration could get.
    #[serde(default)]
    pub max_rounds: Option<usize>,
    /// The time budget of the rounds, seconds.
    #[serde(default)]
    pub budget_secs: Option<f64>,
    /// The heap's memory limit in bytes (allocations past it raise
    /// MemoryError): `--max-heap`, or by default half of the machine's
    /// memory. `None` in files written before the limit was recorded, or
    /// where the machine's memory was unknown and no limit was given.
    #[serde(default)]
    pub max_heap_bytes: Option<u64>,
    /// Set by `heaplab cost-breakdown`: the policies from the baseline to
    /// the target, one ingredient a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
    /// The object locks' parking table (`--locks`: `std` or
    /// `parking-lot`); `None` in files written before the choice existed
    /// (they used `std`).
    #[serde(default)]
    pub locks: Option<String>,
    /// The list read paths run (`--list-reads`: `locked`, `optimistic` or
    /// both, in the order given); `None` in files written before the choice
    /// existed (they ran `optimistic` only).
    #[serde(default)]
    pub list_reads: Option<Vec<String>>,
    /// The nursery's size in bytes (`--nursery`, given to the policies
    /// that have one: `gil-tracing`); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nursery_bytes: Option<u64>,
}

/// A cost breakdown: the steps from the first policy (the baseline) to the
/// last (the target), each adding one ingredient, and side steps measured
/// beside the way.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Breakdown {
    pub steps: Vec<BreakdownStep>,
    #[serde(default)]
    pub side: Vec<BreakdownStep>,
}

/// One step of a [`Breakdown`]: a policy and what it adds to the step before
/// (to the baseline, for a side step).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct BreakdownStep {
    pub policy: String,
    pub adds: String,
}

/// Hardware floors measured at the start of the run (see LIMITS.md).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Floors {
    /// Non-atomic increment + decrement of one counter, ns per pair.
    pub nonatomic_pair_ns: f64,
    /// Uncontended atomic fetch_add + fetch_sub, ns per pair.
    pub atomic_pair_ns: f64,
    /// One `Instant::now()`, ns.
    pub clock_read_ns: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct WorkloadInfo {
    pub name: String,
    pub description: String,
    /// The role whose latency is the scenario's headline (e.g. `sleeper`).
    #[serde(default)]
    pub headline_role: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// A hash of the scenario file's text (FNV-1a, 64 bits, hex), so that
    /// `compare` can tell when a scenario changed between two runs.
    #[serde(default)]
    pub text_hash: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

/// Latency figures in nanoseconds from a sampled HdrHistogram.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
    /// Samples recorded.
    pub samples: u64,
    /// One operation in `sample_every` is timed.
    pub sample_every: u64,
    /// (percentile in 0..100, value in ns) pairs for a percentile plot.
    pub distribution: Vec<(f64, u64)>,
}

/// Percentiles of a histogram of nanoseconds (pauses, waits).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub total: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct RoleStats {
    pub threads: usize,
    pub ops: u64,
    pub ops_per_sec: f64,
    pub latency_ns: Latency,
    /// The role's latency histogram (see [`Run::latency_histogram`]).
    #[serde(default)]
    pub latency_histogram: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct GilFigures {
    pub acquisitions: u64,
    pub forced_switches: u64,
    pub wait_ns: Percentiles,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct GcFigures {
    pub collections: u64,
    /// Per generation (pool-walk collections are full ones: index 2; runs
    /// stored before that was so recorded them at index 0).
    pub collections_by_generation: [u64; 3],
    pub examined: u64,
    pub collected: u64,
    pub resurrected: u64,
    pub pause_ns: Percentiles,
    /// Under the GIL-free policies only (the world is stopped).
    #[serde(default)]
    pub time_to_safepoint_ns: Option<Percentiles>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct MemoryFigures {
    pub peak_rss_bytes: u64,
    pub arenas_high_water: u64,
    pub bytes_in_use_peak: u64,
    pub bytes_reserved_peak: u64,
    /// Bytes the objects asked for, at the peak. Recorded by older runs
    /// only: the object path no longer counts requested bytes (the
    /// allocator's block counts give bytes in use), and a peak sampled
    /// while threads run cannot be taken from a heap walk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_requested_peak: Option<u64>,
    pub header_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct RefcountFigures {
    pub local_ops: u64,
    pub atomic_ops: u64,
    #[serde(default)]
    pub remote_frees: u64,
    #[serde(default)]
    pub merges: u64,
    #[serde(default)]
    pub queued: u64,
}

impl RefcountFigures {
    /// Share of reference-count operations that took the atomic path.
    pub fn atomic_share(&self) -> f64 {
        let t = self.local_ops + self.atomic_ops;
        if t == 0 {
            0.0
        } else {
            self.atomic_ops as f64 / t as f64
        }
    }
}

/// One configuration (workload x policy x threads) in one repeat.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub workload: String,
    pub policy: String,
    pub threads: usize,
    pub repeat: usize,
    pub status: Status,
    /// Why it failed (`status` = failed).
    #[serde(default)]
    pub error: Option<String>,
    pub ops: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    /// All threads' sampled operation latencies (for role scenarios, see
    /// `roles` and `headline_role`).
    pub latency_ns: Latency,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleStats>,
    #[serde(default)]
    pub headline_role: Option<String>,
    #[serde(default)]
    pub gil: Option<GilFigures>,
    pub gc: GcFigures,
    pub memory: MemoryFigures,
    pub refcount: RefcountFigures,
    pub gc_mode: String,
    pub leaked_blocks: u64,
    pub verified: bool,
    /// Lines the workload printed (binary-trees prints the benchmark's output).
    #[serde(default)]
    pub output: Vec<String>,
    /// The sampled latencies of all threads as an HdrHistogram (V2 deflate
    /// serialization, base64), so that repeats can be merged (schema 2).
    #[serde(default)]
    pub latency_histogram: Option<String>,
    /// The noise this run met (schema 2).
    #[serde(default)]
    pub noise: Option<RunNoise>,
}

impl Run {
    /// The latency a report leads with: the headline role's, if any.
    pub fn headline_latency(&self) -> &Latency {
        self.headline_role
            .as_ref()
            .and_then(|r| self.roles.get(r))
            .map(|r| &r.latency_ns)
            .unwrap_or(&self.latency_ns)
    }
}

/// The same-shaped Python program, timed in the same run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct PythonPeer {
    pub workload: String,
    pub python: String,
    pub threads: usize,
    pub seconds: f64,
    #[serde(default)]
    pub ops_per_sec: f64,
    #[serde(default)]
    pub latency_ns: Option<Latency>,
    #[serde(default)]
    pub note: String,
}

pub use instructions::{InstructionCount, Instructions};
pub use noise::{NoiseSummary, RunNoise};
pub use rounds::{headline_pairs, Figure, HeadlinePair, HeadlineRatio, Rounds, Side, BASELINE};

/// FNV-1a, 64 bits, as 16 hex digits: the hash of a scenario file's text
/// (a change detector for `compare`, not a cryptographic digest).
pub fn fnv1a64(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

/// Errors reading a results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a heaplab results file: {msg}")]
    Corrupt { path: String, msg: String },
    #[error(
        "{path}: field 'schema' is {found}; this heaplab reads results schemas \
         {oldest}..={expected} (a newer heaplab wrote it?)"
    )]
    Schema {
        path: String,
        found: u64,
        oldest: u32,
        expected: u32,
    },
    #[error("{path} is from a run that did not finish")]
    Incomplete { path: String },
}

impl Results {
    /// Reads and checks a results file (a path to `results.json` or to the
    /// directory holding it).
    pub fn load(path: &Path) -> Result<Results, ResultsError> {
        let file = if path.is_dir() {
            path.join("results.json")
        } else {
            path.to_path_buf()
        };
        let p = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|source| ResultsError::Io {
            path: p.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ResultsError::Corrupt {
                path: p.clone(),
                msg: e.to_string(),
            })?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_u64())
            .ok_or_else(|| ResultsError::Corrupt {
                path: p.clone(),
                msg: "no 'schema' number".into(),
            })?;
        if !(OLDEST_SCHEMA as u64..=SCHEMA_VERSION as u64).contains(&schema) {
            return Err(ResultsError::Schema {
                path: p,
                found: schema,
                oldest: OLDEST_SCHEMA,
                expected: SCHEMA_VERSION,
            });
        }
        let r: Results = serde_json::from_value(value).map_err(|e| ResultsError::Corrupt {
            path: p.clone(),
            msg: e.to_string(),
        })?;
        if !r.complete {
            return Err(ResultsError::Incomplete { path: p });
        }
        Ok(r)
    }

    /// Runs of one configuration across repeats.
    pub fn runs_of<'a>(
        &'a self,
        workload: &'a str,
        policy: &'a str,
        threads: usize,
    ) -> impl Iterator<Item = &'a Run> + 'a {
        self.runs
            .iter()
            .filter(move |r| r.workload == workload && r.policy == policy && r.threads == threads)
    }
}
