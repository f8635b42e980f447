//! Measurement: latency histograms, the floors measured at the start of a
//! run, steal time, RSS, the machine block, and the calibrated spin that the
//! interpreter work dial uses.
//!
//! Reading the clock costs about 23 ns and a whole latency sample about
//! 60 ns on our machines, while an owner incref+decref costs about 1 ns: so
//! latencies are sampled (one operation in `sample_every`), and the rate is
//! reported beside every figure.

use crate::results::{Floors, Latency, Machine, Percentiles};
use hdrhistogram::Histogram;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use crate::histogram::new_histogram;

/// Latency figures from a histogram of sampled operation latencies.
pub fn latency(h: &Histogram<u64>, sample_every: u64) -> Latency {
    let mut distribution = Vec::new();
    if !h.is_empty() {
        // Percentile ticks on a 1/(1-p) axis: dense near the tail.
        let mut p = 0.0f64;
        while p < 99.9999 {
            distribution.push((p, h.value_at_percentile(p)));
            let remaining = 100.0 - p;
            p += remaining / 8.0;
            if remaining < 0.0001 {
                break;
            }
        }
        distribution.push((100.0, h.max()));
    }
    Latency {
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        mean: if h.is_empty() { 0.0 } else { h.mean() },
        samples: h.len(),
        sample_every,
        distribution,
    }
}

/// Percentiles of a histogram of nanoseconds (pauses, waits).
pub fn percentiles(h: &Histogram<u64>) -> Percentiles {
    Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
        total: (h.mean() * h.len() as f64) as u64,
    }
}

/// The floors of LIMITS.md, measured now: what the hardware allows.
pub fn measure_floors() -> Floors {
    const N: u64 = 20_000_000;
    let best = |f: &dyn Fn() -> f64| (0..5).map(|_| f()).fold(f64::INFINITY, f64::min);
    let nonatomic = best(&|| {
        let mut c = 0u64;
        let p = &mut c as *mut u64;
        let t = Instant::now();
        for _ in 0..N {
            // Volatile keeps each increment and decrement a real memory op,
            // as a count in an object header is.
            // SAFETY: `p` points at a live local.
            unsafe {
                p.write_volatile(p.read_volatile() + 1);
                p.write_volatile(p.read_volatile() - 1);
            }
        }
        black_box(c);
        t.elapsed().as_nanos() as f64 / N as f64
    });
    let atomic = best(&|| {
        let c = AtomicU64::new(0);
        let t = Instant::now();
        for _ in 0..N / 4 {
            black_box(&c).fetch_add(1, Ordering::Relaxed);
            black_box(&c).fetch_sub(1, Ordering::Release);
        }
        t.elapsed().as_nanos() as f64 / (N / 4) as f64
    });
    let clock = best(&|| {
        let t = Instant::now();
        for _ in 0..N / 20 {
            black_box(Instant::now());
        }
        t.elapsed().as_nanos() as f64 / (N / 20) as f64
    });
    Floors {
        nonatomic_pair_ns: nonatomic,
        atomic_pair_ns: atomic,
        clock_read_ns: clock,
    }
}

/// Reads (steal, total) jiffies from `/proc/stat`.
pub fn cpu_steal_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let steal = *v.get(7)?;
    Some((steal, v.iter().take(8).sum()))
}

/// The share of CPU time stolen between two readings.
pub fn steal_ratio(start: Option<(u64, u64)>, end: Option<(u64, u64)>) -> f64 {
    match (start, end) {
        (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => (s1 - s0) as f64 / (t1 - t0) as f64,
        _ => 0.0,
    }
}

/// The 1-minute load average (`/proc/loadavg`): how many threads wanted a
/// core, over the last minute, on the whole machine.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's context switches so far (`getrusage`): (voluntary,
/// involuntary). A voluntary switch is a wait (a lock, the GIL, a sleep); an
/// involuntary one is a preemption (another thread wanted the core).
pub fn context_switches() -> (u64, u64) {
    // SAFETY: all-zero bytes are a valid `rusage` (integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage to write into; RUSAGE_SELF is a
    // constant every Linux kernel supports.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return (0, 0);
    }
    (usage.ru_nvcsw as u64, usage.ru_nivcsw as u64)
}

/// Pins the calling thread to one core (`--pin`): `core` modulo the cores
/// this process may use. Returns why not where the system refuses.
pub fn pin_current_thread(core: usize) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = core % cores;
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below the core count, far below CPU_SETSIZE (1024).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot pin a worker to core {cpu}: {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// A histogram as results files carry it: hdrhistogram's V2 deflate
/// serialization, base64 (the interval-log encoding). `None` if it cannot
/// be serialized (it always can; this keeps the runner total).
pub fn encode_histogram(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Resident set size of this process now.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// The machine block of a results file.
pub fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|x| x.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let os_release = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("PRETTY_NAME=")).map(|l| {
                l.trim_start_matches("PRETTY_NAME=")
                    .trim_matches('"')
                    .to_string()
            })
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        os: format!(
            "{} {} (Linux {})",
            std::env::consts::OS,
            os_release,
            kernel.trim()
        ),
        rustc: env!("HEAPLAB_RUSTC").to_string(),
        memory_bytes,
        // The caller names the machine (`--machine-label`), explicitly.
        label: String::new(),
    }
}

/// Spins for a calibrated number of nanoseconds without touching memory:
/// the interpreter work dial ("bytecode" and "native" work).
#[derive(Clone, Copy, Debug)]
pub struct Spinner {
    iters_per_us: f64,
}

impl Spinner {
    /// Calibrates against the clock (a few milliseconds).
    pub fn calibrate() -> Spinner {
        let mut best = 0.0f64;
        for _ in 0..5 {
            let iters = 200_000u64;
            let t = Instant::now();
            spin_iters(iters);
            let us = t.elapsed().as_secs_f64() * 1e6;
            best = best.max(iters as f64 / us.max(1e-3));
        }
        Spinner { iters_per_us: best }
    }

    #[inline]
    pub fn spin_ns(&self, ns: u64) {
        if ns > 0 {
            spin_iters((self.iters_per_us * ns as f64 / 1000.0) as u64);
        }
    }

    /// Spins until `d` has passed by the clock (long waits).
    pub fn spin_for(d: Duration) {
        let t = Instant::now();
        while t.elapsed() < d {
            std::hint::spin_loop();
        }
    }
}

#[inline(never)]
fn spin_iters(n: u64) {
    let mut x = 0x9E37_79B9u64;
    for _ in 0..n {
        x = black_box(x.rotate_left(5) ^ 0x2545_F491);
    }
    black_box(x);
}

/// A small, fast, deterministic PRNG (xorshift64*) for workloads.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    #[inline(always)]
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// A weighted choice among indices.
#[derive(Clone, Debug)]
pub struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    pub fn new(weights: &[u32]) -> Weighted {
        let mut acc = 0u64;
        Weighted {
            cumulative: weights
                .iter()
                .map(|&w| {
                    acc += w as u64;
                    acc
                })
                .collect(),
        }
    }

    #[inline]
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let r = rng.next_u64() % total.max(1);
        self.cumulative
            .partition_point(|&c| c <= r)
            .min(self.cumulative.len().saturating_sub(1))
    }
}
