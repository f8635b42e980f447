//! End-to-end tests of the `heaplab` binary: `list`, a small `run`, and bad
//! input giving one clear error and a non-zero exit, with no results file
//! left behind as if complete.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn heaplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run heaplab")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heaplab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_shows_policies_and_scenarios() {
    let o = heaplab(&["list"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "gil",
        "pool-locks",
        "biased",
        "alloc-churn",
        "binary-trees",
        "convoy",
        "mixed-server",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
}

#[test]
fn a_small_run_writes_results_json_with_the_contract_fields() {
    let out = tmpdir("run");
    let o = heaplab(&[
        "run",
        "--policy",
        "gil,biased",
        "--workload",
        "alloc-churn,convoy",
        "--threads",
        "1,2",
        "--duration",
        "0.05",
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in [
        "schema",
        "machine",
        "heaplab",
        "started",
        "runs",
        "floors",
        "steal_ratio",
    ] {
        assert!(v.get(k).is_some(), "top-level {k}");
    }
    for k in ["cpu", "cores", "os", "rustc"] {
        assert!(v["machine"].get(k).is_some(), "machine.{k}");
    }
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 2 * 2);
    for r in runs {
        for k in [
            "workload",
            "policy",
            "threads",
            "repeat",
            "status",
            "error",
            "ops",
            "seconds",
            "ops_per_sec",
            "latency_ns",
            "gil",
            "gc",
            "memory",
            "refcount",
            "gc_mode",
            "leaked_blocks",
            "verified",
        ] {
            assert!(r.get(k).is_some(), "run.{k} in {r}");
        }
        for k in [
            "p50",
            "p90",
            "p99",
            "p999",
            "max",
            "sample_every",
            "distribution",
        ] {
            assert!(r["latency_ns"].get(k).is_some(), "latency_ns.{k}");
        }
        for k in [
            "peak_rss_bytes",
            "arenas_high_water",
            "bytes_in_use_peak",
            "bytes_reserved_peak",
            "header_bytes",
        ] {
            assert!(r["memory"].get(k).is_some(), "memory.{k}");
        }
        for k in ["local_ops", "atomic_ops"] {
            assert!(r["refcount"].get(k).is_some(), "refcount.{k}");
        }
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["leaked_blocks"], 0);
        if r["policy"] == "gil" {
            assert!(r["gil"]["acquisitions"].as_u64().unwrap() > 0);
        }
        if r["workload"] == "convoy" {
            assert_eq!(r["headline_role"], "sleeper");
            assert!(r["roles"].get("sleeper").is_some());
        }
    }
    assert!(!out.join("results.json.partial").exists());
}

fn assert_fails(args: &[&str], needle: &str, out: &Path) {
    let o = heaplab(args);
    assert!(!o.status.success(), "{args:?} should fail");
    let e = stderr(&o);
    assert!(
        e.contains(needle),
        "{args:?}: stderr lacks {needle:?}:\n{e}"
    );
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "no panic: {e}"
    );
    assert_eq!(
        e.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "one clear line: {e}"
    );
    assert!(
        !out.join("results.json").exists(),
        "no results file left: {args:?}"
    );
}

#[test]
fn bad_input_gives_a_clear_error_and_a_nonzero_exit() {
    let dir = tmpdir("bad");
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let scen = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = "name = \"g\"\ndescription = \"d\"\ndriver = \"mix\"\n[mix]\nalloc_leaf = 1\n";
    let malformed = scen("malformed.toml", "name = \"g\"\ndescription = \n");
    let unknown = scen("unknown.toml", &format!("{good}teleport = 3\n"));
    let wrong_type = scen(
        "wrongtype.toml",
        &good.replace("alloc_leaf = 1", "alloc_leaf = \"many\""),
    );
    let bad_op = scen(
        "badop.toml",
        &good.replace("alloc_leaf = 1", "alloc_leaf = 1\nfly = 2"),
    );
    let with_run = |run: &str| {
        format!("name = \"g\"\ndescription = \"d\"\ndriver = \"mix\"\n[run]\n{run}\n[mix]\nalloc_leaf = 1\n")
    };
    let zero = scen("zero.toml", &with_run("duration_secs = 0.0"));
    let years = scen("years.toml", &with_run("duration_secs = 1e9"));
    let size = scen(
        "size.toml",
        &format!("{good}[sizes]\nleaf = [[99999999, 1]]\n"),
    );
    assert_fails(
        &["run", "--workload", &malformed, "--out", o],
        "malformed.toml:",
        &out,
    );
    assert_fails(
        &["run", "--workload", &unknown, "--out", o],
        "teleport",
        &out,
    );
    assert_fails(
        &["run", "--workload", &wrong_type, "--out", o],
        "wrongtype.toml:",
        &out,
    );
    assert_fails(&["run", "--workload", &bad_op, "--out", o], "fly", &out);
    assert_fails(
        &["run", "--workload", &zero, "--out", o],
        "run.duration_secs",
        &out,
    );
    assert_fails(
        &["run", "--workload", &years, "--out", o],
        "run.duration_secs",
        &out,
    );
    assert_fails(
        &["run", "--workload", &size, "--out", o],
        "sizes.leaf",
        &out,
    );
    let missing = dir.join("missing.toml");
    assert_fails(
        &["run", "--workload", missing.to_str().unwrap(), "--out", o],
        "missing.toml",
        &out,
    );
    assert_fails(
        &["run", "--threads", "0", "--out", o],
        "--threads: 0 is out of range",
        &out,
    );
    assert_fails(
        &["run", "--threads", "100000", "--out", o],
        "--threads",
        &out,
    );
    assert_fails(
        &["run", "--policy", "gilless", "--out", o],
        "unknown policy \"gilless\"",
        &out,
    );
    assert_fails(
        &["run", "--workload", "nope", "--out", o],
        "unknown scenario \"nope\"",
        &out,
    );
    assert_fails(&["run", "--duration", "0", "--out", o], "--duration", &out);
    assert_fails(
        &["run", "--duration", "100000000", "--out", o],
        "--duration",
        &out,
    );
    assert_fails(
        &[
            "run",
            "--gc",
            "generational",
            "--policy",
            "biased",
            "--out",
            o,
        ],
        "needs the GIL",
        &out,
    );
    // An output directory that cannot be written.
    let blocker = dir.join("file-not-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let under = blocker.join("out");
    assert_fails(
        &["run", "--quick", "--out", under.to_str().unwrap()],
        "--out",
        &under,
    );
    // Reports and compare on a corrupt file.
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, b"{ not json").unwrap();
    assert_fails(&["report", corrupt.to_str().unwrap()], "corrupt.json", &out);
}

#[test]
fn trees_prints_the_benchmarks_game_output() {
    let o = heaplab(&["trees", "10", "--policy", "biased", "--threads", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("stretch tree of depth 11\t check: 4095\n"),
        "{out}"
    );
    assert!(out.contains("long lived tree of depth 10\t check: 2047"));
}
