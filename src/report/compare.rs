//! `heaplab compare OLD NEW`: the change of each configuration between two
//! stored runs, and whether anything regressed.
//!
//! Configurations are matched by (workload, policy, threads). For each, the
//! ratio NEW/OLD of the median throughput, the median headline p99 (the
//! headline role's where the scenario has one) and the median peak RSS.
//!
//! A change is *significant* when it exceeds the measured noise: the larger
//! relative range (max - min) / median of the ok repeats on either side.
//! Where both sides have a single ok repeat the noise is unknown, and the
//! threshold alone decides (a single-repeat run is the user's choice of
//! speed over certainty; refusing to judge it would make the check useless
//! in quick CI runs).
//!
//! [`Comparison::regressed`] is true when, significantly and by more than
//! the threshold, a throughput drops or a p99 rises; or when a configuration
//! that had ok runs in OLD has none in NEW (a configuration that starts
//! failing is the worst regression of all). Peak RSS is reported, not
//! judged: it moves with the allocator's arena rounding. Configurations in
//! one file only are listed, never silently skipped.
//!
//! Two runs that share no configuration with ok runs on both sides cannot
//! show a regression, nor rule one out: [`Comparison::nothing_compared`] says
//! so, and the CLI exits non-zero rather than report "no regression".

pub use super::estimate::Spread;
use super::format;
use super::stats::{Config, Summary};
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

/// One figure compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub old: Spread,
    pub new: Spread,
    /// NEW median over OLD median.
    pub ratio: f64,
    /// The larger relative range of the two sides; `None` when both have a
    /// single repeat.
    pub noise: Option<f64>,
    /// The change exceeds the noise (always true when the noise is unknown).
    pub significant: bool,
}

impl Delta {
    fn new(old: Spread, new: Spread, floor: f64) -> Delta {
        let (o, n) = (old.median.max(floor), new.median.max(floor));
        let ratio = if o > 0.0 {
            n / o
        } else if n == 0.0 {
            1.0
        } else {
            f64::INFINITY
        };
        let noise = match (old.rel_range(), new.rel_range()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let significant = match noise {
            Some(noise) => (ratio - 1.0).abs() > noise,
            None => true,
        };
        Delta {
            old,
            new,
            ratio,
            noise,
            significant,
        }
    }
}

/// A configuration present with ok runs on both sides.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub key: Key,
    pub throughput: Delta,
    pub p99: Delta,
    pub peak_rss: Delta,
    /// Why this row regressed (empty when it did not).
    pub regressions: Vec<String>,
    /// Significant changes beyond the threshold the other way.
    pub improvements: Vec<String>,
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
    pub old: String,
    pub new: String,
    pub rows: Vec<Row>,
    pub mismatches: Vec<Mismatch>,
    /// Caveats about the comparison itself (different machines, ...).
    pub warnings: Vec<String>,
}

fn describe(r: &Results) -> String {
    let machine = if r.machine.label.is_empty() {
        &r.machine.cpu
    } else {
        &r.machine.label
    };
    format!(
        "started {}, heaplab {} ({}), {}",
        r.started, r.heaplab.version, r.heaplab.commit, machine
    )
}

fn first_reason(c: &Config) -> String {
    c.failed
        .first()
        .map(|(_, why)| why.clone())
        .unwrap_or_else(|| "no runs".into())
}

/// Compares two runs; `threshold_pct` is the change (in percent) that counts
/// as a regression when it is also above the noise.
pub fn compare(old: &Results, new: &Results, threshold_pct: f64) -> Comparison {
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
        let co = find(&so, &k).and_then(|i| so.scenarios[i].config(&k.policy, k.threads));
        let cn = find(&sn, &k).and_then(|i| sn.scenarios[i].config(&k.policy, k.threads));
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
        let (Some(to), Some(tn)) = (co.throughput(), cn.throughput()) else {
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
        };
        let throughput = Delta::new(to, tn, 0.0);
        // p99 of 0 (nothing sampled) counts as 1 ns so the ratio stays finite.
        let p99 = match (co.p99(), cn.p99()) {
            (Some(a), Some(b)) => Delta::new(a, b, 1.0),
            _ => unreachable_spread(),
        };
        let peak_rss = match (co.peak_rss(), cn.peak_rss()) {
            (Some(a), Some(b)) => Delta::new(a, b, 0.0),
            _ => unreachable_spread(),
        };
        let mut regressions = Vec::new();
        let mut improvements = Vec::new();
        if throughput.significant {
            if throughput.ratio < 1.0 - t {
                regressions.push(format!("throughput {}", format::change(throughput.ratio)));
            } else if throughput.ratio > 1.0 + t {
                improvements.push(format!("throughput {}", format::change(throughput.ratio)));
            }
        }
        if p99.significant {
            if p99.ratio > 1.0 + t {
                regressions.push(format!("p99 {}", format::change(p99.ratio)));
            } else if p99.ratio < 1.0 - t {
                improvements.push(format!("p99 {}", format::change(p99.ratio)));
            }
        }
        rows.push(Row {
            key: k,
            throughput,
            p99,
            peak_rss,
            regressions,
            improvements,
        });
    }

    let mut warnings = Vec::new();
    if old.machine.cpu != new.machine.cpu
        || old.machine.cores != new.machine.cores
        || old.machine.label != new.machine.label
    {
        warnings.push(format!(
            "the runs are from different machines ({} / {} cores vs {} / {} cores): only \
             large changes mean anything",
            old.machine.cpu, old.machine.cores, new.machine.cpu, new.machine.cores
        ));
    }
    if old.settings.gc_mode != new.settings.gc_mode {
        warnings.push(format!(
            "the collector modes differ ({} vs {})",
            old.settings.gc_mode, new.settings.gc_mode
        ));
    }
    if old.settings.duration_secs != new.settings.duration_secs
        || old.settings.quick != new.settings.quick
    {
        warnings.push("the runs measured for different durations or quick modes".into());
    }
    Comparison {
        threshold_pct,
        old: describe(old),
        new: describe(new),
        rows,
        mismatches,
        warnings,
    }
}

