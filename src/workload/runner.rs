//! The multi-threaded runner: scenario x policy x threads, repeated and
//! interleaved, each configuration on a fresh heap, each ending with the
//! leak and integrity check.
//!
//! One configuration:
//! 1. a fresh `Heap<P>`; the main thread attaches and builds the fixture
//!    (shared objects, channels, the long-lived tree), then releases the
//!    interpreter for the whole run (so it never blocks the others, and so
//!    the objects it owns stay owned by a live thread);
//! 2. the workers attach and wait at a barrier (detached, like every blocking
//!    wait); warm-up runs until the main thread moves the phase word to
//!    `measuring`; each worker counts only between its own sight of that and
//!    its own sight of `stopped` ([`super::phase`]), and a worker that never
//!    saw the measuring phase, or counted more than its CPU time allows,
//!    fails the configuration;
//! 3. each step: the driver's operation, "bytecode" work (attached),
//!    "native" work (inside `allow_threads`), a checkpoint; one step in
//!    `sample_every` is timed into the thread's HdrHistogram (per role);
//! 4. the main thread samples memory every few milliseconds, stops the run,
//!    joins the workers (a worker that panicked or met an error fails the
//!    configuration with its message), re-attaches, drops the fixture, runs
//!    a final collection and the verifier: zero live blocks or the
//!    configuration fails, never a number.

use super::drivers::{Fixture, Worker};
use super::phase::{implausible, Phase, RunPhase, StepAction, WorkerWindow};
use super::scenario::{Driver, Scenario};
use crate::gc::GcMode;
use crate::heap::{Heap, HeapConfig};
use crate::metrics::{self, Spinner};
use crate::object::header_bytes;
use crate::policy::{Policy, PolicyName};
use crate::results::{
    self, GcFigures, GilFigures, MemoryFigures, RefcountFigures, RoleStats, Run, RunNoise, Status,
};
use crate::with_policy;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

mod settings;
pub use settings::RunSettings;

/// One configuration.
#[derive(Clone, Debug)]
pub struct Config<'a> {
    pub scenario: &'a Scenario,
    pub policy: PolicyName,
    pub threads: usize,
    pub repeat: usize,
}

struct ThreadOut {
    role: &'static str,
    counts: bool,
    ops: u64,
    /// Thread CPU time inside the worker's measured window.
    cpu_ns: u64,
    /// Wall-clock seconds of the worker's measured window.
    wall_secs: f64,
    hist: Histogram<u64>,
    error: Option<String>,
    /// The worker took its first step after the run had stopped: it never
    /// saw the measuring phase (reported once for all such workers).
    late: bool,
}

/// Runs one configuration and returns its results entry, with the noise it
/// met: the machine's steal time and this process's context switches over
/// the whole configuration (set-up and check included), beside each
/// worker's CPU and wall time inside its window.
pub fn run_config(cfg: &Config<'_>, settings: &RunSettings, spinner: Spinner) -> Run {
    let steal_before = metrics::cpu_steal_jiffies();
    let (voluntary, involuntary) = metrics::context_switches();
    let mut run = with_policy!(cfg.policy, P => run_typed::<P>(cfg, settings, spinner));
    let (v, i) = metrics::context_switches();
    let noise = run.noise.get_or_insert_with(Default::default);
    noise.steal_ratio = metrics::steal_ratio(steal_before, metrics::cpu_steal_jiffies());
    noise.voluntary_switches = v.saturating_sub(voluntary);
    noise.involuntary_switches = i.saturating_sub(involuntary);
    noise.pinned = settings.pin;
    run
}

fn failed(cfg: &Config<'_>, gc_mode: GcMode, header: usize, error: String) -> Run {
    Run {
        workload: cfg.scenario.name.clone(),
        policy: cfg.policy.to_string(),
        threads: cfg.threads,
        repeat: cfg.repeat,
        status: Status::Failed,
        error: Some(error),
        ops: 0,
        seconds: 0.0,
        ops_per_sec: 0.0,
        latency_ns: Default::default(),
        roles: BTreeMap::new(),
        headline_role: cfg.scenario.roles().0.map(String::from),
        gil: None,
        gc: Default::default(),
        memory: MemoryFigures {
            header_bytes: header as u64,
            ..Default::default()
        },
        refcount: Default::default(),
        gc_mode: gc_mode.as_str().into(),
        leaked_blocks: 0,
        verified: false,
        output: Vec::new(),
        latency_histogram: None,
        noise: None,
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a worker thread panicked".into()
    }
}

