//! "Findings": what the numbers say, each with the figure it rests on,
//! grouped by the question it answers (see `finding`).
//!
//! Each kind of finding is one small function from the [`Summary`] to the
//! findings it supports, listed in [`FINDERS`]. To add one, write another
//! such function (here, or in `field` for a published result held up against
//! the run) and append it to the list: the renderers need no change.
//!
//! A lead or a difference is judged in one place, `finding::verdict`: from
//! the ratio's 95% interval, never from the repeats' min..max.

use super::doc::code;
use super::estimate::{Ratio, Sample};
use super::field;
use super::finding::{rounds_word, verdict, versus, Finding, Question, FASTER, HIGHER};
use super::format;
use super::stats::{Config, Scenario, Summary, BASELINE};
use crate::results::{confidence, Run};

/// A source of findings.
pub type Finder = fn(&Summary) -> Vec<Finding>;

/// Every finder, in the order the report lists them within a question.
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
    precision_reached,
    field::biased_rc_end_to_end,
    field::single_thread_cost,
    field::private_scaling,
    field::convoy,
    field::shared_contention,
    field::cpython_peer,
    field::read_path,
    super::counting::cost_of_counting,
    super::pauses::collector_pauses,
];

/// All findings of a summary, in question order (finder order within one).
pub fn findings(s: &Summary) -> Vec<Finding> {
    let mut all: Vec<Finding> = FINDERS.iter().flat_map(|f| f(s)).collect();
    // Stable: keeps the finders' order within a question.
    all.sort_by_key(|f| f.question);
    all
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

/// The leader at one thread count, against the runner-up.
fn lead_at(sc: &Scenario, threads: usize) -> Option<Finding> {
    let r = ranked(sc, threads);
    let (wp, wt) = *r.first()?;
    let base = Finding {
        question: Question::Leads,
        topic: "Winner".into(),
        workload: Some(sc.name.clone()),
        threads: Some(threads),
        ..Default::default()
    };
    let f = match r.get(1) {
        Some(&(rp, rt)) => {
            let lead = sc.tput_ratio((wp, threads), (rp, threads));
            Finding {
                subject: format!("{} ahead of {}", code(wp), code(rp)),
                measured: lead.as_ref().map_or("—".into(), format::times),
                basis: versus(wt, rt, format::si, "ops/s"),
                verdict: lead
                    .as_ref()
                    .map(|l| verdict(l, sc.precision, FASTER))
                    .unwrap_or_default(),
                ratio: lead.map(|l| l.value),
                ..base
            }
        }
        None => Finding {
            subject: format!("only {} has an ok run", code(wp)),
            basis: format!("{} ops/s", format::si(wt)),
            ..base
        },
    };
    Some(f.done())
}

/// The policy with the highest median throughput at the largest thread count
/// and at the smallest, per scenario.
pub fn winners(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in &s.scenarios {
        let (Some(hi), Some(lo)) = (sc.largest_ok_threads(), sc.smallest_ok_threads()) else {
            continue;
        };
        out.extend(lead_at(sc, hi));
        if lo != hi {
            out.extend(lead_at(sc, lo));
        }
    }
    out
}

/// Every (scenario, policy, threads) with its speed-up over the baseline.
fn speedups<'s>(s: &'s Summary) -> Vec<(&'s Scenario<'s>, &'s str, usize, Ratio)> {
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

fn speedup_finding(topic: &str, e: (&Scenario, &str, usize, Ratio)) -> Finding {
    let (sc, p, t, r) = e;
    let tput = |p: &str| sc.tput(p, t).unwrap_or(f64::NAN);
    Finding {
        question: Question::GilTrade,
        topic: topic.into(),
        workload: Some(sc.name.clone()),
        threads: Some(t),
        subject: format!("{} over {}", code(p), code(BASELINE)),
        measured: format::times(&r),
        basis: versus(tput(p), tput(BASELINE), format::si, "ops/s"),
        verdict: verdict(&r, sc.precision, FASTER),
        ratio: Some(r.value),
        ..Default::default()
    }
    .done()
}

pub fn biggest_speedup(s: &Summary) -> Vec<Finding> {
    speedups(s)
        .into_iter()
        .filter(|e| e.3.value > 1.0)
        .max_by(|a, b| a.3.value.total_cmp(&b.3.value))
        .map(|e| speedup_finding("Biggest speed-up", e))
        .into_iter()
        .collect()
}

/// The other side of the trade: where removing the GIL costs most (the
/// single-thread tax of atomics and locks shows here).
pub fn biggest_slowdown(s: &Summary) -> Vec<Finding> {
    speedups(s)
        .into_iter()
        .filter(|e| e.3.value < 1.0)
        .min_by(|a, b| a.3.value.total_cmp(&b.3.value))
        .map(|e| speedup_finding("Biggest slowdown", e))
        .into_iter()
        .collect()
}

pub fn worst_scaling(s: &Summary) -> Vec<Finding> {
    let mut worst: Option<(&Scenario, &str, usize, usize, Ratio)> = None;
    for sc in &s.scenarios {
        for c in &sc.configs {
            let Some(base) = sc.scaling_base(&c.policy) else {
                continue;
            };
            if c.threads <= base {
                continue;
            }
            if let Some(e) = sc.efficiency(&c.policy, c.threads) {
                if worst.is_none_or(|w| e.value < w.4.value) {
                    worst = Some((sc, &c.policy, c.threads, base, e));
                }
            }
        }
    }
    worst
        .map(|(sc, p, t, base, e)| {
            let over_base = sc.tput_ratio((p, t), (p, base));
            Finding {
                question: Question::Scaling,
                topic: "Worst scaling".into(),
                workload: Some(sc.name.clone()),
                threads: Some(t),
                subject: format!("{}: scaling efficiency", code(p)),
                measured: format::estimate(&e, format::pct0),
                basis: format!(
                    "{} its {}-thread throughput",
                    over_base.as_ref().map_or("—".into(), format::times),
                    base
                ),
                verdict: "100% is linear".into(),
                ratio: Some(e.value),
                ..Default::default()
            }
            .done()
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
    ratio: Ratio,
}

/// Finds the widest [`Gap`] of a per-run figure (only positive values
/// count, so the ratio stays finite).
fn widest_gap<'s>(
    s: &'s Summary,
    figure: impl Fn(&Config, &Run) -> Option<f64>,
) -> Option<Gap<'s>> {
    let mut best: Option<Gap> = None;
    for sc in &s.scenarios {
        for &t in &sc.threads {
            let v: Vec<(&str, f64, Vec<Sample>)> = sc
                .policies
                .iter()
                .filter_map(|p| {
                    let c = sc.config(p, t)?;
                    let samples: Vec<(usize, f64)> =
                        c.ok.iter()
                            .filter_map(|r| figure(c, r).map(|x| (r.repeat, x)))
                            .collect();
                    let m = c.median_opt(|r| figure(c, r))?;
                    Some((p.as_str(), m, samples))
                })
                .filter(|x| x.1 > 0.0 && x.1.is_finite())
                .collect();
            let hi = v.iter().max_by(|a, b| a.1.total_cmp(&b.1));
            let lo = v.iter().min_by(|a, b| a.1.total_cmp(&b.1));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                continue;
            };
            let Some(ratio) = Ratio::between(&hi.2, &lo.2, 1.0, sc.paired) else {
                continue;
            };
            if ratio.value > 1.0 && best.as_ref().is_none_or(|b| ratio.value > b.ratio.value) {
                best = Some(Gap {
                    sc,
                    threads: t,
                    hi: (hi.0, hi.1),
                    lo: (lo.0, lo.1),
                    ratio,
                });
            }
        }
    }
    best
}

