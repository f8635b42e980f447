//! A suite: scenarios x policies x thread counts, run in interleaved rounds
//! (A B C A B C) on one machine, into one [`Results`], the `results.json`
//! contract.
//!
//! The order of a suite: the floors are measured and the work dial
//! calibrated first (so "how far from the limit" comes from the same run);
//! then rounds: every configuration runs the base rounds, each on a fresh
//! heap ([`super::runner`]), and further rounds run only the configurations
//! of the headline ratios whose 95% interval is still wider than the
//! precision asked for ([`super::rounds`]), until none is, `--max-rounds`,
//! or the budget; then the same-shaped Python programs
//! ([`super::python`]); then the results are assembled with the machine,
//! the build, the settings, the round bookkeeping, the noise and the dates.
//! What the suite is doing is told to an [`Observer`] (the CLI's progress
//! bar, or nothing for scripts); writing files and printing summaries are
//! the CLI's and the report's business.

use super::noise;
use super::python;
use super::rounds::{self, RoundPlan};
use super::runner::{run_config, workload_info, Config, RunSettings};
use super::scenario::Scenario;
use super::timestamp::utc_now;
use crate::metrics::{self, Spinner};
use crate::results::{
    headline_pairs, Build, HeadlinePair, Results, Rounds, Run, Settings, SCHEMA_VERSION,
};
use crate::PolicyName;
use std::collections::HashMap;
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug)]
pub struct Suite {
    pub scenarios: Vec<Scenario>,
    pub policies: Vec<PolicyName>,
    /// Thread counts, in the order given.
    pub threads: Vec<usize>,
    /// How many rounds, and when to stop adding them.
    pub rounds: RoundPlan,
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
    /// The command line as given, for the results' provenance.
    pub command_line: Vec<String>,
    /// Recorded when the suite is a cost breakdown (its steps' order and
    /// what each adds).
    pub breakdown: Option<crate::results::Breakdown>,
}

/// Where the rounds stand as one begins.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundStart {
    /// The round about to run, from 0.
    pub round: usize,
    /// Configurations it runs.
    pub configurations: usize,
    /// Headline ratios still wider than the precision (all of them before
    /// the base rounds are done).
    pub open: usize,
    /// The widest of their intervals' ± (a share), where they have one.
    pub widest: Option<f64>,
}