/// A configuration with ok runs always has every figure; this keeps the
/// code total should that ever change.
fn unreachable_spread() -> Delta {
    let s = Spread {
        median: 0.0,
        min: 0.0,
        max: 0.0,
        n: 0,
    };
    Delta {
        old: s,
        new: s,
        ratio: 1.0,
        noise: None,
        significant: false,
    }
}

impl Comparison {
    /// True when any configuration regressed beyond the threshold and the
    /// noise, or stopped having ok runs.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| !r.regressions.is_empty())
            || self
                .mismatches
                .iter()
                .any(|m| matches!(m, Mismatch::FailedNew { .. }))
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

    /// The comparison as plain text for a terminal or a CI log.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        out.push_str("heaplab compare\n");
        out.push_str(&format!("  OLD: {}\n", self.old));
        out.push_str(&format!("  NEW: {}\n", self.new));
        out.push_str(&format!(
            "  threshold {:.1}%: a change counts when it exceeds the threshold and the noise \
             (the larger (max - min) / median of the repeats on either side); with one repeat \
             on both sides the threshold alone decides.\n",
            self.threshold_pct
        ));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out.push('\n');

        let regressed: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| !r.regressions.is_empty())
            .collect();
        let newly_failed: Vec<&Mismatch> = self
            .mismatches
            .iter()
            .filter(|m| matches!(m, Mismatch::FailedNew { .. }))
            .collect();
        if self.regressed() {
            out.push_str(&format!(
                "RESULT: REGRESSED ({} configuration{})\n",
                regressed.len() + newly_failed.len(),
                if regressed.len() + newly_failed.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
            for r in &regressed {
                out.push_str(&format!("  {}: {}\n", r.key, r.regressions.join(", ")));
            }
            for m in &newly_failed {
                if let Mismatch::FailedNew { key, reason } = m {
                    out.push_str(&format!("  {key}: every repeat failed in NEW: {reason}\n"));
                }
            }
        } else if let Some(why) = self.nothing_compared() {
            out.push_str(&format!("RESULT: NOTHING COMPARED: {why}\n"));
        } else {
            out.push_str(&format!(
                "RESULT: no regression beyond {:.1}% ({} configurations compared)\n",
                self.threshold_pct,
                self.rows.len()
            ));
        }
        out.push('\n');

        if !self.rows.is_empty() {
            let header = [
                "workload",
                "policy",
                "threads",
                "throughput",
                "noise",
                "p99 (headline)",
                "noise",
                "peak RSS",
                "verdict",
            ];
            let mut table: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
            let noise = |d: &Delta| {
                d.noise
                    .map(format::pct)
                    .unwrap_or_else(|| "n/a".to_string())
            };
            for r in &self.rows {
                let verdict = if !r.regressions.is_empty() {
                    format!("REGRESSED: {}", r.regressions.join(", "))
                } else if !r.improvements.is_empty() {
                    format!("improved: {}", r.improvements.join(", "))
                } else if !r.throughput.significant && !r.p99.significant {
                    "within noise".into()
                } else {
                    "within threshold".into()
                };
                table.push(vec![
                    r.key.workload.clone(),
                    r.key.policy.clone(),
                    r.key.threads.to_string(),
                    format::change(r.throughput.ratio),
                    noise(&r.throughput),
                    format::change(r.p99.ratio),
                    noise(&r.p99),
                    format::change(r.peak_rss.ratio),
                    verdict,
                ]);
            }
            let cols = header.len();
            let widths: Vec<usize> = (0..cols)
                .map(|i| {
                    table
                        .iter()
                        .map(|row| row[i].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in &table {
                let mut line = String::new();
                for (i, cell) in row.iter().enumerate() {
                    let pad = widths[i] - cell.chars().count();
                    // Numbers right-aligned, names left-aligned; no padding
                    // after the last column.
                    if (2..cols - 1).contains(&i) {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    } else if i == cols - 1 {
                        line.push_str(cell);
                    } else {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                    if i + 1 < cols {
                        line.push_str("  ");
                    }
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }

        if !self.mismatches.is_empty() {
            out.push_str("Not compared:\n");
            for m in &self.mismatches {
                let line = match m {
                    Mismatch::OnlyOld(k) => format!("{k}: only in OLD"),
                    Mismatch::OnlyNew(k) => format!("{k}: only in NEW"),
                    Mismatch::FailedNew { key, reason } => {
                        format!("{key}: ok in OLD, failed in NEW (regression): {reason}")
                    }
                    Mismatch::FailedOld { key, reason } => {
                        format!("{key}: failed in OLD, ok in NEW: {reason}")
                    }
                    Mismatch::FailedBoth { key, reason } => {
                        format!("{key}: failed in both: {reason}")
                    }
                };
                out.push_str(&format!("  {}\n", line.replace(['\n', '\r'], " ")));
            }
        }
        out
    }
}
