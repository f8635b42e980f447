//! "Findings": short statements drawn from the numbers, each with its ratio,
//! at the top of every report.
//!
//! Each kind of finding is one small function from the [`Summary`] to the
//! findings it supports, listed in [`FINDERS`]. To add one (for example "the
//! field's published results reproduced"), write another such function and
//! append it to the list: the renderers need no change.

use super::doc::code;
use super::format;
use super::stats::{Config, Scenario, Summary, BASELINE};

/// One statement of the "Findings" section.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What kind of finding (the bold lead-in of the line).
    pub topic: String,
    /// The scenario it is about, if one.
    pub workload: Option<String>,
    /// The statement, as inline text (`code` and **strong** markup).
    pub text: String,
    /// The ratio it rests on, for tools that rank or filter findings.
    pub ratio: Option<f64>,
}

/// A source of findings.
pub type Finder = fn(&Summary) -> Vec<Finding>;

/// Every finder, in the order the report lists them.
pub const FINDERS: &[Finder] = &[
    winners,
    biggest_speedup,
    biggest_slowdown,
    worst_scaling,
    biggest_p99_gap,
    biggest_rss_gap,
    most_reserved_over_in_use,
    failures,
    single_repeat_caveat,
    super::field::biased_rc_end_to_end,
    super::field::single_thread_cost,
    super::field::private_scaling,
    super::field::convoy,
    super::field::shared_contention,
    super::field::cpython_peer,
];

/// All findings of a summary.
pub fn findings(s: &Summary) -> Vec<Finding> {
    FINDERS.iter().flat_map(|f| f(s)).collect()
}

fn threads_word(t: usize) -> String {
    if t == 1 {
        "1 thread".into()
    } else {
        format!("{t} threads")
    }
}

