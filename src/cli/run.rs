//! `heaplab run` (and the default suite): checks every argument against
//! the others, then the output directory, before anything is measured; runs
//! the suite; writes `results.json` and the reports; prints the summary (or
//! the JSON digest), and one line per failed configuration on stderr.

use super::outputs::OutputDir;
use super::progress::Console;
use super::values::{self, GcArg, ListReadsArg, LocksArg, PolicySel, Threads};
use super::CliResult;
use clap::Args;
use heaplab::policy::objlock::{LockBackend, ObjLock};
use heaplab::report::console;
use heaplab::results::Results;
use heaplab::workload::catalogue::{select, Catalogue};
use heaplab::workload::limits::{self, MAX_MARK_WORKERS, MAX_REPEATS, MAX_SWITCH_INTERVAL_US};
use heaplab::workload::rounds::RoundPlan;
use heaplab::workload::suite::{self, Suite};
use heaplab::workload::RunSettings;
use heaplab::{GcMode, PolicyName};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The arguments of `run` (and of the default suite).
#[derive(Args, Clone, Debug)]
pub struct RunOptions {
    /// Policies, comma-separated.
    #[arg(
        long,
        value_name = "POLICY,...",
        default_value = "all",
        value_delimiter = ','
    )]
    pub policy: Vec<PolicySel>,
    /// Scenarios: names from the catalogue or paths to .toml files, comma-separated, or `all`.
    #[arg(long, value_name = "NAME|FILE,...", default_value = "all")]
    pub workload: String,
    /// Thread counts, comma-separated, or `auto` (1, 2, ... cores, and 2 x cores).
    #[arg(long, value_name = "LIST", default_value = "auto", value_parser = values::parse_threads)]
    pub threads: Threads,
    /// Measured seconds per configuration, 0.01..=3600 (default: each scenario's own; 0.5 for the default suite).
    #[arg(long, value_name = "SECS", value_parser = values::parse_duration)]
    pub duration: Option<f64>,
    /// Warm-up seconds per configuration, 0..=600 (default: each scenario's own).
    #[arg(long, value_name = "SECS", value_parser = values::parse_warmup)]
    pub warmup: Option<f64>,
    /// Base rounds: every configuration runs this many times, interleaved
    /// (A B C A B C); 3 is the fewest a 95% interval needs. Given alone,
    /// exactly this many rounds (no adaptive ones: see --max-rounds).
    /// Default: 3, then adaptive rounds.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPEATS as u64))]
    pub repeat: Option<usize>,
    /// Add rounds for the headline ratios until each 95% interval is within
    /// ±PCT percent (or --max-rounds, or --budget): 0 < PCT <= 100.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_PRECISION_PCT, value_parser = parse_precision)]
    pub precision: f64,
    /// The most rounds any configuration runs (default: 12; with --repeat
    /// alone, that many).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPEATS as u64))]
    pub max_rounds: Option<usize>,
    /// Seconds all rounds may take; no round starts that would end past it
    /// (default: the larger of 330 s and 1.5 x the base rounds). Shorter
    /// than one round is refused.
    #[arg(long, value_name = "SECS", value_parser = parse_budget)]
    pub budget: Option<f64>,
    /// Pin worker i to core i modulo the cores (off by default: `convoy`
    /// measures the OS scheduler).
    #[arg(long)]
    pub pin: bool,
    /// How the collector finds containers.
    #[arg(long, default_value = "pool-walk")]
    pub gc: GcArg,
    /// The GIL's switch interval in microseconds.
    #[arg(long, default_value_t = DEFAULT_SWITCH_INTERVAL_US, value_parser = clap::value_parser!(u64).range(1..=MAX_SWITCH_INTERVAL_US))]
    pub switch_interval_us: u64,
    /// Heap memory limit: bytes or a size like 512M or 4G, at least 1M
    /// (allocations past it raise MemoryError; default: half of the
    /// machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_heap_limit)]
    pub max_heap: Option<u64>,
    /// Switch automatic collection off (like gc.disable(); the final
    /// collection of the leak check still runs).
    #[arg(long)]
    pub no_gc: bool,
    /// The tracing policies' collection trigger: collect when the bytes
    /// allocated since the last collection exceed FACTOR times the live
    /// bytes it left (Go's GOGC=100 is 1); ignored by counting policies.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = values::parse_gc_growth)]
    pub gc_growth: f64,
    /// A generational nursery of SIZE bytes (or with K, M, G: 64K to 1G)
    /// for the policies that have one (gil-tracing): young objects are
    /// bump-allocated there and survivors copied to the pools by minor
    /// collections. Refused where no policy run supports it.
    #[arg(long, value_name = "SIZE", value_parser = values::parse_nursery)]
    pub nursery: Option<usize>,
    /// The parking table of the one-byte object locks (a slow path: only
    /// contended locks park); refused where no policy run has object locks.
    #[arg(long, default_value = "std")]
    pub locks: LocksArg,
    /// List read paths, comma-separated: `locked`, `optimistic` (what
    /// free-threaded CPython does), or both to run each policy with
    /// optimistic reads (`biased`) once per path; refused where no policy
    /// run has optimistic reads.
    #[arg(
        long,
        value_name = "PATH,...",
        default_value = "optimistic",
        value_delimiter = ','
    )]
    pub list_reads: Vec<ListReadsArg>,
    /// Marking workers of the collector while the world is stopped.
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_MARK_WORKERS as u64))]
    pub mark_workers: usize,
    /// Output directory.
    #[arg(long, default_value = "results/latest")]
    pub out: PathBuf,
    /// Short durations and one round (or exactly --repeat rounds), no
    /// adaptive rounds: a smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Directory of scenario files that override and extend the built-in
    /// catalogue (default: ./workloads if there is one).
    #[arg(long, value_name = "DIR")]
    pub workloads_dir: Option<PathBuf>,
    /// Fault injection: WORKER:STEPS makes that worker panic after that many measured steps.
    #[arg(long, value_name = "WORKER:STEPS", value_parser = values::parse_inject)]
    pub inject_panic: Option<(usize, u64)>,
    /// A label for the machine block (e.g. "16-core sweep box").
    #[arg(long)]
    pub machine_label: Option<String>,
    /// Skip the same-shaped Python programs (CPython peers).
    #[arg(long)]
    pub no_python: bool,
    /// Print nothing but errors and the failed configurations (the exit
    /// status tells the rest).
    #[arg(long)]
    pub quiet: bool,
    /// Print a JSON digest of the run on stdout instead of the summary table.
    #[arg(long)]
    pub json: bool,
}

