//! `runs.csv`: one flat row per run (every repeat, failed ones included) for
//! spreadsheet and pandas users who want to slice the data themselves.
//!
//! RFC 4180 quoting (a field with a comma, quote or line break is quoted and
//! its quotes doubled) with `\n` line ends, which every CSV reader accepts.
//! Latency columns hold the run's headline latency (the headline role's
//! where the scenario has one, named in `latency_role`), so a row never mixes
//! roles. Absent figures (time to safepoint under `gil`, GIL figures under
//! the GIL-free policies) are empty fields, not zeros.

use super::stats::Summary;
use crate::results::Results;

pub const HEADER: &[&str] = &[
    "workload",
    "policy",
    "threads",
    "repeat",
    "status",
    "error",
    "ops",
    "seconds",
    "ops_per_sec",
    "latency_role",
    "latency_p50_ns",
    "latency_p90_ns",
    "latency_p99_ns",
    "latency_p999_ns",
    "latency_max_ns",
    "gc_collections",
    "gc_pause_p99_ns",
    "tts_p99_ns",
    "gil_acquisitions",
    "gil_wait_p99_ns",
    "peak_rss_bytes",
    "arenas_high_water",
    "bytes_in_use_peak",
    "bytes_reserved_peak",
    "header_bytes",
    "local_ops",
    "atomic_ops",
    "leaked_blocks",
    "verified",
];

/// Quotes a field when a reader would otherwise split or misread it.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn render(r: &Results) -> String {
    let s = Summary::new(r);
    let mut out = HEADER.join(",");
    out.push('\n');
    for run in &r.runs {
        let headline_role = s
            .scenarios
            .iter()
            .find(|sc| sc.name == run.workload)
            .and_then(|sc| sc.headline_role.clone())
            .or_else(|| run.headline_role.clone())
            .filter(|role| run.roles.contains_key(role));
        let lat = headline_role
            .as_ref()
            .and_then(|role| run.roles.get(role))
            .map(|x| &x.latency_ns)
            .unwrap_or(&run.latency_ns);
        let status = match run.status {
            crate::results::Status::Ok => "ok",
            crate::results::Status::Failed => "failed",
        };
        let fields: Vec<String> = vec![
            run.workload.clone(),
            run.policy.clone(),
            run.threads.to_string(),
            run.repeat.to_string(),
            status.into(),
            run.error.clone().unwrap_or_default(),
            run.ops.to_string(),
            run.seconds.to_string(),
            run.ops_per_sec.to_string(),
            headline_role.unwrap_or_default(),
            lat.p50.to_string(),
            lat.p90.to_string(),
            lat.p99.to_string(),
            lat.p999.to_string(),
            lat.max.to_string(),
            run.gc.collections.to_string(),
            run.gc.pause_ns.p99.to_string(),
            run.gc
                .time_to_safepoint_ns
                .as_ref()
                .map(|p| p.p99.to_string())
                .unwrap_or_default(),
            run.gil
                .as_ref()
                .map(|g| g.acquisitions.to_string())
                .unwrap_or_default(),
            run.gil
                .as_ref()
                .map(|g| g.wait_ns.p99.to_string())
                .unwrap_or_default(),
            run.memory.peak_rss_bytes.to_string(),
            run.memory.arenas_high_water.to_string(),
            run.memory.bytes_in_use_peak.to_string(),
            run.memory.bytes_reserved_peak.to_string(),
            run.memory.header_bytes.to_string(),
            run.refcount.local_ops.to_string(),
            run.refcount.atomic_ops.to_string(),
            run.leaked_blocks.to_string(),
            run.verified.to_string(),
        ];
        debug_assert_eq!(fields.len(), HEADER.len());
        let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
    }
}
