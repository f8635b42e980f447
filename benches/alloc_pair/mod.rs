//! `alloc_free_pair/paired`: the raw alloc+free pair of heaplab's class
//! table against mimalloc and glibc, timed in interleaved rounds and printed
//! as ratios with 95% intervals from this one run (issue 12, item 4).
//!
//! Why beside criterion's `alloc_free_pair/<size>B` groups: criterion times
//! each contender in its own stretch of seconds, so a drift of the shared
//! machine between two stretches (another tenant's build, a frequency step)
//! lands in the ratio, and `--quick` intervals are too narrow to trust.
//! Here every round times every contender once, in a rotated order, for a
//! few milliseconds each; the ratio is taken per round, where the drift
//! cancels, and summarised by the lab's own statistics
//! (`heaplab::results::confidence`: the geometric mean of per-round ratios,
//! Student's t on the logs below 30 rounds, a percentile bootstrap from 30
//! on), the same method the runner's reports use.
//!
//! Each pair is the criterion group's: `alloc(size)`, a write of the
//! block's first word, `free`; the size and the block go through an empty
//! `asm!` on every iteration (`opaque`), so no contender has its size-class
//! computation hoisted out of the loop or its pair folded away, and none
//! pays a trip through the stack for it. `heaplab-raw` is the class table as `biased` runs it (one
//! relaxed inbox check per alloc, the owner check per free, the block
//! counts).
//!
//! Instruction counts of each half: with `HEAPLAB_PAIR_COUNT=<contender>:
//! <size>:<iters>` the binary runs that many pairs through two
//! `#[inline(never)]` functions, one per half, and exits before criterion;
//! `callgrind_annotate --inclusive=yes` then gives each half's count (each
//! includes its own call and return: 2 instructions, plus the arguments'
//! moves). `scripts/pair-instr.sh` does it for every contender and size.

use super::{alloc_touch, AllocHandle, ClassTableAlloc, Contender, Mimalloc, SystemAlloc};
use heaplab::results::confidence::{mean_interval, paired_logs};
use std::hint::black_box;
use std::time::Instant;

/// Sizes the paired comparison covers (the target sizes).
const SIZES: [usize; 2] = [32, 64];
/// Rounds of a full run (from 30 on the interval is a bootstrap's).
const ROUNDS: usize = 40;
/// Pairs per contender per round: about 4-25 ms at 2-12 ns a pair, long
/// against the clock read and short against the machine's drift.
const PAIRS: u64 = 1 << 21;

/// Hides a value from the optimiser without moving it through memory
/// (`black_box` spills it to the stack and reads it back: a store-to-load
/// forwarding on the loop's dependency chain, some 5 cycles added to every
/// contender's pair alike, which would pull every ratio towards 1). The
/// empty `asm!` may read and write any memory, so the block's first word,
/// written just before, cannot be elided either.
macro_rules! opaque {
    ($x:expr) => {{
        let mut x = $x;
        // SAFETY: an empty template: no instruction, the value unchanged.
        unsafe { std::arch::asm!("/* {0} */", inout(reg) x, options(nostack, preserves_flags)) };
        x
    }};
}

/// Runs pairs, timing the whole loop; returns nanoseconds per pair.
#[inline(never)]
fn time_pairs<H: AllocHandle>(h: &mut H, size: usize, pairs: u64) -> f64 {
    let t0 = Instant::now();
    for tag in 0..pairs {
        let s: usize = opaque!(size);
        // SAFETY: `size` is one of SIZES.
        let p = unsafe { alloc_touch(h, s, tag) };
        let p: *mut u8 = opaque!(p);
        // SAFETY: the block just allocated, freed once.
        unsafe { h.free(p, s) };
    }
    t0.elapsed().as_nanos() as f64 / pairs as f64
}

/// The alloc half, not inlined, for callgrind (see the module docs).
///
/// # Safety
/// As `AllocHandle::alloc`.
#[inline(never)]
unsafe fn alloc_half<H: AllocHandle>(h: &mut H, size: usize, tag: u64) -> *mut u8 {
    // SAFETY: forwarded.
    unsafe { alloc_touch(h, size, tag) }
}

/// The free half, not inlined, for callgrind.
///
/// # Safety
/// As `AllocHandle::free`.
#[inline(never)]
unsafe fn free_half<H: AllocHandle>(h: &mut H, p: *mut u8, size: usize) {
    // SAFETY: forwarded.
    unsafe { h.free(p, size) }
}

