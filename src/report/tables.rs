//! The tables of a scenario's section, each one [`Spec`]: throughput,
//! headline latency, roles, GIL, collector, memory, reference counts and the
//! Python peer, with the sentence under each that defines its figures.
//!
//! A table's columns and cells come from one list here, so adding a column
//! is one line, and the Markdown and HTML reports cannot disagree about it.

use super::doc::{code, Doc};
use super::estimate::Ratio;
use super::finding;
use super::spec::{Spec, Unit, Value};
use super::stats::{Config, Scenario, Summary, BASELINE};
use crate::results::{
    confidence, Figure, GilFigures, HeadlinePair, Latency, Percentiles, PythonPeer, Run,
};

/// The first two columns of every per-configuration table.
fn keyed<'a>() -> Spec<'a, &'a Config<'a>> {
    Spec::new()
        .text("Policy", |c: &&Config| Value::Policy(c.policy.clone()))
        .num("Threads", |c: &&Config| Value::Int(c.threads as u64))
}

/// Median over the ok repeats of a figure every run has.
fn med(c: &Config, unit: Unit, f: impl Fn(&Run) -> f64) -> Value {
    Value::num(c.median_of(f), unit)
}

/// Median over the ok repeats that have the figure.
fn med_opt(c: &Config, unit: Unit, f: impl Fn(&Run) -> Option<f64>) -> Value {
    Value::num(c.median_opt(f), unit)
}

/// Adds p50, p90, p99, p99.9 and max: `figure(row, pick)` is the median
/// over the row's ok repeats of the percentile `pick` takes from each
/// repeat's latency.
fn percentiles<'a, R: 'a>(
    mut spec: Spec<'a, R>,
    figure: impl Fn(&R, fn(&Latency) -> u64) -> Option<f64> + Copy + 'a,
) -> Spec<'a, R> {
    type Pick = fn(&Latency) -> u64;
    let cols: [(&str, Pick); 5] = [
        ("p50", |l| l.p50),
        ("p90", |l| l.p90),
        ("p99", |l| l.p99),
        ("p99.9", |l| l.p999),
        ("max", |l| l.max),
    ];
    for (title, pick) in cols {
        spec = spec.num(title, move |r: &R| Value::num(figure(r, pick), Unit::Ns));
    }
    spec
}

/// The scenario's headline ratios: each with its 95% interval, the rounds
/// it rests on and the verdict.
pub fn headlines(d: &mut Doc, sc: &Scenario) {
    let rows: Vec<(HeadlinePair, Option<Ratio>)> = sc
        .headlines()
        .into_iter()
        .filter(|(_, r)| r.is_some())
        .collect();
    if rows.is_empty() {
        return;
    }
    d.h(3, "Headline ratios");
    type Row = (HeadlinePair, Option<Ratio>);
    let words = |p: &HeadlinePair| match p.figure {
        Figure::Throughput => finding::FASTER,
        Figure::HeadlineP99 => finding::HIGHER,
    };
    let spec = Spec::new()
        .text("Ratio", |r: &Row| Value::Text(r.0.label()))
        .ratio("value [95% interval]", |r: &Row| {
            let unit = if r.0.scale != 1.0 {
                Unit::Pct0
            } else {
                Unit::Times
            };
            Value::ratio(r.1, unit)
        })
        .num("rounds", |r: &Row| {
            r.1.map_or(Value::Missing, |x| Value::Int(x.rounds as u64))
        })
        .wrap("verdict", move |r: &Row| {
            r.1.map_or(Value::Missing, |x| {
                Value::Markup(finding::verdict(&x, sc.precision, words(&r.0)))
            })
        });
    d.table(spec.table(&rows));
    d.small(format!(
        "Each ratio is taken per round (configurations of one round ran next to each other, \
         so the machine's drift cancels) and summarised as the geometric mean with a 95% \
         t-interval on the log of the per-round ratios; at least {} paired rounds are needed \
         for an interval. An interval that holds 1 and is wider than ±{} is undecided. A \
         scaling ratio is N-thread throughput over N × the 1-thread one (100% is linear).",
        confidence::MIN_ROUNDS,
        super::format::pct(sc.precision)
    ));
}

