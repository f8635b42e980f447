//! Figures estimated from a configuration's repeats: the median and spread of
//! one figure ([`Spread`]), and the ratio between two configurations
//! ([`Ratio`]).
//!
//! `Ratio` is the one type every ratio of the reports travels in (a policy
//! over `gil`, N threads over 1, a lead over the runner-up, a p99 over
//! another): it carries its 95% interval, the rounds it rests on and the
//! method beside its value. [`Ratio::between`] is the one place a ratio
//! between configurations of one run is taken: paired round by round, the
//! per-round ratios summarised on the log scale with a t-interval
//! (`results::confidence`), so that the machine's drift between rounds
//! cancels. Every table cell, heat-map cell and finding shows `value [low,
//! high]`, because each writes a `Ratio` through `format::estimate`.
//!
//! A leaf of the report: it imports nothing of it, so `stats` and the
//! renderers can all build on it.

use crate::results::confidence::{self, Method};

/// Median of the values (mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Median and range of one figure over the ok repeats of a configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let median = median(&mut v)?;
        Some(Spread {
            median,
            min: v[0],
            max: v[v.len() - 1],
            n: v.len(),
        })
    }

    /// (max - min) / median: the spread every report quotes. `None` with a
    /// single repeat, where the noise is unknown rather than zero.
    pub fn rel_range(&self) -> Option<f64> {
        if self.n < 2 {
            None
        } else if self.median > 0.0 {
            Some((self.max - self.min) / self.median)
        } else if self.max == self.min {
            Some(0.0)
        } else {
            None
        }
    }
}

/// One figure of one repeat: the round it ran in (its repeat index: the
/// runner interleaves configurations, so one round shares the machine's
/// state) and its value.
pub type Sample = (usize, f64);

/// A ratio between two configurations of one run, with its confidence
/// interval where one is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub value: f64,
    /// (low, high) bounds of the 95% interval; `None` where the rounds are
    /// too few or not paired (reports then show the value alone).
    pub interval: Option<(f64, f64)>,
    /// The paired rounds it rests on (0 when not paired).
    pub rounds: usize,
    pub method: Method,
}

impl Ratio {
    /// A ratio without an interval (one measurement on a side, or a figure
    /// from outside the run's rounds such as the Python peer).
    pub fn point(value: f64) -> Ratio {
        Ratio {
            value,
            interval: None,
            rounds: 0,
            method: Method::Unpaired,
        }
    }

    /// A ratio with its interval (the bounds are ordered here).
    pub fn with_interval(value: f64, a: f64, b: f64) -> Ratio {
        Ratio {
            value,
            interval: Some((a.min(b), a.max(b))),
            rounds: 0,
            method: Method::PairedTLog,
        }
    }

    /// `num / (den × scale)` from two configurations' samples: the one
    /// place a ratio between configurations is taken.
    ///
    /// With `paired`, samples of the same round are paired: the value is the
    /// geometric mean of the per-round ratios, with a 95% interval from
    /// [`MIN_ROUNDS`](confidence::MIN_ROUNDS) paired rounds on. Without it
    /// (a schema-1 file, whose rounds were not kept as blocks), or where no
    /// round has both sides, the ratio of the medians without an interval.
    /// `None` when a side has no sample or the denominator is not positive.
    pub fn between(num: &[Sample], den: &[Sample], scale: f64, paired: bool) -> Option<Ratio> {
        let n = median(&mut num.iter().map(|s| s.1).collect::<Vec<_>>())?;
        let d = median(&mut den.iter().map(|s| s.1).collect::<Vec<_>>())? * scale;
        let of_medians = n / d;
        if !(d > 0.0 && of_medians.is_finite()) {
            return None;
        }
        let logs = if paired {
            confidence::paired_logs(num, den, scale)
        } else {
            Vec::new()
        };
        if logs.is_empty() {
            return Some(Ratio::point(of_medians));
        }
        let rounds = logs.len();
        let geo = (logs.iter().sum::<f64>() / rounds as f64).exp();
        Some(match confidence::mean_interval(&logs) {
            Some(iv) => {
                let (lo, hi) = iv.bounds();
                Ratio {
                    value: iv.ratio(),
                    interval: Some((lo, hi)),
                    rounds,
                    method: iv.method,
                }
            }
            None => Ratio {
                value: geo,
                interval: None,
                rounds,
                method: Method::TooFewRounds,
            },
        })
    }