fn gap_finding(topic: &str, what: &str, g: Gap, unit: fn(f64) -> String) -> Finding {
    Finding {
        question: Question::Differences,
        topic: topic.into(),
        workload: Some(g.sc.name.clone()),
        threads: Some(g.threads),
        subject: format!("{}{what} over {}", code(g.hi.0), code(g.lo.0)),
        measured: format::times(&g.ratio),
        basis: versus(g.hi.1, g.lo.1, unit, ""),
        verdict: verdict(&g.ratio, g.sc.precision, HIGHER),
        ratio: Some(g.ratio.value),
        ..Default::default()
    }
    .done()
}

/// The largest ratio between two policies' headline p99 at one scenario and
/// thread count (latencies of 0 count as 1 ns, so the ratio stays finite).
pub fn biggest_p99_gap(s: &Summary) -> Vec<Finding> {
    widest_gap(s, |c, r| Some(c.headline_latency(r).p99.max(1) as f64))
        .map(|g| {
            let what = match &g.sc.headline_role {
                Some(role) => format!("'s {} p99", code(role)),
                None => "'s p99".into(),
            };
            gap_finding("Biggest p99 difference", &what, g, format::ns)
        })
        .into_iter()
        .collect()
}

pub fn biggest_rss_gap(s: &Summary) -> Vec<Finding> {
    widest_gap(s, |_, r| Some(r.memory.peak_rss_bytes as f64))
        .map(|g| {
            gap_finding(
                "Biggest peak RSS difference",
                "'s peak RSS",
                g,
                format::bytes,
            )
        })
        .into_iter()
        .collect()
}

