//! How noisy a run was: the verdict on the machine that opens the report.
//!
//! Each configuration run records the CPU time its workers got beside their
//! wall time, the steal time and the context switches (`runner`); the suite
//! reads the load average before the first round and after the last. Here
//! they become one [`NoiseSummary`]: quiet, or busy and why.

use crate::results::{NoiseSummary, Run, Status};

/// Steal above which the hypervisor is taking a visible share of the run.
const MAX_QUIET_STEAL: f64 = 0.02;

/// Load average per core above which other processes wanted our cores
/// before we started.
const MAX_QUIET_LOAD_PER_CORE: f64 = 0.5;

/// CPU share below which a single-thread worker was kept off its core.
const MIN_QUIET_CPU_SHARE: f64 = 0.9;

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The run's noise in one verdict.
pub fn summarize(
    runs: &[Run],
    cores: usize,
    load_start: Option<f64>,
    load_end: Option<f64>,
    steal_ratio: f64,
) -> NoiseSummary {
    let ok = || runs.iter().filter(|r| r.status == Status::Ok);
    // Single-thread runs without roles: one worker that should own a core
    // (a sleeper or a consumer waits by design, so roles are left out).
    let one_thread_cpu_share = median(
        ok().filter(|r| r.threads == 1 && r.roles.is_empty())
            .filter_map(|r| r.noise.as_ref().and_then(|n| n.cpu_share()))
            .collect(),
    );
    let preemptions_per_sec = median(
        ok().filter(|r| r.seconds > 0.0)
            .filter_map(|r| {
                r.noise
                    .as_ref()
                    .map(|n| n.involuntary_switches as f64 / r.seconds)
            })
            .collect(),
    );
    let mut why = Vec::new();
    if steal_ratio > MAX_QUIET_STEAL {
        why.push(format!(
            "the hypervisor stole {:.1}% of CPU time",
            steal_ratio * 100.0
        ));
    }
    if let Some(load) = load_start {
        if load > MAX_QUIET_LOAD_PER_CORE * cores.max(1) as f64 {
            why.push(format!(
                "load average {load:.1} on {cores} cores before the first round (other \
                 processes wanted the cores)"
            ));
        }
    }
    if let Some(share) = one_thread_cpu_share {
        if share < MIN_QUIET_CPU_SHARE {
            why.push(format!(
                "single-thread workers got {:.0}% of a core (median)",
                share * 100.0
            ));
        }
    }
    NoiseSummary {
        quiet: why.is_empty(),
        why,
        load_average_start: load_start.unwrap_or(0.0),
        load_average_end: load_end.unwrap_or(0.0),
        one_thread_cpu_share,
        preemptions_per_sec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunNoise;

    fn run(threads: usize, cpu: f64, wall: f64) -> Run {
        let mut r: Run = serde_json::from_value(serde_json::json!({
            "workload": "w", "policy": "gil", "threads": threads, "repeat": 0,
            "status": "ok", "ops": 1, "seconds": 1.0, "ops_per_sec": 1.0,
            "latency_ns": {"p50": 1, "p90": 1, "p99": 1, "p999": 1, "max": 1, "mean": 1.0,
                           "samples": 1, "sample_every": 1, "distribution": []},
            "gc": {"collections": 0, "collections_by_generation": [0, 0, 0], "examined": 0,
                   "collected": 0, "resurrected": 0,
                   "pause_ns": {"count": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "total": 0}},
            "memory": {"peak_rss_bytes": 0, "arenas_high_water": 0, "bytes_in_use_peak": 0,
                       "bytes_reserved_peak": 0, "header_bytes": 16},
            "refcount": {"local_ops": 0, "atomic_ops": 0},
            "gc_mode": "pool-walk", "leaked_blocks": 0, "verified": true
        }))
        .unwrap();
        r.noise = Some(RunNoise {
            thread_cpu_secs: vec![cpu; threads],
            thread_wall_secs: vec![wall; threads],
            involuntary_switches: 30,
            ..Default::default()
        });
        r
    }

    #[test]
    fn a_quiet_machine_and_a_busy_one() {
        let quiet = summarize(
            &[run(1, 0.98, 1.0), run(2, 0.9, 1.0)],
            2,
            Some(0.2),
            None,
            0.0,
        );
        assert!(quiet.quiet, "{:?}", quiet.why);
        assert_eq!(quiet.one_thread_cpu_share, Some(0.98));
        assert_eq!(quiet.preemptions_per_sec, Some(30.0));
        let busy = summarize(&[run(1, 0.6, 1.0)], 2, Some(5.9), Some(6.1), 0.03);
        assert!(!busy.quiet);
        assert_eq!(busy.why.len(), 3, "{:?}", busy.why);
        assert!(busy.why[1].contains("load average 5.9 on 2 cores"));
        assert!(busy.why[2].contains("60% of a core"));
    }
}
