//! The `heaplab` command line: parses, dispatches, prints.
//!
//! With no arguments it runs the default suite (every policy, the standard
//! scenarios, `auto` threads, short durations) and writes
//! `results/latest/results.json` with its reports.

use clap::{Args, Parser, Subcommand};
use heaplab::gc::GcMode;
use heaplab::metrics::{self, Spinner};
use heaplab::policy::PolicyName;
use heaplab::results::{Build, Results, Settings, Status, SCHEMA_VERSION};
use heaplab::workload::{catalogue, run_config, schedule, RunSettings, Scenario};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "heaplab",
    version,
    about = "What does it cost to let many threads share one reference-counted heap?",
    long_about = "heaplab runs one CPython-style object heap under interchangeable lock policies \
                  (gil, pool-locks, biased) and measures throughput, latency and memory across \
                  thread counts. With no arguments it runs the default suite."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the policies and the scenarios with their one-line descriptions.
    List {
        /// Directory of scenario files.
        #[arg(long, default_value_os_t = default_workloads_dir())]
        workloads_dir: PathBuf,
    },
    /// Run scenarios x policies x thread counts and write results.json and reports.
    Run(Box<RunArgs>),
    /// Render report.md, report.html and runs.csv from DIR/results.json.
    Report {
        /// A results directory (or a results.json file).
        dir: PathBuf,
    },
    /// Compare two runs: ratios NEW/OLD; exits 1 when a throughput or p99 regresses beyond the threshold, 2 when the runs share no configuration.
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
        /// alloc-free (a 32-byte leaf through the heap), raw-alloc-free (the
        /// class table alone), or incref-decref (owner clone + drop).
        op: String,
        #[arg(long, default_value = "gil")]
        policy: String,
        #[arg(long, default_value_t = 1000)]
        iters: u64,
    },
    /// Run the binary-trees program once and print the Benchmarks Game's output.
    Trees {
        /// The program's argument (tree depth).
        #[arg(default_value_t = 10)]
        depth: u64,
        #[arg(long, default_value = "gil")]
        policy: String,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

/// The default suite: `run` with its defaults.
#[derive(Parser)]
struct DefaultRun {
    #[command(flatten)]
    args: RunArgs,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Policies: a comma-separated list of gil, pool-locks, biased, or `all`.
    #[arg(long, default_value = "all")]
    policy: String,
    /// Scenarios: names from the catalogue or paths to .toml files, comma-separated, or `all`.
    #[arg(long, default_value = "all")]
    workload: String,
    /// Thread counts, comma-separated, or `auto` (1, 2, ... cores, and 2 x cores).
    #[arg(long, default_value = "auto")]
    threads: String,
    /// Measured seconds per configuration (default: each scenario's own; 0.5 for the default suite).
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up seconds per configuration (default: each scenario's own).
    #[arg(long)]
    warmup: Option<f64>,
    /// Repeats, interleaved across configurations (A B C A B C).
    #[arg(long, default_value_t = 2)]
    repeat: usize,
    /// How the collector finds containers: pool-walk, or generational (gil only).
    #[arg(long, default_value = "pool-walk")]
    gc: String,
    /// The GIL's switch interval in microseconds.
    #[arg(long, default_value_t = 5000)]
    switch_interval_us: u64,
    /// Heap memory limit in bytes (allocations past it raise MemoryError).
    #[arg(long)]
    max_heap: Option<u64>,
    /// Switch automatic collection off (like gc.disable(); the final
    /// collection of the leak check still runs).
    #[arg(long)]
    no_gc: bool,
    /// Marking workers of the collector while the world is stopped.
    #[arg(long, default_value_t = 1)]
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
    #[arg(long)]
    inject_panic: Option<String>,
    /// A label for the machine block (e.g. "16-core sweep box").
    #[arg(long)]
    machine_label: Option<String>,
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
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            let args = DefaultRun::parse_from(["heaplab"]).args;
            run(RunArgs {
                duration: Some(0.5),
                warmup: Some(0.1),
                ..args
            })
        }
        Some(Command::List { workloads_dir }) => list(&workloads_dir),
        Some(Command::Run(args)) => run(*args),
        Some(Command::Report { dir }) => report(&dir),
        Some(Command::Compare {
            old,
            new,
            threshold,
        }) => compare(&old, &new, threshold),
        Some(Command::Trees {
            depth,
            policy,
            threads,
        }) => trees(depth, &policy, threads),
        Some(Command::Micro { op, policy, iters }) => micro(&op, &policy, iters),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("heaplab: error: {e}");
            ExitCode::from(2)
        }
    }
}