/// Policies ranked by median throughput at one thread count, best first.
fn ranked<'s>(sc: &'s Scenario, threads: usize) -> Vec<(&'s str, f64)> {
    let mut v: Vec<(&str, f64)> = sc
        .policies
        .iter()
        .filter_map(|p| sc.tput(p, threads).map(|t| (p.as_str(), t)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

/// The larger relative range of two configurations' throughput: a lead
/// smaller than this is a tie, and the finding says so.
fn noise(sc: &Scenario, a: &str, b: &str, threads: usize) -> Option<f64> {
    let r = |p: &str| {
        sc.config(p, threads)
            .and_then(|c| c.throughput())
            .and_then(|t| t.rel_range())
    };
    match (r(a), r(b)) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// "at N threads: `p` leads with ..." and the lead's ratio over the
/// runner-up, if there is one.
fn winner_at(sc: &Scenario, threads: usize) -> Option<(String, Option<f64>)> {
    let r = ranked(sc, threads);
    let (wp, wt) = *r.first()?;
    Some(match r.get(1) {
        Some(&(rp, rt)) => {
            let ratio = if rt > 0.0 { wt / rt } else { f64::INFINITY };
            let tie = match noise(sc, wp, rp, threads) {
                Some(n) if ratio - 1.0 <= n => {
                    format!(", within the repeats' spread ({}): a tie", format::pct(n))
                }
                _ => String::new(),
            };
            (
                format!(
                    "at {}: {} leads with {} ops/s, {} the runner-up {} ({} ops/s){tie}",
                    threads_word(threads),
                    code(wp),
                    format::si(wt),
                    format::ratio(ratio),
                    code(rp),
                    format::si(rt)
                ),
                Some(ratio),
            )
        }
        None => (
            format!(
                "at {}: only {} has an ok run ({} ops/s)",
                threads_word(threads),
                code(wp),
                format::si(wt)
            ),
            None,
        ),
    })
}

/// Highest median throughput at the largest thread count and at 1 thread,
/// one line per scenario (the ratio is the lead at the largest count).
pub fn winners(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in &s.scenarios {
        let (Some(hi), Some(lo)) = (sc.largest_ok_threads(), sc.smallest_ok_threads()) else {
            continue;
        };
        let Some((mut text, ratio)) = winner_at(sc, hi) else {
            continue;
        };
        if lo != hi {
            if let Some((low, _)) = winner_at(sc, lo) {
                text = format!("{text}; {low}");
            }
        }
        out.push(Finding {
            topic: "Winner".into(),
            workload: Some(sc.name.clone()),
            text: format!("{} {text}", code(&sc.name)),
            ratio,
        });
    }
    out
}

/// Every (scenario, policy, threads) with its speed-up over the baseline.
fn speedups<'s>(s: &'s Summary) -> Vec<(&'s Scenario<'s>, &'s str, usize, f64)> {
    let mut v = Vec::new();
    for sc in &s.scenarios {
        for c in &sc.configs {
            if c.policy == BASELINE {
                continue;
            }
            if let Some(r) = sc.speedup(&c.policy, c.threads) {
                v.push((sc, c.policy.as_str(), c.threads, r));
            }
        }
    }
    v
}

fn speedup_finding(topic: &str, e: (&Scenario, &str, usize, f64)) -> Finding {
    let (sc, p, t, r) = e;
    Finding {
        topic: topic.into(),
        workload: Some(sc.name.clone()),
        text: format!(
            "{} on {} at {}: {} the throughput of {}",
            code(p),
            code(&sc.name),
            threads_word(t),
            format::ratio(r),
            code(BASELINE)
        ),
        ratio: Some(r),
    }
}

pub fn biggest_speedup(s: &Summary) -> Vec<Finding> {
    speedups(s)
        .into_iter()
        .filter(|e| e.3 > 1.0)
        .max_by(|a, b| a.3.total_cmp(&b.3))
        .map(|e| speedup_finding("Biggest speed-up over `gil`", e))
        .into_iter()
        .collect()
}

/// The other side of the trade: where removing the GIL costs most (the
/// single-thread tax of atomics and locks shows here).
pub fn biggest_slowdown(s: &Summary) -> Vec<Finding> {
    speedups(s)
        .into_iter()
        .filter(|e| e.3 < 1.0)
        .min_by(|a, b| a.3.total_cmp(&b.3))
        .map(|e| speedup_finding("Biggest slowdown against `gil`", e))
        .into_iter()
        .collect()
}

pub fn worst_scaling(s: &Summary) -> Vec<Finding> {
    let mut worst: Option<(&Scenario, &str, usize, usize, f64)> = None;
    for sc in &s.scenarios {
        for c in &sc.configs {
            let Some(base) = sc.scaling_base(&c.policy) else {
                continue;
            };
            if c.threads <= base {
                continue;
            }
            if let Some(e) = sc.efficiency(&c.policy, c.threads) {
                if worst.is_none_or(|w| e < w.4) {
                    worst = Some((sc, &c.policy, c.threads, base, e));
                }
            }
        }
    }
    worst
        .map(|(sc, p, t, base, e)| {
            let over_base = e * t as f64 / base as f64;
            Finding {
                topic: "Worst scaling".into(),
                workload: Some(sc.name.clone()),
                text: format!(
                    "{} on {} at {} runs {} its {}-thread throughput: {} scaling efficiency",
                    code(p),
                    code(&sc.name),
                    threads_word(t),
                    format::ratio(over_base),
                    base,
                    format::pct0(e)
                ),
                ratio: Some(e),
            }
        })
        .into_iter()
        .collect()
}

/// The widest ratio between two policies' figures at one scenario and
/// thread count.
struct Gap<'s> {
    sc: &'s Scenario<'s>,
    threads: usize,
    hi: (&'s str, f64),
    lo: (&'s str, f64),
    ratio: f64,
}

/// Finds the widest [`Gap`] of a per-configuration figure (only positive
/// values count, so the ratio stays finite).
fn widest_gap<'s>(s: &'s Summary, figure: impl Fn(&Config) -> Option<f64>) -> Option<Gap<'s>> {
    let mut best: Option<Gap> = None;
    for sc in &s.scenarios {
        for &t in &sc.threads {
            let v: Vec<(&str, f64)> = sc
                .policies
                .iter()
                .filter_map(|p| figure(sc.config(p, t)?).map(|x| (p.as_str(), x)))
                .filter(|x| x.1 > 0.0 && x.1.is_finite())
                .collect();
            let hi = v.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
            let lo = v.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let ratio = hi.1 / lo.1;
                if ratio > 1.0 && best.as_ref().is_none_or(|b| ratio > b.ratio) {
                    best = Some(Gap {
                        sc,
                        threads: t,
                        hi,
                        lo,
                        ratio,
                    });
                }
            }
        }
    }
    best
}

/// The largest ratio between two policies' headline p99 at one scenario and
/// thread count (latencies of 0 count as 1 ns, so the ratio stays finite).
pub fn biggest_p99_gap(s: &Summary) -> Vec<Finding> {
    widest_gap(s, |c| c.latency(|l| l.p99).map(|x| x.max(1.0)))
        .map(|g| {
            let role =
                g.sc.headline_role
                    .as_ref()
                    .map(|r| format!(" ({} role)", code(r)))
                    .unwrap_or_default();
            Finding {
                topic: "Biggest p99 difference".into(),
                workload: Some(g.sc.name.clone()),
                text: format!(
                    "{} at {}{}: {} has p99 {} against {} for {}, {}",
                    code(&g.sc.name),
                    threads_word(g.threads),
                    role,
                    code(g.hi.0),
                    format::ns(g.hi.1),
                    format::ns(g.lo.1),
                    code(g.lo.0),
                    format::ratio(g.ratio)
                ),
                ratio: Some(g.ratio),
            }
        })
        .into_iter()
        .collect()
}

pub fn biggest_rss_gap(s: &Summary) -> Vec<Finding> {
    widest_gap(s, |c| c.peak_rss().map(|x| x.median))
        .map(|g| Finding {
            topic: "Biggest peak RSS difference".into(),
            workload: Some(g.sc.name.clone()),
            text: format!(
                "{} at {}: {} peaks at {} against {} for {}, {}",
                code(&g.sc.name),
                threads_word(g.threads),
                code(g.hi.0),
                format::bytes(g.hi.1),
                format::bytes(g.lo.1),
                code(g.lo.0),
                format::ratio(g.ratio)
            ),
            ratio: Some(g.ratio),
        })
        .into_iter()
        .collect()
}

/// Where the allocator holds most memory it does not use (thread-local pools
/// are expected to pay here).
/// The smallest peak in use (bytes) for which reserved-over-in-use means
/// something: a few arenas' worth.
const MIN_IN_USE_FOR_RATIO: u64 = 4 << 20;

pub fn most_reserved_over_in_use(s: &Summary) -> Vec<Finding> {
    let mut best: Option<(&Scenario, &str, usize, f64)> = None;
    for sc in &s.scenarios {
        for c in &sc.configs {
            // Below an arena's worth in use, the one spare arena alone makes
            // any ratio huge: such a heap says nothing about fragmentation.
            let r = c.median_opt(|r| {
                (r.memory.bytes_in_use_peak >= MIN_IN_USE_FOR_RATIO).then(|| {
                    r.memory.bytes_reserved_peak as f64 / r.memory.bytes_in_use_peak as f64
                })
            });
            if let Some(r) = r {
                if best.is_none_or(|b| r > b.3) {
                    best = Some((sc, &c.policy, c.threads, r));
                }
            }
        }
    }
    best.map(|(sc, p, t, r)| Finding {
        topic: "Most memory reserved over in use".into(),
        workload: Some(sc.name.clone()),
        text: format!(
            "{} on {} at {} reserves {} the bytes it has in use at peak",
            code(p),
            code(&sc.name),
            threads_word(t),
            format::ratio(r)
        ),
        ratio: Some(r),
    })
    .into_iter()
    .collect()
}

pub fn failures(s: &Summary) -> Vec<Finding> {
    let failed = s.failed_runs().count();
    let total = s.results.runs.len();
    if failed == 0 {
        return Vec::new();
    }
    vec![Finding {
        topic: "Failed runs".into(),
        workload: None,
        text: format!(
            "{failed} of {total} runs failed and are left out of every median (listed under \
             \"Failed runs\" with their reasons)"
        ),
        ratio: Some(failed as f64 / total.max(1) as f64),
    }]
}

/// With one ok repeat the spread is unknown, so no lead above can be told
/// from noise; say so rather than let a 1.02x "winner" stand unqualified.
pub fn single_repeat_caveat(s: &Summary) -> Vec<Finding> {
    let configs: Vec<_> = s
        .scenarios
        .iter()
        .flat_map(|sc| sc.configs.iter())
        .filter(|c| !c.ok.is_empty())
        .collect();
    let single = configs.iter().filter(|c| c.ok.len() == 1).count();
    if single == 0 {
        return Vec::new();
    }
    vec![Finding {
        topic: "Caveat".into(),
        workload: None,
        text: format!(
            "{single} of {} configurations have a single ok repeat, so their noise is \
             unknown: treat leads of a few percent there as ties (run with more repeats)",
            configs.len()
        ),
        ratio: Some(single as f64 / configs.len() as f64),
    }]
}
