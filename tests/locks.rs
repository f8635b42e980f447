//! `--locks`: the object locks' parking table, chosen at run time, recorded
//! in the results, and refused where no policy has object locks.

use std::process::Command;

fn heaplab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run heaplab")
}

#[test]
fn parking_lot_under_a_gil_policy_is_refused_with_a_reason() {
    let out = std::env::temp_dir().join(format!("heaplab-locks-gil-{}", std::process::id()));
    let o = heaplab(&[
        "run",
        "--locks",
        "parking-lot",
        "--policy",
        "gil",
        "--quick",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--locks parking-lot") && e.contains("gil has no object locks"),
        "{e}"
    );
    assert!(!out.join("results.json").exists());
}

#[test]
fn an_unknown_lock_table_names_the_allowed_ones() {
    let o = heaplab(&["run", "--locks", "spin"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("std") && e.contains("parking-lot"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
}

#[test]
fn the_parking_lot_table_runs_and_is_recorded() {
    let out = std::env::temp_dir().join(format!("heaplab-locks-pl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = heaplab(&[
        "run",
        "--locks",
        "parking-lot",
        "--policy",
        "biased,pool-locks",
        "--workload",
        "list-mutation",
        "--threads",
        "2",
        "--quick",
        "--no-python",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["settings"]["locks"], "parking-lot");
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "ok", "{run}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
