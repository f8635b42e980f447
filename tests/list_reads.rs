//! `--list-reads`: the list read path, a constant of the policy type
//! (`biased` reads optimistically, `biased+locked-reads` under the lock),
//! chosen per run, recorded in the results, compared in the findings when
//! both ran, and refused where no policy has optimistic reads.

use std::path::PathBuf;
use std::process::Command;

fn heaplab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run heaplab")
}

fn scratch(name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("heaplab-reads-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    out
}

/// A quick run of `list-mutation` under `policy` with `--list-reads reads`
/// at `threads`; its results.json and report.md.
fn quick_run(name: &str, policy: &str, reads: &str, threads: &str) -> (serde_json::Value, String) {
    let out = scratch(name);
    let o = heaplab(&[
        "run",
        "--list-reads",
        reads,
        "--policy",
        policy,
        "--workload",
        "list-mutation",
        "--threads",
        threads,
        "--quick",
        "--repeat",
        "2",
        "--no-python",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "ok", "{run}");
    }
    (r, md)
}

fn policies_run(r: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["policy"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

const FINDING: &str = "Lock-free list reads";

#[test]
fn locked_reads_under_a_gil_policy_are_refused_with_a_reason() {
    let out = scratch("gil");
    let o = heaplab(&[
        "run",
        "--list-reads",
        "locked",
        "--policy",
        "gil,pool-locks",
        "--quick",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--list-reads locked")
            && e.contains("gil, pool-locks have no optimistic list reads"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    assert!(!out.join("results.json").exists());
}

#[test]
fn an_unknown_read_path_names_the_allowed_ones() {
    let o = heaplab(&["run", "--list-reads", "lazy"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("locked") && e.contains("optimistic"), "{e}");
}

#[test]
fn each_read_path_alone_runs_and_is_recorded() {
    let (r, md) = quick_run("locked", "gil,biased", "locked", "1");
    assert_eq!(r["settings"]["list_reads"], serde_json::json!(["locked"]));
    // gil has one read path and keeps it; biased is replaced by its twin.
    assert_eq!(policies_run(&r), ["biased+locked-reads", "gil"]);
    assert!(md.contains("list reads `locked`"), "settings line");
    assert!(!md.contains(FINDING), "no comparison with one path");

    let (r, md) = quick_run("optimistic", "biased", "optimistic", "1");
    assert_eq!(
        r["settings"]["list_reads"],
        serde_json::json!(["optimistic"])
    );
    assert_eq!(policies_run(&r), ["biased"]);
    assert!(md.contains("list reads `optimistic`"), "settings line");
    assert!(!md.contains(FINDING));
}

#[test]
fn both_read_paths_run_side_by_side_and_the_findings_compare_them() {
    let (r, md) = quick_run("both", "biased", "locked,optimistic", "1,2");
    assert_eq!(
        r["settings"]["list_reads"],
        serde_json::json!(["locked", "optimistic"])
    );
    assert_eq!(policies_run(&r), ["biased", "biased+locked-reads"]);
    assert!(md.contains("list reads `locked` and `optimistic`"));
    let findings = &md[md.find("## Findings").unwrap()..];
    let rows: Vec<&str> = findings
        .lines()
        .filter(|l| l.starts_with('|') && l.contains(FINDING))
        .collect();
    assert_eq!(rows.len(), 2, "one row per thread count: {findings}");
    for (row, t) in rows.iter().zip(["1", "2"]) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert!(cells.contains(&"`list-mutation`"), "{row}");
        assert!(cells.contains(&t), "{row}");
        assert!(
            row.contains("`biased` (optimistic reads) over `biased+locked-reads`"),
            "{row}"
        );
        assert!(row.contains('x'), "a ratio: {row}");
    }
}
