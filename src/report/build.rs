//! Builds the report [`Doc`] from a [`Summary`]: every section, table and
//! sentence that `report.md` and `report.html` share.
//!
//! The sections follow the reading order of a runtime engineer: what ran
//! where (machine, floors, steal time, collector mode), what it found, what
//! failed, then one section per scenario with its tables (throughput,
//! latency with roles kept apart, GIL, collector, memory, reference counts,
//! the Python peer), then notes and definitions.

use super::doc::{code, esc, slug, Cell, Column, Doc, Table};
use super::findings::findings;
use super::format;
use super::stats::{Config, Scenario, Summary, BASELINE};
use crate::results::{Latency, Run};

const DASH: &str = "—";

fn opt(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| DASH.into())
}

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
    d.p(format!(
        "Run started {} and finished {}, heaplab {} (commit {}). Figures are medians over \
         the ok repeats of each configuration; ratios compare configurations of this run \
         only.",
        esc(&r.started),
        if r.finished.is_empty() {
            DASH.into()
        } else {
            esc(&r.finished)
        },
        esc(&r.heaplab.version),
        code(&r.heaplab.commit)
    ));
    setup(&mut d, s);
    findings_section(&mut d, s);
    failed_section(&mut d, s);
    for sc in &s.scenarios {
        scenario(&mut d, s, sc);
    }
    if !r.notes.is_empty() {
        d.h_id(2, "Notes", "notes".into());
        d.list(r.notes.iter().map(|n| esc(n)).collect());
    }
    definitions(&mut d);
    d
}

fn setup(d: &mut Doc, s: &Summary) {
    let r = s.results;
    let m = &r.machine;
    let st = &r.settings;
    d.h_id(2, "Run and machine", "setup".into());
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
    d.table(Table {
        columns: vec![Column::text("Floor"), Column::num("Cost")],
        rows: vec![
            vec![
                Cell::t("Non-atomic increment + decrement pair"),
                Cell::t(format::ns(f.nonatomic_pair_ns)),
            ],
            vec![
                Cell::t("Uncontended atomic fetch_add + fetch_sub pair"),
                Cell::t(format::ns(f.atomic_pair_ns)),
            ],
            vec![
                Cell::t("One clock read (`Instant::now()`)"),
                Cell::t(format::ns(f.clock_read_ns)),
            ],
        ],
    });
    if f.nonatomic_pair_ns > 0.0 && f.atomic_pair_ns > 0.0 {
        d.small(format!(
            "An atomic pair costs {} a non-atomic one on this machine: the floor under any \
             policy whose reference counts go atomic.",
            format::ratio(f.atomic_pair_ns / f.nonatomic_pair_ns)
        ));
    }
}

fn join_codes(v: &[String]) -> String {
    if v.is_empty() {
        DASH.into()
    } else {
        v.iter().map(|p| code(p)).collect::<Vec<_>>().join(", ")
    }
}

fn findings_section(d: &mut Doc, s: &Summary) {
    d.h_id(2, "Findings", "findings".into());
    let f = findings(s);
    if f.is_empty() {
        d.p("No findings: no configuration has an ok run.");
    } else {
        d.list(
            f.iter()
                .map(|f| format!("**{}**: {}.", f.topic, f.text))
                .collect(),
        );
    }
}

