//! Hand-written SVG charts for `report.html`: throughput against threads,
//! latency by percentile (HdrHistogram style), and memory bars.
//!
//! Written by hand rather than with a plotting crate: the three chart kinds
//! are small, a plotting crate costs minutes of compile time on the lab's
//! 2-core machines, and doing it here gives full control over what the
//! output holds (no fonts or scripts fetched, no namespace URL, well-formed
//! XML that the tests can parse).
//!
//! Every chart is drawn in a fixed viewBox and scaled by CSS, so it reads the
//! same at any page width. Each policy keeps one colour and one marker shape
//! in every chart (from [`Summary::colour`]), and degenerate data (no ok
//! runs, one thread count, zero latencies on a log axis) draws a readable
//! chart or a plain message, never a panic or a NaN coordinate.

use super::format;
use super::stats::{Scenario, Summary};
use crate::results::Latency;
use std::fmt::Write;

const W: f64 = 560.0;
const H: f64 = 340.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const BOTTOM: f64 = 50.0;
const TITLE_Y: f64 = 22.0;
const LEGEND_Y: f64 = 44.0;
const LEGEND_ROW: f64 = 20.0;
const TICK_FONT: f64 = 12.0;
const AXIS_FONT: f64 = 13.0;
const GRID: &str = "#e3e6ea";
const AXIS: &str = "#6b7280";
const INK: &str = "#1f2328";
const MUTED: &str = "#59636e";

/// Escapes text and attribute values for XML.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number for an SVG coordinate: finite, and short.
fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Axis labels drop trailing zeros ("1.00 ms" -> "1 ms", "1.50 M" ->
/// "1.5 M"): on an axis the tick spacing already shows the precision.
fn tick_label(s: String) -> String {
    let (num, unit) = s.split_once(' ').unwrap_or((&s, ""));
    let num = if num.contains('.') {
        num.trim_end_matches('0').trim_end_matches('.')
    } else {
        num
    };
    if unit.is_empty() {
        num.to_string()
    } else {
        format!("{num} {unit}")
    }
}

/// A step of 1, 2, 2.5 or 5 x 10^k giving about `count` intervals.
fn nice_step(range: f64, count: usize) -> f64 {
    let raw = range / count.max(1) as f64;
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Ticks from 0 to a nice top at or above `max`.
fn linear_ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max, 5);
    let steps = (max / step - 1e-9).ceil().max(1.0) as usize;
    let top = step * steps as f64;
    ((top), (0..=steps).map(|i| step * i as f64).collect())
}

/// Rough width of a label in the chart's sans-serif font (on the generous
/// side: an overestimate costs a label, an underestimate an overlap).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.62
}

/// A marker shape per policy index, so lines stay apart without colour.
fn marker(out: &mut String, shape: usize, x: f64, y: f64, colour: &str, tip: &str) {
    let r = 4.5;
    let style = format!("fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"1.2\"");
    let tip = if tip.is_empty() {
        String::new()
    } else {
        format!("<title>{}</title>", xml(tip))
    };
    let shape_svg = match shape % 5 {
        0 => format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {style}>{tip}</circle>",
            n(x),
            n(y),
            n(r)
        ),
        1 => format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}>{tip}</rect>",
            n(x - r),
            n(y - r),
            n(2.0 * r),
            n(2.0 * r)
        ),
        2 => format!(
            "<polygon points=\"{},{} {},{} {},{}\" {style}>{tip}</polygon>",
            n(x),
            n(y - r - 1.0),
            n(x + r + 0.5),
            n(y + r),
            n(x - r - 0.5),
            n(y + r)
        ),
        3 => format!(
            "<polygon points=\"{},{} {},{} {},{} {},{}\" {style}>{tip}</polygon>",
            n(x),
            n(y - r - 1.0),
            n(x + r + 1.0),
            n(y),
            n(x),
            n(y + r + 1.0),
            n(x - r - 1.0),
            n(y)
        ),
        _ => format!(
            "<polygon points=\"{},{} {},{} {},{}\" {style}>{tip}</polygon>",
            n(x),
            n(y + r + 1.0),
            n(x + r + 0.5),
            n(y - r),
            n(x - r - 0.5),
            n(y - r)
        ),
    };
    out.push_str(&shape_svg);
}

