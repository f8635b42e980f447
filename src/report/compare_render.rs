//! `heaplab compare`'s output: plain text for a terminal or a CI log,
//! Markdown for a pull request, JSON for scripts (`--format text|md|json`).
//! All three say the same: the method, the warnings, the result, the
//! geometric mean, and per configuration the old and new medians, the ratio
//! with its 95% interval, the adjusted p-value and the verdict.

use super::compare::{Comparison, Delta, Mismatch, Row, ALPHA};
use super::format;
use serde_json::{json, Value};

/// An output format of `compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

impl Comparison {
    /// The comparison in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.render_text(),
            Format::Markdown => self.render_markdown(),
            Format::Json => format!("{:#}\n", self.to_json()),
        }
    }

    /// How the changes were tested, in one paragraph.
    pub fn method(&self) -> String {
        format!(
            "Two separate runs cannot be paired round by round (a round of one shares no \
             machine state with a round of the other), so each configuration's ok repeats \
             are compared as two independent samples: Welch's t on log throughput, and on \
             the headline role's log p99 where a scenario has one ({} tests), adjusted \
             together by {}'s method. Significant: adjusted p < {ALPHA}. A regression is a \
             significant change beyond the threshold of {:.1}%. Ratios are NEW over OLD with \
             their 95% interval.",
            self.tests(),
            self.correction.name(),
            self.threshold_pct
        )
    }

    /// The one-line result.
    pub fn result(&self) -> String {
        let regressed = self
            .rows
            .iter()
            .filter(|r| !r.regressions.is_empty())
            .count()
            + self
                .mismatches
                .iter()
                .filter(|m| matches!(m, Mismatch::FailedNew { .. }))
                .count();
        if self.regressed() {
            format!(
                "REGRESSED ({regressed} configuration{})",
                if regressed == 1 { "" } else { "s" }
            )
        } else if let Some(why) = self.nothing_compared() {
            format!("NOTHING COMPARED: {why}")
        } else {
            let changed = self.rows.iter().filter(|r| r.significant()).count();
            format!(
                "no regression beyond {:.1}% ({} configurations compared, {changed} with a \
                 significant change)",
                self.threshold_pct,
                self.rows.len()
            )
        }
    }

    /// The lines naming each regression.
    fn regression_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rows
            .iter()
            .filter(|r| !r.regressions.is_empty())
            .map(|r| format!("{}: {}", r.key, r.regressions.join(", ")))
            .collect();
        for m in &self.mismatches {
            if let Mismatch::FailedNew { key, reason } = m {
                out.push(format!("{key}: every repeat failed in NEW: {reason}"));
            }
        }
        out
    }

    fn geomean_line(&self) -> Option<String> {
        self.geometric_mean().map(|g| {
            format!(
                "Geometric mean of throughput NEW/OLD over {} configurations: {}",
                self.rows.len(),
                format::times(&g)
            )
        })
    }

    /// The comparison as plain text for a terminal or a CI log.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        out.push_str("heaplab compare\n");
        out.push_str(&format!("  OLD: {}\n", self.old));
        out.push_str(&format!("  NEW: {}\n", self.new));
        out.push_str(&format!("  method: {}\n", self.method()));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out.push('\n');
        out.push_str(&format!("RESULT: {}\n", self.result()));
        for l in self.regression_lines() {
            out.push_str(&format!("  {l}\n"));
        }
        if let Some(g) = self.geomean_line() {
            out.push_str(&format!("{g}\n"));
        }
        out.push('\n');
        if !self.rows.is_empty() {
            let mut table = vec![HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
            table.extend(self.rows.iter().map(cells));
            out.push_str(&aligned(&table));
            out.push('\n');
        }
        if !self.mismatches.is_empty() {
            out.push_str("Not compared:\n");
            for m in &self.mismatches {
                out.push_str(&format!("  {}\n", mismatch_line(m)));
            }
        }
        out
    }

    /// The comparison as Markdown (for a pull request or an issue).
    pub fn render_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = String::new();
        out.push_str("# heaplab compare\n\n");
        out.push_str(&format!("- **OLD**: {}\n", esc(&self.old)));
        out.push_str(&format!("- **NEW**: {}\n", esc(&self.new)));
        for w in &self.warnings {
            out.push_str(&format!("- **warning**: {}\n", esc(w)));
        }
        out.push_str(&format!("\n{}\n\n", self.method()));
        out.push_str(&format!("**Result: {}**\n\n", esc(&self.result())));
        for l in self.regression_lines() {
            out.push_str(&format!("- {}\n", esc(&l)));
        }
        if let Some(g) = self.geomean_line() {
            out.push_str(&format!("\n{g}\n"));
        }
        if !self.rows.is_empty() {
            out.push_str(&format!("\n| {} |\n", HEADER.join(" | ")));
            out.push_str(&format!(
                "|{}\n",
                HEADER
                    .iter()
                    .enumerate()
                    .map(|(i, _)| if (2..HEADER.len() - 1).contains(&i) {
                        " ---: |"
                    } else {
                        " --- |"
                    })
                    .collect::<String>()
            ));
            for r in &self.rows {
                let c: Vec<String> = cells(r).iter().map(|x| esc(x)).collect();
                out.push_str(&format!("| {} |\n", c.join(" | ")));
            }
        }
        if !self.mismatches.is_empty() {
            out.push_str("\nNot compared:\n\n");
            for m in &self.mismatches {
                out.push_str(&format!("- {}\n", esc(&mismatch_line(m))));
            }
        }
        out
    }

    /// The comparison as JSON: every figure raw, the bounds of each
    /// interval, the method.
    pub fn to_json(&self) -> Value {
        let delta = |d: &Delta| {
            json!({
                "old_median": d.old.median,
                "new_median": d.new.median,
                "old_repeats": d.old.n,
                "new_repeats": d.new.n,
                "ratio": d.ratio.value,
                "low": d.ratio.interval.map(|i| i.0),
                "high": d.ratio.interval.map(|i| i.1),
                "method": d.ratio.method,
                "p": d.p,
                "p_adjusted": d.p_adjusted,
                "significant": d.significant,
                "untested": d.untested,
            })
        };
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "workload": r.key.workload,
                    "policy": r.key.policy,
                    "threads": r.key.threads,
                    "throughput": delta(&r.throughput),
                    "p99": delta(&r.p99),
                    "peak_rss": delta(&r.peak_rss),
                    "verdict": verdict(r),
                    "regressions": r.regressions,
                    "improvements": r.improvements,
                })
            })
            .collect();
        let geo = self.geometric_mean();
        json!({
            "old": self.old,
            "new": self.new,
            "threshold_pct": self.threshold_pct,
            "method": {
                "test": "welch-log",
                "correction": self.correction.name(),
                "alpha": ALPHA,
                "tests": self.tests(),
                "paired": false,
                "why_unpaired": "two separate runs share no rounds",
            },
            "warnings": self.warnings,
            "result": self.result(),
            "regressed": self.regressed(),
            "exit_code": self.exit_code(),
            "geometric_mean": geo.map(|g| json!({
                "ratio": g.value,
                "low": g.interval.map(|i| i.0),
                "high": g.interval.map(|i| i.1),
                "configurations": self.rows.len(),
            })),
            "rows": rows,
            "not_compared": self.mismatches.iter().map(mismatch_line).collect::<Vec<_>>(),
        })
    }
}