/// Told what a suite is doing, as it does it.
pub trait Observer {
    /// A line about a stage (floors, the plan, the Python peers).
    fn note(&mut self, line: &str);
    /// The configurations about to run (one round's), in order.
    fn planned(&mut self, configurations: &[Config<'_>]);
    /// The round of the configurations just planned begins.
    fn round(&mut self, start: &RoundStart);
    /// One configuration starts.
    fn starting(&mut self, configuration: &Config<'_>);
    /// One configuration has run (failed or not).
    fn finished(&mut self, run: &Run);
}

/// An observer that is told nothing (for tests and scripts).
pub struct Silent;

impl Observer for Silent {
    fn note(&mut self, _: &str) {}
    fn round(&mut self, _: &RoundStart) {}
    fn planned(&mut self, _: &[Config<'_>]) {}
    fn starting(&mut self, _: &Config<'_>) {}
    fn finished(&mut self, _: &Run) {}
}

/// Seconds one round of every configuration takes at least: warm-up and
/// measured time summed (set-up, the leak check and fixed-operation
/// scenarios come on top). A budget below it is refused.
pub fn round_floor_secs(suite: &Suite) -> f64 {
    let per_config: f64 = suite
        .scenarios
        .iter()
        .map(|s| {
            let measured = suite.settings.duration.or(s.duration_secs()).unwrap_or(0.0);
            let warmup = if measured > 0.0 {
                suite.settings.warmup.unwrap_or(s.warmup_secs())
            } else {
                0.0
            };
            measured + warmup
        })
        .sum();
    per_config * (suite.policies.len() * suite.threads.len()) as f64
}

/// One round of every configuration, in the interleaved order.
fn full_round<'a>(suite: &'a Suite, round: usize) -> Vec<Config<'a>> {
    let mut out = Vec::new();
    for s in &suite.scenarios {
        for &t in &suite.threads {
            for &p in &suite.policies {
                out.push(Config {
                    scenario: s,
                    policy: p,
                    threads: t,
                    repeat: round,
                });
            }
        }
    }
    out
}

/// The headline ratios of every scenario of the suite.
fn headlines(suite: &Suite) -> Vec<HeadlinePair> {
    let policies: Vec<String> = suite.policies.iter().map(|p| p.to_string()).collect();
    suite
        .scenarios
        .iter()
        .flat_map(|s| headline_pairs(&s.name, &policies, &suite.threads, s.roles().0))
        .collect()
}

/// Runs the suite and returns its results (complete: a suite that cannot
/// finish does not return).
pub fn run(suite: &Suite, observer: &mut dyn Observer) -> Results {
    let started = utc_now();
    let steal_before = metrics::cpu_steal_jiffies();
    let load_start = metrics::load_average();
    observer.note("measuring floors and calibrating the work dial...");
    let floors = metrics::measure_floors();
    let settings = RunSettings {
        floor_pair_ns: floors.nonatomic_pair_ns,
        ..suite.settings.clone()
    };
    let spinner = Spinner::calibrate();
    let plan = &suite.rounds;
    let rounds_plan = if plan.max_rounds > plan.base {
        format!(
            "{} base {}, then rounds for the headline ratios wider than ±{}% (at most {} rounds{})",
            plan.base,
            if plan.base == 1 { "round" } else { "rounds" },
            plan.precision_pct,
            plan.max_rounds,
            plan.budget_secs
                .map(|b| format!(", {b:.0} s"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "{} {}, no adaptive rounds",
            plan.base,
            if plan.base == 1 { "round" } else { "rounds" }
        )
    };
    let configurations = full_round(suite, 0).len();
    observer.note(&format!(
        "{} {} ({} {} x {} {} x threads {:?}), {rounds_plan}",
        configurations,
        if configurations == 1 {
            "configuration"
        } else {
            "configurations"
        },
        suite.scenarios.len(),
        if suite.scenarios.len() == 1 {
            "scenario"
        } else {
            "scenarios"
        },
        suite.policies.len(),
        if suite.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        suite.threads,
    ));
    let pairs = headlines(suite);
    let clock = Instant::now();
    // The last wall time of each configuration: what a further round of it
    // costs.
    let mut cost: HashMap<(String, PolicyName, usize), f64> = HashMap::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut round = 0;
    let stopped = loop {
        let (configs, open, widest) = if round < plan.base {
            (full_round(suite, round), pairs.len(), None)
        } else {
            if round >= plan.max_rounds {
                break format!("--max-rounds ({}) reached", plan.max_rounds);
            }
            let open = rounds::open(&runs, &pairs, plan);
            if open.is_empty() {
                break format!(
                    "every headline ratio within ±{}% (or at --max-rounds)",
                    plan.precision_pct
                );
            }
            let widest = open
                .iter()
                .map(|o| o.1)
                .filter(|h| h.is_finite())
                .fold(None, |w: Option<f64>, h| Some(w.map_or(h, |w| w.max(h))));
            let configs = rounds::configurations_of(&open)
                .into_iter()
                .filter_map(|(name, side)| {
                    Some(Config {
                        scenario: suite.scenarios.iter().find(|s| s.name == name)?,
                        policy: PolicyName::parse(&side.policy)?,
                        threads: side.threads,
                        repeat: round,
                    })
                })
                .collect();
            (configs, open.len(), widest)
        };
        if let (Some(budget), true) = (plan.budget_secs, round > 0) {
            let next: f64 = configs
                .iter()
                .map(|c| {
                    cost.get(&(c.scenario.name.clone(), c.policy, c.threads))
                        .copied()
                        .unwrap_or(0.0)
                })
                .sum();
            let spent = clock.elapsed().as_secs_f64();
            if spent + next > budget {
                break format!(
                    "the budget ({budget:.0} s): {spent:.0} s spent, the next round would take \
                     about {next:.0} s more"
                );
            }
        }
        observer.planned(&configs);
        observer.round(&RoundStart {
            round,
            configurations: configs.len(),
            open,
            widest,
        });
        for cfg in &configs {
            observer.starting(cfg);
            let t = Instant::now();
            let run = run_config(cfg, &settings, spinner);
            cost.insert(
                (cfg.scenario.name.clone(), cfg.policy, cfg.threads),
                t.elapsed().as_secs_f64(),
            );
            observer.finished(&run);
            runs.push(run);
        }
        round += 1;
    };
    let rounds_seconds = clock.elapsed().as_secs_f64();
    let headline_ratios = pairs
        .iter()
        .filter(|p| rounds::comparable(&runs, p))
        .map(|p| rounds::estimate(&runs, p))
        .collect();
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
    let steal_ratio = metrics::steal_ratio(steal_before, metrics::cpu_steal_jiffies());
    let noise = noise::summarize(
        &runs,
        machine.cores,
        load_start,
        metrics::load_average(),
        steal_ratio,
    );
    Results {
        schema: SCHEMA_VERSION,
        machine,
        heaplab: Build {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: env!("HEAPLAB_COMMIT").into(),
            dirty: match env!("HEAPLAB_DIRTY") {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        },
        started,
        finished: utc_now(),
        complete: true,
        settings: Settings {
            policies: suite.policies.iter().map(|p| p.to_string()).collect(),
            workloads: suite.scenarios.iter().map(|s| s.name.clone()).collect(),
            threads: suite.threads.clone(),
            repeats: plan.base,
            duration_secs: settings.duration.unwrap_or(0.0),
            gc_mode: gc_mode_setting(&suite.policies, &settings),
            nursery_bytes: settings.nursery.map(|n| n as u64),
            switch_interval_us: settings.switch_interval.as_micros() as u64,
            quick: suite.quick,
            max_heap_bytes: suite.max_heap_bytes,
            command_line: suite.command_line.clone(),
            warmup_secs: settings.warmup,
            mark_workers: Some(settings.mark_workers),
            pinned: settings.pin,
            precision_pct: Some(plan.precision_pct),
            max_rounds: Some(plan.max_rounds),
            budget_secs: plan.budget_secs,
            breakdown: suite.breakdown.clone(),
            locks: Some(settings.locks.name().into()),
            list_reads: Some(
                settings
                    .list_reads
                    .iter()
                    .map(|r| r.name().into())
                    .collect(),
            ),
        },
        floors,
        steal_ratio,
        workloads: suite.scenarios.iter().map(workload_info).collect(),
        runs,
        python,
        notes,
        rounds: Some(Rounds {
            base: plan.base,
            most: round,
            seconds: rounds_seconds,
            stopped,
            headlines: headline_ratios,
        }),
        noise: Some(noise),
        instructions: None,
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

/// The collector's setting as the report states it. Runs with a count-free
/// policy say what its tracing collector does too: with automatic
/// collection off it reclaims nothing until the final collection, and a
/// growth factor other than the default is named.
fn gc_mode_setting(policies: &[crate::policy::PolicyName], settings: &RunSettings) -> String {
    let mut s = settings.gc_mode.as_str().to_string();
    if !settings.gc_enabled {
        s.push_str(" (automatic collection off)");
    }
    let traced = policies.iter().any(|p| {
        crate::with_policy!(*p, P => <<P as crate::policy::Policy>::Counts as crate::policy::Counts>::TRACED)
    });
    if traced {
        if !settings.gc_enabled {
            s.push_str("; the tracing policies reclaim nothing until the final collection");
        } else if settings.gc_growth != crate::heap::trace::TraceConfig::default().growth {
            s.push_str(&format!("; tracing growth {}", settings.gc_growth));
        }
        if let Some(n) = settings.nursery {
            s.push_str(&format!("; nursery {} KiB (gil-tracing)", n >> 10));
        }
    }
    s
}