/// One legend entry.
struct Entry {
    name: String,
    colour: &'static str,
    shape: Option<usize>,
    /// Drawn as a bar swatch instead of line + marker.
    bar: bool,
    /// Greyed out with a note (e.g. "failed").
    note: Option<String>,
}

/// Lays the legend out in rows under the title; returns its height.
fn legend(out: &mut String, entries: &[Entry]) -> f64 {
    let mut x = LEFT;
    let mut y = LEGEND_Y;
    let mut rows = if entries.is_empty() { 0.0 } else { 1.0 };
    for e in entries {
        let label = match &e.note {
            Some(note) => format!("{} ({note})", e.name),
            None => e.name.clone(),
        };
        let w = 30.0 + text_width(&label, AXIS_FONT) + 18.0;
        if x + w > W - RIGHT && x > LEFT {
            x = LEFT;
            y += LEGEND_ROW;
            rows += 1.0;
        }
        let opacity = if e.note.is_some() { "0.45" } else { "1" };
        let _ = write!(out, "<g class=\"legend-item\" opacity=\"{opacity}\">");
        if e.bar {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"11\" rx=\"2\" fill=\"{}\"/>",
                n(x + 4.0),
                n(y - 9.5),
                e.colour
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2.5\"/>",
                n(x),
                n(y - 4.0),
                n(x + 24.0),
                n(y - 4.0),
                e.colour
            );
            if let Some(s) = e.shape {
                marker(out, s, x + 12.0, y - 4.0, e.colour, "");
            }
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{AXIS_FONT}\" fill=\"{INK}\">{}</text></g>",
            n(x + 30.0),
            n(y),
            xml(&label)
        );
        x += w;
    }
    rows * LEGEND_ROW
}

fn open(out: &mut String, kind: &str, workload: &str, label: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart {kind}\" data-workload=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" \
         aria-label=\"{}\">",
        xml(workload),
        n(W),
        n(H),
        xml(label)
    );
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"600\" fill=\"{INK}\">{}</text>",
        n(LEFT),
        n(TITLE_Y),
        xml(label)
    );
}

/// The plot box: (left, top, width, height).
fn plot_box(legend_h: f64) -> (f64, f64, f64, f64) {
    let top = LEGEND_Y + legend_h + 8.0;
    (LEFT, top, W - LEFT - RIGHT, H - top - BOTTOM)
}

fn message(out: &mut String, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>",
        n(W / 2.0),
        n(H / 2.0),
        xml(text)
    );
}

fn axis_titles(out: &mut String, x_title: &str, y_title: &str, top: f64, ph: f64) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{AXIS_FONT}\" fill=\"{MUTED}\" \
         text-anchor=\"middle\">{}</text>",
        n(LEFT + (W - LEFT - RIGHT) / 2.0),
        n(H - 10.0),
        xml(x_title)
    );
    let cy = top + ph / 2.0;
    let _ = write!(
        out,
        "<text transform=\"translate(16 {}) rotate(-90)\" font-size=\"{AXIS_FONT}\" \
         fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>",
        n(cy),
        xml(y_title)
    );
}

/// Horizontal gridline with its label on the left axis.
fn y_tick(out: &mut String, y: f64, pw: f64, label: &str, major: bool) {
    let _ = write!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{GRID}\" stroke-width=\"{}\"/>",
        n(LEFT),
        n(y),
        n(LEFT + pw),
        n(y),
        if major { "1" } else { "0.6" }
    );
    if !label.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{TICK_FONT}\" fill=\"{MUTED}\" \
             text-anchor=\"end\">{}</text>",
            n(LEFT - 6.0),
            n(y + 4.0),
            xml(label)
        );
    }
}

fn x_tick(out: &mut String, x: f64, top: f64, ph: f64, label: &str) {
    let _ = write!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{GRID}\"/>",
        n(x),
        n(top),
        n(x),
        n(top + ph)
    );
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{TICK_FONT}\" fill=\"{MUTED}\" \
         text-anchor=\"middle\">{}</text>",
        n(x),
        n(top + ph + 17.0),
        xml(label)
    );
}

