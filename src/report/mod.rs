//! Reports rendered from `results.json` only (Markdown, HTML with SVG charts,
//! CSV) and [`compare`] of two runs: the last stage of the lab's one-way data
//! flow (scenario -> runner -> heap -> metrics -> results JSON -> report).
//!
//! Nothing here reads live state, so any stored run can be re-rendered or
//! compared later. The report depends on nothing of the crate but
//! [`crate::results`] (a test holds it to that), so it could move into a
//! crate of its own without a change of code.
//!
//! The pieces, each depending only on those above it:
//!
//! - `estimate`: median, spread, and [`Ratio`](estimate::Ratio), the one
//!   type every ratio travels in (its interval, once the statistics give
//!   one, then shows everywhere);
//! - `format`: how every number is written;
//! - `stats`: groups runs into configurations (workload x policy x
//!   threads), decides which runs count (a failed, leaking or unverified run
//!   never does), takes every ratio between configurations, one colour per
//!   policy;
//! - `doc`: the report as a format-neutral document (sections, foldable in
//!   HTML; tables; the heat map);
//! - `spec`: table specs, one list of (title, value of a row, format) per
//!   table, shared by Markdown, HTML and CSV so a column and its cells cannot
//!   drift apart;
//! - `finding` (what a finding is, and the verdict on a ratio), `field` (the
//!   field's published results held up against the run), `counting` (the
//!   count-free policies over their counting twins) and `findings` (the
//!   lab's own questions and the list of every finder);
//! - `latency`: percentiles of a configuration's repeats merged, with a
//!   bootstrap interval over repeats;
//! - `tables` (a scenario's tables), `overview` (the heat map's data and the
//!   headline latencies) and `build` (the whole document);
//! - `markdown` (`report.md`) and `html` (`report.html`) render the one
//!   document; `svg` is the drawing kit of the hand-written charts,
//!   `charts` the scenario charts and `heatmap` the overview;
//! - `csv`: `runs.csv`, one row per run, from its own spec;
//! - [`compare`]: NEW/OLD per configuration, tested (Welch's t on logs,
//!   Holm across configurations), with `provenance` (what two runs must
//!   share) and `compare_render` (text, Markdown, JSON).
//!
//! Every renderer is total: empty runs, all runs failed, a single thread
//! count or zero latencies give a report that says so, never a panic.

mod breakdown;
mod build;
mod charts;
pub mod compare;
mod compare_render;
pub mod console;
mod counting;
mod csv;
mod doc;
mod estimate;
mod field;
mod finding;
mod findings;
mod format;
mod heatmap;
mod html;
mod latency;
mod markdown;
mod overview;
mod pauses;
mod provenance;
mod spec;
mod stats;
mod svg;
mod tables;
mod waterfall;

pub use compare::{compare, compare_with, Comparison, Correction};
pub use compare_render::Format;
pub use estimate::Ratio;
pub use finding::{Finding, Question};

use crate::results::Results;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors writing reports; each names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create report directory {}: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot move the finished report into place as {}: {source}", .path.display())]
    Rename {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `report.md`: the whole report as Markdown.
pub fn render_markdown(r: &Results) -> String {
    let s = stats::Summary::new(r);
    markdown::render(&build::document(&s))
}

/// `report.html`: the same report as one self-contained HTML file with
/// inline SVG charts.
pub fn render_html(r: &Results) -> String {
    let s = stats::Summary::new(r);
    html::render(&s, &build::document(&s))
}

/// `runs.csv`: one row per run, failed runs included.
pub fn render_csv(r: &Results) -> String {
    csv::render(r)
}

/// The "Findings" of a run (what the reports list at the top), for callers
/// that want to print them, e.g. at the end of a run.
pub fn findings(r: &Results) -> Vec<Finding> {
    findings::findings(&stats::Summary::new(r))
}

/// Writes `DIR/report.md`, `DIR/report.html` and `DIR/runs.csv`, creating
/// DIR if needed, and returns their paths.
///
/// Everything is rendered before anything is written, and each file is
/// written to a temporary name in DIR and renamed into place, so a failure
/// (disk full, permissions) never leaves a half-written report under a final
/// name: a reader sees the old file or the new one.
pub fn write_reports(dir: &Path, r: &Results) -> Result<Vec<PathBuf>, ReportError> {
    let files = [
        ("report.md", render_markdown(r)),
        ("report.html", render_html(r)),
        ("runs.csv", render_csv(r)),
    ];
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in files {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Same directory, so the rename cannot cross file systems.
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ReportError::Rename {
            path: path.to_path_buf(),
            source,
        }
    })
}