fn run_typed<P: Policy>(cfg: &Config<'_>, settings: &RunSettings, spinner: Spinner) -> Run {
    let s = cfg.scenario;
    let mut hc = HeapConfig {
        max_heap: settings.max_heap,
        ..Default::default()
    }
    .with_switch_interval(settings.switch_interval);
    hc.policy.locks = settings.locks;
    hc.gc.mode = settings.gc_mode;
    hc.gc.mark_workers = settings.mark_workers;
    hc.gc.enabled = settings.gc_enabled;
    hc.trace.growth = settings.gc_growth;
    if crate::heap::trace::nursery::supported::<P>() {
        hc.trace.nursery = settings.nursery;
    }
    let heap = match Heap::<P>::new(hc) {
        Ok(h) => h,
        Err(e) => return failed(cfg, settings.gc_mode, header_bytes::<P>(), e.to_string()),
    };
    let sample_every = s.sample_every().max(1);
    let duration = settings.duration.or(s.duration_secs());
    let fixed_ops = if duration.is_none() {
        s.ops_per_thread()
    } else {
        None
    };
    let duration = duration.unwrap_or(1.0);
    let warmup = if fixed_ops.is_some() {
        0.0
    } else {
        settings.warmup.unwrap_or(s.warmup_secs())
    };
    let phase = RunPhase::new(if fixed_ops.is_some() {
        Phase::Measuring
    } else {
        Phase::WarmUp
    });
    let barrier = Barrier::new(cfg.threads + 1);
    let (bytecode_ns, native_ns) = (s.bytecode_ns(), s.native_ns());
    let mem_peak = Mutex::new((0i64, 0i64, 0u64));

    let main = heap.attach();
    let mut fixture = match Fixture::new(s, &main, &heap) {
        Ok(f) => f,
        Err(e) => {
            drop(main);
            return failed(
                cfg,
                settings.gc_mode,
                header_bytes::<P>(),
                format!("setup: {e}"),
            );
        }
    };

    let (outs, seconds) = main.allow_threads(|| {
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for index in 0..cfg.threads {
                let (heap, fixture, barrier, phase) = (&heap, &fixture, &barrier, &phase);
                handles.push(scope.spawn(move || {
                    let m = heap.attach();
                    let mut w = Worker::new(s, fixture, index, cfg.threads);
                    let mut out = ThreadOut {
                        role: w.role,
                        counts: w.counts,
                        ops: 0,
                        cpu_ns: 0,
                        wall_secs: 0.0,
                        hist: metrics::new_histogram(),
                        error: None,
                        late: false,
                    };
                    if settings.pin {
                        if let Err(e) = metrics::pin_current_thread(index) {
                            out.error = Some(format!("worker {index}: {e}"));
                        }
                    }
                    m.allow_threads(|| barrier.wait());
                    let mut window = if fixed_ops.is_some() {
                        WorkerWindow::open_now()
                    } else {
                        WorkerWindow::default()
                    };
                    let limit = match fixed_ops {
                        Some(_) if s.driver() == Driver::BinaryTrees => {
                            w.trees_in_one_pass() as u64
                        }
                        Some(n) => n,
                        None => u64::MAX,
                    };
                    let stop_fn = || phase.stopped();
                    let mut steps = 0u64;
                    while steps < limit {
                        match window.observe(phase.get()) {
                            StepAction::Leave => break,
                            StepAction::OpenWindow => {
                                phase.note_window_opened();
                                out.ops = 0;
                                out.hist.reset();
                                steps = 0;
                            }
                            StepAction::Uncounted | StepAction::Counted => {}
                        }
                        let measured = window.opened();
                        if let Some((who, after)) = settings.inject_panic {
                            if who == index && measured && steps == after {
                                panic!("injected fault: worker {index} panics after {after} steps");
                            }
                        }
                        let timed = steps.is_multiple_of(sample_every);
                        let t0 = if timed { Some(Instant::now()) } else { None };
                        match w.step(&m, &stop_fn) {
                            Ok(st) => {
                                spinner.spin_ns(bytecode_ns);
                                if native_ns > 0 {
                                    m.allow_threads(|| spinner.spin_ns(native_ns));
                                }
                                m.checkpoint();
                                if let Some(t0) = t0 {
                                    let ns = st
                                        .latency_ns
                                        .unwrap_or_else(|| t0.elapsed().as_nanos() as u64);
                                    out.hist.saturating_record(ns.max(1));
                                }
                                out.ops += st.ops;
                            }
                            Err(e) => {
                                out.error = Some(format!("worker {index} ({}): {e}", w.role));
                                phase.advance(Phase::Stopped);
                                break;
                            }
                        }
                        steps += 1;
                    }
                    out.cpu_ns = window.cpu_ns();
                    out.wall_secs = window.wall_secs();
                    if out.error.is_none() {
                        if !window.opened() {
                            out.late = true;
                        } else if let Some(why) =
                            implausible(out.ops, out.cpu_ns, settings.floor_pair_ns)
                        {
                            out.error = Some(format!("worker {index} ({}): {why}", w.role));
                        }
                    }
                    w.release();
                    drop(m);
                    out
                }));
            }
            barrier.wait();
            let start = Instant::now();
            let sample = || {
                let f = heap.memory();
                let mut p = mem_peak.lock().unwrap();
                p.0 = p.0.max(f.bytes_in_blocks);

                p.2 = p.2.max(metrics::rss_bytes());
            };
            let measured_start;
            if fixed_ops.is_none() {
                while start.elapsed().as_secs_f64() < warmup {
                    std::thread::sleep(Duration::from_millis(5));
                    sample();
                }
                phase.advance(Phase::Measuring);
                let patience = Duration::from_secs_f64(duration.max(2.0));
                phase.wait_for_windows(cfg.threads, patience, sample);
                measured_start = Instant::now();
                // binary-trees runs at least one full pass, so that its
                // output can be checked (capped, so a stuck run still ends).
                let cap = duration * 20.0 + 30.0;
                while (measured_start.elapsed().as_secs_f64() < duration
                    || !fixture.first_pass_done(s))
                    && measured_start.elapsed().as_secs_f64() < cap
                    && !phase.stopped()
                {
                    std::thread::sleep(Duration::from_millis(5));
                    sample();
                }
                phase.advance(Phase::Stopped);
            } else {
                measured_start = start;
                while !handles.iter().all(|h| h.is_finished()) {
                    std::thread::sleep(Duration::from_millis(2));
                    sample();
                }
            }
            let outs: Vec<Result<ThreadOut, String>> = handles
                .into_iter()
                .map(|h| h.join().map_err(|p| panic_message(&*p)))
                .collect();
            let seconds = measured_start.elapsed().as_secs_f64();
            sample();
            (outs, seconds)
        })
    });

    // Back on the main thread, attached: finish, drop the fixture, check.
    let mut errors: Vec<String> = Vec::new();
    let mut late: Vec<usize> = Vec::new();
    for (index, o) in outs.iter().enumerate() {
        match o {
            Err(p) => errors.push(format!("a worker panicked: {p}")),
            Ok(t) => {
                if t.late {
                    late.push(index);
                }
                errors.extend(t.error.clone());
            }
        }
    }
    if !late.is_empty() {
        errors.push(late_workers_error(&late, outs.len()));
    }
    if errors.is_empty() {
        if let Err(e) = fixture.finish(s, &main) {
            errors.push(e);
        }
    }
    let output = std::mem::take(&mut fixture.output);
    drop(fixture);
    main.apply_pending();
    main.collect();
    drop(main);
    heap.trim();
    let verify = heap.verify();

    let ok_outs: Vec<&ThreadOut> = outs.iter().filter_map(|o| o.as_ref().ok()).collect();
    let mut all = metrics::new_histogram();
    // Each worker's rate is its own count over its own window (it opened
    // when it first saw the measuring phase and closed when it saw the
    // stop); the configuration's throughput is the sum of its workers' rates.
    let rate = |t: &ThreadOut| t.ops as f64 / t.wall_secs.max(1e-9);
    let mut roles: BTreeMap<String, (usize, u64, f64, Histogram<u64>)> = BTreeMap::new();
    let mut ops = 0u64;
    let mut ops_per_sec = 0.0;
    for t in &ok_outs {
        all.add(&t.hist).ok();
        if t.counts {
            ops += t.ops;
            ops_per_sec += rate(t);
        }
        let e = roles
            .entry(t.role.to_string())
            .or_insert_with(|| (0, 0, 0.0, metrics::new_histogram()));
        e.0 += 1;
        e.1 += t.ops;
        e.2 += rate(t);
        e.3.add(&t.hist).ok();
    }
    let (headline, scenario_roles) = s.roles();
    let role_stats: BTreeMap<String, RoleStats> = if scenario_roles.is_empty() {
        BTreeMap::new()
    } else {
        roles
            .into_iter()
            .map(|(name, (threads, rops, rrate, h))| {
                (
                    name,
                    RoleStats {
                        threads,
                        ops: rops,
                        ops_per_sec: rrate,
                        latency_ns: metrics::latency(&h, sample_every),
                        latency_histogram: metrics::encode_histogram(&h),
                    },
                )
            })
            .collect()
    };
    let gc = heap.gc_stats();
    let totals = heap.totals();
    let mem = heap.memory();
    let peaks = *mem_peak.lock().unwrap();
    let (leaked, verified) = match &verify {
        Ok(rep) => (rep.leaked_blocks() as u64, true),
        Err(e) => {
            errors.push(format!("verifier: {e}"));
            (0, false)
        }
    };
    if leaked > 0 {
        errors.push(format!("leak: {leaked} blocks live after the last reference was dropped and a final collection"));
    }
    let status = if errors.is_empty() {
        Status::Ok
    } else {
        Status::Failed
    };
    // A failed configuration carries no figure that could be read as one.
    if status == Status::Failed {
        ops = 0;
        ops_per_sec = 0.0;
    }
    Run {
        workload: s.name.clone(),
        policy: P::NAME.into(),
        threads: cfg.threads,
        repeat: cfg.repeat,
        status,
        error: if errors.is_empty() {
            None
        } else {
            Some(errors.join("; "))
        },
        ops,
        seconds,
        ops_per_sec,
        latency_ns: metrics::latency(&all, sample_every),
        roles: role_stats,
        headline_role: headline.map(String::from),
        gil: heap.gil_stats().map(|g| GilFigures {
            acquisitions: g.acquisitions,
            forced_switches: g.forced_switches,
            wait_ns: metrics::percentiles(&g.wait_ns),
        }),
        gc: GcFigures {
            collections: gc.collections.iter().sum(),
            collections_by_generation: gc.collections,
            examined: gc.examined,
            collected: gc.collected,
            resurrected: gc.resurrected,
            pause_ns: metrics::percentiles(&gc.pause_ns),
            time_to_safepoint_ns: P::FREE_THREADED
                .then(|| metrics::percentiles(&gc.time_to_safepoint_ns)),
        },
        memory: MemoryFigures {
            peak_rss_bytes: peaks.2,
            arenas_high_water: mem.arenas.high_water,
            bytes_in_use_peak: peaks.0.max(0) as u64,
            bytes_reserved_peak: mem.bytes_reserved_peak,
            bytes_requested_peak: None,
            header_bytes: header_bytes::<P>() as u64,
        },
        refcount: RefcountFigures {
            local_ops: totals.rc.local_ops,
            atomic_ops: totals.rc.atomic_ops,
            remote_frees: totals.rc.remote_frees,
            merges: totals.rc.merges,
            queued: totals.rc.queued,
        },
        gc_mode: settings.gc_mode.as_str().into(),
        leaked_blocks: leaked,
        verified,
        output,
        latency_histogram: metrics::encode_histogram(&all),
        noise: Some(RunNoise {
            thread_cpu_secs: ok_outs.iter().map(|t| t.cpu_ns as f64 / 1e9).collect(),
            thread_wall_secs: ok_outs.iter().map(|t| t.wall_secs).collect(),
            ..Default::default()
        }),
    }
}