fn frame(out: &mut String, top: f64, pw: f64, ph: f64) {
    let _ = write!(
        out,
        "<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"{AXIS}\" stroke-width=\"1\"/>",
        n(LEFT),
        n(top),
        n(top + ph),
        n(LEFT + pw)
    );
}

/// Throughput (median over ok repeats, with the min..max range as an error
/// bar) against thread count, one line per policy. Thread counts sit at
/// equal distances: they are usually powers of two, so this reads as a log2
/// axis and keeps 1 and 2 threads apart.
pub fn throughput(s: &Summary, sc: &Scenario) -> String {
    let mut out = String::new();
    open(
        &mut out,
        "throughput",
        &sc.name,
        &format!("{}: throughput by thread count", sc.name),
    );
    let entries: Vec<Entry> = sc
        .policies
        .iter()
        .map(|p| Entry {
            name: p.clone(),
            colour: s.colour(p),
            shape: Some(s.policy_index(p)),
            bar: false,
            note: sc
                .configs
                .iter()
                .filter(|c| &c.policy == p)
                .all(|c| c.ok.is_empty())
                .then(|| "no ok run".to_string()),
        })
        .collect();
    let lh = legend(&mut out, &entries);
    let (left, top, pw, ph) = plot_box(lh);

    let max = sc
        .configs
        .iter()
        .filter_map(|c| c.throughput().map(|t| t.max))
        .fold(0.0, f64::max);
    if sc.threads.is_empty() || sc.configs.iter().all(|c| c.ok.is_empty()) {
        message(&mut out, "no ok runs to plot");
        out.push_str("</svg>");
        return out;
    }
    let (ytop, yticks) = linear_ticks(max);
    let ys = |v: f64| top + ph - (v.max(0.0) / ytop) * ph;
    let nt = sc.threads.len();
    let pad = 36.0;
    let xs = |i: usize| {
        if nt == 1 {
            left + pw / 2.0
        } else {
            left + pad + i as f64 * (pw - 2.0 * pad) / (nt - 1) as f64
        }
    };
    for &t in &yticks {
        y_tick(&mut out, ys(t), pw, &tick_label(format::si(t)), true);
    }
    for (i, t) in sc.threads.iter().enumerate() {
        x_tick(&mut out, xs(i), top, ph, &t.to_string());
    }
    frame(&mut out, top, pw, ph);

    let np = sc.policies.len();
    for (pi, p) in sc.policies.iter().enumerate() {
        let colour = s.colour(p);
        let shape = s.policy_index(p);
        // Dodge policies sideways a little so error bars do not overlap.
        let dx = (pi as f64 - (np as f64 - 1.0) / 2.0) * 5.0;
        let pts: Vec<(f64, f64, f64, f64, usize, usize)> = sc
            .threads
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| {
                let c = sc.config(p, t)?;
                let tp = c.throughput()?;
                Some((xs(i) + dx, tp.median, tp.min, tp.max, t, tp.n))
            })
            .collect();
        if pts.len() > 1 {
            let d: Vec<String> = pts
                .iter()
                .map(|&(x, m, ..)| format!("{},{}", n(x), n(ys(m))))
                .collect();
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
                 stroke-linejoin=\"round\"/>",
                d.join(" ")
            );
        }
        for &(x, m, lo, hi, t, count) in &pts {
            if hi > lo {
                let _ = write!(
                    out,
                    "<path d=\"M{} {}V{}M{} {}H{}M{} {}H{}\" stroke=\"{colour}\" \
                     stroke-width=\"1.3\" fill=\"none\"/>",
                    n(x),
                    n(ys(lo)),
                    n(ys(hi)),
                    n(x - 3.5),
                    n(ys(lo)),
                    n(x + 3.5),
                    n(x - 3.5),
                    n(ys(hi)),
                    n(x + 3.5)
                );
            }
            let tip = format!(
                "{p}, {t} threads: {} ops/s (median of {count}; min {}, max {})",
                format::si(m),
                format::si(lo),
                format::si(hi)
            );
            marker(&mut out, shape, x, ys(m), colour, &tip);
        }
        // A configuration with no ok run is marked on the axis, not hidden.
        for (i, &t) in sc.threads.iter().enumerate() {
            if let Some(c) = sc.config(p, t) {
                if c.ok.is_empty() {
                    let (x, y) = (xs(i) + dx, top + ph);
                    let _ = write!(
                        out,
                        "<path d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{colour}\" \
                         stroke-width=\"2\"><title>{}</title></path>",
                        n(x - 4.0),
                        n(y - 4.0),
                        n(x + 4.0),
                        n(y + 4.0),
                        n(x - 4.0),
                        n(y + 4.0),
                        n(x + 4.0),
                        n(y - 4.0),
                        xml(&format!("{p}, {t} threads: every repeat failed"))
                    );
                }
            }
        }
    }
    axis_titles(
        &mut out,
        "threads",
        "ops/s (median, min..max bars)",
        top,
        ph,
    );
    out.push_str("</svg>");
    out
}