type CliResult = Result<ExitCode, String>;

fn list(dir: &Path) -> CliResult {
    println!("Policies:");
    for p in PolicyName::ALL {
        println!("  {:<12} {}", p.as_str(), p.summary());
    }
    println!("\nScenarios ({}):", dir.display());
    for s in catalogue(dir).map_err(|e| e.to_string())? {
        println!("  {:<22} {}", s.name, s.description);
    }
    println!("\nCollector modes: pool-walk (every policy), generational (gil only)");
    Ok(ExitCode::SUCCESS)
}

fn parse_policies(s: &str) -> Result<Vec<PolicyName>, String> {
    if s == "all" {
        return Ok(PolicyName::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        let p = PolicyName::parse(name).ok_or_else(|| {
            format!("--policy: unknown policy {name:?}; allowed: gil, pool-locks, biased, all")
        })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<Vec<usize>, String> {
    if s == "auto" {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut v: Vec<usize> = (1..=cores).collect();
        v.push(2 * cores);
        return Ok(v);
    }
    let mut out = Vec::new();
    for t in s.split(',').map(str::trim) {
        let n: usize = t.parse().map_err(|_| {
            format!("--threads: {t:?} is not a number; give a list like 1,2,4 or `auto`")
        })?;
        if n == 0 || n > MAX_THREADS {
            return Err(format!(
                "--threads: {n} is out of range: allowed 1..={MAX_THREADS}"
            ));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

fn select_scenarios(spec: &str, dir: &Path) -> Result<Vec<Scenario>, String> {
    let all = || catalogue(dir).map_err(|e| e.to_string());
    if spec == "all" {
        return all();
    }
    let mut cat: Option<Vec<Scenario>> = None;
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim) {
        let s = if item.ends_with(".toml") || item.contains('/') {
            Scenario::load(Path::new(item)).map_err(|e| e.to_string())?
        } else {
            if cat.is_none() {
                cat = Some(all()?);
            }
            let c = cat.as_ref().expect("loaded");
            c.iter().find(|s| s.name == item).cloned().ok_or_else(|| {
                let names: Vec<_> = c.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "--workload: unknown scenario {item:?}; known: {}",
                    names.join(", ")
                )
            })?
        };
        out.push(s);
    }
    Ok(out)
}

fn parse_inject(s: &str) -> Result<(usize, u64), String> {
    let (w, n) = s
        .split_once(':')
        .ok_or_else(|| format!("--inject-panic: {s:?} should be WORKER:STEPS, e.g. 1:1000"))?;
    Ok((
        w.parse()
            .map_err(|_| format!("--inject-panic: bad worker index {w:?}"))?,
        n.parse()
            .map_err(|_| format!("--inject-panic: bad step count {n:?}"))?,
    ))
}

fn now_utc() -> String {
    // RFC 3339 from the system clock, without a date crate.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

fn run(args: RunArgs) -> CliResult {
    let policies = parse_policies(&args.policy)?;
    let threads = parse_threads(&args.threads)?;
    let gc_mode = GcMode::parse(&args.gc).ok_or_else(|| {
        format!(
            "--gc: unknown mode {:?}; allowed: pool-walk, generational",
            args.gc
        )
    })?;
    if gc_mode == GcMode::Generational {
        if let Some(p) = policies.iter().find(|p| **p != PolicyName::Gil) {
            return Err(format!(
                "--gc generational needs the GIL (its lists are unlocked); policy {p} supports only pool-walk"
            ));
        }
    }
    if args.repeat == 0 || args.repeat > 1000 {
        return Err(format!(
            "--repeat: {} is out of range: allowed 1..=1000",
            args.repeat
        ));
    }
    let mut duration = args.duration;
    let mut warmup = args.warmup;
    let mut repeats = args.repeat;
    if args.quick {
        duration = Some(duration.unwrap_or(0.2).min(0.2));
        warmup = Some(warmup.unwrap_or(0.05).min(0.05));
        repeats = 1;
    }
    if let Some(d) = duration {
        if !(d > 0.0 && d <= heaplab::workload::scenario::MAX_DURATION_SECS) {
            return Err(format!(
                "--duration: {d} is out of range: allowed 0 < seconds <= 3600"
            ));
        }
    }
    if let Some(w) = warmup {
        if !(0.0..=heaplab::workload::scenario::MAX_WARMUP_SECS).contains(&w) {
            return Err(format!(
                "--warmup: {w} is out of range: allowed 0..=600 seconds"
            ));
        }
    }
    if args.switch_interval_us == 0 || args.switch_interval_us > 1_000_000 {
        return Err(format!(
            "--switch-interval-us: {} is out of range: allowed 1..=1000000",
            args.switch_interval_us
        ));
    }
    if args.mark_workers == 0 || args.mark_workers > 1024 {
        return Err(format!(
            "--mark-workers: {} is out of range: allowed 1..=1024",
            args.mark_workers
        ));
    }
    let inject_panic = args.inject_panic.as_deref().map(parse_inject).transpose()?;
    let scenarios = select_scenarios(&args.workload, &args.workloads_dir)?;
    // Check the output directory before spending minutes measuring.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("--out: cannot create {}: {e}", args.out.display()))?;
    let probe = args.out.join(".heaplab-write-test");
    std::fs::write(&probe, b"")
        .map_err(|e| format!("--out: cannot write in {}: {e}", args.out.display()))?;
    let _ = std::fs::remove_file(&probe);
    let final_path = args.out.join("results.json");
    // A stale complete file from an earlier run must not pass for this one.
    let _ = std::fs::remove_file(&final_path);

    let settings = RunSettings {
        duration,
        warmup,
        gc_mode,
        switch_interval: Duration::from_micros(args.switch_interval_us),
        max_heap: args.max_heap.map(|b| b as usize),
        mark_workers: args.mark_workers,
        gc_enabled: !args.no_gc,
        inject_panic,
        floor_pair_ns: 0.0,
    };
    if let Some(l) = &args.machine_label {
        std::env::set_var("HEAPLAB_MACHINE_LABEL", l);
    }
    let started = now_utc();
    let steal0 = metrics::cpu_steal_jiffies();
    eprintln!("heaplab: measuring floors and calibrating the work dial...");
    let floors = metrics::measure_floors();
    let settings = RunSettings {
        floor_pair_ns: floors.nonatomic_pair_ns,
        ..settings
    };
    let spinner = Spinner::calibrate();
    let plan = schedule(&scenarios, &policies, &threads, repeats);
    eprintln!(
        "heaplab: {} configurations ({} scenarios x {} policies x threads {:?} x {} repeats)",
        plan.len(),
        scenarios.len(),
        policies.len(),
        threads,
        repeats
    );
    let bar = indicatif::ProgressBar::new(plan.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} ETA {eta} {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let mut runs = Vec::with_capacity(plan.len());
    for cfg in &plan {
        bar.set_message(format!(
            "{} {} x{}",
            cfg.scenario.name, cfg.policy, cfg.threads
        ));
        let r = run_config(cfg, &settings, spinner);
        if r.status == Status::Failed {
            bar.println(format!(
                "FAILED {} {} x{} (repeat {}): {}",
                r.workload,
                r.policy,
                r.threads,
                r.repeat,
                r.error.as_deref().unwrap_or("?")
            ));
        }
        runs.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let python = python_peers(&scenarios, &threads, duration.unwrap_or(1.0));
    let mut notes = Vec::new();
    for r in &runs {
        if !r.output.is_empty() && r.repeat == 0 && r.threads == threads[0] {
            notes.push(format!(
                "{} under {} printed the Benchmarks Game's reference output: {}",
                r.workload,
                r.policy,
                r.output.join(" | ")
            ));
        }
    }
    let results = Results {
        schema: SCHEMA_VERSION,
        machine: metrics::machine(),
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
        finished: now_utc(),
        complete: true,
        settings: Settings {
            policies: policies.iter().map(|p| p.to_string()).collect(),
            workloads: scenarios.iter().map(|s| s.name.clone()).collect(),
            threads: threads.clone(),
            repeats,
            duration_secs: duration.unwrap_or(0.0),
            gc_mode: if args.no_gc {
                format!("{} (automatic collection off)", gc_mode.as_str())
            } else {
                gc_mode.as_str().into()
            },
            switch_interval_us: args.switch_interval_us,
            quick: args.quick,
            command_line: std::env::args().collect(),
            warmup_secs: warmup,
            mark_workers: Some(args.mark_workers),
            pinned: false,
            precision_pct: None,
            max_rounds: Some(repeats),
            budget_secs: None,
        },
        floors,
        steal_ratio: metrics::steal_ratio(steal0, metrics::cpu_steal_jiffies()),
        workloads: scenarios
            .iter()
            .map(heaplab::workload::runner::workload_info)
            .collect(),
        runs,
        python,
        notes,
        rounds: None,
        noise: None,
        instructions: None,
    };
    // Write to a temporary name, then rename: a run that fails half-way
    // never leaves a file that looks complete.
    let tmp = args.out.join("results.json.partial");
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, json).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &final_path)
        .map_err(|e| format!("cannot write {}: {e}", final_path.display()))?;
    print_summary(&results);
    let written = write_reports(&args.out, &results)?;
    println!("\nResults: {}", final_path.display());
    for w in written {
        println!("Report:  {}", w.display());
    }
    let failed = results
        .runs
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    if failed > 0 {
        println!("{failed} configuration(s) FAILED: see the report's failures section.");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// CPython in the same run: the same-shaped programs on the machine's
/// python3, for the scenarios that have a peer.
fn python_peers(
    scenarios: &[Scenario],
    threads: &[usize],
    duration: f64,
) -> Vec<heaplab::results::PythonPeer> {
    use heaplab::workload::python;
    let wanted: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| s.driver() == "binary-trees" || s.driver() == "convoy")
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Some(version) = python::python_version() else {
        eprintln!("heaplab: no python3 on this machine: CPython peers skipped");
        return Vec::new();
    };
    eprintln!("heaplab: running the same-shaped programs on {version}...");
    let mut out = Vec::new();
    for s in wanted {
        for &t in threads.iter().filter(|&&t| t <= 4) {
            out.push(match s.driver() {
                "binary-trees" => {
                    python::binary_trees(&version, s.param(&s.params.depth, 10), t, duration)
                }
                _ => python::convoy(&version, t, duration, s.param(&s.params.sleep_us, 1000)),
            });
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn print_summary(r: &Results) {
    println!("\nMedian throughput (ops/s) and scaling (N threads over 1 thread):");
    for w in &r.workloads {
        println!("\n  {} — {}", w.name, w.description);
        print!("    {:<12}", "policy");
        for t in &r.settings.threads {
            print!(" {:>14}", format!("{t} thr"));
        }
        println!();
        for p in &r.settings.policies {
            print!("    {:<12}", p);
            let one = median(
                r.runs_of(&w.name, p, 1)
                    .filter(|x| x.status == Status::Ok)
                    .map(|x| x.ops_per_sec)
                    .collect(),
            );
            for &t in &r.settings.threads {
                let ok: Vec<_> = r
                    .runs_of(&w.name, p, t)
                    .filter(|x| x.status == Status::Ok)
                    .collect();
                if ok.is_empty() {
                    print!(" {:>14}", "FAILED");
                    continue;
                }
                let m = median(ok.iter().map(|x| x.ops_per_sec).collect());
                let cell = if t > 1 && one > 0.0 {
                    format!("{} {:.2}x", si(m), m / one)
                } else {
                    si(m)
                };
                print!(" {:>14}", cell);
            }
            if let Some(h) = &w.headline_role {
                let p99 = median(
                    r.runs_of(&w.name, p, *r.settings.threads.last().unwrap_or(&1))
                        .filter(|x| x.status == Status::Ok)
                        .map(|x| x.headline_latency().p99 as f64)
                        .collect(),
                );
                print!("   {h} p99 {}", ns(p99));
            }
            println!();
        }
    }
}

fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ns(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} ms", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} us", x / 1e3)
    } else {
        format!("{x:.0} ns")
    }
}

fn write_reports(dir: &Path, r: &Results) -> Result<Vec<PathBuf>, String> {
    heaplab::report::write_reports(dir, r).map_err(|e| e.to_string())
}

fn report(dir: &Path) -> CliResult {
    let r = Results::load(dir).map_err(|e| e.to_string())?;
    let out = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    for w in write_reports(&out, &r)? {
        println!("{}", w.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn compare(old: &Path, new: &Path, threshold: f64) -> CliResult {
    if !(0.0..=1000.0).contains(&threshold) {
        return Err(format!(
            "--threshold: {threshold} is out of range: allowed 0..=1000 percent"
        ));
    }
    let a = Results::load(old).map_err(|e| e.to_string())?;
    let b = Results::load(new).map_err(|e| e.to_string())?;
    let c = heaplab::report::compare::compare(&a, &b, threshold);
    print!("{}", c.render_text());
    // Two runs with nothing in common cannot rule a regression out: an
    // error (exit 2), never a silent "no regression".
    match (c.exit_code(), c.nothing_compared()) {
        (2, Some(why)) => Err(format!("nothing compared: {why}")),
        (code, _) => Ok(ExitCode::from(code)),
    }
}

fn trees(depth: u64, policy: &str, threads: usize) -> CliResult {
    let p = PolicyName::parse(policy).ok_or_else(|| {
        format!("--policy: unknown policy {policy:?}; allowed: gil, pool-locks, biased")
    })?;
    if !(4..=24).contains(&depth) {
        return Err(format!("depth {depth} is out of range: allowed 4..=24"));
    }
    if threads == 0 || threads > MAX_THREADS {
        return Err(format!(
            "--threads: {threads} is out of range: allowed 1..={MAX_THREADS}"
        ));
    }
    let text = format!(
        "name = \"binary-trees\"\ndescription = \"cli\"\ndriver = \"binary-trees\"\n[run]\nops_per_thread = 1\n[params]\ndepth = {depth}\n"
    );
    let s = Scenario::parse(&text, "<trees>").map_err(|e| e.to_string())?;
    let cfg = heaplab::workload::Config {
        scenario: &s,
        policy: p,
        threads,
        repeat: 0,
    };
    let r = run_config(&cfg, &RunSettings::default(), Spinner::calibrate());
    if r.status == Status::Failed {
        return Err(r.error.unwrap_or_default());
    }
    for l in &r.output {
        println!("{l}");
    }
    eprintln!(
        "({}: {:.3} s, {} threads, leak check clean)",
        p, r.seconds, threads
    );
    Ok(ExitCode::SUCCESS)
}

fn micro(op: &str, policy: &str, iters: u64) -> CliResult {
    let p = PolicyName::parse(policy).ok_or_else(|| {
        format!("--policy: unknown policy {policy:?}; allowed: gil, pool-locks, biased")
    })?;
    heaplab::with_policy!(p, P => micro_typed::<P>(op, iters))
}

fn micro_typed<P: heaplab::Policy>(op: &str, iters: u64) -> CliResult {
    use heaplab::alloc::{ClassPools, Domain};
    let h = heaplab::Heap::<P>::with_defaults();
    let m = h.attach();
    match op {
        "alloc-free" => {
            let keep = m.alloc_leaf(&[0; 16]).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                std::hint::black_box(m.alloc_leaf(&[0; 16]).map_err(|e| e.to_string())?);
            }
            drop(keep);
        }
        "raw-alloc-free" => {
            let mut table = ClassPools::default();
            let mem = h.mem();
            // SAFETY: a private class table of this thread; blocks are freed
            // right away and the empty pools given back before it is dropped.
            unsafe {
                let keep = table
                    .alloc(Domain::Raw, 1, mem, std::ptr::null())
                    .map_err(|e| format!("{e:?}"))?;
                for _ in 0..iters {
                    let b = table
                        .alloc(Domain::Raw, 1, mem, std::ptr::null())
                        .map_err(|e| format!("{e:?}"))?;
                    table.free(std::hint::black_box(b), mem);
                }
                table.free(keep, mem);
                table.release_empty(mem);
            }
        }
        "incref-decref" => {
            let r = m.alloc_int(1).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                std::hint::black_box(r.clone());
            }
        }
        _ => {
            return Err(format!(
                "micro: unknown op {op:?}; allowed: alloc-free, raw-alloc-free, incref-decref"
            ))
        }
    }
    Ok(ExitCode::SUCCESS)
}
