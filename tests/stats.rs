//! Paired rounds in the reports, on `tests/fixtures/rounds.json` (schema 2:
//! four rounds whose per-round ratios are set by hand under a drift of the
//! machine, see `make_fixtures.py`), and schema-1 files (`small.json`) shown
//! with their intervals unknown.

use heaplab::report;
use heaplab::results::Results;
use std::path::PathBuf;

fn fixture(name: &str) -> Results {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    Results::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The geometric mean of per-round ratios and its 95% t-interval, worked
/// out here from the fixture's lists (t(0.975, 3) = 3.182446).
fn interval(ratios: &[f64]) -> (f64, f64, f64) {
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let h = 3.182_446_3 * sd / n.sqrt();
    (mean.exp(), (mean - h).exp(), (mean + h).exp())
}

fn x(v: f64) -> String {
    format!("{v:.2}x")
}

/// The rows of the Markdown table under `### title` in a scenario's section.
fn table(md: &str, scenario: &str, title: &str) -> Vec<Vec<String>> {
    let head = format!("## Scenario `{scenario}`");
    let sec = &md[md.find(&head).expect("section")..];
    let sec = &sec[..sec[head.len()..]
        .find("\n## ")
        .map_or(sec.len(), |i| i + head.len())];
    let start = sec
        .find(&format!("### {title}\n"))
        .unwrap_or_else(|| panic!("no table {title}"));
    sec[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("no row {first} in {rows:?}"))
}

#[test]
fn headline_ratios_carry_the_hand_worked_interval_and_verdict() {
    let md = report::render_markdown(&fixture("rounds.json"));
    let churn = table(&md, "alloc-churn", "Headline ratios");
    // columns: ratio, value [95% interval], rounds, verdict
    let (v, lo, hi) = interval(&[0.97, 0.95, 0.96, 0.98]);
    let one = row(&churn, "biased over gil at 1 thread");
    assert_eq!(one[1], format!("{} [{}, {}]", x(v), x(lo), x(hi)));
    assert_eq!(one[2], "4");
    assert_eq!(one[3], "**slower** at 95% confidence");
    // Within a percent of 1 on both sides: no difference, with its ±.
    let (v, lo, hi) = interval(&[1.02, 1.00, 0.99, 1.01]);
    assert!(lo < 1.0 && hi > 1.0);
    let two = row(&churn, "biased over gil at 2 threads");
    let pm = (hi / v - 1.0).max(1.0 - lo / v) * 100.0;
    assert_eq!(two[3], format!("no difference detected at 95% (±{pm:.1}%)"));

    let trees = table(&md, "binary-trees", "Headline ratios");
    assert_eq!(
        row(&trees, "biased over gil at 1 thread")[3],
        "**faster** at 95% confidence"
    );
    // Rounds that disagree (1.30, 1.02, 1.25, 0.95): undecided, never a tie.
    let (v, lo, hi) = interval(&[1.30, 1.02, 1.25, 0.95]);
    let pm = (hi / v - 1.0).max(1.0 - lo / v) * 100.0;
    assert_eq!(
        row(&trees, "biased over gil at 2 threads")[3],
        format!("undecided after 4 rounds (±{pm:.1}%)")
    );
}

#[test]
fn pairing_by_round_cancels_the_drift_that_the_spread_shows() {
    let md = report::render_markdown(&fixture("rounds.json"));
    let rows = table(&md, "alloc-churn", "Throughput");
    // columns: policy, threads, ok runs, median, min..max, spread, vs gil, scaling
    let gil = rows.iter().find(|r| r[0] == "gil" && r[1] == "1").unwrap();
    // The machine drifted by 0.8x..1.1x between rounds: a 30% spread ...
    assert_eq!(gil[5], "31.6%", "(1.1 - 0.8) / 0.95");
    // ... yet biased over gil is known to about ±2%, since both moved
    // together in each round.
    let biased = rows
        .iter()
        .find(|r| r[0] == "biased" && r[1] == "1")
        .unwrap();
    let (v, lo, hi) = interval(&[0.97, 0.95, 0.96, 0.98]);
    assert_eq!(biased[6], format!("{} [{}, {}]", x(v), x(lo), x(hi)));
    assert!(hi / lo < 1.05);
    // The heat map quotes the same estimate.
    let answer = &md[md.find("## The answer").unwrap()..md.find("## Findings").unwrap()];
    assert!(answer.contains(&format!("{} [{}, {}]", x(v), x(lo), x(hi))));
}

#[test]
fn the_report_opens_with_the_noise_and_the_precision_reached() {
    let md = report::render_markdown(&fixture("rounds.json"));
    let line = md
        .lines()
        .find(|l| l.starts_with("**Noise and precision**"))
        .expect("the opening line");
    assert!(line.contains("a quiet machine"), "{line}");
    // Headlines: 2 speed-ups x 2 scenarios + 2 scalings x 2 scenarios; the
    // binary-trees 2-thread speed-up and both scalings there are wide.
    assert!(
        line.contains("headline ratios have a 95% interval within ±5.0%"),
        "{line}"
    );
    assert!(line.contains("after 4 rounds per configuration"), "{line}");
    assert!(line.contains("the widest still open is ±"), "{line}");
    assert!(
        line.contains("Rounds stopped: --max-rounds (4) reached."),
        "{line}"
    );
    // The trust question says the same in its own row.
    assert!(md.contains("| headline ratios with a 95% interval within ±5.0% |"));
}

#[test]
fn schema_1_files_load_with_every_interval_unknown() {
    let r = fixture("small.json");
    assert_eq!(r.schema, 1);
    let md = report::render_markdown(&r);
    assert!(md.contains(
        "**Noise and precision**: not recorded (a schema-1 file): its rounds are not paired"
    ));
    // Ratios are the medians' ratios, with no bounds anywhere.
    let rows = table(&md, "alloc-churn", "Throughput");
    let b2 = rows
        .iter()
        .find(|r| r[0] == "biased" && r[1] == "2")
        .unwrap();
    assert_eq!(b2[6], "1.92x");
    let heads = table(&md, "alloc-churn", "Headline ratios");
    assert!(heads
        .iter()
        .all(|r| r[3] == "interval unknown (rounds not paired)"));
    assert!(!md.contains("at 95% confidence"));
}

/// `--precision` must be positive and a budget shorter than one round is
/// refused before anything is measured, each in one line naming the flag.
#[test]
fn precision_and_budget_are_checked_before_measuring() {
    let out = std::env::temp_dir().join(format!("heaplab-stats-{}", std::process::id()));
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heaplab"))
            .arg("run")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run(&["--precision", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--precision") && e.contains("allowed 0 < percent <= 100"),
        "{e}"
    );
    let o = run(&[
        "--workload",
        "alloc-churn",
        "--duration",
        "1",
        "--budget",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--budget: 2 s is shorter than one round"), "{e}");
    let o = run(&["--repeat", "4", "--max-rounds", "3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-rounds: 3 is below --repeat 4"));
    let _ = std::fs::remove_dir_all(&out);
}
