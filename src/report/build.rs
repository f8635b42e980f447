//! Builds the report [`Doc`] from a [`Summary`]: every section, table and
//! sentence that `report.md` and `report.html` share.
//!
//! The report opens with the answer and folds the detail below it, in the
//! reading order of a runtime engineer: the answer (throughput of each policy
//! relative to `gil` as a heat map, the headline latencies), the findings
//! (one table per question), what failed; then, folded, what ran where
//! (machine, floors, steal time, collector mode), one section per scenario
//! with its charts and tables (`tables`), notes and definitions.

use super::doc::{code, esc, slug, Block, Doc};
use super::finding::{Finding, Question};
use super::findings::findings;
use super::format;
use super::overview;
use super::spec::{Spec, Unit, Value};
use super::stats::{Config, Scenario, Summary, BASELINE};
use super::tables;
use crate::results::{confidence, InstructionCount, Instructions, Run};

const DASH: &str = "—";

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The collector mode in words (the design's two ways of finding containers).
fn gc_mode_words(mode: &str) -> String {
    let m = mode.to_ascii_lowercase();
    let how = if m.contains("pool") || m.contains("walk") {
        "a pool walk with one generation (free-threaded CPython's way; works under every policy)"
    } else if m.contains("gen") || m.contains("list") {
        "generations with linked lists (the default build's way; `gil` only)"
    } else if m.is_empty() {
        "not recorded"
    } else {
        "as named"
    };
    if mode.is_empty() {
        how.into()
    } else {
        format!("{}: {how}", code(mode))
    }
}

/// The report's anchor for a scenario's section.
pub fn scenario_id(name: &str) -> String {
    format!("scenario-{}", slug(name))
}

pub fn document(s: &Summary) -> Doc {
    let r = s.results;
    let who = if r.machine.label.is_empty() {
        r.machine.cpu.clone()
    } else {
        r.machine.label.clone()
    };
    let mut d = Doc {
        title: if who.is_empty() {
            "heaplab report".into()
        } else {
            format!("heaplab report: {who}")
        },
        blocks: Vec::new(),
    };
    d.h(1, esc(&d.title.clone()));
    let failed = s.failed_runs().count();
    d.p(format!(
        "Run started {} and finished {}, heaplab {} (commit {}); {}: {} ok, {} failed; steal \
         time {}. Figures are medians over the ok rounds of each configuration; ratios \
         compare configurations of this run only, round by round, with 95% intervals.",
        esc(&r.started),
        if r.finished.is_empty() {
            DASH.into()
        } else {
            esc(&r.finished)
        },
        esc(&r.heaplab.version),
        code(&r.heaplab.commit),
        plural(r.runs.len(), "run", "runs"),
        r.runs.len() - failed,
        failed,
        format::pct(r.steal_ratio)
    ));
    d.p(overview::noise_and_precision(s));
    if let Some(b) = &r.settings.breakdown {
        super::breakdown::section(&mut d, s, b);
    }
    answer(&mut d, s);
    findings_section(&mut d, s);
    failed_section(&mut d, s);
    d.section(2, "Run and machine", Some("setup".into()), true, |d| {
        setup(d, s)
    });
    if let Some(t) = &r.instructions {
        d.section(
            2,
            "Instructions per operation (callgrind)",
            Some("instructions".into()),
            true,
            |d| instructions(d, t),
        );
    }
    for sc in &s.scenarios {
        d.section(
            2,
            format!("Scenario {}", code(&sc.name)),
            Some(scenario_id(&sc.name)),
            true,
            |d| scenario(d, s, sc),
        );
    }
    if !r.notes.is_empty() {
        d.section(2, "Notes", Some("notes".into()), false, |d| {
            d.list(r.notes.iter().map(|n| esc(n)).collect())
        });
    }
    d.section(
        2,
        "How to read this report",
        Some("definitions".into()),
        true,
        definitions,
    );
    d
}

/// The top of the report: the heat map and the headline latencies.
fn answer(d: &mut Doc, s: &Summary) {
    d.section(2, "The answer", Some("answer".into()), false, |d| {
        d.h(3, format!("Throughput relative to {}", code(BASELINE)));
        let heat = overview::heat_map(s);
        if overview::has_ratios(&heat) {
            d.blocks.push(Block::HeatMap(heat));
            d.small(format!(
                "Each cell: a policy's throughput over {}'s at the same thread count in that \
                 scenario (above 1x the policy is faster), taken round by round, with its 95% \
                 interval where there are 3 rounds or more; a cell whose interval holds 1 is \
                 pale and marked ≈. The colour shows the ratio on a log scale; a cell reads \
                 \"failed\" where every repeat of the policy failed, \"no baseline\" where \
                 {}'s did.",
                code(BASELINE),
                code(BASELINE)
            ));
        } else {
            d.p(format!(
                "No throughput relative to {} to show: this run has no ok {} run beside an ok \
                 run of another policy.",
                code(BASELINE),
                code(BASELINE)
            ));
        }
        d.h(3, "Headline latency");
        overview::headline_latency(d, s);
    });
}

/// The columns of a question's table; empty columns are left out.
fn findings_spec<'a>(q: Question) -> Spec<'a, Finding> {
    let markup = |s: &str| {
        if s.is_empty() {
            Value::Missing
        } else {
            Value::Markup(s.to_string())
        }
    };
    // The kind of finding, where a question's rows are of several kinds
    // (the biggest speed-up and the biggest slowdown); the claim tested, for
    // the field's results.
    let kinds = move |rows: &[Finding]| {
        q == Question::Field || rows.iter().any(|f| f.topic != rows[0].topic)
    };
    Spec::new()
        .wrap(
            if q == Question::Field {
                "Claim"
            } else {
                "Finding"
            },
            |f: &Finding| Value::Markup(f.topic.clone()),
        )
        .only_if(kinds)
        .text("Scenario", |f: &Finding| {
            f.workload
                .as_ref()
                .map_or(Value::Missing, |w| Value::Code(w.clone()))
        })
        .optional()
        .num("Threads", |f: &Finding| {
            f.threads.map_or(Value::Missing, |t| Value::Int(t as u64))
        })
        .optional()
        .wrap("What", |f: &Finding| Value::Markup(f.subject.clone()))
        .num("Figure", move |f: &Finding| markup(&f.measured))
        .optional()
        .wrap("Based on", move |f: &Finding| markup(&f.basis))
        .optional()
        .wrap("Verdict", move |f: &Finding| markup(&f.verdict))
        .optional()
}

fn findings_section(d: &mut Doc, s: &Summary) {
    d.section(2, "Findings", Some("findings".into()), false, |d| {
        let all = findings(s);
        if all.is_empty() {
            d.p("No findings: no configuration has an ok run.");
            return;
        }
        for q in Question::ALL {
            let rows: Vec<Finding> = all.iter().filter(|f| f.question == q).cloned().collect();
            if rows.is_empty() {
                continue;
            }
            d.h_id(3, q.title(), q.id().into());
            d.table(findings_spec(q).table(&rows));
        }
    });
}

fn failed_section(d: &mut Doc, s: &Summary) {
    type Row<'r> = (&'r Scenario<'r>, &'r Config<'r>, &'r Run, &'r str);
    let rows: Vec<Row> = s.failed_runs().collect();
    if rows.is_empty() {
        return;
    }
    let spec = Spec::new()
        .text("Scenario", |r: &Row| Value::Code(r.0.name.clone()))
        .text("Policy", |r: &Row| Value::Policy(r.1.policy.clone()))
        .num("Threads", |r: &Row| Value::Int(r.1.threads as u64))
        .num("Repeat", |r: &Row| Value::Int(r.2.repeat as u64))
        .wrap("Reason", |r: &Row| Value::Text(r.3.to_string()));
    d.section(2, "Failed runs", Some("failed".into()), false, |d| {
        d.p("These runs are not counted in any median, ratio or chart.");
        d.table(spec.table(&rows));
    });
}

fn setup(d: &mut Doc, s: &Summary) {
    let r = s.results;
    let m = &r.machine;
    let st = &r.settings;
    let mut machine = String::new();
    if !m.label.is_empty() {
        machine.push_str(&format!("{}: ", esc(&m.label)));
    }
    machine.push_str(&format!(
        "{}, {}",
        esc(&m.cpu),
        plural(m.cores, "core", "cores")
    ));
    if m.memory_bytes > 0 {
        machine.push_str(&format!(
            ", {} memory",
            format::bytes(m.memory_bytes as f64)
        ));
    }
    if !m.os.is_empty() {
        machine.push_str(&format!(", {}", esc(&m.os)));
    }

    let threads: Vec<String> = st.threads.iter().map(|t| t.to_string()).collect();
    let duration = if st.duration_secs > 0.0 {
        format!("{} s measured per configuration", st.duration_secs)
    } else {
        "operation counts fixed by the scenarios".into()
    };
    let mut settings = format!(
        "policies {}; threads {}; {}; {}; GIL switch interval {} µs",
        join_codes(&st.policies),
        if threads.is_empty() {
            DASH.into()
        } else {
            threads.join(", ")
        },
        plural(st.repeats, "repeat", "repeats (interleaved)"),
        duration,
        st.switch_interval_us
    );
    if let Some(l) = &st.locks {
        settings.push_str(&format!("; object locks park on the {} table", code(l)));
    }
    if let Some(r) = &st.list_reads {
        let paths: Vec<String> = r.iter().map(|p| code(p)).collect();
        settings.push_str(&format!("; list reads {}", paths.join(" and ")));
    }
    if st.quick {
        settings.push_str("; **quick mode** (short runs: expect more noise)");
    }

    // The collector mode as configured, and any other mode a run reports.
    let mut modes: Vec<&str> = Vec::new();
    for run in &r.runs {
        if !run.gc_mode.is_empty() && run.gc_mode != st.gc_mode && !modes.contains(&&*run.gc_mode) {
            modes.push(&run.gc_mode);
        }
    }
    let mut collector = gc_mode_words(&st.gc_mode);
    if !modes.is_empty() {
        let others: Vec<String> = modes
            .iter()
            .map(|m| {
                let pols: Vec<String> = s
                    .policies
                    .iter()
                    .filter(|p| r.runs.iter().any(|x| &x.policy == *p && x.gc_mode == *m))
                    .map(|p| code(p))
                    .collect();
                format!("{} under {}", code(m), pols.join(", "))
            })
            .collect();
        collector.push_str(&format!("; runs also report {}", others.join("; ")));
    }

    let steal = if r.steal_ratio > 0.05 {
        format!(
            "{} of CPU time (**high**: differences below that are noise)",
            format::pct(r.steal_ratio)
        )
    } else {
        format!("{} of CPU time", format::pct(r.steal_ratio))
    };

    let failed = s.failed_runs().count();
    let runs = format!(
        "{}: {} ok, {} failed",
        plural(r.runs.len(), "run", "runs"),
        r.runs.len() - failed,
        failed
    );

    d.list(vec![
        format!("**Machine**: {machine}"),
        format!(
            "**Versions**: heaplab {} (commit {}), {}",
            esc(&r.heaplab.version),
            code(&r.heaplab.commit),
            esc(&m.rustc)
        ),
        format!("**Settings**: {settings}"),
        format!("**Collector** (how it finds containers): {collector}"),
        format!("**Steal time**: {steal}"),
        format!("**Runs**: {runs}"),
    ]);

    d.h(3, "Floors measured at the start of the run");
    let f = &r.floors;
    let rows = [
        ("Non-atomic increment + decrement pair", f.nonatomic_pair_ns),
        (
            "Uncontended atomic fetch_add + fetch_sub pair",
            f.atomic_pair_ns,
        ),
        ("One clock read (`Instant::now()`)", f.clock_read_ns),
    ];
    let spec = Spec::new()
        .text("Floor", |r: &(&str, f64)| Value::Markup(r.0.into()))
        .num("Cost", |r: &(&str, f64)| Value::Num(r.1, Unit::Ns));
    d.table(spec.table(&rows));
    if f.nonatomic_pair_ns > 0.0 && f.atomic_pair_ns > 0.0 {
        d.small(format!(
            "An atomic pair costs {} a non-atomic one on this machine: the floor under any \
             policy whose reference counts go atomic.",
            format::ratio(f.atomic_pair_ns / f.nonatomic_pair_ns)
        ));
    }
}

/// The instruction counts of `heaplab instr`, where the run's directory has
/// them: the repeatable single-thread cost of each policy.
fn instructions(d: &mut Doc, t: &Instructions) {
    d.p(format!(
        "Counted by {} on heaplab {}: {}. Instructions do not depend on the machine's \
         load, so these compare single-thread costs where the timings above are noisy.",
        esc(&t.tool),
        esc(&t.heaplab),
        esc(&t.method)
    ));
    let per_op = |c: &InstructionCount| (c.error.is_empty()).then_some(c.per_op);
    let spec = Spec::new()
        .text("Scenario", |c: &&InstructionCount| {
            Value::Code(c.workload.clone())
        })
        .text("Policy", |c: &&InstructionCount| {
            Value::Policy(c.policy.clone())
        })
        .num("instructions / op", move |c: &&InstructionCount| {
            Value::num(per_op(c), Unit::Count)
        })
        .ratio(
            format!("over {}", code(BASELINE)),
            move |c: &&InstructionCount| {
                let base = t
                    .counts
                    .iter()
                    .find(|b| b.workload == c.workload && b.policy == BASELINE)
                    .and_then(per_op);
                Value::ratio(
                    per_op(c)
                        .zip(base)
                        .map(|(a, b)| super::estimate::Ratio::point(a / b)),
                    Unit::Times,
                )
            },
        )
        .wrap("Note", |c: &&InstructionCount| Value::Text(c.error.clone()))
        .optional();
    let rows: Vec<&InstructionCount> = t.counts.iter().collect();
    d.table(spec.table(&rows));
}

fn join_codes(v: &[String]) -> String {
    if v.is_empty() {
        DASH.into()
    } else {
        v.iter().map(|p| code(p)).collect::<Vec<_>>().join(", ")
    }
}

fn scenario(d: &mut Doc, s: &Summary, sc: &Scenario) {
    if let Some(info) = sc.info {
        if !info.description.is_empty() {
            d.p(esc(&info.description));
        }
    }
    if let Some(h) = &sc.headline_role {
        let others: Vec<String> = sc
            .roles
            .iter()
            .filter(|r| *r != h)
            .map(|r| code(r))
            .collect();
        d.p(format!(
            "Threads have roles ({}). The headline latency is the {} role's; each role keeps \
             its own figures in the Roles table (they are never merged).",
            join_all(h, &others),
            code(h)
        ));
    }
    if sc.configs.is_empty() {
        d.p("No runs of this scenario are in the results.");
    }
    d.blocks.push(Block::Charts {
        workload: sc.name.clone(),
    });
    tables::headlines(d, sc);
    tables::throughput(d, sc);
    tables::latency(d, sc);
    tables::roles(d, sc);
    tables::gil(d, sc);
    tables::collector(d, sc);
    tables::memory(d, sc);
    tables::refcounts(d, sc);
    tables::python(d, s, sc);
}

fn join_all(first: &str, rest: &[String]) -> String {
    let mut v = vec![code(first)];
    v.extend(rest.iter().cloned());
    v.join(", ")
}

fn definitions(d: &mut Doc) {
    d.h_id(2, "How to read this report", "definitions".into());
    d.list(vec![
        "A configuration is one scenario × policy × thread count. A **round** is one pass over \
         every configuration, interleaved (A B C A B C): configurations of one round ran next \
         to each other and share the machine's state. Every figure is the median over the \
         configuration's **ok** rounds; failed runs (including runs that leaked or failed the \
         integrity check) are listed, never counted."
            .into(),
        format!(
            "**vs {}** = a policy's throughput over {}'s at the same thread count; \
             **scaling** = N-thread throughput over N × the same policy's 1-thread one. Every \
             ratio is taken per round and summarised as the geometric mean of the per-round \
             ratios with a **95% interval** `[low, high]` (a t-interval on their logs; a \
             bootstrap from {} rounds on); below {} paired rounds it has no interval.",
            code(BASELINE),
            code(BASELINE),
            confidence::BOOTSTRAP_MIN_ROUNDS,
            confidence::MIN_ROUNDS
        ),
        "**Verdicts** come from the interval alone: **faster** or **slower** where it leaves \
         out 1; *no difference detected at 95%* where it holds 1 and is no wider than the \
         run's precision; *undecided after N rounds (±x%)* where it holds 1 and is wider \
         (never a tie). A target the lab set itself is **met** where the whole interval \
         reaches it, **missed** where none of it does."
            .into(),
        "**spread** = (max − min) / median of the ok rounds' throughput: the raw noise of one \
         configuration, before pairing by round cancels the machine's drift."
            .into(),
        "Latency is sampled per operation into an HdrHistogram. Scenarios with roles lead \
         with the headline role (the one the scenario exists to measure); each role's own \
         figures stay beside it."
            .into(),
        "Compare only within one run and one machine: ratios, not absolute numbers, carry \
         over."
            .into(),
    ]);
}
