//! "The field's results, reproduced": findings that hold the run up against
//! what the literature and CPython's own measurements report, each with the
//! figure it rests on and the target the lab set itself.
//!
//! 1. Biased reference counting end to end (Choi, Shull, Torrellas, PACT
//!    2018): `biased` over `pool-locks` at one thread on thread-private work.
//! 2. The single-thread cost of removing the GIL (PEP 703: 5-6%): `biased`
//!    over `gil` at one thread, per scenario (target: within 3% on
//!    thread-private scenarios).
//! 3. Scaling of thread-private work (the nogil fork's `fib`): `biased`
//!    2-thread efficiency on `alloc-churn` and `binary-trees` (target 95%);
//!    `gil` at or below 1x without collapsing (at least 0.9x).
//! 4. The convoy effect (Beazley 2010): the sleeper's p99 wake-up latency
//!    under `gil` (expect the switch interval) vs `biased`, beside CPython.
//! 5. Reference-count contention on shared objects, and the immortal cure
//!    (PEP 683): `shared-read` vs `shared-read-immortal` scaling.
//! 8. CPython in the same run: `binary-trees` nodes/s over the python3 peer.
//! 9. Free-threaded CPython's read path (`list_get_item_ref`): `biased`
//!    (optimistic list reads) over `biased+locked-reads` on `list-mutation`
//!    and `shared-read` at 1 and 2 threads, when `run --list-reads
//!    locked,optimistic` ran both.
//!
//! (Items 6 and 7, allocators and instruction counts, come from the benches
//! and callgrind: see the README.)

use super::doc::code;
use super::estimate::Ratio;
use super::finding::{target, verdict, versus, Finding, Question, FASTER, HIGHER};
use super::format;
use super::stats::{Scenario, Summary};

const PRIVATE: &[&str] = &["alloc-churn", "binary-trees"];

/// A finding of this file: the claim is the topic (the table's first
/// column), the rest as in every finding.
fn claim(topic: &str, sc: &str, threads: usize) -> Finding {
    Finding {
        question: Question::Field,
        topic: topic.into(),
        workload: Some(sc.into()),
        threads: Some(threads),
        ..Default::default()
    }
}

fn private(sc: &Scenario) -> bool {
    PRIVATE.contains(&sc.name.as_str())
}

/// "x vs y ops/s" for two configurations.
fn tputs(sc: &Scenario, a: (&str, usize), b: (&str, usize)) -> String {
    let t = |(p, n): (&str, usize)| sc.tput(p, n).unwrap_or(f64::NAN);
    versus(t(a), t(b), format::si, "ops/s")
}

/// 1. Biased reference counting, end to end.
pub fn biased_rc_end_to_end(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in s.scenarios.iter().filter(|sc| private(sc)) {
        if let Some(r) = sc.tput_ratio(("biased", 1), ("pool-locks", 1)) {
            out.push(
                Finding {
                    subject: format!(
                        "{} over {} (atomic counts)",
                        code("biased"),
                        code("pool-locks")
                    ),
                    measured: format::times(&r),
                    basis: tputs(sc, ("biased", 1), ("pool-locks", 1)),
                    verdict: verdict(&r, sc.precision, FASTER),
                    ratio: Some(r.value),
                    ..claim(
                        "Biased RC end to end (PACT 2018: +22.5% on client programs)",
                        &sc.name,
                        1,
                    )
                }
                .done(),
            );
        }
    }
    out
}

/// 2. The single-thread cost of removing the GIL.
pub fn single_thread_cost(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in &s.scenarios {
        if let Some(r) = sc.speedup("biased", 1) {
            let verdict = if private(sc) {
                format!(
                    "thread-private: {}",
                    target("within 3%", &r, 0.97, f64::INFINITY)
                )
            } else {
                verdict(&r, sc.precision, FASTER)
            };
            out.push(
                Finding {
                    subject: format!("{} over {}", code("biased"), code("gil")),
                    measured: format::times(&r),
                    basis: tputs(sc, ("biased", 1), ("gil", 1)),
                    verdict,
                    ratio: Some(r.value),
                    ..claim("Single-thread cost of no GIL (PEP 703: 5-6%)", &sc.name, 1)
                }
                .done(),
            );
        }
    }
    out
}

const SCALING: &str = "Private work scales (nogil: 20 threads ~ 1)";

/// 3. Scaling of thread-private work.
pub fn private_scaling(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in s.scenarios.iter().filter(|sc| private(sc)) {
        if let Some(e) = sc.efficiency("biased", 2) {
            out.push(
                Finding {
                    subject: format!("{} 2-thread scaling efficiency", code("biased")),
                    measured: format::estimate(&e, format::pct),
                    basis: tputs(sc, ("biased", 2), ("biased", 1)),
                    verdict: target("95%", &e, 0.95, f64::INFINITY),
                    ratio: Some(e.value),
                    ..claim(SCALING, &sc.name, 2)
                }
                .done(),
            );
        }
        if let Some(r) = sc.tput_ratio(("gil", 2), ("gil", 1)) {
            out.push(
                Finding {
                    subject: format!("{} 2 threads over 1", code("gil")),
                    measured: format::times(&r),
                    basis: tputs(sc, ("gil", 2), ("gil", 1)),
                    verdict: target("at most 1x and at least 0.9x", &r, 0.9, 1.05),
                    ratio: Some(r.value),
                    ..claim(SCALING, &sc.name, 2)
                }
                .done(),
            );
        }
    }
    out
}

