//! Reports and `compare` on hand-made results files (`tests/fixtures/`,
//! written by `make_fixtures.py`; the ratios checked here are worked out by
//! hand from its numbers).
//!
//! The HTML is checked with a tiny XML well-formedness checker and the CSV
//! with a tiny RFC 4180 reader below, so the tests need no extra crates.

use heaplab::report::{self, compare::compare};
use heaplab::results::{Results, ResultsError, Status};
use std::path::PathBuf;

/// The reason of the one failed run in `small.json` (commas and quotes on
/// purpose: the CSV must quote it).
const FAILED_ERROR: &str = "verifier: pool 0x7f3a00 (size class 48) has a block both free and \
                            live, \"list\" object at 0x7f3a0130";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn small() -> Results {
    Results::load(&fixture("small.json")).expect("small.json loads")
}

/// The Markdown of one scenario's section.
fn section<'a>(md: &'a str, scenario: &str) -> &'a str {
    let head = format!("## Scenario `{scenario}`");
    let start = md
        .find(&head)
        .unwrap_or_else(|| panic!("no section {head}"));
    let rest = &md[start + head.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// The rows of the first Markdown table under a `### title` heading.
fn md_table(sec: &str, title: &str) -> Vec<Vec<String>> {
    let head = format!("### {title}\n");
    let start = sec
        .find(&head)
        .unwrap_or_else(|| panic!("no table {title}"));
    sec[start + head.len()..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and alignment rows
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], policy: &str, threads: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == policy && r[1] == threads)
        .unwrap_or_else(|| panic!("no row {policy} {threads} in {rows:?}"))
}

#[test]
fn markdown_has_every_scenario_policy_and_thread_count() {
    let md = report::render_markdown(&small());
    for sc in ["alloc-churn", "convoy"] {
        let sec = section(&md, sc);
        let rows = md_table(sec, "Throughput");
        assert_eq!(rows.len(), 6, "{sc}: 3 policies x 2 thread counts");
        for p in ["gil", "pool-locks", "biased"] {
            for t in ["1", "2"] {
                row(&rows, p, t);
            }
        }
    }
    // Setup: machine, versions, floors, steal time, collector mode.
    for needle in [
        "Intel Xeon (Cascade Lake)",
        "rustc 1.95.0",
        "`04e75c4`",
        "600 ps", // never: floors are in ns; checked below instead
    ]
    .iter()
    .filter(|n| !n.ends_with("ps"))
    {
        assert!(md.contains(needle), "missing {needle}");
    }
    assert!(md.contains("| Non-atomic increment + decrement pair"));
    assert!(md.contains("0.60 ns"), "non-atomic floor");
    assert!(md.contains("9.80 ns"), "atomic floor");
    assert!(md.contains("23.0 ns"), "clock floor");
    assert!(md.contains("**Steal time**: 1.2% of CPU time"));
    assert!(md.contains("`pool-walk`: a pool walk with one generation"));
    // Python peer and notes.
    assert!(md.contains("CPython 3.12.3"));
    assert!(md.contains("every run ended with zero live blocks except the failed one"));
}

