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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Whether criterion runs with `--quick` (set by [`bench_main`]).
static QUICK: AtomicBool = AtomicBool::new(false);

/// `--quick` runs a benchmark until two measurements (n and 2n iterations)
/// agree within 5%, or until the group's measurement time has passed; on a
/// shared machine agreement often never comes, so every benchmark would run
/// to that cap. Under `--quick` the caps are therefore short (this is what
/// keeps `cargo bench -- --quick` under 3 minutes); full runs keep theirs.
pub fn quick() -> bool {
    QUICK.load(Ordering::Relaxed)
}

/// The barriers of one timed multi-threaded run.
pub struct Gate {
    start: Barrier,
    end: Barrier,
    teardown: Barrier,
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

    /// An untimed barrier after `end`, for workers whose teardown must wait
    /// for each other's (an allocator whose blocks another thread still
    /// frees). If one worker calls it, every worker must.
    pub fn teardown(&self) {
        self.teardown.wait();
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
        teardown: Barrier::new(threads),
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

/// How long a channel wait spins (and yields) before it blocks.
const SPIN_FOR: Duration = Duration::from_micros(50);

/// Receives from a channel: tries 64 times with a spin hint, yields the
/// core, and does so again for up to 50 us before it blocks. On our guests
/// a blocking wake-up costs 15-30 us (LIMITS.md), more than the work of one
/// batch, so a benchmark that blocked on every hand-over would time the
/// futex rather than what happens between hand-overs; the yield keeps a
/// waiting thread from burning the timeslice its peer needs when the
/// machine is oversubscribed. Heap workers call it detached (it is a wait).
pub fn recv_spin<T>(rx: &crossbeam_channel::Receiver<T>) -> T {
    use crossbeam_channel::TryRecvError;
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(v) => return v,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
                Err(TryRecvError::Disconnected) => panic!("peer thread gone"),
            }
        }
        if start.elapsed() > SPIN_FOR {
            return rx.recv().expect("peer thread gone");
        }
        std::thread::yield_now();
    }
}

/// Sends on a bounded channel, waiting as [`recv_spin`] does while it is
/// full.
pub fn send_spin<T>(tx: &crossbeam_channel::Sender<T>, mut v: T) {
    use crossbeam_channel::TrySendError;
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match tx.try_send(v) {
                Ok(()) => return,
                Err(TrySendError::Full(back)) => v = back,
                Err(TrySendError::Disconnected(_)) => panic!("peer thread gone"),
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN_FOR {
            return tx.send(v).expect("peer thread gone");
        }
        std::thread::yield_now();
    }
}

/// The library's workload PRNG (xorshift64*), deterministic per seed.
#[allow(unused_imports)] // not every bench binary draws random numbers
pub use heaplab::metrics::Rng;

/// Uses a value and drops it (`black_box(&r)` makes it observable, so the
/// operation that produced it cannot be optimised away).
#[inline(always)]
pub fn consume<T>(r: T) {
    std::hint::black_box(&r);
    drop(r);
}

/// How often threaded heap loops call `checkpoint()` (the eval breaker),
/// in operations. CPython checks its eval breaker every few bytecodes; a
/// checkpoint is one or two relaxed loads when nothing is pending, and it is
/// where `gil` hands the interpreter over and `biased` merges its queue, so
/// a threaded loop without it would measure a different program. The
/// 1-thread variants of the same cases call it just as often, so thread
/// ratios compare like with like.
pub const CHECKPOINT_EVERY: u64 = 16;

/// Bootstrap resamples per benchmark (criterion's default is 100,000).
/// criterion draws each benchmark's charts from kernel density estimates
/// over these resamples (one per statistic, each evaluated at 500 points),
/// and at 100,000 that costs about 5 s of CPU per benchmark on our 2-core
/// machines: `cargo bench --bench locks -- --quick` took 153 s with charts
/// and 9 s without. At 10,000 it took 19 s, and the 95% intervals move by
/// well under the run-to-run noise of these machines. (A group setting
/// wins over criterion's `--nresamples` flag.)
pub const RESAMPLES: usize = 10_000;

/// Settings for groups of nanosecond-scale operations. Criterion's defaults
/// (3 s warm-up, 5 s measurement, 100 samples) would take half an hour over
/// this suite; 0.5 s + 1.5 s with 30 samples keeps each benchmark near
/// 2.3 s. (On a machine shared with other builds, single-thread medians
/// still move 10-30% from run to run, and two-thread ones more: compare
/// within one run.) Under `--quick` the cap is 0.3 s (see [`quick`]).
pub fn micro(g: &mut BenchmarkGroup<'_, WallTime>) {
    let measurement = if quick() { 300 } else { 1500 };
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(measurement))
        .sample_size(30)
        .nresamples(RESAMPLES);
}

/// Settings for groups whose one iteration takes tens of milliseconds or
/// more (a collection over a million containers, a whole runner
/// configuration): flat sampling (every sample the same iteration count, so
/// no linear fit over counts that would each cost a rebuild), the minimum of
/// 10 samples, and a short warm-up (one or two iterations). Under `--quick`
/// the cap is `quick_cap` (see [`quick`]); criterion always takes at least
/// two measurements there (of 1 and 2 iterations).
pub fn slow(g: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration, quick_cap: Duration) {
    g.sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(if quick() { quick_cap } else { measurement })
        .sample_size(10)
        .nresamples(RESAMPLES);
}

/// The UTC date now, as `YYYY-MM-DD` (civil-from-days, H. Hinnant).
fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The 1-minute load average: above the core count, other work shared the
/// machine with this run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

/// The `main` of every bench binary (what `criterion_main!` does, plus the
/// run's context): a line with the machine, compiler, commit, date and load
/// average, the floors of LIMITS.md measured now (so "how far from the
/// limit" comes from this run, DESIGN.md "Measurement rules"), then the
/// groups, then the share of CPU time the host stole meanwhile and the load
/// average again. STYLE.md habit 12: every result states machine, rustc,
/// commit and date.
pub fn bench_main(bench: &str, groups: fn()) {
    QUICK.store(std::env::args().any(|a| a == "--quick"), Ordering::Relaxed);
    let m = heaplab::metrics::machine();
    eprintln!(
        "heaplab bench {bench}: {} ({} cores), {}, commit {}, {} UTC, load average {}; compare only ratios within this run",
        m.cpu,
        m.cores,
        m.rustc,
        env!("HEAPLAB_COMMIT"),
        utc_date(),
        load_average()
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
        "heaplab bench {bench}: host steal time during the run {:.1}% of CPU time, load average now {}",
        steal * 100.0,
        load_average()
    );
}