/// x position of a percentile on the 1/(1-p) log axis.
fn pct_x(p: f64, x_max: f64) -> f64 {
    if p >= 100.0 {
        return x_max;
    }
    (-(1.0 - p.max(0.0) / 100.0).log10()).min(x_max)
}

/// The points of a latency plot: the recorded distribution, or the summary
/// percentiles where a run has none.
fn dist_points(l: &Latency) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = if l.distribution.is_empty() {
        [
            (50.0, l.p50),
            (90.0, l.p90),
            (99.0, l.p99),
            (99.9, l.p999),
            (100.0, l.max),
        ]
        .into_iter()
        .filter(|&(_, v)| v > 0)
        .map(|(p, v)| (p, v as f64))
        .collect()
    } else {
        l.distribution
            .iter()
            .filter(|(p, _)| p.is_finite())
            .map(|&(p, v)| (p.clamp(0.0, 100.0), v as f64))
            .collect()
    };
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    // 100% (the max) lies at infinity on this axis; clamped to the edge it
    // would draw a vertical wall, so it is left to the tables.
    if v.iter().any(|(p, _)| *p < 100.0) {
        v.retain(|(p, _)| *p < 100.0);
    }
    v
}

/// Latency by percentile at the largest thread count, HdrHistogram style:
/// x = percentile on a log axis of 1/(1-p), y = latency on a log axis, one
/// line per policy. A policy is drawn from its representative repeat (the
/// one with the median p99): distributions of repeats cannot be averaged.
pub fn latency(s: &Summary, sc: &Scenario) -> String {
    let mut out = String::new();
    let t = sc.largest_ok_threads();
    let role = sc
        .headline_role
        .as_ref()
        .map(|r| format!(", {r} role"))
        .unwrap_or_default();
    let title = match t {
        Some(t) => format!("{}: latency by percentile, {t} threads{role}", sc.name),
        None => format!("{}: latency by percentile{role}", sc.name),
    };
    open(&mut out, "latency", &sc.name, &title);

    let mut series = Vec::new();
    let mut entries = Vec::new();
    for p in &sc.policies {
        let run = t.and_then(|t| sc.config(p, t)).and_then(|c| {
            c.representative()
                .map(|r| dist_points(c.headline_latency(r)))
        });
        let note = match &run {
            Some(pts) if !pts.is_empty() => None,
            Some(_) => Some("no samples".to_string()),
            None => Some("no ok run".to_string()),
        };
        entries.push(Entry {
            name: p.clone(),
            colour: s.colour(p),
            shape: Some(s.policy_index(p)),
            bar: false,
            note,
        });
        if let Some(pts) = run.filter(|v| !v.is_empty()) {
            series.push((p, pts));
        }
    }
    let lh = legend(&mut out, &entries);
    let (left, top, pw, ph) = plot_box(lh);
    if series.is_empty() {
        message(&mut out, "no latency samples to plot");
        out.push_str("</svg>");
        return out;
    }

    // x: at least to 99.99%, further if the data has finer percentiles.
    let finest = series
        .iter()
        .flat_map(|(_, v)| v.iter())
        .filter(|(p, _)| *p < 100.0)
        .map(|(p, _)| pct_x(*p, 9.0))
        .fold(0.0, f64::max);
    let x_max = finest.ceil().clamp(4.0, 6.0);
    let xs = |p: f64| left + pct_x(p, x_max) / x_max * pw;

    // y: whole decades around the data; zero latencies clamp to 1 ns.
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, v)| v.iter())
        .fold((f64::MAX, 1.0f64), |(lo, hi), &(_, v)| {
            (lo.min(v.max(1.0)), hi.max(v))
        });
    let d_lo = lo.max(1.0).log10().floor();
    let mut d_hi = hi.max(1.0).log10().ceil();
    if d_hi <= d_lo {
        d_hi = d_lo + 1.0;
    }
    let ys = |v: f64| top + ph - (v.max(1.0).log10() - d_lo) / (d_hi - d_lo) * ph;
    let decades = (d_hi - d_lo) as i32;
    let label_every = if decades > 6 { 2 } else { 1 };
    for k in 0..=decades {
        let v = 10f64.powi(d_lo as i32 + k);
        let label = if k % label_every == 0 {
            tick_label(format::ns(v))
        } else {
            String::new()
        };
        y_tick(&mut out, ys(v), pw, &label, true);
        // Minor lines at 2x and 5x help read values between decades.
        if k < decades && decades <= 4 {
            for m in [2.0, 5.0] {
                let label = if decades <= 2 {
                    tick_label(format::ns(v * m))
                } else {
                    String::new()
                };
                y_tick(&mut out, ys(v * m), pw, &label, false);
            }
        }
    }
    let mut ticks = vec![(50.0, "50%".to_string())];
    let names = ["90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    for (i, name) in names.iter().enumerate() {
        if (i + 1) as f64 <= x_max {
            ticks.push((100.0 - 100.0 / 10f64.powi(i as i32 + 1), name.to_string()));
        }
    }
    for (p, name) in &ticks {
        x_tick(&mut out, xs(*p), top, ph, name);
    }
    frame(&mut out, top, pw, ph);

    for (p, pts) in &series {
        let colour = s.colour(p);
        let d: Vec<String> = pts
            .iter()
            .map(|&(q, v)| format!("{},{}", n(xs(q)), n(ys(v))))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
             stroke-linejoin=\"round\"><title>{}</title></polyline>",
            d.join(" "),
            xml(p)
        );
        // Markers at the quoted percentiles make the lines tellable apart
        // without colour and carry the exact values as tooltips.
        for target in [50.0, 99.0, 99.9] {
            if let Some(&(q, v)) = pts.iter().find(|(q, _)| *q >= target) {
                let tip = format!("{p}: p{} = {}", trim_pct(q), format::ns(v));
                marker(&mut out, s.policy_index(p), xs(q), ys(v), colour, &tip);
            }
        }
    }
    axis_titles(&mut out, "percentile", "latency (log scale)", top, ph);
    out.push_str("</svg>");
    out
}

