//! The waterfall of a cost breakdown: its data (one [`Step`] per policy)
//! and its SVG drawing. The baseline's bar stands at 1, each step is a
//! floating bar from the level before it to its own, coloured by what its
//! interval says (green: a gain, red: a loss, grey: no difference detected),
//! with the interval of its ratio to the baseline as a whisker; the
//! target's bar stands on the axis again. Side steps are left to the table.
//!
//! A leaf beside `svg`: the document model (`doc`) carries a `Waterfall` and
//! the breakdown section (`breakdown`) builds one.

use super::estimate::Ratio;
use super::format;
use super::svg::{self, n, xml, AXIS, INK, MUTED};
use std::fmt::Write;

/// One step of one scenario's breakdown.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub policy: String,
    pub adds: String,
    /// The policy this step is compared with (the step before it; for a
    /// side step, the step it branches from).
    pub from: Option<String>,
    /// Median throughput, ops/s.
    pub tput: Option<f64>,
    /// Throughput over the baseline's.
    pub vs_base: Option<Ratio>,
    /// Throughput over `from`'s: what this ingredient costs.
    pub vs_from: Option<Ratio>,
    /// Instructions per operation, and over `from`'s.
    pub instr: Option<f64>,
    pub instr_vs_from: Option<f64>,
    /// A side step (not on the way from the baseline to the target).
    pub side: bool,
}

/// The waterfall of one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Waterfall {
    pub workload: String,
    pub steps: Vec<Step>,
}

/// Green for a gain, red for a loss, grey where the interval holds 1 (no
/// difference detected) or is unknown.
fn colour(r: Option<Ratio>) -> &'static str {
    match r.and_then(|r| r.interval.map(|(lo, hi)| (r.value, lo, hi))) {
        Some((_, lo, _)) if lo > 1.0 => "#2e8b57",
        Some((_, _, hi)) if hi < 1.0 => "#c0392b",
        _ => "#9aa3ad",
    }
}

/// The waterfall as SVG: the chain's steps (side steps are in the table).
pub fn draw(w: &Waterfall) -> String {
    let mut out = String::new();
    let label = format!("{}: over the baseline, step by step", w.workload);
    svg::open(&mut out, "waterfall", &w.workload, &label);
    let chain: Vec<&Step> = w.steps.iter().filter(|s| !s.side).collect();
    let levels: Vec<Option<f64>> = chain
        .iter()
        .enumerate()
        .map(|(k, s)| {
            if k == 0 {
                Some(1.0)
            } else {
                s.vs_base.map(|r| r.value)
            }
        })
        .collect();
    if chain.len() < 2 || levels.iter().any(Option::is_none) {
        svg::message(&mut out, "not enough runs to draw the steps");
        out.push_str("</svg>");
        return out;
    }
    let levels: Vec<f64> = levels.into_iter().flatten().collect();
    let highs = chain
        .iter()
        .filter_map(|s| s.vs_base.and_then(|r| r.interval).map(|i| i.1));
    let top_value = levels.iter().copied().chain(highs).fold(1.2f64, f64::max);
    let (ymax, ticks) = svg::linear_ticks(top_value);
    let (left, top, pw, ph) = svg::plot_box(0.0);
    let y = |v: f64| top + ph - (v / ymax) * ph;
    for t in &ticks {
        svg::y_tick(
            &mut out,
            y(*t),
            pw,
            &format!("{t:.1}x"),
            (*t - 1.0).abs() < 1e-9,
        );
    }
    svg::frame(&mut out, top, pw, ph);
    let slot = pw / chain.len() as f64;
    let bar_w = slot * 0.6;
    for (k, s) in chain.iter().enumerate() {
        let x = left + slot * k as f64 + (slot - bar_w) / 2.0;
        let last = k + 1 == chain.len();
        // The baseline and the target stand on the axis; each step between
        // floats from the level before it to its own.
        let (from, to) = if k == 0 || last {
            (0.0, levels[k])
        } else {
            (levels[k - 1], levels[k])
        };
        let fill = if k == 0 || last {
            "#5b7db1"
        } else {
            colour(s.vs_from)
        };
        let (y0, y1) = (y(from.max(to)), y(from.min(to)));
        let tip = format!(
            "{}: {} over the baseline{}",
            s.policy,
            s.vs_base
                .map_or("—".into(), |r| format::estimate(&r, format::ratio)),
            s.vs_from.map_or(String::new(), |r| format!(
                "; {} over the step before",
                format::estimate(&r, format::ratio)
            ))
        );
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
            n(x),
            n(y0),
            n(bar_w),
            n((y1 - y0).max(1.0)),
            xml(&tip)
        );
        if let Some((lo, hi)) = s.vs_base.and_then(|r| r.interval) {
            let cx = x + bar_w / 2.0;
            let _ = write!(
                out,
                "<path d=\"M{} {}V{}M{} {}H{}M{} {}H{}\" stroke=\"{INK}\" stroke-width=\"1.2\" fill=\"none\"/>",
                n(cx), n(y(hi)), n(y(lo)),
                n(cx - 4.0), n(y(hi)), n(cx + 4.0),
                n(cx - 4.0), n(y(lo)), n(cx + 4.0)
            );
        }
        let step_label = if k == 0 {
            "baseline".to_string()
        } else {
            s.vs_from.map_or("—".into(), |r| {
                format!("{:+.1}%", (r.value - 1.0) * 100.0)
            })
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>",
            n(x + bar_w / 2.0),
            n(y(levels[k].max(from)) - 6.0),
            xml(&step_label)
        );
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{AXIS}\" text-anchor=\"middle\">{}</text>",
            n(x + bar_w / 2.0),
            n(top + ph + 16.0),
            xml(short(&s.policy))
        );
    }
    svg::axis_titles(&mut out, "step", "throughput over the baseline", top, ph);
    out.push_str("</svg>");
    out
}

