//! Number formatting shared by every report (Markdown, HTML, charts, compare).
//!
//! One place decides how a rate, a duration, a size or a ratio is written, so
//! that the same figure reads the same in `report.md`, `report.html` and the
//! `compare` text, and tests can look for the exact string.
//!
//! [`estimate`] is the one place a ratio's interval is written: `1.92x` today,
//! `1.92x [1.85, 2.00]` once the statistics give ratios an interval.

use super::estimate::Ratio;

/// Three significant digits at most, without an exponent: the precision the
/// lab's noise allows (repeats differ by a few percent) and no more.
fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Operations per second (or any count) with an SI prefix: `1.82 M`.
pub fn si(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{} G", sig3(v / 1e9))
    } else if a >= 1e6 {
        format!("{} M", sig3(v / 1e6))
    } else if a >= 1e3 {
        format!("{} k", sig3(v / 1e3))
    } else if a == 0.0 {
        "0".into()
    } else {
        sig3(v)
    }
}

/// A count of events, exact below 10 000 (where every event matters, e.g.
/// collections) and with an SI prefix above.
pub fn count(v: f64) -> String {
    if v.is_finite() && v.abs() < 10_000.0 && v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        si(v)
    }
}

/// Nanoseconds in the unit that keeps three significant digits.
pub fn ns(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{} s", sig3(v / 1e9))
    } else if a >= 1e6 {
        format!("{} ms", sig3(v / 1e6))
    } else if a >= 1e3 {
        format!("{} µs", sig3(v / 1e3))
    } else if a == 0.0 {
        "0 ns".into()
    } else {
        format!("{} ns", sig3(v))
    }
}

/// Bytes in IEC units (the allocator's arenas and pools are powers of two).
pub fn bytes(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let (scaled, unit) = bytes_unit(v.abs());
    if unit == "B" {
        format!("{v:.0} B")
    } else {
        format!("{} {unit}", sig3(v.signum() * v.abs() / scaled))
    }
}

/// The IEC unit in which `v` bytes is written, and its size in bytes.
pub fn bytes_unit(v: f64) -> (f64, &'static str) {
    const K: f64 = 1024.0;
    if v >= K * K * K {
        (K * K * K, "GiB")
    } else if v >= K * K {
        (K * K, "MiB")
    } else if v >= K {
        (K, "KiB")
    } else {
        (1.0, "B")
    }
}

/// A ratio such as a speed-up: `1.92x`.
pub fn ratio(r: f64) -> String {
    if !r.is_finite() {
        return "—".into();
    }
    if r >= 100.0 {
        format!("{r:.0}x")
    } else if r >= 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}

/// A [`Ratio`] in the number format `f`, with its interval where it has one:
/// `1.92x [1.85x, 2.00x]`, `91% [85%, 97%]`.
pub fn estimate(r: &Ratio, f: fn(f64) -> String) -> String {
    match r.interval {
        Some((lo, hi)) if r.value.is_finite() => {
            format!("{} [{}, {}]", f(r.value), f(lo), f(hi))
        }
        _ => f(r.value),
    }
}

/// A [`Ratio`] as a multiple: `1.92x` (see [`estimate`]).
pub fn times(r: &Ratio) -> String {
    estimate(r, ratio)
}

/// A ratio with its change in percent: `0.80x (-20.0%)`.
pub fn change(r: f64) -> String {
    if !r.is_finite() {
        return "—".into();
    }
    format!("{} ({:+.1}%)", ratio(r), (r - 1.0) * 100.0)
}

/// A share in 0..1 as a percentage with one decimal: `12.5%`.
pub fn pct(share: f64) -> String {
    if !share.is_finite() {
        return "—".into();
    }
    format!("{:.1}%", share * 100.0)
}

/// A share in 0..1 as a whole percentage: `91%` (scaling efficiency, where a
/// decimal would promise more than the repeats can tell).
pub fn pct0(share: f64) -> String {
    if !share.is_finite() {
        return "—".into();
    }
    format!("{:.0}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(si(1_820_000.0), "1.82 M");
        assert_eq!(si(950_000.0), "950 k");
        assert_eq!(si(0.0), "0");
        assert_eq!(ns(850.0), "850 ns");
        assert_eq!(ns(5_000_000.0), "5.00 ms");
        assert_eq!(ns(12_345.0), "12.3 µs");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.00 MiB");
        assert_eq!(ratio(1.9158), "1.92x");
        assert_eq!(ratio(95.26), "95.3x");
        assert_eq!(ratio(512.0), "512x");
        assert_eq!(change(0.8), "0.80x (-20.0%)");
        assert_eq!(change(1.25), "1.25x (+25.0%)");
        assert_eq!(pct(0.125), "12.5%");
        assert_eq!(pct0(0.91), "91%");
        assert_eq!(ratio(f64::NAN), "—");
        assert_eq!(count(3.0), "3");
        assert_eq!(count(120_000.0), "120 k");
        assert_eq!(times(&Ratio::point(1.9158)), "1.92x");
        assert_eq!(
            times(&Ratio::with_interval(1.92, 1.85, 2.0)),
            "1.92x [1.85x, 2.00x]"
        );
        assert_eq!(
            estimate(&Ratio::with_interval(0.91, 0.85, 0.97), pct0),
            "91% [85%, 97%]"
        );
    }
}