fn count_pairs<A: Contender>(a: &A, size: usize, pairs: u64) {
    let mut h = a.handle();
    for tag in 0..pairs {
        let s = black_box(size);
        // SAFETY: a small size; freed at once.
        unsafe {
            let p = alloc_half(&mut h, s, tag);
            free_half(&mut h, black_box(p), s);
        }
    }
}

/// `HEAPLAB_PAIR_COUNT=<contender>:<size>:<iters>`: runs the pairs for
/// callgrind and returns true (the caller then exits).
pub fn count_mode() -> bool {
    let Ok(spec) = std::env::var("HEAPLAB_PAIR_COUNT") else {
        return false;
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let usage = "HEAPLAB_PAIR_COUNT=<mimalloc|system|heaplab-raw>:<size 16..=512>:<iters>";
    let [name, size, iters] = parts[..] else {
        panic!("{usage}, not {spec:?}");
    };
    let size: usize = size
        .parse()
        .ok()
        .filter(|s| (16..=512).contains(s))
        .expect(usage);
    let iters: u64 = iters.parse().expect(usage);
    match name {
        n if n == Mimalloc::NAME => count_pairs(&Mimalloc, size, iters),
        n if n == SystemAlloc::NAME => count_pairs(&SystemAlloc, size, iters),
        n if n == ClassTableAlloc::NAME => count_pairs(&ClassTableAlloc::new(), size, iters),
        _ => panic!("{usage}, not {spec:?}"),
    }
    true
}

/// Whether criterion's arguments select this comparison: no filter, or a
/// filter that is a substring of `alloc_free_pair/paired` (criterion's
/// filters are substrings, or regexes, which plain names also are).
pub fn selected() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return false;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| "alloc_free_pair/paired".contains(f.as_str()))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

/// One size's figures: per contender (mimalloc, system, heaplab-raw), the
/// rounds' (round, ns per pair).
type Samples = [Vec<(usize, f64)>; 3];

/// The paired comparison (see the module docs). `--test` (what `cargo test
/// --benches` passes) runs 3 short rounds so the code is exercised.
pub fn run() {
    let test = std::env::args().any(|a| a == "--test");
    let (rounds, pairs) = if test { (3, 1 << 12) } else { (ROUNDS, PAIRS) };
    let raw = ClassTableAlloc::new();
    let mut hs = (SystemAlloc.handle(), Mimalloc.handle(), raw.handle());
    let mut samples: Vec<Samples> = SIZES.iter().map(|_| Default::default()).collect();
    let load0 = load_average();
    // Round 0 warms every contender (pools, pages, caches) and is dropped.
    for round in 0..=rounds {
        for (si, &size) in SIZES.iter().enumerate() {
            for k in 0..3 {
                // Rotate the order per round (and size), so that no
                // contender always runs first after a size switch.
                let c = (k + round + si) % 3;
                let ns = match c {
                    0 => time_pairs(&mut hs.1, size, pairs),
                    1 => time_pairs(&mut hs.0, size, pairs),
                    _ => time_pairs(&mut hs.2, size, pairs),
                };
                if round > 0 {
                    samples[si][c].push((round, ns));
                }
            }
        }
    }
    println!(
        "alloc_free_pair/paired: {rounds} interleaved rounds of {pairs} pairs per contender and size, \
         load average {load0} before, {} after; ratios are heaplab-raw's speed over the other's \
         (their time / ours), 95% interval",
        load_average()
    );
    println!(
        "{:>5}  {:>9} {:>9} {:>11}   {:<28} {:<28}",
        "size", "mimalloc", "system", "heaplab-raw", "vs mimalloc", "vs system (glibc)"
    );
    for (si, &size) in SIZES.iter().enumerate() {
        let s = &samples[si];
        let median = |v: &[(usize, f64)]| {
            let mut x: Vec<f64> = v.iter().map(|p| p.1).collect();
            x.sort_by(f64::total_cmp);
            x[x.len() / 2]
        };
        let ratio = |other: &[(usize, f64)]| {
            let logs = paired_logs(other, &s[2], 1.0);
            match mean_interval(&logs) {
                Some(iv) => {
                    let (lo, hi) = iv.bounds();
                    format!("{:.2}x [{lo:.2}, {hi:.2}]", iv.ratio())
                }
                None => "too few rounds".into(),
            }
        };
        println!(
            "{:>4}B  {:>7.2}ns {:>7.2}ns {:>9.2}ns   {:<28} {:<28}",
            size,
            median(&s[0]),
            median(&s[1]),
            median(&s[2]),
            ratio(&s[0]),
            ratio(&s[1])
        );
    }
}
