//! The same-shaped Python programs, run on the machine's `python3` in the
//! same run, so that heaplab's figures stand beside CPython's own (a peer in
//! the same run beats a number from elsewhere).
//!
//! Two peers: `binary-trees` (the Benchmarks Game program, the iterations
//! split across `threading` threads, nodes per second) and `convoy` (a
//! thread sleeping 1 ms beside CPU-bound threads: its wake-up latency under
//! CPython's own GIL). Each program prints one JSON line; a missing
//! `python3` or a failing program becomes a note, never a failed run.

use super::scenario::{Driver, Scenario};
use crate::results::{Latency, PythonPeer};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY_TREES: &str = r#"
import sys, time, threading, json
depth, nthreads, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
MIN = 4
maxd = max(MIN + 2, depth)
def make(d):
    return (make(d - 1), make(d - 1)) if d else (None, None)
def check(t):
    l, r = t
    return 1 if l is None else 1 + check(l) + check(r)
work = []
for d in range(MIN, maxd + 1, 2):
    work += [d] * (1 << (maxd - d + MIN))
long_lived = make(maxd)
counts = [0] * nthreads
stop = time.perf_counter() + duration
def worker(i):
    share = work[i::nthreads]
    n = 0
    while time.perf_counter() < stop:
        for d in share:
            n += check(make(d))
            if time.perf_counter() >= stop:
                break
    counts[i] = n
t0 = time.perf_counter()
ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
for t in ts: t.start()
for t in ts: t.join()
secs = time.perf_counter() - t0
print(json.dumps({"ops": sum(counts), "seconds": secs}))
"#;

const CONVOY: &str = r#"
import sys, time, threading, json
nthreads, duration, sleep_us = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
stop = False
late = []
def sleeper():
    s = sleep_us / 1e6
    while not stop:
        t = time.perf_counter()
        time.sleep(s)
        late.append(max(1, int((time.perf_counter() - (t + s)) * 1e9)))
        x = [i for i in range(8)]
ops = [0] * nthreads
def cpu(i):
    n = 0
    while not stop:
        t = (n, n + 1)
        n += 1
    ops[i] = n
ts = [threading.Thread(target=sleeper)] + [threading.Thread(target=cpu, args=(i,)) for i in range(1, nthreads)]
for t in ts: t.start()
time.sleep(duration)
stop = True
for t in ts: t.join()
late.sort()
def q(p):
    return late[min(len(late) - 1, int(p * len(late)))] if late else 0
dist = [[p * 100, q(p)] for p in (0.0, 0.5, 0.75, 0.875, 0.9375, 0.96875, 0.984375, 0.99, 0.999)]
dist.append([100.0, late[-1] if late else 0])
print(json.dumps({"ops": sum(ops), "seconds": duration, "samples": len(late),
                  "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999), "max": late[-1] if late else 0,
                  "mean": sum(late) / len(late) if late else 0, "distribution": dist}))
"#;

/// The most threads a peer runs with: CPython's GIL serialises its threads,
/// so more would measure the same thing for longer.
pub const MAX_PEER_THREADS: usize = 4;

/// The peers of a suite: for each scenario whose driver has one, at each
/// thread count up to [`MAX_PEER_THREADS`]. `say` gets one line of progress
/// (or why the peers were skipped).
pub fn peers(
    scenarios: &[Scenario],
    threads: &[usize],
    duration: f64,
    say: &mut dyn FnMut(&str),
) -> Vec<PythonPeer> {
    let wanted: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| s.driver().has_python_peer())
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Some(version) = python_version() else {
        say("no python3 on this machine: CPython peers skipped");
        return Vec::new();
    };
    say(&format!("running the same-shaped programs on {version}..."));
    let mut out = Vec::new();
    for s in wanted {
        for &t in threads.iter().filter(|&&t| t <= MAX_PEER_THREADS) {
            let mut peer = match s.driver() {
                Driver::BinaryTrees => {
                    binary_trees(&version, s.param(&s.params.depth, 10), t, duration)
                }
                Driver::Convoy => convoy(&version, t, duration, s.param(&s.params.sleep_us, 1000)),
                Driver::Mix | Driver::ProducerConsumer | Driver::MixedServer => continue,
            };
            // The peer stands beside this scenario, whatever its name.
            peer.workload = s.name.clone();
            out.push(peer);
        }
    }
    out
}

