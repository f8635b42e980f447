//! The overview heat map at the top of `report.html`: one row per scenario,
//! one column per (policy, thread count), each cell the policy's throughput
//! relative to `gil` at the same thread count.
//!
//! Colour encodes the ratio on a log2 scale, clamped at 1/4x and 4x, with a
//! diverging orange–purple palette (PuOr, readable with the common colour
//! vision deficiencies): orange slower than `gil`, purple faster, near-white
//! about the same. Every cell also prints its ratio, so nothing depends on
//! colour alone, and carries a tooltip.
//!
//! Confidence marks: a cell whose ratio has an interval prints it under the
//! value, and one whose interval holds 1 (no difference detected) is drawn
//! pale with an "≈" before its value; [`cell`] is the one place that draws
//! both. The tooltip gives the verdict in words (`finding::verdict`).

use super::doc::{Heat, HeatMap};
use super::estimate::Ratio;
use super::finding::{self, verdict};
use super::format;
use super::stats::Summary;
use super::svg::{n, text_width, xml, INK, MUTED};
use std::fmt::Write;

const W: f64 = 720.0;
const GROUP_Y: f64 = 22.0;
const THREADS_Y: f64 = 40.0;
const TOP: f64 = 48.0;
const ROW_H: f64 = 32.0;
const RIGHT: f64 = 8.0;
const LEGEND_H: f64 = 58.0;
const LABEL_FONT: f64 = 13.0;

/// The palette's ends and middle (PuOr): slower, same, faster.
const SLOWER: (f64, f64, f64) = (179.0, 88.0, 6.0);
const SAME: (f64, f64, f64) = (247.0, 247.0, 247.0);
const FASTER: (f64, f64, f64) = (84.0, 39.0, 136.0);
const FAILED_FILL: &str = "#d0d7de";
const NO_BASELINE_FILL: &str = "#eaeef2";

/// log2 of the ratio, clamped to [-2, 2] (1/4x .. 4x).
fn position(ratio: f64) -> f64 {
    if ratio > 0.0 && ratio.is_finite() {
        ratio.log2().clamp(-2.0, 2.0)
    } else {
        0.0
    }
}

/// The fill for a ratio; `pale` mixes it halfway to the middle colour.
pub fn fill(ratio: f64, pale: bool) -> String {
    let t = position(ratio) / 2.0;
    let end = if t < 0.0 { SLOWER } else { FASTER };
    let mut k = t.abs();
    if pale {
        k *= 0.35;
    }
    let mix = |a: f64, b: f64| (a + (b - a) * k).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(SAME.0, end.0),
        mix(SAME.1, end.1),
        mix(SAME.2, end.2)
    )
}

/// Text on a cell: white where the fill is dark.
fn ink_on(ratio: f64, pale: bool) -> &'static str {
    if !pale && position(ratio).abs() > 1.0 {
        "#ffffff"
    } else {
        INK
    }
}

