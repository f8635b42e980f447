//! The interval method and the multiple-comparison rules on synthetic data
//! with a known answer.

use super::*;

/// Normal deviates (Box-Muller over xorshift64*), seeded.
struct Normal(Rng);

impl Normal {
    fn new(seed: u64) -> Normal {
        Normal(Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))
    }

    fn uniform(&mut self) -> f64 {
        ((self.0.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn sample(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[test]
fn t_quantiles_match_the_tables() {
    // Two-sided 95% critical values of Student's t.
    for (df, want) in [
        (1.0, 12.706_204_7),
        (2.0, 4.302_652_7),
        (4.0, 2.776_445_1),
        (9.0, 2.262_157_2),
        (29.0, 2.045_229_6),
        (1e7, 1.959_964_0),
    ] {
        let got = t_quantile(0.975, df);
        assert!((got - want).abs() < 1e-5, "df {df}: {got} vs {want}");
        assert!((t_quantile(0.025, df) + want).abs() < 1e-5);
    }
    assert_eq!(t_quantile(0.5, 3.0), 0.0);
    assert!(t_quantile(1.5, 3.0).is_nan());
    assert!(t_quantile(0.9, 0.0).is_nan());
}

#[test]
fn t_cdf_matches_closed_forms() {
    // df = 1 is Cauchy; df = 2 has a closed form too.
    for t in [-30.0f64, -3.0, -1.0, -0.2, 0.0, 0.7, 2.5, 40.0] {
        let cauchy = 0.5 + t.atan() / std::f64::consts::PI;
        assert!((t_cdf(t, 1.0) - cauchy).abs() < 1e-12, "df 1 at {t}");
        let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
        assert!((t_cdf(t, 2.0) - two).abs() < 1e-12, "df 2 at {t}");
    }
    // Monotone in a fractional df (Welch's), between its integer neighbours.
    let (a, b, c) = (t_cdf(1.9, 5.0), t_cdf(1.9, 5.5), t_cdf(1.9, 6.0));
    assert!(a < b && b < c, "{a} {b} {c}");
    assert_eq!(t_cdf(f64::INFINITY, 3.0), 1.0);
    assert!(t_cdf(f64::NAN, 3.0).is_nan());
}

/// A round's index and figure.
type Round = (usize, f64);

/// Rounds of two configurations whose true ratio is `ratio`: every round
/// shares a drift of the machine (`drift` sd on the log scale) and each
/// figure has its own noise (`noise` sd).
fn rounds(
    g: &mut Normal,
    n: usize,
    ratio: f64,
    drift: f64,
    noise: f64,
) -> (Vec<Round>, Vec<Round>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for round in 0..n {
        let d = drift * g.sample();
        a.push((round, 1e6 * ratio * (d + noise * g.sample()).exp()));
        b.push((round, 1e6 * (d + noise * g.sample()).exp()));
    }
    (a, b)
}

/// Share of seeds whose interval holds the true ratio.
fn coverage(n: usize, seeds: u64, noise: f64) -> f64 {
    let ratio = 1.3;
    let mut hits = 0;
    for seed in 0..seeds {
        let mut g = Normal::new(seed + 1000 * n as u64);
        let (a, b) = rounds(&mut g, n, ratio, 0.25, noise);
        let iv = mean_interval(&paired_logs(&a, &b, 1.0)).expect("enough rounds");
        let (lo, hi) = iv.bounds();
        if lo <= ratio && ratio <= hi {
            hits += 1;
        }
    }
    hits as f64 / seeds as f64
}

#[test]
fn the_interval_covers_the_true_ratio_95_percent_of_the_time() {
    // 4000 seeds: the binomial sd of a 95% coverage is 0.34%.
    for n in [3, 5, 10] {
        let c = coverage(n, 4000, 0.03);
        assert!(
            (0.935..=0.965).contains(&c),
            "{n} rounds: coverage {c} is not near 95%"
        );
    }
}

#[test]
fn the_bootstrap_covers_the_true_ratio_where_rounds_are_many() {
    let n = BOOTSTRAP_MIN_ROUNDS + 10;
    let mut g = Normal::new(7);
    let (a, b) = rounds(&mut g, n, 1.3, 0.25, 0.03);
    let iv = mean_interval(&paired_logs(&a, &b, 1.0)).unwrap();
    assert_eq!(iv.method, Method::PairedBootstrapLog);
    // A percentile bootstrap slightly under-covers at this size.
    let c = coverage(n, 600, 0.03);
    assert!((0.91..=0.975).contains(&c), "coverage {c}");
}

#[test]
fn pairing_by_round_cancels_the_machines_drift() {
    // A drift of 25% between rounds, 1% noise within one: the interval
    // reflects the 1%, not the 25%.
    let mut g = Normal::new(42);
    let (a, b) = rounds(&mut g, 5, 0.9, 0.25, 0.01);
    let iv = mean_interval(&paired_logs(&a, &b, 1.0)).unwrap();
    let (lo, hi) = iv.bounds();
    assert!(half_width(iv.ratio(), lo, hi) < 0.04, "{lo}..{hi}");
    assert!(hi < 1.0, "a 10% slowdown is detected: {lo}..{hi}");
    assert_eq!(iv.method, Method::PairedTLog);
    assert_eq!(iv.n, 5);
}

#[test]
fn below_three_rounds_there_is_no_interval() {
    assert!(mean_interval(&[0.1, 0.12]).is_none());
    assert!(mean_interval(&[]).is_none());
    assert!(mean_interval(&[0.1, 0.12, 0.11]).is_some());
    assert!(mean_interval(&[0.1, f64::NAN, 0.11]).is_none());
}

#[test]
fn logs_pair_only_rounds_both_sides_ran() {
    let a = [(0, 2.0), (1, 4.0), (3, 8.0), (4, 0.0)];
    let b = [(1, 2.0), (0, 1.0), (2, 5.0), (4, 1.0)];
    let d = paired_logs(&a, &b, 2.0);
    // Rounds 0 and 1 (ratio 2 over the scale 2); round 2 and 3 lack a side;
    // round 4 has a zero.
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|x| x.abs() < 1e-12));
}

#[test]
fn identical_rounds_give_a_zero_width_interval() {
    let iv = mean_interval(&[0.2, 0.2, 0.2]).unwrap();
    assert!(iv.high - iv.low < 1e-12);
    assert!((iv.ratio() - 0.2f64.exp()).abs() < 1e-12);
    assert!((half_width(1.0, 0.95, 1.02) - 0.05).abs() < 1e-12);
    assert!((half_width(1.0, 0.99, 1.08) - 0.08).abs() < 1e-12);
    assert_eq!(half_width(0.0, 0.0, 1.0), f64::INFINITY);
}

#[test]
fn welch_statistic_and_degrees_of_freedom() {
    // Worked by hand: means 3 and 6, variances 2.5 and 10, n = 5 each.
    let w = welch(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
    assert!((w.diff - 3.0).abs() < 1e-12);
    assert!((w.se - 2.5f64.sqrt()).abs() < 1e-12);
    assert!((w.df - 6.25 / 1.0625).abs() < 1e-9);
    let t: f64 = 3.0 / 2.5f64.sqrt();
    assert!((w.p - 2.0 * (1.0 - t_cdf(t, w.df))).abs() < 1e-12);
    assert!(w.p > 0.05 && w.p < 0.2, "p {}", w.p);
    assert!(w.low < 0.0 && w.high > 3.0);
    assert!(
        welch(&[1.0], &[1.0, 2.0]).is_none(),
        "one repeat has no variance"
    );
    assert_eq!(welch(&[1.0, 1.0], &[1.0, 1.0]).unwrap().p, 1.0);
    assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]).unwrap().p, 0.0);
}

