//! A run's output directory: `results.json` and the reports rendered from it
//! appear and disappear as one set.
//!
//! The rule a reader may rely on: a report in the directory always belongs
//! to the `results.json` beside it. So, before measuring, the directory is
//! checked (every output can be written; none of the names is taken by a
//! directory) and the previous run's files are removed reports first, then
//! `results.json`; at the end `results.json` is written first (to a
//! temporary name, renamed when complete) and the reports after it. A run
//! killed at any point (even by `kill -9`) leaves either nothing, or
//! `results.json` without its reports (`heaplab report DIR` renders them),
//! or the whole set: never a stale report beside a missing or newer
//! `results.json`.

use heaplab::results::Results;
use std::path::{Path, PathBuf};

/// The record of a run.
pub const RESULTS: &str = "results.json";
/// `results.json` while it is being written.
pub const PARTIAL: &str = "results.json.partial";
/// What `heaplab::report::write_reports` writes (a test checks they agree).
pub const REPORTS: [&str; 3] = ["report.md", "report.html", "runs.csv"];

/// A checked output directory.
pub struct OutputDir {
    dir: PathBuf,
}

impl OutputDir {
    /// Creates the directory if needed and checks that every output can be
    /// written there, before anything is measured.
    pub fn prepare(dir: &Path) -> Result<OutputDir, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--out: cannot create {}: {e}", dir.display()))?;
        for name in REPORTS.iter().chain([&RESULTS, &PARTIAL]) {
            let path = dir.join(name);
            if path.exists() && !path.is_file() {
                return Err(format!(
                    "--out: {} exists and is not a file: remove it or choose another --out",
                    path.display()
                ));
            }
        }
        let probe = dir.join(".heaplab-write-test");
        std::fs::write(&probe, b"")
            .map_err(|e| format!("--out: cannot write in {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
        Ok(OutputDir {
            dir: dir.to_path_buf(),
        })
    }

    /// Removes the previous run's outputs: reports first, then the record
    /// they were rendered from, so that no moment leaves a report without
    /// its `results.json`.
    pub fn clear_previous(&self) -> Result<(), String> {
        for name in REPORTS.iter().chain([&PARTIAL, &RESULTS]) {
            let path = self.dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("--out: cannot remove {}: {e}", path.display())),
            }
        }
        Ok(())
    }

    /// Writes `results.json` (complete or not at all), then the reports
    /// rendered from it; returns the results path and the reports' paths.
    pub fn commit(&self, results: &Results) -> Result<(PathBuf, Vec<PathBuf>), String> {
        let tmp = self.dir.join(PARTIAL);
        let path = self.dir.join(RESULTS);
        let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, json).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let reports = heaplab::report::write_reports(&self.dir, results).map_err(|e| {
            format!(
                "{e} ({} is complete: `heaplab report {}` renders the reports again)",
                path.display(),
                self.dir.display()
            )
        })?;
        Ok((path, reports))
    }
}
