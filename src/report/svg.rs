//! The drawing kit of the hand-written SVG charts in `report.html`: XML
//! escaping, short coordinates, nice ticks, markers, legends, axes and the
//! chart frame. The charts themselves are in `charts` (throughput, latency,
//! memory) and `heatmap` (the overview).
//!
//! Written by hand rather than with a plotting crate: the chart kinds are
//! small, a plotting crate costs minutes of compile time on the lab's 2-core
//! machines, and doing it here gives full control over what the output holds
//! (no fonts or scripts fetched, no namespace URL, well-formed XML that the
//! tests can parse).
//!
//! Every chart is drawn in a fixed viewBox and scaled by CSS, so it reads the
//! same at any page width.

use std::fmt::Write;

pub const W: f64 = 560.0;
pub const H: f64 = 340.0;
pub const LEFT: f64 = 70.0;
pub const RIGHT: f64 = 30.0;
pub const BOTTOM: f64 = 50.0;
pub const TITLE_Y: f64 = 22.0;
pub const LEGEND_Y: f64 = 44.0;
pub const LEGEND_ROW: f64 = 20.0;
pub const TICK_FONT: f64 = 12.0;
pub const AXIS_FONT: f64 = 13.0;
pub const GRID: &str = "#e3e6ea";
pub const AXIS: &str = "#6b7280";
pub const INK: &str = "#1f2328";
pub const MUTED: &str = "#59636e";

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
pub fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Axis labels drop trailing zeros ("1.00 ms" -> "1 ms", "1.50 M" ->
/// "1.5 M"): on an axis the tick spacing already shows the precision.
pub fn tick_label(s: String) -> String {
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
pub fn nice_step(range: f64, count: usize) -> f64 {
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
pub fn linear_ticks(max: f64) -> (f64, Vec<f64>) {
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
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.62
}

/// A marker shape per policy index, so lines stay apart without colour.
pub fn marker(out: &mut String, shape: usize, x: f64, y: f64, colour: &str, tip: &str) {
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
pub struct Entry {
    pub name: String,
    pub colour: &'static str,
    pub shape: Option<usize>,
    /// Drawn as a bar swatch instead of line + marker.
    pub bar: bool,
    /// Greyed out with a note (e.g. "failed").
    pub note: Option<String>,
}

/// Lays the legend out in rows under the title; returns its height.
pub fn legend(out: &mut String, entries: &[Entry]) -> f64 {
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

pub fn open(out: &mut String, kind: &str, workload: &str, label: &str) {
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
pub fn plot_box(legend_h: f64) -> (f64, f64, f64, f64) {
    let top = LEGEND_Y + legend_h + 8.0;
    (LEFT, top, W - LEFT - RIGHT, H - top - BOTTOM)
}

pub fn message(out: &mut String, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>",
        n(W / 2.0),
        n(H / 2.0),
        xml(text)
    );
}

pub fn axis_titles(out: &mut String, x_title: &str, y_title: &str, top: f64, ph: f64) {
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
pub fn y_tick(out: &mut String, y: f64, pw: f64, label: &str, major: bool) {
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

pub fn x_tick(out: &mut String, x: f64, top: f64, ph: f64, label: &str) {
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

pub fn frame(out: &mut String, top: f64, pw: f64, ph: f64) {
    let _ = write!(
        out,
        "<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"{AXIS}\" stroke-width=\"1\"/>",
        n(LEFT),
        n(top),
        n(top + ph),
        n(LEFT + pw)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::format;

    /// Equal within a relative 1e-9: the ticks come from `log10` and
    /// `powf`, whose last bits differ between platforms (and under Miri,
    /// which makes them imprecise on purpose).
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn ticks() {
        let (top, t) = linear_ticks(1.84e6);
        assert!(close(top, 2e6), "{top}");
        assert_eq!(t.len(), 5);
        assert!(close(t[1], 5e5), "{t:?}");
        let (top, t) = linear_ticks(0.0);
        assert!(close(top, 1.0), "{top}");
        assert!(t.len() >= 2);
        assert!(close(nice_step(0.9, 5), 0.2));
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(xml("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
        assert_eq!(tick_label(format::ns(1e6)), "1 ms");
        assert_eq!(tick_label(format::si(1.5e6)), "1.5 M");
        assert_eq!(tick_label(format::si(500e3)), "500 k");
        assert_eq!(tick_label(format::si(0.0)), "0");
    }

    #[test]
    fn the_tolerance_is_tight() {
        // One part in a billion passes, one in a million does not: the
        // check still catches a wrong tick.
        assert!(close(2e6 * (1.0 + 1e-12), 2e6));
        assert!(!close(2e6 * (1.0 + 1e-6), 2e6));
        assert!(!close(2.5e6, 2e6));
    }
}
