//! A suite: scenarios x policies x thread counts x repeats, run interleaved
//! (A B C A B C) on one machine, into one [`Results`], the `results.json`
//! contract.
//!
//! The order of a suite: the floors are measured and the work dial
//! calibrated first (so "how far from the limit" comes from the same run),
//! then every configuration runs on a fresh heap ([`super::runner`]), then
//! the same-shaped Python programs ([`super::python`]), then the results are
//! assembled with the machine, the build, the settings and the dates. What
//! the suite is doing is told to an [`Observer`] (the CLI's progress bar, or
//! nothing for scripts); writing files and printing summaries are the
//! CLI's and the report's business.

use super::python;
use super::runner::{run_config, schedule, workload_info, Config, RunSettings};
use super::scenario::Scenario;
use super::timestamp::utc_now;
use crate::metrics::{self, Spinner};
use crate::results::{Build, Results, Run, Settings, SCHEMA_VERSION};
use crate::PolicyName;

/// What to run.
#[derive(Clone, Debug)]
pub struct Suite {
    pub scenarios: Vec<Scenario>,
    pub policies: Vec<PolicyName>,
    /// Thread counts, in the order given.
    pub threads: Vec<usize>,
    /// Repeats, interleaved across configurations.
    pub repeats: usize,
    /// How each configuration runs (`floor_pair_ns` is measured by the
    /// suite itself).
    pub settings: RunSettings,
    /// A smoke run (`--quick`): recorded in the settings.
    pub quick: bool,
    /// The heap limit in force, recorded as given (`None`: none).
    pub max_heap_bytes: Option<u64>,
    /// Names the machine in the results ("16-core sweep box").
    pub machine_label: String,
    /// Run the CPython peers of the scenarios that have one.
    pub python_peers: bool,
}

/// Told what a suite is doing, as it does it.
pub trait Observer {
    /// A line about a stage (floors, the plan, the Python peers).
    fn note(&mut self, line: &str);
    /// The configurations about to run, in order.
    fn planned(&mut self, configurations: &[Config<'_>]);
    /// One configuration starts.
    fn starting(&mut self, configuration: &Config<'_>);
    /// One configuration has run (failed or not).
    fn finished(&mut self, run: &Run);
}

/// An observer that is told nothing (for tests and scripts).
pub struct Silent;

impl Observer for Silent {
    fn note(&mut self, _: &str) {}
    fn planned(&mut self, _: &[Config<'_>]) {}
    fn starting(&mut self, _: &Config<'_>) {}
    fn finished(&mut self, _: &Run) {}
}

/// Runs the suite and returns its results (complete: a suite that cannot
/// finish does not return).
pub fn run(suite: &Suite, observer: &mut dyn Observer) -> Results {
    let started = utc_now();
    let steal_before = metrics::cpu_steal_jiffies();
    observer.note("measuring floors and calibrating the work dial...");
    let floors = metrics::measure_floors();
    let settings = RunSettings {
        floor_pair_ns: floors.nonatomic_pair_ns,
        ..suite.settings.clone()
    };
    let spinner = Spinner::calibrate();
    let plan = schedule(
        &suite.scenarios,
        &suite.policies,
        &suite.threads,
        suite.repeats,
    );
    observer.note(&format!(
        "{} configurations ({} scenarios x {} policies x threads {:?} x {} repeats)",
        plan.len(),
        suite.scenarios.len(),
        suite.policies.len(),
        suite.threads,
        suite.repeats
    ));
    observer.planned(&plan);
    let mut runs = Vec::with_capacity(plan.len());
    for cfg in &plan {
        observer.starting(cfg);
        let run = run_config(cfg, &settings, spinner);
        observer.finished(&run);
        runs.push(run);
    }
    let python = if suite.python_peers {
        python::peers(
            &suite.scenarios,
            &suite.threads,
            settings.duration.unwrap_or(1.0),
            &mut |line| observer.note(line),
        )
    } else {
        Vec::new()
    };
    let notes = output_notes(&runs, suite.threads.first().copied());
    let mut machine = metrics::machine();
    machine.label = suite.machine_label.clone();
    Results {
        schema: SCHEMA_VERSION,
        machine,
        heaplab: Build {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: env!("HEAPLAB_COMMIT").into(),
        },
        started,
        finished: utc_now(),
        complete: true,
        settings: Settings {
            policies: suite.policies.iter().map(|p| p.to_string()).collect(),
            workloads: suite.scenarios.iter().map(|s| s.name.clone()).collect(),
            threads: suite.threads.clone(),
            repeats: suite.repeats,
            duration_secs: settings.duration.unwrap_or(0.0),
            gc_mode: if settings.gc_enabled {
                settings.gc_mode.as_str().into()
            } else {
                format!("{} (automatic collection off)", settings.gc_mode.as_str())
            },
            switch_interval_us: settings.switch_interval.as_micros() as u64,
            quick: suite.quick,
            max_heap_bytes: suite.max_heap_bytes,
        },
        floors,
        steal_ratio: metrics::steal_ratio(steal_before, metrics::cpu_steal_jiffies()),
        workloads: suite.scenarios.iter().map(workload_info).collect(),
        runs,
        python,
        notes,
    }
}

/// The output a program printed and the runner checked (binary-trees'
/// reference output), once per scenario and policy: from the first repeat
/// at the first thread count.
fn output_notes(runs: &[Run], first_threads: Option<usize>) -> Vec<String> {
    runs.iter()
        .filter(|r| !r.output.is_empty() && r.repeat == 0 && Some(r.threads) == first_threads)
        .map(|r| {
            format!(
                "{} under {} printed the Benchmarks Game's reference output: {}",
                r.workload,
                r.policy,
                r.output.join(" | ")
            )
        })
        .collect()
}
