//! Every scenario of the catalogue runs under every policy at 1 and 2
//! threads (tiny sizes) and ends with zero leaked blocks and a clean verifier.

use heaplab::policy::PolicyName;
use heaplab::results::Status;
use heaplab::workload::drivers::binary_trees_reference_output;
use heaplab::workload::{run_config, Catalogue, Config, Driver, RunSettings, Scenario};
use toml::Spanned;

fn scenarios() -> Vec<Scenario> {
    // The built-in catalogue: the texts the binary ships (a unit test checks
    // they are the files of workloads/).
    let mut v = Catalogue::builtin().unwrap().scenarios;
    for s in &mut v {
        if s.driver() == Driver::BinaryTrees {
            s.params.depth = Some(Spanned::new(0..0, 6)); // tiny: a pass in a few ms
        }
    }
    v
}

#[test]
fn the_catalogue_has_the_standard_scenarios() {
    let names: Vec<String> = scenarios().into_iter().map(|s| s.name).collect();
    for want in [
        "alloc-churn",
        "shared-read",
        "producer-consumer",
        "cyclic-garbage",
        "list-mutation",
        "binary-trees",
        "mixed-server",
        "convoy",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}: {names:?}");
    }
}

#[test]
fn every_scenario_runs_under_every_policy_at_1_and_2_threads_without_leaks() {
    let settings = RunSettings {
        duration: Some(0.05),
        warmup: Some(0.01),
        ..Default::default()
    };
    let spinner = heaplab::metrics::Spinner::calibrate();
    let scen = scenarios();
    for s in &scen {
        for policy in PolicyName::ALL {
            for threads in [1, 2] {
                let cfg = Config {
                    scenario: s,
                    policy,
                    threads,
                    repeat: 0,
                };
                let r = run_config(&cfg, &settings, spinner);
                assert_eq!(
                    r.status,
                    Status::Ok,
                    "{} {} x{}: {:?}",
                    s.name,
                    policy,
                    threads,
                    r.error
                );
                assert_eq!(r.leaked_blocks, 0);
                assert!(r.verified);
                assert!(
                    r.ops > 0 || s.driver() == Driver::Convoy,
                    "{} {} x{} did no work",
                    s.name,
                    policy,
                    threads
                );
                if s.name == "cyclic-garbage" {
                    assert!(r.gc.collected > 0, "the collector freed the cycles");
                }
            }
        }
    }
}

#[test]
fn binary_trees_at_depth_10_prints_the_reference_output_under_every_policy() {
    let text = "name = \"bt\"\ndescription = \"d\"\ndriver = \"binary-trees\"\n[run]\nops_per_thread = 1\n[params]\ndepth = 10\n";
    let s = Scenario::parse(text, "bt.toml").unwrap();
    // The Benchmarks Game's published output for n = 10.
    let published = "stretch tree of depth 11\t check: 4095\n\
                     1024\t trees of depth 4\t check: 31744\n\
                     256\t trees of depth 6\t check: 32512\n\
                     64\t trees of depth 8\t check: 32704\n\
                     16\t trees of depth 10\t check: 32752\n\
                     long lived tree of depth 10\t check: 2047";
    assert_eq!(binary_trees_reference_output(10).join("\n"), published);
    for policy in PolicyName::ALL {
        for threads in [1, 2] {
            let cfg = Config {
                scenario: &s,
                policy,
                threads,
                repeat: 0,
            };
            let r = run_config(
                &cfg,
                &RunSettings::default(),
                heaplab::metrics::Spinner::calibrate(),
            );
            assert_eq!(r.status, Status::Ok, "{policy}: {:?}", r.error);
            assert_eq!(r.output.join("\n"), published, "{policy} x{threads}");
        }
    }
}

#[test]
fn an_injected_worker_panic_fails_the_run_and_the_heap_still_verifies() {
    let s = scenarios()
        .into_iter()
        .find(|s| s.name == "alloc-churn")
        .unwrap();
    for policy in PolicyName::ALL {
        let settings = RunSettings {
            duration: Some(0.1),
            warmup: Some(0.0),
            inject_panic: Some((1, 100)),
            ..Default::default()
        };
        let cfg = Config {
            scenario: &s,
            policy,
            threads: 2,
            repeat: 0,
        };
        let r = run_config(&cfg, &settings, heaplab::metrics::Spinner::calibrate());
        assert_eq!(
            r.status,
            Status::Failed,
            "{policy}: {:?} ops {}",
            r.error,
            r.ops
        );
        let err = r.error.unwrap();
        assert!(err.contains("injected fault"), "{policy}: {err}");
        assert!(r.verified, "{policy}: the heap verifies after the panic");
        assert_eq!(r.leaked_blocks, 0, "{policy}: nothing leaked");
    }
}

#[test]
fn a_memory_limit_fails_the_run_with_memory_error_and_leaks_nothing() {
    let s = scenarios()
        .into_iter()
        .find(|s| s.name == "alloc-churn")
        .unwrap();
    for policy in PolicyName::ALL {
        // A fixed number of operations, not a duration: on a busy machine a
        // short window may end before the heap reaches its limit. 200,000
        // steps a thread keep far more than 2 MiB alive in a working set of
        // a million objects.
        let settings = RunSettings {
            max_heap: Some(2 << 20),
            ..Default::default()
        };
        let mut s = s.clone();
        s.params.working_set = Some(Spanned::new(0..0, 1_000_000));
        s.run.duration_secs = None;
        s.run.ops_per_thread = Some(Spanned::new(0..0, 200_000));
        let cfg = Config {
            scenario: &s,
            policy,
            threads: 2,
            repeat: 0,
        };
        let r = run_config(&cfg, &settings, heaplab::metrics::Spinner::calibrate());
        assert_eq!(
            r.status,
            Status::Failed,
            "{policy}: {:?} ops {}",
            r.error,
            r.ops
        );
        let err = r.error.unwrap();
        assert!(err.contains("MemoryError"), "{policy}: {err}");
        assert!(r.verified && r.leaked_blocks == 0, "{policy}: {err}");
    }
}