/// The order configurations run in: repeats interleaved (A B C A B C).
pub fn schedule<'a>(
    scenarios: &'a [Scenario],
    policies: &[PolicyName],
    threads: &[usize],
    repeats: usize,
) -> Vec<Config<'a>> {
    let mut out = Vec::new();
    for repeat in 0..repeats {
        for s in scenarios {
            for &t in threads {
                for &p in policies {
                    out.push(Config {
                        scenario: s,
                        policy: p,
                        threads: t,
                        repeat,
                    });
                }
            }
        }
    }
    out
}

/// The workload block of the results file.
pub fn workload_info(s: &Scenario) -> results::WorkloadInfo {
    let (headline, roles) = s.roles();
    results::WorkloadInfo {
        name: s.name.clone(),
        description: s.description.clone(),
        headline_role: headline.map(String::from),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        text_hash: s.text_hash.clone(),
    }
}

/// One line for every worker that never saw the measuring phase, naming them
/// as ranges ("workers 0-10, 28 of 256"), so a run of hundreds of threads
/// fails with a reason a person can read.
fn late_workers_error(late: &[usize], workers: usize) -> String {
    let mut ranges: Vec<String> = Vec::new();
    let mut i = 0;
    while i < late.len() {
        let mut j = i;
        while j + 1 < late.len() && late[j + 1] == late[j] + 1 {
            j += 1;
        }
        ranges.push(if i == j {
            late[i].to_string()
        } else {
            format!("{}-{}", late[i], late[j])
        });
        i = j + 1;
    }
    format!(
        "{} of {workers} {} ({}) never saw the measuring phase: {} took {} first step after the \
         run had stopped (an overloaded machine, or a measured duration shorter than a thread's \
         start-up)",
        late.len(),
        if workers == 1 { "worker" } else { "workers" },
        ranges.join(", "),
        if late.len() == 1 { "it" } else { "they" },
        if late.len() == 1 { "its" } else { "their" },
    )
}

#[cfg(test)]
mod tests;
