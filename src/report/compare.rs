//! `heaplab compare OLD NEW`: the change of each configuration between two
//! stored runs, tested, and whether anything regressed.
//!
//! Configurations are matched by (workload, policy, threads). Two separate
//! runs cannot be paired round by round (round 3 of one run shares no
//! machine state with round 3 of the other), so each configuration's ok
//! repeats are two independent samples: their log throughputs are tested
//! with **Welch's t** (`results::confidence::welch`), which reaches
//! significance at 2 or 3 repeats a side when the repeats agree (a rank test
//! cannot). The p99 of the headline role is tested the same way in scenarios
//! that have one (elsewhere the all-threads p99 is reported, not tested).
//! All the p-values of one comparison are adjusted together, by **Holm**'s
//! method by default (the chance of any false alarm stays at 5%) or by
//! Benjamini-Hochberg's false-discovery rate, before any change is called
//! significant.
//!
//! A configuration **regressed** when its throughput is significantly lower,
//! or its headline p99 significantly higher, by more than the threshold; or
//! when it had ok runs in OLD and none in NEW (a configuration that starts
//! failing is the worst regression of all). Peak RSS is reported, not
//! judged: it moves with the allocator's arena rounding. Configurations in
//! one file only are listed, never silently skipped. Beside the rows, the
//! geometric mean of the throughput ratios over every configuration
//! compared.
//!
//! Two runs that share no configuration with ok runs on both sides cannot
//! show a regression, nor rule one out: [`Comparison::nothing_compared`] says
//! so, and the CLI exits 2 rather than report "no regression". Every
//! mismatch of the runs' provenance (machine, build, settings, scenario
//! files, noise) is a warning ([`super::provenance`]).
//!
//! Rendering (text, Markdown, JSON) is `compare_render`'s.

use super::estimate::Ratio;
pub use super::estimate::Spread;
use super::stats::{Config, Summary};
use crate::results::confidence::{self, Method};
use crate::results::Results;

/// One configuration.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub workload: String,
    pub policy: String,
    pub threads: usize,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} / {} / {} thread{}",
            self.workload,
            self.policy,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )
    }
}

/// How the p-values of one comparison are adjusted together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Correction {
    /// Holm's step-down: the chance of any false alarm at most 5%.
    #[default]
    Holm,
    /// Benjamini-Hochberg: at most 5% of the changes called significant are
    /// false alarms, on average.
    Fdr,
}

impl Correction {
    pub fn name(self) -> &'static str {
        match self {
            Correction::Holm => "Holm",
            Correction::Fdr => "Benjamini-Hochberg (false-discovery rate)",
        }
    }

    fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::Holm => confidence::holm(p),
            Correction::Fdr => confidence::fdr(p),
        }
    }
}

/// The significance level after adjustment.
pub const ALPHA: f64 = 0.05;

/// One figure compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub old: Spread,
    pub new: Spread,
    /// NEW over OLD: the ratio of the geometric means of the repeats with
    /// Welch's 95% interval where tested, the ratio of the medians where not.
    pub ratio: Ratio,
    /// Welch's two-sided p-value, where the figure is tested.
    pub p: Option<f64>,
    /// The standard error of the log ratio, where tested.
    pub log_se: Option<f64>,
    /// `p` adjusted over the comparison's tests.
    pub p_adjusted: Option<f64>,
    /// The adjusted p is below [`ALPHA`].
    pub significant: bool,
    /// Why the figure is not tested, where it is not.
    pub untested: Option<String>,
}

impl Delta {
    /// The ratio of the medians (a zero median counts as `floor`, so that a
    /// p99 of 0 stays finite), without a test.
    fn reported(old: Spread, new: Spread, floor: f64, why: &str) -> Delta {
        let (o, n) = (old.median.max(floor), new.median.max(floor));
        let value = if o > 0.0 {
            n / o
        } else if n == 0.0 {
            1.0
        } else {
            f64::INFINITY
        };
        Delta {
            old,
            new,
            ratio: Ratio::point(value),
            p: None,
            log_se: None,
            p_adjusted: None,
            significant: false,
            untested: Some(why.into()),
        }
    }

    /// Welch's t on the logs of the two sides' values (each at least
    /// `floor`).
    fn tested(old: &[f64], new: &[f64], floor: f64) -> Option<Delta> {
        let (o, n) = (
            Spread::of(old.iter().copied())?,
            Spread::of(new.iter().copied())?,
        );
        let logs = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.max(floor).ln()).collect() };
        let Some(w) = confidence::welch(&logs(old), &logs(new)) else {
            return Some(Delta::reported(
                o,
                n,
                floor,
                "untested: a side has a single ok repeat (no variance to test against)",
            ));
        };
        Some(Delta {
            old: o,
            new: n,
            ratio: Ratio {
                value: w.diff.exp(),
                interval: Some((w.low.exp(), w.high.exp())),
                rounds: old.len().min(new.len()),
                method: Method::WelchLog,
            },
            p: Some(w.p),
            log_se: Some(w.se),
            p_adjusted: None,
            significant: false,
            untested: None,
        })
    }
}

