//! The small commands: `list`, `report`, `compare`, `trees`.

use super::outputs::REPORTS;
use super::CliResult;
use heaplab::report::{Correction, Format};
use heaplab::results::{Results, Status};
use heaplab::workload::scenario::{MAX_TREE_DEPTH, MIN_TREE_DEPTH};
use heaplab::workload::{run_config, Catalogue, Config, Driver, RunSettings, Scenario};
use heaplab::{metrics::Spinner, PolicyName};
use std::path::Path;
use std::process::ExitCode;

/// `heaplab list`: policies, drivers, collector modes and scenarios (those
/// of one driver with `--driver`).
pub fn list(workloads_dir: Option<&Path>, driver: Option<Driver>) -> CliResult {
    println!("Policies:");
    for p in PolicyName::ALL {
        println!("  {:<18} {}", p.as_str(), p.summary());
    }
    println!("\nDrivers:");
    for d in Driver::ALL
        .into_iter()
        .filter(|d| driver.is_none_or(|x| x == *d))
    {
        println!("  {:<18} {}", d.as_str(), d.summary());
    }
    let catalogue = Catalogue::load(workloads_dir).map_err(|e| e.to_string())?;
    match workloads_dir {
        Some(dir) => println!(
            "\nScenarios (built in; {} overrides and extends them):",
            dir.display()
        ),
        None => println!("\nScenarios (built in):"),
    }
    for s in &catalogue.scenarios {
        if driver.is_none_or(|d| d == s.driver()) {
            let from = if Catalogue::is_builtin(s) {
                String::new()
            } else {
                format!(" [{}]", s.file)
            };
            println!("  {:<22} {}{from}", s.name, s.description);
        }
    }
    println!("\nCollector modes: pool-walk (every policy), generational (gil only)");
    Ok(ExitCode::SUCCESS)
}

/// `heaplab report DIR [--out OUT] [--force]`: renders the reports of a
/// stored run, beside it or into OUT; reports already there are replaced
/// only with `--force` (they may be the committed ones).
pub fn report(dir: &Path, out: Option<&Path>, force: bool) -> CliResult {
    let mut r = Results::load(dir).map_err(|e| e.to_string())?;
    let beside = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    // Instruction counts taken beside the run (`heaplab instr --out DIR`)
    // join its report.
    let counts = beside.join(super::instr::FILE);
    if r.instructions.is_none() && counts.is_file() {
        let text = std::fs::read_to_string(&counts)
            .map_err(|e| format!("cannot read {}: {e}", counts.display()))?;
        r.instructions = Some(
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not an instruction table: {e}", counts.display()))?,
        );
    }
    let out = out.map(Path::to_path_buf).unwrap_or(beside);
    if !force {
        if let Some(taken) = REPORTS.iter().map(|n| out.join(n)).find(|p| p.exists()) {
            return Err(format!(
                "report: {} exists: give --out DIR to write elsewhere, or --force to replace it",
                taken.display()
            ));
        }
    }
    for w in heaplab::report::write_reports(&out, &r).map_err(|e| e.to_string())? {
        println!("{}", w.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `heaplab compare OLD NEW`: ratios NEW/OLD; exit 1 on a regression, 2
/// when the runs share no configuration.
pub fn compare(
    old: &Path,
    new: &Path,
    threshold: f64,
    format: Format,
    correction: Correction,
) -> CliResult {
    if !(0.0..=1000.0).contains(&threshold) {
        return Err(format!(
            "--threshold: {threshold} is out of range: allowed 0..=1000 percent"
        ));
    }
    let a = Results::load(old).map_err(|e| e.to_string())?;
    let b = Results::load(new).map_err(|e| e.to_string())?;
    let c = heaplab::report::compare_with(&a, &b, threshold, correction);
    print!("{}", c.render(format));
    // Two runs with nothing in common cannot rule a regression out: an
    // error (exit 2), never a silent "no regression".
    match (c.exit_code(), c.nothing_compared()) {
        (2, Some(why)) => Err(format!("nothing compared: {why}")),
        (code, _) => Ok(ExitCode::from(code)),
    }
}

/// `heaplab trees N`: the binary-trees program once, with its output.
pub fn trees(depth: u64, policy: PolicyName, threads: usize) -> CliResult {
    debug_assert!((MIN_TREE_DEPTH..=MAX_TREE_DEPTH).contains(&depth));
    let text = format!(
        "name = \"binary-trees\"\ndescription = \"cli\"\ndriver = \"{}\"\n[run]\nops_per_thread = 1\n[params]\ndepth = {depth}\n",
        Driver::BinaryTrees
    );
    let s = Scenario::parse(&text, "<trees>").map_err(|e| e.to_string())?;
    let cfg = Config {
        scenario: &s,
        policy,
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
        policy, r.seconds, threads
    );
    Ok(ExitCode::SUCCESS)
}