#[test]
fn markdown_ratios_match_hand_computed_ones() {
    let md = report::render_markdown(&small());
    let rows = md_table(section(&md, "alloc-churn"), "Throughput");
    // columns: policy, threads, ok runs, median, min..max, spread, vs gil, scaling
    // biased 2 threads: median (1.80 M + 1.84 M) / 2 = 1.82 M; gil 2 threads:
    // (900 k + 1.00 M) / 2 = 950 k -> 1.82 / 0.95 = 1.9158 -> 1.92x.
    let b2 = row(&rows, "biased", "2");
    assert_eq!(b2[3], "1.82 M");
    assert_eq!(b2[4], "1.80 M..1.84 M");
    assert_eq!(b2[5], "2.2%", "spread = 40 k / 1.82 M");
    assert_eq!(b2[6], "1.92x");
    // scaling: 1.82 M / (2 x 1.00 M) = 0.91.
    assert_eq!(b2[7], "91%");
    // gil scales to 950 k / (2 x 1.05 M) = 45%.
    assert_eq!(row(&rows, "gil", "2")[7], "45%");
    assert_eq!(row(&rows, "gil", "2")[6], "1.00x");
    // pool-locks at 1 thread: 610 k / 1.05 M = 0.581 -> 0.58x.
    assert_eq!(row(&rows, "pool-locks", "1")[6], "0.58x");
    // pool-locks at 2 threads: one ok repeat of two, so no spread.
    let p2 = row(&rows, "pool-locks", "2");
    assert_eq!(p2[2], "1/2");
    assert_eq!(p2[3], "1.00 M");
    assert_eq!(p2[5], "—");

    // The overview heat map (Markdown: its table) quotes the same ratios.
    let answer = &md[md.find("## The answer").unwrap()..md.find("## Findings").unwrap()];
    let heat = md_table(answer, "Throughput relative to `gil`");
    let churn = heat.iter().find(|r| r[0] == "`alloc-churn`").unwrap();
    // columns: scenario, pool-locks 1, pool-locks 2, biased 1, biased 2
    assert_eq!(churn[1..], ["0.58x", "1.05x", "0.95x", "1.92x"]);

    // Findings quote the same ratios, one table per question.
    let findings = &md[md.find("## Findings").unwrap()..md.find("## Failed runs").unwrap()];
    let q = |title: &str| md_table(findings, title);
    // columns: scenario, threads, what, figure, based on, verdict
    let trade = q("Where does dropping the GIL pay most, and where does it cost most?");
    // Two kinds of finding here, so a column names each:
    // finding, scenario, threads, what, figure, based on, verdict.
    // The biggest speed-up is the convoy's: 960 k / 490 k = 1.959 -> 1.96x.
    assert_eq!(
        trade[0][..6],
        [
            "Biggest speed-up",
            "`convoy`",
            "2",
            "`biased` over `gil`",
            "1.96x",
            "960 k vs 490 k ops/s"
        ]
    );
    // pool-locks at 1 thread pays most for its atomics: 0.58x.
    assert_eq!(
        trade[1][..5],
        [
            "Biggest slowdown",
            "`alloc-churn`",
            "1",
            "`pool-locks` over `gil`",
            "0.58x"
        ]
    );
    let leads = q("Which policy leads each scenario?");
    // alloc-churn winner at 2 threads: biased 1.82 M over pool-locks 1.00 M.
    assert_eq!(
        leads[0][..5],
        [
            "`alloc-churn`",
            "2",
            "`biased` ahead of `pool-locks`",
            "1.82x",
            "1.82 M vs 1.00 M ops/s"
        ]
    );
    // ... and at 1 thread: gil 1.05 M over biased 1.00 M, inside the spread.
    assert_eq!(
        leads[1],
        [
            "`alloc-churn`",
            "1",
            "`gil` ahead of `biased`",
            "1.05x",
            "1.05 M vs 1.00 M ops/s",
            "interval unknown (rounds not paired)"
        ]
    );
    // The worst scaling is gil on alloc-churn (45%): 950 k is 0.90x 1.05 M.
    let scaling = q("Which configuration scales worst?");
    assert_eq!(
        scaling[0][..5],
        [
            "`alloc-churn`",
            "2",
            "`gil`: scaling efficiency",
            "45%",
            "0.90x its 1-thread throughput"
        ]
    );
    // The convoy's sleeper: gil at 5 ms, the others at tens of microseconds.
    let gaps = q("Where do latency and memory differ most?");
    assert_eq!(
        gaps[0][..4],
        [
            "Biggest p99 difference",
            "`convoy`",
            "1",
            "`gil`'s `sleeper` p99 over `biased`"
        ]
    );
    let trust = q("How far can this run be trusted?");
    assert_eq!(trust[0][0], "Failed runs");
    assert_eq!(trust[0][2], "1 of 24");
    // Every finding is a table row: no bullet list in the section.
    assert!(!findings.contains("\n- "), "{findings}");
}

#[test]
fn role_scenario_leads_with_the_headline_role_and_keeps_roles_apart() {
    let md = report::render_markdown(&small());
    let sec = section(&md, "convoy");
    assert!(sec.contains("### Latency: `sleeper` role (headline)"));
    // columns: policy, threads, p50, p90, p99, ...
    let lat = md_table(sec, "Latency: `sleeper` role (headline)");
    // The sleeper's wake-up p99 under biased at 2 threads: (40 + 42) / 2 µs.
    assert_eq!(row(&lat, "biased", "2")[4], "41.0 µs");
    // The roles table has each role's own row; the worker's p99 is
    // 8 x (182, 191) ns -> median 1492 ns.
    let roles = md_table(sec, "Roles");
    let worker = roles
        .iter()
        .find(|r| r[0] == "biased" && r[1] == "2" && r[2] == "`worker`")
        .expect("worker row");
    assert_eq!(worker[7], "1.49 µs");
    let sleeper = roles
        .iter()
        .find(|r| r[0] == "biased" && r[1] == "2" && r[2] == "`sleeper` (headline)")
        .expect("sleeper row");
    assert_eq!(sleeper[7], "41.0 µs");
    // The python peer sits beside heaplab's gil number: 490 k / 410 k.
    let py = md_table(sec, "Python peer (same run)");
    assert_eq!(py[0][0], "CPython 3.12.3");
    assert_eq!(py[0][4], "490 k");
    assert_eq!(py[0][5], "1.20x");
    assert_eq!(py[0][6], "5.10 ms", "the peer's p99");
    // heaplab's gil sleeper p99 at 2 threads: (5.00 + 5.25) / 2 ms.
    assert!(
        py[0][7] == "5.12 ms" || py[0][7] == "5.13 ms",
        "{:?}",
        py[0]
    );
}

#[test]
fn failed_runs_are_listed_with_their_reason() {
    let r = small();
    let md = report::render_markdown(&r);
    let failed = &md[md.find("## Failed runs").expect("failed section")..];
    assert!(failed.contains(FAILED_ERROR), "markdown names the reason");
    assert!(failed.contains("| `alloc-churn` | pool-locks |"));
    let html = report::render_html(&r);
    assert!(html.contains(&FAILED_ERROR.replace('"', "&quot;")));
}

