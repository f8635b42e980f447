//! `results.json`: the contract between the runner, the reports and `compare`.
//!
//! The runner writes one file per run; reports are rendered only from it,
//! never from live state, so any stored run can be re-rendered or compared
//! later. Bump [`SCHEMA_VERSION`] on any incompatible change: readers refuse
//! other versions with a clear error.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of this schema.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// The heap's memory limit in bytes (allocations past it raise
    /// MemoryError): `--max-heap`, or by default half of the machine's
    /// memory. `None` in files written before the limit was recorded, or
    /// where the machine's memory was unknown and no limit was given.
    #[serde(default)]
    pub max_heap_bytes: Option<u64>,
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
    /// Per generation (pool-walk mode has one: index 0).
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
    #[error("{path} has results schema {found}, this heaplab reads schema {expected}")]
    Schema {
        path: String,
        found: u64,
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
        if schema != SCHEMA_VERSION as u64 {
            return Err(ResultsError::Schema {
                path: p,
                found: schema,
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
