//! The answer first: what the top of every report shows before any detail.
//!
//! - the heat map: throughput of each policy relative to `gil` at the same
//!   thread count, per scenario ([`heat_map`]); HTML draws it (`heatmap`),
//!   Markdown writes it as a table;
//! - the headline latency of each scenario at its largest thread count
//!   ([`headline_latency`]): the headline role's p99 where the scenario has
//!   one, every policy side by side.

use super::doc::{code, Doc, Heat, HeatMap};
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
