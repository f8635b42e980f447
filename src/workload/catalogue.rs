//! The scenario catalogue: the scenarios a run can name, and the selection
//! of `--workload` (names from the catalogue, paths to scenario files, or
//! `all`).

use super::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

/// The scenarios a run can name, each name once.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub scenarios: Vec<Scenario>,
}

impl Catalogue {
    /// The scenario files of a directory.
    pub fn from_dir(dir: &Path) -> Result<Catalogue, ScenarioError> {
        Ok(Catalogue {
            scenarios: catalogue(dir)?,
        })
    }

    pub fn find(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.scenarios.iter().map(|s| s.name.as_str()).collect()
    }
}

/// The scenario files (`*.toml`) of a directory, sorted by file name; two
/// files with one scenario name are an error.
pub fn catalogue(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let rd = std::fs::read_dir(dir).map_err(|e| ScenarioError {
        file: dir.display().to_string(),
        line: None,
        message: format!("cannot read the workloads directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out: Vec<Scenario> = Vec::new();
    for p in paths {
        let s = Scenario::load(&p)?;
        if let Some(prev) = out.iter().find(|o| o.name == s.name) {
            return Err(ScenarioError {
                file: s.file.clone(),
                line: None,
                message: format!("name {:?} is already used by {}", s.name, prev.file),
            });
        }
        out.push(s);
    }
    Ok(out)
}

/// The scenarios `--workload` names: `all`, or a comma-separated list of
/// catalogue names and paths to `.toml` files. A scenario named twice runs
/// once (and `say` is told so); two different scenarios under one name are
/// an error, since the results could not tell them apart.
pub fn select(
    spec: &str,
    catalogue: &Catalogue,
    say: &mut dyn FnMut(&str),
) -> Result<Vec<Scenario>, String> {
    if spec.trim() == "all" {
        return Ok(catalogue.scenarios.clone());
    }
    let mut out: Vec<Scenario> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        let s = if item.ends_with(".toml") || item.contains('/') {
            Scenario::load(Path::new(item)).map_err(|e| e.to_string())?
        } else {
            catalogue.find(item).cloned().ok_or_else(|| {
                format!(
                    "--workload: unknown scenario {item:?}; known: {}",
                    catalogue.names().join(", ")
                )
            })?
        };
        if let Some(prev) = out.iter().find(|o| o.name == s.name) {
            if prev.file != s.file {
                return Err(format!(
                    "--workload: two scenarios are named {:?} ({} and {}): rename one",
                    s.name, prev.file, s.file
                ));
            }
            say(&format!(
                "--workload names {} twice: it runs once per repeat",
                s.name
            ));
            continue;
        }
        out.push(s);
    }
    Ok(out)
}