/// The machine's python3 version, if there is one.
pub fn python_version() -> Option<String> {
    let o = Command::new("python3").arg("--version").output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn run_py(src: &str, args: &[String], timeout: Duration) -> Result<serde_json::Value, String> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(src)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start python3: {e}"))?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut out = String::new();
            child.stdout.take().map(|mut s| s.read_to_string(&mut out));
            if !status.success() {
                let mut err = String::new();
                child.stderr.take().map(|mut s| s.read_to_string(&mut err));
                return Err(format!("python3 exited with {status}: {}", err.trim()));
            }
            let line = out.lines().last().unwrap_or("");
            return serde_json::from_str(line)
                .map_err(|e| format!("python3 printed {line:?}: {e}"));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "python3 did not finish within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn num(v: &serde_json::Value, k: &str) -> f64 {
    v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0)
}

/// binary-trees on python3: nodes per second with `threads` threads.
pub fn binary_trees(version: &str, depth: u64, threads: usize, duration: f64) -> PythonPeer {
    let args = vec![
        depth.to_string(),
        threads.to_string(),
        format!("{duration}"),
    ];
    let mut peer = PythonPeer {
        workload: Driver::BinaryTrees.to_string(),
        python: version.into(),
        threads,
        ..Default::default()
    };
    match run_py(
        BINARY_TREES,
        &args,
        Duration::from_secs_f64(duration * 4.0 + 60.0),
    ) {
        Ok(v) => {
            peer.seconds = num(&v, "seconds");
            peer.ops_per_sec = num(&v, "ops") / peer.seconds.max(1e-9);
            peer.note = format!("depth {depth}, nodes per second (the same unit as heaplab's ops)");
        }
        Err(e) => peer.note = format!("not measured: {e}"),
    }
    peer
}

/// The convoy on python3: the sleeper's wake-up latency beside `threads - 1`
/// CPU-bound threads.
pub fn convoy(version: &str, threads: usize, duration: f64, sleep_us: u64) -> PythonPeer {
    let args = vec![
        threads.to_string(),
        format!("{duration}"),
        sleep_us.to_string(),
    ];
    let mut peer = PythonPeer {
        workload: Driver::Convoy.to_string(),
        python: version.into(),
        threads,
        ..Default::default()
    };
    match run_py(
        CONVOY,
        &args,
        Duration::from_secs_f64(duration * 4.0 + 60.0),
    ) {
        Ok(v) => {
            peer.seconds = num(&v, "seconds");
            // The CPU threads' loop iterations are not heaplab's operations:
            // no throughput to compare, only the sleeper's latency.
            peer.ops_per_sec = 0.0;
            let dist = v
                .get("distribution")
                .and_then(|d| d.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()? as u64)))
                        .collect()
                })
                .unwrap_or_default();
            peer.latency_ns = Some(Latency {
                p50: num(&v, "p50") as u64,
                p90: num(&v, "p90") as u64,
                p99: num(&v, "p99") as u64,
                p999: num(&v, "p999") as u64,
                max: num(&v, "max") as u64,
                mean: num(&v, "mean"),
                samples: num(&v, "samples") as u64,
                sample_every: 1,
                distribution: dist,
            });
            peer.note = format!(
                "sleeper wake-up latency; {} CPU-bound thread(s)",
                threads - 1
            );
        }
        Err(e) => peer.note = format!("not measured: {e}"),
    }
    peer
}
