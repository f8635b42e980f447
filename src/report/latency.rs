//! Latency across repeats: the percentiles of a configuration's repeats
//! merged into one histogram, with a 95% interval from a bootstrap over the
//! repeats.
//!
//! Each repeat of a schema-2 file carries its HdrHistogram (V2 deflate,
//! base64). The median of per-repeat p99s (the tables' other figure) hides
//! how many samples each repeat had; the merged histogram weighs every
//! sample once. Its interval resamples whole repeats (the machine's state
//! differs between rounds, not between samples of one), so it is honest
//! about round-to-round noise; with fewer than three repeats there is none.
//!
//! For speed, a repeat becomes its cumulative counts over its recorded
//! values, and a quantile of any weighted mixture of repeats is found by a
//! binary search over the values (no histogram is merged per resample).

use super::estimate::Ratio;
use super::stats::Config;
use crate::results::confidence::{self, Method};
use crate::results::Run;
use hdrhistogram::Histogram;

/// A histogram from its results-file encoding.
pub fn decode(text: &str) -> Option<Histogram<u64>> {
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .ok()
}

/// One repeat as cumulative counts over its recorded values.
struct Repeat {
    values: Vec<u64>,
    cumulative: Vec<u64>,
}

impl Repeat {
    fn of(h: &Histogram<u64>) -> Repeat {
        let mut values = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for v in h.iter_recorded() {
            total += v.count_at_value();
            values.push(h.highest_equivalent(v.value_iterated_to()));
            cumulative.push(total);
        }
        Repeat { values, cumulative }
    }

    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Samples at or below `v`.
    fn at_or_below(&self, v: u64) -> u64 {
        match self.values.partition_point(|&x| x <= v) {
            0 => 0,
            i => self.cumulative[i - 1],
        }
    }
}

/// The `q` quantile of the repeats mixed with these weights (how many times
/// each is drawn).
fn quantile(repeats: &[Repeat], all_values: &[u64], weights: &[u64], q: f64) -> Option<f64> {
    let total: u64 = repeats
        .iter()
        .zip(weights)
        .map(|(r, w)| r.total() * w)
        .sum();
    if total == 0 {
        return None;
    }
    let target = ((q * total as f64).ceil() as u64).clamp(1, total);
    let below = |v: u64| -> u64 {
        repeats
            .iter()
            .zip(weights)
            .map(|(r, w)| r.at_or_below(v) * w)
            .sum()
    };
    let i = all_values.partition_point(|&v| below(v) < target);
    all_values.get(i).map(|&v| v as f64)
}

/// The headline histogram of a run (the headline role's where the scenario
/// has one).
fn histogram_of(c: &Config, run: &Run) -> Option<Histogram<u64>> {
    let text = match &c.headline_role {
        Some(role) => run.roles.get(role)?.latency_histogram.as_ref()?,
        None => run.latency_histogram.as_ref()?,
    };
    decode(text)
}

/// The `q` quantile (0.99 for p99) of a configuration's ok repeats merged,
/// with its 95% bootstrap interval over repeats from three on; `None` where
/// a repeat has no histogram (schema 1, or a role without one).
pub fn merged_quantile(c: &Config, q: f64) -> Option<Ratio> {
    let hists: Vec<Histogram<u64>> =
        c.ok.iter()
            .map(|r| histogram_of(c, r))
            .collect::<Option<_>>()?;
    if hists.is_empty() {
        return None;
    }
    let repeats: Vec<Repeat> = hists.iter().map(Repeat::of).collect();
    let mut all_values: Vec<u64> = repeats.iter().flat_map(|r| r.values.clone()).collect();
    all_values.sort_unstable();
    all_values.dedup();
    let n = repeats.len();
    let value = quantile(&repeats, &all_values, &vec![1; n], q)?;
    if n < confidence::MIN_ROUNDS {
        return Some(Ratio {
            rounds: n,
            method: Method::TooFewRounds,
            ..Ratio::point(value)
        });
    }
    let seed = confidence::seed_of(&[value, n as f64, q]);
    let interval = confidence::bootstrap(n, seed, |idx| {
        let mut w = vec![0u64; n];
        for &i in idx {
            w[i] += 1;
        }
        quantile(&repeats, &all_values, &w, q).unwrap_or(f64::NAN)
    });
    Some(Ratio {
        value,
        interval,
        rounds: n,
        method: Method::BootstrapRepeats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn round_trips_and_merged_quantiles() {
        use base64::Engine;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let h = hist(&[100, 200, 300, 400]);
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&h, &mut bytes)
            .unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        let back = decode(&text).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back.max(), h.max());
        assert!(decode("not base64!").is_none());

        // Two repeats, one of 99 fast samples and one slow: merged, the
        // p99 of 100 samples is the slow one's.
        let a = Repeat::of(&hist(&[10; 99]));
        let b = Repeat::of(&hist(&[1000]));
        let mut all: Vec<u64> = a.values.iter().chain(&b.values).copied().collect();
        all.sort_unstable();
        all.dedup();
        let reps = [a, b];
        assert_eq!(quantile(&reps, &all, &[1, 1], 0.5), Some(10.0));
        let p995 = quantile(&reps, &all, &[1, 1], 0.995).unwrap();
        assert!((999.0..=1001.0).contains(&p995), "{p995}");
        // Weights: the slow repeat drawn 200 times dominates.
        assert!(quantile(&reps, &all, &[1, 200], 0.5).unwrap() >= 999.0);
        assert_eq!(quantile(&reps, &all, &[0, 0], 0.5), None);
    }
}
