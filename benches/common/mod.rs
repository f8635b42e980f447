//! Helpers shared by the bench files. Not a bench itself: cargo discovers
//! only `benches/*.rs` and `benches/*/main.rs`, and every bench file pulls
//! this in with `mod common;`.
//!
//! What is here and why:
//! - [`run_timed`]: the one way a multi-threaded case is timed. Each worker
//!   does its setup, waits at a start barrier, runs, reads the clock, and
//!   waits at an end barrier before cleaning up; the figure is the span from
//!   the earliest start to the latest end, so thread spawns, attaches,
//!   fixtures and teardown stay outside it and a straggler is not hidden.
//! - [`Rng`]: a xorshift generator, so that slot choices cost a few
//!   instructions and are the same for every contender and policy.
//! - The criterion settings of each kind of group, in one place, so the
//!   suite's time budget can be read (and changed) here.
#![allow(dead_code)]

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The two barriers of one timed multi-threaded run.
pub struct Gate {
    start: Barrier,
    end: Barrier,
}

impl Gate {
    /// Waits until every worker is ready and returns the start instant.
    /// Heap workers call it detached (`m.allow_threads(|| gate.start())`):
    /// a blocking wait while attached would hold the GIL or stall a
    /// stop-the-world request (DESIGN.md, "Rules that keep the protocols
    /// live"). Under `gil` the reacquire that follows is then inside the
    /// timed span, as it should be: waiting for the GIL is part of the cost.
    pub fn start(&self) -> Instant {
        self.start.wait();
        Instant::now()
    }

    /// Waits until every worker has finished its timed part (detached, for
    /// the same reason). Each worker calls it exactly once.
    pub fn end(&self) {
        self.end.wait();
    }
}

/// Runs `threads` workers on scoped threads. Worker `i` runs `body(i, gate)`
/// and returns its own `(start, end)` instants, `start` from
/// [`Gate::start`]; the result is `max(end) - min(start)`.
pub fn run_timed<F>(threads: usize, body: F) -> Duration
where
    F: Fn(usize, &Gate) -> (Instant, Instant) + Sync,
{
    let gate = Gate {
        start: Barrier::new(threads),
        end: Barrier::new(threads),
    };
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (gate, body) = (&gate, &body);
                s.spawn(move || body(i, gate))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench worker panicked"))
            .collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("one worker");
    let end = spans.iter().map(|s| s.1).max().expect("one worker");
    end.saturating_duration_since(start)
}

/// xorshift64: a few instructions per draw, deterministic per seed.
#[derive(Clone, Copy)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A slot index in `0..n` for a power-of-two `n`.
    #[inline(always)]
    pub fn slot(&mut self, n: usize) -> usize {
        debug_assert!(n.is_power_of_two());
        (self.next_u64() >> 16) as usize & (n - 1)
    }
}

/// How often threaded heap loops call `checkpoint()` (the eval breaker),
/// in operations. CPython checks its eval breaker every few bytecodes; a
/// checkpoint is one or two relaxed loads when nothing is pending, and it is
/// where `gil` hands the interpreter over and `biased` merges its queue, so
/// a threaded loop without it would measure a different program. The
/// 1-thread variants of the same cases call it just as often, so thread
/// ratios compare like with like.
pub const CHECKPOINT_EVERY: u64 = 16;

/// Settings for groups of nanosecond-scale operations. Criterion's defaults
/// (3 s warm-up, 5 s measurement, 100 samples) would take half an hour over
/// this suite; 0.5 s + 1.5 s with 30 samples gives medians that repeat
/// within a few percent for single-thread cases on a quiet machine. The
/// measurement time also caps a benchmark under `--quick`, which stops at
/// 5% agreement or at this time, whichever is first.
pub fn micro(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30);
}

/// Settings for groups whose one iteration takes tens of milliseconds or
/// more (a collection over a million containers, a whole runner
/// configuration): flat sampling (every sample the same iteration count, so
/// no linear fit over counts that would each cost a rebuild), the minimum of
/// 10 samples, and a short warm-up (one or two iterations).
pub fn slow(g: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    g.sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(measurement)
        .sample_size(10);
}

/// The `main` of every bench binary (what `criterion_main!` does, plus the
/// run's context): a line with the machine, compiler and commit, the floors
/// of LIMITS.md measured now (so "how far from the limit" comes from this
/// run, DESIGN.md "Measurement rules"), then the groups, then the share of
/// CPU time the host stole meanwhile. STYLE.md habit 12: every result states
/// machine, rustc, commit and date (criterion's files carry the date).
pub fn bench_main(bench: &str, groups: fn()) {
    let m = heaplab::metrics::machine();
    eprintln!(
        "heaplab bench {bench}: {} ({} cores), {}, commit {}; the machine may be shared: compare only ratios within this run",
        m.cpu,
        m.cores,
        m.rustc,
        env!("HEAPLAB_COMMIT")
    );
    let f = heaplab::metrics::measure_floors();
    eprintln!(
        "floors now: non-atomic inc+dec {:.2} ns, atomic inc+dec {:.2} ns, Instant::now {:.1} ns",
        f.nonatomic_pair_ns, f.atomic_pair_ns, f.clock_read_ns
    );
    let steal0 = heaplab::metrics::cpu_steal_jiffies();
    groups();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    let steal = heaplab::metrics::steal_ratio(steal0, heaplab::metrics::cpu_steal_jiffies());
    eprintln!(
        "heaplab bench {bench}: host steal time during the run {:.1}% of CPU time",
        steal * 100.0
    );
}