// ---- a tiny XML well-formedness checker ------------------------------------

fn check_entity(s: &str, at: usize) -> Result<usize, String> {
    let end = s[at..]
        .find(';')
        .ok_or_else(|| format!("unterminated entity at {at}"))?;
    let name = &s[at + 1..at + end];
    let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
        || (name.starts_with("#x")
            && name.len() > 2
            && name[2..].chars().all(|c| c.is_ascii_hexdigit()))
        || (name.starts_with('#')
            && name.len() > 1
            && name[1..].chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(at + end + 1)
    } else {
        Err(format!("unknown entity &{name}; at {at}"))
    }
}

/// Checks well-formedness: tags nest and close, attributes are quoted and
/// unique, entities are XML's own, one root element. Returns the element
/// count.
fn check_xml(s: &str) -> Result<usize, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut elements = 0;
    let is_name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.');
    while i < b.len() {
        match b[i] {
            b'<' if s[i..].starts_with("<!--") => {
                i += s[i..].find("-->").ok_or("unterminated comment")? + 3;
            }
            b'<' if s[i..].starts_with("<!DOCTYPE") => {
                if roots > 0 {
                    return Err("DOCTYPE after the root".into());
                }
                i += s[i..].find('>').ok_or("unterminated DOCTYPE")? + 1;
            }
            b'<' if s[i..].starts_with("</") => {
                let start = i + 2;
                let mut j = start;
                while j < b.len() && is_name(b[j]) {
                    j += 1;
                }
                let name = &s[start..j];
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if b.get(j) != Some(&b'>') {
                    return Err(format!("bad end tag </{name} at {i}"));
                }
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> at {i} closes {other:?}")),
                }
                i = j + 1;
            }
            b'<' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && is_name(b[j]) {
                    j += 1;
                }
                let name = &s[start..j];
                if name.is_empty() {
                    return Err(format!("raw '<' in text at {i}"));
                }
                if stack.is_empty() {
                    roots += 1;
                    if roots > 1 {
                        return Err(format!("second root element <{name}> at {i}"));
                    }
                }
                elements += 1;
                let mut attrs: Vec<&str> = Vec::new();
                let self_closing;
                loop {
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    match b.get(j) {
                        Some(b'>') => {
                            self_closing = false;
                            j += 1;
                            break;
                        }
                        Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                            self_closing = true;
                            j += 2;
                            break;
                        }
                        Some(_) => {}
                        None => return Err(format!("unterminated tag <{name}")),
                    }
                    let a0 = j;
                    while j < b.len() && is_name(b[j]) {
                        j += 1;
                    }
                    let attr = &s[a0..j];
                    if attr.is_empty() || b.get(j) != Some(&b'=') {
                        return Err(format!("bad attribute in <{name}> at {a0}"));
                    }
                    if attrs.contains(&attr) {
                        return Err(format!("duplicate attribute {attr} in <{name}>"));
                    }
                    attrs.push(attr);
                    let q = *b.get(j + 1).ok_or("eof in attribute")?;
                    if q != b'"' && q != b'\'' {
                        return Err(format!("unquoted attribute {attr} in <{name}>"));
                    }
                    let mut k = j + 2;
                    while k < b.len() && b[k] != q {
                        match b[k] {
                            b'<' => return Err(format!("'<' in attribute {attr}")),
                            b'&' => {
                                k = check_entity(s, k)?;
                                continue;
                            }
                            _ => k += 1,
                        }
                    }
                    j = k + 1;
                }
                if !self_closing {
                    stack.push(name);
                }
                i = j;
            }
            b'&' => i = check_entity(s, i)?,
            c => {
                if stack.is_empty() && !c.is_ascii_whitespace() {
                    return Err(format!("text outside the root at {i}"));
                }
                i += 1;
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> never closed"));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(elements)
}

