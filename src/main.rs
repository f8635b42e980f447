//! The `heaplab` command line: parses, dispatches, prints.
//!
//! With no arguments it runs the default suite (every policy, the standard
//! scenarios, `auto` threads, short durations) and writes
//! `results/latest/results.json` with its reports. The commands live in
//! [`cli`]; the work they dispatch to lives in the library (`workload` runs,
//! `report` renders).

mod cli;

use clap::{Parser, Subcommand};
use cli::run::RunOptions;
use cli::values::{DriverArg, PolicyArg};
use heaplab::workload::limits::MAX_THREADS;
use heaplab::workload::scenario::{MAX_TREE_DEPTH, MIN_TREE_DEPTH};
use std::path::PathBuf;
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
        /// Directory of scenario files that override and extend the built-in
        /// catalogue (default: ./workloads if there is one).
        #[arg(long, value_name = "DIR")]
        workloads_dir: Option<PathBuf>,
        /// Only the scenarios of this driver.
        #[arg(long)]
        driver: Option<DriverArg>,
    },
    /// Run scenarios x policies x thread counts and write results.json and reports.
    Run(Box<RunOptions>),
    /// Render report.md, report.html and runs.csv from DIR/results.json.
    Report {
        /// A results directory (or a results.json file).
        dir: PathBuf,
        /// Where to write the reports (default: beside the results).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace reports that are already there (never done unasked: they
        /// may be the committed ones).
        #[arg(long)]
        force: bool,
    },
    /// Compare two runs: per configuration, NEW/OLD with Welch's t on log figures, Holm across configurations; exits 1 for a significant regression beyond the threshold, 2 when the runs share no configuration.
    Compare {
        old: PathBuf,
        new: PathBuf,
        /// Regression threshold in percent: a significant change must exceed it to count.
        #[arg(long, default_value_t = 5.0)]
        threshold: f64,
        /// Output format.
        #[arg(long, default_value = "text")]
        format: cli::values::CompareFormat,
        /// How the p-values of all configurations are adjusted together: holm
        /// (any false alarm at most 5%) or fdr (false-discovery rate 5%).
        #[arg(long, default_value = "holm")]
        correction: cli::values::CorrectionArg,
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
    /// Instructions per operation of each scenario under each policy at one
    /// thread, counted by callgrind (repeatable on a noisy machine): a table,
    /// and DIR/instructions.json with --out (the report of DIR shows it).
    Instr {
        /// Scenarios: names or .toml paths, comma-separated, or `all`
        /// (convoy and producer-consumer cannot run on one thread).
        #[arg(long, value_name = "NAME|FILE,...", default_value = "all")]
        workload: String,
        /// Policies, comma-separated.
        #[arg(
            long,
            value_name = "POLICY,...",
            default_value = "all",
            value_delimiter = ','
        )]
        policy: Vec<cli::values::PolicySel>,
        /// Operations of the shorter of the two counted runs (the longer does twice as many).
        #[arg(long, default_value_t = 200_000)]
        ops: u64,
        /// Directory of scenario files that override and extend the built-in catalogue.
        #[arg(long, value_name = "DIR")]
        workloads_dir: Option<PathBuf>,
        /// Also write DIR/instructions.json.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// One counted loop of `instr` (run under callgrind by `instr`).
    #[command(hide = true)]
    InstrOne {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        policy: PolicyArg,
        #[arg(long)]
        ops: u64,
        #[arg(long)]
        workloads_dir: Option<PathBuf>,
    },
    /// Print a completion script for a shell (e.g. `heaplab completions bash > /etc/bash_completion.d/heaplab`).
    Completions { shell: clap_complete::Shell },
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
    args: RunOptions,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(e),
    };
    let result = match cli.command {
        None => {
            let args = DefaultRun::parse_from(["heaplab"]).args;
            cli::run::run(RunOptions {
                duration: Some(0.5),
                warmup: Some(0.1),
                ..args
            })
        }
        Some(Command::List {
            workloads_dir,
            driver,
        }) => cli::commands::list(
            cli::workloads_dir(workloads_dir).as_deref(),
            driver.map(|d| d.0),
        ),
        Some(Command::Run(args)) => cli::run::run(*args),
        Some(Command::Report { dir, out, force }) => {
            cli::commands::report(&dir, out.as_deref(), force)
        }
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "heaplab", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Compare {
            old,
            new,
            threshold,
            format,
            correction,
        }) => cli::commands::compare(&old, &new, threshold, format.0, correction.0),
        Some(Command::Trees {
            depth,
            policy,
            threads,
        }) => cli::commands::trees(depth, policy.0, threads),
        Some(Command::Instr {
            workload,
            policy,
            ops,
            workloads_dir,
            out,
        }) => cli::instr::instr(&workload, &policy, ops, workloads_dir, out.as_deref()),
        Some(Command::InstrOne {
            workload,
            policy,
            ops,
            workloads_dir,
        }) => cli::instr::instr_one(&workload, policy.0, ops, workloads_dir),
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
