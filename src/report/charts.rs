//! The charts of a scenario's section in `report.html`: throughput against
//! threads, latency by percentile (HdrHistogram style), and memory bars,
//! drawn with the kit in `svg`.
//!
//! Each policy keeps one colour and one marker shape in every chart (from
//! [`Summary::colour`]), and degenerate data (no ok runs, one thread count,
//! zero latencies on a log axis) draws a readable chart or a plain message,
//! never a panic or a NaN coordinate.

use super::format;
use super::stats::{Scenario, Summary};
use super::svg::*;
use crate::results::Latency;
use std::fmt::Write;

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
    fn percentile_axis() {
        assert!((pct_x(99.0, 4.0) - 2.0).abs() < 1e-9);
        assert!((pct_x(99.9, 4.0) - 3.0).abs() < 1e-9);
        assert_eq!(pct_x(100.0, 4.0), 4.0);
    }
}
