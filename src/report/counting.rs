//! "The cost of counting": the count-free policies held up against the
//! counting ones with the same lock design, the other half of the lab's
//! 2x2 of {GIL, no GIL} x {reference counts, tracing}.
//!
//! - `gil-tracing` over `gil`: PyPy's heap against CPython's, both under a
//!   GIL (the field: PyPy runs binary-trees several times faster than
//!   CPython, though much of that is its JIT, which the lab does not model);
//! - `tracing` over `biased`: the JVM's heap (Jython, IronPython) against
//!   free-threaded CPython's, both without a GIL;
//!
//! at one thread and at the most threads the scenario ran, each a ratio of
//! median throughputs with its 95% interval, judged by `finding::verdict`.
//! A finder of `findings::FINDERS`; it finds nothing in runs without the
//! tracing policies.

use super::doc::code;
use super::finding::{verdict, versus, Finding, Question, FASTER};
use super::format;
use super::stats::{Scenario, Summary};

/// The pairs compared: a count-free policy and its counting twin.
const PAIRS: [(&str, &str); 2] = [("gil-tracing", "gil"), ("tracing", "biased")];

const TOPIC: &str =
    "The cost of counting: no counts over counts, same lock (PyPy on binary-trees: several times CPython)";

fn tputs(sc: &Scenario, a: (&str, usize), b: (&str, usize)) -> String {
    let t = |(p, n): (&str, usize)| sc.tput(p, n).unwrap_or(f64::NAN);
    versus(t(a), t(b), format::si, "ops/s")
}

/// `gil-tracing` over `gil` and `tracing` over `biased`, at 1 and N threads.
pub fn cost_of_counting(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for sc in &s.scenarios {
        let mut counts = vec![1];
        if let Some(&n) = sc.threads.last() {
            if n > 1 {
                counts.push(n);
            }
        }
        for (traced, counted) in PAIRS {
            for &t in &counts {
                let Some(r) = sc.tput_ratio((traced, t), (counted, t)) else {
                    continue;
                };
                out.push(
                    Finding {
                        question: Question::Field,
                        topic: TOPIC.into(),
                        workload: Some(sc.name.clone()),
                        threads: Some(t),
                        subject: format!("{} over {}", code(traced), code(counted)),
                        measured: format::times(&r),
                        basis: tputs(sc, (traced, t), (counted, t)),
                        verdict: verdict(&r, sc.precision, FASTER),
                        ratio: Some(r.value),
                        ..Default::default()
                    }
                    .done(),
                );
            }
        }
    }
    out
}