pub fn throughput(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Throughput");
    let spec = keyed()
        .num("ok runs", |c| {
            Value::Text(format!("{}/{}", c.ok.len(), c.total()))
        })
        .num("ops/s (median)", |c| {
            c.throughput()
                .map_or(Value::Failed, |t| Value::Num(t.median, Unit::Si))
        })
        .range("min..max", |c| {
            c.throughput()
                .map_or(Value::Missing, |t| Value::Range(t.min, t.max, Unit::Si))
        })
        .num("spread", |c| {
            Value::num(c.throughput().and_then(|t| t.rel_range()), Unit::Pct)
        })
        .ratio(format!("vs {}", code(BASELINE)), |c| {
            Value::ratio(sc.speedup(&c.policy, c.threads), Unit::Times)
        })
        .ratio("scaling", |c| {
            Value::ratio(sc.efficiency(&c.policy, c.threads), Unit::Pct0)
        });
    let rows: Vec<&Config> = sc.configs.iter().collect();
    d.table(spec.table(&rows));
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
         vs {} = throughput over {}'s at the same thread count. scaling = N-thread throughput \
         over N × the {base_words} throughput of the same policy (100% is linear; — where the \
         two runs have different roles, as their throughputs count different work). Both are \
         per-round ratios' geometric mean with its 95% interval where there are 3 rounds or \
         more.",
        code(BASELINE),
        code(BASELINE)
    ));
}

pub fn latency(d: &mut Doc, sc: &Scenario) {
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
    let spec = percentiles(keyed(), |c: &&Config, pick| {
        c.median_of(|r| pick(c.headline_latency(r)) as f64)
    })
    .ratio("p99 merged [95%]", |c| {
        Value::ratio(super::latency::merged_quantile(c, 0.99), Unit::Ns)
    })
    .optional()
    .ratio("p99.9 merged [95%]", |c| {
        Value::ratio(super::latency::merged_quantile(c, 0.999), Unit::Ns)
    })
    .optional()
    .num("samples", |c| {
        med(c, Unit::Count, |r| c.headline_latency(r).samples as f64)
    })
    .num("sampled", |c| {
        med(c, Unit::OneIn, |r| {
            c.headline_latency(r).sample_every as f64
        })
    });
    let rows: Vec<&Config> = sc.configs.iter().collect();
    d.table(spec.table(&rows));
    d.small(
        "Each percentile is the median over ok repeats of that repeat's percentile, from a \
         sampled HdrHistogram (sampling keeps the clock's cost off the figure). The merged \
         figures take every repeat's histogram as one (each sample counts once), with a 95% \
         interval from a bootstrap over whole repeats (from 3 repeats on).",
    );
}

pub fn roles(d: &mut Doc, sc: &Scenario) {
    if sc.roles.is_empty() {
        return;
    }
    d.h(3, "Roles");
    let rows: Vec<(&Config, &String)> = sc
        .configs
        .iter()
        .flat_map(|c| sc.roles.iter().map(move |role| (c, role)))
        .filter(|(c, role)| c.ok.iter().any(|r| r.roles.contains_key(*role)))
        .collect();
    if rows.is_empty() {
        d.p("No ok run reports per-role figures.");
        return;
    }
    type Row<'r> = (&'r Config<'r>, &'r String);
    let spec = Spec::new()
        .text("Policy", |r: &Row| Value::Policy(r.0.policy.clone()))
        .num("Threads", |r: &Row| Value::Int(r.0.threads as u64))
        .text("Role", |r: &Row| {
            Value::Markup(if Some(r.1) == sc.headline_role.as_ref() {
                format!("{} (headline)", code(r.1))
            } else {
                code(r.1)
            })
        })
        .num("role threads", |r: &Row| {
            med_opt(r.0, Unit::Count, |run| {
                run.roles.get(r.1).map(|x| x.threads as f64)
            })
        })
        .num("ops/s", |r: &Row| {
            med_opt(r.0, Unit::Si, |run| {
                run.roles.get(r.1).map(|x| x.ops_per_sec)
            })
        });
    let spec = percentiles(spec, |r: &Row, pick| {
        r.0.median_opt(|run| run.roles.get(r.1).map(|x| pick(&x.latency_ns) as f64))
    });
    d.table(spec.table(&rows));
}