#[test]
fn the_xml_checker_catches_what_it_should() {
    assert!(check_xml("<a><b x=\"1\"/>t &amp; &#160;</a>").is_ok());
    assert!(check_xml("<a><b></a></b>").is_err());
    assert!(check_xml("<a>x < y</a>").is_err());
    assert!(check_xml("<a>&nbsp;</a>").is_err());
    assert!(check_xml("<a x=1></a>").is_err());
    assert!(check_xml("<a></a><b></b>").is_err());
    assert!(check_xml("<a>").is_err());
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

fn assert_html_sound(html: &str, scenarios: &[&str]) {
    if let Err(e) = check_xml(html) {
        let at: usize = e
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let lo = at.saturating_sub(200);
        panic!(
            "HTML is not well-formed XML: {e}\n...{}...",
            &html[lo..(at + 200).min(html.len())]
        );
    }
    assert!(!html.contains("http://"), "no URL of any kind");
    assert!(!html.contains("https://"), "no URL of any kind");
    assert!(
        !html.contains("xmlns"),
        "inline SVG in HTML5 needs no namespace"
    );
    assert!(html.contains("<title>heaplab report"));
    for sc in scenarios {
        for kind in ["throughput", "latency", "memory"] {
            let tag = format!("<svg class=\"chart {kind}\" data-workload=\"{sc}\"");
            assert_eq!(count(html, &tag), 1, "one {kind} chart for {sc}");
        }
    }
    // The overview heat map, where there is a ratio to show.
    let heat_maps = count(html, "<svg class=\"chart heatmap\"");
    assert!(heat_maps <= 1, "at most one overview heat map");
    assert_eq!(
        heat_maps == 0,
        html.contains("No throughput relative to"),
        "a report without a heat map says why"
    );
    assert_eq!(
        count(html, "<svg "),
        3 * scenarios.len() + heat_maps,
        "three charts per scenario and the heat map, nothing else"
    );
    assert!(
        !html.contains("<script"),
        "no script: a report is a document"
    );
}

#[test]
fn html_is_well_formed_self_contained_and_has_the_charts() {
    let r = small();
    let html = report::render_html(&r);
    assert_html_sound(&html, &["alloc-churn", "convoy"]);
    assert_eq!(count(&html, "<svg class=\"chart heatmap\""), 1);
    // The tables of the Markdown report are there too.
    assert!(html.contains("<h3>Throughput</h3>"));
    assert!(html.contains("<td class=\"num\">1.92x</td>"));
    assert!(html.contains("<h3>Roles</h3>"));
    // Each policy keeps one colour: in the legend, the lines and the tables.
    assert!(html.contains("stroke=\"#009E73\""));
    assert!(html.contains("background:#009E73"));
    // The latency chart uses the percentile ticks of an HdrHistogram plot.
    for tick in ["50%", "90%", "99%", "99.9%", "99.99%"] {
        assert!(html.contains(&format!(">{tick}</text>")), "tick {tick}");
    }
}

// ---- a tiny CSV reader (RFC 4180) ------------------------------------------

fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\r' => {}
            c => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn csv_has_one_row_per_run_and_round_trips_quoted_fields() {
    let r = small();
    let csv = report::render_csv(&r);
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 1 + r.runs.len(), "header + one row per run");
    let header = &rows[0];
    for row in &rows {
        assert_eq!(row.len(), header.len(), "every row has every column");
    }
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for name in [
        "workload",
        "policy",
        "threads",
        "repeat",
        "status",
        "error",
        "ops",
        "seconds",
        "ops_per_sec",
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
    ] {
        col(name);
    }
    // Rows in the file's order, figures exact.
    for (run, row) in r.runs.iter().zip(&rows[1..]) {
        assert_eq!(row[col("workload")], run.workload);
        assert_eq!(row[col("policy")], run.policy);
        assert_eq!(row[col("threads")], run.threads.to_string());
        assert_eq!(row[col("repeat")], run.repeat.to_string());
        assert_eq!(
            row[col("ops_per_sec")].parse::<f64>().unwrap(),
            run.ops_per_sec
        );
        assert_eq!(row[col("error")], run.error.clone().unwrap_or_default());
        let status = if run.status == Status::Ok {
            "ok"
        } else {
            "failed"
        };
        assert_eq!(row[col("status")], status);
        // tts is absent (empty) under gil, present elsewhere.
        assert_eq!(row[col("tts_p99_ns")].is_empty(), run.policy == "gil");
        // The convoy's latency columns are the sleeper's.
        if run.workload == "convoy" {
            assert_eq!(row[col("latency_role")], "sleeper");
            assert_eq!(
                row[col("latency_p99_ns")],
                run.roles["sleeper"].latency_ns.p99.to_string()
            );
        }
    }
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r[col("status")] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0][col("error")], FAILED_ERROR);
    assert!(
        csv.contains("\"\"list\"\""),
        "quotes are doubled inside a quoted field"
    );
}

/// `rounds.json` on a quiet machine: each configuration's round-0
/// throughput in every round, moved by `jitter[round]` (no drift, no
/// disagreement between rounds beyond the jitter), and the configurations
/// `slower` multiplied by `factor`.
fn steady(jitter: &[f64], slower: impl Fn(&heaplab::results::Run) -> bool, factor: f64) -> Results {
    let mut r = Results::load(&fixture("rounds.json")).unwrap();
    let first = r.runs.clone();
    for run in &mut r.runs {
        let base = first
            .iter()
            .find(|f| {
                f.repeat == 0
                    && (&f.workload, &f.policy, f.threads)
                        == (&run.workload, &run.policy, run.threads)
            })
            .unwrap()
            .ops_per_sec;
        run.ops_per_sec = base * jitter[run.repeat];
        if slower(run) {
            run.ops_per_sec *= factor;
        }
    }
    r
}

