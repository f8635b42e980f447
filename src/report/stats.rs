//! Aggregation of `results.json` into what every report shows: configurations
//! (workload x policy x threads) with their ok and failed repeats, medians and
//! spreads, in a stable order and with one colour per policy.
//!
//! This is the only place that decides which runs count: the Markdown, HTML,
//! findings and `compare` all read a [`Summary`], so a figure cannot mean one
//! thing in one report and another in the next.

use super::estimate::{median, Ratio, Sample, Spread};
use crate::results::{
    headline_pairs, Figure, HeadlinePair, Latency, Results, Run, Status, WorkloadInfo,
};

/// Colours for the policies the design names, fixed so that `biased` has the
/// same colour in every report ever written (Okabe-Ito, colour-blind safe).
const KNOWN_COLOURS: &[(&str, &str)] = &[
    ("gil", "#D55E00"),
    ("pool-locks", "#0072B2"),
    ("biased", "#009E73"),
];

/// Colours for any further policy, in order of appearance.
const SPARE_COLOURS: &[&str] = &[
    "#CC79A7", "#E69F00", "#56B4E9", "#6A3D9A", "#000000", "#999933", "#882255", "#44AA99",
];

/// The baseline every speed-up is quoted against.
pub const BASELINE: &str = crate::results::BASELINE;

/// Why a run does not count, or `None` when it does. The design's rule: a run
/// that leaks or fails the verifier is reported as failed, never as a number,
/// even if the runner wrote `status: ok`.
pub fn failure(run: &Run) -> Option<String> {
    if run.status == Status::Failed {
        return Some(
            run.error
                .clone()
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "failed (no reason recorded)".into()),
        );
    }
    if run.leaked_blocks > 0 {
        return Some(format!(
            "leaked {} blocks (status was ok; the leak check overrides it)",
            run.leaked_blocks
        ));
    }
    if !run.verified {
        return Some("heap integrity check did not pass (status was ok)".into());
    }
    if !run.ops_per_sec.is_finite() || run.ops_per_sec < 0.0 {
        return Some(format!("invalid throughput {}", run.ops_per_sec));
    }
    None
}

/// One configuration: all repeats of (workload, policy, threads).
#[derive(Debug)]
pub struct Config<'a> {
    pub policy: String,
    pub threads: usize,
    pub ok: Vec<&'a Run>,
    pub failed: Vec<(&'a Run, String)>,
    /// The role whose latency is the headline (from the scenario).
    pub headline_role: Option<String>,
}

impl<'a> Config<'a> {
    pub fn total(&self) -> usize {
        self.ok.len() + self.failed.len()
    }

    /// Median of a figure over ok repeats.
    pub fn median_of(&self, f: impl Fn(&Run) -> f64) -> Option<f64> {
        let mut v: Vec<f64> = self.ok.iter().map(|r| f(r)).collect();
        median(&mut v)
    }

    /// Median of a figure over the ok repeats that have it.
    pub fn median_opt(&self, f: impl Fn(&Run) -> Option<f64>) -> Option<f64> {
        let mut v: Vec<f64> = self.ok.iter().filter_map(|r| f(r)).collect();
        median(&mut v)
    }

    /// A figure of each ok repeat with the round it ran in, for a
    /// [`Ratio`] between configurations.
    pub fn samples(&self, f: impl Fn(&Run) -> f64) -> Vec<Sample> {
        self.ok.iter().map(|r| (r.repeat, f(r))).collect()
    }

    pub fn throughput(&self) -> Option<Spread> {
        Spread::of(self.ok.iter().map(|r| r.ops_per_sec))
    }

