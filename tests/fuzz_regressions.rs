//! Replays every input the fuzzers ever kept, in the ordinary test suite.
//!
//! The fuzz targets (`fuzz/`, cargo-fuzz, nightly only: `scripts/fuzz.sh`)
//! keep each input that made a target fail under `fuzz/regressions/TARGET/`,
//! and their hand-written seeds live under `fuzz/seeds/TARGET/`. This test
//! feeds every one of those files to the same function the fuzz target calls
//! (`fuzz/harness.rs`), so a parser that panics again on a kept input fails
//! `cargo test` on stable, without the fuzzer.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted; none if the directory does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".gitkeep"))
        .collect();
    v.sort();
    v
}

/// Feeds each file to `target` and returns the files that made it panic,
/// with the panic's message.
fn replay(files: &[PathBuf], target: harness::Target) -> Vec<String> {
    let mut failed = Vec::new();
    for f in files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(a panic without a message)");
            failed.push(format!("{}: {msg}", f.display()));
        }
    }
    failed
}

fn replay_target(name: &str) {
    let (_, target) = harness::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name} in fuzz/harness.rs"));
    let seeds = files_in(&fuzz_dir().join("seeds").join(name));
    let kept = files_in(&fuzz_dir().join("regressions").join(name));
    assert!(
        !seeds.is_empty(),
        "fuzz/seeds/{name}/ has no inputs: the replay would check nothing"
    );
    let mut failed = replay(&seeds, *target);
    failed.extend(replay(&kept, *target));
    assert!(
        failed.is_empty(),
        "{} of {} kept inputs of fuzz target {name} fail:\n{}",
        failed.len(),
        seeds.len() + kept.len(),
        failed.join("\n")
    );
}

#[test]
fn scenario_parser_survives_every_kept_input() {
    replay_target("scenario");
}

#[test]
fn results_loader_and_reports_survive_every_kept_input() {
    replay_target("results");
}

#[test]
fn every_target_has_its_directories() {
    for (name, _) in harness::TARGETS {
        for dir in ["seeds", "regressions"] {
            let d = fuzz_dir().join(dir).join(name);
            assert!(d.is_dir(), "{} is missing", d.display());
        }
    }
}

/// The replay is not a test that cannot fail: an input that makes the
/// target panic is reported, with its file and message.
#[test]
fn replay_reports_an_input_that_panics() {
    fn panics_on_boom(data: &[u8]) {
        assert!(data != b"boom", "the target panicked on boom");
    }
    let dir = std::env::temp_dir().join(format!("heaplab-fuzz-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad) = (dir.join("good"), dir.join("bad"));
    std::fs::write(&good, b"fine").unwrap();
    std::fs::write(&bad, b"boom").unwrap();
    let failed = replay(&[good.clone(), bad.clone()], panics_on_boom);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("bad") && failed[0].contains("panicked on boom"),
        "{failed:?}"
    );
}
