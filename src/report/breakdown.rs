//! The cost breakdown (`heaplab cost-breakdown`): how the single-thread
//! throughput moves from the baseline to the target, one ingredient a step.
//!
//! Per scenario, each step's throughput is taken over the step before it,
//! round by round, with its 95% interval (the increment the ingredient
//! costs), and over the baseline (where the chain stands so far); beside
//! them, the step's instructions per operation from callgrind where they were
//! counted. The HTML draws it as a waterfall (`waterfall.rs`); Markdown and
//! CSV get the same table.

use super::doc::{code, esc, Block, Doc};
use super::estimate::Ratio;
use super::spec::{Spec, Unit, Value};
use super::stats::{Scenario, Summary};
use super::waterfall::{Step, Waterfall};
use crate::results::{Breakdown, BreakdownStep, Instructions};

/// The thread count a breakdown runs at.
const THREADS: usize = 1;

fn per_op(t: Option<&Instructions>, workload: &str, policy: &str) -> Option<f64> {
    t?.counts
        .iter()
        .find(|c| c.workload == workload && c.policy == policy && c.error.is_empty())
        .map(|c| c.per_op)
}

/// The waterfall of a scenario.
pub fn waterfall(s: &Summary, sc: &Scenario<'_>, b: &Breakdown) -> Waterfall {
    let base = b.steps.first().map(|x| x.policy.as_str()).unwrap_or("");
    let instr = s.results.instructions.as_ref();
    let step = |st: &BreakdownStep, from: Option<&str>, side: bool| {
        let i = per_op(instr, &sc.name, &st.policy);
        let i_from = from.and_then(|f| per_op(instr, &sc.name, f));
        Step {
            policy: st.policy.clone(),
            adds: st.adds.clone(),
            from: from.map(String::from),
            tput: sc.tput(&st.policy, THREADS),
            vs_base: sc.tput_ratio((&st.policy, THREADS), (base, THREADS)),
            vs_from: from.and_then(|f| sc.tput_ratio((&st.policy, THREADS), (f, THREADS))),
            instr: i,
            instr_vs_from: i.zip(i_from).map(|(a, b)| a / b),
            side,
        }
    };
    let mut steps = Vec::new();
    for (k, st) in b.steps.iter().enumerate() {
        let from = (k > 0).then(|| b.steps[k - 1].policy.as_str());
        steps.push(step(st, from, false));
    }
    // A side step branches from the step that has everything it has but the
    // one ingredient it swaps: the one after the baseline.
    let branch = b
        .steps
        .get(1)
        .or(b.steps.first())
        .map(|x| x.policy.as_str());
    for st in &b.side {
        steps.push(step(st, branch, true));
    }
    Waterfall {
        workload: sc.name.clone(),
        steps,
    }
}

/// The report's section: one waterfall and one table per scenario.
pub fn section(d: &mut Doc, s: &Summary, b: &Breakdown) {
    let (first, last) = match (b.steps.first(), b.steps.last()) {
        (Some(f), Some(l)) => (f.policy.clone(), l.policy.clone()),
        _ => return,
    };
    d.section(
        2,
        format!(
            "The single-thread cost, taken apart: from {} to {}",
            code(&first),
            code(&last)
        ),
        Some("breakdown".into()),
        false,
        |d| {
            d.p(format!(
                "Each step adds one ingredient of {} to the step before it and runs at one \
                 thread. \"Over the step before\" is what that ingredient costs (below 1x: \
                 slower), taken round by round with its 95% interval; \"over the baseline\" \
                 ({}) is where the chain stands. Instructions per operation (callgrind) do \
                 not depend on the machine's load, so they decide where the timings cannot; \
                 an atomic read-modify-write counts as one instruction, though, so what \
                 atomics cost shows in the timings only.",
                code(&last),
                code(&first)
            ));
            for sc in &s.scenarios {
                let w = waterfall(s, sc, b);
                d.h(3, format!("Scenario {}", code(&sc.name)));
                d.blocks.push(Block::Waterfall(w.clone()));
                d.table(table(&w));
            }
        },
    );
}

fn table(w: &Waterfall) -> super::doc::Table {
    let spec = Spec::new()
        .text("Step", |s: &&Step| Value::Policy(s.policy.clone()))
        .wrap("adds", |s: &&Step| {
            Value::Markup(if s.side {
                format!("{} (side step)", esc(&s.adds))
            } else {
                esc(&s.adds)
            })
        })
        .num("ops/s", |s: &&Step| Value::num(s.tput, Unit::Si))
        .ratio("over the step before", |s: &&Step| {
            Value::ratio(s.vs_from, Unit::Times)
        })
        .ratio("over the baseline", |s: &&Step| {
            Value::ratio(s.vs_base, Unit::Times)
        })
        .num("instructions / op", |s: &&Step| {
            Value::num(s.instr, Unit::Count)
        })
        .ratio("instructions over the step before", |s: &&Step| {
            Value::ratio(s.instr_vs_from.map(Ratio::point), Unit::Times)
        });
    let rows: Vec<&Step> = w.steps.iter().collect();
    spec.table(&rows)
}