    /// The latency a report leads with: the scenario's headline role, or the
    /// run's own choice, or all threads.
    pub fn headline_latency<'r>(&self, run: &'r Run) -> &'r Latency {
        self.headline_role
            .as_ref()
            .and_then(|role| run.roles.get(role))
            .map(|r| &r.latency_ns)
            .unwrap_or_else(|| run.headline_latency())
    }

    /// Median of one headline-latency figure.
    pub fn latency(&self, f: impl Fn(&Latency) -> u64) -> Option<f64> {
        self.median_of(|r| f(self.headline_latency(r)) as f64)
    }

    /// Spread of the headline p99 (what `compare` tests for significance).
    pub fn p99(&self) -> Option<Spread> {
        Spread::of(self.ok.iter().map(|r| self.headline_latency(r).p99 as f64))
    }

    /// The repeat that stands for the configuration in a percentile plot:
    /// the one whose headline p99 is the median (lower middle for an even
    /// count), since distributions of different repeats cannot be averaged.
    pub fn representative(&self) -> Option<&'a Run> {
        let mut v: Vec<&'a Run> = self.ok.clone();
        v.sort_by_key(|r| self.headline_latency(r).p99);
        if v.is_empty() {
            None
        } else {
            Some(v[(v.len() - 1) / 2])
        }
    }
}

/// One scenario (workload) and its configurations.
#[derive(Debug)]
pub struct Scenario<'a> {
    pub name: String,
    pub info: Option<&'a WorkloadInfo>,
    pub headline_role: Option<String>,
    /// Headline role first, then the others.
    pub roles: Vec<String>,
    /// Policies with at least one run here, in the summary's order.
    pub policies: Vec<String>,
    /// Thread counts with at least one run here, ascending.
    pub threads: Vec<usize>,
    pub configs: Vec<Config<'a>>,
    /// Whether runs of one round may be paired (schema 2 on): see
    /// [`Ratio::between`].
    pub paired: bool,
    /// The ± precision (a share: 0.05) an interval must reach for "no
    /// difference detected"; wider ones that hold 1 are undecided.
    pub precision: f64,
}

