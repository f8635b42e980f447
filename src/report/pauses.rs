//! "Collector pauses": each policy's collector, in one row, at its worst
//! (the scenario and thread count with the highest median p99 pause): the
//! pause percentiles (p50, p99, max: world stopped, or the GIL held, until
//! the world restarts) and the time to safepoint (the stop request until
//! every attached thread parked), which a stop-the-world collector adds to
//! every pause a mutator sees. Under the GIL policies (`gil`,
//! `gil-tracing`) the GIL already stops the world, so there is no time to
//! safepoint to report. The field's figure beside it: JVM collectors pause
//! for milliseconds at heaps of our size.
//!
//! Each scenario's "Collector" table (`tables::collector`) has the same
//! figures for every configuration; this finder picks one row per
//! collector so the findings compare the collectors. A finder of
//! `findings::FINDERS`; policies whose runs never collected give no row.

use super::doc::code;
use super::finding::{Finding, Question};
use super::format;
use super::stats::{Config, Scenario, Summary};
use crate::results::Percentiles;

const TOPIC: &str =
    "Collector pauses at their worst (JVM collectors: milliseconds at heaps of our size)";

/// The median over a configuration's repeats of one pause figure.
fn pause(c: &Config, f: fn(&Percentiles) -> u64) -> Option<f64> {
    c.median_opt(|r| (r.gc.collections > 0).then(|| f(&r.gc.pause_ns) as f64))
}

/// The median of one time-to-safepoint figure, where one was recorded.
fn tts(c: &Config, f: fn(&Percentiles) -> u64) -> Option<f64> {
    c.median_opt(|r| {
        let t = r.gc.time_to_safepoint_ns.as_ref()?;
        (t.count > 0).then(|| f(t) as f64)
    })
}

/// Policy `p`'s configuration with the highest median p99 pause (the most
/// threads on a tie), with its scenario.
fn worst<'s>(s: &'s Summary, p: &str) -> Option<(&'s Scenario<'s>, &'s Config<'s>, f64)> {
    s.scenarios
        .iter()
        .flat_map(|sc| sc.configs.iter().map(move |c| (sc, c)))
        .filter(|(_, c)| c.policy == p)
        .filter_map(|(sc, c)| pause(c, |p| p.p99).map(|v| (sc, c, v)))
        .max_by(|a, b| a.2.total_cmp(&b.2).then(a.1.threads.cmp(&b.1.threads)))
}

/// One finding per policy that collected: its worst pause, with the time
/// to safepoint of the same configuration.
pub fn collector_pauses(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &s.policies {
        let Some((sc, c, p99)) = worst(s, p) else {
            continue;
        };
        let n = |v: Option<f64>| v.map_or("—".into(), format::ns);
        let collections = c.median_of(|r| r.gc.collections as f64).unwrap_or(0.0);
        let mut basis = format!(
            "pause p50 {}, max {}; {} collections",
            n(pause(c, |p| p.p50)),
            n(pause(c, |p| p.max)),
            format::count(collections)
        );
        let verdict = match tts(c, |t| t.p99) {
            Some(t) => {
                basis.push_str(&format!(
                    "; to safepoint p50 {}, max {}",
                    n(tts(c, |t| t.p50)),
                    n(tts(c, |t| t.max))
                ));
                format!(
                    "to safepoint p99 **{}**: {} of the p99 pause",
                    format::ns(t),
                    format::pct(t / p99.max(1.0))
                )
            }
            None if c.ok.iter().all(|r| r.gc.time_to_safepoint_ns.is_none()) => {
                "no time to safepoint: the GIL stops the world".into()
            }
            None => "to safepoint: not recorded".into(),
        };
        out.push(
            Finding {
                question: Question::Field,
                topic: TOPIC.into(),
                workload: Some(sc.name.clone()),
                threads: Some(c.threads),
                subject: format!("{}'s collector", code(p)),
                measured: format!("p99 pause {}", format::ns(p99)),
                basis,
                verdict,
                ratio: None,
                ..Default::default()
            }
            .done(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Results;

    fn fixture() -> Results {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.json");
        Results::load(&path).expect("small.json loads")
    }

    fn pct(p50: u64, p99: u64, max: u64) -> Percentiles {
        Percentiles {
            count: 10,
            p50,
            p90: p99,
            p99,
            max,
            total: 10 * p50,
        }
    }

    /// The fixture's `biased` runs again as `tracing` ones, with known
    /// pauses: the largest p99 at 2 threads of `convoy`.
    fn with_tracing() -> Results {
        let mut r = fixture();
        let extra: Vec<_> = r
            .runs
            .iter()
            .filter(|x| x.policy == "biased")
            .cloned()
            .map(|mut x| {
                x.policy = "tracing".into();
                let big = x.workload == "convoy" && x.threads == 2;
                x.gc.collections = 4;
                x.gc.pause_ns = if big {
                    pct(2_000_000, 5_000_000, 6_000_000)
                } else {
                    pct(100_000, 200_000, 300_000)
                };
                x.gc.time_to_safepoint_ns = Some(pct(10_000, 50_000, 80_000));
                x
            })
            .collect();
        r.runs.extend(extra);
        r
    }

    #[test]
    fn one_row_per_collector_at_its_worst_pause() {
        let r = with_tracing();
        let s = Summary::new(&r);
        let f = collector_pauses(&s);
        let t = f
            .iter()
            .find(|f| f.subject.contains("tracing"))
            .expect("a tracing row");
        assert_eq!(t.workload.as_deref(), Some("convoy"));
        assert_eq!(t.threads, Some(2));
        assert_eq!(t.measured, "p99 pause 5.00 ms");
        assert!(t.verdict.contains("50.0 µs"), "{}", t.verdict);
        assert!(t.verdict.contains("1.0%"), "{}", t.verdict);
        // Every policy of the fixture collected: one row each.
        assert_eq!(f.len(), s.policies.len());
        let g = f.iter().find(|f| f.subject.contains("`gil`")).unwrap();
        assert!(g.verdict.contains("GIL stops the world"), "{}", g.verdict);
    }

    #[test]
    fn policies_that_never_collected_give_no_row() {
        let mut r = fixture();
        for x in r.runs.iter_mut().filter(|x| x.policy == "gil") {
            x.gc.collections = 0;
        }
        let s = Summary::new(&r);
        let f = collector_pauses(&s);
        assert!(f.iter().all(|f| !f.subject.contains("`gil`")));
        assert_eq!(f.len(), s.policies.len() - 1);
    }
}
