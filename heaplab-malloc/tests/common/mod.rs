//! Shared by the preload tests: builds the library, finds programs, runs
//! them with the library preloaded under a chosen design.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const DESIGNS: [&str; 3] = ["global-lock", "class-locks", "thread-local"];

/// The shared object, built once per test binary with the cargo that runs
/// the tests, in the profile the tests were built in (the test binary's
/// folder says which: target/<profile>/deps).
pub fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap();
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-p", "heaplab-malloc", "--lib"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(manifest)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p heaplab-malloc failed");
        let so = dir.join("libheaplab_malloc.so");
        assert!(so.exists(), "{} not built", so.display());
        so
    })
}

/// A program on PATH (or a usual place), or `None` with the reason printed.
pub fn program(name: &str) -> Option<PathBuf> {
    // The system's python3 first: version managers put shell-script shims
    // first on PATH, which would preload us into a chain of shells.
    let usual = [format!("/usr/bin/{name}"), format!("/bin/{name}")];
    if let Some(p) = usual.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(p) = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.exists())
    {
        return Some(p);
    }
    eprintln!("skipped: `{name}` is not installed on this machine");
    None
}

/// Runs `cmd` with the library preloaded under `design` (None: unset).
pub fn preloaded(mut cmd: Command, design: Option<&str>) -> Output {
    cmd.env("LD_PRELOAD", library());
    match design {
        Some(d) => cmd.env("HEAPLAB_MALLOC", d),
        None => cmd.env_remove("HEAPLAB_MALLOC"),
    };
    cmd.env_remove("HEAPLAB_MALLOC_STATS");
    cmd.output().expect("spawn")
}

/// Panics with the program's output unless it exited 0.
pub fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