impl<'a> Scenario<'a> {
    pub fn config(&self, policy: &str, threads: usize) -> Option<&Config<'a>> {
        self.configs
            .iter()
            .find(|c| c.policy == policy && c.threads == threads)
    }

    /// The latency a report leads with for a run of this scenario (see
    /// [`Config::headline_latency`]).
    pub fn headline_latency<'r>(&self, run: &'r Run) -> &'r Latency {
        self.headline_role
            .as_ref()
            .and_then(|role| run.roles.get(role))
            .map(|r| &r.latency_ns)
            .unwrap_or_else(|| run.headline_latency())
    }

    /// Median throughput of a configuration (ok repeats only).
    pub fn tput(&self, policy: &str, threads: usize) -> Option<f64> {
        self.config(policy, threads)
            .and_then(|c| c.throughput())
            .map(|s| s.median)
    }

    /// A figure of one configuration over the same figure of another
    /// (times `scale`), taken through [`Ratio::between`]: the one road every
    /// ratio between configurations of this scenario takes.
    pub fn ratio(
        &self,
        num: (&str, usize),
        den: (&str, usize),
        scale: f64,
        figure: impl Fn(&Run) -> f64,
    ) -> Option<Ratio> {
        let a = self.config(num.0, num.1)?.samples(&figure);
        let b = self.config(den.0, den.1)?.samples(&figure);
        Ratio::between(&a, &b, scale, self.paired)
    }

    /// Throughput of one configuration over another's.
    pub fn tput_ratio(&self, num: (&str, usize), den: (&str, usize)) -> Option<Ratio> {
        self.ratio(num, den, 1.0, |r| r.ops_per_sec)
    }

    /// Speed-up of `policy` over the baseline at the same thread count.
    pub fn speedup(&self, policy: &str, threads: usize) -> Option<Ratio> {
        self.tput_ratio((policy, threads), (BASELINE, threads))
    }

    /// The thread count scaling is measured from: the smallest with an ok
    /// run for this policy (1 in any normal run).
    pub fn scaling_base(&self, policy: &str) -> Option<usize> {
        self.threads
            .iter()
            .copied()
            .find(|&t| self.tput(policy, t).is_some())
    }

    /// Scaling efficiency: N-thread throughput over N x the 1-thread one
    /// (generalised to the smallest thread count that ran).
    ///
    /// `None` where the two runs have different sets of roles (the convoy's
    /// 1-thread run is its sleeper alone): their throughputs count different
    /// work, and a ratio of them would be a scaling figure of 2000%.
    pub fn efficiency(&self, policy: &str, threads: usize) -> Option<Ratio> {
        let base_t = self.scaling_base(policy)?;
        let roles = |t: usize| {
            self.config(policy, t)
                .and_then(|c| c.ok.first())
                .map(|r| r.roles.keys().cloned().collect::<Vec<_>>())
        };
        if roles(base_t) != roles(threads) {
            return None;
        }
        if threads == 0 || base_t == 0 {
            return None;
        }
        self.ratio(
            (policy, threads),
            (policy, base_t),
            threads as f64 / base_t as f64,
            |r| r.ops_per_sec,
        )
    }

    /// The ratio a [`HeadlinePair`] names, taken like every other. A
    /// scaling ratio between runs with different sets of roles has none
    /// (see [`Scenario::efficiency`]).
    pub fn pair_ratio(&self, pair: &HeadlinePair) -> Option<Ratio> {
        let num = (pair.num.policy.as_str(), pair.num.threads);
        let den = (pair.den.policy.as_str(), pair.den.threads);
        let roles = |(p, t): (&str, usize)| {
            self.config(p, t)
                .and_then(|c| c.ok.first())
                .map(|r| r.roles.keys().cloned().collect::<Vec<_>>())
        };
        if num.0 == den.0 && roles(num) != roles(den) {
            return None;
        }
        match pair.figure {
            Figure::Throughput => self.ratio(num, den, pair.scale, |r| r.ops_per_sec),
            Figure::HeadlineP99 => self.ratio(num, den, pair.scale, |r| {
                self.headline_latency(r).p99.max(1) as f64
            }),
        }
    }

    /// The scenario's headline ratios ([`headline_pairs`]) with their
    /// estimates, in the order the report lists them.
    pub fn headlines(&self) -> Vec<(HeadlinePair, Option<Ratio>)> {
        headline_pairs(
            &self.name,
            &self.policies,
            &self.threads,
            self.headline_role.as_deref(),
        )
        .into_iter()
        .map(|p| {
            let r = self.pair_ratio(&p);
            (p, r)
        })
        .collect()
    }

    /// The largest thread count at which any policy has an ok run.
    pub fn largest_ok_threads(&self) -> Option<usize> {
        self.threads.iter().rev().copied().find(|&t| {
            self.configs
                .iter()
                .any(|c| c.threads == t && !c.ok.is_empty())
        })
    }

    /// The smallest thread count at which any policy has an ok run.
    pub fn smallest_ok_threads(&self) -> Option<usize> {
        self.threads.iter().copied().find(|&t| {
            self.configs
                .iter()
                .any(|c| c.threads == t && !c.ok.is_empty())
        })
    }
}