/// Log throughput of `n` repeats around `center` with `noise` sd.
fn repeats(g: &mut Normal, n: usize, center: f64, noise: f64) -> Vec<f64> {
    (0..n).map(|_| center + noise * g.sample()).collect()
}

#[test]
fn welch_holds_its_false_positive_rate_and_finds_a_10_percent_drop() {
    let (seeds, noise) = (4000, 0.02);
    for n in [2, 3, 5] {
        let mut g = Normal::new(99 + n as u64);
        let mut false_pos = 0;
        let mut found = 0;
        for _ in 0..seeds {
            let old = repeats(&mut g, n, 15.0, noise);
            let same = repeats(&mut g, n, 15.0, noise);
            let slower = repeats(&mut g, n, 15.0 + 0.9f64.ln(), noise);
            false_pos += (welch(&old, &same).unwrap().p < 0.05) as u32;
            found += (welch(&old, &slower).unwrap().p < 0.05) as u32;
        }
        let fp = false_pos as f64 / seeds as f64;
        assert!(fp <= 0.06, "{n} repeats: false positives {fp}");
        let power = found as f64 / seeds as f64;
        // A rank test cannot reach p < 0.05 at all with 2 or 3 repeats.
        let least = if n == 2 { 0.3 } else { 0.9 };
        assert!(power >= least, "{n} repeats: power {power}");
    }
}

