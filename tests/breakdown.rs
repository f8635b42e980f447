//! `heaplab cost-breakdown` end to end: the steps from `gil` to `biased` run
//! at one thread, the results record the chain, and the reports open with
//! the waterfall (one bar per step in the HTML, one row per step in the
//! Markdown table).

use std::process::Command;

#[test]
fn a_breakdown_records_its_steps_and_draws_the_waterfall() {
    let out = std::env::temp_dir().join(format!("heaplab-breakdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "cost-breakdown",
            "--workload",
            "alloc-churn",
            "--duration",
            "0.05",
            "--warmup",
            "0.01",
            "--repeat",
            "3",
            "--max-rounds",
            "3",
            "--instr-ops",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run heaplab");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let steps: Vec<&str> = r["settings"]["breakdown"]["steps"]
        .as_array()
        .expect("the chain is recorded")
        .iter()
        .map(|s| s["policy"].as_str().unwrap())
        .collect();
    assert_eq!(steps.first(), Some(&"gil"));
    assert_eq!(steps.last(), Some(&"biased"));
    assert!(steps.len() >= 4, "{steps:?}");
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["threads"], 1, "a breakdown runs at one thread");
        assert_eq!(run["status"], "ok", "{run}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("The single-thread cost, taken apart"), "{md}");
    for s in &steps {
        assert!(md.contains(&format!("| {s} ")), "row for {s}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let svg_start = html.find("class=\"chart waterfall\"").expect("a waterfall");
    let svg = &html[svg_start..html[svg_start..].find("</svg>").unwrap() + svg_start];
    assert_eq!(svg.matches("<rect").count(), steps.len(), "a bar per step");
    let _ = std::fs::remove_dir_all(&out);
}