/// The GIL's default switch interval, microseconds (CPython's 5 ms).
pub const DEFAULT_SWITCH_INTERVAL_US: u64 = 5000;

/// The default ± precision of the headline intervals, percent.
pub const DEFAULT_PRECISION_PCT: f64 = 5.0;

/// The default of `--repeat`: the fewest rounds a 95% interval needs.
const DEFAULT_REPEATS: usize = 3;

/// The default of `--max-rounds` (or `--repeat`, if larger).
const DEFAULT_MAX_ROUNDS: usize = 12;

/// The default budget of the rounds, seconds: with the floors, the Python
/// peers and the reports, the default suite ends in about six minutes on
/// two cores.
const DEFAULT_BUDGET_SECS: f64 = 330.0;

pub fn parse_precision(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number: give a percentage such as 5"))?;
    if v > 0.0 && v <= 100.0 {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: allowed 0 < percent <= 100"))
    }
}

pub fn parse_budget(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v > 0.0 && v <= 7.0 * 86_400.0 {
        Ok(v)
    } else {
        Err(format!(
            "{v} is out of range: allowed 0 < seconds <= 604800"
        ))
    }
}

/// Seconds and repeats of `--quick`: a smoke run.
const QUICK_DURATION_SECS: f64 = 0.2;
const QUICK_WARMUP_SECS: f64 = 0.05;

pub fn run(o: RunOptions) -> CliResult {
    let (suite, out) = plan(&o)?;
    let results = measure(&suite, o.quiet);
    finish(&results, &out, &o)
}