pub fn gil(d: &mut Doc, sc: &Scenario) {
    let rows: Vec<&Config> = sc
        .configs
        .iter()
        .filter(|c| c.ok.iter().any(|r| r.gil.is_some()))
        .collect();
    if rows.is_empty() {
        return;
    }
    d.h(3, "GIL");
    fn g(c: &Config, unit: Unit, f: fn(&GilFigures) -> f64) -> Value {
        med_opt(c, unit, |r| r.gil.as_ref().map(f))
    }
    let spec = keyed()
        .num("acquisitions", |c| {
            g(c, Unit::Count, |g| g.acquisitions as f64)
        })
        .num("forced switches", |c| {
            g(c, Unit::Count, |g| g.forced_switches as f64)
        })
        .num("wait p50", |c| g(c, Unit::Ns, |g| g.wait_ns.p50 as f64))
        .num("wait p99", |c| g(c, Unit::Ns, |g| g.wait_ns.p99 as f64))
        .num("wait max", |c| g(c, Unit::Ns, |g| g.wait_ns.max as f64))
        .num("waiting share", |c| {
            med_opt(c, Unit::Pct, |r| {
                let thread_ns = r.seconds * r.threads as f64 * 1e9;
                let g = r.gil.as_ref()?;
                (thread_ns > 0.0).then(|| g.wait_ns.total as f64 / thread_ns)
            })
        });
    d.table(spec.table(&rows));
    d.small("waiting share = total GIL wait over (seconds × threads) of the run.");
}

pub fn collector(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Collector");
    fn modes_vary(rows: &[&Config]) -> bool {
        let mut m: Vec<&str> = rows
            .iter()
            .flat_map(|c| c.ok.iter().map(|r| r.gc_mode.as_str()))
            .collect();
        m.sort_unstable();
        m.dedup();
        m.len() > 1
    }
    // Time to safepoint does not apply under the baseline, where the GIL
    // already stops the world.
    fn tts(c: &Config, f: fn(&Percentiles) -> u64) -> Value {
        match c.median_opt(|r| r.gc.time_to_safepoint_ns.as_ref().map(|p| f(p) as f64)) {
            Some(v) => Value::Num(v, Unit::Ns),
            None if c.policy == BASELINE => Value::NotApplicable,
            None => Value::Missing,
        }
    }
    let spec = keyed()
        .text("gc mode", |c| {
            c.ok.first()
                .map_or(Value::Missing, |r| Value::Code(r.gc_mode.clone()))
        })
        .only_if(modes_vary)
        .num("collections", |c| {
            med(c, Unit::Count, |r| r.gc.collections as f64)
        })
        .num("collected", |c| {
            med(c, Unit::Count, |r| r.gc.collected as f64)
        })
        .num("pause p50", |c| {
            med(c, Unit::Ns, |r| r.gc.pause_ns.p50 as f64)
        })
        .num("pause p99", |c| {
            med(c, Unit::Ns, |r| r.gc.pause_ns.p99 as f64)
        })
        .num("pause max", |c| {
            med(c, Unit::Ns, |r| r.gc.pause_ns.max as f64)
        })
        .num("paused share", |c| {
            med_opt(c, Unit::Pct, |r| {
                (r.seconds > 0.0).then(|| r.gc.pause_ns.total as f64 / (r.seconds * 1e9))
            })
        })
        .num("to safepoint p99", |c| tts(c, |p| p.p99))
        .num("to safepoint max", |c| tts(c, |p| p.max));
    let rows: Vec<&Config> = sc.configs.iter().collect();
    d.table(spec.table(&rows));
    d.small(
        "paused share = total pause over the run's wall-clock seconds. Time to safepoint is \
         how long a stop-the-world request waited for every attached thread to park (n/a \
         under `gil`, where the GIL already stops the world).",
    );
}

