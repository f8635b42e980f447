//! `runs.csv`: one flat row per run (every repeat, failed ones included) for
//! spreadsheet and pandas users who want to slice the data themselves.
//!
//! The columns are one [`Spec`] ([`runs`]): each header name sits beside the
//! value it heads, so they cannot drift apart. Fields are raw numbers in the
//! results file's units (ops/s, ns, bytes). RFC 4180 quoting (a field with a
//! comma, quote or line break is quoted and its quotes doubled) with `\n`
//! line ends, which every CSV reader accepts. Latency columns hold the run's
//! headline latency (the headline role's where the scenario has one, named
//! in `latency_role`), so a row never mixes roles. Absent figures (time to
//! safepoint under `gil`, GIL figures under the GIL-free policies) are empty
//! fields, not zeros.

use super::spec::{Spec, Unit, Value};
use super::stats::Summary;
use crate::results::{Latency, Results, Run, Status};

/// Quotes a field when a reader would otherwise split or misread it.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes a header and rows of raw fields as CSV.
pub fn write(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for line in std::iter::once(header).chain(rows.iter().map(|r| r.as_slice())) {
        let fields: Vec<String> = line.iter().map(|f| field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A run and the role whose latency its row carries.
pub struct RunRow<'a> {
    pub run: &'a Run,
    pub role: Option<String>,
}

impl RunRow<'_> {
    fn latency(&self) -> &Latency {
        self.role
            .as_ref()
            .and_then(|role| self.run.roles.get(role))
            .map(|x| &x.latency_ns)
            .unwrap_or(&self.run.latency_ns)
    }
}

fn int(v: u64) -> Value {
    Value::Int(v)
}

/// The columns of `runs.csv`.
pub fn runs<'a>() -> Spec<'a, RunRow<'a>> {
    Spec::new()
        .text("workload", |r: &RunRow| Value::Text(r.run.workload.clone()))
        .text("policy", |r: &RunRow| Value::Text(r.run.policy.clone()))
        .num("threads", |r: &RunRow| int(r.run.threads as u64))
        .num("repeat", |r: &RunRow| int(r.run.repeat as u64))
        .text("status", |r: &RunRow| {
            Value::Text(match r.run.status {
                Status::Ok => "ok".into(),
                Status::Failed => "failed".into(),
            })
        })
        .wrap("error", |r: &RunRow| {
            Value::Text(r.run.error.clone().unwrap_or_default())
        })
        .num("ops", |r: &RunRow| int(r.run.ops))
        .num("seconds", |r: &RunRow| {
            Value::Num(r.run.seconds, Unit::Seconds)
        })
        .num("ops_per_sec", |r: &RunRow| {
            Value::Num(r.run.ops_per_sec, Unit::Si)
        })
        .text("latency_role", |r: &RunRow| {
            r.role.clone().map_or(Value::Missing, Value::Text)
        })
        .num("latency_p50_ns", |r: &RunRow| int(r.latency().p50))
        .num("latency_p90_ns", |r: &RunRow| int(r.latency().p90))
        .num("latency_p99_ns", |r: &RunRow| int(r.latency().p99))
        .num("latency_p999_ns", |r: &RunRow| int(r.latency().p999))
        .num("latency_max_ns", |r: &RunRow| int(r.latency().max))
        .num("gc_collections", |r: &RunRow| int(r.run.gc.collections))
        .num("gc_pause_p99_ns", |r: &RunRow| int(r.run.gc.pause_ns.p99))
        .num("tts_p99_ns", |r: &RunRow| {
            r.run
                .gc
                .time_to_safepoint_ns
                .as_ref()
                .map_or(Value::Missing, |p| int(p.p99))
        })
        .num("gil_acquisitions", |r: &RunRow| {
            r.run
                .gil
                .as_ref()
                .map_or(Value::Missing, |g| int(g.acquisitions))
        })
        .num("gil_wait_p99_ns", |r: &RunRow| {
            r.run
                .gil
                .as_ref()
                .map_or(Value::Missing, |g| int(g.wait_ns.p99))
        })
        .num("peak_rss_bytes", |r: &RunRow| {
            int(r.run.memory.peak_rss_bytes)
        })
        .num("arenas_high_water", |r: &RunRow| {
            int(r.run.memory.arenas_high_water)
        })
        .num("bytes_in_use_peak", |r: &RunRow| {
            int(r.run.memory.bytes_in_use_peak)
        })
        .num("bytes_reserved_peak", |r: &RunRow| {
            int(r.run.memory.bytes_reserved_peak)
        })
        .num("header_bytes", |r: &RunRow| int(r.run.memory.header_bytes))
        .num("local_ops", |r: &RunRow| int(r.run.refcount.local_ops))
        .num("atomic_ops", |r: &RunRow| int(r.run.refcount.atomic_ops))
        .num("leaked_blocks", |r: &RunRow| int(r.run.leaked_blocks))
        .text("verified", |r: &RunRow| Value::Bool(r.run.verified))
}

pub fn render(r: &Results) -> String {
    let s = Summary::new(r);
    let rows: Vec<RunRow> = r
        .runs
        .iter()
        .map(|run| RunRow {
            run,
            // The scenario's headline role, or the run's own, where this run
            // has figures for it.
            role: s
                .scenarios
                .iter()
                .find(|sc| sc.name == run.workload)
                .and_then(|sc| sc.headline_role.clone())
                .or_else(|| run.headline_role.clone())
                .filter(|role| run.roles.contains_key(role)),
        })
        .collect();
    let (header, body) = runs().raw(&rows);
    write(&header, &body)
}

#[cfg(test)]
mod tests {
    use super::{field, write};

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
        assert_eq!(
            write(
                &["a".into(), "b c".into()],
                &[vec!["1".into(), "x,y".into()]]
            ),
            "a,b c\n1,\"x,y\"\n"
        );
    }
}
