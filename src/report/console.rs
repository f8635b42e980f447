//! The console's view of a run: the summary table `heaplab run` prints at
//! its end, one line per failed configuration (for stderr), and a digest in
//! JSON for scripts (`heaplab run --json`).
//!
//! All three are built on the report's own [`Summary`] and number formats:
//! which runs count is decided once, by `stats::failure` (a run that leaked
//! or failed the verifier never counts, whatever its status says), and a
//! figure reads the same here as in `report.md` ("1.82 M", "1.92x").

use super::estimate::Ratio;
use super::format::{ns, si, times};
use super::stats::{Config, Scenario, Summary};
use crate::results::Results;
use serde_json::{json, Value};
use std::fmt::Write;

/// Width of one thread-count column of the summary table.
const CELL: usize = 30;

/// The table `heaplab run` ends with: per scenario, each policy's median
/// throughput at each thread count, with its scaling over the smallest
/// thread count, and the headline role's p99 where the scenario has one.
pub fn summary(results: &Results) -> String {
    let summary = Summary::new(results);
    let mut out = String::new();
    out.push_str(
        "Median throughput (ops/s) and scaling (N threads over the fewest, per round, with its \
         95% interval from 3 rounds on):\n",
    );
    for sc in &summary.scenarios {
        let description = sc.info.map(|i| i.description.as_str()).unwrap_or("");
        let _ = writeln!(out, "\n  {} — {}", sc.name, description);
        let _ = write!(out, "    {:<12}", "policy");
        for t in &sc.threads {
            let _ = write!(out, " {:>CELL$}", format!("{t} thr"));
        }
        out.push('\n');
        for p in &sc.policies {
            let _ = write!(out, "    {p:<12}");
            for &t in &sc.threads {
                let _ = write!(out, " {:>CELL$}", cell(sc, p, t));
            }
            if let (Some(role), Some(t)) = (&sc.headline_role, sc.largest_ok_threads()) {
                if let Some(p99) = sc.config(p, t).and_then(|c| c.latency(|l| l.p99)) {
                    let _ = write!(out, "   {role} p99 {} at {t} thr", ns(p99));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// One cell: the median throughput and the scaling ratio, `FAILED` where
/// every repeat failed, `—` where the configuration did not run.
fn cell(sc: &Scenario<'_>, policy: &str, threads: usize) -> String {
    let Some(config) = sc.config(policy, threads) else {
        return "—".into();
    };
    let Some(tput) = config.throughput() else {
        return "FAILED".into();
    };
    match scaling(sc, policy, threads) {
        Some(x) => format!("{} {}", si(tput.median), times(&x)),
        None => si(tput.median),
    }
}

/// Throughput at `threads` over throughput at the fewest threads that ran,
/// paired by round like every ratio, where the report quotes a scaling
/// efficiency (runs with different roles, such as the convoy's sleeper
/// alone at 1 thread, get no ratio here either).
fn scaling(sc: &Scenario<'_>, policy: &str, threads: usize) -> Option<Ratio> {
    let base = sc.scaling_base(policy)?;
    if base == threads {
        return None;
    }
    sc.efficiency(policy, threads)?;
    sc.tput_ratio((policy, threads), (policy, base))
}

/// One line per configuration with a failed repeat, with its reasons.
pub fn failures(results: &Results) -> Vec<String> {
    let summary = Summary::new(results);
    let mut lines = Vec::new();
    for sc in &summary.scenarios {
        for c in sc.configs.iter().filter(|c| !c.failed.is_empty()) {
            lines.push(format!(
                "FAILED {} {} x{}: {} of {} repeats: {}",
                sc.name,
                c.policy,
                c.threads,
                c.failed.len(),
                c.total(),
                reasons(c).join(" | ")
            ));
        }
    }
    lines
}

/// The distinct reasons of a configuration's failed repeats, in order.
fn reasons<'c>(c: &'c Config<'_>) -> Vec<&'c str> {
    let mut v: Vec<&str> = Vec::new();
    for (_, why) in &c.failed {
        if !v.contains(&why.as_str()) {
            v.push(why);
        }
    }
    v
}

/// The digest `heaplab run --json` prints: one entry per configuration with
/// the figures of the summary table (medians over the repeats that count)
/// and the reasons of the repeats that failed.
pub fn digest(results: &Results) -> Value {
    let summary = Summary::new(results);
    let mut configurations = Vec::new();
    let mut failed = 0;
    for sc in &summary.scenarios {
        for c in &sc.configs {
            failed += usize::from(!c.failed.is_empty());
            let tput = c.throughput();
            configurations.push(json!({
                "workload": sc.name,
                "policy": c.policy,
                "threads": c.threads,
                "repeats": c.total(),
                "ok": c.ok.len(),
                "ops_per_sec": tput.map(|t| t.median),
                "ops_per_sec_min": tput.map(|t| t.min),
                "ops_per_sec_max": tput.map(|t| t.max),
                "scaling": scaling(sc, &c.policy, c.threads).map(|r| r.value),
                "scaling_interval": scaling(sc, &c.policy, c.threads).and_then(|r| r.interval),
                "speedup_over_baseline": sc.speedup(&c.policy, c.threads).map(|r| r.value),
                "speedup_interval": sc.speedup(&c.policy, c.threads).and_then(|r| r.interval),
                "headline_role": sc.headline_role,
                "p99_ns": c.latency(|l| l.p99),
                "failures": reasons(c),
            }));
        }
    }
    json!({
        "complete": results.complete,
        "baseline": super::stats::BASELINE,
        "configurations": configurations,
        "failed_configurations": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Run, Status, WorkloadInfo};

    fn run(policy: &str, threads: usize, repeat: usize, ops_per_sec: f64) -> Run {
        Run {
            workload: "churn".into(),
            policy: policy.into(),
            threads,
            repeat,
            status: Status::Ok,
            error: None,
            ops: ops_per_sec as u64,
            seconds: 1.0,
            ops_per_sec,
            latency_ns: Default::default(),
            roles: Default::default(),
            headline_role: None,
            gil: None,
            gc: Default::default(),
            memory: Default::default(),
            refcount: Default::default(),
            gc_mode: "pool-walk".into(),
            leaked_blocks: 0,
            verified: true,
            output: Vec::new(),
            latency_histogram: None,
            noise: None,
        }
    }

    fn results(runs: Vec<Run>) -> Results {
        Results {
            schema: crate::results::SCHEMA_VERSION,
            machine: Default::default(),
            heaplab: Default::default(),
            started: String::new(),
            finished: String::new(),
            complete: true,
            settings: crate::results::Settings {
                policies: vec!["gil".into(), "biased".into()],
                workloads: vec!["churn".into()],
                threads: vec![1, 2],
                repeats: 2,
                ..Default::default()
            },
            floors: Default::default(),
            steal_ratio: 0.0,
            workloads: vec![WorkloadInfo {
                name: "churn".into(),
                description: "a test".into(),
                ..Default::default()
            }],
            runs,
            python: Vec::new(),
            notes: Vec::new(),
            rounds: None,
            noise: None,
            instructions: None,
        }
    }

    #[test]
    fn the_summary_counts_only_what_the_reports_count_and_formats_as_they_do() {
        // A stored file whose status says ok but which leaked: the design's
        // rule (stats::failure) says it is failed, never a number.
        let mut leaked = run("biased", 2, 1, 9.9e9);
        leaked.leaked_blocks = 3;
        let r = results(vec![
            run("gil", 1, 0, 1.0e6),
            run("gil", 1, 1, 1.0e6),
            run("gil", 2, 0, 1.5e6),
            run("gil", 2, 1, 1.5e6),
            run("biased", 1, 0, 0.9e6),
            run("biased", 1, 1, 0.9e6),
            run("biased", 2, 0, 1.64e6),
            leaked,
        ]);
        let text = summary(&r);
        assert!(text.contains("1.64 M 1.82x"), "{text}");
        assert!(text.contains("1.50 M 1.50x"), "{text}");
        assert!(
            !text.contains("9.9"),
            "the leaking repeat counts nowhere: {text}"
        );
        let lines = failures(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("FAILED churn biased x2: 1 of 2 repeats: leaked 3 blocks"),
            "{lines:?}"
        );
        let d = digest(&r);
        assert_eq!(d["failed_configurations"], 1);
        let biased2 = d["configurations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["policy"] == "biased" && c["threads"] == 2)
            .unwrap();
        assert_eq!(biased2["ops_per_sec"], 1.64e6);
        assert_eq!(biased2["ok"], 1);
        assert_eq!(biased2["repeats"], 2);
    }

    #[test]
    fn a_configuration_with_no_repeat_that_counts_reads_failed() {
        let mut a = run("gil", 1, 0, 1.0e6);
        a.status = Status::Failed;
        a.error = Some("MemoryError: cannot reserve 1048576 bytes".into());
        let mut b = a.clone();
        b.repeat = 1;
        let r = results(vec![a, b, run("biased", 1, 0, 2.0e6)]);
        let text = summary(&r);
        assert!(text.contains("FAILED"), "{text}");
        assert_eq!(
            failures(&r),
            vec!["FAILED churn gil x1: 2 of 2 repeats: MemoryError: cannot reserve 1048576 bytes"]
        );
    }
}