pub fn memory(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Memory");
    let spec = keyed()
        .num("peak RSS", |c| {
            med(c, Unit::Bytes, |r| r.memory.peak_rss_bytes as f64)
        })
        .num("in use peak", |c| {
            med(c, Unit::Bytes, |r| r.memory.bytes_in_use_peak as f64)
        })
        .num("reserved peak", |c| {
            med(c, Unit::Bytes, |r| r.memory.bytes_reserved_peak as f64)
        })
        .num("reserved / in use", |c| {
            med_opt(c, Unit::Times, |r| {
                (r.memory.bytes_in_use_peak > 0).then(|| {
                    r.memory.bytes_reserved_peak as f64 / r.memory.bytes_in_use_peak as f64
                })
            })
        })
        .num("arenas (high water)", |c| {
            med(c, Unit::Count, |r| r.memory.arenas_high_water as f64)
        })
        .num("object header", |c| {
            med(c, Unit::WholeBytes, |r| r.memory.header_bytes as f64)
        });
    let rows: Vec<&Config> = sc.configs.iter().collect();
    d.table(spec.table(&rows));
    d.small(
        "reserved / in use = bytes_reserved_peak / bytes_in_use_peak: memory the allocator \
         holds in arenas and pools per byte handed out.",
    );
}

pub fn refcounts(d: &mut Doc, sc: &Scenario) {
    d.h(3, "Reference counts");
    let spec = keyed()
        .num("atomic share", |c| {
            med(c, Unit::Pct, |r| r.refcount.atomic_share())
        })
        .num("local ops", |c| {
            med(c, Unit::Count, |r| r.refcount.local_ops as f64)
        })
        .num("atomic ops", |c| {
            med(c, Unit::Count, |r| r.refcount.atomic_ops as f64)
        })
        .num("remote frees", |c| {
            med(c, Unit::Count, |r| r.refcount.remote_frees as f64)
        })
        .num("merges", |c| {
            med(c, Unit::Count, |r| r.refcount.merges as f64)
        })
        .num("queued", |c| {
            med(c, Unit::Count, |r| r.refcount.queued as f64)
        });
    let rows: Vec<&Config> = sc.configs.iter().collect();
    d.table(spec.table(&rows));
    d.small("atomic share = atomic_ops / (local_ops + atomic_ops).");
}

pub fn python(d: &mut Doc, s: &Summary, sc: &Scenario) {
    let peers: Vec<&PythonPeer> = s
        .results
        .python
        .iter()
        .filter(|p| p.workload == sc.name)
        .collect();
    if peers.is_empty() {
        return;
    }
    d.h(3, "Python peer (same run)");
    let gil_rate = |p: &PythonPeer| sc.tput(BASELINE, p.threads);
    let peer_rate = |p: &PythonPeer| (p.ops_per_sec > 0.0).then_some(p.ops_per_sec);
    let spec = Spec::new()
        .text("Python", |p: &&PythonPeer| Value::Text(p.python.clone()))
        .num("Threads", |p: &&PythonPeer| Value::Int(p.threads as u64))
        .num("seconds", |p: &&PythonPeer| {
            Value::Num(p.seconds, Unit::Seconds)
        })
        .num("ops/s", |p: &&PythonPeer| {
            Value::num(peer_rate(p), Unit::Si)
        })
        .num(
            format!("heaplab {} ops/s", code(BASELINE)),
            |p: &&PythonPeer| Value::num(gil_rate(p), Unit::Si),
        )
        .ratio(format!("{} / Python", code(BASELINE)), |p: &&PythonPeer| {
            // One measurement of the peer: a point ratio, not a paired one.
            let r = gil_rate(p).zip(peer_rate(p)).map(|(g, q)| g / q);
            Value::ratio(r.map(super::estimate::Ratio::point), Unit::Times)
        })
        .num("p99", |p: &&PythonPeer| {
            Value::num(p.latency_ns.as_ref().map(|l| l.p99 as f64), Unit::Ns)
        })
        .num(
            format!("heaplab {} p99", code(BASELINE)),
            |p: &&PythonPeer| {
                Value::num(
                    sc.config(BASELINE, p.threads)
                        .and_then(|c| c.latency(|l| l.p99)),
                    Unit::Ns,
                )
            },
        )
        .wrap("Note", |p: &&PythonPeer| Value::Text(p.note.clone()));
    d.table(spec.table(&peers));
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