fn trim_pct(p: f64) -> String {
    let s = format!("{p:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Memory at the largest thread count: peak RSS, bytes reserved and bytes in
/// use at peak, one bar per policy in each group (medians over ok repeats).
pub fn memory(s: &Summary, sc: &Scenario) -> String {
    let mut out = String::new();
    let t = sc.largest_ok_threads();
    let title = match t {
        Some(t) => format!("{}: memory at {t} threads", sc.name),
        None => format!("{}: memory", sc.name),
    };
    open(&mut out, "memory", &sc.name, &title);
    type Pick = fn(&crate::results::Run) -> f64;
    let groups: [(&str, Pick); 3] = [
        ("peak RSS", |r| r.memory.peak_rss_bytes as f64),
        ("reserved peak", |r| r.memory.bytes_reserved_peak as f64),
        ("in use peak", |r| r.memory.bytes_in_use_peak as f64),
    ];
    let values: Vec<(&String, [Option<f64>; 3])> = sc
        .policies
        .iter()
        .map(|p| {
            let c = t.and_then(|t| sc.config(p, t));
            let v = groups.map(|(_, f)| c.and_then(|c| c.median_of(f)));
            (p, v)
        })
        .collect();
    let entries: Vec<Entry> = values
        .iter()
        .map(|(p, v)| Entry {
            name: (*p).clone(),
            colour: s.colour(p),
            shape: None,
            bar: true,
            note: v[0].is_none().then(|| "no ok run".to_string()),
        })
        .collect();
    let lh = legend(&mut out, &entries);
    let (left, top, pw, ph) = plot_box(lh);
    let max = values
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .copied()
        .fold(0.0, f64::max);
    if values.iter().all(|(_, v)| v.iter().all(Option::is_none)) {
        message(&mut out, "no ok runs to plot");
        out.push_str("</svg>");
        return out;
    }
    // Ticks fall on round numbers of the unit the labels use.
    let (unit, _) = format::bytes_unit(max.max(1.0));
    let (top_u, ticks) = linear_ticks(max / unit);
    let ytop = top_u * unit;
    let ys = |v: f64| top + ph - (v.max(0.0) / ytop) * ph;
    for &tk in &ticks {
        y_tick(
            &mut out,
            ys(tk * unit),
            pw,
            &tick_label(format::bytes(tk * unit)),
            true,
        );
    }
    let gw = pw / groups.len() as f64;
    let np = values.len().max(1) as f64;
    let bw = ((gw * 0.84) / np).min(56.0);
    // Values on the bars only if every one fits: some labelled and some not
    // would read as missing data. The table below has them all anyway. The
    // width estimate runs wide for digits, hence a little slack.
    let labels_fit = values
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .all(|&v| text_width(&tick_label(format::bytes(v)), 10.0) <= bw + 2.0);
    for (gi, (gname, _)) in groups.iter().enumerate() {
        let gx = left + gi as f64 * gw;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{AXIS_FONT}\" fill=\"{MUTED}\" \
             text-anchor=\"middle\">{}</text>",
            n(gx + gw / 2.0),
            n(top + ph + 18.0),
            xml(gname)
        );
        let x0 = gx + (gw - bw * np) / 2.0;
        for (pi, (p, v)) in values.iter().enumerate() {
            let Some(val) = v[gi] else { continue };
            let x = x0 + pi as f64 * bw;
            let y = ys(val);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                n(x + 1.5),
                n(y),
                n(bw - 3.0),
                n((top + ph - y).max(0.0)),
                s.colour(p),
                xml(&format!("{p}, {gname}: {}", format::bytes(val)))
            );
            if labels_fit {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" fill=\"{INK}\" \
                     text-anchor=\"middle\">{}</text>",
                    n(x + bw / 2.0),
                    n(y - 4.0),
                    xml(&tick_label(format::bytes(val)))
                );
            }
        }
    }
    frame(&mut out, top, pw, ph);
    let _ = write!(
        out,
        "<text transform=\"translate(16 {}) rotate(-90)\" font-size=\"{AXIS_FONT}\" \
         fill=\"{MUTED}\" text-anchor=\"middle\">bytes (median)</text>",
        n(top + ph / 2.0)
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        let (top, t) = linear_ticks(1.84e6);
        assert_eq!(top, 2e6);
        assert_eq!(t.len(), 5);
        let (top, t) = linear_ticks(0.0);
        assert_eq!(top, 1.0);
        assert!(t.len() >= 2);
        assert_eq!(n(f64::NAN), "0");
        assert!((pct_x(99.0, 4.0) - 2.0).abs() < 1e-9);
        assert_eq!(pct_x(100.0, 4.0), 4.0);
        assert_eq!(xml("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
        assert_eq!(tick_label(format::ns(1e6)), "1 ms");
        assert_eq!(tick_label(format::si(1.5e6)), "1.5 M");
        assert_eq!(tick_label(format::si(500e3)), "500 k");
        assert_eq!(tick_label(format::si(0.0)), "0");
    }
}
