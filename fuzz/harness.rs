//! What each fuzz target feeds an input to, and what it checks: one
//! definition shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, built by
//! cargo-fuzz with libFuzzer) and by the replay of every kept input in the
//! ordinary test suite (`tests/fuzz_regressions.rs`), so a kept crash is
//! replayed exactly as the fuzzer found it.
//!
//! A target fails (panics) when the parser panics, and also when it breaks
//! the promise the README makes about bad input: an error names the file
//! and, where it gives one, a line that exists. Inputs the parser refuses
//! cleanly are the expected outcome, not a failure.
//!
//! This file imports only heaplab's public API and std: it is compiled both
//! inside the fuzz crate (outside the workspace, nightly only) and inside
//! heaplab's own tests (stable).

#![allow(dead_code)]

use heaplab::results::Results;
use heaplab::workload::{Driver, Scenario};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The targets, by the names of their directories under `fuzz/seeds/` and
/// `fuzz/regressions/` and of their binaries in `fuzz/Cargo.toml`.
pub const TARGETS: &[(&str, Target)] = &[("scenario", scenario), ("results", results)];

/// A fuzz target's body: panics when the input breaks the parser's promise.
pub type Target = fn(&[u8]);

/// The scenario TOML parser (`Scenario::parse`, what `heaplab run
/// --workload FILE.toml` and the catalogue call), on any UTF-8 text.
///
/// `Scenario::load` refuses bytes that are not UTF-8 before parsing (with an
/// error naming the file), so only UTF-8 reaches the parser.
pub fn scenario(data: &[u8]) {
    const FILE: &str = "fuzz/input.toml";
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Scenario::parse(text, FILE) {
        Ok(s) => {
            // Every accessor the runner and `heaplab list` call on a
            // validated scenario.
            let _ = (s.driver().as_str(), s.weights(), s.roles());
            let _ = (s.duration_secs(), s.ops_per_thread(), s.warmup_secs());
            let _ = (s.sample_every(), s.bytecode_ns(), s.native_ns());
            let _ = (s.shared_tuples(), s.shared_lists());
            assert!(
                s.weights().iter().any(|(_, w)| *w > 0) || s.driver() != Driver::Mix,
                "a mix scenario was accepted with no weight > 0"
            );
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(FILE),
                "the error does not name the file: {msg:?}"
            );
            assert!(
                !e.message.trim().is_empty(),
                "an empty error message: {e:?}"
            );
            if let Some(line) = e.line {
                // A span may end at the very end of a file without a final
                // newline, so one line past the last newline is still real.
                let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
                assert!(
                    (1..=lines).contains(&line),
                    "the error names line {line} of a {lines}-line file: {msg:?}"
                );
            }
        }
    }
}

/// The results.json loader (`Results::load`, what `heaplab report` and
/// `heaplab compare` call), and on a file it accepts, everything those
/// commands then do with it: the Markdown, HTML and CSV reports, the
/// findings, and a comparison of the run with itself. The report module
/// promises that every renderer is total ("never a panic").
///
/// The loader reads a path, so the input is written to a file of its own
/// first (one name per call: the test suite replays inputs on several
/// threads of one process).
pub fn results(data: &[u8]) {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let path: PathBuf = std::env::temp_dir().join(format!(
        "heaplab-fuzz-{}-{}.json",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, data).expect("the temporary directory is writable");
    let loaded = Results::load(&path);
    let _ = std::fs::remove_file(&path);
    match loaded {
        Ok(r) => {
            let _ = heaplab::report::render_markdown(&r);
            let _ = heaplab::report::render_html(&r);
            let _ = heaplab::report::render_csv(&r);
            let _ = heaplab::report::findings(&r);
            let c = heaplab::report::compare(&r, &r, 5.0);
            let _ = c.render_text();
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&*path.display().to_string()),
                "the error does not name the file: {msg:?}"
            );
        }
    }
}
