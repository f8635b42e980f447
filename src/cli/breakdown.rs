//! `heaplab cost-breakdown`: the single-thread cost of going GIL-free, taken
//! apart. Runs the breakdown steps (`PolicyName::STEPS`, each adding one
//! ingredient of `biased` to `gil`, and the side steps beside them) at one
//! thread, in interleaved rounds like any suite, so that each step's ratio
//! to the step before comes with a 95% interval; then counts each step's
//! instructions per operation under callgrind (when valgrind is there);
//! then writes the results and the reports, which open with the waterfall.

use super::instr;
use super::run::{self, RunOptions, DEFAULT_PRECISION_PCT};
use super::values::{GcArg, PolicySel, Threads};
use super::CliResult;
use clap::Args;
use heaplab::results::{Breakdown, BreakdownStep};
use heaplab::workload::catalogue::Catalogue;
use heaplab::workload::limits::MAX_REPEATS;
use heaplab::{GcMode, PolicyName};
use std::path::PathBuf;

/// The scenarios a breakdown runs by default: thread-private work where the
/// single-thread cost shows, and shared reads where counting does.
pub const DEFAULT_WORKLOADS: &str = "alloc-churn,binary-trees,list-mutation,shared-read";

/// Operations of the shorter instruction count, by default.
pub const DEFAULT_INSTR_OPS: u64 = 20_000;

/// The arguments of `cost-breakdown`.
#[derive(Args, Clone, Debug)]
pub struct BreakdownOptions {
    /// Scenarios: names or .toml paths, comma-separated, or `all`.
    #[arg(long, value_name = "NAME|FILE,...", default_value = DEFAULT_WORKLOADS)]
    pub workload: String,
    /// Measured seconds per configuration, 0.01..=3600 (default: each scenario's own).
    #[arg(long, value_name = "SECS", value_parser = super::values::parse_duration)]
    pub duration: Option<f64>,
    /// Warm-up seconds per configuration, 0..=600 (default: each scenario's own).
    #[arg(long, value_name = "SECS", value_parser = super::values::parse_warmup)]
    pub warmup: Option<f64>,
    /// Base rounds (at least 3 for an interval); then adaptive ones.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPEATS as u64))]
    pub repeat: Option<usize>,
    /// Add rounds until each step's ratio to gil is within ±PCT percent.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_PRECISION_PCT, value_parser = run::parse_precision)]
    pub precision: f64,
    /// The most rounds any configuration runs.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPEATS as u64))]
    pub max_rounds: Option<usize>,
    /// Seconds all rounds may take.
    #[arg(long, value_name = "SECS", value_parser = run::parse_budget)]
    pub budget: Option<f64>,
    /// Operations of the shorter instruction count under callgrind (the
    /// longer does twice as many); 0 skips the counts.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_INSTR_OPS)]
    pub instr_ops: u64,
    /// Output directory.
    #[arg(long, default_value = "results/breakdown")]
    pub out: PathBuf,
    /// Short durations and one round: a smoke run (no verdicts).
    #[arg(long)]
    pub quick: bool,
    /// Directory of scenario files that override and extend the catalogue.
    #[arg(long, value_name = "DIR")]
    pub workloads_dir: Option<PathBuf>,
    /// A label for the machine block.
    #[arg(long)]
    pub machine_label: Option<String>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// The breakdown as the results record it.
fn plan_of_steps() -> Breakdown {
    let step = |p: PolicyName| BreakdownStep {
        policy: p.to_string(),
        adds: p.adds().to_string(),
    };
    Breakdown {
        steps: PolicyName::STEPS.into_iter().map(step).collect(),
        side: PolicyName::SIDE_STEPS.into_iter().map(step).collect(),
    }
}

/// `heaplab cost-breakdown`.
pub fn cost_breakdown(b: BreakdownOptions) -> CliResult {
    let policies: Vec<PolicySel> = PolicyName::STEPS
        .into_iter()
        .chain(PolicyName::SIDE_STEPS)
        .map(PolicySel::One)
        .collect();
    // A suite like `run`'s, with the policies and thread count the
    // breakdown is about; the rest at `run`'s defaults.
    let o = RunOptions {
        policy: policies,
        workload: b.workload.clone(),
        threads: Threads::List(vec![1]),
        duration: b.duration,
        warmup: b.warmup,
        repeat: b.repeat,
        precision: b.precision,
        max_rounds: b.max_rounds,
        budget: b.budget,
        pin: false,
        gc: GcArg(GcMode::PoolWalk),
        switch_interval_us: run::DEFAULT_SWITCH_INTERVAL_US,
        max_heap: None,
        no_gc: false,
        gc_growth: heaplab::heap::trace::TraceConfig::default().growth,
        nursery: None,
        mark_workers: 1,
        locks: super::values::LocksArg(Default::default()),
        list_reads: vec![super::values::ListReadsArg(
            heaplab::policy::ListReads::Optimistic,
        )],
        out: b.out.clone(),
        quick: b.quick,
        workloads_dir: b.workloads_dir.clone(),
        inject_panic: None,
        machine_label: b.machine_label.clone(),
        no_python: true,
        quiet: b.quiet,
        json: false,
    };
    let (mut suite, out) = run::plan(&o)?;
    suite.breakdown = Some(plan_of_steps());
    let mut results = run::measure(&suite, b.quiet);
    if b.instr_ops > 0 {
        let dir = super::workloads_dir(b.workloads_dir.clone());
        let catalogue = Catalogue::load(dir.as_deref()).map_err(|e| e.to_string())?;
        let steps: Vec<PolicyName> = PolicyName::STEPS
            .into_iter()
            .chain(PolicyName::SIDE_STEPS)
            .collect();
        match instr::count(
            &results.settings.workloads,
            &catalogue,
            dir.as_deref(),
            &steps,
            b.instr_ops,
        ) {
            Ok(table) => results.instructions = Some(table),
            // No valgrind: the breakdown stands on its timings alone, and
            // says so.
            Err(e) => results
                .notes
                .push(format!("instruction counts not taken: {e}")),
        }
    }
    run::finish(&results, &out, &o)
}
