//! Workloads: the scenario catalogue (`workloads/*.toml`), the drivers that
//! give each scenario its program shape, and the multi-threaded runner.
//!
//! Data flows one way: scenario file -> [`runner`] -> `Heap<P>` -> metrics ->
//! `results.json` -> report.

pub mod drivers;
pub mod limits;
pub mod phase;
pub mod python;
pub mod runner;
pub mod scenario;

pub use runner::{run_config, schedule, Config, RunSettings};
pub use scenario::{catalogue, Scenario, ScenarioError};
