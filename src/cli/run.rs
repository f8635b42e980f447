//! `heaplab run` (and the default suite): checks every argument against
//! the others, then the output directory, before anything is measured; runs
//! the suite; writes `results.json` and the reports; prints the summary (or
//! the JSON digest), and one line per failed configuration on stderr.

use super::outputs::OutputDir;
use super::progress::Console;
use super::values::{self, GcArg, PolicySel, Threads};
use super::CliResult;
use heaplab::report::console;
use heaplab::workload::catalogue::{select, Catalogue};
use heaplab::workload::suite::{self, Suite};
use heaplab::workload::{limits, RunSettings};
use heaplab::{GcMode, PolicyName};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The parsed arguments of `run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub policy: Vec<PolicySel>,
    pub workload: String,
    pub threads: Threads,
    pub duration: Option<f64>,
    pub warmup: Option<f64>,
    pub repeat: usize,
    pub gc: GcArg,
    pub switch_interval_us: u64,
    pub max_heap: Option<u64>,
    pub no_gc: bool,
    pub mark_workers: usize,
    pub out: PathBuf,
    pub quick: bool,
    pub workloads_dir: PathBuf,
    pub inject_panic: Option<(usize, u64)>,
    pub machine_label: Option<String>,
    pub no_python: bool,
    pub quiet: bool,
    pub json: bool,
}

/// Seconds and repeats of `--quick`: a smoke run.
const QUICK_DURATION_SECS: f64 = 0.2;
const QUICK_WARMUP_SECS: f64 = 0.05;

pub fn run(o: RunOptions) -> CliResult {
    let policies = values::policies(&o.policy);
    let threads = o.threads.counts();
    let gc_mode = o.gc.0;
    if gc_mode == GcMode::Generational {
        if let Some(p) = policies.iter().find(|p| **p != PolicyName::Gil) {
            return Err(format!(
                "--gc generational needs the GIL (its lists are unlocked); policy {p} supports only pool-walk"
            ));
        }
    }
    let (mut duration, mut warmup, mut repeats) = (o.duration, o.warmup, o.repeat);
    if o.quick {
        duration = Some(
            duration
                .unwrap_or(QUICK_DURATION_SECS)
                .min(QUICK_DURATION_SECS),
        );
        warmup = Some(warmup.unwrap_or(QUICK_WARMUP_SECS).min(QUICK_WARMUP_SECS));
        repeats = 1;
    }
    if let Some((worker, _)) = o.inject_panic {
        let most = threads.iter().copied().max().unwrap_or(1);
        if worker >= most {
            return Err(format!(
                "--inject-panic: worker {worker} does not exist: allowed 0..={} (the workers of the largest --threads)",
                most - 1
            ));
        }
    }
    let max_heap = o.max_heap.or_else(limits::default_heap_limit);
    let catalogue = Catalogue::from_dir(&o.workloads_dir).map_err(|e| e.to_string())?;
    let scenarios = select(&o.workload, &catalogue, &mut |line| {
        eprintln!("heaplab: {line}")
    })?;
    // Check the output directory before spending minutes measuring; then
    // an earlier run's files must not pass for this one's.
    let out = OutputDir::prepare(&o.out)?;
    out.clear_previous()?;

    let suite = Suite {
        scenarios,
        policies,
        threads,
        repeats,
        settings: RunSettings {
            duration,
            warmup,
            gc_mode,
            switch_interval: Duration::from_micros(o.switch_interval_us),
            max_heap: max_heap.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
            mark_workers: o.mark_workers,
            gc_enabled: !o.no_gc,
            inject_panic: o.inject_panic,
            floor_pair_ns: 0.0,
        },
        quick: o.quick,
        max_heap_bytes: max_heap,
        machine_label: o.machine_label.clone().unwrap_or_default(),
        python_peers: !o.no_python,
    };
    let mut progress = Console::new(o.quiet);
    let results = suite::run(&suite, &mut progress);
    drop(progress);
    let (results_path, reports) = out.commit(&results)?;
    if o.json {
        let mut digest = console::digest(&results);
        digest["results"] = results_path.display().to_string().into();
        digest["reports"] = reports
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .into();
        println!("{digest:#}");
    } else if !o.quiet {
        println!("\n{}", console::summary(&results));
        println!("Results: {}", results_path.display());
        for r in &reports {
            println!("Report:  {}", r.display());
        }
    }
    let failures = console::failures(&results);
    for line in &failures {
        eprintln!("heaplab: {line}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