#[test]
fn compare_finds_the_20_percent_regression_and_names_it() {
    let old = steady(&[1.0, 1.01, 0.99, 1.005], |_| false, 1.0);
    let is_it = |r: &heaplab::results::Run| {
        (r.workload.as_str(), r.policy.as_str(), r.threads) == ("alloc-churn", "biased", 2)
    };
    let new = steady(&[0.995, 1.0, 1.012, 0.99], is_it, 0.8);
    let c = compare(&old, &new, 5.0);
    let text = c.render_text();
    assert!(c.regressed(), "{text}");
    assert!(
        text.contains("RESULT: REGRESSED (1 configuration)"),
        "{text}"
    );
    assert!(
        text.contains("alloc-churn / biased / 2 threads: throughput 0.80x (-20."),
        "{text}"
    );
    // The method is stated, with the number of tests and the correction.
    assert!(text.contains("cannot be paired round by round"), "{text}");
    assert!(text.contains("Welch's t on log throughput"), "{text}");
    assert!(
        text.contains("(8 tests), adjusted together by Holm's method"),
        "{text}"
    );
    // Only that configuration regressed; nothing else changed significantly.
    let regressed: Vec<_> = c
        .rows
        .iter()
        .filter(|r| !r.regressions.is_empty())
        .collect();
    assert_eq!(regressed.len(), 1);
    assert_eq!(c.rows.iter().filter(|r| r.significant()).count(), 1);
    assert_eq!(regressed[0].key.policy, "biased");
    assert_eq!(regressed[0].key.threads, 2);
    let t = &regressed[0].throughput;
    assert!((t.ratio.value - 0.8).abs() < 0.01, "{:?}", t.ratio);
    let (lo, hi) = t.ratio.interval.unwrap();
    assert!(lo < 0.8 && 0.8 < hi && hi < 0.9, "{lo}..{hi}");
    assert!(t.p_adjusted.unwrap() < 0.05 && t.p.unwrap() < t.p_adjusted.unwrap());
    assert_eq!(c.exit_code(), 1);
    // The reverse direction is an improvement, not a regression.
    let back = compare(&new, &old, 5.0);
    assert!(!back.regressed(), "{}", back.render_text());
    assert!(back
        .render_text()
        .contains("improved: throughput 1.25x (+25."));
    // A threshold above the drop lets it through, though it stays
    // significant.
    let wide = compare(&old, &new, 25.0);
    assert!(!wide.regressed());
    assert!(wide
        .render_text()
        .contains("significant, within the threshold"));
    // The geometric mean over the 8 configurations: 0.8^(1/8) = 0.972.
    let g = c.geometric_mean().unwrap();
    assert!((g.value - 0.8f64.powf(1.0 / 8.0)).abs() < 0.01, "{g:?}");
}