/// A step's label under its bar: the ingredient it adds (the part after
/// the last `+`), or the policy's name.
fn short(policy: &str) -> &str {
    policy.rsplit('+').next().unwrap_or(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(policy: &str, vs_base: f64, vs_from: f64, side: bool) -> Step {
        Step {
            policy: policy.into(),
            adds: "x".into(),
            from: None,
            tput: Some(1e6 * vs_base),
            vs_base: Some(Ratio {
                value: vs_base,
                interval: Some((vs_base * 0.97, vs_base * 1.03)),
                ..Ratio::point(vs_base)
            }),
            vs_from: Some(Ratio {
                value: vs_from,
                interval: Some((vs_from * 0.98, vs_from * 1.02)),
                ..Ratio::point(vs_from)
            }),
            instr: None,
            instr_vs_from: None,
            side,
        }
    }

    #[test]
    fn the_waterfall_draws_every_step_of_the_chain_and_only_those() {
        let w = Waterfall {
            workload: "alloc-churn".into(),
            steps: vec![
                step("gil", 1.0, 1.0, false),
                step("gil+hdr32", 0.95, 0.95, false),
                step("gil+brc", 0.9, 0.947, false),
                step("biased", 0.88, 0.978, false),
                step("gil+atomic", 0.8, 0.84, true),
            ],
        };
        let svg = draw(&w);
        assert_eq!(svg.matches("<rect").count(), 4, "one bar per chain step");
        assert!(svg.contains("-5.0%"), "the increment is labelled");
        assert!(svg.contains("#c0392b"), "a detected loss is red");
        assert!(!svg.contains("gil+atomic"), "side steps stay in the table");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn a_missing_step_says_so_instead_of_drawing() {
        let mut s = step("gil+hdr32", 0.9, 0.9, false);
        s.vs_base = None;
        let w = Waterfall {
            workload: "w".into(),
            steps: vec![step("gil", 1.0, 1.0, false), s],
        };
        assert!(draw(&w).contains("not enough runs"));
    }
}