    /// Whether the interval leaves out 1 (a difference detected at its
    /// confidence): `None` without an interval.
    pub fn excludes_one(&self) -> Option<bool> {
        self.interval.map(|(lo, hi)| lo > 1.0 || hi < 1.0)
    }

    /// The interval's half-width relative to the value (0.05 for ±5%).
    pub fn half_width(&self) -> Option<f64> {
        self.interval
            .map(|(lo, hi)| confidence::half_width(self.value, lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let s = Spread::of([90.0, 110.0]).unwrap();
        assert_eq!(s.median, 100.0);
        assert!((s.rel_range().unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(Spread::of([5.0]).unwrap().rel_range(), None);
        assert_eq!(Spread::of([0.0, 0.0]).unwrap().rel_range(), Some(0.0));
        assert_eq!(Spread::of(Vec::<f64>::new()), None);
    }

    #[test]
    fn ratios_of_medians_where_rounds_are_not_paired() {
        let num = [(0, 1.80e6), (1, 1.84e6)];
        let den = [(0, 0.90e6), (1, 1.00e6)];
        let r = Ratio::between(&num, &den, 1.0, false).unwrap();
        assert!((r.value - 1.82 / 0.95).abs() < 1e-12);
        assert_eq!(r.interval, None);
        assert_eq!(r.method, Method::Unpaired);
        assert_eq!(r.excludes_one(), None);
        // Scaling: 1.82 M over 2 x 1.00 M.
        let one = [(0, 1.0e6)];
        assert!((Ratio::between(&num, &one, 2.0, false).unwrap().value - 0.91).abs() < 1e-12);
        assert_eq!(Ratio::between(&num, &[], 1.0, true), None);
        assert_eq!(Ratio::between(&num, &[(0, 0.0)], 1.0, true), None);
        let w = Ratio::with_interval(1.1, 1.2, 1.05);
        assert_eq!(w.interval, Some((1.05, 1.2)));
        assert_eq!(w.excludes_one(), Some(true));
        assert_eq!(
            Ratio::with_interval(1.0, 0.97, 1.04).excludes_one(),
            Some(false)
        );
    }

    #[test]
    fn paired_rounds_give_the_geometric_mean_and_an_interval_from_three() {
        // Two rounds: the geometric mean of 2.0 and 1.84, no interval.
        let num = [(0, 1.80e6), (1, 1.84e6)];
        let den = [(0, 0.90e6), (1, 1.00e6)];
        let r = Ratio::between(&num, &den, 1.0, true).unwrap();
        assert!((r.value - (2.0f64 * 1.84).sqrt()).abs() < 1e-12);
        assert_eq!(
            (r.interval, r.rounds, r.method),
            (None, 2, Method::TooFewRounds)
        );
        // Three rounds whose ratios are 2.0, 1.84 and 1.92: an interval
        // around their geometric mean; the machine's drift (round 2 is half
        // as fast on both sides) cancels.
        let num = [(0, 1.80e6), (1, 1.84e6), (2, 0.96e6)];
        let den = [(2, 0.50e6), (0, 0.90e6), (1, 1.00e6)];
        let r = Ratio::between(&num, &den, 1.0, true).unwrap();
        let logs = [2.0f64.ln(), 1.84f64.ln(), 1.92f64.ln()];
        let mean = logs.iter().sum::<f64>() / 3.0;
        assert!((r.value - mean.exp()).abs() < 1e-12);
        let (lo, hi) = r.interval.unwrap();
        let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        // t(0.975, 2) = 4.3027
        assert!((hi.ln() - mean - 4.302_652_7 * sd / 3f64.sqrt()).abs() < 1e-6);
        assert!((mean - lo.ln() - 4.302_652_7 * sd / 3f64.sqrt()).abs() < 1e-6);
        assert_eq!((r.rounds, r.method), (3, Method::PairedTLog));
        assert_eq!(r.excludes_one(), Some(true));
        assert!(r.half_width().unwrap() > 0.05 && r.half_width().unwrap() < 0.2);
        // A round only one side ran in is left out of the pairs.
        let r = Ratio::between(&num, &den[1..], 1.0, true).unwrap();
        assert_eq!(r.rounds, 2);
    }
}
