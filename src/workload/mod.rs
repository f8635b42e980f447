//! Workloads: the scenario catalogue (`workloads/*.toml`), the drivers that
//! give each scenario its program shape, the multi-threaded runner, and the
//! suite that runs a matrix of configurations into one results file.
//!
//! - [`scenario`]: the schema of a scenario file and its validation;
//!   [`driver`]: the program shapes a scenario names; [`catalogue`]: the
//!   scenarios a run can name, and `--workload`'s selection;
//! - [`instr`]: one scenario at one thread for a fixed number of
//!   operations, deterministic, for instruction counting;
//! - [`drivers`]: the programs; [`phase`] and [`runner`]: one configuration
//!   on a fresh heap, measured and checked; [`limits`]: the bounds on what a
//!   run may take;
//! - [`suite`]: every configuration of a run, in interleaved rounds, into
//!   `Results` ([`timestamp`] dates it), with the CPython peers of
//!   [`python`]; [`rounds`]: which configurations a further round runs
//!   (adaptive repetition); [`noise`]: how noisy the machine was.
//!
//! Data flows one way: scenario file -> [`runner`] -> `Heap<P>` -> metrics ->
//! `results.json` -> report.

pub mod catalogue;
pub mod driver;
pub mod drivers;
pub mod instr;
pub mod limits;
mod mix;
pub mod noise;
pub mod phase;
pub mod python;
pub mod rounds;
pub mod runner;
pub mod scenario;
pub mod suite;
pub mod timestamp;
pub mod trees;
mod validate;

pub use catalogue::{catalogue, Catalogue};
pub use driver::Driver;
pub use runner::{run_config, schedule, Config, RunSettings};
pub use scenario::{Scenario, ScenarioError};