/// A configuration present with ok runs on both sides.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub key: Key,
    pub throughput: Delta,
    /// The headline p99 (the headline role's, where the scenario has one;
    /// tested only there).
    pub p99: Delta,
    pub peak_rss: Delta,
    /// Why this row regressed (empty when it did not).
    pub regressions: Vec<String>,
    /// Significant changes beyond the threshold the other way.
    pub improvements: Vec<String>,
}

impl Row {
    /// Any significant change, whatever its size or direction.
    pub fn significant(&self) -> bool {
        self.throughput.significant || self.p99.significant
    }
}

/// A configuration that could not be compared, and why.
#[derive(Clone, Debug, PartialEq)]
pub enum Mismatch {
    OnlyOld(Key),
    OnlyNew(Key),
    /// Ok in OLD, every repeat failed in NEW (counts as a regression).
    FailedNew {
        key: Key,
        reason: String,
    },
    /// Failed in OLD, ok in NEW.
    FailedOld {
        key: Key,
        reason: String,
    },
    FailedBoth {
        key: Key,
        reason: String,
    },
}

/// The result of [`compare`].
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub threshold_pct: f64,
    pub correction: Correction,
    pub old: String,
    pub new: String,
    pub rows: Vec<Row>,
    pub mismatches: Vec<Mismatch>,
    /// Caveats about the comparison itself (different machines, settings,
    /// scenario files, noise).
    pub warnings: Vec<String>,
}

fn describe(r: &Results) -> String {
    let machine = if r.machine.label.is_empty() {
        &r.machine.cpu
    } else {
        &r.machine.label
    };
    let dirty = match r.heaplab.dirty {
        Some(true) => ", uncommitted changes",
        _ => "",
    };
    format!(
        "started {}, heaplab {} ({}{dirty}), {}, schema {}",
        r.started, r.heaplab.version, r.heaplab.commit, machine, r.schema
    )
}

fn first_reason(c: &Config) -> String {
    c.failed
        .first()
        .map(|(_, why)| why.clone())
        .unwrap_or_else(|| "no runs".into())
}

/// The values a configuration's ok repeats give for a figure.
fn values(c: &Config, f: impl Fn(&crate::results::Run) -> f64) -> Vec<f64> {
    c.ok.iter().map(|r| f(r)).collect()
}

/// Compares two runs with Holm's correction; `threshold_pct` is the change
/// (in percent) a significant change must exceed to count as a regression.
pub fn compare(old: &Results, new: &Results, threshold_pct: f64) -> Comparison {
    compare_with(old, new, threshold_pct, Correction::Holm)
}

