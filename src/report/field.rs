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
//!
//! (Items 6 and 7, allocators and instruction counts, come from the benches
//! and callgrind: see the README.)

use super::doc::code;
use super::findings::Finding;
use super::format;
use super::stats::Summary;

const PRIVATE: &[&str] = &["alloc-churn", "binary-trees"];

fn finding(topic: &str, workload: Option<&str>, text: String, ratio: Option<f64>) -> Finding {
    Finding {
        topic: topic.into(),
        workload: workload.map(String::from),
        text,
        ratio,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "target met"
    } else {
        "target missed"
    }
}

/// 1. Biased reference counting, end to end.
pub fn biased_rc_end_to_end(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in s
        .scenarios
        .iter()
        .filter(|sc| PRIVATE.contains(&sc.name.as_str()))
    {
        if let (Some(b), Some(p)) = (sc.tput("biased", 1), sc.tput("pool-locks", 1)) {
            if p > 0.0 {
                let r = b / p;
                out.push(finding(
                    "Field 1, biased RC (PACT 2018: +22.5% client programs)",
                    Some(&sc.name),
                    format!(
                        "{}: `biased` over `pool-locks` (atomic counts) at 1 thread: {}",
                        code(&sc.name),
                        format::ratio(r)
                    ),
                    Some(r),
                ));
            }
        }
    }
    out
}

/// 2. The single-thread cost of removing the GIL.
pub fn single_thread_cost(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in &s.scenarios {
        if let (Some(b), Some(g)) = (sc.tput("biased", 1), sc.tput("gil", 1)) {
            if g > 0.0 {
                let r = b / g;
                let private = PRIVATE.contains(&sc.name.as_str());
                let target = if private {
                    format!(
                        " (thread-private: target within 3%, {})",
                        verdict(r >= 0.97)
                    )
                } else {
                    String::new()
                };
                out.push(finding(
                    "Field 2, single-thread cost of no GIL (PEP 703: 5-6%)",
                    Some(&sc.name),
                    format!(
                        "{}: `biased` over `gil` at 1 thread: {}{target}",
                        code(&sc.name),
                        format::ratio(r)
                    ),
                    Some(r),
                ));
            }
        }
    }
    out
}

/// 3. Scaling of thread-private work.
pub fn private_scaling(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in s
        .scenarios
        .iter()
        .filter(|sc| PRIVATE.contains(&sc.name.as_str()))
    {
        if let Some(e) = sc.efficiency("biased", 2) {
            out.push(finding(
                "Field 3, scaling of private work (nogil: 20 threads ~ 1)",
                Some(&sc.name),
                format!(
                    "{}: `biased` 2-thread efficiency {} (target 95%, {})",
                    code(&sc.name),
                    format::pct(e),
                    verdict(e >= 0.95)
                ),
                Some(e),
            ));
        }
        if let (Some(g2), Some(g1)) = (sc.tput("gil", 2), sc.tput("gil", 1)) {
            if g1 > 0.0 {
                let r = g2 / g1;
                out.push(finding(
                    "Field 3, scaling of private work (nogil: 20 threads ~ 1)",
                    Some(&sc.name),
                    format!(
                        "{}: `gil` 2 threads over 1: {} (target: at most 1x and at least 0.9x, {})",
                        code(&sc.name),
                        format::ratio(r),
                        verdict((0.9..=1.05).contains(&r))
                    ),
                    Some(r),
                ));
            }
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
        let py = s
            .results
            .python
            .iter()
            .find(|p| p.workload == "convoy" && p.threads == t)
            .and_then(|p| p.latency_ns.as_ref())
            .map(|l| {
                format!(
                    "; CPython {} in the same run: {}",
                    "python3",
                    format::ns(l.p99 as f64)
                )
            })
            .unwrap_or_default();
        out.push(finding(
            "Field 4, the convoy effect (Beazley 2010)",
            Some("convoy"),
            format!(
                "beside {} CPU-bound thread(s): sleeper p99 wake-up `gil` {} vs `biased` {} ({} lower without the GIL){py}",
                t - 1,
                format::ns(g),
                format::ns(b),
                format::ratio(g / b.max(1.0))
            ),
            Some(g / b.max(1.0)),
        ));
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
            if let (Some(t2), Some(t1)) = (sc.tput(p, 2), sc.tput(p, 1)) {
                if t1 > 0.0 {
                    let r = t2 / t1;
                    let target = if name == "shared-read-immortal" && p == "biased" {
                        format!(" (target 1.9x, {})", verdict(r >= 1.9))
                    } else {
                        String::new()
                    };
                    out.push(finding(
                        "Field 5, refcount contention on shared objects (PEP 683 cure)",
                        Some(name),
                        format!(
                            "{}: `{p}` 2 threads over 1: {}{target}",
                            code(name),
                            format::ratio(r)
                        ),
                        Some(r),
                    ));
                }
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
                let r = t / peer.ops_per_sec;
                out.push(finding(
                    "Field 8, CPython in the same run",
                    Some("binary-trees"),
                    format!(
                        "{} at {} thread(s): `{pol}` {} nodes/s vs {} {} nodes/s: {}",
                        code("binary-trees"),
                        peer.threads,
                        format::si(t),
                        peer.python,
                        format::si(peer.ops_per_sec),
                        format::ratio(r)
                    ),
                    Some(r),
                ));
            }
        }
    }
    out
}
