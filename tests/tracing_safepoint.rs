//! The tracing collectors' stop-the-world figures reach the results: under
//! `tracing` at 2 threads each collection records its pause and its time to
//! safepoint (the stop request until the other thread parked); under
//! `gil-tracing` the GIL already stops the world and the field stays empty,
//! as under `gil`.

use heaplab::policy::PolicyName;
use heaplab::results::Status;
use heaplab::workload::{run_config, Catalogue, Config, RunSettings};

fn run(policy: PolicyName, mark_workers: usize) -> heaplab::results::Run {
    let scenarios = Catalogue::builtin().unwrap().scenarios;
    let s = scenarios
        .iter()
        .find(|s| s.name == "alloc-churn")
        .expect("alloc-churn is in the catalogue");
    let settings = RunSettings {
        duration: Some(0.3),
        warmup: Some(0.0),
        mark_workers,
        ..Default::default()
    };
    let cfg = Config {
        scenario: s,
        policy,
        threads: 2,
        repeat: 0,
    };
    let r = run_config(&cfg, &settings, heaplab::metrics::Spinner::calibrate());
    assert_eq!(r.status, Status::Ok, "{policy}: {:?}", r.error);
    assert_eq!(r.leaked_blocks, 0);
    assert!(r.gc.collections > 0, "{policy}: no collection in 0.3 s");
    r
}

#[test]
fn tracing_at_2_threads_records_time_to_safepoint() {
    for workers in [1, 2] {
        let r = run(PolicyName::Tracing, workers);
        let t =
            r.gc.time_to_safepoint_ns
                .as_ref()
                .expect("time to safepoint under tracing");
        // One figure per collection, beside its pause.
        assert!(t.count > 0);
        assert_eq!(t.count, r.gc.pause_ns.count);
        assert!(t.max > 0 && t.p50 <= t.max);
    }
}

#[test]
fn gil_tracing_has_no_time_to_safepoint() {
    let r = run(PolicyName::GilTracing, 1);
    assert!(r.gc.time_to_safepoint_ns.is_none());
    assert!(r.gc.pause_ns.count > 0);
}