#[test]
fn holm_and_fdr_adjust_as_worked_by_hand() {
    let p = [0.01, 0.04, 0.03, 0.005];
    let h = holm(&p);
    for (got, want) in h.iter().zip([0.03, 0.06, 0.06, 0.02]) {
        assert!((got - want).abs() < 1e-12, "{h:?}");
    }
    let f = fdr(&p);
    for (got, want) in f.iter().zip([0.02, 0.04, 0.04, 0.02]) {
        assert!((got - want).abs() < 1e-12, "{f:?}");
    }
    assert_eq!(holm(&[0.5]), vec![0.5]);
    assert_eq!(holm(&[0.6, 0.6, 0.6]), vec![1.0, 1.0, 1.0]);
    assert!(holm(&[]).is_empty() && fdr(&[]).is_empty());
}

#[test]
fn holm_keeps_many_null_comparisons_quiet_and_flags_a_broad_regression() {
    // 60 configurations, 3 repeats a side, nothing changed: a run with any
    // configuration called significant is rare (family-wise error <= 5%).
    let (configs, seeds, noise) = (60, 400, 0.02);
    let mut g = Normal::new(5);
    let mut any = 0;
    for _ in 0..seeds {
        let p: Vec<f64> = (0..configs)
            .map(|_| {
                let a = repeats(&mut g, 3, 15.0, noise);
                let b = repeats(&mut g, 3, 15.0, noise);
                welch(&a, &b).unwrap().p
            })
            .collect();
        any += holm(&p).iter().any(|&q| q < 0.05) as u32;
    }
    assert!(any as f64 / seeds as f64 <= 0.06, "{any} of {seeds}");
    // Every configuration 10% slower with 1% noise at 5 repeats: Holm
    // still finds nearly all of them.
    let p: Vec<f64> = (0..configs)
        .map(|_| {
            let a = repeats(&mut g, 5, 15.0, 0.01);
            let b = repeats(&mut g, 5, 15.0 + 0.9f64.ln(), 0.01);
            welch(&a, &b).unwrap().p
        })
        .collect();
    let flagged = holm(&p).iter().filter(|&&q| q < 0.05).count();
    assert!(flagged >= configs * 9 / 10, "{flagged} of {configs}");
}

#[test]
fn bootstrap_is_deterministic_and_brackets_the_statistic() {
    let x: Vec<f64> = (0..12).map(|i| i as f64).collect();
    let mean_of = |idx: &[usize]| idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
    let a = bootstrap(x.len(), seed_of(&x), mean_of).unwrap();
    let b = bootstrap(x.len(), seed_of(&x), mean_of).unwrap();
    assert_eq!(a, b);
    assert!(a.0 < 5.5 && 5.5 < a.1, "{a:?}");
    assert!(bootstrap(0, 1, mean_of).is_none());
}
