//! What two runs must share for `compare` to mean anything, and every way
//! two results files differ there: machine, compiler, build, settings,
//! scenario files and noise. Each difference is a warning `compare` prints
//! (it still compares: the reader decides what a difference is worth).

use crate::results::Results;

fn opt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(x) => format!("{x:?}"),
        None => "unrecorded".into(),
    }
}

/// Every mismatch of provenance between OLD and NEW, in words.
pub fn mismatches(old: &Results, new: &Results) -> Vec<String> {
    let mut w = Vec::new();
    let (mo, mn) = (&old.machine, &new.machine);
    if mo.cpu != mn.cpu || mo.cores != mn.cores || mo.label != mn.label {
        w.push(format!(
            "the runs are from different machines ({} / {} cores vs {} / {} cores): only \
             large changes mean anything",
            mo.cpu, mo.cores, mn.cpu, mn.cores
        ));
    }
    if mo.rustc != mn.rustc {
        w.push(format!("different compilers: {} vs {}", mo.rustc, mn.rustc));
    }
    for (side, r) in [("OLD", old), ("NEW", new)] {
        if r.heaplab.dirty == Some(true) {
            w.push(format!(
                "{side} was built from a tree with uncommitted changes (commit {} plus edits)",
                r.heaplab.commit
            ));
        }
        if !r.rounds_paired() {
            w.push(format!(
                "{side} is a schema-{} file: its figures predate paired rounds and the \
                 runner's warm-up fix",
                r.schema
            ));
        }
        if let Some(n) = r.noise.as_ref().filter(|n| !n.quiet) {
            w.push(format!(
                "{side} ran on a busy machine: {}",
                n.why.join("; ")
            ));
        }
    }
    let (so, sn) = (&old.settings, &new.settings);
    let mut setting = |name: &str, a: String, b: String| {
        if a != b {
            w.push(format!("{name} differs: {a} vs {b}"));
        }
    };
    setting(
        "the measured duration per configuration",
        format!("{} s", so.duration_secs),
        format!("{} s", sn.duration_secs),
    );
    setting("the warm-up", opt(&so.warmup_secs), opt(&sn.warmup_secs));
    setting("quick mode", so.quick.to_string(), sn.quick.to_string());
    setting("the collector mode", so.gc_mode.clone(), sn.gc_mode.clone());
    setting(
        "the GIL switch interval",
        format!("{} µs", so.switch_interval_us),
        format!("{} µs", sn.switch_interval_us),
    );
    setting(
        "the marking workers",
        opt(&so.mark_workers),
        opt(&sn.mark_workers),
    );
    setting(
        "the heap limit (--max-heap)",
        opt(&so.max_heap_bytes),
        opt(&sn.max_heap_bytes),
    );
    setting(
        "pinning (--pin)",
        so.pinned.to_string(),
        sn.pinned.to_string(),
    );
    if !so.command_line.is_empty()
        && !sn.command_line.is_empty()
        && so.command_line[1..] != sn.command_line[1..]
    {
        w.push(format!(
            "the command lines differ: `{}` vs `{}`",
            so.command_line.join(" "),
            sn.command_line.join(" ")
        ));
    }
    for a in &old.workloads {
        if let Some(b) = new.workloads.iter().find(|b| b.name == a.name) {
            if !a.text_hash.is_empty() && !b.text_hash.is_empty() && a.text_hash != b.text_hash {
                w.push(format!(
                    "scenario {} changed between the runs (its file's hash {} vs {})",
                    a.name, a.text_hash, b.text_hash
                ));
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        serde_json::from_value(serde_json::json!({
            "schema": 2,
            "machine": {"cpu": "x", "cores": 2, "os": "linux", "rustc": "rustc 1.95"},
            "heaplab": {"version": "0.1.0", "commit": "abc", "dirty": false},
            "started": "", "complete": true,
            "settings": {"policies": [], "workloads": [], "threads": [], "repeats": 3,
                         "duration_secs": 0.5, "gc_mode": "pool-walk",
                         "switch_interval_us": 5000, "quick": false,
                         "command_line": ["heaplab", "run"], "warmup_secs": 0.1},
            "floors": {"nonatomic_pair_ns": 1.0, "atomic_pair_ns": 4.0, "clock_read_ns": 20.0},
            "steal_ratio": 0.0,
            "workloads": [{"name": "w", "description": "", "text_hash": "aaaa"}],
            "runs": []
        }))
        .unwrap()
    }

    #[test]
    fn identical_provenance_gives_no_warning_and_each_difference_one() {
        let a = results();
        assert!(mismatches(&a, &a).is_empty(), "{:?}", mismatches(&a, &a));
        let mut b = a.clone();
        b.heaplab.dirty = Some(true);
        b.settings.warmup_secs = Some(0.2);
        b.settings.pinned = true;
        b.workloads[0].text_hash = "bbbb".into();
        b.settings.command_line.push("--pin".into());
        let w = mismatches(&a, &b);
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w[0].contains("NEW was built from a tree with uncommitted changes"));
        assert!(
            w.iter().any(|x| x == "the warm-up differs: 0.1 vs 0.2"),
            "{w:?}"
        );
        assert!(w.iter().any(|x| x.contains("scenario w changed")));
        let mut old = a.clone();
        old.schema = 1;
        assert!(mismatches(&old, &a)[0].contains("OLD is a schema-1 file"));
    }
}
