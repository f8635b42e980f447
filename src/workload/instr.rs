//! The counted loop of `heaplab instr`: one scenario at one thread for a
//! fixed number of operations, deterministic, so that an instruction counter
//! (callgrind) gives the same count on every run of the same build.
//!
//! What the timed runner does and this does not: no warm-up or measured
//! window (no clock decides anything), no memory-sampling thread, no worker
//! threads (the main thread is the one worker), no calibrated spin (the work
//! dial is left at zero: the count is the heap's own), no latency samples.
//! What remains is the scenario's program: the fixture, the driver's steps
//! with a checkpoint after each (as in the runner), and the teardown. The
//! caller runs it twice with different operation counts and takes the
//! difference, so set-up and teardown cancel (`cli::instr`).

use super::driver::Driver;
use super::drivers::{Fixture, Worker};
use super::scenario::Scenario;
use crate::{with_policy, Heap, HeapConfig, Policy, PolicyName};

/// Why a scenario is not counted at one thread, if it is not.
pub fn not_countable(s: &Scenario) -> Option<&'static str> {
    match s.driver() {
        Driver::Convoy => Some("its one thread is the sleeper, which sleeps: nothing to count"),
        Driver::ProducerConsumer => Some("it needs a producer and a consumer thread"),
        _ => None,
    }
}

/// Runs `s` under `policy` on this thread until at least `ops` operations
/// are done (whole steps), and returns how many were.
pub fn run(s: &Scenario, policy: PolicyName, ops: u64) -> Result<u64, String> {
    if let Some(why) = not_countable(s) {
        return Err(format!("{}: not counted: {why}", s.name));
    }
    with_policy!(policy, P => run_typed::<P>(s, ops))
}

fn run_typed<P: Policy>(s: &Scenario, ops: u64) -> Result<u64, String> {
    let heap = Heap::<P>::new(HeapConfig::default()).map_err(|e| e.to_string())?;
    let m = heap.attach();
    let fixture = Fixture::new(s, &m, &heap).map_err(|e| format!("setup: {e}"))?;
    let mut done = 0u64;
    {
        let mut w = Worker::new(s, &fixture, 0, 1);
        let never = || false;
        while done < ops {
            let step = w.step(&m, &never).map_err(|e| e.to_string())?;
            m.checkpoint();
            done += step.ops;
        }
        w.release();
    }
    drop(fixture);
    m.apply_pending();
    m.collect();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::catalogue::Catalogue;

    #[test]
    fn counts_whole_steps_and_refuses_what_cannot_run_alone() {
        let cat = Catalogue::load(None).unwrap();
        let churn = cat.find("alloc-churn").unwrap();
        let n = run(churn, PolicyName::Biased, 1000).unwrap();
        assert!(n >= 1000, "{n}");
        assert_eq!(
            run(churn, PolicyName::Biased, 1000).unwrap(),
            n,
            "deterministic"
        );
        let convoy = cat.find("convoy").unwrap();
        assert!(run(convoy, PolicyName::Gil, 10)
            .unwrap_err()
            .contains("not counted"));
    }
}
