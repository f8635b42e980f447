//! The scenario catalogue: the scenarios a run can name, and the selection
//! of `--workload` (names from the catalogue, paths to scenario files, or
//! `all`).
//!
//! The catalogue is built into the binary: the texts of `workloads/*.toml`
//! are included at compile time ([`BUILTIN`]), so an installed `heaplab`
//! runs its scenarios from any directory. A workloads directory (`./workloads`
//! when there is one, or `--workloads-dir`) overrides a built-in scenario
//! with a file of the same scenario name and extends the catalogue with new
//! ones.

use super::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

/// Where a built-in scenario says it came from, in errors and in `list`.
pub const BUILTIN_PREFIX: &str = "<built-in>/";

macro_rules! builtin {
    ($file:literal) => {
        ($file, include_str!(concat!("../../workloads/", $file)))
    };
}

/// The scenario files of `workloads/`, as (file name, text), compiled in.
/// A test checks that this list and the directory hold the same files.
pub const BUILTIN: &[(&str, &str)] = &[
    builtin!("alloc-churn.toml"),
    builtin!("binary-trees.toml"),
    builtin!("convoy.toml"),
    builtin!("cyclic-garbage.toml"),
    builtin!("list-mutation.toml"),
    builtin!("mixed-server.toml"),
    builtin!("producer-consumer.toml"),
    builtin!("shared-read-immortal.toml"),
    builtin!("shared-read.toml"),
];

/// The scenarios a run can name, each name once.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub scenarios: Vec<Scenario>,
}

impl Catalogue {
    /// The scenarios built into the binary.
    pub fn builtin() -> Result<Catalogue, ScenarioError> {
        let mut scenarios: Vec<Scenario> = Vec::with_capacity(BUILTIN.len());
        for (file, text) in BUILTIN {
            let s = Scenario::parse(text, &format!("{BUILTIN_PREFIX}{file}"))?;
            scenarios.push(s);
        }
        Ok(Catalogue { scenarios })
    }

    /// The built-in scenarios, overridden (same scenario name) and extended
    /// by the files of `dir` where one is given.
    pub fn load(dir: Option<&Path>) -> Result<Catalogue, ScenarioError> {
        let mut catalogue = Catalogue::builtin()?;
        if let Some(dir) = dir {
            for s in self::catalogue(dir)? {
                match catalogue.scenarios.iter_mut().find(|b| b.name == s.name) {
                    Some(builtin) => *builtin = s,
                    None => catalogue.scenarios.push(s),
                }
            }
        }
        Ok(catalogue)
    }

    /// Whether a scenario is the built-in one (not a file's).
    pub fn is_builtin(s: &Scenario) -> bool {
        s.file.starts_with(BUILTIN_PREFIX)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads")
    }

    #[test]
    fn the_builtin_list_holds_every_file_of_the_workloads_directory() {
        let mut files: Vec<String> = std::fs::read_dir(dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        files.sort();
        let builtin: Vec<&str> = BUILTIN.iter().map(|(f, _)| *f).collect();
        assert_eq!(builtin, files, "add the new file to BUILTIN");
        for (file, text) in BUILTIN {
            assert_eq!(
                *text,
                std::fs::read_to_string(dir().join(file)).unwrap(),
                "{file}"
            );
        }
    }

    #[test]
    fn the_builtin_catalogue_is_the_directory_and_a_directory_overrides_and_extends_it() {
        let builtin = Catalogue::builtin().unwrap();
        let files = Catalogue::from_dir(&dir()).unwrap();
        assert_eq!(builtin.names(), files.names());
        assert!(builtin.scenarios.iter().all(Catalogue::is_builtin));

        let d = std::env::temp_dir().join(format!("heaplab-catalogue-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let churn = BUILTIN
            .iter()
            .find(|(f, _)| *f == "alloc-churn.toml")
            .unwrap()
            .1;
        std::fs::write(
            d.join("mine.toml"),
            churn.replace("name = \"alloc-churn\"", "name = \"my-churn\""),
        )
        .unwrap();
        std::fs::write(
            d.join("churn.toml"),
            churn.replace("working_set = 128", "working_set = 7"),
        )
        .unwrap();
        let c = Catalogue::load(Some(&d)).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        assert_eq!(c.scenarios.len(), builtin.scenarios.len() + 1);
        let overridden = c.find("alloc-churn").unwrap();
        assert!(!Catalogue::is_builtin(overridden));
        assert_eq!(overridden.param(&overridden.params.working_set, 0), 7);
        assert!(c.find("my-churn").is_some());
        assert!(Catalogue::is_builtin(c.find("convoy").unwrap()));
    }
}
