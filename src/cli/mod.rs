//! The command line's own pieces, which `main.rs` dispatches to: argument
//! values over the core's lists ([`values`]), the `run` command and its
//! console ([`run`], [`progress`], [`interrupt`]), the output directory
//! ([`outputs`]), the small commands ([`commands`], [`micro`]).

pub mod commands;
pub mod instr;
pub mod interrupt;
pub mod micro;
pub mod outputs;
pub mod progress;
pub mod run;
pub mod values;

use std::path::PathBuf;
use std::process::ExitCode;

/// The directory whose scenario files override and extend the built-in
/// catalogue: the one given, or `./workloads` where there is one (so that
/// in a checkout, edited files count), or none (an installed binary
/// anywhere else runs its built-in catalogue).
pub fn workloads_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        let local = PathBuf::from("workloads");
        local.is_dir().then_some(local)
    })
}

/// A command's outcome: its exit status, or an error printed in one line
/// with exit status 2.
pub type CliResult = Result<ExitCode, String>;

/// A usage error in one line (clap's own text without the usage block and
/// the "for more information" line), exit status 2; help and version print
/// as clap prints them.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let text = e.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect();
    let (tips, said): (Vec<&str>, Vec<&str>) =
        parts.into_iter().partition(|l| l.starts_with("tip:"));
    let said = said.join(" ");
    let said = said.strip_prefix("error: ").unwrap_or(&said);
    if tips.is_empty() {
        eprintln!("heaplab: error: {said}");
    } else {
        eprintln!("heaplab: error: {said} ({})", tips.join("; "));
    }
    ExitCode::from(2)
}