/// The heat map as an SVG chart.
pub fn render(s: &Summary, h: &HeatMap) -> String {
    let precision = s.results.precision_pct() / 100.0;
    let ncols = h.columns.len().max(1) as f64;
    let label_w = h
        .rows
        .iter()
        .map(|r| text_width(r, LABEL_FONT))
        .fold(90.0, f64::max)
        .min(240.0)
        + 16.0;
    let cw = (W - label_w - RIGHT) / ncols;
    let height = TOP + ROW_H * h.rows.len() as f64 + LEGEND_H;
    let title = format!(
        "Throughput relative to {} at the same thread count",
        h.baseline
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart heatmap\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">",
        n(W),
        n(height),
        xml(&title)
    );
    // No drawn title: the report's heading above says it (the label
    // carries it for screen readers).
    // Header: each policy over its thread counts, then the counts.
    let mut i = 0;
    while i < h.columns.len() {
        let p = &h.columns[i].0;
        let span = h.columns[i..].iter().take_while(|c| &c.0 == p).count();
        let x0 = label_w + i as f64 * cw;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" rx=\"2\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"{LABEL_FONT}\" font-weight=\"600\" \
             fill=\"{INK}\">{}</text>",
            n(x0 + 4.0),
            n(GROUP_Y - 10.0),
            s.colour(p),
            n(x0 + 18.0),
            n(GROUP_Y),
            xml(p)
        );
        if i > 0 {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ffffff\" \
                 stroke-width=\"4\"/>",
                n(x0),
                n(GROUP_Y - 14.0),
                n(x0),
                n(TOP + ROW_H * h.rows.len() as f64)
            );
        }
        i += span;
    }
    let font = (cw / 4.4).clamp(8.0, 12.5);
    for (ci, (_, t)) in h.columns.iter().enumerate() {
        let label = if cw >= 46.0 {
            format!("{t} thr")
        } else {
            t.to_string()
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{MUTED}\" \
             text-anchor=\"middle\">{}</text>",
            n(label_w + (ci as f64 + 0.5) * cw),
            n(THREADS_Y),
            n(font),
            xml(&label)
        );
    }
    for (ri, name) in h.rows.iter().enumerate() {
        let y = TOP + ri as f64 * ROW_H;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{LABEL_FONT}\" fill=\"{INK}\" \
             text-anchor=\"end\">{}</text>",
            n(label_w - 10.0),
            n(y + ROW_H / 2.0 + 4.5),
            xml(name)
        );
        for (ci, c) in h.cells[ri].iter().enumerate() {
            let (p, t) = &h.columns[ci];
            let tip = format!(
                "{name}, {p} at {t} threads: {}",
                tooltip(c, &h.baseline, precision)
            );
            cell(&mut out, c, label_w + ci as f64 * cw, y, cw, font, &tip);
        }
    }
    legend(
        &mut out,
        TOP + ROW_H * h.rows.len() as f64 + 14.0,
        &h.baseline,
    );
    out.push_str("</svg>");
    out
}

fn tooltip(c: &Heat, baseline: &str, precision: f64) -> String {
    match c {
        Heat::Ratio(r) => {
            let v = verdict(r, precision, finding::FASTER).replace('*', "");
            format!("{} the throughput of {baseline}; {v}", format::times(r))
        }
        Heat::Failed => "every repeat failed".into(),
        Heat::NoBaseline => format!("no ok {baseline} run to compare with"),
        Heat::NotRun => "not run".into(),
    }
}

/// One cell at (x, y) of width `w`: fill, value and, where the ratio has
/// one, its interval.
fn cell(out: &mut String, c: &Heat, x: f64, y: f64, w: f64, font: f64, tip: &str) {
    let (fill_colour, ink, text, interval) = match c {
        Heat::Ratio(r) => {
            let undecided = r.excludes_one() == Some(false);
            let value = format::ratio(r.value);
            let text = if undecided {
                format!("≈{value}")
            } else {
                value
            };
            (
                fill(r.value, undecided),
                ink_on(r.value, undecided),
                text,
                r.interval
                    .map(|(lo, hi)| bounds(&Ratio::point(lo), &Ratio::point(hi))),
            )
        }
        Heat::Failed => (FAILED_FILL.to_string(), INK, "failed".to_string(), None),
        Heat::NoBaseline => (NO_BASELINE_FILL.to_string(), MUTED, "no base".into(), None),
        Heat::NotRun => ("#ffffff".to_string(), MUTED, "—".into(), None),
    };
    let cx = x + w / 2.0;
    let text_y = if interval.is_some() {
        y + ROW_H / 2.0
    } else {
        y + ROW_H / 2.0 + font * 0.36
    };
    let _ = write!(
        out,
        "<g class=\"cell\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" \
         height=\"{}\" fill=\"{fill_colour}\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{ink}\" text-anchor=\"middle\" \
         font-variant-numeric=\"tabular-nums\">{}</text>",
        xml(tip),
        n(x),
        n(y),
        n(w),
        n(ROW_H),
        n(cx),
        n(text_y),
        n(font),
        xml(&text)
    );
    if let Some(iv) = interval {
        let _ = write!(
            out,
            "<text class=\"interval\" x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{ink}\" \
             text-anchor=\"middle\">{}</text>",
            n(cx),
            n(y + ROW_H - 5.0),
            n((font * 0.72).max(7.0)),
            xml(&iv)
        );
    }
    out.push_str("</g>");
}