/// The smallest peak in use (bytes) for which reserved-over-in-use means
/// something: a few arenas' worth.
const MIN_IN_USE_FOR_RATIO: u64 = 4 << 20;

/// Where the allocator holds most memory it does not use (thread-local pools
/// are expected to pay here).
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
    best.map(|(sc, p, t, r)| {
        Finding {
            question: Question::Differences,
            topic: "Most memory reserved over in use".into(),
            workload: Some(sc.name.clone()),
            threads: Some(t),
            subject: format!("{}: bytes reserved over bytes in use, at peak", code(p)),
            // A figure of one configuration (the median of its repeats'
            // own ratios), not a ratio between two: no interval to pair.
            measured: format::times(&Ratio::point(r)),
            basis: "heaps with at least 4 MiB in use".into(),
            ratio: Some(r),
            ..Default::default()
        }
        .done()
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
        question: Question::Trust,
        topic: "Failed runs".into(),
        subject: "runs left out of every median, ratio and chart".into(),
        measured: format!("{failed} of {total}"),
        verdict: "listed under \"Failed runs\" with their reasons".into(),
        ratio: Some(failed as f64 / total.max(1) as f64),
        ..Default::default()
    }
    .done()]
}

/// Below three ok rounds a configuration's ratios carry no interval, so no
/// lead there can be told from noise; say so rather than let a 1.02x
/// "winner" stand unqualified.
pub fn single_repeat_caveat(s: &Summary) -> Vec<Finding> {
    let configs: Vec<_> = s
        .scenarios
        .iter()
        .flat_map(|sc| sc.configs.iter())
        .filter(|c| !c.ok.is_empty())
        .collect();
    let few = configs
        .iter()
        .filter(|c| c.ok.len() < confidence::MIN_ROUNDS)
        .count();
    if few == 0 {
        return Vec::new();
    }
    vec![Finding {
        question: Question::Trust,
        topic: "Too few rounds".into(),
        subject: format!(
            "configurations with fewer than {} ok",
            rounds_word(confidence::MIN_ROUNDS)
        ),
        measured: format!("{few} of {}", configs.len()),
        basis: "a 95% interval needs at least 3 paired rounds".into(),
        verdict: "their ratios carry no interval and no verdict (run with more rounds)".into(),
        ratio: Some(few as f64 / configs.len() as f64),
        ..Default::default()
    }
    .done()]
}

/// How many headline ratios reached the precision the run aimed at, and the
/// widest still open: how far the run settled its own questions.
pub fn precision_reached(s: &Summary) -> Vec<Finding> {
    let mut total = 0;
    let mut within = 0;
    let mut widest: Option<(f64, String, String)> = None;
    let mut precision = 0.0;
    for sc in &s.scenarios {
        precision = sc.precision;
        for (pair, r) in sc.headlines() {
            let Some(r) = r else { continue };
            total += 1;
            match r.half_width() {
                Some(h) if h <= sc.precision => within += 1,
                h => {
                    let h = h.unwrap_or(f64::INFINITY);
                    if widest.as_ref().is_none_or(|w| h > w.0) {
                        widest = Some((h, sc.name.clone(), pair.label()));
                    }
                }
            }
        }
    }
    if total == 0 || !s.scenarios.iter().any(|sc| sc.paired) {
        return Vec::new();
    }
    let basis = match &widest {
        Some((h, sc, label)) if h.is_finite() => {
            format!("widest open: {} {label} (±{})", code(sc), format::pct(*h))
        }
        Some((_, sc, label)) => format!("without an interval: {} {label}, among others", code(sc)),
        None => String::new(),
    };
    vec![Finding {
        question: Question::Trust,
        topic: "Precision reached".into(),
        subject: format!(
            "headline ratios with a 95% interval within ±{}",
            format::pct(precision)
        ),
        measured: format!("{within} of {total}"),
        basis,
        verdict: if within == total {
            "every headline question settled to the precision asked".into()
        } else {
            "the others are undecided at that precision: more rounds (`--max-rounds`, \
             `--budget`) or a quieter machine would settle them"
                .into()
        },
        ratio: Some(within as f64 / total as f64),
        ..Default::default()
    }
    .done()]
}
