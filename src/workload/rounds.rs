//! Adaptive repetition: which configurations the next round runs.
//!
//! Every configuration runs the base rounds (`--repeat`, three by default:
//! the fewest a 95% interval needs). After them, a round runs only the
//! configurations of the headline ratios still *open*: those whose interval
//! is wider than `--precision` (or that have none yet), with the two sides of
//! each pair next to each other so that they share the machine's state. It
//! stops when no headline is open, at `--max-rounds`, or when the next round
//! would not fit in `--budget`.
//!
//! The intervals here are the reports' own (`results::confidence` on the
//! per-round ratios of ok runs), so a pair the runner closed is one the
//! report calls decided.

use crate::results::confidence::{self, Method};
use crate::results::{Figure, HeadlinePair, HeadlineRatio, Run, Side, Status};

/// How many rounds a suite may run, and when it may stop.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundPlan {
    /// Rounds every configuration runs.
    pub base: usize,
    /// The most rounds any configuration runs (at least `base`).
    pub max_rounds: usize,
    /// The ± precision in percent a headline interval must reach.
    pub precision_pct: f64,
    /// Seconds all rounds may take (`None`: no limit).
    pub budget_secs: Option<f64>,
}

impl RoundPlan {
    /// A fixed number of rounds, no adaptation (tests, `--quick`).
    pub fn fixed(rounds: usize) -> RoundPlan {
        RoundPlan {
            base: rounds,
            max_rounds: rounds,
            precision_pct: crate::results::DEFAULT_PRECISION_PCT,
            budget_secs: None,
        }
    }
}

/// Whether a run counts (the report's rule: failed, leaking or unverified
/// runs never do).
pub fn counts(run: &Run) -> bool {
    run.status == Status::Ok
        && run.leaked_blocks == 0
        && run.verified
        && run.ops_per_sec.is_finite()
        && run.ops_per_sec >= 0.0
}

fn of<'r>(runs: &'r [Run], workload: &'r str, side: &'r Side) -> impl Iterator<Item = &'r Run> {
    runs.iter().filter(move |r| {
        r.workload == workload && r.policy == side.policy && r.threads == side.threads && counts(r)
    })
}

fn figure(pair: &HeadlinePair, run: &Run) -> f64 {
    match pair.figure {
        Figure::Throughput => run.ops_per_sec,
        Figure::HeadlineP99 => run.headline_latency().p99.max(1) as f64,
    }
}