/// "[1.85, 2.00]": an interval's bounds, short enough for a cell.
fn bounds(lo: &Ratio, hi: &Ratio) -> String {
    let short = |r: &Ratio| format::ratio(r.value).trim_end_matches('x').to_string();
    format!("[{}, {}]", short(lo), short(hi))
}

/// The colour scale and the non-ratio cells, under the rows.
fn legend(out: &mut String, y: f64, baseline: &str) {
    let steps = [0.25, 0.5, 0.71, 1.0, 1.41, 2.0, 4.0];
    let sw = 44.0;
    let x0 = 8.0;
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{MUTED}\">slower than {} ← \
         → faster (log scale)</text>",
        n(x0),
        n(y + 6.0),
        xml(baseline)
    );
    for (i, r) in steps.iter().enumerate() {
        let x = x0 + i as f64 * sw;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\" \
             text-anchor=\"middle\">{}</text>",
            n(x),
            n(y + 14.0),
            n(sw),
            fill(*r, false),
            n(x + sw / 2.0),
            n(y + 41.0),
            xml(&format::ratio(*r))
        );
    }
    let mut x = x0 + steps.len() as f64 * sw + 28.0;
    for (fill_colour, label) in [
        (FAILED_FILL, "failed".to_string()),
        (NO_BASELINE_FILL, format!("no base: no ok {baseline} run")),
    ] {
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{fill_colour}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\">{}</text>",
            n(x),
            n(y + 14.0),
            n(x + 19.0),
            n(y + 25.5),
            xml(&label)
        );
        x += 30.0 + text_width(&label, 11.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_orange_through_white_to_purple() {
        assert_eq!(fill(1.0, false), "#f7f7f7");
        assert_eq!(fill(4.0, false), "#542788");
        assert_eq!(fill(0.25, false), "#b35806");
        // Beyond the ends the colour stays at the end.
        assert_eq!(fill(100.0, false), fill(4.0, false));
        assert_eq!(fill(f64::NAN, false), "#f7f7f7");
        // A pale cell is nearer the middle than a decided one.
        assert_ne!(fill(2.0, true), fill(2.0, false));
        assert_eq!(ink_on(4.0, false), "#ffffff");
        assert_eq!(ink_on(1.1, false), INK);
    }

    #[test]
    fn cells_show_intervals_and_undecided_ratios_where_known() {
        let mut out = String::new();
        cell(
            &mut out,
            &Heat::Ratio(Ratio::point(1.92)),
            0.0,
            0.0,
            60.0,
            12.0,
            "t",
        );
        assert!(out.contains(">1.92x</text>"));
        assert!(!out.contains("interval"));
        let mut out = String::new();
        let decided = Ratio::with_interval(1.92, 1.85, 2.0);
        cell(&mut out, &Heat::Ratio(decided), 0.0, 0.0, 60.0, 12.0, "t");
        assert!(out.contains(">1.92x</text>"), "{out}");
        assert!(out.contains(">[1.85, 2.00]</text>"), "{out}");
        let mut out = String::new();
        let undecided = Ratio::with_interval(1.02, 0.97, 1.08);
        cell(&mut out, &Heat::Ratio(undecided), 0.0, 0.0, 60.0, 12.0, "t");
        assert!(out.contains(">≈1.02x</text>"), "{out}");
        assert!(out.contains(&fill(1.02, true)));
        assert_eq!(
            tooltip(&Heat::Ratio(undecided), "gil", 0.05),
            "1.02x [0.97x, 1.08x] the throughput of gil; undecided after 0 rounds (±5.9%)"
        );
        assert_eq!(
            tooltip(&Heat::Ratio(decided), "gil", 0.05),
            "1.92x [1.85x, 2.00x] the throughput of gil; faster at 95% confidence"
        );
    }
}