const HEADER: [&str; 10] = [
    "workload",
    "policy",
    "threads",
    "old ops/s",
    "new ops/s",
    "repeats",
    "throughput NEW/OLD [95%]",
    "p (adj.)",
    "p99 NEW/OLD",
    "verdict",
];

/// A row's verdict in words.
pub fn verdict(r: &Row) -> String {
    if !r.regressions.is_empty() {
        format!("REGRESSED: {}", r.regressions.join(", "))
    } else if !r.improvements.is_empty() {
        format!("improved: {}", r.improvements.join(", "))
    } else if r.significant() {
        let d = if r.throughput.significant {
            &r.throughput
        } else {
            &r.p99
        };
        let what = if r.throughput.significant {
            "throughput"
        } else {
            "p99"
        };
        format!(
            "{what} {}: significant, within the threshold",
            format::change(d.ratio.value)
        )
    } else if let Some(why) = &r.throughput.untested {
        why.clone()
    } else {
        "no significant change".into()
    }
}

fn p_cell(d: &Delta) -> String {
    match d.p_adjusted {
        Some(q) if q < 0.001 => "<0.001".into(),
        Some(q) => format!("{q:.3}"),
        None => "—".into(),
    }
}

fn cells(r: &Row) -> Vec<String> {
    vec![
        r.key.workload.clone(),
        r.key.policy.clone(),
        r.key.threads.to_string(),
        format::si(r.throughput.old.median),
        format::si(r.throughput.new.median),
        format!("{}/{}", r.throughput.old.n, r.throughput.new.n),
        format::times(&r.throughput.ratio),
        p_cell(&r.throughput),
        format::times(&r.p99.ratio),
        verdict(r),
    ]
}

/// Columns padded to their widest cell; numbers right-aligned, names
/// left-aligned; no padding after the last column.
fn aligned(table: &[Vec<String>]) -> String {
    let cols = table[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i == cols - 1 {
                line.push_str(cell);
            } else if i >= 2 {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
            if i + 1 < cols {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn mismatch_line(m: &Mismatch) -> String {
    let line = match m {
        Mismatch::OnlyOld(k) => format!("{k}: only in OLD"),
        Mismatch::OnlyNew(k) => format!("{k}: only in NEW"),
        Mismatch::FailedNew { key, reason } => {
            format!("{key}: ok in OLD, failed in NEW (regression): {reason}")
        }
        Mismatch::FailedOld { key, reason } => {
            format!("{key}: failed in OLD, ok in NEW: {reason}")
        }
        Mismatch::FailedBoth { key, reason } => format!("{key}: failed in both: {reason}"),
    };
    line.replace(['\n', '\r'], " ")
}
