//! Instruction counts per operation at one thread (`heaplab instr`): the
//! repeatable single-thread figure on a noisy machine, since callgrind counts
//! instructions, not seconds.

use serde::{Deserialize, Serialize};

/// One table of counts, as `heaplab instr` writes it (and as a results file
/// carries it when a run's directory has one).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Instructions {
    /// The counting tool and its version (e.g. `valgrind-3.19.0 callgrind`).
    pub tool: String,
    /// heaplab's version and commit the counts are of.
    pub heaplab: String,
    /// How one count is made, in words.
    pub method: String,
    pub counts: Vec<InstructionCount>,
}

/// Instructions per operation of one scenario under one policy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct InstructionCount {
    pub workload: String,
    pub policy: String,
    /// The operations counted (the difference of two fixed-length runs).
    pub ops: u64,
    /// The instructions those operations took.
    pub instructions: u64,
    /// `instructions / ops`.
    pub per_op: f64,
    /// Why there is no count (empty when there is one).
    #[serde(default)]
    pub error: String,
}
