//! The `heaplab` command line: parses, dispatches, prints.
//!
//! With no arguments it runs the default suite (every policy, the standard
//! scenarios, `auto` threads, short durations) and writes
//! `results/latest/results.json` with its reports. The commands live in
//! [`cli`]; the work they dispatch to lives in the library (`workload` runs,
//! `report` renders).

mod cli;

use clap::{Args, Parser, Subcommand};
use cli::values::{self, DriverArg, GcArg, PolicyArg, PolicySel, Threads};
use heaplab::workload::limits::{
    self, MAX_MARK_WORKERS, MAX_REPEATS, MAX_SWITCH_INTERVAL_US, MAX_THREADS,
};
use heaplab::workload::scenario::{MAX_TREE_DEPTH, MIN_TREE_DEPTH};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "heaplab",
    version,
    about = "What does it cost to let many threads share one reference-counted heap?",
    long_about = "heaplab runs one CPython-style object heap under interchangeable lock policies \
                  and measures throughput, latency and memory across thread counts. With no \
                  arguments it runs the default suite."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the policies, drivers and scenarios with their one-line descriptions.
    List {
        /// Directory of scenario files.
        #[arg(long, default_value_os_t = default_workloads_dir())]
        workloads_dir: PathBuf,
        /// Only the scenarios of this driver.
        #[arg(long)]
        driver: Option<DriverArg>,
    },
    /// Run scenarios x policies x thread counts and write results.json and reports.
    Run(Box<RunArgs>),
    /// Render report.md, report.html and runs.csv from DIR/results.json.
    Report {
        /// A results directory (or a results.json file).
        dir: PathBuf,
    },
    /// Compare two runs: ratios NEW/OLD; exits 1 when a throughput or p99 regresses beyond the threshold.
    Compare {
        old: PathBuf,
        new: PathBuf,
        /// Regression threshold in percent.
        #[arg(long, default_value_t = 5.0)]
        threshold: f64,
    },
    /// Run one hot-path operation in a loop (for instruction counting with
    /// callgrind: see scripts/instr-counts.sh).
    #[command(hide = true)]
    Micro {
        op: cli::micro::MicroOp,
        #[arg(long, default_value = "gil")]
        policy: PolicyArg,
        #[arg(long, default_value_t = 1000)]
        iters: u64,
    },
    /// Run the binary-trees program once and print the Benchmarks Game's output.
    Trees {
        /// The program's argument (tree depth).
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(u64).range(MIN_TREE_DEPTH..=MAX_TREE_DEPTH))]
        depth: u64,
        #[arg(long, default_value = "gil")]
        policy: PolicyArg,
        #[arg(long, default_value_t = 1, value_parser = threads_range())]
        threads: usize,
    },
}

/// 1..=MAX_THREADS, as a clap range.
fn threads_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_THREADS as u64)
}

/// The default suite: `run` with its defaults.
#[derive(Parser)]
struct DefaultRun {
    #[command(flatten)]
    args: RunArgs,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Policies, comma-separated.
    #[arg(
        long,
        value_name = "POLICY,...",
        default_value = "all",
        value_delimiter = ','
    )]
    policy: Vec<PolicySel>,
    /// Scenarios: names from the catalogue or paths to .toml files, comma-separated, or `all`.
    #[arg(long, value_name = "NAME|FILE,...", default_value = "all")]
    workload: String,
    /// Thread counts, comma-separated, or `auto` (1, 2, ... cores, and 2 x cores).
    #[arg(long, value_name = "LIST", default_value = "auto", value_parser = values::parse_threads)]
    threads: Threads,
    /// Measured seconds per configuration, 0.01..=3600 (default: each scenario's own; 0.5 for the default suite).
    #[arg(long, value_name = "SECS", value_parser = values::parse_duration)]
    duration: Option<f64>,
    /// Warm-up seconds per configuration, 0..=600 (default: each scenario's own).
    #[arg(long, value_name = "SECS", value_parser = values::parse_warmup)]
    warmup: Option<f64>,
    /// Repeats, interleaved across configurations (A B C A B C).
    #[arg(long, default_value_t = 2, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_REPEATS as u64))]
    repeat: usize,
    /// How the collector finds containers.
    #[arg(long, default_value = "pool-walk")]
    gc: GcArg,
    /// The GIL's switch interval in microseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=MAX_SWITCH_INTERVAL_US))]
    switch_interval_us: u64,
    /// Heap memory limit: bytes or a size like 512M or 4G, at least 1M
    /// (allocations past it raise MemoryError; default: half of the
    /// machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_heap_limit)]
    max_heap: Option<u64>,
    /// Switch automatic collection off (like gc.disable(); the final
    /// collection of the leak check still runs).
    #[arg(long)]
    no_gc: bool,
    /// Marking workers of the collector while the world is stopped.
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_MARK_WORKERS as u64))]
    mark_workers: usize,
    /// Output directory.
    #[arg(long, default_value = "results/latest")]
    out: PathBuf,
    /// Short durations and one repeat: a smoke run.
    #[arg(long)]
    quick: bool,
    /// Directory of scenario files.
    #[arg(long, default_value_os_t = default_workloads_dir())]
    workloads_dir: PathBuf,
    /// Fault injection: WORKER:STEPS makes that worker panic after that many measured steps.
    #[arg(long, value_name = "WORKER:STEPS", value_parser = values::parse_inject)]
    inject_panic: Option<(usize, u64)>,
    /// A label for the machine block (e.g. "16-core sweep box").
    #[arg(long)]
    machine_label: Option<String>,
    /// Skip the same-shaped Python programs (CPython peers).
    #[arg(long)]
    no_python: bool,
    /// Print nothing but errors and the failed configurations (the exit
    /// status tells the rest).
    #[arg(long)]
    quiet: bool,
    /// Print a JSON digest of the run on stdout instead of the summary table.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn options(self) -> cli::run::RunOptions {
        cli::run::RunOptions {
            policy: self.policy,
            workload: self.workload,
            threads: self.threads,
            duration: self.duration,
            warmup: self.warmup,
            repeat: self.repeat,
            gc: self.gc,
            switch_interval_us: self.switch_interval_us,
            max_heap: self.max_heap,
            no_gc: self.no_gc,
            mark_workers: self.mark_workers,
            out: self.out,
            quick: self.quick,
            workloads_dir: self.workloads_dir,
            inject_panic: self.inject_panic,
            machine_label: self.machine_label,
            no_python: self.no_python,
            quiet: self.quiet,
            json: self.json,
        }
    }
}

fn default_workloads_dir() -> PathBuf {
    let local = PathBuf::from("workloads");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads")
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(e),
    };
    let result = match cli.command {
        None => {
            let args = DefaultRun::parse_from(["heaplab"]).args;
            cli::run::run(
                RunArgs {
                    duration: Some(0.5),
                    warmup: Some(0.1),
                    ..args
                }
                .options(),
            )
        }
        Some(Command::List {
            workloads_dir,
            driver,
        }) => cli::commands::list(&workloads_dir, driver.map(|d| d.0)),
        Some(Command::Run(args)) => cli::run::run(args.options()),
        Some(Command::Report { dir }) => cli::commands::report(&dir),
        Some(Command::Compare {
            old,
            new,
            threshold,
        }) => cli::commands::compare(&old, &new, threshold),
        Some(Command::Trees {
            depth,
            policy,
            threads,
        }) => cli::commands::trees(depth, policy.0, threads),
        Some(Command::Micro { op, policy, iters }) => cli::micro::micro(op, policy.0, iters),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("heaplab: error: {e}");
            ExitCode::from(2)
        }
    }
}
