//! Every scenario of `workloads/*.toml` through the lab's own runner, per
//! policy, at 1 and 2 threads: the programs, where the other bench files
//! take the operations apart.
//!
//! Groups `workload/<scenario>`, ids `policy/threads`,
//! `Throughput::Elements(1)`: criterion's elements per second are the
//! runner's operations per second (all threads together; for roles, those
//! that count: `producer-consumer` counts the consumers, `convoy` the CPU
//! threads, or the sleeper when it runs alone).
//!
//! How criterion's iterations map onto the runner. A configuration cannot
//! be cut into arbitrary iteration counts: each one builds a fresh heap and
//! its fixture, spawns and attaches its threads, warms up, measures, then
//! drops everything, collects and verifies the heap (a leak fails the bench,
//! as it fails a run). So one call of the timing routine is one whole
//! configuration of fixed length (20 ms warm-up, 100 ms measured, here), and
//! it reports the runner's own figure scaled to the iterations criterion
//! asked for: `seconds * iters / ops`, that is `iters` times the measured
//! time per operation. Criterion's statistics are then over independent
//! configurations (run-to-run variation, which is the variation that matters
//! on a shared machine), its iteration count is only a multiplier, and the
//! wall time of a benchmark is (samples + warm-up calls) x one configuration
//! whatever the operations cost: 10 samples, flat sampling, about 12
//! configurations and 2 s per benchmark, 54 benchmarks. Under `--quick`
//! criterion stops after two configurations that agree within 5%, or once
//! 0.4 s of them have run (two or three configurations).
//!
//! Scale: the scenarios' own durations are overridden (100 ms), and
//! `binary-trees` runs at depth 6 (as `tests/catalogue.rs`), so a pass of
//! its trees fits the run many times over and its output can be checked.
//! The interpreter work dials (`bytecode_ns`, `native_ns`) stay as the files
//! set them: they are part of what each scenario means.

mod common;

use common::slow;
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{measurement::WallTime, Throughput};
use heaplab::metrics::Spinner;
use heaplab::policy::PolicyName;
use heaplab::results::Status;
use heaplab::workload::{catalogue, run_config, Config, Driver, RunSettings, Scenario};
use heaplab::{with_policy, Policy};
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// Measured seconds of one configuration.
const RUN_SECS: f64 = 0.1;
/// Warm-up seconds of one configuration.
const WARMUP_SECS: f64 = 0.02;
/// binary-trees' depth at bench scale.
const BINARY_TREES_DEPTH: u64 = 6;

fn scenarios() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let mut v = catalogue(&dir).unwrap_or_else(|e| panic!("workloads catalogue: {e:?}"));
    for s in &mut v {
        if s.driver() == Driver::BinaryTrees {
            s.params.depth = Some(Spanned::new(0..0, BINARY_TREES_DEPTH));
        }
    }
    v
}

fn bench_scenario<P: Policy>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    s: &Scenario,
    threads: usize,
    settings: &RunSettings,
    spinner: Spinner,
) {
    let policy = PolicyName::parse(P::NAME).expect("a policy the runner knows");
    let mut repeat = 0;
    g.bench_function(BenchmarkId::new(P::NAME, threads), |b| {
        b.iter_custom(|iters| {
            let cfg = Config {
                scenario: s,
                policy,
                threads,
                repeat,
            };
            repeat += 1;
            let r = run_config(&cfg, settings, spinner);
            assert!(
                r.status == Status::Ok,
                "{} {} x{threads} failed: {}",
                s.name,
                P::NAME,
                r.error.as_deref().unwrap_or("?")
            );
            assert!(
                r.ops > 0,
                "{} {} x{threads} counted no operations in {:.3} s",
                s.name,
                P::NAME,
                r.seconds
            );
            Duration::from_secs_f64(r.seconds * iters as f64 / r.ops as f64)
        })
    });
}

fn workloads(c: &mut Criterion) {
    let settings = RunSettings {
        duration: Some(RUN_SECS),
        warmup: Some(WARMUP_SECS),
        ..Default::default()
    };
    let spinner = Spinner::calibrate();
    for s in &scenarios() {
        let mut g = c.benchmark_group(format!("workload/{}", s.name));
        slow(&mut g, Duration::from_secs(1), Duration::from_millis(400));
        g.throughput(Throughput::Elements(1));
        for threads in [1, 2] {
            for p in PolicyName::ALL {
                with_policy!(p, P => bench_scenario::<P>(&mut g, s, threads, &settings, spinner));
            }
        }
        g.finish();
    }
}

criterion_group!(benches, workloads);

fn main() {
    common::bench_main("workloads", benches);
}
