//! The statistics the lab decides with: how a 95% interval is put on a ratio
//! between two configurations of one run, and how `compare` tests a change
//! between two runs.
//!
//! It sits with the results contract because a results file names the method
//! beside every interval it carries ([`Method`]), and the runner (which adds
//! rounds until the headline intervals are narrow enough) and the reports
//! (which print and judge them) must compute the same interval from the same
//! rounds. A leaf: it imports nothing of the crate.
//!
//! # Within one run: paired rounds
//!
//! The runner interleaves configurations (A B C A B C); one pass over them is
//! a *round*, and the machine's state (other tenants, frequency, the page
//! cache) drifts between rounds far more than within one. A ratio A/B is
//! therefore taken per round, where the drift cancels, and summarised on the
//! log scale, where a ratio's noise is symmetric: with `d_i = ln(A_i / B_i)`
//! over `n` rounds, the estimate is `exp(mean d)` (the geometric mean of the
//! per-round ratios) and the interval
//!
//! ```text
//! exp(mean d ± t(0.975, n - 1) · sd(d) / √n)
//! ```
//!
//! (Student's t: honest at small `n`, where a normal quantile would promise
//! too much). Below [`MIN_ROUNDS`] no interval is given: the figure stands
//! without a verdict. From [`BOOTSTRAP_MIN_ROUNDS`] on, a percentile
//! bootstrap of the mean replaces the t quantile, which no longer needs the
//! log ratios to be normal.
//!
//! # Between two runs: Welch's t on log figures
//!
//! Two separate runs cannot be paired round by round (round 3 of one run
//! shares no machine state with round 3 of another), so `compare` treats each
//! configuration's repeats as two independent samples of log throughput and
//! tests their means with Welch's t ([`welch`]): unlike a rank test, which
//! cannot reach p < 0.05 with 2 or 3 repeats a side, it can, when the repeats
//! agree. Many configurations are tested at once, so their p-values are
//! adjusted together ([`holm`], or [`fdr`]) before any is called significant.

use serde::{Deserialize, Serialize};

/// The confidence of every interval the lab prints.
pub const CONFIDENCE: f64 = 0.95;

/// Paired rounds below which a ratio has no interval and no verdict.
pub const MIN_ROUNDS: usize = 3;

/// Paired rounds from which the interval is a bootstrap's.
pub const BOOTSTRAP_MIN_ROUNDS: usize = 30;

/// Resamples of every bootstrap (the percentile bounds move by well under
/// 1% of the interval's width between seeds at this count).
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// How an estimate's interval was computed (written into results files and
/// `compare`'s JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Student's t interval on the mean of per-round log ratios.
    PairedTLog,
    /// Percentile bootstrap of the mean of per-round log ratios (many
    /// rounds).
    PairedBootstrapLog,
    /// Paired by round, but fewer than [`MIN_ROUNDS`] rounds: no interval.
    TooFewRounds,
    /// Not paired by round (a schema-1 file, or no round in common): the
    /// ratio of the medians, interval unknown.
    #[default]
    Unpaired,
    /// Welch's t on the log figures of two independent samples (`compare`).
    WelchLog,
    /// Percentile bootstrap over repeats (latency percentiles).
    BootstrapRepeats,
}

impl Method {
    /// A short description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Method::PairedTLog => "t-interval on the log of per-round ratios",
            Method::PairedBootstrapLog => "bootstrap of the mean log per-round ratio",
            Method::TooFewRounds => "too few rounds for an interval",
            Method::Unpaired => "not paired by round: interval unknown",
            Method::WelchLog => "Welch's t on log figures",
            Method::BootstrapRepeats => "bootstrap over repeats",
        }
    }
}

/// An estimate on the log scale with its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogInterval {
    /// The mean of the logs.
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    /// Observations it rests on (paired rounds).
    pub n: usize,
    pub method: Method,
}

impl LogInterval {
    /// The estimate as a ratio.
    pub fn ratio(&self) -> f64 {
        self.mean.exp()
    }

    /// The bounds as ratios.
    pub fn bounds(&self) -> (f64, f64) {
        (self.low.exp(), self.high.exp())
    }
}

/// The larger relative distance from an estimate to its bounds: the "±x%"
/// of an interval (0.05 for ±5%).
pub fn half_width(value: f64, low: f64, high: f64) -> f64 {
    if value.is_nan() || value <= 0.0 {
        return f64::INFINITY;
    }
    (high / value - 1.0).max(1.0 - low / value)
}