/// Checks the arguments and the output directory and makes the suite:
/// everything that can be refused is refused here, before anything runs.
pub fn plan(o: &RunOptions) -> Result<(Suite, OutputDir), String> {
    let policies = values::policies(&o.policy);
    for (i, sel) in o.policy.iter().enumerate() {
        if let PolicySel::One(p) = sel {
            if o.policy[..i].contains(sel) {
                eprintln!("heaplab: --policy names {p} twice: it runs once per repeat");
            }
        }
    }
    let (policies, list_reads) = values::with_list_reads(&policies, &o.list_reads)?;
    let threads = o.threads.counts();
    let gc_mode = o.gc.0;
    if gc_mode == GcMode::Generational {
        let traced = policies.iter().find(|p| {
            heaplab::with_policy!(**p, P => <<P as heaplab::Policy>::Counts as heaplab::policy::Counts>::TRACED)
        });
        if let Some(p) = traced {
            return Err(format!(
                "--gc generational is the cycle collector's mode; policy {p} has no reference counts and collects with its tracing collector (leave --gc at pool-walk)"
            ));
        }
        if let Some(p) = policies.iter().find(|p| **p != PolicyName::Gil) {
            return Err(format!(
                "--gc generational needs the GIL (its lists are unlocked); policy {p} supports only pool-walk"
            ));
        }
    }
    if o.nursery.is_some()
        && !policies.iter().any(
            |p| heaplab::with_policy!(*p, P => heaplab::heap::trace::nursery::supported::<P>()),
        )
    {
        return Err(format!(
            "--nursery: none of {} has a nursery; it is built for gil-tracing only (counting \
             policies free objects where they are, and the GIL-free tracing policy would need \
             stop-the-world minor collections or per-thread nurseries)",
            policies
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if o.locks.0 != LockBackend::Std {
        let lockless: Vec<String> = policies
            .iter()
            .filter(|p| !heaplab::with_policy!(**p, P => <<P as heaplab::Policy>::ObjLock as ObjLock>::REAL))
            .map(|p| p.to_string())
            .collect();
        if !lockless.is_empty() {
            return Err(format!(
                "--locks {}: {} {} no object locks (the GIL guards their lists), so there is no \
                 parking table to choose: run the GIL-free policies alone with --locks, or leave \
                 it at std",
                o.locks.0,
                lockless.join(", "),
                if lockless.len() == 1 { "has" } else { "have" }
            ));
        }
    }
    let (mut duration, mut warmup) = (o.duration, o.warmup);
    let mut repeats = o.repeat.unwrap_or(DEFAULT_REPEATS);
    if o.quick {
        duration = Some(
            duration
                .unwrap_or(QUICK_DURATION_SECS)
                .min(QUICK_DURATION_SECS),
        );
        warmup = Some(warmup.unwrap_or(QUICK_WARMUP_SECS).min(QUICK_WARMUP_SECS));
        // One round unless --repeat asks for more (then exactly that many).
        repeats = o.repeat.unwrap_or(1);
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
    let workloads_dir = super::workloads_dir(o.workloads_dir.clone());
    let catalogue = Catalogue::load(workloads_dir.as_deref()).map_err(|e| e.to_string())?;
    let scenarios = select(&o.workload, &catalogue, &mut |line| {
        eprintln!("heaplab: {line}")
    })?;
    // Check the output directory before spending minutes measuring; then
    // an earlier run's files must not pass for this one's.
    let out = OutputDir::prepare(&o.out)?;
    out.clear_previous()?;

    let max_rounds = if o.quick {
        repeats
    } else {
        match o.max_rounds {
            Some(m) if m < repeats => {
                return Err(format!(
                    "--max-rounds: {m} is below --repeat {repeats}: every configuration runs \
                     the base rounds, so allowed {repeats}..={MAX_REPEATS}"
                ))
            }
            Some(m) => m,
            // `--repeat K` alone keeps its old meaning: exactly K rounds.
            None if o.repeat.is_some() => repeats,
            None => DEFAULT_MAX_ROUNDS.max(repeats),
        }
    };
    let mut suite = Suite {
        scenarios,
        policies,
        threads,
        rounds: RoundPlan {
            base: repeats,
            max_rounds,
            precision_pct: o.precision,
            budget_secs: None,
        },
        command_line: std::env::args().collect(),
        breakdown: None,
        settings: RunSettings {
            duration,
            warmup,
            gc_mode,
            switch_interval: Duration::from_micros(o.switch_interval_us),
            max_heap: max_heap.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
            mark_workers: o.mark_workers,
            gc_enabled: !o.no_gc,
            gc_growth: o.gc_growth,
            nursery: o.nursery,
            inject_panic: o.inject_panic,
            floor_pair_ns: 0.0,
            pin: o.pin,
            locks: o.locks.0,
            list_reads,
        },
        quick: o.quick,
        max_heap_bytes: max_heap,
        machine_label: o.machine_label.clone().unwrap_or_default(),
        python_peers: !o.no_python,
    };
    let one_round = suite::round_floor_secs(&suite);
    suite.rounds.budget_secs = Some(match o.budget {
        Some(b) if b < one_round => {
            return Err(format!(
                "--budget: {b} s is shorter than one round, which takes at least {one_round:.1} s \
                 ({} configurations' warm-up and measured time): give at least {:.0}",
                suite.policies.len() * suite.threads.len() * suite.scenarios.len(),
                one_round.ceil()
            ))
        }
        Some(b) => b,
        None => DEFAULT_BUDGET_SECS.max(1.5 * repeats as f64 * one_round),
    });
    Ok((suite, out))
}

/// Runs the suite, with the progress bar unless `quiet`.
pub fn measure(suite: &Suite, quiet: bool) -> Results {
    let mut progress = Console::new(quiet);
    suite::run(suite, &mut progress)
}

/// Writes the results and the reports, prints the summary (or the digest)
/// and the failed configurations; exits 1 when some failed.
pub fn finish(results: &Results, out: &OutputDir, o: &RunOptions) -> CliResult {
    let (results_path, reports) = out.commit(results)?;
    if o.json {
        let mut digest = console::digest(results);
        digest["results"] = results_path.display().to_string().into();
        digest["reports"] = reports
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .into();
        println!("{digest:#}");
    } else if !o.quiet {
        println!("\n{}", console::summary(results));
        println!("Results: {}", results_path.display());
        for r in &reports {
            println!("Report:  {}", r.display());
        }
    }
    let failures = console::failures(results);
    for line in &failures {
        eprintln!("heaplab: {line}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
