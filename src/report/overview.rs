//! The answer first: what the top of every report shows before any detail.
//!
//! - the heat map: throughput of each policy relative to `gil` at the same
//!   thread count, per scenario ([`heat_map`]); HTML draws it (`heatmap`),
//!   Markdown writes it as a table;
//! - the headline latency of each scenario at its largest thread count
//!   ([`headline_latency`]): the headline role's p99 where the scenario has
//!   one, every policy side by side;
//! - one line on how noisy the run was and what precision its headline
//!   ratios reached ([`noise_and_precision`]).

use super::doc::{code, Doc, Heat, HeatMap};
use super::finding::rounds_word;
use super::format;
use super::spec::{Spec, Unit, Value};
use super::stats::{Scenario, Summary, BASELINE};

/// Throughput relative to the baseline, scenario × (policy × threads).
/// Columns are the non-baseline policies that ran, each with every thread
/// count that ran in some scenario.
pub fn heat_map(s: &Summary) -> HeatMap {
    let mut threads: Vec<usize> = s
        .scenarios
        .iter()
        .flat_map(|sc| sc.threads.iter().copied())
        .collect();
    threads.sort_unstable();
    threads.dedup();
    let columns: Vec<(String, usize)> = s
        .policies
        .iter()
        .filter(|p| *p != BASELINE)
        .flat_map(|p| {
            threads
                .iter()
                .filter(move |&&t| s.scenarios.iter().any(|sc| sc.config(p, t).is_some()))
                .map(move |&t| (p.clone(), t))
        })
        .collect();
    let scenarios: Vec<&Scenario> = s
        .scenarios
        .iter()
        .filter(|sc| !sc.configs.is_empty())
        .collect();
    let cells = scenarios
        .iter()
        .map(|sc| columns.iter().map(|(p, t)| heat(sc, p, *t)).collect())
        .collect();
    HeatMap {
        baseline: BASELINE.into(),
        rows: scenarios.iter().map(|sc| sc.name.clone()).collect(),
        columns,
        cells,
    }
}

fn heat(sc: &Scenario, policy: &str, threads: usize) -> Heat {
    let Some(c) = sc.config(policy, threads) else {
        return Heat::NotRun;
    };
    if c.ok.is_empty() {
        return Heat::Failed;
    }
    match sc.speedup(policy, threads) {
        Some(r) => Heat::Ratio(r),
        None => Heat::NoBaseline,
    }
}

/// Whether the heat map has anything to show.
pub fn has_ratios(h: &HeatMap) -> bool {
    h.cells
        .iter()
        .flatten()
        .any(|c| matches!(c, Heat::Ratio(_)))
}

/// The headline p99 of every scenario at its largest thread count with an
/// ok run, one column per policy.
pub fn headline_latency(d: &mut Doc, s: &Summary) {
    let rows: Vec<(&Scenario, usize)> = s
        .scenarios
        .iter()
        .filter_map(|sc| sc.largest_ok_threads().map(|t| (sc, t)))
        .collect();
    if rows.is_empty() {
        d.p("No scenario has an ok run, so there is no latency to show.");
        return;
    }
    type Row<'r> = (&'r Scenario<'r>, usize);
    let mut spec = Spec::new()
        .text("Scenario", |r: &Row| Value::Code(r.0.name.clone()))
        .text("Latency of", |r: &Row| {
            Value::Markup(match &r.0.headline_role {
                Some(role) => format!("{} role", code(role)),
                None => "every operation".into(),
            })
        })
        .num("Threads", |r: &Row| Value::Int(r.1 as u64));
    for p in &s.policies {
        spec = spec.num(format!("{} p99", code(p)), move |r: &Row| {
            Value::num(
                r.0.config(p, r.1).and_then(|c| c.latency(|l| l.p99)),
                Unit::Ns,
            )
        });
    }
    d.table(spec.table(&rows));
    d.small(
        "p99 of the sampled operations at each scenario's largest thread count with an ok \
         run (median over the ok repeats; the headline role's where a scenario gives its \
         threads roles). Every percentile is in the scenario's section.",
    );
}

/// How noisy the run was and what precision its headline ratios reached,
/// in one sentence (the report's opening line, inline text).
pub fn noise_and_precision(s: &Summary) -> String {
    let r = s.results;
    if !r.rounds_paired() {
        return format!(
            "**Noise and precision**: not recorded (a schema-{} file): its rounds are not \
             paired, so every interval is unknown and no ratio carries a verdict.",
            r.schema
        );
    }
    let noise = match &r.noise {
        Some(n) if n.quiet => format!(
            "a quiet machine (steal {}, load average {:.1} at the start on {} cores)",
            format::pct(r.steal_ratio),
            n.load_average_start,
            r.machine.cores
        ),
        Some(n) => format!("**a busy machine**: {}", n.why.join("; ")),
        None => format!(
            "steal {} (no other noise recorded)",
            format::pct(r.steal_ratio)
        ),
    };
    let mut total = 0;
    let mut within = 0;
    let mut widest = 0.0f64;
    for sc in &s.scenarios {
        for (_, ratio) in sc.headlines() {
            let Some(ratio) = ratio else { continue };
            total += 1;
            match ratio.half_width() {
                Some(h) if h <= sc.precision => within += 1,
                Some(h) => widest = widest.max(h),
                None => widest = f64::INFINITY,
            }
        }
    }
    let counts: Vec<usize> = s
        .scenarios
        .iter()
        .flat_map(|sc| sc.configs.iter().map(|c| c.ok.len()))
        .filter(|&n| n > 0)
        .collect();
    let rounds = match (counts.iter().min(), counts.iter().max()) {
        (Some(a), Some(b)) if a == b => rounds_word(*a),
        (Some(a), Some(b)) => format!("{a} to {b} rounds"),
        _ => "no rounds".into(),
    };
    let precision = format::pct(r.precision_pct() / 100.0);
    let open = if within == total {
        String::new()
    } else if widest.is_finite() {
        format!("; the widest still open is ±{}", format::pct(widest))
    } else {
        "; some have too few rounds for an interval".into()
    };
    let stopped = r
        .rounds
        .as_ref()
        .filter(|x| !x.stopped.is_empty())
        .map(|x| format!(" Rounds stopped: {}.", super::doc::esc(&x.stopped)))
        .unwrap_or_default();
    format!(
        "**Noise and precision**: {noise}. {within} of {total} headline ratios have a 95% \
         interval within ±{precision} after {rounds} per configuration{open}.{stopped}"
    )
}