/// Whether a pair means anything for these runs: a scaling ratio between
/// runs with different roles (the convoy's sleeper alone at one thread)
/// compares different work, and is no headline.
pub fn comparable(runs: &[Run], pair: &HeadlinePair) -> bool {
    if pair.num.policy != pair.den.policy {
        return true;
    }
    let roles = |s: &Side| {
        of(runs, &pair.workload, s)
            .next()
            .map(|r| r.roles.keys().cloned().collect::<Vec<_>>())
    };
    match (roles(&pair.num), roles(&pair.den)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// The pair's ratio from the ok runs so far, paired by round.
pub fn estimate(runs: &[Run], pair: &HeadlinePair) -> HeadlineRatio {
    let samples = |s: &Side| -> Vec<(usize, f64)> {
        of(runs, &pair.workload, s)
            .map(|r| (r.repeat, figure(pair, r)))
            .collect()
    };
    let logs = confidence::paired_logs(&samples(&pair.num), &samples(&pair.den), pair.scale);
    let rounds = logs.len();
    let mean = if rounds > 0 {
        logs.iter().sum::<f64>() / rounds as f64
    } else {
        f64::NAN
    };
    match confidence::mean_interval(&logs) {
        Some(iv) => {
            let (low, high) = iv.bounds();
            HeadlineRatio {
                pair: pair.clone(),
                value: iv.ratio(),
                low: Some(low),
                high: Some(high),
                rounds,
                method: iv.method,
            }
        }
        None => HeadlineRatio {
            pair: pair.clone(),
            value: mean.exp(),
            low: None,
            high: None,
            rounds,
            method: if rounds > 0 {
                Method::TooFewRounds
            } else {
                Method::Unpaired
            },
        },
    }
}

/// The interval's ± as a share (infinite without an interval).
pub fn half_width(h: &HeadlineRatio) -> f64 {
    match (h.low, h.high) {
        (Some(lo), Some(hi)) => confidence::half_width(h.value, lo, hi),
        _ => f64::INFINITY,
    }
}

/// The headline pairs still open after the runs so far: wider than the
/// precision, not yet at `max_rounds` on both sides, and with an ok run on
/// each side (a configuration that only fails is not repeated for a ratio).
pub fn open<'p>(
    runs: &[Run],
    pairs: &'p [HeadlinePair],
    plan: &RoundPlan,
) -> Vec<(&'p HeadlinePair, f64)> {
    let ran = |w: &str, s: &Side| {
        runs.iter()
            .filter(|r| r.workload == w && r.policy == s.policy && r.threads == s.threads)
            .count()
    };
    // A side without a single ok run gets nothing from more rounds of it.
    let has_ok = |p: &HeadlinePair| {
        p.sides()
            .iter()
            .all(|s| of(runs, &p.workload, s).next().is_some())
    };
    pairs
        .iter()
        .filter(|p| comparable(runs, p) && has_ok(p))
        .filter(|p| {
            p.sides()
                .iter()
                .all(|s| ran(&p.workload, s) < plan.max_rounds)
        })
        .map(|p| (p, half_width(&estimate(runs, p))))
        .filter(|(_, h)| *h > plan.precision_pct / 100.0)
        .collect()
}

/// The configurations of the open pairs, each once, in the order of the
/// pairs (so that both sides of a pair run next to each other, and a
/// scenario's configurations together).
pub fn configurations_of(open: &[(&HeadlinePair, f64)]) -> Vec<(String, Side)> {
    let mut out: Vec<(String, Side)> = Vec::new();
    for (p, _) in open {
        for s in p.sides() {
            let key = (p.workload.clone(), s.clone());
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::headline_pairs;

    fn run(workload: &str, policy: &str, threads: usize, round: usize, tput: f64) -> Run {
        serde_json::from_value(serde_json::json!({
            "workload": workload, "policy": policy, "threads": threads, "repeat": round,
            "status": "ok", "ops": 1, "seconds": 1.0, "ops_per_sec": tput,
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
        .unwrap()
    }

    #[test]
    fn rounds_go_only_to_pairs_still_open() {
        let pols = vec!["gil".to_string(), "biased".to_string()];
        let pairs = headline_pairs("w", &pols, &[1], None);
        assert_eq!(pairs.len(), 1, "biased over gil at 1 thread");
        let plan = RoundPlan {
            base: 3,
            max_rounds: 6,
            precision_pct: 5.0,
            budget_secs: None,
        };
        // Two rounds: no interval yet, so open.
        let mut runs = vec![];
        for (round, ratio) in [0.95, 0.96].iter().enumerate() {
            runs.push(run("w", "gil", 1, round, 1e6));
            runs.push(run("w", "biased", 1, round, 1e6 * ratio));
        }
        let o = open(&runs, &pairs, &plan);
        assert_eq!(o.len(), 1);
        assert!(o[0].1.is_infinite());
        let cfgs = configurations_of(&o);
        assert_eq!(cfgs.len(), 2, "both sides, once each");
        // A third round in agreement closes it (±5%).
        runs.push(run("w", "gil", 1, 2, 1e6));
        runs.push(run("w", "biased", 1, 2, 0.955e6));
        assert!(open(&runs, &pairs, &plan).is_empty());
        let e = estimate(&runs, &pairs[0]);
        assert_eq!((e.rounds, e.method), (3, Method::PairedTLog));
        // A wild third round keeps it open, until max_rounds.
        runs.pop();
        runs.push(run("w", "biased", 1, 2, 1.3e6));
        assert_eq!(open(&runs, &pairs, &plan).len(), 1);
        for round in 3..6 {
            runs.push(run("w", "gil", 1, round, 1e6));
            runs.push(run("w", "biased", 1, round, 1.3e6));
        }
        assert!(open(&runs, &pairs, &plan).is_empty(), "max rounds reached");
    }

    #[test]
    fn failed_runs_do_not_count_and_scaling_across_roles_is_no_headline() {
        let mut bad = run("w", "gil", 1, 0, 1e6);
        bad.status = Status::Failed;
        assert!(!counts(&bad));
        let mut leaked = run("w", "gil", 1, 0, 1e6);
        leaked.leaked_blocks = 1;
        assert!(!counts(&leaked));
        let pols = vec!["gil".to_string()];
        let pairs = headline_pairs("c", &pols, &[1, 2], Some("sleeper"));
        let scaling = &pairs[0];
        let mut one = run("c", "gil", 1, 0, 1.0);
        let mut two = run("c", "gil", 2, 0, 1.0);
        one.roles.insert("sleeper".into(), Default::default());
        two.roles.insert("sleeper".into(), Default::default());
        two.roles.insert("worker".into(), Default::default());
        assert!(!comparable(&[one.clone(), two], scaling));
        assert!(comparable(&[one.clone(), one], scaling));
        // A pair whose side only fails is not open, however wide.
        let pairs = headline_pairs("w", &["gil".into(), "biased".into()], &[1], None);
        let runs = vec![run("w", "gil", 1, 0, 1e6), bad];
        let plan = RoundPlan::fixed(3);
        assert!(open(
            &runs,
            &pairs,
            &RoundPlan {
                max_rounds: 9,
                ..plan
            }
        )
        .is_empty());
    }
}