/// 4. The convoy effect.
pub fn convoy(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(sc) = s.scenarios.iter().find(|sc| sc.name == "convoy") else {
        return out;
    };
    for t in sc.threads.iter().copied().filter(|&t| t > 1) {
        let p99 = |p: &str| sc.config(p, t).and_then(|c| c.p99()).map(|x| x.median);
        let (Some(g), Some(b)) = (p99("gil"), p99("biased")) else {
            continue;
        };
        // A p99 of 0 (nothing sampled) counts as 1 ns, so the ratio stays
        // finite.
        let Some(r) = sc.ratio(("gil", t), ("biased", t), 1.0, |run| {
            sc.headline_latency(run).p99.max(1) as f64
        }) else {
            continue;
        };
        let py = s
            .results
            .python
            .iter()
            .find(|p| p.workload == "convoy" && p.threads == t)
            .and_then(|p| p.latency_ns.as_ref())
            .map(|l| format!("; CPython in the same run: {}", format::ns(l.p99 as f64)))
            .unwrap_or_default();
        out.push(
            Finding {
                subject: format!(
                    "sleeper p99 wake-up beside {} CPU-bound thread(s), {} over {}",
                    t - 1,
                    code("gil"),
                    code("biased")
                ),
                measured: format::times(&r),
                basis: format!("{}{py}", versus(g, b, format::ns, "")),
                verdict: verdict(&r, sc.precision, HIGHER),
                ratio: Some(r.value),
                ..claim("The convoy effect (Beazley 2010)", "convoy", t)
            }
            .done(),
        );
    }
    out
}

/// 5. Shared-object contention, and immortal objects as the cure.
pub fn shared_contention(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for name in ["shared-read", "shared-read-immortal"] {
        let Some(sc) = s.scenarios.iter().find(|sc| sc.name == name) else {
            continue;
        };
        for p in ["biased", "pool-locks"] {
            if let Some(r) = sc.tput_ratio((p, 2), (p, 1)) {
                let verdict = if name == "shared-read-immortal" && p == "biased" {
                    target("1.9x", &r, 1.9, f64::INFINITY)
                } else {
                    String::new()
                };
                out.push(
                    Finding {
                        subject: format!("{} 2 threads over 1", code(p)),
                        measured: format::times(&r),
                        basis: tputs(sc, (p, 2), (p, 1)),
                        verdict,
                        ratio: Some(r.value),
                        ..claim(
                            "Refcount contention on shared objects (PEP 683 cure)",
                            name,
                            2,
                        )
                    }
                    .done(),
                );
            }
        }
    }
    out
}

/// 8. CPython in the same run.
pub fn cpython_peer(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(sc) = s.scenarios.iter().find(|sc| sc.name == "binary-trees") else {
        return out;
    };
    for peer in s
        .results
        .python
        .iter()
        .filter(|p| p.workload == "binary-trees" && p.ops_per_sec > 0.0)
    {
        for pol in ["gil", "biased"] {
            if let Some(t) = sc.tput(pol, peer.threads) {
                // One measurement of the peer: a point, not a paired ratio.
                let r = Ratio::point(t / peer.ops_per_sec);
                out.push(
                    Finding {
                        subject: format!(
                            "{} nodes/s over {}",
                            code(pol),
                            super::doc::esc(&peer.python)
                        ),
                        measured: format::times(&r),
                        basis: versus(t, peer.ops_per_sec, format::si, "nodes/s"),
                        ratio: Some(r.value),
                        ..claim("CPython in the same run", "binary-trees", peer.threads)
                    }
                    .done(),
                );
            }
        }
    }
    out
}

/// The scenarios whose list reads the read-path comparison weighs.
const READ_PATH: &[&str] = &["list-mutation", "shared-read"];

/// 9. Optimistic against locked list reads, where the run has both.
pub fn read_path(s: &Summary) -> Vec<Finding> {
    let (opt, locked) = ("biased", "biased+locked-reads");
    let mut out = Vec::new();
    for sc in s
        .scenarios
        .iter()
        .filter(|sc| READ_PATH.contains(&sc.name.as_str()))
    {
        for t in [1, 2] {
            if let Some(r) = sc.tput_ratio((opt, t), (locked, t)) {
                out.push(
                    Finding {
                        subject: format!("{} (optimistic reads) over {}", code(opt), code(locked)),
                        measured: format::times(&r),
                        basis: tputs(sc, (opt, t), (locked, t)),
                        verdict: verdict(&r, sc.precision, FASTER),
                        ratio: Some(r.value),
                        ..claim(
                            "Lock-free list reads (CPython 3.13t's list_get_item_ref)",
                            &sc.name,
                            t,
                        )
                    }
                    .done(),
                );
            }
        }
    }
    out
}