/// A whole results file, grouped for reporting.
#[derive(Debug)]
pub struct Summary<'a> {
    pub results: &'a Results,
    /// Every policy in the file: the baseline first, then the settings'
    /// order, then any policy found only in runs.
    pub policies: Vec<String>,
    colours: Vec<(String, &'static str)>,
    pub scenarios: Vec<Scenario<'a>>,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl<'a> Summary<'a> {
    pub fn new(results: &'a Results) -> Summary<'a> {
        let mut policies = Vec::new();
        if results.settings.policies.iter().any(|p| p == BASELINE)
            || results.runs.iter().any(|r| r.policy == BASELINE)
        {
            policies.push(BASELINE.to_string());
        }
        for p in &results.settings.policies {
            push_unique(&mut policies, p);
        }
        for r in &results.runs {
            push_unique(&mut policies, &r.policy);
        }

        let mut spare = SPARE_COLOURS.iter().cycle();
        let colours = policies
            .iter()
            .map(|p| {
                let c = KNOWN_COLOURS
                    .iter()
                    .find(|(k, _)| k == p)
                    .map(|(_, c)| *c)
                    .unwrap_or_else(|| spare.next().copied().unwrap_or("#000000"));
                (p.clone(), c)
            })
            .collect();

        // Scenario order: as configured, then any described or run besides.
        let mut names = Vec::new();
        for w in &results.settings.workloads {
            push_unique(&mut names, w);
        }
        for w in &results.workloads {
            push_unique(&mut names, &w.name);
        }
        for r in &results.runs {
            push_unique(&mut names, &r.workload);
        }

        let scenarios = names
            .into_iter()
            .map(|name| Self::scenario(results, &policies, name))
            .collect();
        Summary {
            results,
            policies,
            colours,
            scenarios,
        }
    }

    fn scenario(results: &'a Results, policies: &[String], name: String) -> Scenario<'a> {
        let info = results.workloads.iter().find(|w| w.name == name);
        let runs: Vec<&Run> = results.runs.iter().filter(|r| r.workload == name).collect();
        let headline_role = info
            .and_then(|i| i.headline_role.clone())
            .or_else(|| runs.iter().find_map(|r| r.headline_role.clone()));
        let mut roles = Vec::new();
        if let Some(h) = &headline_role {
            roles.push(h.clone());
        }
        if let Some(i) = info {
            for r in &i.roles {
                push_unique(&mut roles, r);
            }
        }
        for r in &runs {
            for k in r.roles.keys() {
                push_unique(&mut roles, k);
            }
        }
        let scenario_policies: Vec<String> = policies
            .iter()
            .filter(|p| runs.iter().any(|r| &r.policy == *p))
            .cloned()
            .collect();
        let mut threads: Vec<usize> = runs.iter().map(|r| r.threads).collect();
        threads.sort_unstable();
        threads.dedup();

        let mut configs = Vec::new();
        for p in &scenario_policies {
            for &t in &threads {
                let mut ok = Vec::new();
                let mut failed = Vec::new();
                let mut these: Vec<&Run> = runs
                    .iter()
                    .copied()
                    .filter(|r| &r.policy == p && r.threads == t)
                    .collect();
                if these.is_empty() {
                    continue;
                }
                these.sort_by_key(|r| r.repeat);
                for r in these {
                    match failure(r) {
                        None => ok.push(r),
                        Some(why) => failed.push((r, why)),
                    }
                }
                configs.push(Config {
                    policy: p.clone(),
                    threads: t,
                    ok,
                    failed,
                    headline_role: headline_role.clone(),
                });
            }
        }
        Scenario {
            name,
            info,
            headline_role,
            roles,
            policies: scenario_policies,
            threads,
            configs,
            paired: results.rounds_paired(),
            precision: results.precision_pct() / 100.0,
        }
    }

    /// The policy's colour, the same in every chart and table.
    pub fn colour(&self, policy: &str) -> &'static str {
        self.colours
            .iter()
            .find(|(p, _)| p == policy)
            .map(|(_, c)| *c)
            .unwrap_or("#000000")
    }

    /// The policy's index in the report order (picks its marker shape).
    pub fn policy_index(&self, policy: &str) -> usize {
        self.policies.iter().position(|p| p == policy).unwrap_or(0)
    }

    pub fn failed_runs(&self) -> impl Iterator<Item = (&Scenario<'a>, &Config<'a>, &Run, &str)> {
        self.scenarios.iter().flat_map(|s| {
            s.configs.iter().flat_map(move |c| {
                c.failed
                    .iter()
                    .map(move |(r, why)| (s, c, *r, why.as_str()))
            })
        })
    }
}