#[test]
fn compare_speaks_markdown_and_json_too() {
    let old = steady(&[1.0, 1.01, 0.99, 1.005], |_| false, 1.0);
    let new = steady(&[0.995, 1.0, 1.012, 0.99], |r| r.threads == 1, 0.9);
    let c = compare(&old, &new, 5.0);
    let md = c.render(report::Format::Markdown);
    assert!(md.starts_with("# heaplab compare\n"), "{md}");
    assert!(
        md.contains("**Result: REGRESSED (4 configurations)**"),
        "{md}"
    );
    assert!(
        md.contains("| workload | policy | threads | old ops/s |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&c.render(report::Format::Json)).expect("valid JSON");
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["method"]["test"], "welch-log");
    assert_eq!(json["method"]["paired"], false);
    assert_eq!(json["rows"].as_array().unwrap().len(), 8);
    let row = &json["rows"][0];
    assert!(
        row["throughput"]["low"].as_f64().unwrap() < row["throughput"]["ratio"].as_f64().unwrap()
    );
    assert!(json["geometric_mean"]["ratio"].as_f64().unwrap() < 1.0);
    // FDR finds at least what Holm finds.
    let f = report::compare_with(&old, &new, 5.0, report::Correction::Fdr);
    assert!(
        f.rows.iter().filter(|r| r.significant()).count()
            >= c.rows.iter().filter(|r| r.significant()).count()
    );
}

#[test]
fn compare_of_identical_runs_does_not_regress() {
    let r = small();
    let c = compare(&r, &r, 5.0);
    assert!(!c.regressed(), "{}", c.render_text());
    assert_eq!(
        c.rows.len(),
        12,
        "every configuration with ok runs compared"
    );
    assert!(c.render_text().contains(
        "RESULT: no regression beyond 5.0% (12 configurations compared, 0 with a \
                   significant change)"
    ));
    assert!(c
        .rows
        .iter()
        .all(|r| r.throughput.p.is_none_or(|p| p == 1.0)));
}

#[test]
fn compare_judges_changes_against_the_repeats_noise() {
    let old = small();
    let mut new = old.clone();
    // gil alloc-churn at 1 thread: repeats 1.00 M and 1.10 M, a 9.5% range.
    // A 6% drop is beyond the 5% threshold but within that noise.
    for run in &mut new.runs {
        if run.workload == "alloc-churn" && run.policy == "gil" && run.threads == 1 {
            run.ops_per_sec *= 0.94;
        }
    }
    let c = compare(&old, &new, 5.0);
    assert!(!c.regressed(), "{}", c.render_text());
    let row = c
        .rows
        .iter()
        .find(|r| r.key.policy == "gil" && r.key.threads == 1 && r.key.workload == "alloc-churn")
        .unwrap();
    assert!(!row.throughput.significant);
    assert!(row.throughput.p.unwrap() > 0.05);
    assert!(c.render_text().contains("0.94x ["), "{}", c.render_text());

    // With a single repeat on a side there is nothing to test against: the
    // change is shown, untested, and never called a regression.
    let mut old1 = old.clone();
    old1.runs.retain(|r| r.repeat == 0);
    let mut new1 = new.clone();
    new1.runs.retain(|r| r.repeat == 0);
    let c = compare(&old1, &new1, 5.0);
    assert!(!c.regressed(), "{}", c.render_text());
    assert_eq!(c.exit_code(), 0);
    assert!(c
        .render_text()
        .contains("untested: a side has a single ok repeat"));
}

#[test]
fn compare_reports_missing_and_failing_configurations() {
    let old = small();
    let mut new = old.clone();
    new.runs
        .retain(|r| !(r.workload == "convoy" && r.policy == "pool-locks" && r.threads == 2));
    for run in &mut new.runs {
        if run.workload == "convoy" && run.policy == "biased" && run.threads == 1 {
            run.status = Status::Failed;
            run.error = Some("deadlock: stop-the-world waited 10 s".into());
        }
    }
    let mut extra = new.runs[0].clone();
    extra.threads = 4;
    new.runs.push(extra);
    let c = compare(&old, &new, 5.0);
    let text = c.render_text();
    assert!(
        c.regressed(),
        "a configuration that starts failing regresses"
    );
    assert!(
        text.contains("convoy / pool-locks / 2 threads: only in OLD"),
        "{text}"
    );
    assert!(
        text.contains("alloc-churn / gil / 4 threads: only in NEW"),
        "{text}"
    );
    assert!(
        text.contains(
            "convoy / biased / 1 thread: ok in OLD, failed in NEW (regression): deadlock"
        ),
        "{text}"
    );
}

#[test]
fn load_gives_clear_errors_not_panics() {
    let e = Results::load(&fixture("schema3.json")).unwrap_err();
    assert!(matches!(e, ResultsError::Schema { found: 3, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("schema3.json")
            && msg.contains("field 'schema' is 3")
            && msg.contains("schemas 1..=2"),
        "{msg}"
    );

    let e = Results::load(&fixture("corrupt.json")).unwrap_err();
    assert!(matches!(e, ResultsError::Corrupt { .. }), "{e}");
    assert!(e
        .to_string()
        .contains("corrupt.json is not a heaplab results file"));

    let e = Results::load(&fixture("incomplete.json")).unwrap_err();
    assert!(matches!(e, ResultsError::Incomplete { .. }), "{e}");

    let e = Results::load(&fixture("no-such-file.json")).unwrap_err();
    assert!(e.to_string().contains("no-such-file.json"), "{e}");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heaplab-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn write_reports_writes_three_files_atomically() {
    let r = small();
    let dir = scratch("write");
    let paths = report::write_reports(&dir.join("nested"), &r).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.md", "report.html", "runs.csv"]);
    for p in &paths {
        assert!(std::fs::metadata(p).unwrap().len() > 0);
    }
    assert_eq!(
        std::fs::read_to_string(&paths[0]).unwrap(),
        report::render_markdown(&r)
    );
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.join("nested"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");

    // A directory that cannot be created: the error names it.
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let e = report::write_reports(&file, &r).unwrap_err();
    assert!(e.to_string().contains("a-file"), "{e}");
    // A report name taken by a directory: the error names that file.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("report.md")).unwrap();
    let e = report::write_reports(&blocked, &r).unwrap_err();
    assert!(e.to_string().contains("report.md"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Renders everything and checks the HTML, for the odd-data tests.
fn render_all(r: &Results) -> (String, String, String) {
    let md = report::render_markdown(r);
    let html = report::render_html(r);
    let csv = report::render_csv(r);
    let names: Vec<String> = {
        let mut v: Vec<String> = r.settings.workloads.clone();
        for w in r.runs.iter().map(|r| r.workload.clone()) {
            if !v.contains(&w) {
                v.push(w);
            }
        }
        v
    };
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    assert_html_sound(&html, &names);
    for bad in ["NaN", "inf\"", ">inf<", "inf "] {
        assert!(
            !md.contains(bad) && !html.contains(bad),
            "{bad} in a report"
        );
    }
    let _ = compare(r, r, 5.0).render_text();
    (md, html, csv)
}

#[test]
fn odd_data_never_panics() {
    // Every run failed.
    let mut all_failed = small();
    for run in &mut all_failed.runs {
        run.status = Status::Failed;
        run.error.get_or_insert_with(|| "killed".into());
    }
    let (md, html, _) = render_all(&all_failed);
    let trust = md_table(&md, "How far can this run be trusted?");
    assert!(
        trust.iter().any(|r| r.iter().any(|c| c == "24 of 24")
            && r.iter()
                .any(|c| c == "runs left out of every median, ratio and chart")),
        "{trust:?}"
    );
    assert!(md.contains("**failed**"));
    assert!(html.contains("no ok runs to plot"));
    assert!(!compare(&small(), &all_failed, 5.0).render_text().is_empty());
    assert!(compare(&small(), &all_failed, 5.0).regressed());

    // No runs at all.
    let mut empty = small();
    empty.runs.clear();
    empty.python.clear();
    let (md, _, csv) = render_all(&empty);
    assert!(md.contains("No runs of this scenario"));
    assert_eq!(csv.lines().count(), 1, "just the header");

    // One thread count, one repeat, zero latencies and memory.
    let mut single = small();
    single.runs.retain(|r| r.threads == 1 && r.repeat == 0);
    for run in &mut single.runs {
        run.latency_ns = Default::default();
        run.roles.clear();
        run.memory = Default::default();
        run.gc = Default::default();
        run.refcount = Default::default();
        run.seconds = 0.0;
    }
    single.settings.threads = vec![1];
    let (md, _, _) = render_all(&single);
    assert!(md.contains("| biased"));

    // An ok run that leaked is counted as failed (the design's rule).
    let mut leaky = small();
    leaky.runs[0].leaked_blocks = 5;
    let (md, _, _) = render_all(&leaky);
    assert!(md.contains("leaked 5 blocks"));

    // Names with markup characters stay text in both reports.
    let mut odd = small();
    for run in &mut odd.runs {
        if run.workload == "convoy" {
            run.workload = "a<b>&c|d*e".into();
        }
    }
    odd.settings.workloads[1] = "a<b>&c|d*e".into();
    odd.workloads[1].name = "a<b>&c|d*e".into();
    odd.python.clear();
    let html = report::render_html(&odd);
    check_xml(&html).unwrap();
    assert_eq!(
        count(
            &html,
            "<svg class=\"chart throughput\" data-workload=\"a&lt;b&gt;&amp;c|d*e\""
        ),
        1
    );
}

/// Writes the fixture's reports (or those of `$HEAPLAB_REPORT_IN`, a results
/// file) to `$HEAPLAB_REPORT_OUT` for a look in a browser, as the README's
/// screenshot does; does nothing otherwise.
#[test]
fn render_fixture_for_inspection() {
    if let Some(dir) = std::env::var_os("HEAPLAB_REPORT_OUT") {
        let r = match std::env::var_os("HEAPLAB_REPORT_IN") {
            Some(p) => Results::load(std::path::Path::new(&p)).unwrap(),
            None => small(),
        };
        report::write_reports(std::path::Path::new(&dir), &r).unwrap();
    }
}

#[test]
fn scaling_is_not_quoted_across_different_roles() {
    // The real convoy runs its sleeper alone at 1 thread: that throughput
    // counts other work than the 2-thread run's, so no scaling figure.
    let mut r = small();
    for run in &mut r.runs {
        if run.workload == "convoy" && run.threads == 1 {
            run.roles.remove("worker");
        }
    }
    let md = report::render_markdown(&r);
    let rows = md_table(section(&md, "convoy"), "Throughput");
    assert_eq!(row(&rows, "biased", "2")[7], "—");
    // alloc-churn has no roles and keeps its figure.
    let rows = md_table(section(&md, "alloc-churn"), "Throughput");
    assert_eq!(row(&rows, "biased", "2")[7], "91%");
}

#[test]
fn html_opens_with_the_answer_and_folds_the_details() {
    let html = report::render_html(&small());
    let pos = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in the HTML"))
    };
    // The reading order: the heat map, the headline latencies, the
    // findings, and only then the folded detail.
    let heat = pos("<svg class=\"chart heatmap\"");
    let latency = pos("<h3>Headline latency</h3>");
    let findings = pos("<section id=\"findings\">");
    let first_fold = pos("<details class=\"fold\"");
    assert!(heat < latency && latency < findings && findings < first_fold);
    // The heat map's cells carry their ratio as text and as a tooltip:
    // biased over gil at 2 threads on alloc-churn is 1.82 M / 950 k.
    assert!(html.contains(
        "<title>alloc-churn, biased at 2 threads: 1.92x the throughput of gil; interval \
         unknown (rounds not paired)</title>"
    ));
    // Findings: one table per question (six in this run), no bullets.
    let end = findings + html[findings..].find("</section>").unwrap();
    let section = &html[findings..end];
    assert_eq!(count(section, "<table>"), 6, "{section}");
    assert_eq!(count(section, "<h3 id=\"q-"), 6);
    assert!(
        !section.contains("<li>"),
        "findings are tables, not bullets"
    );
    // Every scenario's section is folded, with its three charts inside.
    for sc in ["alloc-churn", "convoy"] {
        let at = pos(&format!("<details class=\"fold\" id=\"scenario-{sc}\">"));
        let end = at + html[at..].find("</details>").unwrap();
        assert_eq!(count(&html[at..end], "<svg class=\"chart "), 3, "{sc}");
        assert!(html[at..end].contains("<h3>Throughput</h3>"));
    }
    // The failed runs stay in view: a failure is never folded away.
    assert!(html.contains("<section id=\"failed\">"));
    // The table of contents links every top-level section.
    for id in ["answer", "findings", "failed", "setup", "scenario-convoy"] {
        assert!(html.contains(&format!("<a href=\"#{id}\">")), "{id}");
    }
}

/// The report is the top of the data flow and reads only `results.json`:
/// no module of it may name anything of the crate but `results` (and the
/// report itself). That also keeps it ready to be a crate of its own.
#[test]
fn the_report_depends_only_on_results() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                let path_text = &rest[at + "crate::".len()..];
                assert!(
                    path_text.starts_with("results") || path_text.starts_with("report"),
                    "{}:{}: the report names crate::{} (only crate::results is allowed)",
                    path.display(),
                    i + 1,
                    path_text
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or("")
                );
                rest = path_text;
            }
        }
    }
    assert!(files >= 10, "read the report's sources ({files} files)");
}

/// `small.json` with every scenario renamed: a run that shares no
/// configuration with the fixture.
fn disjoint() -> Results {
    let mut r = small();
    for run in &mut r.runs {
        run.workload.push_str("-v2");
    }
    for w in &mut r.settings.workloads {
        w.push_str("-v2");
    }
    for w in &mut r.workloads {
        w.name.push_str("-v2");
    }
    for p in &mut r.python {
        p.workload.push_str("-v2");
    }
    r
}

#[test]
fn compare_of_runs_with_nothing_in_common_says_so_and_fails() {
    let c = compare(&small(), &disjoint(), 5.0);
    let text = c.render_text();
    assert!(c.rows.is_empty());
    assert!(!c.regressed(), "nothing regressed: nothing was compared");
    let why = c.nothing_compared().expect("nothing compared");
    assert!(
        why.contains("share no configuration") && why.contains("12 only in OLD, 12 only in NEW"),
        "{why}"
    );
    assert!(text.contains("RESULT: NOTHING COMPARED"), "{text}");
    assert!(!text.contains("no regression beyond"), "{text}");
    assert_eq!(c.exit_code(), 2);

    // Every configuration failed on both sides: nothing compared either.
    let mut failed = small();
    for run in &mut failed.runs {
        run.status = Status::Failed;
        run.error = Some("killed".into());
    }
    let c = compare(&failed, &failed, 5.0);
    assert!(c
        .nothing_compared()
        .unwrap()
        .contains("12 without an ok run"));
    assert_eq!(c.exit_code(), 2);
    // A regression wins over "nothing compared": ok in OLD, failed in NEW.
    assert_eq!(compare(&small(), &failed, 5.0).exit_code(), 1);
    // And a run compared with itself is the ordinary success.
    assert_eq!(compare(&small(), &small(), 5.0).exit_code(), 0);
}

#[test]
fn the_cli_exits_non_zero_when_nothing_is_compared() {
    let dir = scratch("cli-compare");
    std::fs::create_dir_all(&dir).unwrap();
    let new = dir.join("disjoint.json");
    std::fs::write(&new, serde_json::to_string(&disjoint()).unwrap()).unwrap();
    let heaplab = env!("CARGO_BIN_EXE_heaplab");
    let out = std::process::Command::new(heaplab)
        .arg("compare")
        .arg(fixture("small.json"))
        .arg(&new)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("heaplab: error: nothing compared"),
        "{stderr}"
    );
    assert!(stdout.contains("RESULT: NOTHING COMPARED"), "{stdout}");
    assert!(!stdout.contains("RESULT: no regression"), "{stdout}");
    // The same command on a run and itself succeeds: the exit status
    // tells the two apart.
    let same = std::process::Command::new(heaplab)
        .arg("compare")
        .arg(fixture("small.json"))
        .arg(fixture("small.json"))
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The done-when of decisive comparisons on recorded-shape fixtures: a
/// self-comparison (two quiet runs of one commit, repeats within about 1%)
/// flags nothing, and a run whose work dial makes every thread-private
/// configuration about 10% slower is flagged on all of them, with exit 1.
#[test]
fn self_comparison_is_quiet_and_a_10_percent_slowdown_is_flagged() {
    let a = steady(&[1.0, 1.012, 0.991, 1.004], |_| false, 1.0);
    let b = steady(&[0.996, 1.008, 1.01, 0.993], |_| false, 1.0);
    let same = compare(&a, &b, 5.0);
    let flagged = same.rows.iter().filter(|r| r.significant()).count();
    assert!(flagged * 20 <= same.rows.len(), "{}", same.render_text());
    assert_eq!(same.exit_code(), 0);
    // rounds.json holds thread-private scenarios only (alloc-churn and
    // binary-trees): all 8 configurations are slowed.
    let slow = steady(&[0.996, 1.008, 1.01, 0.993], |_| true, 0.9);
    let c = compare(&a, &slow, 5.0);
    let regressed = c.rows.iter().filter(|r| !r.regressions.is_empty()).count();
    assert!(regressed * 10 >= c.rows.len() * 9, "{}", c.render_text());
    assert_eq!(c.exit_code(), 1);
    let g = c.geometric_mean().unwrap();
    let (lo, hi) = g.interval.unwrap();
    assert!(lo < 0.9 && 0.9 < hi && hi < 0.95, "{g:?}");
}
