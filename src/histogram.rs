//! The one histogram shape the lab records nanoseconds in: 1 ns to 100 s,
//! three significant digits. A leaf beside `sync`: the GIL's wait times, the
//! collector's pauses and the runner's latencies all use it, from every
//! layer.

use hdrhistogram::Histogram;

/// A histogram of nanoseconds, 1 ns to 100 s, 3 significant digits. Fixed
/// bounds: `saturating_record` clamps instead of resizing (an auto-resizing
/// histogram starts with a range of 1..=2 and would clamp everything to 2).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds")
}
