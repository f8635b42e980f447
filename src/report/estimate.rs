//! Figures estimated from a configuration's repeats: the median and spread of
//! one figure ([`Spread`]), and the ratio between two configurations
//! ([`Ratio`]).
//!
//! `Ratio` is the one type every ratio of the reports travels in (a policy
//! over `gil`, N threads over 1, a lead over the runner-up, a p99 over
//! another): it carries an interval beside its value. Today the value is the
//! ratio of the two medians and the interval is unknown. Paired rounds with a
//! 95% interval (issue 11) change [`Ratio::between`] alone: every table cell,
//! heat-map cell and finding then shows `value [low, high]`, because each of
//! them writes a `Ratio` through `format::estimate` and draws it through the
//! heat map's one cell routine.
//!
//! A leaf: it imports nothing of the report, so `stats` and the renderers can
//! all build on it.

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
    /// (low, high) bounds of the 95% interval; `None` until the statistics
    /// that compute it exist (reports then show the value alone).
    pub interval: Option<(f64, f64)>,
}

impl Ratio {
    /// A ratio without an interval (one measurement on a side, or a figure
    /// from outside the run's rounds such as the Python peer).
    pub fn point(value: f64) -> Ratio {
        Ratio {
            value,
            interval: None,
        }
    }

    /// A ratio with its interval (the bounds are ordered here).
    pub fn with_interval(value: f64, a: f64, b: f64) -> Ratio {
        Ratio {
            value,
            interval: Some((a.min(b), a.max(b))),
        }
    }

    /// `num / (den × scale)` from two configurations' samples: the one
    /// place a ratio between configurations is taken. Today the ratio of
    /// the medians, without an interval; `None` when a side has no sample or
    /// the denominator is not positive.
    pub fn between(num: &[Sample], den: &[Sample], scale: f64) -> Option<Ratio> {
        let n = median(&mut num.iter().map(|s| s.1).collect::<Vec<_>>())?;
        let d = median(&mut den.iter().map(|s| s.1).collect::<Vec<_>>())? * scale;
        let r = n / d;
        (d > 0.0 && r.is_finite()).then(|| Ratio::point(r))
    }

    /// Whether the interval leaves out 1 (a difference detected at its
    /// confidence): `None` without an interval.
    pub fn excludes_one(&self) -> Option<bool> {
        self.interval.map(|(lo, hi)| lo > 1.0 || hi < 1.0)
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
    fn ratios_of_medians() {
        let num = [(0, 1.80e6), (1, 1.84e6)];
        let den = [(0, 0.90e6), (1, 1.00e6)];
        let r = Ratio::between(&num, &den, 1.0).unwrap();
        assert!((r.value - 1.82 / 0.95).abs() < 1e-12);
        assert_eq!(r.interval, None);
        assert_eq!(r.excludes_one(), None);
        // Scaling: 1.82 M over 2 x 1.00 M.
        let one = [(0, 1.0e6)];
        assert!((Ratio::between(&num, &one, 2.0).unwrap().value - 0.91).abs() < 1e-12);
        assert_eq!(Ratio::between(&num, &[], 1.0), None);
        assert_eq!(Ratio::between(&num, &[(0, 0.0)], 1.0), None);
        let w = Ratio::with_interval(1.1, 1.2, 1.05);
        assert_eq!(w.interval, Some((1.05, 1.2)));
        assert_eq!(w.excludes_one(), Some(true));
        assert_eq!(
            Ratio::with_interval(1.0, 0.97, 1.04).excludes_one(),
            Some(false)
        );
    }
}