/// [`compare`] with the correction chosen.
pub fn compare_with(
    old: &Results,
    new: &Results,
    threshold_pct: f64,
    correction: Correction,
) -> Comparison {
    let threshold_pct = if threshold_pct.is_finite() {
        threshold_pct.abs()
    } else {
        0.0
    };
    let so = Summary::new(old);
    let sn = Summary::new(new);
    let t = threshold_pct / 100.0;

    let mut keys: Vec<Key> = Vec::new();
    for s in [&so, &sn] {
        for sc in &s.scenarios {
            for c in &sc.configs {
                let k = Key {
                    workload: sc.name.clone(),
                    policy: c.policy.clone(),
                    threads: c.threads,
                };
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    let find = |s: &'_ Summary<'_>, k: &Key| -> Option<usize> {
        s.scenarios
            .iter()
            .position(|sc| sc.name == k.workload && sc.config(&k.policy, k.threads).is_some())
    };

    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for k in keys {
        let so_i = find(&so, &k);
        let sn_i = find(&sn, &k);
        let co = so_i.and_then(|i| so.scenarios[i].config(&k.policy, k.threads));
        let cn = sn_i.and_then(|i| sn.scenarios[i].config(&k.policy, k.threads));
        let (co, cn) = match (co, cn) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => {
                mismatches.push(Mismatch::OnlyOld(k));
                continue;
            }
            (None, Some(_)) => {
                mismatches.push(Mismatch::OnlyNew(k));
                continue;
            }
            (None, None) => continue,
        };
        if co.ok.is_empty() || cn.ok.is_empty() {
            let m = match (co.ok.is_empty(), cn.ok.is_empty()) {
                (true, true) => Mismatch::FailedBoth {
                    reason: first_reason(cn),
                    key: k,
                },
                (false, true) => Mismatch::FailedNew {
                    reason: first_reason(cn),
                    key: k,
                },
                _ => Mismatch::FailedOld {
                    reason: first_reason(co),
                    key: k,
                },
            };
            mismatches.push(m);
            continue;
        }
        let has_role = so_i.is_some_and(|i| so.scenarios[i].headline_role.is_some())
            || sn_i.is_some_and(|i| sn.scenarios[i].headline_role.is_some());
        let tput = |c: &Config| values(c, |r| r.ops_per_sec);
        let p99 = |c: &Config| values(c, |r| c.headline_latency(r).p99 as f64);
        let rss = |c: &Config| values(c, |r| r.memory.peak_rss_bytes as f64);
        let spread = |v: Vec<f64>| Spread::of(v).expect("ok runs on both sides");
        let throughput =
            Delta::tested(&tput(co), &tput(cn), f64::MIN_POSITIVE).expect("ok runs on both sides");
        // p99 of 0 (nothing sampled) counts as 1 ns so the ratio stays finite.
        let p99 = if has_role {
            Delta::tested(&p99(co), &p99(cn), 1.0).expect("ok runs on both sides")
        } else {
            Delta::reported(
                spread(p99(co)),
                spread(p99(cn)),
                1.0,
                "reported: tested only for a scenario's headline role",
            )
        };
        let peak_rss = Delta::reported(
            spread(rss(co)),
            spread(rss(cn)),
            0.0,
            "reported: moves with the allocator's arena rounding",
        );
        rows.push(Row {
            key: k,
            throughput,
            p99,
            peak_rss,
            regressions: Vec::new(),
            improvements: Vec::new(),
        });
    }

    // Adjust every p-value of this comparison together.
    let mut ps: Vec<f64> = Vec::new();
    for r in &rows {
        ps.extend(r.throughput.p);
        ps.extend(r.p99.p);
    }
    let adjusted = correction.adjust(&ps);
    let mut next = adjusted.into_iter();
    for r in &mut rows {
        for d in [&mut r.throughput, &mut r.p99] {
            if d.p.is_some() {
                d.p_adjusted = next.next();
                d.significant = d.p_adjusted.is_some_and(|q| q < ALPHA);
            }
        }
        let change = |x: f64| super::format::change(x);
        let tr = r.throughput.ratio.value;
        if r.throughput.significant {
            if tr < 1.0 - t {
                r.regressions.push(format!("throughput {}", change(tr)));
            } else if tr > 1.0 + t {
                r.improvements.push(format!("throughput {}", change(tr)));
            }
        }
        let pr = r.p99.ratio.value;
        if r.p99.significant {
            if pr > 1.0 + t {
                r.regressions.push(format!("p99 {}", change(pr)));
            } else if pr < 1.0 - t {
                r.improvements.push(format!("p99 {}", change(pr)));
            }
        }
    }

    Comparison {
        threshold_pct,
        correction,
        old: describe(old),
        new: describe(new),
        rows,
        mismatches,
        warnings: super::provenance::mismatches(old, new),
    }
}

impl Comparison {
    /// True when any configuration regressed significantly beyond the
    /// threshold, or stopped having ok runs.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| !r.regressions.is_empty())
            || self
                .mismatches
                .iter()
                .any(|m| matches!(m, Mismatch::FailedNew { .. }))
    }

    /// Tests made (throughput, and headline p99 where tested).
    pub fn tests(&self) -> usize {
        self.rows
            .iter()
            .map(|r| usize::from(r.throughput.p.is_some()) + usize::from(r.p99.p.is_some()))
            .sum()
    }

    /// The geometric mean of the throughput ratios over every configuration
    /// compared, with a 95% interval from the configurations' own standard
    /// errors (a normal approximation: the mean of many ratios), where every
    /// configuration was tested.
    pub fn geometric_mean(&self) -> Option<Ratio> {
        if self.rows.is_empty() {
            return None;
        }
        let m = self.rows.len() as f64;
        let logs: Vec<f64> = self
            .rows
            .iter()
            .map(|r| r.throughput.ratio.value.ln())
            .collect();
        let mean = logs.iter().sum::<f64>() / m;
        if !mean.is_finite() {
            return None;
        }
        let mut var = 0.0;
        for r in &self.rows {
            match r.throughput.log_se {
                Some(se) => var += se * se,
                None => {
                    return Some(Ratio {
                        value: mean.exp(),
                        interval: None,
                        rounds: self.rows.len(),
                        method: Method::Unpaired,
                    })
                }
            }
        }
        let h = 1.96 * var.sqrt() / m;
        Some(Ratio {
            value: mean.exp(),
            interval: Some(((mean - h).exp(), (mean + h).exp())),
            rounds: self.rows.len(),
            method: Method::WelchLog,
        })
    }

    /// Why no verdict is possible, when no configuration has ok runs on both
    /// sides (the runs measured different things, or everything failed):
    /// `None` when at least one configuration was compared.
    pub fn nothing_compared(&self) -> Option<String> {
        if !self.rows.is_empty() {
            return None;
        }
        let only = |old: bool| {
            self.mismatches
                .iter()
                .filter(|m| match m {
                    Mismatch::OnlyOld(_) => old,
                    Mismatch::OnlyNew(_) => !old,
                    _ => false,
                })
                .count()
        };
        let failed = self.mismatches.len() - only(true) - only(false);
        Some(format!(
            "OLD and NEW share no configuration (workload, policy, threads) \
             with ok runs on both sides ({} only in OLD, {} only in NEW, {} without an ok run \
             on a side), so no regression can be ruled out",
            only(true),
            only(false),
            failed
        ))
    }

    /// The exit status of `heaplab compare`: 1 for a regression, 2 when
    /// nothing could be compared, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.regressed() {
            1
        } else if self.nothing_compared().is_some() {
            2
        } else {
            0
        }
    }
}
