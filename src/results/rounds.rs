//! Rounds and the headline ratios: what a run promises to settle, and how
//! far it got.
//!
//! A *round* is one pass over every configuration of the run, in the
//! interleaved order (A B C A B C); `Run::repeat` is the round a run belongs
//! to. The *headline ratios* of a scenario ([`headline_pairs`]) are the
//! questions its report leads with: each policy over `gil` at one thread and
//! at the largest thread count, each policy's scaling at two threads, and,
//! where the scenario gives its threads roles, the headline role's p99 of
//! each policy over `gil`'s. Adaptive repetition adds rounds to the pairs
//! whose 95% interval is still wider than the precision asked for; the file
//! records each headline's interval as the runner last saw it
//! ([`HeadlineRatio`]), and the reports recompute them from the runs.

use super::confidence::Method;
use serde::{Deserialize, Serialize};

/// The baseline policy of every "over `gil`" ratio.
pub const BASELINE: &str = "gil";

/// Which figure of a configuration a ratio divides.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Figure {
    /// Operations per second.
    #[default]
    Throughput,
    /// The p99 latency of the scenario's headline role.
    HeadlineP99,
}

/// One configuration of a scenario.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Side {
    pub policy: String,
    pub threads: usize,
}

/// A ratio `num / (den × scale)` of one figure between two configurations of
/// one scenario.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct HeadlinePair {
    pub workload: String,
    pub figure: Figure,
    pub num: Side,
    pub den: Side,
    /// 1 for a speed-up; N for N-thread scaling efficiency over 1 thread.
    pub scale: f64,
}

impl HeadlinePair {
    /// The ratio in words: "`biased` over `gil` at 1 thread".
    pub fn label(&self) -> String {
        let t = |n: usize| {
            if n == 1 {
                "1 thread".to_string()
            } else {
                format!("{n} threads")
            }
        };
        match self.figure {
            Figure::Throughput if self.num.policy == self.den.policy => format!(
                "{} scaling, {} over {}",
                self.num.policy,
                t(self.num.threads),
                t(self.den.threads)
            ),
            Figure::Throughput => format!(
                "{} over {} at {}",
                self.num.policy,
                self.den.policy,
                t(self.num.threads)
            ),
            Figure::HeadlineP99 => format!(
                "{} p99 over {}'s at {}",
                self.num.policy,
                self.den.policy,
                t(self.num.threads)
            ),
        }
    }

    /// Both configurations.
    pub fn sides(&self) -> [&Side; 2] {
        [&self.num, &self.den]
    }
}

/// The headline ratios of one scenario run with `policies` at `threads`
/// (`headline_role` where its threads have roles).
pub fn headline_pairs(
    workload: &str,
    policies: &[String],
    threads: &[usize],
    headline_role: Option<&str>,
) -> Vec<HeadlinePair> {
    let mut out = Vec::new();
    let side = |p: &str, t: usize| Side {
        policy: p.to_string(),
        threads: t,
    };
    let pair = |figure, num: Side, den: Side, scale: f64| HeadlinePair {
        workload: workload.to_string(),
        figure,
        num,
        den,
        scale,
    };
    let has_base = policies.iter().any(|p| p == BASELINE);
    let largest = threads.iter().copied().max();
    let mut counts: Vec<usize> = vec![];
    if threads.contains(&1) {
        counts.push(1);
    }
    if let Some(l) = largest.filter(|&l| l != 1) {
        counts.push(l);
    }
    if has_base {
        for p in policies.iter().filter(|p| *p != BASELINE) {
            for &t in &counts {
                out.push(pair(Figure::Throughput, side(p, t), side(BASELINE, t), 1.0));
            }
        }
    }
    if threads.contains(&1) && threads.contains(&2) {
        for p in policies {
            out.push(pair(Figure::Throughput, side(p, 2), side(p, 1), 2.0));
        }
    }
    if let (true, Some(_), Some(l)) = (has_base, headline_role, largest) {
        for p in policies.iter().filter(|p| *p != BASELINE) {
            out.push(pair(
                Figure::HeadlineP99,
                side(p, l),
                side(BASELINE, l),
                1.0,
            ));
        }
    }
    out
}

/// A headline ratio with its interval as the runner last computed it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct HeadlineRatio {
    pub pair: HeadlinePair,
    pub value: f64,
    /// The 95% interval's bounds (absent below 3 paired rounds).
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    /// Paired rounds it rests on.
    pub rounds: usize,
    pub method: Method,
}

/// The round bookkeeping of a run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Rounds {
    /// Rounds every configuration ran (`--repeat`).
    pub base: usize,
    /// The most rounds any configuration ran.
    pub most: usize,
    /// Wall-clock seconds of all rounds together.
    pub seconds: f64,
    /// Why no further round ran: every headline interval within the
    /// precision, `--max-rounds`, or `--budget`.
    pub stopped: String,
    /// Every headline ratio with its interval at the end.
    pub headlines: Vec<HeadlineRatio>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_of_the_default_suite() {
        let pols: Vec<String> = ["gil", "pool-locks", "biased"].map(String::from).into();
        let h = headline_pairs("alloc-churn", &pols, &[1, 2, 4], None);
        let labels: Vec<String> = h.iter().map(|p| p.label()).collect();
        assert_eq!(
            labels,
            [
                "pool-locks over gil at 1 thread",
                "pool-locks over gil at 4 threads",
                "biased over gil at 1 thread",
                "biased over gil at 4 threads",
                "gil scaling, 2 threads over 1 thread",
                "pool-locks scaling, 2 threads over 1 thread",
                "biased scaling, 2 threads over 1 thread",
            ]
        );
        assert_eq!(h[6].scale, 2.0);
        let roles = headline_pairs("convoy", &pols, &[1, 2], Some("sleeper"));
        assert_eq!(roles.len(), 2 * 2 + 3 + 2);
        assert_eq!(
            roles.last().unwrap().label(),
            "biased p99 over gil's at 2 threads"
        );
        // Without gil there is nothing to be "over gil", but scaling stays.
        let no_base = headline_pairs("x", &["biased".to_string()], &[1, 2], None);
        assert_eq!(no_base.len(), 1);
        assert!(headline_pairs("x", &pols, &[4], None)
            .iter()
            .all(|p| p.num.threads == 4));
    }
}