/// `ln(num / (den × scale))` for every round both sides ran in (rounds are
/// the first element of each sample), in round order. Non-positive or
/// non-finite figures are left out: a log needs a positive number.
pub fn paired_logs(num: &[(usize, f64)], den: &[(usize, f64)], scale: f64) -> Vec<f64> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    for &(round, a) in num {
        let Some(&(_, b)) = den.iter().find(|(r, _)| *r == round) else {
            continue;
        };
        let d = (a / (b * scale)).ln();
        if a > 0.0 && b > 0.0 && d.is_finite() && !out.iter().any(|(r, _)| *r == round) {
            out.push((round, d));
        }
    }
    out.sort_by_key(|x| x.0);
    out.into_iter().map(|x| x.1).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (n - 1 in the denominator).
fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// The 95% interval of the mean of per-round log ratios: Student's t below
/// [`BOOTSTRAP_MIN_ROUNDS`], a percentile bootstrap from there on; `None`
/// below [`MIN_ROUNDS`].
pub fn mean_interval(logs: &[f64]) -> Option<LogInterval> {
    let n = logs.len();
    if n < MIN_ROUNDS || logs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let m = mean(logs);
    if n >= BOOTSTRAP_MIN_ROUNDS {
        let (low, high) = bootstrap(n, seed_of(logs), |idx| {
            idx.iter().map(|&i| logs[i]).sum::<f64>() / n as f64
        })?;
        return Some(LogInterval {
            mean: m,
            low,
            high,
            n,
            method: Method::PairedBootstrapLog,
        });
    }
    let se = (variance(logs) / n as f64).sqrt();
    let t = t_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0, (n - 1) as f64);
    Some(LogInterval {
        mean: m,
        low: m - t * se,
        high: m + t * se,
        n,
        method: Method::PairedTLog,
    })
}

/// A seed from the data, so that a bootstrap over the same figures always
/// gives the same bounds (a report rendered twice must read the same).
pub fn seed_of(values: &[f64]) -> u64 {
    values.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
    })
}

/// xorshift64*: the bootstrap's resampling, deterministic and fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// Percentile bootstrap: resamples `n` items with replacement
/// [`BOOTSTRAP_RESAMPLES`] times, computes `stat` on each resample's indices
/// and returns the 2.5th and 97.5th percentiles of what it gave. `None` for
/// no items, or when `stat` gives no finite value.
pub fn bootstrap(n: usize, seed: u64, stat: impl Fn(&[usize]) -> f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let mut rng = Rng(seed | 1);
    let mut idx = vec![0usize; n];
    let mut stats: Vec<f64> = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for i in idx.iter_mut() {
            *i = rng.below(n);
        }
        let s = stat(&idx);
        if s.is_finite() {
            stats.push(s);
        }
    }
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(|a, b| a.total_cmp(b));
    let alpha = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| {
        let i = (q * (stats.len() - 1) as f64).round() as usize;
        stats[i.min(stats.len() - 1)]
    };
    Some((at(alpha), at(1.0 - alpha)))
}

/// Welch's test of two independent samples' means (`compare`: log
/// throughput of OLD's repeats against NEW's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Welch {
    /// mean(b) - mean(a).
    pub diff: f64,
    /// Its standard error.
    pub se: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value of "the means are equal".
    pub p: f64,
    /// The 95% interval of `diff`.
    pub low: f64,
    pub high: f64,
}

/// Welch's t on samples `a` and `b`; `None` unless each has at least two
/// finite values (a sample of one has no variance to test against).
///
/// Where both samples have no spread at all, a difference is certain
/// (p = 0) and no difference is no evidence (p = 1).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (variance(a) / na, variance(b) / nb);
    let diff = mean(b) - mean(a);
    let se = (va + vb).sqrt();
    if se == 0.0 {
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            diff,
            se,
            df: na + nb - 2.0,
            p,
            low: diff,
            high: diff,
        });
    }
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let t = diff / se;
    let p = 2.0 * (1.0 - t_cdf(t.abs(), df));
    let q = t_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0, df);
    Some(Welch {
        diff,
        se,
        df,
        p: p.clamp(0.0, 1.0),
        low: diff - q * se,
        high: diff + q * se,
    })
}

/// Holm's step-down adjustment: adjusted p-values in the input's order,
/// controlling the chance of any false discovery among them (family-wise
/// error). A value is significant at 5% when its adjusted p is below 0.05.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Benjamini-Hochberg's step-up adjustment: adjusted p-values controlling
/// the expected share of false discoveries among those called significant.
pub fn fdr(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![1.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adj = (m as f64 / (rank + 1) as f64 * p[i]).min(1.0);
        running = running.min(adj);
        out[i] = running;
    }
    out
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the regularized incomplete beta function
/// (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom (any df > 0,
/// fractional included, as Welch's test needs).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * beta_inc(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection
/// on [`t_cdf`]: a handful of microseconds, exact to 1e-10).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests;