fn failed_section(d: &mut Doc, s: &Summary) {
    let rows: Vec<Vec<Cell>> = s
        .failed_runs()
        .map(|(sc, c, run, why)| {
            vec![
                Cell::t(code(&sc.name)),
                Cell::Policy(c.policy.clone()),
                Cell::t(c.threads.to_string()),
                Cell::t(run.repeat.to_string()),
                Cell::t(esc(why)),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    d.h_id(2, "Failed runs", "failed".into());
    d.p("These runs are not counted in any median, ratio or chart.");
    d.table(Table {
        columns: vec![
            Column::text("Scenario"),
            Column::text("Policy"),
            Column::num("Threads"),
            Column::num("Repeat"),
            Column::wrap("Reason"),
        ],
        rows,
    });
}

/// The first two cells of every per-configuration row.
fn key_cells(c: &Config) -> Vec<Cell> {
    vec![
        Cell::Policy(c.policy.clone()),
        Cell::t(c.threads.to_string()),
    ]
}

fn key_columns() -> Vec<Column> {
    vec![Column::text("Policy"), Column::num("Threads")]
}

fn scenario(d: &mut Doc, s: &Summary, sc: &Scenario) {
    d.h_id(
        2,
        format!("Scenario {}", code(&sc.name)),
        scenario_id(&sc.name),
    );
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
    d.blocks.push(super::doc::Block::Charts {
        workload: sc.name.clone(),
    });
    throughput(d, sc);
    latency(d, sc);
    roles(d, sc);
    gil(d, sc);
    collector(d, sc);
    memory(d, sc);
    refcounts(d, sc);
    python(d, s, sc);
}

fn join_all(first: &str, rest: &[String]) -> String {
    let mut v = vec![code(first)];
    v.extend(rest.iter().cloned());
    v.join(", ")
}

fn throughput(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Throughput");
    let rows = sc
        .configs
        .iter()
        .map(|c| {
            let t = c.throughput();
            let mut row = key_cells(c);
            row.push(Cell::t(format!("{}/{}", c.ok.len(), c.total())));
            match t {
                Some(t) => {
                    row.push(Cell::t(format::si(t.median)));
                    row.push(Cell::t(format!(
                        "{}..{}",
                        format::si(t.min),
                        format::si(t.max)
                    )));
                    row.push(Cell::t(opt(t.rel_range(), format::pct)));
                }
                None => {
                    row.push(Cell::t("**failed**"));
                    row.push(Cell::t(DASH));
                    row.push(Cell::t(DASH));
                }
            }
            row.push(Cell::t(opt(
                sc.speedup(&c.policy, c.threads),
                format::ratio,
            )));
            row.push(Cell::t(opt(
                sc.efficiency(&c.policy, c.threads),
                format::pct0,
            )));
            row
        })
        .collect();
    let mut columns = key_columns();
    columns.extend([
        Column::num("ok runs"),
        Column::num("ops/s (median)"),
        Column::num("min..max"),
        Column::num("spread"),
        Column::num("vs `gil`"),
        Column::num("scaling"),
    ]);
    d.table(Table { columns, rows });
    let base = sc
        .policies
        .iter()
        .filter_map(|p| sc.scaling_base(p))
        .min()
        .unwrap_or(1);
    let base_words = if base == 1 {
        "1-thread".to_string()
    } else {
        format!("{base}-thread (the smallest that ran)")
    };
    d.small(format!(
        "spread = (max − min) / median of the ok repeats' throughput (— with one ok repeat). \
         vs {} = median over {}'s median at the same thread count. scaling = N-thread median \
         over N × the {base_words} median of the same policy (100% is linear; — where the \
         two runs have different roles, as their throughputs count different work).",
        code(BASELINE),
        code(BASELINE)
    ));
}

fn latency_cells(row: &mut Vec<Cell>, c: &Config, f: impl Fn(&Run) -> Option<&Latency>) {
    let med = |g: fn(&Latency) -> u64| c.median_opt(|r| f(r).map(|l| g(l) as f64));
    for g in [
        (|l: &Latency| l.p50) as fn(&Latency) -> u64,
        |l| l.p90,
        |l| l.p99,
        |l| l.p999,
        |l| l.max,
    ] {
        row.push(Cell::t(opt(med(g), format::ns)));
    }
}

fn latency(d: &mut Doc, sc: &Scenario) {
    match &sc.headline_role {
        Some(h) => d.h(3, format!("Latency: {} role (headline)", code(h))),
        // Roles but no headline: the all-threads figure mixes them, so say
        // where each role's own figures are.
        None if !sc.roles.is_empty() => d.h(
            3,
            "Latency: all threads (each role's own figures are in the Roles table)",
        ),
        None => d.h(3, "Latency"),
    }
    let rows = sc
        .configs
        .iter()
        .map(|c| {
            let mut row = key_cells(c);
            latency_cells(&mut row, c, |r| Some(c.headline_latency(r)));
            row.push(Cell::t(opt(
                c.median_of(|r| c.headline_latency(r).samples as f64),
                format::count,
            )));
            row.push(Cell::t(opt(
                c.median_of(|r| c.headline_latency(r).sample_every as f64),
                |v| format!("1 in {}", format::count(v)),
            )));
            row
        })
        .collect();
    let mut columns = key_columns();
    columns.extend([
        Column::num("p50"),
        Column::num("p90"),
        Column::num("p99"),
        Column::num("p99.9"),
        Column::num("max"),
        Column::num("samples"),
        Column::num("sampled"),
    ]);
    d.table(Table { columns, rows });
    d.small(
        "Each percentile is the median over ok repeats of that repeat's percentile, from a \
         sampled HdrHistogram (sampling keeps the clock's cost off the figure).",
    );
}

fn roles(d: &mut Doc, sc: &Scenario) {
    if sc.roles.is_empty() {
        return;
    }
    d.h(3, "Roles");
    let mut rows = Vec::new();
    for c in &sc.configs {
        for role in &sc.roles {
            if !c.ok.iter().any(|r| r.roles.contains_key(role)) {
                continue;
            }
            let mut row = key_cells(c);
            let name = if Some(role) == sc.headline_role.as_ref() {
                format!("{} (headline)", code(role))
            } else {
                code(role)
            };
            row.push(Cell::t(name));
            row.push(Cell::t(opt(
                c.median_opt(|r| r.roles.get(role).map(|x| x.threads as f64)),
                format::count,
            )));
            row.push(Cell::t(opt(
                c.median_opt(|r| r.roles.get(role).map(|x| x.ops_per_sec)),
                format::si,
            )));
            latency_cells(&mut row, c, |r| r.roles.get(role).map(|x| &x.latency_ns));
            rows.push(row);
        }
    }
    if rows.is_empty() {
        d.p("No ok run reports per-role figures.");
        return;
    }
    let mut columns = key_columns();
    columns.extend([
        Column::text("Role"),
        Column::num("role threads"),
        Column::num("ops/s"),
        Column::num("p50"),
        Column::num("p90"),
        Column::num("p99"),
        Column::num("p99.9"),
        Column::num("max"),
    ]);
    d.table(Table { columns, rows });
}

fn gil(d: &mut Doc, sc: &Scenario) {
    let rows: Vec<Vec<Cell>> = sc
        .configs
        .iter()
        .filter(|c| c.ok.iter().any(|r| r.gil.is_some()))
        .map(|c| {
            let g =
                |f: fn(&crate::results::GilFigures) -> f64| c.median_opt(|r| r.gil.as_ref().map(f));
            let mut row = key_cells(c);
            row.push(Cell::t(opt(g(|g| g.acquisitions as f64), format::count)));
            row.push(Cell::t(opt(g(|g| g.forced_switches as f64), format::count)));
            row.push(Cell::t(opt(g(|g| g.wait_ns.p50 as f64), format::ns)));
            row.push(Cell::t(opt(g(|g| g.wait_ns.p99 as f64), format::ns)));
            row.push(Cell::t(opt(g(|g| g.wait_ns.max as f64), format::ns)));
            row.push(Cell::t(opt(
                c.median_opt(|r| {
                    let thread_ns = r.seconds * r.threads as f64 * 1e9;
                    let g = r.gil.as_ref()?;
                    (thread_ns > 0.0).then(|| g.wait_ns.total as f64 / thread_ns)
                }),
                format::pct,
            )));
            row
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    d.h(3, "GIL");
    let mut columns = key_columns();
    columns.extend([
        Column::num("acquisitions"),
        Column::num("forced switches"),
        Column::num("wait p50"),
        Column::num("wait p99"),
        Column::num("wait max"),
        Column::num("waiting share"),
    ]);
    d.table(Table { columns, rows });
    d.small("waiting share = total GIL wait over (seconds × threads) of the run.");
}

fn collector(d: &mut Doc, sc: &Scenario) {
    let modes_vary = {
        let mut m: Vec<&str> = sc
            .configs
            .iter()
            .flat_map(|c| c.ok.iter().map(|r| r.gc_mode.as_str()))
            .collect();
        m.sort_unstable();
        m.dedup();
        m.len() > 1
    };
    d.h(3, "Collector");
    let rows = sc
        .configs
        .iter()
        .map(|c| {
            let mut row = key_cells(c);
            if modes_vary {
                row.push(Cell::t(
                    c.ok.first()
                        .map(|r| code(&r.gc_mode))
                        .unwrap_or_else(|| DASH.into()),
                ));
            }
            let m = |f: fn(&Run) -> f64| c.median_of(f);
            row.push(Cell::t(opt(m(|r| r.gc.collections as f64), format::count)));
            row.push(Cell::t(opt(m(|r| r.gc.collected as f64), format::count)));
            row.push(Cell::t(opt(m(|r| r.gc.pause_ns.p50 as f64), format::ns)));
            row.push(Cell::t(opt(m(|r| r.gc.pause_ns.p99 as f64), format::ns)));
            row.push(Cell::t(opt(m(|r| r.gc.pause_ns.max as f64), format::ns)));
            row.push(Cell::t(opt(
                c.median_opt(|r| {
                    (r.seconds > 0.0).then(|| r.gc.pause_ns.total as f64 / (r.seconds * 1e9))
                }),
                format::pct,
            )));
            let tts = |f: fn(&crate::results::Percentiles) -> u64| {
                c.median_opt(|r| r.gc.time_to_safepoint_ns.as_ref().map(|p| f(p) as f64))
            };
            let none = if c.policy == BASELINE { "n/a" } else { DASH };
            row.push(Cell::t(
                tts(|p| p.p99)
                    .map(format::ns)
                    .unwrap_or_else(|| none.into()),
            ));
            row.push(Cell::t(
                tts(|p| p.max)
                    .map(format::ns)
                    .unwrap_or_else(|| none.into()),
            ));
            row
        })
        .collect();
    let mut columns = key_columns();
    if modes_vary {
        columns.push(Column::text("gc mode"));
    }
    columns.extend([
        Column::num("collections"),
        Column::num("collected"),
        Column::num("pause p50"),
        Column::num("pause p99"),
        Column::num("pause max"),
        Column::num("paused share"),
        Column::num("to safepoint p99"),
        Column::num("to safepoint max"),
    ]);
    d.table(Table { columns, rows });
    d.small(
        "paused share = total pause over the run's wall-clock seconds. Time to safepoint is \
         how long a stop-the-world request waited for every attached thread to park (n/a \
         under `gil`, where the GIL already stops the world).",
    );
}

fn memory(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Memory");
    let rows = sc
        .configs
        .iter()
        .map(|c| {
            let m = |f: fn(&Run) -> f64| c.median_of(f);
            let mut row = key_cells(c);
            row.push(Cell::t(opt(
                m(|r| r.memory.peak_rss_bytes as f64),
                format::bytes,
            )));
            row.push(Cell::t(opt(
                m(|r| r.memory.bytes_in_use_peak as f64),
                format::bytes,
            )));
            row.push(Cell::t(opt(
                m(|r| r.memory.bytes_reserved_peak as f64),
                format::bytes,
            )));
            row.push(Cell::t(opt(
                c.median_opt(|r| {
                    (r.memory.bytes_in_use_peak > 0).then(|| {
                        r.memory.bytes_reserved_peak as f64 / r.memory.bytes_in_use_peak as f64
                    })
                }),
                format::ratio,
            )));
            row.push(Cell::t(opt(
                m(|r| r.memory.arenas_high_water as f64),
                format::count,
            )));
            row.push(Cell::t(opt(m(|r| r.memory.header_bytes as f64), |v| {
                format!("{v:.0} B")
            })));
            row
        })
        .collect();
    let mut columns = key_columns();
    columns.extend([
        Column::num("peak RSS"),
        Column::num("in use peak"),
        Column::num("reserved peak"),
        Column::num("reserved / in use"),
        Column::num("arenas (high water)"),
        Column::num("object header"),
    ]);
    d.table(Table { columns, rows });
    d.small(
        "reserved / in use = bytes_reserved_peak / bytes_in_use_peak: memory the allocator \
         holds in arenas and pools per byte handed out.",
    );
}

fn refcounts(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Reference counts");
    let rows = sc
        .configs
        .iter()
        .map(|c| {
            let m = |f: fn(&Run) -> f64| c.median_of(f);
            let mut row = key_cells(c);
            row.push(Cell::t(opt(m(|r| r.refcount.atomic_share()), format::pct)));
            row.push(Cell::t(opt(
                m(|r| r.refcount.local_ops as f64),
                format::count,
            )));
            row.push(Cell::t(opt(
                m(|r| r.refcount.atomic_ops as f64),
                format::count,
            )));
            row.push(Cell::t(opt(
                m(|r| r.refcount.remote_frees as f64),
                format::count,
            )));
            row.push(Cell::t(opt(m(|r| r.refcount.merges as f64), format::count)));
            row.push(Cell::t(opt(m(|r| r.refcount.queued as f64), format::count)));
            row
        })
        .collect();
    let mut columns = key_columns();
    columns.extend([
        Column::num("atomic share"),
        Column::num("local ops"),
        Column::num("atomic ops"),
        Column::num("remote frees"),
        Column::num("merges"),
        Column::num("queued"),
    ]);
    d.table(Table { columns, rows });
    d.small("atomic share = atomic_ops / (local_ops + atomic_ops).");
}

fn python(d: &mut Doc, s: &Summary, sc: &Scenario) {
    let peers: Vec<_> = s
        .results
        .python
        .iter()
        .filter(|p| p.workload == sc.name)
        .collect();
    if peers.is_empty() {
        return;
    }
    d.h(3, "Python peer (same run)");
    let rows = peers
        .iter()
        .map(|p| {
            let gil = sc.config(BASELINE, p.threads);
            let gil_rate = gil.and_then(|c| c.throughput()).map(|t| t.median);
            let gil_p99 = gil.and_then(|c| c.latency(|l| l.p99));
            let peer_rate = (p.ops_per_sec > 0.0).then_some(p.ops_per_sec);
            vec![
                Cell::t(esc(&p.python)),
                Cell::t(p.threads.to_string()),
                Cell::t(format!("{:.3} s", p.seconds)),
                Cell::t(opt(peer_rate, format::si)),
                Cell::t(opt(gil_rate, format::si)),
                Cell::t(opt(
                    gil_rate.zip(peer_rate).map(|(g, q)| g / q),
                    format::ratio,
                )),
                Cell::t(opt(p.latency_ns.as_ref().map(|l| l.p99 as f64), format::ns)),
                Cell::t(opt(gil_p99, format::ns)),
                Cell::t(esc(&p.note)),
            ]
        })
        .collect();
    d.table(Table {
        columns: vec![
            Column::text("Python"),
            Column::num("Threads"),
            Column::num("seconds"),
            Column::num("ops/s"),
            Column::num("heaplab `gil` ops/s"),
            Column::num("`gil` / Python"),
            Column::num("p99"),
            Column::num("heaplab `gil` p99"),
            Column::wrap("Note"),
        ],
        rows,
    });
    d.small(format!(
        "The same-shaped Python program on the machine's `python3`, timed in this run, beside \
         heaplab under {} (CPython's own design) at the same thread count. p99 is the \
         scenario's headline latency{}.",
        code(BASELINE),
        sc.headline_role
            .as_ref()
            .map(|r| format!(" (the {} role)", code(r)))
            .unwrap_or_default()
    ));
}

fn definitions(d: &mut Doc) {
    d.h_id(2, "How to read this report", "definitions".into());
    d.list(vec![
        "A configuration is one scenario × policy × thread count; it ran once per repeat, \
         interleaved with the others. Every figure is the median over its **ok** repeats; \
         failed runs (including runs that leaked or failed the integrity check) are listed, \
         never counted."
            .into(),
        "**spread** = (max − min) / median of the ok repeats' throughput: the noise any \
         difference must beat."
            .into(),
        format!(
            "**vs {}** = a policy's median throughput over {}'s at the same thread count; \
             **scaling** = N-thread median over N × the same policy's 1-thread median.",
            code(BASELINE),
            code(BASELINE)
        ),
        "Latency is sampled per operation into an HdrHistogram. Scenarios with roles lead \
         with the headline role (the one the scenario exists to measure); each role's own \
         figures stay beside it."
            .into(),
        "Compare only within one run and one machine: ratios, not absolute numbers, carry \
         over."
            .into(),
    ]);
}
